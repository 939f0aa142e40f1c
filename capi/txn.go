package main

// Transactions (docs/transactions.md): the transactional producer's calls
// and the consumer's group metadata they take. Only translation: the
// state machine, retries and error classification are core's
// (core/txn.go); a *core.TxnError comes back as GOFKA_ERR_TXN_ABORTABLE or
// GOFKA_ERR_TXN_FATAL (fill).

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/gofka/gofka/core"
)

// txnTimeout is the default of a negative timeout_ms of a transactional
// call: delivery.timeout.ms, core's own bound (the longest a commit's
// flush can take).
func txnTimeout(p *core.Producer, ms C.int32_t) (context.Context, context.CancelFunc) {
	return timeoutCtx(ms, p.Client().Config().DeliveryTimeout)
}

// txnCall runs one bounded transactional call of the producer h.
func txnCall(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t, call func(*core.Producer, context.Context) error) C.int32_t {
	p, err := producerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	ctx, cancel := txnTimeout(p, timeoutMs)
	defer cancel()
	return fill(errOut, call(p, ctx))
}

//export gofka_producer_init_transactions
func gofka_producer_init_transactions(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return txnCall(h, timeoutMs, errOut, (*core.Producer).InitTransactions)
}

//export gofka_producer_begin_transaction
func gofka_producer_begin_transaction(h C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, err := producerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	return fill(errOut, p.BeginTransaction())
}

//export gofka_producer_commit_transaction
func gofka_producer_commit_transaction(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return txnCall(h, timeoutMs, errOut, (*core.Producer).CommitTransaction)
}

//export gofka_producer_abort_transaction
func gofka_producer_abort_transaction(h C.gofka_handle_t, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return txnCall(h, timeoutMs, errOut, (*core.Producer).AbortTransaction)
}

//export gofka_producer_send_offsets_to_transaction
func gofka_producer_send_offsets_to_transaction(h C.gofka_handle_t, offsets *C.uint8_t, offsetsLen C.size_t,
	groupMetadata *C.char, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if groupMetadata == nil {
		return fill(errOut, invalid("group_metadata is NULL (take it from gofka_consumer_group_metadata)"))
	}
	md, err := decodeGroupMetadata(C.GoString(groupMetadata))
	if err != nil {
		return fill(errOut, err)
	}
	es, err := readOffsets(offsets, offsetsLen)
	if err != nil {
		return fill(errOut, err)
	}
	m := make(map[core.TopicPartition]int64, len(es))
	for _, e := range es {
		if _, dup := m[e.tp]; dup {
			return fill(errOut, invalid("offsets: %s/%d is listed twice", e.tp.Topic, e.tp.Partition))
		}
		m[e.tp] = e.offset // the timestamps are ignored (gofka.h)
	}
	return txnCall(h, timeoutMs, errOut, func(p *core.Producer, ctx context.Context) error {
		return p.SendOffsetsToTransaction(ctx, m, md)
	})
}

// groupMetadataJSON is the serialised form of core.GroupMetadata that
// gofka_consumer_group_metadata returns (opaque to applications: they pass
// it back unchanged).
type groupMetadataJSON struct {
	GroupID         *string `json:"group_id"`
	GenerationID    *int32  `json:"generation_id"`
	MemberID        *string `json:"member_id"`
	GroupInstanceID *string `json:"group_instance_id"`
}

func decodeGroupMetadata(s string) (core.GroupMetadata, error) {
	var j groupMetadataJSON
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil || d.More() {
		return core.GroupMetadata{}, invalid("group_metadata is not what gofka_consumer_group_metadata returns")
	}
	if j.GroupID == nil || j.GenerationID == nil || j.MemberID == nil {
		return core.GroupMetadata{}, invalid("group_metadata lacks group_id, generation_id or member_id")
	}
	return core.GroupMetadata{GroupID: *j.GroupID, GenerationID: *j.GenerationID, MemberID: *j.MemberID,
		GroupInstanceID: j.GroupInstanceID}, nil
}

//export gofka_consumer_group_metadata
func gofka_consumer_group_metadata(h C.gofka_handle_t, out **C.char, lenOut *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	c, err := consumerOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if out == nil {
		return fill(errOut, invalid("out must not be NULL"))
	}
	md := c.GroupMetadata()
	if md.GroupID == "" {
		return fill(errOut, invalid("the consumer has no group.id: its offsets cannot be sent to a transaction"))
	}
	b, err := json.Marshal(groupMetadataJSON{&md.GroupID, &md.GenerationID, &md.MemberID, md.GroupInstanceID})
	if err == nil {
		err = cBuffer(b, out, lenOut)
	}
	return fill(errOut, err)
}
