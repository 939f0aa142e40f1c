package core

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// Pool owns broker connections and hands them out, either shared or
// leased:
//
//   - Clients share: every Client built on the same Pool (WithPool, or the
//     connection.pool property) uses one connection per broker address, so
//     a producer, a consumer and an admin client talking to the same broker
//     use one socket. Requests on a shared connection are pipelined and each
//     carries its own client's client.id.
//   - Get leases a connection exclusively (for callers that want a socket of
//     their own, such as the Python ConnectionPool); Release returns it.
//
// MaxConnections bounds the open connections of the pool (shared, leased,
// idle and being dialed) at every moment. When the bound is reached, an
// idle connection (or, failing that, a shared one with no request in
// flight: its clients dial again on next use) is closed to make room;
// when every connection is busy the caller waits, up to
// ConnectionTimeout, for one to be released or to die. Connections with no
// request and no lease for MaxIdleTime are closed by a reaper goroutine.
//
// Every Client without a pool of its own option gets a private Pool built
// from its Config (connections.max, connections.max.idle.ms), so all
// connections go through this one code path.
//
// A Pool is safe for concurrent use. Close closes every connection and
// fails later requests with CLIENT_CLOSED; CloseAll closes the connections
// and keeps the pool usable.
type Pool struct {
	id  uint64
	cfg PoolConfig
	// dial is the configuration connections are dialed with: timeouts,
	// TLS, and the client id of the ApiVersions handshake.
	dial Config

	mu      sync.Mutex
	entries map[string][]*poolEntry  // by address; guarded by mu
	dialing map[string]*poolDialCall // shared dials in progress; guarded by mu
	open    int                      // connections open or being dialed; guarded by mu
	leases  map[uint64]*PoolConn     // exclusive leases by id; guarded by mu
	nextID  uint64                   // guarded by mu
	changed chan struct{}            // closed (and replaced) on every release or removal; guarded by mu
	closed  bool                     // guarded by mu
	stop    chan struct{}            // closed by Close: stops the reaper

	dials   atomic.Int64
	reaped  atomic.Int64
	evicted atomic.Int64
	waits   atomic.Int64
	maxOpen atomic.Int64

	brokerStats sync.Map // address -> *brokerCounters (stats_conn.go); entries live as long as the pool
}

// PoolConfig are the limits of a Pool. The zero value means no limit, no
// idle reaping and waits bounded only by the caller's context.
type PoolConfig struct {
	// MaxConnections bounds the open connections; 0 = no limit.
	MaxConnections int
	// MaxIdleTime closes connections unused (no request in flight, no
	// lease) for this long; 0 = never.
	MaxIdleTime time.Duration
	// ConnectionTimeout bounds how long an acquisition waits for a free
	// slot and dials; 0 = the dial configuration's DialTimeout.
	ConnectionTimeout time.Duration
}

type poolEntry struct {
	conn      *conn
	addr      string
	shares    int       // clients holding the connection shared
	leased    bool      // held exclusively through Get
	idleSince time.Time // when the last share or lease was returned
}

type poolDialCall struct {
	done chan struct{}
	err  error
}

// PoolStats is a snapshot of a pool's counters.
type PoolStats struct {
	Open      int      `json:"open"`      // connections open or being dialed
	Leased    int      `json:"leased"`    // held exclusively through Get
	Shared    int      `json:"shared"`    // held by at least one client
	Idle      int      `json:"idle"`      // open, neither leased nor shared
	Dials     int64    `json:"dials"`     // connections dialed since creation
	Reaped    int64    `json:"reaped"`    // closed for being idle
	Evicted   int64    `json:"evicted"`   // closed to make room under the limit
	Waits     int64    `json:"waits"`     // acquisitions that had to wait for a slot
	MaxOpen   int64    `json:"max_open"`  // highest Open seen
	Limit     int      `json:"limit"`     // MaxConnections (0 = none)
	IdleLimit int64    `json:"idle_ms"`   // MaxIdleTime in ms (0 = never)
	Addresses []string `json:"addresses"` // addresses with an open connection, sorted
}

var pools = struct {
	sync.Mutex
	next uint64
	m    map[uint64]*Pool
}{m: map[uint64]*Pool{}}

// NewPool creates a connection pool from options over the defaults of the
// property table: ConnOptions say how connections are dialed (client id,
// timeouts, TLS, SASL, logger) and bounded (WithMaxConnections,
// WithConnectionsMaxIdle), WithAcquireTimeout how long an acquisition
// waits. Clients share it with WithPool. It does no network I/O. The pool
// is registered under ID() until Close, so that C and Python clients can
// name it in their configuration (connection.pool=<id>). A bad setting is
// INVALID_ARGUMENT.
func NewPool(opts ...PoolOption) (*Pool, error) {
	return poolFromConfig(configOf(opts))
}

