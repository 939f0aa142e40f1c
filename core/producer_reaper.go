package core

// The producer's delivery-timeout reaper: one goroutine per producer
// (reapLoop) that fails records still waiting when delivery.timeout.ms
// passes, and every waiting record once the connection pool is closed.

import (
	"fmt"
	"time"

	"github.com/gofka/gofka/wire"
)

// reapLoop fails records whose delivery timeout passed while they waited
// (for metadata, a leader, a connection or a retry). Batches in flight are
// judged when their answer arrives. Once the shared connection pool is
// closed (nothing can be sent any more), every waiting record fails with
// CLIENT_CLOSED at once and then at each tick (batches in flight come back
// when their closed connection fails them).
func (p *Producer) reapLoop() {
	defer p.wg.Done()
	tick := min(max(p.cfg.DeliveryTimeout/10, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	poolDone := p.cl.pool.done()
	if p.cl.ownsPool {
		poolDone = nil // a private pool closes only after the producer
	}
	var gone error
	for {
		select {
		case <-t.C:
		case <-poolDone:
			poolDone = nil
			gone = p.cl.poolClosedErr()
		case <-p.quit:
			return
		}
		if p.outstanding.Load() == 0 {
			continue
		}
		p.reap(time.Now(), gone)
	}
}

// reap fails the records waiting past the delivery timeout, or, when gone
// is not nil, every waiting record with gone.
func (p *Producer) reap(now time.Time, gone error) {
	timeout := p.cfg.DeliveryTimeout
	expired := func(at time.Time) bool { return gone != nil || now.Sub(at) > timeout }
	failure := func(last error, while string) error {
		if gone != nil {
			return gone
		}
		return deliveryTimeout(timeout, last, while)
	}
	p.topics.Range(func(_, v any) bool {
		ts := v.(*topicState)
		ts.mu.Lock()
		var fail []pendingRec
		if len(ts.pending) > 0 {
			keep := ts.pending[:0]
			for _, pr := range ts.pending {
				if expired(pr.at) {
					fail = append(fail, pr)
				} else {
					keep = append(keep, pr)
				}
			}
			clear(ts.pending[len(keep):])
			ts.pending = keep
		}
		lastErr := ts.lastErr
		ts.mu.Unlock()
		if len(fail) > 0 {
			p.failPending(fail, failure(lastErr, "waiting for the topic's metadata"))
		}
		for _, pb := range ts.partitions() {
			var done []*recBatch
			var errs []error
			needBump := false
			pb.mu.Lock()
			if pb.inflight == 0 {
				i := 0
				for i < len(pb.batches) && expired(pb.batches[i].created) {
					b := pb.batches[i]
					done = append(done, b)
					last := b.lastErr
					if last == nil {
						last = lastErr
					}
					errs = append(errs, failure(last, "waiting to be sent"))
					if b.sent && p.idem.enabled {
						needBump = true
					}
					if b == pb.open {
						pb.open = nil
					}
					i++
				}
				if i > 0 {
					pb.batches = append(pb.batches[:0], pb.batches[i:]...)
					pb.sendIdx = 0
				}
			}
			pb.mu.Unlock()
			if needBump {
				p.idem.requestBump(p)
			}
			for i, b := range done {
				p.finishBatch(b, partResult{err: errs[i], base: -1, logAppendTime: -1})
			}
		}
		return true
	})
}

func deliveryTimeout(timeout time.Duration, last error, while string) error {
	detail := fmt.Sprintf("not acknowledged within delivery.timeout.ms (%v), %s", timeout, while)
	if last != nil {
		detail += "; last error: " + last.Error()
	}
	return &wire.Error{Code: wire.ErrDeliveryTimeout, Detail: detail}
}
