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

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// The share consumer's C functions (gofka.h, "Share consumer") translate
// between the packed formats and core.ShareConsumer, which makes every
// decision (acknowledgement modes, sessions, what a close releases). A
// poll packs its records in the consumer's messages format followed by
// their delivery counts, so bindings reuse the consumer's decoder.

func shareConsumerOf(h C.gofka_handle_t) (*core.ShareConsumer, error) {
	return handleOf[*core.ShareConsumer](h, kindShareConsumer)
}

//export gofka_share_consumer_new
func gofka_share_consumer_new(config *C.char, out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, newFromConfig(config, out, kindShareConsumer, core.NewShareConsumerFromProperties))
}

//export gofka_share_consumer_subscribe
func gofka_share_consumer_subscribe(h C.gofka_handle_t, topics *C.char, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	c, err := shareConsumerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if topics == nil {
		return fill(errOut, invalid("topics must not be NULL"))
	}
	var names []string
	for _, t := range strings.Split(C.GoString(topics), "\n") {
		if t != "" {
			names = append(names, t)
		}
	}
	return fill(errOut, c.Subscribe(names...))
}

// packSharePoll is the share messages format of recs: the messages format
// (no events) followed by one int32 delivery count per message.
func packSharePoll(recs []*core.ShareRecord) []byte {
	plain := make([]*core.Record, len(recs))
	for i, r := range recs {
		plain[i] = &r.Record
	}
	size, heads, names, index := pollLayout(plain, nil)
	b := make([]byte, size+4*len(recs))
	packPoll(b[:size], heads, plain, nil, names, index)
	for i, r := range recs {
		binary.LittleEndian.PutUint32(b[size+4*i:], uint32(int32(r.DeliveryCount)))
	}
	return b
}

// sharePoll is one Poll bounded by ctx, packed (nil when nothing came).
func sharePoll(ctx context.Context, c *core.ShareConsumer, maxMessages C.int32_t) ([]byte, int, error) {
	recs, err := c.Poll(ctx, int(maxMessages))
	if err != nil || len(recs) == 0 {
		return nil, 0, err
	}
	return packSharePoll(recs), len(recs), nil
}

//export gofka_share_consumer_poll
func gofka_share_consumer_poll(h C.gofka_handle_t, maxMessages C.int32_t, timeoutMs C.int32_t,
	bufOut **C.uint8_t, lenOut *C.size_t, countOut *C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	c, err := shareConsumerOf(h)
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
	ctx, cancel := timeoutCtx(max(timeoutMs, 0), 0)
	defer cancel()
	b, n, err := sharePoll(ctx, c, maxMessages)
	if err != nil || b == nil {
		return fill(errOut, err)
	}
	if err := bufferOut(b, bufOut, lenOut); err != nil {
		return fill(errOut, err)
	}
	*countOut = C.int32_t(n)
	return fill(errOut, nil)
}

//export gofka_share_consumer_poll_async
func gofka_share_consumer_poll_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t,
	maxMessages C.int32_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(shareConsumers, h, queue, token, max(timeoutMs, 0), noDefault, func(c *core.ShareConsumer) (callOp, error) {
		if maxMessages <= 0 {
			return nil, invalid("max_messages must be positive, got %d", int(maxMessages))
		}
		return func(ctx context.Context) ([]byte, int64, error) {
			b, n, err := sharePoll(ctx, c, maxMessages)
			return b, int64(n), err
		}, nil
	}))
}

//export gofka_share_consumer_acknowledge
func gofka_share_consumer_acknowledge(h C.gofka_handle_t, topic *C.char, partition C.int32_t, offset C.int64_t,
	ackType C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	c, err := shareConsumerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if topic == nil {
		return fill(errOut, invalid("topic must not be NULL"))
	}
	// The type's range is checked by core (Acknowledge): only accept,
	// release and reject pass; the int8 conversion must not wrap into one.
	t := core.AcknowledgeType(-1)
	if ackType >= -128 && ackType <= 127 {
		t = core.AcknowledgeType(ackType)
	}
	return fill(errOut, c.AcknowledgeOffset(C.GoString(topic), int32(partition), int64(offset), t))
}

// packAckResults is the acknowledgement results format of gofka.h.
func packAckResults(res []core.ShareAckResult) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, uint32(len(res)))
	for _, r := range res {
		b = le.AppendUint32(b, uint32(len(r.Topic)))
		b = append(b, r.Topic...)
		b = le.AppendUint32(b, uint32(r.Partition))
		b = le.AppendUint64(b, uint64(r.Offset))
		b = le.AppendUint32(b, uint32(int32(r.Type)))
		b = le.AppendUint32(b, uint32(int32(wire.CodeOf(r.Err))))
	}
	return b
}

// shareCommitPrep commits the acknowledgements: the result is in the
// acknowledgement results format, the event's offset their count.
var shareCommitPrep = func(c *core.ShareConsumer) (callOp, error) {
	return func(ctx context.Context) ([]byte, int64, error) {
		res, err := c.Commit(ctx)
		if err != nil {
			return nil, -1, err
		}
		return packAckResults(res), int64(len(res)), nil
	}, nil
}

//export gofka_share_consumer_commit
func gofka_share_consumer_commit(h C.gofka_handle_t, timeoutMs C.int32_t, bufOut **C.uint8_t, lenOut *C.size_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callOut(shareConsumers, h, timeoutMs, requestTimeout, shareCommitPrep, u8Out(bufOut), lenOut, "buf_out"))
}

//export gofka_share_consumer_commit_async
func gofka_share_consumer_commit_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t, timeoutMs C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(shareConsumers, h, queue, token, timeoutMs, requestTimeout, shareCommitPrep))
}

//export gofka_share_consumer_close
func gofka_share_consumer_close(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, closeSync(shareConsumers, h, timeoutMs, requestTimeout))
}

//export gofka_share_consumer_close_async
func gofka_share_consumer_close_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t, timeoutMs C.int32_t,
	errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, closeAsync(shareConsumers, h, queue, token, timeoutMs, requestTimeout))
}
