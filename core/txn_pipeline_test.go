package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// The exactly-once proof of the transactional producer (issue 23): a
// consume-transform-produce pipeline of several group members, each with
// its own transactional producer (KIP-447: the offsets go to the
// transaction with the member's GroupMetadata, so the group coordinator
// fences a member that lost its partitions), over a multi-partition input.
// Members join while records flow, so partitions move between them
// mid-transaction, and every 5th transaction is aborted on purpose (its
// input is then transformed again). A read_committed reader of the output
// must find every input record exactly once. Runs on the dev cluster, or
// on the Kafka of GOFKA_BROKERS.

const (
	eosInputs       = 100_000
	eosPartitions   = 6
	eosMembers      = 3
	eosCommitEvery  = 1000                  // records per transaction at most
	eosCommitPeriod = 50 * time.Millisecond // age of a transaction at most
	// eosWork is the transform's cost per record: it makes the pipeline
	// run for seconds rather than a fraction of one, so that members join
	// (and partitions move) while records flow.
	eosWork = 100 * time.Microsecond
	// eosAbortEvery: every 5th transaction is aborted on purpose.
	eosAbortEvery = 5
)

// eosMember is one member of the pipeline: a consumer of the group and
// its own transactional producer. Only the member's goroutine uses it
// (the rebalance listener runs inside its Poll calls).
type eosMember struct {
	name      string
	c         *Consumer
	p         *Producer
	out       string
	committed *atomic.Int64 // records of committed transactions, all members

	inTxn   bool
	begun   time.Time
	open    int                      // records in the open transaction
	offsets map[TopicPartition]int64 // next input offset per partition, in the open transaction
	lErr    error                    // the listener's error, returned by run

	commits, aborts, rebalances int
}

// run processes input until every member together committed total records
// or ctx ends (an error: the pipeline is stuck).
func (m *eosMember) run(ctx context.Context, total int64) error {
	m.c.SetRebalanceListener(func(ev RebalanceEvent) {
		if ev.Kind == PartitionsAssigned || m.lErr != nil {
			return // the engine looks up the committed offsets (require_stable)
		}
		m.rebalances++
		// Revoked: the partitions are still ours until the listener
		// returns, so the open transaction may still commit. Lost: its
		// offsets would be refused, abort it.
		m.lErr = m.finish(ctx, ev.Kind == PartitionsRevoked)
	})
	for m.committed.Load() < total {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: stuck: %d of %d records committed", m.name, m.committed.Load(), total)
		}
		pctx, cancel := context.WithTimeout(ctx, eosCommitPeriod)
		recs, err := m.c.Poll(pctx, eosCommitEvery)
		cancel()
		if m.lErr != nil {
			return m.lErr
		}
		if err != nil {
			return fmt.Errorf("%s: poll: %w", m.name, err)
		}
		if len(recs) > 0 && !m.inTxn {
			if err := m.p.BeginTransaction(); err != nil {
				return fmt.Errorf("%s: begin: %w", m.name, err)
			}
			m.inTxn, m.begun, m.open, m.offsets = true, time.Now(), 0, map[TopicPartition]int64{}
		}
		for _, r := range recs {
			// The "transform" keeps the value, the input's number.
			m.p.Produce(ctx, &Record{Topic: m.out, Key: r.Key, Value: r.Value}, nil)
			m.offsets[TopicPartition{r.Topic, r.Partition}] = r.Offset + 1
			m.open++
		}
		time.Sleep(time.Duration(len(recs)) * eosWork)
		if m.inTxn && (m.open >= eosCommitEvery || time.Since(m.begun) >= eosCommitPeriod) {
			// Every eosAbortEvery-th transaction fails on purpose (as a
			// failed transform would): aborted, its input is done again.
			if err := m.finish(ctx, (m.commits+m.aborts+1)%eosAbortEvery != 0); err != nil {
				return err
			}
		}
	}
	// An open transaction now holds records committed by someone else:
	// commit it the normal way, so that a duplicate would show in the
	// output (the group coordinator should refuse its offsets).
	return m.finish(ctx, true)
}

