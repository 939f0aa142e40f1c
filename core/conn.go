package core

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// maxResponseSize bounds one response frame; a larger size prefix means a
// corrupt stream (or not a Kafka broker) and closes the connection rather
// than allocating it.
const maxResponseSize = 512 << 20

// clientConn is a client's handle on a broker connection: the shared conn
// plus the client id and request bounds of this client's requests. Several
// clients sharing a Pool hold distinct clientConns on one conn, so each
// request still names its own client (brokers use the id for quotas and
// logs).
type clientConn struct {
	*conn
	clientID string
	limits   requestLimits
}

// requestLimits bound how long a request may wait for its response, from
// the configuration of the client that sends it (request.timeout.ms and,
// for group joins, max.poll.interval.ms). A request that gets no response
// within its bound fails with TIMED_OUT and closes the connection (as the
// Java client disconnects on a request timeout): a broker that stopped
// answering (frozen, overloaded, half-open TCP) does not keep a connection
// that any-broker requests would pick again, and the requests pipelined
// behind the lost one fail at once and are retried elsewhere.
type requestLimits struct {
	request   time.Duration // request.timeout.ms; 0 = no bound of its own
	rebalance time.Duration // max.poll.interval.ms: added for SyncGroup
}

func limitsOf(cfg *Config) requestLimits {
	return requestLimits{request: cfg.RequestTimeout, rebalance: cfg.MaxPollInterval}
}

// bound is how long req may wait for its response (0 = no bound of its
// own). Requests the broker holds on purpose get that time on top:
// a Fetch its max wait, a JoinGroup its rebalance timeout, a SyncGroup
// max.poll.interval.ms, requests with a broker-side timeout that timeout
// plus a second.
func (l requestLimits) bound(req wire.Request) time.Duration {
	d := l.request
	if d <= 0 {
		return 0
	}
	ms := func(v int32) time.Duration { return time.Duration(max(v, 0)) * time.Millisecond }
	if u, ok := req.(interface{ unwrapRequest() wire.Request }); ok {
		req = u.unwrapRequest() // versionCap (core/txn.go)
	}
	switch r := req.(type) {
	case *wire.FetchRequest:
		d += ms(r.MaxWaitMs)
	case *wire.ShareFetchRequest:
		d += ms(r.MaxWaitMs)
	case *wire.JoinGroupRequest:
		d += max(ms(r.RebalanceTimeoutMs), ms(r.SessionTimeoutMs), l.rebalance)
	case *wire.SyncGroupRequest:
		d += l.rebalance
	case *wire.ProduceRequest:
		d = max(d, ms(r.TimeoutMs)) + time.Second
	case *wire.CreateTopicsRequest:
		d = max(d, ms(r.TimeoutMs)+time.Second)
	case *wire.DeleteTopicsRequest:
		d = max(d, ms(r.TimeoutMs)+time.Second)
	case *wire.CreatePartitionsRequest:
		d = max(d, ms(r.TimeoutMs)+time.Second)
	case *wire.DeleteRecordsRequest:
		d = max(d, ms(r.TimeoutMs)+time.Second)
	}
	return d
}

// conn is one TCP (or TLS) connection to one broker, owned by a Pool.
//
// Requests are pipelined: any number of goroutines may call roundTrip at
// once; each request gets a correlation id, frames are written in order
// under writeMu, and the reader (a goroutine, or on plaintext connections a
// thread waiting for its own response: core/conn_read.go) hands each
// response frame to the waiter with the matching id. Responses are decoded
// by the waiting goroutine, not the reader, so decoding cost spreads
// across callers.
//
// A conn that fails (I/O error, corrupt frame) is dead for good: every
// pending and later request gets the failure, and the client dials anew.
type conn struct {
	addr     string
	nodeID   int32  // -1 for a bootstrap connection whose node id is unknown
	clientID string // sent with the ApiVersions handshake only
	nc       net.Conn
	versions map[int16][2]int16 // the broker's supported [min,max] per API key
	// txnVersion is the finalized "transaction.version" feature level the
	// broker announced (0 when none); set with versions, before use.
	txnVersion int16

	writeMu sync.Mutex
	wbuf    []byte // guarded by writeMu

	mu      sync.Mutex
	pending map[int32]waiter // guarded by mu; their channels are closed on failure
	corr    int32            // guarded by mu
	err     error            // guarded by mu; set once when the conn dies
	dead    chan struct{}    // closed when the conn dies

	// Reading (core/conn_read.go). sock is set at dial for plaintext TCP
	// connections (nc is nil then) and never changes; rd is the read role's.
	sock     *sockFD
	readMu   sync.Mutex   // the read role
	rd       frameReader  // guarded by readMu
	lost     atomic.Bool  // the reader goroutine left bytes to the holder or a caller
	callers  atomic.Int32 // threads waiting on the socket (responseReader.beginWait)
	watching atomic.Bool  // the reader goroutine wakes for arriving data
	// idleWatch: the reader goroutine watches even with no response
	// awaited, because the last request left its response to it and the
	// next likely will too (startUnclaimed); cleared when a caller waits
	// on the socket (beginWait). See shouldWatch.
	idleWatch atomic.Bool

	lastUsed atomic.Int64 // unix nanos of the last request, for idle reaping
	inFlight atomic.Int32
	retiring atomic.Bool // SASL session about to end: no new requests (core/sasl.go)
	timedOut atomic.Bool // closed because a request got no response in time

	stats      *brokerCounters // the pool's counters of addr (stats_conn.go); set at dial, never changed; nil = not counted
	localClose atomic.Bool     // closed on purpose (closeLocal): not counted as an error
	set        atomic.Bool     // dialConn finished setting it up: its close counts as a disconnect
}

