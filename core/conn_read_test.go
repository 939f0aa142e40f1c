package core

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/internal/ppoll"
	"github.com/gofka/gofka/wire"
)

// rawTestConn is a plaintext conn on a loopback TCP connection whose
// other end the test writes (the "broker"), reading through its descriptor
// as dialConn sets it up; with goroutine, its reader goroutine runs.
func rawTestConn(t *testing.T, goroutine bool) (*conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		s, err := ln.Accept()
		if err == nil {
			accepted <- s
		}
		close(accepted)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	server := <-accepted
	require.NotNil(t, server)
	c := &conn{addr: "test:9092", nc: nc, pending: map[int32]waiter{}, dead: make(chan struct{})}
	c.ownSocket(nc.(*net.TCPConn))
	require.NotNil(t, c.sock, "a plaintext TCP conn owns its socket")
	t.Cleanup(func() {
		c.close(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "test over"})
		server.Close()
	})
	if goroutine {
		go c.readLoop()
	}
	return c, server
}

// testFrame is the response to correlation id: a body that names the id,
// of a size that varies with it (some frames larger than a read buffer).
func testFrame(id int32) []byte {
	n := 8 + int(id)%300
	if id%97 == 0 {
		n = readBufferSize + 1000 + int(id)
	}
	frame := make([]byte, 4+n)
	binary.BigEndian.PutUint32(frame, uint32(id))
	for i := 4; i < len(frame); i++ {
		frame[i] = byte(int(id) + i)
	}
	return frame
}

// TestReadRoleSharedWithCallers has the reader goroutine and callers that
// read for themselves (responseReader.tryRead, half the time announced
// with beginWait) race over one connection whose responses arrive in
// random pieces: several frames per write, frames split across writes.
// Every waiter gets exactly its own frame, once, and nothing is left
// unread when the callers stop.
func TestReadRoleSharedWithCallers(t *testing.T) {
	c, server := rawTestConn(t, true)
	const n = 3000
	var got sync.Map
	var delivered atomic.Int32
	done := make(chan struct{})
	c.mu.Lock()
	for id := int32(1); id <= n; id++ {
		ch := make(chan []byte, 1)
		id := id
		c.pending[id] = waiter{ch: ch, notify: func() {
			frame, ok := <-ch
			if ok {
				if _, dup := got.LoadOrStore(id, frame); dup {
					t.Errorf("frame %d delivered twice", id)
				}
				if delivered.Add(1) == n {
					close(done)
				}
			}
		}}
	}
	c.mu.Unlock()
	c.rouse() // as send does

	stop := make(chan struct{})
	var callers sync.WaitGroup
	var reads atomic.Int64
	for i := 0; i < 3; i++ {
		callers.Add(1)
		go func() {
			defer callers.Done()
			r := responseReader{c}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Every other turn as a waiting caller, whom the
				// goroutine leaves the reading to until endWait.
				waiting := i%2 == 0
				if waiting && !r.beginWait() {
					return
				}
				alive, read := r.tryRead()
				if read {
					reads.Add(1)
				}
				time.Sleep(time.Duration(rand.Intn(50)) * time.Microsecond)
				if waiting {
					r.endWait()
				}
				if !alive {
					return
				}
			}
		}()
	}

	rng := rand.New(rand.NewSource(1))
	var stream []byte
	for id := int32(1); id <= n; id++ {
		f := testFrame(id)
		stream = binary.BigEndian.AppendUint32(stream, uint32(len(f)))
		stream = append(stream, f...)
	}
	for len(stream) > 0 {
		k := min(len(stream), 1+rng.Intn(3000))
		_, err := server.Write(stream[:k])
		require.NoError(t, err)
		stream = stream[k:]
		if rng.Intn(4) == 0 {
			time.Sleep(time.Duration(rng.Intn(200)) * time.Microsecond)
		}
	}
	// The callers stop with the stream written: whatever they left in the
	// socket (the goroutine defers to waiting callers) must still come out.
	close(stop)
	callers.Wait()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%d of %d frames delivered: bytes were left unread", delivered.Load(), n)
	}
	for id := int32(1); id <= n; id++ {
		v, ok := got.Load(id)
		require.True(t, ok, "frame %d", id)
		require.True(t, bytes.Equal(testFrame(id), v.([]byte)), "frame %d corrupted", id)
	}
	assert.Positive(t, reads.Load(), "the callers read some of the stream themselves")

	// A response that comes after the callers stopped is still read (by
	// the goroutine alone).
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.pending[n+1] = waiter{ch: ch}
	c.mu.Unlock()
	c.rouse()
	f := testFrame(n + 1)
	_, err := server.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(f))), f...))
	require.NoError(t, err)
	select {
	case frame := <-ch:
		require.Equal(t, f, frame)
	case <-time.After(30 * time.Second):
		t.Fatal("the reader goroutine did not read a response once the callers left")
	}
}

