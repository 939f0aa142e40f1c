package core

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// ---- helpers ----

// consumerTestTopic creates a topic with n partitions and waits until every
// partition has a leader.
func consumerTestTopic(t *testing.T, brokers []string, n int) string {
	t.Helper()
	name := uniqueTopic(t)
	createTestTopic(t, brokers, name, n)
	return name
}

// createTestTopic creates topic name with n partitions (see createTopic)
// through a client of its own.
func createTestTopic(t *testing.T, brokers []string, name string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := NewClient(WithBrokers(brokers...))
	require.NoError(t, err)
	defer cl.Close()
	createTopic(t, ctx, cl, name, int32(n))
}

// produceTo writes perPartition records to each of the topic's partitions
// with values "<tag>-<partition>-<i>" and returns them by partition.
func produceTo(t *testing.T, brokers []string, topic string, partitions, perPartition int, tag string, opts ...ProducerOption) map[int32][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := NewProducer(append([]ProducerOption{WithBrokers(brokers...)}, opts...)...)
	require.NoError(t, err)
	defer p.Close(ctx)
	out := map[int32][]string{}
	var recs []*Record
	for part := 0; part < partitions; part++ {
		for i := 0; i < perPartition; i++ {
			v := fmt.Sprintf("%s-%d-%d", tag, part, i)
			out[int32(part)] = append(out[int32(part)], v)
			recs = append(recs, &Record{Topic: topic, Partition: int32(part), ManualPartition: true, Key: []byte(fmt.Sprint(i)), Value: []byte(v)})
		}
	}
	require.NoError(t, p.ProduceSync(ctx, recs...))
	return out
}

