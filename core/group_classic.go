package core

// The classic group protocol (group.protocol=classic): JoinGroup /
// SyncGroup / Heartbeat / LeaveGroup, with the client-side assignors of
// assign.go run by the elected leader. The plumbing both protocols share
// is in group.go, KIP-848 in group_consumer.go.

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/gofka/gofka/wire"
)

// classicMember is a member of a classic consumer group.
type classicMember struct {
	memberBase

	// Guarded by memberBase.mu (read by commits from other goroutines).
	memberID   string
	generation int32
	instanceID *string

	// Used by the run goroutine only.
	protocol string // assignor chosen for the current generation
	leader   bool   // this member assigns the partitions
	// groupCounts holds, for every topic the group subscribed to, the
	// partition count the leader assigned from: 0 for a topic that was
	// missing or had no usable metadata then (not yet created, leader
	// not yet elected). The leader rejoins when a count changes.
	groupCounts map[string]int32
}

func newClassicMember(c *Consumer) *classicMember {
	m := &classicMember{memberBase: newMemberBase(c), generation: -1}
	if c.cfg.GroupInstanceID != "" {
		id := c.cfg.GroupInstanceID
		m.instanceID = &id
	}
	return m
}

func (m *classicMember) identity() (int32, string, *string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.generation, m.memberID, m.instanceID
}

func (m *classicMember) setIdentity(member string, gen int32) {
	m.mu.Lock()
	m.memberID, m.generation = member, gen
	m.mu.Unlock()
}

func (m *classicMember) cooperative() bool {
	a := assignorByName(AssignmentStrategy(m.protocol))
	return a != nil && a.cooperative()
}

// errRejoin asks the run loop to join again at once.
type errRejoin struct{ reason string }

func (e errRejoin) Error() string { return "rejoin: " + e.reason }

func (m *classicMember) run() {
	defer close(m.done)
	attempt := 0
	for m.ctx.Err() == nil {
		err := m.joinSync()
		if err == nil {
			attempt = 0
			m.markJoined()
			if !m.heartbeatLoop() {
				continue
			}
			// Poll interval expired: the member left; rejoin at the next
			// Poll.
			if !m.waitPoll() {
				return
			}
			continue
		}
		if _, ok := err.(errRejoin); ok {
			continue
		}
		if m.ctx.Err() != nil {
			return
		}
		if fatalGroupError(wire.CodeOf(err)) {
			m.setFatal(err)
			m.loseAll()
			return
		}
		m.setErr(err)
		if !m.sleep(m.c.cfg.lookupBackoff(attempt)) {
			return
		}
		attempt++
	}
}

