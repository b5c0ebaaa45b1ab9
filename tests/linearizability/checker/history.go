package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/anishathalye/porcupine"
)

// History is the file the recorder writes:
//
//	{"initial_config": 40000000, "request_timeout": 5000000000,
//	 "faults": [{"kind": "kill", "member": "node2", "start": T, "healed": T, "recovered": T}, ...],
//	 "ops": [Op, ...]}
//
// Times are nanoseconds on one monotonic clock.
type History struct {
	InitialConfig  int64   `json:"initial_config"`
	RequestTimeout int64   `json:"request_timeout"` // how long a member works on one request
	Faults         []Fault `json:"faults"`
	Ops            []Op    `json:"ops"`
}

// Fault is one fault of the nemesis: injected at Start, undone at Healed, and the cluster healthy
// again at Recovered (every member up and a voter, one leader all agree on).
type Fault struct {
	Kind      string `json:"kind"`
	Member    string `json:"member"`
	Start     int64  `json:"start"`
	Healed    int64  `json:"healed"`
	Recovered int64  `json:"recovered"`
}

// decidedBy is when an operation whose outcome the client never learnt must have taken effect,
// if it ever does. A member proposes a request's write (again, after a leader change) only
// until its request timeout; an entry proposed by then is committed or gone for good once the
// cluster has a leader that all members follow, which the first recovery after that shows (plus
// `settle` for that leader to commit its log's tail). With no recovery after it, the end of the
// history. A later moment would only allow more orders: this bound makes the check stricter, and
// a write that took effect later still would show as a violation.
func (h *History) decidedBy(op Op, end int64) int64 {
	const settle = int64(2e9)
	for _, f := range h.Faults {
		if f.Recovered >= op.Call+h.RequestTimeout {
			return min(f.Recovered+settle, end)
		}
	}
	return end
}

func ReadHistory(path string) (*History, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var h History
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, op := range h.Ops {
		if err := op.validate(); err != nil {
			return nil, fmt.Errorf("%s: op %d: %w", path, i, err)
		}
	}
	return &h, nil
}

func (op Op) validate() error {
	if op.Call <= 0 || (op.Outcome != unknown && op.Return < op.Call) {
		return fmt.Errorf("bad times (call %d, return %d)", op.Call, op.Return)
	}
	if op.Outcome == unknown && (op.Op == "read" || op.Op == "list") {
		return fmt.Errorf("a read of unknown outcome: the recorder leaves those out")
	}
	if op.Kind == "config" && op.Value == nil {
		return fmt.Errorf("a config op needs a value")
	}
	return nil
}

// Operations are the ops of one kind, as Porcupine takes them; an unknown outcome returns when it
// is decided (decidedBy). Each client is sequential, except that it goes on after an unknown
// outcome: the ops after one get a new client number, so the visualisation's lanes never overlap.
func (h *History) Operations(kind string) []porcupine.Operation {
	var last int64
	for _, op := range h.Ops {
		last = max(last, op.Call, op.Return)
	}
	read := map[int64]bool{} // every configuration value some read returned
	for _, op := range h.Ops {
		if op.Kind == "config" && op.Op == "read" {
			read[*op.Value] = true
		}
	}
	lanes := map[int]int{}
	next := 0
	var out []porcupine.Operation
	for _, op := range h.Ops {
		if op.Kind != kind || unobservedWrite(op, read) {
			continue
		}
		lane, ok := lanes[op.Client]
		if !ok {
			lane = next
			next++
			lanes[op.Client] = lane
		}
		ret := op.Return
		if op.Outcome == unknown {
			ret = h.decidedBy(op, last+1)
			lanes[op.Client] = next
			next++
		}
		out = append(out, porcupine.Operation{ClientId: lane, Input: op, Call: op.Call, Output: nil, Return: ret})
	}
	return out
}

// unobservedWrite: a configuration write whose outcome is unknown and whose value (each write's
// is unique) no read returned. Leaving it out changes no verdict: it may not have taken effect,
// and had it, only reads of its value could tell. Under heavy load hundreds of these made the
// register's check run out of time.
func unobservedWrite(op Op, read map[int64]bool) bool {
	return op.Kind == "config" && op.Op == "write" && op.Outcome == unknown && !read[*op.Value]
}
