package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// coordinator caches the broker that coordinates the consumer's group.
type coordinator struct {
	c    *Consumer
	mu   sync.Mutex
	node int32 // guarded by mu; valid when known
	ok   bool  // guarded by mu
}

// get returns the coordinator's node id, asking a broker (one
// FindCoordinator round trip) when it is not cached.
func (k *coordinator) get(ctx context.Context) (int32, error) {
	k.mu.Lock()
	if k.ok {
		n := k.node
		k.mu.Unlock()
		return n, nil
	}
	k.mu.Unlock()
	group := k.c.cfg.GroupID
	node, err := k.c.cl.findCoordinator(ctx, group, wire.FindCoordinatorKeyTypeGroup, "group "+group)
	if err != nil {
		return -1, err
	}
	k.mu.Lock()
	k.node, k.ok = node, true
	k.mu.Unlock()
	return node, nil
}

// cached returns the coordinator's node id when it is known, without I/O.
func (k *coordinator) cached() (int32, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.node, k.ok
}

// invalidate forgets node as the coordinator (it moved or failed).
func (k *coordinator) invalidate(node int32) {
	k.mu.Lock()
	if k.ok && k.node == node {
		k.ok = false
	}
	k.mu.Unlock()
}

// coordinatorError reports whether code means "ask for the coordinator
// again".
func coordinatorError(code wire.ErrorCode) bool {
	return code == wire.ErrNotCoordinator || code == wire.ErrCoordinatorNotAvailable
}

// transportError reports whether err is a failure to talk to the broker
// (rather than an answer from it).
func transportError(err error) bool {
	switch wire.CodeOf(err) {
	case wire.ErrConnectionFailed, wire.ErrTimedOut, wire.ErrNoBrokersAvailable, wire.ErrCorruptResponse,
		wire.ErrBrokerNotAvailable, wire.ErrNetworkException, wire.ErrRequestTimedOut:
		return true
	}
	return false
}

// groupRequest sends req to the coordinator, retrying coordinator moves and
// transport failures until ctx ends. check returns the response's
// (top-level) error code. The calling goroutine reads the response itself
// (leasedConn.requestOwn).
func (c *Consumer) groupRequest(ctx context.Context, req wire.Request, check func(wire.Response) wire.ErrorCode) (wire.Response, error) {
	return c.groupRequestFrom(ctx, req, check, nil)
}

// groupAttempt is the outcome of a first attempt of a group request made
// without waiting (ownCommit): the coordinator it went to and its
// response or failure.
type groupAttempt struct {
	node int32
	resp wire.Response
	err  error
}

// groupRequestFrom is groupRequest whose first attempt, when first is not
// nil, was already made (its outcome is taken as that attempt's, retries
// and all, as if groupRequest had made it).
func (c *Consumer) groupRequestFrom(ctx context.Context, req wire.Request, check func(wire.Response) wire.ErrorCode,
	first *groupAttempt) (wire.Response, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := c.cfg.Retry.wait(ctx, min(attempt-1, 4)); err != nil {
				return nil, keepCause(ctx, lastErr, err)
			}
		}
		var node int32
		var resp wire.Response
		var err error
		if attempt == 0 && first != nil {
			node, resp, err = first.node, first.resp, first.err
			if err != nil {
				c.groupConn.dropDead() // as leasedConn.roundTrip does
			}
		} else {
			node, err = c.coord.get(ctx)
			if err != nil {
				lastErr = keepCause(ctx, lastErr, err)
				if ctx.Err() != nil {
					return nil, lastErr
				}
				if !(wire.CodeOf(err).Retriable() || transportError(err)) {
					return nil, err
				}
				continue
			}
			resp, err = c.groupConn.requestOwn(ctx, node, req)
		}
		if err != nil {
			c.coord.invalidate(node)
			lastErr = keepCause(ctx, lastErr, err)
			if ctx.Err() != nil {
				return nil, lastErr
			}
			continue
		}
		code := check(resp)
		switch {
		case coordinatorError(code):
			c.coord.invalidate(node)
			lastErr = &wire.Error{Code: code}
			continue
		case code == wire.ErrCoordinatorLoadInProgress:
			lastErr = &wire.Error{Code: code}
			continue
		}
		return resp, nil
	}
}

