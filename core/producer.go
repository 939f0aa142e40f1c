package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// Record is one Kafka record to produce or one consumed record.
type Record struct {
	Topic string
	// Partition is where the record goes when ManualPartition is true. By
	// default (ManualPartition false, the zero value) the producer ignores
	// it and the partitioner chooses, as franz-go's default partitioner
	// does: murmur2 of Key as the Java client does when Key is not nil
	// (toPositive(murmur2(key)) % partitions, see KeyPartition), else the
	// sticky partitioner (KIP-480). Either way the producer stores the
	// partition it used here once the record is buffered, so a zero-value
	// Partition never silently sends a keyed record to partition 0.
	Partition int32
	// ManualPartition makes the producer use Partition as given (it must
	// then be >= 0; a partition the topic does not have fails the record
	// with PARTITION_NOT_FOUND). Consumed records have it false, so
	// producing one again lets the partitioner place it.
	ManualPartition bool
	// TimestampMsSet says TimestampMs holds the timestamp (see there). It
	// sits here, beside the other small fields, rather than after
	// TimestampMs: packed with them it costs no padding of its own, 8
	// bytes less per Record (136), and every buffered record is one.
	TimestampMsSet bool
	Key            []byte // nil = null key
	Value          []byte // nil = null value (a tombstone)
	Headers        []wire.Header
	Timestamp      time.Time // zero: now (set by Produce)
	// TimestampMs, when TimestampMsSet, is the timestamp as the language
	// bindings pass it (the C ABI, Python): ms since the epoch (>= 0), or
	// TimestampNow (-1) for "stamp when produced"; anything below -1 makes
	// the produce call fail with INVALID_ARGUMENT before the record is
	// buffered. The produce calls turn it into Timestamp (and clear
	// TimestampMsSet), so the rule is the engine's, in one place
	// (recordTimestamp). Go callers set Timestamp instead.
	TimestampMs int64
	Offset      int64 // set when the record is acknowledged (-1 when unknown, e.g. acks=0) or consumed
}

// Producer writes records to Kafka. It is safe for concurrent use.
//
// Records go into per-partition batches (the accumulator: batch.size,
// linger.ms), bounded in total by buffer.memory. One sender per broker
// (sink.go) packs ready batches, one per partition, into Produce requests
// and keeps up to max.in.flight.requests.per.connection of them pipelined
// on the broker's connection. The idempotent producer (enable.idempotence,
// the default with acks=all) numbers each partition's batches so that the
// broker drops duplicates of retried batches and refuses gaps; together
// with in-order resends after a failure this means retries neither lose,
// duplicate nor reorder records. Retriable failures refresh metadata and
// re-route the batch to the partition's current leader, waiting between
// rounds as Config.Retry says; a record not acknowledged within
// delivery.timeout.ms fails with DELIVERY_TIMEOUT.
//
// Results arrive through the promise given to Produce, called exactly once
// per record on an internal goroutine (records of one partition in order).
// Promises must return quickly and must not block on the producer.
type Producer struct {
	cl         *Client
	ownsClient bool
	cfg        Config

	ctx    context.Context // canceled when Close gives up: stops waits in flight
	cancel context.CancelFunc
	quit   chan struct{} // closed at the end of Close: stops the goroutines
	wg     sync.WaitGroup

	closing   atomic.Bool  // Close was called: no new records
	producing atomic.Int32 // TryProduce calls running (Close waits for them before failing leftovers)
	aborting  atomic.Bool  // Close gave up flushing: fail what is left
	closeMu   sync.Mutex
	closeErr  error
	closed    bool // guarded by closeMu

	topics sync.Map // string -> *topicState
	// applyMu serialises applyTopic: the metadata goroutine's refreshes
	// and a producing caller's first use of a topic the client's cache
	// already knows (applyCached).
	applyMu sync.Mutex
	// lastTopic is the topic topic() returned last: most producers write
	// to one topic, and comparing its name (the caller usually passes the
	// same string, so the bytes are not even read) costs less than
	// hashing it into topics. Topics are never removed, so it stays valid.
	lastTopic atomic.Pointer[topicState]

	sinksMu sync.Mutex
	sinks   map[int32]*sink // guarded by sinksMu

	mem             *memBudget
	comp            *compressor  // compression workers; nil without compression
	outstanding     atomic.Int64 // records buffered or in flight
	inflightBatches atomic.Int64 // batches in requests not yet settled
	flushing        atomic.Int32 // Flush calls running: linger is skipped
	idleMu          sync.Mutex
	idleCh          chan struct{} // guarded by idleMu; closed when outstanding reaches 0 while idleWait > 0
	idleWait        atomic.Int32

	stats producerStats

	metaWake   chan struct{} // capacity 1: the metadata goroutine has work
	needMeta   atomic.Bool
	metaUrgent atomic.Bool // a topic is waiting for its first metadata: skip the failure backoff

	idem idemState
	txn  *txnManager // nil without transactional.id (core/txn.go)

	releaseHeap func() // gives back buffer.memory's share of the heap limit (core/memlimit.go) at Close
}

