package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"
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
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := c.cfg.Retry.wait(ctx, min(attempt-1, 4)); err != nil {
				if lastErr == nil {
					lastErr = err
				}
				return nil, lastErr
			}
		}
		node, err := c.coord.get(ctx)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil || !(wire.CodeOf(err).Retriable() || transportError(err)) {
				return nil, err
			}
			continue
		}
		resp, err := c.groupConn.requestOwn(ctx, node, req)
		if err != nil {
			lastErr = err
			c.coord.invalidate(node)
			if ctx.Err() != nil {
				return nil, err
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
	for {
		resp, err := c.groupRequest(ctx, req, func(r wire.Response) wire.ErrorCode {
			g, _ := r.(*wire.OffsetFetchResponse).Group(c.cfg.GroupID)
			return wire.ErrorCode(g.ErrorCode)
		})
		if err != nil {
			return nil, err
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
		if err := c.cfg.Retry.wait(ctx, 0); err != nil {
			return nil, &wire.Error{Code: wire.ErrUnstableOffsetCommit, Detail: "committed offsets still pending a transaction"}
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
	ctx, cancel := c.cl.withTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	return c.commitOffsets(ctx, offsets, false)
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
	return c.commit(ctx, func() map[TopicPartition]int64 {
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
	}, !all)
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
		c.mu.Lock()
		g := c.group
		c.mu.Unlock()
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
		resp, err := c.groupRequest(ctx, req, func(r wire.Response) wire.ErrorCode {
			// Per-partition codes; a coordinator move shows on every one.
			for _, t := range r.(*wire.OffsetCommitResponse).Topics {
				for _, p := range t.Partitions {
					if code := wire.ErrorCode(p.ErrorCode); coordinatorError(code) || code == wire.ErrCoordinatorLoadInProgress {
						return code
					}
				}
			}
			return wire.ErrNone
		})
		if err != nil {
			if wire.CodeOf(err) == wire.ErrTimedOut && ctx.Err() != nil {
				// No answer before the deadline: the request may still
				// have been applied, so this is no coordinator failure.
				return failPending(&wire.Error{Code: wire.ErrTimedOut, Detail: "commit not acknowledged before the deadline (the offsets may still be committed)"})
			}
			return failPending(commitErr(err))
		}
		var rebalance, stale bool
		for _, t := range resp.(*wire.OffsetCommitResponse).Topics {
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
					// retried below
				default:
					// This partition's failure is its callers' only.
					delete(pending, tp)
					errs[tp] = &wire.Error{Code: code, Detail: fmt.Sprintf("committing offset %d of %s for group %s", off, tp, c.cfg.GroupID)}
				}
			}
		}
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
