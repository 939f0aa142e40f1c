// Package core is the Gofka client engine: connections, metadata, producer,
// consumer, admin and the in-process dev cluster. It is an ordinary Go
// library (the C ABI in capi/ and the Python package are thin layers on it).
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
	conns   map[string]*conn     // connections in use by address; guarded by mu
	dialing map[string]*dialCall // dials in progress by address; guarded by mu
	closed  bool                 // guarded by mu
	meta    atomic.Pointer[Metadata]
	metaMu  sync.Mutex // serialises metadata refreshes
	closeCh chan struct{}
}

type dialCall struct {
	done chan struct{}
	c    *conn
	err  error
}

// NewClient validates the configuration and returns a client. It does no
// network I/O: connections are made on first use or by Connect.
func NewClient(opts ...Option) (*Client, error) {
	return NewClientFromConfig(NewConfig(opts...))
}

// NewClientFromConfig is NewClient for a ready Config.
func NewClientFromConfig(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:     cfg,
		pool:    cfg.Pool,
		conns:   make(map[string]*conn),
		dialing: make(map[string]*dialCall),
		closeCh: make(chan struct{}),
	}
	if c.pool == nil {
		p, err := NewPoolFromConfig(cfg)
		if err != nil {
			return nil, err
		}
		c.pool, c.ownsPool = p, true
	}
	return c, nil
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
	c.conns = map[string]*conn{}
	c.mu.Unlock()
	if c.ownsPool {
		return c.pool.Close()
	}
	for _, cn := range conns {
		c.pool.releaseShared(cn.link)
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
func (c *Client) connFor(ctx context.Context, addr string, nodeID int32) (*conn, error) {
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
	var cn *conn
	l, err := c.pool.acquireShared(ctx, addr, nodeID)
	c.mu.Lock()
	delete(c.dialing, addr)
	if err == nil {
		cn = &conn{link: l, clientID: c.cfg.ClientID}
		if c.closed {
			c.pool.releaseShared(l)
			cn, err = nil, &wire.Error{Code: wire.ErrClientClosed}
		} else {
			if old := c.conns[addr]; old != nil {
				c.pool.releaseShared(old.link)
			}
			c.conns[addr] = cn
		}
	}
	c.mu.Unlock()
	call.c, call.err = cn, err
	close(call.done)
}

// anyConn returns a connection to some broker: an existing live one, else
// the known brokers and then the bootstrap list, dialed in order until one
// answers. The error names every address tried.
func (c *Client) anyConn(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, &wire.Error{Code: wire.ErrClientClosed}
	}
	for _, cn := range c.conns {
		if !cn.isDead() {
			c.mu.Unlock()
			return cn, nil
		}
	}
	c.mu.Unlock()

	var addrs []string
	seen := map[string]bool{}
	if m := c.meta.Load(); m != nil {
		for _, b := range m.sortedBrokers() {
			addrs = append(addrs, b.Addr())
		}
	}
	addrs = append(addrs, c.cfg.Brokers...)
	var errs []error
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		cn, err := c.connFor(ctx, a, -1)
		if err == nil {
			return cn, nil
		}
		if wire.CodeOf(err) == wire.ErrClientClosed {
			return nil, err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if err := firstAuthFailure(errs); err != nil {
		return nil, err // refused credentials are not retriable (core/tls.go)
	}
	return nil, &wire.Error{Code: wire.ErrNoBrokersAvailable, Detail: errors.Join(errs...).Error()}
}

// brokerConn returns a connection to the broker with the given node id.
func (c *Client) brokerConn(ctx context.Context, nodeID int32) (*conn, error) {
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
// nodeID < 0) and returns its response. The call is bounded by ctx and, when
// ctx has no deadline, by the request timeout. It does not retry.
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
	var cn *conn
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
