package core

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// sink sends the batches of the partitions one broker leads. Two goroutines
// per sink:
//
//   - the sender (run) wakes when a partition has a batch ready, takes at
//     most one ready batch per partition into a Produce request (bounded by
//     max.request.size) and writes it on the broker's connection with
//     clientConn.start. Writes happen in this one goroutine, so requests reach
//     the broker in the order their batches were taken;
//   - the receiver (receive) settles each request's batches, in write
//     order (a broker answers one connection's requests in order):
//     success, retry, or failure.
//
// Written requests go to the receiver through a FIFO (queue) that wakes
// nobody. "The receiver", too, is a role: whoever holds recvMu settles.
// When a response arrives, the connection's reader takes the role if it
// is free and settles what is in (reap); the writer does the same for a
// request that gets no response (acks=0, a failed write). The receive
// goroutine takes over only when reap finds the role taken (it is poked),
// and on a tick, to wait with a bound for a response that never comes.
// Each goroutine hand-off costs a futex wake-up of another thread, which
// then spins looking for work on a core the woken caller or the broker
// needs: readying the receiver at write time was the largest single cost
// in a sync send's profile on a 2-core VM, and readying it per response
// the next largest.
//
// Up to max.in.flight.requests.per.connection requests are outstanding:
// slots is a semaphore the sender takes before writing and the receiver
// gives back after settling.
//
// "The sender" is a role, not only a goroutine: whoever holds sendMu
// drains. The run goroutine takes it when woken; a producing caller that
// just made a batch ready takes it with TryLock when the sink is idle
// (nothing in flight) and its connection is up, and writes the request
// itself (kick). That saves the hand-off to the run goroutine, which from
// a cgo callback (the Python and C front doors) cost ~50-80 us of a
// ~0.5 ms round trip on a 2-core VM: the woken goroutine sits on the
// caller's P until another thread steals it. Under load something is in
// flight, so callers only wake the run goroutine and encoding stays off
// their thread.
type sink struct {
	p    *Producer
	node int32

	mu    sync.Mutex
	parts []*partBuf // guarded by mu: the partitions this broker leads
	rr    int        // guarded by mu: where the next request starts, for fairness

	sendMu   sync.Mutex    // held by whoever drains: the sender role
	stopped  bool          // guarded by sendMu: run has exited, nothing more is queued
	wake     chan struct{} // capacity 1: wakes run
	slots    chan struct{} // capacity MaxInFlight
	slotWait atomic.Bool   // the sender may be waiting for a slot: the receiver wakes it when one frees

	encBuf   []byte        // sender only: encoded batches of the request being built
	connErrs int           // sender only: dial failures in a row
	backoff  time.Time     // sender only: no dial before this
	scratch  []*recBatch   // sender only
	byTP     map[tpKey]int // receiver only

	recvMu sync.Mutex // held by whoever settles: the receiver role
	reapFn func()     // s.reap, the notify of every request (one closure per sink, not per request)

	qmu         sync.Mutex
	queue       []*produceCall // guarded by qmu: not yet settled, in write order
	writing     bool           // guarded by qmu: the last entry of queue is being written
	recvWaiting bool           // guarded by qmu: the receiver role waits for that write to end: the writer reaps
	finished    bool           // guarded by qmu: run has exited; the receiver ends once queue is empty
	recvWake    chan struct{}  // capacity 1: wakes the receive goroutine
}

type tpKey struct {
	topic     string
	partition int32
}

// produceCall is one request written (or that failed to be written).
type produceCall struct {
	cn      *clientConn
	call    *call // nil with acks=0 or when err is set
	batches []*recBatch
	parts   []*partBuf // parallel to batches
	err     error      // the write failed
}

func newSink(p *Producer, node int32) *sink {
	s := &sink{
		p:        p,
		node:     node,
		wake:     make(chan struct{}, 1),
		slots:    make(chan struct{}, p.cfg.MaxInFlight),
		recvWake: make(chan struct{}, 1),
	}
	s.reapFn = s.reap
	p.wg.Add(2)
	go s.run()
	go s.receive()
	return s
}

func (s *sink) wakeup() { poke(s.wake) }

