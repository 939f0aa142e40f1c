package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// ShareConsumer is a member of a share group (KIP-932, "queues for
// Kafka", Apache Kafka 4.2+): the members of a group share the records of
// the same partitions. Each record a Poll returns is acquired by this
// consumer under a time-limited lock (the broker's
// group.share.record.lock.duration.ms, 30 s by default) and acknowledged
// one by one: accepted (done), released (delivered again, to any member,
// with its delivery count + 1) or rejected (archived, never delivered
// again). The broker counts deliveries and archives a record delivered
// group.share.delivery.count.limit times.
//
// Records are fetched ahead: a Poll that empties the buffer sends the
// next share fetch before it returns, and the next Poll returns its
// records (docs/share-groups.md, "Fetching ahead").
//
// Acknowledgements are queued and sent with the next share fetch (Poll;
// alone while records are buffered), by Commit, or by Close. In the
// implicit mode (share.acknowledgement.mode, the default) the records of a
// poll are accepted when the next Poll, Commit or Close runs; in the
// explicit mode the application calls Acknowledge for every record, and
// Poll refuses to run while a record of the previous poll is
// unacknowledged.
//
// Where the group starts in a partition it has never read is the group's
// share.auto.offset.reset configuration (latest by default: set it to
// earliest with Admin.AlterConfigs on ResourceGroup to read what is already
// there).
//
// A ShareConsumer is safe for concurrent use: Poll, Commit and Close run
// one at a time (share sessions need their requests in order), while
// Acknowledge may be called from any goroutine.
type ShareConsumer struct {
	cl          *Client
	cfg         *Config
	ownsClient  bool
	releaseHeap func() // gives back the prefetch's share of the heap limit (core/memlimit.go) at Close
	memberID    string // generated once, kept for the consumer's life
	explicit    bool   // share.acknowledgement.mode=explicit

	ctx    context.Context // ends at Close: stops the heartbeat goroutine
	cancel context.CancelFunc
	start  sync.Once
	hbDone chan struct{} // closed when the heartbeat goroutine has returned
	hbConn shareConn     // to the group coordinator

	// opMu serialises Poll, Commit and Close, and guards the fields below
	// it that only they use.
	opMu     sync.Mutex
	sessions map[int32]*shareSession // share sessions by broker node
	buffered []*ShareRecord          // acquired, not yet returned by Poll
	stale    bool                    // metadata must be refreshed before the next fetch
	inflight *shareRound             // requests sent and not yet applied (see shareRound)

	mu         sync.Mutex // guards the fields below
	closed     bool
	topics     []string      // subscription, sorted
	subWake    chan struct{} // capacity 1: wakes the heartbeat goroutine
	epoch      int32         // member epoch; 0 = (re)join
	joined     bool          // a heartbeat succeeded once
	hbInterval time.Duration // from the coordinator
	assigned   map[sharePart]bool
	changed    chan struct{} // closed and replaced when the assignment changes
	coordNode  int32
	coordOK    bool
	fatal      error // ends the membership: every Poll returns it
	// delivered holds the records Poll returned that are not acknowledged
	// yet, pending the acknowledgements not sent yet, by broker node.
	delivered map[shareKey]*ShareRecord
	pending   map[int32]map[sharePart]*shareAcks
	ackCB     func([]ShareAckResult)
}

// AcknowledgeType is how a record of a share group is acknowledged.
type AcknowledgeType int8

// The acknowledge types an application uses (KIP-932).
const (
	// AcknowledgeAccept: processed; never delivered again.
	AcknowledgeAccept = AcknowledgeType(wire.AckAccept)
	// AcknowledgeRelease: not processed; delivered again (to any
	// member) with its delivery count + 1.
	AcknowledgeRelease = AcknowledgeType(wire.AckRelease)
	// AcknowledgeReject: unprocessable; archived, never delivered again.
	AcknowledgeReject = AcknowledgeType(wire.AckReject)
)

