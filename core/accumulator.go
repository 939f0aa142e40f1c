package core

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gofka/gofka/wire"
)

// The accumulator: per-partition queues of record batches (partBuf), the
// per-topic state that routes records to them (topicState), and the
// buffer.memory budget. Sinks (sink.go) take ready batches from the front
// of the queues; the producer (producer.go) appends at the back.

// memBudget bounds the bytes of buffered records (buffer.memory). Reserving
// is lock-free while there is room; a full budget makes reservers wait on a
// channel that release closes. Safe for concurrent use.
type memBudget struct {
	max     int64
	used    atomic.Int64
	waiters atomic.Int32
	mu      sync.Mutex
	room    chan struct{} // guarded by mu; closed and replaced by release while someone waits
}

func newMemBudget(max int64) *memBudget {
	return &memBudget{max: max, room: make(chan struct{})}
}

// reserve takes n bytes, waiting for room until ctx ends (QUEUE_FULL) or
// quit is closed (CLIENT_CLOSED). Room that is there is taken even when ctx
// has already ended. A nil ctx never waits: no room is QUEUE_FULL at once
// (the try-calls: ProduceTo, ProduceBatchNow).
func (m *memBudget) reserve(ctx context.Context, quit <-chan struct{}, n int64) error {
	for {
		u := m.used.Load()
		if u+n <= m.max {
			if m.used.CompareAndSwap(u, u+n) {
				return nil
			}
			continue
		}
		if ctx == nil {
			return errBufferFull()
		}
		m.mu.Lock()
		m.waiters.Add(1)
		ch := m.room
		if m.fits(n) {
			m.waiters.Add(-1)
			m.mu.Unlock()
			continue
		}
		m.mu.Unlock()
		select {
		case <-ch:
			m.waiters.Add(-1)
		case <-ctx.Done():
			m.waiters.Add(-1)
			return &wire.Error{Code: wire.ErrQueueFull,
				Detail: "buffer.memory is full (" + ctx.Err().Error() + " while waiting for room)"}
		case <-quit:
			m.waiters.Add(-1)
			return &wire.Error{Code: wire.ErrClientClosed, Detail: "producer closed while waiting for buffer room"}
		}
	}
}

// fits reports whether n bytes would fit now (reserve would take them
// without waiting, unless another reserve takes the room first).
func (m *memBudget) fits(n int64) bool { return m.used.Load()+n <= m.max }

// errBufferFull is QUEUE_FULL for a call that does not wait for room.
func errBufferFull() error {
	return &wire.Error{Code: wire.ErrQueueFull, Detail: "buffer.memory is full"}
}

// release returns n bytes and wakes waiters.
func (m *memBudget) release(n int64) {
	m.used.Add(-n)
	if m.waiters.Load() > 0 {
		m.mu.Lock()
		close(m.room)
		m.room = make(chan struct{})
		m.mu.Unlock()
	}
}

// promised is one buffered record and the function told of its result.
type promised struct {
	r  *Record
	fn func(*Record, error)
}

// batchRecords is a batch's records as the encoder reads them
// (wire.RecordSource): from the buffered Records themselves, which stay
// unchanged until their promise runs (Produce's contract), so a batch
// keeps no copy of each (a wire.Record per record was 88 bytes of heap and
// a copy per produce). Safe for concurrent use: it only reads.
type batchRecords []promised

// Len is the number of records.
func (rs batchRecords) Len() int { return len(rs) }

// Record returns record i's fields as encoded.
func (rs batchRecords) Record(i int) (timestamp int64, key, value []byte, headers []wire.Header) {
	r := rs[i].r
	return r.Timestamp.UnixMilli(), r.Key, r.Value, r.Headers
}

