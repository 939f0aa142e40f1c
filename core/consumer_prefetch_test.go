package core

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// requireScratchClear fails when a batch of the decode scratch, anywhere
// in its capacity, still refers to data (a frame or decompressed buffer).
func requireScratchClear(t *testing.T, s *source) {
	t.Helper()
	all := s.batches[:cap(s.batches)]
	for i := range all {
		require.Zero(t, all[i], "scratch batch %d still refers to fetched data", i)
	}
}

// chunkRecords takes every record of ch, and the error that stopped it.
func chunkRecords(ch *chunk) ([]wire.Record, error) {
	var out []wire.Record
	for {
		var r wire.Record
		ok, err := ch.take(&r)
		if !ok {
			return out, err
		}
		out = append(out, r)
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
	requireScratchClear(t, s)
	require.Equal(t, 100, ch.left)
	recs, err := chunkRecords(ch)
	require.NoError(t, err)
	require.Len(t, recs, 100)
	require.Equal(t, "value", string(recs[99].Value), "the chunk keeps its own batches")

	// Fewer, smaller batches: the slots and records they do not reach
	// were cleared by the decode that filled them.
	ch, err = decode(batch(0, 5, wire.CompressionZstd))
	require.NoError(t, err)
	requireScratchClear(t, s)
	recs, err = chunkRecords(ch)
	require.NoError(t, err)
	require.Len(t, recs, 5)

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
	require.NoError(t, err, "the batch header and CRC are sound: the record fails when taken")
	requireScratchClear(t, s)
	recs, err = chunkRecords(ch)
	require.ErrorIs(t, err, wire.ErrCorruptMessage)
	require.Len(t, recs, 25, "the records before the bad one are returned")

	// A batch whose CRC does not match fails the decode when it is the
	// first; after sound batches it ends the chunk before it.
	bad := batch(10, 15, wire.CompressionNone)
	bad[len(bad)-1] ^= 0xff
	ch, err = decode(append(batch(0, 10, wire.CompressionNone), bad...))
	require.NoError(t, err)
	requireScratchClear(t, s)
	require.Equal(t, int64(10), ch.next)
	recs, err = chunkRecords(ch)
	require.NoError(t, err)
	require.Len(t, recs, 10)
	_, err = decode(bad)
	require.Equal(t, wire.ErrCorruptMessage, wire.CodeOf(err))
	requireScratchClear(t, s)
}

// TestPrefetchBound: a consumer that does not poll stops fetching at its
// prefetch window, a quarter of queued.max.messages.kbytes at the start;
// the records fetched ahead (buffered, plus what the fetches in flight may
// bring) stay within it, over it by at most one record batch per broker
// (KIP-74: a batch larger than the room asked for still comes whole),
// although the topic holds many times the bound and fetch.max.bytes alone
// would allow far more. Then a poll loop that keeps up (it empties the
// buffer before the next fetch is in) grows the window to the whole bound,
// every record arrives, in order, and the bound holds at each poll.
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
	over := len(brokers) * 2 * batchSize
	window := func() int { return int(c.Stats().BufferWindow) }
	require.Equal(t, limit/4, window(), "a consumer starts with a quarter of the bound")

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
		"the fetchers never paused at the window")
	_, buffered := stopped()
	require.LessOrEqual(t, buffered, limit/4+over, "buffered bytes over the prefetch window")
	require.GreaterOrEqual(t, buffered, limit/8, "the consumer prefetched up to its window")
	require.Equal(t, limit/4, window(), "the window grew while nothing was polled")

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
		require.LessOrEqual(t, inFlight, limit+over, "buffered and reserved bytes over the prefetch bound")
	}
	require.Equal(t, want, got)
	require.Equal(t, limit, window(), "a poll loop that keeps up grows the window to the bound")
}

// TestDecodeHoldsNoRecords: a fetched partition is buffered as its record
// batches, its records decoded only when polled, so what the prefetch
// holds is the bytes fetched, whatever the record count. Decoded up front,
// 10,000 records of 10 bytes held ~1.4 MB of Record structs for ~200 KB
// of batches (the Go heap of a consumer of small records at twice its
// prefetch bound, and its garbage then twice that again).
func TestDecodeHoldsNoRecords(t *testing.T) {
	const n = 10000
	var data []byte
	for base := 0; base < n; base += 1000 {
		b := wire.RecordBatch{BaseOffset: int64(base), ProducerID: -1, BaseSequence: -1}
		for i := 0; i < 1000; i++ {
			b.Records = append(b.Records, wire.Record{Timestamp: 1, Value: []byte("0123456789")})
		}
		var err error
		data, err = wire.AppendRecordBatch(data, &b, wire.CompressionNone)
		require.NoError(t, err)
	}
	p := &partState{tp: TopicPartition{"t", 0}}
	s := &source{}
	rp := &wire.FetchResponsePartition{Records: data}
	decode := func() *chunk {
		ch, err := s.decode(fetchPart{p: p, offset: 0}, "t", rp, false)
		require.NoError(t, err)
		return ch
	}
	decode() // the scratch's first growth
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var chunks [runs]*chunk
	for i := range chunks {
		chunks[i] = decode()
	}
	runtime.ReadMemStats(&after)
	perChunk := (after.TotalAlloc - before.TotalAlloc) / runs
	require.Less(t, perChunk, uint64(len(data)/16),
		"a chunk of %d records of %d bytes in all allocated %d bytes", n, len(data), perChunk)

	recs, err := chunkRecords(chunks[0])
	require.NoError(t, err)
	require.Len(t, recs, n)
	require.Equal(t, int64(n-1), recs[n-1].Offset)
}

