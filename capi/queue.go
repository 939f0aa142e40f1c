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
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/internal/packed"
	"github.com/gofka/gofka/internal/ppoll"
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

// wakePipe is a pipe used as a level-triggered wake-up: its read end is
// readable while a wake-up is due, so poll(2)/ppoll(2) or an event loop
// (asyncio's add_reader) can wait on it. The owner guards signal, clear,
// wait and close with its own mutex (the one wait takes); ring, the write
// that signal asks for, runs after the owner has released that mutex.
//
// Waiting in the kernel rather than on a Go channel matters for callers
// on a foreign thread (a cgo callback, locked to that thread): parking a
// locked goroutine costs two scheduler hand-offs (futex wake-ups of other
// threads) on the way in and out, where a write(2) wakes the thread
// directly (~40 us less per sync Producer.send on a 2-core VM). The write
// happens outside the owner's mutex for the same reason: a waiter woken by
// it runs at once and takes that mutex; finding it still held, it slept
// again on the mutex (a futex round trip per wake-up).
//
// Because the write comes after the mutex is released, a clear can run
// before the byte of the signal it clears has arrived; that byte lands
// later with no wake-up due. owed counts the bytes written or on their way
// that no read has taken back, and every clear or wait reads back what has
// arrived, so such a stray byte costs at most one early return from a
// wait, never a readable pipe with nothing to do.
//
// The fds are shared by the owner, each wait inside ppoll and each ring on
// its way (refs); the last of them closes the fds, so the numbers cannot
// be reused by another file while a syscall still uses them.
type wakePipe struct {
	rfd, wfd int  // non-blocking, used with raw syscalls (not os.File, whose poller would block reads)
	signaled bool // a wake-up is due: set by signal, ended by clear
	owed     int  // bytes rung (or about to be) that no read has taken back
	closed   bool
	refs     atomic.Int32 // owner (until close) + waits in ppoll + rings on their way
}

func openWakePipe() (*wakePipe, error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		return nil, &wire.Error{Code: wire.ErrLocalUnknown, Detail: "wake-up pipe: " + err.Error()}
	}
	w := &wakePipe{rfd: fds[0], wfd: fds[1]}
	w.refs.Store(1)
	return w, nil
}

// signal makes a wake-up due (once: later signals are free until clear).
// When it returns true the caller must call ring once it has released the
// owner's mutex.
func (w *wakePipe) signal() bool {
	if w.signaled || w.closed {
		return false
	}
	w.signaled = true
	w.owed++
	w.refs.Add(1)
	return true
}

// ring writes the byte that signal asked for; called without the owner's
// mutex.
func (w *wakePipe) ring() {
	syscall.Write(w.wfd, []byte{1})
	w.unref()
}

// clear ends the due wake-up and reads back the bytes that have arrived.
func (w *wakePipe) clear() {
	w.signaled = false
	w.takeBack()
}

// takeBack reads the pipe empty when bytes are owed (no syscall when none
// are). Bytes still on their way are read by a later call.
func (w *wakePipe) takeBack() {
	if w.owed == 0 || w.closed {
		return
	}
	var b [64]byte
	if n, _ := syscall.Read(w.rfd, b[:]); n > 0 {
		w.owed -= n
	}
}

// wait blocks until the pipe is readable or timeout passes; mu (the
// owner's, held on entry and on return) is released meanwhile. The caller
// waits only when no wake-up is due, so whatever the pipe holds now is
// stray and is read back first. With extra >= 0 (a broker connection's
// socket, see eventQueue.reader) it also returns when extra turns
// readable, which it reports.
func (w *wakePipe) wait(mu *sync.Mutex, extra int, timeout time.Duration) (extraReady bool) {
	if w.closed {
		return false
	}
	if !w.signaled {
		w.takeBack()
	}
	w.refs.Add(1)
	mu.Unlock()
	extraReady = waitReadable(w.rfd, extra, timeout)
	w.unref()
	mu.Lock()
	return extraReady
}

// close gets the waiters out and drops the owner's hold on the fds (they
// close when the last wait or ring is done). Like signal, a true result
// asks the caller to ring once it has released its mutex.
func (w *wakePipe) close() (ring bool) {
	if w.closed {
		return false
	}
	ring = w.signal()
	w.closed = true
	w.unref()
	return ring
}

func (w *wakePipe) unref() {
	if w.refs.Add(-1) == 0 {
		syscall.Close(w.rfd)
		syscall.Close(w.wfd)
	}
}

// waitReadable blocks the calling thread in ppoll(2) until fd or extra
// (ignored when negative) is readable or timeout passes (EINTR just returns
// early: the caller loops). It reports whether extra is readable (or in
// error: a reader finds out).
func waitReadable(fd, extra int, timeout time.Duration) (extraReady bool) {
	fds := [2]ppoll.FD{{Fd: int32(fd), Events: ppoll.In}, {Fd: int32(extra), Events: ppoll.In}}
	ppoll.Wait(fds[:], max(timeout, 0))
	return extra >= 0 && fds[1].Revents != 0
}

