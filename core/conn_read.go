package core

// How a connection reads its responses, and who may read them.
//
// Every connection has a reader goroutine (readLoop, started by dialConn) that
// reads response frames and hands each to the waiter of its correlation
// id (deliver). On a plaintext TCP connection reading is also a role, readMu,
// that a thread waiting for one of the connection's responses takes instead
// (responseReader): it waits for the socket to turn readable itself
// (a CompletionQueue wait puts the socket next to its wake pipe in one
// ppoll) and reads and delivers what is there.
//
// Why: a synchronous send (Producer.ProduceWait, behind the Python
// Producer.send) waited for the response twice in a row, first the thread
// of the reader goroutine, woken by the socket, then the caller's thread,
// woken by the completion queue's pipe. On a busy
// 2-core machine each wake-up waits ~35 us on average for a CPU (perf sched
// timehist of the latency benchmark: the broker, producer and consumer
// together keep both cores busy). A caller that reads the socket itself
// takes one wake-up off the round trip.
//
// And why the socket is not in the Go runtime's poller (sockFD): a socket
// registered there wakes the thread that sleeps in the runtime's
// epoll_wait for every response, whether or not a goroutine waits for it
// (some thread sleeps there whenever a timer is pending, which is
// always), so the caller that read its own acknowledgement still paid a
// second thread's wake-up on the CPUs the broker needs (~11% of a sync
// producer's CPU samples). The reader goroutine therefore waits in a
// ppoll(2) of its own, and chooses what wakes it:
//
//   - watching (POLLIN|POLLRDHUP): responses are awaited (pending) and no
//     caller waits on the socket (callers == 0);
//   - guarding (POLLRDHUP only): otherwise. The kernel wakes a poller only
//     for the events it asked for, so arriving data does not wake it, but
//     the broker closing the connection does: an idle connection is still found
//     dead at once;
//   - deferring (its ring only): it was woken but another reader holds the
//     role or a caller waits (see lost below): the socket stays readable
//     until they read it, and they ring it when they have.
//
// It announces watching before it reads the conditions, and the threads
// that change them (send, adding a pending response; endWait, dropping
// callers) ring it after the change when it does not watch (rouse), so one
// of the two always sees the other. A sync send that claims the socket
// before writing its request (Producer.ProduceWait) makes the
// goroutine guard: the acknowledgement wakes only the caller.
//
// The protocol of the role:
//
//   - whoever holds readMu reads until a read returns less than the buffer
//     (or EAGAIN);
//   - woken, the goroutine reads unless the role is taken or a caller is
//     waiting on the socket (callers > 0): then it sets lost and defers;
//   - lost is an obligation: the holder, when it releases the role, and a
//     caller, when it stops waiting, read again if it is set (readTurn,
//     endWait), and ring the goroutine. The goroutine sets lost before it
//     looks (again) at the role and the callers, so one of them always sees
//     the other;
//   - frames are assembled in the connection's frameReader, whose state belongs
//     to the role, so a frame that one reader started another finishes.
//
// TLS connections (crypto/tls has its own record layer and buffering) keep a
// plain reading goroutine in the runtime's poller (readLoopBuffered) and
// offer no responseReader.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"time"

	"github.com/gofka/gofka/internal/ppoll"
	"github.com/gofka/gofka/wire"
)

// readBufferSize is the scratch buffer of one read(2) (and of the TLS
// path's bufio.Reader).
const readBufferSize = 64 << 10

// frameReader assembles response frames from the bytes reads return. It
// belongs to whoever holds the connection's readMu.
type frameReader struct {
	buf   []byte  // read scratch, readBufferSize
	size  [4]byte // the size prefix being read
	nsize int     // bytes of size read so far
	frame []byte  // the frame being filled, nil between frames
	nfill int     // bytes of frame filled so far
	// readied: a frame was delivered to a waiter that may be a parked
	// goroutine (one without notify, or a notify that may ready one), so
	// readLoop yields to let it run on this thread (see there).
	readied bool
}

