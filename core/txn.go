package core

// The transactional producer (transactional.id): the Java client's
// transactions on top of the idempotent producer.
//
// Protocol, chosen at InitTransactions from the coordinator's ApiVersions:
//
//   - transaction protocol v2 (KIP-890 part 2) when the broker finalized
//     the feature transaction.version >= 2 and offers Produce v12, EndTxn
//     v5 and TxnOffsetCommit v5: the first Produce (v12) of a partition
//     adds it to the transaction, offsets go straight to TxnOffsetCommit
//     v5, and every EndTxn (v5) bumps the epoch, returning the id and
//     epoch to use next (sequences restart at 0).
//   - otherwise transaction protocol v1 (KIP-98 as amended by KIP-360 and
//     KIP-447): each partition is added with AddPartitionsToTxn before its
//     first batch of the transaction is sent (the sinks hold its batches
//     back until then: txnManager.admit), offsets with AddOffsetsToTxn then
//     TxnOffsetCommit v4, and EndTxn (v4 at most) keeps the epoch. Produce
//     is capped at v11 so that the broker does not treat it as v2.
//
// Threading: the public calls (InitTransactions, CommitTransaction,
// AbortTransaction, SendOffsetsToTransaction) are serialised by opMu;
// BeginTransaction and the produce calls only look at the state under mu.
// One goroutine per producer (loop) adds partitions to the transaction and
// fails the buffered records when the transaction enters an error state.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// TxnError is the error of a transactional call (or of a record produced
// in a transaction) that changed the producer's transaction state:
//
//   - Fatal: the producer can do nothing more but Close (fenced by a newer
//     producer with the same transactional.id, not authorized, ...). Start
//     a new producer.
//   - otherwise abortable: the transaction cannot commit; call
//     AbortTransaction and go on with a new transaction.
//
// Err is the cause; wire.CodeOf(err) sees through TxnError.
type TxnError struct {
	Fatal bool
	Err   error
}

func (e *TxnError) Error() string {
	if e.Fatal {
		return "fatal transactional producer error (close the producer): " + e.Err.Error()
	}
	return "abortable transaction error (abort the transaction): " + e.Err.Error()
}

func (e *TxnError) Unwrap() error { return e.Err }

// IsTxnFatal reports whether err (from a transactional producer) means the
// producer must be closed.
func IsTxnFatal(err error) bool {
	te, ok := errors.AsType[*TxnError](err)
	return ok && te.Fatal
}

// IsTxnAbortable reports whether err (from a transactional producer) means
// the current transaction must be aborted (AbortTransaction) before the
// producer can go on.
func IsTxnAbortable(err error) bool {
	te, ok := errors.AsType[*TxnError](err)
	return ok && !te.Fatal
}

// txnManager is the transaction state of a transactional producer.
type txnManager struct {
	p       *Producer
	id      string
	timeout time.Duration

	opMu sync.Mutex // serialises InitTransactions, Commit, Abort and SendOffsets

	mu       sync.Mutex
	state    txnState              // guarded by mu
	err      *TxnError             // guarded by mu: set in the error states
	gen      uint64                // guarded by mu: number of the current (or last) transaction
	pending  map[*partBuf]struct{} // guarded by mu: partitions to add to transaction gen
	added    int                   // guarded by mu: partitions added to the current transaction
	groups   map[string]bool       // guarded by mu: groups whose offsets are in the current transaction
	needBump bool                  // guarded by mu: the abort must bump the epoch (a dropped batch had sequence numbers)
	coord    int32                 // guarded by mu: the coordinator's node id, -1 unknown

	v2         atomic.Bool   // transaction protocol v2 (set by InitTransactions)
	open       atomic.Uint64 // the transaction whose batches may be sent; 0 none
	wake       chan struct{} // capacity 1: wakes loop
	dropWanted atomic.Bool   // loop must fail the buffered records (error state entered)

	// settling: an EndTxn succeeded and the coordinator may still be
	// completing that transaction (writing its markers, then its
	// CompleteCommit or CompleteAbort). Until it is complete the
	// coordinator refuses to add a partition to the next transaction with
	// CONCURRENT_TRANSACTIONS, which costs a retry backoff: ours for
	// AddPartitionsToTxn (protocol v1), the broker's own for the Produce
	// that adds the partition (v2: add.partitions.to.txn.retry.backoff.ms,
	// 20 ms, repeated up to 100 ms). So loop holds back the next
	// transaction's first addition until DescribeTransactions reports the
	// previous one complete (settle). Set by endTxn; cleared by loop, with
	// mu held so that admit sees it change together with pending.
	settling atomic.Bool
	// noDescribe: the coordinator does not answer DescribeTransactions
	// (an older broker, or DESCRIBE refused): settle does not wait.
	noDescribe atomic.Bool
}

