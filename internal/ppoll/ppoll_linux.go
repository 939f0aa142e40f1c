package ppoll

import (
	"encoding/binary"
	"syscall"
	"time"
	"unsafe"
)

// ppollWait is Wait with ppoll(2): nanosecond timeouts, and the only poll
// system call some Linux architectures (arm64) have.
func ppollWait(fds []FD, timeout time.Duration) {
	var ts *syscall.Timespec
	if timeout >= 0 {
		t := syscall.NsecToTimespec(int64(timeout))
		ts = &t
	}
	syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
		uintptr(unsafe.Pointer(ts)), 0, 0, 0)
}

// eventfdWaker is a Waker on an eventfd(2): one descriptor, a 64-bit
// counter that each Ring adds 1 to and Drain reads (and zeroes).
type eventfdWaker struct {
	fd int
}

// NewEventfdWaker returns a Waker on a non-blocking, close-on-exec
// eventfd (Linux only).
func NewEventfdWaker() (Waker, error) {
	fd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if e != 0 {
		return nil, e
	}
	return &eventfdWaker{fd: int(fd)}, nil
}

func (w *eventfdWaker) FD() int { return w.fd }

func (w *eventfdWaker) Ring() bool {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1) // eventfd takes a host-order uint64
	n, err := syscall.Write(w.fd, one[:])
	return err == nil && n == 8
}

func (w *eventfdWaker) Drain() int {
	var b [8]byte
	if n, err := syscall.Read(w.fd, b[:]); err != nil || n != 8 {
		return 0 // EAGAIN: nothing pending
	}
	return int(binary.NativeEndian.Uint64(b[:]))
}

func (w *eventfdWaker) Close() error { return syscall.Close(w.fd) }
