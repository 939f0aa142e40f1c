//go:build faults

package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// Test 7 (exactly-once): a consume-transform-produce pipeline of three
// member processes (a group consumer with read_committed and a
// transactional producer each, the input offsets sent to the transaction
// with the member's GroupMetadata, KIP-447) copies 20,000 numbered records
// of 6 partitions, partition p to output partition p, while (a) a member
// is killed with SIGKILL, or (b) the broker that coordinates the members'
// transactions is killed with SIGKILL. A read_committed reader of the
// output must find every input record exactly once, in order per
// partition.

const (
	eosRecords    = 20_000
	eosParts      = 6
	eosBatch      = 500                    // records per transaction at most
	eosPeriod     = 100 * time.Millisecond // age of a transaction at most
	eosRecordWork = 500 * time.Microsecond // the transform's cost per record: a run lasts seconds
	// eosTxnTimeout is the members' transaction.timeout.ms: the
	// coordinator aborts the open transaction of a killed member after it
	// (and its next check, every 10 s by default).
	eosTxnTimeout = 10 * time.Second
)

// eosChild is one member of test 7 in its own process (the test binary
// started with GOFKA_FAULT_CHILD=eos). Lines on stdout:
//
//	R            subscribed (first assignment received)
//	C <records>  a transaction committed with that many records
//	A <reason>   a transaction aborted (the partitions moved, ...)
//	E <message>  an error the member cannot go on after; it exits
//
// Retriable failures (a call timing out while the coordinator moves) go to
// stderr and are retried. It finishes its transaction, leaves the group
// and exits when stdin closes.
func eosChild() int {
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	name := os.Getenv("GOFKA_FAULT_CHILD_NAME")
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s %s "+format+"\n", append([]any{time.Now().Format("15:04:05.000"), name}, args...)...)
	}
	brokers := os.Getenv("GOFKA_FAULT_BROKERS")
	outTopic := os.Getenv("GOFKA_FAULT_CHILD_OUT")
	cons, err := core.NewConsumerFromProperties(map[string]string{
		"bootstrap.servers":     brokers,
		"group.id":              os.Getenv("GOFKA_FAULT_CHILD_GROUP"),
		"client.id":             name,
		"group.protocol":        os.Getenv("GOFKA_FAULT_CHILD_PROTOCOL"),
		"enable.auto.commit":    "false",
		"auto.offset.reset":     "earliest",
		"isolation.level":       "read_committed",
		"session.timeout.ms":    "6000",
		"heartbeat.interval.ms": "1000",
	})
	if err != nil {
		say("E consumer: %v", err)
		return 1
	}
	prod, err := core.NewProducerFromProperties(map[string]string{
		"bootstrap.servers":      brokers,
		"client.id":              name,
		"transactional.id":       os.Getenv("GOFKA_FAULT_CHILD_TXNID"),
		"transaction.timeout.ms": fmt.Sprint(eosTxnTimeout.Milliseconds()),
		"linger.ms":              "5",
	})
	if err != nil {
		say("E producer: %v", err)
		return 1
	}
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // stdin closed: finish
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	// call runs a transactional call again when it failed with neither a
	// fatal nor an abortable error (TIMED_OUT while the coordinator moves:
	// the call may be repeated), 30 s each, 8 times at most.
	call := func(what string, f func(ctx context.Context) error) error {
		var err error
		for i := 0; i < 8; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = f(ctx)
			cancel()
			if err == nil || core.IsTxnAbortable(err) || core.IsTxnFatal(err) {
				return err
			}
			logf("%s: %v (retried)", what, err)
		}
		return err
	}
	if err := call("init", prod.InitTransactions); err != nil {
		say("E init: %v", err)
		return 1
	}

	inTxn, open := false, 0
	var begun time.Time
	offsets := map[core.TopicPartition]int64{}
	rewind := func() error {
		tps := cons.Assignment()
		if len(tps) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		got, err := cons.Committed(ctx, tps)
		if err != nil {
			return fmt.Errorf("committed: %w", err)
		}
		for _, tp := range tps {
			off := got[tp]
			if off < 0 {
				off = core.OffsetBeginning
			}
			if err := cons.Seek(tp, off); err != nil && wire.CodeOf(err) != wire.ErrNotAssigned {
				return fmt.Errorf("seek %s: %w", tp, err)
			}
		}
		return nil
	}
	// finish ends the open transaction: commit (when commit) or abort,
	// also after an abortable commit error; after an abort the consumer
	// goes back to the committed offsets.
	finish := func(commit bool, reason string) error {
		if !inTxn {
			return nil
		}
		inTxn = false
		if commit {
			err := call("send offsets", func(ctx context.Context) error {
				return prod.SendOffsetsToTransaction(ctx, offsets, cons.GroupMetadata())
			})
			if err == nil {
				err = call("commit", prod.CommitTransaction)
			}
			if err == nil {
				say("C %d", open)
				return nil
			}
			if !core.IsTxnAbortable(err) {
				return fmt.Errorf("commit: %w", err)
			}
			reason = wire.CodeOf(err).String()
			logf("commit refused: %v", err)
		}
		if err := call("abort", prod.AbortTransaction); err != nil {
			return fmt.Errorf("abort: %w", err)
		}
		say("A %s", reason)
		return rewind()
	}
	var lErr error
	cons.SetRebalanceListener(func(ev core.RebalanceEvent) {
		logf("%s %v", ev.Kind, ev.Partitions)
		if ev.Kind != core.PartitionsAssigned && lErr == nil {
			lErr = finish(ev.Kind == core.PartitionsRevoked, ev.Kind.String())
		}
	})
	sctx, scancel := context.WithTimeout(stop, 60*time.Second)
	err = cons.Subscribe(sctx, os.Getenv("GOFKA_FAULT_CHILD_TOPIC"))
	scancel()
	if err != nil {
		say("E subscribe: %v", err)
		return 1
	}
	say("R")
	fail := func(err error) int {
		say("E %v", err)
		return 1
	}
	for stop.Err() == nil {
		pctx, pcancel := context.WithTimeout(stop, eosPeriod)
		recs, err := cons.Poll(pctx, eosBatch)
		pcancel()
		if lErr != nil {
			return fail(lErr)
		}
		if err != nil {
			return fail(fmt.Errorf("poll: %w", err))
		}
		if len(recs) > 0 && !inTxn {
			if err := prod.BeginTransaction(); err != nil {
				return fail(fmt.Errorf("begin: %w", err))
			}
			inTxn, begun, open, offsets = true, time.Now(), 0, map[core.TopicPartition]int64{}
		}
		for _, r := range recs {
			prod.Produce(context.Background(), &core.Record{Topic: outTopic, Partition: r.Partition, ManualPartition: true, Value: r.Value}, nil)
			offsets[core.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset + 1
			open++
		}
		time.Sleep(time.Duration(len(recs)) * eosRecordWork)
		if inTxn && (open >= eosBatch || time.Since(begun) >= eosPeriod) {
			if err := finish(true, ""); err != nil {
				return fail(err)
			}
		}
	}
	// The parent saw every input committed: a transaction still open holds
	// records transformed twice. Commit it the normal way, so a duplicate
	// would show in the output.
	if err := finish(true, ""); err != nil {
		return fail(err)
	}
	ctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	if err := cons.Close(ctx); err != nil {
		logf("close consumer: %v", err)
	}
	if err := prod.Close(ctx); err != nil {
		logf("close producer: %v", err)
	}
	return 0
}

