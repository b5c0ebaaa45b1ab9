// The covers model: the cover library, a set of cover ids, with uploads, deletes and lists.
//
// An upload or delete whose outcome the client never learnt may take effect at any moment from
// its call until it is decided (decidedBy). Given to Porcupine as one operation open that long,
// twenty such operations open at once during back-to-back faults made the search keep every
// subset of them it had linearized: gigabytes a minute, no verdict. So each one is checked as two
// instants instead, at its call (it becomes pending) and at its decision (it stops being pending),
// and the model's state carries the pending operations: every configuration the library may be
// in is a set of covers plus the operations still pending, and after every step the state holds
// each configuration reachable by letting pending operations take effect (reachable).
//
// Two rules keep the state small without changing a verdict. Pending operations of one kind
// (an upload of cover a, say) have the same effect, so when one takes effect it is the one decided
// first: the others stay pending longer, which allows everything the other choice allows. And a
// configuration whose pending operations are a subset of another's with the same covers allows
// nothing the other does not, so it is dropped (dominated).
package main

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

const maxCovers = 8 // covers a history may name: a set is a bitmask

type coverSet = uint8 // bit i: cover i is present

// The inputs that stand for operations of unknown outcome, numbered in the order they are decided:
// operation n is called, and operations from..to-1 are decided, all at one instant. Decisions
// come in groups (every operation a recovery decides shares its time) and go to Porcupine as one
// operation each: as separate ones at one instant, they were concurrent, and on every backtrack
// over them the search tried each subset of them.
type becomesPending struct{ n int }
type stopsPending struct{ from, to int }

// coversSpec numbers the covers a history names and its operations of unknown outcome.
type coversSpec struct {
	index   map[string]int
	unknown []Op // by number: ordered by when each is decided
}

// configuration: the covers present, and the operations of unknown outcome (by number, ascending)
// that have been called, are not decided yet, and have not taken effect.
type configuration struct {
	set     coverSet
	pending []int
}

// key encodes a configuration, one to one and self-delimiting (so keys can be concatenated): the
// set, the number of pending operations, then each one's number, as varints.
func (cf configuration) key() string {
	b := make([]byte, 1, 2+2*len(cf.pending))
	b[0] = cf.set
	b = binary.AppendUvarint(b, uint64(len(cf.pending)))
	for _, n := range cf.pending {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return string(b)
}

// coversState is every configuration the library may be in, in a canonical order, with that
// order's encoding (the state's identity for Porcupine's cache).
type coversState struct {
	configurations []configuration
	key            string
}

func newCoversSpec(h *History) (coversSpec, error) {
	spec := coversSpec{index: map[string]int{}}
	add := func(id string) {
		if _, ok := spec.index[id]; !ok {
			spec.index[id] = len(spec.index)
		}
	}
	for _, op := range h.Ops {
		if op.Kind != "covers" {
			continue
		}
		if op.Op != "list" {
			add(op.ID)
		}
		for _, id := range op.IDs {
			add(id)
		}
	}
	if len(spec.index) > maxCovers {
		return spec, fmt.Errorf("%d covers: the covers model handles at most %d", len(spec.index), maxCovers)
	}
	return spec, nil
}

// operations replaces each operation of unknown outcome (which Operations returns open until it
// is decided) by its two instants; the others are unchanged.
func (c *coversSpec) operations(ops []porcupine.Operation) []porcupine.Operation {
	var open []porcupine.Operation
	for _, op := range ops {
		if op.Input.(Op).Outcome == unknown {
			open = append(open, op)
		}
	}
	sort.SliceStable(open, func(i, j int) bool { return open[i].Return < open[j].Return })
	out := make([]porcupine.Operation, 0, len(ops)+len(open))
	for _, op := range ops {
		if op.Input.(Op).Outcome != unknown {
			out = append(out, op)
		}
	}
	c.unknown = make([]Op, len(open))
	for n, op := range open {
		c.unknown[n] = op.Input.(Op)
		out = append(out, porcupine.Operation{ClientId: op.ClientId, Input: becomesPending{n}, Call: op.Call, Return: op.Call})
	}
	for from := 0; from < len(open); {
		to := from + 1
		for to < len(open) && open[to].Return == open[from].Return {
			to++
		}
		at := open[from].Return
		out = append(out, porcupine.Operation{ClientId: open[from].ClientId, Input: stopsPending{from, to}, Call: at, Return: at})
		from = to
	}
	return out
}

func (c *coversSpec) bit(op Op) coverSet { return 1 << c.index[op.ID] }

// acknowledged is what an upload or delete with a known outcome leaves of set s, and whether it
// can follow s at all. Upload answers created (201) only for an absent cover and existed (200)
// only for a present one; delete answers deleted (200) only for a present cover and absent (404,
// or 409 when a concurrent delete was applied first) only for an absent one.
func (c *coversSpec) acknowledged(s coverSet, op Op) (coverSet, bool) {
	bit := c.bit(op)
	present := s&bit != 0
	switch op.Op + "/" + op.Outcome {
	case "upload/created":
		return s | bit, !present
	case "upload/existed":
		return s, present
	case "delete/absent":
		return s, !present
	case "delete/deleted":
		return s &^ bit, present
	}
	return s, false
}

// reachable returns every configuration reachable from `from` by pending operations taking effect,
// without the dominated ones and duplicates.
func (c *coversSpec) reachable(from []configuration) *coversState {
	var reached []configuration
	for _, cf := range from {
		reached = append(reached, c.flips(cf)...)
	}
	return newCoversState(undominated(reached))
}

// flips is cf and every configuration it becomes when pending operations flip some of its covers
// once each. That is all a configuration needs: a cover flipped twice is back as it was with fewer
// operations pending, which allows nothing more. A flip takes the first pending operation (the one
// decided first) that flips that cover: an upload when it is absent, a delete when present.
func (c *coversSpec) flips(cf configuration) []configuration {
	out := []configuration{cf}
	for cover := range len(c.index) {
		bit := coverSet(1) << cover
		for _, from := range out {
			for i, n := range from.pending {
				if c.flipsCover(n, from.set, bit) {
					out = append(out, configuration{from.set ^ bit, slices.Delete(slices.Clone(from.pending), i, i+1)})
					break
				}
			}
		}
	}
	return out
}

// flipsCover: pending operation n is an upload of the cover `bit` while set s lacks it, or its
// delete while s has it.
func (c *coversSpec) flipsCover(n int, s coverSet, bit coverSet) bool {
	op := c.unknown[n]
	return c.bit(op) == bit && (op.Op == "upload") == (s&bit == 0)
}

// undominated drops each configuration whose pending operations are a subset of another's with the
// same set (a strict subset, or an equal one that comes later: a duplicate).
func undominated(all []configuration) []configuration {
	var kept []configuration
	for i, a := range all {
		dominated := false
		for j, b := range all {
			if i != j && a.set == b.set && isSubset(a.pending, b.pending) && (len(a.pending) < len(b.pending) || j < i) {
				dominated = true
				break
			}
		}
		if !dominated {
			kept = append(kept, a)
		}
	}
	return kept
}

// isSubset: every element of a (ascending) is in b (ascending).
func isSubset(a, b []int) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j == len(b) || b[j] != x {
			return false
		}
	}
	return true
}