// smallRecordBatches is n records of 10 bytes (values "v<offset>" padded)
// in uncompressed batches of 1000, offsets from 0.
func smallRecordBatches(t *testing.T, n int) []byte {
	t.Helper()
	var data []byte
	for base := 0; base < n; base += 1000 {
		b := wire.RecordBatch{BaseOffset: int64(base), ProducerID: -1, BaseSequence: -1}
		for i := base; i < min(base+1000, n); i++ {
			b.Records = append(b.Records, wire.Record{Timestamp: 1, Value: []byte(fmt.Sprintf("v%09d", i))})
		}
		var err error
		data, err = wire.AppendRecordBatch(data, &b, wire.CompressionNone)
		require.NoError(t, err)
	}
	return data
}

// TestLentPollReusesRecords: a poll whose records are only lent
// (PollWaitFunc, PollEventsFunc: the C ABI's polls, which copy them out)
// decodes them into the loan's slabs, reused from poll to poll, and
// returns them whole and in order every time; a poll that gives its
// records away allocates them afresh (~150 bytes each), which was half of
// a C ABI consumer's garbage.
func TestLentPollReusesRecords(t *testing.T) {
	const n, max = 10000, 500
	data := smallRecordBatches(t, n)
	p := &partState{tp: TopicPartition{"t", 0}}
	c := &Consumer{parts: map[TopicPartition]*partState{p.tp: p}}
	ch, err := (&source{}).decode(fetchPart{p: p, offset: 0}, "t", &wire.FetchResponsePartition{Records: data}, false)
	require.NoError(t, err)
	ch.p, ch.seq = p, p.seq
	c.buf = []*chunk{ch}
	c.bufBytes = ch.bytes

	want := make([]string, n) // made up front: checking allocates nothing
	for i := range want {
		want[i] = fmt.Sprintf("v%09d", i)
	}
	next := int64(0)
	loan := &pollLoan{}
	poll := func(loan *pollLoan) {
		c.mu.Lock()
		recs := c.drainLocked(max, loan)
		c.mu.Unlock()
		require.Len(t, recs, max)
		for _, r := range recs {
			if r.Offset != next || string(r.Value) != want[next] || r.Topic != "t" {
				require.Failf(t, "wrong record", "offset %d value %q, want %d", r.Offset, r.Value, next)
			}
			next++
		}
		if loan != nil {
			loan.reset()
		}
	}
	poll(loan) // the loan's slabs are made
	poll(nil)  // records given away
	allocs := func(loan *pollLoan) uint64 {
		const runs = 8
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			poll(loan)
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	given, lent := allocs(nil), allocs(loan)
	require.Greater(t, given, uint64(max*100), "records given away are the caller's")
	require.Less(t, lent, uint64(max*8), "a lent poll allocated %d bytes for %d records", lent, max)
	require.Zero(t, loan.slab[:cap(loan.slab)][0], "a returned loan keeps no fetched bytes alive")
	require.Equal(t, 18*int64(max), next)
	require.Equal(t, next, p.consumed)
}

// TestDrainStopsAtBadRecord: records are decoded when polled, so a record
// that does not decode in a batch whose CRC matched (a faulty producer) is
// met by the poll: the records before it are returned, the partition
// stops before it (fetch position -1 until a seek, its later buffered
// records dropped) and the next poll reports CORRUPT_MESSAGE, as the Java
// client does.
func TestDrainStopsAtBadRecord(t *testing.T) {
	batch := func(base int64, n int) []byte {
		b := wire.RecordBatch{BaseOffset: base, ProducerID: -1, BaseSequence: -1}
		for i := 0; i < n; i++ {
			b.Records = append(b.Records, wire.Record{Timestamp: 1, Value: []byte("value")})
		}
		out, err := wire.AppendRecordBatch(nil, &b, wire.CompressionNone)
		require.NoError(t, err)
		return out
	}
	// The last record of the second batch (offset 24) claims a header it
	// does not hold: its last byte, the header count, becomes 1 (zigzag
	// 2). The CRC-32C of the bytes from 21 on, stored at 17, is fixed.
	second := batch(10, 15)
	second[len(second)-1] = 2
	binary.BigEndian.PutUint32(second[17:], crc32.Checksum(second[21:], crc32.MakeTable(crc32.Castagnoli)))
	p := &partState{tp: TopicPartition{"t", 0}, fetchOffset: 100}
	c := &Consumer{parts: map[TopicPartition]*partState{p.tp: p}, dataCh: make(chan struct{})}
	s := &source{}
	for _, data := range [][]byte{append(batch(0, 10), second...), batch(26, 5)} {
		ch, err := s.decode(fetchPart{p: p, offset: int64(binary.BigEndian.Uint64(data))}, "t", &wire.FetchResponsePartition{Records: data}, false)
		require.NoError(t, err)
		ch.p, ch.seq = p, p.seq
		c.buf = append(c.buf, ch)
		c.bufBytes += ch.bytes
	}

	c.mu.Lock()
	recs := c.drainLocked(100, nil)
	c.mu.Unlock()
	require.Len(t, recs, 24, "the records before the bad one")
	require.Equal(t, int64(23), recs[23].Offset)
	require.Equal(t, int64(24), p.consumed, "the position is the bad record")
	require.Equal(t, int64(-1), p.fetchOffset, "stopped until a seek")
	require.Len(t, c.errs, 1)
	require.Equal(t, wire.ErrCorruptMessage, wire.CodeOf(c.errs[0]))

	c.mu.Lock()
	recs = c.drainLocked(100, nil)
	c.mu.Unlock()
	require.Empty(t, recs, "the partition's later records are dropped")
	require.Empty(t, c.buf)
	require.Zero(t, c.bufBytes)
}
