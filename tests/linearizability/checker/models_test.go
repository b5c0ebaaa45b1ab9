package main

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

// Small histories whose verdict is known by hand: each model must accept the first and reject
// the second, so a checker that accepts everything fails here.

func v(x int64) *int64 { return &x }

func verdictOf(t *testing.T, h *History, kind string) porcupine.CheckResult {
	t.Helper()
	model, err := ModelFor(kind, h)
	if err != nil {
		t.Fatal(err)
	}
	return porcupine.CheckOperationsTimeout(model, h.Operations(kind), 0)
}

func expect(t *testing.T, h *History, kind string, want porcupine.CheckResult) {
	t.Helper()
	if got := verdictOf(t, h, kind); got != want {
		t.Errorf("%s: got %s, want %s", kind, got, want)
	}
}

func TestConfigReadAfterAcknowledgedWriteSeesIt(t *testing.T) {
	h := &History{InitialConfig: 100, Ops: []Op{
		{Client: 0, Kind: "config", Op: "write", Value: v(1), Outcome: "ok", Call: 1, Return: 2},
		{Client: 1, Kind: "config", Op: "read", Value: v(1), Outcome: "ok", Call: 3, Return: 4},
	}}
	expect(t, h, "config", porcupine.Ok)
	h.Ops[1].Value = v(100) // a stale read: the write was acknowledged before the read began
	expect(t, h, "config", porcupine.Illegal)
}

func TestConfigConcurrentReadMaySeeEitherValue(t *testing.T) {
	for _, seen := range []int64{100, 1} {
		h := &History{InitialConfig: 100, Ops: []Op{
			{Client: 0, Kind: "config", Op: "write", Value: v(1), Outcome: "ok", Call: 1, Return: 5},
			{Client: 1, Kind: "config", Op: "read", Value: v(seen), Outcome: "ok", Call: 2, Return: 3},
		}}
		expect(t, h, "config", porcupine.Ok)
	}
}

func TestConfigUnknownWriteMayTakeEffectLateButNotUnread(t *testing.T) {
	h := &History{InitialConfig: 100, Ops: []Op{
		{Client: 0, Kind: "config", Op: "write", Value: v(7), Outcome: unknown, Call: 1},
		{Client: 1, Kind: "config", Op: "read", Value: v(100), Outcome: "ok", Call: 2, Return: 3},
		{Client: 1, Kind: "config", Op: "read", Value: v(7), Outcome: "ok", Call: 4, Return: 5},
	}}
	expect(t, h, "config", porcupine.Ok)
	// Once seen, it stays: the value cannot go back.
	h.Ops = append(h.Ops, Op{Client: 1, Kind: "config", Op: "read", Value: v(100), Outcome: "ok", Call: 6, Return: 7})
	expect(t, h, "config", porcupine.Illegal)
}

func TestCoversUploadDeleteList(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: "created", Call: 1, Return: 2},
		{Client: 1, Kind: "covers", Op: "upload", ID: "a", Outcome: "existed", Call: 3, Return: 4},
		{Client: 0, Kind: "covers", Op: "list", IDs: []string{"a"}, Outcome: "ok", Call: 5, Return: 6},
		{Client: 1, Kind: "covers", Op: "delete", ID: "a", Outcome: "deleted", Call: 7, Return: 8},
		{Client: 0, Kind: "covers", Op: "delete", ID: "a", Outcome: "absent", Call: 9, Return: 10},
		{Client: 0, Kind: "covers", Op: "list", IDs: []string{}, Outcome: "ok", Call: 11, Return: 12},
	}}
	expect(t, h, "covers", porcupine.Ok)
	// "Already there" from a member that had not applied the delete yet.
	h.Ops = append(h.Ops, Op{Client: 1, Kind: "covers", Op: "upload", ID: "a", Outcome: "existed", Call: 13, Return: 14})
	expect(t, h, "covers", porcupine.Illegal)
}

func TestCoversAcknowledgedUploadIsListed(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: "created", Call: 1, Return: 2},
		{Client: 1, Kind: "covers", Op: "list", IDs: []string{}, Outcome: "ok", Call: 3, Return: 4},
	}}
	expect(t, h, "covers", porcupine.Illegal)
	h.Ops[0].Outcome = unknown
	expect(t, h, "covers", porcupine.Ok)
}

