package core

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The collector's pace (GOGC) in processes whose Go runtime Gofka hosts
// (the C library, hence the Python package; Go programs opt in with
// AutoGCPace).
//
// Why: under GOGC=100, the runtime's default, the heap grows to twice
// what the last collection left live, and never below 4 MiB. A client
// that sends one record at a time or commits each message keeps 1-5 MiB
// live; garbage fills the rest. In Python that was ~2 MiB of a 43 MiB
// process, most of what still separated those loops from aiokafka's and
// confluent-kafka's peak RSS (issue 22, item 6). GOGC=50 (1.5 times the
// live heap, at least 2 MiB) saves it and costs nothing measurable where
// collections are rare; where they are frequent it doubles them: a
// consumer polling 2M records/s took 12% more CPU per record at 50.
//
// So the pace follows what the collector costs: lean (GOGC=50) while
// collections take less than gcLeanMaxCores of a CPU, busy (GOGC=100)
// once they take more, and lean again when the busy pace costs less than
// gcLeanResumeCores. Lean about doubles the cost, so the resume mark sits
// at a quarter of the limit and the pace does not flap. The cost is the
// runtime's estimate (/cpu/classes/gc/total:cpu-seconds, stop-the-world
// pauses, mark assists and mark workers) over at least gcPaceWindow of
// wall time, read after a collection: a burst runs at most about that
// long at the lean pace before it turns busy. The pace starts lean.
//
// Why 10%: the loops whose memory users compare with the peers' stay
// lean, the fastest poll loop turns busy. Measured at the lean pace
// (1M x 100 B records): `async for` 7% of a CPU, Consumer.poll(10000)
// 10-15%. A 2% mark turned `async for` and a produce(cb) + poll(0) loop
// busy, and they peaked 3 and 2 MiB higher (48 vs 45, 94 vs 91 MiB, 3
// alternated runs each) for no CPU per record the runs could tell
// apart. poll(10000) turns busy in most runs at 10%; its CPU per record
// was 0.69 against 0.65 us at the 2% mark (medians of 7 alternated runs).
//
// GOGC in the environment leaves the pace to the user. Process-wide,
// like the runtime setting it drives.

const (
	gcPercentLean     = 50
	gcPercentBusy     = 100
	gcLeanMaxCores    = 0.10               // 10% of one CPU
	gcLeanResumeCores = gcLeanMaxCores / 4 // 2.5%: lean about doubles the cost
	gcPaceWindow      = 100 * time.Millisecond
)

// gcCPUMetric names the runtime's estimate of the CPU time spent
// collecting since the process started; gcPercentMetric the GOGC in
// effect.
const (
	gcCPUMetric     = "/cpu/classes/gc/total:cpu-seconds"
	gcPercentMetric = "/gc/gogc:percent"
)

// gcPace is the state of the automatic pace; guarded by mu.
var gcPace struct {
	mu      sync.Mutex
	on      bool      // AutoGCPace took effect
	percent int       // the GOGC last given to the runtime
	since   time.Time // start of the current window
	gcCPU   float64   // the collector's CPU seconds at since
}

// AutoGCPace makes the engine set the Go collector's pace (GOGC, through
// debug.SetGCPercent) from what collections cost: 50 while they take
// under 10% of a CPU, 100 above (see the comment at the top of
// core/gcpace.go). The C library calls it when it is loaded; a Go
// program may call it once at start when Gofka's clients are the bulk of
// its memory. It does nothing and returns false when the GOGC
// environment variable is set: the user chose the pace. Safe for
// concurrent use; later calls are no-ops.
func AutoGCPace() bool {
	if os.Getenv("GOGC") != "" {
		return false
	}
	gcPace.mu.Lock()
	defer gcPace.mu.Unlock()
	if !gcPace.on {
		gcPace.on = true
		gcPace.since, gcPace.gcCPU = time.Now(), readGCCPU()
		gcPace.percent = gcPercentLean
		debug.SetGCPercent(gcPace.percent)
		watchCollections()
	}
	return true
}

// gcPercentAfter is the pace to keep after a window at pace percent in
// which collections took gcCores of a CPU.
func gcPercentAfter(percent int, gcCores float64) int {
	switch {
	case percent == gcPercentLean && gcCores > gcLeanMaxCores:
		return gcPercentBusy
	case percent == gcPercentBusy && gcCores < gcLeanResumeCores:
		return gcPercentLean
	}
	return percent
}

// gcPaceAfterCollection closes the window when it lasted gcPaceWindow
// and sets the pace it calls for. Run by onCollection (core/gcwatch.go):
// it must be short.
func gcPaceAfterCollection() {
	gcPace.mu.Lock()
	defer gcPace.mu.Unlock()
	if !gcPace.on {
		return
	}
	now := time.Now()
	wall := now.Sub(gcPace.since)
	if wall < gcPaceWindow {
		return
	}
	cpu := readGCCPU()
	next := gcPercentAfter(gcPace.percent, (cpu-gcPace.gcCPU)/wall.Seconds())
	gcPace.since, gcPace.gcCPU = now, cpu
	if next != gcPace.percent {
		gcPace.percent = next
		debug.SetGCPercent(next)
	}
}

// readGCCPU is the collector's CPU seconds so far (0 if the runtime does
// not report them: the pace then stays where it is).
func readGCCPU() float64 {
	v := runtimeMetric(gcCPUMetric)
	if v.Kind() != metrics.KindFloat64 {
		return 0
	}
	return v.Float64()
}

// GCPercent is the GOGC the Go runtime runs with now: the pace set here,
// the user's GOGC, or -1 when collection is off. Safe for concurrent use.
func GCPercent() int {
	v := runtimeMetric(gcPercentMetric)
	if v.Kind() != metrics.KindUint64 {
		return -1
	}
	return int(int64(v.Uint64())) // the runtime reports off (-1) as its two's complement
}
