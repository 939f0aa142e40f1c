package core

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fkerr "github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/gofka/gofka/wire"
)

// Tests of the transactional producer (core/txn.go). Those on
// testBrokers run on the dev cluster, or on a real Kafka with
// GOFKA_BROKERS; those with faults on a kfake cluster of their own.

// txnProtocols runs fn on the test cluster (dev cluster or
// GOFKA_BROKERS), whose transaction protocol is v2 when it offers it
// (the dev cluster does), and on a fake cluster offering only transaction
// protocol v1 (EndTxn capped at v4).
func txnProtocols(t *testing.T, fn func(t *testing.T, brokers []string, wantV2 func(*Producer))) {
	t.Run("default", func(t *testing.T) {
		fake := os.Getenv("GOFKA_BROKERS") == ""
		fn(t, testBrokers(t), func(p *Producer) {
			if fake {
				require.True(t, p.txn.v2.Load(), "the dev cluster offers transaction protocol v2")
			} else {
				t.Logf("transaction protocol v2: %v", p.txn.v2.Load())
			}
		})
	})
	t.Run("v1", func(t *testing.T) {
		fn(t, txnV1Cluster(t), func(p *Producer) { require.False(t, p.txn.v2.Load(), "transaction protocol v1 expected") })
	})
}

// txnV1Cluster is a fake cluster whose brokers offer EndTxn v4 at most,
// so the producer uses transaction protocol v1.
func txnV1Cluster(t *testing.T, opts ...kfake.Opt) []string {
	v := kversion.Stable()
	v.SetMaxKeyVersion(26, 4) // EndTxn
	return fakeCluster(t, 3, append([]kfake.Opt{kfake.MaxVersions(v)}, opts...)...).ListenAddrs()
}

func newTxnProducer(t *testing.T, brokers []string, id string, opts ...ProducerOption) *Producer {
	t.Helper()
	return newTestProducer(t, brokers, append([]ProducerOption{WithTransactionalID(id)}, opts...)...)
}

// readUntilEnd reads every partition of topic from the start with the
// given isolation level (and options) until each partition's record "end" and returns
// the values before it, in partition order (records of one partition in
// offset order).
func readUntilEnd(t *testing.T, brokers []string, topic string, partitions int, isolation IsolationLevel, opts ...ConsumerOption) []string {
	t.Helper()
	c := newTestConsumer(t, brokers, append([]ConsumerOption{WithIsolationLevel(isolation)}, opts...)...)
	var tps []TopicPartition
	for i := 0; i < partitions; i++ {
		tps = append(tps, TopicPartition{topic, int32(i)})
	}
	require.NoError(t, c.Assign(tps))
	got := map[int32][]string{}
	ended := map[int32]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(ended) < partitions {
		require.True(t, time.Now().Before(deadline), "partitions ended: %v, got %v", ended, got)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := c.Poll(ctx, 1000)
		cancel()
		require.NoError(t, err)
		for _, r := range recs {
			require.False(t, ended[r.Partition], "record %q after the end of partition %d", r.Value, r.Partition)
			if string(r.Value) == "end" {
				ended[r.Partition] = true
				continue
			}
			got[r.Partition] = append(got[r.Partition], string(r.Value))
		}
	}
	var out []string
	for i := 0; i < partitions; i++ {
		out = append(out, got[int32(i)]...)
	}
	return out
}

