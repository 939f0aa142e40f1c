package core

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s/%d", tp.Topic, tp.Partition) }

// Special offsets accepted by Consumer.Seek.
const (
	OffsetBeginning int64 = -2 // the partition's earliest offset (log start)
	OffsetEnd       int64 = -1 // the partition's latest offset (high watermark, or LSO under read_committed)
)

// RebalanceKind says what happened to the partitions of a RebalanceEvent.
type RebalanceKind int8

const (
	// PartitionsAssigned: the partitions were added to the assignment. The
	// engine looks up their committed offsets (or applies
	// auto.offset.reset) on its own; a Seek from the listener overrides it.
	PartitionsAssigned RebalanceKind = 1
	// PartitionsRevoked: the partitions are being taken away. With
	// rebalance.callbacks the engine waits until the application polls
	// again (so it can commit them first); records of revoked partitions
	// are no longer returned.
	PartitionsRevoked RebalanceKind = 2
	// PartitionsLost: the member lost its partitions without a clean
	// revocation (session expired, fenced): committing them would fail.
	PartitionsLost RebalanceKind = 3
)

func (k RebalanceKind) String() string {
	switch k {
	case PartitionsAssigned:
		return "assigned"
	case PartitionsRevoked:
		return "revoked"
	case PartitionsLost:
		return "lost"
	}
	return fmt.Sprintf("RebalanceKind(%d)", int8(k))
}

// RebalanceEvent is one change of the consumer's assignment.
type RebalanceEvent struct {
	Kind       RebalanceKind
	Partitions []TopicPartition // sorted
}

// RebalanceListener handles rebalance events. Poll calls it in the polling
// goroutine, before returning that call's records; never from an engine
// goroutine.
type RebalanceListener func(RebalanceEvent)

// OffsetAndTimestamp is a result of OffsetsForTimes: the earliest offset
// whose record timestamp is at or after the asked time, and that record's
// timestamp (ms since the epoch). Offset is -1 when there is none.
type OffsetAndTimestamp struct {
	Offset    int64
	Timestamp int64
}

// posNeed is what a partition's position is waiting for.
type posNeed uint8

const (
	posKnown     posNeed = iota // position known (or stuck until Seek when fetchOffset < 0)
	posCommitted                // look up the committed offset, then reset if none
	posReset                    // list the offset of resetTo (earliest/latest)
)

// partState is one assigned partition. Every field is guarded by
// Consumer.mu.
type partState struct {
	tp TopicPartition
	// seq is bumped whenever the position jumps (seek, reset, revoke):
	// fetch responses and buffered records of an older seq are dropped.
	seq         uint64
	fetchOffset int64 // next offset to fetch; -1 while unknown
	consumed    int64 // next offset to return to the application; -1 while unknown
	safe        int64 // consumed as of the start of the latest Poll
	committed   int64 // last offset committed (or read) by this consumer, -1 if none
	need        posNeed
	resetTo     int64 // OffsetBeginning or OffsetEnd when need == posReset
	resolving   bool  // a committed / list-offsets lookup is in flight
	paused      bool
	inflight    bool // in a fetch request
	revoking    bool // being revoked: neither fetched nor returned
	leader      int32
	leaderEpoch int32
	hw          int64 // high watermark of the last fetch, -1 unknown
	retryAt     time.Time
}

// fetchable reports whether p may go into a fetch request now.
func (p *partState) fetchable(now time.Time) bool {
	return p.need == posKnown && p.fetchOffset >= 0 && !p.paused && !p.inflight && !p.revoking &&
		p.leader >= 0 && !now.Before(p.retryAt)
}

// chunk is the records of one partition from one fetch response, in
// offset order, kept as their record batches (wire.BatchView: bytes
// aliasing the response frame, or one decompressed buffer per batch) and
// decoded only as Poll takes them (take). So the prefetch holds the bytes
// fetched and no decoded records: a Record is ~140 bytes of heap, more
// than a small record's bytes, and holding the records of a 4 MiB
// prefetch of 100-byte records decoded doubled the consumer's live heap.
// Guarded by Consumer.mu once buffered.
type chunk struct {
	p       *partState
	seq     uint64
	batches []wire.BatchView // batches not started yet (control batches and aborted data left out)
	it      wire.RecordIter  // the batch being taken from
	from    int64            // the fetch offset: records before it (in the first batch) are skipped
	left    int              // records not yet taken as the batch headers count them (compaction makes it an over-estimate)
	next    int64            // offset after the chunk (skips control records / aborted data)
	bytes   int              // wire bytes accounted in Consumer.bufBytes
}

// pollLoan is the state of a poll whose records are only lent to the
// caller (PollWaitFunc, PollEventsFunc): the slabs they are decoded into
// are reused from poll to poll, so such a poll allocates next to nothing
// (a Record is ~140 bytes: decoded afresh for every poll, the records
// were half the consumer's garbage and its GC cycles). Not safe for
// concurrent use; the pool loans holds them between polls.
type pollLoan struct {
	slab []Record  // reused: the records lent
	out  []*Record // reused: pointers into slab
}

var loans = sync.Pool{New: func() any { return new(pollLoan) }}

// done reports whether every record of the chunk was taken.
func (ch *chunk) done() bool { return len(ch.batches) == 0 && ch.it.Remaining() == 0 }