// dialConn connects to addr, optionally over TLS, negotiates API versions
// and, with SASL, authenticates (core/tls.go, core/sasl.go), all bounded by
// ctx (the pool bounds it by Config.setupTimeout). It returns a
// ready connection or an error classified through the wire error table
// (CONNECTION_FAILED, TIMED_OUT, TLS_FAILED, SASL_AUTHENTICATION_FAILED,
// ...). A broker that just refused our credentials is not redialed for a
// while: the same error comes back at once.
func dialConn(ctx context.Context, addr string, nodeID int32, cfg *Config, stats *brokerCounters) (_ *conn, err error) {
	sec, err := cfg.security()
	if err != nil {
		return nil, err
	}
	if err := sec.failures.check(addr); err != nil {
		return nil, err
	}
	defer func() { sec.failures.record(addr, err) }()
	d := net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, &wire.Error{Code: wire.ErrConnectionFailed, Detail: err.Error(), Broker: addr}
	}
	tc, _ := nc.(*net.TCPConn)
	if tc != nil {
		_ = tc.SetNoDelay(true)
	}
	if sec.tls != nil {
		if nc, err = sec.tlsHandshake(ctx, nc, addr, cfg.DialTimeout); err != nil {
			return nil, err
		}
	}
	c := &conn{
		addr:     addr,
		nodeID:   nodeID,
		clientID: cfg.ClientID,
		nc:       nc,
		pending:  make(map[int32]waiter),
		dead:     make(chan struct{}),
		stats:    stats,
	}
	if tc != nil && sec.tls == nil {
		c.ownSocket(tc)
	}
	c.lastUsed.Store(time.Now().UnixNano())
	go c.readLoop()
	if err := c.negotiate(ctx); err != nil {
		c.close(err)
		return nil, err
	}
	if sec.sasl != nil {
		lifetime, err := c.authenticate(ctx, sec.sasl)
		if err != nil {
			c.close(err)
			return nil, err
		}
		if lifetime > 0 {
			c.retireAfter(lifetime)
		}
	}
	c.set.Store(true)
	return c, nil
}