// fetchCommitted reads the group's committed offsets of tps (-1: none).
func (c *Consumer) fetchCommitted(ctx context.Context, tps []TopicPartition) (map[TopicPartition]int64, error) {
	if c.cfg.GroupID == "" {
		return nil, &wire.Error{Code: wire.ErrInvalidGroupID, Detail: "committed offsets need a group.id"}
	}
	byTopic := map[string][]int32{}
	for _, tp := range tps {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	req := &wire.OffsetFetchRequest{GroupId: c.cfg.GroupID, RequireStable: true,
		Topics: make([]wire.OffsetFetchRequestTopic, 0, len(byTopic))}
	for t, ps := range byTopic {
		req.Topics = append(req.Topics, wire.OffsetFetchRequestTopic{Name: t, PartitionIndexes: ps})
	}
	// cause: why the last answer made the call ask again (a transaction's
	// offsets pending), reported if the deadline passes before an answer.
	var cause error
	for {
		resp, err := c.groupRequest(ctx, req, func(r wire.Response) wire.ErrorCode {
			g, _ := r.(*wire.OffsetFetchResponse).Group(c.cfg.GroupID)
			return wire.ErrorCode(g.ErrorCode)
		})
		if err != nil {
			return nil, keepCause(ctx, cause, err)
		}
		g, ok := resp.(*wire.OffsetFetchResponse).Group(c.cfg.GroupID)
		if !ok {
			return nil, &wire.Error{Code: wire.ErrCorruptResponse, Detail: "offset fetch: group missing from the response"}
		}
		out := make(map[TopicPartition]int64, len(tps))
		if g.ErrorCode == int16(wire.ErrGroupIDNotFound) {
			// A group that never committed (some brokers say so rather
			// than answering -1 per partition).
			for _, tp := range tps {
				out[tp] = -1
			}
			return out, nil
		}
		if g.ErrorCode != 0 {
			return nil, &wire.Error{Code: wire.ErrorCode(g.ErrorCode), Detail: "reading committed offsets of group " + c.cfg.GroupID}
		}
		unstable := false
		var perr error
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{t.Name, p.PartitionIndex}
				switch code := wire.ErrorCode(p.ErrorCode); code {
				case wire.ErrNone:
					out[tp] = p.CommittedOffset
				case wire.ErrUnstableOffsetCommit:
					unstable = true
				default:
					if perr == nil {
						perr = &wire.Error{Code: code, Detail: "committed offset of " + tp.String()}
					}
				}
			}
		}
		if perr != nil {
			return nil, perr
		}
		if !unstable {
			for _, tp := range tps {
				if _, ok := out[tp]; !ok {
					out[tp] = -1
				}
			}
			return out, nil
		}
		// A transaction committing offsets is in progress: ask again.
		cause = &wire.Error{Code: wire.ErrUnstableOffsetCommit, Detail: "committed offsets still pending a transaction"}
		if err := c.cfg.Retry.wait(ctx, 0); err != nil {
			return nil, keepCause(ctx, cause, err)
		}
	}
}

// Committed returns the group's committed offsets of tps (-1 when a
// partition has none). The partitions need not be assigned.
func (c *Consumer) Committed(ctx context.Context, tps []TopicPartition) (map[TopicPartition]int64, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	ctx, cancel := c.cl.withTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	return c.fetchCommitted(ctx, tps)
}

// ---- commits ----

// Commit commits, for every assigned partition, the offset after the last
// record Poll returned. It returns when the coordinator has accepted them.
//
// Every commit call (Commit, CommitRecords, CommitOffsets, auto-commit)
// is safe for concurrent use and goes through one queue per consumer:
// calls made while an OffsetCommit is in flight share the next request,
// which carries per partition the offset of the latest call (the latest
// call per partition wins, in call order, even when lower). A call returns
// nil once a request carrying its offsets (or a later call's offsets of
// the same partitions) succeeded, or the error of its own partitions. A
// call whose ctx ends first returns TIMED_OUT (INTERRUPTED when
// cancelled); its offsets may still be committed by a request under way.
func (c *Consumer) Commit(ctx context.Context) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	return c.commitAll(ctx, true)
}

// CommitRecords commits, per partition, the offset after the highest of
// recs. Every partition must be assigned: a record of a partition this
// consumer no longer owns gives NOT_ASSIGNED (a group error) and nothing
// is committed, since the new owner's progress must not be overwritten.
func (c *Consumer) CommitRecords(ctx context.Context, recs ...*Record) error {
	offsets := map[TopicPartition]int64{}
	for _, r := range recs {
		tp := TopicPartition{r.Topic, r.Partition}
		if o, ok := offsets[tp]; !ok || r.Offset+1 > o {
			offsets[tp] = r.Offset + 1
		}
	}
	return c.CommitOffsets(ctx, offsets)
}

// CommitOffsets commits the given next-offsets-to-read. Partitions must be
// assigned (see CommitRecords).
func (c *Consumer) CommitOffsets(ctx context.Context, offsets map[TopicPartition]int64) error {
	if err := c.checkCommitOffsets(offsets); err != nil || len(offsets) == 0 {
		return err
	}
	ctx, cancel := c.cl.withTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	return c.commitOffsets(ctx, offsets, false)
}