// NewProducer creates a producer from options over the defaults of the
// property table (docs/configuration.md); WithBrokers is required. It does
// no network I/O: connections are made on first use or by Connect. A bad
// setting is INVALID_ARGUMENT.
func NewProducer(opts ...ProducerOption) (*Producer, error) {
	return producerFromConfig(configOf(opts))
}

// NewProducerFromProperties creates a producer from key=value properties
// (the keys of docs/configuration.md, as the C ABI and Python give them),
// over the defaults. Keys that configure other kinds of client are
// accepted and have no effect, so one property set can serve a producer
// and a consumer; an unknown key or a bad value is INVALID_ARGUMENT. Go
// code normally uses NewProducer.
func NewProducerFromProperties(props map[string]string) (*Producer, error) {
	cfg, err := configFromProperties(props)
	if err != nil {
		return nil, err
	}
	return producerFromConfig(cfg)
}

// producerFromConfig creates a producer with its own client.
func producerFromConfig(cfg Config) (*Producer, error) {
	if err := cfg.validateProducer(); err != nil {
		return nil, err
	}
	cl, err := clientFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	p, err := producerOn(cl)
	if err != nil {
		cl.Close()
		return nil, err
	}
	p.ownsClient = true
	return p, nil
}

// producerOn creates a producer on cl (its connections and metadata),
// taking its producer settings from cl's Config. Closing the producer
// closes cl only when ownsClient is set.
func producerOn(cl *Client) (*Producer, error) {
	cfg := cl.Config()
	if err := cfg.validateProducer(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Producer{
		cl:       cl,
		cfg:      cfg,
		ctx:      ctx,
		cancel:   cancel,
		quit:     make(chan struct{}),
		sinks:    make(map[int32]*sink),
		mem:      newMemBudget(cfg.BufferMemory),
		idleCh:   make(chan struct{}),
		metaWake: make(chan struct{}, 1),
	}
	p.releaseHeap = addHeapBudget(cfg.BufferMemory)
	p.idem.enabled = cfg.idempotent()
	p.comp = newCompressor(cfg.Compression, cfg.CompressionLevel, p.quit, &p.wg)
	p.wg.Add(2)
	go p.metaLoop()
	go p.reapLoop()
	if cfg.TransactionalID != "" {
		p.txn = newTxnManager(p)
		p.wg.Add(1)
		go p.txn.loop()
	}
	return p, nil
}

// closedErr is CLIENT_CLOSED when the producer is closing or the shared
// connection pool it uses was closed, else nil.
func (p *Producer) closedErr() error {
	if p.closing.Load() {
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "producer is closed"}
	}
	return p.cl.poolClosedErr()
}

// sendErr is why the producer cannot take records now: closed, or a
// transactional producer whose state refuses sends (txnManager.checkSend);
// nil when it can. Every produce call checks it first.
func (p *Producer) sendErr() error {
	if err := p.closedErr(); err != nil {
		return err
	}
	if p.txn != nil {
		return p.txn.checkSend()
	}
	return nil
}

// Client returns the producer's client.
func (p *Producer) Client() *Client { return p.cl }

