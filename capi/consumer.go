package main

/*
#define GOFKA_TYPES_ONLY
#include <stdlib.h>
#include "gofka.h"
*/
import "C"

import (
	"context"
	"encoding/binary"
	"strings"
	"time"
	"unsafe"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/internal/packed"
	"github.com/gofka/gofka/wire"
)

// The consumer's C functions translate between the packed formats of
// gofka.h ("Consumer" section) and core.Consumer. Poll packs every record
// and rebalance event of one call into one buffer, so a batch costs one
// crossing of the boundary.

// consumerOf resolves a consumer handle. A blocking gofka_consumer_poll
// waits in the kernel (core.Consumer.PollWait), so a poll from a foreign
// thread does not park a locked goroutine.
func consumerOf(h C.gofka_handle_t) (*core.Consumer, error) {
	return handleOf[*core.Consumer](h, kindConsumer)
}

// consumerPrep decodes an export's inputs for consumer c (see prep).
type consumerPrep = prep[*core.Consumer]

//export gofka_consumer_new
func gofka_consumer_new(config *C.char, out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, newFromConfig(config, out, kindConsumer, core.NewConsumerFromProperties))
}

//export gofka_consumer_connect
func gofka_consumer_connect(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callSync(consumers, h, timeoutMs, dialTimeout, connectPrep))
}

//export gofka_consumer_connect_async
func gofka_consumer_connect_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t, timeoutMs C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(consumers, h, queue, token, timeoutMs, dialTimeout, connectPrep))
}

var connectPrep = noInputs(func(c *core.Consumer) func(context.Context) error { return c.Connect })

// subscribePrep validates the subscription arguments.
func subscribePrep(topics, pattern *C.char) consumerPrep {
	return func(c *core.Consumer) (callOp, error) {
		switch {
		case topics != nil && pattern != nil:
			return nil, invalid("give topics or a pattern, not both")
		case pattern != nil:
			p := C.GoString(pattern)
			return errOnly(func(ctx context.Context) error { return c.SubscribePattern(ctx, p) }), nil
		case topics != nil:
			var names []string
			for _, t := range strings.Split(C.GoString(topics), "\n") {
				if t != "" {
					names = append(names, t)
				}
			}
			if len(names) == 0 {
				return nil, invalid("no topics given")
			}
			return errOnly(func(ctx context.Context) error { return c.Subscribe(ctx, names...) }), nil
		}
		return nil, invalid("topics and pattern are both NULL")
	}
}

//export gofka_consumer_subscribe
func gofka_consumer_subscribe(h C.gofka_handle_t, topics *C.char, pattern *C.char, timeoutMs C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callSync(consumers, h, timeoutMs, requestTimeout, subscribePrep(topics, pattern)))
}

//export gofka_consumer_subscribe_async
func gofka_consumer_subscribe_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	topics *C.char, pattern *C.char, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(consumers, h, queue, token, timeoutMs, requestTimeout, subscribePrep(topics, pattern)))
}

//export gofka_consumer_unsubscribe
func gofka_consumer_unsubscribe(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callSync(consumers, h, timeoutMs, requestTimeout, unsubscribePrep))
}

//export gofka_consumer_unsubscribe_async
func gofka_consumer_unsubscribe_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t, timeoutMs C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(consumers, h, queue, token, timeoutMs, requestTimeout, unsubscribePrep))
}

var unsubscribePrep = noInputs(func(c *core.Consumer) func(context.Context) error { return c.Unsubscribe })

// ---- poll ----

// msgHeadSize is the fixed part of one message in the messages format.
var msgHeadSize = packed.MessageHead.Size