// NewPoolFromProperties creates a pool from key=value properties
// (connections.max, connections.max.idle.ms, connect.timeout.ms, the
// security properties, client.id; docs/configuration.md), as the C ABI
// and Python give them. Keys that configure clients are accepted and have
// no effect; an unknown key or a bad value is INVALID_ARGUMENT. Go code
// normally uses NewPool.
func NewPoolFromProperties(props map[string]string) (*Pool, error) {
	cfg, err := configFromProperties(props)
	if err != nil {
		return nil, err
	}
	return poolFromConfig(cfg)
}

// poolFromConfig creates a pool from the connection-pool settings of cfg
// (also a client's private pool).
func poolFromConfig(cfg Config) (*Pool, error) {
	if err := cfg.checkRanges(rangePool); err != nil { // as the properties (core/validate.go)
		return nil, err
	}
	return newPool(PoolConfig{
		MaxConnections:    cfg.PoolMaxConnections,
		MaxIdleTime:       cfg.ConnectionsMaxIdle,
		ConnectionTimeout: cfg.PoolAcquireTimeout,
	}, cfg)
}

// newPool creates a pool with the limits pc whose connections are dialed
// with dial's DialTimeout, security settings and ClientID (dial.Brokers is
// not used).
func newPool(pc PoolConfig, dial Config) (*Pool, error) {
	if pc.MaxConnections < 0 {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("pool MaxConnections must be >= 0, got %d", pc.MaxConnections)}
	}
	if pc.MaxIdleTime < 0 || pc.ConnectionTimeout < 0 {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "pool durations must be >= 0"}
	}
	if dial.DialTimeout <= 0 {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "pool dial timeout must be positive"}
	}
	if pc.ConnectionTimeout == 0 {
		pc.ConnectionTimeout = dial.DialTimeout
	}
	// TLS files and SASL settings are resolved once, for every connection.
	if err := dial.prepareSecurity(); err != nil {
		return nil, err
	}
	dial.Pool = nil
	p := &Pool{
		cfg:     pc,
		dial:    dial,
		entries: map[string][]*poolEntry{},
		dialing: map[string]*poolDialCall{},
		leases:  map[uint64]*PoolConn{},
		changed: make(chan struct{}),
		stop:    make(chan struct{}),
	}
	pools.Lock()
	pools.next++
	p.id = pools.next
	pools.m[p.id] = p
	pools.Unlock()
	if pc.MaxIdleTime > 0 {
		go p.reaper()
	}
	return p, nil
}

// poolByID returns the open pool with the given ID, or nil (the
// connection.pool property names a pool by its ID).
func poolByID(id uint64) *Pool {
	pools.Lock()
	defer pools.Unlock()
	return pools.m[id]
}

// ID identifies the pool among the process's open pools.
func (p *Pool) ID() uint64 { return p.id }

// Config returns the pool's limits.
func (p *Pool) Config() PoolConfig { return p.cfg }

// signalLocked wakes every waiter; p.mu must be held.
func (p *Pool) signalLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// removeLocked forgets e (its connection is closed or being closed).
func (p *Pool) removeLocked(e *poolEntry) {
	list := p.entries[e.addr]
	for i, x := range list {
		if x == e {
			list = append(list[:i:i], list[i+1:]...)
			p.open--
			break
		}
	}
	if len(list) == 0 {
		delete(p.entries, e.addr)
	} else {
		p.entries[e.addr] = list
	}
	p.signalLocked()
}

// addLocked records a freshly dialed connection and watches for its death.
func (p *Pool) addLocked(c *conn) *poolEntry {
	e := &poolEntry{conn: c, addr: c.addr, idleSince: time.Now()}
	p.entries[c.addr] = append(p.entries[c.addr], e)
	go func() {
		select {
		case <-c.dead:
		case <-p.stop:
			return
		}
		p.dial.logf(LogInfo, "conn", "connection to %s (%s) closed: %v", c.addr, nodeName(c.nodeID), c.deathErr())
		p.mu.Lock()
		for _, x := range p.entries[e.addr] {
			if x == e {
				p.removeLocked(e)
				break
			}
		}
		p.mu.Unlock()
	}()
	return e
}

