package core

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGCPercentAfterFollowsTheCollectorsCost(t *testing.T) {
	require.Equal(t, gcPercentLean, gcPercentAfter(gcPercentLean, 0.07), "cheap collections keep the lean pace (async for: 7% of a CPU)")
	require.Equal(t, gcPercentBusy, gcPercentAfter(gcPercentLean, 0.15), "costly ones turn it busy (poll(10000): 15%)")
	require.Equal(t, gcPercentBusy, gcPercentAfter(gcPercentBusy, 0.05), "busy stays until the cost is well below the limit")
	require.Equal(t, gcPercentLean, gcPercentAfter(gcPercentBusy, 0.02), "then lean again")
}

// withAutoPace runs f with the automatic pace on and a clean state, then
// restores the process's previous GOGC and state.
func withAutoPace(t *testing.T, f func()) {
	t.Setenv("GOGC", "")
	gcPace.mu.Lock()
	saved := gcPace.on
	gcPace.on = false
	gcPace.mu.Unlock()
	prev := debug.SetGCPercent(gcPercentBusy)
	defer func() {
		gcPace.mu.Lock()
		gcPace.on = saved
		gcPace.mu.Unlock()
		debug.SetGCPercent(prev)
	}()
	require.True(t, AutoGCPace())
	f()
}

func TestAutoGCPaceTurnsBusyWhenCollectionsCostAndLeanWhenNot(t *testing.T) {
	withAutoPace(t, func() {
		require.Equal(t, gcPercentLean, GCPercent(), "the pace starts lean")

		// Collections back to back cost far more than 10% of a CPU.
		deadline := time.Now().Add(30 * time.Second)
		for GCPercent() != gcPercentBusy && time.Now().Before(deadline) {
			runtime.GC()
		}
		require.Equal(t, gcPercentBusy, GCPercent())

		// One collection per second costs well under 2.5% of a CPU
		// (the test binary's live heap is a few MiB).
		deadline = time.Now().Add(60 * time.Second)
		for GCPercent() != gcPercentLean && time.Now().Before(deadline) {
			time.Sleep(time.Second)
			runtime.GC()
			time.Sleep(10 * time.Millisecond) // the hook runs on the cleanup goroutine
		}
		require.Equal(t, gcPercentLean, GCPercent())
	})
}

func TestAutoGCPaceLeavesGOGCToTheUser(t *testing.T) {
	t.Setenv("GOGC", "100")
	prev := debug.SetGCPercent(70)
	defer debug.SetGCPercent(prev)
	require.False(t, AutoGCPace())
	require.Equal(t, 70, GCPercent())
}
