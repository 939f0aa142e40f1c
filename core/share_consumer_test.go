package core

// Share consumer tests (KIP-932), on the dev cluster (kfake implements the
// share APIs) or on the Kafka of GOFKA_BROKERS (4.2+: skipped below, see
// skipWithoutShareGroups).

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// skipWithoutShareGroups skips a share group test on an Apache Kafka older
// than 4.2, where share groups are not production ready (not enabled by
// default; 3.x has none). GOFKA_KAFKA_VERSION is set by
// scripts/run-compat.sh; without it the broker is the dev cluster or
// scripts/kafka.sh's default, the newest supported.
func skipWithoutShareGroups(t *testing.T) {
	t.Helper()
	v := os.Getenv("GOFKA_KAFKA_VERSION")
	if v == "" || os.Getenv("GOFKA_BROKERS") == "" {
		return
	}
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		t.Fatalf("GOFKA_KAFKA_VERSION=%q: %v", v, err)
	}
	if major < 4 || major == 4 && minor < 2 {
		t.Skipf("Kafka %s has no share groups enabled (production ready in 4.2)", v)
	}
}

// shareFixture is a one-partition topic, a share group reading it from the
// earliest offset, and a producer.
type shareFixture struct {
	brokers []string
	topic   string
	group   string
	admin   *Admin
	prod    *Producer
	next    int // the next value number produce writes
}

func newShareFixture(t *testing.T, ctx context.Context) *shareFixture {
	t.Helper()
	skipWithoutShareGroups(t)
	brokers := testBrokers(t)
	f := &shareFixture{brokers: brokers, topic: uniqueTopic(t), admin: newTestAdmin(t, brokers)}
	f.group = "share-" + f.topic
	createTopic(t, ctx, f.admin.cl, f.topic, 1)
	// A share group starts at the latest offset unless told otherwise.
	require.NoError(t, f.admin.AlterConfigs(ctx, ResourceGroup, f.group,
		[]ConfigOp{{Name: "share.auto.offset.reset", Value: "earliest"}}, false))
	f.prod = newTestProducer(t, brokers)
	return f
}

// produce writes n records "v<k>", one batch each (so that a fetch can
// acquire any number of them), and returns their values.
func (f *shareFixture) produce(t *testing.T, ctx context.Context, n int) []string {
	t.Helper()
	var vals []string
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("v%d", f.next)
		f.next++
		require.NoError(t, f.prod.ProduceSync(ctx, &Record{Topic: f.topic, Value: []byte(v)}))
		vals = append(vals, v)
	}
	return vals
}

