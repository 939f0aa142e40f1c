//go:build gofka_async || gofka_batch

package main

// The part of the promise-based Gofka paths (gofka_async.go, gofka_batch.go)
// that they share; built with either tag.

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/core"
)

// gofkaPromiseRun is the run of a path that buffers s.Count records with
// a promise each and then flushes: a producer with linger 10 ms (batching
// as the Gofka docs advise for throughput, like the other peers' linger),
// connected and with the topic's metadata; between the meter's start and
// the flush, buffer hands the records (values from pool) to p with
// promise. The first failed record fails the run.
func gofkaPromiseRun(ctx context.Context, s *spec, m *meter,
	buffer func(p *core.Producer, pool [][]byte, promise func(*core.Record, error)) error) (*result, error) {
	pool := makePool(s.Count, s.Size)
	opts, err := gofkaProducerOptions(s)
	if err != nil {
		return nil, err
	}
	opts = append(opts, core.WithLinger(10*time.Millisecond))
	p, err := core.NewProducer(opts...)
	if err != nil {
		return nil, err
	}
	defer p.Close(context.Background())
	if err := p.Connect(ctx); err != nil {
		return nil, err
	}
	if _, err := p.Client().TopicPartitions(ctx, s.Topic); err != nil {
		return nil, err
	}
	var acked atomic.Int64
	var firstErr atomic.Value
	promise := func(_ *core.Record, err error) {
		if err != nil {
			firstErr.CompareAndSwap(nil, err)
			return
		}
		acked.Add(1)
	}
	m.Start()
	if err := buffer(p, pool, promise); err != nil {
		return nil, err
	}
	if err := p.Flush(ctx); err != nil {
		return nil, err
	}
	m.Stop()
	if e := firstErr.Load(); e != nil {
		return nil, e.(error)
	}
	res := &result{Count: acked.Load(), Bytes: int64(s.Count) * int64(s.Size), Checksum: expectedChecksum(pool, s.Count)}
	m.fill(res)
	return res, nil
}