// negotiate sends ApiVersions (newest version first, falling back to v0
// when the broker does not know it) and records the broker's ranges.
func (c *conn) negotiate(ctx context.Context) error {
	req := &wire.ApiVersionsRequest{ClientSoftwareName: "gofka", ClientSoftwareVersion: Version}
	_, maxV := req.Versions()
	for _, v := range []int16{maxV, 0} {
		raw, err := c.roundTripVersion(ctx, req, v)
		if err != nil {
			return err
		}
		resp := &wire.ApiVersionsResponse{}
		if err := wire.DecodeResponse(raw, req, v, resp); err != nil {
			return &wire.Error{Code: wire.ErrCorruptResponse, Detail: err.Error(), Broker: c.addr}
		}
		if resp.ErrorCode == int16(wire.ErrUnsupportedVersion) && v != 0 {
			continue
		}
		if resp.ErrorCode != 0 {
			return &wire.Error{Code: wire.ErrorCode(resp.ErrorCode), Detail: "ApiVersions", Broker: c.addr}
		}
		c.versions = make(map[int16][2]int16, len(resp.ApiKeys))
		for _, k := range resp.ApiKeys {
			c.versions[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
		}
		c.txnVersion = resp.FinalizedLevel("transaction.version")
		return nil
	}
	return &wire.Error{Code: wire.ErrUnsupportedVersionLocal, Detail: "ApiVersions", Broker: c.addr}
}

// version picks the highest version both sides support for req.
func (c *conn) version(req wire.Request) (int16, error) {
	ourMin, ourMax := req.Versions()
	r, ok := c.versions[req.APIKey()]
	if !ok {
		return 0, &wire.Error{Code: wire.ErrUnsupportedVersionLocal,
			Detail: fmt.Sprintf("broker does not support %s", wire.APIName(req.APIKey())), Broker: c.addr}
	}
	v := min(ourMax, r[1])
	if v < ourMin || v < r[0] {
		return 0, &wire.Error{Code: wire.ErrUnsupportedVersionLocal,
			Detail: fmt.Sprintf("%s: broker supports v%d-v%d, client v%d-v%d", wire.APIName(req.APIKey()), r[0], r[1], ourMin, ourMax),
			Broker: c.addr}
	}
	return v, nil
}

// roundTrip sends req at the negotiated version and decodes the response.
// When noResponse is true (acks=0 produce) it returns after the write.
func (c *clientConn) roundTrip(ctx context.Context, req wire.Request, noResponse bool) (wire.Response, error) {
	call, err := c.start(req, noResponse, nil)
	if err != nil || call == nil {
		return nil, err
	}
	return call.wait(ctx)
}

// roundTripOwn is roundTrip (a response is awaited) for a caller that
// waits on its own thread: on a plaintext connection it claims the socket
// before writing (responseReader.beginWait, so the reader goroutine does
// not wake for the response) and reads the response itself (call.readOwn)
// instead of being handed it by the reader goroutine. Why: that hand-off
// wakes two threads per round trip, the goroutine's and then the
// caller's, and a caller that came in through cgo from a foreign thread
// (a Python commit) is locked to its thread, so its wake-up is a futex
// hand-off between OS threads that cost a sequential commit ~100 us (see
// "Roles instead of goroutines" in docs/architecture.md). TLS connections,
// and a connection found closed, take roundTrip's path.
func (c *clientConn) roundTripOwn(ctx context.Context, req wire.Request) (wire.Response, error) {
	if c.sock == nil {
		return c.roundTrip(ctx, req, false)
	}
	r := responseReader{c.conn}
	if !r.beginWait() {
		return c.roundTrip(ctx, req, false) // closed: it reports why
	}
	k, err := c.start(req, false, nil)
	if err == nil {
		k.readOwn(ctx, r)
	}
	r.endWait()
	if err != nil {
		return nil, err
	}
	return k.wait(ctx)
}

// call is a request written to the connection whose response is awaited.
type call struct {
	c    *clientConn
	req  wire.Request
	v    int16
	id   int32
	ch   chan []byte
	sent time.Time

	got    bool   // arrived took the outcome off ch: raw, or failed
	raw    []byte // the response frame
	failed bool   // the connection died first
}

// start writes req now and returns the call to wait on (nil when
// noResponse). Requests started one after another from one goroutine reach
// the broker in that order, which is what keeps pipelined produce batches
// of one partition in order.
//
// notify, when not nil, is called once the response arrives or the
// connection fails, after which arrived reports true: a goroutine that is
// not waiting on this call learns it has something to do without the
// writer waking it. It runs with no lock held, on the connection's reader
// goroutine (a response) or on a goroutine of its own (a failure).
func (c *clientConn) start(req wire.Request, noResponse bool, notify func()) (*call, error) {
	return c.startWith(req, noResponse, notify, false)
}

// startWith is start; inline says notify settles the call itself and
// readies no goroutine (waiter.inline).
func (c *clientConn) startWith(req wire.Request, noResponse bool, notify func(), inline bool) (*call, error) {
	v, err := c.version(req)
	if err != nil {
		return nil, err
	}
	id, ch, err := c.send(req, v, !noResponse, c.clientID, notify, inline)
	if err != nil || noResponse {
		return nil, err
	}
	c.inFlight.Add(1)
	return &call{c: c, req: req, v: v, id: id, ch: ch, sent: time.Now()}, nil
}

// startUnclaimed is start with notify for a caller that leaves the
// response to the connection's reader goroutine and is likely to do the
// same next time (a non-waiting commit per message, ownCommit): the
// goroutine keeps watching the socket between such requests, so writing
// the next one need not ring it awake to watch (see shouldWatch).
func (c *clientConn) startUnclaimed(req wire.Request, notify func()) (*call, error) {
	if c.sock != nil && !c.idleWatch.Load() {
		c.idleWatch.Store(true)
	}
	return c.startWith(req, false, notify, true)
}

// arrived reports, without blocking, whether the response (or the connection's
// failure) is in; wait then returns at once. Like wait, it belongs to the
// call's one waiter.
func (k *call) arrived() bool {
	if k.got {
		return true
	}
	select {
	case raw, ok := <-k.ch:
		k.raw, k.failed, k.got = raw, !ok, true
		return true
	default:
		return false
	}
}

// deadline is when the call's bound (requestLimits.bound) ends; zero when
// it has none.
func (k *call) deadline() time.Time {
	if b := k.c.limits.bound(k.req); b > 0 {
		return k.sent.Add(b)
	}
	return time.Time{}
}

// expire is for a call nobody waits on (its outcome comes through notify):
// once the bound has passed without a response it closes the connection,
// as wait does, which fails the call (and notifies). It reports whether it
// did.
func (k *call) expire() bool {
	b := k.c.limits.bound(k.req)
	if b <= 0 || time.Since(k.sent) < b || k.arrived() {
		return false
	}
	k.c.requestTimedOut(k.req, b)
	return true
}

// wait blocks for the response, ctx, or the request's own bound
// (requestLimits.bound, which closes the connection), and decodes it.
func (k *call) wait(ctx context.Context) (wire.Response, error) {
	var raw []byte
	var err error
	if k.arrived() {
		k.c.inFlight.Add(-1) // as awaitBounded does
		raw = k.raw
		if k.failed {
			err = k.c.deathErr()
		}
	} else {
		raw, err = k.c.awaitBounded(ctx, k.req, k.id, k.ch, k.sent, k.c.limits.bound(k.req))
	}
	if err != nil {
		return nil, err
	}
	resp := k.req.NewResponse()
	if err := wire.DecodeResponse(raw, k.req, k.v, resp); err != nil {
		// A frame we cannot decode leaves the stream in an unknown state.
		werr := &wire.Error{Code: wire.ErrCorruptResponse, Detail: err.Error(), Broker: k.c.addr}
		k.c.close(werr)
		return nil, werr
	}
	return resp, nil
}

func (c *conn) roundTripVersion(ctx context.Context, req wire.Request, v int16) ([]byte, error) {
	id, ch, err := c.send(req, v, true, c.clientID, nil, false)
	if err != nil {
		return nil, err
	}
	c.inFlight.Add(1)
	return c.awaitBounded(ctx, req, id, ch, time.Now(), 0)
}

// awaitBounded waits for the frame of request id (sent at sent) until ctx
// ends or, when bound > 0, until bound has passed since sent; it undoes
// the inFlight count taken when the request was sent.
//
// When the bound passes (also when ctx ends at or after it, e.g. a caller
// deadline equal to request.timeout.ms), the broker is taken as not
// answering: the connection is closed with TIMED_OUT, which fails the
// requests pipelined on it too, and the next request dials anew (or, for
// any-broker requests, uses another broker). When only ctx ends (a caller
// deadline shorter than the bound, a cancelled poll), the connection stays
// up and the late response is dropped.
func (c *conn) awaitBounded(ctx context.Context, req wire.Request, id int32, ch chan []byte, sent time.Time, bound time.Duration) ([]byte, error) {
	defer c.inFlight.Add(-1)
	var expired <-chan time.Time
	if bound > 0 {
		t := time.NewTimer(max(bound-time.Since(sent), 0))
		defer t.Stop()
		expired = t.C
	}
	select {
	case raw, ok := <-ch:
		if !ok {
			return nil, c.deathErr()
		}
		return raw, nil
	case <-expired:
		return nil, c.requestTimedOut(req, bound)
	case <-ctx.Done():
		if bound > 0 && time.Since(sent) >= bound-10*time.Millisecond {
			return nil, c.requestTimedOut(req, bound)
		}
		// The response may still arrive: the id stays known, without a
		// channel, so the reader drops it (deliver).
		c.mu.Lock()
		if c.pending != nil {
			c.pending[id] = waiter{}
		}
		c.mu.Unlock()
		return nil, &wire.Error{Code: wire.ErrTimedOut,
			Detail: fmt.Sprintf("%s request: %v", wire.APIName(req.APIKey()), ctx.Err()), Broker: c.addr}
	}
}

// requestTimedOut closes the connection because req got no response within
// bound and returns the caller's error.
func (c *conn) requestTimedOut(req wire.Request, bound time.Duration) error {
	err := &wire.Error{Code: wire.ErrTimedOut, Broker: c.addr,
		Detail: fmt.Sprintf("%s request got no response within %v (request.timeout.ms): connection closed", wire.APIName(req.APIKey()), bound)}
	c.timedOut.Store(true)
	c.close(err)
	return err
}

// waiter is where the reader delivers one response frame. The zero waiter
// stands for a request whose caller gave up: its response is still
// expected, and dropped.
type waiter struct {
	ch     chan []byte // capacity 1: the frame; closed when the connection dies; nil: given up
	notify func()      // optional: called after ch is filled or closed (clientConn.start)
	sent   int64       // monoNow() when the request was sent, for its round-trip time; 0 = not timed (timesRTT)
	// inline: notify does all there is to do with the response and
	// readies no goroutine, so the reader goroutine need not yield after
	// delivering it (readLoop; clientConn.startUnclaimed).
	inline bool
}

func (w waiter) signal() {
	if w.notify != nil {
		w.notify()
	}
}

// send encodes and writes one request carrying clientID; with wantReply it
// registers a channel that receives the response frame (and notify, see
// clientConn.start; inline, see waiter).
func (c *conn) send(req wire.Request, v int16, wantReply bool, clientID string, notify func(), inline bool) (int32, chan []byte, error) {
	var ch chan []byte
	now := time.Now().UnixNano()
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, nil, err
	}
	c.corr++
	id := c.corr
	if wantReply {
		ch = make(chan []byte, 1)
		w := waiter{ch: ch, notify: notify, inline: inline}
		if c.stats != nil && timesRTT(req) {
			w.sent = monoNow()
		}
		c.pending[id] = w
	}
	c.mu.Unlock()
	c.lastUsed.Store(now)
	if wantReply {
		c.rouse() // before the write: the goroutine wakes while the broker works
	}

	c.writeMu.Lock()
	var err error
	c.wbuf, err = wire.AppendRequest(c.wbuf[:0], req, v, id, clientID)
	if err != nil {
		// Nothing was written (an over-long string): the connection stays
		// good, only this request fails, not retriably.
		c.writeMu.Unlock()
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return 0, nil, err
	}
	if c.sock != nil {
		err = c.sock.write(c.wbuf)
	} else {
		_, err = c.nc.Write(c.wbuf)
	}
	if err == nil {
		c.noteSent(len(c.wbuf))
	}
	if cap(c.wbuf) > 4<<20 {
		c.wbuf = nil // do not pin a huge buffer after a large produce
	}
	c.writeMu.Unlock()
	if err != nil {
		// The reader may have closed the connection first, with the cause (a
		// TLS alert refusing our certificate, say): the write then fails
		// with "use of closed network connection", and the first error,
		// which deathErr returns, is the one worth reporting.
		c.close(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "write: " + err.Error(), Broker: c.addr})
		return 0, nil, c.deathErr()
	}
	return id, ch, nil
}

func (c *conn) deathErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return &wire.Error{Code: wire.ErrConnectionFailed, Detail: "connection closed", Broker: c.addr}
}

// isDead reports whether the connection has failed or been closed, or is being
// retired (SASL session ending) and takes no new requests.
func (c *conn) isDead() bool {
	return c.retiring.Load() || c.isClosed()
}

// isClosed reports whether the connection is dead (not merely retiring).
func (c *conn) isClosed() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

// close kills the connection with err (first error wins) and fails every
// waiter.
func (c *conn) close(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	close(c.dead)
	c.mu.Unlock()
	c.noteClosed()
	if c.sock != nil {
		c.sock.shutdown()
	} else {
		c.nc.Close()
	}
	notify := false
	for _, w := range pending {
		if w.ch != nil {
			close(w.ch)
		}
		notify = notify || w.notify != nil
	}
	if notify {
		// On a goroutine of their own: close may run under a lock (the
		// pool's, say) that a notify's work (settling produce batches,
		// running their promises) could need.
		go func() {
			for _, w := range pending {
				w.signal()
			}
		}()
	}
}