func (f *shareFixture) consumer(t *testing.T, opts ...ShareConsumerOption) *ShareConsumer {
	t.Helper()
	c, err := NewShareConsumer(append([]ShareConsumerOption{WithBrokers(f.brokers...), WithGroupID(f.group),
		WithDialTimeout(5 * time.Second), WithFetchMaxWait(200 * time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	require.NoError(t, c.Subscribe(f.topic))
	return c
}

// waitAssigned waits until c was given a partition.
func waitAssigned(t *testing.T, c *ShareConsumer) {
	t.Helper()
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		require.NoError(t, c.fatal)
		return len(c.assigned) > 0
	}, 60*time.Second, 20*time.Millisecond, "share consumer %s never got an assignment", c.memberID)
}

// pollUntil polls c until want reports true of everything polled so far,
// handing each batch to each (which may acknowledge).
func pollUntil(t *testing.T, ctx context.Context, c *ShareConsumer, each func([]*ShareRecord), want func() bool) {
	t.Helper()
	for !want() {
		require.NoError(t, ctx.Err(), "timed out polling")
		recs, err := c.Poll(ctx, 10)
		require.NoError(t, err)
		each(recs)
	}
}

// TestShareConsumersShareOnePartition: four share consumers of one
// partition each get records, together they get every record, and no
// record is held by two at once (each is delivered exactly once, with
// delivery count 1).
func TestShareConsumersShareOnePartition(t *testing.T) {
	ctx := testCtx(t, 120*time.Second)
	f := newShareFixture(t, ctx)
	const members, n = 4, 200
	cs := make([]*ShareConsumer, members)
	for i := range cs {
		cs[i] = f.consumer(t, WithMaxPollRecords(5))
	}
	for _, c := range cs {
		waitAssigned(t, c)
	}
	vals := f.produce(t, ctx, n)

	var mu sync.Mutex
	got := map[string][]int{} // value -> consumers that received it
	perConsumer := make([]int, members)
	var counts []int16
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*members)
	// The member that polls the last records ends every Poll still
	// waiting: nothing is left for them until a lock expires. (Without
	// this a member blocked in Poll got the last member's records again
	// 30 s later, group.share.record.lock.duration.ms, because that member
	// stopped polling and so never accepted them.)
	pollCtx, stopPolls := context.WithCancel(ctx)
	defer stopPolls()
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				// Implicit mode accepts a poll's records at the next
				// Poll, Commit or Close: Commit now, as a worker that
				// stops would, rather than at Close in the cleanup.
				if _, err := c.Commit(ctx); err != nil {
					errs <- err
				}
			}()
			for !done() && pollCtx.Err() == nil {
				recs, err := c.Poll(pollCtx, 5)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, r := range recs {
					got[string(r.Value)] = append(got[string(r.Value)], i)
					perConsumer[i]++
					counts = append(counts, r.DeliveryCount)
				}
				mu.Unlock()
				if done() {
					stopPolls()
				} else if len(recs) > 0 {
					time.Sleep(20 * time.Millisecond) // "processing": lets the others take their turn
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, ctx.Err())
	for _, v := range vals {
		assert.Len(t, got[v], 1, "%s delivered to consumers %v", v, got[v])
	}
	assert.Len(t, got, n)
	for i, k := range perConsumer {
		assert.Positive(t, k, "consumer %d got no record (per consumer: %v)", i, perConsumer)
	}
	for _, dc := range counts {
		require.EqualValues(t, 1, dc, "a record was delivered more than once")
	}
	t.Logf("records per consumer: %v", perConsumer)
}

// TestShareReleaseAndReject: a released record comes back with its
// delivery count + 1; a rejected one never comes back.
func TestShareReleaseAndReject(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	var results []ShareAckResult
	var rmu sync.Mutex
	c.SetAcknowledgementCallback(func(r []ShareAckResult) {
		rmu.Lock()
		results = append(results, r...)
		rmu.Unlock()
	})
	waitAssigned(t, c)
	f.produce(t, ctx, 4) // v0..v3

	// First delivery: release v0 and v1, reject v2, accept v3.
	first := map[string]*ShareRecord{}
	pollUntil(t, ctx, c, func(recs []*ShareRecord) {
		for _, r := range recs {
			first[string(r.Value)] = r
			assert.EqualValues(t, 1, r.DeliveryCount, "first delivery of %s", r.Value)
			assert.False(t, r.LockDeadline.IsZero(), "the broker announced the acquisition lock")
			typ := map[string]AcknowledgeType{"v0": AcknowledgeRelease, "v1": AcknowledgeRelease, "v2": AcknowledgeReject, "v3": AcknowledgeAccept}[string(r.Value)]
			require.NoError(t, c.Acknowledge(r, typ))
		}
	}, func() bool { return len(first) == 4 })

	// Then a marker: everything delivered before it is what comes back.
	f.produce(t, ctx, 1) // v4
	again := map[string]*ShareRecord{}
	pollUntil(t, ctx, c, func(recs []*ShareRecord) {
		for _, r := range recs {
			again[string(r.Value)] = r
			require.NoError(t, c.Acknowledge(r, AcknowledgeAccept))
		}
	}, func() bool { return again["v4"] != nil && again["v0"] != nil && again["v1"] != nil })
	for _, v := range []string{"v0", "v1"} {
		assert.EqualValues(t, 2, again[v].DeliveryCount, "released %s comes back with delivery count 2", v)
		assert.Equal(t, first[v].Offset, again[v].Offset)
	}
	assert.EqualValues(t, 1, again["v4"].DeliveryCount)
	assert.Nil(t, again["v2"], "a rejected record is never delivered again")
	assert.Nil(t, again["v3"], "an accepted record is never delivered again")

	// Nothing else comes: a last marker arrives alone.
	f.produce(t, ctx, 1) // v5
	var late []string
	pollUntil(t, ctx, c, func(recs []*ShareRecord) {
		for _, r := range recs {
			late = append(late, string(r.Value))
			require.NoError(t, c.Acknowledge(r, AcknowledgeAccept))
		}
	}, func() bool { return len(late) > 0 && late[len(late)-1] == "v5" })
	assert.Equal(t, []string{"v5"}, late)

	res, err := c.Commit(ctx)
	require.NoError(t, err)
	rmu.Lock()
	results = append(results, res...)
	byValue := map[int64]AcknowledgeType{}
	for _, r := range results {
		assert.NoError(t, r.Err, "acknowledgement of offset %d", r.Offset)
		assert.Equal(t, f.topic, r.Topic)
		byValue[r.Offset] = r.Type
	}
	rmu.Unlock()
	assert.Equal(t, AcknowledgeReject, byValue[first["v2"].Offset], "the reject was reported")
	assert.Len(t, byValue, 6, "every record's last acknowledgement was reported: %v", byValue)
}

// TestShareCloseReturnsRecords: the records a consumer holds when it
// closes without acknowledging them go to the others.
func TestShareCloseReturnsRecords(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	f := newShareFixture(t, ctx)
	a := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	b := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	waitAssigned(t, a)
	waitAssigned(t, b)
	f.produce(t, ctx, 3)

	held := map[int64]bool{}
	pollUntil(t, ctx, a, func(recs []*ShareRecord) {
		for _, r := range recs {
			held[r.Offset] = true
		}
	}, func() bool { return len(held) > 0 })
	require.NoError(t, a.Close(ctx))

	back := map[int64]int16{}
	pollUntil(t, ctx, b, func(recs []*ShareRecord) {
		for _, r := range recs {
			back[r.Offset] = r.DeliveryCount
			require.NoError(t, b.Acknowledge(r, AcknowledgeAccept))
		}
	}, func() bool {
		for off := range held {
			if _, ok := back[off]; !ok {
				return false
			}
		}
		return true
	})
	for off := range held {
		assert.GreaterOrEqual(t, back[off], int16(2), "offset %d was delivered to the closed consumer first", off)
	}
}

// TestShareExplicitModeRules: in the explicit mode a poll with records of
// the previous one unacknowledged is refused, a record is acknowledged
// once, and only with accept, release or reject; in the implicit mode
// Acknowledge is refused.
func TestShareExplicitModeRules(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	waitAssigned(t, c)
	f.produce(t, ctx, 2)
	var recs []*ShareRecord
	pollUntil(t, ctx, c, func(r []*ShareRecord) { recs = append(recs, r...) }, func() bool { return len(recs) > 0 })

	_, err := c.Poll(ctx, 10)
	require.Error(t, err)
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
	assert.Contains(t, err.Error(), "not acknowledged")

	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.Acknowledge(recs[0], AcknowledgeType(wire.AckGap))))
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.Acknowledge(nil, AcknowledgeAccept)))
	foreign := *recs[0]
	foreign.Offset += 1000
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.Acknowledge(&foreign, AcknowledgeAccept)))
	for _, r := range recs {
		require.NoError(t, c.Acknowledge(r, AcknowledgeAccept))
	}
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.Acknowledge(recs[0], AcknowledgeAccept)), "twice")

	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	_, err = c.Poll(short, 10)
	cancel()
	require.NoError(t, err, "every record acknowledged: poll runs")

	im := f.consumer(t) // implicit, the default
	err = im.Acknowledge(recs[0], AcknowledgeAccept)
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
	assert.Contains(t, err.Error(), "explicit")
}