// CommitAsync is Commit without waiting: done receives, once, what Commit
// would return. CommitOffsetsAsync is the same for CommitOffsets (offsets
// is not used after it returns). They are for callers that wait for many
// operations at once, such as an event loop (the C ABI's
// gofka_consumer_commit_async): with nothing in flight the request is
// written on the calling goroutine and the thread that reads its response
// calls done, so a commit per message wakes no thread but that one; calls
// made while a commit is in flight coalesce as for Commit. ctx bounds the
// call as for Commit (request.timeout.ms without a deadline); ending it
// early gives INTERRUPTED or TIMED_OUT as for Commit.
//
// done runs on an engine goroutine, possibly one that holds a broker
// connection's read role, or on the calling goroutine before the call
// returns (an immediate failure, nothing to commit): it must return
// quickly, never block on I/O or on the consumer, and not call back into
// the consumer's commits.
func (c *Consumer) CommitAsync(ctx context.Context, done func(error)) {
	if err := c.checkOpen(); err != nil {
		done(err)
		return
	}
	if c.cfg.GroupID == "" {
		done(&wire.Error{Code: wire.ErrInvalidGroupID, Detail: "commit needs a group.id"})
		return
	}
	c.commitAsync(ctx, c.positionsToCommit(nil, true), false, done)
}

// CommitOffsetsAsync: see CommitAsync.
func (c *Consumer) CommitOffsetsAsync(ctx context.Context, offsets map[TopicPartition]int64, done func(error)) {
	if err := c.checkCommitOffsets(offsets); err != nil || len(offsets) == 0 {
		done(err)
		return
	}
	offsets = maps.Clone(offsets)
	c.commitAsync(ctx, func() map[TopicPartition]int64 { return offsets }, false, done)
}

// checkCommitOffsets is what CommitOffsets checks before committing: the
// consumer is open, offsets are not negative, partitions are assigned.
func (c *Consumer) checkCommitOffsets(offsets map[TopicPartition]int64) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	if len(offsets) == 0 {
		return nil
	}
	c.mu.Lock()
	for tp, off := range offsets {
		if off < 0 {
			c.mu.Unlock()
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("commit %s: negative offset %d", tp, off)}
		}
		if p := c.parts[tp]; p == nil {
			c.mu.Unlock()
			return &wire.Error{Code: wire.ErrNotAssigned, Detail: "commit " + tp.String() + ": the partition is not assigned to this consumer"}
		}
	}
	c.mu.Unlock()
	return nil
}

// Consumed returns, per assigned partition with a known position, the
// offset after the last record Poll returned (what Commit would commit).
func (c *Consumer) Consumed() map[TopicPartition]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[TopicPartition]int64{}
	for tp, p := range c.parts {
		if p.consumed >= 0 && !p.revoking {
			out[tp] = p.consumed
		}
	}
	return out
}

// commitAll commits consumed (all) or safe (!all) positions that changed
// since the last commit.
func (c *Consumer) commitAll(ctx context.Context, all bool) error {
	return c.commitPositions(ctx, nil, all)
}

// commitPositions commits the positions of the assigned partitions that
// keep passes (nil: all of them): consumed when all is true, else safe
// (then as a background commit, which never moves a commit backwards and
// does not wait out rebalances). The positions are read when the call
// joins the commit queue (see commitCoalescer), so commits reach the
// coordinator in the order their offsets were read.
func (c *Consumer) commitPositions(ctx context.Context, keep func(*partState) bool, all bool) error {
	if c.cfg.GroupID == "" {
		return &wire.Error{Code: wire.ErrInvalidGroupID, Detail: "commit needs a group.id"}
	}
	ctx, cancel := c.cl.withTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	return c.commit(ctx, c.positionsToCommit(keep, all), !all)
}

// positionsToCommit is the compute of commitPositions (see there).
func (c *Consumer) positionsToCommit(keep func(*partState) bool, all bool) func() map[TopicPartition]int64 {
	return func() map[TopicPartition]int64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		offsets := map[TopicPartition]int64{}
		for tp, p := range c.parts {
			if keep != nil && !keep(p) {
				continue
			}
			off := p.safe
			if all {
				off = p.consumed
			}
			if off >= 0 && off != p.committed && (all || off > p.committed) {
				offsets[tp] = off
			}
		}
		return offsets
	}
}

// commitOffsets commits offsets through the commit queue (see
// commitCoalescer).
func (c *Consumer) commitOffsets(ctx context.Context, offsets map[TopicPartition]int64, background bool) error {
	offsets = maps.Clone(offsets) // the caller may reuse its map once it returns
	return c.commit(ctx, func() map[TopicPartition]int64 { return offsets }, background)
}

