package core

// Share consumer fetch-ahead (docs/share-groups.md, "Fetching ahead"): the
// next share fetch goes out when a Poll has emptied the buffer, its records
// come with the next Poll, and records acquired but never returned are
// released at Close and when the subscription drops their topic.

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/gofka/gofka/wire"
)

// aheadInFlight reports whether a share fetch is in flight after a Poll
// returned (the fetch ahead).
func aheadInFlight(c *ShareConsumer) bool {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if c.inflight == nil {
		return false
	}
	for _, j := range c.inflight.jobs {
		if _, ok := j.req.(*wire.ShareFetchRequest); ok {
			return true
		}
	}
	return false
}

// ackLog collects what the acknowledgement callback reports.
type ackLog struct {
	mu      sync.Mutex
	results []ShareAckResult
}

func (l *ackLog) add(r []ShareAckResult) {
	l.mu.Lock()
	l.results = append(l.results, r...)
	l.mu.Unlock()
}

// released returns the offsets reported released without error.
func (l *ackLog) released() map[int64]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64]bool{}
	for _, r := range l.results {
		if r.Type == AcknowledgeRelease && r.Err == nil {
			out[r.Offset] = true
		}
	}
	return out
}

// TestShareFetchAheadOrderOnce: after a Poll empties the buffer a share
// fetch is in flight (fetched ahead, carrying the acknowledgements owed),
// and across the polls every record comes once, in order, with delivery
// count 1; once all are accepted, none comes again. (Before fetch-ahead
// every Poll waited for its own fetch: none was ever in flight after it.)
func TestShareFetchAheadOrderOnce(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t)
	var acks ackLog
	c.SetAcknowledgementCallback(acks.add)
	waitAssigned(t, c)
	vals := f.produce(t, ctx, 40)

	var got []*ShareRecord
	ahead := 0
	for len(got) < len(vals) {
		require.NoError(t, ctx.Err(), "timed out polling: %d of %d records", len(got), len(vals))
		recs, err := c.Poll(ctx, 3)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(recs), 3, "a poll returns at most max records")
		if len(recs) > 0 && aheadInFlight(c) {
			ahead++
		}
		got = append(got, recs...)
	}
	require.Len(t, got, len(vals))
	for i, r := range got {
		assert.Equal(t, vals[i], string(r.Value), "record %d", i)
		assert.Equal(t, int64(i), r.Offset, "record %d", i)
		assert.Equal(t, int16(1), r.DeliveryCount, "record %d was delivered before", i)
	}
	assert.Positive(t, ahead, "no Poll left a share fetch in flight (no fetch-ahead)")

	// The next polls accept the last records; nothing is delivered again.
	short, cancel := context.WithTimeout(ctx, time.Second)
	recs, err := c.Poll(short, 10)
	cancel()
	require.NoError(t, err)
	assert.Empty(t, recs, "a record came twice")
	_, err = c.Commit(ctx)
	require.NoError(t, err)
	acks.mu.Lock()
	accepted := map[int64]bool{}
	for _, r := range acks.results {
		assert.NoError(t, r.Err, "acknowledgement of offset %d", r.Offset)
		assert.Equal(t, AcknowledgeAccept, r.Type, "offset %d", r.Offset)
		accepted[r.Offset] = true
	}
	acks.mu.Unlock()
	assert.Len(t, accepted, len(vals), "every record was accepted once")
}

// roundAcquired waits until the round in flight has its answer and
// returns the offsets it acquired (not yet applied: they are in no buffer).
func roundAcquired(t *testing.T, ctx context.Context, c *ShareConsumer) map[int64]bool {
	t.Helper()
	for {
		require.NoError(t, ctx.Err(), "the fetch ahead never answered")
		c.opMu.Lock()
		r := c.inflight
		if r == nil {
			c.opMu.Unlock()
			return map[int64]bool{}
		}
		select {
		case <-r.done:
		default:
			c.opMu.Unlock()
			time.Sleep(10 * time.Millisecond)
			continue
		}
		out := map[int64]bool{}
		for _, j := range r.jobs {
			resp, ok := j.resp.(*wire.ShareFetchResponse)
			if !ok {
				continue
			}
			for _, tp := range resp.Responses {
				for _, p := range tp.Partitions {
					for _, a := range p.AcquiredRecords {
						for off := a.FirstOffset; off <= a.LastOffset; off++ {
							out[off] = true
						}
					}
				}
			}
		}
		c.opMu.Unlock()
		return out
	}
}

