package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gofka/gofka/wire"
)

// consumerMember is a member of a KIP-848 consumer group
// (group.protocol=consumer). One RPC, ConsumerGroupHeartbeat, joins,
// heartbeats, reports the owned partitions and leaves; the broker computes
// the assignment (group.remote.assignor) and hands each member its target
// incrementally: a member first revokes what it must give up (committing
// with auto-commit), then takes what it was given, then reports the new
// owned set in an immediate heartbeat.
type consumerMember struct {
	memberBase

	// Guarded by memberBase.mu (read by commits).
	memberID   string
	epoch      int32
	instanceID *string

	// Used by the run goroutine only.
	interval   time.Duration
	pending    []wire.ConsumerGroupHeartbeatResponseTopicPartitions // target not yet reconciled
	hasPending bool
	topicIDs   map[string][16]byte // names of owned topics -> ids
}

// Member epochs with a special meaning in ConsumerGroupHeartbeat.
const (
	epochJoin        int32 = 0
	epochLeave       int32 = -1
	epochLeaveStatic int32 = -2 // a static member leaving temporarily keeps its assignment
)

func newConsumerMember(c *Consumer) *consumerMember {
	var id [16]byte
	_, _ = rand.Read(id[:])
	m := &consumerMember{memberBase: newMemberBase(c), interval: 5 * time.Second,
		memberID: base64.RawURLEncoding.EncodeToString(id[:]), topicIDs: map[string][16]byte{}}
	if c.cfg.GroupInstanceID != "" {
		iid := c.cfg.GroupInstanceID
		m.instanceID = &iid
	}
	return m
}

func (m *consumerMember) identity() (int32, string, *string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.epoch, m.memberID, nil
}

func (m *consumerMember) setEpoch(e int32) {
	m.mu.Lock()
	m.epoch = e
	m.mu.Unlock()
}