// Field offsets of packed.MessageHead and packed.PollHeader, looked up
// once (packPoll runs per message).
var (
	mhTopicIndex   = packed.MessageHead.Offset("topic_index")
	mhPartition    = packed.MessageHead.Offset("partition")
	mhOffset       = packed.MessageHead.Offset("offset")
	mhTimestamp    = packed.MessageHead.Offset("timestamp_ms")
	mhKey          = packed.MessageHead.Offset("key_start") // key_end follows
	mhValue        = packed.MessageHead.Offset("value_start")
	mhHeadersStart = packed.MessageHead.Offset("headers_start")
	mhHeadersEnd   = packed.MessageHead.Offset("headers_end")
	phMessages     = packed.PollHeader.Offset("message_count")
	phEvents       = packed.PollHeader.Offset("event_count")
	phTopics       = packed.PollHeader.Offset("topic_count")
)

// pollLayout returns the size of the messages format for recs and evs,
// where the heads start, and the topic table (names in index order, index
// by name).
func pollLayout(recs []*core.Record, evs []core.RebalanceEvent) (size, heads int, names []string, index map[string]int32) {
	index = map[string]int32{}
	size = packed.PollHeader.Size
	addTopic := func(t string) {
		if _, ok := index[t]; !ok {
			index[t] = int32(len(names))
			names = append(names, t)
			size += 4 + len(t)
		}
	}
	for _, ev := range evs {
		size += 8 + 8*len(ev.Partitions)
		for _, tp := range ev.Partitions {
			addTopic(tp.Topic)
		}
	}
	last := ""
	data := 0
	for _, r := range recs {
		if r.Topic != last {
			addTopic(r.Topic)
			last = r.Topic
		}
		data += len(r.Key) + len(r.Value)
		if len(r.Headers) > 0 {
			data += headersSize(r.Headers)
		}
	}
	heads = size
	size += msgHeadSize*len(recs) + data
	return size, heads, names, index
}

func headersSize(hs []wire.Header) int {
	n := 4
	for _, h := range hs {
		n += 8 + len(h.Key) + len(h.Value)
	}
	return n
}

// packPoll writes recs and evs in the messages format of gofka.h into b,
// which must have the size pollLayout returned (heads as it returned).
func packPoll(b []byte, heads int, recs []*core.Record, evs []core.RebalanceEvent, names []string, index map[string]int32) {
	le := binary.LittleEndian
	le.PutUint32(b[phMessages:], uint32(len(recs)))
	le.PutUint32(b[phEvents:], uint32(len(evs)))
	le.PutUint32(b[phTopics:], uint32(len(names)))
	o := packed.PollHeader.Size
	for _, t := range names {
		le.PutUint32(b[o:], uint32(len(t)))
		o += 4 + copy(b[o+4:], t)
	}
	for _, ev := range evs {
		le.PutUint32(b[o:], uint32(ev.Kind))
		le.PutUint32(b[o+4:], uint32(len(ev.Partitions)))
		o += 8
		for _, tp := range ev.Partitions {
			le.PutUint32(b[o:], uint32(index[tp.Topic]))
			le.PutUint32(b[o+4:], uint32(tp.Partition))
			o += 8
		}
	}
	h := heads                         // next head
	d := heads + msgHeadSize*len(recs) // next data byte
	last, lastIdx := "", int32(0)
	// span writes the [start, end) of one field (-1, -1 for null) and
	// copies its bytes into the data region.
	span := func(at int, v []byte, null bool) {
		if null {
			le.PutUint32(b[at:], 0xffffffff)
			le.PutUint32(b[at+4:], 0xffffffff)
			return
		}
		le.PutUint32(b[at:], uint32(d))
		d += copy(b[d:], v)
		le.PutUint32(b[at+4:], uint32(d))
	}
	for _, r := range recs {
		if r.Topic != last {
			last, lastIdx = r.Topic, index[r.Topic]
		}
		le.PutUint32(b[h+mhTopicIndex:], uint32(lastIdx))
		le.PutUint32(b[h+mhPartition:], uint32(r.Partition))
		le.PutUint64(b[h+mhOffset:], uint64(r.Offset))
		le.PutUint64(b[h+mhTimestamp:], uint64(r.Timestamp.UnixMilli()))
		span(h+mhKey, r.Key, r.Key == nil)
		span(h+mhValue, r.Value, r.Value == nil)
		if len(r.Headers) == 0 {
			span(h+mhHeadersStart, nil, true)
		} else {
			le.PutUint32(b[h+mhHeadersStart:], uint32(d))
			le.PutUint32(b[d:], uint32(len(r.Headers)))
			d += 4
			for _, hd := range r.Headers {
				le.PutUint32(b[d:], uint32(len(hd.Key)))
				d += 4 + copy(b[d+4:], hd.Key)
				le.PutUint32(b[d:], nullableLen(hd.Value))
				d += 4 + copy(b[d+4:], hd.Value)
			}
			le.PutUint32(b[h+mhHeadersEnd:], uint32(d))
		}
		h += msgHeadSize
	}
}

