package core

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// Tests of connection setup and request bounds against brokers that stop
// answering (docs/reliability.md, findings F1, F3, F9, F11). They use a
// listener that accepts TCP connections and never answers (what a broker
// frozen with SIGSTOP looks like: the kernel still accepts) and a proxy in
// front of a real broker that can be frozen the same way. No assertion is
// about time: every call has a generous deadline, and success within it
// shows that the silent address was given up in time.

// silentListener accepts connections and never reads or answers.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// freezableProxy forwards connections to target until frozen; frozen, it
// keeps every connection open and accepts new ones, but moves no byte in
// either direction (like a broker stopped with SIGSTOP).
type freezableProxy struct {
	addr   string
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
}

func newFreezableProxy(t *testing.T, target string) *freezableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezableProxy{addr: ln.Addr().String(), thaw: make(chan struct{})}
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.waitThawed()
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					dst.Close()
				}
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			track(c)
			go func() {
				b, err := net.Dial("tcp", target)
				if err != nil {
					c.Close()
					return
				}
				track(b)
				go pipe(b, c)
				pipe(c, b)
			}()
		}
	}()
	t.Cleanup(func() {
		p.setFrozen(false)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return p
}

func (p *freezableProxy) waitThawed() {
	p.mu.Lock()
	frozen, ch := p.frozen, p.thaw
	p.mu.Unlock()
	if frozen {
		<-ch
	}
}

func (p *freezableProxy) setFrozen(f bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen == f {
		return
	}
	p.frozen = f
	if !f {
		close(p.thaw)
		p.thaw = make(chan struct{})
	}
}

// F1: a first bootstrap address that accepts but never answers does not
// hold up a new client: the next address is tried after a short stagger,
// long before the silent one's setup timeout (here longer than the call's
// deadline, so only the stagger can make the call succeed).
func TestAnyConnSkipsSilentFirstBootstrap(t *testing.T) {
	brokers := testBrokers(t)
	silent := silentListener(t)
	cl, err := NewClient(WithBrokers(append([]string{silent}, brokers...)...),
		WithDialTimeout(2*time.Minute), WithConnectionSetupTimeout(2*time.Minute))
	require.NoError(t, err)
	defer cl.Close()
	ctx := testCtx(t, 30*time.Second)
	m, err := cl.RefreshMetadata(ctx, nil)
	require.NoError(t, err)
	assert.NotEmpty(t, m.Brokers)
	require.NoError(t, ctx.Err())

	adm, err := NewAdmin(WithBrokers(append([]string{silent}, brokers...)...), WithConnectionSetupTimeout(2*time.Minute))
	require.NoError(t, err)
	defer adm.Close()
	_, err = adm.ListTopics(testCtx(t, 30*time.Second), false)
	require.NoError(t, err)
}

// F1: one address's connection attempt (TCP + ApiVersions) is bounded by
// socket.connection.setup.timeout.ms, not only by the caller's deadline.
func TestConnectionSetupTimeoutBoundsSilentBroker(t *testing.T) {
	silent := silentListener(t)
	cl, err := NewClient(WithBrokers(silent), WithDialTimeout(2*time.Minute),
		WithConnectionSetupTimeout(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	ctx := testCtx(t, time.Minute)
	_, err = cl.RefreshMetadata(ctx, nil)
	require.Error(t, err)
	assert.Equal(t, wire.ErrNoBrokersAvailable, wire.CodeOf(err), "%v", err)
	assert.NoError(t, ctx.Err(), "the attempt must end by the setup timeout, not the caller's deadline")
}

// F3: a request to a broker that stopped answering is bounded by
// request.timeout.ms under a longer caller deadline; its connection is
// closed, and the metadata call goes on to another broker within the
// caller's deadline.
func TestFrozenConnectionIsClosedAndAvoided(t *testing.T) {
	brokers := testBrokers(t)
	proxy := newFreezableProxy(t, brokers[0])
	cl, err := NewClient(WithBrokers(append([]string{proxy.addr}, brokers...)...),
		WithRequestTimeout(time.Second))
	require.NoError(t, err)
	defer cl.Close()
	_, err = cl.RefreshMetadata(testCtx(t, 30*time.Second), nil)
	require.NoError(t, err)
	cl.mu.Lock()
	frozen := cl.conns[proxy.addr]
	cl.mu.Unlock()
	require.NotNil(t, frozen, "the first bootstrap address answered the first call")

	proxy.setFrozen(true)
	ctx := testCtx(t, 30*time.Second)
	m, err := cl.RefreshMetadata(ctx, nil)
	require.NoError(t, err, "metadata must come from another broker")
	assert.NotEmpty(t, m.Brokers)
	assert.True(t, frozen.isDead(), "the connection whose request timed out must be closed")
	assert.True(t, frozen.timedOut.Load())

	// Later any-broker requests do not pick the frozen address again.
	adm := &Admin{cl: cl} // shares cl; Close leaves it open
	for i := 0; i < 3; i++ {
		_, err = adm.ListTopics(testCtx(t, 30*time.Second), false)
		require.NoError(t, err)
	}
	cl.mu.Lock()
	again := cl.conns[proxy.addr]
	cl.mu.Unlock()
	assert.True(t, again == nil || again == frozen, "the frozen address was dialed again")
}

// F3: a bare request (Client.Request) to the frozen broker fails with
// TIMED_OUT after request.timeout.ms even though the caller's deadline is
// much longer, and the connection is closed.
func TestRequestTimeoutUnderLongerDeadline(t *testing.T) {
	brokers := testBrokers(t)
	proxy := newFreezableProxy(t, brokers[0])
	cl, err := NewClient(WithBrokers(proxy.addr), WithRequestTimeout(500*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	_, err = cl.RefreshMetadata(testCtx(t, 30*time.Second), []string{})
	require.NoError(t, err)
	proxy.setFrozen(true)
	ctx := testCtx(t, time.Minute)
	cl.mu.Lock()
	cn := cl.conns[proxy.addr]
	cl.mu.Unlock()
	require.NotNil(t, cn)
	_, err = cn.roundTrip(ctx, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{}}, false)
	require.Error(t, err)
	assert.Equal(t, wire.ErrTimedOut, wire.CodeOf(err))
	assert.NoError(t, ctx.Err(), "bounded by request.timeout.ms, not the caller's deadline")
	assert.True(t, cn.isDead())
}

// A caller deadline shorter than request.timeout.ms (a short poll, a
// cancelled call) does not close the connection.
func TestShortCallerDeadlineKeepsConnection(t *testing.T) {
	brokers := testBrokers(t)
	proxy := newFreezableProxy(t, brokers[0])
	cl, err := NewClient(WithBrokers(proxy.addr), WithRequestTimeout(time.Minute))
	require.NoError(t, err)
	defer cl.Close()
	_, err = cl.RefreshMetadata(testCtx(t, 30*time.Second), []string{})
	require.NoError(t, err)
	cl.mu.Lock()
	cn := cl.conns[proxy.addr]
	cl.mu.Unlock()
	proxy.setFrozen(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = cn.roundTrip(ctx, &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{}}, false)
	assert.Equal(t, wire.ErrTimedOut, wire.CodeOf(err))
	assert.False(t, cn.isDead())
	proxy.setFrozen(false)
	_, err = cn.roundTrip(testCtx(t, 30*time.Second), &wire.MetadataRequest{Topics: []wire.MetadataRequestTopic{}}, false)
	assert.NoError(t, err)
}

func TestRequestLimitsBound(t *testing.T) {
	l := requestLimits{request: 5 * time.Second, rebalance: time.Minute}
	assert.Equal(t, 5*time.Second, l.bound(&wire.MetadataRequest{}))
	assert.Equal(t, 5500*time.Millisecond, l.bound(&wire.FetchRequest{MaxWaitMs: 500}))
	assert.Equal(t, 5*time.Second+2*time.Minute, l.bound(&wire.JoinGroupRequest{RebalanceTimeoutMs: 120000}))
	assert.Equal(t, 5*time.Second+time.Minute, l.bound(&wire.SyncGroupRequest{}))
	assert.Equal(t, 6*time.Second, l.bound(&wire.ProduceRequest{TimeoutMs: 5000}))
	assert.Equal(t, 11*time.Second, l.bound(&wire.CreateTopicsRequest{TimeoutMs: 10000}))
	assert.Equal(t, time.Duration(0), requestLimits{}.bound(&wire.MetadataRequest{}))
}

// F9: reconnection waits grow from reconnect.backoff.ms and stay at or
// below reconnect.backoff.max.ms (1 s), whatever retry.backoff.max.ms is;
// so do the waits between failing metadata lookups.
func TestReconnectBackoffIsCapped(t *testing.T) {
	cfg := newConfig(WithBrokers("127.0.0.1:1"))
	assert.Equal(t, 50*time.Millisecond, cfg.ReconnectBackoff)
	assert.Equal(t, time.Second, cfg.ReconnectBackoffMax)
	assert.Equal(t, 10*time.Second, cfg.ConnectionSetupTimeout)
	assert.Equal(t, 30*time.Second, cfg.Retry.MaxBackoff)
	for fails := 1; fails < 100; fails++ {
		d := cfg.reconnectBackoff(fails)
		assert.Greater(t, d, time.Duration(0))
		assert.LessOrEqual(t, d, time.Second)
		assert.LessOrEqual(t, cfg.lookupBackoff(fails), time.Second)
	}
	assert.LessOrEqual(t, cfg.reconnectBackoff(1), 50*time.Millisecond)
	assert.GreaterOrEqual(t, cfg.reconnectBackoff(50), 800*time.Millisecond)

	c, err := parseConfig("bootstrap.servers=a:1\nreconnect.backoff.ms=10\nreconnect.backoff.max.ms=200\nsocket.connection.setup.timeout.ms=3000")
	require.NoError(t, err)
	assert.Equal(t, 200*time.Millisecond, c.ReconnectBackoffMax)
	assert.Equal(t, 3*time.Second, c.setupTimeout())
	assert.LessOrEqual(t, c.reconnectBackoff(30), 200*time.Millisecond)

	c, err = parseConfig("bootstrap.servers=a:1\nreconnect.backoff.ms=2000\nreconnect.backoff.max.ms=1000")
	require.NoError(t, err)
	_, err = clientFromConfig(c)
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
}

// F11: metadata from a broker that lags behind (an older leader epoch than
// one already seen for the same topic) does not move a partition back to
// its deposed leader.
func TestMetadataIgnoresOlderLeaderEpoch(t *testing.T) {
	cl, err := NewClient(WithBrokers("127.0.0.1:1"))
	require.NoError(t, err)
	defer cl.Close()
	id := [16]byte{1, 2, 3}
	resp := func(leader, epoch int32) *wire.MetadataResponse {
		return &wire.MetadataResponse{
			Brokers: []wire.MetadataResponseBroker{{NodeId: 1, Host: "h1", Port: 1}, {NodeId: 2, Host: "h2", Port: 2}},
			Topics: []wire.MetadataResponseTopic{{Name: "t", TopicId: id, Partitions: []wire.MetadataResponsePartition{
				{PartitionIndex: 0, LeaderId: leader, LeaderEpoch: epoch, ReplicaNodes: []int32{1, 2}, IsrNodes: []int32{1, 2}},
			}}},
		}
	}
	cl.mergeMetadata(resp(1, 4), false)
	m := cl.mergeMetadata(resp(2, 5), false)
	assert.Equal(t, int32(2), m.Topics["t"].Partitions[0].Leader)
	m = cl.mergeMetadata(resp(1, 4), false) // stale answer of the deposed leader
	assert.Equal(t, int32(2), m.Topics["t"].Partitions[0].Leader)
	assert.Equal(t, int32(5), m.Topics["t"].Partitions[0].LeaderEpoch)
	m = cl.mergeMetadata(resp(1, 6), false) // a real move
	assert.Equal(t, int32(1), m.Topics["t"].Partitions[0].Leader)

	// A re-created topic (new id) starts its epochs again.
	r := resp(2, 0)
	r.Topics[0].TopicId = [16]byte{9}
	m = cl.mergeMetadata(r, false)
	assert.Equal(t, int32(2), m.Topics["t"].Partitions[0].Leader)
}