// take decodes the chunk's next record into r and reports true, or
// reports false when the chunk is done or a record does not decode (err).
func (ch *chunk) take(r *wire.Record) (bool, error) {
	for {
		if ch.it.Remaining() == 0 {
			if err := ch.it.Err(); err != nil {
				return false, err
			}
			if len(ch.batches) == 0 {
				ch.left = 0
				return false, nil
			}
			ch.it = ch.batches[0].Iter()
			ch.batches[0] = wire.BatchView{}
			ch.batches = ch.batches[1:]
		}
		if !ch.it.Next(r) {
			continue // the batch's end, or its error (above)
		}
		if r.Offset < ch.from {
			continue
		}
		ch.left = max(ch.left-1, 0)
		return true, nil
	}
}

type pendingEvent struct {
	ev  RebalanceEvent
	ack chan struct{} // closed when the application has handled ev; nil if nobody waits
}

// Consumer reads records from Kafka, either as a member of a consumer group
// (Subscribe, SubscribePattern) or from partitions it is given (Assign).
//
// The engine works in the background: one fetcher per broker prefetches
// into a buffer bounded in bytes (queued.max.messages.kbytes), group
// membership (joins, heartbeats, KIP-848 reconciliation) runs in its own
// goroutine, offsets are looked up and auto-committed without Poll's help.
// Poll only takes what is buffered. Every method is safe for concurrent use.
type Consumer struct {
	cl         *Client
	cfg        *Config
	ownsClient bool
	listener   RebalanceListener

	releaseHeap func() // gives back the prefetch's share of the heap limit (core/memlimit.go) at Close

	ctx    context.Context // lifetime of the background goroutines
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	parts    map[TopicPartition]*partState // the assignment; guarded by mu
	buf      []*chunk                      // buffered records, fetch order; guarded by mu
	bufBytes int                           // response bytes of the records in buf; guarded by mu
	reserved int                           // MaxBytes of the fetches in flight (source.reserved); guarded by mu
	window   int                           // the prefetch bound in force, bytes (startWindow); guarded by mu
	drained  bool                          // Poll took the last buffered record, no fetch buffered any since; guarded by mu
	dataCh   chan struct{}                 // closed (and replaced) to wake Poll waiters; guarded by mu
	notify   func()                        // ready hook: rings kw's pipe once PollWait opened it; guarded by mu
	waiters  int                           // Poll calls waiting on dataCh; guarded by mu
	events   []pendingEvent                // not yet returned by Poll; guarded by mu
	acks     []chan struct{}               // events returned by the last Poll, acked by the next; guarded by mu
	errs     []error                       // reported by the next Poll; guarded by mu
	sources  map[int32]*source             // fetchers by broker; guarded by mu
	lastPoll time.Time                     // guarded by mu
	polled   chan struct{}                 // closed (and replaced) at each Poll; guarded by mu
	manual   bool                          // partitions come from Assign; guarded by mu
	closed   bool                          // guarded by mu
	kw       kernelWait                    // PollWait's wake pipe
	group    groupMember                   // nil without a subscription; guarded by mu
	subs     subscription                  // guarded by mu
	needMeta bool                          // leaders must be refreshed; guarded by mu

	maintWake chan struct{} // capacity 1: wakes the maintenance goroutine
	coord     coordinator
	groupConn leasedConn // to the group coordinator (see leasedConn)
	readLoop  sync.Once
	commits   commitCoalescer // serialises and coalesces commits (commit_coalescer.go)

	stats consumerCounters // statistics (core/stats.go); atomics, no lock

	// start may run with mu held, so these have a mutex of their own.
	acMu           sync.Mutex
	autoCommitStop context.CancelFunc // guarded by acMu: stops the auto-commit loop
	autoCommitDone chan struct{}      // guarded by acMu: closed when it has stopped
}

// subscription is what the group member subscribes to.
type subscription struct {
	topics     []string       // explicit topics, sorted
	pattern    *regexp.Regexp // or a pattern (topics then holds its last matches)
	patternSrc string         // the pattern as given (sent to the broker by the consumer protocol)
}

// same reports whether o subscribes to what s does: the same pattern, or
// the same explicit topics.
func (s subscription) same(o subscription) bool {
	if s.pattern != nil || o.pattern != nil {
		return s.pattern != nil && o.pattern != nil && s.patternSrc == o.patternSrc
	}
	if len(s.topics) != len(o.topics) {
		return false
	}
	for i := range s.topics {
		if s.topics[i] != o.topics[i] {
			return false
		}
	}
	return true
}

// NewConsumer creates a consumer from options over the defaults of the
// property table (docs/configuration.md); WithBrokers is required, and
// WithGroupID to subscribe or commit. It does no network I/O. A bad
// setting is INVALID_ARGUMENT.
func NewConsumer(opts ...ConsumerOption) (*Consumer, error) {
	return consumerFromConfig(configOf(opts))
}

// NewConsumerFromProperties creates a consumer from key=value properties
// (the keys of docs/configuration.md, as the C ABI and Python give them),
// over the defaults. Keys that configure other kinds of client are
// accepted and have no effect; an unknown key or a bad value is
// INVALID_ARGUMENT. Go code normally uses NewConsumer.
func NewConsumerFromProperties(props map[string]string) (*Consumer, error) {
	cfg, err := configFromProperties(props)
	if err != nil {
		return nil, err
	}
	return consumerFromConfig(cfg)
}

