package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/anishathalye/porcupine"
)

// History is the file the recorder writes:
//
//	{"initial_config": 40000000, "ops": [Op, ...]}
//
// Times are nanoseconds on one monotonic clock. An op whose outcome is "unknown" has no return
// time that matters: it may take effect at any moment after its call, so it is given one after
// every other event.
type History struct {
	InitialConfig int64 `json:"initial_config"`
	Ops           []Op  `json:"ops"`
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
	if op.Kind == "config" && op.Value == nil {
		return fmt.Errorf("a config op needs a value")
	}
	return nil
}

// Operations are the ops of one kind, as Porcupine takes them. Each client is sequential, except
// that it goes on after an unknown outcome: the ops after one get a new client number, so the
// visualisation's lanes never overlap.
func (h *History) Operations(kind string) []porcupine.Operation {
	var last int64
	for _, op := range h.Ops {
		last = max(last, op.Call, op.Return)
	}
	lanes := map[int]int{}
	next := 0
	var out []porcupine.Operation
	for _, op := range h.Ops {
		if op.Kind != kind {
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
			ret = last + 1
			lanes[op.Client] = next
			next++
		}
		out = append(out, porcupine.Operation{ClientId: lane, Input: op, Call: op.Call, Output: nil, Return: ret})
	}
	return out
}
