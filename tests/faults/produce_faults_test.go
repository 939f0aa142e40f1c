//go:build faults

package faults

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
)

// idempotentProducer is the producer of tests 1, 2 and 6: acks=all with
// idempotence, the rest at its defaults (delivery.timeout.ms 120 s).
func idempotentProducer(t *testing.T, brokers string, extra string) *core.Producer {
	t.Helper()
	p, err := core.NewProducerFromProperties(config(t, brokers, "acks=all\nenable.idempotence=true\nlinger.ms=5\n"+extra))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

// Test 1: kill -9 the leader of the partitions being written while
// producing 200k records with acks=all and idempotence; afterwards a
// consumer reads every record exactly once, in order per partition.
func TestKillLeaderWhileProducing(t *testing.T) {
	hardTimeout(t, 4*time.Minute)
	c := newCluster(t)
	const total = 200_000
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
	t.Logf("topic %s leaders %v: killing node %d (leader of %v)", topic, leaders, victim, victimParts)

	p := idempotentProducer(t, c.bootstrap(), "")
	l := newLoad(t, p, topic, parts)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	producing := make(chan struct{})
	go func() {
		defer close(producing)
		l.produce(ctx, total, 0, nil)
	}()

	// Kill once a fifth is acknowledged: production is in full swing.
	l.waitAcked(t, total/5, 60*time.Second)
	killAt := time.Now()
	c.signal(t, victim, "KILL")
	l.mu.Lock()
	ackedAtKill, producedAtKill := l.ackedTotal, l.produced
	l.mu.Unlock()
	t.Logf("node %d killed after %d acked / %d produced", victim, ackedAtKill, producedAtKill)

	<-producing
	l.finish(t, 150*time.Second)
	produceTime := time.Since(start)
	newLeaders := c.leaders(t, topic, victim)

	// Bring the node back while the log is verified.
	var restart sync.WaitGroup
	restart.Add(1)
	var restartTook time.Duration
	go func() {
		defer restart.Done()
		s := time.Now()
		out, err := c.kafka(150*time.Second, "start", itoa(victim))
		restartTook = time.Since(s)
		if err != nil {
			t.Errorf("restarting node %d: %v\n%s", victim, err, out)
		}
	}()
	check := c.readAll(t, topic, l.written())
	restart.Wait()

	report(t, map[string]any{
		"records_written":      total,
		"records_read":         check.Records,
		"lost":                 check.Lost,
		"duplicated":           check.Duplicated,
		"out_of_order":         check.OutOfOrder,
		"killed_node":          victim,
		"killed_after_acked":   ackedAtKill,
		"leaders_before":       leaders,
		"leaders_after":        newLeaders,
		"recovery_ms":          ms(l.outage(victimParts...)),
		"max_pause_other_ms":   ms(l.outage()),
		"produce_ms":           ms(produceTime),
		"kill_to_end_ms":       ms(time.Since(killAt)),
		"read_ms":              ms(check.Elapsed),
		"node_restart_ms":      ms(restartTook),
		"errors_to_the_caller": len(l.errors()),
	})
	require.Equal(t, total, check.Records, "records read")
	require.Zero(t, check.Lost, "lost")
	require.Zero(t, check.Duplicated, "duplicated")
	require.Zero(t, check.OutOfOrder, "out of order")
	for _, p := range victimParts {
		require.NotEqual(t, victim, newLeaders[p], "partition %d has a new leader", p)
	}
}

// Test 2: restart a broker (SIGTERM, then start) under load: producer,
// group consumer and admin keep working, reconnect by themselves, and no
// error reaches the caller. Every record is consumed, in order; with
// idempotence none is written twice.
func TestRestartBrokerUnderLoad(t *testing.T) {
	hardTimeout(t, 4*time.Minute)
	c := newCluster(t)
	const parts = 3
	topic := c.createTopic(t, parts)
	leaders := c.leaders(t, topic)
	victim := leaders[0]
	t.Logf("topic %s leaders %v: restarting node %d", topic, leaders, victim)

	p := idempotentProducer(t, c.bootstrap(), "")
	l := newLoad(t, p, topic, parts)

	group := topic + "-g"
	cons, err := core.NewConsumerFromProperties(config(t, c.bootstrap(),
		"group.id="+group+"\nauto.offset.reset=earliest\nenable.auto.commit=false\nsession.timeout.ms=10000\nheartbeat.interval.ms=1000"))
	require.NoError(t, err)
	defer closeConsumer(cons)
	sctx, scancel := context.WithTimeout(context.Background(), 60*time.Second)
	require.NoError(t, cons.Subscribe(sctx, topic))
	scancel()

	adm := c.admin(t, c.bootstrap(), "")
	defer adm.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Producer: about 5000 records/s until stopped.
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.produce(ctx, 10_000_000, 5000, stop)
	}()

	// Consumer: polls, checks order, commits after every batch.
	var consMu sync.Mutex
	consumed := map[int32][]int{} // sequence numbers in the order received
	var consErrs []error
	var lastRec atomic.Int64
	var consMaxGap time.Duration
	lastRec.Store(time.Now().UnixNano())
	consDone := make(chan struct{})
	var consStop atomic.Bool
	go func() {
		defer close(consDone)
		for !consStop.Load() && ctx.Err() == nil {
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			recs, err := cons.Poll(pctx, 1000)
			pcancel()
			if err != nil {
				consMu.Lock()
				consErrs = append(consErrs, err)
				consMu.Unlock()
				continue
			}
			if len(recs) == 0 {
				continue
			}
			now := time.Now()
			consMu.Lock()
			if gap := time.Duration(now.UnixNano() - lastRec.Load()); gap > consMaxGap {
				consMaxGap = gap
			}
			for _, r := range recs {
				pp, seq, perr := parsePayload(r.Value)
				if perr != nil || pp != r.Partition {
					consErrs = append(consErrs, perr)
					continue
				}
				consumed[pp] = append(consumed[pp], seq)
			}
			consMu.Unlock()
			lastRec.Store(now.UnixNano())
			cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
			if err := cons.CommitRecords(cctx, recs...); err != nil {
				consMu.Lock()
				consErrs = append(consErrs, err)
				consMu.Unlock()
			}
			ccancel()
		}
	}()

	// Admin: metadata and topic listing every 500 ms.
	var admErrs []error
	var admCalls int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
			actx, acancel := context.WithTimeout(ctx, 20*time.Second)
			_, err1 := adm.ListTopics(actx, false)
			_, err2 := adm.ClusterMetadata(actx, []string{topic})
			acancel()
			admCalls++
			for _, err := range []error{err1, err2} {
				if err != nil {
					admErrs = append(admErrs, err)
				}
			}
		}
	}()

	l.waitAcked(t, 10_000, 60*time.Second)
	downAt := time.Now()
	c.signal(t, victim, "TERM")
	stopped := time.Since(downAt)
	c.start(t, victim)
	restarted := time.Since(downAt)
	t.Logf("node %d stopped in %v, back after %v", victim, stopped, restarted)
	// Keep the load on until the restarted node is back in every ISR.
	adm2 := c.admin(t, c.bootstrap(), "")
	c.waitInSync(t, adm2, topic)
	adm2.Close()
	inSync := time.Since(downAt)
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	l.finish(t, 120*time.Second)

	// Let the consumer catch up with everything produced.
	written := l.written()
	deadline := time.Now().Add(90 * time.Second)
	for {
		consMu.Lock()
		caught := true
		for p, n := range written {
			got := consumed[p]
			caught = caught && len(got) > 0 && got[len(got)-1] == n-1
		}
		consMu.Unlock()
		if caught || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	consStop.Store(true)
	<-consDone

	consMu.Lock()
	defer consMu.Unlock()
	dups, gaps, rewinds := 0, 0, 0
	for p, n := range written {
		seen := make([]int, n)
		prev := -1
		for _, seq := range consumed[p] {
			if seq < n {
				seen[seq]++
			}
			if seq > prev+1 {
				gaps++
			}
			if seq <= prev {
				rewinds++ // a re-delivery (at-least-once) goes back
			}
			prev = max(prev, seq)
		}
		for _, k := range seen {
			if k == 0 {
				t.Errorf("partition %d: a record was never consumed", p)
				break
			}
			dups += k - 1
		}
	}
	// Everything written is in the log exactly once.
	check := c.readAll(t, topic, written)
	report(t, map[string]any{
		"records_written":       check.Records,
		"lost":                  check.Lost,
		"duplicated_in_log":     check.Duplicated,
		"consumer_redeliveries": dups,
		"consumer_rewinds":      rewinds,
		"restarted_node":        victim,
		"stop_ms":               ms(stopped),
		"down_to_ready_ms":      ms(restarted),
		"down_to_in_sync_ms":    ms(inSync),
		"producer_max_pause_ms": ms(l.outage()),
		"consumer_max_pause_ms": ms(consMaxGap),
		"admin_calls":           admCalls,
		"errors_to_the_caller":  len(l.errors()) + len(consErrs) + len(admErrs),
	})
	require.Empty(t, consErrs, "consumer errors reached the caller")
	require.Empty(t, admErrs, "admin errors reached the caller")
	require.Zero(t, gaps, "the consumer skipped records")
	require.Zero(t, check.Lost)
	require.Zero(t, check.Duplicated)
	require.Zero(t, check.OutOfOrder)
}

func itoa(i int) string { return strconv.Itoa(i) }
