//go:build unix

package ppoll

import (
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// PollWait is Wait with plain poll(2), the portable fallback (on Linux
// x/sys implements it with ppoll where poll does not exist). poll takes
// milliseconds: a timeout is rounded up to the next one, so that a short
// wait never turns into a busy loop of zero timeouts, and capped at
// MaxInt32 ms (about 24 days). RdHup, which only Linux knows, is asked
// for as In.
func PollWait(fds []FD, timeout time.Duration) {
	var buf [4]unix.PollFd
	pfds := buf[:0]
	for _, f := range fds {
		ev := f.Events
		if ev&RdHup != 0 {
			ev = ev&^RdHup | In
		}
		pfds = append(pfds, unix.PollFd{Fd: f.Fd, Events: ev})
	}
	ms := -1
	if timeout >= 0 {
		ms = int(min((timeout+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
	}
	n, err := unix.Poll(pfds, ms)
	for i := range fds {
		fds[i].Revents = 0
		if err == nil && n > 0 {
			fds[i].Revents = pfds[i].Revents
		}
	}
}

// pipeWaker is a Waker on a pipe: Ring writes one byte to the write end,
// Drain reads the read end empty and counts the bytes.
type pipeWaker struct {
	rfd, wfd int
}

// NewPipeWaker returns a Waker on a non-blocking, close-on-exec pipe
// (pipe(2) and fcntl, as systems without pipe2 need). Its buffer holds
// thousands of rings (64 KiB on Linux, 16 KiB or more on macOS); past
// that Ring reports false and FD stays readable.
func NewPipeWaker() (Waker, error) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		return nil, err
	}
	for _, fd := range p {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return nil, err
		}
	}
	return &pipeWaker{rfd: p[0], wfd: p[1]}, nil
}

func (w *pipeWaker) FD() int { return w.rfd }

func (w *pipeWaker) Ring() bool {
	n, err := unix.Write(w.wfd, []byte{1})
	return err == nil && n == 1
}

func (w *pipeWaker) Drain() int {
	var b [256]byte
	total := 0
	for {
		n, err := unix.Read(w.rfd, b[:])
		if n > 0 {
			total += n
		}
		if err != nil || n < len(b) {
			return total
		}
	}
}

func (w *pipeWaker) Close() error {
	err := unix.Close(w.rfd)
	if err2 := unix.Close(w.wfd); err == nil {
		err = err2
	}
	return err
}
