package main

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// The packed formats of gofka.h are decoded from caller memory: a wrong
// length or count from C or Python must give INVALID_ARGUMENT, never a
// panic, an out-of-range read or an allocation sized by a hostile count.

func packRecord(b []byte, key, value []byte, ts int64, headers []byte) []byte {
	appendBytes := func(b, v []byte) []byte {
		if v == nil {
			return binary.LittleEndian.AppendUint32(b, 0xffffffff)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		return append(b, v...)
	}
	b = appendBytes(b, key)
	b = appendBytes(b, value)
	b = binary.LittleEndian.AppendUint64(b, uint64(ts))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(headers)))
	return append(b, headers...)
}

func packHeaderList(hs []wire.Header) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(hs)))
	for _, h := range hs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h.Key)))
		b = append(b, h.Key...)
		if h.Value == nil {
			b = binary.LittleEndian.AppendUint32(b, 0xffffffff)
			continue
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h.Value)))
		b = append(b, h.Value...)
	}
	return b
}

// checkInvalid fails unless err is nil or INVALID_ARGUMENT.
func checkInvalid(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && wire.CodeOf(err) != wire.ErrInvalidArgument {
		t.Fatalf("%s: error %v is not INVALID_ARGUMENT", what, err)
	}
}

func FuzzUnpackRecords(f *testing.F) {
	hs := packHeaderList([]wire.Header{{Key: "k", Value: []byte("v")}, {Key: "n", Value: nil}})
	one := packRecord(nil, []byte("key"), []byte("value"), 1700000000000, hs)
	f.Add(one, int32(1))
	f.Add(packRecord(one, nil, nil, -1, nil), int32(2))
	f.Add(packRecord(nil, []byte{}, []byte{}, 0, nil), int32(1))
	f.Add([]byte{}, int32(0))
	f.Add(one[:len(one)-1], int32(1))
	f.Add(one, int32(1<<30))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f}, int32(1))
	f.Fuzz(func(t *testing.T, b []byte, count int32) {
		if count < 0 {
			return // rejected before unpackRecords (copyRecords)
		}
		// Through a pooled slab, as produce_batch does: a slab reused
		// from an earlier input must not leak its records' fields.
		sl := getSlab(min(int(count), len(b)/16), len(b), true)
		defer putSlab(sl)
		copy(sl.data, b)
		err := unpackRecords(sl.data, int(count), "t", 0, sl.recs)
		recs := sl.recs
		checkInvalid(t, "unpackRecords", err)
		if err != nil {
			return
		}
		if len(recs) != int(count) {
			t.Fatalf("%d records decoded, %d announced", len(recs), count)
		}
		for _, r := range recs {
			if r.Topic != "t" || r.Partition != 0 {
				t.Fatalf("record %+v lost its topic/partition", r)
			}
		}
	})
}

func FuzzUnpackHeaders(f *testing.F) {
	f.Add(packHeaderList([]wire.Header{{Key: "a", Value: []byte("1")}}))
	f.Add(packHeaderList([]wire.Header{{Key: "", Value: nil}, {Key: "k", Value: []byte{}}}))
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := unpackHeaders(b)
		checkInvalid(t, "unpackHeaders", err)
		if err == nil && string(packHeaderList(hs)) != string(b) {
			t.Fatalf("re-encoding %d headers differs", len(hs))
		}
	})
}

// cbuf views b as the (pointer, length) pair a C caller passes.
func cbuf(b []byte) (*_Ctype_uint8_t, _Ctype_size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*_Ctype_uint8_t)(unsafe.Pointer(&b[0])), _Ctype_size_t(len(b))
}

func FuzzReadPartitions(f *testing.F) {
	f.Add(packPartitions([]core.TopicPartition{{Topic: "a", Partition: 0}, {Topic: "bb", Partition: 7}}))
	f.Add(packPartitions(nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n := cbuf(b)
		tps, err := readPartitions(p, n)
		checkInvalid(t, "readPartitions", err)
		if err == nil && len(tps) > len(b)/8 {
			t.Fatalf("%d partitions from %d bytes", len(tps), len(b))
		}
	})
}

func FuzzReadOffsets(f *testing.F) {
	f.Add(packOffsets([]offsetEntry{{tp: core.TopicPartition{Topic: "a", Partition: 1}, offset: 5, timestamp: -1}}))
	f.Add(packOffsets(nil))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n := cbuf(b)
		es, err := readOffsets(p, n)
		checkInvalid(t, "readOffsets", err)
		if err == nil && len(es) > len(b)/24 {
			t.Fatalf("%d offsets from %d bytes", len(es), len(b))
		}
	})
}
