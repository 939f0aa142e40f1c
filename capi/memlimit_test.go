package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"
)

// The library turns on the engine's default heap limit when it is loaded
// (init in capi.go), unless GOMEMLIMIT decides.
func TestLoadingTheLibrarySetsAHeapLimit(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set: the runtime's limit is the user's")
	}
	if lim := debug.SetMemoryLimit(-1); lim == math.MaxInt64 {
		t.Fatalf("no Go memory limit after loading the library")
	}
}