// consumerFromConfig creates a consumer with its own client.
func consumerFromConfig(cfg Config) (*Consumer, error) {
	if err := cfg.validateConsumer(); err != nil {
		return nil, err
	}
	cl, err := clientFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := newConsumer(cl)
	c.ownsClient = true
	return c, nil
}

func newConsumer(cl *Client) *Consumer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{
		cl:        cl,
		cfg:       &cl.cfg,
		ctx:       ctx,
		cancel:    cancel,
		parts:     map[TopicPartition]*partState{},
		dataCh:    make(chan struct{}),
		polled:    make(chan struct{}),
		sources:   map[int32]*source{},
		lastPoll:  time.Now(),
		maintWake: make(chan struct{}, 1),
	}
	c.window = startWindow(c.prefetchLimit())
	c.coord.c = c
	c.groupConn.c = c
	c.releaseHeap = addHeapBudget(prefetchHeapBudget(c.cfg))
	return c
}

// SetRebalanceListener installs l (nil removes it). Poll calls it for each
// rebalance event before returning records; its presence also makes
// revocations wait for the application (as rebalance.callbacks does).
func (c *Consumer) SetRebalanceListener(l RebalanceListener) {
	c.mu.Lock()
	c.listener = l
	c.mu.Unlock()
}

// Client returns the consumer's client.
func (c *Consumer) Client() *Client { return c.cl }

// Connect reaches the cluster (see Client.Connect).
func (c *Consumer) Connect(ctx context.Context) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	return c.cl.Connect(ctx)
}

func (c *Consumer) checkOpen() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "consumer is closed"}
	}
	return nil
}

// start launches the maintenance and auto-commit goroutines once. It may
// be called with mu held.
func (c *Consumer) start() {
	c.readLoop.Do(func() {
		c.wg.Add(2)
		go func() {
			defer c.wg.Done()
			c.maintain()
		}()
		go func() {
			defer c.wg.Done()
			c.watchBrokers()
		}()
		if c.cfg.EnableAutoCommit && c.cfg.GroupID != "" {
			ctx, cancel := context.WithCancel(c.ctx)
			done := make(chan struct{})
			c.acMu.Lock()
			c.autoCommitStop, c.autoCommitDone = cancel, done
			c.acMu.Unlock()
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				defer close(done)
				c.autoCommitLoop(ctx)
			}()
		}
	})
}

// watchBrokers reports ALL_BROKERS_DOWN to Poll (once per outage) when no
// broker has been reachable for connect.timeout.ms: no connection alive and
// every dial since failing (a consumer otherwise polls empty forever while
// its cluster is gone). It re-arms once a broker is reached again; the
// consumer keeps retrying throughout and resumes by itself.
func (c *Consumer) watchBrokers() {
	after := c.cfg.DialTimeout
	tick := min(max(after/4, 50*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	reported := false
	for {
		select {
		case <-t.C:
		case <-c.ctx.Done():
			return
		}
		down := c.cl.unreachableFor(time.Now())
		switch {
		case down == 0 && reported:
			reported = false
			c.dropErrs(wire.ErrAllBrokersDown) // not delivered yet: stale now
		case down >= after && !reported:
			reported = true
			c.reportErr(&wire.Error{Code: wire.ErrAllBrokersDown,
				Detail: fmt.Sprintf("no broker has been reachable for %v (connect.timeout.ms %v); still retrying", down.Truncate(time.Millisecond), after)})
		}
	}
}

// ---- subscription ----

// Subscribe joins the consumer group (group.id) subscribed to topics and
// waits until the first assignment is received or ctx ends. Calling it
// again replaces the subscription (and rejoins); with the subscription it
// already has, it only waits for the join (no rebalance). A group that
// cannot be joined before ctx ends gives a group error (COORDINATOR_NOT_AVAILABLE
// naming the last failure); membership keeps being retried in the
// background until Close or Unsubscribe. A topic that does not exist yet
// is assigned once it is created (classic groups: at the leader's next
// heartbeat; consumer-protocol groups: when the broker sees it).
func (c *Consumer) Subscribe(ctx context.Context, topics ...string) error {
	if len(topics) == 0 {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "subscribe: no topics given"}
	}
	set := map[string]bool{}
	for _, t := range topics {
		if err := ValidateTopicName(t); err != nil {
			return err
		}
		set[t] = true
	}
	sorted := make([]string, 0, len(set))
	for t := range set {
		sorted = append(sorted, t)
	}
	sort.Strings(sorted)
	return c.subscribe(ctx, subscription{topics: sorted})
}

// SubscribePattern is Subscribe to every topic whose whole name matches
// the regular expression (Go RE2 syntax, anchored), internal topics
// excluded. With the classic protocol the client re-evaluates it every
// metadata.max.age.ms; with the consumer protocol the broker does.
func (c *Consumer) SubscribePattern(ctx context.Context, pattern string) error {
	if pattern == "" {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "subscribe: empty pattern"}
	}
	re, err := regexp.Compile("^(?:" + pattern + ")$")
	if err != nil {
		return &wire.Error{Code: wire.ErrInvalidRegularExpression, Detail: err.Error()}
	}
	return c.subscribe(ctx, subscription{pattern: re, patternSrc: pattern})
}

