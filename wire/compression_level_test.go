package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// levelData is compressible text with some entropy (hex digits of a
// PRNG among repeated words), like the records of the benchmarks: levels
// give different sizes on it.
func levelData(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"kafka ", "record ", "partition ", "offset ", "gofka ", "batch "}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		fmt.Fprintf(&b, "%x ", r.Uint32()&0xfff)
	}
	return b.Bytes()[:n]
}

func TestCheckCompressionLevel(t *testing.T) {
	cases := []struct {
		c      Compression
		lo, hi int
	}{
		{CompressionNone, -1, 12}, {CompressionGzip, -1, 9}, {CompressionSnappy, -1, 0},
		{CompressionLZ4, -1, 12}, {CompressionZstd, -1, 12},
	}
	for _, tc := range cases {
		for l := tc.lo; l <= tc.hi; l++ {
			assert.NoError(t, CheckCompressionLevel(tc.c, l), "%s level %d", tc.c, l)
		}
		for _, l := range []int{tc.lo - 1, tc.hi + 1, -100, 22} {
			err := CheckCompressionLevel(tc.c, l)
			require.Error(t, err, "%s level %d", tc.c, l)
			assert.Contains(t, err.Error(), fmt.Sprintf("compression level %d", l))
		}
	}
	_, err := CompressLevel(CompressionGzip, 10, nil, []byte("x"))
	assert.ErrorContains(t, err, "outside gzip's range -1..9")
	_, err = PrepareRecordsLevel(nil, []Record{{Value: []byte("x")}}, CompressionSnappy, 1)
	assert.ErrorContains(t, err, "snappy has no levels")
}

// Every level of every codec round-trips, and the levels that map to
// different library levels give different sizes (higher: smaller).
func TestCompressLevels(t *testing.T) {
	src := levelData(256 << 10)
	size := func(c Compression, level int) int {
		t.Helper()
		out, err := CompressLevel(c, level, nil, src)
		require.NoError(t, err, "%s level %d", c, level)
		back, err := Decompress(c, nil, out)
		require.NoError(t, err, "%s level %d", c, level)
		require.True(t, bytes.Equal(src, back), "%s level %d: round trip", c, level)
		return len(out)
	}
	for _, c := range []Compression{CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd} {
		for l := MinCompressionLevel; l <= compressionLevelMax[c]; l++ {
			size(c, l)
		}
	}
	// The default is what Compress writes.
	for _, c := range []Compression{CompressionGzip, CompressionLZ4, CompressionZstd} {
		def, err := Compress(c, nil, src)
		require.NoError(t, err)
		assert.Equal(t, len(def), size(c, -1), "%s: -1 is the default", c)
	}
	assert.Greater(t, size(CompressionGzip, 0), len(src), "gzip 0 stores")
	assert.Greater(t, size(CompressionGzip, 1), size(CompressionGzip, 9))
	assert.Greater(t, size(CompressionLZ4, 0), size(CompressionLZ4, 9))
	assert.Equal(t, size(CompressionLZ4, 9), size(CompressionLZ4, 12), "lz4 10..12 are pierrec's Level9")
	assert.Equal(t, size(CompressionZstd, 0), size(CompressionZstd, 3), "zstd 0 is level 3")
	assert.Greater(t, size(CompressionZstd, 1), size(CompressionZstd, 3))
	assert.Greater(t, size(CompressionZstd, 3), size(CompressionZstd, 12))
}

// zstd frames of batches larger than the encoder window declare
// zstdWindow: 1 MiB for the pure-Go encoder (not klauspost's default
// 8 MiB: the encoder never keeps more history than that, and decoders need
// no more), libzstd's 2 MiB at level 3 with -tags gofka_czstd.
func TestCompressZstdWindowBounded(t *testing.T) {
	src := levelData(3 << 20)
	got, err := Compress(CompressionZstd, nil, src)
	require.NoError(t, err)
	fhd := got[4]
	require.Zero(t, fhd&0x20, "a 3 MiB frame is not single segment")
	wd := got[5] // window descriptor (RFC 8878 3.1.1.1.2)
	base := uint64(1) << (10 + wd>>3)
	window := base + base/8*uint64(wd&7)
	assert.Equal(t, uint64(zstdWindow), window)
	back, err := Decompress(CompressionZstd, nil, got)
	require.NoError(t, err)
	require.True(t, bytes.Equal(src, back))
}

// CompressBound holds for data that does not compress and data that
// does, so a buffer grown to it once is not regrown by the codec.
func TestCompressBound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 100, 64 << 10, 64<<10 + 1, 1 << 20, 3<<20 + 7} {
		random := make([]byte, n)
		for i := range random {
			random[i] = byte(r.Uint32())
		}
		for _, src := range [][]byte{random, levelData(n)} {
			for _, c := range []Compression{CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd} {
				for _, l := range []int{-1, 0, compressionLevelMax[c]} {
					out, err := CompressLevel(c, l, nil, src)
					require.NoError(t, err)
					assert.LessOrEqual(t, len(out), CompressBound(c, n), "%s level %d, %d bytes", c, l, n)
				}
			}
		}
	}
}

// Preparing a batch into an empty buffer allocates its output once, at
// CompressBound, rather than growing it block by block (each growth left
// the smaller array behind: 20 MB of garbage for 100 MB of lz4 records).
func TestPrepareRecordsAllocatesOutputOnce(t *testing.T) {
	value := levelData(1 << 10)
	recs := make([]Record, 1000) // ~1 MiB
	for i := range recs {
		recs[i].Value = value
	}
	for _, c := range []Compression{CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd} {
		_, err := PrepareRecords(nil, recs, c) // warm the pools
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := PrepareRecords(nil, recs, c); err != nil {
				panic(err)
			}
		})
		// The output, and small boxed values inside the codecs (lz4 puts its
		// block buffer back into a sync.Pool), not the growth of the output.
		assert.LessOrEqual(t, allocs, 3.0, "%s", c)
	}
}