// TestShareImplicitModeAccepts: in the implicit mode the next poll accepts
// the previous poll's records: a consumer joining afterwards sees none of
// them.
func TestShareImplicitModeAccepts(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t)
	waitAssigned(t, c)
	f.produce(t, ctx, 3)
	var seen []string
	pollUntil(t, ctx, c, func(r []*ShareRecord) {
		for _, x := range r {
			seen = append(seen, string(x.Value))
		}
	}, func() bool { return len(seen) == 3 })
	res, err := c.Commit(ctx) // accepts the last poll's records
	require.NoError(t, err)
	for _, r := range res {
		assert.NoError(t, r.Err)
		assert.Equal(t, AcknowledgeAccept, r.Type)
	}
	require.NoError(t, c.Close(ctx))

	d := f.consumer(t)
	waitAssigned(t, d)
	f.produce(t, ctx, 1) // v3
	var after []string
	pollUntil(t, ctx, d, func(r []*ShareRecord) {
		for _, x := range r {
			after = append(after, string(x.Value))
		}
	}, func() bool { return len(after) > 0 && after[len(after)-1] == "v3" })
	assert.Equal(t, []string{"v3"}, after, "accepted records are not delivered again")
}

// TestShareSessionEpochError: a share session the broker does not know at
// that epoch (INVALID_SHARE_SESSION_EPOCH) is replaced by a new one; the
// acknowledgements sent in the failed request are reported failed, per
// record, and consumption goes on.
func TestShareSessionEpochError(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	var results []ShareAckResult
	c.SetAcknowledgementCallback(func(r []ShareAckResult) { results = append(results, r...) })
	waitAssigned(t, c)
	f.produce(t, ctx, 1)
	var first []*ShareRecord
	pollUntil(t, ctx, c, func(r []*ShareRecord) { first = append(first, r...) }, func() bool { return len(first) > 0 })
	require.NoError(t, c.Acknowledge(first[0], AcknowledgeAccept))

	c.opMu.Lock()
	// The poll fetched ahead: that request went at the right epoch, so
	// take it up first; the next one carries the acknowledgement.
	require.Empty(t, c.awaitRound(ctx))
	require.Len(t, c.sessions, 1)
	for _, s := range c.sessions {
		require.Positive(t, s.epoch)
		s.epoch += 5 // out of step with the broker
	}
	c.opMu.Unlock()

	f.produce(t, ctx, 1)
	var later []string
	pollUntil(t, ctx, c, func(r []*ShareRecord) {
		for _, x := range r {
			later = append(later, string(x.Value))
			require.NoError(t, c.Acknowledge(x, AcknowledgeAccept))
		}
	}, func() bool { return len(later) > 0 && later[len(later)-1] == "v1" })
	require.NotEmpty(t, results)
	assert.Equal(t, first[0].Offset, results[0].Offset)
	assert.Equal(t, wire.ErrInvalidShareSessionEpoch, wire.CodeOf(results[0].Err), "the ack of the failed request: %v", results[0].Err)
}