// reserveLocked takes a slot for a new connection, closing an idle (or else an
// unbusy shared) connection when the pool is full. It reports false when
// every connection is busy.
func (p *Pool) reserveLocked() bool {
	if p.cfg.MaxConnections == 0 || p.open < p.cfg.MaxConnections {
		p.open++
		p.noteOpenLocked()
		return true
	}
	var victim *poolEntry
	for _, list := range p.entries {
		for _, e := range list {
			if e.leased || e.conn.inFlight.Load() > 0 {
				continue
			}
			// Prefer unshared connections, then the least recently used.
			if victim == nil || (victim.shares > 0 && e.shares == 0) ||
				((victim.shares > 0) == (e.shares > 0) && e.conn.lastUsed.Load() < victim.conn.lastUsed.Load()) {
				victim = e
			}
		}
	}
	if victim == nil {
		return false
	}
	p.removeLocked(victim)
	victim.conn.closeLocal(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "closed by the connection pool to make room", Broker: victim.addr})
	p.evicted.Add(1)
	p.open++
	p.noteOpenLocked()
	return true
}

func (p *Pool) noteOpenLocked() {
	if n := int64(p.open); n > p.maxOpen.Load() {
		p.maxOpen.Store(n)
	}
}

// waitLocked releases p.mu and waits for a change, the deadline or ctx.
func (p *Pool) waitLocked(ctx context.Context, deadline <-chan time.Time, addr string, counted *bool) error {
	ch := p.changed
	p.mu.Unlock()
	if !*counted {
		*counted = true
		p.waits.Add(1)
	}
	select {
	case <-ch:
		return nil
	case <-deadline:
		return &wire.Error{Code: wire.ErrTimedOut, Broker: addr,
			Detail: fmt.Sprintf("connection pool: all %d connections busy for %v", p.cfg.MaxConnections, p.cfg.ConnectionTimeout)}
	case <-ctx.Done():
		return &wire.Error{Code: wire.ErrTimedOut, Broker: addr, Detail: "waiting for a pooled connection: " + ctx.Err().Error()}
	}
}

func (p *Pool) closedErr() error {
	return &wire.Error{Code: wire.ErrClientClosed, Detail: "connection pool closed"}
}

// dialFor dials addr for a reserved slot, bounded by ctx and by the
// connection setup timeout (the shorter of connect.timeout.ms and
// socket.connection.setup.timeout.ms), which covers TCP, TLS, ApiVersions
// and SASL: a broker that accepts connections but never answers is given
// up after it.
func (p *Pool) dialFor(ctx context.Context, addr string, nodeID int32) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.dial.setupTimeout())
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	p.dials.Add(1)
	c, err := dialConn(ctx, addr, nodeID, &p.dial, p.brokerCountersFor(addr))
	p.noteDial(addr, nodeID, err == nil)
	if err != nil {
		p.dial.logf(LogWarn, "conn", "connecting to %s (%s) failed: %v", addr, nodeName(nodeID), err)
	} else {
		p.dial.logf(LogInfo, "conn", "connected to %s (%s)", addr, nodeName(nodeID))
	}
	return c, err
}

// acquireShared returns a connection to addr shared with other clients, dialing
// one when there is none. The caller holds one share until releaseShared.
func (p *Pool) acquireShared(ctx context.Context, addr string, nodeID int32) (*conn, error) {
	deadline := time.NewTimer(p.cfg.ConnectionTimeout)
	defer deadline.Stop()
	counted := false
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, p.closedErr()
		}
		var best *poolEntry
		for _, e := range p.entries[addr] {
			if e.leased || e.conn.isDead() {
				continue
			}
			if best == nil || e.shares > best.shares {
				best = e
			}
		}
		if best != nil {
			best.shares++
			p.mu.Unlock()
			return best.conn, nil
		}
		if call := p.dialing[addr]; call != nil {
			p.mu.Unlock()
			select {
			case <-call.done:
				if call.err != nil {
					return nil, call.err
				}
				continue
			case <-ctx.Done():
				return nil, &wire.Error{Code: wire.ErrTimedOut, Detail: "connecting: " + ctx.Err().Error(), Broker: addr}
			}
		}
		if !p.reserveLocked() {
			if err := p.waitLocked(ctx, deadline.C, addr, &counted); err != nil {
				return nil, err
			}
			continue
		}
		call := &poolDialCall{done: make(chan struct{})}
		p.dialing[addr] = call
		p.mu.Unlock()
		// The dial is detached from ctx so that one caller giving up does
		// not fail the others waiting on it; it is bounded by the setup timeout.
		c, err := p.dialFor(context.Background(), addr, nodeID)
		p.mu.Lock()
		delete(p.dialing, addr)
		switch {
		case err != nil:
			p.open--
			p.signalLocked()
		case p.closed:
			p.open--
			c.closeLocal(&wire.Error{Code: wire.ErrClientClosed})
			err = p.closedErr()
		default:
			e := p.addLocked(c)
			e.shares++
		}
		p.mu.Unlock()
		call.err = err
		close(call.done)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// releaseShared gives back one share of c (a no-op when c was already
