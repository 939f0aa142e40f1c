//go:build !(linux && amd64)

package core

import "time"

// wallNow is the wall-clock time without a monotonic reading (see
// wallclock_linux_amd64.go, where it is cheaper than time.Now). Safe for
// concurrent use.
func wallNow() time.Time { return time.Now().Round(0) }