// readLoop is the connection's reader goroutine.
func (c *conn) readLoop() {
	if c.sock == nil {
		c.readLoopBuffered()
		return
	}
	s := c.sock
	if !s.acquire() {
		return // closed before it started
	}
	defer s.release()
	deferring := false
	for {
		fds := [2]ppoll.FD{{Fd: int32(s.ring), Events: ppoll.In}, {Fd: int32(s.fd)}}
		n := 2
		c.watching.Store(false)
		switch {
		case deferring:
			n = 1
		case c.shouldWatch():
			c.watching.Store(true)
			fds[1].Events = ppoll.In | ppoll.RdHup
		default:
			fds[1].Events = ppoll.RdHup
		}
		if c.isClosed() {
			return
		}
		ppoll.Wait(fds[:n], -1)
		if fds[0].Revents != 0 {
			s.unring()
		}
		if c.isClosed() {
			return
		}
		if n < 2 || fds[1].Revents == 0 {
			deferring = false
			continue
		}
		if !c.takeReadRole(true) {
			deferring = true // the holder or the waiting caller reads it, then rings
			continue
		}
		deferring = false
		readied, err := c.readTurn(s.fd)
		if err != nil {
			c.close(c.readFailure(err))
			return
		}
		// Let the goroutines the responses readied (a ProduceSync caller,
		// say) run on this thread now: blocked in ppoll, the goroutine
		// would keep its P, and another thread would have to be woken
		// to run them. Only then: Gosched itself wakes another thread
		// (wakep, to run this goroutine's queued self) that parks again
		// at once, a futex round trip per response for nothing when the
		// responses were settled inline (a non-waiting commit's).
		if readied {
			runtime.Gosched()
		}
	}
}

