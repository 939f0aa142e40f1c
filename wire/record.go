package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/bits"
	"slices"
)

// RecordBatch v2 (magic 2) layout, all integers big-endian:
//
//	offset  size  field
//	     0     8  baseOffset
//	     8     4  batchLength (bytes after this field)
//	    12     4  partitionLeaderEpoch
//	    16     1  magic (2)
//	    17     4  crc: CRC-32C (Castagnoli) of bytes 21..end
//	    21     2  attributes
//	    23     4  lastOffsetDelta
//	    27     8  baseTimestamp
//	    35     8  maxTimestamp
//	    43     8  producerId
//	    51     2  producerEpoch
//	    53     4  baseSequence
//	    57     4  records count
//	    61        records, compressed as one stream when attributes say so
//
// Each record (Kafka's DefaultRecord) is: length varint (bytes after it),
// attributes int8 (unused, 0), timestampDelta varlong, offsetDelta varint,
// keyLength varint (-1 = null) + key, valueLength varint (-1 = null) +
// value, header count varint, then per header keyLength varint + key
// (never null), valueLength varint (-1 = null) + value. Varints are
// zig-zag encoded.

// RecordBatchMagic is the magic byte of RecordBatch v2, the only format this
// package encodes and decodes.
const RecordBatchMagic = 2

// RecordBatchOverhead is the size of a RecordBatch v2 header: everything
// before the first record. A batch's encoded (uncompressed) size is
// RecordBatchOverhead plus the size of its records, each at most
// EstimateRecordSize.
const RecordBatchOverhead = 61

// Attribute bits of a RecordBatch.
const (
	AttrCompressionMask int16 = 0x07 // Compression codec
	AttrLogAppendTime   int16 = 0x08 // timestamp type: 0 CreateTime, 1 LogAppendTime
	AttrTransactional   int16 = 0x10
	AttrControl         int16 = 0x20
	AttrDeleteHorizon   int16 = 0x40 // BaseTimestamp holds the delete horizon
)

const (
	batchLengthOffset = 8
	batchMagicOffset  = 16
	batchCRCOffset    = 17
	batchAttrOffset   = 21 // the CRC covers the batch from here
	batchLogOverhead  = 12 // baseOffset + batchLength
	// legacyMinRecordSize is the smallest valid batchLength in any format
	// (a v0 message: crc, magic, attributes, null key, null value).
	legacyMinRecordSize = 14
	// minRecordSize is the smallest encoded record: a 1-byte length then
	// attributes, timestamp delta, offset delta, null key, null value and
	// header count, one byte each.
	minRecordSize = 7
	// minHeaderSize is the smallest encoded header: empty key, null value.
	minHeaderSize = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// corruptBatchError is the type of ErrCorruptBatch. It unwraps to the Kafka
// code CORRUPT_MESSAGE, so CodeOf reports corrupt fetched data the way the
// broker reports corrupt produced data.
type corruptBatchError struct{}

func (corruptBatchError) Error() string { return "wire: corrupt record batch" }
func (corruptBatchError) Unwrap() error { return ErrCorruptMessage }

// ErrCorruptBatch is wrapped by every error DecodeRecordBatches returns for
// malformed input: CRC mismatch, impossible lengths or counts, bad varints,
// undecompressable payloads, unknown magic or codec. errors.Is(err,
// ErrCorruptMessage) also holds.
var ErrCorruptBatch error = corruptBatchError{}

// Header is a record header. A nil Value is a null value.
type Header struct {
	Key   string
	Value []byte
}

// Record is one record of a RecordBatch.
type Record struct {
	// Offset is absolute: set by the decoder to BaseOffset + offset delta,
	// ignored by the encoder (which numbers records 0..n-1 in the batch).
	Offset int64
	// Timestamp is in milliseconds since the epoch, absolute.
	Timestamp int64
	// Key is nil for a null key.
	Key []byte
	// Value is nil for a null value (a tombstone).
	Value   []byte
	Headers []Header
}

// RecordSource is the records of a batch as the encoder reads them, for
// a caller that keeps its records in structures of its own (a producer's
// buffered records) rather than copying each into a Record: Len records,
// Record(i) returning record i's timestamp (ms since the epoch, absolute),
// key, value and headers, meaning what Record's fields mean. Record must
// return the same values for the whole of one encoding: the encoder reads
// each record twice, to size it and to write it.
type RecordSource interface {
	Len() int
	Record(i int) (timestamp int64, key, value []byte, headers []Header)
}

// Records is a []Record as a RecordSource.
type Records []Record

// Len is the number of records.
func (rs Records) Len() int { return len(rs) }

// Record returns record i's fields.
func (rs Records) Record(i int) (timestamp int64, key, value []byte, headers []Header) {
	r := &rs[i]
	return r.Timestamp, r.Key, r.Value, r.Headers
}

// RecordBatch is a Kafka RecordBatch v2.
type RecordBatch struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	// Attributes: compression (bits 0-2), timestamp type (bit 3),
	// transactional (bit 4), control (bit 5), delete horizon (bit 6). See
	// the Attr constants.
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64 // -1 when not idempotent
	ProducerEpoch   int16
	BaseSequence    int32 // -1 when not idempotent
	Records         []Record
}

