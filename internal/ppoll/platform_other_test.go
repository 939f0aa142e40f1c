//go:build unix && !linux

package ppoll

import "time"

func addPlatformWaits(map[string]func([]FD, time.Duration)) {}

func addPlatformWakers(map[string]func() (Waker, error)) {}