// String returns accept, release or reject.
func (t AcknowledgeType) String() string {
	switch t {
	case AcknowledgeAccept:
		return "accept"
	case AcknowledgeRelease:
		return "release"
	case AcknowledgeReject:
		return "reject"
	}
	return fmt.Sprintf("AcknowledgeType(%d)", int8(t))
}

// ShareRecord is a record a ShareConsumer acquired.
type ShareRecord struct {
	Record
	// DeliveryCount is how many times the record was delivered, this
	// delivery included (1 the first time).
	DeliveryCount int16
	// LockDeadline is when its acquisition lock ends, as seen from this
	// host (the fetch's send time plus the broker's lock duration): an
	// acknowledgement arriving later fails with INVALID_RECORD_STATE and
	// the record goes to another delivery. Zero when the broker said
	// nothing.
	LockDeadline time.Time

	topicID [16]byte
	node    int32 // the broker whose share session delivered it
}

// shareKey identifies a delivered record.
type shareKey struct {
	part   sharePart
	offset int64
}

// ShareAckResult is the outcome of one acknowledgement, as the broker
// answered it: Err is nil when it was applied, else a *wire.Error (e.g.
// INVALID_RECORD_STATE when the record's acquisition lock had ended, or
// a share session error when the session that delivered the record is
// gone; either way the broker delivers the record again).
type ShareAckResult struct {
	Topic     string
	Partition int32
	Offset    int64
	Type      AcknowledgeType
	Err       error
}

// NewShareConsumer creates a share consumer with its own client. No network
// I/O. group.id is required.
func NewShareConsumer(opts ...ShareConsumerOption) (*ShareConsumer, error) {
	return shareConsumerFromConfig(configOf(opts))
}

// NewShareConsumerFromProperties creates a share consumer from key=value
// properties (docs/configuration.md), as the C ABI gives them; Go code
// normally uses NewShareConsumer.
func NewShareConsumerFromProperties(props map[string]string) (*ShareConsumer, error) {
	cfg, err := configFromProperties(props)
	if err != nil {
		return nil, err
	}
	return shareConsumerFromConfig(cfg)
}

func shareConsumerFromConfig(cfg Config) (*ShareConsumer, error) {
	if err := cfg.validateShareConsumer(); err != nil {
		return nil, err
	}
	cl, err := clientFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := newShareConsumer(cl)
	c.ownsClient = true
	return c, nil
}

func newShareConsumer(cl *Client) *ShareConsumer {
	var id [16]byte
	_, _ = rand.Read(id[:])
	ctx, cancel := context.WithCancel(context.Background())
	return &ShareConsumer{
		cl: cl, cfg: &cl.cfg, ctx: ctx, cancel: cancel,
		releaseHeap: addHeapBudget(prefetchHeapBudget(&cl.cfg)),
		// 22 characters: Kafka takes member ids of up to 36.
		memberID:   base64.RawURLEncoding.EncodeToString(id[:]),
		explicit:   cl.cfg.ShareAcknowledgementMode == string(ShareAckExplicit),
		hbDone:     make(chan struct{}),
		hbConn:     shareConn{cl: cl},
		sessions:   map[int32]*shareSession{},
		subWake:    make(chan struct{}, 1),
		hbInterval: 5 * time.Second,
		changed:    make(chan struct{}),
		delivered:  map[shareKey]*ShareRecord{},
		pending:    map[int32]map[sharePart]*shareAcks{},
	}
}

// MemberID returns the member id this consumer generated for the group.
func (c *ShareConsumer) MemberID() string { return c.memberID }

// Client returns the consumer's client.
func (c *ShareConsumer) Client() *Client { return c.cl }

// SetAcknowledgementCallback installs fn (nil removes it): it receives the
// outcome of every acknowledgement the broker answered, failures included,
// on the goroutine of the Poll, Commit or Close that sent or answered them,
// after that call's work is done, with no lock held.
func (c *ShareConsumer) SetAcknowledgementCallback(fn func([]ShareAckResult)) {
	c.mu.Lock()
	c.ackCB = fn
	c.mu.Unlock()
}

