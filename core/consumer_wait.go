package core

import (
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// kernelWait is the wake-up pipe PollWait blocks on: the consumer rings it
// (its notify hook) whenever a poll would have something to return:
// records, a rebalance event or an error, or Close. Opened by the first
// PollWait, closed by Close.
type kernelWait struct {
	hook   sync.Once // installs ring as the consumer's notify hook
	mu     sync.Mutex
	wake   *wakePipe // guarded by mu; nil until the first PollWait
	closed bool      // guarded by mu
}

// pipe returns the open pipe (opening it on the first call).
func (k *kernelWait) pipe() (*wakePipe, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, &wire.Error{Code: wire.ErrClientClosed, Detail: "consumer is closed"}
	}
	if k.wake == nil {
		w, err := openWakePipe()
		if err != nil {
			return nil, err
		}
		k.wake = w
	}
	return k.wake, nil
}

// ring is the consumer's notify hook: it may run with the consumer's mu
// held (lock order: Consumer.mu, then k.mu), and writes after releasing
// k.mu (see wakePipe).
func (k *kernelWait) ring() {
	k.mu.Lock()
	ring := k.wake != nil && k.wake.signal()
	k.mu.Unlock()
	if ring {
		k.wake.ring()
	}
}

// close gets PollWait callers out and closes the pipe once the last has
// left (see wakePipe.close).
func (k *kernelWait) close() {
	k.mu.Lock()
	k.closed = true
	ring := k.wake != nil && k.wake.close()
	k.mu.Unlock()
	if ring {
		k.wake.ring()
	}
}

// PollWait is PollEvents for a caller that blocks on a thread of its own,
// typically one locked to a foreign runtime (a cgo callback, the C ABI):
// it waits up to timeout (0: not at all) in the kernel, in ppoll(2) on a
// pipe the consumer writes to when something arrives, instead of parking
// a goroutine, which on such a thread costs two scheduler hand-offs per
// wake-up (see wakePipe). max <= 0 means max.poll.records. Returns nothing
// and no error when timeout passes first; CLIENT_CLOSED once the consumer
// is closed, also to a PollWait blocked then. The pipe (two descriptors)
// is opened by the first call and closed by Close. Safe for concurrent
// use.
func (c *Consumer) PollWait(max int, timeout time.Duration) ([]*Record, []RebalanceEvent, error) {
	return c.pollWait(max, timeout, nil)
}

// PollWaitFunc is PollWait for a caller that copies the records out at
// once (the C ABI's gofka_consumer_poll): fn gets what PollWait would
// return, when there is anything, and the records are only valid until
// fn returns (see PollEventsFunc). The error is PollWait's. fn runs on the
// calling thread, with no lock held.
func (c *Consumer) PollWaitFunc(max int, timeout time.Duration, fn func([]*Record, []RebalanceEvent)) error {
	return lend(func(loan *pollLoan) ([]*Record, []RebalanceEvent, error) { return c.pollWait(max, timeout, loan) }, fn)
}

// pollWait is PollWait, lending the records with a loan.
func (c *Consumer) pollWait(max int, timeout time.Duration, loan *pollLoan) ([]*Record, []RebalanceEvent, error) {
	// The hook is in place before any caller gets the pipe, so none
	// looks before the wake-ups it needs are rung. (Not under kw.mu: the
	// hook takes kw.mu under c.mu.)
	c.kw.hook.Do(func() {
		c.mu.Lock()
		c.notify = c.kw.ring
		c.mu.Unlock()
	})
	w, err := c.kw.pipe()
	if err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		// Cleared before looking: whatever arrives after the look
		// signals again, so the wait below cannot miss it.
		c.kw.mu.Lock()
		w.clear()
		c.kw.mu.Unlock()
		recs, evs, err := c.pollEvents(nil, max, loan)
		if err != nil || len(recs) > 0 || len(evs) > 0 {
			return recs, evs, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil, nil
		}
		c.kw.mu.Lock()
		if !w.signaled {
			w.wait(&c.kw.mu, -1, left)
		}
		c.kw.mu.Unlock()
	}
}
