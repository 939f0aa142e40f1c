package core

import (
	"context"
	"runtime"
	"strings"
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

// quiet waits until the consumer has looked up the positions of tps
// (OffsetFetch on the coordinator connection, then ListOffsets): after it,
// the coordinator connection carries only the test's own requests, whose
// wake-ups the test can then reason about.
func (f *commitFixture) quiet(t *testing.T, ctx context.Context, tps ...TopicPartition) {
	t.Helper()
	for _, tp := range tps {
		_, err := f.c.Position(ctx, tp)
		require.NoError(t, err)
	}
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
	// How many calls share a request depends on scheduling (60 to 140
	// requests for 480 calls, the most on a loaded machine), so only "some
	// were shared" is asserted here; TestCommitLatestCallWins pins the
	// sharing down exactly, with the in-flight request held.
	require.Less(t, n, calls.Load(), "concurrent commits were not coalesced")
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
	f.quiet(t, ctx, tp) // the coordinator connection up, and idle
	sent := goCommit(ctx, f.c, map[TopicPartition]int64{tp: 2})
	select {
	case <-f.entered:
	case err := <-sent:
		t.Fatalf("the second commit returned before its request reached the broker: %v", err)
	}
	cn := groupConnOf(f.c)
	require.NotNil(t, cn)
	require.NotNil(t, cn.sock, "a plaintext connection")
	assert.Equal(t, int32(1), cn.callers.Load(), "the committing goroutine waits on the socket itself")
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

// asyncOutcome is what CommitOffsetsAsync's done got: the error, and
// whether the response settled it inline (done ran inside conn.deliver,
// the response's delivery, or, when the response beat the sender's
// return from writing, inside the sender's own sendCommitAsync).
type asyncOutcome struct {
	err      error
	byReader bool
}

// goCommitAsync starts CommitOffsetsAsync; the channel gets its outcome.
func goCommitAsync(ctx context.Context, c *Consumer, offsets map[TopicPartition]int64) chan asyncOutcome {
	out := make(chan asyncOutcome, 1)
	c.CommitOffsetsAsync(ctx, offsets, func(err error) {
		buf := make([]byte, 64<<10)
		stack := string(buf[:runtime.Stack(buf, false)])
		out <- asyncOutcome{err, strings.Contains(stack, "(*conn).deliver") || strings.Contains(stack, "(*Consumer).sendCommitAsync")}
	})
	return out
}

// commitGoroutines counts the goroutines inside the commit path (a
// sender's request, or a caller waiting for its outcome).
func commitGoroutines() int {
	buf := make([]byte, 4<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "(*Consumer).sendCommit") || strings.Contains(g, "(*Consumer).commit(") {
			n++
		}
	}
	return n
}

// TestCommitAsyncParksNoGoroutine: a non-waiting commit (the C ABI's
// gofka_consumer_commit_async, an asyncio commit) writes its request on
// the calling goroutine and leaves the response to the connection's
// reader goroutine, which settles it (done runs inside the delivery): no
// goroutine waits for it, nor for the calls queued behind it. Before, each async commit ran on a goroutine
// of its own that waited for the outcome: one parked goroutine per
// commit in flight, and a thread woken to start it.
func TestCommitAsyncParksNoGoroutine(t *testing.T) {
	f := newCommitFixture(t, 1, true)
	tp := TopicPartition{f.topic, 0}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.quiet(t, ctx, tp) // the coordinator known, its connection up and idle
	first := goCommitAsync(ctx, f.c, map[TopicPartition]int64{tp: 2})
	<-f.entered
	const queued = 20
	outs := make([]chan asyncOutcome, queued)
	for i := range outs {
		outs[i] = goCommitAsync(ctx, f.c, map[TopicPartition]int64{tp: int64(3 + i)})
	}
	f.queued(t, queued)
	assert.Zero(t, commitGoroutines(), "goroutines parked in the commit path while 21 async commits are in flight")
	close(f.gate)
	o := <-first
	require.NoError(t, o.err)
	assert.True(t, o.byReader, "the reader that delivered the response settled the commit")
	for _, ch := range outs {
		require.NoError(t, (<-ch).err)
	}
	got, err := f.c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	require.Equal(t, int64(3+queued-1), got[tp])
	// Nothing in flight again: the next one is settled by the reader too.
	o = <-goCommitAsync(ctx, f.c, map[TopicPartition]int64{tp: 40})
	require.NoError(t, o.err)
	assert.True(t, o.byReader)
}

// TestCommitAsyncContextEnds: a non-waiting commit whose ctx ends while
// its request is in flight gets TIMED_OUT at once (its offsets may still
// be committed), one queued behind it whose ctx is cancelled is withdrawn
// with INTERRUPTED, each exactly once; the connection stays usable and the
// consumer commits afterwards.
func TestCommitAsyncContextEnds(t *testing.T) {
	f := newCommitFixture(t, 1, true)
	tp := TopicPartition{f.topic, 0}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := f.c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	actx, acancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer acancel()
	inFlight := goCommitAsync(actx, f.c, map[TopicPartition]int64{tp: 2})
	<-f.entered
	qctx, qcancel := context.WithCancel(ctx)
	queued := goCommitAsync(qctx, f.c, map[TopicPartition]int64{tp: 3})
	f.queued(t, 1)
	qcancel()
	o := <-queued
	require.Equal(t, wire.ErrInterrupted, wire.CodeOf(o.err), "%v", o.err)
	f.queued(t, 0)
	o = <-inFlight
	require.Equal(t, wire.ErrTimedOut, wire.CodeOf(o.err), "%v", o.err)
	close(f.gate)
	require.NoError(t, (<-goCommitAsync(ctx, f.c, map[TopicPartition]int64{tp: 4})).err)
	got, err := f.c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	require.Equal(t, int64(4), got[tp])
	select {
	case o := <-inFlight:
		t.Fatalf("a second outcome: %v", o.err)
	case o := <-queued:
		t.Fatalf("a second outcome: %v", o.err)
	default:
	}
}

// TestCommitAsyncSlowPaths: a non-waiting commit without a coordinator
// known yet (it is looked up on a goroutine first), one with nothing to
// commit, one of a partition not assigned, and one on a closed consumer
// all settle, with the outcome the waiting commit gives.
func TestCommitAsyncSlowPaths(t *testing.T) {
	f := newCommitFixture(t, 1, false)
	tp := TopicPartition{f.topic, 0}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := <-goCommitAsync(ctx, f.c, map[TopicPartition]int64{tp: 5})
	require.NoError(t, o.err)
	assert.False(t, o.byReader, "the first commit looked the coordinator up")
	got, err := f.c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	require.Equal(t, int64(5), got[tp])
	require.NoError(t, (<-goCommitAsync(ctx, f.c, nil)).err)
	o = <-goCommitAsync(ctx, f.c, map[TopicPartition]int64{{f.topic, 7}: 1})
	require.Equal(t, wire.ErrNotAssigned, wire.CodeOf(o.err), "%v", o.err)
	done := make(chan error, 1)
	f.c.CommitAsync(ctx, func(err error) { done <- err })
	require.NoError(t, <-done, "nothing consumed: nothing to commit")
	require.NoError(t, f.c.Close(ctx))
	o = <-goCommitAsync(ctx, f.c, map[TopicPartition]int64{tp: 6})
	require.Equal(t, wire.ErrClientClosed, wire.CodeOf(o.err), "%v", o.err)
}

// TestCommitAsyncCloseInFlight: closing the consumer while a non-waiting
// commit's request is in flight settles the commit (once), within its
// deadline.
func TestCommitAsyncCloseInFlight(t *testing.T) {
	f := newCommitFixture(t, 1, true)
	tp := TopicPartition{f.topic, 0}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := f.c.Committed(ctx, []TopicPartition{tp})
	require.NoError(t, err)
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	out := goCommitAsync(cctx, f.c, map[TopicPartition]int64{tp: 2})
	<-f.entered
	start := time.Now()
	require.NoError(t, f.c.Close(ctx))
	o := <-out
	require.Error(t, o.err)
	t.Logf("settled with %v after %v", o.err, time.Since(start))
	require.Less(t, time.Since(start), 10*time.Second) // a hang check: the commit's deadline bounds it
	close(f.gate)
}
