package core

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// Completion is the result of one asynchronous operation, posted to a
// CompletionQueue under the token its caller chose.
type Completion struct {
	// Token is the caller's tag of the operation (ProduceTo's token, or
	// whatever the poster chose).
	Token uint64
	// Err is nil when the operation succeeded, else its failure.
	Err error
	// Partition and Offset locate an acknowledged record (Offset is -1
	// with acks=0); a failed record keeps the partition it was routed to
	// (-1 when none) and Offset -1. Other operations set what they define,
	// -1 otherwise.
	Partition int32
	Offset    int64
	// Payload is the result of operations that return more than a
	// partition and offset (nil for produce acknowledgements). The queue
	// does not look into it.
	Payload []byte
}

// CompletionQueue collects the results of asynchronous operations
// (Producer.ProduceTo, or anything that calls Post) for a caller that
// waits for them in bulk on a thread of its own: an event loop, or a
// thread of a foreign runtime (the C ABI hands one to every language
// binding). Completions are appended by engine goroutines; no callback
// runs on them.
//
// FD is readable while the queue holds completions (a level-triggered
// wake-up pipe), so poll(2), epoll or asyncio's loop.add_reader can watch
// it; Wait blocks in the kernel on the same pipe. Waiting in the kernel
// rather than on a Go channel keeps a thread locked to a foreign caller
// from two scheduler hand-offs per wake-up (see wakePipe).
//
// The low-latency path of a synchronous send (Producer.ProduceWait) goes
// through the queue too: while the waiter knows which broker connection
// its acknowledgement comes back on, it waits on that connection's socket
// as well and reads the response itself (core/conn_read.go), so one
// thread wakes up per round trip instead of two.
//
// All methods are safe for concurrent use. The queue owns two file
// descriptors until Close; completions posted after Close are dropped.
type CompletionQueue struct {
	mu     sync.Mutex
	events []Completion // guarded by mu
	closed bool         // guarded by mu
	wake   *wakePipe    // guarded by mu: signaled while events is non-empty
	// reader, when valid, is the broker connection whose response the
	// next blocking wait most likely waits for (set by ProduceTo and
	// ProduceWait for a record with an explicit partition): the wait
	// watches its socket too and reads the response itself, which saves
	// the wake-up of the connection's reader goroutine on the way.
	// Guarded by mu; cleared when a wait returns completions or finds the
	// connection dead.
	reader responseReader
	fd     int // the wake pipe's read end, fixed for the queue's life
	// ready, when set (SetReadyFlag), is kept at 1 while events is
	// non-empty and 0 otherwise: the fd's condition, readable with one
	// memory load instead of a poll(2) call. Written under mu only.
	ready *atomic.Int32
}

// NewCompletionQueue opens a queue (a pipe: two file descriptors, closed
// by Close).
func NewCompletionQueue() (*CompletionQueue, error) {
	w, err := openWakePipe()
	if err != nil {
		return nil, err
	}
	return &CompletionQueue{wake: w, fd: w.rfd}, nil
}

// FD is a descriptor that is readable while the queue holds completions,
// for poll(2)-style waiting; read it only through Wait and Poll (they
// empty it). It stays valid until Close (and while a Wait is still inside
// then). The queue keeps ownership: do not close it.
func (q *CompletionQueue) FD() int { return q.fd }

// SetReadyFlag makes the queue keep *flag at 1 while it holds completions
// and at 0 otherwise (the condition of FD being readable, without the stray
// wake-ups FD may have), from now until Close, which leaves it 0: a waiter
// on another runtime (the C ABI's gofka_queue_ready_flag) asks "anything
// due?" with one atomic load instead of a system call. flag stays owned by
// the caller, who must keep it valid until Close has returned; no write
// happens after that. Call it once, before the queue is shared.
func (q *CompletionQueue) SetReadyFlag(flag *atomic.Int32) {
	q.mu.Lock()
	q.ready = flag
	q.publishReady()
	q.mu.Unlock()
}

