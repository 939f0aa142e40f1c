package core

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// establishedTo counts this process's ESTABLISHED TCP sockets whose remote
// end is addr, read from the kernel (/proc/net/tcp*, matched against the
// socket inodes in /proc/self/fd), not from any pool counter.
func establishedTo(t *testing.T, addr string) int {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.Atoi(portStr)
	require.NoError(t, err)
	ip := net.ParseIP(host)
	if ip == nil {
		ips, err := net.LookupIP(host)
		require.NoError(t, err)
		ip = ips[0]
	}
	inodes := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	// /proc/net/tcp read while sockets come and go can list a socket
	// twice, so sockets are counted by inode.
	seen := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "01" || !inodes[fields[9]] {
				continue
			}
			rip, rport := parseProcAddr(fields[2])
			if rport == port && (rip.Equal(ip) || (ip.IsLoopback() && rip.IsLoopback())) {
				seen[fields[9]] = true
			}
		}
		f.Close()
	}
	return len(seen)
}

// parseProcAddr decodes "0100007F:2382" (little-endian words) of /proc/net/tcp*.
func parseProcAddr(s string) (net.IP, int) {
	h, p, _ := strings.Cut(s, ":")
	port, _ := strconv.ParseUint(p, 16, 32)
	raw := make([]byte, len(h)/2)
	for i := range raw {
		b, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		raw[i] = byte(b)
	}
	ip := make(net.IP, len(raw))
	for w := 0; w+4 <= len(raw); w += 4 {
		ip[w], ip[w+1], ip[w+2], ip[w+3] = raw[w+3], raw[w+2], raw[w+1], raw[w]
	}
	return ip, int(port)
}

// tcpProxy forwards a fresh local port to target, so that the sockets a
// test opens can be counted without noise from any other client of the
// broker in this process.
func tcpProxy(t *testing.T, target string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return l.Addr().String()
}

