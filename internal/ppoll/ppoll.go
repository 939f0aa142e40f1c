// Package ppoll is the wait of threads that block on descriptors outside
// the Go runtime's poller: the engine's plaintext connections
// (core/conn_sock.go) and the C boundary's wake pipes (capi/queue.go).
//
// Two pieces, each with a Linux implementation and a portable fallback:
//
//   - Wait: ppoll(2) on Linux; plain poll(2) (golang.org/x/sys/unix.Poll,
//     millisecond timeouts) elsewhere.
//   - Waker, the descriptor a waiting thread is woken through: an eventfd
//     on Linux; a non-blocking pipe elsewhere.
//
// Which one Wait and NewWaker use is chosen at build time: Linux builds
// use ppoll and eventfd unless built with the tag gofka_portable, which
// selects the fallbacks (as on every other Unix); Impl names the choice.
// Both fallbacks are compiled on Linux too and are tested there
// (PollWait, NewPipeWaker; `go test -tags gofka_portable` runs the users
// of the package on them). Windows has neither poll on arbitrary
// descriptors nor pipes an event loop can wait on: see "Portability" in
// docs/architecture.md.
package ppoll

import "time"

// FD is struct pollfd: a descriptor, the events asked for and, after
// Wait, the events that happened.
type FD struct {
	Fd      int32 // negative: ignored (no events)
	Events  int16
	Revents int16
}

// Events (poll(2)). The kernel only wakes a waiter for the events it
// asked for (and for errors and hang-up, always reported). RdHup is
// Linux's POLLRDHUP: the portable Wait asks for In instead, which a
// peer's shutdown makes readable too (the read then sees the end).
const (
	In    = 0x1
	Out   = 0x4
	RdHup = 0x2000 // the peer closed its end (read side shut down)
)

// Wait blocks until one of fds has an event or timeout passes (negative:
// no timeout), then fills their Revents. EINTR returns early with no
// events: callers loop. ppoll(2) on Linux, PollWait with gofka_portable
// and on other systems.
func Wait(fds []FD, timeout time.Duration) { wait(fds, timeout) }

// Waker is a descriptor that a thread blocked in Wait can be woken
// through: FD is readable while rings are pending. Ring and Drain may run
// on any threads at once; Close must not run concurrently with any other
// use (the users count their uses and the last one closes). Rings are
// counted: rings before a wait are not lost, and Drain returns how many it
// took back.
type Waker interface {
	// FD is the descriptor to Wait on with In (put it in an event loop
	// the same way). It stays the same until Close.
	FD() int
	// Ring adds one pending ring and makes FD readable. It never blocks;
	// it reports false when the ring could not be counted (a pipe whose
	// buffer is full: FD is readable anyway) or the write failed.
	Ring() bool
	// Drain takes back the rings that have arrived and returns how many
	// (0 when none); FD is then not readable until the next Ring. Rings
	// on their way (a Ring running at the same time) may arrive after it.
	Drain() int
	// Close closes the descriptors.
	Close() error
}

// NewWaker returns the build's Waker (Impl): an eventfd on Linux, else a
// pipe (NewPipeWaker). Both are non-blocking and close-on-exec.
func NewWaker() (Waker, error) { return newWaker() }
