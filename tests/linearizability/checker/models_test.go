package main

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/anishathalye/porcupine"
)

// Small histories whose verdict is known by hand: each model must accept the first and reject
// the second, so a checker that accepts everything fails here.

func v(x int64) *int64 { return &x }

func verdictOf(t *testing.T, h *History, kind string) porcupine.CheckResult {
	t.Helper()
	model, ops, err := ModelFor(kind, h)
	if err != nil {
		t.Fatal(err)
	}
	return porcupine.CheckOperationsTimeout(model, ops, 0)
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
	for i := 0; i <= maxCovers; i++ {
		h.Ops = append(h.Ops, Op{Kind: "covers", Op: "upload", ID: fmt.Sprint(i), Outcome: "created", Call: 1, Return: 2})
	}
	if _, _, err := ModelFor("covers", h); err == nil {
		t.Errorf("%d covers: want an error, got a model", len(h.Ops))
	}
	h.Ops = h.Ops[:maxCovers]
	if _, _, err := ModelFor("covers", h); err != nil {
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

// An operation of unknown outcome is checked as two instants, its call and its decision
// (covers.go); these pin down the window in which it may take effect.

func TestCoversUnknownUploadTakesEffectOnlyBetweenItsCallAndItsDecision(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 1, Kind: "covers", Op: "list", IDs: []string{"a"}, Outcome: "ok", Call: 1e9, Return: 2e9},
		{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: unknown, Call: 3e9},
	}}
	expect(t, h, "covers", porcupine.Illegal) // listed before it was called
	h = &History{RequestTimeout: 5e9, Ops: []Op{
		{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: unknown, Call: 3e9},
		{Client: 1, Kind: "covers", Op: "list", IDs: []string{}, Outcome: "ok", Call: 15e9, Return: 16e9},
		{Client: 1, Kind: "covers", Op: "list", IDs: []string{"a"}, Outcome: "ok", Call: 20e9, Return: 21e9},
	}}
	expect(t, h, "covers", porcupine.Ok) // no recovery: it may take effect at any time
	h.Faults = []Fault{{Kind: "kill", Member: "node1", Start: 4e9, Healed: 5e9, Recovered: 10e9}}
	expect(t, h, "covers", porcupine.Illegal) // decided by 12 s: still absent at 16 s, absent for good
}

func TestCoversTwoUnknownUploadsMayBringACoverBackAfterItsDelete(t *testing.T) {
	h := &History{Ops: []Op{
		{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: unknown, Call: 1},
		{Client: 1, Kind: "covers", Op: "list", IDs: []string{"a"}, Outcome: "ok", Call: 3, Return: 4},
		{Client: 1, Kind: "covers", Op: "delete", ID: "a", Outcome: "deleted", Call: 5, Return: 6},
		{Client: 1, Kind: "covers", Op: "list", IDs: []string{"a"}, Outcome: "ok", Call: 7, Return: 8},
	}}
	expect(t, h, "covers", porcupine.Illegal) // one upload takes effect once
	h.Ops = append(h.Ops, Op{Client: 2, Kind: "covers", Op: "upload", ID: "a", Outcome: unknown, Call: 2})
	expect(t, h, "covers", porcupine.Ok)
}

// Of two pending uploads of one cover, the one that takes effect is taken to be the one decided
// first: here only that choice explains the history (both are pending at 8 s, and a second must
// take effect after 14 s, past the first one's decision).
func TestCoversThePendingUploadDecidedFirstIsTheOneThatTakesEffect(t *testing.T) {
	h := &History{RequestTimeout: 5e9, Faults: []Fault{{Kind: "kill", Member: "node1", Start: 2e9, Healed: 3e9, Recovered: 10e9}},
		Ops: []Op{
			{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: unknown, Call: 1e9}, // decided by 12 s
			{Client: 2, Kind: "covers", Op: "upload", ID: "a", Outcome: unknown, Call: 7e9}, // by the end
			{Client: 1, Kind: "covers", Op: "list", IDs: []string{}, Outcome: "ok", Call: 7.5e9, Return: 7.8e9},
			{Client: 1, Kind: "covers", Op: "list", IDs: []string{"a"}, Outcome: "ok", Call: 8e9, Return: 9e9},
			{Client: 1, Kind: "covers", Op: "delete", ID: "a", Outcome: "deleted", Call: 13e9, Return: 14e9},
			{Client: 1, Kind: "covers", Op: "list", IDs: []string{"a"}, Outcome: "ok", Call: 20e9, Return: 21e9},
		}}
	expect(t, h, "covers", porcupine.Ok)
}

func TestCoversUnknownDeleteMayOrMayNotHaveRemoved(t *testing.T) {
	for _, listed := range [][]string{{"a"}, {}} {
		h := &History{Ops: []Op{
			{Client: 0, Kind: "covers", Op: "upload", ID: "a", Outcome: "created", Call: 1, Return: 2},
			{Client: 0, Kind: "covers", Op: "delete", ID: "a", Outcome: unknown, Call: 3},
			{Client: 1, Kind: "covers", Op: "list", IDs: listed, Outcome: "ok", Call: 5, Return: 6},
			{Client: 1, Kind: "covers", Op: "delete", ID: "a", Outcome: "absent", Call: 7, Return: 8},
		}}
		expect(t, h, "covers", porcupine.Ok) // when listed, the unknown delete takes effect after the list
	}
}

