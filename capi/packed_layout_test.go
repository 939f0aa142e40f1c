package main

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/internal/packed"
	"github.com/gofka/gofka/wire"
)

// fields reads every field of layout l at b[at:] by the table's offsets
// and types, so that the tests below check capi's writers against the
// table that gofka.h and the Python package are generated from.
func fields(t *testing.T, l *packed.Layout, b []byte, at int) map[string]int64 {
	t.Helper()
	require.GreaterOrEqual(t, len(b)-at, l.Size, "%s does not fit", l.Name)
	le := binary.LittleEndian
	out := map[string]int64{}
	for _, f := range l.Fields {
		p := b[at+f.Offset:]
		switch f.Type {
		case packed.Int32:
			out[f.Name] = int64(int32(le.Uint32(p)))
		case packed.Uint32:
			out[f.Name] = int64(le.Uint32(p))
		case packed.Int64:
			out[f.Name] = int64(le.Uint64(p))
		case packed.Uint64:
			out[f.Name] = int64(le.Uint64(p)) // the samples stay below 2^63
		}
	}
	return out
}

func TestPackEventsMatchesLayout(t *testing.T) {
	evs := []core.Completion{
		{Token: 1<<40 + 7, Err: &wire.Error{Code: wire.ErrTimedOut}, Partition: 3, Offset: 1<<33 + 5, Payload: []byte("ignored")},
		{Token: 9, Partition: -1, Offset: -1},
	}
	b := make([]byte, 2*packed.Event.Size+4)
	packEvents(b, evs, [][]byte{[]byte("boom"), nil}) // a failed event carries its error payload
	require.Equal(t, map[string]int64{"token": 1<<40 + 7, "code": -104, "partition": 3, "offset": 1<<33 + 5, "payload_len": 4},
		fields(t, packed.Event, b, 0))
	require.Equal(t, "boom", string(b[packed.Event.Size:packed.Event.Size+4]))
	require.Equal(t, map[string]int64{"token": 9, "code": 0, "partition": -1, "offset": -1, "payload_len": 0},
		fields(t, packed.Event, b, packed.Event.Size+4))
}

func TestPackBatchResultMatchesLayout(t *testing.T) {
	b := make([]byte, packed.BatchResult.Size)
	packBatchResult(b, int32(wire.ErrQueueFull), 2, 1<<35+1)
	require.Equal(t, map[string]int64{"code": -109, "partition": 2, "offset": 1<<35 + 1}, fields(t, packed.BatchResult, b, 0))
}

func TestPackPollMatchesLayout(t *testing.T) {
	ts := time.UnixMilli(1_700_000_000_123)
	recs := []*core.Record{
		{Topic: "a", Partition: 4, Offset: 1<<34 + 2, Timestamp: ts, Key: []byte("k"), Value: []byte("value"),
			Headers: []wire.Header{{Key: "h", Value: []byte("v")}}},
		{Topic: "bb", Partition: 0, Offset: 8, Timestamp: ts, Value: nil},
	}
	evs := []core.RebalanceEvent{{Kind: core.PartitionsAssigned, Partitions: []core.TopicPartition{{Topic: "bb", Partition: 1}}}}
	size, heads, names, index := pollLayout(recs, evs)
	b := make([]byte, size)
	packPoll(b, heads, recs, evs, names, index)

	require.Equal(t, map[string]int64{"message_count": 2, "event_count": 1, "topic_count": 2}, fields(t, packed.PollHeader, b, 0))
	m := fields(t, packed.MessageHead, b, heads)
	require.Equal(t, int64(index["a"]), m["topic_index"])
	require.Equal(t, int64(4), m["partition"])
	require.Equal(t, int64(1<<34+2), m["offset"])
	require.Equal(t, int64(1_700_000_000_123), m["timestamp_ms"])
	require.Equal(t, "k", string(b[m["key_start"]:m["key_end"]]))
	require.Equal(t, "value", string(b[m["value_start"]:m["value_end"]]))
	// headers: int32 count, then per header int32 key_len, key, int32 value_len, value
	hb := b[m["headers_start"]:m["headers_end"]]
	require.Equal(t, []byte{1, 0, 0, 0, 1, 0, 0, 0, 'h', 1, 0, 0, 0, 'v'}, hb)

	m = fields(t, packed.MessageHead, b, heads+packed.MessageHead.Size)
	require.Equal(t, int64(index["bb"]), m["topic_index"])
	require.Equal(t, int64(8), m["offset"])
	for _, k := range []string{"key_start", "key_end", "value_start", "value_end", "headers_start", "headers_end"} {
		require.Equal(t, int64(-1), m[k], k)
	}
}

func TestPackLogLinesMatchesLayout(t *testing.T) {
	b := packLogLines([]logLine{{level: 30, unixNanos: 1_700_000_000_000_000_001, subsystem: "conn", msg: "hi"}})
	require.Equal(t, map[string]int64{"level": 30, "time_ns": 1_700_000_000_000_000_001, "subsystem_len": 4}, fields(t, packed.LogHead, b, 0))
	rest := b[packed.LogHead.Size:]
	require.Equal(t, []byte{'c', 'o', 'n', 'n', 2, 0, 0, 0, 'h', 'i'}, rest)
}