// TestShareCloseReleasesFetchedAhead: records a fetch ahead acquired but
// no Poll returned are released by Close (the callback reports each), and
// another member gets them at once, not after the acquisition lock.
// (Releasing only what was buffered before taking up the fetch in flight
// left these to the session's end: no release was reported for them.)
func TestShareCloseReleasesFetchedAhead(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	f := newShareFixture(t, ctx)
	a := f.consumer(t)
	var acks ackLog
	a.SetAcknowledgementCallback(acks.add)
	waitAssigned(t, a)
	f.produce(t, ctx, 8)
	returned := map[int64]bool{}
	var deadline time.Time
	for len(returned) == 0 {
		require.NoError(t, ctx.Err(), "timed out polling")
		recs, err := a.Poll(ctx, 2)
		require.NoError(t, err)
		for _, r := range recs {
			returned[r.Offset] = true
			deadline = r.LockDeadline
		}
	}
	// The broker hands out at most a poll's max (2) per fetch: the poll
	// emptied the buffer and fetched ahead.
	require.True(t, aheadInFlight(a), "the poll that emptied the buffer fetched ahead")
	held := roundAcquired(t, ctx, a)
	require.NotEmpty(t, held, "the fetch ahead acquired records")
	for off := range held {
		require.False(t, returned[off], "offset %d was returned and acquired again", off)
	}
	require.NoError(t, a.Close(ctx))
	released := acks.released()
	for off := range held {
		assert.True(t, released[off], "offset %d, acquired ahead, was not released at Close", off)
	}
	for off := range returned {
		assert.False(t, released[off], "offset %d, returned by a poll, was released (the implicit mode accepts it)", off)
	}

	b := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	back := map[int64]bool{}
	pollUntil(t, ctx, b, func(recs []*ShareRecord) {
		for _, r := range recs {
			back[r.Offset] = true
			require.NoError(t, b.Acknowledge(r, AcknowledgeAccept))
		}
	}, func() bool {
		for off := range held {
			if !back[off] {
				return false
			}
		}
		return true
	})
	for off := range returned {
		assert.False(t, back[off], "offset %d was accepted by a and delivered again", off)
	}
	if !deadline.IsZero() {
		assert.True(t, time.Now().Before(deadline), "b got the records only after a's acquisition lock (%v)", deadline)
	}
}

