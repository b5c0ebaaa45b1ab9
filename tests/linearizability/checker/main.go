// lincheck: checks that a history recorded against a stego cluster is linearizable, with
// Porcupine (github.com/anishathalye/porcupine), one model per kind of replicated state.
//
//	lincheck [-timeout 120s] [-memory BYTES (4 GiB)] [-viz DIR] HISTORY.json
//
// Prints one line per kind; exits 0 when every kind is linearizable, 1 when one is not (then
// DIR/<kind>.html shows the longest linearizable prefix and the operations that could not follow),
// 2 when the history cannot be read or the check ran out of time or memory (no verdict).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

func main() {
	timeout := flag.Duration("timeout", 120*time.Second, "time allowed for each kind's check")
	viz := flag.String("viz", "", "directory for the visualisation of a failed check")
	memory := flag.Uint64("memory", 4<<30, "bytes of heap the search may hold before it gives up (no verdict)")
	flag.Parse()
	go exitAbove(*memory)
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: lincheck [-timeout D] [-memory BYTES] [-viz DIR] HISTORY.json")
		os.Exit(2)
	}
	h, err := ReadHistory(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "lincheck:", err)
		os.Exit(2)
	}
	status := 0
	for _, kind := range []string{"config", "covers", "keys"} {
		switch result := check(h, kind, *timeout, *viz); result {
		case porcupine.Illegal:
			status = 1
		case porcupine.Unknown:
			status = max(status, 2)
		}
	}
	os.Exit(status)
}

func check(h *History, kind string, timeout time.Duration, viz string) porcupine.CheckResult {
	checking.Store(kind)
	recorded := h.Operations(kind) // as recorded; the model may take some in another form
	unknowns := 0
	for _, op := range recorded {
		if op.Input.(Op).Outcome == unknown {
			unknowns++
		}
	}
	model, ops, err := ModelFor(kind, h)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lincheck:", err)
		return porcupine.Unknown
	}
	start := time.Now()
	result, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	fmt.Printf("%-6s %-8s ops=%d unknown-outcome=%d checked in %s\n", kind, verdict(result), len(recorded), unknowns,
		time.Since(start).Round(time.Millisecond))
	if result == porcupine.Illegal && viz != "" {
		path := filepath.Join(viz, kind+".html")
		if err := porcupine.VisualizePath(model, info, path); err != nil {
			fmt.Fprintln(os.Stderr, "lincheck: visualisation:", err)
		} else {
			fmt.Printf("%-6s see %s\n", kind, path)
		}
	}
	return result
}

var checking atomic.Value // the kind being checked, for exitAbove's message

// exitAbove ends the process, without a verdict, once the heap passes `limit`. Porcupine's search
// keeps every (linearized set, state) pair it has seen, and a history with many operations of
// unknown outcome open at once can grow it by gigabytes a minute, long before the timeout.
func exitAbove(limit uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	for range time.Tick(200 * time.Millisecond) {
		metrics.Read(sample)
		if heap := sample[0].Value.Uint64(); heap > limit {
			kind, _ := checking.Load().(string)
			fmt.Printf("%-6s no-verdict: the search passed -memory (%d MiB of heap)\n", kind, heap>>20)
			os.Exit(2)
		}
	}
}

func verdict(r porcupine.CheckResult) string {
	switch r {
	case porcupine.Ok:
		return "linearizable"
	case porcupine.Illegal:
		return "NOT-linearizable"
	}
	return "timeout"
}
