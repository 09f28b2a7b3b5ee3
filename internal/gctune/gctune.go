// Package gctune sets Parley's default garbage collector target.
//
// A Parley node holds many idle connections whose memory is mostly live
// objects; the rest of its RSS is headroom left by the short-lived garbage
// of connection storms (each upgrade leaves about 16 KB). With the Go
// default (GOGC=100) the heap grows to twice the live data before a
// collection; at 50 it stays within 1.5 times, which measured 1-2 KB less
// RSS per idle connection (docs/perf.md) for little CPU: broadcasts, the hot
// path, make almost no garbage.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the GC target Parley uses unless GOGC is set.
const Percent = 50

// Apply sets the GC target to Percent when the environment does not set
// GOGC, and reports whether it did.
func Apply() bool {
	if os.Getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(Percent)
	return true
}
