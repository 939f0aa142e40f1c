package core

import (
	"errors"
	"testing"

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

func TestRecordTimestamp(t *testing.T) {
	if ts, err := RecordTimestamp(TimestampNow); err != nil || !ts.IsZero() {
		t.Errorf("-1: got %v, %v; want the zero time (stamped at produce)", ts, err)
	}
	if ts, err := RecordTimestamp(0); err != nil || ts.UnixMilli() != 0 {
		t.Errorf("0: got %v, %v", ts, err)
	}
	if ts, err := RecordTimestamp(1700000000123); err != nil || ts.UnixMilli() != 1700000000123 {
		t.Errorf("1700000000123: got %v, %v", ts, err)
	}
	for _, ms := range []int64{-2, -5, -1 << 63} {
		if _, err := RecordTimestamp(ms); !isInvalidArgument(err) {
			t.Errorf("%d: got %v, want INVALID_ARGUMENT", ms, err)
		}
	}
}
