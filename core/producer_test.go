package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fkerr "github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gofka/gofka/devcluster"
	"github.com/gofka/gofka/wire"
)

// testBrokers returns GOFKA_BROKERS (a real Kafka) when set, else a fresh
// dev cluster for the test.
func testBrokers(t *testing.T) []string {
	t.Helper()
	if b := os.Getenv("GOFKA_BROKERS"); b != "" {
		return strings.Split(b, ",")
	}
	d, err := devcluster.Start(devcluster.Options{Brokers: 3})
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d.Addrs()
}

// skipWithoutKIP848 skips a test of the KIP-848 consumer group protocol on
// an Apache Kafka older than 4.0, which has none enabled (scripts/run-compat.sh
// names the version it started in GOFKA_KAFKA_VERSION; without it the broker
// is the dev cluster or scripts/kafka.sh's default, the newest supported).
func skipWithoutKIP848(t *testing.T) {
	t.Helper()
	v := os.Getenv("GOFKA_KAFKA_VERSION")
	if v == "" || os.Getenv("GOFKA_BROKERS") == "" {
		return
	}
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("GOFKA_KAFKA_VERSION=%q: %v", v, err)
	}
	if major < 4 {
		t.Skipf("Kafka %s has no KIP-848 consumer protocol (GA in 4.0)", v)
	}
}

func uniqueTopic(t *testing.T) string {
	return fmt.Sprintf("gofka-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

// ---- helpers ----

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func newTestProducer(t *testing.T, brokers []string, opts ...ProducerOption) *Producer {
	t.Helper()
	p, err := NewProducer(append([]ProducerOption{WithBrokers(brokers...), WithDialTimeout(5 * time.Second)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

// createTopic creates a topic with n partitions and waits until every
// partition has a leader.
func createTopic(t *testing.T, ctx context.Context, cl *Client, name string, n int32) {
	t.Helper()
	m, err := cl.RefreshMetadata(ctx, []string{})
	require.NoError(t, err)
	resp, err := cl.Request(ctx, m.ControllerID, &wire.CreateTopicsRequest{
		TimeoutMs: 10000,
		Topics:    []wire.CreateTopicsRequestTopic{{Name: name, NumPartitions: n, ReplicationFactor: -1}},
	})
	require.NoError(t, err)
	for _, tr := range resp.(*wire.CreateTopicsResponse).Topics {
		require.Zero(t, tr.ErrorCode, "creating %s: %v", name, wire.ErrorCode(tr.ErrorCode))
	}
	require.Eventually(t, func() bool {
		m, err := cl.RefreshMetadata(ctx, []string{name})
		if err != nil {
			return false
		}
		ti := m.Topics[name]
		if ti == nil || ti.Err != 0 || len(ti.Partitions) != int(n) {
			return false
		}
		for _, p := range ti.Partitions {
			if p.Leader < 0 {
				return false
			}
		}
		return true
	}, 20*time.Second, 50*time.Millisecond)
}

// fetchAll reads partition from offset 0 until it has n records (failing
// the test if more show up within a short grace period).
func fetchAll(t *testing.T, ctx context.Context, cl *Client, topic string, partition int32, n int) []*Record {
	t.Helper()
	var got []*Record
	next := int64(0)
	fetch := func(o FetchOptions) *FetchResult {
		for {
			res, err := cl.FetchPartition(ctx, topic, partition, next, o)
			if err != nil && wire.CodeOf(err).Retriable() && ctx.Err() == nil {
				// e.g. NOT_LEADER_OR_FOLLOWER after a leader move
				cl.RefreshMetadata(ctx, []string{topic})
				time.Sleep(10 * time.Millisecond)
				continue
			}
			require.NoError(t, err)
			return res
		}
	}
	for len(got) < n {
		res := fetch(FetchOptions{MaxWait: 100 * time.Millisecond, MaxBytes: 4 << 20})
		got = append(got, res.Records...)
		next = res.NextOffset
	}
	res := fetch(FetchOptions{MaxWait: 50 * time.Millisecond})
	require.Empty(t, res.Records, "more records than produced in %s/%d", topic, partition)
	return got
}

// fakeCluster starts a kfake cluster of its own (for fault injection),
// whatever GOFKA_BROKERS says.
func fakeCluster(t *testing.T, brokers int, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(brokers), kfake.AllowAutoTopicCreation()}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// checkSequence verifies that got holds exactly the values "<prefix><i>"
// for i = 0..n-1 in order: nothing lost, duplicated or reordered.
func checkSequence(t *testing.T, got []*Record, n int, prefix string) {
	t.Helper()
	require.Len(t, got, n)
	for i, r := range got {
		want := fmt.Sprintf("%s%d", prefix, i)
		if string(r.Value) != want {
			t.Fatalf("record at offset %d is %q, want %q", r.Offset, r.Value, want)
		}
	}
}

// ---- behaviour on the test cluster (dev cluster or real Kafka) ----

func TestProduceAndFetchEveryCodec(t *testing.T) {
	brokers := testBrokers(t)
	for _, codec := range []wire.Compression{wire.CompressionNone, wire.CompressionGzip, wire.CompressionSnappy, wire.CompressionLZ4, wire.CompressionZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			ctx := testCtx(t, 30*time.Second)
			p := newTestProducer(t, brokers, WithCompression(codec))
			topic := uniqueTopic(t)
			ts := time.UnixMilli(1_700_000_000_123)
			var recs []*Record
			for i := 0; i < 100; i++ {
				recs = append(recs, &Record{Topic: topic, Partition: 0, ManualPartition: true, Key: []byte(fmt.Sprint("k", i)),
					Value: bytes.Repeat([]byte(fmt.Sprint("value-", i, " ")), 20), Timestamp: ts,
					Headers: []wire.Header{{Key: "h", Value: []byte("v")}, {Key: "null"}}})
			}
			require.NoError(t, p.ProduceSync(ctx, recs...))
			for i, r := range recs {
				require.Equal(t, int64(i), r.Offset)
				require.Equal(t, int32(0), r.Partition)
			}
			// The promise path, with a null value.
			done := make(chan error, 1)
			one := &Record{Topic: topic, Partition: 0, ManualPartition: true}
			p.Produce(ctx, one, func(r *Record, err error) { done <- err })
			require.NoError(t, <-done)
			require.Equal(t, int64(100), one.Offset)

			got := fetchAll(t, ctx, p.Client(), topic, 0, 101)
			for i := 0; i < 100; i++ {
				require.Equal(t, int64(i), got[i].Offset)
				require.Equal(t, recs[i].Value, got[i].Value)
				require.Equal(t, fmt.Sprint("k", i), string(got[i].Key))
				require.Equal(t, ts.UnixMilli(), got[i].Timestamp.UnixMilli())
				require.Equal(t, []wire.Header{{Key: "h", Value: []byte("v")}, {Key: "null"}}, got[i].Headers)
			}
			require.Nil(t, got[100].Value)
			require.Nil(t, got[100].Key)
		})
	}
}

func TestProduceLargeBatchSplits(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 60*time.Second)
	p := newTestProducer(t, brokers, WithBatchSize(64<<10))
	topic := uniqueTopic(t)
	value := make([]byte, 1000)
	recs := make([]*Record, 5000) // ~5 MB: many batches, several requests in flight
	for i := range recs {
		recs[i] = &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: value}
	}
	require.NoError(t, p.ProduceSync(ctx, recs...))
	for i, r := range recs {
		require.Equal(t, int64(i), r.Offset)
	}
}

func TestProduceSyncLargerThanBuffer(t *testing.T) {
	// A call larger than buffer.memory goes record by record: earlier
	// records must be delivered to make room for later ones.
	brokers := testBrokers(t)
	ctx := testCtx(t, 60*time.Second)
	p := newTestProducer(t, brokers, WithBufferMemory(256<<10), WithBatchSize(32<<10))
	topic := uniqueTopic(t)
	recs := make([]*Record, 3000) // ~1.2 MB through a 256 KiB buffer
	for i := range recs {
		recs[i] = &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprintf("%d-%s", i, strings.Repeat("x", 380)))}
	}
	require.NoError(t, p.ProduceSync(ctx, recs...))
	for i, r := range recs {
		require.Equal(t, int64(i), r.Offset)
	}
}