// recBatch is one partition's run of records that travels as one
// RecordBatch. Its records are appended while it is the partition's open
// batch and never change once a sink took it.
type recBatch struct {
	proms   []promised // the records, in order; encoded from (batchRecords)
	bytes   int        // estimated encoded size, RecordBatchOverhead included
	mem     int64      // bytes reserved from buffer.memory
	created time.Time  // first record's arrival: linger and delivery timeout count from here

	// Fields below are guarded by the owning partBuf's mu.
	seq      int32 // base sequence (idempotence); -1 until first sent or after a reset
	epoch    int16 // producer epoch seq belongs to
	pid      int64
	attempts int   // times sent
	retries  int   // failures that count against RetryPolicy.MaxRetries
	inflight bool  // in a request not yet answered
	queued   bool  // handed to the compression workers once (compress_ahead.go)
	sent     bool  // sent at least once: the broker may have written it
	lastErr  error // the last retriable failure, reported if the batch expires

	// Records prepared ahead by a compression worker (compress_ahead.go).
	// prepMu is held by whoever encodes the records: a worker, or the
	// sender, which waits for a worker that is at it.
	prepMu  sync.Mutex
	prep    wire.PreparedRecords // guarded by prepMu: valid while prepBuf is set
	prepBuf *[]byte              // guarded by prepMu: the pooled buffer of prep.Data
	prepTok chan struct{}        // guarded by prepMu: the compressor token prep holds, nil if none
	taken   bool                 // guarded by prepMu: written once or finished: no worker prepares it any more

	// refs counts the batch's owners: the producer (from newBatch until
	// recycle) and each compression job queued for it. The last one pools
	// it, so that a job never finds its batch reused for other records.
	refs atomic.Int32
}

var batchPool = sync.Pool{New: func() any { return &recBatch{} }}

func newBatch(now time.Time) *recBatch {
	b := batchPool.Get().(*recBatch)
	b.created = now
	b.seq = -1
	b.refs.Store(1)
	return b
}

// recycle clears b (dropping references to user data) and drops the
// producer's ref to it; b must have been through endPrep.
func (b *recBatch) recycle() {
	const keep = 1 << 16 // records; larger slices are left to the GC
	if cap(b.proms) > keep {
		b.proms = nil
	} else {
		clear(b.proms)
		b.proms = b.proms[:0]
	}
	b.unref()
}

// unref drops one ref; the last one resets and pools b.
func (b *recBatch) unref() {
	if b.refs.Add(-1) != 0 {
		return
	}
	*b = recBatch{proms: b.proms[:0]}
	batchPool.Put(b)
}

// recordSize is the bytes a record counts for in batch.size: an upper
// bound of its encoded size in a batch (buffer.memory: recordMem).
func recordSize(r *Record) int {
	// length varint (5) + attributes (1) + timestamp delta (10) + offset
	// delta (5) + key and value with their lengths + headers.
	n := 21 + nullableLen(r.Key) + nullableLen(r.Value) + 5
	for i := range r.Headers {
		n += 5 + len(r.Headers[i].Key) + nullableLen(r.Headers[i].Value)
	}
	return n
}

func nullableLen(b []byte) int { return 5 + len(b) }

// recordOverhead is what a buffered record holds besides the bytes
// recordSize counts: the Record itself (its owner's, but pinned until the
// promise runs), the caller's pointer to it (ProduceBatch's []*Record, the
// C ABI's produce slabs) and the batch's promise entry. buffer.memory
// counts it (recordMem) so that the budget bounds memory, not only payload
// (TestBufferMemoryBoundsHeap): with 100-byte values and no key a record
// counts 136 bytes by recordSize but holds more than twice that. 160 bytes
// on 64-bit platforms; it was 256 while each batch also kept a wire.Record
// copy of every record (88 bytes) and Record had 8 bytes of padding.
const recordOverhead = int(unsafe.Sizeof(Record{}) + unsafe.Sizeof((*Record)(nil)) + unsafe.Sizeof(promised{}))

// recordMem is the bytes a record of recordSize size counts for in
// buffer.memory.
func recordMem(size int) int64 { return int64(size + recordOverhead) }