// sendCommit sends an OffsetCommit with the member's current identity,
// retrying coordinator moves. During a classic rebalance it waits for the
// new generation (unless background) and commits the partitions still
// assigned; partitions that moved away fail with NOT_ASSIGNED. It returns
// the failures per partition (a partition absent from errs was committed)
// or, when the request as a whole failed, one error for all of them. Only
// the commit queue's sender calls it (see commitCoalescer), so one runs at
// a time per consumer.
func (c *Consumer) sendCommit(ctx context.Context, offsets map[TopicPartition]int64, background bool) (errs map[TopicPartition]error, all error) {
	return c.sendCommitFrom(ctx, offsets, background, nil)
}

// commitAttempt is a first OffsetCommit already sent, and its outcome
// (ownCommit): the group whose identity it carried and the request.
type commitAttempt struct {
	g   groupMember
	req *wire.OffsetCommitRequest
	groupAttempt
}

// sendCommitFrom is sendCommit whose first request, when first is not nil,
// was already sent and answered (or failed): it carries on from that
// outcome as if it had sent the request itself.
func (c *Consumer) sendCommitFrom(ctx context.Context, offsets map[TopicPartition]int64, background bool,
	first *commitAttempt) (errs map[TopicPartition]error, all error) {
	if c.cfg.GroupID == "" {
		return nil, &wire.Error{Code: wire.ErrInvalidGroupID, Detail: "commit needs a group.id"}
	}
	errs = map[TopicPartition]error{}
	pending := make(map[TopicPartition]int64, len(offsets))
	for tp, o := range offsets {
		pending[tp] = o
	}
	// failPending gives err to every partition not settled yet.
	failPending := func(err error) (map[TopicPartition]error, error) {
		for tp := range pending {
			errs[tp] = err
		}
		return errs, nil
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		var g groupMember
		var req *wire.OffsetCommitRequest
		var ga *groupAttempt
		if attempt == 0 && first != nil {
			g, req, ga = first.g, first.req, &first.groupAttempt
		} else {
			g = c.currentGroup()
			req = c.commitRequest(g, pending)
		}
		resp, err := c.groupRequestFrom(ctx, req, commitCheck, ga)
		if err != nil {
			if wire.CodeOf(err) == wire.ErrTimedOut && ctx.Err() != nil {
				// No answer before the deadline: the request may still
				// have been applied, so this is no coordinator failure.
				return failPending(commitNotAcked())
			}
			return failPending(commitErr(err))
		}
		rebalance, stale := c.applyCommit(resp.(*wire.OffsetCommitResponse), pending, errs)
		if len(pending) == 0 {
			break
		}
		if (rebalance || stale) && (background || g == nil) {
			return failPending(&wire.Error{Code: wire.ErrRebalanceInProgress, Detail: "commit during a rebalance of group " + c.cfg.GroupID})
		}
		if rebalance || stale {
			if err := g.waitStable(ctx); err != nil {
				return failPending(commitErr(err))
			}
			// Only partitions this member still owns may be committed.
			c.mu.Lock()
			for tp := range pending {
				if p := c.parts[tp]; p == nil || p.revoking {
					delete(pending, tp)
					errs[tp] = &wire.Error{Code: wire.ErrNotAssigned, Detail: fmt.Sprintf("commit: %s moved to another member during a rebalance", tp)}
				}
			}
			c.mu.Unlock()
			continue
		}
		if err := c.cfg.Retry.wait(ctx, min(attempt, 4)); err != nil {
			return failPending(&wire.Error{Code: wire.ErrTimedOut, Detail: fmt.Sprintf("commit of %d partition(s) not acknowledged before the deadline", len(pending))})
		}
	}
	return errs, nil
}

// commitNotAcked is the error of a commit whose request got no answer
// before the caller's deadline.
func commitNotAcked() error {
	return &wire.Error{Code: wire.ErrTimedOut, Detail: "commit not acknowledged before the deadline (the offsets may still be committed)"}
}

// currentGroup is the consumer's group membership (nil: none).
func (c *Consumer) currentGroup() groupMember {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.group
}

// commitRequest is the OffsetCommit of pending with g's identity (nil g:
// none, generation -1), partitions in order.
func (c *Consumer) commitRequest(g groupMember, pending map[TopicPartition]int64) *wire.OffsetCommitRequest {
	gen, member, instance := int32(-1), "", (*string)(nil)
	if g != nil {
		gen, member, instance = g.identity()
	}
	req := &wire.OffsetCommitRequest{GroupId: c.cfg.GroupID, GenerationIdOrMemberEpoch: gen,
		MemberId: member, GroupInstanceId: instance, RetentionTimeMs: -1}
	idx := map[string]int{}
	keys := make([]TopicPartition, 0, len(pending))
	for tp := range pending {
		keys = append(keys, tp)
	}
	sortTPs(keys)
	for _, tp := range keys {
		ti, ok := idx[tp.Topic]
		if !ok {
			ti = len(req.Topics)
			idx[tp.Topic] = ti
			req.Topics = append(req.Topics, wire.OffsetCommitRequestTopic{Name: tp.Topic})
		}
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, wire.OffsetCommitRequestPartition{
			PartitionIndex: tp.Partition, CommittedOffset: pending[tp], CommittedLeaderEpoch: -1})
	}
	return req
}