// TestShareLateAcknowledgement: an acknowledgement sent after the record's
// acquisition lock ended (the record went to another consumer) is
// reported, for that record, as INVALID_RECORD_STATE.
func TestShareLateAcknowledgement(t *testing.T) {
	ctx := testCtx(t, 90*time.Second)
	f := newShareFixture(t, ctx)
	if os.Getenv("GOFKA_BROKERS") == "" {
		// The dev cluster: a 1 s lock, checked every 100 ms.
		require.NoError(t, f.admin.AlterConfigs(ctx, ResourceBroker, "", []ConfigOp{
			{Name: "group.share.record.lock.duration.ms", Value: "1000"},
			{Name: "share.record.lock.sweep.interval.ms", Value: "100"}}, false))
	} else {
		// Kafka: a 2 s lock on the group, which scripts/kafka.sh allows
		// (group.share.min.record.lock.duration.ms=1000); a broker with
		// the default floor takes 15 s at the least.
		err := f.admin.AlterConfigs(ctx, ResourceGroup, f.group, []ConfigOp{
			{Name: "share.record.lock.duration.ms", Value: "2000"}}, false)
		if wire.CodeOf(err) == wire.ErrInvalidConfig {
			err = f.admin.AlterConfigs(ctx, ResourceGroup, f.group, []ConfigOp{
				{Name: "share.record.lock.duration.ms", Value: "15000"}}, false)
		}
		require.NoError(t, err)
	}
	a := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	b := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	waitAssigned(t, a)
	waitAssigned(t, b)
	f.produce(t, ctx, 1)
	var held []*ShareRecord
	pollUntil(t, ctx, a, func(r []*ShareRecord) { held = append(held, r...) }, func() bool { return len(held) > 0 })

	// b gets the record once a's lock has ended.
	var redelivered []*ShareRecord
	pollUntil(t, ctx, b, func(r []*ShareRecord) { redelivered = append(redelivered, r...) }, func() bool { return len(redelivered) > 0 })
	assert.Equal(t, held[0].Offset, redelivered[0].Offset)
	assert.EqualValues(t, 2, redelivered[0].DeliveryCount)
	assert.False(t, time.Now().Before(held[0].LockDeadline.Add(-time.Second)), "redelivered before a's lock deadline %v", held[0].LockDeadline)

	require.NoError(t, a.Acknowledge(held[0], AcknowledgeAccept))
	res, err := a.Commit(ctx)
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, held[0].Offset, res[0].Offset)
	assert.Equal(t, wire.ErrInvalidRecordState, wire.CodeOf(res[0].Err), "late ack: %v", res[0].Err)
}

