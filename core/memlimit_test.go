package core

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMemLimitForBudgetsAndLiveHeap(t *testing.T) {
	require.EqualValues(t, memLimitBase, memLimitFor(0, 0))
	require.EqualValues(t, memLimitBase+32<<20, memLimitFor(32<<20, 10<<20))
	// A live heap past the budgets lifts the limit to 1.5 times itself:
	// the collector keeps headroom instead of running constantly.
	require.EqualValues(t, 150<<20, memLimitFor(32<<20, 100<<20))
}

// withAutoLimit runs f with the automatic limit on and a clean state,
// then restores the process's previous limit and state (the limit is
// process-wide: other tests must not inherit it).
func withAutoLimit(t *testing.T, f func()) {
	t.Setenv("GOMEMLIMIT", "")
	autoLimit.mu.Lock()
	savedOn, savedLive, savedSet := autoLimit.on, autoLimit.live, autoLimit.set
	autoLimit.on, autoLimit.live, autoLimit.set = false, 0, 0
	autoLimit.mu.Unlock()
	prev := debug.SetMemoryLimit(-1)
	defer func() {
		autoLimit.mu.Lock()
		autoLimit.on, autoLimit.live, autoLimit.set = savedOn, savedLive, savedSet
		autoLimit.mu.Unlock()
		debug.SetMemoryLimit(prev)
	}()
	require.True(t, AutoMemoryLimit())
	f()
}

// limitState reads the budgets and checks, under the state's lock (so no
// collection's update comes between), that the runtime's limit is the one
// the state calls for.
func limitState(t *testing.T) (budgets int64) {
	t.Helper()
	autoLimit.mu.Lock()
	defer autoLimit.mu.Unlock()
	require.Equal(t, memLimitFor(autoLimit.budgets, autoLimit.live), debug.SetMemoryLimit(-1))
	return autoLimit.budgets
}

func TestAutoMemoryLimitFollowsOpenClients(t *testing.T) {
	withAutoLimit(t, func() {
		require.Less(t, debug.SetMemoryLimit(-1), int64(math.MaxInt64), "a limit is set")
		base := limitState(t)

		p, err := NewProducer(WithBrokers("127.0.0.1:1"), WithBufferMemory(64<<20))
		require.NoError(t, err)
		require.Equal(t, base+64<<20, limitState(t), "a producer adds its buffer.memory")

		c, err := NewConsumer(WithBrokers("127.0.0.1:1"), WithQueuedMaxMessagesKbytes(8192))
		require.NoError(t, err)
		require.Equal(t, base+64<<20+16<<20, limitState(t), "a consumer adds twice its prefetch bound")

		require.NoError(t, c.Close(t.Context()))
		require.Equal(t, base+64<<20, limitState(t))
		_ = p.Close(t.Context())
		_ = p.Close(t.Context()) // a second Close gives nothing back twice
		require.Equal(t, base, limitState(t))
	})
}

func TestAutoMemoryLimitStaysAboveTheLiveHeap(t *testing.T) {
	withAutoLimit(t, func() {
		// A live set larger than every budget (an application's own data):
		// after a collection the limit must rise above it, or the
		// collector would run without end.
		live := make([][]byte, 96)
		for i := range live {
			live[i] = make([]byte, 1<<20)
		}
		deadline := time.Now().Add(30 * time.Second)
		for debug.SetMemoryLimit(-1) < 96<<20*3/2 && time.Now().Before(deadline) {
			runtime.GC()
			time.Sleep(10 * time.Millisecond) // the watcher runs on the cleanup goroutine
		}
		require.GreaterOrEqual(t, debug.SetMemoryLimit(-1), int64(96<<20*3/2))
		runtime.KeepAlive(live)
	})
}

func TestAutoMemoryLimitLeavesGOMEMLIMITToTheUser(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "off")
	prev := debug.SetMemoryLimit(-1)
	require.False(t, AutoMemoryLimit())
	require.Equal(t, prev, debug.SetMemoryLimit(-1))
}