// Subscribe sets the topics the consumer reads (replacing the previous
// subscription) and starts the membership: the heartbeat runs in the
// background from now until Close. Records already acquired for a topic
// no longer named are released by the next Poll, not returned.
func (c *ShareConsumer) Subscribe(topics ...string) error {
	for _, t := range topics {
		if err := ValidateTopicName(t); err != nil {
			return err
		}
	}
	if len(topics) == 0 {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "subscribe needs at least one topic"}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "share consumer is closed"}
	}
	c.topics = shareTopicList(topics)
	c.mu.Unlock()
	select {
	case c.subWake <- struct{}{}:
	default:
	}
	c.start.Do(func() { go c.run() })
	return nil
}

// Acknowledge queues the acknowledgement of rec, a record the last Poll
// returned, in the explicit mode; it is sent with the next Poll, Commit or
// Close. A record can be acknowledged once. It is INVALID_ARGUMENT in the
// implicit mode, for a type other than accept, release and reject, and for
// a record this consumer did not deliver or already acknowledged.
func (c *ShareConsumer) Acknowledge(rec *ShareRecord, t AcknowledgeType) error {
	bad := func(format string, args ...any) error {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf(format, args...)}
	}
	if rec == nil {
		return bad("acknowledge: nil record")
	}
	switch t {
	case AcknowledgeAccept, AcknowledgeRelease, AcknowledgeReject:
	default:
		return bad("acknowledge: invalid type %v (accept, release or reject)", t)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return &wire.Error{Code: wire.ErrClientClosed, Detail: "share consumer is closed"}
	}
	if !c.explicit {
		return bad("acknowledge needs share.acknowledgement.mode=explicit (in the implicit mode the next poll accepts the records)")
	}
	k := shareKey{sharePart{rec.topicID, rec.Partition}, rec.Offset}
	r, ok := c.delivered[k]
	if !ok {
		return bad("acknowledge: %s/%d offset %d was not delivered by this consumer or is already acknowledged", rec.Topic, rec.Partition, rec.Offset)
	}
	delete(c.delivered, k)
	c.queueAckLocked(r.node, k, int8(t))
	return nil
}

// AcknowledgeOffset is Acknowledge for the record at offset of
// topic/partition among those the last polls delivered and that are not
// acknowledged yet: the form for callers that hold a copy of the record
// rather than the *ShareRecord (the C ABI and its bindings). The same
// rules and errors as Acknowledge.
func (c *ShareConsumer) AcknowledgeOffset(topic string, partition int32, offset int64, t AcknowledgeType) error {
	c.mu.Lock()
	var rec *ShareRecord
	for k, r := range c.delivered {
		if k.offset == offset && k.part.p == partition && r.Topic == topic {
			rec = r
			break
		}
	}
	c.mu.Unlock()
	if rec == nil {
		// Acknowledge gives the closed, implicit-mode and not-delivered
		// errors; a stand-in record carries the coordinates for the last.
		rec = &ShareRecord{Record: Record{Topic: topic, Partition: partition, Offset: offset}}
	}
	return c.Acknowledge(rec, t)
}

// queueAckLocked adds one acknowledgement for the session of node (c.mu
// held).
func (c *ShareConsumer) queueAckLocked(node int32, k shareKey, t int8) {
	c.partAcksLocked(node, k.part).offs[k.offset] = t
}

// partAcksLocked returns the queued acknowledgements of one partition for
// the session of node, creating them (c.mu held).
func (c *ShareConsumer) partAcksLocked(node int32, sp sharePart) *shareAcks {
	byPart := c.pending[node]
	if byPart == nil {
		byPart = map[sharePart]*shareAcks{}
		c.pending[node] = byPart
	}
	a := byPart[sp]
	if a == nil {
		a = &shareAcks{offs: map[int64]int8{}}
		byPart[sp] = a
	}
	return a
}