func (s *sink) add(pb *partBuf) {
	s.mu.Lock()
	s.parts = append(s.parts, pb)
	s.mu.Unlock()
}

func (s *sink) remove(pb *partBuf) {
	s.mu.Lock()
	for i, x := range s.parts {
		if x == pb {
			s.parts = append(s.parts[:i], s.parts[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
}

// run is the sender goroutine.
func (s *sink) run() {
	defer s.p.wg.Done()
	defer func() {
		// Under sendMu: an inline drain (kick) may be writing right now;
		// none may hand the receiver a request after this.
		s.sendMu.Lock()
		s.stopped = true
		s.qmu.Lock()
		s.finished = true
		s.qmu.Unlock()
		s.sendMu.Unlock()
		poke(s.recvWake)
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-s.wake:
		case <-timer.C:
		case <-s.p.quit:
			return
		}
		s.sendMu.Lock()
		next, _ := s.drain(false)
		s.sendMu.Unlock()
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), time.Millisecond))
		}
	}
}

// kick is wakeup for a caller that has just buffered records: when the
// sink is idle and connected, the caller drains itself (see the sink type);
// otherwise, or when the drain leaves anything to wait for (a linger
// timer, a backoff, a dial), the run goroutine is woken as before.
func (s *sink) kick() {
	if len(s.slots) == 0 && s.sendMu.TryLock() {
		next, done := s.drain(true)
		s.sendMu.Unlock()
		if done && next.IsZero() {
			return
		}
	}
	s.wakeup()
}

// drain writes requests while batches are ready and slots are free; the
// caller holds sendMu. It returns when the sink should look again without
// being woken (zero: only when woken). inline drains (kick) never dial or
// block: they return done=false when the run goroutine must take over.
func (s *sink) drain(inline bool) (next time.Time, done bool) {
	p := s.p
	for {
		if p.aborting.Load() || s.stopped {
			return time.Time{}, true
		}
		if !p.idem.canSend() {
			// The producer id is being obtained or bumped; ensure runs on
			// the metadata goroutine (make sure it knows there is work) and
			// wakes every sink when done.
			p.triggerMetaOnly()
			return time.Time{}, true
		}
		now := time.Now()
		if now.Before(s.backoff) {
			return s.backoff, true
		}
		if !s.hasReady() {
			return s.nextReady(now), true
		}
		// Set before trying, cleared on success: a slot freed between the
		// try and the return still finds it set.
		s.slotWait.Store(true)
		select {
		case s.slots <- struct{}{}:
			s.slotWait.Store(false)
		default:
			return time.Time{}, true // the receiver wakes us when a slot frees
		}
		cn, err := s.conn(inline)
		if cn == nil && err == nil { // inline, not connected
			<-s.slots
			return time.Time{}, false
		}
		if err != nil {
			<-s.slots
			s.connErrs++
			// reconnect.backoff.ms doubling up to reconnect.backoff.max.ms
			// (1 s), not the retry policy's backoff (up to 30 s): after an
			// outage the producer reconnects within about a second.
			s.backoff = time.Now().Add(p.cfg.reconnectBackoff(s.connErrs))
			p.noteSinkError(s, err)
			continue
		}
		s.connErrs = 0
		var wait time.Time
		pc := s.build(cn, now, &wait)
		if pc == nil {
			<-s.slots
			return wait, true
		}
		s.write(pc)
	}
}

