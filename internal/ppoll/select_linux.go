//go:build linux && !gofka_portable

package ppoll

import "time"

// Impl names what Wait and NewWaker are in this build.
const Impl = "ppoll+eventfd"

func wait(fds []FD, timeout time.Duration) { ppollWait(fds, timeout) }

func newWaker() (Waker, error) { return NewEventfdWaker() }
