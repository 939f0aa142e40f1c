package core

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// Share group membership (KIP-932): one RPC, ShareGroupHeartbeat, joins
// (epoch 0, with the subscription), heartbeats at the interval the
// coordinator sends, receives the assignment (the broker's; several members
// usually share each partition) and leaves (epoch -1). The member id is
// generated here and kept for the consumer's whole life, as the protocol
// requires. The heartbeat runs on its own goroutine (run) and its own
// connection, so that share fetches long-polling the same broker never
// delay it.

// sharePart is a partition named by topic id, as the share APIs name them.
type sharePart struct {
	id [16]byte
	p  int32
}

// shareConn is a connection of the share consumer's own to one broker,
// leased from the client's pool (see leasedConn for why: Kafka serves the
// requests of a connection one at a time). Safe for concurrent use.
type shareConn struct {
	cl   *Client
	mu   sync.Mutex
	node int32     // guarded by mu
	pc   *PoolConn // guarded by mu; nil until first use or after a failure
}

// request sends req to broker node on the connection, dialing (or
// re-dialing after a failure or a change of node) when needed.
// request.timeout.ms applies when ctx has no earlier deadline (plus
// MaxWaitMs for a share fetch, see requestLimits).
func (s *shareConn) request(ctx context.Context, node int32, req wire.Request) (wire.Response, error) {
	ctx, cancel := s.cl.withTimeout(ctx, s.cl.cfg.RequestTimeout+shareFetchWait(req))
	defer cancel()
	s.mu.Lock()
	if s.pc != nil && (s.node != node || s.pc.Closed()) {
		s.cl.Pool().Release(s.pc, true)
		s.pc = nil
	}
	if s.pc == nil {
		b, err := s.cl.brokerInfo(ctx, node)
		if err == nil {
			s.pc, err = s.cl.Pool().Get(ctx, b.Addr())
		}
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		s.node = node
	}
	pc := s.pc
	s.mu.Unlock()
	resp, err := pc.Request(ctx, req)
	if err != nil {
		s.mu.Lock()
		if s.pc == pc && pc.Closed() {
			s.cl.Pool().Release(pc, true)
			s.pc = nil
		}
		s.mu.Unlock()
	}
	return resp, err
}

// shareFetchWait is the long poll of req, if it is a share fetch.
func shareFetchWait(req wire.Request) time.Duration {
	if f, ok := req.(*wire.ShareFetchRequest); ok && f.MaxWaitMs > 0 {
		return time.Duration(f.MaxWaitMs) * time.Millisecond
	}
	return 0
}

// close gives the connection back to the pool.
func (s *shareConn) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc != nil {
		s.cl.Pool().Release(s.pc, false)
		s.pc = nil
	}
}

// brokerInfo returns broker node from the metadata, refreshing it when the
// node is unknown.
func (c *Client) brokerInfo(ctx context.Context, node int32) (BrokerInfo, error) {
	if m := c.meta.Load(); m != nil {
		if b, ok := m.Brokers[node]; ok {
			return b, nil
		}
	}
	m, err := c.RefreshMetadata(ctx, []string{})
	if err != nil {
		return BrokerInfo{}, err
	}
	if b, ok := m.Brokers[node]; ok {
		return b, nil
	}
	return BrokerInfo{}, &wire.Error{Code: wire.ErrBrokerNotAvailable, Detail: fmt.Sprintf("node %d is not in the cluster metadata", node)}
}

