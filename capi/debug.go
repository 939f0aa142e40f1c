package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"runtime/debug"

	"github.com/gofka/gofka/core"
)

// debugStats is the JSON object of gofka_debug_stats. Leak tests compare
// two snapshots: goroutines and live handles must come back to where they
// were once every client is closed; the heap figures show whether memory
// is retained.
type debugStats struct {
	Goroutines    int            `json:"goroutines"`      // runtime.NumGoroutine()
	Handles       int            `json:"handles"`         // live handles of every kind
	HandlesByKind map[string]int `json:"handles_by_kind"` // live handles per kind ("producer", ...)
	HeapAlloc     uint64         `json:"heap_alloc_bytes"`
	HeapObjects   uint64         `json:"heap_objects"`
	HeapSys       uint64         `json:"heap_sys_bytes"`
	HeapInuse     uint64         `json:"heap_inuse_bytes"`    // spans in use
	HeapReleased  uint64         `json:"heap_released_bytes"` // returned to the OS (not in RSS)
	NextGC        uint64         `json:"next_gc_bytes"`       // the heap size that triggers the next collection
	StackSys      uint64         `json:"stack_sys_bytes"`     // goroutine stacks
	TotalAlloc    uint64         `json:"total_alloc_bytes"`   // bytes allocated since the library started (cumulative)
	Sys           uint64         `json:"sys_bytes"`           // memory obtained from the OS by the Go runtime
	NumGC         uint32         `json:"num_gc"`
	CgoCalls      int64          `json:"cgo_calls"`
	GCPercent     int            `json:"gc_percent"` // the collector's pace (GOGC) now: core/gcpace.go
}

// collectStats takes the snapshot. gc runs a garbage collection first and
// gives the freed pages back to the OS (debug.FreeOSMemory), so that heap
// figures count live memory only and the process's RSS does not include
// garbage the collector had not returned yet: a leak check comparing RSS
// then sees what is retained (by Go, C or Python), not when the last
// collection happened (with a large live heap that swing alone exceeded
// tests/python/test_leaks.py's bound).
func collectStats(gc bool) debugStats {
	if gc {
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := debugStats{
		Goroutines:    runtime.NumGoroutine(),
		HandlesByKind: map[string]int{},
		HeapAlloc:     ms.HeapAlloc,
		HeapObjects:   ms.HeapObjects,
		HeapSys:       ms.HeapSys,
		HeapInuse:     ms.HeapInuse,
		HeapReleased:  ms.HeapReleased,
		NextGC:        ms.NextGC,
		StackSys:      ms.StackSys,
		TotalAlloc:    ms.TotalAlloc,
		Sys:           ms.Sys,
		NumGC:         ms.NumGC,
		CgoCalls:      runtime.NumCgoCall(),
		GCPercent:     core.GCPercent(),
	}
	handles.Lock()
	for _, e := range handles.m {
		st.Handles++
		st.HandlesByKind[e.kind.String()]++
	}
	handles.Unlock()
	return st
}

//export gofka_debug_stats
func gofka_debug_stats(gc C.int32_t, out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	b, err := json.Marshal(collectStats(gc != 0))
	if err == nil {
		err = cBuffer(b, out, outLen)
	}
	return fill(errOut, err)
}
