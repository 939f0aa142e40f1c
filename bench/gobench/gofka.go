package main

// Gofka's Go engine (core). The paths here use only APIs every build has:
// Producer.ProduceSync and Client.FetchPartition. Paths that arrive later
// (Producer.Produce with a promise, the Consumer) live in files built with
// a tag (gofka_async.go, gofka_consumer.go), which bench/run.py enables when
// they compile.

import (
	"context"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

func init() {
	gofkaRunners["produce/sync"] = gofkaProduceSync
	gofkaRunners["consume/fetch"] = gofkaConsumeFetch
	gofkaRunners["latency-produce/sync"] = gofkaLatencyProduce
	gofkaRunners["latency-consume/fetch"] = gofkaLatencyConsumeFetch
}

// gofkaClientOptions are the settings of every Gofka client of a run.
func gofkaClientOptions(s *spec) []core.ClientOption {
	return []core.ClientOption{
		core.WithBrokers(s.Brokers...),
		core.WithClientID("gobench-gofka"),
		core.WithRequestTimeout(s.Timeout),
	}
}

// gofkaProducerOptions are a run's producer settings: the client's, acks=all
// and the spec's codec.
func gofkaProducerOptions(s *spec) ([]core.ProducerOption, error) {
	codec, err := wire.ParseCompression(s.Compression)
	if err != nil {
		return nil, err
	}
	opts := []core.ProducerOption{core.WithAcks(core.AcksAll), core.WithCompression(codec)}
	for _, o := range gofkaClientOptions(s) {
		opts = append(opts, o)
	}
	return opts, nil
}

func gofkaProducer(ctx context.Context, s *spec) (*core.Producer, error) {
	opts, err := gofkaProducerOptions(s)
	if err != nil {
		return nil, err
	}
	p, err := core.NewProducer(opts...)
	if err != nil {
		return nil, err
	}
	if err := p.Connect(ctx); err != nil {
		p.Close(ctx)
		return nil, err
	}
	if _, err := p.Client().TopicPartitions(ctx, s.Topic); err != nil {
		p.Close(ctx)
		return nil, err
	}
	return p, nil
}

// gofkaProduceSync: -concurrency goroutines, each calling ProduceSync with
// chunks of -chunk records (partition -1: the round-robin partitioner
// spreads each chunk over every partition, so one call is one request per
// broker). This is how a Go program gets throughput out of a synchronous
// API: a few calls in flight, each carrying many records.
func gofkaProduceSync(ctx context.Context, s *spec, m *meter) (*result, error) {
	pool := makePool(s.Count, s.Size)
	p, err := gofkaProducer(ctx, s)
	if err != nil {
		return nil, err
	}
	defer p.Close(context.Background())
	var next, acked atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	m.Start()
	for g := 0; g < max(1, s.Concurrency); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := make([]*core.Record, 0, s.Chunk)
			for {
				lo := int(next.Add(int64(s.Chunk))) - s.Chunk
				if lo >= s.Count {
					return
				}
				hi := min(s.Count, lo+s.Chunk)
				recs = recs[:0]
				for i := lo; i < hi; i++ {
					recs = append(recs, &core.Record{Topic: s.Topic, Value: pool[i%len(pool)]})
				}
				if err := p.ProduceSync(ctx, recs...); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				acked.Add(int64(len(recs)))
			}
		}()
	}
	wg.Wait()
	m.Stop()
	if firstErr != nil {
		return nil, firstErr
	}
	res := &result{Count: acked.Load(), Bytes: int64(s.Count) * int64(s.Size), Checksum: expectedChecksum(pool, s.Count)}
	m.fill(res)
	res.Extra = map[string]any{"concurrency": s.Concurrency, "chunk": s.Chunk}
	return res, nil
}

// gofkaConsumeFetch reads a pre-filled topic with Client.FetchPartition, one
// goroutine per partition, each fetching from offset 0 until the partition's
// high watermark. There is no consumer group on this path (core has no
// Consumer in this build), so it has no join cost.
func gofkaConsumeFetch(ctx context.Context, s *spec, m *meter) (*result, error) {
	cl, err := core.NewClient(gofkaClientOptions(s)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	m.Start()
	ti, err := cl.TopicPartitions(ctx, s.Topic)
	if err != nil {
		return nil, err
	}
	var count, nbytes atomic.Int64
	var sum atomic.Uint64
	var firstNs atomic.Int64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(ti.Partitions))
	var wg sync.WaitGroup
	for part := range ti.Partitions {
		wg.Add(1)
		go func(part int32) {
			defer wg.Done()
			offset := int64(0)
			for count.Load() < int64(s.Count) {
				fr, err := cl.FetchPartition(ctx, s.Topic, part, offset, core.FetchOptions{})
				if err != nil {
					if ctx.Err() == nil {
						errs <- fmt.Errorf("fetch %s/%d at %d: %w", s.Topic, part, offset, err)
					}
					return
				}
				var psum uint64
				var pbytes int64
				for _, r := range fr.Records {
					psum += uint64(crc32.ChecksumIEEE(r.Value))
					pbytes += int64(len(r.Value))
				}
				if len(fr.Records) > 0 {
					firstNs.CompareAndSwap(0, time.Now().UnixNano())
				}
				sum.Add(psum)
				nbytes.Add(pbytes)
				if count.Add(int64(len(fr.Records))) >= int64(s.Count) {
					cancel()
				}
				offset = fr.NextOffset
				if len(fr.Records) == 0 && offset >= fr.HighWatermark {
					return // this partition is fully read
				}
			}
		}(int32(part))
	}
	wg.Wait()
	m.Stop()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	res := &result{Count: count.Load(), Bytes: nbytes.Load(), Checksum: sum.Load()}
	m.fill(res)
	if f := firstNs.Load(); f > 0 {
		res.First = time.Unix(0, f).Sub(m.start).Seconds()
	}
	return res, nil
}

// gofkaLatencyProduce: ProduceSync of one record at a time.
func gofkaLatencyProduce(ctx context.Context, s *spec, m *meter) (*result, error) {
	pool := makePool(s.Count+1, s.Size)
	p, err := gofkaProducer(ctx, s)
	if err != nil {
		return nil, err
	}
	defer p.Close(context.Background())
	return latencyProduceLoop(ctx, s, m, pool, func(v []byte) error {
		return p.ProduceSync(ctx, &core.Record{Topic: s.Topic, Partition: 0, ManualPartition: true, Value: v})
	})
}

// gofkaLatencyConsumeFetch: long-polling FetchPartition on partition 0 (the
// latency topic has one partition), MaxWait 500 ms, MinBytes 1: the broker
// answers as soon as a record is there.
func gofkaLatencyConsumeFetch(ctx context.Context, s *spec, m *meter) (*result, error) {
	cl, err := core.NewClient(gofkaClientOptions(s)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	lc := newLatencyConsumer(s.Count)
	offset := int64(0)
	m.Start()
	for {
		fr, err := cl.FetchPartition(ctx, s.Topic, 0, offset, core.FetchOptions{MaxWait: 500 * time.Millisecond})
		if err != nil {
			return nil, fmt.Errorf("after %d of %d records: %w", len(lc.samples), s.Count, err)
		}
		now := time.Now()
		done := false
		for _, r := range fr.Records {
			done = lc.add(r.Value, now) || done
		}
		offset = fr.NextOffset
		if done {
			break
		}
	}
	m.Stop()
	res := lc.result()
	m.fill(res)
	return res, nil
}