// Compression returns the codec in the attributes.
func (b *RecordBatch) Compression() Compression {
	return Compression(b.Attributes & AttrCompressionMask)
}

// IsTransactional reports whether the batch belongs to a transaction.
func (b *RecordBatch) IsTransactional() bool { return b.Attributes&AttrTransactional != 0 }

// IsControl reports whether the batch holds control records (transaction
// markers) rather than user data.
func (b *RecordBatch) IsControl() bool { return b.Attributes&AttrControl != 0 }

// IsLogAppendTime reports whether timestamps are broker append times (the
// topic uses message.timestamp.type=LogAppendTime).
func (b *RecordBatch) IsLogAppendTime() bool { return b.Attributes&AttrLogAppendTime != 0 }

// NextOffset is the offset following the batch's last offset: where a
// consumer resumes. It is correct even when compaction removed records.
func (b *RecordBatch) NextOffset() int64 { return b.BaseOffset + int64(b.LastOffsetDelta) + 1 }

// ---- sizes ----

func uvarintSize(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func varintSize(v int64) int { return uvarintSize(uint64(v<<1) ^ uint64(v>>63)) }

// nullableSize is the encoded size of a varint-length-prefixed nullable
// byte string.
func nullableSize(b []byte) int {
	if b == nil {
		return 1 // varint -1
	}
	return varintSize(int64(len(b))) + len(b)
}

func headersSize(hs []Header) int {
	n := varintSize(int64(len(hs)))
	for i := range hs {
		n += varintSize(int64(len(hs[i].Key))) + len(hs[i].Key) + nullableSize(hs[i].Value)
	}
	return n
}

// recordBodySize is the encoded size of a record after its length prefix.
func recordBodySize(key, value []byte, headers []Header, timestampDelta int64, offsetDelta int) int {
	return 1 + varintSize(timestampDelta) + varintSize(int64(offsetDelta)) +
		nullableSize(key) + nullableSize(value) + headersSize(headers)
}

// EstimateRecordSize returns an upper bound of the encoded size of r inside
// a RecordBatch, whatever its position and timestamp delta (both are counted
// at their maximum varint size), before compression. Add
// RecordBatchOverhead once per batch for batch_size accounting.
func EstimateRecordSize(r *Record) int {
	body := 1 + binary.MaxVarintLen64 + binary.MaxVarintLen32 +
		nullableSize(r.Key) + nullableSize(r.Value) + headersSize(r.Headers)
	return varintSize(int64(body)) + body
}

// ---- encoding ----

// AppendRecordBatch appends b encoded as a RecordBatch v2 compressed with c
// to dst and returns the extended slice.
//
// It derives the header from the records and writes the result back into b:
// LastOffsetDelta = len(Records)-1 (records are numbered 0..n-1; their
// Offset fields are ignored), BaseTimestamp = the first record's timestamp
// (unless AttrDeleteHorizon is set: then the caller's BaseTimestamp is kept
// and timestamps are encoded relative to it), MaxTimestamp = the largest
// record timestamp, and the compression bits of Attributes = c. With no
// records those fields are left as the caller set them. The other fields
// (BaseOffset, PartitionLeaderEpoch, producer id/epoch/sequence, the other
// attribute bits) are written as given.
//
// Uncompressed batches are encoded straight into dst; compressed ones go
// through a pooled scratch buffer. Nothing is allocated per record. On error
// dst is returned unchanged.
func AppendRecordBatch(dst []byte, b *RecordBatch, c Compression) ([]byte, error) {
	return AppendRecordBatchLevel(dst, b, c, CompressionLevelDefault)
}

// AppendRecordBatchLevel is AppendRecordBatch compressing at level
// (compression.level; see CompressionLevelDefault).
func AppendRecordBatchLevel(dst []byte, b *RecordBatch, c Compression, level int) ([]byte, error) {
	return appendRecordBatch(dst, b, Records(b.Records), c, level)
}

// AppendRecordBatchFrom is AppendRecordBatchLevel with the records read
// from src instead of b.Records (which is ignored): a producer encodes its
// buffered records in place rather than copying each into a Record first.
// The bytes are those AppendRecordBatchLevel writes for the same records.
func AppendRecordBatchFrom[S RecordSource](dst []byte, b *RecordBatch, src S, c Compression, level int) ([]byte, error) {
	return appendRecordBatch(dst, b, src, c, level)
}

func appendRecordBatch[S RecordSource](dst []byte, b *RecordBatch, src S, c Compression, level int) ([]byte, error) {
	if err := CheckCompressionLevel(c, level); err != nil {
		return dst, fmt.Errorf("wire: %w", err)
	}
	n := src.Len()
	if int64(n) > math.MaxInt32 {
		return dst, fmt.Errorf("wire: %d records do not fit in one batch", n)
	}
	attrs := b.Attributes&^AttrCompressionMask | int16(c)
	baseTs, maxTs, lastDelta := b.BaseTimestamp, b.MaxTimestamp, b.LastOffsetDelta
	if n > 0 && attrs&AttrDeleteHorizon == 0 {
		baseTs, _, _, _ = src.Record(0)
	}
	recordsLen, recMaxTs, err := recordsSectionLen(src, baseTs)
	if err != nil {
		return dst, err
	}
	if n > 0 {
		maxTs, lastDelta = recMaxTs, int32(n-1)
	}

	orig, start := dst, len(dst)
	w := Writer{B: slices.Grow(dst, RecordBatchOverhead)}
	appendBatchHeader(&w, b, attrs, lastDelta, baseTs, maxTs, int32(n))
	if w.B, err = appendRecordsSection(w.B, src, baseTs, recordsLen, c, level); err != nil {
		return orig, err
	}
	if err := sealBatch(w.B, start); err != nil {
		return orig, err
	}
	b.Attributes, b.BaseTimestamp, b.MaxTimestamp, b.LastOffsetDelta = attrs, baseTs, maxTs, lastDelta
	return w.B, nil
}

// appendBatchHeader writes the RecordBatch header (RecordBatchOverhead
// bytes) with the batch length and CRC left zero for sealBatch.
func appendBatchHeader(w *Writer, b *RecordBatch, attrs int16, lastDelta int32, baseTs, maxTs int64, n int32) {
	w.Int64(b.BaseOffset)
	w.Int32(0) // batchLength, patched by sealBatch
	w.Int32(b.PartitionLeaderEpoch)
	w.Int8(RecordBatchMagic)
	w.Uint32(0) // crc, patched by sealBatch
	w.Int16(attrs)
	w.Int32(lastDelta)
	w.Int64(baseTs)
	w.Int64(maxTs)
	w.Int64(b.ProducerID)
	w.Int16(b.ProducerEpoch)
	w.Int32(b.BaseSequence)
	w.Int32(n)
}

// sealBatch patches the length and CRC of the batch that starts at start
// and ends at the end of buf.
func sealBatch(buf []byte, start int) error {
	length := len(buf) - start - batchLogOverhead
	if length > math.MaxInt32 {
		return fmt.Errorf("wire: record batch of %d bytes is too large", length)
	}
	binary.BigEndian.PutUint32(buf[start+batchLengthOffset:], uint32(length))
	binary.BigEndian.PutUint32(buf[start+batchCRCOffset:], crc32.Checksum(buf[start+batchAttrOffset:], castagnoli))
	return nil
}

// PreparedRecords is the records section of a RecordBatch, encoded and
// compressed (PrepareRecords) apart from the batch header, which
// AppendPreparedBatch adds. A producer can prepare a batch's records on
// any goroutine as soon as they are final, and write the header, whose
// producer id, epoch and sequence are only known (and can change between
// sends), when it sends.
type PreparedRecords struct {
	Compression   Compression
	Count         int32 // records
	BaseTimestamp int64 // the first record's timestamp: the others are encoded relative to it
	MaxTimestamp  int64 // the largest record timestamp
	Data          []byte
}

// PrepareRecords encodes recs, which must not be empty, as a RecordBatch
// records section compressed with c, appended to dst: pr.Data is the
// extended dst (it may alias dst's array; it never aliases the records).
// Records are numbered 0..n-1 and their timestamps are relative to the
// first record's, as AppendRecordBatch writes them without
// AttrDeleteHorizon. Safe for concurrent use on distinct dst. On error dst
// is returned in pr.Data unchanged.
func PrepareRecords(dst []byte, recs []Record, c Compression) (PreparedRecords, error) {
	return PrepareRecordsLevel(dst, recs, c, CompressionLevelDefault)
}

// PrepareRecordsLevel is PrepareRecords compressing at level
// (compression.level; see CompressionLevelDefault).
func PrepareRecordsLevel(dst []byte, recs []Record, c Compression, level int) (PreparedRecords, error) {
	return PrepareRecordsFrom(dst, Records(recs), c, level)
}

// PrepareRecordsFrom is PrepareRecordsLevel with the records read from
// src: a producer prepares its buffered records in place rather than
// copying each into a Record first. Safe for concurrent use on distinct
// dst when src's Record is.
func PrepareRecordsFrom[S RecordSource](dst []byte, src S, c Compression, level int) (PreparedRecords, error) {
	pr := PreparedRecords{Compression: c, Data: dst}
	if err := CheckCompressionLevel(c, level); err != nil {
		return pr, fmt.Errorf("wire: %w", err)
	}
	n := src.Len()
	if n == 0 {
		return pr, errors.New("wire: no records to prepare")
	}
	if int64(n) > math.MaxInt32 {
		return pr, fmt.Errorf("wire: %d records do not fit in one batch", n)
	}
	baseTs, _, _, _ := src.Record(0)
	recordsLen, maxTs, err := recordsSectionLen(src, baseTs)
	if err != nil {
		return pr, err
	}
	out, err := appendRecordsSection(dst, src, baseTs, recordsLen, c, level)
	if err != nil {
		return pr, err
	}
	pr.Data, pr.Count, pr.BaseTimestamp, pr.MaxTimestamp = out, int32(n), baseTs, maxTs
	return pr, nil
}

// recordsSectionLen is the encoded size of src's records (uncompressed),
// with timestamps relative to baseTs, and their largest timestamp
// (baseTs when there are none); an error when no batch could hold them.
func recordsSectionLen[S RecordSource](src S, baseTs int64) (int, int64, error) {
	n, maxTs := 0, baseTs
	for i := range src.Len() {
		ts, key, value, headers := src.Record(i)
		if i == 0 || ts > maxTs {
			maxTs = ts
		}
		body := recordBodySize(key, value, headers, ts-baseTs, i)
		n += varintSize(int64(body)) + body
	}
	if n > math.MaxInt32-RecordBatchOverhead {
		return 0, 0, fmt.Errorf("wire: record batch of %d bytes is too large", n)
	}
	return n, maxTs, nil
}

// appendRecordsSection appends the records section of a batch (src's
// records numbered 0..n-1, timestamps relative to baseTs, recordsLen
// bytes before compression) compressed with c: uncompressed straight into
// dst, compressed through a pooled scratch buffer. On error the result is
// to be dropped (dst's array may hold partial bytes past its length).
func appendRecordsSection[S RecordSource](dst []byte, src S, baseTs int64, recordsLen int, c Compression, level int) ([]byte, error) {
	if c == CompressionNone {
		w := Writer{B: slices.Grow(dst, recordsLen)}
		appendRecords(&w, src, baseTs)
		return w.B, nil
	}
	sp := getScratch()
	sw := Writer{B: slices.Grow(*sp, recordsLen)}
	appendRecords(&sw, src, baseTs)
	// Sized once for the worst case: growing by doubling while the codec
	// appends would leave the smaller arrays behind as garbage.
	out, err := CompressLevel(c, level, slices.Grow(dst, CompressBound(c, recordsLen)), sw.B)
	putScratch(sp, sw.B)
	return out, err
}

// AppendPreparedBatch appends to dst the RecordBatch made of pr and the
// header fields of b (BaseOffset, PartitionLeaderEpoch, producer id, epoch
// and sequence, and the attribute bits other than compression and the
// delete horizon, which pr decides); b.Records is ignored and b is not
// modified. The bytes are those AppendRecordBatch writes for the same
// records and header. pr.Data is only read.
func AppendPreparedBatch(dst []byte, b *RecordBatch, pr *PreparedRecords) ([]byte, error) {
	if !pr.Compression.valid() || pr.Count <= 0 {
		return dst, fmt.Errorf("wire: invalid prepared records (codec %d, %d records)", int8(pr.Compression), pr.Count)
	}
	if len(pr.Data) > math.MaxInt32-RecordBatchOverhead {
		return dst, fmt.Errorf("wire: record batch of %d bytes is too large", len(pr.Data))
	}
	attrs := b.Attributes&^(AttrCompressionMask|AttrDeleteHorizon) | int16(pr.Compression)
	start := len(dst)
	w := Writer{B: slices.Grow(dst, RecordBatchOverhead+len(pr.Data))}
	appendBatchHeader(&w, b, attrs, pr.Count-1, pr.BaseTimestamp, pr.MaxTimestamp, pr.Count)
	w.Raw(pr.Data)
	if err := sealBatch(w.B, start); err != nil {
		return dst, err
	}
	return w.B, nil
}

func appendNullable(w *Writer, b []byte) {
	if b == nil {
		w.Varint(-1)
		return
	}
	w.Varint(int64(len(b)))
	w.Raw(b)
}

func appendRecords[S RecordSource](w *Writer, src S, baseTs int64) {
	for i := range src.Len() {
		ts, key, value, headers := src.Record(i)
		tsDelta := ts - baseTs
		w.Varint(int64(recordBodySize(key, value, headers, tsDelta, i)))
		w.Int8(0) // record attributes: unused
		w.Varint(tsDelta)
		w.Varint(int64(i))
		appendNullable(w, key)
		appendNullable(w, value)
		w.Varint(int64(len(headers)))
		for j := range headers {
			h := &headers[j]
			w.Varint(int64(len(h.Key)))
			w.B = append(w.B, h.Key...)
			appendNullable(w, h.Value)
		}
	}
}

// ---- decoding ----

// DecodeRecordBatches decodes every complete batch of data, the Records
// field of a fetch response partition, appending them to dst.
//
//   - A trailing partial batch (the broker cuts the response at its byte
//     limits) is not an error: decoding stops there. If data holds no
//     complete batch, no batch is returned.
//   - Legacy message sets (magic 0 and 1, which Kafka 4 no longer writes)
//     are skipped by their length without being decoded.
//   - Anything malformed, including a CRC-32C mismatch, stops decoding with
//     an error wrapping ErrCorruptBatch; the batches decoded before it are
//     returned along with the error. Decompression is capped at
//     MaxDecompressedSize per batch.
//
// Memory: record keys, values and header values alias data for
// uncompressed batches, and a buffer allocated for (and owned only by) the
// batch for compressed ones; copy them to keep them beyond the life of
// data. Header keys are strings (equal keys of consecutive records share
// one string). For each batch the decoder allocates one Records slice
// (reusing the Records capacity of dst's elements between len(dst) and
// cap(dst), so pass batches[:0] to recycle them: Record structs copied out
// of them stay valid) and one slice for all the batch's headers (never
// recycled). Record counts and lengths are validated against the bytes
// present before anything is allocated; no input makes it panic.
func DecodeRecordBatches(data []byte, dst []RecordBatch) ([]RecordBatch, error) {
	err := eachBatch(data, func(batch []byte) error {
		var err error
		dst, err = decodeBatch(batch, dst)
		return err
	})
	return dst, err
}

// eachBatch calls fn with every complete magic-2 batch of data, in order,
// stopping at a trailing partial batch (not an error) or at the first
// error of the framing or of fn. Legacy message sets are skipped.
func eachBatch(data []byte, fn func(batch []byte) error) error {
	for len(data) >= batchLogOverhead {
		length := int32(binary.BigEndian.Uint32(data[batchLengthOffset:]))
		if length < legacyMinRecordSize {
			return corruptf(int64(binary.BigEndian.Uint64(data)), "batch length %d too small", length)
		}
		if len(data) <= batchMagicOffset {
			break // partial
		}
		magic := int8(data[batchMagicOffset])
		if magic < 0 || magic > RecordBatchMagic {
			return corruptf(int64(binary.BigEndian.Uint64(data)), "unknown magic %d", magic)
		}
		total := batchLogOverhead + int64(length)
		if int64(len(data)) < total {
			break // partial
		}
		batch := data[:total]
		data = data[total:]
		if magic < RecordBatchMagic {
			continue // legacy message set: skipped
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
	return nil
}

// BatchView is a record batch whose header is decoded and checked (CRC,
// codec, record count against its size) and whose records are not: Iter
// decodes them one at a time, when they are wanted. A consumer keeps
// buffered records this way, as their bytes alone, instead of as decoded
// Records (~90 bytes each on top of their data).
type BatchView struct {
	// RecordBatch is the header; its Records is nil.
	RecordBatch
	// Count is the record count the header gives (Iter yields exactly
	// that many records, or fails).
	Count int32
	// payload is the records' bytes: aliasing the input for an
	// uncompressed batch, a buffer of the batch's own when compressed.
	payload []byte
}

// ScanRecordBatches is DecodeRecordBatches without decoding the records:
// it appends a BatchView of every complete batch of data to dst, with the
// same handling of partial batches, legacy message sets and errors (a
// batch whose header, CRC or compression is bad stops the scan with an
// error wrapping ErrCorruptBatch, after the views before it). A malformed
// record inside a batch is found by its Iter instead. Compressed batches
// are decompressed here (capped at MaxDecompressedSize); the views alias
// data otherwise, so data must outlive them. It allocates nothing but
// dst's growth and the decompressed buffers.
func ScanRecordBatches(data []byte, dst []BatchView) ([]BatchView, error) {
	err := eachBatch(data, func(batch []byte) error {
		hdr, count, payload, err := batchPayload(batch)
		if err != nil {
			return err
		}
		dst = append(dst, BatchView{RecordBatch: hdr, Count: count, payload: payload})
		return nil
	})
	return dst, err
}

// Iter returns an iterator over the view's records, from the first.
func (v *BatchView) Iter() RecordIter {
	return RecordIter{r: Reader{b: v.payload}, base: v.BaseOffset, baseTs: v.BaseTimestamp,
		maxTs: v.MaxTimestamp, logAppend: v.IsLogAppendTime(), n: int(v.Count)}
}

// batchPayload checks one complete magic-2 batch and returns its header
// (Records nil), its record count and its records' bytes, decompressed
// when the batch is compressed.
func batchPayload(batch []byte) (hdr RecordBatch, count int32, payload []byte, err error) {
	baseOffset := int64(binary.BigEndian.Uint64(batch))
	if len(batch) < RecordBatchOverhead {
		return hdr, 0, nil, corruptf(baseOffset, "batch of %d bytes is shorter than the v2 header", len(batch))
	}
	if want, got := binary.BigEndian.Uint32(batch[batchCRCOffset:]), crc32.Checksum(batch[batchAttrOffset:], castagnoli); want != got {
		return hdr, 0, nil, corruptf(baseOffset, "CRC-32C mismatch: header %08x, computed %08x", want, got)
	}

	r := Reader{b: batch, off: batchAttrOffset}
	hdr = RecordBatch{BaseOffset: baseOffset}
	hdr.PartitionLeaderEpoch = int32(binary.BigEndian.Uint32(batch[12:]))
	hdr.Attributes = r.Int16()
	hdr.LastOffsetDelta = r.Int32()
	hdr.BaseTimestamp = r.Int64()
	hdr.MaxTimestamp = r.Int64()
	hdr.ProducerID = r.Int64()
	hdr.ProducerEpoch = r.Int16()
	hdr.BaseSequence = r.Int32()
	count = r.Int32()
	if count < 0 {
		return hdr, 0, nil, corruptf(baseOffset, "negative record count %d", count)
	}

	payload = batch[RecordBatchOverhead:]
	if c := hdr.Compression(); c != CompressionNone {
		if !c.valid() {
			return hdr, 0, nil, corruptf(baseOffset, "unknown compression codec %d", c)
		}
		if payload, err = Decompress(c, nil, payload); err != nil {
			return hdr, 0, nil, fmt.Errorf("%w: batch at offset %d: %w", ErrCorruptBatch, baseOffset, err)
		}
	}
	if int(count) > len(payload)/minRecordSize {
		return hdr, 0, nil, corruptf(baseOffset, "record count %d exceeds what %d bytes can hold", count, len(payload))
	}
	if count == 0 && len(payload) != 0 {
		// Iter checks what follows the last record; with none, here.
		return hdr, 0, nil, corruptf(baseOffset, "%d bytes left over after 0 records", len(payload))
	}
	return hdr, count, payload, nil
}

func corruptf(baseOffset int64, format string, args ...any) error {
	return fmt.Errorf("%w: batch at offset %d: %s", ErrCorruptBatch, baseOffset, fmt.Sprintf(format, args...))
}

// decodeBatch decodes one complete magic-2 batch and appends it to dst.
func decodeBatch(batch []byte, dst []RecordBatch) ([]RecordBatch, error) {
	hdr, count, payload, err := batchPayload(batch)
	if err != nil {
		return dst, err
	}
	var recs []Record
	if len(dst) < cap(dst) {
		recs = dst[:len(dst)+1][len(dst)].Records[:0]
	}
	if count > 0 {
		if cap(recs) < int(count) {
			recs = make([]Record, count)
		}
		recs = recs[:count]
	}
	hdr.Records = recs
	if err := decodeRecords(&hdr, payload); err != nil {
		return dst, err
	}
	return append(dst, hdr), nil
}

// varint is r.Varint with an inlined fast path for one-byte values (-64 to
// 63), which most record fields are. (After an error r.off == len(r.b), so
// the fast path never reads past a failure.)
func varint(r *Reader) int64 {
	if off := r.off; off < len(r.b) && r.b[off] < 0x80 {
		r.off = off + 1
		return int64(r.b[off]>>1) ^ -int64(r.b[off]&1)
	}
	return r.Varint()
}

// varint32 is r.Varint32 with varint's fast path.
func varint32(r *Reader) int32 {
	if off := r.off; off < len(r.b) && r.b[off] < 0x80 {
		r.off = off + 1
		return int32(r.b[off]>>1) ^ -int32(r.b[off]&1)
	}
	return r.Varint32()
}

// readNullable reads a varint-length-prefixed nullable byte string,
// aliasing r's input.
func readNullable(r *Reader) []byte {
	n := varint(r)
	if n == -1 || r.err != nil {
		return nil
	}
	if n < -1 || n > int64(r.Remaining()) {
		r.Failf("byte string length %d invalid with %d bytes left", n, r.Remaining())
		return nil
	}
	return r.Raw(int(n))
}

func decodeRecords(b *RecordBatch, payload []byte) error {
	v := BatchView{RecordBatch: *b, Count: int32(len(b.Records)), payload: payload}
	it := v.Iter()
	for i := range b.Records {
		if !it.Next(&b.Records[i]) {
			return it.Err()
		}
	}
	if len(it.hdrs) > 0 {
		// If the headers' slice grew, early records point into older
		// arrays; repoint them all at the final one so only it stays
		// reachable.
		hdrs, pos := it.hdrs, 0
		for i := range b.Records {
			if n := len(b.Records[i].Headers); n > 0 {
				b.Records[i].Headers = hdrs[pos : pos+n : pos+n]
				pos += n
			}
		}
	}
	return nil
}

// RecordIter decodes the records of a BatchView one at a time (Next), so
// a caller can decode straight into records of its own, as many as it
// wants now. Records alias the view's bytes as DecodeRecordBatches' do;
// the headers of a batch share slices the iterator allocates (equal keys
// of consecutive records share one string). A malformed record ends the
// iteration with an error (Err) wrapping ErrCorruptBatch; the records
// before it were valid. The zero value yields nothing. Not safe for
// concurrent use.
type RecordIter struct {
	r                   Reader
	base, baseTs, maxTs int64
	logAppend           bool
	i, n                int // records decoded, and in the batch
	hdrs                []Header
	prevStart, prevN    int // the last record with headers, for key reuse
	err                 error
}

// Remaining is how many records Next may still yield.
func (it *RecordIter) Remaining() int { return it.n - it.i }

// Err is the error that ended the iteration early, or nil.
func (it *RecordIter) Err() error { return it.err }

// Next decodes the next record into rec and reports true, or reports
// false at the end of the batch or on a malformed record (then Err says
// why, and every later call reports false). The batch's last record is
// only yielded when no bytes follow it.
func (it *RecordIter) Next(rec *Record) bool {
	if it.i >= it.n {
		return false
	}
	i := it.i
	r := &it.r
	length := varint(r)
	if r.err != nil {
		return it.fail(corruptf(it.base, "record %d: %v", i, r.err))
	}
	if length < minRecordSize-1 || length > int64(r.Remaining()) {
		return it.fail(corruptf(it.base, "record %d: length %d invalid with %d bytes left", i, length, r.Remaining()))
	}
	rr := Reader{b: r.Raw(int(length))}
	rr.Int8() // record attributes: unused
	tsDelta := varint(&rr)
	offDelta := varint32(&rr)
	rec.Offset = it.base + int64(offDelta)
	if it.logAppend {
		rec.Timestamp = it.maxTs
	} else {
		rec.Timestamp = it.baseTs + tsDelta
	}
	rec.Key = readNullable(&rr)
	rec.Value = readNullable(&rr)
	rec.Headers = nil
	nh := varint32(&rr)
	if nh < 0 || int(nh) > rr.Remaining()/minHeaderSize {
		rr.Failf("header count %d invalid with %d bytes left", nh, rr.Remaining())
	}
	if nh > 0 && rr.err == nil {
		hdrs := it.hdrs
		if hdrs == nil {
			// Guess every remaining record has as many headers; bounded
			// by what the remaining bytes can hold.
			guess := int64(nh) * int64(it.n-i)
			hdrs = make([]Header, 0, min(guess, int64(nh)+int64(r.Remaining()/minHeaderSize)))
		}
		start := len(hdrs)
		for j := 0; j < int(nh) && rr.err == nil; j++ {
			kl := varint32(&rr)
			if kl < 0 {
				rr.Failf("negative header key length %d", kl)
				break
			}
			kb := rr.Raw(int(kl))
			v := readNullable(&rr)
			var key string
			if j < it.prevN && hdrs[it.prevStart+j].Key == string(kb) {
				key = hdrs[it.prevStart+j].Key
			} else {
				key = string(kb)
			}
			hdrs = append(hdrs, Header{Key: key, Value: v})
		}
		it.hdrs = hdrs
		rec.Headers = hdrs[start:len(hdrs):len(hdrs)]
		it.prevStart, it.prevN = start, len(hdrs)-start
	}
	if rr.err != nil {
		return it.fail(corruptf(it.base, "record %d: %v", i, rr.err))
	}
	if rr.Remaining() != 0 {
		return it.fail(corruptf(it.base, "record %d: %d bytes left over inside the record", i, rr.Remaining()))
	}
	if i == it.n-1 && r.Remaining() != 0 {
		return it.fail(corruptf(it.base, "%d bytes left over after %d records", r.Remaining(), it.n))
	}
	it.i++
	return true
}

// fail ends the iteration with err.
func (it *RecordIter) fail(err error) bool {
	it.err, it.n = err, it.i
	return false
}
