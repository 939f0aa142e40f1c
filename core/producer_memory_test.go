package core

import (
	"context"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gofka/gofka/wire"
)

// buffer.memory bounds the memory the buffered records hold, the engine's
// per-record structures included (recordMem), not only their payload: with
// small records those structures are most of it (100-byte values held
// ~2.7x what they counted for, so a full default buffer of 32 MiB was
// ~90 MiB of live heap). The records are built as the C ABI builds a
// batch (one value blob, one Record array per call) and buffered until
// QUEUE_FULL against a broker that never answers; the live heap they add
// (16 MiB of budget: the rest of the process's heap moves by a few MiB)
// must stay within buffer.memory (with slack for the batches' slices,
// which grow by doubling, and the encoded requests in flight). Before
// recordMem, 100-byte values held 3.7x buffer.memory, empty ones 8x. Large
// values are not the point (their structures are a small part) and their
// encoded requests in flight, a second copy of up to
// max.in.flight.requests.per.connection requests, would be most of it.
func TestBufferMemoryBoundsHeap(t *testing.T) {
	for _, size := range []int{0, 100} {
		c := fakeCluster(t, 1)
		c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			return nil, nil, true // never answered: the buffer fills up
		})
		const budget = 16 << 20
		p := newTestProducer(t, c.ListenAddrs(), WithBufferMemory(budget), WithRequestTimeout(30*time.Second))
		topic := uniqueTopic(t)
		require.NoError(t, p.ProduceBatch(context.Background(), []*Record{{Topic: topic, Partition: 0, ManualPartition: true}}, nil))

		runtime.GC()
		runtime.GC() // the previous cases' garbage and finalizers
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		buffered := 0
		var keep [][]Record // the test's own references: what the C ABI's batches hold
		for {
			const n = 1024
			blob := make([]byte, n*size)
			store := make([]Record, n)
			recs := make([]*Record, n)
			for i := range store {
				store[i] = Record{Topic: topic, Value: blob[i*size : (i+1)*size : (i+1)*size]}
				recs[i] = &store[i]
			}
			err := p.ProduceBatchNow(recs, nil)
			if err != nil {
				require.ErrorIs(t, err, wire.ErrQueueFull)
				break
			}
			keep = append(keep, store)
			buffered += n
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("value %d bytes: %d records buffered, %d bytes of heap for buffer.memory %d", size, buffered, held, budget)
		require.Positive(t, buffered)
		require.LessOrEqual(t, held, int64(budget)*3/2, "value %d bytes: the buffered records' heap", size)
		runtime.KeepAlive(keep)
		cctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		p.Close(cctx)
		cancel()
	}
}

// A record within max.request.size whose recordMem is larger than the
// whole buffer.memory could never be buffered: it fails at once with
// MESSAGE_TOO_LARGE_LOCAL naming buffer.memory, rather than waiting for
// room that never comes (QUEUE_FULL at the end of the call's bound).
func TestRecordLargerThanBufferMemory(t *testing.T) {
	c := fakeCluster(t, 1)
	p := newTestProducer(t, c.ListenAddrs(), WithBufferMemory(1024), WithRequestTimeout(30*time.Second))
	topic := uniqueTopic(t)
	rec := func() *Record { return &Record{Topic: topic, Value: make([]byte, 900)} } // 936 + 256 > 1024
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := p.TryProduce(ctx, rec(), nil)
	require.ErrorIs(t, err, wire.ErrMessageTooLargeLocal)
	require.ErrorContains(t, err, "buffer.memory")
	err = p.ProduceBatch(ctx, []*Record{rec()}, nil)
	require.ErrorIs(t, err, wire.ErrMessageTooLargeLocal)
	require.ErrorContains(t, err, "record 0 takes")
	require.Less(t, time.Since(start), 30*time.Second, "refused at once, not after waiting for room")
	// A smaller record fits and is delivered.
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: topic, Value: make([]byte, 500)}))
}

// A batch holds its records by their promise entry only (16 bytes each:
// the Record and the promise function) and encodes from the Records
// themselves: appending a record copies nothing of it. Batches used to
// keep a wire.Record per record as well (88 bytes more, and a copy per
// produce), which buffer.memory had to count. Measured on one partition's
// queue, without a broker or sender, so that only the batches' own heap
// is in the difference; the Records and their values are the caller's
// and allocated before.
func TestBatchHoldsNoRecordCopy(t *testing.T) {
	p := &Producer{cfg: defaultConfig()}
	pb := &partBuf{p: p}
	const n = 200_000 // 27 MiB of Records: the margin below is ~3 MB of heap
	value := make([]byte, 100)
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Topic: "t", Value: value, Timestamp: time.UnixMilli(int64(i))}
	}
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	now := time.Now()
	for i := range recs {
		require.True(t, pb.appendRec(&recs[i], nil, recordSize(&recs[i]), now, false, nil))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perRecord := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d batches, %d bytes of heap per buffered record", len(pb.batches), perRecord)
	require.Greater(t, len(pb.batches), 1, "the records fill several batches")
	// A promise entry, in a slice at most half empty.
	require.LessOrEqual(t, perRecord, int64(2*unsafe.Sizeof(promised{})))

	// And the batches encode from the Records as they are now.
	for _, b := range pb.batches {
		data, err := wire.AppendRecordBatchFrom(nil, &wire.RecordBatch{}, batchRecords(b.proms), wire.CompressionNone, wire.CompressionLevelDefault)
		require.NoError(t, err)
		got, err := wire.DecodeRecordBatches(data, nil)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Len(t, got[0].Records, len(b.proms))
		for i, r := range got[0].Records {
			require.Equal(t, b.proms[i].r.Timestamp.UnixMilli(), r.Timestamp)
			require.Equal(t, value, r.Value)
			require.Nil(t, r.Key)
		}
	}
	runtime.KeepAlive(recs)
}