// shouldWatch reports whether the reader goroutine should wake for
// arriving data: responses are awaited and no caller waits on the socket.
func (c *conn) shouldWatch() bool {
	if c.callers.Load() > 0 {
		return false
	}
	if c.idleWatch.Load() {
		return true // nothing arrives unasked: watching an idle socket costs nothing
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	return n > 0
}

// rouse rings the reader goroutine when it should watch and does not; the
// caller has just made that so (added a pending response, stopped
// waiting).
func (c *conn) rouse() {
	if c.sock != nil && !c.watching.Load() && c.shouldWatch() && c.sock.acquire() {
		c.sock.ringReader()
		c.sock.release()
	}
}

// takeReadRole tries to take the read role. For the goroutine (loop) a
// waiting caller counts as a holder. Failing, it leaves the reading to the
// holder or caller (lost); the second look closes the window where they
// finished between the first look and the mark.
func (c *conn) takeReadRole(loop bool) bool {
	if (!loop || c.callers.Load() == 0) && c.readMu.TryLock() {
		return true
	}
	c.lost.Store(true)
	return (!loop || c.callers.Load() == 0) && c.readMu.TryLock()
}

// readTurn reads with the role held and then releases it, reading again
// first whenever a reader left it bytes meanwhile (lost); a reader that
// deferred may be the goroutine, which waits to be rung. The role is held
// on entry. readied reports whether a frame it delivered may have readied
// a goroutine (frameReader.readied).
func (c *conn) readTurn(fd int) (readied bool, err error) {
	for {
		c.rd.readied = false
		err := c.readAvailable(fd)
		readied = readied || c.rd.readied
		c.readMu.Unlock()
		if err != nil || !c.lost.Swap(false) {
			return readied, err
		}
		c.sock.ringReader()
		if !c.takeReadRole(false) {
			return readied, nil
		}
	}
}

// readAvailable reads the socket (non-blocking descriptor fd) until it is
// empty and delivers every complete frame; a partial frame stays in c.rd
// for the next reader. A nil result means the socket is drained; io.EOF
// or another error means the connection is finished. The read role is held.
func (c *conn) readAvailable(fd int) error {
	r := &c.rd
	for {
		n, err := syscall.Read(fd, r.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return nil
		case err != nil:
			return err
		case n == 0:
			return io.EOF
		}
		if err := c.consume(r.buf[:n]); err != nil {
			return err
		}
		if n < len(r.buf) {
			// A short read took everything the socket had; later bytes
			// make it readable again for whoever polls it.
			return nil
		}
	}
}

// consume feeds bytes read from the socket into the frame being built,
// delivering each frame as it completes.
func (c *conn) consume(b []byte) error {
	r := &c.rd
	for len(b) > 0 {
		if r.frame == nil {
			k := copy(r.size[r.nsize:], b)
			r.nsize += k
			b = b[k:]
			if r.nsize < 4 {
				return nil
			}
			if err := checkFrameSize(r.size, !c.set.Load(), c.addr); err != nil {
				return err
			}
			size := binary.BigEndian.Uint32(r.size[:])
			r.nsize = 0
			r.frame = make([]byte, size)
			r.nfill = 0
		}
		k := copy(r.frame[r.nfill:], b)
		r.nfill += k
		b = b[k:]
		if r.nfill == len(r.frame) {
			frame := r.frame
			r.frame = nil
			if err := c.deliver(frame); err != nil {
				return err
			}
		}
	}
	return nil
}

// readLoopBuffered is readLoop for connections without a descriptor to read
// (TLS): the goroutine is the only reader.
func (c *conn) readLoopBuffered() {
	br := bufio.NewReaderSize(c.nc, readBufferSize)
	var sizeBuf [4]byte
	for {
		if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
			// ioErrorCode: a TLS alert (e.g. the broker refusing our
			// client certificate) is TLS_FAILED, not a retriable failure.
			c.close(&wire.Error{Code: ioErrorCode(err), Detail: "read: " + err.Error() + tlsHint(err), Broker: c.addr})
			return
		}
		if err := checkFrameSize(sizeBuf, !c.set.Load(), c.addr); err != nil {
			c.close(err)
			return
		}
		size := binary.BigEndian.Uint32(sizeBuf[:])
		frame := make([]byte, size)
		if _, err := io.ReadFull(br, frame); err != nil {
			c.close(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "read: " + err.Error(), Broker: c.addr})
			return
		}
		if err := c.deliver(frame); err != nil {
			c.close(err)
			return
		}
	}
}

// deliver hands a response frame to the waiter of its correlation id
// (the response of a request its caller gave up on is dropped). A frame
// with an id no request on the connection carries is a protocol violation (a
// peer that is not a Kafka broker, or a corrupt stream): the error closes
// the connection with CORRUPT_RESPONSE, so callers learn what happened instead
// of waiting out their deadline.
func (c *conn) deliver(frame []byte) error {
	id, _ := wire.ResponseCorrelationID(frame)
	c.mu.Lock()
	w, ok := c.pending[id]
	delete(c.pending, id)
	last := c.corr
	c.mu.Unlock()
	if !ok {
		return &wire.Error{Code: wire.ErrCorruptResponse, Broker: c.addr,
			Detail: fmt.Sprintf("a response frame carries correlation id %d, which no request on this connection has (the last one sent was %d): not a Kafka broker, or a corrupt stream", id, last)}
	}
	c.noteReceived(len(frame), w.sent)
	if w.ch != nil {
		w.ch <- frame
		w.signal()
		if !w.inline {
			c.rd.readied = true
		}
	}
	return nil
}

// responseReader lets a thread that waits for a response on a broker
// connection read it itself (see the top of this file): between beginWait
// and endWait the connection's reader goroutine leaves reading to the
// thread, which waits for fd to be readable and calls tryRead. The zero
// value reads nothing. Safe for concurrent use; the connection may die at
// any time, after which tryRead reports it.
type responseReader struct{ c *conn }

// valid reports whether r refers to a connection.
func (r responseReader) valid() bool { return r.c != nil }

