package main

// How the library's exported functions get along with the Go scheduler
// when they are called from foreign threads (a Python thread, a C
// program's thread).
//
// When an exported function returns, the runtime treats the caller's time
// in C as a system call: the thread keeps the P (scheduler slot) it ran
// on, marked as in a syscall, until it calls in again or the system
// monitor (sysmon) takes the P back. Two things follow.
//
//  1. The engine's goroutines have one P fewer than the default
//     GOMAXPROCS (one per CPU) while a thread is outside; init adds one.
//  2. sysmon sees the caller's P run the same goroutine (the callback's)
//     without a scheduling round for ever, so every 10-20 ms it "preempts"
//     it by taking the P away. Each such retake resets sysmon's sleep to
//     20 us for ~60 cycles (it bets that more retakes follow). A caller
//     that polls or sends in a loop therefore kept sysmon waking about
//     4000 times a second; on a 2-vCPU VM a 20 us nanosleep costs ~30 us
//     of CPU (timer and wake-up exits), which was ~40 us of CPU per
//     consumed record in the latency benchmark and the largest single
//     item of Gofka's consumer CPU then.
//
// refreshP avoids the retakes: at most once per reschedPeriod per thread,
// at the end of an exported call, the calling goroutine yields
// (runtime.Gosched), which is a scheduling round for the P the thread
// keeps, so sysmon finds it fresh. A yield costs about two thread
// wake-ups (the goroutine is locked to the thread, so another thread
// hands the P back), a small fraction of the bursts it saves, and it
// happens once per 5 ms at most.

/*
#include <stdint.h>

// The thread's last yield (ns, refreshP's clock). Thread-local in C
// because Go has no per-thread state for the foreign threads calling in.
// initial-exec: the default model for a shared library goes through
// __tls_get_addr, which would add ld-linux-x86-64.so.2 to the library's
// dependencies (outside the manylinux set tests/packaging checks); the
// runtime's own TLS already uses this model, and 8 bytes fit in glibc's
// static TLS reserve for dlopen'ed libraries.
static __thread int64_t gofka_last_yield __attribute__((tls_model("initial-exec")));

static int gofka_yield_due(int64_t now, int64_t period) {
	if (now - gofka_last_yield < period) {
		return 0;
	}
	gofka_last_yield = now;
	return 1;
}
*/
import "C"

import (
	"os"
	"runtime"
	"time"
)

// reschedPeriod is how often at most a calling thread yields; well below
// sysmon's 10 ms preemption bound so that sysmon, sampling at up to 10 ms
// intervals, never sees the same scheduling round twice.
const reschedPeriod = 5 * time.Millisecond

// clockStart anchors refreshP's monotonic clock.
var clockStart = time.Now()

// init gives the engine one P more than the runtime's default, unless the
// GOMAXPROCS environment variable decides (see the file comment, point 1).
// With the spare P the sync Producer.send p50 in the benchmark's latency
// test went from 0.60-0.70 to 0.51-0.61 ms and its end-to-end p50 from
// 0.91-1.15 to 0.78-0.88 ms (bench/run.py --only latency, 3 rounds each,
// GOMAXPROCS=3 vs unset, on 2 CPUs).
func init() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
}

// refreshP yields once per reschedPeriod per calling thread (see the file
// comment, point 2). Exported functions call it on their way out (guard).
func refreshP() {
	if C.gofka_yield_due(C.int64_t(time.Since(clockStart)), C.int64_t(reschedPeriod)) != 0 {
		runtime.Gosched()
	}
}
