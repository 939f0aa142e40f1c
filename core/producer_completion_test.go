package core

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gofka/gofka/wire"
)

// ProduceTo posts one completion per record under its token, with the
// record's partition and offset; Wait and Poll hand them out oldest first.
func TestProduceToPostsCompletions(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 2)
	p := newTestProducer(t, brokers)
	q, err := NewCompletionQueue()
	require.NoError(t, err)
	defer q.Close()

	const n = 50
	for i := 0; i < n; i++ {
		r := &Record{Topic: topic, Partition: int32(i % 2), ManualPartition: true, Value: []byte("v")}
		require.NoError(t, p.ProduceTo(q, uint64(1000+i), r))
	}
	got := map[uint64]Completion{}
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		cs, err := q.Wait(0, time.Second) // 0: all there are
		require.NoError(t, err)
		for _, c := range cs {
			_, dup := got[c.Token]
			require.False(t, dup, "token %d twice", c.Token)
			got[c.Token] = c
		}
	}
	require.Len(t, got, n)
	next := map[int32]int64{}
	for i := 0; i < n; i++ {
		c := got[uint64(1000+i)]
		require.NoError(t, c.Err)
		require.Equal(t, int32(i%2), c.Partition)
		require.Equal(t, next[c.Partition], c.Offset, "offsets in produce order per partition")
		next[c.Partition]++
		require.Nil(t, c.Payload)
	}
	cs, err := q.Poll(10)
	require.NoError(t, err)
	require.Empty(t, cs, "one completion per record")

	// A record refused before it is buffered is an error of the call and
	// posts nothing.
	err = p.ProduceTo(q, 1, &Record{Topic: "bad topic name!", Value: []byte("v")})
	require.ErrorIs(t, err, wire.ErrInvalidTopicException)
	require.ErrorIs(t, p.ProduceTo(q, 2, nil), wire.ErrInvalidArgument)
	cs, err = q.Wait(10, 50*time.Millisecond)
	require.NoError(t, err)
	require.Empty(t, cs)

	// A nil queue produces without reporting.
	require.NoError(t, p.ProduceTo(nil, 3, &Record{Topic: topic, Value: []byte("v")}))
	require.NoError(t, p.Flush(testCtx(t, 30*time.Second)))
}

// A failed record's completion carries the error and the partition it was
// routed to.
func TestProduceToPostsFailures(t *testing.T) {
	c := fakeCluster(t, 1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // never answered: the delivery times out
	})
	p := newTestProducer(t, c.ListenAddrs(), WithDeliveryTimeout(300*time.Millisecond), WithRequestTimeout(200*time.Millisecond))
	q, err := NewCompletionQueue()
	require.NoError(t, err)
	defer q.Close()
	require.NoError(t, p.ProduceTo(q, 42, &Record{Topic: uniqueTopic(t), Partition: 0, ManualPartition: true, Value: []byte("v")}))
	cs, err := q.Wait(1, 30*time.Second)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, uint64(42), cs[0].Token)
	require.Error(t, cs[0].Err)
	require.Equal(t, int32(0), cs[0].Partition)
	require.Equal(t, int64(-1), cs[0].Offset)
}

// ProduceWait is one synchronous send per call: each returns its own
// record's completion (with an explicit partition the waiter reads the
// acknowledgement from the leader's socket itself; without one it waits
// on the queue's pipe alone). Several goroutines, each with its queue,
// share the producer and its connections.
func TestProduceWaitReturnsItsCompletion(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 2)
	p := newTestProducer(t, brokers)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			q, err := NewCompletionQueue()
			if err != nil {
				errs <- err
				return
			}
			defer q.Close()
			for i := 0; i < 100; i++ {
				tok := uint64(g*1000 + i)
				r := &Record{Topic: topic, Partition: int32(g % 2), ManualPartition: g < 2, Value: []byte("v")}
				var got []Completion
				cs, err := p.ProduceWait(q, tok, r, 8, 10*time.Second)
				for err == nil && len(cs) > 0 {
					got = append(got, cs...)
					cs, err = q.Poll(8)
				}
				if err != nil {
					errs <- err
					return
				}
				if len(got) != 1 || got[0].Token != tok || got[0].Err != nil || got[0].Offset < 0 {
					errs <- &wire.Error{Code: wire.ErrLocalUnknown, Detail: "unexpected completions"}
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	q, err := NewCompletionQueue()
	require.NoError(t, err)
	_, err = p.ProduceWait(nil, 1, &Record{Topic: topic, Value: []byte("v")}, 1, time.Second)
	require.ErrorIs(t, err, wire.ErrInvalidArgument, "no queue to wait on")
	q.Close()
	_, err = p.ProduceWait(q, 1, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("v")}, 1, time.Second)
	require.ErrorIs(t, err, wire.ErrClientClosed, "the wait on a closed queue")
}