// eosState is the parent's record of what the members said.
type eosState struct {
	memberLog
	committed  int // records of committed transactions (a killed member's last commit may be missing)
	commits    int
	aborts     map[string]int // by reason
	lastCommit time.Time
	faultAt    time.Time     // zero until the fault
	maxGap     time.Duration // longest time without a commit after the fault
}

func (s *eosState) apply(ev childEvent) {
	s.record(ev, func(f []string) bool {
		switch f[0] {
		case "C":
			var n int
			fmt.Sscanf(f[1], "%d", &n)
			s.committed += n
			s.commits++
			if !s.faultAt.IsZero() {
				from := s.lastCommit
				if from.Before(s.faultAt) {
					from = s.faultAt
				}
				s.maxGap = max(s.maxGap, ev.at.Sub(from))
			}
			s.lastCommit = ev.at
		case "A":
			reason := "?"
			if len(f) > 1 {
				reason = f[1]
			}
			s.aborts[reason]++
		default:
			return false
		}
		return true
	})
}

func startEOSChild(t *testing.T, c *cluster, name, txnID, in, out, group, protocol string, events chan<- childEvent) *child {
	t.Helper()
	return startChildProcess(t, c, "eos", name, events,
		"GOFKA_FAULT_CHILD_TOPIC="+in,
		"GOFKA_FAULT_CHILD_OUT="+out,
		"GOFKA_FAULT_CHILD_GROUP="+group,
		"GOFKA_FAULT_CHILD_TXNID="+txnID,
		"GOFKA_FAULT_CHILD_PROTOCOL="+protocol,
	)
}

