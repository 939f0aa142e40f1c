//go:build gofka_batch

package main

// Gofka core ProduceBatch path: chunks of -chunk records buffered with one
// call each (memory reserved once per chunk), a promise per record, then
// Flush. Built with the tag gofka_batch, which bench/run.py sets when this
// file compiles against the checked-out core.

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/core"
)

func init() {
	gofkaRunners["produce/batch"] = gofkaProduceBatch
}

func gofkaProduceBatch(ctx context.Context, s *spec, m *meter) (*result, error) {
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
	for lo := 0; lo < s.Count; lo += s.Chunk {
		hi := min(s.Count, lo+s.Chunk)
		recs := make([]*core.Record, hi-lo)
		for i := range recs {
			recs[i] = &core.Record{Topic: s.Topic, Value: pool[(lo+i)%len(pool)]}
		}
		if err := p.ProduceBatch(ctx, recs, promise); err != nil {
			return nil, err
		}
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
