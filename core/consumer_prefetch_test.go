package core

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// requireScratchClear fails when a record of the decode scratch, anywhere
// in its capacity, still refers to data (a frame or decompressed buffer).
func requireScratchClear(t *testing.T, s *source) {
	t.Helper()
	all := s.batches[:cap(s.batches)]
	for i := range all {
		recs := all[i].Records[:cap(all[i].Records)]
		for j := range recs {
			r := &recs[j]
			require.True(t, r.Key == nil && r.Value == nil && r.Headers == nil,
				"scratch batch %d record %d still refers to fetched data", i, j)
		}
	}
}

// TestDecodeScratchKeepsNoFrame: the fetcher's decode scratch is reused
// from fetch to fetch, but its records must not keep the response frames
// (or decompressed buffers) alive once the chunk has its own records: they
// are outside the prefetch accounting, and pinned several times the
// prefetch bound. The class: plain and compressed batches, fewer batches
// than an earlier decode, and a decode that fails half-way.
func TestDecodeScratchKeepsNoFrame(t *testing.T) {
	batch := func(base int64, n int, c wire.Compression) []byte {
		b := wire.RecordBatch{BaseOffset: base, ProducerID: -1, BaseSequence: -1}
		for i := 0; i < n; i++ {
			b.Records = append(b.Records, wire.Record{Timestamp: 1, Key: []byte("k"), Value: []byte("value"),
				Headers: []wire.Header{{Key: "h", Value: []byte("v")}}})
		}
		out, err := wire.AppendRecordBatch(nil, &b, c)
		require.NoError(t, err)
		return out
	}
	p := &partState{tp: TopicPartition{"t", 0}}
	s := &source{}
	decode := func(data []byte) (*chunk, error) {
		return s.decode(fetchPart{p: p, offset: 0}, "t", &wire.FetchResponsePartition{Records: data}, false)
	}

	var three []byte
	three = append(three, batch(0, 50, wire.CompressionNone)...)
	three = append(three, batch(50, 20, wire.CompressionLZ4)...)
	three = append(three, batch(70, 30, wire.CompressionNone)...)
	ch, err := decode(three)
	require.NoError(t, err)
	require.Len(t, ch.recs, 100)
	require.Equal(t, "value", string(ch.recs[99].Value), "the chunk keeps its own records")
	requireScratchClear(t, s)

	// Fewer, smaller batches: the slots and records they do not reach
	// were cleared by the decode that filled them.
	ch, err = decode(batch(0, 5, wire.CompressionZstd))
	require.NoError(t, err)
	require.Len(t, ch.recs, 5)
	requireScratchClear(t, s)

	// A decode failing in its second batch after decoding some of its
	// records into a reused slot past the batches returned: the batch
	// claims 16 records and holds 15 (count field at byte 57 of the v2
	// header, CRC-32C of the bytes from the attributes at 21 stored at 17).
	second := batch(10, 15, wire.CompressionNone)
	binary.BigEndian.PutUint32(second[57:], 16)
	binary.BigEndian.PutUint32(second[17:], crc32.Checksum(second[21:], crc32.MakeTable(crc32.Castagnoli)))
	data := append(batch(0, 10, wire.CompressionNone), second...)
	_, derr := wire.DecodeRecordBatches(data, nil)
	require.Error(t, derr, "the second batch does not decode")
	ch, err = decode(data)
	require.NoError(t, err, "the records before the bad batch are returned")
	require.Len(t, ch.recs, 10)
	requireScratchClear(t, s)
}

// TestPrefetchBound: a consumer that does not poll stops fetching at
// queued.max.messages.kbytes; the records fetched ahead (buffered, plus
// what the fetches in flight may bring) stay within the bound, over it by
// at most one record batch per broker (KIP-74: a batch larger than the
// room asked for still comes whole), although the topic holds several
// times the bound and fetch.max.bytes alone would allow far more. Then
// every record still arrives, in order, the bound holding at each poll.
func TestPrefetchBound(t *testing.T) {
	t.Parallel()
	brokers := testBrokers(t)
	const parts, perPart, limitKiB, batchSize = 6, 3000, 64, 1024
	topic := consumerTestTopic(t, brokers, parts)
	want := produceTo(t, brokers, topic, parts, perPart, "bound", WithBatchSize(batchSize), WithLinger(time.Millisecond))

	c := newTestConsumer(t, brokers, WithQueuedMaxMessagesKbytes(limitKiB))
	var tps []TopicPartition
	for p := int32(0); p < parts; p++ {
		tps = append(tps, TopicPartition{topic, p})
	}
	require.NoError(t, c.Assign(tps))
	limit := limitKiB * 1024
	require.Equal(t, int64(limit), c.Stats().BufferLimit)
	// A produced batch holds at most batch.size bytes of records plus its
	// header (61 bytes): 2 KiB is a safe upper bound of one batch.
	bound := limit + len(brokers)*2*batchSize

	// Every fetcher paused for room, none in flight: fetching has stopped.
	stopped := func() (bool, int) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.sources) == 0 || c.reserved != 0 {
			return false, c.bufBytes
		}
		for _, s := range c.sources {
			if !s.full {
				return false, c.bufBytes
			}
		}
		return true, c.bufBytes
	}
	require.True(t, assertEventually(30*time.Second, func() bool { ok, _ := stopped(); return ok }),
		"the fetchers never paused at the bound")
	_, buffered := stopped()
	require.LessOrEqual(t, buffered, bound, "buffered bytes over the prefetch bound")
	require.GreaterOrEqual(t, buffered, limit/2, "the consumer prefetched up to its bound")

	got := map[int32][]string{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for n := 0; n < parts*perPart; {
		recs, err := c.Poll(ctx, 500)
		require.NoError(t, err)
		for _, r := range recs {
			got[r.Partition] = append(got[r.Partition], string(r.Value))
		}
		n += len(recs)
		c.mu.Lock()
		inFlight := c.bufBytes + c.reserved
		c.mu.Unlock()
		require.LessOrEqual(t, inFlight, bound, "buffered and reserved bytes over the prefetch bound")
	}
	require.Equal(t, want, got)
}