// joinSync performs one JoinGroup + SyncGroup round and applies the
// assignment.
func (m *classicMember) joinSync() error {
	c := m.c
	ctx := m.ctx
	node, err := c.coord.get(ctx)
	if err != nil {
		return err
	}
	// Eager protocols give everything back before joining.
	if len(m.owned) > 0 && !m.cooperative() {
		c.revoked(ctx, m.ownedList(), false, m.keepAlive)
		m.owned = map[TopicPartition]bool{}
	}
	topics, _, err := m.subscribedTopics(ctx, false)
	if err != nil {
		return err
	}
	gen, memberID, instance := m.identity()
	owned := m.ownedList()
	var ownedByTopic []wire.ConsumerProtocolTopicPartition
	for _, tp := range owned {
		if n := len(ownedByTopic); n > 0 && ownedByTopic[n-1].Topic == tp.Topic {
			ownedByTopic[n-1].Partitions = append(ownedByTopic[n-1].Partitions, tp.Partition)
		} else {
			ownedByTopic = append(ownedByTopic, wire.ConsumerProtocolTopicPartition{Topic: tp.Topic, Partitions: []int32{tp.Partition}})
		}
	}
	var rack *string
	if c.cfg.ClientRack != "" {
		rack = &c.cfg.ClientRack
	}
	sub := wire.ConsumerProtocolSubscription{Topics: topics, OwnedPartitions: ownedByTopic, GenerationId: gen, RackId: rack}
	meta := sub.Encode(wire.ConsumerProtocolMaxVersion)
	req := &wire.JoinGroupRequest{
		GroupId: c.cfg.GroupID, SessionTimeoutMs: ms32(c.cfg.SessionTimeout),
		RebalanceTimeoutMs: ms32(c.cfg.MaxPollInterval), MemberId: memberID, GroupInstanceId: instance,
		ProtocolType: "consumer",
	}
	for _, name := range c.cfg.AssignmentStrategies {
		req.Protocols = append(req.Protocols, wire.JoinGroupRequestProtocol{Name: string(name), Metadata: meta})
	}
	jctx, cancel := context.WithTimeout(ctx, c.cfg.MaxPollInterval+c.cfg.RequestTimeout)
	resp, err := c.groupConn.request(jctx, node, req)
	cancel()
	if err != nil {
		c.coord.invalidate(node)
		return err
	}
	jr := resp.(*wire.JoinGroupResponse)
	switch code := wire.ErrorCode(jr.ErrorCode); code {
	case wire.ErrNone:
	case wire.ErrMemberIDRequired:
		m.setIdentity(jr.MemberId, gen)
		return errRejoin{"member id assigned"}
	case wire.ErrUnknownMemberID:
		m.setIdentity("", -1)
		m.loseAll()
		return errRejoin{"unknown member id"}
	case wire.ErrIllegalGeneration:
		m.setIdentity(memberID, -1)
		m.loseAll()
		return errRejoin{"illegal generation"}
	case wire.ErrRebalanceInProgress:
		return errRejoin{"rebalance in progress"}
	default:
		if coordinatorError(code) {
			c.coord.invalidate(node)
		}
		return &wire.Error{Code: code, Detail: "joining group " + c.cfg.GroupID}
	}
	m.setIdentity(jr.MemberId, jr.GenerationId)
	m.protocol = jr.ProtocolName
	m.leader = jr.Leader == jr.MemberId

	var assignments []wire.SyncGroupRequestAssignment
	if m.leader && !jr.SkipAssignment {
		if assignments, err = m.assign(ctx, jr.ProtocolName, jr.Members); err != nil {
			return err
		}
	}
	protoType, protoName := "consumer", jr.ProtocolName
	sreq := &wire.SyncGroupRequest{GroupId: c.cfg.GroupID, GenerationId: jr.GenerationId, MemberId: jr.MemberId,
		GroupInstanceId: instance, ProtocolType: &protoType, ProtocolName: &protoName, Assignments: assignments}
	sctx, cancel := context.WithTimeout(ctx, c.cfg.MaxPollInterval+c.cfg.RequestTimeout)
	resp, err = c.groupConn.request(sctx, node, sreq)
	cancel()
	if err != nil {
		c.coord.invalidate(node)
		return err
	}
	sr := resp.(*wire.SyncGroupResponse)
	switch code := wire.ErrorCode(sr.ErrorCode); code {
	case wire.ErrNone:
	case wire.ErrRebalanceInProgress:
		return errRejoin{"rebalance in progress"}
	case wire.ErrUnknownMemberID:
		m.setIdentity("", -1)
		m.loseAll()
		return errRejoin{"unknown member id"}
	case wire.ErrIllegalGeneration:
		m.setIdentity(jr.MemberId, -1)
		m.loseAll()
		return errRejoin{"illegal generation"}
	default:
		if coordinatorError(code) {
			c.coord.invalidate(node)
		}
		return &wire.Error{Code: code, Detail: "syncing group " + c.cfg.GroupID}
	}
	var a wire.ConsumerProtocolAssignment
	if err := a.Decode(sr.Assignment); err != nil {
		return &wire.Error{Code: wire.ErrCorruptResponse, Detail: "group assignment: " + err.Error()}
	}
	assigned := map[TopicPartition]bool{}
	for _, t := range a.AssignedPartitions {
		for _, p := range t.Partitions {
			assigned[TopicPartition{t.Topic, p}] = true
		}
	}
	var added, revoked []TopicPartition
	for tp := range assigned {
		if !m.owned[tp] {
			added = append(added, tp)
		}
	}
	for tp := range m.owned {
		if !assigned[tp] {
			revoked = append(revoked, tp)
		}
	}
	m.owned = assigned
	c.assigned(added)
	if len(revoked) > 0 {
		// Cooperative: give back what moves, then rejoin so that the
		// partitions reach their new owners.
		c.revoked(ctx, revoked, false, m.keepAlive)
		m.markStable()
		return errRejoin{"revoked partitions"}
	}
	return nil
}