// Connect reaches the cluster (see Client.Connect). An idempotent
// producer also obtains its producer id (InitProducerId) there, within
// ctx, as the Java client does at start, rather than at its first record:
// otherwise the first batch waits for that round trip and for the
// metadata goroutine to be scheduled beside a busy producing thread (10-45
// ms on a loaded 2-core VM, a tenth of a 500,000-record run). Failing to
// get the id does not fail Connect (the cluster was reached): it is tried
// again when records need it, and their promises report what fails. When
// the metadata goroutine is already getting it, Connect does not wait.
func (p *Producer) Connect(ctx context.Context) error {
	if err := p.closedErr(); err != nil {
		return err
	}
	if err := p.cl.Connect(ctx); err != nil {
		return err
	}
	if p.idem.enabled && p.txn == nil {
		if err := p.idem.ensureFirst(ctx, p); err != nil {
			p.cfg.logf(LogDebug, "producer", "producer id at connect: %v (tried again when records need it)", err)
		}
	}
	return nil
}

// producerStats are the producer's counters; Stats (core/stats.go)
// reports them in ProducerStats.
type producerStats struct {
	requests, batches, records, bytes, retries, bumps, acked, failed atomic.Int64
}

// BufferedRecords returns the records produced whose promise has not been
// called yet (buffered, in flight or being retried).
func (p *Producer) BufferedRecords() int64 { return p.outstanding.Load() }

// PartitionCount returns the number of partitions of topic, loading its
// metadata when needed (which, with allow.auto.create.topics, creates the
// topic on brokers that allow it). Retriable metadata errors are retried as
// Config.Retry says, within ctx.
func (p *Producer) PartitionCount(ctx context.Context, topic string) (int, error) {
	if err := p.closedErr(); err != nil {
		return 0, err
	}
	if topic == "" {
		return 0, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "empty topic name"}
	}
	if err := ValidateTopicName(topic); err != nil {
		return 0, err
	}
	if ts := p.topicIfKnown(topic); ts != nil && ts.ready.Load() {
		return len(ts.partitions()), nil
	}
	ctx, cancel := p.cl.withTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	var n int
	load := func(ctx context.Context) error {
		ti, err := p.cl.TopicPartitions(ctx, topic)
		if err != nil {
			return err
		}
		n = len(ti.Partitions)
		return nil
	}
	if p.cfg.AllowAutoTopicCreation {
		// The topic may be being created: wait for it (as for a leader
		// election) until ctx ends.
		err := p.cfg.Retry.retryUntil(ctx, func() error { return load(ctx) })
		return n, err
	}
	err := p.cfg.Retry.Do(ctx, load)
	if wire.CodeOf(err) == wire.ErrUnknownTopicOrPartition {
		err = &wire.Error{Code: wire.ErrUnknownTopicOrPartition, Detail: "topic " + topic + " does not exist and allow.auto.create.topics is false"}
	}
	return n, err
}

// Produce buffers r for sending and returns; promise (may be nil) is
// called exactly once with r and the result: nil once the broker
// acknowledged r (r.Partition and r.Offset then tell where it is), else
// the error. Produce blocks only while buffer.memory is full, up to ctx's
// end (then the promise gets QUEUE_FULL); ctx does not bound the delivery,
// delivery.timeout.ms does.
//
// Records that fail before being buffered (producer closed, invalid, too
// large, buffer full) have their promise called before Produce returns, on
// the caller's goroutine; see TryProduce to get those errors returned.
//
// The producer owns r (and its Key, Value and Headers, which are not
// copied) until the promise is called: do not modify them before.
func (p *Producer) Produce(ctx context.Context, r *Record, promise func(*Record, error)) {
	if err := p.TryProduce(ctx, r, promise); err != nil && promise != nil {
		promise(r, err)
	}
}

// TryProduce is Produce, except that an error detected before r is
// buffered is returned (and the promise is not called); once TryProduce
// returns nil the promise will be called exactly once.
func (p *Producer) TryProduce(ctx context.Context, r *Record, promise func(*Record, error)) error {
	if ctx == nil {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "nil context"}
	}
	return p.tryProduce(ctx, r, promise)
}

