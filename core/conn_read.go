package core

// How a link reads its responses, and who may read them.
//
// Every link has a reader goroutine (readLoop, started by dialLink) that
// reads response frames and hands each to the waiter of its correlation
// id (deliver). On a plaintext TCP link reading is also a role, readMu,
// that a thread waiting for one of the link's responses takes instead
// (ResponseReader): it waits for the socket to turn readable itself
// (gofka_queue_drain puts the socket next to its wake pipe in one ppoll)
// and reads and delivers what is there.
//
// Why: a sync Producer.send from Python waited for the response twice in
// a row, first the thread of the reader goroutine, woken by the socket,
// then the caller's thread, woken by the event queue's pipe. On a busy
// 2-core machine each wake-up waits ~35 us on average for a CPU (perf sched
// timehist of the latency benchmark: the broker, producer and consumer
// together keep both cores busy). A caller that reads the socket itself
// takes one wake-up off the round trip.
//
// The protocol:
//
//   - whoever holds readMu reads until a read returns less than the buffer
//     (or EAGAIN), so a reader never leaves bytes in the socket that no
//     readiness event will announce again (the runtime poller is
//     edge-triggered; a caller's ppoll is level-triggered);
//   - the goroutine waits for readiness in the runtime poller
//     (RawConn.Read) without holding the role. Woken, it reads unless the
//     role is taken or a caller is waiting on the socket (callers > 0):
//     then it sets lost and waits for the next readiness event, leaving
//     the bytes that woke it to the holder or the caller;
//   - lost is an obligation: the holder, when it releases the role, and a
//     caller, when it stops waiting, read again if it is set (readTurn,
//     EndWait). The goroutine sets lost before it looks (again) at the
//     role and the callers, so one of them always sees the other;
//   - frames are assembled in the link's frameReader, whose state belongs
//     to the role, so a frame that one reader started another finishes.
//
// The goroutine is still woken for every readiness event (the runtime's
// poller cannot be told to skip one): the caller saves the wake-up on the
// round trip, not the CPU of that one.
//
// TLS links (crypto/tls has its own record layer and buffering) keep a
// plain reading goroutine (readLoopBuffered) and offer no ResponseReader.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/gofka/gofka/wire"
)

// readBufferSize is the scratch buffer of one read(2) (and of the TLS
// path's bufio.Reader).
const readBufferSize = 64 << 10

// frameReader assembles response frames from the bytes reads return. It
// belongs to whoever holds the link's readMu.
type frameReader struct {
	buf   []byte  // read scratch, readBufferSize
	size  [4]byte // the size prefix being read
	nsize int     // bytes of size read so far
	frame []byte  // the frame being filled, nil between frames
	nfill int     // bytes of frame filled so far
}

// rawReading makes c read through its file descriptor (plaintext TCP
// only): it records the socket's RawConn and descriptor number.
func (c *link) rawReading(tc *net.TCPConn) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	fd := -1
	if rc.Control(func(s uintptr) { fd = int(s) }) != nil || fd < 0 {
		return
	}
	c.raw, c.rawFD = rc, fd
	c.rd.buf = make([]byte, readBufferSize)
}

// readLoop is the link's reader goroutine.
func (c *link) readLoop() {
	if c.raw == nil {
		c.readLoopBuffered()
		return
	}
	var failed error
	err := c.raw.Read(func(fd uintptr) bool {
		if !c.takeReadRole(true) {
			return false // the holder or a waiting caller reads it
		}
		failed = c.readTurn(int(fd))
		return failed != nil // nil: the socket is empty, wait for readiness
	})
	if err == nil {
		err = failed
	}
	c.close(c.readFailure(err))
}

// takeReadRole tries to take the read role. For the goroutine (loop) a
// waiting caller counts as a holder. Failing, it leaves the reading to the
// holder or caller (lost); the second look closes the window where they
// finished between the first look and the mark.
func (c *link) takeReadRole(loop bool) bool {
	if (!loop || c.callers.Load() == 0) && c.readMu.TryLock() {
		return true
	}
	c.lost.Store(true)
	return (!loop || c.callers.Load() == 0) && c.readMu.TryLock()
}

// readTurn reads with the role held and then releases it, reading again
// first whenever a reader left it bytes meanwhile (lost). The role is held
// on entry.
func (c *link) readTurn(fd int) error {
	for {
		err := c.readAvailable(fd)
		c.readMu.Unlock()
		if err != nil || !c.lost.Swap(false) || !c.takeReadRole(false) {
			return err
		}
	}
}