// hasReady is a cheap pre-check: does any partition hold a batch that is
// not in flight? (takeReady makes the real decision.)
func (s *sink) hasReady() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pb := range s.parts {
		pb.mu.Lock()
		ok := pb.hasUnsent()
		pb.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// hasUnsent reports whether the partition holds a batch to (re)send that
// is not in flight; pb.mu held.
func (pb *partBuf) hasUnsent() bool {
	return pb.sendIdx < len(pb.batches) || (pb.failing && pb.inflight == 0 && len(pb.batches) > 0)
}

// nextReady returns when a lingering batch or a backoff ends (zero if none).
func (s *sink) nextReady(now time.Time) time.Time {
	var next time.Time
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pb := range s.parts {
		pb.mu.Lock()
		if pb.failing && pb.inflight == 0 && len(pb.batches) > 0 {
			setEarlier(&next, pb.backoffUntil)
		}
		pb.mu.Unlock()
	}
	return next
}

// conn returns the broker's connection: the open one when there is one
// (no context, and the timer it allocates, per request), else a dial
// bounded by DialTimeout. inline (kick) never dials: nil, nil when not
// connected.
func (s *sink) conn(inline bool) (*clientConn, error) {
	if cn := s.p.cl.liveBrokerConn(s.node); cn != nil || inline {
		return cn, nil
	}
	ctx, cancel := context.WithTimeout(s.p.ctx, s.p.cfg.DialTimeout)
	defer cancel()
	return s.p.cl.brokerConn(ctx, s.node)
}

// build takes ready batches (one per partition) into a request for cn.
func (s *sink) build(cn *clientConn, now time.Time, next *time.Time) *produceCall {
	p := s.p
	budget := p.cfg.MaxRequestSize
	batches := s.scratch[:0]
	var parts []*partBuf
	s.mu.Lock()
	n := len(s.parts)
	start := s.rr
	if start >= n {
		start = 0
	}
	for i := 0; i < n && budget > 0; i++ {
		pb := s.parts[(start+i)%n]
		b := pb.takeReady(s, cn, now, budget, len(batches) == 0, next)
		if b == nil {
			continue
		}
		batches = append(batches, b)
		parts = append(parts, pb)
		budget -= b.bytes
	}
	s.rr = start + 1
	s.mu.Unlock()
	s.scratch = batches[:0]
	if len(batches) == 0 {
		return nil
	}
	return &produceCall{cn: cn, batches: append([]*recBatch(nil), batches...), parts: parts}
}

// write encodes pc's batches into one Produce request, writes it and hands
// it to the receiver.
func (s *sink) write(pc *produceCall) {
	p := s.p
	cfg := &p.cfg
	req := &wire.ProduceRequest{Acks: int16(cfg.Acks), TimeoutMs: int32(min(cfg.RequestTimeout/time.Millisecond, math.MaxInt32))}
	s.encBuf = s.encBuf[:0]
	var attrs int16
	if p.txn != nil {
		req.TransactionalId = &p.txn.id
		attrs = wire.AttrTransactional
	}
	size := 0
	for _, b := range pc.batches {
		size += b.bytes
	}
	if cap(s.encBuf) < size {
		s.encBuf = make([]byte, 0, size)
	}
	var encErr []error
	for i, b := range pc.batches {
		pb := pc.parts[i]
		rb := wire.RecordBatch{PartitionLeaderEpoch: -1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Attributes: attrs}
		if p.idem.enabled {
			// seq/pid/epoch are only written under pb.mu while the batch
			// is not in flight; it is in flight now, so reading is safe.
			rb.ProducerID, rb.ProducerEpoch, rb.BaseSequence = b.pid, b.epoch, b.seq
		}
		startLen := len(s.encBuf)
		var err error
		// The records may have been compressed ahead (compress_ahead.go).
		var ahead bool
		s.encBuf, ahead, err = b.appendBatch(s.encBuf, &rb, cfg.Compression, cfg.CompressionLevel)
		if ahead {
			p.comp.written.Add(1) // only a compressor prepares ahead
		}
		if err != nil {
			encErr = append(encErr, err)
			continue
		}
		raw := s.encBuf[startLen:len(s.encBuf):len(s.encBuf)]
		pb.st.noteSent(b, len(raw))
		ti := -1
		for j := range req.TopicData {
			if req.TopicData[j].Name == pb.topic {
				ti = j
				break
			}
		}
		if ti < 0 {
			ti = len(req.TopicData)
			req.TopicData = append(req.TopicData, wire.ProduceRequestTopic{Name: pb.topic})
		}
		req.TopicData[ti].PartitionData = append(req.TopicData[ti].PartitionData,
			wire.ProduceRequestPartition{Index: pb.partition, Records: raw})
	}
	st := &p.stats
	st.requests.Add(1)
	st.batches.Add(int64(len(pc.batches)))
	st.bytes.Add(int64(len(s.encBuf)))
	for _, b := range pc.batches {
		st.records.Add(int64(len(b.proms)))
		if b.attempts > 1 {
			st.retries.Add(1)
		}
	}
	// Queued before the write: the response can arrive (and poke the
	// receiver) before start returns. The receiver leaves an entry alone
	// while it is being written (writing), and says so (recvWaiting) so
	// that the end of the write wakes it. The write itself runs without
	// qmu, which the receiver takes after each request it settles.
	s.qmu.Lock()
	s.queue = append(s.queue, pc)
	s.writing = true
	s.qmu.Unlock()
	if len(encErr) > 0 {
		// Encoding fails only for impossible input (a batch over 2 GiB):
		// fail the request's batches without sending it.
		pc.err = &wire.Error{Code: wire.ErrInvalidArgument, Detail: "encoding batch: " + encErr[0].Error()}
	} else {
		var wreq wire.Request = req
		if p.txn != nil && !p.txn.v2.Load() {
			wreq = versionCap{req, 11} // transaction protocol v1 (core/txn.go)
		}
		pc.call, pc.err = pc.cn.start(wreq, cfg.Acks == AcksNone, s.reapFn)
	}
	s.qmu.Lock()
	s.writing = false
	reap := s.recvWaiting || pc.call == nil // nil: no response will notify
	s.recvWaiting = false
	s.qmu.Unlock()
	if reap {
		s.reap()
	}
	if cap(s.encBuf) > 8<<20 {
		s.encBuf = nil // do not pin a huge buffer after a large request
	}
}

// poke wakes the goroutine waiting on ch (buffered) without blocking.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// receive is the receive goroutine (see the sink type): it settles
// requests in write order when reap could not, waiting for each response.
//
// Idle, it waits for a poke (reap found the role taken, or the sender
// ended) or a tick: a request that never gets an answer notifies nobody,
// and only a receiver waiting on it (settle) enforces its
// request.timeout.ms. The tick, a quarter of that timeout, bounds how late
// the receiver starts waiting; the bound itself counts from the write.
func (s *sink) receive() {
	defer s.p.wg.Done()
	tick := time.NewTicker(max(s.p.cfg.RequestTimeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		s.recvMu.Lock()
		pc, finished := s.head()
		if pc != nil {
			s.settle(pc) // waits for the response
		}
		s.recvMu.Unlock()
		if finished {
			return
		}
		if pc == nil {
			select {
			case <-s.recvWake:
			case <-tick.C:
			}
		}
	}
}

// reap settles, in write order and without blocking, the requests whose
// outcome is in, on the calling goroutine: the connection's reader when a
// response arrives (clientConn.start's notify), the writer for a request that
// gets no response. When the role is taken it pokes the receive goroutine
// instead (its holder may be past looking at this request); a request
// whose outcome is not in yet is left to its own notify.
func (s *sink) reap() {
	if !s.recvMu.TryLock() {
		poke(s.recvWake)
		return
	}
	for {
		pc, _ := s.head()
		if pc == nil || (pc.call != nil && !pc.call.arrived()) {
			break
		}
		s.settle(pc)
	}
	s.recvMu.Unlock()
}

// head returns the oldest unsettled request; nil when there is none
// (finished: nor will there be) or when it is still being written (the
// writer reaps when the write ends). recvMu held.
func (s *sink) head() (pc *produceCall, finished bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	switch {
	case len(s.queue) == 0:
		return nil, s.finished
	case s.writing && len(s.queue) == 1:
		s.recvWaiting = true
		return nil, false
	}
	return s.queue[0], false
}

// pop removes the head, settled but for its promises, and frees its
// slot. recvMu held.
func (s *sink) pop() {
	s.qmu.Lock()
	s.queue[0] = nil
	s.queue = s.queue[1:]
	s.qmu.Unlock()
	<-s.slots
	// The sender needs waking here only when it waits for the slot just
	// freed; settle woke it already if a partition of this request has a
	// batch to send (decided under the partition's lock, O(batches) rather
	// than a scan of every partition). A batch buffered later finds the
	// slot free and kicks the sink itself. Skipping the idle wake-up saves
	// a goroutine hand-off per request.
	if s.slotWait.Swap(false) {
		s.wakeup()
	}
}

// settle settles the head of the queue, pc: waits for its outcome, applies
// it to each batch, removes pc from the queue (pop) and runs the promises
// of the finished batches. recvMu held.
func (s *sink) settle(pc *produceCall) {
	p := s.p
	var resp *wire.ProduceResponse
	err := pc.err
	if err == nil && pc.call != nil {
		ctx, cancel := p.ctx, context.CancelFunc(nil)
		if !pc.call.arrived() {
			// The broker answers by TimeoutMs (= request.timeout.ms) even
			// when replication is slow; the extra second covers the network.
			ctx, cancel = context.WithTimeout(p.ctx, p.cfg.RequestTimeout+time.Second)
		}
		r, werr := pc.call.wait(ctx)
		if cancel != nil {
			cancel() // now, not after the promises below
		}
		if werr != nil {
			err = werr
			if wire.CodeOf(werr) == wire.ErrTimedOut && p.ctx.Err() == nil {
				// A request that timed out leaves the pipelined requests
				// behind it in an unknown state: drop the connection so they
				// fail too and are retried in order on a new one.
				pc.cn.close(&wire.Error{Code: wire.ErrRequestTimedOut, Detail: "produce request timed out", Broker: pc.cn.addr})
			}
		} else {
			resp = r.(*wire.ProduceResponse)
		}
	}
	results := s.match(pc, resp, err)
	unsent := false
	for i, b := range pc.batches {
		results[i] = p.settleBatch(pc.parts[i], b, results[i])
		if o := results[i].sink; o != nil && o != s {
			o.wakeup() // the partition moved to another broker while in flight
		} else if o == s && results[i].unsent {
			unsent = true
		}
	}
	if unsent {
		// Before the promises run: a retry, or the batch behind a settled
		// one, can go out meanwhile.
		s.wakeup()
	}
	// The slot too is freed before the promises run: a caller woken by
	// one that sends again finds the sink idle and writes itself (kick)
	// rather than handing the write to the run goroutine.
	s.pop()
	for i, b := range pc.batches {
		if results[i].done {
			p.finishBatch(b, results[i])
		}
	}
}

// match pairs each batch of pc with its result: err for all when the
// request failed, success without offsets with acks=0, else the response's
// entry for the batch's partition.
func (s *sink) match(pc *produceCall, resp *wire.ProduceResponse, err error) []partResult {
	// With a response, a batch has errNoResult until the response's entry
	// for it is found (the error is only formatted, below, for batches
	// that really got none).
	first := err
	if err == nil && resp != nil {
		first = errNoResult
	}
	results := make([]partResult, len(pc.batches))
	for i := range results {
		results[i] = partResult{base: -1, logAppendTime: -1, err: first}
	}
	if err != nil || resp == nil {
		return results
	}
	useMap := len(pc.batches) > 16
	if useMap {
		if s.byTP == nil {
			s.byTP = make(map[tpKey]int)
		}
		clear(s.byTP)
		for i, pb := range pc.parts {
			s.byTP[tpKey{pb.topic, pb.partition}] = i
		}
	}
	for _, t := range resp.Responses {
		for _, pr := range t.PartitionResponses {
			i := -1
			if useMap {
				if j, ok := s.byTP[tpKey{t.Name, pr.Index}]; ok {
					i = j
				}
			} else {
				for j, pb := range pc.parts {
					if pb.partition == pr.Index && pb.topic == t.Name {
						i = j
						break
					}
				}
			}
			if i < 0 {
				continue
			}
			res := partResult{base: pr.BaseOffset, logAppendTime: pr.LogAppendTimeMs}
			if pr.ErrorCode != 0 {
				pb := pc.parts[i]
				detail := fmt.Sprintf("%s/%d", pb.topic, pb.partition)
				if pr.ErrorMessage != nil && *pr.ErrorMessage != "" {
					detail += ": " + *pr.ErrorMessage
				}
				res.err = &wire.Error{Code: wire.ErrorCode(pr.ErrorCode), Detail: detail, Broker: pc.cn.addr}
			}
			results[i] = res
		}
	}
	for i := range results {
		if results[i].err == errNoResult {
			pb := pc.parts[i]
			results[i].err = &wire.Error{Code: wire.ErrCorruptResponse,
				Detail: fmt.Sprintf("produce response has no result for %s/%d", pb.topic, pb.partition), Broker: pc.cn.addr}
		}
	}
	return results
}

// errNoResult marks, inside match, a batch the response has not answered yet.
var errNoResult = errors.New("no result")

// partResult is the outcome of one batch.
type partResult struct {
	err           error
	base          int64
	logAppendTime int64
	done          bool // the batch is finished (success or failure): call its promises
	needMeta      bool
	sink          *sink // the partition's sink now (nil: none); the receiver wakes it when it is not its own
	unsent        bool  // the partition has a batch to send (partBuf.hasUnsent) after this settle
}

// notWritten lists the non-retriable produce errors with which the broker
// rejects a batch before appending it, so that an idempotent producer may
// give its sequence numbers to the batches behind it.
var notWritten = map[wire.ErrorCode]bool{
	wire.ErrMessageTooLarge:             true,
	wire.ErrRecordListTooLarge:          true,
	wire.ErrInvalidRecord:               true,
	wire.ErrInvalidTimestamp:            true,
	wire.ErrUnsupportedForMessageFormat: true,
	wire.ErrTopicAuthorizationFailed:    true,
	wire.ErrClusterAuthorizationFailed:  true,
	wire.ErrInvalidRequiredAcks:         true,
	wire.ErrUnsupportedCompressionType:  true,
	wire.ErrInvalidTopicException:       true,
	wire.ErrUnsupportedVersion:          true,
	wire.ErrInvalidRequest:              true,
	wire.ErrPolicyViolation:             true,
	wire.ErrInvalidArgument:             true, // local: never sent
}

// settleBatch applies one batch's outcome to its partition (under pb.mu)
// and decides: finished (res.done), or kept for a retry.
func (p *Producer) settleBatch(pb *partBuf, b *recBatch, res partResult) partResult {
	p.inflightBatches.Add(-1)
	code := wire.CodeOf(res.err)
	now := time.Now()
	var needBump, needMeta bool
	pb.mu.Lock()
	b.inflight = false
	pb.inflight--
	idx := pb.indexOf(b)
	wasFailing := pb.failing
	switch {
	case idx < 0:
		// Not queued any more (cannot happen: only settleBatch removes
		// batches in flight). Finish it rather than lose its promises.
		res.done = true
		if res.err == nil {
			res.err = &wire.Error{Code: wire.ErrLocalUnknown, Detail: "batch lost its partition queue"}
		}

	case res.err == nil || code == wire.ErrDuplicateSequenceNumber:
		// DUPLICATE_SEQUENCE_NUMBER: an earlier attempt was written; its
		// offset is no longer known.
		if res.err != nil {
			res.err, res.base = nil, -1
		}
		pb.removeAt(idx)
		res.done = true
		if !pb.failing {
			pb.retryRound = 0
		}
		if b.pid == p.idem.pidNow() && b.epoch == p.idem.epochNow() {
			pb.seqConfirmed = true
		}

	case p.txn != nil && txnFatalBatchCode(code):
		// Fenced or not authorized: the transactional producer is done
		// (finishBatch tells the transaction, core/txn.go).
		pb.removeAt(idx)
		res.done = true

	case p.aborting.Load():
		pb.removeAt(idx)
		res.err = &wire.Error{Code: wire.ErrClientClosed, Detail: "producer closed before the record was acknowledged: " + res.err.Error()}
		res.done = true

	case p.idem.enabled && (code == wire.ErrUnknownProducerID || code == wire.ErrInvalidProducerEpoch ||
		code == wire.ErrInvalidProducerIDMapping ||
		(code == wire.ErrOutOfOrderSequenceNumber && idx == 0 && !wasFailing)):
		// The broker lost (or never had) our producer state: only a new
		// epoch, with sequences restarting at 0, lets the partition move on.
		b.lastErr = res.err
		b.retries++
		if b.retries > p.cfg.Retry.MaxRetries || now.After(b.created.Add(p.cfg.DeliveryTimeout)) {
			pb.removeAt(idx)
			res.done = true
			res.err = giveUp(res.err, b, now, p.cfg.DeliveryTimeout)
		}
		needBump = true
		pb.failing = true
		pb.backoffUntil = now

	case code.Retriable() || (p.idem.enabled && code == wire.ErrOutOfOrderSequenceNumber):
		// OUT_OF_ORDER_SEQUENCE_NUMBER behind a failed batch: the broker
		// refused it because the batch before it is missing; resending both
		// in order fixes it.
		b.lastErr = res.err
		if countsAsRetry(code) && !(code == wire.ErrOutOfOrderSequenceNumber && idx > 0) {
			b.retries++
		}
		if b.retries > p.cfg.Retry.MaxRetries || now.After(b.created.Add(p.cfg.DeliveryTimeout)) {
			pb.removeAt(idx)
			res.done = true
			res.err = giveUp(res.err, b, now, p.cfg.DeliveryTimeout)
			// The broker may have written it: the batches behind it would
			// collide with its sequence numbers.
			needBump = p.idem.enabled
		}
		if !wasFailing {
			pb.failing = true
			if countsAsRetry(code) {
				pb.backoffUntil = now.Add(p.cfg.Retry.JitteredBackoff(min(pb.retryRound, 30)))
			} else {
				// The leader moved or the connection broke: the batch is
				// re-routed as soon as the metadata or the connection is
				// back, so the wait is a lookup's (at most
				// reconnect.backoff.max.ms), not a growing retry backoff.
				pb.backoffUntil = now.Add(p.cfg.lookupBackoff(pb.retryRound))
			}
			pb.retryRound++
		}
		needMeta = true

	case notWritten[code]:
		pb.removeAt(idx)
		res.done = true
		if p.idem.enabled && b.seq >= 0 {
			// Give the batch's sequence numbers to the batches behind it;
			// any of them in flight now will come back out of order and be
			// resent renumbered.
			n := len(b.proms)
			for _, x := range pb.batches[idx:] {
				if x.seq >= 0 {
					x.seq = addSeq(x.seq, -n)
				}
			}
			pb.nextSeq = addSeq(pb.nextSeq, -n)
			if pb.inflight > 0 {
				pb.failing = true
				pb.backoffUntil = now
			}
		}

	default:
		// Not retriable and the batch may have been written.
		pb.removeAt(idx)
		res.done = true
		needBump = p.idem.enabled && b.sent
	}
	if pb.failing && pb.inflight == 0 {
		pb.sendIdx = 0
	}
	s := pb.sink
	res.unsent = pb.hasUnsent()
	pb.mu.Unlock()
	if needBump && p.txn != nil {
		p.txn.stateLost(res.err) // the abort bumps (core/txn.go)
	} else if needBump {
		p.idem.requestBump(p)
	}
	if needMeta {
		p.triggerMeta()
		res.needMeta = true
	}
	res.sink = s
	return res
}

// countsAsRetry reports whether a retriable error uses up one of the
// batch's retries (RetryPolicy.MaxRetries). Failures that mean "the leader
// moved or the connection broke" (connection and metadata categories of the
// error table) re-route the batch without counting, and so do
// NOT_ENOUGH_REPLICAS(_AFTER_APPEND): the in-sync replica set of a cluster
// that is coming back is still below min.insync.replicas. A broker
// restart, a leader election or a cluster recovering then costs no
// retries (they are retried every lookup backoff, at most
// reconnect.backoff.max.ms), and delivery.timeout.ms still bounds the wait,
// as in the Java client (retries there default to unlimited).
func countsAsRetry(code wire.ErrorCode) bool {
	switch code {
	case wire.ErrNotEnoughReplicas, wire.ErrNotEnoughReplicasAfterAppend:
		return false
	}
	switch wire.Lookup(code).Category {
	case wire.CategoryConnection, wire.CategoryMetadata:
		return false
	}
	return true
}

// giveUp turns a batch's last retriable error into its final one.
func giveUp(err error, b *recBatch, now time.Time, timeout time.Duration) error {
	if now.After(b.created.Add(timeout)) {
		return &wire.Error{Code: wire.ErrDeliveryTimeout,
			Detail: fmt.Sprintf("not acknowledged within delivery.timeout.ms (%v); last error: %v", timeout, err)}
	}
	return withAttempts(err, b.attempts)
}