func (c *Consumer) subscribe(ctx context.Context, s subscription) error {
	if c.cfg.GroupID == "" {
		return &wire.Error{Code: wire.ErrInvalidGroupID, Detail: "subscribe needs a group.id"}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "consumer is closed"}
	}
	if c.manual {
		c.mu.Unlock()
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "subscribe: the consumer has a manual assignment (Assign); unassign first"}
	}
	if g := c.group; g != nil && c.subs.same(s) {
		// The subscription it already has: a rejoin would only cost the
		// group a rebalance, so wait for the join as the first call did.
		c.mu.Unlock()
		return g.waitJoined(ctx)
	}
	c.subs = s
	g := c.group
	if g == nil {
		if c.cfg.GroupProtocol == "consumer" {
			g = newConsumerMember(c)
		} else {
			g = newClassicMember(c)
		}
		c.group = g
		c.lastPoll = time.Now()
		c.start()
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			g.run()
		}()
	} else {
		g.subscriptionChanged()
	}
	c.mu.Unlock()
	return g.waitJoined(ctx)
}

// Unsubscribe leaves the group: it revokes every partition (committing
// first with auto-commit), sends the leave request and clears the
// subscription. The consumer can subscribe or assign again afterwards.
//
// As in the Java client, the revocation is the caller's own: a rebalance
// listener (SetRebalanceListener) is called with PartitionsRevoked in this
// goroutine before the partitions go, so it can still commit them, and no
// revoked event follows on a later Poll. PollEvents and PollWait callers
// handle the revocation before they call Unsubscribe.
func (c *Consumer) Unsubscribe(ctx context.Context) error {
	c.mu.Lock()
	g, l := c.group, c.listener
	c.mu.Unlock()
	if g == nil {
		return nil
	}
	if l != nil {
		if tps := c.Assignment(); len(tps) > 0 {
			l(RebalanceEvent{Kind: PartitionsRevoked, Partitions: tps})
		}
	}
	c.mu.Lock()
	if c.group != g {
		// Another Unsubscribe or Close took the group meanwhile.
		c.mu.Unlock()
		return nil
	}
	c.group = nil
	c.subs = subscription{}
	c.mu.Unlock()
	return g.stop(ctx, true)
}

// Subscription returns the subscribed topics (for a pattern, the topics it
// matched at the last check), sorted.
func (c *Consumer) Subscription() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.subs.topics...)
}

// ---- manual assignment ----

// Assign replaces the consumer's partitions with tps, outside any group
// (an empty list unassigns everything). Each new partition starts at its
// committed offset when group.id is set, else (and when none is committed)
// at auto.offset.reset. Commits still need group.id. Assign fails while
// the consumer is subscribed.
func (c *Consumer) Assign(tps []TopicPartition) error {
	for _, tp := range tps {
		if err := ValidateTopicName(tp.Topic); err != nil {
			return err
		}
		if tp.Partition < 0 {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("assign: negative partition %d", tp.Partition)}
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "consumer is closed"}
	}
	if c.group != nil {
		c.mu.Unlock()
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "assign: the consumer is subscribed to a group; unsubscribe first"}
	}
	want := map[TopicPartition]bool{}
	for _, tp := range tps {
		want[tp] = true
	}
	for tp, p := range c.parts {
		if !want[tp] {
			c.dropPartitionLocked(p)
		}
	}
	var added []TopicPartition
	for tp := range want {
		if c.parts[tp] == nil {
			added = append(added, tp)
		}
	}
	c.addPartitionsLocked(added)
	c.manual = len(c.parts) > 0
	c.mu.Unlock()
	c.start()
	c.wakeMaint()
	return nil
}

// Assignment returns the partitions currently assigned, sorted.
func (c *Consumer) Assignment() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TopicPartition, 0, len(c.parts))
	for tp, p := range c.parts {
		if !p.revoking {
			out = append(out, tp)
		}
	}
	sortTPs(out)
	return out
}

func sortTPs(tps []TopicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
}

// addPartitionsLocked adds partitions whose position is to be resolved.
func (c *Consumer) addPartitionsLocked(tps []TopicPartition) {
	for _, tp := range tps {
		if c.parts[tp] != nil {
			continue
		}
		p := &partState{tp: tp, fetchOffset: -1, consumed: -1, safe: -1, committed: -1,
			need: posCommitted, leader: -1, leaderEpoch: -1, hw: -1}
		if c.cfg.GroupID == "" {
			p.need, p.resetTo = posReset, c.resetOffset()
		}
		c.parts[tp] = p
	}
	if len(tps) > 0 {
		c.needMeta = true
	}
}

// resetOffset maps auto.offset.reset to a Seek offset (none gives 0,
// never used: callers check the policy first).
func (c *Consumer) resetOffset() int64 {
	switch c.cfg.AutoOffsetReset {
	case "earliest":
		return OffsetBeginning
	case "latest":
		return OffsetEnd
	}
	return 0
}

// dropPartitionLocked removes p from the assignment and its records from
// the buffer.
func (c *Consumer) dropPartitionLocked(p *partState) {
	p.seq++
	c.dropChunksLocked(p)
	delete(c.parts, p.tp)
}

func (c *Consumer) dropChunksLocked(p *partState) {
	kept := c.buf[:0]
	for _, ch := range c.buf {
		if ch.p == p {
			c.bufBytes -= ch.bytes
			continue
		}
		kept = append(kept, ch)
	}
	for i := len(kept); i < len(c.buf); i++ {
		c.buf[i] = nil
	}
	c.buf = kept
}

// ---- group hooks: assignment changes ----

