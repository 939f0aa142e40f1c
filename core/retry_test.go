package core

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// fakeSleep records the waits instead of sleeping.
type fakeSleep struct{ waits []time.Duration }

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.waits = append(f.waits, d)
	return ctx.Err()
}

func TestRetryBackoffSequence(t *testing.T) {
	p := RetryPolicy{MaxRetries: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, BackoffMultiplier: 3}
	want := []time.Duration{100, 300, 900, 1000, 1000}
	for i, w := range want {
		require.Equal(t, w*time.Millisecond, p.Backoff(i), "attempt %d", i)
		require.Equal(t, w*time.Millisecond, p.JitteredBackoff(i), "no jitter")
	}
	require.Equal(t, time.Second, p.Backoff(10000), "no overflow")

	p.Jitter = true
	p.Rand = func() float64 { return 0 }
	require.Equal(t, 50*time.Millisecond, p.JitteredBackoff(0))
	p.Rand = func() float64 { return 0.999999 }
	require.InDelta(t, float64(100*time.Millisecond), float64(p.JitteredBackoff(0)), float64(time.Microsecond))
	p.Rand = nil
	for i := 0; i < 100; i++ {
		d := p.JitteredBackoff(2)
		require.GreaterOrEqual(t, d, 450*time.Millisecond)
		require.LessOrEqual(t, d, 900*time.Millisecond)
	}
}

func TestRetryDoFollowsPolicy(t *testing.T) {
	fs := &fakeSleep{}
	p := RetryPolicy{MaxRetries: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 250 * time.Millisecond,
		BackoffMultiplier: 2, Sleep: fs.sleep}
	calls := 0
	err := p.Do(context.Background(), func(context.Context) error {
		calls++
		return &wire.Error{Code: wire.ErrNotLeaderOrFollower, Broker: "b:1"}
	})
	require.Equal(t, 4, calls)
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond}, fs.waits)
	require.ErrorIs(t, err, wire.ErrNotLeaderOrFollower)
	require.Contains(t, err.Error(), "gave up after 4 attempts")
	var we *wire.Error
	require.True(t, errors.As(err, &we))
	require.Equal(t, "b:1", we.Broker)

	// Non-retriable errors are returned at once; success stops retrying.
	fs.waits = nil
	calls = 0
	err = p.Do(context.Background(), func(context.Context) error { calls++; return wire.ErrTopicAlreadyExists })
	require.Equal(t, 1, calls)
	require.Equal(t, wire.ErrTopicAlreadyExists, err)
	calls = 0
	err = p.Do(context.Background(), func(context.Context) error {
		calls++
		if calls < 3 {
			return wire.ErrCoordinatorNotAvailable
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, fs.waits, 2)

	// A context that ends stops the waits and returns the last error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = DefaultRetryPolicy().Do(ctx, func(context.Context) error { return wire.ErrCoordinatorNotAvailable })
	require.ErrorIs(t, err, wire.ErrCoordinatorNotAvailable)
}

func TestRetryValidateAndConfig(t *testing.T) {
	require.NoError(t, DefaultRetryPolicy().Validate())
	bad := []RetryPolicy{
		{MaxRetries: -1, BackoffMultiplier: 1},
		{InitialBackoff: time.Second, MaxBackoff: time.Millisecond, BackoffMultiplier: 1},
		{BackoffMultiplier: 0.5},
	}
	for _, p := range bad {
		require.ErrorIs(t, p.Validate(), wire.ErrInvalidArgument, "%+v", p)
	}
	cfg, err := parseConfig("bootstrap.servers=h:1\nretries=7\nretry.backoff.ms=10\nretry.backoff.max.ms=500\nretry.backoff.multiplier=1.5\nretry.jitter=false")
	require.NoError(t, err)
	require.Equal(t, RetryPolicy{MaxRetries: 7, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, BackoffMultiplier: 1.5}, cfg.Retry)
	def := newConfig()
	require.Equal(t, 3, def.Retry.MaxRetries)
	require.True(t, def.Retry.Jitter)
	_, err = parseConfig("retry.backoff.multiplier=0.5")
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	cfg, err = parseConfig("bootstrap.servers=h:1\nretry.backoff.ms=1000\nretry.backoff.max.ms=10")
	require.NoError(t, err)
	_, err = clientFromConfig(cfg)
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
}

func TestAdminUsesRetryPolicy(t *testing.T) {
	fs := &fakeSleep{}
	p := RetryPolicy{MaxRetries: 2, InitialBackoff: 40 * time.Millisecond, MaxBackoff: time.Second, BackoffMultiplier: 5, Sleep: fs.sleep}
	a, err := NewAdmin(WithBrokers("127.0.0.1:1"), WithDialTimeout(time.Second), WithRetry(p))
	require.NoError(t, err)
	defer a.Close()
	_, err = a.ListBrokers(context.Background())
	require.ErrorIs(t, err, wire.ErrNoBrokersAvailable)
	require.Contains(t, err.Error(), "gave up after 3 attempts")
	require.Equal(t, []time.Duration{40 * time.Millisecond, 200 * time.Millisecond}, fs.waits)
}