// tryProduce is TryProduce; a nil ctx never waits for buffer room
// (QUEUE_FULL at once when there is none).
func (p *Producer) tryProduce(ctx context.Context, r *Record, promise func(*Record, error)) error {
	if r == nil {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "nil record"}
	}
	p.producing.Add(1)
	defer p.producing.Add(-1)
	if err := p.sendErr(); err != nil {
		return err
	}
	if r.Topic == "" {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "record has no topic"}
	}
	if r.ManualPartition && r.Partition < 0 {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("record has ManualPartition set and partition %d: must be >= 0", r.Partition)}
	}
	if err := r.resolveTimestamp(); err != nil {
		return err
	}
	ts, err := p.topic(r.Topic)
	if err != nil {
		return err
	}
	size := recordSize(r)
	if err := p.tooLarge(-1, size); err != nil {
		return err
	}
	if err := p.mem.reserve(ctx, p.quit, recordMem(size)); err != nil {
		return err
	}
	if r.Timestamp.IsZero() {
		r.Timestamp = wallNow()
	}
	p.outstanding.Add(1)
	if p.closing.Load() {
		// Close started while we waited for memory: refuse rather than
		// race with its final flush.
		p.mem.release(recordMem(size))
		p.doneOutstanding(1)
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "producer is closed"}
	}
	if !ts.ready.Load() {
		ts.mu.Lock()
		if !ts.ready.Load() {
			ts.pending = append(ts.pending, pendingRec{promised{r, promise}, size, time.Now()})
			first := len(ts.pending) == 1
			ts.mu.Unlock()
			if first {
				p.metaUrgent.Store(true)
			}
			p.triggerMeta()
			return nil
		}
		ts.mu.Unlock()
	}
	// A zero arrival time: appendRec reads the clock only when the record
	// starts a batch (time.Now costs as much as the rest of the append).
	p.route(ts, ts.partitions(), r, promise, size, time.Time{}, nil)
	return nil
}

// ProduceBatch buffers recs like Produce, all or nothing: either every
// record is buffered (promise, if not nil, is then called once per record,
// as Produce's is) or none is and the error is returned (closed producer,
// a nil or invalid record, a record too large, QUEUE_FULL when
// buffer.memory has no room for the whole batch before ctx ends, or
// INVALID_ARGUMENT for a batch larger than buffer.memory itself, which
// could never fit: split it). Memory is reserved once for the batch, so it
// costs less than producing the records one by one.
func (p *Producer) ProduceBatch(ctx context.Context, recs []*Record, promise func(*Record, error)) error {
	if ctx == nil {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "nil context"}
	}
	return p.produceBatch(ctx, recs, promise)
}

// ProduceBatchNow is ProduceBatch without waiting: when buffer.memory
// has no room for the whole batch now, it returns QUEUE_FULL at once and
// buffers nothing. For callers that must not block (an event loop).
func (p *Producer) ProduceBatchNow(recs []*Record, promise func(*Record, error)) error {
	return p.produceBatch(nil, recs, promise)
}

// valueOnlySize is recordSize of a record with an empty value and nothing
// else; a value adds its length.
var valueOnlySize = recordSize(&Record{})

// ValuesRoom answers early for a ProduceBatchNow of n records that hold
// only values (no key, no headers; a nil value counts as an empty one),
// valueBytes bytes in all: QUEUE_FULL when buffer.memory has no room for
// them now. A caller that builds the records first (the C ABI copies them
// out of the caller's buffer) checks this before doing that work, which a
// full buffer would make garbage at every retry: the push thread of a
// Python producer retries a refused chunk every 2 ms, and copying it each
// time made 42 MiB of garbage a second with 330-record chunks
// (tests/python/test_lifecycle_producer.py). nil
// promises nothing (other calls race for the room); a closed producer and
// a transaction that cannot take sends report their errors first, as
// ProduceBatchNow does, and so does a batch that can never fit.
func (p *Producer) ValuesRoom(n int, valueBytes int64) error {
	if err := p.sendErr(); err != nil {
		return err
	}
	need := int64(n)*recordMem(valueOnlySize) + valueBytes
	if need > p.cfg.BufferMemory {
		return nil // ProduceBatchNow reports it (INVALID_ARGUMENT)
	}
	if !p.mem.fits(need) {
		return errBufferFull()
	}
	return nil
}

