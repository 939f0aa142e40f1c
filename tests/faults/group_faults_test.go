//go:build faults

package faults

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// TestMain runs the group consumer child of test 3 or the pipeline member
// of test 7 when the test binary is started as one (GOFKA_FAULT_CHILD=consumer
// or eos), else the tests.
func TestMain(m *testing.M) {
	switch os.Getenv("GOFKA_FAULT_CHILD") {
	case "consumer":
		os.Exit(consumerChild())
	case "eos":
		os.Exit(eosChild())
	}
	os.Exit(m.Run())
}

// consumerChild is one member of the group of test 3, in its own process.
// It subscribes, then loops: poll up to 100 records, "process" them (print
// one line each and flush), commit them, print the commit. Lines on stdout:
//
//	R                   subscribed (first assignment received)
//	P <part> <offset>   record processed
//	C <part> <offset>   offset committed (the next offset to read)
//	X <name> <message>  a commit refused (e.g. NOT_ASSIGNED after a rebalance)
//	E <message>         any other error that reached the application
//
// It leaves the group and exits when stdin closes.
func consumerChild() int {
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	defer out.Flush()
	cons, err := core.NewConsumerFromProperties(map[string]string{
		"bootstrap.servers":     os.Getenv("GOFKA_FAULT_BROKERS"),
		"group.id":              os.Getenv("GOFKA_FAULT_CHILD_GROUP"),
		"client.id":             os.Getenv("GOFKA_FAULT_CHILD_NAME"),
		"group.protocol":        os.Getenv("GOFKA_FAULT_CHILD_PROTOCOL"),
		"enable.auto.commit":    "false",
		"auto.offset.reset":     "earliest",
		"session.timeout.ms":    "6000",
		"heartbeat.interval.ms": "1000",
	})
	if err != nil {
		say("E new: %v", err)
		return 1
	}
	// Assignment changes go to stderr (the test log) with a timestamp.
	cons.SetRebalanceListener(func(ev core.RebalanceEvent) {
		fmt.Fprintf(os.Stderr, "%s %s %s %v\n", time.Now().Format("15:04:05.000"),
			os.Getenv("GOFKA_FAULT_CHILD_NAME"), ev.Kind, ev.Partitions)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // stdin closed: finish
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
	err = cons.Subscribe(sctx, os.Getenv("GOFKA_FAULT_CHILD_TOPIC"))
	scancel()
	if err != nil {
		say("E subscribe: %v", err)
		return 1
	}
	say("R")
	out.Flush()
	for ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		recs, err := cons.Poll(pctx, 100)
		pcancel()
		if err != nil {
			say("E poll: %v", err)
			out.Flush()
			continue
		}
		if len(recs) == 0 {
			continue
		}
		for _, r := range recs {
			say("P %d %d", r.Partition, r.Offset)
		}
		// The records are processed once their lines reached the parent;
		// only then is the commit sent (at-least-once).
		out.Flush()
		time.Sleep(20 * time.Millisecond) // processing time: keeps the stream going for a while
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = cons.CommitRecords(cctx, recs...)
		ccancel()
		if err != nil {
			switch code := wire.CodeOf(err); code {
			case wire.ErrNotAssigned, wire.ErrRebalanceInProgress, wire.ErrIllegalGeneration:
				say("X %s %v", code, err)
			default:
				say("E commit: %v", err)
			}
			out.Flush()
			continue
		}
		next := map[int32]int64{}
		for _, r := range recs {
			next[r.Partition] = max(next[r.Partition], r.Offset+1)
		}
		for p, o := range next {
			say("C %d %d", p, o)
		}
		out.Flush()
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ccancel()
	if err := cons.Close(cctx); err != nil {
		say("E close: %v", err)
	}
	return 0
}

// startChild starts a consumerChild of group in c, reading topic.
func startChild(t *testing.T, c *cluster, name, topic, group, protocol string, events chan<- childEvent) *child {
	t.Helper()
	return startChildProcess(t, c, "consumer", name, events,
		"GOFKA_FAULT_CHILD_TOPIC="+topic,
		"GOFKA_FAULT_CHILD_GROUP="+group,
		"GOFKA_FAULT_CHILD_PROTOCOL="+protocol,
	)
}

// groupState is the parent's record of what the children did.
type groupState struct {
	memberLog
	processed map[int32]map[int64]int // times each record was processed
	lastBy    map[int32]string        // child that last processed a partition
	commits   []childCommit
	refused   map[string]int // refused commits by error name
	killed    string
	killedAt  time.Time
	takeover  map[int32]time.Duration // partition of the killed child -> time to its next record elsewhere
	total     int
}

type childCommit struct {
	child  string
	part   int32
	offset int64
}

func (g *groupState) apply(ev childEvent) {
	g.record(ev, func(f []string) bool {
		switch f[0] {
		case "P":
			var p int32
			var o int64
			fmt.Sscanf(ev.line, "P %d %d", &p, &o)
			if g.processed[p] == nil {
				g.processed[p] = map[int64]int{}
			}
			g.processed[p][o]++
			g.total++
			if g.killed != "" && ev.child != g.killed && g.lastBy[p] == g.killed {
				if _, ok := g.takeover[p]; !ok {
					g.takeover[p] = ev.at.Sub(g.killedAt)
				}
			}
			if g.killed == "" || ev.child != g.killed {
				g.lastBy[p] = ev.child
			}
		case "C":
			var cm childCommit
			cm.child = ev.child
			fmt.Sscanf(ev.line, "C %d %d", &cm.part, &cm.offset)
			g.commits = append(g.commits, cm)
		case "X":
			g.refused[f[1]]++
		default:
			return false
		}
		return true
	})
}

// Test 3: three consumer processes in a group, one killed (SIGKILL)
// mid-stream: the others take over its partitions, every record is
// processed at least once, and committed offsets never skip a record.
func TestGroupMemberKilled(t *testing.T) {
	for _, protocol := range groupProtocols() {
		t.Run(protocol, func(t *testing.T) { testGroupMemberKilled(t, protocol) })
	}
}

// groupProtocols are the group protocols test 3 runs with
// ($GOFKA_FAULT_GROUP_PROTOCOLS, comma-separated; default classic). The
// consumer protocol (KIP-848) needs the broker's
// group.consumer.session.timeout.ms lowered to finish in time.
func groupProtocols() []string {
	if v := os.Getenv("GOFKA_FAULT_GROUP_PROTOCOLS"); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"classic"}
}

func testGroupMemberKilled(t *testing.T, protocol string) {
	hardTimeout(t, 4*time.Minute)
	c := newCluster(t)
	const parts = 6
	const before, during = 30_000, 30_000
	topic := c.createTopic(t, parts)
	group := topic + "-g"

	p := idempotentProducer(t, c.bootstrap(), "")
	l := newLoad(t, p, topic, parts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l.produce(ctx, before, 0, nil)
	fctx, fcancel := context.WithTimeout(ctx, 60*time.Second)
	require.NoError(t, p.Flush(fctx))
	fcancel()

	g := &groupState{processed: map[int32]map[int64]int{}, lastBy: map[int32]string{},
		refused: map[string]int{}, takeover: map[int32]time.Duration{}}
	members := startChildGroup(t, 3, g.apply, func(i int, name string, events chan<- childEvent) *child {
		return startChild(t, c, name, topic, group, protocol, events)
	}, g.subscribed)
	children := members.children

	// More records arrive while the group consumes.
	producing := make(chan struct{})
	go func() {
		defer close(producing)
		l.produce(ctx, during, 6000, nil)
	}()

	// Kill member-0 mid-stream, once it has processed records.
	victim := children[0]
	waitFor(t, 90*time.Second, "a third of the records processed", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.total >= (before+during)/3
	})
	g.mu.Lock()
	g.killed, g.killedAt = victim.name, time.Now()
	var victimParts []int32
	for p, by := range g.lastBy {
		if by == victim.name {
			victimParts = append(victimParts, p)
		}
	}
	processedAtKill := g.total
	g.mu.Unlock()
	require.NoError(t, victim.cmd.Process.Kill())
	victim.cmd.Wait()
	t.Logf("%s killed %s after %d records processed; it owned %v", time.Now().Format("15:04:05.000"), victim.name, processedAtKill, victimParts)

	<-producing
	l.finish(t, 60*time.Second)
	ends := c.endOffsets(t, topic)

	// Done when every record was processed and the group committed the end
	// of every partition.
	adm := c.admin(t, c.bootstrap(), "")
	defer adm.Close()
	var committed map[int32]int64
	waitFor(t, 120*time.Second, "every record processed and committed", func() bool {
		g.mu.Lock()
		for p, end := range ends {
			if int64(len(g.processed[p])) < end {
				g.mu.Unlock()
				return false
			}
		}
		g.mu.Unlock()
		actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer acancel()
		offs, err := adm.ListGroupOffsets(actx, group, nil)
		if err != nil {
			return false
		}
		committed = map[int32]int64{}
		for _, o := range offs {
			committed[o.Partition] = o.Offset
		}
		for p, end := range ends {
			if committed[p] != end {
				return false
			}
		}
		return true
	})
	for _, ch := range children[1:] {
		ch.stdin.Close()
	}
	for _, ch := range children[1:] {
		select {
		case <-ch.done:
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not exit 30 s after its stdin closed", ch.name)
		}
		ch.cmd.Wait()
	}
	members.drain()

	g.mu.Lock()
	defer g.mu.Unlock()
	require.Empty(t, g.errs, "errors reached the consumers")
	missing, redelivered := 0, 0
	for p, end := range ends {
		for o := int64(0); o < end; o++ {
			switch n := g.processed[p][o]; {
			case n == 0:
				missing++
			case n > 1:
				redelivered += n - 1
			}
		}
	}
	skipping := 0
	for _, cm := range g.commits {
		for o := int64(0); o < cm.offset; o++ {
			if g.processed[cm.part][o] == 0 {
				skipping++
				t.Errorf("%s committed %d/%d but record %d was never processed", cm.child, cm.part, cm.offset, o)
				break
			}
		}
	}
	takeover := time.Duration(0)
	for _, p := range victimParts {
		d, ok := g.takeover[p]
		require.True(t, ok, "partition %d of the killed member was never taken over", p)
		takeover = max(takeover, d)
	}
	report(t, map[string]any{
		"protocol":                     protocol,
		"records":                      before + during,
		"processed_at_kill":            processedAtKill,
		"not_processed":                missing,
		"processed_twice":              redelivered,
		"commits":                      len(g.commits),
		"commits_skipping_a_record":    skipping,
		"commits_refused":              g.refused,
		"killed_member_partitions":     victimParts,
		"takeover_ms":                  ms(takeover),
		"committed_equals_end_offsets": fmt.Sprint(mapsEqual(committed, ends)),
	})
	require.Zero(t, missing, "records never processed")
	require.Zero(t, skipping, "commits that skip a record")
	require.Equal(t, ends, committed)
}

func mapsEqual(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