// commitCheck is the group-level code of an OffsetCommit response (for
// groupRequest): the codes are per partition, and a coordinator move
// shows on every one.
func commitCheck(r wire.Response) wire.ErrorCode {
	for _, t := range r.(*wire.OffsetCommitResponse).Topics {
		for _, p := range t.Partitions {
			if code := wire.ErrorCode(p.ErrorCode); coordinatorError(code) || code == wire.ErrCoordinatorLoadInProgress {
				return code
			}
		}
	}
	return wire.ErrNone
}

// commitRetried reports whether an OffsetCommit partition code leaves the
// partition pending, to be sent again (see applyCommit).
func commitRetried(code wire.ErrorCode) bool {
	switch code {
	case wire.ErrRebalanceInProgress, wire.ErrIllegalGeneration, wire.ErrUnknownMemberID, wire.ErrStaleMemberEpoch,
		wire.ErrRequestTimedOut, wire.ErrUnknownTopicOrPartition:
		return true
	}
	return false
}

// commitSettles reports whether resp settles every partition of pending
// (each is in it with a code that is not retried): applyCommit then leaves
// nothing pending and reports no rebalance.
func commitSettles(resp *wire.OffsetCommitResponse, pending map[TopicPartition]int64) bool {
	n := 0
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if _, ok := pending[TopicPartition{t.Name, p.PartitionIndex}]; !ok {
				continue
			}
			if commitRetried(wire.ErrorCode(p.ErrorCode)) {
				return false
			}
			n++
		}
	}
	return n == len(pending)
}

// applyCommit takes the outcome of each partition of resp that is in
// pending: committed (recorded as the partition's committed offset) or
// failed for good (in errs) partitions leave pending; the others stay, and
// rebalance / stale say why they are to be sent again.
func (c *Consumer) applyCommit(resp *wire.OffsetCommitResponse, pending map[TopicPartition]int64,
	errs map[TopicPartition]error) (rebalance, stale bool) {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			tp := TopicPartition{t.Name, p.PartitionIndex}
			off, ok := pending[tp]
			if !ok {
				continue
			}
			switch code := wire.ErrorCode(p.ErrorCode); code {
			case wire.ErrNone:
				delete(pending, tp)
				c.stats.noteCommit()
				c.mu.Lock()
				if ps := c.parts[tp]; ps != nil {
					ps.committed = off
				}
				c.mu.Unlock()
			case wire.ErrRebalanceInProgress, wire.ErrIllegalGeneration, wire.ErrUnknownMemberID:
				// The generation moved on: retry with the new one for
				// the partitions this member still owns (nobody else
				// read them meanwhile).
				rebalance = true
			case wire.ErrStaleMemberEpoch:
				stale = true
			case wire.ErrRequestTimedOut, wire.ErrUnknownTopicOrPartition:
				// retried by the caller
			default:
				// This partition's failure is its callers' only.
				delete(pending, tp)
				errs[tp] = &wire.Error{Code: code, Detail: fmt.Sprintf("committing offset %d of %s for group %s", off, tp, c.cfg.GroupID)}
			}
		}
	}
	return rebalance, stale
}

// commitErr makes a failure to reach the coordinator a group error.
func commitErr(err error) error {
	if transportError(err) || wire.CodeOf(err) == wire.ErrInterrupted {
		return &wire.Error{Code: wire.ErrCoordinatorNotAvailable, Detail: "commit: " + err.Error()}
	}
	return err
}

// autoCommitLoop commits safe positions every auto.commit.interval.ms
// until ctx ends.
func (c *Consumer) autoCommitLoop(ctx context.Context) {
	t := time.NewTicker(c.cfg.AutoCommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := c.commitAll(ctx, false)
		if err == nil || ctx.Err() != nil {
			continue
		}
		// Transient failures (rebalances, coordinator moves) are retried at
		// the next tick; others are the application's business.
		code := wire.CodeOf(err)
		if cat := wire.Lookup(code).Category; cat == wire.CategoryAuth || cat == wire.CategoryOffset {
			c.reportErr(fmt.Errorf("auto-commit: %w", err))
		}
	}
}

// ---- offsets for times ----

