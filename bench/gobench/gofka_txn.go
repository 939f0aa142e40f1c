//go:build gofka_txn

package main

// Gofka core transactional produce path: a transactional producer
// (transactional.id, acks=all, idempotence) writes the run's records with
// Produce and a promise per record, committing a transaction every
// -commit-every records (CommitTransaction flushes them first). Built with
// the tag gofka_txn, which bench/run.py sets when this file compiles
// against the checked-out core.

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/core"
)

func init() {
	gofkaRunners["produce/txn"] = gofkaProduceTxn
}

func gofkaProduceTxn(ctx context.Context, s *spec, m *meter) (*result, error) {
	if s.CommitEvery < 1 {
		return nil, fmt.Errorf("-commit-every must be at least 1")
	}
	pool := makePool(s.Count, s.Size)
	opts, err := gofkaProducerOptions(s)
	if err != nil {
		return nil, err
	}
	// Batching as for the other produce paths; one transactional.id per
	// run (the topic is fresh per run).
	opts = append(opts, core.WithLinger(10*time.Millisecond), core.WithTransactionalID("gobench-"+s.Topic))
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
	if err := p.InitTransactions(ctx); err != nil {
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
	commits := 0
	m.Start()
	for lo := 0; lo < s.Count; lo += s.CommitEvery {
		if err := p.BeginTransaction(); err != nil {
			return nil, err
		}
		for i := lo; i < min(s.Count, lo+s.CommitEvery); i++ {
			p.Produce(ctx, &core.Record{Topic: s.Topic, Value: pool[i%len(pool)]}, promise)
		}
		if err := p.CommitTransaction(ctx); err != nil {
			return nil, fmt.Errorf("commit %d: %w", commits+1, err)
		}
		commits++
	}
	m.Stop()
	if e := firstErr.Load(); e != nil {
		return nil, e.(error)
	}
	res := &result{Count: acked.Load(), Bytes: int64(s.Count) * int64(s.Size), Checksum: expectedChecksum(pool, s.Count)}
	m.fill(res)
	res.Extra = map[string]any{"commit_every": s.CommitEvery, "transactions": commits}
	return res, nil
}
