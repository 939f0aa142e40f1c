package core

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gofka/gofka/devcluster"
	"github.com/gofka/gofka/wire"
)

// Benchmarks of the producer against the test cluster (GOFKA_BROKERS or a
// dev cluster in this process, whose broker work then counts in the
// numbers). Run for example:
//
//	go test ./core -run '^$' -bench BenchmarkProduce -benchtime 10x
//	GOFKA_BROKERS=127.0.0.1:9092 go test ./core -run '^$' -bench BenchmarkProduce -benchtime 10x
//
// Each iteration produces 10,000 records of 100 bytes; msgs/s is reported.

const benchBatch = 10000

func benchProducer(b *testing.B, opts ...ProducerOption) (*Producer, string) {
	b.Helper()
	var brokers []string
	if env := os.Getenv("GOFKA_BROKERS"); env != "" {
		brokers = splitList(env)
	} else {
		d, err := devcluster.Start(devcluster.Options{Brokers: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(d.Close)
		brokers = d.Addrs()
	}
	p, err := NewProducer(append([]ProducerOption{WithBrokers(brokers...)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(context.Background()) })
	topic := "gofka-bench-" + time.Now().Format("150405.000000000")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.ProduceSync(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("warm up")}); err != nil {
		b.Fatal(err)
	}
	return p, topic
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func reportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

func reportShape(b *testing.B, p *Producer) {
	st := p.Stats()
	if st.Requests > 0 {
		b.ReportMetric(float64(st.Records)/float64(st.Requests), "recs/req")
	}
}

// BenchmarkProduceSyncBatch: one ProduceSync call of 10,000 x 100 B per
// iteration.
func BenchmarkProduceSyncBatch(b *testing.B) {
	p, topic := benchProducer(b)
	value := make([]byte, 100)
	recs := make([]*Record, benchBatch)
	store := make([]Record, benchBatch)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range recs {
			store[j] = Record{Topic: topic, Partition: 0, ManualPartition: true, Value: value}
			recs[j] = &store[j]
		}
		if err := p.ProduceSync(ctx, recs...); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, b.N*benchBatch)
	reportShape(b, p)
}

// BenchmarkProducePromise: 10,000 Produce calls with a promise per
// iteration, then Flush (records are reused once their promise ran).
func BenchmarkProducePromise(b *testing.B) {
	p, topic := benchProducer(b)
	value := make([]byte, 100)
	store := make([]Record, benchBatch)
	ctx := context.Background()
	var wg sync.WaitGroup
	promise := func(_ *Record, err error) {
		if err != nil {
			b.Error(err)
		}
		wg.Done()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wg.Add(benchBatch)
		for j := range store {
			store[j] = Record{Topic: topic, Value: value}
			p.Produce(ctx, &store[j], promise)
		}
		wg.Wait()
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	reportRate(b, b.N*benchBatch)
	reportShape(b, p)
}

// BenchmarkProduceSyncOne: one ProduceSync of a single 100 B record per
// iteration, the sync send's round trip (ns/op) and its allocations.
func BenchmarkProduceSyncOne(b *testing.B) {
	p, topic := benchProducer(b)
	value := make([]byte, 100)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.ProduceSync(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: value}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendEncode: the engine's own work per record without a
// broker: appending 10,000 records of 100 bytes to one partition's
// batches (the produce path under the partition lock) and encoding the
// batches as the sender does (compression none). Allocations per
// iteration are the garbage the path makes beyond the reused buffers.
func BenchmarkAppendEncode(b *testing.B) {
	p := &Producer{cfg: defaultConfig()}
	value := make([]byte, 100)
	recs := make([]Record, benchBatch)
	now := time.Now()
	for i := range recs {
		recs[i] = Record{Topic: "t", Value: value, Timestamp: now}
	}
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		pb := &partBuf{p: p}
		for i := range recs {
			pb.appendRec(&recs[i], nil, recordSize(&recs[i]), now, false, nil)
		}
		for _, bt := range pb.batches {
			rb := wire.RecordBatch{PartitionLeaderEpoch: -1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
			var err error
			if buf, _, err = bt.appendBatch(buf[:0], &rb, wire.CompressionNone, wire.CompressionLevelDefault); err != nil {
				b.Fatal(err)
			}
			bt.endPrep()
			bt.recycle()
		}
	}
	reportRate(b, b.N*benchBatch)
}