// newCoversState orders distinct configurations canonically, by their keys.
func newCoversState(configurations []configuration) *coversState {
	if len(configurations) == 1 {
		key := configurations[0].key()
		return &coversState{configurations, key}
	}
	keys := make([]string, len(configurations))
	order := make([]int, len(configurations))
	for i, cf := range configurations {
		keys[i], order[i] = cf.key(), i
	}
	sort.Slice(order, func(i, j int) bool { return keys[order[i]] < keys[order[j]] })
	state := &coversState{configurations: make([]configuration, len(order))}
	var all strings.Builder
	for i, o := range order {
		state.configurations[i] = configurations[o]
		all.WriteString(keys[o])
	}
	state.key = all.String()
	return state
}

// step applies one operation to every configuration of `state`; false when none allows it.
func (c *coversSpec) step(state *coversState, input interface{}) (bool, *coversState) {
	var after []configuration
	for _, cf := range state.configurations {
		switch in := input.(type) {
		case becomesPending:
			pending := append(slices.Clone(cf.pending), in.n)
			slices.Sort(pending)
			after = append(after, configuration{cf.set, pending})
		case stopsPending:
			left := slices.DeleteFunc(slices.Clone(cf.pending), func(n int) bool { return in.from <= n && n < in.to })
			after = append(after, configuration{cf.set, left})
		case Op:
			if in.Op == "list" {
				// A list returns the set: of the configurations, only those with that set are left.
				if in.Outcome == "ok" && cf.set == c.setOf(in.IDs) {
					after = append(after, cf)
				}
			} else if set, ok := c.acknowledged(cf.set, in); ok {
				after = append(after, configuration{set, cf.pending})
			}
		}
	}
	if len(after) == 0 {
		return false, state
	}
	return true, c.reachable(after)
}

func (c *coversSpec) model() porcupine.Model {
	return porcupine.Model{
		Init: func() interface{} { return newCoversState([]configuration{{}}) },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			return c.step(state.(*coversState), input)
		},
		Equal: func(a, b interface{}) bool { return a.(*coversState).key == b.(*coversState).key },
		Hash: func(state interface{}) uint64 {
			h := fnv.New64a()
			h.Write([]byte(state.(*coversState).key))
			return h.Sum64()
		},
		DescribeOperation: func(input, output interface{}) string { return c.describeOperation(input) },
		DescribeState:     func(state interface{}) string { return c.describe(state.(*coversState)) },
	}
}

func (c *coversSpec) describeOperation(input interface{}) string {
	switch in := input.(type) {
	case becomesPending:
		op := c.unknown[in.n]
		return fmt.Sprintf("%s(%s) unknown #%d called @%s", op.Op, op.ID, in.n, op.Member)
	case stopsPending:
		return fmt.Sprintf("unknown #%d to #%d decided", in.from, in.to-1)
	}
	op := input.(Op)
	if op.Op == "list" {
		return fmt.Sprintf("list -> [%s] @%s", strings.Join(op.IDs, ","), op.Member)
	}
	return fmt.Sprintf("%s(%s) %s @%s", op.Op, op.ID, op.Outcome, op.Member)
}

func (c *coversSpec) setOf(ids []string) coverSet {
	var set coverSet
	for _, id := range ids {
		set |= 1 << c.index[id]
	}
	return set
}

// describe names each configuration: the covers' ids, then the pending operations' numbers:
// "{} pending [3 4] | {a,b}".
func (c *coversSpec) describe(state *coversState) string {
	ids := make([]string, len(c.index))
	for id, i := range c.index {
		ids[i] = id
	}
	var out []string
	for _, cf := range state.configurations {
		var members []string
		for i, id := range ids {
			if cf.set&(1<<i) != 0 {
				members = append(members, id)
			}
		}
		sort.Strings(members)
		text := "{" + strings.Join(members, ",") + "}"
		if len(cf.pending) > 0 {
			text += fmt.Sprintf(" pending %v", cf.pending)
		}
		out = append(out, text)
	}
	return strings.Join(out, " | ")
}
