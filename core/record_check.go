package core

import (
	"fmt"
	"time"

	"github.com/gofka/gofka/wire"
)

// TimestampNow is the record timestamp (in ms) that means "stamp the
// record when it is produced" in the C ABI and Python (-1).
const TimestampNow = -1

// recordTimestamp turns a record timestamp in ms since the epoch, as the
// C ABI and Python pass it (Record.TimestampMs), into a Record.Timestamp:
// TimestampNow (-1) gives the zero time (stamped at produce), 0 and above
// that instant, and anything below -1 is INVALID_ARGUMENT (Kafka has no
// meaning for it, and Python refuses negative timestamps too). The one
// rule for every language binding.
func recordTimestamp(ms int64) (time.Time, error) {
	switch {
	case ms == TimestampNow:
		return time.Time{}, nil
	case ms < 0:
		return time.Time{}, &wire.Error{Code: wire.ErrInvalidArgument,
			Detail: fmt.Sprintf("timestamp_ms must be -1 (now) or a number of ms since the epoch >= 0, got %d", ms)}
	}
	return time.UnixMilli(ms), nil
}

// resolveTimestamp applies r.TimestampMs (when TimestampMsSet) to
// r.Timestamp; the produce calls run it before buffering r. Idempotent:
// it clears TimestampMsSet once applied.
func (r *Record) resolveTimestamp() error {
	if !r.TimestampMsSet {
		return nil
	}
	ts, err := recordTimestamp(r.TimestampMs)
	if err != nil {
		return err
	}
	r.Timestamp, r.TimestampMsSet = ts, false
	return nil
}
