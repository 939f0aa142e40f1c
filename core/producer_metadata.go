package core

// The producer's metadata loop: one goroutine per producer (metaLoop) that
// loads the topics records wait for, routes each partition to its leader's
// sink, refreshes every metadata.max.age.ms and, with idempotence, obtains
// or bumps the producer id (producer_idempotence.go).

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gofka/gofka/wire"
)

func (p *Producer) triggerMeta() {
	p.needMeta.Store(true)
	select {
	case p.metaWake <- struct{}{}:
	default:
	}
}

// metaLoop keeps metadata fresh: it loads topics records wait for, re-routes
// partitions whose leader moved, refreshes every metadata.max.age.ms, and
// obtains or bumps the idempotent producer id. Refreshes are at least
// retry.backoff.ms apart (growing while they keep failing, up to
// reconnect.backoff.max.ms: Config.lookupBackoff).
func (p *Producer) metaLoop() {
	defer p.wg.Done()
	maxAge := p.cfg.MetadataMaxAge
	if maxAge <= 0 {
		maxAge = 5 * time.Minute
	}
	periodic := time.NewTicker(maxAge)
	defer periodic.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	var last time.Time
	fails := 0
	for {
		select {
		case <-p.metaWake:
		case <-retry.C:
		case <-periodic.C:
			p.needMeta.Store(true)
		case <-p.quit:
			return
		}
		if p.idem.enabled && p.outstanding.Load() > 0 {
			if err := p.idem.ensure(p.ctx, p); err != nil {
				retry.Reset(p.cfg.lookupBackoff(p.idem.fails - 1))
			}
		}
		if !p.needMeta.Load() {
			continue
		}
		if p.metaUrgent.Swap(false) {
			fails = 0
		}
		wait := p.cfg.Retry.InitialBackoff
		if fails > 0 {
			wait = p.cfg.lookupBackoff(fails)
		}
		if d := time.Until(last.Add(wait)); d > 0 {
			retry.Reset(d)
			continue
		}
		p.needMeta.Store(false)
		last = time.Now()
		if p.refreshMetadata() {
			fails = 0
		} else {
			fails++
		}
		if p.needMeta.Load() {
			retry.Reset(p.cfg.lookupBackoff(fails))
		}
	}
}

// refreshMetadata asks for the producer's topics and applies the answer.
// It reports whether everything was resolved (false: the request failed or
// some topic or leader is still missing, and the next refresh backs off
// further).
func (p *Producer) refreshMetadata() bool {
	var topics []string
	p.topics.Range(func(k, _ any) bool {
		topics = append(topics, k.(string))
		return true
	})
	if len(topics) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.RequestTimeout)
	defer cancel()
	m, err := p.cl.RefreshMetadata(ctx, topics)
	if err != nil {
		p.metadataFailed(topics, err)
		return false
	}
	p.applyMu.Lock()
	for _, name := range topics {
		p.applyTopic(p.knownTopic(name), m)
	}
	p.applyMu.Unlock()
	return !p.needMeta.Load()
}

// applyCached routes ts, a topic new to the producer, with the client's
// cached metadata when that is fresh (younger than metadata.max.age.ms, the
// rule of Client.Metadata) and gives every partition a leader, so that the
// first records go straight into batches instead of waiting in
// ts.pending for the metadata goroutine: a round trip, and a goroutine
// hand-off that took 1-13 ms on a loaded 2-core VM (a program that loaded
// the topic, e.g. with Client.TopicPartitions or a producer before on the
// same client, otherwise waits that long before its first batch leaves).
// Anything less leaves ts to the metadata goroutine, as before. Runs on
// the caller of the first produce of the topic (Producer.topic).
func (p *Producer) applyCached(ts *topicState) {
	m := p.cl.meta.Load()
	if m == nil || time.Since(m.Fetched) >= p.cfg.MetadataMaxAge {
		return
	}
	ti := m.Topics[ts.name]
	if ti == nil || ti.Err != wire.ErrNone || len(ti.Partitions) == 0 {
		return
	}
	for _, pi := range ti.Partitions {
		if pi.Leader < 0 {
			return
		}
	}
	p.applyMu.Lock()
	if !ts.ready.Load() { // the metadata goroutine's newer view wins
		p.applyTopic(ts, m)
	}
	p.applyMu.Unlock()
}