func newTestPool(t *testing.T, pc PoolConfig) *Pool {
	t.Helper()
	p, err := newPool(pc, newConfig(WithClientID("gofka-pool-test"), WithDialTimeout(10*time.Second)))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestPoolClientsShareConnections(t *testing.T) {
	brokers := []string{tcpProxy(t, testBrokers(t)[0])}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newTestPool(t, PoolConfig{MaxConnections: 1})
	before := establishedTo(t, brokers[0])

	var admins []*Admin
	for i := 0; i < 3; i++ {
		a, err := NewAdmin(WithBrokers(brokers[0]), WithClientID(fmt.Sprint("admin-", i)), WithPool(pool))
		require.NoError(t, err)
		defer a.Close()
		_, err = a.ListBrokers(ctx)
		require.NoError(t, err)
		admins = append(admins, a)
	}
	// Three clients, one socket: the pool's limit of 1 holds on the wire.
	require.Equal(t, 1, establishedTo(t, brokers[0])-before)
	st := pool.Stats()
	require.Equal(t, 1, st.Open)
	require.Equal(t, 1, st.Shared)
	require.EqualValues(t, 1, st.Dials)

	// Closing a client does not close the shared connection.
	require.NoError(t, admins[0].Close())
	_, err := admins[1].ListTopics(ctx, false)
	require.NoError(t, err)
	require.EqualValues(t, 1, pool.Stats().Dials)

	// A private pool per client means one socket each.
	a1, err := NewAdmin(WithBrokers(brokers[0]))
	require.NoError(t, err)
	defer a1.Close()
	a2, err := NewAdmin(WithBrokers(brokers[0]))
	require.NoError(t, err)
	defer a2.Close()
	_, err = a1.ListBrokers(ctx)
	require.NoError(t, err)
	_, err = a2.ListBrokers(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, establishedTo(t, brokers[0])-before)
}

func TestPoolLimitHoldsUnderConcurrentDemand(t *testing.T) {
	addr := tcpProxy(t, testBrokers(t)[0])
	pool := newTestPool(t, PoolConfig{MaxConnections: 3, ConnectionTimeout: 30 * time.Second})
	before := establishedTo(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	maxSeen := 0
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := pool.Get(ctx, addr)
			if err != nil {
				errs <- err
				return
			}
			n := establishedTo(t, addr) - before
			mu.Lock()
			maxSeen = max(maxSeen, n)
			mu.Unlock()
			if _, err := c.Request(ctx, &wire.ApiVersionsRequest{ClientSoftwareName: "gofka", ClientSoftwareVersion: Version}); err != nil {
				errs <- err
			}
			time.Sleep(20 * time.Millisecond)
			errs <- pool.Release(c, false)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.LessOrEqual(t, maxSeen, 3)
	require.GreaterOrEqual(t, maxSeen, 1)
	st := pool.Stats()
	require.LessOrEqual(t, st.MaxOpen, int64(3))
	require.Greater(t, st.Waits, int64(0), "12 callers over 3 slots must have waited")
	require.LessOrEqual(t, st.Dials, int64(3), "released connections are reused")
}

func TestPoolWaitTimesOutAndReleaseErrors(t *testing.T) {
	brokers := testBrokers(t)
	pool := newTestPool(t, PoolConfig{MaxConnections: 1, ConnectionTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	c, err := pool.Get(ctx, brokers[0])
	require.NoError(t, err)
	require.False(t, c.Closed())
	require.Contains(t, c.APIVersions(), "Metadata")

	_, err = pool.Get(ctx, brokers[0])
	require.ErrorIs(t, err, wire.ErrTimedOut)

	other := newTestPool(t, PoolConfig{})
	require.ErrorIs(t, other.Release(c, false), wire.ErrInvalidArgument)
	require.NoError(t, pool.Release(c, false))
	require.ErrorIs(t, pool.Release(c, false), wire.ErrInvalidArgument, "double release")
	require.True(t, c.Closed())

	// The released connection is reused.
	c2, err := pool.Get(ctx, brokers[0])
	require.NoError(t, err)
	require.EqualValues(t, 1, pool.Stats().Dials)
	require.NoError(t, pool.Release(c2, true)) // discard closes it
	require.Equal(t, 0, pool.Stats().Open)

	_, err = pool.Get(ctx, "no-port")
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	_, err = newPool(PoolConfig{MaxConnections: -1}, newConfig())
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
}

func TestPoolReapsIdleConnections(t *testing.T) {
	brokers := []string{tcpProxy(t, testBrokers(t)[0])}
	pool := newTestPool(t, PoolConfig{MaxIdleTime: 100 * time.Millisecond})
	before := establishedTo(t, brokers[0])
	c, err := pool.Get(context.Background(), brokers[0])
	require.NoError(t, err)
	require.Equal(t, 1, establishedTo(t, brokers[0])-before)
	require.NoError(t, pool.Release(c, false))
	require.Eventually(t, func() bool {
		return pool.Stats().Open == 0 && establishedTo(t, brokers[0])-before == 0
	}, 10*time.Second, 20*time.Millisecond)
	require.EqualValues(t, 1, pool.Stats().Reaped)

	// A client whose shared connection was reaped dials again on next use.
	a, err := NewAdmin(WithBrokers(brokers[0]), WithPool(pool))
	require.NoError(t, err)
	defer a.Close()
	_, err = a.ListBrokers(context.Background())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return pool.Stats().Reaped == 2 }, 10*time.Second, 20*time.Millisecond)
	_, err = a.ListBrokers(context.Background())
	require.NoError(t, err)
}

func TestPoolCloseAllAndClose(t *testing.T) {
	brokers := testBrokers(t)
	p, err := newPool(PoolConfig{}, newConfig())
	require.NoError(t, err)
	require.Same(t, p, poolByID(p.ID()))
	c, err := p.Get(context.Background(), brokers[0])
	require.NoError(t, err)
	p.CloseAll()
	require.True(t, c.Closed())
	require.NoError(t, p.Release(c, false), "release after CloseAll is harmless")
	require.Equal(t, 0, p.Stats().Open)
	c, err = p.Get(context.Background(), brokers[0])
	require.NoError(t, err, "the pool stays usable after CloseAll")
	require.NoError(t, p.Close())
	require.True(t, c.Closed())
	require.Nil(t, poolByID(p.ID()))
	_, err = p.Get(context.Background(), brokers[0])
	require.ErrorIs(t, err, wire.ErrClientClosed)

	// A closed pool's id is no longer valid configuration.
	_, err = parseConfig(fmt.Sprintf("bootstrap.servers=%s\nconnection.pool=%d", brokers[0], p.ID()))
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
}

func TestPoolByConfigProperty(t *testing.T) {
	brokers := testBrokers(t)
	pool := newTestPool(t, PoolConfig{})
	cfg, err := parseConfig(fmt.Sprintf("bootstrap.servers=%s\nconnection.pool=%d", brokers[0], pool.ID()))
	require.NoError(t, err)
	require.Same(t, pool, cfg.Pool)
	a, err := adminFromConfig(cfg)
	require.NoError(t, err)
	defer a.Close()
	_, err = a.ListBrokers(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, pool.Stats().Shared)
}

func TestClientFailsOverToLiveBootstrapBroker(t *testing.T) {
	brokers := testBrokers(t)
	// The first bootstrap address refuses connections.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	dead.Close()
	a, err := NewAdmin(WithBrokers(deadAddr, brokers[0]), WithDialTimeout(5*time.Second))
	require.NoError(t, err)
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bs, err := a.ListBrokers(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, bs)

	// Only dead brokers: the error names every address tried.
	b, err := NewAdmin(WithBrokers(deadAddr, "127.0.0.1:1"), WithDialTimeout(2*time.Second), WithRetry(RetryPolicy{MaxRetries: 0, BackoffMultiplier: 1}))
	require.NoError(t, err)
	defer b.Close()
	_, err = b.ListBrokers(ctx)
	require.ErrorIs(t, err, wire.ErrNoBrokersAvailable)
	require.Contains(t, err.Error(), deadAddr)
	require.Contains(t, err.Error(), "127.0.0.1:1")
}

// Closing a shared pool under its clients fails every kind of client with
// CLIENT_CLOSED promptly (issue 19 item 8: a producer got TIMED_OUT after
// its timeout and a consumer polled empty forever).
func TestPoolCloseFailsItsClients(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueTopic(t)
	pool, err := newPool(PoolConfig{}, newConfig())
	require.NoError(t, err)
	defer pool.Close()
	ctx := testCtx(t, 60*time.Second)

	prod, err := NewProducer(WithBrokers(brokers...), WithPool(pool))
	require.NoError(t, err)
	defer prod.Close(context.Background())
	require.NoError(t, prod.ProduceSync(ctx, &Record{Topic: topic, Value: []byte("warm")}))
	slow, err := NewProducer(WithBrokers(brokers...), WithPool(pool), WithLinger(time.Hour), WithDeliveryTimeout(time.Minute))
	require.NoError(t, err)
	defer slow.Close(context.Background())
	_, err = slow.PartitionCount(ctx, topic)
	require.NoError(t, err)
	cons, err := NewConsumer(WithBrokers(brokers...), WithPool(pool), WithAutoOffsetReset(OffsetResetEarliest))
	require.NoError(t, err)
	defer cons.Close(context.Background())
	require.NoError(t, cons.Assign([]TopicPartition{{Topic: topic, Partition: 0}}))
	recs, err := cons.Poll(ctx, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	adm, err := NewAdmin(WithBrokers(brokers...), WithPool(pool))
	require.NoError(t, err)
	defer adm.Close()
	_, err = adm.ListTopics(ctx, false)
	require.NoError(t, err)

	// A record lingering in the producer when the pool closes fails.
	lingering := make(chan error, 1)
	require.NoError(t, slow.TryProduce(ctx, &Record{Topic: topic, Value: []byte("lingers")}, func(_ *Record, err error) { lingering <- err }))
	// A Poll waiting when the pool closes returns.
	polled := make(chan error, 1)
	go func() {
		_, err := cons.Poll(ctx, 10)
		polled <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	require.NoError(t, pool.Close())

	bound := 5 * time.Second // well under every timeout in play (delivery 1 min, ctx 60 s)
	select {
	case err := <-lingering:
		require.ErrorIs(t, err, wire.ErrClientClosed)
	case <-time.After(bound):
		t.Fatal("a buffered record did not fail after the pool closed")
	}
	select {
	case err := <-polled:
		require.ErrorIs(t, err, wire.ErrClientClosed)
	case <-time.After(bound):
		t.Fatal("a waiting Poll did not return after the pool closed")
	}
	err = prod.ProduceSync(ctx, &Record{Topic: topic, Value: []byte("after")})
	require.ErrorIs(t, err, wire.ErrClientClosed)
	_, err = cons.Poll(ctx, 10)
	require.ErrorIs(t, err, wire.ErrClientClosed)
	_, err = adm.ListTopics(ctx, false)
	require.ErrorIs(t, err, wire.ErrClientClosed)
	require.Less(t, time.Since(start), bound)
}