func TestKeyedRecordsUseJavaPartitioner(t *testing.T) {
	// Vectors from the Java client's UtilsTest.testMurmur2; the default
	// partitioner then takes toPositive(murmur2(key)) % n.
	cases := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	}
	for key, want := range cases {
		require.Equal(t, want, murmur2([]byte(key)), key)
		require.Equal(t, (want&0x7fffffff)%7, KeyPartition([]byte(key), 7), key)
	}
}

func TestKeyedRecordsLandOnJavaPartition(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, brokers)
	topic := uniqueTopic(t)
	createTopic(t, ctx, p.Client(), topic, 7)
	keys := []string{"21", "foobar", "a-little-bit-long-string", "a-little-bit-longer-string", "abc", "", "user-42"}
	var recs []*Record
	perPart := map[int32][]string{}
	for round := 0; round < 3; round++ {
		for _, k := range keys {
			v := fmt.Sprintf("%s/%d", k, round)
			recs = append(recs, &Record{Topic: topic, Key: []byte(k), Value: []byte(v)})
			part := KeyPartition([]byte(k), 7)
			perPart[part] = append(perPart[part], v)
		}
	}
	require.NoError(t, p.ProduceSync(ctx, recs...))
	for _, r := range recs {
		require.Equal(t, KeyPartition(r.Key, 7), r.Partition, "key %q", r.Key)
	}
	// The Java client puts "foobar" on (-790332482 & 0x7fffffff) % 7 =
	// 1357151166 % 7 = 0, "abc" on 479470107 % 7 = 4.
	require.Equal(t, int32(0), KeyPartition([]byte("foobar"), 7))
	require.Equal(t, int32(4), KeyPartition([]byte("abc"), 7))
	for part, values := range perPart {
		got := fetchAll(t, ctx, p.Client(), topic, part, len(values))
		for i, r := range got {
			require.Equal(t, values[i], string(r.Value))
		}
	}
}

