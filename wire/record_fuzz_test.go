package wire

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

// fuzzLimit keeps fuzzed decompression cheap: inputs that would inflate
// beyond it exercise the size cap instead of the allocator.
const fuzzLimit = 4 << 20

func seedBatches(f *testing.F) {
	for _, c := range allCodecs {
		for name, recs := range roundTripCases() {
			if name == "1000" || name == "big value" {
				continue // keep seeds small
			}
			b := RecordBatch{BaseOffset: 10, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Records: recs}
			enc, err := AppendRecordBatch(nil, &b, c)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(enc)
		}
		b := RecordBatch{Records: makeRecords(12, 8, uint64(c))}
		enc, err := AppendRecordBatch(nil, &b, c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
		f.Add(enc[:len(enc)-3])                 // partial trailing batch
		f.Add(append(bytes.Clone(enc), enc...)) // two batches
	}
	f.Add(legacyMessage(0, "legacy"))
	f.Add([]byte{})
}

// FuzzDecodeRecordBatches checks that no input panics, and that whatever
// decodes re-encodes to batches that decode to the same records.
func FuzzDecodeRecordBatches(f *testing.F) {
	seedBatches(f)
	limitDecompression(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeReencode(t, data)
		checkScanMatchesDecode(t, data)
		// Most mutations break the CRC; also try with every CRC fixed so
		// the fuzzer reaches the header, decompression and record parsing.
		if fixed, ok := fixCRCs(data); ok {
			checkDecodeReencode(t, fixed)
			checkScanMatchesDecode(t, fixed)
		}
	})
}

// checkScanMatchesDecode: ScanRecordBatches then each view's Iter yield
// the batches and records DecodeRecordBatches does, and fail where it
// fails (a bad batch header at the scan, a bad record at its Iter).
func checkScanMatchesDecode(t *testing.T, data []byte) {
	t.Helper()
	want, werr := DecodeRecordBatches(data, nil)
	views, serr := ScanRecordBatches(data, nil)
	var got []RecordBatch
	var ierr error
	for i := range views {
		b := views[i].RecordBatch
		it := views[i].Iter()
		for {
			var r Record
			if !it.Next(&r) {
				break
			}
			b.Records = append(b.Records, r)
		}
		if ierr = it.Err(); ierr != nil {
			break
		}
		if int32(len(b.Records)) != views[i].Count {
			t.Fatalf("batch %d: Iter yielded %d records, the header says %d", i, len(b.Records), views[i].Count)
		}
		got = append(got, b)
	}
	if (werr != nil) != (serr != nil || ierr != nil) {
		t.Fatalf("decode error %v, scan error %v, iteration error %v", werr, serr, ierr)
	}
	if werr == nil && !batchesEqual(want, got) {
		t.Fatalf("scan and iterate gave %+v, decode %+v", got, want)
	}
	if werr != nil && len(got) != len(want) {
		t.Fatalf("before the error: scan and iterate gave %d batches, decode %d", len(got), len(want))
	}
}

// batchesEqual compares batches treating nil and empty slices alike.
func batchesEqual(a, b []RecordBatch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if len(x.Records) == 0 && len(y.Records) == 0 {
			x.Records, y.Records = nil, nil
		}
		for j := range x.Records {
			if j >= len(y.Records) {
				return false
			}
			if len(x.Records[j].Headers) == 0 && len(y.Records[j].Headers) == 0 {
				x.Records[j].Headers, y.Records[j].Headers = nil, nil
			}
		}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

// limitDecompression lowers MaxDecompressedSize for a fuzz target. It is
// set once per target, not per input: changing it rebuilds the zstd decoder.
func limitDecompression(f *testing.F) {
	prev := SetMaxDecompressedSize(fuzzLimit)
	f.Cleanup(func() { SetMaxDecompressedSize(prev) })
}

// fixCRCs returns a copy of data with the CRC of every complete v2 batch
// recomputed, and whether there was any.
func fixCRCs(data []byte) ([]byte, bool) {
	var out []byte
	for p := 0; p+RecordBatchOverhead <= len(data); {
		length := int64(int32(binary.BigEndian.Uint32(data[p+8:])))
		end := int64(p) + 12 + length
		if length < legacyMinRecordSize || end > int64(len(data)) {
			break
		}
		if data[p+16] == RecordBatchMagic && length >= RecordBatchOverhead-12 {
			if out == nil {
				out = bytes.Clone(data)
			}
			withCRC(out[p:end])
		}
		p = int(end)
	}
	return out, out != nil
}

func checkDecodeReencode(t *testing.T, data []byte) {
	batches, err := DecodeRecordBatches(data, nil)
	if err != nil {
		return
	}
	for i := range batches {
		b := batches[i]
		enc, err := AppendRecordBatch(nil, &b, b.Compression())
		if err != nil {
			t.Fatalf("re-encoding a decoded batch: %v", err)
		}
		again, err := DecodeRecordBatches(enc, nil)
		if err != nil {
			t.Fatalf("decoding a re-encoded batch: %v", err)
		}
		if len(again) != 1 {
			t.Fatalf("re-encoded batch decoded to %d batches", len(again))
		}
		got, want := again[0].Records, batches[i].Records
		if len(got) != len(want) {
			t.Fatalf("%d records, want %d", len(got), len(want))
		}
		for j := range want {
			if got[j].Timestamp != want[j].Timestamp ||
				!sameNullable(got[j].Key, want[j].Key) || !sameNullable(got[j].Value, want[j].Value) ||
				len(got[j].Headers) != len(want[j].Headers) {
				t.Fatalf("record %d differs after re-encoding:\n got %+v\nwant %+v", j, got[j], want[j])
			}
			for k := range want[j].Headers {
				if got[j].Headers[k].Key != want[j].Headers[k].Key || !sameNullable(got[j].Headers[k].Value, want[j].Headers[k].Value) {
					t.Fatalf("record %d header %d differs after re-encoding", j, k)
				}
			}
		}
	}
}

func sameNullable(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func fuzzDecompress(f *testing.F, c Compression) {
	for _, src := range testPayloads() {
		if len(src) > 4096 {
			src = src[:4096]
		}
		enc, err := Compress(c, nil, src)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	if c == CompressionSnappy {
		f.Add(xerialFoobar)
		f.Add([]byte("\x07\x18foobar\n")) // raw block
	}
	limitDecompression(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Decompress(c, []byte("p"), data)
		if err != nil {
			return
		}
		if len(out) < 1 || out[0] != 'p' {
			t.Fatal("Decompress did not append to dst")
		}
		out = out[1:]
		if len(out) > fuzzLimit {
			t.Fatalf("decompressed %d bytes, beyond the %d limit", len(out), fuzzLimit)
		}
		comp, err := Compress(c, nil, out)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decompress(c, nil, comp)
		if err != nil {
			t.Fatalf("round trip of decompressed output: %v", err)
		}
		if !bytes.Equal(back, out) {
			t.Fatal("round trip of decompressed output differs")
		}
	})
}

func FuzzDecompressGzip(f *testing.F)   { fuzzDecompress(f, CompressionGzip) }
func FuzzDecompressSnappy(f *testing.F) { fuzzDecompress(f, CompressionSnappy) }
func FuzzDecompressLZ4(f *testing.F)    { fuzzDecompress(f, CompressionLZ4) }
func FuzzDecompressZstd(f *testing.F)   { fuzzDecompress(f, CompressionZstd) }