// settleDeliveredLocked applies the acknowledgement mode before a Poll,
// Commit or Close (c.mu held): implicit accepts every delivered record;
// explicit returns the number still unacknowledged, or, with release set
// (Close), releases them for the other members.
func (c *ShareConsumer) settleDeliveredLocked(release bool) int {
	if c.explicit && !release {
		return len(c.delivered)
	}
	t := wire.AckAccept
	if c.explicit {
		t = wire.AckRelease
	}
	for k, r := range c.delivered {
		c.queueAckLocked(r.node, k, t)
		delete(c.delivered, k)
	}
	return 0
}

// Poll returns up to max records (max.poll.records when max <= 0),
// waiting until some arrive or ctx ends (then it returns none and no
// error). Records acquired earlier (beyond a poll's max, or by the fetch
// ahead the previous Poll sent) come first, without a round trip; a Poll
// that empties the buffer sends the next share fetch before returning
// (fetchAhead: at most one request per broker in flight, asking for at
// most max records). The queued acknowledgements (in the implicit mode
// the previous poll's records, accepted) travel with the next share fetch
// or, while records are buffered, alone (ShareAcknowledge). Buffered
// records of a topic the subscription no longer names are released, not
// returned. In the explicit mode it refuses (INVALID_ARGUMENT) while a
// record of the previous poll is unacknowledged. Errors that end the
// membership (authorization, an unsupported broker) are returned by every
// Poll; transient ones are retried within ctx.
func (c *ShareConsumer) Poll(ctx context.Context, max int) ([]*ShareRecord, error) {
	if max <= 0 {
		max = c.cfg.MaxPollRecords
	}
	c.opMu.Lock()
	var results []ShareAckResult
	defer func() {
		c.opMu.Unlock()
		c.report(results)
	}()
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return nil, &wire.Error{Code: wire.ErrClientClosed, Detail: "share consumer is closed"}
	case c.fatal != nil:
		err := c.fatal
		c.mu.Unlock()
		return nil, err
	case len(c.topics) == 0:
		c.mu.Unlock()
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "poll before subscribe: the share consumer has no topics"}
	}
	if n := c.settleDeliveredLocked(false); n > 0 {
		c.mu.Unlock()
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf(
			"share.acknowledgement.mode=explicit: %d record(s) of the previous poll are not acknowledged; acknowledge each (accept, release or reject) before polling again", n)}
	}
	c.mu.Unlock()
	for {
		// A round in flight (fetched ahead, or acknowledgements) is
		// applied once its answer is in; it is waited for only when
		// nothing is buffered (fetchRound).
		if r := c.inflight; r != nil {
			select {
			case <-r.done:
				results = append(results, c.awaitRound(ctx)...)
			default:
			}
		}
		c.releaseUnsubscribed()
		if len(c.buffered) > 0 {
			out := c.take(max)
			results = append(results, c.fetchAhead(max)...)
			return out, nil
		}
		// Even with ctx already over: the round goes out (or the one in
		// flight is taken up) for a later poll, as a zero timeout polls.
		res, err := c.fetchRound(ctx, max)
		results = append(results, res...)
		if err != nil {
			return nil, err
		}
		if len(c.buffered) == 0 && ctx.Err() != nil {
			return nil, nil
		}
	}
}

// releaseUnsubscribed releases the buffered records of topics no longer
// subscribed (Subscribe replaced the list), so that the other members get
// them at once instead of after their acquisition lock (opMu held).
func (c *ShareConsumer) releaseUnsubscribed() {
	if len(c.buffered) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	subscribed := make(map[string]bool, len(c.topics))
	for _, t := range c.topics {
		subscribed[t] = true
	}
	kept := c.buffered[:0]
	for _, r := range c.buffered {
		if subscribed[r.Topic] {
			kept = append(kept, r)
			continue
		}
		c.queueAckLocked(r.node, shareKey{sharePart{r.topicID, r.Partition}, r.Offset}, wire.AckRelease)
	}
	clear(c.buffered[len(kept):])
	c.buffered = kept
}