// TestPartitionChoiceEveryPath checks where records land on every Go send
// path (Produce, TryProduce, ProduceBatch, ProduceSync), for the first
// records of a topic (queued until its metadata arrives) and later ones:
// ManualPartition wins over the key; a key alone (Partition left at its
// zero value) goes where the Java client puts it; a Partition left over
// from an earlier use (a consumed record) is ignored without
// ManualPartition; ManualPartition with a negative partition is refused.
// waitCtx waits for wg, or returns ctx's error when ctx ends first (so
// that a lost promise fails the test instead of hanging it).
func waitCtx(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestPartitionChoiceEveryPath(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 60*time.Second)
	p := newTestProducer(t, brokers)
	const n = 6
	keys := make([][]byte, 40)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("key-%d", i))
	}
	// Reference: toPositive(murmur2) % n, murmur2 checked against the Java
	// vectors in TestKeyedRecordsUseJavaPartitioner.
	want := func(k []byte) int32 { return int32(int64(murmur2(k)&0x7fffffff) % n) }
	moved := 0
	for _, k := range keys {
		if want(k) != 0 {
			moved++
		}
	}
	require.Greater(t, moved, 20, "the keys must not all hash to partition 0")
	type path struct {
		name string
		send func(recs []*Record) error
	}
	paths := []path{
		{"ProduceSync", func(recs []*Record) error { return p.ProduceSync(ctx, recs...) }},
		{"ProduceBatch", func(recs []*Record) error {
			var wg sync.WaitGroup
			errs := make([]error, len(recs))
			wg.Add(len(recs))
			err := p.ProduceBatch(ctx, recs, func(r *Record, err error) {
				for i := range recs {
					if recs[i] == r {
						errs[i] = err
					}
				}
				wg.Done()
			})
			if err != nil {
				return err
			}
			if err := waitCtx(ctx, &wg); err != nil {
				return err
			}
			return errors.Join(errs...)
		}},
		{"Produce", func(recs []*Record) error {
			var wg sync.WaitGroup
			errs := make([]error, len(recs))
			wg.Add(len(recs))
			for i, r := range recs {
				p.Produce(ctx, r, func(_ *Record, err error) { errs[i] = err; wg.Done() })
			}
			if err := waitCtx(ctx, &wg); err != nil {
				return err
			}
			return errors.Join(errs...)
		}},
		{"TryProduce", func(recs []*Record) error {
			var wg sync.WaitGroup
			errs := make([]error, len(recs))
			for i, r := range recs {
				wg.Add(1)
				if err := p.TryProduce(ctx, r, func(_ *Record, err error) { errs[i] = err; wg.Done() }); err != nil {
					return err
				}
			}
			if err := waitCtx(ctx, &wg); err != nil {
				return err
			}
			return errors.Join(errs...)
		}},
	}
	for _, pt := range paths {
		t.Run(pt.name, func(t *testing.T) {
			topic := uniqueTopic(t)
			createTopic(t, ctx, p.Client(), topic, n)
			onPart := map[int32][]string{}       // partition -> "value/key" the producer reports there
			for round := 0; round < 2; round++ { // round 0: before the topic's metadata is loaded
				var keyed, manual, stale, plain []*Record
				for i, k := range keys {
					keyed = append(keyed, &Record{Topic: topic, Key: k, Value: []byte("keyed")})
					manual = append(manual, &Record{Topic: topic, Key: k, Partition: int32(i % n), ManualPartition: true, Value: []byte("manual")})
					// A Partition left from an earlier use, even one the topic does not have.
					stale = append(stale, &Record{Topic: topic, Key: k, Partition: int32(n + i), Value: []byte("stale")})
				}
				for i := 0; i < 10; i++ {
					plain = append(plain, &Record{Topic: topic, Value: []byte("plain")})
				}
				all := append(append(append(append([]*Record{}, keyed...), manual...), stale...), plain...)
				require.NoError(t, pt.send(all), "round %d", round)
				for i, r := range keyed {
					require.Equal(t, want(keys[i]), r.Partition, "keyed %q", keys[i])
				}
				for i, r := range manual {
					require.Equal(t, int32(i%n), r.Partition, "manual %q", keys[i])
				}
				for i, r := range stale {
					require.Equal(t, want(keys[i]), r.Partition, "stale %q", keys[i])
				}
				for _, r := range plain {
					require.True(t, r.Partition >= 0 && r.Partition < n, "plain on %d", r.Partition)
				}
				for _, r := range all {
					onPart[r.Partition] = append(onPart[r.Partition], string(r.Value)+"/"+string(r.Key))
				}
			}
			// The broker has them where the producer says, in order.
			for part := int32(0); part < n; part++ {
				got := fetchAll(t, ctx, p.Client(), topic, part, len(onPart[part]))
				var vals []string
				for _, r := range got {
					vals = append(vals, string(r.Value)+"/"+string(r.Key))
				}
				require.Equal(t, onPart[part], vals, "partition %d", part)
			}
		})
	}
	bad := &Record{Topic: "t", Partition: -1, ManualPartition: true}
	require.ErrorIs(t, p.TryProduce(ctx, bad, nil), wire.ErrInvalidArgument)
	require.ErrorIs(t, p.ProduceBatch(ctx, []*Record{bad}, nil), wire.ErrInvalidArgument)
	require.ErrorIs(t, p.ProduceSync(ctx, bad), wire.ErrInvalidArgument)
}