// finish ends the open transaction: commits it with its offsets (commit
// true), or aborts it, also when the commit fails with an abortable
// error (e.g. ILLEGAL_GENERATION: the partitions moved). After an abort
// the consumer goes back to the group's committed offsets.
func (m *eosMember) finish(ctx context.Context, commit bool) error {
	if !m.inTxn {
		return nil
	}
	m.inTxn = false
	if commit {
		err := m.p.SendOffsetsToTransaction(ctx, m.offsets, m.c.GroupMetadata())
		if err == nil {
			err = m.p.CommitTransaction(ctx)
		}
		if err == nil {
			m.commits++
			m.committed.Add(int64(m.open))
			return nil
		}
		if !IsTxnAbortable(err) {
			return fmt.Errorf("%s: commit: %w", m.name, err)
		}
	}
	if err := m.p.AbortTransaction(ctx); err != nil {
		return fmt.Errorf("%s: abort: %w", m.name, err)
	}
	m.aborts++
	return m.rewind(ctx)
}

// rewind seeks each assigned partition back to the group's committed
// offset (its log start when none), where the aborted transaction began.
func (m *eosMember) rewind(ctx context.Context) error {
	tps := m.c.Assignment()
	if len(tps) == 0 {
		return nil
	}
	got, err := m.c.Committed(ctx, tps)
	if err != nil {
		return fmt.Errorf("%s: committed offsets: %w", m.name, err)
	}
	for _, tp := range tps {
		off := got[tp]
		if off < 0 {
			off = OffsetBeginning
		}
		// A partition being revoked cannot be sought: its new owner
		// starts from the committed offset anyway.
		if err := m.c.Seek(tp, off); err != nil && wire.CodeOf(err) != wire.ErrNotAssigned {
			return fmt.Errorf("%s: seek %s: %w", m.name, tp, err)
		}
	}
	return nil
}

// TestTxnExactlyOncePipeline: 3 members, 6 input partitions, 100,000
// numbered records; members 2 and 3 join while member 1 is transforming,
// so partitions move between members with transactions open, and every
// 5th transaction is aborted. The read_committed output holds each input
// exactly once and the group's committed offsets are the input's end.
func TestTxnExactlyOncePipeline(t *testing.T) {
	brokers := testBrokers(t)
	in := consumerTestTopic(t, brokers, eosPartitions)
	out := consumerTestTopic(t, brokers, eosPartitions)
	group := "g-" + in
	ctx := testCtx(t, 150*time.Second)

	// The numbered input, spread over the partitions.
	start := time.Now()
	prod := newTestProducer(t, brokers)
	const chunk = 10_000
	for base := 0; base < eosInputs; base += chunk {
		var recs []*Record
		for i := base; i < base+chunk && i < eosInputs; i++ {
			recs = append(recs, &Record{Topic: in, Partition: int32(i % eosPartitions), ManualPartition: true, Value: []byte(fmt.Sprintf("%06d", i))})
		}
		require.NoError(t, prod.ProduceSync(ctx, recs...))
	}
	t.Logf("input written in %v", time.Since(start))

	// The members; the pipeline as a whole is bounded by runCtx.
	runCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var committed atomic.Int64
	members := make([]*eosMember, eosMembers)
	for i := range members {
		name := fmt.Sprintf("member-%d", i+1)
		m := &eosMember{name: name, out: out, committed: &committed,
			c: newTestConsumer(t, brokers, WithGroupID(group), WithAutoCommit(false), WithIsolationLevel(ReadCommitted), WithClientID(name)),
			p: newTxnProducer(t, brokers, "txn-"+in+"-"+name, WithClientID(name))}
		require.NoError(t, m.p.InitTransactions(ctx))
		members[i] = m
	}
	start = time.Now()
	errs := make([]error, eosMembers)
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Member i joins once a share of the input was committed
			// (or at once if the pipeline is stuck: run then says so).
			for int(committed.Load()) < i*eosInputs/(2*eosMembers) && runCtx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
			}
			if err := m.c.Subscribe(runCtx, in); err != nil {
				errs[i] = fmt.Errorf("%s: subscribe: %w", m.name, err)
				cancel() // the others would wait for this one forever
				return
			}
			errs[i] = m.run(runCtx, eosInputs)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		require.NoError(t, err)
	}
	for _, m := range members {
		t.Logf("%s: %d transactions committed, %d aborted, %d revocations", m.name, m.commits, m.aborts, m.rebalances)
	}
	t.Logf("%d records transformed in %v (%.0f records/s)", eosInputs, elapsed, eosInputs/elapsed.Seconds())

	// Every input exactly once in the committed output.
	ends := newTxnProducer(t, brokers, "txn-"+out+"-ends")
	require.NoError(t, ends.InitTransactions(ctx))
	writeEnds(t, ctx, ends, out, eosPartitions)
	seen := make([]int, eosInputs)
	var bad []string
	for _, v := range readUntilEnd(t, brokers, out, eosPartitions, ReadCommitted) {
		var n int
		if _, err := fmt.Sscanf(v, "%06d", &n); err != nil || n < 0 || n >= eosInputs {
			bad = append(bad, v)
			continue
		}
		seen[n]++
	}
	var lost, dup []int
	for n, k := range seen {
		if k == 0 {
			lost = append(lost, n)
		} else if k > 1 {
			dup = append(dup, n)
		}
	}
	first := func(s []int) []int { return s[:min(len(s), 20)] }
	require.Empty(t, bad, "records that are no input")
	require.Zero(t, len(lost), "inputs missing from the committed output, the first: %v", first(lost))
	require.Zero(t, len(dup), "inputs duplicated in the committed output, the first: %v", first(dup))

	var tps []TopicPartition
	for i := 0; i < eosPartitions; i++ {
		tps = append(tps, TopicPartition{in, int32(i)})
	}
	got, err := members[0].c.Committed(ctx, tps)
	require.NoError(t, err)
	require.Equal(t, endOffsets(t, brokers, in, eosPartitions), got, "the group's committed offsets")
}

