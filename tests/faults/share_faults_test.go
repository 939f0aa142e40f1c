//go:build faults

package faults

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// shareState is what the share consumers of test 6 did, shared by their
// goroutines.
type shareState struct {
	mu        sync.Mutex
	processed map[int32][]int // times each sequence number of a partition was processed
	total     int             // records processed, duplicates included
	byMember  []int           // records processed per member
	redeliv   int             // records processed with a delivery count above 1
	ackFailed map[string]int  // acknowledgements the broker refused, by error name
	pollErrs  []string        // errors Poll returned (the engine retries under them)
	bad       []string        // records that are not what was written (at most 10)
	killedAt  time.Time       // zero until the broker is killed
	victim    map[int32]bool  // partitions the killed broker led
	lastNew   map[int32]time.Time
	outage    map[int32]time.Duration
	warnings  map[string]int // the engine's share warnings, by kind
	firstWarn []string       // the first few but heartbeat retries, whole
}

// shareLog collects the warnings of the engine's share subsystem (the
// troubles it works around: abandoned sessions, partition errors), for the
// report. Safe for concurrent use (the engine logs from its goroutines).
type shareLog struct{ s *shareState }

func (l shareLog) Enabled(level core.LogLevel) bool { return level >= core.LogWarn }

func (l shareLog) Log(level core.LogLevel, subsystem, msg string) {
	if subsystem != "share" {
		return
	}
	kind := msg
	if i := strings.Index(msg, ": "); i >= 0 {
		kind = msg[i+2:] // drop "group G"
	}
	if i := strings.Index(kind, ":"); i >= 0 {
		kind = kind[:i]
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.warnings[kind]++
	if len(l.s.firstWarn) < 12 && !strings.Contains(msg, "heartbeat failed") {
		l.s.firstWarn = append(l.s.firstWarn, time.Now().Format("15:04:05.000 ")+msg)
	}
}

// process records one delivery of r by member i (on that member's
// goroutine: a bad record is noted, and fails the test at the end).
func (s *shareState) process(i int, r *core.ShareRecord) {
	p, seq, err := parsePayload(r.Value)
	if err == nil && p != r.Partition {
		err = fmt.Errorf("record of partition %d found in %d", p, r.Partition)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if len(s.bad) < 10 {
			s.bad = append(s.bad, err.Error())
		}
		return
	}
	for len(s.processed[p]) <= seq {
		s.processed[p] = append(s.processed[p], 0)
	}
	first := s.processed[p][seq] == 0
	s.processed[p][seq]++
	s.total++
	s.byMember[i]++
	if r.DeliveryCount > 1 {
		s.redeliv++
	}
	// The outage of a partition the dead broker led: the longest wait,
	// from the kill on, between two records of it processed for the first
	// time (records fetched before the kill and processed after it do not
	// hide it: the wait after them counts).
	if !s.killedAt.IsZero() && s.victim[p] && first {
		now := time.Now()
		since := s.killedAt
		if last := s.lastNew[p]; last.After(since) {
			since = last
		}
		s.outage[p] = max(s.outage[p], now.Sub(since))
		s.lastNew[p] = now
	}
}

// complete reports whether every written record was processed.
func (s *shareState) complete(written map[int32]int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, n := range written {
		if len(s.processed[p]) < n {
			return false
		}
		for _, c := range s.processed[p][:n] {
			if c == 0 {
				return false
			}
		}
	}
	return true
}

// Test 6: share consumers (KIP-932) in one share group while the broker
// leading most partitions is killed (SIGKILL) mid-stream: consumption
// resumes on the new leaders, and every record is processed at least once
// (the records the dead leader had handed out unacknowledged, and those
// whose acknowledgement died with it, come again: counted as duplicates).
func TestShareConsumersBrokerKilled(t *testing.T) {
	// scripts/kafka.sh runs KAFKA_VERSION (default 4.4.0): share groups are
	// enabled from 4.2 (4.0/4.1: an early access that is off).
	if v := os.Getenv("KAFKA_VERSION"); v != "" {
		var major, minor int
		if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err == nil && (major < 4 || major == 4 && minor < 2) {
			t.Skipf("Kafka %s has no share groups enabled (production ready in 4.2)", v)
		}
	}
	hardTimeout(t, 5*time.Minute)
	c := newCluster(t)
	const parts, members = 6, 3
	const before, during = 20_000, 20_000
	topic := c.createTopic(t, parts)
	group := topic + "-share"
	adm := c.admin(t, c.bootstrap(), "")
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// A new share group starts at the latest offset: read from the start.
	require.NoError(t, adm.AlterConfigs(ctx, core.ResourceGroup, group,
		[]core.ConfigOp{{Name: "share.auto.offset.reset", Value: "earliest"}}, false))

	p := idempotentProducer(t, c.bootstrap(), "")
	l := newLoad(t, p, topic, parts)
	l.produce(ctx, before, 0, nil)
	fctx, fcancel := context.WithTimeout(ctx, 60*time.Second)
	require.NoError(t, p.Flush(fctx))
	fcancel()

	s := &shareState{processed: map[int32][]int{}, byMember: make([]int, members),
		ackFailed: map[string]int{}, warnings: map[string]int{}, victim: map[int32]bool{},
		lastNew: map[int32]time.Time{}, outage: map[int32]time.Duration{}}
	cctx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var wg sync.WaitGroup
	closeErrs := make([]error, members)
	for i := 0; i < members; i++ {
		cons, err := core.NewShareConsumer(core.WithBrokers(c.brokers...), core.WithGroupID(group),
			core.WithShareAcknowledgementMode(core.ShareAckExplicit),
			core.WithClientID("share-"+fmt.Sprint(i)), core.WithLogger(shareLog{s}))
		require.NoError(t, err)
		cons.SetAcknowledgementCallback(func(res []core.ShareAckResult) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, r := range res {
				if r.Err != nil {
					s.ackFailed[wire.CodeOf(r.Err).String()]++
				}
			}
		})
		require.NoError(t, cons.Subscribe(topic))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cctx.Err() == nil {
				recs, err := cons.Poll(cctx, 200)
				if err != nil {
					if cctx.Err() == nil {
						s.mu.Lock()
						s.pollErrs = append(s.pollErrs, err.Error())
						s.mu.Unlock()
						time.Sleep(100 * time.Millisecond)
					}
					continue
				}
				for _, r := range recs {
					s.process(i, r)
					if err := cons.Acknowledge(r, core.AcknowledgeAccept); err != nil {
						s.mu.Lock()
						s.pollErrs = append(s.pollErrs, "acknowledge: "+err.Error())
						s.mu.Unlock()
					}
				}
			}
			closeCtx, closeCancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer closeCancel()
			closeErrs[i] = cons.Close(closeCtx)
		}()
	}

	// More records arrive while the group consumes.
	producing := make(chan struct{})
	go func() {
		defer close(producing)
		l.produce(ctx, during, 5000, nil)
	}()

	waitFor(t, 120*time.Second, "a third of the records processed", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.total >= (before+during)/3
	})
	leaders := c.leaders(t, topic)
	led := map[int]int{}
	for _, n := range leaders {
		led[n]++
	}
	victim := 0
	for n, k := range led {
		if victim == 0 || k > led[victim] || (k == led[victim] && n < victim) {
			victim = n
		}
	}
	coordinator := -1
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	if d, err := adm.DescribeShareGroup(dctx, group); err == nil {
		coordinator = int(d.Coordinator.NodeID)
	}
	dcancel()
	var victimParts []int32
	s.mu.Lock()
	for part, n := range leaders {
		if n == victim {
			s.victim[part] = true
			victimParts = append(victimParts, part)
		}
	}
	processedAtKill := s.total
	s.killedAt = time.Now()
	s.mu.Unlock()
	sort.Slice(victimParts, func(i, j int) bool { return victimParts[i] < victimParts[j] })
	c.signal(t, victim, "KILL")
	t.Logf("%s killed node %d (leader of %v; share coordinator: node %d) after %d records processed",
		time.Now().Format("15:04:05.000"), victim, victimParts, coordinator, processedAtKill)

	<-producing
	l.finish(t, 90*time.Second)
	written := l.written()
	waitFor(t, 150*time.Second, "every record processed", func() bool { return s.complete(written) })
	stopConsumers()
	wg.Wait()

	s.mu.Lock()
	defer s.mu.Unlock()
	notProcessed, twice := 0, 0
	for part, n := range written {
		for _, k := range s.processed[part][:n] {
			switch {
			case k == 0:
				notProcessed++
			case k > 1:
				twice += k - 1
			}
		}
	}
	resume := time.Duration(0)
	for _, part := range victimParts {
		d, ok := s.outage[part]
		require.True(t, ok, "partition %d of the killed leader never resumed", part)
		resume = max(resume, d)
	}
	pollErrs := len(s.pollErrs)
	if pollErrs > 5 {
		s.pollErrs = s.pollErrs[:5]
	}
	report(t, map[string]any{
		"members":                 members,
		"records":                 before + during,
		"processed_at_kill":       processedAtKill,
		"killed_node":             victim,
		"killed_node_coordinator": victim == coordinator,
		"killed_node_partitions":  victimParts,
		"outage_ms":               ms(resume),
		"not_processed":           notProcessed,
		"processed_twice":         twice,
		"redelivered":             s.redeliv,
		"processed_per_member":    s.byMember,
		"acks_refused":            s.ackFailed,
		"poll_errors":             pollErrs,
		"poll_errors_first":       s.pollErrs,
		"engine_share_warnings":   s.warnings,
		"engine_share_first":      s.firstWarn,
	})
	require.Empty(t, s.bad, "records not as written")
	require.Zero(t, notProcessed, "records never processed")
	for i, err := range closeErrs {
		require.NoError(t, err, "close of member %d", i)
	}
}
