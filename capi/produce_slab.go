package main

import (
	"sync"
	"unsafe"

	"github.com/gofka/gofka/core"
)

// Produce slabs: the Go memory that one gofka_producer_produce_batch or
// gofka_producer_produce_values call copies its records into, reused by
// later calls once every record of the call is settled.
//
// Why: these calls are how the Python producers hand over every record
// (a chunk of up to a few thousand per call). Allocating the copies per
// call made the records' bytes the engine's main garbage: with 1 KiB
// values a producer allocated ~300 MB/s, so the collector ran several
// times a second and, under GOGC=100, the heap grew to about twice the
// buffered records before each run. Reused, the copies are live memory
// bounded by buffer.memory and the calls in progress, and the heap stays
// near what the buffer holds.
//
// Ownership: a slab belongs to one call from getSlab until putSlab. The
// records alias it (Value, Key, Headers' bytes) and the engine owns them
// until each record's promise ran (core.Producer.Produce's contract), so
// the slab goes back only after the call's last promise (batchDelivery.post)
// or when the engine refused the whole call (nothing buffered). Calls
// without a queue have no last-promise signal: their slab is not pooled
// and the collector frees it.

// produceSlab holds one call's copies.
type produceSlab struct {
	data   []byte         // the records' bytes: values, or the packed records
	store  []core.Record  // the records, contiguous (batchDelivery indexes by address)
	recs   []*core.Record // &store[i], the form the engine takes
	codes  []int32        // per record result code (0 = delivered)
	pooled bool           // from the pool, and back to it at putSlab
}

// maxPooledSlabBytes bounds what a pooled slab keeps: a larger call's
// copies are left to the collector rather than held by the pool.
const maxPooledSlabBytes = 64 << 20

// recordBytes is the size of one core.Record in a slab's store.
const recordBytes = unsafe.Sizeof(core.Record{})

var slabPool = sync.Pool{New: func() any { return new(produceSlab) }}

// getSlab returns a slab sized for n records and size bytes of data,
// from the pool when pooled (the caller will know when the engine is done
// with the records: it has a queue), else a new one left to the collector.
// data's bytes may be stale (the caller overwrites them), codes are zero,
// store's records are zero values.
func getSlab(n, size int, pooled bool) *produceSlab {
	var s *produceSlab
	if pooled {
		s = slabPool.Get().(*produceSlab)
		s.pooled = true
	} else {
		s = new(produceSlab)
	}
	s.data = resize(s.data, size)
	s.store = resize(s.store, n)
	s.recs = resize(s.recs, n)
	s.codes = resize(s.codes, n)
	clear(s.codes)
	for i := range s.store {
		s.recs[i] = &s.store[i]
	}
	return s
}

// putSlab gives s back for reuse. The caller must own s and no record of
// it may be used again: the engine settled all of them or none was
// buffered.
func putSlab(s *produceSlab) {
	if !s.pooled {
		return
	}
	clear(s.store) // drops the headers and strings the records held
	if cap(s.data)+cap(s.store)*int(recordBytes) > maxPooledSlabBytes {
		return
	}
	slabPool.Put(s)
}

// resize returns b with length n, reusing its array when it is large
// enough (its elements then keep their old values).
func resize[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}