// produceBatch is ProduceBatch; a nil ctx never waits for buffer room.
func (p *Producer) produceBatch(ctx context.Context, recs []*Record, promise func(*Record, error)) error {
	p.producing.Add(1)
	defer p.producing.Add(-1)
	if err := p.sendErr(); err != nil {
		return err
	}
	var total int64
	for i, r := range recs {
		if r == nil {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("record %d is nil", i)}
		}
		if r.Topic == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("record %d has no topic", i)}
		}
		if r.ManualPartition && r.Partition < 0 {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("record %d has ManualPartition set and partition %d: must be >= 0", i, r.Partition)}
		}
		if err := r.resolveTimestamp(); err != nil {
			return err
		}
		if i == 0 || r.Topic != recs[i-1].Topic {
			if _, err := p.topic(r.Topic); err != nil {
				return err
			}
		}
		size := recordSize(r)
		if err := p.tooLarge(i, size); err != nil {
			return err
		}
		total += recordMem(size)
	}
	if len(recs) == 0 {
		return nil
	}
	if total > p.cfg.BufferMemory {
		// Not QUEUE_FULL: waiting would never help.
		return &wire.Error{Code: wire.ErrInvalidArgument,
			Detail: fmt.Sprintf("a batch of %d bytes can never fit in buffer.memory (%d): split it", total, p.cfg.BufferMemory)}
	}
	if err := p.mem.reserve(ctx, p.quit, total); err != nil {
		return err
	}
	p.outstanding.Add(int64(len(recs)))
	if p.closing.Load() {
		p.mem.release(total)
		p.doneOutstanding(int64(len(recs)))
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "producer is closed"}
	}
	now := time.Now()
	var ts *topicState
	queued := false
	for _, r := range recs {
		if r.Timestamp.IsZero() {
			r.Timestamp = now
		}
		if ts == nil || ts.name != r.Topic {
			ts = p.knownTopic(r.Topic)
		}
		size := recordSize(r)
		if !ts.ready.Load() {
			ts.mu.Lock()
			if !ts.ready.Load() {
				ts.pending = append(ts.pending, pendingRec{promised{r, promise}, size, now})
				ts.mu.Unlock()
				queued = true
				continue
			}
			ts.mu.Unlock()
		}
		p.route(ts, ts.partitions(), r, promise, size, now, nil)
	}
	if queued {
		p.metaUrgent.Store(true)
		p.triggerMeta()
	}
	return nil
}

// route appends r to its partition; parts is the topic's partition list.
// An explicit (ManualPartition) partition is used as is; one out of range
// goes back to pending until the next metadata refresh says whether it
// exists. Otherwise the key chooses (murmur2, as the Java client), and
// records without a key go to the sticky partition. now is when r
// arrived (a batch it starts lingers from then), zero for "now": the clock
// is then read only where needed. held is appendRec's.
func (p *Producer) route(ts *topicState, parts []*partBuf, r *Record, promise func(*Record, error), size int, now time.Time, held *[]*sink) {
	n := int32(len(parts))
	switch {
	case r.ManualPartition && r.Partition >= n:
		if now.IsZero() {
			now = time.Now()
		}
		ts.mu.Lock()
		ts.pending = append(ts.pending, pendingRec{promised{r, promise}, size, now})
		ts.mu.Unlock()
		p.triggerMeta()
	case r.ManualPartition:
		parts[r.Partition].appendRec(r, promise, size, now, false, held)
	case r.Key != nil:
		parts[KeyPartition(r.Key, int(n))].appendRec(r, promise, size, now, false, held)
	default:
		// Sticky partitioner (KIP-480): stay on one partition until its
		// batch is closed (sent or full), then move to another.
		sp := ts.sticky.Load()
		if sp < 0 || sp >= n {
			sp = ts.nextSticky(parts, sp)
		}
		if parts[sp].appendRec(r, promise, size, now, true, held) {
			return
		}
		sp = ts.nextSticky(parts, sp)
		parts[sp].appendRec(r, promise, size, now, false, held)
	}
}

// topic returns the topic's state, creating it on first use after
// checking the name as Kafka does (INVALID_TOPIC_EXCEPTION; a dev cluster
// would accept names a real broker refuses).
func (p *Producer) topic(name string) (*topicState, error) {
	if ts := p.lastTopic.Load(); ts != nil && ts.name == name {
		return ts, nil
	}
	if v, ok := p.topics.Load(name); ok {
		ts := v.(*topicState)
		p.lastTopic.Store(ts)
		return ts, nil
	}
	if err := ValidateTopicName(name); err != nil {
		return nil, err
	}
	v, loaded := p.topics.LoadOrStore(name, newTopicState(name))
	ts := v.(*topicState)
	if !loaded {
		p.applyCached(ts)
	}
	return ts, nil
}