// Settle polling (txnManager.settle): DescribeTransactions is asked at
// once, then after waits growing from settlePollMin to settlePollMax, for
// request.timeout.ms at most. A poll is one small request to the
// coordinator; the markers of a transaction usually take a few
// milliseconds, a broker-side retry of the add 20.
const (
	settlePollMin = 500 * time.Microsecond
	settlePollMax = 5 * time.Millisecond
	// concurrentTxnBackoff bounds the retry backoff of an
	// AddPartitionsToTxn refused with CONCURRENT_TRANSACTIONS while no
	// partition is in the transaction yet: the previous transaction is
	// still completing, which takes milliseconds, not retry.backoff.ms
	// (the Java client and librdkafka use 20 ms there too).
	concurrentTxnBackoff = 20 * time.Millisecond
)

func newTxnManager(p *Producer) *txnManager {
	return &txnManager{p: p, id: p.cfg.TransactionalID, timeout: p.cfg.TransactionTimeout,
		pending: make(map[*partBuf]struct{}), coord: -1, wake: make(chan struct{}, 1)}
}

// txnOf returns the producer's transaction manager, or INVALID_ARGUMENT
// for a producer without transactional.id.
func (p *Producer) txnOf(op string) (*txnManager, error) {
	if p.txn == nil {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: op + ": the producer has no transactional.id"}
	}
	if err := p.closedErr(); err != nil {
		return nil, err
	}
	return p.txn, nil
}

// txnBound is the bound of a transactional call whose ctx has no deadline:
// delivery.timeout.ms, the longest a commit's flush can take.
func (p *Producer) txnBound(ctx context.Context) (context.Context, context.CancelFunc) {
	return p.cl.withTimeout(ctx, p.cfg.DeliveryTimeout)
}