func TestKeysCreateConflictDeleteList(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 0, Kind: "keys", Op: "create", Name: "k", ID: "1", Outcome: "created", Call: 1, Return: 2},
		{Client: 1, Kind: "keys", Op: "create", Name: "k", Outcome: "conflict", Call: 3, Return: 4},
		{Client: 0, Kind: "keys", Op: "delete", Name: "k", ID: "1", Outcome: "deleted", Call: 5, Return: 6},
		{Client: 1, Kind: "keys", Op: "create", Name: "k", ID: "2", Outcome: "created", Call: 7, Return: 8},
		{Client: 0, Kind: "keys", Op: "delete", Name: "k", ID: "1", Outcome: "absent", Call: 9, Return: 10},
		{Client: 0, Kind: "keys", Op: "list", Keys: map[string]string{"k": "2"}, Outcome: "ok", Call: 11, Return: 12},
	}}
	expect(t, h, "keys", porcupine.Ok)
	// The old incarnation's delete cannot succeed once the name has a new key.
	h.Ops[4].Outcome = "deleted"
	expect(t, h, "keys", porcupine.Illegal)
}

func TestKeysUnknownCreateIsLearntFromAList(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 0, Kind: "keys", Op: "create", Name: "k", Outcome: unknown, Call: 1},
		{Client: 1, Kind: "keys", Op: "list", Keys: map[string]string{"k": "9"}, Outcome: "ok", Call: 2, Return: 3},
		{Client: 1, Kind: "keys", Op: "list", Keys: map[string]string{"k": "9"}, Outcome: "ok", Call: 4, Return: 5},
	}}
	expect(t, h, "keys", porcupine.Ok)
	h.Ops[2].Keys = map[string]string{"k": "8"} // the same key cannot change its id
	expect(t, h, "keys", porcupine.Illegal)
}

func TestUnknownWriteIsDecidedByTheFirstRecoveryAfterTheRequestTimeout(t *testing.T) {
	h := &History{InitialConfig: 100, RequestTimeout: 5e9, Ops: []Op{
		{Client: 0, Kind: "config", Op: "write", Value: v(7), Outcome: unknown, Call: 1e9},
		{Client: 1, Kind: "config", Op: "read", Value: v(100), Outcome: "ok", Call: 20e9, Return: 21e9},
		{Client: 1, Kind: "config", Op: "read", Value: v(7), Outcome: "ok", Call: 22e9, Return: 23e9},
	}}
	expect(t, h, "config", porcupine.Ok) // no recovery: it may take effect at any time
	h.Faults = []Fault{{Kind: "kill", Member: "node1", Start: 2e9, Healed: 4e9, Recovered: 10e9}}
	expect(t, h, "config", porcupine.Illegal) // decided by 12 s: it cannot appear at 22 s
	h.Faults[0].Recovered = 19e9
	expect(t, h, "config", porcupine.Ok) // decided by 21 s, concurrent with the first read
}

func TestAnUnknownWriteNoReadSawIsLeftOutAndOneSeenIsKept(t *testing.T) {
	h := &History{InitialConfig: 100, Ops: []Op{
		{Client: 0, Kind: "config", Op: "write", Value: v(7), Outcome: unknown, Call: 1},
		{Client: 1, Kind: "config", Op: "write", Value: v(8), Outcome: unknown, Call: 2},
		{Client: 2, Kind: "config", Op: "read", Value: v(8), Outcome: "ok", Call: 3, Return: 4},
	}}
	if got := len(h.Operations("config")); got != 2 {
		t.Fatalf("got %d operations, want the seen write and the read", got)
	}
	expect(t, h, "config", porcupine.Ok)
}

func TestCoversModelRefusesMoreCoversThanItsStateHolds(t *testing.T) {
	h := &History{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		h.Ops = append(h.Ops, Op{Kind: "covers", Op: "upload", ID: id, Outcome: "created", Call: 1, Return: 2})
	}
	if _, err := ModelFor("covers", h); err == nil {
		t.Error("seven covers: want an error, got a model")
	}
	h.Ops = h.Ops[:maxCovers]
	if _, err := ModelFor("covers", h); err != nil {
		t.Error(err)
	}
}

func TestCoversUnknownUploadMayOrMayNotHaveAdded(t *testing.T) {
	// Either list is explained, by the upload taking effect before it or not at all; a cover the
	// history never uploaded cannot appear.
	for _, listed := range [][]string{{"a"}, {}} {
		h := &History{Ops: []Op{
			{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: unknown, Call: 1},
			{Client: 1, Kind: "covers", Op: "list", IDs: listed, Outcome: "ok", Call: 3, Return: 4},
		}}
		expect(t, h, "covers", porcupine.Ok)
	}
	h := &History{Ops: []Op{
		{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: unknown, Call: 1},
		{Client: 1, Kind: "covers", Op: "list", IDs: []string{"a", "b"}, Outcome: "ok", Call: 3, Return: 4},
	}}
	expect(t, h, "covers", porcupine.Illegal)
}
