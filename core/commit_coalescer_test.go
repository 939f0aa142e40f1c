package core

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fkerr "github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gofka/gofka/wire"
)

// commitFixture is a consumer of its own kfake cluster with tps assigned
// (manual assignment, group "g-<topic>"), and a count of the OffsetCommit
// requests the cluster received.
type commitFixture struct {
	cluster  *kfake.Cluster
	c        *Consumer
	topic    string
	requests atomic.Int64
	// gate, when set, holds the first OffsetCommit request until it is
	// closed; entered is closed when that request arrives.
	gate, entered chan struct{}
}

func newCommitFixture(t *testing.T, partitions int, gated bool) *commitFixture {
	t.Helper()
	f := &commitFixture{cluster: fakeCluster(t, 1)}
	brokers := f.cluster.ListenAddrs()
	f.topic = consumerTestTopic(t, brokers, partitions)
	if gated {
		f.gate, f.entered = make(chan struct{}), make(chan struct{})
		t.Cleanup(func() {
			select {
			case <-f.gate:
			default:
				close(f.gate)
			}
		})
	}
	var first atomic.Bool
	f.cluster.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		f.requests.Add(1)
		if f.gate != nil && first.CompareAndSwap(false, true) {
			close(f.entered)
			f.cluster.SleepControl(func() { <-f.gate })
		}
		return nil, nil, false // observe only: the cluster answers
	})
	f.c = newTestConsumer(t, brokers, WithGroupID("g-"+f.topic), WithAutoCommit(false))
	require.NoError(t, f.c.Assign(f.tps(partitions)))
	return f
}

func (f *commitFixture) tps(n int) []TopicPartition {
	out := make([]TopicPartition, n)
	for i := range out {
		out[i] = TopicPartition{f.topic, int32(i)}
	}
	return out
}

// queued waits until n calls wait behind the in-flight request.
func (f *commitFixture) queued(t *testing.T, n int) {
	t.Helper()
	require.True(t, assertEventually(10*time.Second, func() bool {
		f.c.commits.mu.Lock()
		defer f.c.commits.mu.Unlock()
		return len(f.c.commits.queue) == n
	}), "%d commit calls never queued", n)
}

// goCommit runs CommitOffsets in a goroutine; the channel gets its result.
func goCommit(ctx context.Context, c *Consumer, offsets map[TopicPartition]int64) chan error {
	out := make(chan error, 1)
	go func() { out <- c.CommitOffsets(ctx, offsets) }()
	return out
}

// TestCommitCoalescesConcurrentCalls: 16 goroutines commit increasing
// offsets of shared partitions in rounds; every call succeeds, the
// committed offsets end at the last (highest) round, and calls share
// requests.
func TestCommitCoalescesConcurrentCalls(t *testing.T) {
	const workers, rounds, parts = 16, 30, 4
	f := newCommitFixture(t, parts, false)
	tps := f.tps(parts)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var calls atomic.Int64
	for r := int64(1); r <= rounds; r++ {
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for g := 0; g < workers; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				calls.Add(1)
				errs <- f.c.CommitOffsets(ctx, map[TopicPartition]int64{tps[g%parts]: r * 10, tps[(g+1)%parts]: r * 10})
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	got, err := f.c.Committed(ctx, tps)
	require.NoError(t, err)
	for _, tp := range tps {
		require.Equal(t, int64(rounds*10), got[tp], tp.String())
	}
	n := f.requests.Load()
	t.Logf("%d commit calls, %d OffsetCommit requests", calls.Load(), n)
	require.Less(t, n, calls.Load()/4, "concurrent commits were not coalesced")
}

// TestCommitLatestCallWins: calls queued behind an in-flight request share
// one request carrying, per partition, the latest call's offset (even a
// lower one); each returns once it is committed.
func TestCommitLatestCallWins(t *testing.T) {
	f := newCommitFixture(t, 2, true)
	tp0, tp1 := TopicPartition{f.topic, 0}, TopicPartition{f.topic, 1}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := goCommit(ctx, f.c, map[TopicPartition]int64{tp0: 10})
	<-f.entered
	b := goCommit(ctx, f.c, map[TopicPartition]int64{tp0: 20, tp1: 5})
	f.queued(t, 1)
	c := goCommit(ctx, f.c, map[TopicPartition]int64{tp0: 15})
	f.queued(t, 2)
	close(f.gate)
	require.NoError(t, <-a)
	require.NoError(t, <-b)
	require.NoError(t, <-c)
	require.Equal(t, int64(2), f.requests.Load())
	got, err := f.c.Committed(ctx, []TopicPartition{tp0, tp1})
	require.NoError(t, err)
	require.Equal(t, map[TopicPartition]int64{tp0: 15, tp1: 5}, got)
}

// TestCommitErrorsReachTheirCallers: a partition's failure reaches the
// callers that named it, and only them, from a shared request.
func TestCommitErrorsReachTheirCallers(t *testing.T) {
	f := newCommitFixture(t, 2, true)
	bad, good := TopicPartition{f.topic, 0}, TopicPartition{f.topic, 1}
	f.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Topic: f.topic, Partitions: []int32{0},
		Err: fkerr.OffsetMetadataTooLarge, Count: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first := goCommit(ctx, f.c, map[TopicPartition]int64{good: 1})
	<-f.entered
	x := goCommit(ctx, f.c, map[TopicPartition]int64{bad: 3})
	f.queued(t, 1)
	y := goCommit(ctx, f.c, map[TopicPartition]int64{good: 4})
	f.queued(t, 2)
	z := goCommit(ctx, f.c, map[TopicPartition]int64{bad: 5, good: 6})
	f.queued(t, 3)
	close(f.gate)
	require.NoError(t, <-first)
	require.Equal(t, wire.ErrOffsetMetadataTooLarge, wire.CodeOf(<-x))
	require.NoError(t, <-y)
	require.Equal(t, wire.ErrOffsetMetadataTooLarge, wire.CodeOf(<-z))
	require.Equal(t, int64(2), f.requests.Load())
	got, err := f.c.Committed(ctx, []TopicPartition{bad, good})
	require.NoError(t, err)
	require.Equal(t, map[TopicPartition]int64{bad: -1, good: 6}, got)
}

// TestCommitTimeout: a caller whose deadline passes gets TIMED_OUT within
// its deadline (plus slack), whether its offsets were sent or still
// queued; the consumer commits normally afterwards.
func TestCommitTimeout(t *testing.T) {
	f := newCommitFixture(t, 1, true)
	tp := TopicPartition{f.topic, 0}
	sctx, scancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer scancel()
	start := time.Now()
	sent := goCommit(sctx, f.c, map[TopicPartition]int64{tp: 1})
	<-f.entered
	qctx, qcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer qcancel()
	queued := goCommit(qctx, f.c, map[TopicPartition]int64{tp: 2})
	require.Equal(t, wire.ErrTimedOut, wire.CodeOf(<-queued))
	require.Equal(t, wire.ErrTimedOut, wire.CodeOf(<-sent))
	require.Less(t, time.Since(start), 3*time.Second) // a hang check
	close(f.gate)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.c.CommitOffsets(ctx, map[TopicPartition]int64{tp: 3}))
	got, err := f.c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	require.Equal(t, int64(3), got[tp])
}