// partBuf is the queue of one partition: batches waiting, in flight or
// being retried, oldest first, and the partition's idempotence state.
//
// Invariants (under mu): batches[:sendIdx] were sent in the current round
// (inflight of them still are; the others failed and wait for the round to
// drain); batches[sendIdx:] are waiting. open, when not nil, is the last
// batch and still takes records. A partition whose round failed (failing)
// sends nothing until its in-flight batches are back, then resends from the
// head after a backoff, so batches reach the broker in order.
type partBuf struct {
	p         *Producer
	topic     string
	partition int32

	mu           sync.Mutex
	batches      []*recBatch
	open         *recBatch
	sendIdx      int
	inflight     int
	inflightConn *clientConn // the connection of the batches in flight
	sink         *sink       // the leader's sink; nil while the leader is unknown
	leader       int32
	nextSeq      int32 // next base sequence to hand out
	failing      bool
	backoffUntil time.Time
	retryRound   int // consecutive failed rounds, for the backoff
	sizeHint     int // records in the last batch taken: new batches start with that capacity
	// seqConfirmed: a batch of this partition was acknowledged under the
	// current producer id and epoch. Until then (idempotent producer) only
	// one batch is in flight: a broker without state for the producer
	// accepts any first sequence number (KIP-360), so while batch 0 is
	// being refused (e.g. NOT_LEADER_OR_FOLLOWER on a partition still
	// loading) batch 1 could be written before it.
	seqConfirmed bool
	// txnGen is the transaction (txnManager.gen) this partition was last
	// added to; written by the transaction goroutine, read by takeReady.
	txnGen atomic.Uint64

	st partCounters // statistics (core/stats.go); atomics, no lock
}

// appendRec adds r to the open batch, starting a new one when needed. With
// abortOnNew it refuses (false) instead of starting a new batch: the sticky
// partitioner then moves to another partition (KIP-480). A batch that
// starts or fills kicks the partition's sink (sink.kick), at once when held
// is nil; otherwise the sink is added to *held and the caller kicks it once
// it has appended all its records (applyTopic: an inline drain between two
// of them would send a batch holding only the first). now is r's arrival,
// zero for "now" (see Producer.route).
func (pb *partBuf) appendRec(r *Record, fn func(*Record, error), size int, now time.Time, abortOnNew bool, held *[]*sink) bool {
	cfg := &pb.p.cfg
	wake := false
	pb.mu.Lock()
	b := pb.open
	if b != nil && b.bytes+size > cfg.BatchSize {
		pb.open, b, wake = nil, nil, true // full: ready to go
		pb.feedAhead()
	}
	if b == nil {
		if abortOnNew {
			s := pb.sink
			pb.mu.Unlock()
			if wake && s != nil {
				s.wakeup()
			}
			return false
		}
		if now.IsZero() {
			now = time.Now()
		}
		b = newBatch(now)
		b.bytes = wire.RecordBatchOverhead
		if h := pb.sizeHint; cap(b.proms) < h {
			// Grow once rather than by doubling while records arrive.
			b.proms = slices.Grow(b.proms, h)
		}
		pb.batches = append(pb.batches, b)
		pb.open = b
		wake = true
	}
	r.Partition = pb.partition
	b.proms = append(b.proms, promised{r, fn})
	b.bytes += size
	b.mem += recordMem(size)
	if b.bytes >= cfg.BatchSize {
		pb.open = nil
		wake = true
		pb.feedAhead()
	}
	s := pb.sink
	pb.mu.Unlock()
	if wake && s != nil {
		if held != nil {
			if !slices.Contains(*held, s) {
				*held = append(*held, s)
			}
		} else {
			s.kick()
		}
	}
	return true
}