// TestReadCommittedSmallFetches: a read_committed consumer whose fetches
// fill up in the middle of a partition's transactions skips every aborted
// record, whatever the fetch sizes, with several producers' transactions
// interleaved in each partition. The dev cluster (kfake) left out a
// partition's aborted transactions when the request's fetch.max.bytes,
// not the partition's, cut its data short; a consumer then read aborted
// records as committed.
func TestReadCommittedSmallFetches(t *testing.T) {
	brokers := testBrokers(t)
	const parts, producers = 3, 3
	topic := consumerTestTopic(t, brokers, parts)
	ctx := testCtx(t, 60*time.Second)
	ps := make([]*Producer, producers)
	for i := range ps {
		ps[i] = newTxnProducer(t, brokers, fmt.Sprintf("txn-%s-%d", topic, i))
		require.NoError(t, ps[i].InitTransactions(ctx))
	}
	var want []string
	for k := 0; k < 6; k++ {
		// Every producer's transaction open at once, so that their
		// batches interleave in each partition; one of them aborts.
		batches := make([][]*Record, producers)
		for i, p := range ps {
			require.NoError(t, p.BeginTransaction())
			for part := 0; part < parts; part++ {
				for n := 0; n < 10; n++ {
					batches[i] = append(batches[i], &Record{Topic: topic, Partition: int32(part), ManualPartition: true,
						Value: []byte(fmt.Sprintf("%d-%02d-%d-%02d", i, k, part, n))})
				}
				require.NoError(t, p.ProduceBatch(ctx, batches[i][len(batches[i])-10:], nil))
			}
		}
		for i, p := range ps {
			if (i+k)%producers == 1 {
				require.NoError(t, p.AbortTransaction(ctx))
				continue
			}
			require.NoError(t, p.CommitTransaction(ctx))
			for _, r := range batches[i] {
				want = append(want, string(r.Value))
			}
		}
	}
	writeEnds(t, ctx, ps[0], topic, parts)
	sort.Strings(want)
	for _, maxBytes := range []int32{1024, 2500, 8192} {
		got := readUntilEnd(t, brokers, topic, parts, ReadCommitted, WithFetchBytes(1, maxBytes, maxBytes))
		sort.Strings(got)
		require.Equal(t, want, got, "fetch.max.bytes %d: the committed records, each once, and no aborted one", maxBytes)
	}
}

// writeEnds commits an "end" record to each partition (the commit
// flushes them, whatever linger.ms says).
func writeEnds(t *testing.T, ctx context.Context, p *Producer, topic string, partitions int) {
	t.Helper()
	require.NoError(t, p.BeginTransaction())
	var recs []*Record
	for i := 0; i < partitions; i++ {
		recs = append(recs, &Record{Topic: topic, Partition: int32(i), ManualPartition: true, Value: []byte("end")})
	}
	require.NoError(t, p.ProduceBatch(ctx, recs, nil))
	require.NoError(t, p.CommitTransaction(ctx))
}

func TestTxnConfig(t *testing.T) {
	b := WithBrokers("127.0.0.1:1")
	for _, c := range []struct {
		name string
		opts []ProducerOption
		want string
	}{
		{"acks=1", []ProducerOption{WithAcks(1)}, "acks=all"},
		{"acks=0", []ProducerOption{WithAcks(0)}, "acks=all"},
		{"idempotence off", []ProducerOption{WithIdempotence(false)}, "enable.idempotence=true"},
		{"zero timeout", []ProducerOption{WithTransactionTimeout(0)}, "transaction.timeout.ms"},
		{"huge timeout", []ProducerOption{WithTransactionTimeout(1 << 31 * time.Millisecond)}, "transaction.timeout.ms"},
		{"max.in.flight 6", []ProducerOption{WithMaxInFlight(6)}, "at most 5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewProducer(append([]ProducerOption{b, WithTransactionalID("x")}, c.opts...)...)
			require.Error(t, err)
			assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// The properties, as the C ABI and Python set them.
	cfg, err := configFromProperties(map[string]string{"bootstrap.servers": "127.0.0.1:1", "transactional.id": "tx-1", "transaction.timeout.ms": "1500"})
	require.NoError(t, err)
	assert.Equal(t, "tx-1", cfg.TransactionalID)
	assert.Equal(t, 1500*time.Millisecond, cfg.TransactionTimeout)
	assert.Equal(t, DefaultTransactionTimeout, defaultConfig().TransactionTimeout)
	for _, bad := range []string{"0", "-1", "2147483648", "1.5", "x"} {
		_, err = configFromProperties(map[string]string{"transaction.timeout.ms": bad})
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), bad)
	}
	_, err = configFromProperties(map[string]string{"transactional.id": "x", "acks": "1"})
	require.NoError(t, err) // checked together at producer creation
	cfg.Acks = 1
	_, err = producerFromConfig(cfg)
	require.ErrorContains(t, err, "acks=all")

	// Calls in the wrong state, all local.
	p, err := NewProducer(b, WithTransactionalID("x"))
	require.NoError(t, err)
	defer p.Close(context.Background())
	ctx := testCtx(t, 5*time.Second)
	require.Equal(t, wire.ErrInvalidTxnState, wire.CodeOf(p.BeginTransaction()))
	require.Equal(t, wire.ErrInvalidTxnState, wire.CodeOf(p.TryProduce(ctx, &Record{Topic: "t"}, nil)))
	require.Equal(t, wire.ErrInvalidTxnState, wire.CodeOf(p.ProduceBatch(ctx, []*Record{{Topic: "t"}}, nil)))
	require.Equal(t, wire.ErrInvalidTxnState, wire.CodeOf(p.CommitTransaction(ctx)))
	require.Equal(t, wire.ErrInvalidTxnState, wire.CodeOf(p.AbortTransaction(ctx)))
	require.Equal(t, wire.ErrInvalidTxnState, wire.CodeOf(p.SendOffsetsToTransaction(ctx, map[TopicPartition]int64{{"t", 0}: 1}, GroupMetadata{GroupID: "g"})))
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(p.SendOffsetsToTransaction(ctx, nil, GroupMetadata{})))

	// A producer without transactional.id has no transactions.
	plain, err := NewProducer(b)
	require.NoError(t, err)
	defer plain.Close(context.Background())
	for _, err := range []error{plain.InitTransactions(ctx), plain.BeginTransaction(), plain.CommitTransaction(ctx), plain.AbortTransaction(ctx)} {
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
	}
}