func TestStickyPartitionerSpreadsUnkeyed(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, brokers, WithBatchSize(2048))
	topic := uniqueTopic(t)
	createTopic(t, ctx, p.Client(), topic, 4)
	const n = 2000
	var mu sync.Mutex
	order := map[int32][]string{}
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		r := &Record{Topic: topic, Value: []byte(fmt.Sprintf("v%04d-%s", i, strings.Repeat("x", 90)))}
		p.Produce(ctx, r, func(r *Record, err error) {
			defer wg.Done()
			assert.NoError(t, err)
			mu.Lock()
			order[r.Partition] = append(order[r.Partition], string(r.Value))
			mu.Unlock()
		})
	}
	require.NoError(t, p.Flush(ctx))
	wg.Wait()
	require.Greater(t, len(order), 1, "unkeyed records should move between partitions")
	total := 0
	for part, values := range order {
		total += len(values)
		got := fetchAll(t, ctx, p.Client(), topic, part, len(values))
		for i, r := range got {
			require.Equal(t, values[i], string(r.Value))
		}
		// Promises of one partition run in produce order.
		for i := 1; i < len(values); i++ {
			require.Less(t, values[i-1], values[i])
		}
	}
	require.Equal(t, n, total)
}

func TestProducePromisesInOrderAndFlush(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, brokers, WithLinger(20*time.Millisecond), WithBatchSize(16<<10))
	topic := uniqueTopic(t)
	const n = 10000
	var got []int64
	var mu sync.Mutex
	var failed atomic.Int32
	for i := 0; i < n; i++ {
		p.Produce(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprint(i))}, func(r *Record, err error) {
			if err != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			got = append(got, r.Offset)
			mu.Unlock()
		})
	}
	require.NoError(t, p.Flush(ctx))
	require.Zero(t, p.BufferedRecords())
	require.Zero(t, failed.Load())
	require.Len(t, got, n)
	for i, off := range got {
		require.Equal(t, int64(i), off)
	}
	checkSequence(t, fetchAll(t, ctx, p.Client(), topic, 0, n), n, "")
}

func TestConcurrentProducers(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, brokers)
	topic := uniqueTopic(t)
	createTopic(t, ctx, p.Client(), topic, 3)
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := make([]*Record, each)
			for i := range recs {
				recs[i] = &Record{Topic: topic, Partition: int32(g % 3), ManualPartition: true, Value: []byte(fmt.Sprintf("g%d-%d", g, i))}
			}
			// Half through ProduceSync, half one by one.
			if g%2 == 0 {
				errs <- p.ProduceSync(ctx, recs...)
				return
			}
			for _, r := range recs {
				if err := p.ProduceSync(ctx, r); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Each goroutine's records are in its order within its partition.
	total := 0
	for part := int32(0); part < 3; part++ {
		var count int
		for g := 0; g < goroutines; g++ {
			if int32(g%3) == part {
				count += each
			}
		}
		got := fetchAll(t, ctx, p.Client(), topic, part, count)
		next := map[string]int{}
		for _, r := range got {
			var g, i int
			_, err := fmt.Sscanf(string(r.Value), "g%d-%d", &g, &i)
			require.NoError(t, err)
			key := fmt.Sprint(g)
			require.Equal(t, next[key], i, "goroutine %d out of order", g)
			next[key]++
		}
		total += len(got)
	}
	require.Equal(t, goroutines*each, total)
}

func TestPartitionOutOfRange(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 20*time.Second)
	p := newTestProducer(t, brokers)
	topic := uniqueTopic(t)
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("x")}))
	n, err := p.PartitionCount(ctx, topic)
	require.NoError(t, err)
	err = p.ProduceSync(ctx, &Record{Topic: topic, Partition: int32(n), ManualPartition: true, Value: []byte("x")})
	require.ErrorIs(t, err, wire.ErrPartitionNotFound)
	// The producer keeps working.
	r := &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("y")}
	require.NoError(t, p.ProduceSync(ctx, r))
	require.Equal(t, int64(1), r.Offset)
}

func TestUnknownTopicWithoutAutoCreation(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 20*time.Second)
	p := newTestProducer(t, brokers, WithAllowAutoTopicCreation(false))
	topic := uniqueTopic(t)
	start := time.Now()
	err := p.ProduceSync(ctx, &Record{Topic: topic, Value: []byte("x")})
	require.ErrorIs(t, err, wire.ErrUnknownTopicOrPartition)
	require.Less(t, time.Since(start), 15*time.Second) // a hang guard, not a timing assertion
	_, err = p.PartitionCount(ctx, topic)
	require.ErrorIs(t, err, wire.ErrUnknownTopicOrPartition)
}