// coordinator returns the node of the share group's coordinator (the group
// coordinator: FindCoordinator with the GROUP key type), cached until
// invalidated.
func (c *ShareConsumer) coordinator(ctx context.Context) (int32, error) {
	c.mu.Lock()
	if c.coordOK {
		n := c.coordNode
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	group := c.cfg.GroupID
	node, err := c.cl.findCoordinator(ctx, group, wire.FindCoordinatorKeyTypeGroup, "share group "+group)
	if err != nil {
		return -1, err
	}
	c.mu.Lock()
	c.coordNode, c.coordOK = node, true
	c.mu.Unlock()
	return node, nil
}

// heartbeat sends one ShareGroupHeartbeat at epoch (0 joins with the
// subscription, -1 leaves) and applies the answer: the new epoch, the
// heartbeat interval and, when the broker sends one, the new assignment.
func (c *ShareConsumer) heartbeat(ctx context.Context, epoch int32) error {
	node, err := c.coordinator(ctx)
	if err != nil {
		return err
	}
	req := &wire.ShareGroupHeartbeatRequest{GroupId: c.cfg.GroupID, MemberId: c.memberID, MemberEpoch: epoch}
	if epoch >= 0 {
		c.mu.Lock()
		// The full subscription every time: null would mean "unchanged",
		// but resending it costs a few bytes and survives any lost answer.
		req.SubscribedTopicNames = append([]string{}, c.topics...)
		c.mu.Unlock()
		if epoch == 0 && c.cfg.ClientRack != "" {
			rack := c.cfg.ClientRack
			req.RackId = &rack
		}
	}
	resp, err := c.hbConn.request(ctx, node, req)
	if err != nil {
		c.invalidateCoordinator(node)
		return err
	}
	r := resp.(*wire.ShareGroupHeartbeatResponse)
	if code := wire.ErrorCode(r.ErrorCode); code != wire.ErrNone {
		if coordinatorError(code) {
			c.invalidateCoordinator(node)
		}
		detail := "share group heartbeat of group " + c.cfg.GroupID
		if r.ErrorMessage != nil && *r.ErrorMessage != "" {
			detail += ": " + *r.ErrorMessage
		}
		if code == wire.ErrUnsupportedVersion || code == wire.ErrInvalidRequest && epoch == 0 {
			detail += " (share groups need Apache Kafka 4.2+, or 4.1 with the share.version feature enabled)"
		}
		return &wire.Error{Code: code, Detail: detail}
	}
	if epoch < 0 {
		return nil // left
	}
	c.mu.Lock()
	c.epoch = r.MemberEpoch
	if r.HeartbeatIntervalMs > 0 {
		c.hbInterval = time.Duration(r.HeartbeatIntervalMs) * time.Millisecond
	}
	changed := r.Assignment != nil
	if changed {
		asg := map[sharePart]bool{}
		for _, t := range r.Assignment.TopicPartitions {
			for _, p := range t.Partitions {
				asg[sharePart{t.TopicId, p}] = true
			}
		}
		c.assigned = asg
		c.wakeLocked()
	}
	if !c.joined {
		c.joined = true
		c.wakeLocked()
	}
	n := len(c.assigned)
	c.mu.Unlock()
	if changed {
		c.cfg.logf(LogInfo, "share", "group %s: member %s at epoch %d is assigned %d partition(s)", c.cfg.GroupID, c.memberID, r.MemberEpoch, n)
	}
	return nil
}

func (c *ShareConsumer) invalidateCoordinator(node int32) {
	c.mu.Lock()
	if c.coordOK && c.coordNode == node {
		c.coordOK = false
	}
	c.mu.Unlock()
}

// wakeLocked wakes a Poll waiting for an assignment (c.mu held).
func (c *ShareConsumer) wakeLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// run is the heartbeat goroutine, from Subscribe until Close.
func (c *ShareConsumer) run() {
	defer close(c.hbDone)
	attempt := 0
	for c.ctx.Err() == nil {
		c.mu.Lock()
		epoch := c.epoch
		c.mu.Unlock()
		err := c.heartbeat(c.ctx, epoch)
		if c.ctx.Err() != nil {
			return
		}
		wait := time.Duration(0)
		if err != nil {
			switch code := wire.CodeOf(err); {
			case epoch != 0 && (code == wire.ErrUnknownMemberID || code == wire.ErrFencedMemberEpoch ||
				code == wire.ErrGroupIDNotFound):
				// Fenced, or the group is gone (deleted while we were
				// in it): join again at once, with the same member id
				// (a join failing so goes to the backoff below).
				c.mu.Lock()
				c.epoch, c.assigned = 0, nil
				c.mu.Unlock()
				c.cfg.logf(LogInfo, "share", "group %s: member %s rejoins: %v", c.cfg.GroupID, c.memberID, err)
				continue
			case fatalGroupError(code) || code == wire.ErrGroupIDNotFound:
				// GROUP_ID_NOT_FOUND when joining: the id belongs to a
				// group of another type (a consumer group).
				c.mu.Lock()
				c.fatal, c.assigned = err, nil
				c.wakeLocked()
				c.mu.Unlock()
				c.cfg.logf(LogError, "share", "group %s: membership ended: %v", c.cfg.GroupID, err)
				return
			default:
				c.cfg.logf(LogWarn, "share", "group %s: heartbeat failed, retrying: %v", c.cfg.GroupID, err)
				wait = c.cfg.lookupBackoff(attempt)
				attempt++
			}
		} else {
			attempt = 0
			c.mu.Lock()
			wait = c.hbInterval
			c.mu.Unlock()
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.subWake:
		case <-c.ctx.Done():
		}
		t.Stop()
	}
}

// leave sends the leaving heartbeat (epoch -1), a few times on coordinator
// moves and transport failures.
func (c *ShareConsumer) leave(ctx context.Context) error {
	c.mu.Lock()
	epoch := c.epoch
	c.mu.Unlock()
	if epoch <= 0 {
		return nil
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = c.heartbeat(ctx, -1); err == nil || ctx.Err() != nil {
			break
		}
		if code := wire.CodeOf(err); !coordinatorError(code) && !transportError(err) {
			break
		}
	}
	c.mu.Lock()
	c.epoch = 0
	c.mu.Unlock()
	if err != nil && wire.CodeOf(err) != wire.ErrUnknownMemberID {
		return fmt.Errorf("leaving share group %s: %w", c.cfg.GroupID, err)
	}
	return nil
}

// shareTopicList returns the deduplicated, sorted topic names.
func shareTopicList(topics []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range topics {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}
