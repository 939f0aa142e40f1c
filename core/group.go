package core

// Group membership plumbing shared by both protocols: the groupMember
// interface, memberBase (owned partitions, join/stable waits, poll
// expiry, the final commit and leave) and the errors that end membership.
// The classic member is in group_classic.go, the KIP-848 member
// (group.protocol=consumer) in group_consumer.go.

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
