package core

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// fakeClock is a manual clock for the failover cool-downs; its sleep
// advances the clock instead of waiting.
type fakeClock struct {
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func newFakeFailover(t *testing.T, brokers []string, retries int) (*FailoverManager, *fakeClock) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	p := RetryPolicy{MaxRetries: retries, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
		BackoffMultiplier: 2, Sleep: clk.Sleep}
	m, err := NewFailoverManager(brokers, p, WithFailoverCooldown(10*time.Second), WithFailoverClock(clk.Now))
	require.NoError(t, err)
	return m, clk
}

func TestFailoverMovesToLiveBroker(t *testing.T) {
	live := testBrokers(t)[0]
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	l.Close()

	m, clk := newFakeFailover(t, []string{dead, live}, 3)
	var tried []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []BrokerInfo
	err = m.Execute(ctx, func(ctx context.Context, broker string) error {
		tried = append(tried, broker)
		a, err := NewAdmin(WithBrokers(broker), WithRetry(RetryPolicy{BackoffMultiplier: 1}))
		if err != nil {
			return err
		}
		defer a.Close()
		got, err = a.ListBrokers(ctx)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, []string{dead, live}, tried)
	require.NotEmpty(t, got)
	require.Empty(t, clk.waits, "switching brokers within a round does not back off")
	st := m.Status()
	require.False(t, st[0].Healthy)
	require.Equal(t, 1, st[0].Failures)
	require.Contains(t, st[0].LastError, "CONNECTION_FAILED")
	require.True(t, st[1].Healthy)
	require.Equal(t, []string{live}, m.Healthy())

	// While the dead broker cools down, the live one is tried first even
	// when round-robin would start at the dead one.
	for i := 0; i < 3; i++ {
		tried = nil
		require.NoError(t, m.Execute(ctx, func(ctx context.Context, b string) error { tried = append(tried, b); return nil }))
		require.Equal(t, []string{live}, tried)
	}
	// After the cool-down, round-robin spreads calls over both.
	clk.now = clk.now.Add(11 * time.Second)
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		require.NoError(t, m.Execute(ctx, func(ctx context.Context, b string) error { seen[b]++; return nil }))
	}
	require.Equal(t, map[string]int{dead: 2, live: 2}, seen)
}

func TestFailoverAllDeadBacksOffPerPolicy(t *testing.T) {
	m, clk := newFakeFailover(t, []string{"10.0.0.1:9092", "10.0.0.2:9092"}, 3)
	calls := 0
	err := m.Execute(context.Background(), func(ctx context.Context, b string) error {
		calls++
		return &wire.Error{Code: wire.ErrConnectionFailed, Detail: "refused", Broker: b}
	})
	require.ErrorIs(t, err, wire.ErrNoBrokersAvailable)
	require.Contains(t, err.Error(), "10.0.0.1:9092")
	require.Contains(t, err.Error(), "10.0.0.2:9092")
	require.Equal(t, 8, calls, "4 rounds over 2 brokers")
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}, clk.waits)
}

func TestFailoverReturnsNonConnectionErrors(t *testing.T) {
	m, clk := newFakeFailover(t, []string{"a:1", "b:1"}, 3)
	calls := 0
	err := m.Execute(context.Background(), func(ctx context.Context, b string) error {
		calls++
		return &wire.Error{Code: wire.ErrTopicAuthorizationFailed}
	})
	require.ErrorIs(t, err, wire.ErrTopicAuthorizationFailed)
	require.Equal(t, 1, calls)
	require.Empty(t, clk.waits)
	require.Len(t, m.Healthy(), 2)

	_, err = NewFailoverManager(nil, DefaultRetryPolicy())
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	_, err = NewFailoverManager([]string{"nohostport"}, DefaultRetryPolicy())
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	require.True(t, IsConnectionError(wire.ErrTimedOut))
	require.False(t, IsConnectionError(wire.ErrUnknownTopicOrPartition))
}