// assigned adds partitions given by the group and tells the application.
func (c *Consumer) assigned(tps []TopicPartition) {
	if len(tps) == 0 {
		return
	}
	tps = append([]TopicPartition(nil), tps...)
	sortTPs(tps)
	c.cfg.logf(LogInfo, "group", "group %q: assigned %v", c.cfg.GroupID, tps)
	c.stats.rebalances.Add(1)
	c.mu.Lock()
	c.addPartitionsLocked(tps)
	c.postEventLocked(RebalanceEvent{Kind: PartitionsAssigned, Partitions: tps}, false)
	c.mu.Unlock()
	c.wakeMaint()
}

// revoked takes partitions away. With lost, nothing is committed (the
// group already gave them to someone else). Otherwise, with auto-commit,
// their consumed offsets are committed before they go. When the
// application handles rebalance events and keepAlive is given (the group
// goroutine revokes, not the application itself), the event is delivered
// first and revoked waits until the application polls again (at most
// max.poll.interval.ms, calling keepAlive every heartbeat interval so the
// member stays in the group meanwhile). Without keepAlive and lost, the
// application itself revokes (Unsubscribe): it handled the revocation
// before calling, so no event is queued after the fact.
func (c *Consumer) revoked(ctx context.Context, tps []TopicPartition, lost bool, keepAlive func(context.Context) error) {
	if len(tps) == 0 {
		return
	}
	tps = append([]TopicPartition(nil), tps...)
	sortTPs(tps)
	if lost {
		c.cfg.logf(LogWarn, "group", "group %q: lost %v (no longer a member)", c.cfg.GroupID, tps)
	} else {
		c.cfg.logf(LogInfo, "group", "group %q: revoked %v", c.cfg.GroupID, tps)
	}
	c.stats.rebalances.Add(1)
	c.mu.Lock()
	var ps []*partState
	for _, tp := range tps {
		if p := c.parts[tp]; p != nil {
			p.revoking = true
			p.seq++
			c.dropChunksLocked(p)
			ps = append(ps, p)
		}
	}
	waitApp := !lost && keepAlive != nil && (c.cfg.RebalanceCallbacks || c.listener != nil) && !c.closed
	kind := PartitionsRevoked
	if lost {
		kind = PartitionsLost
	}
	var ack chan struct{}
	if waitApp {
		ack = c.postEventLocked(RebalanceEvent{Kind: kind, Partitions: tps}, true)
	}
	c.mu.Unlock()

	acked := false
	if waitApp {
		acked = c.waitAck(ctx, ack, keepAlive)
	}
	if !lost && c.cfg.EnableAutoCommit && c.cfg.GroupID != "" {
		// After the application acknowledged, everything it polled has
		// been processed; otherwise only what it polled before its latest
		// Poll is known to be.
		revoking := map[*partState]bool{}
		for _, p := range ps {
			revoking[p] = true
		}
		cctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		if err := c.commitPositions(cctx, func(p *partState) bool { return revoking[p] }, acked); err != nil {
			c.reportErr(fmt.Errorf("auto-commit before revoking %v: %w", tps, err))
		}
		cancel()
	}
	c.mu.Lock()
	for _, p := range ps {
		if c.parts[p.tp] == p {
			delete(c.parts, p.tp)
		}
	}
	if !waitApp && (lost || keepAlive != nil) {
		c.postEventLocked(RebalanceEvent{Kind: kind, Partitions: tps}, false)
	}
	c.mu.Unlock()
}

// postEventLocked queues ev for the next Poll; with wait it returns the
// channel closed when the application acknowledges it.
func (c *Consumer) postEventLocked(ev RebalanceEvent, wait bool) chan struct{} {
	pe := pendingEvent{ev: ev}
	if wait {
		pe.ack = make(chan struct{})
	}
	c.events = append(c.events, pe)
	c.signalLocked()
	return pe.ack
}

// waitAck waits until ack is closed, ctx ends, the consumer closes or
// max.poll.interval.ms passes, calling keepAlive every heartbeat interval.
// It reports whether the application acknowledged.
func (c *Consumer) waitAck(ctx context.Context, ack chan struct{}, keepAlive func(context.Context) error) bool {
	deadline := time.NewTimer(c.cfg.MaxPollInterval)
	defer deadline.Stop()
	tick := time.NewTicker(c.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-ack:
			return true
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return false
		case <-tick.C:
			if keepAlive != nil {
				if err := keepAlive(ctx); err != nil {
					return false
				}
			}
		}
	}
}

// signalLocked wakes every Poll waiting for data.
func (c *Consumer) signalLocked() {
	if f := c.wakeLocked(); f != nil {
		f()
	}
}

// wakeLocked wakes the Polls waiting on the consumer and returns the
// ready hook (notify) for the caller to run, once it has released
// mu where it can: the hook wakes a thread that polls at once, and finding
// mu still held it would sleep again on it.
func (c *Consumer) wakeLocked() func() {
	if c.waiters > 0 {
		close(c.dataCh)
		c.dataCh = make(chan struct{})
	}
	return c.notify
}

// dropErrs forgets queued errors of code.
func (c *Consumer) dropErrs(code wire.ErrorCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := c.errs[:0]
	for _, e := range c.errs {
		if wire.CodeOf(e) != code {
			keep = append(keep, e)
		}
	}
	clear(c.errs[len(keep):])
	c.errs = keep
}

// reportErr queues err for the next Poll.
func (c *Consumer) reportErr(err error) {
	c.mu.Lock()
	c.reportErrLocked(err)
	c.mu.Unlock()
}