// takeReady hands the sink s the next batch to send on cn, or nil. It
// assigns the batch's sequence number when it has none. budget is the room
// left in the request (a batch larger than what is left waits for the next
// request unless the request is empty). next is lowered to the time at which
// a batch held back by linger or backoff becomes ready.
func (pb *partBuf) takeReady(s *sink, cn *clientConn, now time.Time, budget int, empty bool, next *time.Time) *recBatch {
	p := pb.p
	cfg := &p.cfg
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.sink != s || len(pb.batches) == 0 {
		return nil
	}
	if p.txn != nil && !p.txn.admit(pb) {
		return nil // not in the transaction yet (core/txn.go)
	}
	if pb.failing {
		if pb.inflight > 0 {
			return nil
		}
		if now.Before(pb.backoffUntil) {
			setEarlier(next, pb.backoffUntil)
			return nil
		}
		pb.failing = false
		pb.sendIdx = 0
	}
	if pb.inflight > 0 && pb.inflightConn != cn {
		return nil // wait for the requests on the old connection to resolve
	}
	if pb.inflight >= cfg.MaxInFlight || pb.sendIdx >= len(pb.batches) {
		return nil
	}
	if p.idem.enabled && !pb.seqConfirmed && pb.inflight > 0 {
		return nil
	}
	b := pb.batches[pb.sendIdx]
	if b == pb.open {
		if cfg.Linger > 0 && p.flushing.Load() == 0 && b.bytes < cfg.BatchSize {
			if ready := b.created.Add(cfg.Linger); now.Before(ready) {
				setEarlier(next, ready)
				return nil
			}
		}
		pb.open = nil
	}
	if !empty && b.bytes > budget {
		return nil
	}
	if p.idem.enabled && b.seq < 0 {
		b.seq = pb.nextSeq
		b.pid, b.epoch = p.idem.current()
		pb.nextSeq = addSeq(pb.nextSeq, len(b.proms))
	}
	if n := len(b.proms); n > pb.sizeHint || n < pb.sizeHint/4 {
		pb.sizeHint = n
	}
	b.inflight = true
	b.sent = true
	b.attempts++
	pb.inflight++
	pb.inflightConn = cn
	pb.sendIdx++
	p.inflightBatches.Add(1)
	pb.feedAhead() // the batches behind b
	return b
}

func setEarlier(t *time.Time, u time.Time) {
	if t.IsZero() || u.Before(*t) {
		*t = u
	}
}

// addSeq advances a sequence number; sequences wrap from MaxInt32 to 0.
func addSeq(seq int32, n int) int32 {
	return int32((int64(seq) + int64(n)) % (1 << 31))
}

// indexOf returns b's position in the queue, or -1.
func (pb *partBuf) indexOf(b *recBatch) int {
	for i, x := range pb.batches[:pb.sendIdx] {
		if x == b {
			return i
		}
	}
	return -1
}

// removeAt drops the batch at i from the queue.
func (pb *partBuf) removeAt(i int) {
	pb.batches = slices.Delete(pb.batches, i, i+1)
	if i < pb.sendIdx {
		pb.sendIdx--
	}
	if len(pb.batches) == 0 {
		pb.batches = pb.batches[:0]
	}
}

// topicState routes one topic's records: until its metadata is known,
// records wait in pending (in arrival order); then parts holds one partBuf
// per partition. Safe for concurrent use.
type topicState struct {
	name  string
	ready atomic.Bool                // parts is set and pending drained: route directly
	parts atomic.Pointer[[]*partBuf] // grows when partitions are added

	mu      sync.Mutex
	pending []pendingRec // guarded by mu: waiting for metadata (or for a partition to appear)
	misses  int          // guarded by mu: refreshes in a row that did not find the topic
	lastErr error        // guarded by mu: the last metadata problem, for error details

	sticky atomic.Int32 // the sticky partitioner's current partition, -1 none
}

type pendingRec struct {
	promised
	size int
	at   time.Time
}

func newTopicState(name string) *topicState {
	ts := &topicState{name: name}
	ts.sticky.Store(-1)
	return ts
}

func (ts *topicState) partitions() []*partBuf {
	if p := ts.parts.Load(); p != nil {
		return *p
	}
	return nil
}

func (ts *topicState) setLastErr(err error) {
	ts.mu.Lock()
	ts.lastErr = err
	ts.mu.Unlock()
}

func (ts *topicState) lastError() error {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.lastErr
}
