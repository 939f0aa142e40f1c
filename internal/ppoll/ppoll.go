// Package ppoll is ppoll(2) for threads that wait on descriptors outside
// the Go runtime's poller: the engine's plaintext connections
// (core/conn_sock.go) and the C boundary's wake pipes (capi/queue.go).
// Linux only, like the library.
package ppoll

import (
	"syscall"
	"time"
	"unsafe"
)

// FD is struct pollfd: a descriptor, the events asked for and, after
// Wait, the events that happened.
type FD struct {
	Fd      int32 // negative: ignored (no events)
	Events  int16
	Revents int16
}

// Events (poll(2)). The kernel only wakes a waiter for the events it
// asked for (and for errors and hang-up, always reported).
const (
	In    = 0x1
	Out   = 0x4
	RdHup = 0x2000 // the peer closed its end (read side shut down)
)

// Wait blocks in ppoll(2) until one of fds has an event or timeout passes
// (negative: no timeout), then fills their Revents. EINTR returns early
// with no events: callers loop.
func Wait(fds []FD, timeout time.Duration) {
	var ts *syscall.Timespec
	if timeout >= 0 {
		t := syscall.NsecToTimespec(int64(timeout))
		ts = &t
	}
	syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)),
		uintptr(unsafe.Pointer(ts)), 0, 0, 0)
}
