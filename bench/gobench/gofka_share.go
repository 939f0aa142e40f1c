//go:build gofka_share

package main

// Gofka core share group paths (KIP-932, core.ShareConsumer) and the
// classic group beside them, each with -members consumers (one goroutine
// each) of one group reading a pre-filled topic together. Built with the
// tag gofka_share, which bench/run.py sets when this file compiles against
// the checked-out core.

import (
	"context"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/core"
)

func init() {
	gofkaRunners["share/share"] = gofkaShareConsume
	gofkaRunners["share/classic"] = gofkaClassicMembers
}

// memberPoll is one member's poll: up to max records' values, or none
// when ctx ended.
type memberPoll func(ctx context.Context, max int) ([][]byte, error)

// consumeTogether runs members (each polling on its own goroutine) until
// they read s.Count records between them, and reports the count and the
// checksum of everything read (a record read twice shows in both). The
// rate is measured from the first record (First), as for the other
// consume runs: the setup (joining, the first assignment) is not.
func consumeTogether(ctx context.Context, s *spec, m *meter, members []memberPoll) (*result, error) {
	var count, nbytes atomic.Int64
	var sum atomic.Uint64
	var firstOnce sync.Once
	var first time.Time
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(members))
	var wg sync.WaitGroup
	for _, poll := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && count.Load() < int64(s.Count) {
				pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
				vals, err := poll(pctx, s.PollMax)
				pcancel()
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
						cancel()
					}
					return
				}
				if len(vals) == 0 {
					continue
				}
				firstOnce.Do(func() { first = time.Now() })
				var b int64
				var cs uint64
				for _, v := range vals {
					b += int64(len(v))
					cs += uint64(crc32.ChecksumIEEE(v))
				}
				nbytes.Add(b)
				sum.Add(cs)
				if count.Add(int64(len(vals))) >= int64(s.Count) {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	m.Stop()
	select {
	case err := <-errs:
		return nil, fmt.Errorf("after %d of %d records: %w", count.Load(), s.Count, err)
	default:
	}
	if count.Load() < int64(s.Count) {
		return nil, fmt.Errorf("after %d of %d records: %w", count.Load(), s.Count, context.Cause(ctx))
	}
	res := &result{Count: count.Load(), Bytes: nbytes.Load(), Checksum: sum.Load(),
		Extra: map[string]any{"members": len(members)}}
	m.fill(res)
	res.First = first.Sub(m.start).Seconds()
	return res, nil
}

// gofkaShareConsume: -members share consumers (implicit acknowledgement:
// each poll accepts the previous one's records) of share group -group,
// which the runner set to read from the earliest offset.
func gofkaShareConsume(ctx context.Context, s *spec, m *meter) (*result, error) {
	m.Start()
	var polls []memberPoll
	for i := 0; i < max(1, s.Members); i++ {
		opts := []core.ShareConsumerOption{core.WithGroupID(s.Group), core.WithMaxPollRecords(s.PollMax)}
		for _, o := range gofkaClientOptions(s) {
			opts = append(opts, o)
		}
		c, err := core.NewShareConsumer(opts...)
		if err != nil {
			return nil, err
		}
		defer c.Close(context.Background())
		if err := c.Subscribe(s.Topic); err != nil {
			return nil, err
		}
		polls = append(polls, func(ctx context.Context, max int) ([][]byte, error) {
			recs, err := c.Poll(ctx, max)
			vals := make([][]byte, len(recs))
			for i, r := range recs {
				vals[i] = r.Value
			}
			return vals, err
		})
	}
	return consumeTogether(ctx, s, m, polls)
}

// gofkaClassicMembers: -members group consumers (classic protocol, no
// commits) of group -group: the partitions are divided among them. They
// join in parallel and poll once the group has shared out every partition
// (a partition moving later would be read again from the start: there are
// no commits).
func gofkaClassicMembers(ctx context.Context, s *spec, m *meter) (*result, error) {
	m.Start()
	n := max(1, s.Members)
	consumers := make([]*core.Consumer, n)
	for i := range consumers {
		opts := []core.ConsumerOption{core.WithGroupID(s.Group), core.WithAutoCommit(false),
			core.WithAutoOffsetReset(core.OffsetResetEarliest)}
		for _, o := range gofkaClientOptions(s) {
			opts = append(opts, o)
		}
		c, err := core.NewConsumer(opts...)
		if err != nil {
			return nil, err
		}
		defer c.Close(context.Background())
		consumers[i] = c
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, c := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Subscribe(ctx, s.Topic)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for {
		assigned, idle := 0, 0
		for _, c := range consumers {
			k := len(c.Assignment())
			assigned += k
			if k == 0 {
				idle++
			}
		}
		if assigned == s.Partitions && (idle == 0 || n > s.Partitions) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d partitions assigned: %w", assigned, s.Partitions, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	polls := make([]memberPoll, n)
	for i, c := range consumers {
		polls[i] = func(ctx context.Context, max int) ([][]byte, error) {
			recs, err := c.Poll(ctx, max)
			vals := make([][]byte, len(recs))
			for i, r := range recs {
				vals[i] = r.Value
			}
			return vals, err
		}
	}
	return consumeTogether(ctx, s, m, polls)
}
