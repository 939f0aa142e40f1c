package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

func producerOf(h C.gofka_handle_t) (*core.Producer, error) {
	obj, err := lookup(h, kindProducer)
	if err != nil {
		return nil, err
	}
	return obj.(*core.Producer), nil
}

//export gofka_producer_new
func gofka_producer_new(config *C.char, out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if config == nil || out == nil {
		return fill(errOut, invalid("config and out must not be NULL"))
	}
	cfg, err := core.ParseConfig(C.GoString(config))
	if err != nil {
		return fill(errOut, err)
	}
	p, err := core.NewProducerFromConfig(cfg)
	if err != nil {
		return fill(errOut, err)
	}
	*out = newHandle(kindProducer, p)
	return fill(errOut, nil)
}

//export gofka_producer_connect
func gofka_producer_connect(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, err := producerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	ctx, cancel := timeoutCtx(timeoutMs, p.Client().Config().DialTimeout)
	defer cancel()
	return fill(errOut, p.Connect(ctx))
}

//export gofka_producer_send
func gofka_producer_send(h C.gofka_handle_t, topic *C.char, partition C.int32_t,
	key *C.uint8_t, keyLen C.int64_t, value *C.uint8_t, valueLen C.int64_t,
	headers *C.uint8_t, headersLen C.size_t, timestampMs C.int64_t, timeoutMs C.int32_t,
	offsetOut *C.int64_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, err := producerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if topic == nil {
		return fill(errOut, invalid("topic is NULL"))
	}
	r := &core.Record{Topic: C.GoString(topic), Partition: int32(partition)}
	if r.Key, err = borrow(unsafe.Pointer(key), int64(keyLen)); err != nil {
		return fill(errOut, err)
	}
	if r.Value, err = borrow(unsafe.Pointer(value), int64(valueLen)); err != nil {
		return fill(errOut, err)
	}
	hb, err := borrow(unsafe.Pointer(headers), int64(headersLen))
	if err != nil {
		return fill(errOut, err)
	}
	if len(hb) > 0 {
		if r.Headers, err = unpackHeaders(hb); err != nil {
			return fill(errOut, err)
		}
	}
	if timestampMs >= 0 {
		r.Timestamp = time.UnixMilli(int64(timestampMs))
	}
	ctx, cancel := timeoutCtx(timeoutMs, p.Client().Config().RequestTimeout)
	defer cancel()
	if err := p.ProduceSync(ctx, r); err != nil {
		return fill(errOut, err)
	}
	if offsetOut != nil {
		*offsetOut = C.int64_t(r.Offset)
	}
	return fill(errOut, nil)
}

//export gofka_producer_send_batch
func gofka_producer_send_batch(h C.gofka_handle_t, topic *C.char, partition C.int32_t,
	records *C.uint8_t, recordsLen C.size_t, count C.int32_t, timeoutMs C.int32_t,
	offsetsOut *C.int64_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, err := producerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if topic == nil {
		return fill(errOut, invalid("topic is NULL"))
	}
	if count < 0 {
		return fill(errOut, invalid("count %d is negative", int(count)))
	}
	buf, err := borrow(unsafe.Pointer(records), int64(recordsLen))
	if err != nil {
		return fill(errOut, err)
	}
	recs, err := unpackRecords(buf, int(count), C.GoString(topic), int32(partition))
	if err != nil {
		return fill(errOut, err)
	}
	ctx, cancel := timeoutCtx(timeoutMs, p.Client().Config().RequestTimeout)
	defer cancel()
	if err := p.ProduceSync(ctx, recs...); err != nil {
		return fill(errOut, err)
	}
	if offsetsOut != nil && count > 0 {
		offs := unsafe.Slice((*int64)(unsafe.Pointer(offsetsOut)), int(count))
		for i, r := range recs {
			offs[i] = r.Offset
		}
	}
	return fill(errOut, nil)
}

//export gofka_producer_close
func gofka_producer_close(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	obj, err := release(h, kindProducer)
	if err != nil {
		return fill(errOut, err)
	}
	p := obj.(*core.Producer)
	ctx, cancel := timeoutCtx(timeoutMs, p.Client().Config().RequestTimeout)
	defer cancel()
	return fill(errOut, p.Close(ctx))
}

// packedReader reads the little-endian packed formats of gofka.h. Slices
// alias the borrowed input.
type packedReader struct {
	b   []byte
	err error
}

func (r *packedReader) int32() int32 {
	if r.err != nil || len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := int32(binary.LittleEndian.Uint32(r.b))
	r.b = r.b[4:]
	return v
}

func (r *packedReader) int64() int64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := int64(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

// bytes reads an int32 length (-1 = null) and that many bytes.
func (r *packedReader) bytes() []byte {
	n := r.int32()
	switch {
	case r.err != nil:
		return nil
	case n == -1:
		return nil
	case n < 0 || int(n) > len(r.b):
		r.fail()
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *packedReader) fail() {
	if r.err == nil {
		r.err = invalid("packed buffer is truncated or malformed")
	}
	r.b = nil
}

func unpackHeaders(b []byte) ([]wire.Header, error) {
	r := &packedReader{b: b}
	n := r.int32()
	if n < 0 || int(n) > len(b)/8 {
		return nil, invalid("packed headers: bad count %d", n)
	}
	hs := make([]wire.Header, n)
	for i := range hs {
		k := r.bytes()
		if k == nil {
			r.fail()
		}
		hs[i] = wire.Header{Key: string(k), Value: r.bytes()}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return hs, r.err
}

func unpackRecords(b []byte, count int, topic string, partition int32) ([]*core.Record, error) {
	if count > len(b)/16 {
		return nil, invalid("packed records: count %d does not fit in %d bytes", count, len(b))
	}
	r := &packedReader{b: b}
	recs := make([]*core.Record, count)
	store := make([]core.Record, count)
	for i := range recs {
		rec := &store[i]
		rec.Topic, rec.Partition = topic, partition
		rec.Key = r.bytes()
		rec.Value = r.bytes()
		if ts := r.int64(); ts >= 0 {
			rec.Timestamp = time.UnixMilli(ts)
		}
		hlen := r.int32()
		if hlen < 0 || int(hlen) > len(r.b) {
			r.fail()
		}
		if r.err != nil {
			return nil, r.err
		}
		if hlen > 0 {
			hs, err := unpackHeaders(r.b[:hlen])
			if err != nil {
				return nil, err
			}
			rec.Headers = hs
			r.b = r.b[hlen:]
		}
		recs[i] = rec
	}
	if len(r.b) != 0 {
		return nil, invalid("packed records: %d trailing bytes after %d records", len(r.b), count)
	}
	return recs, nil
}