func (c *Consumer) reportErrLocked(err error) {
	if c.closed {
		return
	}
	if len(c.errs) < 16 { // a stuck failure must not grow without bound
		c.errs = append(c.errs, err)
	}
	c.signalLocked()
}

// ---- polling ----

// Poll returns up to max buffered records (max <= 0 means
// max.poll.records), waiting until at least one is available or ctx ends
// (then it returns none and no error). Rebalance events are handed to the
// listener first (SetRebalanceListener) in this goroutine. An error the
// engine met since the last call (NO_OFFSET, OFFSET_OUT_OF_RANGE with
// auto.offset.reset=none, a fatal group error, ...) is returned once,
// without records; buffered records stay for the next call.
//
// Records are owned by the caller. Records of one fetch share memory, so
// keeping one record keeps its fetch's bytes alive.
func (c *Consumer) Poll(ctx context.Context, max int) ([]*Record, error) {
	for {
		recs, evs, err := c.PollEvents(ctx, max)
		if len(evs) > 0 {
			c.mu.Lock()
			l := c.listener
			c.mu.Unlock()
			if l != nil {
				for _, ev := range evs {
					l(ev)
				}
			}
			// The listener has run: acknowledge now, not at the next Poll.
			c.ackDelivered()
		}
		if len(recs) > 0 || err != nil || ctx.Err() != nil {
			return recs, err
		}
	}
}

// PollEvents is Poll for callers that handle rebalance events themselves
// (the C ABI): it returns them, in order, instead of calling a listener.
// Events returned by one call are acknowledged by the next call (or by
// Close); a revocation waiting for the application continues then.
func (c *Consumer) PollEvents(ctx context.Context, max int) ([]*Record, []RebalanceEvent, error) {
	if ctx == nil {
		return nil, nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "nil context"}
	}
	return c.pollEvents(ctx, max, nil)
}

// PollEventsFunc is PollEvents for a caller that copies the records out
// at once (the C ABI's asynchronous poll): fn gets what PollEvents would
// return, when there is anything, and the records are only valid until
// fn returns: the Record structs are reused afterwards (their Key, Value
// and Headers alias fetched bytes, which stay as Poll documents them). In
// exchange such a poll allocates next to nothing. The error is
// PollEvents'. fn runs on the calling goroutine, with no lock held.
func (c *Consumer) PollEventsFunc(ctx context.Context, max int, fn func([]*Record, []RebalanceEvent)) error {
	if ctx == nil {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "nil context"}
	}
	return lend(func(loan *pollLoan) ([]*Record, []RebalanceEvent, error) { return c.pollEvents(ctx, max, loan) }, fn)
}

// lend runs poll with a pooled loan and gives fn what it returned, when
// anything: the body of PollEventsFunc and PollWaitFunc. The loan's slabs
// are cleared and pooled again once fn returned.
func lend(poll func(*pollLoan) ([]*Record, []RebalanceEvent, error), fn func([]*Record, []RebalanceEvent)) error {
	loan := loans.Get().(*pollLoan)
	defer func() {
		loan.reset()
		loans.Put(loan)
	}()
	recs, evs, err := poll(loan)
	if len(recs) > 0 || len(evs) > 0 {
		fn(recs, evs)
	}
	return err
}

// pollEvents is PollEvents; a nil ctx never waits (PollWait's look). With
// a loan the records are lent (PollEventsFunc).
func (c *Consumer) pollEvents(ctx context.Context, max int, loan *pollLoan) ([]*Record, []RebalanceEvent, error) {
	if max <= 0 {
		max = c.cfg.MaxPollRecords
	}
	if err := c.cl.poolClosedErr(); err != nil {
		return nil, nil, err // nothing can be fetched any more
	}
	var poolDone <-chan struct{}
	if !c.cl.ownsPool {
		poolDone = c.cl.pool.done()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, &wire.Error{Code: wire.ErrClientClosed, Detail: "consumer is closed"}
	}
	c.ackLocked()
	c.lastPoll = time.Now()
	close(c.polled)
	c.polled = make(chan struct{})
	for _, p := range c.parts {
		p.safe = p.consumed
	}
	for {
		if len(c.events) > 0 {
			evs := make([]RebalanceEvent, len(c.events))
			for i, pe := range c.events {
				evs[i] = pe.ev
				if pe.ack != nil {
					c.acks = append(c.acks, pe.ack)
				}
			}
			c.events = c.events[:0]
			recs := c.drainLocked(max, loan)
			c.mu.Unlock()
			c.wakeSourcesIfRoom()
			return recs, evs, nil
		}
		if len(c.errs) > 0 {
			err := c.errs[0]
			c.errs = c.errs[1:]
			if wire.CodeOf(err) == wire.ErrAllBrokersDown && c.cl.unreachableFor(time.Now()) == 0 {
				// A broker answered since the outage was reported (the
				// watcher drops it too, but only at its next tick): the
				// report is stale, not an error of this Poll.
				continue // c.mu still held, as at the top of the loop
			}
			c.mu.Unlock()
			return nil, nil, err
		}
		if recs := c.drainLocked(max, loan); len(recs) > 0 {
			c.mu.Unlock()
			c.wakeSourcesIfRoom()
			return recs, nil, nil
		}
		if ctx == nil {
			c.mu.Unlock()
			c.wakeSourcesIfRoom()
			return nil, nil, nil
		}
		ch := c.dataCh
		c.waiters++
		c.mu.Unlock()
		c.wakeSourcesIfRoom()
		select {
		case <-ch:
		case <-ctx.Done():
		case <-c.ctx.Done():
		case <-poolDone:
		}
		c.mu.Lock()
		c.waiters--
		if c.closed {
			c.mu.Unlock()
			return nil, nil, &wire.Error{Code: wire.ErrClientClosed, Detail: "consumer is closed"}
		}
		if err := c.cl.poolClosedErr(); err != nil {
			c.mu.Unlock()
			return nil, nil, err
		}
		if ctx.Err() != nil {
			c.mu.Unlock()
			return nil, nil, nil
		}
	}
}

