package core

// The consumer's maintenance goroutine (maintain): it finds the leaders of
// assigned partitions, starts the fetchers they need (consumer_fetcher.go)
// and resolves where new or reset partitions start (committed offset, else
// auto.offset.reset).

import (
	"context"
	"fmt"
	"time"

	"github.com/gofka/gofka/wire"
)

func (c *Consumer) wakeMaint() {
	select {
	case c.maintWake <- struct{}{}:
	default:
	}
}

// maintain runs until the consumer closes: it refreshes partition leaders
// when needed and resolves the positions of new or reset partitions
// (committed offset, else auto.offset.reset).
func (c *Consumer) maintain() {
	var retry <-chan time.Time
	var timer *time.Timer
	for {
		select {
		case <-c.maintWake:
		case <-retry:
		case <-c.ctx.Done():
			return
		}
		if timer != nil {
			timer.Stop()
		}
		retry = nil
		if again := c.maintainOnce(); again && c.ctx.Err() == nil {
			timer = time.NewTimer(250 * time.Millisecond)
			retry = timer.C
		}
	}
}

// maintainOnce does one round; it reports whether something is left to
// retry.
func (c *Consumer) maintainOnce() bool {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.RequestTimeout)
	defer cancel()
	again := false

	c.mu.Lock()
	needMeta := c.needMeta
	topicSet := map[string]bool{}
	for tp, p := range c.parts {
		if p.leader < 0 {
			needMeta = true
		}
		topicSet[tp.Topic] = true
	}
	c.needMeta = false
	c.mu.Unlock()

	if needMeta && len(topicSet) > 0 {
		topics := make([]string, 0, len(topicSet))
		for t := range topicSet {
			topics = append(topics, t)
		}
		m, err := c.cl.RefreshMetadata(ctx, topics)
		if err != nil {
			again = true
			c.mu.Lock()
			c.needMeta = true
			c.mu.Unlock()
		} else {
			again = c.applyLeaders(m) || again
		}
	}

	// Committed offsets of new partitions.
	c.mu.Lock()
	var committedFor []fetchPart
	for _, p := range c.parts {
		if p.need == posCommitted && !p.resolving && !p.revoking {
			p.resolving = true
			committedFor = append(committedFor, fetchPart{p: p, seq: p.seq})
		}
	}
	c.mu.Unlock()
	if len(committedFor) > 0 {
		again = c.resolveCommitted(ctx, committedFor) || again
	}

	// Resets (no committed offset, out of range, Seek to beginning/end).
	c.mu.Lock()
	var resets []fetchPart
	for _, p := range c.parts {
		if p.need == posReset && !p.resolving && !p.revoking {
			if p.leader < 0 {
				again = true
				continue
			}
			p.resolving = true
			resets = append(resets, fetchPart{p: p, seq: p.seq, offset: p.resetTo})
		}
	}
	c.mu.Unlock()
	if len(resets) > 0 {
		again = c.resolveResets(ctx, resets) || again
	}
	c.wakeSources()
	return again
}

// applyLeaders copies leaders from m into the partitions and starts the
// fetchers they need. It reports whether a partition still has no leader.
func (c *Consumer) applyLeaders(m *Metadata) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	missing := false
	for tp, p := range c.parts {
		ti := m.Topics[tp.Topic]
		if ti == nil || ti.Err != wire.ErrNone || int(tp.Partition) >= len(ti.Partitions) {
			p.leader = -1
			missing = true
			continue
		}
		pi := ti.Partitions[tp.Partition]
		p.leader, p.leaderEpoch = pi.Leader, pi.LeaderEpoch
		if p.leader < 0 {
			missing = true
			continue
		}
		c.ensureSourceLocked(p.leader)
	}
	return missing
}

// resolveCommitted reads the committed offsets of fps and starts each
// partition there; partitions without one go on to auto.offset.reset.
func (c *Consumer) resolveCommitted(ctx context.Context, fps []fetchPart) bool {
	tps := make([]TopicPartition, len(fps))
	for i, fp := range fps {
		tps[i] = fp.p.tp
	}
	offs, err := c.fetchCommitted(ctx, tps)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fp := range fps {
		p := fp.p
		p.resolving = false
		if c.parts[p.tp] != p || p.seq != fp.seq || p.need != posCommitted {
			continue
		}
		if err != nil {
			continue // retried
		}
		off, ok := offs[p.tp]
		switch {
		case ok && off >= 0:
			p.committed = off
			c.seekLocked(p, off)
		case c.cfg.AutoOffsetReset == "none":
			p.need, p.fetchOffset, p.consumed = posKnown, -1, -1
			c.reportErrLocked(&wire.Error{Code: wire.ErrNoOffset,
				Detail: fmt.Sprintf("%s has no committed offset for group %q and auto.offset.reset is none: seek it", p.tp, c.cfg.GroupID)})
		default:
			p.need, p.resetTo = posReset, c.resetOffset()
		}
	}
	if err != nil && ctx.Err() == nil && !wire.CodeOf(err).Retriable() && wire.CodeOf(err) != wire.ErrNotCoordinator {
		c.reportErrLocked(fmt.Errorf("reading committed offsets: %w", err))
	}
	return err != nil
}

// resolveResets lists the earliest/latest offsets of fps at their leaders.
func (c *Consumer) resolveResets(ctx context.Context, fps []fetchPart) bool {
	byLeader := map[int32][]fetchPart{}
	c.mu.Lock()
	for _, fp := range fps {
		byLeader[fp.p.leader] = append(byLeader[fp.p.leader], fp)
	}
	c.mu.Unlock()
	again := false
	for leader, group := range byLeader {
		req := &wire.ListOffsetsRequest{ReplicaId: wire.ReplicaIdConsumer, IsolationLevel: int8(c.cfg.IsolationLevel)}
		idx := map[string]int{}
		for _, fp := range group {
			ti, ok := idx[fp.p.tp.Topic]
			if !ok {
				ti = len(req.Topics)
				idx[fp.p.tp.Topic] = ti
				req.Topics = append(req.Topics, wire.ListOffsetsRequestTopic{Name: fp.p.tp.Topic})
			}
			req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, wire.ListOffsetsRequestPartition{
				PartitionIndex: fp.p.tp.Partition, CurrentLeaderEpoch: -1, Timestamp: fp.offset})
		}
		resp, err := c.cl.Request(ctx, leader, req)
		results := map[TopicPartition]wire.ListOffsetsResponsePartition{}
		if err == nil {
			for _, t := range resp.(*wire.ListOffsetsResponse).Topics {
				for _, p := range t.Partitions {
					results[TopicPartition{t.Name, p.PartitionIndex}] = p
				}
			}
		}
		c.mu.Lock()
		for _, fp := range group {
			p := fp.p
			p.resolving = false
			if c.parts[p.tp] != p || p.seq != fp.seq || p.need != posReset {
				continue
			}
			r, ok := results[p.tp]
			switch {
			case err != nil || !ok:
				again = true
				c.needMeta = true
			case r.ErrorCode != 0:
				code := wire.ErrorCode(r.ErrorCode)
				if code.Retriable() || leaderError(code) {
					again = true
					c.needMeta = true
				} else {
					p.need, p.fetchOffset, p.consumed = posKnown, -1, -1
					c.reportErrLocked(&wire.Error{Code: code, Detail: "listing offsets of " + p.tp.String()})
				}
			default:
				c.seekLocked(p, r.Offset)
			}
		}
		c.mu.Unlock()
	}
	return again
}
