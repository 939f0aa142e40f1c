// Package core is the Gofka client engine: connections, metadata, producer,
// consumer and admin. It is an ordinary Go library (the C ABI in capi/ and
// the Python package are thin layers on it). The in-process dev cluster for
// tests is package github.com/gofka/gofka/devcluster, kept out of core so
// that importing the client does not link a fake broker.
//
// Each kind of client has one constructor taking options and one taking
// key=value properties: NewProducer(opts ...ProducerOption) and
// NewProducerFromProperties, likewise NewConsumer, NewAdmin and NewPool.
// Options are typed per kind (ProducerOption, ConsumerOption, AdminOption,
// PoolOption; ClientOption and ConnOption are shared), so an option given
// to a client it does not apply to is a compile error, and enumerated
// settings are typed constants (AcksAll, ReadCommitted,
// OffsetResetEarliest, ...). Each option's doc states its default.
//
// Every exported method is safe for concurrent use and takes a
// context.Context for cancellation and deadlines.
package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// Client is a connection to one Kafka cluster: it holds broker connections
// (one per broker, shared by every request to it), the metadata cache and
// the configuration. Producer, Admin and Consumer are built on a Client.
//
// Connections come from a Pool: the one given by WithPool (shared with the
// pool's other clients), else a private pool built from the Config. The
// client holds one share of each connection it uses until Close or until
// the connection dies (then it asks the pool again).
//
// A Client is safe for concurrent use. Close releases every connection;
// calls after Close fail with wire.ErrClientClosed.
type Client struct {
	cfg      Config
	pool     *Pool
	ownsPool bool

	mu      sync.Mutex
	conns   map[string]*clientConn // connections in use by address; guarded by mu
	dialing map[string]*dialCall   // dials in progress by address; guarded by mu
	failed  map[string]time.Time   // addresses whose last dial or request failed, and when; guarded by mu
	closed  bool                   // guarded by mu
	meta    atomic.Pointer[Metadata]
	metaMu  sync.Mutex // serialises metadata refreshes
	closeCh chan struct{}

	// Reachability, for ALL_BROKERS_DOWN: everConnected is set by the
	// first successful dial; downSince (unix ns, 0 = not down) by a failed
	// dial while no connection was alive, cleared by a successful one.
	everConnected atomic.Bool
	downSince     atomic.Int64
}

type dialCall struct {
	done chan struct{}
	c    *clientConn
	err  error
}

// NewClient creates a client (metadata, FetchPartition, raw requests)
// from options over the defaults of the property table; WithBrokers is
// required. It does no network I/O: connections are made on first use or
// by Connect. A bad setting is INVALID_ARGUMENT.
func NewClient(opts ...ClientOption) (*Client, error) {
	return clientFromConfig(configOf(opts))
}

// clientFromConfig validates cfg and returns a client.
func clientFromConfig(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := cfg.validateConn(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:     cfg,
		pool:    cfg.Pool,
		conns:   make(map[string]*clientConn),
		dialing: make(map[string]*dialCall),
		failed:  make(map[string]time.Time),
		closeCh: make(chan struct{}),
	}
	if c.pool == nil {
		p, err := poolFromConfig(cfg)
		if err != nil {
			return nil, err
		}
		c.pool, c.ownsPool = p, true
	}
	return c, nil
}

// poolClosedErr is CLIENT_CLOSED when the shared pool the client was given
// has been closed (every later request would fail: the client is as good
// as closed), else nil. A private pool closes only with the client.
func (c *Client) poolClosedErr() error {
	if c.ownsPool || !c.pool.isClosed() {
		return nil
	}
	return c.pool.closedErr()
}

// Pool returns the pool the client's connections come from.
func (c *Client) Pool() *Pool { return c.pool }

// Config returns a copy of the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// Connect reaches the cluster through the bootstrap brokers (tried in
// order) and loads metadata for all topics. It is optional: every other
// call connects on demand.
func (c *Client) Connect(ctx context.Context) error {
	ctx, cancel := c.withTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	_, err := c.RefreshMetadata(ctx, nil)
	return err
}

// Close closes every connection. It is safe to call more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closeCh)
	conns := c.conns
	c.conns = map[string]*clientConn{}
	c.mu.Unlock()
	if c.ownsPool {
		return c.pool.Close()
	}
	for _, cn := range conns {
		c.pool.releaseShared(cn.conn)
	}
	return nil
}