// TestTxnCommitAndAbort: committed transactions are visible to
// read_committed readers, aborted ones only to read_uncommitted readers;
// every produce path works inside a transaction; an abort fails the
// records it did not send.
func TestTxnCommitAndAbort(t *testing.T) {
	txnProtocols(t, func(t *testing.T, brokers []string, wantV2 func(*Producer)) {
		const parts = 3
		topic := consumerTestTopic(t, brokers, parts)
		ctx := testCtx(t, 60*time.Second)
		p := newTxnProducer(t, brokers, "txn-"+topic)
		require.NoError(t, p.InitTransactions(ctx))
		wantV2(p)
		rec := func(part int, v string) *Record {
			return &Record{Topic: topic, Partition: int32(part), ManualPartition: true, Value: []byte(v)}
		}

		// Committed: Produce, TryProduce, ProduceBatch and ProduceSync.
		require.NoError(t, p.BeginTransaction())
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		promise := func(_ *Record, err error) {
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			wg.Done()
		}
		wg.Add(4)
		p.Produce(ctx, rec(0, "c-produce"), promise)
		require.NoError(t, p.TryProduce(ctx, rec(1, "c-try"), promise))
		require.NoError(t, p.ProduceBatch(ctx, []*Record{rec(2, "c-batch-0"), rec(2, "c-batch-1")}, promise))
		require.NoError(t, p.ProduceSync(ctx, rec(0, "c-sync")))
		require.NoError(t, p.CommitTransaction(ctx))
		wg.Wait() // the commit flushed: every promise ran
		require.Empty(t, errs)

		// Aborted after being sent.
		require.NoError(t, p.BeginTransaction())
		require.NoError(t, p.ProduceSync(ctx, rec(0, "a-0"), rec(1, "a-1"), rec(2, "a-2")))
		require.NoError(t, p.AbortTransaction(ctx))

		// A second committed transaction after the abort.
		require.NoError(t, p.BeginTransaction())
		require.NoError(t, p.ProduceSync(ctx, rec(1, "c2-1")))
		require.NoError(t, p.CommitTransaction(ctx))
		writeEnds(t, ctx, p, topic, parts)

		assert.Equal(t, []string{"c-produce", "c-sync", "c-try", "c2-1", "c-batch-0", "c-batch-1"},
			readUntilEnd(t, brokers, topic, parts, ReadCommitted))
		assert.Equal(t, []string{"c-produce", "c-sync", "a-0", "c-try", "a-1", "c2-1", "c-batch-0", "c-batch-1", "a-2"},
			readUntilEnd(t, brokers, topic, parts, ReadUncommitted))
	})
}

