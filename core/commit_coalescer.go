package core

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// commitCoalescer funnels every commit of a consumer (Commit,
// CommitRecords, CommitOffsets, auto-commit, the commit before a revoke and
// the one of Close) through one OffsetCommit request at a time. While a
// request is in flight, further calls queue; when it completes, one next
// request carries, per partition, the offset of the latest queued call
// (the latest call per partition wins, in call order: Kafka lets a commit
// move an offset backwards, and so does a later call with a lower offset).
// A caller returns when a request that carried its offset of every
// partition it named (or a later call's offset of that partition)
// succeeded, or with the error of the partition(s) it named that failed;
// errors of other partitions do not reach it. So sixteen goroutines
// committing at once cost a couple of round trips, not sixteen.
//
// Consecutive queued calls of the same kind (background or not, see
// sendCommit) share a request; a change of kind starts a new one, so call
// order is kept across kinds too. Safe for concurrent use; the zero value
// is ready. Lock order: mu before Consumer.mu.
type commitCoalescer struct {
	mu      sync.Mutex
	queue   []*commitWaiter // calls not sent yet, in call order; guarded by mu
	running bool            // a request is being sent (by a caller or flushCommits); guarded by mu
}

// commitWaiter is one commit call. offsets and background are set before
// it is queued and never change; sent and reqDeadline are guarded by the
// coalescer's mu; finish and stopWatch are set before the call is queued
// (stopWatch under mu, before anyone else can settle it) and then only
// read.
type commitWaiter struct {
	offsets     map[TopicPartition]int64
	background  bool
	deadline    time.Time  // the caller's (every caller has one, see commit)
	done        chan error // a waiting caller's (commit): capacity 1, the outcome, sent once
	sent        bool       // taken into a request
	reqDeadline time.Time  // that request's deadline (the latest of its callers')

	// A caller that does not wait (commitAsync) has finish instead of
	// done: settle calls it once (settled), from whichever goroutine
	// settles the call first: the request's outcome, or the end of the
	// caller's ctx while queued (stopWatch stops that watch).
	finish    func(error)
	settled   atomic.Bool
	stopWatch func() bool
}

// settle gives the call its outcome: into done for a waiting caller (once,
// by the request's sender), through finish for one that does not wait
// (the first outcome wins, later ones are dropped).
func (w *commitWaiter) settle(err error) {
	if w.finish == nil {
		w.done <- err
		return
	}
	if !w.settled.CompareAndSwap(false, true) {
		return
	}
	if w.stopWatch != nil {
		w.stopWatch()
	}
	w.finish(err)
}

// commit commits the offsets compute returns (nothing to do when it
// returns none) through the coalescer and waits for the outcome. compute
// runs under the coalescer's mutex, so the order in which offsets are read
// (e.g. a partition's consumed position) is the order they are committed
// in. ctx should carry a deadline (callers apply request.timeout.ms;
// without one, request.timeout.ms from now bounds the request): a caller
// whose deadline passes first gets TIMED_OUT, and its offsets may still be
// committed by a request already under way (as for a produce that timed
// out). A request that carries other callers' offsets too runs until the
// latest of their deadlines.
func (c *Consumer) commit(ctx context.Context, compute func() map[TopicPartition]int64, background bool) error {
	co := &c.commits
	w := &commitWaiter{background: background, done: make(chan error, 1)}
	ctx, deadline, cancel := c.commitDeadline(ctx)
	w.deadline = deadline
	if cancel != nil {
		defer cancel()
	}
	co.mu.Lock()
	w.offsets = compute()
	if len(w.offsets) == 0 {
		co.mu.Unlock()
		return nil
	}
	if !co.running {
		// Nothing in flight: this caller sends its own request, in its
		// own goroutine (no hand-off to another thread: a commit per
		// message costs one round trip and nothing more), then leaves
		// the calls queued meanwhile to a flushCommits goroutine.
		co.running = true
		w.sent, w.reqDeadline = true, w.deadline
		co.mu.Unlock()
		errs, all := c.sendCommit(ctx, w.offsets, background)
		c.ownCommitDone()
		return waiterErr(w.offsets, errs, all)
	}
	co.queue = append(co.queue, w)
	co.mu.Unlock()

	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
	}
	co.mu.Lock()
	if !w.sent {
		// Still queued: withdraw the call (nothing of it was sent).
		if i := slices.Index(co.queue, w); i >= 0 {
			co.queue = slices.Delete(co.queue, i, i+1)
		}
		co.mu.Unlock()
		return commitTimeout(ctx)
	}
	// The request carrying the offsets ends by this caller's own deadline
	// (it is the latest of its callers'): its outcome says more than a bare
	// timeout (e.g. COORDINATOR_NOT_AVAILABLE) and comes at once.
	ownRequest := errors.Is(ctx.Err(), context.DeadlineExceeded) && !w.deadline.Before(w.reqDeadline)
	co.mu.Unlock()
	if ownRequest {
		return <-w.done
	}
	select {
	case err := <-w.done:
		return err
	default:
		return commitTimeout(ctx)
	}
}

// ownCommitDone ends the request a caller sent itself (nothing was in
// flight when it called): the calls queued meanwhile go to a flushCommits
// goroutine.
func (c *Consumer) ownCommitDone() {
	co := &c.commits
	co.mu.Lock()
	if len(co.queue) == 0 {
		co.running = false
	} else {
		go c.flushCommits()
	}
	co.mu.Unlock()
}

