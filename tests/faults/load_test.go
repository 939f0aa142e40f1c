//go:build faults

package faults

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
)

// load produces numbered records (payload) round-robin over the
// partitions of a fresh topic and records what each promise reports: how
// many records were acknowledged, every error that reached the caller, the
// longest pause between two acknowledgements of one partition (the outage
// the application saw) and whether each acknowledged offset equals the
// record's sequence number (in a fresh topic it must: one copy, in order).
type load struct {
	p     *core.Producer
	topic string
	parts int32

	mu         sync.Mutex
	next       map[int32]int // next sequence number to produce per partition
	acked      map[int32]int
	lastAck    map[int32]time.Time
	maxGap     map[int32]time.Duration
	maxGapEnd  map[int32]time.Time
	errs       []error
	badOffsets int // acknowledgements whose offset is not the sequence number
	produced   int
	ackedTotal int
	ackedCh    chan struct{} // closed (and replaced) at every 1000th ack
}

func newLoad(t *testing.T, p *core.Producer, topic string, parts int32) *load {
	l := &load{p: p, topic: topic, parts: parts,
		next: map[int32]int{}, acked: map[int32]int{}, lastAck: map[int32]time.Time{},
		maxGap: map[int32]time.Duration{}, maxGapEnd: map[int32]time.Time{}, ackedCh: make(chan struct{})}
	now := time.Now()
	for i := int32(0); i < parts; i++ {
		l.lastAck[i] = now
	}
	return l
}

// produce buffers n records; with perSecond > 0 it paces itself to about
// that rate. It stops early when stop is closed.
func (l *load) produce(ctx context.Context, n, perSecond int, stop <-chan struct{}) {
	start := time.Now()
	for i := 0; i < n; i++ {
		if perSecond > 0 && i%100 == 0 {
			select {
			case <-stop:
				return
			default:
			}
			if ahead := time.Duration(i)*time.Second/time.Duration(perSecond) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		p := int32(i) % l.parts
		l.mu.Lock()
		seq := l.next[p]
		l.next[p]++
		l.produced++
		l.mu.Unlock()
		r := &core.Record{Topic: l.topic, Partition: p, ManualPartition: true, Value: payload(p, seq)}
		l.p.Produce(ctx, r, func(r *core.Record, err error) { l.done(r, seq, err) })
	}
}

func (l *load) done(r *core.Record, seq int, err error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if len(l.errs) < 20 {
			l.errs = append(l.errs, err)
		}
		return
	}
	p := r.Partition
	if r.Offset != int64(seq) {
		l.badOffsets++
	}
	if gap := now.Sub(l.lastAck[p]); gap > l.maxGap[p] {
		l.maxGap[p], l.maxGapEnd[p] = gap, now
	}
	l.lastAck[p] = now
	l.acked[p]++
	l.ackedTotal++
	if l.ackedTotal%1000 == 0 {
		close(l.ackedCh)
		l.ackedCh = make(chan struct{})
	}
}

// waitAcked waits until at least n records are acknowledged.
func (l *load) waitAcked(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		l.mu.Lock()
		got, ch := l.ackedTotal, l.ackedCh
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("only %d of %d records acknowledged after %v (errors: %v)", got, n, timeout, l.errors())
		}
	}
}

func (l *load) errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// written returns, per partition, how many records were produced.
func (l *load) written() map[int32]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int32]int{}
	for p, n := range l.next {
		out[p] = n
	}
	return out
}

// outage is the longest pause between two acknowledgements of a
// partition, over the given partitions (all when none given).
func (l *load) outage(parts ...int32) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var worst time.Duration
	if len(parts) == 0 {
		for p := range l.maxGap {
			parts = append(parts, p)
		}
	}
	for _, p := range parts {
		worst = max(worst, l.maxGap[p])
	}
	return worst
}

// finish flushes and checks that every produced record was acknowledged
// with its expected offset and that no error reached the caller.
func (l *load) finish(t *testing.T, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	require.NoError(t, l.p.Flush(ctx), "flush")
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Empty(t, l.errs, "errors reached the caller")
	require.Equal(t, l.produced, l.ackedTotal, "every record is acknowledged")
	require.Zero(t, l.badOffsets, "acknowledged offsets equal sequence numbers (one copy, in order)")
}