// txnCoordinator returns the node id of the transaction coordinator of
// transactional.id id.
func (c *cluster) txnCoordinator(t *testing.T, id string) int {
	t.Helper()
	adm := c.admin(t, c.bootstrap(), "")
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		resp, err := adm.Client().Request(ctx, -1, &wire.FindCoordinatorRequest{Key: id, KeyType: 1})
		if err == nil {
			co, found := resp.(*wire.FindCoordinatorResponse).Coordinator(id)
			if found && co.ErrorCode == 0 {
				return int(co.NodeId)
			}
			err = fmt.Errorf("coordinator of %s: found %v, error %d", id, found, co.ErrorCode)
		}
		require.NoError(t, ctx.Err(), "no transaction coordinator for %s: %v", id, err)
		time.Sleep(300 * time.Millisecond)
	}
}

// readCommitted reads every partition of topic with read_committed up to
// its end (every transaction of the topic must be over) and checks that
// partition p holds exactly want[p] records with sequence numbers
// 0..want[p]-1, each once and in order.
func (c *cluster) readCommitted(t *testing.T, topic string, want map[int32]int) logCheck {
	t.Helper()
	start := time.Now()
	ends := c.endOffsets(t, topic)
	cons, err := core.NewConsumerFromProperties(config(t, c.bootstrap(), "auto.offset.reset=earliest\nrequest.timeout.ms=10000\nisolation.level=read_committed"))
	require.NoError(t, err)
	defer closeConsumer(cons)
	var tps []core.TopicPartition
	for p := range ends {
		tps = append(tps, core.TopicPartition{Topic: topic, Partition: p})
	}
	require.NoError(t, cons.Assign(tps))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// Control records (the commit and abort markers) take offsets but are
	// never returned: the reader is done when its positions reach the
	// ends.
	done := func() bool {
		for _, tp := range tps {
			pos, err := cons.Position(ctx, tp)
			require.NoError(t, err)
			if pos < ends[tp.Partition] {
				return false
			}
		}
		return true
	}
	var res logCheck
	tally := newSeqTally(want)
	for !done() {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		recs, err := cons.Poll(pctx, 5000)
		pcancel()
		require.NoError(t, err, "poll")
		require.NoError(t, ctx.Err(), "reading %s: stuck before %v", topic, ends)
		for _, r := range recs {
			tally.add(t, r, &res)
		}
	}
	tally.finish(&res)
	res.Elapsed = time.Since(start)
	return res
}

// Test 7a: a member process is killed (SIGKILL) mid-stream, its
// transaction open; the others take its partitions over once the
// coordinator aborted that transaction (transaction.timeout.ms).
func TestExactlyOnceMemberKilled(t *testing.T) {
	for _, protocol := range groupProtocols() {
		t.Run(protocol, func(t *testing.T) { testExactlyOnce(t, protocol, "member") })
	}
}

// Test 7b: the broker coordinating the members' transactions is killed
// (SIGKILL) mid-stream; the members go on with its successor.
func TestExactlyOnceCoordinatorKilled(t *testing.T) {
	testExactlyOnce(t, groupProtocols()[0], "coordinator")
}

