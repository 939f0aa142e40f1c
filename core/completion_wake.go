package core

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofka/gofka/internal/ppoll"
	"github.com/gofka/gofka/wire"
)

// wakePipe is a pipe used as a level-triggered wake-up: its read end is
// readable while a wake-up is due, so poll(2)/ppoll(2) or an event loop
// (asyncio's add_reader) can wait on it. CompletionQueue and the
// Consumer's kernel wait (Consumer.PollWait) use it. The owner guards signal, clear,
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
// socket, see CompletionQueue.reader) it also returns when extra turns
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