// TestShareConsumerConfig: the settings a share consumer needs are checked
// at construction, and share.acknowledgement.mode parses.
func TestShareConsumerConfig(t *testing.T) {
	_, err := NewShareConsumer(WithBrokers("127.0.0.1:1"))
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "no group.id")
	_, err = NewShareConsumer(WithBrokers("127.0.0.1:1"), WithGroupID("g"), WithShareAcknowledgementMode("sometimes"))
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
	props := map[string]string{"bootstrap.servers": "127.0.0.1:1", "group.id": "g", "share.acknowledgement.mode": "EXPLICIT"}
	cfg, err := configFromProperties(props)
	require.NoError(t, err)
	assert.Equal(t, string(ShareAckExplicit), cfg.ShareAcknowledgementMode)
	assert.Equal(t, string(ShareAckImplicit), defaultConfig().ShareAcknowledgementMode)
	_, err = configFromProperties(map[string]string{"share.acknowledgement.mode": "maybe"})
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))

	c, err := NewShareConsumerFromProperties(props)
	require.NoError(t, err)
	_, err = c.Poll(context.Background(), 1)
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "poll before subscribe")
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.Subscribe()))
	require.NoError(t, c.Close(context.Background()))
	_, err = c.Poll(context.Background(), 1)
	assert.Equal(t, wire.ErrClientClosed, wire.CodeOf(err))
	require.NoError(t, c.Close(context.Background()), "twice")
}

// TestShareAcksBatches: acknowledgements are encoded in ascending batches,
// one per run of consecutive offsets, with one type when the run agrees,
// and gaps as batches of their own.
func TestShareAcksBatches(t *testing.T) {
	a := &shareAcks{offs: map[int64]int8{5: 1, 6: 1, 7: 1, 9: 2, 10: 3, 3: 1}, gaps: [][2]int64{{8, 8}, {0, 2}}}
	got := a.batches()
	want := []wire.ShareAcknowledgementBatch{
		{FirstOffset: 0, LastOffset: 2, AcknowledgeTypes: []int8{0}},
		{FirstOffset: 3, LastOffset: 3, AcknowledgeTypes: []int8{1}},
		{FirstOffset: 5, LastOffset: 7, AcknowledgeTypes: []int8{1}},
		{FirstOffset: 8, LastOffset: 8, AcknowledgeTypes: []int8{0}},
		{FirstOffset: 9, LastOffset: 10, AcknowledgeTypes: []int8{2, 3}},
	}
	assert.Equal(t, want, got)
	res := a.results("t", sharePart{p: 4}, nil)
	offs := make([]int64, len(res))
	for i, r := range res {
		offs[i] = r.Offset
	}
	assert.True(t, sort.SliceIsSorted(offs, func(i, j int) bool { return offs[i] < offs[j] }))
	assert.Len(t, res, 6, "gaps are not reported")
}