// TestTxnAbortDropsUnsent: records still buffered (linger) when the
// transaction is aborted fail with OPERATION_NOT_ATTEMPTED and are never
// written; the producer goes on with the next transaction.
func TestTxnAbortDropsUnsent(t *testing.T) {
	txnProtocols(t, func(t *testing.T, brokers []string, wantV2 func(*Producer)) {
		topic := consumerTestTopic(t, brokers, 1)
		ctx := testCtx(t, 60*time.Second)
		p := newTxnProducer(t, brokers, "txn-"+topic, WithLinger(time.Hour))
		require.NoError(t, p.InitTransactions(ctx))
		wantV2(p)
		require.NoError(t, p.BeginTransaction())
		results := make(chan error, 3)
		for i := 0; i < 3; i++ {
			p.Produce(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprint("dropped-", i))},
				func(_ *Record, err error) { results <- err })
		}
		require.NoError(t, p.AbortTransaction(ctx))
		for i := 0; i < 3; i++ {
			err := <-results
			require.Error(t, err)
			assert.Equal(t, wire.ErrOperationNotAttempted, wire.CodeOf(err))
		}
		assert.Zero(t, p.BufferedRecords())
		// Linger is skipped by the commit's flush.
		require.NoError(t, p.BeginTransaction())
		require.NoError(t, p.ProduceBatch(ctx, []*Record{{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("kept")}}, nil))
		require.NoError(t, p.CommitTransaction(ctx))
		writeEnds(t, ctx, p, topic, 1)
		assert.Equal(t, []string{"kept"}, readUntilEnd(t, brokers, topic, 1, ReadUncommitted))
	})
}

// TestTxnFencing: a second producer with the same transactional.id fences
// the first: the first's open transaction is aborted and it cannot commit.
// Committing at once is fatal; producing first fails the record (the
// broker's answer to a produce of a fenced transaction may be abortable,
// e.g. INVALID_TXN_STATE), and then the abort is fatal. After a fatal error
// every call but Close fails with it.
func TestTxnFencing(t *testing.T) {
	txnProtocols(t, func(t *testing.T, brokers []string, wantV2 func(*Producer)) {
		for _, produceFirst := range []bool{false, true} {
			t.Run(fmt.Sprint("produceFirst-", produceFirst), func(t *testing.T) {
				topic := consumerTestTopic(t, brokers, 1)
				ctx := testCtx(t, 60*time.Second)
				id := "txn-" + topic
				rec := func(v string) *Record {
					return &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(v)}
				}
				p1 := newTxnProducer(t, brokers, id)
				require.NoError(t, p1.InitTransactions(ctx))
				wantV2(p1)
				require.NoError(t, p1.BeginTransaction())
				require.NoError(t, p1.ProduceSync(ctx, rec("zombie-0")))

				p2 := newTxnProducer(t, brokers, id)
				require.NoError(t, p2.InitTransactions(ctx))

				var err error
				if produceFirst {
					require.Error(t, p1.ProduceSync(ctx, rec("zombie-1")))
					err = p1.CommitTransaction(ctx)
					require.Error(t, err)
					if !IsTxnFatal(err) {
						require.True(t, IsTxnAbortable(err), "%v", err)
						err = p1.AbortTransaction(ctx)
					}
				} else {
					err = p1.CommitTransaction(ctx)
				}
				require.True(t, IsTxnFatal(err), "after fencing: %v", err)
				code := wire.CodeOf(err)
				// INVALID_TXN_STATE: a transaction protocol v2 coordinator
				// may take the fenced producer's EndTxn for a retry of the
				// abort that fenced it (the dev cluster does).
				assert.True(t, code == wire.ErrProducerFenced || code == wire.ErrInvalidProducerEpoch || code == wire.ErrInvalidTxnState, "code %v", code)
				// Nothing more but Close.
				for _, err := range []error{p1.BeginTransaction(), p1.AbortTransaction(ctx), p1.CommitTransaction(ctx),
					p1.TryProduce(ctx, rec("zombie-2"), nil), p1.InitTransactions(ctx)} {
					require.True(t, IsTxnFatal(err), "%v", err)
				}
				require.NoError(t, p1.Close(ctx))

				require.NoError(t, p2.BeginTransaction())
				require.NoError(t, p2.ProduceSync(ctx, rec("live")))
				require.NoError(t, p2.CommitTransaction(ctx))
				writeEnds(t, ctx, p2, topic, 1)
				assert.Equal(t, []string{"live"}, readUntilEnd(t, brokers, topic, 1, ReadCommitted))
			})
		}
	})
}