func nullableLen(b []byte) uint32 {
	if b == nil {
		return 0xffffffff // -1
	}
	return uint32(len(b))
}

//export gofka_consumer_poll
func gofka_consumer_poll(h C.gofka_handle_t, maxMessages C.int32_t, timeoutMs C.int32_t,
	bufOut **C.uint8_t, lenOut *C.size_t, countOut *C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	c, err := consumerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if bufOut == nil || countOut == nil {
		return fill(errOut, invalid("buf_out and count_out must not be NULL"))
	}
	*bufOut, *countOut = nil, 0
	if lenOut != nil {
		*lenOut = 0
	}
	if maxMessages <= 0 {
		return fill(errOut, invalid("max_messages must be positive, got %d", int(maxMessages)))
	}
	// The records are only lent until the closure returns (PollWaitFunc):
	// packPoll copies them out, and their memory is reused.
	var packErr error
	err = c.PollWaitFunc(int(maxMessages), time.Duration(max(timeoutMs, 0))*time.Millisecond,
		func(recs []*core.Record, evs []core.RebalanceEvent) {
			size, heads, names, index := pollLayout(recs, evs)
			p := C.malloc(C.size_t(size))
			if p == nil {
				packErr = &wire.Error{Code: wire.ErrLocalUnknown, Detail: "out of memory"}
				return
			}
			packPoll(unsafe.Slice((*byte)(p), size), heads, recs, evs, names, index)
			*bufOut = (*C.uint8_t)(p)
			*countOut = C.int32_t(len(recs))
			if lenOut != nil {
				*lenOut = C.size_t(size)
			}
		})
	if err == nil {
		err = packErr
	}
	return fill(errOut, err)
}

//export gofka_consumer_poll_async
func gofka_consumer_poll_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	maxMessages C.int32_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(consumers, h, queue, token, max(timeoutMs, 0), noDefault, func(c *core.Consumer) (callOp, error) {
		if maxMessages <= 0 {
			return nil, invalid("max_messages must be positive, got %d", int(maxMessages))
		}
		return func(ctx context.Context) ([]byte, int64, error) {
			// The records are only lent until the closure returns
			// (PollEventsFunc): packPoll copies them out.
			var b []byte
			var n int64
			err := c.PollEventsFunc(ctx, int(maxMessages), func(recs []*core.Record, evs []core.RebalanceEvent) {
				size, heads, names, index := pollLayout(recs, evs)
				b = make([]byte, size)
				packPoll(b, heads, recs, evs, names, index)
				n = int64(len(recs))
			})
			if err != nil {
				return nil, 0, err
			}
			return b, n, nil
		}, nil
	}))
}

// ---- partitions and offsets ----

// readPartitions decodes the partitions format.
func readPartitions(p *C.uint8_t, n C.size_t) ([]core.TopicPartition, error) {
	b, err := borrow(unsafe.Pointer(p), sizeArg(n))
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, nil
	}
	r := &packedReader{b: b}
	count := r.int32()
	if count < 0 || int(count) > len(b)/8 {
		return nil, invalid("packed partitions: bad count %d", count)
	}
	out := make([]core.TopicPartition, count)
	for i := range out {
		out[i].Topic = string(r.bytes())
		out[i].Partition = r.int32()
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return out, r.err
}