// heartbeat sends one ConsumerGroupHeartbeat with the full member state
// and applies the answer.
func (m *consumerMember) heartbeat(ctx context.Context, epoch int32) error {
	c := m.c
	node, err := c.coord.get(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	memberID := m.memberID
	m.mu.Unlock()
	req := &wire.ConsumerGroupHeartbeatRequest{GroupId: c.cfg.GroupID, MemberId: memberID, MemberEpoch: epoch,
		InstanceId: m.instanceID, RebalanceTimeoutMs: ms32(c.cfg.MaxPollInterval)}
	if c.cfg.ClientRack != "" {
		req.RackId = &c.cfg.ClientRack
	}
	if c.cfg.GroupRemoteAssignor != "" {
		req.ServerAssignor = &c.cfg.GroupRemoteAssignor
	}
	if epoch >= 0 {
		c.mu.Lock()
		s := c.subs
		c.mu.Unlock()
		if s.pattern != nil {
			src := s.patternSrc
			req.SubscribedTopicRegex = &src
		} else {
			req.SubscribedTopicNames = append([]string{}, s.topics...)
		}
		req.TopicPartitions = []wire.ConsumerGroupHeartbeatRequestTopicPartitions{}
		for _, tp := range m.ownedList() {
			id := m.topicIDs[tp.Topic]
			n := len(req.TopicPartitions)
			if n > 0 && req.TopicPartitions[n-1].TopicId == id {
				req.TopicPartitions[n-1].Partitions = append(req.TopicPartitions[n-1].Partitions, tp.Partition)
			} else {
				req.TopicPartitions = append(req.TopicPartitions, wire.ConsumerGroupHeartbeatRequestTopicPartitions{TopicId: id, Partitions: []int32{tp.Partition}})
			}
		}
	}
	hctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	resp, err := c.groupConn.request(hctx, node, req)
	cancel()
	if err != nil {
		c.coord.invalidate(node)
		return err
	}
	r := resp.(*wire.ConsumerGroupHeartbeatResponse)
	if code := wire.ErrorCode(r.ErrorCode); code != wire.ErrNone {
		if coordinatorError(code) {
			c.coord.invalidate(node)
		}
		detail := "consumer group heartbeat of group " + c.cfg.GroupID
		if r.ErrorMessage != nil && *r.ErrorMessage != "" {
			detail += ": " + *r.ErrorMessage
		}
		if code == wire.ErrUnsupportedVersion {
			// Kafka 3.7-3.9 know the API but enable the protocol only on
			// request (group.coordinator.rebalance.protocols).
			detail += " (the broker does not enable the KIP-848 consumer group protocol, on by default from Kafka 4.0: use group.protocol=classic)"
		}
		return &wire.Error{Code: code, Detail: detail}
	}
	if epoch < 0 {
		return nil // left
	}
	m.mu.Lock()
	if r.MemberId != nil && *r.MemberId != "" {
		m.memberID = *r.MemberId
	}
	m.epoch = r.MemberEpoch
	m.mu.Unlock()
	if r.HeartbeatIntervalMs > 0 {
		m.interval = time.Duration(r.HeartbeatIntervalMs) * time.Millisecond
	}
	if r.Assignment != nil {
		m.pending = r.Assignment.TopicPartitions
		m.hasPending = true
	}
	m.markStable()
	return nil
}

// keepAlive heartbeats while a revocation waits for the application.
func (m *consumerMember) keepAlive(ctx context.Context) error {
	epoch, _, _ := m.identity()
	err := m.heartbeat(ctx, epoch)
	switch wire.CodeOf(err) {
	case wire.ErrUnknownMemberID, wire.ErrFencedMemberEpoch, wire.ErrFencedInstanceID:
		return err
	}
	return nil
}

// reconcile moves the assignment to the pending target: revoke first,
// then assign. It reports whether the owned set changed (the broker is then
// told at once) and whether topic ids are still unresolved.
func (m *consumerMember) reconcile() (changed, unresolved bool) {
	if !m.hasPending {
		return false, false
	}
	c := m.c
	names := map[[16]byte]string{}
	lookup := func(meta *Metadata) {
		if meta == nil {
			return
		}
		for name, t := range meta.Topics {
			names[t.ID] = name
		}
	}
	lookup(c.cl.meta.Load())
	for _, t := range m.pending {
		if _, ok := names[t.TopicId]; !ok {
			ctx, cancel := context.WithTimeout(m.ctx, c.cfg.RequestTimeout)
			meta, err := c.cl.RefreshMetadata(ctx, nil)
			cancel()
			if err == nil {
				lookup(meta)
			}
			break
		}
	}
	target := map[TopicPartition]bool{}
	for _, t := range m.pending {
		name, ok := names[t.TopicId]
		if !ok {
			unresolved = true
			continue
		}
		m.topicIDs[name] = t.TopicId
		for _, p := range t.Partitions {
			target[TopicPartition{name, p}] = true
		}
	}
	if !unresolved {
		m.hasPending = false
	}
	var revoked, added []TopicPartition
	for tp := range m.owned {
		if !target[tp] {
			revoked = append(revoked, tp)
		}
	}
	for tp := range target {
		if !m.owned[tp] {
			added = append(added, tp)
		}
	}
	if len(revoked) > 0 {
		c.revoked(m.ctx, revoked, false, m.keepAlive)
		for _, tp := range revoked {
			delete(m.owned, tp)
		}
	}
	if len(added) > 0 {
		for _, tp := range added {
			m.owned[tp] = true
		}
		c.assigned(added)
	}
	return len(revoked) > 0 || len(added) > 0, unresolved
}

func (m *consumerMember) run() {
	defer close(m.done)
	attempt := 0
	for m.ctx.Err() == nil {
		epoch, _, _ := m.identity()
		err := m.heartbeat(m.ctx, epoch)
		if err != nil {
			if m.ctx.Err() != nil {
				return
			}
			switch code := wire.CodeOf(err); {
			case code == wire.ErrUnknownMemberID || code == wire.ErrFencedMemberEpoch:
				// Fenced: the partitions are gone; join again as new.
				m.loseAll()
				m.setEpoch(epochJoin)
				m.setErr(err)
				continue
			case fatalGroupError(code):
				m.setFatal(err)
				m.loseAll()
				return
			default:
				m.setErr(err)
				if !m.sleep(m.c.cfg.lookupBackoff(attempt)) {
					return
				}
				attempt++
				continue
			}
		}
		attempt = 0
		changed, unresolved := m.reconcile()
		if e, _, _ := m.identity(); e > 0 {
			m.markJoined()
		}
		if changed {
			continue // acknowledge the new owned set at once
		}
		wait := m.interval
		if unresolved {
			wait = min(wait, 500*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-m.rejoin:
		case <-m.ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
		if m.pollExpired() {
			m.loseAll()
			ctx, cancel := context.WithTimeout(m.ctx, m.c.cfg.RequestTimeout)
			m.leave(ctx)
			cancel()
			if !m.waitPoll() {
				return
			}
			m.setEpoch(epochJoin)
		}
	}
}

// leave sends the leave heartbeat: epoch -1, or -2 for a static member
// (which keeps its assignment for a restart within the session timeout).
func (m *consumerMember) leave(ctx context.Context) error {
	epoch, _, _ := m.identity()
	if epoch <= 0 {
		return nil
	}
	le := epochLeave
	if m.instanceID != nil {
		le = epochLeaveStatic
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = m.heartbeat(ctx, le); err == nil || ctx.Err() != nil {
			break
		}
		if code := wire.CodeOf(err); !coordinatorError(code) && !transportError(err) {
			break
		}
	}
	m.setEpoch(epochJoin)
	if err != nil {
		return fmt.Errorf("leaving group %s: %w", m.c.cfg.GroupID, err)
	}
	return nil
}

func (m *consumerMember) stop(ctx context.Context, unsubscribe bool) error {
	m.cancel()
	select {
	case <-m.done:
	case <-ctx.Done():
		return &wire.Error{Code: wire.ErrTimedOut, Detail: "stopping group membership"}
	}
	return m.finish(ctx, unsubscribe, m.leave)
}