func TestRecordTooLarge(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 30*time.Second)
	topic := uniqueTopic(t)
	big := make([]byte, 2<<20)

	p := newTestProducer(t, brokers)
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("first")}))
	err := p.ProduceSync(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: big})
	require.ErrorIs(t, err, wire.ErrMessageTooLargeLocal)

	// Let it through the client: the broker refuses it (max.message.bytes
	// is 1 MiB by default), and the idempotent sequence numbers of the
	// records behind it are adjusted, so they still get in.
	p2 := newTestProducer(t, brokers, WithMaxRequestSize(8<<20), WithLinger(50*time.Millisecond))
	results := make([]error, 3)
	recs := []*Record{
		{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("before")},
		{Topic: topic, Partition: 0, ManualPartition: true, Value: big},
		{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("after")},
	}
	var wg sync.WaitGroup
	for i, r := range recs {
		wg.Add(1)
		p2.Produce(ctx, r, func(_ *Record, err error) { results[i] = err; wg.Done() })
	}
	require.NoError(t, p2.Flush(ctx))
	wg.Wait()
	require.NoError(t, results[0])
	require.ErrorIs(t, results[1], wire.ErrMessageTooLarge)
	require.NoError(t, results[2])
	require.Equal(t, int64(1), recs[0].Offset)
	require.Equal(t, int64(2), recs[2].Offset)
	got := fetchAll(t, ctx, p2.Client(), topic, 0, 3)
	require.Equal(t, "after", string(got[2].Value))
}

func TestAcksZeroAndOne(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 20*time.Second)
	topic := uniqueTopic(t)
	p0 := newTestProducer(t, brokers, WithAcks(AcksNone))
	r := &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("zero")}
	require.NoError(t, p0.ProduceSync(ctx, r))
	require.Equal(t, int64(-1), r.Offset)
	p1 := newTestProducer(t, brokers, WithAcks(AcksLeader))
	r = &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("one")}
	require.NoError(t, p1.ProduceSync(ctx, r))
	// acks=0 reports success once written to the socket: the two records
	// reach the log in either order, but both arrive.
	require.Contains(t, []int64{0, 1}, r.Offset)
	got := fetchAll(t, ctx, p1.Client(), topic, 0, 2)
	require.ElementsMatch(t, []string{"zero", "one"}, []string{string(got[0].Value), string(got[1].Value)})
}

func TestCloseFlushes(t *testing.T) {
	brokers := testBrokers(t)
	ctx := testCtx(t, 30*time.Second)
	p, err := NewProducer(WithBrokers(brokers...), WithLinger(time.Second))
	require.NoError(t, err)
	topic := uniqueTopic(t)
	var ok atomic.Int32
	for i := 0; i < 1000; i++ {
		p.Produce(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprint(i))}, func(_ *Record, err error) {
			if err == nil {
				ok.Add(1)
			}
		})
	}
	require.NoError(t, p.Close(ctx))
	require.Equal(t, int32(1000), ok.Load())
	require.NoError(t, p.Close(ctx)) // again: same result
	err = p.ProduceSync(ctx, &Record{Topic: topic, Value: []byte("late")})
	require.ErrorIs(t, err, wire.ErrClientClosed)
	var got error
	p.Produce(ctx, &Record{Topic: topic, Value: []byte("late")}, func(_ *Record, err error) { got = err })
	require.ErrorIs(t, got, wire.ErrClientClosed)
	require.ErrorIs(t, p.Flush(ctx), nil)
}