// removed, e.g. because it died).
func (p *Pool) releaseShared(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.entries[c.addr] {
		if e.conn == c {
			if e.shares > 0 {
				e.shares--
			}
			if e.shares == 0 && !e.leased {
				e.idleSince = time.Now()
			}
			p.signalLocked()
			return
		}
	}
}

// PoolConn is a connection leased exclusively from a Pool by Get. It is
// safe for concurrent use by the holder; Release gives it back.
type PoolConn struct {
	id       uint64
	pool     *Pool
	entry    *poolEntry
	cn       *clientConn // entry's connection with the pool's client id and request bounds (requestLimits)
	released atomic.Bool
	revoked  atomic.Bool // released by CloseAll: a later Release is a no-op
}

// ID identifies the lease within its pool.
func (c *PoolConn) ID() uint64 { return c.id }

// Addr is the broker's "host:port".
func (c *PoolConn) Addr() string { return c.entry.addr }

// Closed reports whether the connection is closed (or released).
func (c *PoolConn) Closed() bool { return c.released.Load() || c.entry.conn.isDead() }

// Request sends req on this connection and returns the response, bounded
// by ctx. It does not retry.
func (c *PoolConn) Request(ctx context.Context, req wire.Request) (wire.Response, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return c.cn.roundTrip(ctx, req, false)
}

// requestOwn is Request for a caller that reads the response on its own
// thread (clientConn.roundTripOwn) instead of being handed it by the
// connection's reader goroutine.
func (c *PoolConn) requestOwn(ctx context.Context, req wire.Request) (wire.Response, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return c.cn.roundTripOwn(ctx, req)
}

// start writes req on this connection and returns the call to take its
// response from (clientConn.start, with notify). The call is bounded by the
// pool's request.timeout.ms (requestLimits): when its waiter finds the
// bound passed (call.wait, call.expire), the connection is closed.
func (c *PoolConn) start(req wire.Request, notify func()) (*call, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return c.cn.start(req, false, notify)
}

// startUnclaimed is start for a caller that leaves the response to the
// connection's reader goroutine, whose notify settles the call inline
// (clientConn.startUnclaimed).
func (c *PoolConn) startUnclaimed(req wire.Request, notify func()) (*call, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	return c.cn.startUnclaimed(req, notify)
}

func (c *PoolConn) usable() error {
	if c.released.Load() {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "connection was released to its pool", Broker: c.entry.addr}
	}
	return nil
}

// APIVersions returns the API version ranges the broker announced on this
// connection's handshake, by API name ("Produce": [min, max]).
func (c *PoolConn) APIVersions() map[string][2]int16 {
	out := make(map[string][2]int16, len(c.entry.conn.versions))
	for k, v := range c.entry.conn.versions {
		out[wire.APIName(k)] = v
	}
	return out
}

// Get leases a connection to addr exclusively: an idle one when the pool
// has it, else a new one. When the pool is at MaxConnections it closes an
// idle connection to make room or waits (up to ConnectionTimeout and ctx)
// for one to be released.
func (p *Pool) Get(ctx context.Context, addr string) (*PoolConn, error) {
	if _, _, err := splitHostPort(addr); err != nil {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: err.Error()}
	}
	deadline := time.NewTimer(p.cfg.ConnectionTimeout)
	defer deadline.Stop()
	counted := false
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, p.closedErr()
		}
		for _, e := range p.entries[addr] {
			if !e.leased && e.shares == 0 && !e.conn.isDead() {
				pc := p.leaseLocked(e)
				p.mu.Unlock()
				return pc, nil
			}
		}
		if !p.reserveLocked() {
			if err := p.waitLocked(ctx, deadline.C, addr, &counted); err != nil {
				return nil, err
			}
			continue
		}
		p.mu.Unlock()
		c, err := p.dialFor(ctx, addr, -1)
		p.mu.Lock()
		if err != nil {
			p.open--
			p.signalLocked()
			p.mu.Unlock()
			return nil, err
		}
		if p.closed {
			p.open--
			p.mu.Unlock()
			c.closeLocal(&wire.Error{Code: wire.ErrClientClosed})
			return nil, p.closedErr()
		}
		pc := p.leaseLocked(p.addLocked(c))
		p.mu.Unlock()
		return pc, nil
	}
}

