package core

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// groupMember runs the consumer's membership of its group in one goroutine
// (run): joining, heartbeats and assignment changes happen there, never in
// Poll. Two implementations: classicMember (JoinGroup / SyncGroup /
// Heartbeat, client-side assignors) and consumerMember (KIP-848
// ConsumerGroupHeartbeat).
type groupMember interface {
	run()
	// waitJoined waits for the first assignment (or a fatal error).
	waitJoined(ctx context.Context) error
	// subscriptionChanged makes the member rejoin with Consumer.subs.
	subscriptionChanged()
	// identity is what commits carry: generation (classic) or member
	// epoch (consumer), member id, static instance id.
	identity() (int32, string, *string)
	// waitStable waits until commits can be retried: the classic member
	// has a new generation, the consumer member a fresh epoch.
	waitStable(ctx context.Context) error
	// stop ends membership: commits (auto-commit), revokes every
	// partition when unsubscribing (else just drops them), leaves the
	// group and waits for run to return, all bounded by ctx.
	stop(ctx context.Context, unsubscribe bool) error
}

// memberBase is the state and plumbing both protocols share.
type memberBase struct {
	c      *Consumer
	ctx    context.Context // membership lifetime: cancelled by stop
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	joinOnce sync.Once
	joined   chan struct{} // closed at the first completed join
	rejoin   chan struct{} // capacity 1: subscription changed

	mu       sync.Mutex
	fatal    error         // guarded by mu: membership ended with it
	lastErr  error         // guarded by mu: the latest retriable failure
	stableCh chan struct{} // guarded by mu: closed and replaced when a join / heartbeat completes

	// owned is the assignment; only the run goroutine (and stop, after
	// run returned) touch it.
	owned map[TopicPartition]bool
}

func newMemberBase(c *Consumer) memberBase {
	ctx, cancel := context.WithCancel(c.ctx)
	return memberBase{
		c: c, ctx: ctx, cancel: cancel,
		done:     make(chan struct{}),
		joined:   make(chan struct{}),
		rejoin:   make(chan struct{}, 1),
		stableCh: make(chan struct{}),
		owned:    map[TopicPartition]bool{},
	}
}

func (m *memberBase) subscriptionChanged() {
	select {
	case m.rejoin <- struct{}{}:
	default:
	}
}

func (m *memberBase) markJoined() {
	m.joinOnce.Do(func() { close(m.joined) })
	m.markStable()
}

func (m *memberBase) markStable() {
	m.mu.Lock()
	close(m.stableCh)
	m.stableCh = make(chan struct{})
	m.lastErr = nil
	m.mu.Unlock()
}

func (m *memberBase) setErr(err error) {
	m.mu.Lock()
	m.lastErr = err
	m.mu.Unlock()
}

// setFatal ends membership with err: the application sees it at its next
// Poll, and Subscribe returns it.
func (m *memberBase) setFatal(err error) {
	m.mu.Lock()
	m.fatal = err
	m.mu.Unlock()
	m.c.reportErr(err)
}

func (m *memberBase) waitJoined(ctx context.Context) error {
	select {
	case <-m.joined:
		return nil
	case <-m.done:
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.fatal != nil {
			return m.fatal
		}
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "group membership stopped"}
	case <-ctx.Done():
		m.mu.Lock()
		defer m.mu.Unlock()
		detail := fmt.Sprintf("group %q not joined before the deadline", m.c.cfg.GroupID)
		if m.lastErr != nil {
			detail += "; last error: " + m.lastErr.Error()
		}
		return &wire.Error{Code: wire.ErrCoordinatorNotAvailable, Detail: detail}
	}
}

func (m *memberBase) waitStable(ctx context.Context) error {
	m.mu.Lock()
	ch := m.stableCh
	m.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-m.done:
		return &wire.Error{Code: wire.ErrUnknownMemberID, Detail: "group membership ended"}
	case <-ctx.Done():
		return &wire.Error{Code: wire.ErrRebalanceInProgress, Detail: "the group did not settle before the deadline"}
	}
}

func (m *memberBase) ownedList() []TopicPartition {
	out := make([]TopicPartition, 0, len(m.owned))
	for tp := range m.owned {
		out = append(out, tp)
	}
	sortTPs(out)
	return out
}

// loseAll drops every owned partition without committing.
func (m *memberBase) loseAll() {
	if len(m.owned) == 0 {
		return
	}
	m.c.revoked(m.ctx, m.ownedList(), true, nil)
	m.owned = map[TopicPartition]bool{}
}

