//go:build unix

package ppoll

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// waits are the Wait implementations this system can run: the build's
// (Wait), the portable one, and on Linux ppoll itself, so that a Linux
// run tests the fallback too.
func waits() map[string]func([]FD, time.Duration) {
	m := map[string]func([]FD, time.Duration){"Wait(" + Impl + ")": Wait, "PollWait": PollWait}
	addPlatformWaits(m)
	return m
}

// wakers are the Waker implementations this system can make.
func wakers() map[string]func() (Waker, error) {
	m := map[string]func() (Waker, error){"NewWaker(" + Impl + ")": NewWaker, "NewPipeWaker": NewPipeWaker}
	addPlatformWakers(m)
	return m
}

// waitEvent waits on fds until one has an event, or 30 s have passed
// (timeout < 0: the same 30 s). A wait may end early with no events
// (EINTR: the runtime's preemption signals reach the waiting thread), as
// Wait documents, so a test expecting an event loops as callers do.
func waitEvent(wait func([]FD, time.Duration), fds []FD, timeout time.Duration) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		if timeout >= 0 {
			left = min(left, timeout)
		} else {
			left = -1
		}
		wait(fds, left)
		for _, f := range fds {
			if f.Revents != 0 {
				return
			}
		}
	}
}

// within fails when d exceeds a generous bound on a wait that should end
// at once (a hang check, not a timing measure).
func within(t *testing.T, what string, d time.Duration) {
	t.Helper()
	if d > 10*time.Second {
		t.Fatalf("%s took %v", what, d)
	}
}

func TestWakerRingsAreCountedAndWakeEveryWait(t *testing.T) {
	for wn, newWaker := range wakers() {
		for name, wait := range waits() {
			t.Run(wn+"/"+name, func(t *testing.T) {
				w, err := newWaker()
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				fds := []FD{{Fd: int32(w.FD()), Events: In}}
				// Nothing pending: the wait times out with no events.
				start := time.Now()
				wait(fds, 5*time.Millisecond)
				if fds[0].Revents != 0 {
					t.Fatalf("revents %#x with no ring", fds[0].Revents)
				}
				within(t, "a 5ms wait", time.Since(start))
				if n := w.Drain(); n != 0 {
					t.Fatalf("Drain with no ring: %d", n)
				}
				// Rings before the wait are not lost, and are counted.
				for range 3 {
					if !w.Ring() {
						t.Fatal("Ring failed")
					}
				}
				waitEvent(wait, fds, 30*time.Second)
				if fds[0].Revents&In == 0 {
					t.Fatalf("revents %#x after 3 rings", fds[0].Revents)
				}
				if n := w.Drain(); n != 3 {
					t.Fatalf("Drain after 3 rings: %d", n)
				}
				wait(fds, 0)
				if fds[0].Revents != 0 {
					t.Fatalf("revents %#x after Drain", fds[0].Revents)
				}
				// A ring from another thread wakes a wait without timeout.
				go func() {
					time.Sleep(20 * time.Millisecond)
					w.Ring()
				}()
				start = time.Now()
				waitEvent(wait, fds, -1)
				within(t, "a woken wait", time.Since(start))
				if fds[0].Revents&In == 0 || w.Drain() != 1 {
					t.Fatalf("revents %#x after a ring from another goroutine", fds[0].Revents)
				}
			})
		}
	}
}

func TestWaitReportsSocketEventsAndIgnoresNegativeFds(t *testing.T) {
	for name, wait := range waits() {
		t.Run(name, func(t *testing.T) {
			sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer syscall.Close(sp[0])
			// The writable end, next to an ignored slot (negative fd).
			fds := []FD{{Fd: -1, Events: In}, {Fd: int32(sp[0]), Events: Out}}
			waitEvent(wait, fds, 30*time.Second)
			if fds[0].Revents != 0 || fds[1].Revents&Out == 0 {
				t.Fatalf("revents %#x %#x, want none and Out", fds[0].Revents, fds[1].Revents)
			}
			// Data makes In; the peer's close is reported to a waiter that
			// asked for RdHup (as Linux's POLLRDHUP or, portably, as In).
			syscall.Write(sp[1], []byte("x"))
			fds = []FD{{Fd: int32(sp[0]), Events: In}}
			waitEvent(wait, fds, 30*time.Second)
			if fds[0].Revents&In == 0 {
				t.Fatalf("revents %#x with data", fds[0].Revents)
			}
			var b [1]byte
			syscall.Read(sp[0], b[:])
			syscall.Close(sp[1])
			fds = []FD{{Fd: int32(sp[0]), Events: RdHup}}
			start := time.Now()
			waitEvent(wait, fds, 30*time.Second)
			within(t, "a wait for the peer's close", time.Since(start))
			if fds[0].Revents == 0 {
				t.Fatal("no event after the peer closed")
			}
		})
	}
}

func TestWakerCloseClosesItsDescriptors(t *testing.T) {
	for wn, newWaker := range wakers() {
		t.Run(wn, func(t *testing.T) {
			w, err := newWaker()
			if err != nil {
				t.Fatal(err)
			}
			fd := w.FD()
			if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0); e != 0 {
				t.Fatalf("F_GETFD of an open waker: %v", e)
			}
			flags, _, _ := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
			if flags&syscall.FD_CLOEXEC == 0 {
				t.Fatal("the waker's descriptor is not close-on-exec")
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0); e != syscall.EBADF {
				t.Fatalf("F_GETFD after Close: %v, want EBADF", e)
			}
		})
	}
}

// The portable Wait rounds a sub-millisecond timeout up instead of
// returning at once (poll takes milliseconds).
func TestPollWaitRoundsTimeoutsUp(t *testing.T) {
	w, err := NewPipeWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fds := []FD{{Fd: int32(w.FD()), Events: In}}
	start := time.Now()
	PollWait(fds, 100*time.Microsecond)
	if d := time.Since(start); d < 100*time.Microsecond {
		t.Fatalf("a 100us wait returned after %v", d)
	}
}

func TestImplIsTheBuildsChoice(t *testing.T) {
	want := "poll+pipe"
	if runtime.GOOS == "linux" && !portableTag {
		want = "ppoll+eventfd"
	}
	if Impl != want {
		t.Fatalf("Impl %q on %s (gofka_portable %v), want %q", Impl, runtime.GOOS, portableTag, want)
	}
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, isPipe := w.(*pipeWaker)
	if isPipe != (want == "poll+pipe") {
		t.Fatalf("NewWaker made a %T in a %s build", w, Impl)
	}
}