func (p *Pool) leaseLocked(e *poolEntry) *PoolConn {
	e.leased = true
	p.nextID++
	pc := &PoolConn{id: p.nextID, pool: p, entry: e,
		cn: &clientConn{conn: e.conn, clientID: p.dial.ClientID, limits: limitsOf(&p.dial)}}
	p.leases[pc.id] = pc
	return pc
}

// Lease returns the leased connection with the given id, or nil.
func (p *Pool) Lease(id uint64) *PoolConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leases[id]
}

// Release returns a leased connection to the pool, where it stays open
// for reuse until MaxIdleTime. With discard, or when the connection has
// failed, it is closed instead. Releasing a connection this pool did not
// lease, or releasing twice, is INVALID_ARGUMENT.
func (p *Pool) Release(c *PoolConn, discard bool) error {
	if c == nil {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "nil connection"}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.pool == p && c.revoked.Load() {
		return nil
	}
	if c.pool != p || p.leases[c.id] != c {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "the connection is not leased from this pool"}
	}
	delete(p.leases, c.id)
	c.released.Store(true)
	e := c.entry
	e.leased = false
	e.idleSince = time.Now()
	alive := false
	for _, x := range p.entries[e.addr] {
		alive = alive || x == e
	}
	if alive && (discard || e.conn.isDead()) {
		p.removeLocked(e)
		e.conn.closeLocal(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "discarded", Broker: e.addr})
	}
	p.signalLocked()
	return nil
}

// reaper closes connections idle for MaxIdleTime until the pool closes.
func (p *Pool) reaper() {
	tick := min(max(p.cfg.MaxIdleTime/4, 10*time.Millisecond), 30*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.reapIdle(now)
		}
	}
}

// reapIdle closes every connection that is neither leased nor busy and
// has seen no request and no release for MaxIdleTime. Shared connections
// count too (their clients dial again on next use), as with the Java
// client's connections.max.idle.ms.
func (p *Pool) reapIdle(now time.Time) {
	var victims []*poolEntry
	p.mu.Lock()
	for _, list := range p.entries {
		for _, e := range list {
			if e.leased || e.conn.inFlight.Load() > 0 {
				continue
			}
			last := time.Unix(0, e.conn.lastUsed.Load())
			if e.idleSince.After(last) {
				last = e.idleSince
			}
			if now.Sub(last) >= p.cfg.MaxIdleTime {
				victims = append(victims, e)
			}
		}
	}
	// Closed under mu, so that no new dial can take the freed slots while
	// the old sockets are still open.
	for _, e := range victims {
		p.removeLocked(e)
		p.reaped.Add(1)
		e.conn.closeLocal(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "idle connection closed by the pool", Broker: e.addr})
	}
	p.mu.Unlock()
}

// Stats returns the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PoolStats{Open: p.open, Dials: p.dials.Load(), Reaped: p.reaped.Load(), Evicted: p.evicted.Load(),
		Waits: p.waits.Load(), MaxOpen: p.maxOpen.Load(), Limit: p.cfg.MaxConnections,
		IdleLimit: p.cfg.MaxIdleTime.Milliseconds(), Addresses: []string{}}
	for addr, list := range p.entries {
		s.Addresses = append(s.Addresses, addr)
		for _, e := range list {
			switch {
			case e.leased:
				s.Leased++
			case e.shares > 0:
				s.Shared++
			default:
				s.Idle++
			}
		}
	}
	sort.Strings(s.Addresses)
	return s
}

// CloseAll closes every connection, leased and shared ones included (their
// holders see CONNECTION_FAILED and clients dial again on next use). The
// pool stays usable.
func (p *Pool) CloseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, list := range p.entries {
		for _, e := range list {
			p.removeLocked(e)
			e.conn.closeLocal(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "connection pool closed its connections", Broker: e.addr})
		}
	}
	for id, c := range p.leases {
		c.revoked.Store(true)
		c.released.Store(true)
		delete(p.leases, id)
	}
}

// isClosed reports whether Close was called.
func (p *Pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// done is closed by Close.
func (p *Pool) done() <-chan struct{} { return p.stop }

// Close closes every connection and the pool; later acquisitions fail with
// CLIENT_CLOSED, and so does every client using the pool: a producer fails
// its buffered records and new sends, a consumer's Poll and an admin call
// return CLIENT_CLOSED. Safe to call more than once.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	p.signalLocked()
	p.mu.Unlock()
	pools.Lock()
	delete(pools.m, p.id)
	pools.Unlock()
	p.CloseAll()
	return nil
}