// metadataFailed notes err on every topic; topics waiting for their first
// metadata fail their records when err is not retriable, or with
// ALL_BROKERS_DOWN when no broker address could be reached, none has been
// for reconnect.backoff.max.ms (default 1 s: a cluster still starting
// gets that long) and the client never reached one: its records cannot
// have been written, and waiting out delivery.timeout.ms would only turn
// that into a vague timeout. Once the cluster was reached, an outage is
// waited out as usual (delivery.timeout.ms).
func (p *Producer) metadataFailed(topics []string, err error) {
	p.needMeta.Store(true)
	grace := p.cfg.ReconnectBackoffMax
	if grace <= 0 {
		grace = time.Second
	}
	unreachable := wire.CodeOf(err) == wire.ErrNoBrokersAvailable && !p.cl.everConnected.Load() &&
		p.cl.unreachableFor(time.Now()) >= grace
	if unreachable {
		err = &wire.Error{Code: wire.ErrAllBrokersDown,
			Detail: "no broker was reachable, so nothing was written: " + summarizeLines(err.Error(), 3)}
	}
	for _, name := range topics {
		ts := p.knownTopic(name)
		ts.setLastErr(err)
		if (unreachable || !wire.CodeOf(err).Retriable()) && !ts.ready.Load() {
			ts.mu.Lock()
			pending := ts.pending
			ts.pending = nil
			ts.mu.Unlock()
			p.failPending(pending, err)
		}
	}
}

// summarizeLines keeps the first n lines of s (one dial error a line when
// many addresses were tried) and counts the rest.
func summarizeLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(lines[:n], "; "), len(lines)-n)
}

// applyTopic brings one topic's routing up to date with m.
func (p *Producer) applyTopic(ts *topicState, m *Metadata) {
	ti := m.Topics[ts.name]
	if ti == nil || ti.Err != wire.ErrNone || len(ti.Partitions) == 0 {
		code := wire.ErrLeaderNotAvailable
		if ti != nil && ti.Err != wire.ErrNone {
			code = ti.Err
		}
		err := &wire.Error{Code: code, Detail: "topic " + ts.name}
		ts.mu.Lock()
		ts.lastErr = err
		ts.misses++
		attempts := ts.misses
		var fail []pendingRec
		switch {
		case !code.Retriable():
			fail, ts.pending = ts.pending, nil
		case code == wire.ErrUnknownTopicOrPartition && !p.cfg.AllowAutoTopicCreation && ts.misses > p.cfg.Retry.MaxRetries:
			// Nothing will create it: fail what waits for it (later records
			// try again from the start).
			fail, ts.pending = ts.pending, nil
			ts.misses = 0
		}
		keep := len(ts.pending) > 0 || (ts.ready.Load() && p.outstanding.Load() > 0)
		ts.mu.Unlock()
		if len(fail) > 0 {
			if code == wire.ErrUnknownTopicOrPartition {
				err.Detail += " does not exist and allow.auto.create.topics is false"
			}
			p.failPending(fail, withAttempts(err, attempts))
		}
		if keep {
			p.needMeta.Store(true)
		}
		return
	}

	// Grow the partition list when partitions were added.
	old := ts.partitions()
	parts := old
	if len(ti.Partitions) > len(old) {
		parts = make([]*partBuf, len(ti.Partitions))
		copy(parts, old)
		for i := len(old); i < len(parts); i++ {
			parts[i] = &partBuf{p: p, topic: ts.name, partition: int32(i), leader: -2}
		}
		ts.parts.Store(&parts)
	}
	for i, pi := range ti.Partitions {
		if pi.Leader < 0 {
			p.needMeta.Store(true)
		}
		p.setLeader(parts[i], pi.Leader)
	}

	// Route what waited, in arrival order, before new records may bypass
	// the pending list (ready is set last, under mu). Records for
	// partitions that do not exist are set aside first: route would queue
	// them on ts.mu, which is held here.
	ts.mu.Lock()
	ts.misses = 0
	pending := ts.pending
	ts.pending = nil
	var missing []pendingRec
	var held []*sink
	for _, pr := range pending {
		if pr.r.ManualPartition && pr.r.Partition >= int32(len(parts)) {
			missing = append(missing, pr)
			continue
		}
		p.route(ts, parts, pr.r, pr.fn, pr.size, pr.at, &held)
	}
	ts.ready.Store(true)
	ts.mu.Unlock()
	for _, s := range held {
		s.kick()
	}
	if len(missing) > 0 {
		p.failPending(missing, &wire.Error{Code: wire.ErrPartitionNotFound,
			Detail: fmt.Sprintf("topic %s has %d partitions, partition %d requested", ts.name, len(parts), missing[0].r.Partition)})
	}
}

// setLeader routes pb to the sink of leader (none when leader < 0).
func (p *Producer) setLeader(pb *partBuf, leader int32) {
	pb.mu.Lock()
	if pb.leader == leader && (pb.sink != nil || leader < 0) {
		pb.mu.Unlock()
		return
	}
	old := pb.sink
	var ns *sink
	if leader >= 0 {
		ns = p.sinkFor(leader)
	}
	pb.leader, pb.sink = leader, ns
	pending := len(pb.batches) > 0
	pb.mu.Unlock()
	if old != nil {
		old.remove(pb)
	}
	if ns != nil {
		ns.add(pb)
		if pending {
			ns.wakeup()
		}
	}
}

// triggerMetaOnly wakes the metadata goroutine without asking for a
// metadata refresh.
func (p *Producer) triggerMetaOnly() {
	select {
	case p.metaWake <- struct{}{}:
	default:
	}
}
