package core

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gofka/gofka/wire"
)

// RetryPolicy is exponential backoff with a cap and optional jitter. The
// zero value is not useful; start from DefaultRetryPolicy. Which errors are
// retried is not a policy setting: it comes from the wire error table
// (wire.ErrorCode.Retriable).
//
// The properties retries, retry.backoff.ms, retry.backoff.max.ms,
// retry.backoff.multiplier and retry.jitter set Config.Retry; every client
// (producer, consumer, admin) uses it for its retriable failures.
//
// A RetryPolicy is a value: copy it freely. It is safe for concurrent use
// as long as Sleep and Rand are.
type RetryPolicy struct {
	MaxRetries        int           // retries after the first attempt; default 3
	InitialBackoff    time.Duration // default 100 ms
	MaxBackoff        time.Duration // default 30 s
	BackoffMultiplier float64       // default 2.0
	Jitter            bool          // default true: each wait is drawn from [backoff/2, backoff]

	// Sleep waits d or until ctx ends (returning ctx.Err()); nil uses a
	// timer. Tests inject a fake clock here.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for jitter; nil uses math/rand/v2.
	Rand func() float64
}

// DefaultRetryPolicy returns the documented defaults.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 30 * time.Second,
		BackoffMultiplier: 2.0, Jitter: true}
}

// Validate reports a policy that cannot work: a count or duration outside
// its property's range (retries, retry.backoff.ms, retry.backoff.max.ms:
// core/validate.go), a cap below the initial backoff, or a multiplier
// below 1.
func (p RetryPolicy) Validate() error {
	// retries, retry.backoff.ms and retry.backoff.max.ms: their ranges
	// (core/validate.go), as for the properties.
	if err := (&Config{Retry: p}).checkRanges(rangeRetry); err != nil {
		return err
	}
	switch {
	case p.MaxBackoff < p.InitialBackoff:
		return &wire.Error{Code: wire.ErrInvalidArgument,
			Detail: fmt.Sprintf("retry.backoff.max.ms (%v) must not be below retry.backoff.ms (%v)", p.MaxBackoff, p.InitialBackoff)}
	case !(p.BackoffMultiplier >= 1) || math.IsInf(p.BackoffMultiplier, 0):
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("retry.backoff.multiplier must be a finite number >= 1, got %v", p.BackoffMultiplier)}
	}
	return nil
}

// Backoff returns the wait before retry number attempt (0 = the first
// retry), without jitter: initial * multiplier^attempt, capped at MaxBackoff.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	b := float64(p.InitialBackoff) * math.Pow(p.BackoffMultiplier, float64(max(attempt, 0)))
	if b > float64(p.MaxBackoff) || math.IsInf(b, 0) || math.IsNaN(b) {
		return p.MaxBackoff
	}
	return time.Duration(b)
}

// JitteredBackoff is the wait the policy actually uses before retry number
// attempt: Backoff(attempt), or with Jitter a value drawn uniformly from
// [Backoff/2, Backoff].
func (p RetryPolicy) JitteredBackoff(attempt int) time.Duration {
	d := p.Backoff(attempt)
	if !p.Jitter || d <= 0 {
		return d
	}
	r := p.Rand
	if r == nil {
		r = rand.Float64
	}
	half := d / 2
	return half + time.Duration(r()*float64(d-half))
}

// sleep waits d (through p.Sleep when set) or until ctx ends.
func (p RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
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

// wait sleeps for the (jittered) backoff of attempt or until ctx ends.
func (p RetryPolicy) wait(ctx context.Context, attempt int) error {
	return p.sleep(ctx, p.JitteredBackoff(attempt))
}

// Do calls fn until it succeeds, returns an error the error table does not
// mark retriable, or has failed MaxRetries+1 times, waiting
// JitteredBackoff(n) before retry n. It gives up early, returning fn's
// last error, when ctx ends. When every attempt failed, the error returned
// is fn's last one with the attempt count added to its detail.
func (p RetryPolicy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	for attempt := 0; ; attempt++ {
		err := fn(ctx)
		if err == nil || !wire.CodeOf(err).Retriable() {
			return err
		}
		if attempt >= p.MaxRetries {
			return withAttempts(err, attempt+1)
		}
		if werr := p.wait(ctx, attempt); werr != nil {
			return err
		}
	}
}

// keepCause is the failure a retrying call remembers after an attempt
// failed with err, given the one it remembered before (last, nil: none):
// err, except once ctx has ended. Then err is mostly that ending (the
// attempt's request or wait timed out) and last, when there is one, is
// why the call was still retrying at its deadline: the caller hears that.
func keepCause(ctx context.Context, last, err error) error {
	if ctx.Err() != nil && last != nil {
		return last
	}
	return err
}

// withAttempts notes in err's detail how many attempts were made.
func withAttempts(err error, n int) error {
	if n <= 1 {
		return err
	}
	var e *wire.Error
	switch we := err.(type) {
	case *wire.Error:
		c := *we
		e = &c
	case wire.ErrorCode:
		e = &wire.Error{Code: we}
	default:
		e = &wire.Error{Code: wire.CodeOf(err), Detail: err.Error()}
	}
	if e.Detail != "" {
		e.Detail += "; "
	}
	e.Detail += fmt.Sprintf("gave up after %d attempts", n)
	return e
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