// TestShareAcquireGaps: of a share fetch's records, only those in the
// acquired ranges are buffered (with their range's delivery count);
// acquired offsets that hold no record (between batches, control records)
// are acknowledged as GAP, but not offsets past the last whole batch
// received (those may only not have fit: their lock decides).
func TestShareAcquireGaps(t *testing.T) {
	var data []byte
	batch := func(base int64, attrs int16, vals ...string) {
		b := wire.RecordBatch{BaseOffset: base, Attributes: attrs, ProducerID: -1, BaseSequence: -1}
		for _, v := range vals {
			b.Records = append(b.Records, wire.Record{Value: []byte(v)})
		}
		var err error
		data, err = wire.AppendRecordBatch(data, &b, wire.CompressionNone)
		require.NoError(t, err)
	}
	batch(9, 0, "nine")                   // before the acquired range: another member's
	batch(10, 0, "ten")                   // offset 11 is missing (compacted away)
	batch(12, 0, "twelve")                //
	batch(13, wire.AttrControl, "marker") // a control record
	batch(14, 0, "fourteen", "fifteen")
	data = data[:len(data)-5] // the last batch is cut short: 14..16 are unknown

	c := newShareConsumer(&Client{cfg: defaultConfig()})
	sp := sharePart{id: [16]byte{7}, p: 3}
	p := &wire.ShareFetchResponsePartition{PartitionIndex: 3, Records: data,
		AcquiredRecords: []wire.ShareAcquiredRecords{{FirstOffset: 12, LastOffset: 16, DeliveryCount: 3}, {FirstOffset: 10, LastOffset: 11, DeliveryCount: 1}}}
	deadline := time.Now().Add(time.Minute)
	c.acquire(5, sp, p, deadline)

	var got []string
	for _, r := range c.buffered {
		got = append(got, fmt.Sprintf("%d:%s:%d", r.Offset, r.Value, r.DeliveryCount))
		assert.Equal(t, deadline, r.LockDeadline)
		assert.EqualValues(t, 5, r.node)
	}
	assert.Equal(t, []string{"10:ten:1", "12:twelve:3"}, got)
	a := c.pending[5][sp]
	require.NotNil(t, a)
	assert.Empty(t, a.offs)
	assert.ElementsMatch(t, [][2]int64{{11, 11}, {13, 13}}, a.gaps)
}

// describeShareMembers returns the member ids of the fixture's share group,
// asking its coordinator with ShareGroupDescribe.
func describeShareMembers(t *testing.T, ctx context.Context, f *shareFixture) []string {
	t.Helper()
	cl, group := f.admin.cl, f.group
	resp, err := cl.Request(ctx, -1, &wire.FindCoordinatorRequest{Key: group, KeyType: wire.FindCoordinatorKeyTypeGroup})
	require.NoError(t, err)
	co, found := resp.(*wire.FindCoordinatorResponse).Coordinator(group)
	require.True(t, found)
	require.Zero(t, co.ErrorCode)
	resp, err = cl.Request(ctx, co.NodeId, &wire.ShareGroupDescribeRequest{GroupIds: []string{group}})
	require.NoError(t, err)
	groups := resp.(*wire.ShareGroupDescribeResponse).Groups
	require.Len(t, groups, 1)
	require.Zero(t, groups[0].ErrorCode, "describing %s: %v", group, wire.ErrorCode(groups[0].ErrorCode))
	var ids []string
	for _, m := range groups[0].Members {
		ids = append(ids, m.MemberId)
		assert.Equal(t, []string{f.topic}, m.SubscribedTopicNames)
	}
	sort.Strings(ids)
	return ids
}

// TestShareCloseLeavesGroup: a member is in the group (as the coordinator
// describes it) from its first heartbeat, and Close takes it out at once
// (the leaving heartbeat, epoch -1), leaving the others.
func TestShareCloseLeavesGroup(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	a := f.consumer(t)
	b := f.consumer(t)
	waitAssigned(t, a)
	waitAssigned(t, b)
	both := []string{a.MemberID(), b.MemberID()}
	sort.Strings(both)
	assert.Equal(t, both, describeShareMembers(t, ctx, f))
	require.NoError(t, a.Close(ctx))
	assert.Equal(t, []string{b.MemberID()}, describeShareMembers(t, ctx, f))
}

// TestShareGroupIDOfConsumerGroup: a share consumer whose group id is a
// consumer group's cannot join; every Poll returns the coordinator's error
// (GROUP_ID_NOT_FOUND: "not a share group"), instead of waiting for an
// assignment that never comes.
func TestShareGroupIDOfConsumerGroup(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	f.produce(t, ctx, 1)
	cg := newTestConsumer(t, f.brokers, WithGroupID(f.group), WithAutoOffsetReset("earliest"))
	require.NoError(t, cg.Subscribe(ctx, f.topic))
	var n int
	for n == 0 {
		recs, err := cg.Poll(ctx, 10)
		require.NoError(t, err)
		n += len(recs)
	}
	require.NoError(t, cg.Commit(ctx))

	c := f.consumer(t)
	for i := 0; i < 2; i++ {
		_, err := c.Poll(ctx, 10)
		require.Error(t, err, "poll %d", i)
		assert.Equal(t, wire.ErrGroupIDNotFound, wire.CodeOf(err), "poll %d: %v", i, err)
	}
}

