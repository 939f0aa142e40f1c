package core

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func BenchmarkFranzPromise(b *testing.B) {
	p, topic := benchProducer(b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.Client().Config().Brokers...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("w")})
	value := make([]byte, 100)
	store := make([]kgo.Record, benchBatch)
	var wg sync.WaitGroup
	promise := func(_ *kgo.Record, err error) {
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
			store[j] = kgo.Record{Topic: topic, Value: value}
			cl.Produce(ctx, &store[j], promise)
		}
		wg.Wait()
	}
	reportRate(b, b.N*benchBatch)
	_ = time.Second
}