// offsetEntry is one entry of the offsets format.
type offsetEntry struct {
	tp        core.TopicPartition
	offset    int64
	timestamp int64
}

func readOffsets(p *C.uint8_t, n C.size_t) ([]offsetEntry, error) {
	b, err := borrow(unsafe.Pointer(p), sizeArg(n))
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, nil
	}
	r := &packedReader{b: b}
	count := r.int32()
	if count < 0 || int(count) > len(b)/24 {
		return nil, invalid("packed offsets: bad count %d", count)
	}
	out := make([]offsetEntry, count)
	for i := range out {
		out[i].tp.Topic = string(r.bytes())
		out[i].tp.Partition = r.int32()
		out[i].offset = r.int64()
		out[i].timestamp = r.int64()
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	return out, r.err
}

func packPartitions(tps []core.TopicPartition) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(tps)))
	for _, tp := range tps {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(tp.Topic)))
		b = append(b, tp.Topic...)
		b = binary.LittleEndian.AppendUint32(b, uint32(tp.Partition))
	}
	return b
}

func packOffsets(es []offsetEntry) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(es)))
	for _, e := range es {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e.tp.Topic)))
		b = append(b, e.tp.Topic...)
		b = binary.LittleEndian.AppendUint32(b, uint32(e.tp.Partition))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.offset))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.timestamp))
	}
	return b
}

// bufferOut stores b as a malloc'ed result (see cBuffer).
func bufferOut(b []byte, out **C.uint8_t, outLen *C.size_t) error {
	return cBuffer(b, u8Out(out), outLen)
}

// u8Out views a uint8_t buffer output as the char one cBuffer fills.
func u8Out(out **C.uint8_t) **C.char { return (**C.char)(unsafe.Pointer(out)) }

// ---- commit ----

// commitArgs decodes the commit arguments: explicit offsets (nil: none),
// plus (all != 0) the consumed position of every other assigned
// partition; an error when there is nothing to commit.
func commitArgs(offsets *C.uint8_t, offsetsLen C.size_t, all C.int32_t) (map[core.TopicPartition]int64, error) {
	es, err := readOffsets(offsets, offsetsLen)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 && all == 0 {
		return nil, invalid("nothing to commit: no offsets and all is 0")
	}
	if len(es) == 0 {
		return nil, nil
	}
	explicit := make(map[core.TopicPartition]int64, len(es))
	for _, e := range es {
		explicit[e.tp] = e.offset
	}
	return explicit, nil
}

// withConsumed is explicit over the consumed positions (all != 0) or
// explicit alone.
func withConsumed(c *core.Consumer, explicit map[core.TopicPartition]int64, all C.int32_t) map[core.TopicPartition]int64 {
	if all == 0 {
		return explicit
	}
	m := c.Consumed()
	for tp, off := range explicit {
		m[tp] = off
	}
	return m
}

// commitPrep is the prep of the blocking commit.
func commitPrep(offsets *C.uint8_t, offsetsLen C.size_t, all C.int32_t) consumerPrep {
	return func(c *core.Consumer) (callOp, error) {
		explicit, err := commitArgs(offsets, offsetsLen, all)
		if err != nil {
			return nil, err
		}
		if explicit == nil {
			return errOnly(c.Commit), nil
		}
		return errOnly(func(ctx context.Context) error {
			return c.CommitOffsets(ctx, withConsumed(c, explicit, all))
		}), nil
	}
}