func testExactlyOnce(t *testing.T, protocol, fault string) {
	hardTimeout(t, 5*time.Minute)
	c := newCluster(t)
	in := c.createTopic(t, eosParts)
	out := c.createTopic(t, eosParts)
	group := in + "-g"

	// The numbered input: record seq of partition p is payload(p, seq).
	want := map[int32]int{}
	p := idempotentProducer(t, c.bootstrap(), "")
	var recs []*core.Record
	for i := 0; i < eosRecords; i++ {
		part := int32(i % eosParts)
		recs = append(recs, &core.Record{Topic: in, Partition: part, ManualPartition: true, Value: payload(part, want[part])})
		want[part]++
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 60*time.Second)
	require.NoError(t, p.ProduceSync(pctx, recs...))
	pcancel()
	ends := c.endOffsets(t, in)

	// The members' transactional ids; for the coordinator fault, ids that
	// share one coordinator, so that its death hits every member.
	ids := make([]string, 3)
	coordinator := 0
	for i := range ids {
		for k := 0; ; k++ {
			id := fmt.Sprintf("%s-m%d-%d", in, i, k)
			if fault != "coordinator" {
				ids[i] = id
				break
			}
			n := c.txnCoordinator(t, id)
			if coordinator == 0 {
				coordinator = n
			}
			if n == coordinator {
				ids[i] = id
				break
			}
			require.Less(t, k, 100, "no transactional id found with coordinator %d", coordinator)
		}
	}

	s := &eosState{aborts: map[string]int{}}
	members := startChildGroup(t, len(ids), s.apply, func(i int, name string, events chan<- childEvent) *child {
		return startEOSChild(t, c, name, ids[i], in, out, group, protocol, events)
	}, s.subscribed)
	children := members.children

	waitFor(t, 120*time.Second, "30% of the records committed", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.committed >= eosRecords*3/10 || len(s.errs) > 0
	})
	s.mu.Lock()
	committedAtFault := s.committed
	s.faultAt = time.Now()
	s.mu.Unlock()
	survivors := children
	switch fault {
	case "member":
		victim := children[0]
		require.NoError(t, victim.cmd.Process.Kill())
		victim.cmd.Wait()
		survivors = children[1:]
		t.Logf("%s killed %s after %d records committed", time.Now().Format("15:04:05.000"), victim.name, committedAtFault)
	case "coordinator":
		c.signal(t, coordinator, "KILL")
		t.Logf("%s killed node %d, the transaction coordinator, after %d records committed", time.Now().Format("15:04:05.000"), coordinator, committedAtFault)
	}

	// Done when the group committed the end of every input partition.
	adm := c.admin(t, c.bootstrapAvoiding(coordinator), "")
	defer adm.Close()
	var committed map[int32]int64
	waitFor(t, 180*time.Second, "every input committed", func() bool {
		s.mu.Lock()
		errs := len(s.errs)
		s.mu.Unlock()
		if errs > 0 {
			return true
		}
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
		return mapsEqual(committed, ends)
	})
	doneAt := time.Now()
	for _, ch := range survivors {
		ch.stdin.Close()
	}
	for _, ch := range survivors {
		select {
		case <-ch.done:
		case <-time.After(60 * time.Second):
			t.Errorf("%s did not exit 60 s after its stdin closed", ch.name)
		}
		if err := ch.cmd.Wait(); err != nil {
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "%s: %v", ch.name, err)
			t.Errorf("%s exited with %v", ch.name, err)
		}
	}
	members.drain()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Empty(t, s.errs, "errors reached the members")

	check := c.readCommitted(t, out, want)
	report(t, map[string]any{
		"fault":                  fault,
		"protocol":               protocol,
		"records":                eosRecords,
		"committed_at_fault":     committedAtFault,
		"transactions_committed": s.commits,
		"transactions_aborted":   s.aborts,
		"max_commit_gap_ms":      ms(s.maxGap),
		"fault_to_done_ms":       ms(doneAt.Sub(s.faultAt)),
		"output_records":         check.Records,
		"lost":                   check.Lost,
		"duplicated":             check.Duplicated,
		"out_of_order":           check.OutOfOrder,
	})
	require.Equal(t, ends, committed, "the group's committed offsets")
	require.Zero(t, check.Lost, "inputs missing from the committed output")
	require.Zero(t, check.Duplicated, "inputs duplicated in the committed output")
	require.Zero(t, check.OutOfOrder, "records out of order in the committed output")
	require.Equal(t, eosRecords, check.Records)
}