func newTestConsumer(t *testing.T, brokers []string, opts ...ConsumerOption) *Consumer {
	t.Helper()
	base := []ConsumerOption{WithBrokers(brokers...), WithAutoOffsetReset(OffsetResetEarliest),
		WithHeartbeatInterval(300 * time.Millisecond), WithSessionTimeout(6 * time.Second)}
	c, err := NewConsumer(append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

// pollN polls until n records arrived (failing after timeout).
func pollN(t *testing.T, c *Consumer, n int, timeout time.Duration) []*Record {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var out []*Record
	for len(out) < n {
		require.True(t, time.Now().Before(deadline), "got %d of %d records before the deadline", len(out), n)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := c.Poll(ctx, n-len(out))
		cancel()
		require.NoError(t, err)
		out = append(out, recs...)
	}
	return out
}

// collector records which member consumed each record.
type collector struct {
	mu    sync.Mutex
	seen  map[TopicPartition]map[int64]string
	dups  []string
	count int
}

func newCollector() *collector { return &collector{seen: map[TopicPartition]map[int64]string{}} }

func (k *collector) add(who string, recs []*Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range recs {
		tp := TopicPartition{r.Topic, r.Partition}
		if k.seen[tp] == nil {
			k.seen[tp] = map[int64]string{}
		}
		if prev, ok := k.seen[tp][r.Offset]; ok {
			k.dups = append(k.dups, fmt.Sprintf("%s@%d by %s and %s", tp, r.Offset, prev, who))
			continue
		}
		k.seen[tp][r.Offset] = who
		k.count++
	}
}

func (k *collector) total() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.count
}

// member runs a consumer's poll loop: every batch is recorded, then
// committed; a revocation commits what was consumed (the listener runs
// inside Poll, after the previous batch was committed), so each record is
// consumed exactly once across rebalances.
type member struct {
	name string
	c    *Consumer
	stop chan struct{}
	done chan struct{}
	err  error
}

func startMember(t *testing.T, name string, c *Consumer, k *collector) *member {
	m := &member{name: name, c: c, stop: make(chan struct{}), done: make(chan struct{})}
	c.SetRebalanceListener(func(ev RebalanceEvent) {
		if ev.Kind == PartitionsRevoked {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Commit(ctx); err != nil {
				t.Logf("%s: commit on revoke: %v", name, err)
			}
		}
	})
	go func() {
		defer close(m.done)
		for {
			select {
			case <-m.stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			recs, err := c.Poll(ctx, 0)
			cancel()
			if err != nil {
				m.err = err
				return
			}
			if len(recs) == 0 {
				continue
			}
			k.add(name, recs)
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := c.CommitRecords(cctx, recs...); err != nil {
				m.err = fmt.Errorf("commit: %w", err)
				cancel()
				return
			}
			cancel()
		}
	}()
	return m
}

func (m *member) halt(t *testing.T) {
	close(m.stop)
	<-m.done
	require.NoError(t, m.err, m.name)
}

// waitBalanced waits until the consumers' assignments are disjoint, cover
// all n partitions and differ in size by at most one.
func waitBalanced(t *testing.T, n int, timeout time.Duration, cs ...*Consumer) {
	t.Helper()
	var last string
	ok := assertEventually(timeout, func() bool {
		seen := map[TopicPartition]bool{}
		minN, maxN := n, 0
		last = ""
		for i, c := range cs {
			a := c.Assignment()
			last += fmt.Sprintf(" c%d=%v", i, a)
			minN, maxN = min(minN, len(a)), max(maxN, len(a))
			for _, tp := range a {
				if seen[tp] {
					return false
				}
				seen[tp] = true
			}
		}
		return len(seen) == n && maxN-minN <= 1
	})
	require.True(t, ok, "assignment not balanced:%s", last)
}

func assertEventually(timeout time.Duration, f func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if f() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return f()
}

func endOffsets(t *testing.T, brokers []string, topic string, n int) map[TopicPartition]int64 {
	t.Helper()
	c := newTestConsumer(t, brokers)
	times := map[TopicPartition]int64{}
	for p := 0; p < n; p++ {
		times[TopicPartition{topic, int32(p)}] = 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// ListOffsets latest through a one-partition seek is simpler through
	// the consumer: assign, seek to end, read the position.
	var tps []TopicPartition
	for tp := range times {
		tps = append(tps, tp)
	}
	require.NoError(t, c.Assign(tps))
	out := map[TopicPartition]int64{}
	for _, tp := range tps {
		require.NoError(t, c.Seek(tp, OffsetEnd))
		pos, err := c.Position(ctx, tp)
		require.NoError(t, err)
		out[tp] = pos
	}
	return out
}

// ---- tests ----

func TestConsumerAssignReadsEveryCodec(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	codecs := []wire.Compression{wire.CompressionNone, wire.CompressionGzip, wire.CompressionSnappy, wire.CompressionLZ4, wire.CompressionZstd}
	ts := time.UnixMilli(1700000000123)
	n := 0
	for _, codec := range codecs {
		p, err := NewProducer(WithBrokers(brokers...), WithCompression(codec))
		require.NoError(t, err)
		var recs []*Record
		for i := 0; i < 20; i++ {
			recs = append(recs, &Record{Topic: topic, Partition: 0, ManualPartition: true, Key: []byte(fmt.Sprint("k", n)),
				Value: []byte(fmt.Sprintf("%s-%d", codec, i)), Timestamp: ts.Add(time.Duration(n) * time.Millisecond),
				Headers: []wire.Header{{Key: "codec", Value: []byte(codec.String())}, {Key: "null"}}})
			n++
		}
		require.NoError(t, p.ProduceSync(ctx, recs...))
		p.Close(ctx)
	}

	c := newTestConsumer(t, brokers)
	require.NoError(t, c.Assign([]TopicPartition{{topic, 0}}))
	got := pollN(t, c, n, 30*time.Second)
	require.Len(t, got, n)
	for i, r := range got {
		codec := codecs[i/20]
		require.Equal(t, int64(i), r.Offset)
		require.Equal(t, topic, r.Topic)
		require.Equal(t, fmt.Sprint("k", i), string(r.Key))
		require.Equal(t, fmt.Sprintf("%s-%d", codec, i%20), string(r.Value))
		require.Equal(t, []wire.Header{{Key: "codec", Value: []byte(codec.String())}, {Key: "null"}}, r.Headers)
		require.Equal(t, ts.Add(time.Duration(i)*time.Millisecond).UnixMilli(), r.Timestamp.UnixMilli())
	}
	pos, err := c.Position(ctx, TopicPartition{topic, 0})
	require.NoError(t, err)
	require.Equal(t, int64(n), pos)
}

func TestConsumerGroupClassic(t *testing.T) {
	t.Parallel()
	testGroupLifecycle(t, "classic")
}

func TestConsumerGroupConsumerProtocol(t *testing.T) {
	t.Parallel()
	skipWithoutKIP848(t)
	testGroupLifecycle(t, "consumer")
}

// testGroupLifecycle: three members share a 6-partition topic and consume
// every record exactly once; one leaves and the others take over; one
// crashes and the survivor takes over from its commits; a new member
// resumes exactly at the committed offsets.
func testGroupLifecycle(t *testing.T, protocol GroupProtocol) {
	brokers := testBrokers(t)
	const parts = 6
	topic := consumerTestTopic(t, brokers, parts)
	group := "g-" + topic
	opts := []ConsumerOption{WithGroupID(group), WithGroupProtocol(protocol), WithAutoCommit(false)}
	k := newCollector()
	var cs []*Consumer
	for i := 0; i < 3; i++ {
		cs = append(cs, newTestConsumer(t, brokers, opts...))
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			errs[i] = c.Subscribe(ctx, topic)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var ms []*member
	for i, c := range cs {
		ms = append(ms, startMember(t, fmt.Sprint("c", i), c, k))
	}
	waitBalanced(t, parts, 60*time.Second, cs...)
	for _, c := range cs {
		require.Len(t, c.Assignment(), 2)
	}

	// Phase 1: 300 records, each consumed exactly once, each member
	// reading only its own partitions.
	produceTo(t, brokers, topic, parts, 50, "one")
	require.True(t, assertEventually(30*time.Second, func() bool { return k.total() == 300 }), "consumed %d of 300", k.total())
	for i, c := range cs {
		mine := map[TopicPartition]bool{}
		for _, tp := range c.Assignment() {
			mine[tp] = true
		}
		k.mu.Lock()
		for tp, offs := range k.seen {
			for _, who := range offs {
				if who == fmt.Sprint("c", i) {
					require.True(t, mine[tp], "c%d consumed %s it does not own", i, tp)
				}
			}
		}
		k.mu.Unlock()
	}

	// Phase 2: c2 leaves; c0 and c1 take over its partitions.
	ms[2].halt(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	require.NoError(t, cs[2].Close(ctx))
	cancel()
	waitBalanced(t, parts, 60*time.Second, cs[0], cs[1])
	produceTo(t, brokers, topic, parts, 50, "two")
	require.True(t, assertEventually(30*time.Second, func() bool { return k.total() == 600 }), "consumed %d of 600", k.total())

	// Phase 3: c1 crashes (no commit, no leave); c0 takes over from its
	// commits once the coordinator expires its session.
	ms[1].halt(t)
	cs[1].crash()
	produceTo(t, brokers, topic, parts, 50, "three")
	waitBalanced(t, parts, 90*time.Second, cs[0])
	require.True(t, assertEventually(30*time.Second, func() bool { return k.total() == 900 }), "consumed %d of 900", k.total())
	ms[0].halt(t)
	k.mu.Lock()
	require.Empty(t, k.dups)
	k.mu.Unlock()

	// Everything is committed; a new member resumes exactly there.
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, cs[0].Close(ctx))
	ends := endOffsets(t, brokers, topic, parts)
	d := newTestConsumer(t, brokers, opts...)
	var tps []TopicPartition
	for tp := range ends {
		tps = append(tps, tp)
	}
	committed, err := d.Committed(ctx, tps)
	require.NoError(t, err)
	require.Equal(t, ends, committed)
	require.NoError(t, d.Subscribe(ctx, topic))
	produceTo(t, brokers, topic, parts, 2, "four")
	got := pollN(t, d, 2*parts, 30*time.Second)
	for _, r := range got {
		tp := TopicPartition{r.Topic, r.Partition}
		require.GreaterOrEqual(t, r.Offset, ends[tp], "%s offset %d was committed already", tp, r.Offset)
		require.Less(t, r.Offset, ends[tp]+2)
	}
}

// TestConsumerEagerAssignorsAutoCommit runs range and roundrobin (eager
// rebalancing) with auto-commit: two members share the topic, one leaves,
// the other ends up with everything, and closing commits the positions.
func TestConsumerEagerAssignorsAutoCommit(t *testing.T) {
	brokers := testBrokers(t)
	for _, strategy := range []AssignmentStrategy{AssignRange, AssignRoundRobin} {
		t.Run(string(strategy), func(t *testing.T) {
			const parts = 4
			topic := consumerTestTopic(t, brokers, parts)
			opts := []ConsumerOption{WithGroupID("g-" + topic), WithAssignmentStrategies(strategy),
				WithAutoCommitInterval(200 * time.Millisecond)}
			a := newTestConsumer(t, brokers, opts...)
			b := newTestConsumer(t, brokers, opts...)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			require.NoError(t, a.Subscribe(ctx, topic))
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				// a polls while b joins: an eager rebalance revokes first.
				for ctx.Err() == nil && len(b.Assignment()) == 0 {
					pctx, c := context.WithTimeout(ctx, 50*time.Millisecond)
					a.Poll(pctx, 1)
					c()
				}
			}()
			require.NoError(t, b.Subscribe(ctx, topic))
			wg.Wait()
			waitBalanced(t, parts, 30*time.Second, a, b)
			require.Len(t, a.Assignment(), 2)
			want := produceTo(t, brokers, topic, parts, 10, string(strategy))
			got := map[TopicPartition][]string{}
			for _, r := range append(pollN(t, a, 20, 20*time.Second), pollN(t, b, 20, 20*time.Second)...) {
				tp := TopicPartition{r.Topic, r.Partition}
				got[tp] = append(got[tp], string(r.Value))
			}
			for p, vals := range want {
				require.Equal(t, vals, got[TopicPartition{topic, p}])
			}
			require.NoError(t, b.Close(ctx)) // commits b's positions, leaves
			require.True(t, assertEventually(30*time.Second, func() bool {
				pctx, c := context.WithTimeout(ctx, 50*time.Millisecond)
				a.Poll(pctx, 1)
				c()
				return len(a.Assignment()) == parts
			}))
			// b committed what it read; a resumes there: nothing new.
			pctx, c := context.WithTimeout(ctx, time.Second)
			recs, err := a.Poll(pctx, 100)
			c()
			require.NoError(t, err)
			require.Empty(t, recs)
			require.NoError(t, a.Close(ctx))
			committed, err := newTestConsumer(t, brokers, opts...).Committed(ctx, []TopicPartition{{topic, 0}, {topic, 1}, {topic, 2}, {topic, 3}})
			require.NoError(t, err)
			for tp, off := range committed {
				require.Equal(t, int64(10), off, tp.String())
			}
		})
	}
}

func TestConsumerOffsetResetPolicies(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 1)
	produceTo(t, brokers, topic, 1, 5, "old")
	tp := TopicPartition{topic, 0}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// none: no committed offset is an error (NO_OFFSET) until a seek.
	none := newTestConsumer(t, brokers, WithGroupID("g-none-"+topic), WithAutoOffsetReset(OffsetResetNone))
	require.NoError(t, none.Assign([]TopicPartition{tp}))
	var err error
	require.True(t, assertEventually(10*time.Second, func() bool {
		pctx, c := context.WithTimeout(ctx, 200*time.Millisecond)
		defer c()
		_, err = none.Poll(pctx, 10)
		return err != nil
	}))
	require.Equal(t, wire.ErrNoOffset, wire.CodeOf(err), err.Error())
	require.NoError(t, none.Seek(tp, 3))
	got := pollN(t, none, 2, 10*time.Second)
	require.Equal(t, "old-0-3", string(got[0].Value))

	// latest: only records written after the position was set.
	latest := newTestConsumer(t, brokers, WithAutoOffsetReset(OffsetResetLatest))
	require.NoError(t, latest.Assign([]TopicPartition{tp}))
	pos, err := latest.Position(ctx, tp)
	require.NoError(t, err)
	require.Equal(t, int64(5), pos)
	produceTo(t, brokers, topic, 1, 1, "new")
	got = pollN(t, latest, 1, 10*time.Second)
	require.Equal(t, "new-0-0", string(got[0].Value))

	// Out of range with earliest: back to the start.
	early := newTestConsumer(t, brokers)
	require.NoError(t, early.Assign([]TopicPartition{tp}))
	require.NoError(t, early.Seek(tp, 1000))
	got = pollN(t, early, 1, 10*time.Second)
	require.Equal(t, int64(0), got[0].Offset)

	// Out of range with none: OFFSET_OUT_OF_RANGE.
	oor := newTestConsumer(t, brokers, WithAutoOffsetReset(OffsetResetNone))
	require.NoError(t, oor.Assign([]TopicPartition{tp}))
	require.NoError(t, oor.Seek(tp, 1000))
	require.True(t, assertEventually(10*time.Second, func() bool {
		pctx, c := context.WithTimeout(ctx, 200*time.Millisecond)
		defer c()
		_, err = oor.Poll(pctx, 10)
		return err != nil
	}))
	require.Equal(t, wire.ErrOffsetOutOfRange, wire.CodeOf(err), err.Error())
}

func TestConsumerControls(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 2)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	p, err := NewProducer(WithBrokers(brokers...))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*Record
	for i := 0; i < 10; i++ {
		for part := int32(0); part < 2; part++ {
			recs = append(recs, &Record{Topic: topic, Partition: part, ManualPartition: true, Value: []byte(fmt.Sprint(i)),
				Timestamp: base.Add(time.Duration(i) * time.Second)})
		}
	}
	require.NoError(t, p.ProduceSync(ctx, recs...))
	p.Close(ctx)
	tp0, tp1 := TopicPartition{topic, 0}, TopicPartition{topic, 1}

	c := newTestConsumer(t, brokers, WithGroupID("g-"+topic), WithAutoCommit(false))
	require.NoError(t, c.Assign([]TopicPartition{tp0, tp1}))
	require.Equal(t, []TopicPartition{tp0, tp1}, c.Assignment())

	// OffsetsForTimes finds the first record at or after a time.
	res, err := c.OffsetsForTimes(ctx, map[TopicPartition]int64{tp0: base.Add(4500 * time.Millisecond).UnixMilli(), tp1: base.Add(time.Hour).UnixMilli()})
	require.NoError(t, err)
	require.Equal(t, OffsetAndTimestamp{Offset: 5, Timestamp: base.Add(5 * time.Second).UnixMilli()}, res[tp0])
	require.Equal(t, int64(-1), res[tp1].Offset)

	// Pause tp1: only tp0 records come.
	require.NoError(t, c.Pause(tp1))
	require.Equal(t, []TopicPartition{tp1}, c.Paused())
	got := pollN(t, c, 10, 10*time.Second)
	for _, r := range got {
		require.Equal(t, int32(0), r.Partition)
	}
	pctx, pc := context.WithTimeout(ctx, 300*time.Millisecond)
	more, err := c.Poll(pctx, 10)
	pc()
	require.NoError(t, err)
	require.Empty(t, more)
	require.NoError(t, c.Resume(tp1))
	got = pollN(t, c, 10, 10*time.Second)
	for _, r := range got {
		require.Equal(t, int32(1), r.Partition)
	}

	// Seek back, Position follows; commits of a record and of all.
	require.NoError(t, c.Seek(tp0, 7))
	pos, err := c.Position(ctx, tp0)
	require.NoError(t, err)
	require.Equal(t, int64(7), pos)
	got = pollN(t, c, 3, 10*time.Second)
	require.Equal(t, int64(7), got[0].Offset)
	require.NoError(t, c.CommitRecords(ctx, got[0]))
	committed, err := c.Committed(ctx, []TopicPartition{tp0, tp1})
	require.NoError(t, err)
	require.Equal(t, map[TopicPartition]int64{tp0: 8, tp1: -1}, committed)
	require.NoError(t, c.Commit(ctx))
	committed, err = c.Committed(ctx, []TopicPartition{tp0, tp1})
	require.NoError(t, err)
	require.Equal(t, map[TopicPartition]int64{tp0: 10, tp1: 10}, committed)

	// Partitions not assigned.
	other := TopicPartition{topic, 5}
	require.Equal(t, wire.ErrNotAssigned, wire.CodeOf(c.Seek(other, 0)))
	require.Equal(t, wire.ErrNotAssigned, wire.CodeOf(c.Pause(other)))
	err = c.CommitRecords(ctx, &Record{Topic: topic, Partition: 5, Offset: 1})
	require.Equal(t, wire.ErrNotAssigned, wire.CodeOf(err))
	require.Equal(t, wire.CategoryGroup, wire.Lookup(wire.CodeOf(err)).Category)

	// Unassign: nothing left; a manual consumer cannot subscribe meanwhile.
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.Subscribe(ctx, topic)))
	require.NoError(t, c.Assign(nil))
	require.Empty(t, c.Assignment())
}