func TestUnreachableBrokerFailsWithinTimeout(t *testing.T) {
	// reconnect.backoff.max.ms past the deadline: the record is still
	// waiting (not yet ALL_BROKERS_DOWN, see TestProducerAllBrokersDown).
	p := newTestProducer(t, []string{"127.0.0.1:1"}, WithDialTimeout(time.Second), WithReconnectBackoff(50*time.Millisecond, 10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := p.ProduceSync(ctx, &Record{Topic: "t", Partition: 0, ManualPartition: true, Value: []byte("x")})
	require.Error(t, err)
	code := wire.CodeOf(err)
	require.Contains(t, []wire.ErrorCode{wire.ErrNoBrokersAvailable, wire.ErrTimedOut, wire.ErrConnectionFailed}, code, err.Error())
	// Close gives up on the record at its deadline.
	cctx, ccancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer ccancel()
	require.ErrorIs(t, p.Close(cctx), wire.ErrTimedOut)
}

func TestClosedProducer(t *testing.T) {
	p, err := NewProducer(WithBrokers("127.0.0.1:1"))
	require.NoError(t, err)
	require.NoError(t, p.Close(context.Background()))
	require.NoError(t, p.Close(context.Background()))
	err = p.ProduceSync(context.Background(), &Record{Topic: "t", Value: []byte("x")})
	require.ErrorIs(t, err, wire.ErrClientClosed)
	require.ErrorIs(t, p.TryProduce(context.Background(), &Record{Topic: "t"}, nil), wire.ErrClientClosed)
	require.ErrorIs(t, p.ProduceBatch(context.Background(), []*Record{{Topic: "t"}}, nil), wire.ErrClientClosed)
	_, err = p.PartitionCount(context.Background(), "t")
	require.ErrorIs(t, err, wire.ErrClientClosed)
}

func TestProducerConfig(t *testing.T) {
	c, err := parseConfig("bootstrap.servers=h:1\nbatch.size=1000\nlinger.ms=5\nmax.in.flight.requests.per.connection=3\n" +
		"enable.idempotence=false\nbuffer.memory=65536\ndelivery.timeout.ms=9000\nmax.request.size=2000\nacks=1")
	require.NoError(t, err)
	require.Equal(t, 1000, c.BatchSize)
	require.Equal(t, 5*time.Millisecond, c.Linger)
	require.Equal(t, 3, c.MaxInFlight)
	require.False(t, c.EnableIdempotence)
	require.Equal(t, int64(65536), c.BufferMemory)
	require.Equal(t, 9*time.Second, c.DeliveryTimeout)
	require.Equal(t, 2000, c.MaxRequestSize)

	d := newConfig()
	require.Equal(t, 1<<20, d.BatchSize)
	require.Equal(t, time.Duration(0), d.Linger)
	require.Equal(t, 5, d.MaxInFlight)
	require.True(t, d.idempotent())
	require.Equal(t, int64(32<<20), d.BufferMemory)
	require.Equal(t, 120*time.Second, d.DeliveryTimeout)
	require.Equal(t, AcksAll, d.Acks)

	// acks=1 turns the default idempotence off; asking for both is an error.
	_, err = NewProducer(WithBrokers("h:1"), WithAcks(AcksLeader))
	require.NoError(t, err)
	_, err = NewProducer(WithBrokers("h:1"), WithAcks(AcksLeader), WithIdempotence(true))
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	cfg, err := parseConfig("bootstrap.servers=h:1\nacks=0\nenable.idempotence=true")
	require.NoError(t, err)
	_, err = producerFromConfig(cfg)
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	_, err = NewProducer(WithBrokers("h:1"), WithMaxInFlight(6))
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	p, err := NewProducer(WithBrokers("h:1"), WithMaxInFlight(6), WithIdempotence(false))
	require.NoError(t, err)
	p.Close(context.Background())
	for _, bad := range []string{"batch.size=0", "linger.ms=-1", "max.in.flight.requests.per.connection=0",
		"enable.idempotence=maybe", "buffer.memory=10", "delivery.timeout.ms=x", "max.request.size=1"} {
		_, err := parseConfig("bootstrap.servers=h:1\n" + bad)
		require.ErrorIs(t, err, wire.ErrInvalidArgument, bad)
	}
}

func TestInvalidRecords(t *testing.T) {
	p := newTestProducer(t, []string{"127.0.0.1:1"})
	ctx := context.Background()
	require.ErrorIs(t, p.TryProduce(ctx, nil, nil), wire.ErrInvalidArgument)
	require.ErrorIs(t, p.TryProduce(ctx, &Record{}, nil), wire.ErrInvalidArgument)
	for _, bad := range []string{"bad topic!", strings.Repeat("x", 250), ".", "..", "a/b", "café"} {
		require.ErrorIs(t, p.TryProduce(ctx, &Record{Topic: bad}, nil), wire.ErrInvalidTopicException, bad)
		require.ErrorIs(t, p.ProduceBatch(ctx, []*Record{{Topic: bad}}, nil), wire.ErrInvalidTopicException, bad)
		_, err := p.PartitionCount(ctx, bad)
		require.ErrorIs(t, err, wire.ErrInvalidTopicException, bad)
	}
	require.ErrorIs(t, p.ProduceSync(ctx, &Record{Topic: "t"}, nil), wire.ErrInvalidArgument)
	// All or nothing: nothing of a batch with a bad record is buffered.
	err := p.ProduceBatch(ctx, []*Record{{Topic: "t", Value: []byte("ok")}, {Topic: "t", Value: make([]byte, 2<<20)}}, nil)
	require.ErrorIs(t, err, wire.ErrMessageTooLargeLocal)
	require.Zero(t, p.BufferedRecords())
}

// ---- engine behaviour under injected faults (own kfake cluster) ----

func TestBackpressureQueueFull(t *testing.T) {
	c := fakeCluster(t, 1)
	// Never answer produce requests: the buffer fills up.
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true
	})
	p := newTestProducer(t, c.ListenAddrs(), WithBufferMemory(16<<10), WithRequestTimeout(30*time.Second))
	topic := uniqueTopic(t)
	value := make([]byte, 1000)
	var queueFull error
	for i := 0; i < 100 && queueFull == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		queueFull = p.TryProduce(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: value}, nil)
		cancel()
	}
	require.ErrorIs(t, queueFull, wire.ErrQueueFull)
	require.LessOrEqual(t, p.mem.used.Load(), int64(16<<10))
	// The non-blocking form fails at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, p.TryProduce(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: value}, nil), wire.ErrQueueFull)
	cctx, ccancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer ccancel()
	require.ErrorIs(t, p.Close(cctx), wire.ErrTimedOut)
}

func TestDeliveryTimeout(t *testing.T) {
	c := fakeCluster(t, 1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // no answer: the request times out
	})
	p := newTestProducer(t, c.ListenAddrs(), WithRequestTimeout(300*time.Millisecond),
		WithDeliveryTimeout(time.Second))
	done := make(chan error, 1)
	start := time.Now()
	p.Produce(context.Background(), &Record{Topic: uniqueTopic(t), Partition: 0, ManualPartition: true, Value: []byte("x")},
		func(_ *Record, err error) { done <- err })
	select {
	case err := <-done:
		require.ErrorIs(t, err, wire.ErrDeliveryTimeout)
		require.Contains(t, err.Error(), "last error")
		require.GreaterOrEqual(t, time.Since(start), time.Second)
	case <-time.After(20 * time.Second):
		t.Fatal("no result after the delivery timeout")
	}
}

