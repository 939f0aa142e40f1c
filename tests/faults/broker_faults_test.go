//go:build faults

package faults

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// deadAddr returns a loopback address nothing listens on (connections are
// refused at once).
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// clientRound creates a producer, a consumer and an admin client on
// brokers (default settings otherwise, so request.timeout.ms is 30 s),
// then produces 100 records to topic, reads them back and lists topics.
// It returns how long the first call (ListTopics, nothing connected yet)
// and the whole round took.
func clientRound(t *testing.T, brokers, topic string) (first, whole time.Duration) {
	t.Helper()
	start := time.Now()
	adm, err := core.NewAdminFromProperties(config(t, brokers, ""))
	require.NoError(t, err)
	defer adm.Close()
	topics, err := adm.ListTopics(context.Background(), false)
	first = time.Since(start)
	require.NoError(t, err, "admin ListTopics through %s", brokers)
	// A broker may not list a topic created moments ago yet (CI run of
	// 2026-12-06: once, the first answer through the live brokers was an
	// empty list, in 10 ms; not reproduced since). What this test checks
	// is that clients get through; the lag is logged, not hidden, and
	// bounded.
	for deadline := time.Now().Add(15 * time.Second); !slices.Contains(topics, topic); {
		t.Logf("ListTopics through %s does not list %s yet: %v", brokers, topic, topics)
		require.True(t, time.Now().Before(deadline), "topic %s never listed through %s", topic, brokers)
		time.Sleep(200 * time.Millisecond)
		topics, err = adm.ListTopics(context.Background(), false)
		require.NoError(t, err, "admin ListTopics through %s", brokers)
	}

	p, err := core.NewProducerFromProperties(config(t, brokers, "acks=all"))
	require.NoError(t, err)
	defer closeProducer(p)
	var recs []*core.Record
	for i := 0; i < 100; i++ {
		recs = append(recs, &core.Record{Topic: topic, Partition: 0, ManualPartition: true, Value: payload(0, i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, p.ProduceSync(ctx, recs...), "produce through %s", brokers)

	cons, err := core.NewConsumerFromProperties(config(t, brokers, "auto.offset.reset=earliest"))
	require.NoError(t, err)
	defer closeConsumer(cons)
	require.NoError(t, cons.Assign([]core.TopicPartition{{Topic: topic, Partition: 0}}))
	require.NoError(t, cons.Seek(core.TopicPartition{Topic: topic, Partition: 0}, recs[0].Offset))
	got := 0
	for got < len(recs) {
		recs, err := cons.Poll(ctx, 1000)
		require.NoError(t, err, "poll through %s", brokers)
		require.NoError(t, ctx.Err(), "reading back through %s: %d of 100", brokers, got)
		got += len(recs)
	}
	return first, time.Since(start)
}

// Test 4: the first bootstrap address is dead (nothing listening, a
// killed node, a frozen node): clients start through the others, within
// their default request timeout.
func TestFirstBootstrapDead(t *testing.T) {
	hardTimeout(t, 5*time.Minute)
	c := newCluster(t)
	// Replicas on nodes 2 and 3 first, so the partition keeps its leader
	// whatever happens to node 1.
	topic := fmt.Sprintf("faults-bootstrap-%d", time.Now().UnixNano()%1e9)
	adm := c.admin(t, c.bootstrap(), "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	require.NoError(t, adm.CreateTopic(ctx, core.NewTopic{Name: topic,
		Assignments: map[int32][]int32{0: {2, 3, 1}}, Configs: map[string]string{"min.insync.replicas": "2"}}))
	cancel()
	c.waitInSync(t, adm, topic)
	adm.Close()
	others := c.brokers[1] + "," + c.brokers[2]

	t.Run("refused", func(t *testing.T) {
		first, whole := clientRound(t, deadAddr(t)+","+others, topic)
		report(t, map[string]any{"first_call_ms": ms(first), "round_ms": ms(whole)})
	})
	t.Run("killed", func(t *testing.T) {
		c.signal(t, 1, "KILL")
		defer c.heal(t)
		first, whole := clientRound(t, c.bootstrap(), topic)
		report(t, map[string]any{"first_call_ms": ms(first), "round_ms": ms(whole)})
	})
	t.Run("frozen", func(t *testing.T) {
		c.signal(t, 1, "STOP")
		defer c.heal(t)
		first, whole := clientRound(t, c.bootstrap(), topic)
		report(t, map[string]any{"first_call_ms": ms(first), "round_ms": ms(whole)})
	})
}

// timed runs fn and returns its error and how long it took.
func timed(fn func() error) (error, time.Duration) {
	s := time.Now()
	err := fn()
	return err, time.Since(s)
}

// Test 5: all brokers down: produce, poll, commit and admin calls return
// the documented error within their timeout (no hang, no crash); once the
// brokers are back, the same client objects work again.
func TestAllBrokersDown(t *testing.T) {
	hardTimeout(t, 5*time.Minute)
	c := newCluster(t)
	const parts = 3
	topic := c.createTopic(t, parts)
	p := idempotentProducer(t, c.bootstrap(), "request.timeout.ms=5000")
	cons, err := core.NewConsumerFromProperties(config(t, c.bootstrap(),
		"group.id="+topic+"-g\nauto.offset.reset=earliest\nenable.auto.commit=false\nrequest.timeout.ms=5000\nsession.timeout.ms=10000\nheartbeat.interval.ms=1000"))
	require.NoError(t, err)
	defer closeConsumer(cons)
	// A second member, closed during the outage without a deadline.
	cons2, err := core.NewConsumerFromProperties(config(t, c.bootstrap(),
		"group.id="+topic+"-g2\nauto.offset.reset=earliest\nrequest.timeout.ms=5000\nsession.timeout.ms=10000\nheartbeat.interval.ms=1000"))
	require.NoError(t, err)
	adm := c.admin(t, c.bootstrap(), "request.timeout.ms=5000")
	defer adm.Close()

	batch := func(from int) []*core.Record {
		var recs []*core.Record
		for i := 0; i < 300; i++ {
			recs = append(recs, &core.Record{Topic: topic, Partition: int32(i % parts), ManualPartition: true, Value: payload(int32(i%parts), from+i/parts)})
		}
		return recs
	}
	figures := map[string]any{}
	consume := func(n int, within time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		got := 0
		for got < n {
			recs, err := cons.Poll(ctx, 1000)
			if wire.CodeOf(err) == wire.ErrAllBrokersDown {
				// Raised once per outage, and kept for the next Poll: when
				// the outage outlived every Poll made during it, the first
				// Poll after it may still report it (a retriable error; a
				// polling loop goes on, as this one does).
				figures["all_brokers_down_after_recovery"] = true
				continue
			}
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return fmt.Errorf("read %d of %d records", got, n)
			}
			got += len(recs)
		}
		return cons.Commit(ctx)
	}

	// Everything works before the outage.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
	require.NoError(t, cons.Subscribe(sctx, topic))
	require.NoError(t, cons2.Subscribe(sctx, topic))
	scancel()
	require.NoError(t, p.ProduceSync(ctx, batch(0)...))
	cancel()
	require.NoError(t, consume(300, 60*time.Second))

	// All three nodes crash.
	var wg sync.WaitGroup
	for id := 1; id <= 3; id++ {
		wg.Add(1)
		go func() { defer wg.Done(); c.signal(t, id, "KILL") }()
	}
	wg.Wait()
	downAt := time.Now()

	const callTimeout = 5 * time.Second
	const margin = 2 * time.Second
	expectErr := func(what string, fn func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		err, took := timed(func() error { return fn(ctx) })
		figures[what+"_ms"] = ms(took)
		figures[what+"_error"] = wire.CodeOf(err).String()
		require.Error(t, err, "%s with every broker down", what)
		code := wire.CodeOf(err)
		// The documented errors of an unreachable cluster (group calls name
		// the coordinator they could not find, as Subscribe documents).
		require.Contains(t, []wire.ErrorCode{wire.ErrTimedOut, wire.ErrNoBrokersAvailable, wire.ErrConnectionFailed,
			wire.ErrRequestTimedOut, wire.ErrCoordinatorNotAvailable},
			code, "%s: documented error, got %v", what, err)
		require.True(t, code.Retriable(), "%s: %v is retriable", what, err)
		require.Less(t, took, callTimeout+margin, "%s returned within its timeout (+%v): %v", what, margin, err)
	}
	expectErr("produce", func(ctx context.Context) error { return p.ProduceSync(ctx, batch(100)...) })
	expectErr("admin_list_topics", func(ctx context.Context) error { _, err := adm.ListTopics(ctx, false); return err })
	expectErr("admin_metadata", func(ctx context.Context) error { _, err := adm.ClusterMetadata(ctx, nil); return err })
	expectErr("commit", func(ctx context.Context) error { return cons.CommitOffsets(ctx, consumedOffsets(cons)) })
	expectErr("committed", func(ctx context.Context) error { _, err := cons.Committed(ctx, cons.Assignment()); return err })
	expectErr("new_client_connect", func(ctx context.Context) error {
		p2, err := core.NewProducerFromProperties(config(t, c.bootstrap(), ""))
		require.NoError(t, err)
		defer closeProducer(p2)
		return p2.Connect(ctx)
	})
	// Poll has nothing to return: it returns empty-handed at its deadline
	// (Poll reports no error for a deadline).
	pctx, pcancel := context.WithTimeout(context.Background(), callTimeout)
	recs, perr, took := pollTimed(pctx, cons)
	pcancel()
	figures["poll_ms"] = ms(took)
	require.Less(t, took, callTimeout+margin, "poll returned within its timeout")
	require.Empty(t, recs)
	if perr != nil {
		require.True(t, wire.CodeOf(perr).Retriable(), "poll error: %v", perr)
	}

	// Close without a deadline of its own must still end: its leave (and
	// commit) are bounded by request.timeout.ms like every other request.
	closed := make(chan error, 1)
	go func() { closed <- cons2.Close(context.Background()) }()
	select {
	case err := <-closed:
		figures["close_no_deadline_error"] = wire.CodeOf(err).String()
	case <-time.After(callTimeout + 10*time.Second):
		t.Errorf("Consumer.Close(context.Background()) still blocked %v after it was called with every broker down", callTimeout+10*time.Second)
		figures["close_no_deadline_error"] = "HANG"
	}

	// The brokers come back; the same objects work again.
	c.startAll(t, 1, 2, 3)
	upAt := time.Now()
	figures["outage_ms"] = ms(upAt.Sub(downAt))
	ctx, cancel = context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err, took = timed(func() error { _, err := adm.ListTopics(ctx, false); return err })
	require.NoError(t, err, "admin after recovery")
	figures["admin_recovery_ms"] = ms(took)
	err, took = timed(func() error { return p.ProduceSync(ctx, batch(200)...) })
	require.NoError(t, err, "produce after recovery")
	figures["produce_recovery_ms"] = ms(took)
	// The consumer reads the new batch (and any of the records the timed
	// out produce call left buffered, which were delivered after all).
	err, took = timed(func() error { return consume(300, 90*time.Second) })
	require.NoError(t, err, "consume after recovery")
	figures["consume_recovery_ms"] = ms(took)
	report(t, figures)
}