// InitTransactions registers the transactional.id with its transaction
// coordinator and obtains the producer id and epoch, fencing any earlier
// producer with the same transactional.id (its open transaction is
// aborted). Call it once, before the first BeginTransaction. Blocks up to
// ctx's end (delivery.timeout.ms when ctx has no deadline); after a
// timeout it may be called again.
func (p *Producer) InitTransactions(ctx context.Context) error {
	t, err := p.txnOf("InitTransactions")
	if err != nil {
		return err
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	t.mu.Lock()
	if err := t.admitLocked("InitTransactions", []txnState{txnUninitialized, txnInitializing}, txnFatalError); err != nil {
		t.mu.Unlock()
		return err
	}
	t.state = txnInitializing
	t.mu.Unlock()
	ctx, cancel := p.txnBound(ctx)
	defer cancel()
	pid, epoch, err := t.initProducerID(ctx, -1, -1)
	if err != nil {
		return t.fail(err, false)
	}
	t.v2.Store(t.offersV2(ctx))
	p.idem.install(p, pid, epoch)
	t.mu.Lock()
	if t.state == txnInitializing {
		t.state = txnReady
	}
	t.mu.Unlock()
	return nil
}

// offersV2 reports whether the transaction coordinator offers transaction
// protocol v2: the finalized feature transaction.version >= 2 and the
// request versions that go with it. The partition leaders are assumed to
// run the coordinator's version (a cluster being upgraded may not: its
// leaders still on an older version would take Produce v11, without the
// implicit add, and refuse the batch).
func (t *txnManager) offersV2(ctx context.Context) bool {
	node, err := t.coordinator(ctx)
	if err != nil {
		return false
	}
	cn, err := t.p.cl.brokerConn(ctx, node)
	if err != nil {
		return false
	}
	has := func(req wire.Request, v int16) bool {
		r, ok := cn.versions[req.APIKey()]
		return ok && r[1] >= v
	}
	return cn.txnVersion >= 2 && has(&wire.ProduceRequest{}, 12) && has(&wire.EndTxnRequest{}, 5) &&
		has(&wire.TxnOffsetCommitRequest{}, 5)
}

// initProducerID asks the coordinator for the id and epoch of the
// transactional.id; with pid/epoch set (KIP-360) it bumps that epoch.
func (t *txnManager) initProducerID(ctx context.Context, pid int64, epoch int16) (int64, int16, error) {
	resp, err := t.call(ctx, "InitProducerId", func() wire.Request {
		return &wire.InitProducerIdRequest{TransactionalId: &t.id, TransactionTimeoutMs: int32(t.timeout / time.Millisecond),
			ProducerId: pid, ProducerEpoch: epoch}
	}, func(r wire.Response) wire.ErrorCode {
		return wire.ErrorCode(r.(*wire.InitProducerIdResponse).ErrorCode)
	})
	if err != nil {
		return 0, 0, err
	}
	r := resp.(*wire.InitProducerIdResponse)
	return r.ProducerId, r.ProducerEpoch, nil
}

// BeginTransaction starts a transaction: records produced from now until
// CommitTransaction or AbortTransaction belong to it. Local only (no
// network I/O); the producer must be ready (InitTransactions done, the
// previous transaction ended).
func (p *Producer) BeginTransaction() error {
	t, err := p.txnOf("BeginTransaction")
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.admitLocked("BeginTransaction", []txnState{txnReady}, txnFatalError); err != nil {
		return err
	}
	t.gen++
	t.state = txnInTransaction
	t.added = 0
	t.groups = nil
	clear(t.pending)
	t.open.Store(t.gen)
	return nil
}

// checkSend is the transactional producer's admission of a new record:
// only inside a transaction, and not after an error.
func (t *txnManager) checkSend() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.state {
	case txnInTransaction:
		return nil
	case txnAbortableError, txnFatalError:
		return t.err
	}
	return txnStateError("produce (call BeginTransaction first)", t.state)
}

// CommitTransaction sends every record of the transaction (Flush), then
// commits it: its records and offsets (SendOffsetsToTransaction) become
// visible to read_committed consumers. When a record of the transaction
// failed, or the coordinator refuses, the transaction cannot commit: the
// error is a TxnError (IsTxnAbortable: call AbortTransaction; IsTxnFatal:
// Close). Blocks up to ctx's end (delivery.timeout.ms when ctx has no
// deadline); after a timeout (TIMED_OUT) the transaction is still
// committing and CommitTransaction may be called again.
func (p *Producer) CommitTransaction(ctx context.Context) error {
	t, err := p.txnOf("CommitTransaction")
	if err != nil {
		return err
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	t.mu.Lock()
	if err := t.admitLocked("CommitTransaction", []txnState{txnInTransaction, txnCommitting},
		txnAbortableError, txnFatalError); err != nil {
		t.mu.Unlock()
		return err
	}
	t.state = txnCommitting
	t.mu.Unlock()
	ctx, cancel := p.txnBound(ctx)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		return err
	}
	t.mu.Lock()
	if t.state != txnCommitting { // a record failed: abortable or fatal
		err := t.err
		t.mu.Unlock()
		return err
	}
	empty := t.added == 0 && len(t.groups) == 0
	t.mu.Unlock()
	if !empty { // nothing reached the coordinator: nothing to end
		if err := t.endTxn(ctx, true); err != nil {
			return t.fail(err, true)
		}
	}
	t.finish()
	return nil
}