// assign runs the chosen assignor over the members' subscriptions.
func (m *classicMember) assign(ctx context.Context, protocol string, members []wire.JoinGroupResponseMember) ([]wire.SyncGroupRequestAssignment, error) {
	a := assignorByName(AssignmentStrategy(protocol))
	if a == nil {
		return nil, &wire.Error{Code: wire.ErrInconsistentGroupProtocol, Detail: "the group chose assignor " + protocol + ", which this client does not implement"}
	}
	in := make([]assignMember, 0, len(members))
	topicSet := map[string]bool{}
	for _, mem := range members {
		var sub wire.ConsumerProtocolSubscription
		if err := sub.Decode(mem.Metadata); err != nil {
			return nil, &wire.Error{Code: wire.ErrInconsistentGroupProtocol, Detail: fmt.Sprintf("member %s subscription: %v", mem.MemberId, err)}
		}
		am := assignMember{id: mem.MemberId, topics: sub.Topics, generation: sub.GenerationId}
		if mem.GroupInstanceId != nil {
			am.instanceID = *mem.GroupInstanceId
		}
		for _, t := range sub.OwnedPartitions {
			for _, p := range t.Partitions {
				am.owned = append(am.owned, TopicPartition{t.Topic, p})
			}
		}
		for _, t := range sub.Topics {
			topicSet[t] = true
		}
		in = append(in, am)
	}
	topics := make([]string, 0, len(topicSet))
	for t := range topicSet {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	counts := map[string]int32{}
	if len(topics) > 0 {
		meta, err := m.c.cl.RefreshMetadata(ctx, topics)
		if err != nil {
			return nil, err
		}
		for _, t := range topics {
			counts[t] = usablePartitions(meta, t)
		}
	}
	m.groupCounts = counts
	result := a.assign(in, counts)
	out := make([]wire.SyncGroupRequestAssignment, 0, len(in))
	for _, mem := range in {
		var pa wire.ConsumerProtocolAssignment
		for _, tp := range result[mem.id] {
			if n := len(pa.AssignedPartitions); n > 0 && pa.AssignedPartitions[n-1].Topic == tp.Topic {
				pa.AssignedPartitions[n-1].Partitions = append(pa.AssignedPartitions[n-1].Partitions, tp.Partition)
			} else {
				pa.AssignedPartitions = append(pa.AssignedPartitions, wire.ConsumerProtocolTopicPartition{Topic: tp.Topic, Partitions: []int32{tp.Partition}})
			}
		}
		out = append(out, wire.SyncGroupRequestAssignment{MemberId: mem.id, Assignment: pa.Encode(wire.ConsumerProtocolMaxVersion)})
	}
	return out, nil
}

// usablePartitions is the number of partitions of topic the leader can
// assign: 0 while the topic is missing or its metadata has an error.
func usablePartitions(meta *Metadata, topic string) int32 {
	if ti := meta.Topics[topic]; ti != nil && ti.Err == wire.ErrNone {
		return int32(len(ti.Partitions))
	}
	return 0
}

// waitingForTopics reports whether the leader assigned while a subscribed
// topic had no partitions: it then checks metadata at every heartbeat, so
// a topic created after the subscription is consumed within a heartbeat
// interval instead of metadata.max.age.ms (5 minutes by default).
func (m *classicMember) waitingForTopics() bool {
	if !m.leader {
		return false
	}
	for _, n := range m.groupCounts {
		if n == 0 {
			return true
		}
	}
	return false
}

// heartbeat sends one Heartbeat and interprets its error.
func (m *classicMember) heartbeat(ctx context.Context) error {
	c := m.c
	node, err := c.coord.get(ctx)
	if err != nil {
		return err
	}
	gen, memberID, instance := m.identity()
	hctx, cancel := context.WithTimeout(ctx, min(c.cfg.SessionTimeout, c.cfg.RequestTimeout))
	resp, err := c.groupConn.request(hctx, node, &wire.HeartbeatRequest{GroupId: c.cfg.GroupID, GenerationId: gen,
		MemberId: memberID, GroupInstanceId: instance})
	cancel()
	if err != nil {
		c.coord.invalidate(node)
		return err
	}
	code := wire.ErrorCode(resp.(*wire.HeartbeatResponse).ErrorCode)
	if coordinatorError(code) {
		c.coord.invalidate(node)
	}
	if code == wire.ErrNone {
		return nil
	}
	return &wire.Error{Code: code, Detail: "heartbeat of group " + c.cfg.GroupID}
}

// keepAlive heartbeats while a revocation waits for the application. It
// fails only when the membership is gone.
func (m *classicMember) keepAlive(ctx context.Context) error {
	err := m.heartbeat(ctx)
	switch wire.CodeOf(err) {
	case wire.ErrUnknownMemberID, wire.ErrIllegalGeneration, wire.ErrFencedInstanceID:
		return err
	}
	return nil
}

// heartbeatLoop heartbeats until the member must rejoin (it returns
// false) or the application stopped polling for max.poll.interval.ms and
// the member left the group (true).
func (m *classicMember) heartbeatLoop() bool {
	c := m.c
	interval := c.cfg.HeartbeatInterval
	nextMeta := time.Now().Add(c.cfg.MetadataMaxAge)
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return false
		case <-m.rejoin:
			return false
		case <-t.C:
		}
		if m.pollExpired() {
			m.leaveForPollTimeout()
			return true
		}
		err := m.heartbeat(m.ctx)
		next := interval
		switch code := wire.CodeOf(err); {
		case err == nil:
		case code == wire.ErrRebalanceInProgress:
			return false
		case code == wire.ErrUnknownMemberID:
			m.setIdentity("", -1)
			m.loseAll()
			return false
		case code == wire.ErrIllegalGeneration:
			_, memberID, _ := m.identity()
			m.setIdentity(memberID, -1)
			m.loseAll()
			return false
		case fatalGroupError(code):
			m.setFatal(err)
			m.loseAll()
			m.cancel()
			return false
		default:
			// Coordinator moved or unreachable: retry soon. If it stays
			// away past the session timeout, the next answer says
			// UNKNOWN_MEMBER_ID and the partitions are lost.
			m.setErr(err)
			next = min(interval, 500*time.Millisecond)
		}
		if m.waitingForTopics() || time.Now().After(nextMeta) {
			nextMeta = time.Now().Add(c.cfg.MetadataMaxAge)
			if m.metadataChanged() {
				return false
			}
		}
		t.Reset(next)
	}
}