// ackDelivered acknowledges the events returned so far.
func (c *Consumer) ackDelivered() {
	c.mu.Lock()
	c.ackLocked()
	c.mu.Unlock()
}

func (c *Consumer) ackLocked() {
	for _, a := range c.acks {
		close(a)
	}
	c.acks = c.acks[:0]
}

// drainLocked takes up to max records from the buffer, advancing the
// consumed positions. The records are decoded here, into slabs of this
// call (see chunk), owned by the caller; or, with a loan, into the
// loan's slabs, lent until the loan's reset.
func (c *Consumer) drainLocked(max int, loan *pollLoan) []*Record {
	if len(c.buf) == 0 {
		return nil
	}
	var out []*Record
	var slab []Record
	spilled := false // a loan's slab was too small: the rest went to a slab of this call
	if loan != nil {
		if want := min(max, c.bufferedRecordsLocked(0)); cap(loan.slab) < want {
			loan.slab, loan.out = make([]Record, 0, want), make([]*Record, 0, want)
		}
		slab, out = loan.slab[:0], loan.out[:0]
	}
	kept := c.buf[:0]
	for i, ch := range c.buf {
		p := ch.p
		if ch.seq != p.seq || c.parts[p.tp] != p {
			c.bufBytes -= ch.bytes
			continue
		}
		if len(out) >= max || p.paused || p.revoking {
			kept = append(kept, c.buf[i])
			continue
		}
		if out == nil {
			out = make([]*Record, 0, min(max, c.bufferedRecordsLocked(i)))
		}
		var wr wire.Record
		var err error
		last := int64(-1) // the offset of the last record taken (-1: none)
		for len(out) < max {
			var ok bool
			if ok, err = ch.take(&wr); !ok {
				break
			}
			if len(slab) == cap(slab) {
				// Sized by the records the batch headers announce; a
				// compacted batch holds fewer, so the slab may be short
				// and a second one follows (the records of the first keep
				// their addresses).
				if loan != nil && !spilled {
					spilled = true
					loan.slab = loan.slab[:cap(loan.slab)] // all of it lent
				}
				slab = make([]Record, 0, min(max-len(out), c.bufferedRecordsLocked(i)+1))
			}
			slab = append(slab, Record{Topic: p.tp.Topic, Partition: p.tp.Partition, Offset: wr.Offset,
				Key: wr.Key, Value: wr.Value, Headers: wr.Headers, Timestamp: time.UnixMilli(wr.Timestamp)})
			out = append(out, &slab[len(slab)-1])
			last = wr.Offset
		}
		if last >= 0 {
			p.consumed = last + 1
		}
		if err != nil {
			// A record that does not decode, in a batch whose CRC
			// matched: the partition stops before it until the
			// application seeks past it, as the Java client does. The
			// seq bump drops its later chunks and the fetch in flight.
			p.fetchOffset = -1
			p.seq++
			c.bufBytes -= ch.bytes
			c.reportErrLocked(&wire.Error{Code: wire.ErrCorruptMessage,
				Detail: fmt.Sprintf("%s offset %d: %v", p.tp, p.consumed, err)})
			continue
		}
		if !ch.done() {
			kept = append(kept, ch)
			continue
		}
		p.consumed = max64(p.consumed, ch.next)
		c.bufBytes -= ch.bytes
	}
	for i := len(kept); i < len(c.buf); i++ {
		c.buf[i] = nil
	}
	c.buf = kept
	if len(out) > 0 && c.bufBytes == 0 {
		c.drained = true // growWindowLocked
	}
	if loan != nil {
		if !spilled {
			loan.slab = slab
		}
		loan.out = out
	}
	return out
}

// reset ends the loan once the caller is done with the records it lent:
// the loan keeps its slabs for the next poll, their used part cleared so
// that they keep no fetched bytes alive.
func (loan *pollLoan) reset() {
	clear(loan.slab)
	clear(loan.out)
	loan.slab, loan.out = loan.slab[:0], loan.out[:0]
}

// bufferedRecordsLocked is how many records the chunks of buf from index
// from hold, as their batch headers count them.
func (c *Consumer) bufferedRecordsLocked(from int) int {
	n := 0
	for _, ch := range c.buf[from:] {
		n += ch.left
	}
	return n
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// ---- positions ----

// Seek moves the position of an assigned partition: the next record
// returned is the one at offset (or OffsetBeginning / OffsetEnd, looked up
// at the broker). Buffered records of the partition are dropped.
func (c *Consumer) Seek(tp TopicPartition, offset int64) error {
	if offset < OffsetBeginning {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("seek %s: invalid offset %d", tp, offset)}
	}
	c.mu.Lock()
	p := c.parts[tp]
	if p == nil || p.revoking {
		c.mu.Unlock()
		return &wire.Error{Code: wire.ErrNotAssigned, Detail: "seek " + tp.String()}
	}
	c.seekLocked(p, offset)
	c.mu.Unlock()
	c.wakeMaint()
	c.wakeSources()
	return nil
}