// AbortTransaction ends the transaction without committing it: records
// not sent yet fail with OPERATION_NOT_ATTEMPTED (their promises are
// called), records in flight are waited for, and the coordinator aborts
// what was written, which read_committed consumers then never see. It is
// the way out of an abortable error. Blocks up to ctx's end
// (delivery.timeout.ms when ctx has no deadline); after a timeout it may
// be called again.
func (p *Producer) AbortTransaction(ctx context.Context) error {
	t, err := p.txnOf("AbortTransaction")
	if err != nil {
		return err
	}
	t.opMu.Lock()
	defer t.opMu.Unlock()
	t.mu.Lock()
	if err := t.admitLocked("AbortTransaction", []txnState{txnInTransaction, txnAbortableError, txnAborting},
		txnFatalError); err != nil {
		t.mu.Unlock()
		return err
	}
	t.state = txnAborting
	t.open.Store(0) // nothing more goes out
	clear(t.pending)
	t.mu.Unlock()
	ctx, cancel := p.txnBound(ctx)
	defer cancel()

	aborted := &wire.Error{Code: wire.ErrOperationNotAttempted, Detail: "the transaction was aborted before the record was sent"}
	bump := p.txnDropUnsent(aborted)
	// Batches in flight settle (written or not, the abort covers them);
	// those that come back for a retry are dropped too.
	for p.inflightBatches.Load() > 0 {
		select {
		case <-ctx.Done():
			return &wire.Error{Code: wire.ErrTimedOut, Detail: "AbortTransaction: waiting for the records in flight"}
		case <-p.quit:
			return &wire.Error{Code: wire.ErrClientClosed, Detail: "producer is closed"}
		case <-time.After(2 * time.Millisecond):
		}
	}
	if p.txnDropUnsent(aborted) {
		bump = true
	}
	t.mu.Lock()
	if t.state != txnAborting {
		err := t.err
		t.mu.Unlock()
		return err
	}
	t.needBump = t.needBump || bump
	empty := t.added == 0 && len(t.groups) == 0
	t.mu.Unlock()
	if !empty {
		if err := t.endTxn(ctx, false); err != nil {
			return t.fail(err, false)
		}
	}
	p.idem.mu.Lock()
	lost := p.idem.bumpNeeded
	p.idem.mu.Unlock()
	t.mu.Lock()
	bump = t.needBump || lost
	t.mu.Unlock()
	if bump {
		// Sequence numbers of dropped batches (or the broker's producer
		// state) are lost: a new epoch restarts every partition at 0
		// (KIP-360).
		pid, epoch := p.idem.current()
		npid, nepoch, err := t.initProducerID(ctx, pid, epoch)
		if err != nil {
			return t.fail(err, false)
		}
		p.idem.install(p, npid, nepoch)
		t.mu.Lock()
		t.needBump = false
		t.mu.Unlock()
	}
	t.finish()
	return nil
}

// finish ends the current transaction: the producer is ready for the next.
func (t *txnManager) finish() {
	t.mu.Lock()
	t.state = txnReady
	t.open.Store(0)
	t.added = 0
	t.groups = nil
	clear(t.pending)
	t.mu.Unlock()
}

// endTxn commits or aborts the transaction at the coordinator. On
// transaction protocol v1 EndTxn is capped at v4 (no epoch bump); on v2 it
// is v5, and the id and epoch it returns are installed (nothing is in
// flight at the end of a transaction), which restarts the sequences.
func (t *txnManager) endTxn(ctx context.Context, commit bool) error {
	pid, epoch := t.p.idem.current()
	v2 := t.v2.Load()
	resp, err := t.call(ctx, "EndTxn", func() wire.Request {
		req := &wire.EndTxnRequest{TransactionalId: t.id, ProducerId: pid, ProducerEpoch: epoch, Committed: commit}
		if v2 {
			return req
		}
		return versionCap{req, 4}
	}, func(r wire.Response) wire.ErrorCode { return wire.ErrorCode(r.(*wire.EndTxnResponse).ErrorCode) })
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.settling.Store(true) // the coordinator now writes the markers (see settling)
	t.mu.Unlock()
	if r := resp.(*wire.EndTxnResponse); v2 && r.ProducerId >= 0 && r.ProducerEpoch >= 0 {
		t.p.idem.install(t.p, r.ProducerId, r.ProducerEpoch)
		t.mu.Lock()
		t.needBump = false
		t.mu.Unlock()
	}
	return nil
}

// fail classifies err from a transactional call and moves the state:
// fatal codes to fatalError; TIMED_OUT, CLIENT_CLOSED and (unless
// abortable is set) other errors leave the state as it is, so that the
// call may be retried; with abortable set, other errors move the
// transaction to abortableError. It returns the error to give the caller.
func (t *txnManager) fail(err error, abortable bool) error {
	code := wire.CodeOf(err)
	switch {
	case txnFatalCode(code):
		return t.setError(err, true)
	case code == wire.ErrTimedOut || code == wire.ErrClientClosed || code == wire.ErrInterrupted:
		return err
	case abortable || code == wire.ErrTransactionAbortable:
		return t.setError(err, false)
	}
	return err
}

