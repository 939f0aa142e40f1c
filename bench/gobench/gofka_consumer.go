//go:build gofka_consumer

package main

// Gofka core Consumer paths (group subscription, Poll). Built with the tag
// gofka_consumer, which bench/run.py sets when this file compiles against
// the checked-out core (builds without core.Consumer keep the fetch path).

import (
	"context"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/gofka/gofka/core"
)

func init() {
	gofkaRunners["consume/poll"] = gofkaConsumePoll
	gofkaRunners["latency-consume/poll"] = gofkaLatencyConsumePoll
}

func gofkaConsumer(ctx context.Context, s *spec) (*core.Consumer, error) {
	opts := []core.ConsumerOption{
		core.WithGroupID(s.Group),
		core.WithAutoCommit(false),
		core.WithAutoOffsetReset(core.OffsetResetEarliest),
	}
	for _, o := range gofkaClientOptions(s) {
		opts = append(opts, o)
	}
	c, err := core.NewConsumer(opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Subscribe(ctx, s.Topic); err != nil {
		c.Close(context.Background())
		return nil, err
	}
	return c, nil
}

// gofkaConsumePoll: a group consumer, Poll(ctx, -poll-max) until count
// records arrived.
func gofkaConsumePoll(ctx context.Context, s *spec, m *meter) (*result, error) {
	m.Start()
	c, err := gofkaConsumer(ctx, s)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	var count, nbytes int64
	var sum uint64
	var first time.Time
	for count < int64(s.Count) {
		recs, err := c.Poll(ctx, min(s.PollMax, s.Count-int(count)))
		if err != nil {
			return nil, fmt.Errorf("after %d of %d records: %w", count, s.Count, err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("after %d of %d records: %w", count, s.Count, ctx.Err())
		}
		for _, r := range recs {
			nbytes += int64(len(r.Value))
			sum += uint64(crc32.ChecksumIEEE(r.Value))
		}
		count += int64(len(recs))
		if first.IsZero() && count > 0 {
			first = time.Now()
		}
	}
	m.Stop()
	res := &result{Count: count, Bytes: nbytes, Checksum: sum}
	m.fill(res)
	res.First = first.Sub(m.start).Seconds()
	return res, nil
}

// gofkaLatencyConsumePoll: a group consumer reporting end-to-end latency.
func gofkaLatencyConsumePoll(ctx context.Context, s *spec, m *meter) (*result, error) {
	m.Start()
	c, err := gofkaConsumer(ctx, s)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	lc := newLatencyConsumer(s.Count)
	for done := false; !done; {
		recs, err := c.Poll(ctx, 100)
		if err != nil {
			return nil, fmt.Errorf("after %d of %d records: %w", len(lc.samples), s.Count, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		now := time.Now()
		for _, r := range recs {
			done = lc.add(r.Value, now) || done
		}
	}
	m.Stop()
	res := lc.result()
	m.fill(res)
	return res, nil
}