// TestTxnSendOffsetsFencedMember: KIP-447 zombie fencing by the group
// coordinator. Offsets sent with a membership the group no longer has (an
// older generation, or a member id it does not know: a member that lost
// its partitions in a rebalance) make the transaction abortable; after the
// abort the group's committed offsets are unchanged, and the current
// membership commits.
func TestTxnSendOffsetsFencedMember(t *testing.T) {
	brokers := testBrokers(t)
	in := consumerTestTopic(t, brokers, 1)
	group := "g-" + in
	ctx := testCtx(t, 60*time.Second)
	produceTo(t, brokers, in, 1, 3, "in")
	c := newTestConsumer(t, brokers, WithGroupID(group), WithAutoCommit(false))
	require.NoError(t, c.Subscribe(ctx, in))
	md := c.GroupMetadata()
	require.GreaterOrEqual(t, md.GenerationID, int32(1), "%+v", md)
	require.NotEmpty(t, md.MemberID)
	p := newTxnProducer(t, brokers, "txn-"+in)
	require.NoError(t, p.InitTransactions(ctx))
	tp := TopicPartition{in, 0}

	stale := md
	stale.GenerationID--
	unknown := md
	unknown.MemberID = "zombie-" + md.MemberID
	for _, tc := range []struct {
		name  string
		md    GroupMetadata
		codes []wire.ErrorCode
	}{
		{"older generation", stale, []wire.ErrorCode{wire.ErrIllegalGeneration, wire.ErrFencedMemberEpoch}},
		{"unknown member", unknown, []wire.ErrorCode{wire.ErrUnknownMemberID}},
	} {
		require.NoError(t, p.BeginTransaction(), tc.name)
		require.NoError(t, p.ProduceSync(ctx, &Record{Topic: in, Partition: 0, ManualPartition: true, Value: []byte("x")}), tc.name)
		err := p.SendOffsetsToTransaction(ctx, map[TopicPartition]int64{tp: 2}, tc.md)
		if err == nil { // a coordinator may check the membership at commit time only
			err = p.CommitTransaction(ctx)
		}
		require.Error(t, err, tc.name)
		t.Logf("%s: %v", tc.name, err)
		require.True(t, IsTxnAbortable(err), "%s: %v", tc.name, err)
		require.Contains(t, tc.codes, wire.CodeOf(err), "%s: %v", tc.name, err)
		require.NoError(t, p.AbortTransaction(ctx), tc.name)
		got, err := c.Committed(ctx, []TopicPartition{tp})
		require.NoError(t, err)
		require.Equal(t, int64(-1), got[tp], "%s: fenced offsets were committed", tc.name)
	}

	require.NoError(t, p.BeginTransaction())
	require.NoError(t, p.SendOffsetsToTransaction(ctx, map[TopicPartition]int64{tp: 2}, c.GroupMetadata()))
	require.NoError(t, p.CommitTransaction(ctx))
	got, err := c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	require.Equal(t, int64(2), got[tp])
}