// setError moves the producer to fatalError (fatal) or, from a transaction
// in progress, to abortableError, and has loop fail the records still
// buffered. It returns the (new or existing) TxnError.
func (t *txnManager) setError(err error, fatal bool) error {
	if te, ok := errors.AsType[*TxnError](err); ok {
		err = te.Err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.state == txnFatalError:
		return t.err
	case fatal:
		t.state = txnFatalError
	case t.state == txnInTransaction || t.state == txnCommitting || t.state == txnAborting:
		t.state = txnAbortableError
	case t.state == txnAbortableError:
		return t.err
	default:
		return err
	}
	t.err = &TxnError{Fatal: fatal, Err: err}
	t.open.Store(0)
	clear(t.pending)
	t.dropWanted.Store(true)
	poke(t.wake)
	return t.err
}

// recordFailed is told of every batch of the producer that failed (from
// finishBatch, before its promises run): in a transaction it makes the
// transaction abortable (it cannot commit without the records), or the
// producer fatal for a fencing error, and returns the error the promises
// get: the TxnError (wire.CodeOf still gives the code), also when the
// batch's own failure already moved the state (stateLost). Failures while
// aborting (the records the abort drops) change nothing.
func (t *txnManager) recordFailed(err error) error {
	if _, ok := errors.AsType[*TxnError](err); ok {
		return err
	}
	t.mu.Lock()
	st := t.state
	t.mu.Unlock()
	switch st {
	case txnInTransaction, txnCommitting, txnAbortableError, txnFatalError:
	default:
		return err
	}
	terr := t.setError(err, txnFatalBatchCode(wire.CodeOf(err)))
	if te, ok := errors.AsType[*TxnError](terr); ok && te.Err != err {
		// An earlier error set the state: this record keeps its own cause.
		return &TxnError{Fatal: te.Fatal, Err: err}
	}
	return terr
}

// stateLost is requestBump for a transactional producer: a batch failed
// in a way that leaves its partition's sequence numbers unknown (the
// broker lost the producer's state, refused a sequence number, or a batch
// that may have been written failed): the transaction cannot commit, and
// its abort bumps the epoch. cause is the batch's error (nil: unknown).
func (t *txnManager) stateLost(cause error) {
	t.mu.Lock()
	t.needBump = true
	t.mu.Unlock()
	if cause == nil {
		cause = &wire.Error{Code: wire.ErrOutOfOrderSequenceNumber, Detail: "the producer's sequence numbers are out of step with the broker's"}
	}
	t.setError(cause, txnFatalBatchCode(wire.CodeOf(cause)))
}

// admit reports whether a batch of pb may be sent now (called by
// takeReady, pb.mu held): only while a transaction is open and once pb was
// added to it. Otherwise it asks loop to add pb (the sink is woken when it
// is added).
func (t *txnManager) admit(pb *partBuf) bool {
	g := t.open.Load()
	if g == 0 {
		return false
	}
	if pb.txnGen.Load() == g {
		return true
	}
	t.mu.Lock()
	if t.v2.Load() {
		// Produce v12 adds the partition itself, once the previous
		// transaction is complete (settling: loop waits for that).
		if t.settling.Load() {
			t.admitLaterLocked(pb, g)
			t.mu.Unlock()
			return false
		}
		ok := t.gen == g && (t.state == txnInTransaction || t.state == txnCommitting)
		if ok {
			pb.txnGen.Store(g)
			t.added++
		}
		t.mu.Unlock()
		return ok
	}
	t.admitLaterLocked(pb, g)
	t.mu.Unlock()
	return false
}

// admitLaterLocked (t.mu held) queues pb for loop, which adds it to
// transaction g (AddPartitionsToTxn on protocol v1) or, on v2, lets it be
// sent once the previous transaction is complete (settle).
func (t *txnManager) admitLaterLocked(pb *partBuf, g uint64) {
	if t.gen == g && (t.state == txnInTransaction || t.state == txnCommitting) {
		if _, ok := t.pending[pb]; !ok {
			t.pending[pb] = struct{}{}
			poke(t.wake)
		}
	}
}