// readAvailable reads the socket (non-blocking descriptor fd) until it is
// empty and delivers every complete frame; a partial frame stays in c.rd
// for the next reader. A nil result means the socket is drained; io.EOF
// or another error means the link is finished. The read role is held.
func (c *link) readAvailable(fd int) error {
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
			// raise a new readiness event (and a caller's ppoll sees them).
			return nil
		}
	}
}

// consume feeds bytes read from the socket into the frame being built,
// delivering each frame as it completes.
func (c *link) consume(b []byte) error {
	r := &c.rd
	for len(b) > 0 {
		if r.frame == nil {
			k := copy(r.size[r.nsize:], b)
			r.nsize += k
			b = b[k:]
			if r.nsize < 4 {
				return nil
			}
			size := binary.BigEndian.Uint32(r.size[:])
			if size < 4 || size > maxResponseSize {
				return &wire.Error{Code: wire.ErrCorruptResponse, Detail: fmt.Sprintf("frame size %d", size), Broker: c.addr}
			}
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
			c.deliver(frame)
		}
	}
	return nil
}

// readLoopBuffered is readLoop for links without a descriptor to read
// (TLS): the goroutine is the only reader.
func (c *link) readLoopBuffered() {
	br := bufio.NewReaderSize(c.nc, readBufferSize)
	var sizeBuf [4]byte
	for {
		if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
			// ioErrorCode: a TLS alert (e.g. the broker refusing our
			// client certificate) is TLS_FAILED, not a retriable failure.
			c.close(&wire.Error{Code: ioErrorCode(err), Detail: "read: " + err.Error() + tlsHint(err), Broker: c.addr})
			return
		}
		size := binary.BigEndian.Uint32(sizeBuf[:])
		if size < 4 || size > maxResponseSize {
			c.close(&wire.Error{Code: wire.ErrCorruptResponse, Detail: fmt.Sprintf("frame size %d", size), Broker: c.addr})
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(br, frame); err != nil {
			c.close(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "read: " + err.Error(), Broker: c.addr})
			return
		}
		c.deliver(frame)
	}
}

// deliver hands a response frame to the waiter of its correlation id
// (responses nobody waits for any more are dropped).
func (c *link) deliver(frame []byte) {
	id, _ := wire.ResponseCorrelationID(frame)
	c.mu.Lock()
	w, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ok {
		w.ch <- frame
		w.signal()
	}
}

// ResponseReader lets a thread that waits for a response on a broker
// connection read it itself (see the top of this file): between BeginWait
// and EndWait the connection's reader goroutine leaves reading to the
// thread, which waits for FD to be readable and calls TryRead. The zero
// value reads nothing. Safe for concurrent use; the connection may die at
// any time, after which TryRead reports it and FD must no longer be waited
// on.
type ResponseReader struct{ l *link }

// Valid reports whether r refers to a connection.
func (r ResponseReader) Valid() bool { return r.l != nil }

// FD is the connection's socket, to wait on for readability (poll(2)).
// The number is only meaningful while TryRead reports the connection
// alive.
func (r ResponseReader) FD() int { return r.l.rawFD }

// BeginWait announces that the calling thread waits for the socket; every
// BeginWait must be followed by an EndWait.
func (r ResponseReader) BeginWait() { r.l.callers.Add(1) }

// EndWait ends a wait; what the reader goroutine left to the waiting
// thread meanwhile is read now.
func (r ResponseReader) EndWait() {
	c := r.l
	c.callers.Add(-1)
	if c.lost.Swap(false) && c.takeReadRole(false) {
		c.readAsCaller()
	}
}

// TryRead reads and delivers whatever the connection has, unless another
// reader holds the role (then read is false: that reader delivers it).
// alive is false when the connection is dead.
func (r ResponseReader) TryRead() (alive, read bool) {
	c := r.l
	if c.isDead() {
		return false, false
	}
	if !c.readMu.TryLock() {
		return true, false
	}
	return c.readAsCaller(), true
}

// readAsCaller is readTurn from a thread other than the goroutine (the
// role held); it closes the link on failure and reports whether it lives.
func (c *link) readAsCaller() bool {
	var failed error
	err := c.raw.Control(func(fd uintptr) { failed = c.readTurn(int(fd)) })
	if err != nil {
		c.readMu.Unlock() // Control did not run the function: the socket is closed
	} else {
		err = failed
	}
	if err != nil {
		c.close(c.readFailure(err))
		return false
	}
	return true
}

// readFailure is the error a failed read closes the link with: a corrupt
// frame as found, an I/O error classified (ioErrorCode).
func (c *link) readFailure(err error) error {
	var we *wire.Error
	if errors.As(err, &we) {
		return err
	}
	return &wire.Error{Code: ioErrorCode(err), Detail: "read: " + err.Error(), Broker: c.addr}
}