// TestSharePollDeadlineKeepsSession: a Poll whose ctx ends while its share
// fetch is at the broker (no records: the long poll runs to the deadline)
// leaves the request in flight instead of abandoning it, since the broker
// applies it (the session moves to its next epoch, acknowledgements it
// carries are taken): the next call takes up its answer and goes on in the
// same share session. (Abandoning it reset the session: a new one, with the
// acknowledgements of the old one reported failed.)
func TestSharePollDeadlineKeepsSession(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit), WithFetchMaxWait(2*time.Second))
	var results []ShareAckResult
	c.SetAcknowledgementCallback(func(r []ShareAckResult) { results = append(results, r...) })
	waitAssigned(t, c)
	f.produce(t, ctx, 1)
	var first []*ShareRecord
	pollUntil(t, ctx, c, func(r []*ShareRecord) { first = append(first, r...) }, func() bool { return len(first) > 0 })
	require.NoError(t, c.Acknowledge(first[0], AcknowledgeAccept))
	_, err := c.Commit(ctx)
	require.NoError(t, err)
	require.Len(t, results, 1)
	assert.NoError(t, results[0].Err)
	resets := func() int {
		c.opMu.Lock()
		defer c.opMu.Unlock()
		require.Len(t, c.sessions, 1)
		for _, s := range c.sessions {
			require.Positive(t, s.epoch)
			return s.resets
		}
		return -1
	}
	before := resets()

	for i := 0; i < 3; i++ {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		recs, err := c.Poll(short, 10) // nothing to fetch: runs to the deadline
		cancel()
		require.NoError(t, err)
		require.Empty(t, recs)
	}
	_, err = c.Commit(ctx) // nothing to send: takes up a round in flight
	require.NoError(t, err)
	assert.Equal(t, before, resets(), "the share session was never abandoned")

	f.produce(t, ctx, 1) // v1
	var later []*ShareRecord
	pollUntil(t, ctx, c, func(r []*ShareRecord) { later = append(later, r...) }, func() bool { return len(later) > 0 })
	assert.Equal(t, "v1", string(later[0].Value), "v0 was accepted: never delivered again")
	assert.Len(t, results, 1, "no acknowledgement failed: %v", results)
}

// TestShareAcknowledgeOffset: acknowledging by coordinates (the C ABI's
// form) finds the delivered record, and follows Acknowledge's rules: a
// record acknowledged twice or never delivered is INVALID_ARGUMENT.
func TestShareAcknowledgeOffset(t *testing.T) {
	ctx := testCtx(t, 60*time.Second)
	f := newShareFixture(t, ctx)
	c := f.consumer(t, WithShareAcknowledgementMode(ShareAckExplicit))
	waitAssigned(t, c)
	f.produce(t, ctx, 2)
	var recs []*ShareRecord
	pollUntil(t, ctx, c, func(r []*ShareRecord) { recs = append(recs, r...) }, func() bool { return len(recs) > 0 })
	r := recs[0]
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.AcknowledgeOffset(r.Topic, r.Partition, r.Offset+1000, AcknowledgeAccept)))
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.AcknowledgeOffset(r.Topic+"x", r.Partition, r.Offset, AcknowledgeAccept)))
	for _, r := range recs {
		require.NoError(t, c.AcknowledgeOffset(r.Topic, r.Partition, r.Offset, AcknowledgeRelease))
	}
	assert.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(c.AcknowledgeOffset(r.Topic, r.Partition, r.Offset, AcknowledgeAccept)), "twice")
	res, err := c.Commit(ctx)
	require.NoError(t, err)
	require.Len(t, res, len(recs))
	for _, x := range res {
		assert.NoError(t, x.Err)
		assert.Equal(t, AcknowledgeRelease, x.Type)
	}
}
