package core

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// A connection that dies notifies its waiters (clientConn.start's notify) on a
// goroutine of its own, never on the one closing it: close may run under a
// lock (the pool's, a client's) that the notified work, settling produce
// batches and running their promises, could need.
func TestCloseNotifiesOffTheClosingGoroutine(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c2.Close()
	c := &conn{addr: "test:9092", nc: c1, pending: map[int32]waiter{}, dead: make(chan struct{})}
	ch := make(chan []byte, 1)
	release := make(chan struct{})
	notified := make(chan bool, 1)
	c.pending[1] = waiter{ch: ch, notify: func() {
		<-release // blocks until close has returned: inline, close never would
		_, open := <-ch
		notified <- !open
	}}
	closed := make(chan struct{})
	go func() {
		c.close(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "test"})
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("close is waiting for its waiter's notify: the notify runs on the closing goroutine")
	}
	close(release)
	require.True(t, <-notified, "the waiter's channel is closed before its notify runs")
}