// TestShareSubscribeReleasesBuffered: records buffered for a topic the
// subscription no longer names are not returned by the next polls but
// released, so that another member gets them at once. (They were returned
// after the subscription had dropped their topic.)
func TestShareSubscribeReleasesBuffered(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	f := newShareFixture(t, ctx)
	other := uniqueTopic(t) + "-other"
	createTopic(t, ctx, f.admin.cl, other, 1)
	a := f.consumer(t)
	var acks ackLog
	a.SetAcknowledgementCallback(acks.add)
	waitAssigned(t, a)
	vals := f.produce(t, ctx, 10)
	returned := map[int64]bool{}
	var deadline time.Time
	var dropped [16]byte // the topic id of f.topic
	for len(returned) == 0 {
		require.NoError(t, ctx.Err(), "timed out polling")
		recs, err := a.Poll(ctx, 2)
		require.NoError(t, err)
		for _, r := range recs {
			returned[r.Offset] = true
			deadline = r.LockDeadline
			dropped = r.topicID
		}
	}
	require.Less(t, len(returned), len(vals))
	held := roundAcquired(t, ctx, a) // a fetch ahead, if one went out
	a.opMu.Lock()
	for _, r := range a.buffered {
		held[r.Offset] = true
	}
	a.opMu.Unlock()
	require.NotEmpty(t, held, "records were acquired beyond the poll")

	require.NoError(t, a.Subscribe(other))
	// Once the assignment has dropped the topic, the next poll's
	// acknowledgements (accepting what it returned, releasing what it
	// held) are for a partition no longer fetched.
	require.Eventually(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for sp := range a.assigned {
			if sp.id == dropped {
				return false
			}
		}
		return len(a.assigned) > 0
	}, 30*time.Second, 10*time.Millisecond, "the assignment never dropped %s", f.topic)
	for i := 0; i < 3; i++ {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		recs, err := a.Poll(short, 10)
		cancel()
		require.NoError(t, err)
		for _, r := range recs {
			assert.NotEqual(t, f.topic, r.Topic, "offset %d of the dropped topic returned after Subscribe(%s)", r.Offset, other)
		}
	}
	released := acks.released()
	for off := range held {
		assert.True(t, released[off], "offset %d of the dropped topic was not released", off)
	}

	b := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	back := map[int64]bool{}
	pollUntil(t, ctx, b, func(recs []*ShareRecord) {
		for _, r := range recs {
			back[r.Offset] = true
			// a had it once at most: acknowledgements for the dropped
			// topic do not fetch it again (that acquired the records
			// once per poll, released them each time).
			assert.LessOrEqual(t, r.DeliveryCount, int16(2), "offset %d", r.Offset)
			require.NoError(t, b.Acknowledge(r, AcknowledgeAccept))
		}
	}, func() bool { return len(back)+len(returned) >= len(vals) })
	for off := range returned {
		assert.False(t, back[off], "offset %d was accepted by a and delivered again", off)
	}
	if !deadline.IsZero() {
		assert.True(t, time.Now().Before(deadline), "b got the records only after a's acquisition lock (%v)", deadline)
	}
}

// TestShareExplicitRefusesWithRecordsAhead: in the explicit mode a poll
// with a record of the previous one unacknowledged is refused even when
// records acquired ahead are waiting, and the refusal loses none of them:
// once the previous poll's records are acknowledged, the next polls return
// the rest, in order, once.
func TestShareExplicitRefusesWithRecordsAhead(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	waitAssigned(t, c)
	vals := f.produce(t, ctx, 6)
	var got []*ShareRecord
	for len(got) == 0 {
		require.NoError(t, ctx.Err(), "timed out polling")
		recs, err := c.Poll(ctx, 2)
		require.NoError(t, err)
		got = append(got, recs...)
	}
	last := got
	for len(got) < len(vals) {
		require.NoError(t, ctx.Err(), "timed out polling: %d of %d records", len(got), len(vals))
		recs, err := c.Poll(ctx, 2)
		require.Error(t, err, "a poll with %d records unacknowledged", len(last))
		assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
		assert.Empty(t, recs)
		for _, r := range last {
			require.NoError(t, c.Acknowledge(r, AcknowledgeAccept))
		}
		last = nil
		for len(last) == 0 {
			require.NoError(t, ctx.Err(), "timed out polling")
			last, err = c.Poll(ctx, 2)
			require.NoError(t, err)
		}
		got = append(got, last...)
	}
	require.Len(t, got, len(vals))
	for i, r := range got {
		assert.Equal(t, vals[i], string(r.Value), "record %d", i)
		assert.Equal(t, int16(1), r.DeliveryCount, "record %d", i)
	}
}