// OffsetsForTimes returns, per partition, the earliest offset whose record
// timestamp (ms since the epoch) is at or after the given one, with that
// record's timestamp; Offset is -1 when no record is that recent. The
// partitions need not be assigned.
func (c *Consumer) OffsetsForTimes(ctx context.Context, times map[TopicPartition]int64) (map[TopicPartition]OffsetAndTimestamp, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	ctx, cancel := c.cl.withTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	for tp, ts := range times {
		if ts < 0 {
			return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("offsets for times: negative timestamp %d for %s", ts, tp)}
		}
	}
	out := make(map[TopicPartition]OffsetAndTimestamp, len(times))
	pending := make(map[TopicPartition]int64, len(times))
	for tp, ts := range times {
		pending[tp] = ts
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := c.cfg.Retry.wait(ctx, min(attempt-1, 4)); err != nil {
				return nil, &wire.Error{Code: wire.ErrTimedOut, Detail: "offsets for times: " + err.Error()}
			}
		}
		topics := map[string]bool{}
		for tp := range pending {
			topics[tp.Topic] = true
		}
		names := make([]string, 0, len(topics))
		for t := range topics {
			names = append(names, t)
		}
		sort.Strings(names)
		m, err := c.cl.RefreshMetadata(ctx, names)
		if err != nil {
			if ctx.Err() != nil || !wire.CodeOf(err).Retriable() {
				return nil, err
			}
			continue
		}
		byLeader := map[int32][]TopicPartition{}
		for tp := range pending {
			ti := m.Topics[tp.Topic]
			switch {
			case ti == nil:
				return nil, &wire.Error{Code: wire.ErrUnknownTopicOrPartition, Detail: tp.Topic}
			case ti.Err != wire.ErrNone && !ti.Err.Retriable():
				return nil, &wire.Error{Code: ti.Err, Detail: tp.Topic}
			case ti.Err == wire.ErrNone && int(tp.Partition) >= len(ti.Partitions):
				return nil, &wire.Error{Code: wire.ErrPartitionNotFound, Detail: tp.String()}
			case ti.Err != wire.ErrNone || ti.Partitions[tp.Partition].Leader < 0:
				continue
			}
			l := ti.Partitions[tp.Partition].Leader
			byLeader[l] = append(byLeader[l], tp)
		}
		var errs []error
		for leader, tps := range byLeader {
			req := &wire.ListOffsetsRequest{ReplicaId: wire.ReplicaIdConsumer, IsolationLevel: int8(c.cfg.IsolationLevel)}
			idx := map[string]int{}
			for _, tp := range tps {
				ti, ok := idx[tp.Topic]
				if !ok {
					ti = len(req.Topics)
					idx[tp.Topic] = ti
					req.Topics = append(req.Topics, wire.ListOffsetsRequestTopic{Name: tp.Topic})
				}
				req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, wire.ListOffsetsRequestPartition{
					PartitionIndex: tp.Partition, CurrentLeaderEpoch: -1, Timestamp: pending[tp]})
			}
			resp, err := c.cl.Request(ctx, leader, req)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, t := range resp.(*wire.ListOffsetsResponse).Topics {
				for _, p := range t.Partitions {
					tp := TopicPartition{t.Name, p.PartitionIndex}
					if _, ok := pending[tp]; !ok {
						continue
					}
					if code := wire.ErrorCode(p.ErrorCode); code != wire.ErrNone {
						if !code.Retriable() && !leaderError(code) {
							return nil, &wire.Error{Code: code, Detail: "offsets for times: " + tp.String()}
						}
						errs = append(errs, &wire.Error{Code: code})
						continue
					}
					out[tp] = OffsetAndTimestamp{Offset: p.Offset, Timestamp: p.Timestamp}
					delete(pending, tp)
				}
			}
		}
		if len(pending) > 0 && ctx.Err() != nil {
			return nil, errors.Join(append(errs, &wire.Error{Code: wire.ErrTimedOut, Detail: "offsets for times"})...)
		}
	}
	return out, nil
}

// ---- dedicated connections ----

// leasedConn is a connection of the consumer's own to one broker, leased
// from the client's pool. Kafka handles the requests of one connection one
// at a time, so a fetch long-polling for fetch.max.wait.ms, or a JoinGroup
// the coordinator holds until the group is complete, would otherwise delay
// heartbeats, commits and other fetches queued behind it on a shared
// connection. Each fetcher has one, and so has the group coordinator. Safe
// for concurrent use (requests on it are pipelined).
type leasedConn struct {
	c    *Consumer
	mu   sync.Mutex
	node int32     // guarded by mu
	pc   *PoolConn // guarded by mu; nil until first use or after a failure
}

// request sends req to broker node on the leased connection, dialing (or
// re-dialing after a failure or a change of node) when needed. Without a
// deadline in ctx, request.timeout.ms applies.
func (l *leasedConn) request(ctx context.Context, node int32, req wire.Request) (wire.Response, error) {
	return l.roundTrip(ctx, node, req, (*PoolConn).Request)
}

