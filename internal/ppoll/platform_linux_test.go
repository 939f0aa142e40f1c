package ppoll

import "time"

func addPlatformWaits(m map[string]func([]FD, time.Duration)) { m["ppollWait"] = ppollWait }

func addPlatformWakers(m map[string]func() (Waker, error)) { m["NewEventfdWaker"] = NewEventfdWaker }