// commitAsync is the body of gofka_consumer_commit_async: the checks of
// callAsync, then core's non-waiting commit (Consumer.CommitAsync), whose
// outcome is posted to the queue by whichever engine goroutine settles it
// (the reader of the response, usually): no goroutine of ours waits for
// the commit, as runAsync's would.
func commitAsync(h, queue C.gofka_handle_t, token C.uint64_t, offsets *C.uint8_t, offsetsLen C.size_t, all C.int32_t,
	timeoutMs C.int32_t) error {
	c, err := handleOf[*core.Consumer](h, kindConsumer)
	if err != nil {
		return err
	}
	q, err := queueOf(queue)
	if err != nil {
		return err
	}
	explicit, err := commitArgs(offsets, offsetsLen, all)
	if err != nil {
		return err
	}
	ctx, cancel := timeoutCtx(timeoutMs, requestTimeout(c))
	tok := uint64(token)
	done := func(err error) {
		cancel()
		if err != nil {
			q.Post(errorCompletion(tok, err))
			return
		}
		q.Post(core.Completion{Token: tok, Partition: -1, Offset: -1})
	}
	if explicit == nil {
		c.CommitAsync(ctx, done)
	} else {
		c.CommitOffsetsAsync(ctx, withConsumed(c, explicit, all), done)
	}
	return nil
}

//export gofka_consumer_commit
func gofka_consumer_commit(h C.gofka_handle_t, offsets *C.uint8_t, offsetsLen C.size_t, all C.int32_t,
	timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callSync(consumers, h, timeoutMs, requestTimeout, commitPrep(offsets, offsetsLen, all)))
}

//export gofka_consumer_commit_async
func gofka_consumer_commit_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	offsets *C.uint8_t, offsetsLen C.size_t, all C.int32_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, commitAsync(h, queue, token, offsets, offsetsLen, all, timeoutMs))
}

// ---- assignment and positions ----

// withPartitions is the body of the exports that apply a partitions list
// to the consumer at once, without I/O (assign, pause, resume).
func withPartitions(h C.gofka_handle_t, partitions *C.uint8_t, partitionsLen C.size_t,
	fn func(c *core.Consumer, tps []core.TopicPartition) error) error {
	c, err := consumerOf(h)
	if err != nil {
		return err
	}
	tps, err := readPartitions(partitions, partitionsLen)
	if err != nil {
		return err
	}
	return fn(c, tps)
}

//export gofka_consumer_assign
func gofka_consumer_assign(h C.gofka_handle_t, partitions *C.uint8_t, partitionsLen C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, withPartitions(h, partitions, partitionsLen, (*core.Consumer).Assign))
}

//export gofka_consumer_assignment
func gofka_consumer_assignment(h C.gofka_handle_t, bufOut **C.uint8_t, lenOut *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	c, err := consumerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	return fill(errOut, bufferOut(packPartitions(c.Assignment()), bufOut, lenOut))
}

//export gofka_consumer_seek
func gofka_consumer_seek(h C.gofka_handle_t, offsets *C.uint8_t, offsetsLen C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	c, err := consumerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	es, err := readOffsets(offsets, offsetsLen)
	if err != nil {
		return fill(errOut, err)
	}
	for _, e := range es {
		if err := c.Seek(e.tp, e.offset); err != nil {
			return fill(errOut, err)
		}
	}
	return fill(errOut, nil)
}

//export gofka_consumer_position
func gofka_consumer_position(h C.gofka_handle_t, partitions *C.uint8_t, partitionsLen C.size_t, timeoutMs C.int32_t,
	bufOut **C.uint8_t, lenOut *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	c, err := consumerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	tps, err := readPartitions(partitions, partitionsLen)
	if err != nil {
		return fill(errOut, err)
	}
	ctx, cancel := timeoutCtx(timeoutMs, c.Client().Config().RequestTimeout)
	defer cancel()
	es := make([]offsetEntry, len(tps))
	for i, tp := range tps {
		off, err := c.Position(ctx, tp)
		if err != nil {
			return fill(errOut, err)
		}
		es[i] = offsetEntry{tp: tp, offset: off, timestamp: -1}
	}
	return fill(errOut, bufferOut(packOffsets(es), bufOut, lenOut))
}

