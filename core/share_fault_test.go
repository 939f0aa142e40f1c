package core

// Share consumers under injected faults (own kfake cluster).

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestShareFetchBacksOffFromUnreachableBroker: a broker that drops every
// share fetch (as a dead one refuses every connection, until the cluster
// names a new leader) is retried with a growing backoff, as the classic
// consumer retries a fetch, not in a busy loop (found by the fault suite:
// 21,500 abandoned sessions in the 10 s before a killed leader was
// replaced); consumption resumes once it answers again.
func TestShareFetchBacksOffFromUnreachableBroker(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "share-backoff"))
	ctx := testCtx(t, 60*time.Second)
	admin := newTestAdmin(t, c.ListenAddrs())
	require.NoError(t, admin.AlterConfigs(ctx, ResourceGroup, "share-backoff-g",
		[]ConfigOp{{Name: "share.auto.offset.reset", Value: "earliest"}}, false))
	p := newTestProducer(t, c.ListenAddrs())
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "share-backoff", Value: []byte("v0")}))

	var failing atomic.Bool
	var fetches atomic.Int64
	failing.Store(true)
	c.ControlKey(int16(kmsg.ShareFetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !failing.Load() {
			return nil, nil, false
		}
		fetches.Add(1)
		return nil, errors.New("injected: the broker is gone"), true // closes the connection
	})

	cons, err := NewShareConsumer(WithBrokers(c.ListenAddrs()...), WithGroupID("share-backoff-g"),
		WithRetry(RetryPolicy{MaxRetries: 3, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, BackoffMultiplier: 2}))
	require.NoError(t, err)
	t.Cleanup(func() { cons.Close(context.Background()) })
	require.NoError(t, cons.Subscribe("share-backoff"))
	waitAssigned(t, cons)

	// 2 s of polling against the failing broker: with a 100 ms backoff
	// doubling up to 1 s that is about 5 attempts; a busy loop makes
	// hundreds (a bound on the count, not on time: it holds however slow
	// the machine).
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	recs, err := cons.Poll(pctx, 10)
	cancel()
	require.NoError(t, err)
	require.Empty(t, recs)
	require.Positive(t, fetches.Load(), "the consumer tried the broker")
	require.LessOrEqual(t, fetches.Load(), int64(20), "share fetches to a broker that drops them, in 2 s")

	failing.Store(false)
	var got []*ShareRecord
	pollUntil(t, ctx, cons, func(r []*ShareRecord) { got = append(got, r...) }, func() bool { return len(got) > 0 })
	require.Equal(t, "v0", string(got[0].Value))
}
