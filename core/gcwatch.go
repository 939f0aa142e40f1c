package core

import (
	"runtime"
	"runtime/metrics"
	"sync"
)

// A hook run after each garbage collection, for the runtime tuning that
// follows what the collector found: the heap limit (memlimit.go) and the
// collector's pace (gcpace.go). Each part does nothing until its Auto...
// function turned it on.

// gcTick is an object made to be collected: its cleanup runs once per
// garbage collection (it holds a pointer so that it is never a tiny
// allocation, which would share its life with its neighbours).
type gcTick struct{ _ *byte }

// gcWatch arms the hook once per process, whichever part comes first.
var gcWatch sync.Once

// watchCollections arranges for onCollection to run after each garbage
// collection, for as long as the process lives. Safe for concurrent use;
// calls after the first are no-ops.
func watchCollections() { gcWatch.Do(armCollectionTick) }

func armCollectionTick() {
	runtime.AddCleanup(new(gcTick), func(struct{}) { onCollection() }, struct{}{})
}

// runtimeMetric reads one of the runtime's metrics (runtime/metrics);
// its Kind is KindBad when this runtime does not have it.
func runtimeMetric(name string) metrics.Value {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value
}

// onCollection runs on the runtime's cleanup goroutine after a
// collection: it must be short. It re-arms for the next one.
func onCollection() {
	memLimitAfterCollection()
	gcPaceAfterCollection()
	armCollectionTick()
}
