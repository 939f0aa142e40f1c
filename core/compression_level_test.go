package core

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/gofka/gofka/wire"
)

// compression.level reaches the codec, on both paths a batch takes (the
// compression workers and the sender): a higher level sends fewer bytes
// of the same compressible records, and what was sent reads back.
func TestCompressionLevelReachesTheWire(t *testing.T) {
	for _, tc := range []struct {
		codec     wire.Compression
		low, high int
	}{
		{wire.CompressionGzip, 1, 9},
		{wire.CompressionLZ4, 0, 9},
		{wire.CompressionZstd, 1, 12},
	} {
		t.Run(tc.codec.String(), func(t *testing.T) {
			sizes := map[int]int{}
			for _, level := range []int{tc.low, tc.high} {
				c := fakeCluster(t, 1, kfake.SeedTopics(1, "level"))
				sent := recordProduced(t, c)
				ctx := testCtx(t, 60*time.Second)
				p := newTestProducer(t, c.ListenAddrs(), WithCompression(tc.codec), WithCompressionLevel(level), WithBatchSize(64<<10))
				const n = 20000
				produceNumbered(t, ctx, p, "level", []int32{0}, n, "kafka record with a compressible value, number ")
				for _, b := range sent() {
					sizes[level] += len(b.raw)
				}
				checkSequence(t, fetchAll(t, ctx, p.Client(), "level", 0, n), n, "kafka record with a compressible value, number ")
			}
			t.Logf("%s: level %d sent %d bytes, level %d sent %d", tc.codec, tc.low, sizes[tc.low], tc.high, sizes[tc.high])
			require.Less(t, sizes[tc.high], sizes[tc.low])
		})
	}
}

// A level the codec does not take fails the constructor with
// INVALID_ARGUMENT naming the setting, through the option and the
// property alike.
func TestCompressionLevelOutsideCodecRange(t *testing.T) {
	for _, tc := range []struct {
		codec string
		level int
	}{{"gzip", 10}, {"snappy", 1}, {"lz4", 13}, {"zstd", -2}} {
		codec, err := wire.ParseCompression(tc.codec)
		require.NoError(t, err)
		_, err = NewProducer(WithBrokers("127.0.0.1:1"), WithCompression(codec), WithCompressionLevel(tc.level))
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s %d: %v", tc.codec, tc.level, err)
		require.ErrorContains(t, err, "compression.level")
		_, err = NewProducerFromProperties(map[string]string{"bootstrap.servers": "127.0.0.1:1",
			"compression.type": tc.codec, "compression.level": fmt.Sprint(tc.level)})
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s %d: %v", tc.codec, tc.level, err)
		require.ErrorContains(t, err, "compression.level")
	}
	p, err := NewProducerFromProperties(map[string]string{"bootstrap.servers": "127.0.0.1:1",
		"compression.type": "gzip", "compression.level": "9"})
	require.NoError(t, err)
	p.Close(testCtx(t, 10*time.Second))
}
