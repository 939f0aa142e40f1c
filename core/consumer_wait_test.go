package core

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// PollWait waits in the kernel for records: it returns nothing at once
// with timeout 0, wakes up for records that arrive while it waits, and
// Close gets a blocked PollWait out with CLIENT_CLOSED.
func TestConsumerPollWait(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 1)
	c := newTestConsumer(t, brokers)
	require.NoError(t, c.Assign([]TopicPartition{{topic, 0}}))

	recs, evs, err := c.PollWait(10, 0)
	require.NoError(t, err)
	require.Empty(t, recs, "nothing produced yet")
	require.Empty(t, evs)

	// Records produced while PollWait blocks wake it.
	p := newTestProducer(t, brokers)
	produced := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		var recs []*Record
		for i := 0; i < 5; i++ {
			recs = append(recs, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("w")})
		}
		produced <- p.ProduceSync(testCtx(t, 30*time.Second), recs...)
	}()
	var got []*Record
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		recs, _, err := c.PollWait(5-len(got), 10*time.Second)
		require.NoError(t, err)
		got = append(got, recs...)
	}
	require.NoError(t, <-produced)
	require.Len(t, got, 5)
	for i, r := range got {
		require.Equal(t, int64(i), r.Offset)
	}

	done := make(chan error, 1)
	go func() {
		_, _, err := c.PollWait(10, time.Minute)
		done <- err
	}()
	for { // until the poller sleeps in ppoll (it holds a reference)
		c.kw.mu.Lock()
		inside := c.kw.wake.refs.Load() == 2
		c.kw.mu.Unlock()
		if inside {
			break
		}
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, c.Close(testCtx(t, 10*time.Second)))
	select {
	case err := <-done:
		require.ErrorIs(t, err, wire.ErrClientClosed)
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not wake the PollWait")
	}
	_, _, err = c.PollWait(1, 0)
	require.ErrorIs(t, err, wire.ErrClientClosed)
	var nilCtx context.Context
	_, _, err = c.PollEvents(nilCtx, 1)
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
}