// metadataChanged reports whether the subscription's topics changed (a
// pattern matches other topics) or, for the leader, whether a topic's
// partition count differs from the one it assigned.
func (m *classicMember) metadataChanged() bool {
	ctx, cancel := context.WithTimeout(m.ctx, m.c.cfg.RequestTimeout)
	defer cancel()
	_, changed, err := m.subscribedTopics(ctx, true)
	if err != nil || changed {
		return changed
	}
	if !m.leader || len(m.groupCounts) == 0 {
		return false
	}
	topics := make([]string, 0, len(m.groupCounts))
	for t := range m.groupCounts {
		topics = append(topics, t)
	}
	meta, err := m.c.cl.RefreshMetadata(ctx, topics)
	if err != nil {
		return false
	}
	for t, n := range m.groupCounts {
		if usablePartitions(meta, t) != n {
			return true
		}
	}
	return false
}

// leaveForPollTimeout leaves the group because the application stopped
// polling: its partitions are lost (the application may be stuck midway,
// so nothing is committed).
func (m *classicMember) leaveForPollTimeout() {
	m.loseAll()
	ctx, cancel := context.WithTimeout(m.ctx, m.c.cfg.RequestTimeout)
	m.leave(ctx, "consumer poll timeout has expired")
	cancel()
}

// leave sends LeaveGroup (dynamic members only: a static member keeps its
// place until its session times out) and forgets the member id.
func (m *classicMember) leave(ctx context.Context, reason string) error {
	_, memberID, instance := m.identity()
	m.setIdentity("", -1)
	if memberID == "" || instance != nil {
		return nil
	}
	c := m.c
	_, err := c.groupRequest(ctx, &wire.LeaveGroupRequest{GroupId: c.cfg.GroupID, MemberId: memberID,
		Members: []wire.LeaveGroupRequestMember{{MemberId: memberID, Reason: &reason}}},
		func(r wire.Response) wire.ErrorCode { return wire.ErrorCode(r.(*wire.LeaveGroupResponse).ErrorCode) })
	return err
}

func (m *classicMember) stop(ctx context.Context, unsubscribe bool) error {
	m.cancel()
	select {
	case <-m.done:
	case <-ctx.Done():
		return &wire.Error{Code: wire.ErrTimedOut, Detail: "stopping group membership"}
	}
	return m.finish(ctx, unsubscribe, func(ctx context.Context) error {
		reason := "the consumer is closing"
		if unsubscribe {
			reason = "the consumer unsubscribed"
		}
		return m.leave(ctx, reason)
	})
}
