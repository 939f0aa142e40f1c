package core

// The idempotent producer (enable.idempotence): its producer id and
// epoch (InitProducerId, KIP-360 epoch bumps) and the reset of every
// partition's sequence numbers when they change. Sequences themselves are
// assigned per batch by the sinks (sink.go).

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// idemState is the idempotent producer's id and epoch. Sinks send only
// while it is ready; a bump (new epoch, sequences back to 0) waits until no
// batch is in flight.
type idemState struct {
	enabled bool

	mu         sync.Mutex
	pid        int64 // guarded by mu; -1 until obtained
	epoch      int16 // guarded by mu
	have       bool  // guarded by mu: pid is valid
	bumpNeeded bool  // guarded by mu
	fails      int   // guarded by ensureMu: InitProducerId failures in a row

	// ensureMu is held through ensure, which runs on the metadata
	// goroutine and, for the first id, on a caller of Producer.Connect.
	ensureMu sync.Mutex

	ready    atomic.Bool // have && !bumpNeeded
	curPID   atomic.Int64
	curEpoch atomic.Int32
}

func (s *idemState) canSend() bool { return !s.enabled || s.ready.Load() }

func (s *idemState) current() (int64, int16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid, s.epoch
}

// pidNow and epochNow read the current id and epoch without the lock
// (they change only while nothing is in flight; see ensure).
func (s *idemState) pidNow() int64   { return s.curPID.Load() }
func (s *idemState) epochNow() int16 { return int16(s.curEpoch.Load()) }

// requestBump stops sending until the metadata goroutine has bumped the
// epoch (see ensure).
func (s *idemState) requestBump(p *Producer) {
	s.mu.Lock()
	s.bumpNeeded = true
	s.ready.Store(false)
	s.mu.Unlock()
	if p.txn != nil {
		// A transactional producer bumps only when the transaction is
		// aborted (AbortTransaction; core/txn.go).
		p.txn.stateLost(nil)
		return
	}
	p.triggerMetaOnly()
}

// ensure obtains a producer id, or bumps the epoch once nothing is in
// flight, and then resets every partition's sequence numbers. It runs on
// the metadata goroutine (ctx: the producer's), or on a caller of Connect
// for the first id (ensureFirst); ensureMu serialises the two, and the
// second one to run finds the id there.
func (s *idemState) ensure(ctx context.Context, p *Producer) error {
	if p.txn != nil {
		return nil // InitTransactions and AbortTransaction do it (core/txn.go)
	}
	s.ensureMu.Lock()
	defer s.ensureMu.Unlock()
	return s.ensureLocked(ctx, p)
}

// ensureLocked is ensure; ensureMu held.
func (s *idemState) ensureLocked(ctx context.Context, p *Producer) error {
	s.mu.Lock()
	if s.have && !s.bumpNeeded {
		s.mu.Unlock()
		return nil
	}
	bump := s.have
	pid, epoch := s.pid, s.epoch
	s.mu.Unlock()
	if bump {
		// Wait for the requests in flight to settle (they end within the
		// request timeout); sinks send nothing meanwhile.
		deadline := time.Now().Add(p.cfg.RequestTimeout + 2*time.Second)
		for p.inflightBatches.Load() > 0 && time.Now().Before(deadline) {
			select {
			case <-p.quit:
				return &wire.Error{Code: wire.ErrClientClosed}
			case <-time.After(2 * time.Millisecond):
			}
		}
	} else {
		pid, epoch = -1, -1
	}
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	newPID, newEpoch, err := p.initProducerID(ctx, pid, epoch)
	if err != nil && bump {
		// The broker would not bump this id (e.g. it does not know it any
		// more): start over with a new one.
		newPID, newEpoch, err = p.initProducerID(ctx, -1, -1)
	}
	if err != nil {
		s.fails++
		// The broker's refusal fails what waits for the id; the end of
		// the caller's ctx (Connect's) fails nothing.
		if caller.Err() == nil && !wire.CodeOf(err).Retriable() {
			p.failAllQueued(err)
		}
		return err
	}
	s.fails = 0
	s.install(p, newPID, newEpoch)
	return nil
}

// ensureFirst obtains the first producer id on the caller's goroutine,
// within ctx, unless there is one already (a bump is left to the metadata
// goroutine: it waits for the batches in flight) or the metadata goroutine
// is at it (then the caller does not wait for it either).
func (s *idemState) ensureFirst(ctx context.Context, p *Producer) error {
	if p.txn != nil || !s.ensureMu.TryLock() {
		return nil
	}
	defer s.ensureMu.Unlock()
	s.mu.Lock()
	have := s.have
	s.mu.Unlock()
	if have {
		return nil
	}
	return s.ensureLocked(ctx, p)
}

// install makes pid/epoch the producer's and restarts every partition's
// sequences at 0; nothing may be in flight (sinks send nothing while ready
// is false, and the callers wait for the batches in flight first).
func (s *idemState) install(p *Producer, newPID int64, newEpoch int16) {
	p.topics.Range(func(_, v any) bool {
		for _, pb := range v.(*topicState).partitions() {
			pb.mu.Lock()
			pb.nextSeq = 0
			pb.seqConfirmed = false
			for _, b := range pb.batches {
				if !b.inflight {
					b.seq = -1
				}
			}
			if pb.inflight == 0 {
				pb.sendIdx = 0
			}
			pb.mu.Unlock()
		}
		return true
	})
	s.mu.Lock()
	if s.have {
		p.stats.bumps.Add(1)
	}
	s.pid, s.epoch, s.have, s.bumpNeeded = newPID, newEpoch, true, false
	s.curPID.Store(newPID)
	s.curEpoch.Store(int32(newEpoch))
	s.ready.Store(true)
	s.mu.Unlock()
	p.wakeAllSinks()
}

// initProducerID asks any broker for a producer id (pid -1) or for the
// next epoch of pid (KIP-360; brokers before 2.5 hand out a new id).
func (p *Producer) initProducerID(ctx context.Context, pid int64, epoch int16) (int64, int16, error) {
	req := &wire.InitProducerIdRequest{TransactionTimeoutMs: math.MaxInt32, ProducerId: pid, ProducerEpoch: epoch}
	resp, err := p.cl.Request(ctx, -1, req)
	if err != nil {
		return 0, 0, err
	}
	r := resp.(*wire.InitProducerIdResponse)
	if r.ErrorCode != 0 {
		return 0, 0, &wire.Error{Code: wire.ErrorCode(r.ErrorCode), Detail: "InitProducerId"}
	}
	return r.ProducerId, r.ProducerEpoch, nil
}

// failAllQueued fails every record not in flight with err (the idempotent
// producer cannot get an id: nothing can be sent).
func (p *Producer) failAllQueued(err error) {
	p.topics.Range(func(_, v any) bool {
		ts := v.(*topicState)
		for _, pb := range ts.partitions() {
			pb.mu.Lock()
			var done []*recBatch
			if pb.inflight == 0 {
				done = pb.batches
				pb.batches, pb.open, pb.sendIdx = nil, nil, 0
			}
			pb.mu.Unlock()
			for _, b := range done {
				p.finishBatch(b, partResult{err: err, base: -1, logAppendTime: -1})
			}
		}
		return true
	})
}