// withTimeout applies d when ctx has no deadline of its own.
func (c *Client) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// connFor returns a live connection to addr, dialing it if needed. Only one
// dial per address runs at a time; concurrent callers share its result.
func (c *Client) connFor(ctx context.Context, addr string, nodeID int32) (*clientConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &wire.Error{Code: wire.ErrClientClosed}
	}
	if cn := c.conns[addr]; cn != nil && !cn.isDead() {
		c.mu.Unlock()
		return cn, nil
	}
	call := c.dialing[addr]
	if call == nil {
		call = &dialCall{done: make(chan struct{})}
		c.dialing[addr] = call
		go c.dial(addr, nodeID, call)
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.c, call.err
	case <-ctx.Done():
		return nil, &wire.Error{Code: wire.ErrTimedOut, Detail: "connecting: " + ctx.Err().Error(), Broker: addr}
	}
}

// dial takes a share of a pooled connection to addr (the pool dials one
// when it has none), bounded by DialTimeout plus the pool's wait for a free
// slot and detached from any single caller's context so that a caller
// giving up does not fail the others waiting on the same dial.
func (c *Client) dial(addr string, nodeID int32, call *dialCall) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout+c.pool.cfg.ConnectionTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.closeCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	var cn *clientConn
	shared, err := c.pool.acquireShared(ctx, addr, nodeID)
	c.mu.Lock()
	delete(c.dialing, addr)
	if err != nil {
		c.failed[addr] = time.Now()
		if !c.anyLiveLocked() {
			c.downSince.CompareAndSwap(0, time.Now().UnixNano())
		}
	} else {
		delete(c.failed, addr)
		c.everConnected.Store(true)
		c.downSince.Store(0)
	}
	if err == nil {
		cn = &clientConn{conn: shared, clientID: c.cfg.ClientID, limits: limitsOf(&c.cfg)}
		if c.closed {
			c.pool.releaseShared(shared)
			cn, err = nil, &wire.Error{Code: wire.ErrClientClosed}
		} else {
			if old := c.conns[addr]; old != nil {
				c.pool.releaseShared(old.conn)
			}
			c.conns[addr] = cn
		}
	}
	c.mu.Unlock()
	call.c, call.err = cn, err
	close(call.done)
}

// anyLiveLocked reports whether some connection is alive; c.mu held.
func (c *Client) anyLiveLocked() bool {
	for _, cn := range c.conns {
		if !cn.isDead() {
			return true
		}
	}
	return false
}

// unreachableFor is how long no broker has been reachable: 0 while a
// connection is alive or since the last successful dial, else the time
// since the first dial that failed with no connection alive.
func (c *Client) unreachableFor(now time.Time) time.Duration {
	since := c.downSince.Load()
	if since == 0 {
		return 0
	}
	c.mu.Lock()
	live := c.anyLiveLocked()
	c.mu.Unlock()
	if live {
		return 0
	}
	return now.Sub(time.Unix(0, since))
}

// anyConnStagger is how long anyConn waits for one address's connection
// before it also starts on the next one (staggered dials, as in "happy
// eyeballs"): a bootstrap broker that accepts TCP connections but never
// answers (frozen with SIGSTOP, overloaded) then costs about this long
// instead of the whole connection setup timeout.
const anyConnStagger = 500 * time.Millisecond

// failedRecently is how long an address whose dial failed or whose request
// got no response is tried only after the others by anyConn.
const failedRecently = 30 * time.Second

// anyConn returns a connection to some broker: the least loaded live one
// (fewest requests in flight, so one stuck on a broker that stopped
// answering is avoided), else the known brokers and then the bootstrap
// list, those that failed recently last. Addresses are dialed in that
// order, the next one starting as soon as the previous failed or after
// anyConnStagger without an answer; the first connection made is
// returned. The error names every address tried.
func (c *Client) anyConn(ctx context.Context) (*clientConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &wire.Error{Code: wire.ErrClientClosed}
	}
	var best *clientConn
	for _, cn := range c.conns {
		if cn.isDead() {
			continue
		}
		if best == nil || cn.inFlight.Load() < best.inFlight.Load() {
			best = cn
		}
	}
	if best != nil {
		c.mu.Unlock()
		return best, nil
	}
	now := time.Now()
	var addrs, later []string
	seen := map[string]bool{}
	add := func(a string) {
		if seen[a] {
			return
		}
		seen[a] = true
		if t, ok := c.failed[a]; ok && now.Sub(t) < failedRecently {
			later = append(later, a)
		} else {
			addrs = append(addrs, a)
		}
	}
	if m := c.meta.Load(); m != nil {
		for _, b := range m.sortedBrokers() {
			add(b.Addr())
		}
	}
	for _, a := range c.cfg.Brokers {
		add(a)
	}
	c.mu.Unlock()
	return c.dialAny(ctx, append(addrs, later...))
}