// TestShareFetchAheadAtRecordLockLimit: with the partition at the
// broker's limit of acquired records (group.share.partition.max.record.locks),
// held by the records of the last poll until its acknowledgements arrive,
// the fetch ahead gets nothing; the next poll must not wait out
// fetch.max.wait.ms behind it but send those acknowledgements and get the
// next records. (A fetch ahead that long-polled at the broker kept them
// queued: every other poll came back empty after its 1 s deadline, with
// the fetch ahead held for 5 s; the bench's 4 members took 17 s for 1M
// records instead of 2.) A bound against a 5 s wait, not a timing check.
func TestShareFetchAheadAtRecordLockLimit(t *testing.T) {
	const topic, group = "share-locklimit", "share-locklimit-g"
	c := fakeCluster(t, 1, kfake.SeedTopics(1, topic),
		kfake.BrokerConfigs(map[string]string{"group.share.partition.max.record.locks": "4"}))
	ctx := testCtx(t, 60*time.Second)
	admin := newTestAdmin(t, c.ListenAddrs())
	require.NoError(t, admin.AlterConfigs(ctx, ResourceGroup, group,
		[]ConfigOp{{Name: "share.auto.offset.reset", Value: "earliest"}}, false))
	p := newTestProducer(t, c.ListenAddrs())
	for i := 0; i < 16; i++ {
		require.NoError(t, p.ProduceSync(ctx, &Record{Topic: topic, Value: []byte(fmt.Sprintf("v%d", i))}))
	}
	cons, err := NewShareConsumer(WithBrokers(c.ListenAddrs()...), WithGroupID(group), WithFetchMaxWait(5*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { cons.Close(context.Background()) })
	require.NoError(t, cons.Subscribe(topic))
	waitAssigned(t, cons)

	var got []*ShareRecord
	for first := true; len(got) < 16; first = false {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		recs, err := cons.Poll(pctx, 4)
		cancel()
		require.NoError(t, err)
		if !first { // the first one may wait for the share session
			require.NotEmpty(t, recs, "a poll with records at the broker came back empty after %d records", len(got))
		}
		got = append(got, recs...)
	}
	for i, r := range got {
		assert.Equal(t, fmt.Sprintf("v%d", i), string(r.Value))
	}
}

// TestShareFetchHonoursPrefetchBound: queued.max.messages.kbytes bounds
// what a share fetch asks for (its MaxBytes is the broker's share of the
// bound, not fetch.max.bytes), so a round acquires about that many bytes
// of records, and every record still comes once. Before, share fetches
// asked for fetch.max.bytes (50 MiB) whatever the bound.
func TestShareFetchHonoursPrefetchBound(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t, WithQueuedMaxMessagesKbytes(1))
	waitAssigned(t, c)
	const n, size = 30, 400
	for i := 0; i < n; i++ { // one batch per record (ProduceSync)
		v := fmt.Sprintf("%03d", i) + string(make([]byte, size-3))
		require.NoError(t, f.prod.ProduceSync(ctx, &Record{Topic: f.topic, Value: []byte(v)}))
	}
	seen := map[string]bool{}
	maxPoll, fetches := 0, 0
	for len(seen) < n {
		require.NoError(t, ctx.Err(), "timed out polling: %d of %d records", len(seen), n)
		recs, err := c.Poll(ctx, n)
		require.NoError(t, err)
		maxPoll = max(maxPoll, len(recs))
		for _, r := range recs {
			k := string(r.Value[:3])
			assert.False(t, seen[k], "record %s came twice", k)
			seen[k] = true
		}
		c.opMu.Lock()
		if c.inflight != nil {
			for _, j := range c.inflight.jobs {
				if req, ok := j.req.(*wire.ShareFetchRequest); ok {
					fetches++
					assert.Equal(t, int32(1024), req.MaxBytes, "a share fetch asks for its broker's share of the bound")
				}
			}
		}
		c.opMu.Unlock()
	}
	assert.Positive(t, fetches, "no share fetch was seen in flight")
	if os.Getenv("GOFKA_BROKERS") != "" {
		// Kafka honours MaxBytes (the dev cluster's share fetch does not,
		// so only the request is checked there): 1 KiB holds two of these
		// batches (about 470 bytes each), and the first batch past the
		// bound comes whole (KIP-74): at most three per fetch.
		assert.LessOrEqual(t, maxPoll, 3, "a share fetch brought more than the bound")
	}
	t.Logf("%d records in polls of at most %d; %d share fetches seen in flight", n, maxPoll, fetches)
}
