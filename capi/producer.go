package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/internal/packed"
	"github.com/gofka/gofka/wire"
)

func producerOf(h C.gofka_handle_t) (*core.Producer, error) {
	return handleOf[*core.Producer](h, kindProducer)
}

//export gofka_producer_new
func gofka_producer_new(config *C.char, out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, newFromConfig(config, out, kindProducer, core.NewProducerFromProperties))
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

// copyRecord builds a Record owning copies of the borrowed C inputs (the
// producer keeps records after the call returns). Key, value and headers
// share one allocation.
func copyRecord(topic string, partition int32, key *C.uint8_t, keyLen C.int64_t, value *C.uint8_t, valueLen C.int64_t,
	headers *C.uint8_t, headersLen C.size_t, timestampMs C.int64_t) (*core.Record, error) {
	k, err := borrow(unsafe.Pointer(key), int64(keyLen))
	if err != nil {
		return nil, err
	}
	v, err := borrow(unsafe.Pointer(value), int64(valueLen))
	if err != nil {
		return nil, err
	}
	hb, err := borrow(unsafe.Pointer(headers), sizeArg(headersLen))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, len(k)+len(v)+len(hb))
	// partition -1 (checkPartition allows no other negative) lets the
	// partitioner choose; any other value is used as is.
	r := &core.Record{Topic: topic, Partition: partition, ManualPartition: partition >= 0}
	if k != nil {
		r.Key = buf[:len(k):len(k)]
		copy(r.Key, k)
	}
	if v != nil {
		r.Value = buf[len(k) : len(k)+len(v) : len(k)+len(v)]
		copy(r.Value, v)
	}
	if len(hb) > 0 {
		hc := buf[len(k)+len(v):]
		copy(hc, hb)
		if r.Headers, err = unpackHeaders(hc); err != nil {
			return nil, err
		}
	}
	// core decides which timestamps are valid (-1 = now, else >= 0) when
	// r is produced.
	r.TimestampMs, r.TimestampMsSet = int64(timestampMs), true
	return r, nil
}

func checkPartition(partition C.int32_t) error {
	if partition < -1 {
		return invalid("partition %d: must be >= 0, or -1 for the partitioner", int(partition))
	}
	return nil
}