// eventQueue is the asynchronous bridge between the engine and a caller's
// event loop (see "Asynchronous results" in docs/architecture.md).
// Completions are appended by engine goroutines; the caller drains them in
// bulk. The wake pipe is readable while the queue is non-empty, so asyncio
// (loop.add_reader) or poll(2) can wait on it, and a blocking drain waits
// on it too; no callback ever runs on a Go thread. Safe for concurrent use.
type eventQueue struct {
	mu     sync.Mutex
	events []event   // guarded by mu
	closed bool      // guarded by mu
	wake   *wakePipe // guarded by mu: signaled while events is non-empty
	// reader, when valid, is the broker connection whose response the next
	// blocking drain most likely waits for (set by gofka_producer_produce):
	// the drain waits on its socket too and reads the response itself,
	// which saves the wake-up of the connection's reader thread on the way
	// (core/conn_read.go). Guarded by mu; cleared when a drain returns
	// events or finds the connection dead.
	reader core.ResponseReader
}

func newEventQueue() (*eventQueue, error) {
	w, err := openWakePipe()
	if err != nil {
		return nil, err
	}
	return &eventQueue{wake: w}, nil
}

// post appends ev and signals the pipe. Events posted to a closed queue
// are dropped (their caller is gone).
func (q *eventQueue) post(ev event) {
	q.mu.Lock()
	ring := false
	if !q.closed {
		q.events = append(q.events, ev)
		ring = q.wake.signal()
	}
	q.mu.Unlock()
	if ring {
		q.wake.ring()
	}
}

// drain removes up to max events, waiting up to timeout for the first one.
// claim, when valid, is a connection the caller began to wait on before
// producing (gofka_producer_produce_wait): the first wait uses it, and its
// wait is ended before drain returns.
func (q *eventQueue) drain(max int, timeout time.Duration, claim core.ResponseReader) ([]event, error) {
	deadline := time.Now().Add(timeout)
	defer func() {
		if claim.Valid() { // runs after the Unlock below: EndWait may post here
			claim.EndWait()
		}
	}()
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.closed {
			return nil, &wire.Error{Code: wire.ErrClientClosed, Detail: "event queue closed"}
		}
		if len(q.events) > 0 {
			n := min(max, len(q.events))
			out := append([]event(nil), q.events[:n]...)
			q.events = append(q.events[:0], q.events[n:]...)
			if len(q.events) == 0 {
				q.wake.clear()
			}
			q.reader = core.ResponseReader{}
			return out, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		r, begun := q.reader, false
		if claim.Valid() {
			r, begun, claim = claim, true, core.ResponseReader{}
		}
		if !r.Valid() {
			q.wake.wait(&q.mu, -1, left)
			continue
		}
		if !begun && !r.BeginWait() {
			q.reader = core.ResponseReader{} // closed
			continue
		}
		readable := q.wake.wait(&q.mu, r.FD(), left)
		// Read without mu: delivering a response posts its event here.
		q.mu.Unlock()
		alive, read := true, true
		if readable {
			alive, read = r.TryRead()
		}
		r.EndWait()
		q.mu.Lock()
		if !alive || !read {
			// Dead, or another thread reads and will post the events:
			// until then the socket stays readable, so only the pipe is
			// worth waiting on.
			q.reader = core.ResponseReader{}
		}
	}
}

// setReader records the connection the next drain may read (see reader).
func (q *eventQueue) setReader(r core.ResponseReader) {
	q.mu.Lock()
	q.reader = r
	q.mu.Unlock()
}

// close drops pending events and closes the pipe (see wakePipe.close).
func (q *eventQueue) close() {
	q.mu.Lock()
	ring := false
	if !q.closed {
		q.closed = true
		q.events = nil
		ring = q.wake.close()
	}
	q.mu.Unlock()
	if ring {
		q.wake.ring()
	}
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
	*fdOut = C.int32_t(q.wake.rfd)
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
	return fill(errOut, drainOut(q, maxEvents, timeoutMs, core.ResponseReader{}, bufOut, lenOut, countOut))
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

// drainOut is gofka_queue_drain after its checks (and the wait of
// gofka_producer_produce_wait, with its claim: see eventQueue.drain).
func drainOut(q *eventQueue, maxEvents, timeoutMs C.int32_t, claim core.ResponseReader,
	bufOut **C.uint8_t, lenOut *C.size_t, countOut *C.int32_t) error {
	*countOut = 0
	*bufOut = nil
	if lenOut != nil {
		*lenOut = 0
	}
	timeout := time.Duration(max(timeoutMs, 0)) * time.Millisecond
	evs, err := q.drain(int(maxEvents), timeout, claim)
	if err != nil || len(evs) == 0 {
		return err
	}
	size := 0
	for _, ev := range evs {
		size += packed.Event.Size + len(ev.payload)
	}
	p := C.malloc(C.size_t(size))
	if p == nil {
		return &wire.Error{Code: wire.ErrLocalUnknown, Detail: "out of memory"}
	}
	packEvents(unsafe.Slice((*byte)(p), size), evs)
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
	obj.(*eventQueue).close()
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
// size.
func packEvents(b []byte, evs []event) {
	le := binary.LittleEndian
	o := 0
	for _, ev := range evs {
		le.PutUint64(b[o+evToken:], ev.token)
		le.PutUint32(b[o+evCode:], uint32(ev.code))
		le.PutUint32(b[o+evPartition:], uint32(ev.partition))
		le.PutUint64(b[o+evOffset:], uint64(ev.offset))
		le.PutUint32(b[o+evPayloadLen:], uint32(len(ev.payload)))
		o += packed.Event.Size
		o += copy(b[o:], ev.payload)
	}
}