// committedPrep: the committed offsets of the partitions given, in the
// offsets format.
func committedPrep(partitions *C.uint8_t, partitionsLen C.size_t) consumerPrep {
	return func(c *core.Consumer) (callOp, error) {
		tps, err := readPartitions(partitions, partitionsLen)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) ([]byte, int64, error) {
			m, err := c.Committed(ctx, tps)
			if err != nil {
				return nil, -1, err
			}
			es := make([]offsetEntry, len(tps))
			for i, tp := range tps {
				es[i] = offsetEntry{tp: tp, offset: m[tp], timestamp: -1}
			}
			return packOffsets(es), -1, nil
		}, nil
	}
}

//export gofka_consumer_committed
func gofka_consumer_committed(h C.gofka_handle_t, partitions *C.uint8_t, partitionsLen C.size_t, timeoutMs C.int32_t,
	bufOut **C.uint8_t, lenOut *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callOut(consumers, h, timeoutMs, requestTimeout, committedPrep(partitions, partitionsLen), u8Out(bufOut), lenOut, "buf_out"))
}

//export gofka_consumer_committed_async
func gofka_consumer_committed_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	partitions *C.uint8_t, partitionsLen C.size_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(consumers, h, queue, token, timeoutMs, requestTimeout, committedPrep(partitions, partitionsLen)))
}

//export gofka_consumer_pause
func gofka_consumer_pause(h C.gofka_handle_t, partitions *C.uint8_t, partitionsLen C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, withPartitions(h, partitions, partitionsLen, func(c *core.Consumer, tps []core.TopicPartition) error { return c.Pause(tps...) }))
}

//export gofka_consumer_resume
func gofka_consumer_resume(h C.gofka_handle_t, partitions *C.uint8_t, partitionsLen C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, withPartitions(h, partitions, partitionsLen, func(c *core.Consumer, tps []core.TopicPartition) error { return c.Resume(tps...) }))
}

// offsetsForTimesPrep: for each (partition, timestamp) of the offsets
// format, the first offset at or after the timestamp and its record's
// timestamp, in the offsets format.
func offsetsForTimesPrep(times *C.uint8_t, timesLen C.size_t) consumerPrep {
	return func(c *core.Consumer) (callOp, error) {
		es, err := readOffsets(times, timesLen)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) ([]byte, int64, error) {
			want := make(map[core.TopicPartition]int64, len(es))
			for _, e := range es {
				want[e.tp] = e.timestamp
			}
			res, err := c.OffsetsForTimes(ctx, want)
			if err != nil {
				return nil, -1, err
			}
			out := make([]offsetEntry, len(es))
			for i, e := range es {
				r := res[e.tp]
				out[i] = offsetEntry{tp: e.tp, offset: r.Offset, timestamp: r.Timestamp}
			}
			return packOffsets(out), -1, nil
		}, nil
	}
}

//export gofka_consumer_offsets_for_times
func gofka_consumer_offsets_for_times(h C.gofka_handle_t, times *C.uint8_t, timesLen C.size_t, timeoutMs C.int32_t,
	bufOut **C.uint8_t, lenOut *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callOut(consumers, h, timeoutMs, requestTimeout, offsetsForTimesPrep(times, timesLen), u8Out(bufOut), lenOut, "buf_out"))
}

//export gofka_consumer_offsets_for_times_async
func gofka_consumer_offsets_for_times_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	times *C.uint8_t, timesLen C.size_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(consumers, h, queue, token, timeoutMs, requestTimeout, offsetsForTimesPrep(times, timesLen)))
}

// ---- close ----

//export gofka_consumer_close
func gofka_consumer_close(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, closeSync(consumers, h, timeoutMs, requestTimeout))
}

//export gofka_consumer_close_async
func gofka_consumer_close_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t, timeoutMs C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, closeAsync(consumers, h, queue, token, timeoutMs, requestTimeout))
}