// loop is the transaction goroutine: it adds partitions to the open
// transaction and fails the buffered records when the transaction enters
// an error state.
func (t *txnManager) loop() {
	defer t.p.wg.Done()
	for {
		select {
		case <-t.wake:
		case <-t.p.quit:
			return
		}
		if t.dropWanted.Swap(false) {
			t.mu.Lock()
			err := t.err
			t.mu.Unlock()
			if t.p.txnDropUnsent(err) {
				t.mu.Lock()
				t.needBump = true
				t.mu.Unlock()
			}
		}
		t.addPending()
	}
}

// pendingLive reports whether partitions wait in pending for the open
// transaction (t.mu not held).
func (t *txnManager) pendingLive() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return (t.state == txnInTransaction || t.state == txnCommitting) && len(t.pending) > 0 && t.open.Load() == t.gen
}

// addPending adds the partitions waiting in pending to the transaction
// (AddPartitionsToTxn), retrying until they are added, the transaction
// ends or errs, or the producer closes. First, when the previous
// transaction may still be completing, it waits for that (settle). On
// transaction protocol v2 that is all: the partitions' sinks are woken and
// their first Produce adds them.
func (t *txnManager) addPending() {
	p := t.p
	if !t.pendingLive() {
		return
	}
	if t.settling.Load() && !t.settle() {
		return // the transaction ended or erred meanwhile
	}
	if t.v2.Load() {
		t.mu.Lock()
		n := len(t.pending)
		clear(t.pending)
		t.mu.Unlock()
		if n > 0 {
			p.wakeAllSinks()
		}
		return
	}
	concurrent := false // the last round was refused with CONCURRENT_TRANSACTIONS
	for attempt := 0; ; attempt++ {
		t.mu.Lock()
		g := t.gen
		if (t.state != txnInTransaction && t.state != txnCommitting) || len(t.pending) == 0 || t.open.Load() != g {
			t.mu.Unlock()
			return
		}
		parts := make([]*partBuf, 0, len(t.pending))
		for pb := range t.pending {
			parts = append(parts, pb)
		}
		added := t.added
		t.mu.Unlock()
		if attempt > 0 {
			d := p.cfg.Retry.JitteredBackoff(min(attempt-1, 4))
			if concurrent && added == 0 {
				d = min(d, concurrentTxnBackoff)
			}
			if p.cfg.Retry.sleep(p.ctx, d) != nil {
				return // closing
			}
		}
		slices.SortFunc(parts, func(a, b *partBuf) int {
			if a.topic != b.topic {
				if a.topic < b.topic {
					return -1
				}
				return 1
			}
			return int(a.partition - b.partition)
		})
		pid, epoch := p.idem.current()
		req := &wire.AddPartitionsToTxnRequest{V3AndBelowTransactionalId: t.id, V3AndBelowProducerId: pid, V3AndBelowProducerEpoch: epoch}
		for _, pb := range parts {
			if n := len(req.V3AndBelowTopics); n > 0 && req.V3AndBelowTopics[n-1].Name == pb.topic {
				req.V3AndBelowTopics[n-1].Partitions = append(req.V3AndBelowTopics[n-1].Partitions, pb.partition)
			} else {
				req.V3AndBelowTopics = append(req.V3AndBelowTopics, wire.AddPartitionsToTxnTopic{Name: pb.topic, Partitions: []int32{pb.partition}})
			}
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.RequestTimeout)
		node, err := t.coordinator(ctx)
		var resp wire.Response
		if err == nil {
			resp, err = p.cl.Request(ctx, node, versionCap{req, 3})
			if err != nil {
				t.forgetCoordinator(node)
			}
		}
		cancel()
		if err != nil {
			if txnFatalCode(wire.CodeOf(err)) {
				t.setError(err, true)
				return
			}
			continue // transport or coordinator lookup failure: again
		}
		codes := make(map[tpKey]wire.ErrorCode)
		for _, tr := range resp.(*wire.AddPartitionsToTxnResponse).ResultsByTopicV3AndBelow {
			for _, pr := range tr.ResultsByPartition {
				codes[tpKey{tr.Name, pr.PartitionIndex}] = wire.ErrorCode(pr.PartitionErrorCode)
			}
		}
		var done []*partBuf
		var hard error
		concurrent = false
		for _, pb := range parts {
			code, ok := codes[tpKey{pb.topic, pb.partition}]
			switch {
			case !ok:
				// not answered: ask again
			case code == wire.ErrNone:
				done = append(done, pb)
			case coordinatorError(code):
				t.forgetCoordinator(node)
			case code == wire.ErrConcurrentTransactions:
				concurrent = true
			case txnRetryCode(code) || code == wire.ErrOperationNotAttempted || code.Retriable():
			default:
				if code == wire.ErrInvalidTxnState || hard == nil || txnFatalCode(code) {
					hard = &wire.Error{Code: code, Detail: fmt.Sprintf("AddPartitionsToTxn %s/%d", pb.topic, pb.partition)}
				}
			}
		}
		t.mu.Lock()
		if t.gen == g {
			for _, pb := range done {
				pb.txnGen.Store(g)
				delete(t.pending, pb)
				t.added++
			}
		}
		t.mu.Unlock()
		if len(done) > 0 {
			p.wakeAllSinks()
			attempt = -1 // progress: the next round starts without waiting
		}
		if hard != nil {
			hc := wire.CodeOf(hard)
			t.setError(hard, txnFatalCode(hc) || hc == wire.ErrInvalidTxnState)
			return
		}
	}
}

