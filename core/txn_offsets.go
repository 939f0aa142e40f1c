package core

// Consumer offsets inside a transaction (consume-transform-produce):
// SendOffsetsToTransaction (AddOffsetsToTxn to the transaction
// coordinator, then TxnOffsetCommit to the group coordinator) and the
// consumer's group metadata it needs (KIP-447: the group coordinator fences
// a zombie member's commits by generation and member id, so one
// transactional producer can serve a whole group).

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/gofka/gofka/wire"
)

// GroupMetadata identifies a consumer's group membership for
// SendOffsetsToTransaction. Take it from Consumer.GroupMetadata right
// before sending the offsets: it changes at every rebalance.
type GroupMetadata struct {
	GroupID string
	// GenerationID is the classic protocol's generation or the consumer
	// protocol's member epoch; -1 when the consumer is not a member.
	GenerationID    int32
	MemberID        string  // "" when the consumer is not a member
	GroupInstanceID *string // group.instance.id of a static member, else nil
}

// GroupMetadata returns the consumer's group membership now, for
// SendOffsetsToTransaction. A consumer without a subscription (Assign) or
// not joined yet has generation -1 and no member id: the coordinator then
// commits without fencing zombies. Safe for concurrent use.
func (c *Consumer) GroupMetadata() GroupMetadata {
	md := GroupMetadata{GroupID: c.cfg.GroupID, GenerationID: -1}
	c.mu.Lock()
	g := c.group
	c.mu.Unlock()
	if g != nil {
		md.GenerationID, md.MemberID, md.GroupInstanceID = g.identity()
	}
	return md
}

// SendOffsetsToTransaction adds the group's offsets (the next offset to
// consume of each partition, as Consumer.CommitOffsets takes them) to the
// current transaction: the group's committed offsets change when, and
// only when, the transaction commits. group comes from the consumer's
// GroupMetadata. Errors: a TxnError when the transaction must be aborted
// (e.g. the member was fenced by a rebalance: ILLEGAL_GENERATION,
// UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) or the producer closed; TIMED_OUT
// when ctx ends (delivery.timeout.ms when it has no deadline), after which
// it may be called again.
func (p *Producer) SendOffsetsToTransaction(ctx context.Context, offsets map[TopicPartition]int64, group GroupMetadata) error {
	t, err := p.txnOf("SendOffsetsToTransaction")
	if err != nil {
		return err
	}
	if group.GroupID == "" {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "SendOffsetsToTransaction: empty group id"}
	}
	for tp, off := range offsets {
		if tp.Topic == "" || tp.Partition < 0 || off < 0 {
			return &wire.Error{Code: wire.ErrInvalidArgument,
				Detail: fmt.Sprintf("SendOffsetsToTransaction: invalid offset %d for %s/%d", off, tp.Topic, tp.Partition)}
		}
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	t.mu.Lock()
	if t.state != txnInTransaction {
		s, terr := t.state, t.err
		t.mu.Unlock()
		if terr != nil {
			return terr
		}
		return txnStateError("SendOffsetsToTransaction", s)
	}
	added := t.groups[group.GroupID]
	t.mu.Unlock()
	if len(offsets) == 0 {
		return nil
	}
	ctx, cancel := p.txnBound(ctx)
	defer cancel()
	pid, epoch := p.idem.current()
	v2 := t.v2.Load()
	if !added && !v2 { // v2: TxnOffsetCommit v5 adds the group itself
		_, err := t.call(ctx, "AddOffsetsToTxn", func() wire.Request {
			return &wire.AddOffsetsToTxnRequest{TransactionalId: t.id, ProducerId: pid, ProducerEpoch: epoch, GroupId: group.GroupID}
		}, func(r wire.Response) wire.ErrorCode {
			return wire.ErrorCode(r.(*wire.AddOffsetsToTxnResponse).ErrorCode)
		})
		if err != nil {
			return t.fail(err, true)
		}
	}
	err = t.txnOffsetCommit(ctx, pid, epoch, offsets, group, v2)
	if err == nil || v2 {
		// v2: a failed commit may still have added the group; EndTxn
		// sorts it out either way.
		t.mu.Lock()
		if t.groups == nil {
			t.groups = make(map[string]bool)
		}
		t.groups[group.GroupID] = true
		t.mu.Unlock()
	}
	if err != nil {
		return t.fail(err, true)
	}
	return nil
}

