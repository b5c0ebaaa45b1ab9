// The sequential specifications of what the stego API replicates, as Porcupine models. Each is
// nondeterministic only where the history is: an operation whose outcome the client never learnt
// (a timeout, a 5xx, a dropped connection) may or may not have taken effect. The config and keys
// states are canonical strings, so Porcupine's default == compares them; the covers model is in
// covers.go.
package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Op is one client operation as the recorder wrote it (see history.go for the file's format).
type Op struct {
	Client  int               `json:"client"`
	Kind    string            `json:"kind"`    // config, covers, keys
	Op      string            `json:"op"`      // write/read; upload/delete/list; create/delete/list
	Outcome string            `json:"outcome"` // what the answer said (per op, below), or "unknown"
	Value   *int64            `json:"value"`   // config: the value written, or the value read
	ID      string            `json:"id"`      // covers: the cover; keys: the key's id (when known)
	Name    string            `json:"name"`    // keys: the key's name
	IDs     []string          `json:"ids"`     // covers list
	Keys    map[string]string `json:"keys"`    // keys list: name -> id
	Call    int64             `json:"call"`    // nanoseconds, one monotonic clock
	Return  int64             `json:"return"`
	Member  string            `json:"member"` // the member asked (for the visualisation)
}

const unknown = "unknown"

// --- config: one register, the value of max_pixels --------------------------------------------

// configModel: write(v) ok sets the register; read returns it. `initial` is the value the
// recorder read before any client started.
func configModel(initial int64) porcupine.NondeterministicModel {
	return porcupine.NondeterministicModel{
		Init: func() []interface{} { return []interface{}{strconv.FormatInt(initial, 10)} },
		Step: func(state, input, output interface{}) []interface{} {
			op := input.(Op)
			value := strconv.FormatInt(*op.Value, 10)
			switch {
			case op.Op == "write" && op.Outcome == "ok":
				return []interface{}{value}
			case op.Op == "write":
				return []interface{}{state, value}
			case op.Op == "read" && state == value:
				return []interface{}{state}
			}
			return nil
		},
		DescribeOperation: func(input, output interface{}) string {
			op := input.(Op)
			return fmt.Sprintf("%s(%d) %s @%s", op.Op, *op.Value, op.Outcome, op.Member)
		},
	}
}

// --- keys: API keys by name, each with the id it was created under -----------------------------

// A key created by an operation whose answer was lost has an id the history does not know: "?"
// until a list shows it.
const unknownID = "?"

func keysOf(state interface{}) map[string]string {
	out := map[string]string{}
	for _, entry := range strings.Split(state.(string), ",") {
		if name, id, ok := strings.Cut(entry, "="); ok {
			out[name] = id
		}
	}
	return out
}

func keysState(keys map[string]string) string {
	entries := make([]string, 0, len(keys))
	for name, id := range keys {
		entries = append(entries, name+"="+id)
	}
	sort.Strings(entries)
	return strings.Join(entries, ",")
}

func withKey(state interface{}, name, id string) string {
	keys := keysOf(state)
	if id == "" {
		delete(keys, name)
	} else {
		keys[name] = id
	}
	return keysState(keys)
}

// KeysModel: names are unique. create answers created (201, with the new id) only for a free name
// and conflict (409) only for a taken one; delete (by id) answers deleted (204) only when that id
// is the name's current key, absent (404, or 409 when a concurrent delete came first) otherwise;
// list returns every name with its id.
var KeysModel = porcupine.NondeterministicModel{
	Init: func() []interface{} { return []interface{}{""} },
	Step: func(state, input, output interface{}) []interface{} {
		op := input.(Op)
		current, taken := keysOf(state)[op.Name]
		matches := taken && (current == op.ID || current == unknownID)
		switch op.Op + "/" + op.Outcome {
		case "create/created":
			if !taken {
				return []interface{}{withKey(state, op.Name, op.ID)}
			}
		case "create/conflict":
			if taken {
				return []interface{}{state}
			}
		case "create/unknown":
			if taken {
				return []interface{}{state}
			}
			return []interface{}{state, withKey(state, op.Name, unknownID)}
		case "delete/deleted":
			if matches {
				return []interface{}{withKey(state, op.Name, "")}
			}
		case "delete/absent":
			if !taken || current != op.ID {
				return []interface{}{state}
			}
		case "delete/unknown":
			if matches {
				return []interface{}{state, withKey(state, op.Name, "")}
			}
			return []interface{}{state}
		case "list/ok":
			return listKeys(state, op.Keys)
		}
		return nil
	},
	DescribeOperation: func(input, output interface{}) string {
		op := input.(Op)
		if op.Op == "list" {
			return fmt.Sprintf("list -> {%s} @%s", keysState(op.Keys), op.Member)
		}
		return fmt.Sprintf("%s(%s=%s) %s @%s", op.Op, op.Name, op.ID, op.Outcome, op.Member)
	},
}

// A list matches when it names the same keys with the same ids; it also tells the ids that were
// unknown, so the state learns them.
func listKeys(state interface{}, listed map[string]string) []interface{} {
	keys := keysOf(state)
	if len(keys) != len(listed) {
		return nil
	}
	for name, id := range keys {
		got, ok := listed[name]
		if !ok || (id != unknownID && id != got) {
			return nil
		}
	}
	return []interface{}{keysState(listed)}
}

// ModelFor is the specification of one kind of operation in history h, and that kind's operations
// as the specification takes them.
func ModelFor(kind string, h *History) (porcupine.Model, []porcupine.Operation, error) {
	ops := h.Operations(kind)
	switch kind {
	case "config":
		config := configModel(h.InitialConfig)
		return config.ToModel(), ops, nil
	case "covers":
		spec, err := newCoversSpec(h)
		if err != nil {
			return porcupine.Model{}, nil, err
		}
		ops = spec.operations(ops) // numbers the operations of unknown outcome, which the model names
		return spec.model(), ops, nil
	case "keys":
		return KeysModel.ToModel(), ops, nil
	}
	return porcupine.Model{}, nil, fmt.Errorf("no model for %q", kind)
}