// The try-calls never wait for buffer room: ProduceTo and ProduceBatchNow
// return QUEUE_FULL at once when buffer.memory is full, where TryProduce
// and ProduceBatch wait up to their context. A nil context is refused.
func TestTryCallsNeverBlock(t *testing.T) {
	c := fakeCluster(t, 1)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // never answered: the buffer fills up
	})
	p := newTestProducer(t, c.ListenAddrs(), WithBufferMemory(16<<10), WithRequestTimeout(30*time.Second))
	topic := uniqueTopic(t)
	value := make([]byte, 1000)
	rec := func() *Record { return &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: value} }
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		full = p.ProduceTo(nil, 0, rec())
	}
	require.ErrorIs(t, full, wire.ErrQueueFull)

	start := time.Now()
	require.ErrorIs(t, p.ProduceTo(nil, 0, rec()), wire.ErrQueueFull)
	require.ErrorIs(t, p.ProduceBatchNow([]*Record{rec(), rec()}, nil), wire.ErrQueueFull)
	q, err := NewCompletionQueue()
	require.NoError(t, err)
	defer q.Close()
	_, err = p.ProduceWait(q, 0, rec(), 1, time.Minute)
	require.ErrorIs(t, err, wire.ErrQueueFull, "the produce of a sync send does not wait for room either")
	require.Less(t, time.Since(start), 20*time.Second, "the try-calls must not wait for buffer room")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, p.ProduceBatch(ctx, []*Record{rec()}, nil), wire.ErrQueueFull)
	var nilCtx context.Context
	require.ErrorIs(t, p.TryProduce(nilCtx, rec(), nil), wire.ErrInvalidArgument)
	require.ErrorIs(t, p.ProduceBatch(nilCtx, []*Record{rec()}, nil), wire.ErrInvalidArgument)
	cctx, ccancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer ccancel()
	p.Close(cctx)
}

// Close gets a blocked Wait out with CLIENT_CLOSED; completions posted
// afterwards are dropped.
func TestCompletionQueueCloseWakesWait(t *testing.T) {
	q, err := NewCompletionQueue()
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := q.Wait(1, time.Minute)
		done <- err
	}()
	for {
		q.mu.Lock()
		inside := q.wake.refs.Load() == 2 // the waiter is in ppoll
		q.mu.Unlock()
		if inside {
			break
		}
		time.Sleep(time.Millisecond)
	}
	q.Close()
	select {
	case err := <-done:
		require.ErrorIs(t, err, wire.ErrClientClosed)
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not wake the Wait")
	}
	q.Post(Completion{Token: 1})
	_, err = q.Poll(1)
	require.ErrorIs(t, err, wire.ErrClientClosed)
	q.Close() // idempotent
}

// BenchmarkProduceWait: one synchronous send per iteration on the path
// of the C ABI's sync send (ProduceWait: the caller reads its
// acknowledgement from the leader's socket), to compare with
// BenchmarkProduceSyncOne. From an ordinary goroutine the two are close;
// the path pays off on threads locked to a foreign runtime.
func BenchmarkProduceWait(b *testing.B) {
	p, topic := benchProducer(b)
	q, err := NewCompletionQueue()
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	value := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, err := p.ProduceWait(q, uint64(i), &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: value}, 1, 10*time.Second)
		if err != nil || len(cs) != 1 || cs[0].Err != nil {
			b.Fatal(err, cs)
		}
	}
}
