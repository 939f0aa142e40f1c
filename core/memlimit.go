package core

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The Go heap's default limit in processes whose Go runtime Gofka hosts
// (the C library, hence the Python package; Go programs opt in).
//
// Why: under GOGC=100 the heap may grow to twice what was live after the
// previous collection. A producer whose buffer.memory (32 MiB) is full
// holds ~32 MiB of records, so its process carried up to another 32 MiB
// of garbage: the gap between Gofka's and librdkafka's peak RSS on
// produce loops (issue 22, item 6). The clients' own bounds say how large
// the live heap gets by design, so the limit is set from them:
//
//	limit = memLimitBase + the sum of the open clients' heap budgets
//
// (a producer's budget is its buffer.memory; a consumer's twice its
// prefetch bound: the bytes fetched and in flight, and the records a
// poll decodes from them with the garbage of the fetches before).
// The collector then runs earlier only when garbage would take the heap
// past what the clients need. A limit below the live heap would make it
// run constantly (a consumer measured at 4x the CPU with GOMEMLIMIT=16MiB
// against 63 MiB of RSS), so the limit never stays below 1.5 times the
// live heap of the last collection: a live set larger than the budgets
// say (an application's own Go data, huge metadata) costs at most about
// twice the collections of GOGC=100, never a spiral.
//
// The limit is process-wide and soft (debug.SetMemoryLimit): it makes the
// collector work harder, it never fails an allocation. Setting GOMEMLIMIT
// in the environment (GOMEMLIMIT=off for none) leaves the runtime's limit
// to the user.

// memLimitBase is the limit's share that no client accounts for: the
// engine's heap at rest (metadata, connections, pools), the runtime's own
// memory (the limit counts stacks and GC metadata too) and room for
// responses no budget bounds (admin calls, a large metadata response).
const memLimitBase = 32 << 20

// autoLimit is the state of the automatic limit; guarded by mu.
var autoLimit struct {
	mu      sync.Mutex
	on      bool  // AutoMemoryLimit took effect
	budgets int64 // the open clients' heap budgets, summed
	live    int64 // live heap bytes after the last collection seen
	set     int64 // the limit last given to the runtime (0: none yet)
}

// AutoMemoryLimit makes the engine keep the Go runtime's soft memory limit
// (debug.SetMemoryLimit) at memLimitBase plus the heap budgets of the open
// clients, and never below 1.5 times the live heap (see the comment at the
// top of core/memlimit.go). The C library calls it when it is loaded; a Go
// program may call it once at start when Gofka's clients are the bulk of
// its memory. It does nothing and returns false when the GOMEMLIMIT
// environment variable is set: the user chose the limit. Safe for
// concurrent use; later calls are no-ops.
func AutoMemoryLimit() bool {
	if os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	autoLimit.mu.Lock()
	defer autoLimit.mu.Unlock()
	if !autoLimit.on {
		autoLimit.on = true
		applyMemLimitLocked()
		watchCollections()
	}
	return true
}

// addHeapBudget counts n bytes more of heap that an open client may hold
// by design; the returned release (idempotent) takes them back when the
// client closes. A no-op for the limit until AutoMemoryLimit was called,
// but counted either way, so that a later call sees every open client.
func addHeapBudget(n int64) (release func()) {
	autoLimit.mu.Lock()
	autoLimit.budgets += n
	applyMemLimitLocked()
	autoLimit.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			autoLimit.mu.Lock()
			autoLimit.budgets -= n
			applyMemLimitLocked()
			autoLimit.mu.Unlock()
		})
	}
}

// memLimitFor is the limit for the given budgets and last live heap.
func memLimitFor(budgets, live int64) int64 {
	return max(memLimitBase+budgets, live+live/2)
}

// applyMemLimitLocked gives the runtime the limit the state calls for
// when it changed; autoLimit.mu held.
func applyMemLimitLocked() {
	if !autoLimit.on {
		return
	}
	lim := memLimitFor(autoLimit.budgets, autoLimit.live)
	if lim != autoLimit.set {
		debug.SetMemoryLimit(lim)
		autoLimit.set = lim
	}
}

// liveHeapMetric names the runtime's live heap after the last collection.
const liveHeapMetric = "/gc/heap/live:bytes"

// memLimitAfterCollection reads the live heap the last collection left
// and lifts the limit if it must stay above 1.5 times that (or lowers it
// back). Run by onCollection (core/gcwatch.go): it must be short.
func memLimitAfterCollection() {
	autoLimit.mu.Lock()
	defer autoLimit.mu.Unlock()
	if !autoLimit.on {
		return
	}
	if v := runtimeMetric(liveHeapMetric); v.Kind() == metrics.KindUint64 {
		autoLimit.live = int64(v.Uint64())
	}
	applyMemLimitLocked()
}

// prefetchHeapBudget is a consumer's heap budget: its prefetch bound
// (queued.max.messages.kbytes) twice, for the bytes fetched (buffered and
// in flight, kept undecoded) and the records each poll decodes (~140
// bytes each on top of their data) with the garbage of earlier fetches.
func prefetchHeapBudget(cfg *Config) int64 { return 2 * int64(cfg.QueuedMaxKbytes) * 1024 }