func (c *Consumer) seekLocked(p *partState, offset int64) {
	p.seq++
	c.dropChunksLocked(p)
	p.retryAt = time.Time{}
	if offset >= 0 {
		p.need = posKnown
		p.fetchOffset, p.consumed, p.safe = offset, offset, offset
		return
	}
	p.need, p.resetTo = posReset, offset
	p.fetchOffset, p.consumed = -1, -1
}

// Position returns the offset of the next record Poll will return for an
// assigned partition, waiting (up to ctx) while it is being looked up.
func (c *Consumer) Position(ctx context.Context, tp TopicPartition) (int64, error) {
	for {
		c.mu.Lock()
		p := c.parts[tp]
		if p == nil || p.revoking {
			c.mu.Unlock()
			return -1, &wire.Error{Code: wire.ErrNotAssigned, Detail: "position " + tp.String()}
		}
		if p.need == posKnown {
			pos := p.consumed
			c.mu.Unlock()
			if pos < 0 {
				return -1, &wire.Error{Code: wire.ErrNoOffset, Detail: tp.String() + " has no position; seek it"}
			}
			return pos, nil
		}
		ch := c.dataCh
		c.waiters++
		c.mu.Unlock()
		c.start()
		c.wakeMaint()
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		c.mu.Lock()
		c.waiters--
		c.mu.Unlock()
		if ctx.Err() != nil {
			return -1, &wire.Error{Code: wire.ErrTimedOut, Detail: "position " + tp.String() + ": " + ctx.Err().Error()}
		}
	}
}

// Pause stops fetching the partitions and returning their records until
// Resume. Buffered records are kept. Partitions not assigned are an error
// (NOT_ASSIGNED) and nothing is paused.
func (c *Consumer) Pause(tps ...TopicPartition) error { return c.setPaused(tps, true) }

// Resume undoes Pause.
func (c *Consumer) Resume(tps ...TopicPartition) error { return c.setPaused(tps, false) }

func (c *Consumer) setPaused(tps []TopicPartition, paused bool) error {
	c.mu.Lock()
	for _, tp := range tps {
		if p := c.parts[tp]; p == nil || p.revoking {
			c.mu.Unlock()
			return &wire.Error{Code: wire.ErrNotAssigned, Detail: tp.String()}
		}
	}
	for _, tp := range tps {
		c.parts[tp].paused = paused
	}
	c.signalLocked()
	c.mu.Unlock()
	if !paused {
		c.wakeSources()
	}
	return nil
}

// Paused returns the paused partitions, sorted.
func (c *Consumer) Paused() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []TopicPartition
	for tp, p := range c.parts {
		if p.paused {
			out = append(out, tp)
		}
	}
	sortTPs(out)
	return out
}

// Lag returns, per assigned partition whose high watermark is known, the
// records between the consumed position and the high watermark.
func (c *Consumer) Lag() map[TopicPartition]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[TopicPartition]int64{}
	for tp, p := range c.parts {
		if p.hw >= 0 && p.consumed >= 0 {
			out[tp] = max(p.hw-p.consumed, 0)
		}
	}
	return out
}

// ---- close ----

// Close commits consumed offsets (with auto-commit), leaves the group
// (dynamic members; a static member keeps its place until its session
// expires, see group.instance.id), stops the engine and, when the
// consumer owns it, closes the client. ctx bounds the commit and the
// leave. Safe to call more than once.
func (c *Consumer) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	defer c.kw.close() // last: PollWait callers see closed first (signalLocked below)
	c.ackLocked()
	// Close must end even when the cluster is gone: without a deadline of
	// the caller's, the final commit and the leave get request.timeout.ms.
	ctx, cancelClose := c.cl.withTimeout(ctx, c.cl.cfg.RequestTimeout)
	defer cancelClose()
	for _, pe := range c.events {
		if pe.ack != nil {
			close(pe.ack)
		}
	}
	c.events = nil
	g := c.group
	c.signalLocked()
	c.mu.Unlock()
	c.acMu.Lock()
	stopAC, acDone := c.autoCommitStop, c.autoCommitDone
	c.acMu.Unlock()

	// The final commit below must be the last one.
	if stopAC != nil {
		stopAC()
		select {
		case <-acDone:
		case <-ctx.Done():
		}
	}
	var err error
	if g != nil {
		err = g.stop(ctx, false)
	} else if c.cfg.EnableAutoCommit && c.cfg.GroupID != "" {
		err = c.commitAll(ctx, true)
	}
	c.cancel()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = &wire.Error{Code: wire.ErrTimedOut, Detail: "close: engine still stopping"}
		}
	}
	c.groupConn.close()
	if c.ownsClient {
		c.cl.Close()
	}
	c.releaseHeap()
	return err
}

// crash stops the consumer like a killed process would: no commit, no
// leave, connections cut. For tests of group failover.
func (c *Consumer) crash() {
	c.mu.Lock()
	c.closed = true
	c.signalLocked()
	c.mu.Unlock()
	c.cancel()
	c.cl.Close()
	c.wg.Wait()
	c.releaseHeap()
}