// The same with the sink's receiver idle when the unanswered request is
// written (the first record was acknowledged): no response pokes it, and
// the request timeout must still be enforced.
func TestDeliveryTimeoutWithIdleReceiver(t *testing.T) {
	c := fakeCluster(t, 1)
	p := newTestProducer(t, c.ListenAddrs(), WithRequestTimeout(300*time.Millisecond),
		WithDeliveryTimeout(time.Second))
	topic := uniqueTopic(t)
	require.NoError(t, p.ProduceSync(context.Background(), &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("first")}))
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // no answer from now on
	})
	done := make(chan error, 1)
	p.Produce(context.Background(), &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("x")},
		func(_ *Record, err error) { done <- err })
	select {
	case err := <-done:
		require.ErrorIs(t, err, wire.ErrDeliveryTimeout)
	case <-time.After(20 * time.Second):
		t.Fatal("no result after the delivery timeout")
	}
}

func TestCloseTimeoutFailsLeftovers(t *testing.T) {
	c := fakeCluster(t, 1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true
	})
	p, err := NewProducer(WithBrokers(c.ListenAddrs()...), WithRequestTimeout(30*time.Second))
	require.NoError(t, err)
	topic := uniqueTopic(t)
	var mu sync.Mutex
	var errs []error
	for i := 0; i < 50; i++ {
		p.Produce(context.Background(), &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("x")}, func(_ *Record, err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, p.Close(ctx), wire.ErrTimedOut)
	require.Len(t, errs, 50) // every promise ran before Close returned
	for _, err := range errs {
		require.ErrorIs(t, err, wire.ErrClientClosed)
	}
}

// produceNumbered produces "<prefix><i>" for i < n to each partition from
// one goroutine per partition and checks every result.
func produceNumbered(t *testing.T, ctx context.Context, p *Producer, topic string, parts []int32, n int, prefix string) {
	t.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	for _, part := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				p.Produce(ctx, &Record{Topic: topic, Partition: part, ManualPartition: true, Value: []byte(fmt.Sprintf("%s%d", prefix, i))},
					func(_ *Record, err error) {
						if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
						}
					})
			}
		}()
	}
	wg.Wait()
	require.NoError(t, p.Flush(ctx))
	require.Zero(t, failed.Load(), "first failure: %v", firstErr.Load())
}

func TestIdempotentSurvivesConnectionKills(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(3, "kills"))
	var produces atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if produces.Add(1)%7 == 0 {
			return nil, errors.New("injected connection drop"), true // closes the connection
		}
		return nil, nil, false
	})
	ctx := testCtx(t, 60*time.Second)
	p := newTestProducer(t, c.ListenAddrs(), WithBatchSize(4<<10), WithRetry(RetryPolicy{MaxRetries: 3,
		InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, BackoffMultiplier: 2}))
	const n = 5000
	produceNumbered(t, ctx, p, "kills", []int32{0, 1, 2}, n, "r")
	require.Greater(t, produces.Load(), int64(20))
	for part := int32(0); part < 3; part++ {
		checkSequence(t, fetchAll(t, ctx, p.Client(), "kills", part, n), n, "r")
	}
}

func TestIdempotentDedupesRetriedWrites(t *testing.T) {
	// REQUEST_TIMED_OUT from kfake is sent after the batch was appended:
	// the retry must be recognised as a duplicate, not written twice.
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "dups"))
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "dups", Err: fkerr.RequestTimedOut, Count: 5})
	defer h.Remove()
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs(), WithBatchSize(2<<10), WithRetry(RetryPolicy{MaxRetries: 3,
		InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, BackoffMultiplier: 2}))
	const n = 2000
	produceNumbered(t, ctx, p, "dups", []int32{0}, n, "d")
	require.Equal(t, 5, h.Hits())
	checkSequence(t, fetchAll(t, ctx, p.Client(), "dups", 0, n), n, "d")
}

func TestLeaderMovesReroute(t *testing.T) {
	c := fakeCluster(t, 3, kfake.SeedTopics(3, "moves"))
	ctx := testCtx(t, 60*time.Second)
	p := newTestProducer(t, c.ListenAddrs(), WithBatchSize(4<<10), WithRetry(RetryPolicy{MaxRetries: 3,
		InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, BackoffMultiplier: 2}))
	stop := make(chan struct{})
	var moves sync.WaitGroup
	moves.Add(1)
	go func() {
		defer moves.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			c.ShufflePartitionLeaders()
		}
	}()
	const n = 4000
	produceNumbered(t, ctx, p, "moves", []int32{0, 1, 2}, n, "m")
	close(stop)
	moves.Wait()
	for part := int32(0); part < 3; part++ {
		checkSequence(t, fetchAll(t, ctx, p.Client(), "moves", part, n), n, "m")
	}
}