//export gofka_producer_send
func gofka_producer_send(h C.gofka_handle_t, topic *C.char, partition C.int32_t,
	key *C.uint8_t, keyLen C.int64_t, value *C.uint8_t, valueLen C.int64_t,
	headers *C.uint8_t, headersLen C.size_t, timestampMs C.int64_t, timeoutMs C.int32_t,
	offsetOut *C.int64_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, _, name, err := produceArgs(h, 0, topic, partition)
	if err != nil {
		return fill(errOut, err)
	}
	r, err := copyRecord(name, int32(partition), key, keyLen, value, valueLen, headers, headersLen, timestampMs)
	if err != nil {
		return fill(errOut, err)
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

// copyRecords copies the packed records buffer (the producer keeps the
// records beyond the call) and unpacks it; records alias the copy.
func copyRecords(records *C.uint8_t, recordsLen C.size_t, count C.int32_t, topic string, partition int32) ([]*core.Record, error) {
	if count < 0 {
		return nil, invalid("count %d is negative", int(count))
	}
	buf, err := borrow(unsafe.Pointer(records), sizeArg(recordsLen))
	if err != nil {
		return nil, err
	}
	s := getSlab(min(int(count), len(buf)/16), len(buf), false) // unpackRecords refuses a larger count
	copy(s.data, buf)
	return s.recs, unpackRecords(s.data, int(count), topic, partition, s.recs)
}

//export gofka_producer_send_batch
func gofka_producer_send_batch(h C.gofka_handle_t, topic *C.char, partition C.int32_t,
	records *C.uint8_t, recordsLen C.size_t, count C.int32_t, timeoutMs C.int32_t,
	offsetsOut *C.int64_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, _, name, err := produceArgs(h, 0, topic, partition) // 0: no queue
	if err != nil {
		return fill(errOut, err)
	}
	recs, err := copyRecords(records, recordsLen, count, name, int32(partition))
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

// queueOrNil resolves an optional queue handle (0 = none).
func queueOrNil(h C.gofka_handle_t) (*core.CompletionQueue, error) {
	if h == 0 {
		return nil, nil
	}
	return queueOf(h)
}

//export gofka_producer_produce
func gofka_producer_produce(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	topic *C.char, partition C.int32_t,
	key *C.uint8_t, keyLen C.int64_t, value *C.uint8_t, valueLen C.int64_t,
	headers *C.uint8_t, headersLen C.size_t, timestampMs C.int64_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, q, r, err := produceOne(h, queue, topic, partition, key, keyLen, value, valueLen, headers, headersLen, timestampMs)
	if err != nil {
		return fill(errOut, err)
	}
	// Never blocks: a full buffer.memory is QUEUE_FULL at once (the caller
	// is an event loop, typically).
	return fill(errOut, p.ProduceTo(q, uint64(token), r))
}

//export gofka_producer_produce_wait
func gofka_producer_produce_wait(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	topic *C.char, partition C.int32_t,
	key *C.uint8_t, keyLen C.int64_t, value *C.uint8_t, valueLen C.int64_t,
	headers *C.uint8_t, headersLen C.size_t, timestampMs C.int64_t,
	maxEvents C.int32_t, timeoutMs C.int32_t, bufOut **C.uint8_t, lenOut *C.size_t, countOut *C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if queue == 0 {
		return fill(errOut, invalid("queue must not be 0: the record's event is drained from it"))
	}
	if err := checkDrainArgs(maxEvents, bufOut, countOut); err != nil {
		return fill(errOut, err)
	}
	clearDrainOut(bufOut, lenOut, countOut)
	p, q, r, err := produceOne(h, queue, topic, partition, key, keyLen, value, valueLen, headers, headersLen, timestampMs)
	if err != nil {
		return fill(errOut, err)
	}
	// One engine call: produce, then wait on q (reading the
	// acknowledgement from the leader's socket when it can).
	evs, err := p.ProduceWait(q, uint64(token), r, int(maxEvents), drainTimeout(timeoutMs))
	return fill(errOut, packDrained(evs, err, bufOut, lenOut, countOut))
}

// produceOne translates the arguments of one record's produce: the
// handles and a Record owning copies of the C buffers.
func produceOne(h C.gofka_handle_t, queue C.gofka_handle_t,
	topic *C.char, partition C.int32_t,
	key *C.uint8_t, keyLen C.int64_t, value *C.uint8_t, valueLen C.int64_t,
	headers *C.uint8_t, headersLen C.size_t, timestampMs C.int64_t) (*core.Producer, *core.CompletionQueue, *core.Record, error) {
	p, q, name, err := produceArgs(h, queue, topic, partition)
	if err != nil {
		return nil, nil, nil, err
	}
	r, err := copyRecord(name, int32(partition), key, keyLen, value, valueLen, headers, headersLen, timestampMs)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, q, r, nil
}

// batchDelivery collects the results of one gofka_producer_produce_batch
// call and posts its single event when the last record is settled.
type batchDelivery struct {
	q     *core.CompletionQueue
	token uint64
	slab  *produceSlab  // the records' memory, given back by post (capi/produce_slab.go)
	recs  []core.Record // the records, contiguous: a record's index is its position
	codes []int32
	mu    sync.Mutex // guards errs (failures only: the success path takes no lock)
	errs  []error    // nil unless a record failed
	left  atomic.Int64
}

func (d *batchDelivery) promise(r *core.Record, err error) {
	i := int((uintptr(unsafe.Pointer(r)) - uintptr(unsafe.Pointer(&d.recs[0]))) / unsafe.Sizeof(core.Record{}))
	if err != nil {
		// Each index is written by exactly one promise call, before the
		// left counter (an atomic, so a synchronizing operation) drops.
		d.codes[i] = int32(errCode(err))
		d.mu.Lock()
		if d.errs == nil {
			d.errs = make([]error, len(d.recs))
		}
		d.errs[i] = err
		d.mu.Unlock()
	}
	if d.left.Add(-1) == 0 {
		d.post()
	}
}

// post builds the payload (gofka.h: per record int32 code, int32
// partition, int64 offset; then, for each failed record in order, uint32
// length and its error payload, "message [NUL broker]" as in error events)
// and posts the event.
func (d *batchDelivery) post() {
	n := len(d.recs)
	size := packed.BatchResult.Size * n
	msgs := make([][]byte, 0, 1)
	for _, e := range d.errs {
		if e != nil {
			m := errorPayload(e) // message [NUL broker], as in events
			msgs = append(msgs, m)
			size += 4 + len(m)
		}
	}
	b := make([]byte, packed.BatchResult.Size*n, size)
	for i := range d.recs {
		packBatchResult(b[packed.BatchResult.Size*i:], d.codes[i], d.recs[i].Partition, d.recs[i].Offset)
	}
	for _, m := range msgs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
	}
	d.q.Post(core.Completion{Token: d.token, Partition: -1, Offset: -1, Payload: b})
	putSlab(d.slab) // every record is settled: the engine holds none of them
}

// Field offsets of packed.BatchResult, looked up once.
var (
	resCode      = packed.BatchResult.Offset("code")
	resPartition = packed.BatchResult.Offset("partition")
	resOffset    = packed.BatchResult.Offset("offset")
)

// packBatchResult writes one packed.BatchResult at the start of b.
func packBatchResult(b []byte, code, partition int32, offset int64) {
	binary.LittleEndian.PutUint32(b[resCode:], uint32(code))
	binary.LittleEndian.PutUint32(b[resPartition:], uint32(partition))
	binary.LittleEndian.PutUint64(b[resOffset:], uint64(offset))
}

//export gofka_producer_produce_batch
func gofka_producer_produce_batch(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	topic *C.char, partition C.int32_t, records *C.uint8_t, recordsLen C.size_t, count C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, q, name, err := produceArgs(h, queue, topic, partition)
	if err != nil {
		return fill(errOut, err)
	}
	if count < 0 {
		return fill(errOut, invalid("count %d is negative", int(count)))
	}
	buf, err := borrow(unsafe.Pointer(records), sizeArg(recordsLen))
	if err != nil {
		return fill(errOut, err)
	}
	// Pooled with a queue: the batch event says when the engine is done
	// with the records (capi/produce_slab.go).
	s := getSlab(min(int(count), len(buf)/16), len(buf), q != nil) // unpackRecords refuses a larger count
	copy(s.data, buf)
	if err := unpackRecords(s.data, int(count), name, int32(partition), s.recs); err != nil {
		putSlab(s)
		return fill(errOut, err)
	}
	return fill(errOut, produceSlabTo(p, q, uint64(token), s))
}

//export gofka_producer_produce_values
func gofka_producer_produce_values(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	topic *C.char, partition C.int32_t, lengths *C.int32_t, values *C.uint8_t, valuesLen C.size_t, count C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, q, name, err := produceArgs(h, queue, topic, partition)
	if err != nil {
		return fill(errOut, err)
	}
	if count < 0 {
		return fill(errOut, invalid("count %d is negative", int(count)))
	}
	n := int(count)
	if n > 0 && lengths == nil {
		return fill(errOut, invalid("lengths is NULL"))
	}
	blob, err := borrow(unsafe.Pointer(values), sizeArg(valuesLen))
	if err != nil {
		return fill(errOut, err)
	}
	var lens []int32
	if n > 0 {
		lens = unsafe.Slice((*int32)(unsafe.Pointer(lengths)), n)
	}
	// Check the lengths against the buffer before copying anything.
	total := 0
	for i, l := range lens {
		if l < -1 {
			return fill(errOut, invalid("lengths[%d] is %d", i, int(l)))
		}
		if l > 0 {
			total += int(l)
		}
	}
	if total != len(blob) {
		return fill(errOut, invalid("the lengths add up to %d bytes, values holds %d", total, len(blob)))
	}
	// A full buffer answers before the copy: callers retry QUEUE_FULL
	// (Python every 2 ms), and each retry would copy the whole batch.
	if err := p.ValuesRoom(n, int64(total)); err != nil {
		return fill(errOut, err)
	}
	s := getSlab(n, len(blob), q != nil) // pooled with a queue, as in produce_batch
	copy(s.data, blob)
	off := 0
	for i, l := range lens {
		r := &s.store[i]
		*r = core.Record{Topic: name, Partition: int32(partition), ManualPartition: partition >= 0}
		if l >= 0 {
			r.Value = s.data[off : off+int(l) : off+int(l)]
			off += int(l)
		}
	}
	return fill(errOut, produceSlabTo(p, q, uint64(token), s))
}

// produceArgs checks the arguments every produce and send export shares:
// the producer and optional queue handles (0: none; the sends pass 0), the
// topic and the partition.
func produceArgs(h, queue C.gofka_handle_t, topic *C.char, partition C.int32_t) (*core.Producer, *core.CompletionQueue, string, error) {
	p, err := producerOf(h)
	if err != nil {
		return nil, nil, "", err
	}
	q, err := queueOrNil(queue)
	if err != nil {
		return nil, nil, "", err
	}
	if topic == nil {
		return nil, nil, "", invalid("topic is NULL")
	}
	if err := checkPartition(partition); err != nil {
		return nil, nil, "", err
	}
	return p, q, C.GoString(topic), nil
}

// produceSlabTo buffers the records of s and, with a queue, posts one
// batch event with their results to q under token once all are settled
// (at once for an empty batch); q nil: fire and forget. s goes back to
// the pool after that event, or at once when the engine refused the
// records.
func produceSlabTo(p *core.Producer, q *core.CompletionQueue, token uint64, s *produceSlab) error {
	if len(s.recs) == 0 {
		putSlab(s)
		if q != nil {
			q.Post(core.Completion{Token: token, Partition: -1, Offset: -1, Payload: []byte{}})
		}
		return nil
	}
	var promise func(*core.Record, error)
	if q != nil {
		d := &batchDelivery{q: q, token: token, slab: s, recs: s.store, codes: s.codes}
		d.left.Store(int64(len(s.recs)))
		promise = d.promise
	}
	if err := p.ProduceBatchNow(s.recs, promise); err != nil { // never blocks: QUEUE_FULL at once
		putSlab(s) // all or nothing: no record was buffered
		return err
	}
	return nil
}

//export gofka_producer_flush
func gofka_producer_flush(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, err := producerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	ctx, cancel := timeoutCtx(timeoutMs, p.Client().Config().RequestTimeout)
	defer cancel()
	return fill(errOut, p.Flush(ctx))
}

//export gofka_producer_partition_count
func gofka_producer_partition_count(h C.gofka_handle_t, topic *C.char, timeoutMs C.int32_t,
	out *C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, err := producerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if topic == nil || out == nil {
		return fill(errOut, invalid("topic and out must not be NULL"))
	}
	ctx, cancel := timeoutCtx(timeoutMs, p.Client().Config().RequestTimeout)
	defer cancel()
	n, err := p.PartitionCount(ctx, C.GoString(topic))
	if err != nil {
		return fill(errOut, err)
	}
	*out = C.int32_t(n)
	return fill(errOut, nil)
}

//export gofka_producer_close
func gofka_producer_close(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, closeSync(producers, h, timeoutMs, requestTimeout))
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

// unpackRecords decodes count packed records into recs (len(recs) ==
// count unless count does not fit, which it refuses; produce_batch's
// records point into one contiguous array, by which it finds a record's
// index). The records alias b.
func unpackRecords(b []byte, count int, topic string, partition int32, recs []*core.Record) error {
	if count > len(b)/16 {
		return invalid("packed records: count %d does not fit in %d bytes", count, len(b))
	}
	r := &packedReader{b: b}
	for _, rec := range recs {
		*rec = core.Record{Topic: topic, Partition: partition, ManualPartition: partition >= 0}
		rec.Key = r.bytes()
		rec.Value = r.bytes()
		rec.TimestampMs, rec.TimestampMsSet = r.int64(), true // checked by core when produced
		hlen := r.int32()
		if hlen < 0 || int(hlen) > len(r.b) {
			r.fail()
		}
		if r.err != nil {
			return r.err
		}
		if hlen > 0 {
			hs, err := unpackHeaders(r.b[:hlen])
			if err != nil {
				return err
			}
			rec.Headers = hs
			r.b = r.b[hlen:]
		}
	}
	if len(r.b) != 0 {
		return invalid("packed records: %d trailing bytes after %d records", len(r.b), count)
	}
	return nil
}