// requestOwn is request for a caller that reads the response on its own
// thread (PoolConn.requestOwn): the coordinator requests a caller makes
// and waits for, such as a commit, cost it no hand-off from the reader
// goroutine (see clientConn.roundTripOwn).
func (l *leasedConn) requestOwn(ctx context.Context, node int32, req wire.Request) (wire.Response, error) {
	return l.roundTrip(ctx, node, req, (*PoolConn).requestOwn)
}

// roundTrip is request and requestOwn, sending with do.
func (l *leasedConn) roundTrip(ctx context.Context, node int32, req wire.Request,
	do func(*PoolConn, context.Context, wire.Request) (wire.Response, error)) (wire.Response, error) {
	ctx, cancel := l.c.cl.withTimeout(ctx, l.c.cfg.RequestTimeout)
	defer cancel()
	pc, err := l.lease(ctx, node, true)
	if err != nil {
		return nil, err
	}
	resp, err := do(pc, ctx, req)
	if err != nil {
		l.dropDead()
	}
	return resp, err
}

// start sends req to broker node on the leased connection and returns the
// call (clientConn.start: notify runs when the response arrives). It dials only
// when mayDial; otherwise, with no live connection to node, it returns
// nil, nil. ctx bounds the dial.
func (l *leasedConn) start(ctx context.Context, node int32, req wire.Request, notify func(), mayDial bool) (*call, error) {
	pc, err := l.lease(ctx, node, mayDial)
	if pc == nil || err != nil {
		return nil, err
	}
	k, err := pc.start(req, notify)
	if err != nil {
		l.dropDead()
	}
	return k, err
}

// lease returns the live connection to node, dialing one when mayDial
// (else nil, nil), after giving back a dead one or one to another node.
func (l *leasedConn) lease(ctx context.Context, node int32, mayDial bool) (*PoolConn, error) {
	c := l.c
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pc != nil && (l.node != node || l.pc.Closed()) {
		c.cl.Pool().Release(l.pc, true)
		l.pc = nil
	}
	if l.pc != nil || !mayDial {
		return l.pc, nil
	}
	addr, err := c.brokerAddr(ctx, node)
	if err != nil {
		return nil, err
	}
	pc, err := c.cl.Pool().Get(ctx, addr)
	if err != nil {
		return nil, err
	}
	l.pc, l.node = pc, node
	return pc, nil
}

// dropDead gives back the connection after a request on it failed, when
// the failure closed it (the next request dials anew).
func (l *leasedConn) dropDead() {
	l.mu.Lock()
	if l.pc != nil && l.pc.Closed() {
		l.c.cl.Pool().Release(l.pc, true)
		l.pc = nil
	}
	l.mu.Unlock()
}

// close gives the connection back to the pool.
func (l *leasedConn) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pc != nil {
		l.c.cl.Pool().Release(l.pc, false)
		l.pc = nil
	}
}

// brokerAddr returns the address of broker node from the metadata,
// refreshing it when the node is unknown.
func (c *Consumer) brokerAddr(ctx context.Context, node int32) (string, error) {
	if m := c.cl.meta.Load(); m != nil {
		if b, ok := m.Brokers[node]; ok {
			return b.Addr(), nil
		}
	}
	m, err := c.cl.RefreshMetadata(ctx, []string{})
	if err != nil {
		return "", err
	}
	b, ok := m.Brokers[node]
	if !ok {
		return "", &wire.Error{Code: wire.ErrBrokerNotAvailable, Detail: fmt.Sprintf("node %d is not in the cluster metadata", node)}
	}
	return b.Addr(), nil
}

// sendCommitAsync is sendCommit for a caller that does not wait: done
// receives what sendCommit would return, once. When the coordinator is
// known and its connection is up (the usual case: a commit per message),
// the request is written on the calling goroutine and whoever reads the
// response (the connection's reader goroutine) settles it (ownCommit):
// no goroutine is parked per commit and no thread is woken but the
// reader's. Anything else (no coordinator or connection yet, a failure,
// a response that asks for a retry) continues as sendCommit on a
// goroutine of its own, from where the first request left off. done may
// run on the calling goroutine (before sendCommitAsync returns) or while
// a connection's read role is held: see commitAsync.
func (c *Consumer) sendCommitAsync(ctx context.Context, offsets map[TopicPartition]int64, background bool,
	done func(map[TopicPartition]error, error)) {
	o := &ownCommit{c: c, ctx: ctx, offsets: offsets, background: background, done: done}
	if c.cfg.GroupID == "" {
		done(nil, &wire.Error{Code: wire.ErrInvalidGroupID, Detail: "commit needs a group.id"})
		return
	}
	node, ok := c.coord.cached()
	var pc *PoolConn
	if ok {
		pc, _ = c.groupConn.lease(ctx, node, false) // no dial: nil when there is no live connection
	}
	if pc == nil {
		o.slow(nil)
		return
	}
	g := c.currentGroup()
	o.first = commitAttempt{g: g, req: c.commitRequest(g, offsets), groupAttempt: groupAttempt{node: node}}
	k, err := pc.startUnclaimed(o.first.req, o.arrived)
	if err != nil {
		o.first.err = err
		o.settled.Store(true) // nothing was sent: no response and no watch to settle
		o.slow(&o.first)
		return
	}
	o.k = k
	o.mu.Lock()
	o.stopWatch = context.AfterFunc(ctx, o.expired)
	if end := k.deadline(); !end.IsZero() {
		if d, ok := ctx.Deadline(); !ok || end.Before(d) {
			o.bound = time.AfterFunc(time.Until(end), o.boundPassed)
		}
	}
	o.mu.Unlock()
	if o.handshake.Add(1) == 2 {
		o.responded() // the response was in before start returned
	}
}