// settle waits until the coordinator reports the previous transaction of
// the producer complete (DescribeTransactions: neither PrepareCommit nor
// PrepareAbort), polling at once and then every settlePollMin growing to
// settlePollMax, for request.timeout.ms at most; then it clears settling.
// It gives up waiting, and clears settling too, when the coordinator
// cannot say (no DescribeTransactions, DESCRIBE refused: never asked
// again; a transport or coordinator error): the addition then goes ahead
// and the coordinator's CONCURRENT_TRANSACTIONS handling applies. Waiting
// only delays the first batches of the transaction; what is sent, and in
// which order, stays the same. It returns false, settling still set, when
// the open transaction ended or erred meanwhile (nothing to add) or the
// producer is closing. Runs on loop.
func (t *txnManager) settle() bool {
	p := t.p
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.RequestTimeout)
	defer cancel()
	wait := settlePollMin
	for !t.noDescribe.Load() {
		node, err := t.coordinator(ctx)
		if err != nil {
			break
		}
		resp, err := p.cl.Request(ctx, node, &wire.DescribeTransactionsRequest{TransactionalIds: []string{t.id}})
		if err != nil {
			if c := wire.CodeOf(err); c == wire.ErrUnsupportedVersionLocal || c == wire.ErrUnsupportedVersion {
				t.noDescribe.Store(true)
			}
			break
		}
		states := resp.(*wire.DescribeTransactionsResponse).TransactionStates
		if len(states) != 1 {
			break
		}
		if c := wire.ErrorCode(states[0].ErrorCode); c != wire.ErrNone {
			switch {
			case coordinatorError(c):
				t.forgetCoordinator(node)
			case c == wire.ErrTransactionalIDAuthorizationFailed || c == wire.ErrClusterAuthorizationFailed:
				t.noDescribe.Store(true) // DESCRIBE refused: it will be again
			}
			break // nothing to wait for that the coordinator can tell
		}
		if st := states[0].State; st != "PrepareCommit" && st != "PrepareAbort" {
			break // complete (or fenced: the addition finds out)
		}
		if p.cfg.Retry.sleep(ctx, wait) != nil {
			if p.ctx.Err() != nil {
				return false // closing
			}
			break // request.timeout.ms passed: go ahead
		}
		wait = min(2*wait, settlePollMax)
		if !t.pendingLive() {
			return false
		}
	}
	t.mu.Lock()
	t.settling.Store(false)
	t.mu.Unlock()
	return true
}