// fd is the connection's socket, to wait on for readability (poll(2))
// between beginWait and endWait: the descriptor stays open until endWait
// (when the connection dies meanwhile it reports hang-up).
func (r responseReader) fd() int { return r.c.sock.fd }

// beginWait announces that the calling thread waits for the socket (the
// reader goroutine stops watching it). false: the connection is closed,
// there is nothing to wait on and no endWait to call. Every true result
// must be followed by an endWait.
func (r responseReader) beginWait() bool {
	c := r.c
	if !c.sock.acquire() {
		return false
	}
	if c.isClosed() {
		// Closed, but a use still held (the reader goroutine's read turn)
		// kept the descriptors open: nothing to wait on all the same.
		c.sock.release()
		return false
	}
	if c.idleWatch.Load() {
		c.idleWatch.Store(false) // this caller reads: the goroutine need not wake for it
	}
	c.callers.Add(1)
	return true
}

// endWait ends a wait; what the reader goroutine left to the waiting
// thread meanwhile is read now, and the goroutine watches again if
// responses are still awaited.
func (r responseReader) endWait() {
	c := r.c
	c.callers.Add(-1)
	if c.lost.Swap(false) {
		c.sock.ringReader()
		if c.takeReadRole(false) {
			c.readAsCaller()
		}
	}
	c.rouse()
	c.sock.release()
}

// tryRead reads and delivers whatever the connection has, unless another
// reader holds the role (then read is false: that reader delivers it).
// alive is false when the connection is dead.
func (r responseReader) tryRead() (alive, read bool) {
	c := r.c
	if c.isDead() {
		return false, false
	}
	if !c.readMu.TryLock() {
		return true, false
	}
	return c.readAsCaller(), true
}

// readAsCaller is readTurn from a thread other than the goroutine (the
// role held); it closes the connection on failure and reports whether it lives.
func (c *conn) readAsCaller() bool {
	if !c.sock.acquire() {
		c.readMu.Unlock()
		return false // closed
	}
	_, err := c.readTurn(c.sock.fd)
	c.sock.release()
	if err != nil {
		c.close(c.readFailure(err))
		return false
	}
	return true
}

// ownReadSlice bounds one wait of call.readOwn on the socket: a ctx
// cancelled before its deadline is noticed within it (ppoll cannot wait
// on a context). Deadlines are waited for exactly.
const ownReadSlice = 10 * time.Millisecond

// readOwn reads the connection (r, claimed by beginWait) until k's
// response is in, or until it should leave the waiting to k.wait: ctx
// ended or the request's bound passed (wait then reports it as usual),
// the connection died (wait reports its error), or another reader holds
// the read role (it delivers the response into k's channel, where wait
// takes it). Frames of other requests that it reads on the way are
// delivered to their waiters, as the reader goroutine would. It belongs to
// the call's one waiter.
func (k *call) readOwn(ctx context.Context, r responseReader) {
	end := k.deadline()
	if d, ok := ctx.Deadline(); ok && (end.IsZero() || d.Before(end)) {
		end = d
	}
	fds := [1]ppoll.FD{{Fd: int32(r.fd()), Events: ppoll.In}}
	for !k.arrived() && ctx.Err() == nil {
		wait := ownReadSlice
		if !end.IsZero() {
			left := time.Until(end)
			if left <= 0 {
				return
			}
			wait = min(wait, left)
		}
		fds[0].Revents = 0
		ppoll.Wait(fds[:], wait)
		if fds[0].Revents == 0 {
			continue
		}
		if alive, read := r.tryRead(); !alive || !read {
			return
		}
	}
}

// readFailure is the error a failed read closes the connection with: a corrupt
// frame as found, an I/O error classified (ioErrorCode).
func (c *conn) readFailure(err error) error {
	var we *wire.Error
	if errors.As(err, &we) {
		return err
	}
	return &wire.Error{Code: ioErrorCode(err), Detail: "read: " + err.Error(), Broker: c.addr}
}
