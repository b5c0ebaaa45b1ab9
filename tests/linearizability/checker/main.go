// lincheck: checks that a history recorded against a stego cluster is linearizable, with
// Porcupine (github.com/anishathalye/porcupine), one model per kind of replicated state.
//
//	lincheck [-timeout 120s] [-viz DIR] HISTORY.json
//
// Prints one line per kind; exits 0 when every kind is linearizable, 1 when one is not (then
// DIR/<kind>.html shows the longest linearizable prefix and the operations that could not follow),
// 2 when the history cannot be read or the check ran out of time (no verdict).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
)

func main() {
	timeout := flag.Duration("timeout", 120*time.Second, "time allowed for each kind's check")
	viz := flag.String("viz", "", "directory for the visualisation of a failed check")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: lincheck [-timeout D] [-viz DIR] HISTORY.json")
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
	ops := h.Operations(kind)
	unknowns := 0
	for _, op := range ops {
		if op.Input.(Op).Outcome == unknown {
			unknowns++
		}
	}
	nondeterministic, _ := ModelFor(kind, h)
	model := nondeterministic.ToModel()
	start := time.Now()
	result, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	fmt.Printf("%-6s %-8s ops=%d unknown-outcome=%d checked in %s\n", kind, verdict(result), len(ops), unknowns,
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

func verdict(r porcupine.CheckResult) string {
	switch r {
	case porcupine.Ok:
		return "linearizable"
	case porcupine.Illegal:
		return "NOT-linearizable"
	}
	return "timeout"
}
