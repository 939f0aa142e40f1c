package main

import (
	"math"
	"os"
	"runtime/debug"
	"testing"

	"github.com/gofka/gofka/core"
)

// The library turns on the engine's default heap limit when it is loaded
// (init in capi.go), unless GOMEMLIMIT decides: then the user's limit
// stands and the automatic one stays off.
func TestLoadingTheLibrarySetsAHeapLimit(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		if core.AutoMemoryLimit() {
			t.Fatalf("the automatic limit took over from GOMEMLIMIT=%s", os.Getenv("GOMEMLIMIT"))
		}
		return
	}
	if lim := debug.SetMemoryLimit(-1); lim == math.MaxInt64 {
		t.Fatalf("no Go memory limit after loading the library")
	}
}