// partIfKnown is the buffer of a partition of a topic already in use; nil
// when there is none.
func (p *Producer) partIfKnown(topic string, partition int32) *partBuf {
	ts := p.topicIfKnown(topic)
	if ts == nil {
		return nil
	}
	parts := ts.partitions()
	if partition < 0 || int(partition) >= len(parts) {
		return nil
	}
	return parts[partition]
}

// knownTopic is topic for names already in use.
func (p *Producer) knownTopic(name string) *topicState {
	v, _ := p.topics.Load(name)
	return v.(*topicState)
}

func (p *Producer) topicIfKnown(name string) *topicState {
	if v, ok := p.topics.Load(name); ok {
		return v.(*topicState)
	}
	return nil
}

// ProduceSync produces recs and waits until every one is acknowledged or
// failed, or ctx ends. It returns nil when all succeeded (each record's
// Partition and Offset are then set; Offset is -1 with acks=0), else the
// first failure in recs order. Records are batched like Produce's, so many
// records cost few requests. ctx bounds both the wait for buffer room and
// the wait for results; when it ends first, ProduceSync returns TIMED_OUT
// (or QUEUE_FULL) while records already buffered stay with the producer
// until their delivery resolves (at most delivery.timeout.ms): do not
// modify them before that (Flush waits for them).
func (p *Producer) ProduceSync(ctx context.Context, recs ...*Record) error {
	if len(recs) == 0 {
		if p.closing.Load() {
			return &wire.Error{Code: wire.ErrClientClosed, Detail: "producer is closed"}
		}
		return nil
	}
	ctx, cancel := p.cl.withTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	for i, r := range recs {
		if r == nil {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("record %d is nil", i)}
		}
		// Here, not only in the produce calls below: a bad timestamp
		// fails the whole call before any record is buffered, also when
		// the records go one by one (produceEach).
		if err := r.resolveTimestamp(); err != nil {
			return err
		}
	}
	w := &syncWait{done: make(chan struct{})}
	w.left.Store(int64(len(recs)))
	var startErr error
	if total := p.batchBytes(recs); total <= p.cfg.BufferMemory/2 {
		// One reservation for the whole call.
		if err := p.ProduceBatch(ctx, recs, w.promise); err != nil {
			return err
		}
	} else {
		startErr = p.produceEach(ctx, recs, w)
	}
	select {
	case <-w.done:
		if err := w.firstError(recs); err != nil {
			return err
		}
		return startErr
	case <-ctx.Done():
		select {
		case <-w.done: // finished as ctx ended: report the results
			if err := w.firstError(recs); err != nil {
				return err
			}
			return startErr
		default:
		}
		err := w.firstError(recs)
		if err == nil && startErr != nil && wire.CodeOf(startErr) != wire.ErrQueueFull {
			err = startErr
		}
		if err != nil {
			return err
		}
		detail := "waiting for acknowledgements: " + ctx.Err().Error()
		if ts := p.topicIfKnown(recs[0].Topic); ts != nil {
			if le := ts.lastError(); le != nil {
				detail += "; last error: " + le.Error()
			}
		}
		if startErr != nil {
			return startErr
		}
		return &wire.Error{Code: wire.ErrTimedOut, Detail: detail}
	}
}

// batchBytes is the buffer.memory recs would take.
func (p *Producer) batchBytes(recs []*Record) int64 {
	var n int64
	for _, r := range recs {
		n += recordMem(recordSize(r))
	}
	return n
}

// tooLarge is MESSAGE_TOO_LARGE_LOCAL for a record of recordSize size
// that can never be sent (larger than max.request.size in a batch of its
// own) or never fit in buffer.memory (recordMem), else nil. i is the
// record's index in its batch, -1 for a single record (the message says
// which); it runs per record, so the message is built only on failure.
func (p *Producer) tooLarge(i, size int) error {
	n := size + wire.RecordBatchOverhead
	m := recordMem(size)
	if int64(n) <= int64(p.cfg.MaxRequestSize) && m <= p.cfg.BufferMemory {
		return nil
	}
	what := "record"
	if i >= 0 {
		what = fmt.Sprintf("record %d", i)
	}
	if int64(n) > int64(p.cfg.MaxRequestSize) {
		return &wire.Error{Code: wire.ErrMessageTooLargeLocal,
			Detail: fmt.Sprintf("%s of about %d bytes is larger than max.request.size (%d)", what, n, p.cfg.MaxRequestSize)}
	}
	return &wire.Error{Code: wire.ErrMessageTooLargeLocal,
		Detail: fmt.Sprintf("%s takes %d bytes of buffer.memory (about %d bytes and %d of the engine's), more than buffer.memory (%d)", what, m, size, recordOverhead, p.cfg.BufferMemory)}
}