// ReadyFlag is the flag SetReadyFlag set (nil when none).
func (q *CompletionQueue) ReadyFlag() *atomic.Int32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ready
}

// publishReady updates the ready flag (under mu) after events changed.
func (q *CompletionQueue) publishReady() {
	if q.ready == nil {
		return
	}
	var v int32
	if len(q.events) > 0 && !q.closed {
		v = 1
	}
	q.ready.Store(v)
}

// Post appends c and makes FD readable. Completions posted to a closed
// queue are dropped (their waiter is gone).
func (q *CompletionQueue) Post(c Completion) {
	q.mu.Lock()
	ring := false
	if !q.closed {
		q.events = append(q.events, c)
		ring = q.wake.signal()
		q.publishReady()
	}
	q.mu.Unlock()
	if ring {
		q.wake.ring()
	}
}

// Wait removes and returns up to max completions (max <= 0: all there
// are), oldest first, waiting up to timeout for the first one; none and
// no error when timeout passes first (timeout <= 0 does not wait: see
// Poll). It returns CLIENT_CLOSED once the queue is closed, also to a
// Wait blocked at that moment.
func (q *CompletionQueue) Wait(max int, timeout time.Duration) ([]Completion, error) {
	return q.wait(max, timeout, responseReader{})
}

// Poll is Wait without waiting: what the queue holds now, up to max.
func (q *CompletionQueue) Poll(max int) ([]Completion, error) {
	return q.wait(max, 0, responseReader{})
}

// wait is Wait; claim, when valid, is a connection the caller began to
// wait on before producing (ProduceWait): the first wait uses it, and its
// wait is ended before wait returns.
func (q *CompletionQueue) wait(max int, timeout time.Duration, claim responseReader) ([]Completion, error) {
	deadline := time.Now().Add(timeout)
	defer func() {
		if claim.valid() { // runs after the Unlock below: endWait may post here
			claim.endWait()
		}
	}()
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.closed {
			return nil, &wire.Error{Code: wire.ErrClientClosed, Detail: "completion queue closed"}
		}
		if len(q.events) > 0 {
			n := len(q.events)
			if max > 0 {
				n = min(max, n)
			}
			out := append([]Completion(nil), q.events[:n]...)
			rest := copy(q.events, q.events[n:])
			clear(q.events[rest:]) // drop the references to payloads and errors
			q.events = q.events[:rest]
			if rest == 0 {
				q.wake.clear()
			}
			q.publishReady()
			q.reader = responseReader{}
			return out, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		r, begun := q.reader, false
		if claim.valid() {
			r, begun, claim = claim, true, responseReader{}
		}
		if !r.valid() {
			q.wake.wait(&q.mu, -1, left)
			continue
		}
		if !begun && !r.beginWait() {
			q.reader = responseReader{} // closed
			continue
		}
		readable := q.wake.wait(&q.mu, r.fd(), left)
		// Read without mu: delivering a response posts its completion here.
		q.mu.Unlock()
		alive, read := true, true
		if readable {
			alive, read = r.tryRead()
		}
		r.endWait()
		q.mu.Lock()
		if !alive || !read {
			// Dead, or another thread reads and will post the
			// completions: until then the socket stays readable, so only
			// the pipe is worth waiting on.
			q.reader = responseReader{}
		}
	}
}

// setReader records the connection the next wait may read (see reader).
func (q *CompletionQueue) setReader(r responseReader) {
	q.mu.Lock()
	q.reader = r
	q.mu.Unlock()
}

// Close drops pending completions, gets blocked Waits out (they return
// CLIENT_CLOSED) and closes the pipe once the last of them has left.
// Idempotent. Operations still running keep posting into the void, so
// close a queue after the work that reports to it, or accept the loss.
func (q *CompletionQueue) Close() {
	q.mu.Lock()
	ring := false
	if !q.closed {
		q.closed = true
		q.events = nil
		q.publishReady()
		ring = q.wake.close()
	}
	q.mu.Unlock()
	if ring {
		q.wake.ring()
	}
}