// call sends the request mk builds to the transaction coordinator until
// the answer's code (code) is not one to retry or ctx ends (TIMED_OUT,
// with the last failure in its detail). Coordinator moves find the
// coordinator again; CONCURRENT_TRANSACTIONS, COORDINATOR_LOAD_IN_PROGRESS
// and transport failures wait (retry.backoff.ms, growing) and ask again.
func (t *txnManager) call(ctx context.Context, what string, mk func() wire.Request, code func(wire.Response) wire.ErrorCode) (wire.Response, error) {
	var last error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := t.p.cfg.Retry.wait(ctx, min(attempt-1, 4)); err != nil {
				detail := what + ": " + err.Error()
				if last != nil {
					detail += "; last error: " + last.Error()
				}
				return nil, &wire.Error{Code: wire.ErrTimedOut, Detail: detail}
			}
		}
		node, err := t.coordinator(ctx)
		if err != nil {
			last = keepCause(ctx, last, err)
			if c := wire.CodeOf(err); c.Retriable() || transportError(err) || txnRetryCode(c) {
				continue
			}
			return nil, err
		}
		resp, err := t.p.cl.Request(ctx, node, mk())
		if err != nil {
			last = keepCause(ctx, last, err)
			t.forgetCoordinator(node)
			continue
		}
		c := code(resp)
		if c == wire.ErrNone {
			return resp, nil
		}
		e := &wire.Error{Code: c, Detail: what + " (transactional.id " + t.id + ")"}
		if c == wire.ErrInvalidTxnState {
			// The coordinator's view of the transaction differs from
			// ours: fatal, as in the Java client.
			return resp, t.setError(e, true)
		}
		if txnRetryCode(c) {
			if coordinatorError(c) {
				t.forgetCoordinator(node)
			}
			last = e
			continue
		}
		return resp, e
	}
}

// coordinator returns the transaction coordinator's node id, asking a
// broker (FindCoordinator, key type transaction) when it is not known.
func (t *txnManager) coordinator(ctx context.Context) (int32, error) {
	t.mu.Lock()
	node := t.coord
	t.mu.Unlock()
	if node >= 0 {
		return node, nil
	}
	node, err := t.p.cl.findCoordinator(ctx, t.id, wire.FindCoordinatorKeyTypeTransaction, "transactional.id "+t.id)
	if err != nil {
		return -1, err
	}
	t.mu.Lock()
	t.coord = node
	t.mu.Unlock()
	return node, nil
}

// forgetCoordinator drops node as the coordinator (it moved or failed).
func (t *txnManager) forgetCoordinator(node int32) {
	t.mu.Lock()
	if t.coord == node {
		t.coord = -1
	}
	t.mu.Unlock()
}

// txnDropUnsent fails, with err, every record of the producer not in
// flight: waiting for metadata, queued, or back from a failed request and
// waiting for its retry. It reports whether a dropped batch had sequence
// numbers (the broker may have them: the epoch must be bumped).
func (p *Producer) txnDropUnsent(err error) (seqDropped bool) {
	p.topics.Range(func(_, v any) bool {
		ts := v.(*topicState)
		ts.mu.Lock()
		pending := ts.pending
		ts.pending = nil
		ts.mu.Unlock()
		p.failPending(pending, err)
		for _, pb := range ts.partitions() {
			pb.mu.Lock()
			var drop []*recBatch
			switch {
			case pb.inflight == 0:
				drop = pb.batches
				pb.batches, pb.open, pb.sendIdx, pb.failing = nil, nil, 0, false
			case pb.sendIdx < len(pb.batches):
				// batches[sendIdx:] are never in flight.
				drop = slices.Clone(pb.batches[pb.sendIdx:])
				clear(pb.batches[pb.sendIdx:])
				pb.batches = pb.batches[:pb.sendIdx]
				pb.open = nil
			}
			for _, b := range drop {
				if b.seq >= 0 {
					seqDropped = true
				}
			}
			pb.mu.Unlock()
			for _, b := range drop {
				p.finishBatch(b, partResult{err: err, base: -1, logAppendTime: -1})
			}
		}
		return true
	})
	return seqDropped
}

// versionCap sends Request at Max at most (a transactional producer on
// transaction protocol v1 must not send Produce v12+ nor EndTxn v5+).
type versionCap struct {
	wire.Request
	Max int16
}

func (v versionCap) Versions() (int16, int16) {
	lo, hi := v.Request.Versions()
	return lo, min(hi, v.Max)
}

// unwrapRequest is the capped request, for requestLimits.bound.
func (v versionCap) unwrapRequest() wire.Request { return v.Request }