func TestNotLeaderErrorsRefreshAndRetry(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "nl"))
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "nl", Err: fkerr.NotLeaderForPartition, Count: 10})
	defer h.Remove()
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs(), WithRetry(RetryPolicy{MaxRetries: 1,
		InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, BackoffMultiplier: 2}))
	// Ten NOT_LEADER answers in a row exceed retries=1, but leadership
	// errors re-route without using up retries.
	produceNumbered(t, ctx, p, "nl", []int32{0}, 300, "n")
	require.Equal(t, 10, h.Hits())
	checkSequence(t, fetchAll(t, ctx, p.Client(), "nl", 0, 300), 300, "n")
}

func TestEpochBumpAfterLostProducerState(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "bump"))
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs())
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "bump", Partition: 0, ManualPartition: true, Value: []byte("b0")}))
	pid0, epoch0 := p.idem.current()
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "bump", Err: fkerr.UnknownProducerID, Count: 1})
	defer h.Remove()
	recs := []*Record{{Topic: "bump", Partition: 0, ManualPartition: true, Value: []byte("b1")}, {Topic: "bump", Partition: 0, ManualPartition: true, Value: []byte("b2")}}
	require.NoError(t, p.ProduceSync(ctx, recs...))
	require.Equal(t, 1, h.Hits())
	pid1, epoch1 := p.idem.current()
	require.True(t, pid1 != pid0 || epoch1 > epoch0, "epoch not bumped: %d/%d -> %d/%d", pid0, epoch0, pid1, epoch1)
	checkSequence(t, fetchAll(t, ctx, p.Client(), "bump", 0, 3), 3, "b")
}

// A cluster whose in-sync replicas are below min.insync.replicas (e.g.
// coming back from an outage) answers NOT_ENOUGH_REPLICAS for a while: the
// producer keeps resending (bounded by delivery.timeout.ms, not by the
// retry count) and delivers once the replicas are back.
func TestNotEnoughReplicasDoesNotUseUpRetries(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "isr"))
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs(), WithRetry(RetryPolicy{MaxRetries: 1,
		InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, BackoffMultiplier: 2}),
		WithReconnectBackoff(time.Millisecond, 5*time.Millisecond))
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "isr", Partition: 0, ManualPartition: true, Value: []byte("r0")}))
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "isr", Err: fkerr.NotEnoughReplicas, Count: 5})
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "isr", Partition: 0, ManualPartition: true, Value: []byte("r1")}))
	require.Equal(t, 5, h.Hits(), "the record was refused 5 times (more than MaxRetries) before it went through")
	checkSequence(t, fetchAll(t, ctx, p.Client(), "isr", 0, 2), 2, "r")
}

func TestRetriesExhausted(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "nerr"))
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs(), WithRetry(RetryPolicy{MaxRetries: 2,
		InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, BackoffMultiplier: 2}))
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "nerr", Partition: 0, ManualPartition: true, Value: []byte("e0")}))
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "nerr", Err: fkerr.CorruptMessage, Count: -1})
	err := p.ProduceSync(ctx, &Record{Topic: "nerr", Partition: 0, ManualPartition: true, Value: []byte("lost")})
	require.ErrorIs(t, err, wire.ErrCorruptMessage)
	require.Contains(t, err.Error(), "gave up after 3 attempts")
	require.Equal(t, 3, h.Hits())
	h.Remove()
	// The producer recovers (new epoch) and keeps the partition in order.
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "nerr", Partition: 0, ManualPartition: true, Value: []byte("e1")}))
	checkSequence(t, fetchAll(t, ctx, p.Client(), "nerr", 0, 2), 2, "e")
}

func TestLingerBatchesRecords(t *testing.T) {
	c := fakeCluster(t, 1, kfake.SeedTopics(1, "linger"))
	var requests atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		requests.Add(1)
		return nil, nil, false
	})
	ctx := testCtx(t, 30*time.Second)
	p := newTestProducer(t, c.ListenAddrs(), WithLinger(300*time.Millisecond))
	_, err := p.PartitionCount(ctx, "linger")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		p.Produce(ctx, &Record{Topic: "linger", Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprint(i))}, func(_ *Record, err error) {
			assert.NoError(t, err)
			wg.Done()
		})
	}
	wg.Wait()
	require.Equal(t, int64(1), requests.Load(), "200 records produced within linger.ms travel in one request")
	// batch.size closes a batch before linger.ms ends; a partial batch
	// waits for linger.ms or Flush.
	p2 := newTestProducer(t, c.ListenAddrs(), WithLinger(time.Hour), WithBatchSize(1024))
	before := requests.Load()
	var acked atomic.Int32
	for i := 0; i < 40; i++ {
		p2.Produce(ctx, &Record{Topic: "linger", Partition: 0, ManualPartition: true, Value: make([]byte, 100)}, func(_ *Record, err error) {
			if err == nil {
				acked.Add(1)
			}
		})
	}
	require.Eventually(t, func() bool { return requests.Load()-before >= 3 }, 20*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	require.Less(t, acked.Load(), int32(40), "the last, partial batch waits for linger.ms")
	require.NoError(t, p2.Flush(ctx))
	require.Equal(t, int32(40), acked.Load())
}