// A caller that reads a corrupt frame size or the end of the stream closes
// the connection with the same error the goroutine would (no goroutine here:
// the caller is the only reader).
func TestCallerReadFailuresCloseTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes []byte
		code  wire.ErrorCode
	}{
		{"corrupt size", []byte{0xff, 0xff, 0xff, 0xff}, wire.ErrCorruptResponse},
		{"end of stream", nil, wire.ErrConnectionFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, server := rawTestConn(t, false)
			ch := make(chan []byte, 1)
			c.mu.Lock()
			c.pending[1] = waiter{ch: ch}
			c.mu.Unlock()
			if tc.bytes != nil {
				_, err := server.Write(tc.bytes)
				require.NoError(t, err)
			} else {
				require.NoError(t, server.Close())
			}
			r := responseReader{c}
			deadline := time.Now().Add(30 * time.Second)
			for !c.isDead() && time.Now().Before(deadline) {
				r.tryRead()
				time.Sleep(time.Millisecond)
			}
			require.True(t, c.isDead())
			_, open := <-ch
			require.False(t, open, "the waiter is failed")
			assert.Equal(t, tc.code, wire.CodeOf(c.deathErr()))
			alive, _ := r.tryRead()
			assert.False(t, alive)
		})
	}
}

// A goroutine that was watching when a caller began to wait (beginWait)
// leaves the bytes that woke it to the caller; a caller that ends its wait
// without having read them (woken by something else, or timed out) reads
// them in endWait.
func TestEndWaitReadsWhatTheGoroutineLeft(t *testing.T) {
	// The response is awaited before the goroutine starts, so it watches
	// from its first wait with no ring pending: a ring (rouse) could wake
	// it once more after the test saw it watching, and it would then find
	// the caller waiting and stop watching before the frame came.
	c, server := rawTestConn(t, false)
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.pending[7] = waiter{ch: ch}
	c.mu.Unlock()
	go c.readLoop()
	deadline := time.Now().Add(30 * time.Second)
	for !c.watching.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.True(t, c.watching.Load(), "a response is awaited and nobody waits: the goroutine watches")
	r := responseReader{c}
	require.True(t, r.beginWait())
	f := testFrame(7)
	_, err := server.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(f))), f...))
	require.NoError(t, err)
	deadline = time.Now().Add(30 * time.Second)
	for !c.lost.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.True(t, c.lost.Load(), "the goroutine, woken by the frame, left it to the waiting caller")
	select {
	case <-ch:
		t.Fatal("the goroutine read while a caller was waiting")
	default:
	}
	r.endWait()
	select {
	case frame := <-ch:
		require.Equal(t, f, frame)
	case <-time.After(30 * time.Second):
		t.Fatal("the frame the goroutine left was never read")
	}
}

// An idle connection (no response awaited: the goroutine guards the socket
// without waking for data) still finds out at once that the broker closed
// it.
func TestIdleConnectionNoticesTheBrokerClosing(t *testing.T) {
	c, server := rawTestConn(t, true)
	require.NoError(t, server.Close())
	select {
	case <-c.dead:
	case <-time.After(30 * time.Second):
		t.Fatal("the conn did not notice the connection's end")
	}
	assert.Equal(t, wire.ErrConnectionFailed, wire.CodeOf(c.deathErr()))
	assert.False(t, responseReader{c}.beginWait(), "nothing to wait on once closed")
}

// A caller that claims the socket before the request is written is the
// only one to wake for the response: the goroutine, guarding, never
// defers to it (it would have set lost).
func TestClaimedResponseWakesOnlyTheCaller(t *testing.T) {
	c, server := rawTestConn(t, true)
	r := responseReader{c}
	require.True(t, r.beginWait())
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.pending[3] = waiter{ch: ch}
	c.mu.Unlock()
	c.rouse()
	assert.False(t, c.watching.Load())
	f := testFrame(3)
	_, err := server.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(f))), f...))
	require.NoError(t, err)
	fds := []ppoll.FD{{Fd: int32(r.fd()), Events: ppoll.In}}
	ppoll.Wait(fds, 30*time.Second)
	require.NotZero(t, fds[0].Revents, "the response arrived")
	alive, read := r.tryRead()
	require.True(t, alive)
	require.True(t, read)
	require.Equal(t, f, <-ch)
	assert.False(t, c.lost.Load(), "the goroutine did not wake for the claimed response")
	r.endWait()
	assert.False(t, c.watching.Load(), "nothing awaited: the goroutine does not watch")
}

// A response to a request whose caller gave up is dropped quietly; a frame
// whose correlation id no request carries (a peer that is not a Kafka
// broker) fails the connection at once with CORRUPT_RESPONSE, naming the id,
// instead of leaving the callers to wait out their deadlines.
func TestUnknownCorrelationIDFailsTheConnection(t *testing.T) {
	c, server := rawTestConn(t, true)
	waiting := make(chan []byte, 1)
	c.mu.Lock()
	c.corr = 2
	c.pending[1] = waiter{} // its caller gave up (awaitBounded)
	c.pending[2] = waiter{ch: waiting}
	c.mu.Unlock()
	c.rouse()
	for _, id := range []int32{1, 99} {
		f := testFrame(id)
		_, err := server.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(f))), f...))
		require.NoError(t, err)
	}
	select {
	case <-c.dead:
	case <-time.After(30 * time.Second):
		t.Fatal("a frame for correlation id 99 did not fail the conn")
	}
	err := c.deathErr()
	assert.Equal(t, wire.ErrCorruptResponse, wire.CodeOf(err))
	// The frame for id 1 (given up) passed without harm: id 99 killed it.
	assert.Contains(t, err.Error(), "correlation id 99")
	_, open := <-waiting
	assert.False(t, open, "the waiting request is failed with the conn")
}