// TestTxnSendOffsets: offsets sent to a transaction become the group's
// committed offsets when it commits, and not when it aborts.
func TestTxnSendOffsets(t *testing.T) {
	txnProtocols(t, func(t *testing.T, brokers []string, wantV2 func(*Producer)) {
		topic := consumerTestTopic(t, brokers, 2)
		out := consumerTestTopic(t, brokers, 1)
		group := "g-" + topic
		ctx := testCtx(t, 60*time.Second)
		p := newTxnProducer(t, brokers, "txn-"+topic)
		require.NoError(t, p.InitTransactions(ctx))
		wantV2(p)
		c := newTestConsumer(t, brokers, WithGroupID(group), WithAutoCommit(false))
		md := c.GroupMetadata()
		require.Equal(t, GroupMetadata{GroupID: group, GenerationID: -1}, md)
		tps := []TopicPartition{{topic, 0}, {topic, 1}}

		require.NoError(t, p.BeginTransaction())
		require.NoError(t, p.ProduceSync(ctx, &Record{Topic: out, Value: []byte("x")}))
		require.NoError(t, p.SendOffsetsToTransaction(ctx, map[TopicPartition]int64{tps[0]: 5, tps[1]: 6}, md))
		require.NoError(t, p.AbortTransaction(ctx))
		got, err := c.Committed(ctx, tps)
		require.NoError(t, err)
		assert.Equal(t, map[TopicPartition]int64{tps[0]: -1, tps[1]: -1}, got, "aborted offsets must not be committed")

		// Offsets alone make a transaction, too.
		require.NoError(t, p.BeginTransaction())
		require.NoError(t, p.SendOffsetsToTransaction(ctx, map[TopicPartition]int64{tps[0]: 7}, md))
		require.NoError(t, p.SendOffsetsToTransaction(ctx, map[TopicPartition]int64{tps[1]: 8}, md))
		// Pending offsets are not visible: the dev cluster answers the last
		// committed ones, Kafka UNSTABLE_OFFSET_COMMIT (require_stable) until
		// the transaction ends.
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		got, err = c.Committed(pctx, tps)
		cancel()
		if err != nil {
			require.Equal(t, wire.ErrUnstableOffsetCommit, wire.CodeOf(err), "%v", err)
		} else {
			assert.Equal(t, map[TopicPartition]int64{tps[0]: -1, tps[1]: -1}, got, "offsets visible before the commit")
		}
		require.NoError(t, p.CommitTransaction(ctx))
		got, err = c.Committed(ctx, tps)
		require.NoError(t, err)
		assert.Equal(t, map[TopicPartition]int64{tps[0]: 7, tps[1]: 8}, got)
	})
}