// ownCommit is an OffsetCommit request sent by a caller that does not wait
// for it (sendCommitAsync). Exactly one of three settles it: its response
// (or its connection's failure), the end of ctx, or, after a failure or a
// response asking for a retry, sendCommitFrom on a goroutine.
type ownCommit struct {
	c          *Consumer
	ctx        context.Context
	offsets    map[TopicPartition]int64
	background bool
	done       func(map[TopicPartition]error, error)
	first      commitAttempt // the request sent; its outcome once in

	k *call // set before handshake is incremented by the sender
	// handshake counts the sender having stored k and the response being
	// in (call notify): whichever makes it 2 takes the response, so k is
	// never read before it is set, even when the response beats start.
	handshake atomic.Int32
	settled   atomic.Bool // one of the three settled it
	answered  atomic.Bool // the response (or the failure) is in

	mu        sync.Mutex
	stopWatch func() bool // guarded by mu: stops the ctx watch (expired)
	bound     *time.Timer // guarded by mu: the request's own bound, when before ctx's deadline (boundPassed)
}

// arrived is the call's notify: the response (or the connection's failure)
// is in. It runs on the goroutine that read it, with the read role held.
func (o *ownCommit) arrived() {
	if o.handshake.Add(1) == 2 {
		o.responded()
	}
}

// responded takes the response. Without a failure or a retry to make, the
// commit is settled right here (the common case: one partition, one
// request); otherwise sendCommitFrom carries on from this outcome on a
// goroutine, as sendCommit would have.
func (o *ownCommit) responded() {
	o.answered.Store(true)
	resp, err := o.k.wait(context.Background()) // in already: it only decodes (and always ends the call)
	if !o.settle() {
		return // the caller's ctx ended first; its outcome was given then
	}
	o.first.resp, o.first.err = resp, err
	if err == nil && commitCheck(resp) == wire.ErrNone {
		if r := resp.(*wire.OffsetCommitResponse); commitSettles(r, o.offsets) {
			pending := maps.Clone(o.offsets)
			errs := map[TopicPartition]error{}
			o.c.applyCommit(r, pending, errs)
			o.done(errs, nil)
			return
		}
	}
	o.slow(&o.first)
}

// expired runs when ctx ends before the response is in: as call.wait, the
// connection is closed when the request's bound has passed too (the broker
// is not answering); the late response is dropped (responded finds the
// call settled).
func (o *ownCommit) expired() {
	if o.answered.Load() || !o.settle() {
		return
	}
	k := o.k
	if b := k.c.limits.bound(k.req); b > 0 && time.Since(k.sent) >= b-10*time.Millisecond {
		k.c.requestTimedOut(k.req, b)
	}
	pending := maps.Clone(o.offsets)
	errs := make(map[TopicPartition]error, len(pending))
	for tp := range pending {
		errs[tp] = commitNotAcked()
	}
	o.done(errs, nil)
}

// boundPassed runs when the request's bound (request.timeout.ms) passes
// before ctx's deadline without a response: as call.wait does, the broker
// is taken as not answering and the connection closed, which fails the
// call (arrived, then a retry on a goroutine, as sendCommit would).
func (o *ownCommit) boundPassed() {
	if !o.answered.Load() && !o.settled.Load() {
		o.k.c.requestTimedOut(o.k.req, o.k.c.limits.bound(o.k.req))
	}
}

// settle claims the commit for the caller of settle and stops the watches;
// false when it was settled already.
func (o *ownCommit) settle() bool {
	if !o.settled.CompareAndSwap(false, true) {
		return false
	}
	o.mu.Lock()
	if o.stopWatch != nil {
		o.stopWatch()
	}
	if o.bound != nil {
		o.bound.Stop()
	}
	o.mu.Unlock()
	return true
}

// slow carries the commit on as sendCommit, on a goroutine of its own,
// from first (nil: from the start).
func (o *ownCommit) slow(first *commitAttempt) {
	go func() {
		o.done(o.c.sendCommitFrom(o.ctx, o.offsets, o.background, first))
	}()
}