// produceEach buffers recs one by one (for calls larger than the buffer:
// earlier records must be delivered to make room for later ones).
func (p *Producer) produceEach(ctx context.Context, recs []*Record, w *syncWait) error {
	for i, r := range recs {
		if err := p.TryProduce(ctx, r, w.promise); err != nil {
			// Records before i are buffered and will report to w; those
			// from i on never will.
			if w.left.Add(-int64(len(recs)-i)) == 0 {
				close(w.done)
			}
			return err
		}
	}
	return nil
}

// syncWait collects the results of one ProduceSync call. Only failures
// are stored, so a successful call costs no per-record bookkeeping.
type syncWait struct {
	left atomic.Int64
	done chan struct{}
	mu   sync.Mutex
	errs map[*Record]error // guarded by mu
}

func (w *syncWait) promise(r *Record, err error) {
	if err != nil {
		w.mu.Lock()
		if w.errs == nil {
			w.errs = make(map[*Record]error)
		}
		w.errs[r] = err
		w.mu.Unlock()
	}
	if w.left.Add(-1) == 0 {
		close(w.done)
	}
}

// firstError returns the failure of the first failed record in recs order.
func (w *syncWait) firstError(recs []*Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) == 0 {
		return nil
	}
	for _, r := range recs {
		if err, ok := w.errs[r]; ok {
			return err
		}
	}
	return nil
}

// Flush sends every buffered record now (ignoring linger.ms) and waits
// until all of them have their result (their promises have returned), or
// ctx ends (TIMED_OUT). Records produced while Flush waits are waited for
// too, so a producer that never pauses may keep Flush waiting until ctx.
func (p *Producer) Flush(ctx context.Context) error {
	p.flushing.Add(1)
	defer p.flushing.Add(-1)
	p.wakeAllSinks()
	p.idleWait.Add(1)
	defer p.idleWait.Add(-1)
	for {
		if p.outstanding.Load() == 0 {
			return nil
		}
		p.idleMu.Lock()
		ch := p.idleCh
		if p.outstanding.Load() == 0 {
			p.idleMu.Unlock()
			return nil
		}
		p.idleMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return &wire.Error{Code: wire.ErrTimedOut,
				Detail: fmt.Sprintf("flush: %d records still waiting for their result (%v)", p.outstanding.Load(), ctx.Err())}
		}
	}
}

// doneOutstanding marks n records finished and wakes Flush at zero.
func (p *Producer) doneOutstanding(n int64) {
	if p.outstanding.Add(-n) == 0 && p.idleWait.Load() > 0 {
		p.idleMu.Lock()
		close(p.idleCh)
		p.idleCh = make(chan struct{})
		p.idleMu.Unlock()
	}
}

// Close flushes (bounded by ctx, or by request.timeout.ms when ctx has no
// deadline), then stops the producer: records still buffered or in flight
// when the flush gives up fail with CLIENT_CLOSED (their promises are
// called before Close returns) and Close returns TIMED_OUT.
// The client is closed when the producer owns it. Produce calls after (or
// racing with) Close fail with CLIENT_CLOSED. Safe to call more than once;
// later calls return the first call's result.
func (p *Producer) Close(ctx context.Context) error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed {
		return p.closeErr
	}
	p.closed = true
	p.closing.Store(true)
	ctx, cancel := p.cl.withTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	err := p.Flush(ctx)
	if err != nil {
		err = &wire.Error{Code: wire.ErrTimedOut, Detail: "close: " + err.Error()}
	}
	// Stop: waits in flight return at once, whatever is left fails.
	p.aborting.Store(true)
	p.cancel()
	close(p.quit)
	for p.producing.Load() > 0 { // they see closing or quit and return soon
		time.Sleep(time.Millisecond)
	}
	p.wg.Wait()
	p.failAll(&wire.Error{Code: wire.ErrClientClosed, Detail: "producer closed before the record was sent"})
	if p.ownsClient {
		p.cl.Close()
	}
	p.releaseHeap()
	p.closeErr = err
	return err
}