// consumedOffsets is what the consumer would commit: the offset after the
// last record polled, per assigned partition.
func consumedOffsets(cons *core.Consumer) map[core.TopicPartition]int64 {
	out := map[core.TopicPartition]int64{}
	for tp, o := range cons.Consumed() {
		out[tp] = o
	}
	return out
}

// closeConsumer closes cons with a bound (a test must not hang in a
// deferred close).
func closeConsumer(cons *core.Consumer) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cons.Close(ctx)
}

func closeProducer(p *core.Producer) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p.Close(ctx)
}

func pollTimed(ctx context.Context, cons *core.Consumer) ([]*core.Record, error, time.Duration) {
	s := time.Now()
	recs, err := cons.Poll(ctx, 100)
	return recs, err, time.Since(s)
}

// Test 6: a broker frozen with SIGSTOP (it keeps its TCP connections and
// accepts new ones but never answers): requests to it time out and the
// clients move on. The producer and a consumer reach the partitions' new
// leaders, an admin client already connected to the frozen node (its first
// bootstrap address) answers every call through the other nodes; nothing
// is lost or duplicated and no error reaches the caller.
func TestBrokerFrozen(t *testing.T) {
	hardTimeout(t, 5*time.Minute)
	c := newCluster(t)
	const parts = 3
	topic := c.createTopic(t, parts)
	leaders := c.leaders(t, topic)
	victim := leaders[0]
	var victimParts []int32
	for p, n := range leaders {
		if n == victim {
			victimParts = append(victimParts, p)
		}
	}
	t.Logf("topic %s leaders %v: freezing node %d", topic, leaders, victim)

	p := idempotentProducer(t, c.bootstrap(), "request.timeout.ms=5000")
	l := newLoad(t, p, topic, parts)
	// The admin client's first bootstrap address is the frozen node, and it
	// is connected before the freeze.
	adm := c.admin(t, c.brokers[victim-1]+","+c.bootstrap(), "request.timeout.ms=5000")
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err := adm.ListTopics(ctx, false)
	require.NoError(t, err)

	// A group-less consumer follows every partition.
	cons, err := core.NewConsumerFromProperties(config(t, c.bootstrap(), "auto.offset.reset=earliest\nrequest.timeout.ms=5000"))
	require.NoError(t, err)
	defer closeConsumer(cons)
	var tps []core.TopicPartition
	for i := int32(0); i < parts; i++ {
		tps = append(tps, core.TopicPartition{Topic: topic, Partition: i})
	}
	require.NoError(t, cons.Assign(tps))
	var consMu sync.Mutex
	consNext := map[int32]int{} // next expected sequence
	var consErrs []error
	var consSkipped, consRewound int
	consDone := make(chan struct{})
	var consStop atomic.Bool
	go func() {
		defer close(consDone)
		for !consStop.Load() && ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			recs, err := cons.Poll(pctx, 2000)
			pcancel()
			consMu.Lock()
			if err != nil {
				consErrs = append(consErrs, err)
			}
			for _, r := range recs {
				pp, seq, perr := parsePayload(r.Value)
				if perr != nil || pp != r.Partition {
					consErrs = append(consErrs, fmt.Errorf("partition %d offset %d: %v", r.Partition, r.Offset, perr))
					continue
				}
				if seq != consNext[pp] {
					// A gap (records never returned) or a rewind (records
					// returned twice): note it, then follow the stream.
					if seq > consNext[pp] {
						consSkipped += seq - consNext[pp]
					} else {
						consRewound += consNext[pp] - seq
					}
					if len(consErrs) < 10 {
						consErrs = append(consErrs, fmt.Errorf("%s partition %d: poll returned offset %d (seq %d), expected seq %d",
							time.Now().Format("15:04:05.000"), pp, r.Offset, seq, consNext[pp]))
					}
					consNext[pp] = max(consNext[pp], seq+1)
					continue
				}
				consNext[pp]++
			}
			consMu.Unlock()
		}
	}()
	consumedVictim := func() int {
		consMu.Lock()
		defer consMu.Unlock()
		n := 0
		for _, vp := range victimParts {
			n += consNext[vp]
		}
		return n
	}
	ackedVictim := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := 0
		for _, vp := range victimParts {
			n += l.acked[vp]
		}
		return n
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.produce(ctx, 10_000_000, 3000, stop)
	}()
	l.waitAcked(t, 5000, 60*time.Second)

	consumedPer := func() map[int32]int {
		consMu.Lock()
		defer consMu.Unlock()
		out := map[int32]int{}
		for p, n := range consNext {
			out[p] = n
		}
		return out
	}
	ackedAtFreeze := ackedVictim()
	c.signal(t, victim, "STOP")
	frozenAt := time.Now()
	consumedAtFreeze := consumedVictim()
	perAtFreeze := consumedPer()

	// While frozen: admin calls keep succeeding (one call at a time, in
	// their own goroutine), and the victim's partitions are written and
	// read again once their leadership moved.
	var admErrs []error
	var admMax time.Duration
	adminCalls := 0
	admStop := make(chan struct{})
	admDone := make(chan struct{})
	go func() {
		defer close(admDone)
		for {
			actx, acancel := context.WithTimeout(ctx, 20*time.Second)
			err, took := timed(func() error { _, err := adm.ListTopics(actx, false); return err })
			acancel()
			adminCalls++
			admMax = max(admMax, took)
			if err != nil {
				admErrs = append(admErrs, err)
			}
			select {
			case <-admStop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	var producerOn, consumerOn time.Duration
	for time.Since(frozenAt) < 60*time.Second {
		if producerOn == 0 && ackedVictim() > ackedAtFreeze+1000 {
			producerOn = time.Since(frozenAt)
		}
		if consumerOn == 0 && consumedVictim() > consumedAtFreeze+1000 {
			consumerOn = time.Since(frozenAt)
		}
		if producerOn > 0 && consumerOn > 0 && time.Since(frozenAt) > 15*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(admStop)
	<-admDone
	// Records consumed per partition while the node was frozen.
	duringFreeze := map[int32]int{}
	for p, n := range consumedPer() {
		duringFreeze[p] = n - perAtFreeze[p]
	}
	newLeaders := c.leaders(t, topic, victim)
	c.signal(t, victim, "CONT")
	thawedAt := time.Now()
	adm2 := c.admin(t, c.bootstrap(), "")
	c.waitInSync(t, adm2, topic)
	adm2.Close()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	l.finish(t, 120*time.Second)
	written := l.written()
	waitFor(t, 60*time.Second, "the consumer caught up", func() bool {
		consMu.Lock()
		defer consMu.Unlock()
		for p, n := range written {
			if consNext[p] < n {
				return false
			}
		}
		return true
	})
	consStop.Store(true)
	<-consDone
	check := c.readAll(t, topic, written)

	report(t, map[string]any{
		"records_written":          check.Records,
		"lost":                     check.Lost,
		"duplicated":               check.Duplicated,
		"frozen_node":              victim,
		"leaders_during_freeze":    newLeaders,
		"producer_moved_on_ms":     ms(producerOn),
		"consumer_moved_on_ms":     ms(consumerOn),
		"consumed_during_freeze":   duringFreeze,
		"consumer_skipped_records": consSkipped,
		"consumer_rewound_records": consRewound,
		"frozen_for_ms":            ms(thawedAt.Sub(frozenAt)),
		"producer_max_pause_ms":    ms(l.outage(victimParts...)),
		"admin_calls_while_frozen": adminCalls,
		"admin_slowest_call_ms":    ms(admMax),
		"admin_errors":             len(admErrs),
		"errors_to_the_caller":     len(l.errors()) + len(admErrs),
	})
	require.NotZero(t, producerOn, "the producer did not move on within 60 s of the freeze (leaders %v)", newLeaders)
	require.NotZero(t, consumerOn, "the consumer did not move on within 60 s of the freeze (leaders %v)", newLeaders)
	require.Empty(t, consErrs, "the consumer returned every record once, in order, without error")
	require.Empty(t, admErrs, "admin errors while a broker was frozen")
	require.Zero(t, check.Lost)
	require.Zero(t, check.Duplicated)
	require.Zero(t, check.OutOfOrder)
}