// txnOffsetCommit sends the offsets to the group coordinator, retrying
// coordinator moves, loading coordinators and partitions whose commit must
// be retried, until ctx ends.
func (t *txnManager) txnOffsetCommit(ctx context.Context, pid int64, epoch int16, offsets map[TopicPartition]int64, group GroupMetadata, v2 bool) error {
	p := t.p
	left := make(map[TopicPartition]int64, len(offsets))
	for tp, o := range offsets {
		left[tp] = o
	}
	coord := -1
	var last error
	for attempt := 0; len(left) > 0; attempt++ {
		if attempt > 0 {
			if err := p.cfg.Retry.wait(ctx, min(attempt-1, 4)); err != nil {
				detail := "TxnOffsetCommit: " + err.Error()
				if last != nil {
					detail += "; last error: " + last.Error()
				}
				return &wire.Error{Code: wire.ErrTimedOut, Detail: detail}
			}
		}
		if coord < 0 {
			node, err := p.cl.findCoordinator(ctx, group.GroupID, wire.FindCoordinatorKeyTypeGroup, "group "+group.GroupID)
			if err != nil {
				last = keepCause(ctx, last, err)
				var werr *wire.Error
				if errors.As(err, &werr) && !werr.Code.Retriable() && !txnRetryCode(werr.Code) {
					return err // the coordinator's answer, final
				}
				continue
			}
			coord = int(node)
		}
		req := &wire.TxnOffsetCommitRequest{TransactionalId: t.id, GroupId: group.GroupID, ProducerId: pid, ProducerEpoch: epoch,
			GenerationId: group.GenerationID, MemberId: group.MemberID, GroupInstanceId: group.GroupInstanceID}
		tps := make([]TopicPartition, 0, len(left))
		for tp := range left {
			tps = append(tps, tp)
		}
		sort.Slice(tps, func(i, j int) bool {
			if tps[i].Topic != tps[j].Topic {
				return tps[i].Topic < tps[j].Topic
			}
			return tps[i].Partition < tps[j].Partition
		})
		for _, tp := range tps {
			part := wire.TxnOffsetCommitRequestPartition{PartitionIndex: tp.Partition, CommittedOffset: left[tp], CommittedLeaderEpoch: -1}
			if n := len(req.Topics); n > 0 && req.Topics[n-1].Name == tp.Topic {
				req.Topics[n-1].Partitions = append(req.Topics[n-1].Partitions, part)
			} else {
				req.Topics = append(req.Topics, wire.TxnOffsetCommitRequestTopic{Name: tp.Topic, Partitions: []wire.TxnOffsetCommitRequestPartition{part}})
			}
		}
		// v5 (v2 only: it adds the group to the transaction), else v4 at
		// most, as a transaction protocol v1 client.
		var wreq wire.Request = req
		if !v2 {
			wreq = versionCap{req, 4}
		}
		resp, err := p.cl.Request(ctx, int32(coord), wreq)
		if err != nil {
			last = keepCause(ctx, last, err)
			coord = -1
			continue
		}
		for _, tr := range resp.(*wire.TxnOffsetCommitResponse).Topics {
			for _, pr := range tr.Partitions {
				tp := TopicPartition{tr.Name, pr.PartitionIndex}
				if _, ok := left[tp]; !ok {
					continue
				}
				code := wire.ErrorCode(pr.ErrorCode)
				switch {
				case code == wire.ErrNone:
					delete(left, tp)
				case coordinatorError(code):
					coord = -1
					last = &wire.Error{Code: code, Detail: "TxnOffsetCommit"}
				case txnRetryCode(code) || code == wire.ErrUnknownTopicOrPartition || code.Retriable():
					last = &wire.Error{Code: code, Detail: fmt.Sprintf("TxnOffsetCommit %s/%d", tp.Topic, tp.Partition)}
				default:
					// ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID
					// (a rebalance fenced this member), authorization,
					// fencing of the producer: not retried.
					return &wire.Error{Code: code, Detail: fmt.Sprintf("TxnOffsetCommit %s/%d (group %s)", tp.Topic, tp.Partition, group.GroupID)}
				}
			}
		}
	}
	return nil
}