// dialAny dials addrs with staggered starts (see anyConn) and returns the
// first connection made. Dials still running when it returns go on in the
// background (Client.dial is detached from callers) and their connections
// are kept for later requests.
func (c *Client) dialAny(ctx context.Context, addrs []string) (*clientConn, error) {
	type result struct {
		cn  *clientConn
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan result, len(addrs))
	next, running := 0, 0
	start := func() {
		a := addrs[next]
		next++
		running++
		go func() {
			cn, err := c.connFor(ctx, a, -1)
			results <- result{cn, err}
		}()
	}
	stagger := time.NewTimer(anyConnStagger)
	defer stagger.Stop()
	var errs []error
	if len(addrs) > 0 {
		start()
	}
	for running > 0 {
		select {
		case r := <-results:
			running--
			if r.err == nil {
				return r.cn, nil
			}
			if wire.CodeOf(r.err) == wire.ErrClientClosed {
				return nil, r.err
			}
			errs = append(errs, r.err)
			if next < len(addrs) && ctx.Err() == nil {
				start()
				stagger.Reset(anyConnStagger)
			}
		case <-stagger.C:
			if next < len(addrs) && ctx.Err() == nil {
				start()
				stagger.Reset(anyConnStagger)
			}
		}
	}
	if err := firstAuthFailure(errs); err != nil {
		return nil, err // refused credentials are not retriable (core/tls.go)
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no broker address known"))
	}
	return nil, &wire.Error{Code: wire.ErrNoBrokersAvailable, Detail: errors.Join(errs...).Error()}
}

// noteFailure records that a request to cn failed in a way that says the
// broker may not be reachable (its connection died, e.g. closed after a
// request timeout), so that anyConn tries the other brokers first.
func (c *Client) noteFailure(cn *clientConn, err error) {
	if err == nil || !cn.isDead() {
		return
	}
	c.mu.Lock()
	c.failed[cn.addr] = time.Now()
	c.mu.Unlock()
}

// liveBrokerConn returns the open connection to a broker, or nil when
// there is none yet (or it died): a lookup that never dials or blocks on
// the network, for hot paths that fall back to brokerConn.
func (c *Client) liveBrokerConn(nodeID int32) *clientConn {
	m := c.meta.Load()
	if m == nil {
		return nil
	}
	b, ok := m.Brokers[nodeID]
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cn := c.conns[b.Addr()]; cn != nil && !cn.isDead() && !c.closed {
		return cn
	}
	return nil
}

// brokerConn returns a connection to the broker with the given node id.
func (c *Client) brokerConn(ctx context.Context, nodeID int32) (*clientConn, error) {
	m := c.meta.Load()
	var b BrokerInfo
	ok := false
	if m != nil {
		b, ok = m.Brokers[nodeID]
	}
	if !ok {
		m, err := c.RefreshMetadata(ctx, []string{})
		if err != nil {
			return nil, err
		}
		if b, ok = m.Brokers[nodeID]; !ok {
			return nil, &wire.Error{Code: wire.ErrBrokerNotAvailable, Detail: fmt.Sprintf("node %d is not in the cluster metadata", nodeID)}
		}
	}
	return c.connFor(ctx, b.Addr(), nodeID)
}

// Request sends req to the broker with the given node id (any broker when
// nodeID < 0) and returns its response. The call is bounded by ctx and the
// request itself by request.timeout.ms (whichever ends first; a request
// that gets no response within request.timeout.ms closes its connection,
// see requestLimits). It does not retry.
func (c *Client) Request(ctx context.Context, nodeID int32, req wire.Request) (wire.Response, error) {
	resp, _, err := c.requestAddr(ctx, nodeID, req)
	return resp, err
}

// requestAddr is Request that also returns the address of the broker that
// answered (or was asked), so that errors found in the response can name
// it.
func (c *Client) requestAddr(ctx context.Context, nodeID int32, req wire.Request) (wire.Response, string, error) {
	ctx, cancel := c.withTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var cn *clientConn
	var err error
	if nodeID < 0 {
		cn, err = c.anyConn(ctx)
	} else {
		cn, err = c.brokerConn(ctx, nodeID)
	}
	if err != nil {
		return nil, "", err
	}
	resp, err := cn.roundTrip(ctx, req, false)
	c.noteFailure(cn, err)
	return resp, cn.addr, err
}

// BrokerInfo is one broker as the cluster metadata describes it.
type BrokerInfo struct {
	NodeID int32  `json:"id"`
	Host   string `json:"host"`
	Port   int32  `json:"port"`
	Rack   string `json:"rack"` // "" when none
}

// Addr is the broker's "host:port".
func (b BrokerInfo) Addr() string { return net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))) }