// commitDeadline returns ctx and its deadline, or, when ctx has none, ctx
// bounded by request.timeout.ms from now with the cancel that releases it
// (nil otherwise): the bound of one commit call, sync or not.
func (c *Consumer) commitDeadline(ctx context.Context) (context.Context, time.Time, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return ctx, d, nil
	}
	d := time.Now().Add(c.cfg.RequestTimeout)
	ctx, cancel := context.WithDeadline(ctx, d)
	return ctx, d, cancel
}

// commitAsync is commit for a caller that does not wait: done receives the
// outcome commit would return, once. With nothing in flight the request
// is written on the calling goroutine and whoever reads its response
// settles the call (ownCommit: no goroutine waits for it); otherwise the
// call queues as in commit and the flushCommits goroutine, or the end of
// ctx, settles it. done runs on an engine goroutine (or on the calling
// one, before commitAsync returns, when there is nothing to commit or the
// request cannot be written), possibly holding a connection's read role:
// it must return quickly and never wait for I/O.
func (c *Consumer) commitAsync(ctx context.Context, compute func() map[TopicPartition]int64, background bool, done func(error)) {
	co := &c.commits
	w := &commitWaiter{background: background, finish: done}
	ctx, deadline, cancel := c.commitDeadline(ctx)
	w.deadline = deadline
	if cancel != nil {
		w.finish = func(err error) {
			cancel()
			done(err)
		}
	}
	co.mu.Lock()
	w.offsets = compute()
	if len(w.offsets) == 0 {
		co.mu.Unlock()
		w.settle(nil)
		return
	}
	if !co.running {
		co.running = true
		w.sent, w.reqDeadline = true, w.deadline
		co.mu.Unlock()
		c.sendCommitAsync(ctx, w.offsets, background, func(errs map[TopicPartition]error, all error) {
			c.ownCommitDone()
			w.settle(waiterErr(w.offsets, errs, all))
		})
		return
	}
	co.queue = append(co.queue, w)
	// No goroutine waits for ctx: context.AfterFunc runs the give-up
	// only if ctx ends first (settle stops the watch).
	w.stopWatch = context.AfterFunc(ctx, func() { c.commitGaveUp(ctx, w) })
	co.mu.Unlock()
}

// commitGaveUp is what commit does when the caller's ctx ends first, for a
// caller that does not wait (commitAsync): a call still queued is
// withdrawn; a call in a request that ends by the caller's own deadline
// gets that request's outcome (soon); otherwise the call ends now.
func (c *Consumer) commitGaveUp(ctx context.Context, w *commitWaiter) {
	co := &c.commits
	co.mu.Lock()
	if !w.sent {
		if i := slices.Index(co.queue, w); i >= 0 {
			co.queue = slices.Delete(co.queue, i, i+1)
		}
		co.mu.Unlock()
		w.settle(commitTimeout(ctx))
		return
	}
	ownRequest := errors.Is(ctx.Err(), context.DeadlineExceeded) && !w.deadline.Before(w.reqDeadline)
	co.mu.Unlock()
	if !ownRequest {
		w.settle(commitTimeout(ctx))
	}
}

// commitTimeout is the error of a commit call that gave up waiting.
func commitTimeout(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &wire.Error{Code: wire.ErrTimedOut, Detail: "commit not acknowledged before the deadline (the offsets may still be committed)"}
	}
	return &wire.Error{Code: wire.ErrInterrupted, Detail: "commit interrupted (the offsets may still be committed)"}
}

// flushCommits sends the queued commits, one request at a time, until the
// queue is empty. At most one sender (a caller sending its own request,
// or this goroutine) runs per consumer (commitCoalescer.running).
func (c *Consumer) flushCommits() {
	co := &c.commits
	for {
		co.mu.Lock()
		if len(co.queue) == 0 {
			co.running = false
			co.mu.Unlock()
			return
		}
		n := 1
		for n < len(co.queue) && co.queue[n].background == co.queue[0].background {
			n++
		}
		batch := slices.Clone(co.queue[:n])
		co.queue = slices.Delete(co.queue, 0, n)
		merged := map[TopicPartition]int64{}
		var deadline time.Time
		for _, w := range batch {
			for tp, off := range w.offsets {
				merged[tp] = off // the latest call per partition wins
			}
			if w.deadline.After(deadline) {
				deadline = w.deadline
			}
		}
		for _, w := range batch {
			w.sent, w.reqDeadline = true, deadline
		}
		co.mu.Unlock()

		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		errs, all := c.sendCommit(ctx, merged, batch[0].background)
		cancel()
		for _, w := range batch {
			w.settle(waiterErr(w.offsets, errs, all))
		}
	}
}

// waiterErr is the outcome of a call that named offsets' partitions: all
// when the whole request failed, else the first failure of its partitions
// (in partition order) other than NOT_ASSIGNED, else a NOT_ASSIGNED one.
func waiterErr(offsets map[TopicPartition]int64, errs map[TopicPartition]error, all error) error {
	if all != nil {
		return all
	}
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	sortTPs(tps)
	var notAssigned error
	for _, tp := range tps {
		err := errs[tp]
		if err == nil {
			continue
		}
		if wire.CodeOf(err) != wire.ErrNotAssigned {
			return err
		}
		if notAssigned == nil {
			notAssigned = err
		}
	}
	return notAssigned
}