// TestTxnConsumeTransformProduce: a consume-transform-produce loop with
// the input offsets in each transaction writes each input record exactly
// once, and the group's committed offsets end at the input's end.
func TestTxnConsumeTransformProduce(t *testing.T) {
	txnProtocols(t, func(t *testing.T, brokers []string, wantV2 func(*Producer)) {
		const parts, perPart = 3, 100
		in := consumerTestTopic(t, brokers, parts)
		out := consumerTestTopic(t, brokers, parts)
		produced := produceTo(t, brokers, in, parts, perPart, "in")
		group := "g-" + in
		ctx := testCtx(t, 120*time.Second)

		c := newTestConsumer(t, brokers, WithGroupID(group), WithAutoCommit(false), WithIsolationLevel(ReadCommitted))
		require.NoError(t, c.Subscribe(ctx, in))
		p := newTxnProducer(t, brokers, "txn-"+in)
		require.NoError(t, p.InitTransactions(ctx))
		wantV2(p)

		done := 0
		for done < parts*perPart {
			require.NoError(t, ctx.Err(), "transformed %d of %d", done, parts*perPart)
			pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			recs, err := c.Poll(pctx, 70)
			cancel()
			require.NoError(t, err)
			if len(recs) == 0 {
				continue
			}
			require.NoError(t, p.BeginTransaction())
			offsets := map[TopicPartition]int64{}
			for _, r := range recs {
				p.Produce(ctx, &Record{Topic: out, Partition: r.Partition, ManualPartition: true, Value: append([]byte("out:"), r.Value...)}, nil)
				offsets[TopicPartition{r.Topic, r.Partition}] = r.Offset + 1
			}
			require.NoError(t, p.SendOffsetsToTransaction(ctx, offsets, c.GroupMetadata()))
			require.NoError(t, p.CommitTransaction(ctx))
			done += len(recs)
		}
		md := c.GroupMetadata()
		assert.GreaterOrEqual(t, md.GenerationID, int32(1))
		assert.NotEmpty(t, md.MemberID)
		writeEnds(t, ctx, p, out, parts)

		var want []string
		for i := 0; i < parts; i++ {
			for _, v := range produced[int32(i)] {
				want = append(want, "out:"+v)
			}
		}
		got := readUntilEnd(t, brokers, out, parts, ReadCommitted)
		assert.Equal(t, want, got)

		var tps []TopicPartition
		for i := 0; i < parts; i++ {
			tps = append(tps, TopicPartition{in, int32(i)})
		}
		committed, err := c.Committed(ctx, tps)
		require.NoError(t, err)
		assert.Equal(t, endOffsets(t, brokers, in, parts), committed)
	})
}

// TestTxnAbortableError: a partition the coordinator refuses makes the
// transaction abortable: its records fail, commit and produce say so, and
// after AbortTransaction the next transaction commits.
func TestTxnAbortableError(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprint("v2-", v2), func(t *testing.T) { testTxnAbortableError(t, v2) })
	}
}

func testTxnAbortableError(t *testing.T, v2 bool) {
	opts := []kfake.Opt{kfake.SeedTopics(1, "denied", "ok")}
	key := kmsg.Produce // v2: the partition is added by the produce
	if !v2 {
		v := kversion.Stable()
		v.SetMaxKeyVersion(26, 4)
		opts = append(opts, kfake.MaxVersions(v))
		key = kmsg.AddPartitionsToTxn
	}
	c := fakeCluster(t, 1, opts...)
	brokers := c.ListenAddrs()
	ctx := testCtx(t, 60*time.Second)
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{key}, Topic: "denied", Err: fkerr.TopicAuthorizationFailed})
	p := newTxnProducer(t, brokers, "txn-abortable")
	require.NoError(t, p.InitTransactions(ctx))
	require.Equal(t, v2, p.txn.v2.Load())
	require.NoError(t, p.BeginTransaction())
	err := p.ProduceSync(ctx, &Record{Topic: "denied", Value: []byte("x")})
	require.True(t, IsTxnAbortable(err), "%v", err)
	assert.Equal(t, wire.ErrTopicAuthorizationFailed, wire.CodeOf(err))
	assert.Equal(t, 1, h.Hits())
	require.True(t, IsTxnAbortable(p.TryProduce(ctx, &Record{Topic: "ok"}, nil)))
	require.True(t, IsTxnAbortable(p.CommitTransaction(ctx)))
	require.Equal(t, wire.ErrInvalidTxnState, wire.CodeOf(p.BeginTransaction()))
	require.NoError(t, p.AbortTransaction(ctx))

	require.NoError(t, p.BeginTransaction())
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "denied", Value: []byte("y")}, &Record{Topic: "ok", Value: []byte("z")}))
	require.NoError(t, p.CommitTransaction(ctx))
	writeEnds(t, ctx, p, "denied", 1)
	assert.Equal(t, []string{"y"}, readUntilEnd(t, brokers, "denied", 1, ReadCommitted))
}

// TestTxnCoordinatorRetries: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS
// and CONCURRENT_TRANSACTIONS from the coordinator are retried in every
// transactional request.
func TestTxnCoordinatorRetries(t *testing.T) {
	for _, v2 := range []bool{true, false} {
		t.Run(fmt.Sprint("v2-", v2), func(t *testing.T) { testTxnCoordinatorRetries(t, v2) })
	}
}