func TestConsumerStaticMembership(t *testing.T) {
	brokers := testBrokers(t)
	const parts = 4
	topic := consumerTestTopic(t, brokers, parts)
	opts := []ConsumerOption{WithGroupID("g-" + topic), WithSessionTimeout(10 * time.Second)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := newTestConsumer(t, brokers, append(opts, WithGroupInstanceID("a"))...)
	b := newTestConsumer(t, brokers, append(opts, WithGroupInstanceID("b"))...)
	var events []RebalanceEvent
	var mu sync.Mutex
	a.SetRebalanceListener(func(ev RebalanceEvent) { mu.Lock(); events = append(events, ev); mu.Unlock() })
	require.NoError(t, a.Subscribe(ctx, topic))
	go func() {
		for ctx.Err() == nil {
			pctx, c := context.WithTimeout(ctx, 50*time.Millisecond)
			a.Poll(pctx, 1)
			c()
		}
	}()
	require.NoError(t, b.Subscribe(ctx, topic))
	waitBalanced(t, parts, 30*time.Second, a, b)
	before := b.Assignment()
	mu.Lock()
	nEvents := len(events)
	mu.Unlock()

	// b restarts with the same instance id: it gets its partitions back and
	// a sees no rebalance.
	require.NoError(t, b.Close(ctx))
	b2 := newTestConsumer(t, brokers, append(opts, WithGroupInstanceID("b"))...)
	require.NoError(t, b2.Subscribe(ctx, topic))
	require.True(t, assertEventually(10*time.Second, func() bool { return len(b2.Assignment()) == len(before) }))
	require.Equal(t, before, b2.Assignment())
	time.Sleep(time.Second)
	mu.Lock()
	require.Equal(t, nEvents, len(events), "a saw rebalance events: %v", events[nEvents:])
	mu.Unlock()
}

func TestConsumerPatternSubscription(t *testing.T) {
	brokers := testBrokers(t)
	for _, protocol := range []GroupProtocol{GroupProtocolClassic, GroupProtocolConsumer} {
		t.Run(string(protocol), func(t *testing.T) {
			if protocol == "consumer" {
				skipWithoutKIP848(t)
			}
			t1 := consumerTestTopic(t, brokers, 1)
			t2 := consumerTestTopic(t, brokers, 1)
			produceTo(t, brokers, t1, 1, 1, "x")
			produceTo(t, brokers, t2, 1, 1, "y")
			c := newTestConsumer(t, brokers, WithGroupID("g-"+t1), WithGroupProtocol(protocol))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// Both topics (and nothing else) match.
			pattern := regexpQuote(t1) + "|" + regexpQuote(t2)
			require.NoError(t, c.SubscribePattern(ctx, pattern))
			got := pollN(t, c, 2, 30*time.Second)
			vals := []string{string(got[0].Value), string(got[1].Value)}
			sort.Strings(vals)
			require.Equal(t, []string{"x-0-0", "y-0-0"}, vals)
		})
	}
}

// A group subscribed to a topic that does not exist yet starts with no
// partitions; once the topic is created, the leader sees it at its next
// heartbeat and the group rejoins to consume it (the check used to wait
// for metadata.max.age.ms, 5 minutes, and only compared topics that had
// partitions, so a missing topic was never picked up).
func TestConsumerTopicCreatedAfterSubscribe(t *testing.T) {
	brokers := testBrokers(t)
	for _, protocol := range []GroupProtocol{GroupProtocolClassic, GroupProtocolConsumer} {
		t.Run(string(protocol), func(t *testing.T) {
			if protocol == "consumer" {
				skipWithoutKIP848(t)
			}
			topic := uniqueTopic(t)
			c := newTestConsumer(t, brokers, WithGroupID("g-"+topic), WithGroupProtocol(protocol),
				WithAllowAutoTopicCreation(false))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			require.NoError(t, c.Subscribe(ctx, topic)) // returns once joined
			require.Empty(t, c.Assignment())

			createTestTopic(t, brokers, topic, 2)
			produceTo(t, brokers, topic, 2, 1, "late")
			got := pollN(t, c, 2, 30*time.Second)
			vals := []string{string(got[0].Value), string(got[1].Value)}
			sort.Strings(vals)
			require.Equal(t, []string{"late-0-0", "late-1-0"}, vals)
			require.Len(t, c.Assignment(), 2)
		})
	}
}

func regexpQuote(s string) string {
	out := ""
	for _, r := range s {
		if r == '.' || r == '-' {
			out += `\` + string(r)
		} else {
			out += string(r)
		}
	}
	return out
}

func TestConsumerBadConfigAndInput(t *testing.T) {
	_, err := NewConsumer(WithBrokers("127.0.0.1:1"), WithAutoOffsetReset("sometimes"))
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
	_, err = NewConsumer(WithBrokers("127.0.0.1:1"), WithGroupProtocol("magic"))
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
	_, err = parseConfig("bootstrap.servers=127.0.0.1:1\npartition.assignment.strategy=sticky")
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
	_, err = NewConsumer(WithBrokers("127.0.0.1:1"), WithHeartbeatInterval(time.Minute))
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))

	c, err := NewConsumer(WithBrokers("127.0.0.1:1"))
	require.NoError(t, err)
	defer c.Close(context.Background())
	ctx := context.Background()
	require.Equal(t, wire.ErrInvalidGroupID, wire.CodeOf(c.Subscribe(ctx, "t")))
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.Subscribe(ctx)))
	require.Equal(t, wire.ErrInvalidTopicException, wire.CodeOf(c.Assign([]TopicPartition{{"bad topic", 0}})))
	require.Equal(t, wire.ErrInvalidGroupID, wire.CodeOf(c.Commit(ctx)))
}

func TestConsumerUnreachableCoordinator(t *testing.T) {
	c, err := NewConsumer(WithBrokers("127.0.0.1:1"), WithGroupID("g"), WithDialTimeout(500*time.Millisecond))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err = c.Subscribe(ctx, "t")
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, wire.CategoryGroup, wire.Lookup(wire.CodeOf(err)).Category, err.Error())
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer ccancel()
	c.Close(cctx)
	_, err = c.Poll(context.Background(), 1)
	require.Equal(t, wire.ErrClientClosed, wire.CodeOf(err))
}

// TestDecodeReadCommitted feeds decode a partition holding a committed
// and an aborted transaction, their markers, and plain records.
func TestDecodeReadCommitted(t *testing.T) {
	var data []byte
	add := func(base int64, pid int64, attrs int16, recs ...wire.Record) {
		b := wire.RecordBatch{BaseOffset: base, ProducerID: pid, ProducerEpoch: 0, BaseSequence: 0, Attributes: attrs, Records: recs}
		var err error
		data, err = wire.AppendRecordBatch(data, &b, wire.CompressionNone)
		require.NoError(t, err)
	}
	val := func(s string) wire.Record { return wire.Record{Timestamp: 1, Value: []byte(s)} }
	marker := func(abort bool) wire.Record {
		typ := byte(1)
		if abort {
			typ = 0
		}
		return wire.Record{Timestamp: 1, Key: []byte{0, 0, 0, typ}, Value: []byte{0, 0, 0, 0, 0, 0}}
	}
	txn := wire.AttrTransactional
	add(0, 7, txn, val("c0"), val("c1"))           // committed txn of pid 7
	add(2, 8, txn, val("a0"), val("a1"))           // aborted txn of pid 8
	add(4, 7, txn|wire.AttrControl, marker(false)) // commit marker
	add(5, -1, 0, val("plain"))
	add(6, 8, txn|wire.AttrControl, marker(true)) // abort marker
	add(7, 8, txn, val("later"))                  // pid 8 again, committed later

	p := &partState{tp: TopicPartition{"t", 0}}
	rp := &wire.FetchResponsePartition{Records: data,
		AbortedTransactions: []wire.FetchResponseAbortedTransaction{{ProducerId: 8, FirstOffset: 2}}}
	s := &source{}
	values := func(ch *chunk) []string {
		var out []string
		recs, err := chunkRecords(ch)
		require.NoError(t, err)
		for _, r := range recs {
			out = append(out, string(r.Value))
		}
		return out
	}
	ch, err := s.decode(fetchPart{p: p, offset: 0}, "t", rp, true)
	require.NoError(t, err)
	require.Equal(t, []string{"c0", "c1", "plain", "later"}, values(ch))
	require.Equal(t, int64(8), ch.next)

	ch, err = s.decode(fetchPart{p: p, offset: 0}, "t", rp, false)
	require.NoError(t, err)
	require.Equal(t, []string{"c0", "c1", "a0", "a1", "plain", "later"}, values(ch))

	// Starting mid-batch drops the records before the fetch offset.
	ch, err = s.decode(fetchPart{p: p, offset: 1}, "t", rp, false)
	require.NoError(t, err)
	require.Equal(t, 5, ch.left, "the first batch's record before the offset is not counted")
	recs, err := chunkRecords(ch)
	require.NoError(t, err)
	require.Equal(t, "c1", string(recs[0].Value))
	require.Equal(t, int64(1), recs[0].Offset)
	require.Len(t, recs, 5)

	// Corrupt data is an error.
	bad := append([]byte(nil), data...)
	bad[30] ^= 0xff
	_, err = s.decode(fetchPart{p: p, offset: 0}, "t", &wire.FetchResponsePartition{Records: bad}, false)
	require.Equal(t, wire.ErrCorruptMessage, wire.CodeOf(err))
}

// txnWrite writes values to partition 0 of topic in one transaction of a
// fresh transactional id, then commits or aborts it (a minimal
// transactional producer built from the wire requests: the producer of
// this package is not transactional).
func txnWrite(t *testing.T, brokers []string, topic string, values []string, commit bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := NewClient(WithBrokers(brokers...))
	require.NoError(t, err)
	defer cl.Close()
	txid := fmt.Sprintf("tx-%s-%d", topic, time.Now().UnixNano())
	retry := func(what string, f func() (wire.ErrorCode, error)) {
		t.Helper()
		for {
			code, err := f()
			if err == nil && code == wire.ErrNone {
				return
			}
			require.NoError(t, ctx.Err(), "%s: %v %v", what, code, err)
			time.Sleep(100 * time.Millisecond)
		}
	}
	var coord int32
	retry("find coordinator", func() (wire.ErrorCode, error) {
		resp, err := cl.Request(ctx, -1, &wire.FindCoordinatorRequest{Key: txid, KeyType: wire.FindCoordinatorKeyTypeTransaction})
		if err != nil {
			return 0, err
		}
		c, _ := resp.(*wire.FindCoordinatorResponse).Coordinator(txid)
		coord = c.NodeId
		return wire.ErrorCode(c.ErrorCode), nil
	})
	var pid int64
	var epoch int16
	retry("init producer id", func() (wire.ErrorCode, error) {
		resp, err := cl.Request(ctx, coord, &wire.InitProducerIdRequest{TransactionalId: &txid, TransactionTimeoutMs: 60000, ProducerId: -1, ProducerEpoch: -1})
		if err != nil {
			return 0, err
		}
		r := resp.(*wire.InitProducerIdResponse)
		pid, epoch = r.ProducerId, r.ProducerEpoch
		return wire.ErrorCode(r.ErrorCode), nil
	})
	retry("add partitions", func() (wire.ErrorCode, error) {
		resp, err := cl.Request(ctx, coord, &wire.AddPartitionsToTxnRequest{V3AndBelowTransactionalId: txid,
			V3AndBelowProducerId: pid, V3AndBelowProducerEpoch: epoch,
			V3AndBelowTopics: []wire.AddPartitionsToTxnTopic{{Name: topic, Partitions: []int32{0}}}})
		if err != nil {
			return 0, err
		}
		for _, tr := range resp.(*wire.AddPartitionsToTxnResponse).ResultsByTopicV3AndBelow {
			for _, pr := range tr.ResultsByPartition {
				if pr.PartitionErrorCode != 0 {
					return wire.ErrorCode(pr.PartitionErrorCode), nil
				}
			}
		}
		return wire.ErrNone, nil
	})
	b := wire.RecordBatch{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: 0, Attributes: wire.AttrTransactional}
	for _, v := range values {
		b.Records = append(b.Records, wire.Record{Timestamp: time.Now().UnixMilli(), Value: []byte(v)})
	}
	raw, err := wire.AppendRecordBatch(nil, &b, wire.CompressionNone)
	require.NoError(t, err)
	ti, err := cl.TopicPartitions(ctx, topic)
	require.NoError(t, err)
	resp, err := cl.Request(ctx, ti.Partitions[0].Leader, &wire.ProduceRequest{TransactionalId: &txid, Acks: -1, TimeoutMs: 10000,
		TopicData: []wire.ProduceRequestTopic{{Name: topic, PartitionData: []wire.ProduceRequestPartition{{Index: 0, Records: raw}}}}})
	require.NoError(t, err)
	for _, tr := range resp.(*wire.ProduceResponse).Responses {
		for _, pr := range tr.PartitionResponses {
			require.Zero(t, pr.ErrorCode, "transactional produce")
		}
	}
	retry("end txn", func() (wire.ErrorCode, error) {
		resp, err := cl.Request(ctx, coord, &wire.EndTxnRequest{TransactionalId: txid, ProducerId: pid, ProducerEpoch: epoch, Committed: commit})
		if err != nil {
			return 0, err
		}
		return wire.ErrorCode(resp.(*wire.EndTxnResponse).ErrorCode), nil
	})
}

// TestConsumerReadCommitted: read_committed skips an aborted transaction
// and waits for committed ones; read_uncommitted sees everything.
func TestConsumerReadCommitted(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 1)
	txnWrite(t, brokers, topic, []string{"c1", "c2"}, true)
	txnWrite(t, brokers, topic, []string{"a1", "a2", "a3"}, false)
	produceTo(t, brokers, topic, 1, 1, "plain")
	txnWrite(t, brokers, topic, []string{"c3"}, true)

	values := func(recs []*Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, string(r.Value))
		}
		return out
	}
	committed := newTestConsumer(t, brokers, WithIsolationLevel(ReadCommitted))
	require.NoError(t, committed.Assign([]TopicPartition{{topic, 0}}))
	require.Equal(t, []string{"c1", "c2", "plain-0-0", "c3"}, values(pollN(t, committed, 4, 20*time.Second)))

	all := newTestConsumer(t, brokers)
	require.NoError(t, all.Assign([]TopicPartition{{topic, 0}}))
	require.Equal(t, []string{"c1", "c2", "a1", "a2", "a3", "plain-0-0", "c3"}, values(pollN(t, all, 7, 20*time.Second)))
}

// TestConsumerMaxPollInterval: a member whose application stops polling
// leaves the group (its partitions are lost) and rejoins at its next Poll.
func TestConsumerMaxPollInterval(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 2)
	c := newTestConsumer(t, brokers, WithGroupID("g-"+topic), WithMaxPollInterval(1500*time.Millisecond))
	var mu sync.Mutex
	var kinds []RebalanceKind
	c.SetRebalanceListener(func(ev RebalanceEvent) { mu.Lock(); kinds = append(kinds, ev.Kind); mu.Unlock() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, c.Subscribe(ctx, topic))
	require.Len(t, c.Assignment(), 2)
	require.True(t, assertEventually(10*time.Second, func() bool { return len(c.Assignment()) == 0 }), "still assigned")
	require.True(t, assertEventually(15*time.Second, func() bool {
		pctx, pc := context.WithTimeout(ctx, 100*time.Millisecond)
		c.Poll(pctx, 1)
		pc()
		return len(c.Assignment()) == 2
	}), "not rejoined")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []RebalanceKind{PartitionsAssigned, PartitionsLost, PartitionsAssigned}, kinds)
}

// An application that unsubscribes while holding polled records commits
// them in its revocation handler, as the Java client's unsubscribe lets it:
// the listener runs in Unsubscribe, before the partitions go, so the commit
// finds them still assigned; no revoked event follows on a later Poll.
func TestConsumerUnsubscribeRevokesWhileAssigned(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 2)
	produceTo(t, brokers, topic, 2, 5, "u")
	group := "g-" + topic
	c := newTestConsumer(t, brokers, WithGroupID(group), WithAutoCommit(false))
	var mu sync.Mutex
	var events []RebalanceEvent
	var revokeAssigned []TopicPartition
	var commitErr error
	c.SetRebalanceListener(func(ev RebalanceEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
		if ev.Kind != PartitionsRevoked {
			return
		}
		revokeAssigned = c.Assignment()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		commitErr = c.Commit(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, c.Subscribe(ctx, topic))
	pollN(t, c, 10, 20*time.Second)
	require.NoError(t, c.Unsubscribe(ctx))
	require.NoError(t, commitErr)
	tps := []TopicPartition{{topic, 0}, {topic, 1}}
	require.Equal(t, tps, revokeAssigned, "the listener ran after the partitions were gone")

	// A later poll delivers no second revocation.
	pctx, pc := context.WithTimeout(ctx, 300*time.Millisecond)
	_, _ = c.Poll(pctx, 1)
	pc()
	mu.Lock()
	kinds := []RebalanceKind{}
	for _, ev := range events {
		kinds = append(kinds, ev.Kind)
	}
	mu.Unlock()
	require.Equal(t, []RebalanceKind{PartitionsAssigned, PartitionsRevoked}, kinds)

	// What the handler committed is what the group reads back.
	other := newTestConsumer(t, brokers, WithGroupID(group))
	got, err := other.Committed(ctx, tps)
	require.NoError(t, err)
	for _, tp := range tps {
		require.Equal(t, int64(5), got[tp], "committed offset of %v", tp)
	}
}
