//go:build unix && (!linux || gofka_portable)

package ppoll

import "time"

// Impl names what Wait and NewWaker are in this build.
const Impl = "poll+pipe"

func wait(fds []FD, timeout time.Duration) { PollWait(fds, timeout) }

func newWaker() (Waker, error) { return NewPipeWaker() }