func testTxnCoordinatorRetries(t *testing.T, v2 bool) {
	opts := []kfake.Opt{kfake.SeedTopics(2, "retries")}
	if !v2 {
		v := kversion.Stable()
		v.SetMaxKeyVersion(26, 4)
		opts = append(opts, kfake.MaxVersions(v))
	}
	c := fakeCluster(t, 3, opts...)
	brokers := c.ListenAddrs()
	ctx := testCtx(t, 60*time.Second)
	id := "txn-retries"
	faults := []kfake.Fault{
		{Keys: []kmsg.Key{kmsg.FindCoordinator}, TxnID: id, TopLevel: true, Err: fkerr.CoordinatorNotAvailable},
		{Keys: []kmsg.Key{kmsg.InitProducerID}, TopLevel: true, Err: fkerr.NotCoordinator},
		{Keys: []kmsg.Key{kmsg.InitProducerID}, TopLevel: true, Err: fkerr.CoordinatorLoadInProgress},
		{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: fkerr.CoordinatorLoadInProgress},
		{Keys: []kmsg.Key{kmsg.EndTxn}, TopLevel: true, Err: fkerr.ConcurrentTransactions},
		{Keys: []kmsg.Key{kmsg.EndTxn}, TopLevel: true, Err: fkerr.NotCoordinator},
	}
	if !v2 { // requests of transaction protocol v1 only
		faults = append(faults,
			kfake.Fault{Keys: []kmsg.Key{kmsg.AddPartitionsToTxn}, Err: fkerr.ConcurrentTransactions, Count: 2},
			kfake.Fault{Keys: []kmsg.Key{kmsg.AddPartitionsToTxn}, Err: fkerr.NotCoordinator},
			kfake.Fault{Keys: []kmsg.Key{kmsg.AddOffsetsToTxn}, TopLevel: true, Err: fkerr.ConcurrentTransactions})
	}
	var hs []*kfake.FaultHandle
	for _, f := range faults {
		hs = append(hs, c.Fault(f))
	}
	// Transaction protocol v2 never sends AddPartitionsToTxn nor
	// AddOffsetsToTxn.
	v1only := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.AddPartitionsToTxn, kmsg.AddOffsetsToTxn}, Observe: true, Count: -1})
	p := newTxnProducer(t, brokers, id)
	require.NoError(t, p.InitTransactions(ctx))
	require.Equal(t, v2, p.txn.v2.Load())
	require.NoError(t, p.BeginTransaction())
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "retries", Partition: 0, ManualPartition: true, Value: []byte("a")},
		&Record{Topic: "retries", Partition: 1, ManualPartition: true, Value: []byte("b")}))
	require.NoError(t, p.SendOffsetsToTransaction(ctx, map[TopicPartition]int64{{"retries", 0}: 1}, GroupMetadata{GroupID: "g-retries", GenerationID: -1}))
	require.NoError(t, p.CommitTransaction(ctx))
	for i, h := range hs {
		assert.Positive(t, h.Hits(), "fault %d never hit", i)
	}
	if v2 {
		assert.Zero(t, v1only.Hits(), "AddPartitionsToTxn/AddOffsetsToTxn sent on transaction protocol v2")
	} else {
		assert.Positive(t, v1only.Hits())
	}
	writeEnds(t, ctx, p, "retries", 2)
	got := readUntilEnd(t, brokers, "retries", 2, ReadCommitted)
	sort.Strings(got)
	assert.Equal(t, []string{"a", "b"}, got)
}

