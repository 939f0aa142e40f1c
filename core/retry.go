package core

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gofka/gofka/wire"
)

// RetryPolicy is exponential backoff with a cap and optional jitter. The
// zero value is not useful; start from DefaultRetryPolicy. Which errors are
// retried is not a policy setting: it comes from the wire error table
// (wire.ErrorCode.Retriable).
type RetryPolicy struct {
	MaxRetries        int           // retries after the first attempt; default 3
	InitialBackoff    time.Duration // default 100 ms
	MaxBackoff        time.Duration // default 30 s
	BackoffMultiplier float64       // default 2.0
	Jitter            bool          // default true: each wait is drawn from [backoff/2, backoff]
}

// DefaultRetryPolicy returns the documented defaults.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 30 * time.Second,
		BackoffMultiplier: 2.0, Jitter: true}
}

// Backoff returns the wait before retry number attempt (0 = the first
// retry), without jitter: initial * multiplier^attempt, capped at MaxBackoff.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	b := float64(p.InitialBackoff) * math.Pow(p.BackoffMultiplier, float64(attempt))
	if b > float64(p.MaxBackoff) || math.IsInf(b, 0) || math.IsNaN(b) {
		return p.MaxBackoff
	}
	return time.Duration(b)
}

// wait sleeps for the (jittered) backoff of attempt or until ctx ends.
func (p RetryPolicy) wait(ctx context.Context, attempt int) error {
	d := p.Backoff(attempt)
	if p.Jitter && d > 0 {
		d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryUntil calls fn until it succeeds, returns a non-retriable error, or
// ctx ends; waits between attempts follow p but the attempt count is bounded
// by ctx rather than MaxRetries, because callers use it for waits such as
// "until the new topic has a leader" whose length the deadline expresses.
func (p RetryPolicy) retryUntil(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !wire.CodeOf(err).Retriable() {
			return err
		}
		if werr := p.wait(ctx, min(attempt, 6)); werr != nil {
			return err
		}
	}
}
