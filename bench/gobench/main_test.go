package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The golden values are what bench/clients/common.py computes
// (make_pool / expected_checksum): the Go and Python workers must build the
// same payloads, or the runner's verification would reject every run.
func TestPoolMatchesPythonWorkers(t *testing.T) {
	for _, tc := range []struct {
		count, size, n int
		checksum       uint64
		prefix         string
	}{
		{1000, 100, 1000, 2111783969078, "\x00\x00\x00\x00\x00\x00\x00\x05gkoebnngbameocnj"},
		{3000, 1024, 3000, 6476450572398, "\x00\x00\x00\x00\x00\x00\x00\x05gbbbkfcpkfajifcb"},
		{300000, 100, 131072, 644902600464926, "\x00\x00\x00\x00\x00\x00\x00\x05gkoebnngbameocnj"},
	} {
		pool := makePool(tc.count, tc.size)
		require.Len(t, pool, tc.n)
		for _, v := range pool {
			require.Len(t, v, tc.size)
		}
		require.Equal(t, tc.prefix, string(pool[5][:24]))
		require.Equal(t, tc.checksum, expectedChecksum(pool, tc.count))
	}
}

func TestPercentilesNearestRank(t *testing.T) {
	var s []float64
	for i := 1000; i >= 1; i-- {
		s = append(s, float64(i))
	}
	p := percentiles(s)
	require.Equal(t, 500.0, p["p50"])
	require.Equal(t, 990.0, p["p99"])
	require.Equal(t, 999.0, p["p99.9"])
	require.Equal(t, 1000.0, p["max"])
	require.Nil(t, percentiles(nil))
}

func TestLatencyConsumerCountsEachSequenceOnce(t *testing.T) {
	pool := makePool(4, 32)
	now := time.Now()
	lc := newLatencyConsumer(2)
	require.False(t, lc.add(latencyValue(pool, 0, now), now)) // priming record
	v1 := latencyValue(pool, 1, now)
	require.False(t, lc.add(v1, now.Add(time.Millisecond)))
	require.False(t, lc.add(v1, now.Add(time.Millisecond))) // a duplicate is not a sample
	require.True(t, lc.add(latencyValue(pool, 2, now), now.Add(2*time.Millisecond)))
	res := lc.result()
	require.EqualValues(t, 3, res.Count)
	require.InDelta(t, 1.0, res.Latency["p50"], 0.001)
}

func TestSplitNonEmpty(t *testing.T) {
	require.Equal(t, []string{"a", "b"}, splitNonEmpty(",a,,b,"))
	require.Nil(t, splitNonEmpty(""))
}