// TestTxnTimeout: a transaction left open past transaction.timeout.ms is
// aborted by the coordinator: its records are never visible to
// read_committed readers and the producer reports it (the commit fails).
func TestTxnTimeout(t *testing.T) {
	txnProtocols(t, func(t *testing.T, brokers []string, wantV2 func(*Producer)) {
		topic := consumerTestTopic(t, brokers, 1)
		ctx := testCtx(t, 90*time.Second)
		p := newTxnProducer(t, brokers, "txn-"+topic, WithTransactionTimeout(time.Second))
		require.NoError(t, p.InitTransactions(ctx))
		wantV2(p)
		require.NoError(t, p.BeginTransaction())
		require.NoError(t, p.ProduceSync(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("expired")}))
		waitTxnAborted(t, ctx, brokers, TopicPartition{topic, 0})
		err := p.CommitTransaction(ctx)
		require.Error(t, err)
		t.Logf("commit after the timeout: %v", err)
		require.True(t, IsTxnFatal(err) || IsTxnAbortable(err), "%v", err)
		if IsTxnAbortable(err) {
			require.NoError(t, p.AbortTransaction(ctx))
		}
		p2 := newTxnProducer(t, brokers, "txn2-"+topic)
		require.NoError(t, p2.InitTransactions(ctx))
		writeEnds(t, ctx, p2, topic, 1)
		assert.Empty(t, readUntilEnd(t, brokers, topic, 1, ReadCommitted))
	})
}

// TestTxnTimeoutThenProduce: a record produced in a transaction the
// coordinator already aborted for its timeout fails with an abortable
// error (INVALID_PRODUCER_EPOCH from Kafka), not a fatal one (KIP-588).
// Where the coordinator accepts the abort, the producer goes on with its
// transactional.id: the expired transaction's records stay invisible and
// the next transaction's are committed. Before, the producer was fatal on
// Kafka, and on the dev cluster (v1) the record's error was not a TxnError.
func TestTxnTimeoutThenProduce(t *testing.T) {
	txnProtocols(t, func(t *testing.T, brokers []string, wantV2 func(*Producer)) {
		topic := consumerTestTopic(t, brokers, 1)
		ctx := testCtx(t, 90*time.Second)
		p := newTxnProducer(t, brokers, "txn-"+topic, WithTransactionTimeout(time.Second))
		require.NoError(t, p.InitTransactions(ctx))
		wantV2(p)
		rec := func(v string) *Record {
			return &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(v)}
		}
		require.NoError(t, p.BeginTransaction())
		require.NoError(t, p.ProduceSync(ctx, rec("expired")))
		waitTxnAborted(t, ctx, brokers, TopicPartition{topic, 0})
		err := p.ProduceSync(ctx, rec("late"))
		require.Error(t, err)
		// Kafka answers INVALID_PRODUCER_EPOCH (the coordinator bumped the
		// epoch); the dev cluster on protocol v1 INVALID_TXN_STATE (the
		// partition left the transaction). Abortable either way.
		t.Logf("the record after the timeout: %v", err)
		require.True(t, IsTxnAbortable(err), "%v", err)
		if err := p.AbortTransaction(ctx); err != nil {
			// The abort's EndTxn carries the epoch the coordinator bumped
			// past: Kafka 3.9 (protocol v1) and the dev cluster fence it,
			// Kafka 4.4 (v2) accepts it. The Java client ends the same way.
			require.True(t, IsTxnFatal(err), "%v", err)
			require.Equal(t, wire.ErrProducerFenced, wire.CodeOf(err), "%v", err)
			t.Logf("the coordinator fenced the abort: %v", err)
			return
		}
		require.NoError(t, p.BeginTransaction())
		require.NoError(t, p.ProduceSync(ctx, rec("next")))
		require.NoError(t, p.ProduceSync(ctx, rec("end")))
		require.NoError(t, p.CommitTransaction(ctx))
		assert.Equal(t, []string{"next"}, readUntilEnd(t, brokers, topic, 1, ReadCommitted))
	})
}

// waitTxnAborted waits until the coordinator aborted the transaction open
// on tp for its timeout (Kafka checks every
// transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s by
// default): read_committed readers can then read past its records.
func waitTxnAborted(t *testing.T, ctx context.Context, brokers []string, tp TopicPartition) {
	t.Helper()
	reader := newTestConsumer(t, brokers, WithIsolationLevel(ReadCommitted))
	require.NoError(t, reader.Assign([]TopicPartition{tp}))
	require.True(t, assertEventually(60*time.Second, func() bool {
		require.NoError(t, reader.Seek(tp, OffsetEnd))
		pos, err := reader.Position(ctx, tp)
		return err == nil && pos > 0 // the last stable offset moved past the aborted records
	}), "the coordinator never aborted the timed-out transaction")
}
