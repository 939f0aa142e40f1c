package core

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

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
