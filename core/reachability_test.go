package core

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/devcluster"
	"github.com/gofka/gofka/wire"
)

// deadAddrs returns n loopback addresses that refuse connections (port 1
// on 127.0.x.y).
func deadAddrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.%d.%d:1", i/250, i%250+1)
	}
	return out
}

// A producer that never reached any broker fails its records with
// ALL_BROKERS_DOWN, saying nothing was written (issue 19 item 11: it said
// TIMED_OUT "(the records may still be written)").
func TestProducerAllBrokersDown(t *testing.T) {
	for name, brokers := range map[string][]string{
		"1000 dead addresses": deadAddrs(1000),
		"unresolvable host":   {"gofka-no-such-host.invalid:9092"},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := NewProducer(WithBrokers(brokers...), WithDialTimeout(2*time.Second))
			require.NoError(t, err)
			defer p.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			err = p.ProduceSync(ctx, &Record{Topic: "t", Value: []byte("v")})
			require.Equal(t, wire.ErrAllBrokersDown, wire.CodeOf(err), "%v", err)
			require.Contains(t, err.Error(), "nothing was written")
			require.Less(t, len(err.Error()), 2000, "a summary, not every dial error")
			require.True(t, wire.CodeOf(err).Retriable())
			require.Less(t, time.Since(start), 30*time.Second)
		})
	}
}

// A consumer whose cluster goes away reports ALL_BROKERS_DOWN from Poll
// once no broker has been reachable for connect.timeout.ms (it used to
// return no records forever), once per outage.
func TestConsumerReportsAllBrokersDown(t *testing.T) {
	d, err := devcluster.Start(devcluster.Options{})
	require.NoError(t, err)
	defer d.Close()
	topic := uniqueTopic(t)
	p := newTestProducer(t, d.Addrs())
	ctx := testCtx(t, 60*time.Second)
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: topic, Value: []byte("v")}))
	const dial = time.Second
	c, err := NewConsumer(WithBrokers(d.Addrs()...), WithAutoOffsetReset(OffsetResetEarliest), WithDialTimeout(dial))
	require.NoError(t, err)
	defer c.Close(context.Background())
	require.NoError(t, c.Assign([]TopicPartition{{Topic: topic, Partition: 0}}))
	recs, err := c.Poll(ctx, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)

	d.Close()
	start := time.Now()
	var got error
	for got == nil && time.Since(start) < 30*time.Second {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, got = c.Poll(pctx, 10)
		cancel()
	}
	require.Equal(t, wire.ErrAllBrokersDown, wire.CodeOf(got), "%v", got)
	require.GreaterOrEqual(t, time.Since(start), dial)
	// Once per outage: the next polls are empty, not errors.
	pctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	recs, err = c.Poll(pctx, 10)
	require.NoError(t, err)
	require.Empty(t, recs)
}
