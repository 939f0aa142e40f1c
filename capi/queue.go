package main

/*
#define GOFKA_TYPES_ONLY
#include <stdlib.h>
#include "gofka.h"
*/
import "C"

import (
	"encoding/binary"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/gofka/gofka/wire"
)

// event is one completion: the caller's token, an error code (0 = ok) and
// a result (partition/offset for produce acks; payload bytes for anything
// bigger, or the error message when code != 0).
type event struct {
	token     uint64
	code      int32
	partition int32
	offset    int64
	payload   []byte
}

// eventQueue is the asynchronous bridge between the engine and a caller's
// event loop (see "Asynchronous results" in docs/architecture.md).
// Completions are appended by engine goroutines; the caller drains them in
// bulk. A pipe's read end becomes readable when the queue turns non-empty,
// so asyncio (loop.add_reader) or poll(2) can wait on it; no callback ever
// runs on a Go thread. Safe for concurrent use.
//
// A blocking drain waits on that same pipe with ppoll(2), not on a Go
// channel: drain runs on the caller's thread (a cgo callback, locked to
// that thread), and parking a locked goroutine costs two scheduler
// hand-offs (futex wake-ups of other threads) on the way in and out.
// Waiting in the kernel lets the engine's write(2) wake the caller's
// thread directly: ~40 us less per sync Producer.send on a 2-core VM
// (docs/benchmarks.md has the end-to-end figures).
type eventQueue struct {
	mu       sync.Mutex
	events   []event // guarded by mu
	signaled bool    // guarded by mu: a wake-up byte sits in the pipe
	closed   bool    // guarded by mu
	waiters  int     // guarded by mu: drains inside ppoll; the last one closes the fds after close()
	rfd, wfd int     // the pipe, non-blocking, used with raw syscalls (not os.File, whose poller would block reads)
}

func newEventQueue() (*eventQueue, error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		return nil, &wire.Error{Code: wire.ErrLocalUnknown, Detail: "event queue pipe: " + err.Error()}
	}
	return &eventQueue{rfd: fds[0], wfd: fds[1]}, nil
}

// post appends ev; the first event after a drain writes one byte to the
// pipe. Events posted to a closed queue are dropped (their caller is gone).
func (q *eventQueue) post(ev event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.events = append(q.events, ev)
	if !q.signaled {
		// Written under mu so that drain never consumes the byte before it
		// is written (a stray byte would leave the fd readable while idle).
		q.signaled = true
		syscall.Write(q.wfd, []byte{1})
	}
	q.mu.Unlock()
}

// drain removes up to max events, waiting up to timeout for the first one.
func (q *eventQueue) drain(max int, timeout time.Duration) ([]event, error) {
	deadline := time.Now().Add(timeout)
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil, &wire.Error{Code: wire.ErrClientClosed, Detail: "event queue closed"}
		}
		if len(q.events) > 0 {
			n := min(max, len(q.events))
			out := append([]event(nil), q.events[:n]...)
			q.events = append(q.events[:0], q.events[n:]...)
			if len(q.events) == 0 && q.signaled {
				// Consume the wake-up byte so the fd reads as idle again.
				var b [16]byte
				syscall.Read(q.rfd, b[:])
				q.signaled = false
			}
			q.mu.Unlock()
			return out, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			q.mu.Unlock()
			return nil, nil
		}
		q.waiters++
		q.mu.Unlock()
		waitReadable(q.rfd, left)
		q.mu.Lock()
		q.waiters--
		if q.closed && q.waiters == 0 {
			q.closeFDs()
		}
		q.mu.Unlock()
	}
}

// waitReadable blocks the calling thread in ppoll(2) until fd is readable
// or timeout passes (EINTR just returns early: the caller loops).
func waitReadable(fd int, timeout time.Duration) {
	pfd := struct {
		fd      int32
		events  int16
		revents int16
	}{fd: int32(fd), events: 0x1} // POLLIN
	ts := syscall.NsecToTimespec(int64(timeout))
	syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
}

// close drops pending events. The fds stay open while a drain sits in
// ppoll on them (closing them under it could let the number be reused by
// an unrelated file): a wake-up byte gets the waiters out and the last one
// closes them.
func (q *eventQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	q.events = nil
	if q.waiters > 0 {
		if !q.signaled {
			q.signaled = true
			syscall.Write(q.wfd, []byte{1})
		}
		return
	}
	q.closeFDs()
}

// closeFDs closes the pipe; called with mu held, once closed is set and no
// drain waits.
func (q *eventQueue) closeFDs() {
	syscall.Close(q.rfd)
	syscall.Close(q.wfd)
	q.rfd, q.wfd = -1, -1
}

// errorEvent builds the completion of a failed operation: the payload is
// the error message, followed by a NUL byte and the broker involved when
// the error names one (gofka.h, events format).
func errorEvent(token uint64, err error) event {
	payload := []byte(err.Error())
	if b := brokerOf(err); b != "" {
		payload = append(append(payload, 0), b...)
	}
	return event{token: token, code: int32(wire.CodeOf(err)), partition: -1, offset: -1, payload: payload}
}

func queueOf(h C.gofka_handle_t) (*eventQueue, error) {
	obj, err := lookup(h, kindQueue)
	if err != nil {
		return nil, err
	}
	return obj.(*eventQueue), nil
}

//export gofka_queue_new
func gofka_queue_new(out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if out == nil {
		return fill(errOut, invalid("out must not be NULL"))
	}
	q, err := newEventQueue()
	if err != nil {
		return fill(errOut, err)
	}
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
	*fdOut = C.int32_t(q.rfd)
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
	if bufOut == nil || countOut == nil {
		return fill(errOut, invalid("buf_out and count_out must not be NULL"))
	}
	if maxEvents <= 0 {
		return fill(errOut, invalid("max_events must be positive, got %d", int(maxEvents)))
	}
	timeout := time.Duration(max(timeoutMs, 0)) * time.Millisecond
	evs, err := q.drain(int(maxEvents), timeout)
	if err != nil {
		return fill(errOut, err)
	}
	*countOut = C.int32_t(len(evs))
	*bufOut = nil
	if lenOut != nil {
		*lenOut = 0
	}
	if len(evs) == 0 {
		return fill(errOut, nil)
	}
	size := 0
	for _, ev := range evs {
		size += 28 + len(ev.payload)
	}
	p := C.malloc(C.size_t(size))
	if p == nil {
		return fill(errOut, &wire.Error{Code: wire.ErrLocalUnknown, Detail: "out of memory"})
	}
	b := unsafe.Slice((*byte)(p), size)[:0]
	for _, ev := range evs {
		b = binary.LittleEndian.AppendUint64(b, ev.token)
		b = binary.LittleEndian.AppendUint32(b, uint32(ev.code))
		b = binary.LittleEndian.AppendUint32(b, uint32(ev.partition))
		b = binary.LittleEndian.AppendUint64(b, uint64(ev.offset))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(ev.payload)))
		b = append(b, ev.payload...)
	}
	*bufOut = (*C.uint8_t)(p)
	if lenOut != nil {
		*lenOut = C.size_t(size)
	}
	return fill(errOut, nil)
}

//export gofka_queue_close
func gofka_queue_close(h C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	obj, err := release(h, kindQueue)
	if err != nil {
		return fill(errOut, err)
	}
	obj.(*eventQueue).close()
	return fill(errOut, nil)
}
