package core

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fkerr "github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// Tests of how a transaction starts right after the previous one ended
// (txnManager.settle): the coordinator completes a transaction after
// answering its EndTxn, and adding a partition to the next one before
// that costs a CONCURRENT_TRANSACTIONS retry backoff (the broker's 20 ms
// for a Produce v12, ours for AddPartitionsToTxn). That backoff made Go
// transactions of 1,000 records 0.65x confluent-kafka (issue 22).

// txnSettleCluster is a one-broker fake cluster on transaction protocol v2
// or, with v2 false, v1 (EndTxn capped at v4).
func txnSettleCluster(t *testing.T, v2 bool) *kfake.Cluster {
	opts := []kfake.Opt{kfake.SeedTopics(4, "settle")}
	if !v2 {
		v := kversion.Stable()
		v.SetMaxKeyVersion(26, 4) // EndTxn
		opts = append(opts, kfake.MaxVersions(v))
	}
	return fakeCluster(t, 1, opts...)
}

// TestTxnNextWaitsForPreviousComplete: after a commit, the first addition
// of the next transaction's partitions (its first Produce on protocol v2,
// its AddPartitionsToTxn on v1) waits until DescribeTransactions reports
// the previous transaction complete. The fake coordinator answers
// PrepareCommit to the first two DescribeTransactions after each EndTxn:
// nothing of the next transaction may be added before the third answer.
// Before the fix the addition went out right after EndTxn, no
// DescribeTransactions at all.
func TestTxnNextWaitsForPreviousComplete(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprint("v2-", v2), func(t *testing.T) { testTxnNextWaitsForPreviousComplete(t, v2) })
	}
}

func testTxnNextWaitsForPreviousComplete(t *testing.T, v2 bool) {
	c := txnSettleCluster(t, v2)
	id := fmt.Sprint("settle-", v2)
	const preparing = 2 // PrepareCommit answers after each EndTxn
	addKey := kmsg.AddPartitionsToTxn
	if v2 {
		addKey = kmsg.Produce
	}
	var mu sync.Mutex
	var events []string // "end", "prepare", "describe" (real answer), "add"
	left := 0
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		switch kmsg.Key(req.Key()) {
		case kmsg.EndTxn:
			events = append(events, "end")
			left = preparing
		case kmsg.DescribeTransactions:
			if left == 0 {
				events = append(events, "describe")
				return nil, nil, false
			}
			left--
			events = append(events, "prepare")
			resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
			st := kmsg.NewDescribeTransactionsResponseTransactionState()
			st.TransactionalID, st.State = id, "PrepareCommit"
			resp.TransactionStates = append(resp.TransactionStates, st)
			return resp, nil, true
		case addKey:
			events = append(events, "add")
		}
		return nil, nil, false
	})
	ctx := testCtx(t, 60*time.Second)
	p := newTxnProducer(t, c.ListenAddrs(), id)
	require.NoError(t, p.InitTransactions(ctx))
	require.Equal(t, v2, p.txn.v2.Load())
	const txns = 3
	for i := range txns {
		require.NoError(t, p.BeginTransaction())
		var recs []*Record
		for part := range int32(4) {
			recs = append(recs, &Record{Topic: "settle", Partition: part, ManualPartition: true, Value: fmt.Appendf(nil, "%d-%d", i, part)})
		}
		require.NoError(t, p.ProduceSync(ctx, recs...))
		require.NoError(t, p.CommitTransaction(ctx))
	}
	mu.Lock()
	got := append([]string(nil), events...)
	mu.Unlock()
	// After each EndTxn but the last: the PrepareCommit answers, the
	// answer that says complete, and only then the next additions.
	ends := 0
	for i, e := range got {
		if e != "end" {
			continue
		}
		ends++
		if ends == txns {
			break
		}
		rest := got[i+1:]
		firstAdd := -1
		for j, x := range rest {
			if x == "add" {
				firstAdd = j
				break
			}
		}
		require.GreaterOrEqual(t, firstAdd, 0, "transaction %d added nothing: %v", ends+1, got)
		assert.Equal(t, []string{"prepare", "prepare", "describe"}, rest[:firstAdd],
			"between EndTxn %d and the next transaction's first %s: %v", ends, kmsg.NameForKey(int16(addKey)), got)
	}
	require.Equal(t, txns, ends, "%v", got)
}

// TestTxnConcurrentTransactionsBackoff: on protocol v1, when the
// coordinator cannot describe the transaction (DESCRIBE refused) the first
// AddPartitionsToTxn of a transaction may meet the previous one still
// completing (CONCURRENT_TRANSACTIONS); that retry waits 20 ms at most, as
// in the Java client and librdkafka, not retry.backoff.ms (set to 10 s
// here: before the fix the commit below waited it out and its 5 s context
// ended first). A refused DescribeTransactions is not asked again.
func TestTxnConcurrentTransactionsBackoff(t *testing.T) {
	c := txnSettleCluster(t, false)
	id := "settle-concurrent"
	refused := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.DescribeTransactions}, TxnID: id,
		Err: fkerr.TransactionalIDAuthorizationFailed, Count: -1})
	ctx := testCtx(t, 60*time.Second)
	var mu sync.Mutex
	var waits []time.Duration
	retry := DefaultRetryPolicy()
	retry.InitialBackoff, retry.MaxBackoff = 10*time.Second, 10*time.Second
	sleep := retry
	retry.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return sleep.sleep(ctx, d)
	}
	p := newTxnProducer(t, c.ListenAddrs(), id, WithRetry(retry))
	require.NoError(t, p.InitTransactions(ctx))
	require.False(t, p.txn.v2.Load())
	for i := range 3 {
		require.NoError(t, p.BeginTransaction())
		if i > 0 {
			c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.AddPartitionsToTxn}, Err: fkerr.ConcurrentTransactions})
		}
		p.Produce(ctx, &Record{Topic: "settle", Partition: 1, ManualPartition: true, Value: []byte("x")}, nil)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := p.CommitTransaction(cctx)
		cancel()
		require.NoError(t, err, "transaction %d", i)
	}
	assert.Equal(t, 1, refused.Hits(), "DescribeTransactions asked again after DESCRIBE was refused")
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, waits, "no retry happened: the fault did not apply")
	for _, d := range waits {
		assert.LessOrEqual(t, d, concurrentTxnBackoff, "retry waits %v", waits)
	}
}

// TestTxnSettleBounded: a coordinator that keeps answering PrepareCommit
// delays the next transaction's first partition by request.timeout.ms at
// most (500 ms here); then the partition is added and the transaction
// commits, well within its 10 s context.
func TestTxnSettleBounded(t *testing.T) {
	c := txnSettleCluster(t, true)
	id := "settle-bounded"
	var mu sync.Mutex
	describes := 0
	c.ControlKey(int16(kmsg.DescribeTransactions), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		mu.Lock()
		describes++
		mu.Unlock()
		resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.State = id, "PrepareCommit"
		resp.TransactionStates = append(resp.TransactionStates, st)
		return resp, nil, true
	})
	ctx := testCtx(t, 60*time.Second)
	p := newTxnProducer(t, c.ListenAddrs(), id, WithRequestTimeout(500*time.Millisecond))
	require.NoError(t, p.InitTransactions(ctx))
	for i := range 2 {
		require.NoError(t, p.BeginTransaction())
		p.Produce(ctx, &Record{Topic: "settle", Partition: 0, ManualPartition: true, Value: []byte("x")}, nil)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := p.CommitTransaction(cctx)
		cancel()
		require.NoError(t, err, "transaction %d", i)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Greater(t, describes, 1, "the PrepareCommit answers were not polled")
}