// The covers check as Porcupine would do it unaided: each operation of unknown outcome open from
// its call to its decision, nondeterministically taking effect or not. Slow on long histories,
// plainly right on short ones.
func referenceCoversModel(index map[string]int) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Init: func() []interface{} { return []interface{}{uint8(0)} },
		Step: func(state, input, output interface{}) []interface{} {
			s, op := state.(uint8), input.(Op)
			bit := uint8(1) << index[op.ID]
			present := s&bit != 0
			switch op.Op + "/" + op.Outcome {
			case "upload/created":
				if !present {
					return []interface{}{s | bit}
				}
			case "upload/existed":
				if present {
					return []interface{}{s}
				}
			case "upload/unknown":
				return []interface{}{s, s | bit}
			case "delete/deleted":
				if present {
					return []interface{}{s &^ bit}
				}
			case "delete/absent":
				if !present {
					return []interface{}{s}
				}
			case "delete/unknown":
				return []interface{}{s, s &^ bit}
			case "list/ok":
				var listed uint8
				for _, id := range op.IDs {
					listed |= 1 << index[id]
				}
				if listed == s {
					return []interface{}{s}
				}
			}
			return nil
		},
	}
	return nm.ToModel()
}

// randomCoversHistory: three clients on two covers, run against a real set, each operation taking
// effect at a random moment inside its interval (an unknown one inside its call and decision, or
// never); then, half the time, one answer is falsified, which may or may not leave it explicable.
func randomCoversHistory(r *rand.Rand) *History {
	const tick = int64(1e8) // 0.1 s: decidedBy's settle time is 20 ticks
	h := &History{RequestTimeout: 10 * tick, Faults: []Fault{{Kind: "kill", Start: tick, Healed: 2 * tick, Recovered: (5 + r.Int63n(40)) * tick}}}
	for client := 0; client < 3; client++ {
		for t := tick; t < 60*tick; {
			op := Op{Client: client, Kind: "covers", Op: []string{"upload", "delete", "list"}[r.Intn(3)], Call: t}
			op.Return = t + (1+r.Int63n(8))*tick
			if op.Op != "list" {
				op.ID = []string{"a", "b"}[r.Intn(2)]
				if r.Intn(4) == 0 {
					op.Outcome, op.Return = unknown, 0
				}
			}
			h.Ops = append(h.Ops, op)
			t = max(op.Return, op.Call) + (1+r.Int63n(3))*tick
		}
	}
	end := int64(0)
	for _, op := range h.Ops {
		end = max(end, op.Call, op.Return)
	}
	at := make([]int64, len(h.Ops)) // when each takes effect; -1: never
	for i, op := range h.Ops {
		last := op.Return
		if op.Outcome == unknown {
			last = h.decidedBy(op, end+1)
		}
		at[i] = op.Call + r.Int63n(last-op.Call+1)
		if op.Outcome == unknown && r.Intn(2) == 0 {
			at[i] = -1
		}
	}
	order := make([]int, len(h.Ops))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(x, y int) bool { return at[order[x]] < at[order[y]] })
	present := map[string]bool{}
	for _, i := range order {
		op := &h.Ops[i]
		switch {
		case at[i] < 0:
		case op.Op == "list":
			op.Outcome, op.IDs = "ok", []string{}
			for _, id := range []string{"a", "b"} {
				if present[id] {
					op.IDs = append(op.IDs, id)
				}
			}
		case op.Outcome == unknown:
			present[op.ID] = op.Op == "upload"
		case op.Op == "upload":
			op.Outcome = map[bool]string{false: "created", true: "existed"}[present[op.ID]]
			present[op.ID] = true
		default:
			op.Outcome = map[bool]string{false: "absent", true: "deleted"}[present[op.ID]]
			present[op.ID] = false
		}
	}
	if r.Intn(2) == 0 {
		falsify(&h.Ops[r.Intn(len(h.Ops))], r)
	}
	return h
}

func falsify(op *Op, r *rand.Rand) {
	switch op.Outcome {
	case "ok":
		op.IDs = [][]string{{}, {"a"}, {"b"}, {"a", "b"}}[r.Intn(4)]
	case "created":
		op.Outcome = "existed"
	case "existed":
		op.Outcome = "created"
	case "deleted":
		op.Outcome = "absent"
	case "absent":
		op.Outcome = "deleted"
	}
}

func TestCoversModelAgreesWithPorcupineUnaidedOnRandomHistories(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	verdicts := map[porcupine.CheckResult]int{}
	for i := 0; i < 2000; i++ {
		h := randomCoversHistory(r)
		spec, err := newCoversSpec(h)
		if err != nil {
			t.Fatal(err)
		}
		want := porcupine.CheckOperationsTimeout(referenceCoversModel(spec.index), h.Operations("covers"), 0)
		got := verdictOf(t, h, "covers")
		if got != want {
			t.Fatalf("history %d: got %s, unaided Porcupine says %s\n%+v", i, got, want, h.Ops)
		}
		verdicts[got]++
	}
	t.Logf("verdicts: %v", verdicts)
	// Both verdicts must be common, or the comparison proves little.
	if verdicts[porcupine.Ok] < 400 || verdicts[porcupine.Illegal] < 400 {
		t.Errorf("verdicts %v: want at least 400 of each", verdicts)
	}
}
