package core

import (
	"net"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/gofka/gofka/internal/ppoll"
)

// sockFD is the socket of a plaintext TCP connection, owned by the
// connection outside the Go runtime's poller (why: core/conn_read.go). The
// connection writes it with sendto, its reader goroutine and waiting callers
// poll and read it.
//
// Lifetime: refs counts the connection's own hold (from takeSocket until
// shutdown) plus every use in progress (a write, a read turn, a caller's
// wait, the reader goroutine's wait). shutdown ends the connection at once
// (every thread polling it wakes, writes fail, reads see the end) and the
// last use closes the descriptors, so no thread ever polls or reads a
// descriptor number that was closed and reused meanwhile.
type sockFD struct {
	fd   int // the socket: non-blocking, close-on-exec
	ring int // eventfd that wakes the reader goroutine (ringReader)
	refs atomic.Int32
}

// takeSocket takes tc's socket out of the runtime's poller: a duplicate
// of the descriptor (made with fcntl, not TCPConn.File, whose os.File
// would register the non-blocking duplicate with the poller again) stays
// with the connection, and tc is closed, which removes the original from the
// poller's epoll set (the connection lives on in the duplicate). On error
// tc is left as it was.
func takeSocket(tc *net.TCPConn) (*sockFD, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(s uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			dupErr = e
			return
		}
		fd = int(r)
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, dupErr
	}
	ring, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if e != 0 {
		syscall.Close(fd)
		return nil, e
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		syscall.Close(int(ring))
		return nil, err
	}
	tc.Close()
	s := &sockFD{fd: fd, ring: int(ring)}
	s.refs.Store(1)
	return s, nil
}

// acquire takes a use of the descriptors; false once they are closed (or
// about to be). Every true result must be paired with a release.
func (s *sockFD) acquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release ends a use; the last one closes the descriptors.
func (s *sockFD) release() {
	if s.refs.Add(-1) == 0 {
		syscall.Close(s.fd)
		syscall.Close(s.ring)
	}
}

// shutdown ends the connection (conn.close calls it once): threads polling
// the socket wake (POLLHUP), the reader goroutine is rung, and the connection's
// hold is dropped.
func (s *sockFD) shutdown() {
	syscall.Shutdown(s.fd, syscall.SHUT_RDWR)
	s.ringReader()
	s.release()
}

// ringReader wakes the reader goroutine to look at the connection again (its
// wait mode, or the connection's death). The eventfd counts: rings before the
// goroutine waits are not lost. A use must be held (or be the connection's).
func (s *sockFD) ringReader() {
	one := [8]byte{1} // little-endian uint64 1 (eventfd takes host order; Linux targets here are little-endian)
	syscall.Write(s.ring, one[:])
}

// unring takes back the rings the goroutine has seen.
func (s *sockFD) unring() {
	var b [8]byte
	syscall.Read(s.ring, b[:])
}

// write writes all of b, waiting for room in the socket's send buffer when
// it is full. MSG_NOSIGNAL: a C program that links the library may not
// ignore SIGPIPE, and a broker that went away must be an error, not a
// signal.
func (s *sockFD) write(b []byte) error {
	if !s.acquire() {
		return net.ErrClosed
	}
	defer s.release()
	for len(b) > 0 {
		n, _, e := syscall.Syscall6(syscall.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			b = b[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			fds := [1]ppoll.FD{{Fd: int32(s.fd), Events: ppoll.Out}}
			ppoll.Wait(fds[:], -1)
		default:
			return e
		}
	}
	return nil
}

// ownSocket makes c own tc's socket (takeSocket): reads and writes go
// through sockFD. When that fails c keeps tc and the buffered reader.
func (c *conn) ownSocket(tc *net.TCPConn) {
	s, err := takeSocket(tc)
	if err != nil {
		return
	}
	c.sock, c.nc = s, nil
	c.rd.buf = make([]byte, readBufferSize)
}
