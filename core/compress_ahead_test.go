package core

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fkerr "github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gofka/gofka/wire"
)

// sentBatch is one RecordBatch as a produce request carried it.
type sentBatch struct {
	partition int32
	seq       int32
	epoch     int16
	count     int
	raw       []byte
}

// recordProduced makes c copy every produce request's batches, in the
// order the broker received them, before answering as usual (faults
// included); the returned function lists them.
func recordProduced(t *testing.T, c *kfake.Cluster) func() []sentBatch {
	var mu sync.Mutex
	var got []sentBatch
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		mu.Lock()
		defer mu.Unlock()
		for _, tp := range req.Topics {
			for _, pp := range tp.Partitions {
				bs, err := wire.DecodeRecordBatches(pp.Records, nil)
				if !assert.NoError(t, err) || !assert.Len(t, bs, 1) {
					continue
				}
				got = append(got, sentBatch{partition: pp.Partition, seq: bs[0].BaseSequence, epoch: bs[0].ProducerEpoch,
					count: len(bs[0].Records), raw: bytes.Clone(pp.Records)})
			}
		}
		return nil, nil, false
	})
	return func() []sentBatch {
		mu.Lock()
		defer mu.Unlock()
		return append([]sentBatch(nil), got...)
	}
}

// With compression, batches that fill up are compressed by the workers
// ahead of the sender (compress_ahead.go). Whatever goroutine compressed
// them, each partition's batches reach the broker in order with
// contiguous sequence numbers, and its records in the order produced.
func TestCompressAheadKeepsOrderAndSequences(t *testing.T) {
	for _, codec := range []wire.Compression{wire.CompressionGzip, wire.CompressionSnappy, wire.CompressionLZ4, wire.CompressionZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			c := fakeCluster(t, 1, kfake.SeedTopics(3, "ahead"))
			sent := recordProduced(t, c)
			ctx := testCtx(t, 60*time.Second)
			p := newTestProducer(t, c.ListenAddrs(), WithCompression(codec), WithBatchSize(4<<10))
			const n = 3000
			produceNumbered(t, ctx, p, "ahead", []int32{0, 1, 2}, n, "a")
			require.Positive(t, p.comp.written.Load(), "no batch was compressed ahead")
			next := map[int32]int32{}
			batches := 0
			for _, b := range sent() {
				require.Equal(t, next[b.partition], b.seq, "partition %d: batch out of sequence", b.partition)
				next[b.partition] += int32(b.count)
				batches++
			}
			require.Greater(t, batches, 3*10)
			for part := int32(0); part < 3; part++ {
				require.Equal(t, int32(n), next[part])
				checkSequence(t, fetchAll(t, ctx, p.Client(), "ahead", part, n), n, "a")
			}
		})
	}
}

// A batch refused and resent goes out byte for byte as it went out the
// first time, whether its records were compressed ahead by a worker (the
// first send) or again by the sender (the retry).
func TestCompressAheadRetrySendsSameBytes(t *testing.T) {
	for _, codec := range []wire.Compression{wire.CompressionLZ4, wire.CompressionZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			c := fakeCluster(t, 1, kfake.SeedTopics(2, "again"))
			sent := recordProduced(t, c)
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "again", Err: fkerr.NotEnoughReplicas, Count: 6})
			defer h.Remove()
			ctx := testCtx(t, 60*time.Second)
			p := newTestProducer(t, c.ListenAddrs(), WithCompression(codec), WithBatchSize(4<<10),
				WithRetry(RetryPolicy{MaxRetries: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, BackoffMultiplier: 2}))
			const n = 2000
			produceNumbered(t, ctx, p, "again", []int32{0, 1}, n, "r")
			require.Equal(t, 6, h.Hits())
			require.Positive(t, p.comp.written.Load(), "no batch was compressed ahead")
			first := map[string][]byte{}
			resent := 0
			for _, b := range sent() {
				key := fmt.Sprintf("%d/%d/%d", b.partition, b.epoch, b.seq)
				if prev, ok := first[key]; ok {
					resent++
					require.Equal(t, prev, b.raw, "batch %s resent with other bytes", key)
					continue
				}
				first[key] = b.raw
			}
			require.Positive(t, resent, "no batch was resent")
			for part := int32(0); part < 2; part++ {
				checkSequence(t, fetchAll(t, ctx, p.Client(), "again", part, n), n, "r")
			}
		})
	}
}

// Batches compressed ahead that are never written (the broker does not
// answer; they expire) give back everything: every record gets its
// DELIVERY_TIMEOUT, buffer.memory is empty again, and the workers' tokens
// are all free, so later batches are compressed ahead again.
func TestCompressAheadExpiredBatchesReleaseEverything(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(2, "stuck"))
	var answer sync.Mutex // held: produce requests get no answer
	answer.Lock()
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if answer.TryLock() {
			answer.Unlock()
			return nil, nil, false
		}
		return nil, nil, true
	})
	ctx := testCtx(t, 60*time.Second)
	p := newTestProducer(t, c.ListenAddrs(), WithCompression(wire.CompressionZstd), WithBatchSize(2<<10),
		WithRequestTimeout(300*time.Millisecond), WithDeliveryTimeout(time.Second))
	var mu sync.Mutex
	errs := map[string]int{}
	promise := func(_ *Record, err error) {
		mu.Lock()
		errs[fmt.Sprint(wire.CodeOf(err))]++
		mu.Unlock()
	}
	const n = 400 // ~50 batches of 2 KiB per partition: far more than the tokens
	var recs []*Record
	for i := range n {
		recs = append(recs, &Record{Topic: "stuck", Partition: int32(i % 2), ManualPartition: true,
			Value: bytes.Repeat([]byte{byte('a' + i%16)}, 100)})
	}
	require.NoError(t, p.ProduceBatch(ctx, recs, promise))
	require.NoError(t, p.Flush(ctx))
	mu.Lock()
	require.Equal(t, map[string]int{fmt.Sprint(wire.ErrDeliveryTimeout): n}, errs)
	mu.Unlock()
	require.Zero(t, p.mem.used.Load(), "buffer.memory still in use")
	require.Eventually(t, func() bool { return len(p.comp.tokens) == 0 }, 5*time.Second, 5*time.Millisecond,
		"compress-ahead tokens not given back")

	// The broker answers again: everything goes through, partly compressed ahead.
	answer.Unlock()
	before := p.comp.written.Load()
	produceNumbered(t, ctx, p, "stuck", []int32{0, 1}, 2000, "s")
	require.Greater(t, p.comp.written.Load(), before)
}