// failAll fails every record still buffered (after the goroutines stopped).
func (p *Producer) failAll(err error) {
	p.topics.Range(func(_, v any) bool {
		ts := v.(*topicState)
		ts.mu.Lock()
		pending := ts.pending
		ts.pending = nil
		ts.mu.Unlock()
		p.failPending(pending, err)
		for _, pb := range ts.partitions() {
			pb.mu.Lock()
			batches := pb.batches
			pb.batches, pb.open, pb.sendIdx, pb.inflight = nil, nil, 0, 0
			pb.mu.Unlock()
			for _, b := range batches {
				p.finishBatch(b, partResult{err: err, base: -1, logAppendTime: -1})
			}
		}
		return true
	})
}

func (p *Producer) failPending(recs []pendingRec, err error) {
	if len(recs) == 0 {
		return
	}
	var mem int64
	for _, pr := range recs {
		mem += recordMem(pr.size)
	}
	p.mem.release(mem)
	p.stats.failed.Add(int64(len(recs))) // before the promises, as in finishBatch
	for _, pr := range recs {
		pr.r.Offset = -1
		if pr.fn != nil {
			pr.fn(pr.r, err)
		}
	}
	p.doneOutstanding(int64(len(recs)))
}

// finishBatch reports a finished batch to its promises and frees it.
// Memory is released first so that a promise that produces again finds
// room; outstanding drops last so that Flush returns only after every
// promise ran.
func (p *Producer) finishBatch(b *recBatch, res partResult) {
	// Before the promises hand the records back to their owners: no
	// compression worker may read them after that.
	b.endPrep()
	p.mem.release(b.mem)
	if p.txn != nil && res.err != nil {
		res.err = p.txn.recordFailed(res.err) // the transaction's TxnError
	}
	// Counted before the promises run: a caller that saw its result then
	// finds it in Stats (tests and dashboards read them in that order).
	n := len(b.proms)
	if res.err == nil {
		p.stats.acked.Add(int64(n))
	} else {
		p.stats.failed.Add(int64(n))
	}
	for i := range b.proms {
		pr := &b.proms[i]
		if res.err == nil && res.base >= 0 {
			pr.r.Offset = res.base + int64(i)
		} else {
			pr.r.Offset = -1
		}
		if res.err == nil && res.logAppendTime >= 0 {
			pr.r.Timestamp = time.UnixMilli(res.logAppendTime)
		}
		if pr.fn != nil {
			pr.fn(pr.r, res.err)
		}
	}
	b.recycle()
	p.doneOutstanding(int64(n))
}

func (p *Producer) wakeAllSinks() {
	p.sinksMu.Lock()
	for _, s := range p.sinks {
		s.wakeup()
	}
	p.sinksMu.Unlock()
}

// sinkFor returns the sink of a broker, starting it on first use.
func (p *Producer) sinkFor(node int32) *sink {
	p.sinksMu.Lock()
	defer p.sinksMu.Unlock()
	s := p.sinks[node]
	if s == nil {
		s = newSink(p, node)
		p.sinks[node] = s
	}
	return s
}

// noteSinkError records that a broker could not be reached: its partitions'
// leaders may have moved.
func (p *Producer) noteSinkError(s *sink, err error) {
	s.mu.Lock()
	for _, pb := range s.parts {
		if ts := p.topicIfKnown(pb.topic); ts != nil {
			ts.setLastErr(err)
		}
	}
	s.mu.Unlock()
	p.triggerMeta()
}

// nextSticky moves the sticky partition away from cur to a random partition
// with a known leader (any partition when none has one). Concurrent callers
// agree: only the first one's choice sticks.
func (ts *topicState) nextSticky(parts []*partBuf, cur int32) int32 {
	n := int32(len(parts))
	next := stickyPick(parts, cur)
	if ts.sticky.CompareAndSwap(cur, next) {
		return next
	}
	if v := ts.sticky.Load(); v >= 0 && v < n {
		return v
	}
	return next
}