// take moves up to max buffered records to the delivered set and returns
// them (opMu held).
func (c *ShareConsumer) take(max int) []*ShareRecord {
	n := min(max, len(c.buffered))
	out := c.buffered[:n:n]
	c.buffered = c.buffered[n:]
	c.mu.Lock()
	for _, r := range out {
		c.delivered[shareKey{sharePart{r.topicID, r.Partition}, r.Offset}] = r
	}
	c.mu.Unlock()
	return out
}

// Commit sends the queued acknowledgements now (ShareAcknowledge, one
// request per broker), in the implicit mode after accepting the records of
// the last poll, and returns their outcome; a fetch ahead in flight is
// taken up first (a round trip: it does not wait at the broker). Records
// whose session is gone are reported failed (the broker delivers them
// again). When ctx ends
// before the brokers answer it returns TIMED_OUT; the outcome then comes
// with the next Poll, Commit or Close.
func (c *ShareConsumer) Commit(ctx context.Context) ([]ShareAckResult, error) {
	c.opMu.Lock()
	var results []ShareAckResult
	defer func() {
		c.opMu.Unlock()
		c.report(results)
	}()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &wire.Error{Code: wire.ErrClientClosed, Detail: "share consumer is closed"}
	}
	c.settleDeliveredLocked(false)
	c.mu.Unlock()
	results = c.sendAcks(ctx, false)
	if c.inflight != nil {
		// The broker applies what was sent; the outcome comes with the
		// next Poll, Commit or Close (and the callback).
		return results, &wire.Error{Code: wire.ErrTimedOut, Detail: "commit: the brokers did not answer before the deadline; the outcome is reported by the next call"}
	}
	return results, nil
}

// report hands results to the acknowledgement callback.
func (c *ShareConsumer) report(results []ShareAckResult) {
	if len(results) == 0 {
		return
	}
	c.mu.Lock()
	fn := c.ackCB
	c.mu.Unlock()
	if fn != nil {
		fn(results)
	}
}

// Close ends the consumer: it sends the queued acknowledgements (in the
// implicit mode accepting the last poll's records; records delivered but
// not acknowledged in the explicit mode, and records acquired but not yet
// returned, are released for other members), closes every share session,
// leaves the group (epoch -1) and closes the client if it owns it. ctx
// bounds the whole call. Calling it again is a no-op.
func (c *ShareConsumer) Close(ctx context.Context) error {
	c.opMu.Lock()
	var results []ShareAckResult
	defer func() {
		c.opMu.Unlock()
		c.report(results)
	}()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.settleDeliveredLocked(true)
	started := c.topics != nil
	c.mu.Unlock()

	// A fetch ahead still in flight acquired records too: its answer
	// first, so that they are released with the ones already buffered.
	results = c.awaitRound(ctx)
	c.mu.Lock()
	for _, r := range c.buffered {
		c.queueAckLocked(r.node, shareKey{sharePart{r.topicID, r.Partition}, r.Offset}, wire.AckRelease)
	}
	c.buffered = nil
	c.mu.Unlock()
	results = append(results, c.sendAcks(ctx, true)...)
	c.cancel()
	var err error
	if started {
		select {
		case <-c.hbDone:
		case <-ctx.Done():
			err = &wire.Error{Code: wire.ErrTimedOut, Detail: "stopping share group membership"}
		}
		if err == nil {
			err = c.leave(ctx)
		}
	}
	c.hbConn.close()
	for _, s := range c.sessions {
		s.conn.close()
	}
	if c.ownsClient {
		if cerr := c.cl.Close(); err == nil {
			err = cerr
		}
	}
	c.releaseHeap()
	return err
}
