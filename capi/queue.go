package main

/*
#define GOFKA_TYPES_ONLY
#include <stdlib.h>
#include "gofka.h"
*/
import "C"

import (
	"encoding/binary"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/internal/packed"
	"github.com/gofka/gofka/wire"
)

// A queue handle refers to a core.CompletionQueue (the engine owns the
// waiting: its wake pipe, and reading a claimed connection during a sync
// send). This file only translates: handles, the events format of gofka.h
// (packed.Event heads, each followed by its payload) and error codes.

// errorCompletion is the completion of a failed operation.
func errorCompletion(token uint64, err error) core.Completion {
	return core.Completion{Token: token, Err: err, Partition: -1, Offset: -1}
}

// errorPayload is the payload of a failed operation's event: the error
// message, followed by a NUL byte and the broker involved when the error
// names one (gofka.h, events format).
func errorPayload(err error) []byte {
	payload := []byte(err.Error())
	if b := brokerOf(err); b != "" {
		payload = append(append(payload, 0), b...)
	}
	return payload
}

func queueOf(h C.gofka_handle_t) (*core.CompletionQueue, error) {
	return handleOf[*core.CompletionQueue](h, kindQueue)
}

//export gofka_queue_new
func gofka_queue_new(out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if out == nil {
		return fill(errOut, invalid("out must not be NULL"))
	}
	q, err := core.NewCompletionQueue()
	if err != nil {
		return fill(errOut, err)
	}
	// The ready flag (gofka_queue_ready_flag) lives in C memory, so that C
	// may keep its address; freed by gofka_queue_close once the queue no
	// longer writes it.
	flag := (*atomic.Int32)(C.calloc(1, C.size_t(unsafe.Sizeof(atomic.Int32{}))))
	if flag == nil {
		q.Close()
		return fill(errOut, &wire.Error{Code: wire.ErrLocalUnknown, Detail: "out of memory"})
	}
	q.SetReadyFlag(flag)
	*out = newHandle(kindQueue, q)
	return fill(errOut, nil)
}

//export gofka_queue_fd
func gofka_queue_fd(h C.gofka_handle_t, fdOut *C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	q, err := queueOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if fdOut == nil {
		return fill(errOut, invalid("fd_out must not be NULL"))
	}
	*fdOut = C.int32_t(q.FD())
	return fill(errOut, nil)
}

//export gofka_queue_ready_flag
func gofka_queue_ready_flag(h C.gofka_handle_t, flagOut **C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	q, err := queueOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if flagOut == nil {
		return fill(errOut, invalid("flag_out must not be NULL"))
	}
	*flagOut = (*C.int32_t)(unsafe.Pointer(q.ReadyFlag()))
	return fill(errOut, nil)
}

//export gofka_queue_drain
func gofka_queue_drain(h C.gofka_handle_t, maxEvents C.int32_t, timeoutMs C.int32_t,
	bufOut **C.uint8_t, lenOut *C.size_t, countOut *C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	q, err := queueOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if err := checkDrainArgs(maxEvents, bufOut, countOut); err != nil {
		return fill(errOut, err)
	}
	clearDrainOut(bufOut, lenOut, countOut)
	evs, err := q.Wait(int(maxEvents), drainTimeout(timeoutMs))
	return fill(errOut, packDrained(evs, err, bufOut, lenOut, countOut))
}

func checkDrainArgs(maxEvents C.int32_t, bufOut **C.uint8_t, countOut *C.int32_t) error {
	if bufOut == nil || countOut == nil {
		return invalid("buf_out and count_out must not be NULL")
	}
	if maxEvents <= 0 {
		return invalid("max_events must be positive, got %d", int(maxEvents))
	}
	return nil
}

// drainTimeout maps a drain's timeout_ms (negative = 0: do not wait).
func drainTimeout(timeoutMs C.int32_t) time.Duration {
	return time.Duration(max(timeoutMs, 0)) * time.Millisecond
}

// clearDrainOut sets a drain's outputs to "no events" before anything can
// fail.
func clearDrainOut(bufOut **C.uint8_t, lenOut *C.size_t, countOut *C.int32_t) {
	*countOut = 0
	*bufOut = nil
	if lenOut != nil {
		*lenOut = 0
	}
}

// packDrained hands the result of a queue wait (gofka_queue_drain, the
// wait of gofka_producer_produce_wait) to C: evs packed in the events
// format into one malloc'ed buffer.
func packDrained(evs []core.Completion, err error,
	bufOut **C.uint8_t, lenOut *C.size_t, countOut *C.int32_t) error {
	if err != nil || len(evs) == 0 {
		return err
	}
	var errs [][]byte // the error payloads, built once; nil when none failed
	size := 0
	for i, ev := range evs {
		n := len(ev.Payload)
		if ev.Err != nil {
			if errs == nil {
				errs = make([][]byte, len(evs))
			}
			errs[i] = errorPayload(ev.Err)
			n = len(errs[i])
		}
		size += packed.Event.Size + n
	}
	p := C.malloc(C.size_t(size))
	if p == nil {
		return &wire.Error{Code: wire.ErrLocalUnknown, Detail: "out of memory"}
	}
	packEvents(unsafe.Slice((*byte)(p), size), evs, errs)
	*countOut = C.int32_t(len(evs))
	*bufOut = (*C.uint8_t)(p)
	if lenOut != nil {
		*lenOut = C.size_t(size)
	}
	return nil
}

//export gofka_queue_close
func gofka_queue_close(h C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	obj, err := release(h, kindQueue)
	if err != nil {
		return fill(errOut, err)
	}
	q := obj.(*core.CompletionQueue)
	q.Close() // no write to the ready flag after this
	if flag := q.ReadyFlag(); flag != nil {
		C.free(unsafe.Pointer(flag))
	}
	return fill(errOut, nil)
}

// Field offsets of packed.Event, looked up once (packEvents runs per
// drained event).
var (
	evToken      = packed.Event.Offset("token")
	evCode       = packed.Event.Offset("code")
	evPartition  = packed.Event.Offset("partition")
	evOffset     = packed.Event.Offset("offset")
	evPayloadLen = packed.Event.Offset("payload_len")
)

// packEvents writes evs in the events format of gofka.h (packed.Event
// heads, each followed by its payload) into b, which holds exactly their
// size. errs (nil when no event failed) holds the payload of each failed
// event (errorPayload), which replaces its Payload; its code is the
// error's.
func packEvents(b []byte, evs []core.Completion, errs [][]byte) {
	le := binary.LittleEndian
	o := 0
	for i, ev := range evs {
		payload, code := ev.Payload, int32(0)
		if ev.Err != nil {
			payload, code = errs[i], int32(errCode(ev.Err))
		}
		le.PutUint64(b[o+evToken:], ev.Token)
		le.PutUint32(b[o+evCode:], uint32(code))
		le.PutUint32(b[o+evPartition:], uint32(ev.Partition))
		le.PutUint64(b[o+evOffset:], uint64(ev.Offset))
		le.PutUint32(b[o+evPayloadLen:], uint32(len(payload)))
		o += packed.Event.Size
		o += copy(b[o:], payload)
	}
}
