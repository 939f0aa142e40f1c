package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// How a producer starts: what its first records wait for (producer id,
// metadata) and how they leave. Each of these cost a throughput run of
// 500,000 small records 10-45 ms before its first full batch left.

// countRequests counts the requests of key the fake cluster c receives for
// which match (nil: any) is true, leaving their handling to the cluster.
func countRequests(c *kfake.Cluster, key kmsg.Key, match func(kmsg.Request) bool) *atomic.Int64 {
	var n atomic.Int64
	c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if match == nil || match(req) {
			n.Add(1)
		}
		return nil, nil, false
	})
	return &n
}

// produceHas reports whether a Produce request carries records of topic.
func produceHas(topic string) func(kmsg.Request) bool {
	return func(r kmsg.Request) bool {
		for _, t := range r.(*kmsg.ProduceRequest).Topics {
			if t.Topic == topic {
				return true
			}
		}
		return false
	}
}

// Records that wait for their topic's metadata are routed into batches all
// together once it arrives, and only then is the sink kicked: a kick after
// the first one made the producer write it alone (an idempotent producer
// then sends nothing else to the partition until that one-record batch is
// acknowledged).
func TestPendingRecordsLeaveTogether(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "warm"))
	const topic = "late" // auto-created by the producer's metadata request
	release := make(chan struct{})
	c.ControlKey(int16(kmsg.Metadata), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, rt := range kr.(*kmsg.MetadataRequest).Topics {
			if rt.Topic != nil && *rt.Topic == topic {
				c.SleepControl(func() { <-release })
			}
		}
		return nil, nil, false
	})
	requests := countRequests(c, kmsg.Produce, produceHas(topic))
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs())
	// The broker's connection is up: a kick may write on the caller's
	// goroutine at once.
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "warm", Value: []byte("w")}))

	const n = 100
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		p.Produce(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprint(i))}, func(_ *Record, err error) {
			assert.NoError(t, err)
			wg.Done()
		})
	}
	close(release)
	require.NoError(t, p.Flush(ctx))
	wg.Wait()
	require.Equal(t, int64(1), requests.Load(), "the records that waited for metadata leave in one request")
	checkSequence(t, fetchAll(t, ctx, p.Client(), topic, 0, n), n, "")
}

// A topic whose metadata the client already holds (Connect loads every
// topic's) is routed from that cache: its first record asks the broker for
// no metadata.
func TestProducerRoutesFromCachedMetadata(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(2, "cached"))
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs())
	require.NoError(t, p.Connect(ctx))
	metadata := countRequests(c, kmsg.Metadata, nil)
	recs := []*Record{
		{Topic: "cached", Value: []byte("a")}, // the sticky partitioner's choice
		{Topic: "cached", Value: []byte("b"), Partition: 1, ManualPartition: true},
	}
	require.NoError(t, p.ProduceSync(ctx, recs...))
	require.Equal(t, int64(0), metadata.Load(), "no metadata request for a topic the client has")
	require.Equal(t, int32(1), recs[1].Partition)
	require.GreaterOrEqual(t, recs[1].Offset, int64(0))

	// A topic the cache lacks still goes through the metadata goroutine.
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "fresh", Value: []byte("c")}))
	require.Greater(t, metadata.Load(), int64(0))
}

// Connect obtains an idempotent producer's id, so that its first batch
// does not wait for InitProducerId; a transactional producer leaves that
// to InitTransactions, and a producer without idempotence never asks.
func TestConnectObtainsProducerID(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "pid"))
	inits := countRequests(c, kmsg.InitProducerID, nil)
	ctx := testCtx(t, 30*time.Second)

	p := newTestProducer(t, c.ListenAddrs())
	require.NoError(t, p.Connect(ctx))
	require.Equal(t, int64(1), inits.Load(), "Connect obtained the producer id")
	require.True(t, p.idem.canSend())
	require.NoError(t, p.Connect(ctx))
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "pid", Value: []byte("x")}))
	require.Equal(t, int64(1), inits.Load(), "one id for both Connects and the records")

	plain := newTestProducer(t, c.ListenAddrs(), WithAcks(AcksLeader))
	require.NoError(t, plain.Connect(ctx))
	require.NoError(t, plain.ProduceSync(ctx, &Record{Topic: "pid", Value: []byte("y")}))

	txp := newTestProducer(t, c.ListenAddrs(), WithTransactionalID("start-txn"))
	require.NoError(t, txp.Connect(ctx))
	require.Equal(t, int64(1), inits.Load(), "neither a plain nor a transactional producer asks at Connect")
}

// wallNow is the wall clock (what a record's timestamp records).
func TestWallNow(t *testing.T) {
	before := time.Now().UnixMicro()
	got := wallNow()
	after := time.Now().UnixMicro()
	require.GreaterOrEqual(t, got.UnixMicro(), before)
	require.LessOrEqual(t, got.UnixMicro(), after)
	require.Equal(t, got, got.Round(0), "no monotonic reading")
}

// A record produced without a timestamp is stamped with the wall clock
// when produced, and records alternating between topics each reach their
// own (Producer.topic remembers the last topic).
func TestProduceStampsAndAlternatesTopics(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "alt-a", "alt-b"))
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs())
	before := time.Now().UnixMilli()
	var recs []*Record
	for i := 0; i < 6; i++ {
		topic := "alt-a"
		if i%2 == 1 {
			topic = "alt-b"
		}
		recs = append(recs, &Record{Topic: topic, Value: []byte(fmt.Sprint(i / 2))})
	}
	for _, r := range recs {
		require.NoError(t, p.ProduceSync(ctx, r))
	}
	after := time.Now().UnixMilli()
	for _, topic := range []string{"alt-a", "alt-b"} {
		got := fetchAll(t, ctx, p.Client(), topic, 0, 3)
		checkSequence(t, got, 3, "")
		for _, r := range got {
			require.GreaterOrEqual(t, r.Timestamp.UnixMilli(), before)
			require.LessOrEqual(t, r.Timestamp.UnixMilli(), after)
		}
	}
	for _, r := range recs {
		require.GreaterOrEqual(t, r.Timestamp.UnixMilli(), before)
		require.LessOrEqual(t, r.Timestamp.UnixMilli(), after)
	}
}

// Records buffered while Connect waits for the producer id do not fail
// when Connect's ctx ends: only the broker's refusal fails them.
func TestConnectCanceledDuringProducerID(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "pidwait"))
	asked := make(chan struct{}, 1)
	release := make(chan struct{})
	c.ControlKey(int16(kmsg.InitProducerID), func(kmsg.Request) (kmsg.Response, error, bool) {
		select {
		case asked <- struct{}{}:
		default:
		}
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs())
	cctx, cancel := context.WithCancel(ctx)
	connected := make(chan error, 1)
	go func() { connected <- p.Connect(cctx) }()
	select {
	case <-asked:
	case <-ctx.Done():
		t.Fatal("Connect did not ask for a producer id")
	}
	var got error
	done := make(chan struct{})
	p.Produce(ctx, &Record{Topic: "pidwait", Value: []byte("v")}, func(_ *Record, err error) {
		got = err
		close(done)
	})
	cancel()
	require.NoError(t, <-connected, "the cluster was reached")
	close(release)
	require.NoError(t, p.Flush(ctx))
	<-done
	require.NoError(t, got)
}