// TestCommitAfterRevoke: a commit of a partition no longer assigned fails
// with NOT_ASSIGNED while concurrent commits of the partitions still
// assigned succeed.
func TestCommitAfterRevoke(t *testing.T) {
	f := newCommitFixture(t, 2, false)
	tp0, tp1 := TopicPartition{f.topic, 0}, TopicPartition{f.topic, 1}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.c.CommitOffsets(ctx, map[TopicPartition]int64{tp1: 1}))
	require.NoError(t, f.c.Assign([]TopicPartition{tp0}))
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				errs[i] = f.c.CommitOffsets(ctx, map[TopicPartition]int64{tp0: int64(i + 1)})
			} else {
				errs[i] = f.c.CommitRecords(ctx, &Record{Topic: f.topic, Partition: 1, Offset: int64(i)})
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 {
			require.NoError(t, err)
		} else {
			require.Equal(t, wire.ErrNotAssigned, wire.CodeOf(err))
		}
	}
	got, err := f.c.Committed(ctx, []TopicPartition{tp1})
	require.NoError(t, err)
	require.Equal(t, int64(1), got[tp1])
}

// groupConnOf is the consumer's leased connection to its coordinator (nil
// before the first group request).
func groupConnOf(c *Consumer) *conn {
	c.groupConn.mu.Lock()
	defer c.groupConn.mu.Unlock()
	if c.groupConn.pc == nil {
		return nil
	}
	return c.groupConn.pc.cn.conn
}

// TestCommitCallerReadsItsResponse: while a commit's request is in flight,
// the committing goroutine waits on the coordinator connection's socket
// itself (it claimed it before writing: a caller counted, the reader
// goroutine not watching), so the response wakes that one thread instead
// of the reader goroutine, which would then have to hand it over (see
// clientConn.roundTripOwn). The commit still succeeds.
func TestCommitCallerReadsItsResponse(t *testing.T) {
	f := newCommitFixture(t, 1, true)
	tp := TopicPartition{f.topic, 0}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := f.c.Committed(ctx, []TopicPartition{tp}) // the coordinator connection up
	require.NoError(t, err)
	sent := goCommit(ctx, f.c, map[TopicPartition]int64{tp: 2})
	select {
	case <-f.entered:
	case err := <-sent:
		t.Fatalf("the second commit returned before its request reached the broker: %v", err)
	}
	cn := groupConnOf(f.c)
	require.NotNil(t, cn)
	require.NotNil(t, cn.sock, "a plaintext connection")
	// At least the committer: a fetcher looking up the committed position
	// (OffsetFetch, the same path) may wait beside it.
	assert.GreaterOrEqual(t, cn.callers.Load(), int32(1), "the committing goroutine waits on the socket itself")
	assert.False(t, cn.watching.Load(), "the reader goroutine does not wait for the commit's response")
	close(f.gate)
	require.NoError(t, <-sent)
	assert.True(t, assertEventually(10*time.Second, func() bool { return cn.callers.Load() == 0 }),
		"the callers stopped waiting on the socket")
	got, err := f.c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	require.Equal(t, int64(2), got[tp])
}

// TestCommitCancelledWhileReading: a commit whose context is cancelled
// (not timed out) while the caller reads for its response returns at once
// with TIMED_OUT, as a request whose caller stopped waiting does (ppoll
// cannot wait on a context: the caller looks at it between short waits),
// and the connection stays usable.
func TestCommitCancelledWhileReading(t *testing.T) {
	f := newCommitFixture(t, 1, true)
	tp := TopicPartition{f.topic, 0}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cctx, ccancel := context.WithCancel(ctx)
	sent := goCommit(cctx, f.c, map[TopicPartition]int64{tp: 2})
	<-f.entered
	start := time.Now()
	ccancel()
	require.Equal(t, wire.ErrTimedOut, wire.CodeOf(<-sent))
	require.Less(t, time.Since(start), 3*time.Second) // a hang check
	close(f.gate)
	require.NoError(t, f.c.CommitOffsets(ctx, map[TopicPartition]int64{tp: 3}))
	got, err := f.c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	require.Equal(t, int64(3), got[tp])
}
