package core

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

func isInvalidArgument(err error) bool {
	var we *wire.Error
	return errors.As(err, &we) && we.Code == wire.ErrInvalidArgument
}

// One validator per setting: the property table (the C ABI's path) and the
// Go options agree, and both follow Kafka.
func TestSettingValidatorsAgree(t *testing.T) {
	for _, v := range []string{"GZIP", "Lz4", "brotli"} {
		if _, err := parseConfig("compression.type=" + v); !isInvalidArgument(err) {
			t.Errorf("compression.type=%s: got %v, want INVALID_ARGUMENT (Kafka's names are lower case)", v, err)
		}
	}
	for _, v := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		if _, err := parseConfig("compression.type=" + v); err != nil {
			t.Errorf("compression.type=%s: %v", v, err)
		}
	}
	for _, v := range []string{"ALL", "All", "2"} {
		if _, err := parseConfig("acks=" + v); !isInvalidArgument(err) {
			t.Errorf("acks=%s: got %v, want INVALID_ARGUMENT", v, err)
		}
	}
	for _, n := range []int{0, MaxInFlightLimit + 1, 5000} {
		c := newConfig(WithMaxInFlight(n), WithIdempotence(false))
		if err := c.validateProducer(); !isInvalidArgument(err) {
			t.Errorf("WithMaxInFlight(%d): got %v, want INVALID_ARGUMENT (the property allows 1..%d)", n, err, MaxInFlightLimit)
		}
	}
	c := newConfig(WithMaxInFlight(MaxInFlightLimit), WithIdempotence(false))
	if err := c.validateProducer(); err != nil {
		t.Errorf("WithMaxInFlight(%d): %v", MaxInFlightLimit, err)
	}
}

// The bindings' timestamp rule (Record.TimestampMs: -1 = now, >= 0 an
// instant, below -1 INVALID_ARGUMENT) is applied by every produce call,
// before anything is buffered: ProduceTo (one record), ProduceBatchNow
// (all or nothing) and ProduceSync (also when it produces one by one).
func TestRecordTimestamp(t *testing.T) {
	brokers := testBrokers(t)
	topic := consumerTestTopic(t, brokers, 1)
	p := newTestProducer(t, brokers)
	q, err := NewCompletionQueue()
	require.NoError(t, err)
	defer q.Close()
	rec := func(ms int64) *Record {
		return &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("v"), TimestampMs: ms, TimestampMsSet: true}
	}

	before := time.Now()
	for _, c := range []struct {
		ms   int64
		want func(ts time.Time) bool
	}{
		{TimestampNow, func(ts time.Time) bool { return !ts.Before(before.Truncate(time.Millisecond)) }},
		{0, func(ts time.Time) bool { return ts.UnixMilli() == 0 }},
		{1700000000123, func(ts time.Time) bool { return ts.UnixMilli() == 1700000000123 }},
	} {
		r := rec(c.ms)
		require.NoError(t, p.ProduceTo(q, uint64(c.ms+10), r), "ms %d", c.ms)
		require.NoError(t, p.Flush(testCtx(t, 30*time.Second)))
		require.True(t, c.want(r.Timestamp), "ms %d gave timestamp %v", c.ms, r.Timestamp)
		require.False(t, r.TimestampMsSet, "applied once")
		rs := []*Record{rec(c.ms), rec(c.ms)}
		require.NoError(t, p.ProduceSync(testCtx(t, 30*time.Second), rs...), "ms %d", c.ms)
		for _, r := range rs {
			require.True(t, c.want(r.Timestamp), "batch: ms %d gave timestamp %v", c.ms, r.Timestamp)
		}
	}

	for _, ms := range []int64{-2, -5, -1 << 63} {
		if err := p.ProduceTo(q, 1, rec(ms)); !isInvalidArgument(err) {
			t.Errorf("ProduceTo, %d: got %v, want INVALID_ARGUMENT", ms, err)
		}
		if err := p.ProduceBatchNow([]*Record{rec(1), rec(ms)}, nil); !isInvalidArgument(err) {
			t.Errorf("ProduceBatchNow, %d: got %v, want INVALID_ARGUMENT", ms, err)
		}
		if err := p.ProduceSync(testCtx(t, 30*time.Second), rec(1), rec(ms)); !isInvalidArgument(err) {
			t.Errorf("ProduceSync, %d: got %v, want INVALID_ARGUMENT", ms, err)
		}
	}
	// Refused records were not buffered: the queue holds only the three
	// completions of the valid ProduceTo calls.
	require.NoError(t, p.Flush(testCtx(t, 30*time.Second)))
	cs, err := q.Poll(100)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	for _, c := range cs {
		require.NoError(t, c.Err)
	}
}