// sleep waits d or until the member is stopped; it reports false when
// stopped.
func (m *memberBase) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.ctx.Done():
		return false
	}
}

// waitPoll blocks until the application polls (after max.poll.interval.ms
// expired the member left the group; it rejoins at the next Poll).
func (m *memberBase) waitPoll() bool {
	c := m.c
	c.mu.Lock()
	ch := c.polled
	c.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-m.ctx.Done():
		return false
	}
}

// pollExpired reports whether the application has not polled for
// max.poll.interval.ms.
func (m *memberBase) pollExpired() bool {
	c := m.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Since(c.lastPoll) > c.cfg.MaxPollInterval
}

// subscribedTopics returns the topics to subscribe to; for a pattern it
// matches the pattern against the cluster's topics (refreshing metadata
// when refresh is true) and reports whether the match set changed.
func (m *memberBase) subscribedTopics(ctx context.Context, refresh bool) ([]string, bool, error) {
	c := m.c
	c.mu.Lock()
	s := c.subs
	c.mu.Unlock()
	if s.pattern == nil {
		return s.topics, false, nil
	}
	meta := c.cl.meta.Load()
	if refresh || meta == nil || !meta.all {
		var err error
		if meta, err = c.cl.RefreshMetadata(ctx, nil); err != nil {
			return s.topics, false, err
		}
	}
	var matched []string
	for name, t := range meta.Topics {
		if !t.Internal && t.Err == wire.ErrNone && s.pattern.MatchString(name) {
			matched = append(matched, name)
		}
	}
	sort.Strings(matched)
	changed := len(matched) != len(s.topics)
	for i := 0; !changed && i < len(matched); i++ {
		changed = matched[i] != s.topics[i]
	}
	if changed {
		c.mu.Lock()
		if c.subs.pattern == s.pattern {
			c.subs.topics = matched
		}
		c.mu.Unlock()
	}
	return matched, changed, nil
}

// finalCommit commits everything consumed (auto-commit) before the member
// stops or leaves.
func (m *memberBase) finalCommit(ctx context.Context) error {
	c := m.c
	if !c.cfg.EnableAutoCommit || len(m.owned) == 0 {
		return nil
	}
	return c.commitAll(ctx, true)
}

// ---- classic protocol ----

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
	a := assignorByName(m.protocol)
	return a != nil && a.cooperative()
}

// errRejoin asks the run loop to join again at once.
type errRejoin struct{ reason string }

func (e errRejoin) Error() string { return "rejoin: " + e.reason }

// fatalGroupError reports whether a group error ends membership.
func fatalGroupError(code wire.ErrorCode) bool {
	switch code {
	case wire.ErrFencedInstanceID, wire.ErrInvalidGroupID, wire.ErrGroupAuthorizationFailed,
		wire.ErrInconsistentGroupProtocol, wire.ErrInvalidSessionTimeout, wire.ErrGroupMaxSizeReached,
		wire.ErrUnsupportedVersion, wire.ErrUnsupportedVersionLocal, wire.ErrTopicAuthorizationFailed,
		wire.ErrUnsupportedAssignor, wire.ErrInvalidRegularExpression, wire.ErrInvalidRequest,
		wire.ErrClusterAuthorizationFailed:
		return true
	}
	return false
}

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
		req.Protocols = append(req.Protocols, wire.JoinGroupRequestProtocol{Name: name, Metadata: meta})
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
	a := assignorByName(protocol)
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

// finish is the end of membership for both protocols: commit, then hand
// back the partitions, then leave.
func (m *memberBase) finish(ctx context.Context, unsubscribe bool, leave func(context.Context) error) error {
	c := m.c
	var err error
	if unsubscribe {
		c.revoked(ctx, m.ownedList(), false, nil)
	} else if cerr := m.finalCommit(ctx); cerr != nil {
		err = cerr
	}
	c.mu.Lock()
	for tp := range m.owned {
		if p := c.parts[tp]; p != nil {
			c.dropPartitionLocked(p)
		}
	}
	c.mu.Unlock()
	m.owned = map[TopicPartition]bool{}
	if lerr := leave(ctx); lerr != nil && err == nil && wire.CodeOf(lerr) != wire.ErrUnknownMemberID {
		err = lerr
	}
	return err
}

func ms32(d time.Duration) int32 {
	ms := d.Milliseconds()
	if ms > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(ms)
}
