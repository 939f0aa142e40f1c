package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/golang/snappy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

var allCodecs = []Compression{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd}

func TestCompressionString(t *testing.T) {
	for c, name := range map[Compression]string{
		CompressionNone: "none", CompressionGzip: "gzip", CompressionSnappy: "snappy",
		CompressionLZ4: "lz4", CompressionZstd: "zstd", 7: "compression(7)", -1: "compression(-1)",
	} {
		assert.Equal(t, name, c.String())
	}
}

func TestParseCompression(t *testing.T) {
	for in, want := range map[string]Compression{
		"": CompressionNone, "none": CompressionNone, "NONE": CompressionNone,
		"gzip": CompressionGzip, "GZip": CompressionGzip, "snappy": CompressionSnappy,
		"lz4": CompressionLZ4, "LZ4": CompressionLZ4, "zstd": CompressionZstd, "Zstd": CompressionZstd,
	} {
		got, err := ParseCompression(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"brotli", "zstd ", "producer"} {
		_, err := ParseCompression(bad)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "none, gzip, snappy, lz4, zstd")
	}
	for _, c := range allCodecs {
		got, err := ParseCompression(c.String())
		require.NoError(t, err)
		assert.Equal(t, c, got)
	}
}

// testPayloads returns inputs of various sizes and compressibility.
func testPayloads() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog 0123456789\n", 20000)) // ~1.1 MB
	return map[string][]byte{
		"empty":      {},
		"one":        {'x'},
		"small":      []byte("hello, kafka"),
		"random":     random,
		"text":       text,
		"zeros64k":   make([]byte, 64<<10), // exactly one lz4 block
		"zeros64k+1": make([]byte, 64<<10+1),
	}
}

func TestCompressRoundTrip(t *testing.T) {
	for _, c := range allCodecs {
		for name, src := range testPayloads() {
			t.Run(c.String()+"/"+name, func(t *testing.T) {
				prefix := []byte("prefix")
				comp, err := Compress(c, bytes.Clone(prefix), src)
				require.NoError(t, err)
				require.Equal(t, prefix, comp[:len(prefix)], "Compress must append")
				comp = comp[len(prefix):]

				out, err := Decompress(c, bytes.Clone(prefix), comp)
				require.NoError(t, err)
				require.Equal(t, prefix, out[:len(prefix)], "Decompress must append")
				require.True(t, bytes.Equal(src, out[len(prefix):]), "round trip mismatch")

				out, err = Decompress(c, nil, comp)
				require.NoError(t, err)
				require.True(t, bytes.Equal(src, out))
			})
		}
	}
}

// TestCompressIntoSpareCapacity compresses into a dst with room to spare
// (the sink's pooled request buffers): the prefix stays and the frame
// decodes; with zstd it covers libzstd's in-place write (-tags
// gofka_czstd) as TestCompressRoundTrip covers its growing of dst.
func TestCompressIntoSpareCapacity(t *testing.T) {
	src := bytes.Repeat([]byte("spare capacity "), 5000)
	for _, c := range []Compression{CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd} {
		dst := append(make([]byte, 0, 1<<20), "head"...)
		comp, err := Compress(c, dst, src)
		require.NoError(t, err, c)
		require.Equal(t, []byte("head"), comp[:4], c)
		out, err := Decompress(c, nil, comp[4:])
		require.NoError(t, err, c)
		require.True(t, bytes.Equal(src, out), c)
	}
}

func TestCompressUnknownCodec(t *testing.T) {
	_, err := Compress(5, nil, []byte("x"))
	require.Error(t, err)
	_, err = Decompress(-1, nil, []byte("x"))
	require.Error(t, err)
}

// The xerial framing: "\x82SNAPPY\x00", version 1 and minimum compatible
// version 1 as big-endian int32s, then per block a big-endian int32 length
// and a raw snappy block. A 7-byte input is one block: its raw snappy form
// is the uvarint length (0x07) and one literal of 7 bytes, tag (7-1)<<2 =
// 0x18, then the bytes.
var xerialFoobar = []byte("\x82SNAPPY\x00" + "\x00\x00\x00\x01" + "\x00\x00\x00\x01" +
	"\x00\x00\x00\x09" + "\x07\x18foobar\n")

func TestCompressXerialGolden(t *testing.T) {
	got, err := Compress(CompressionSnappy, nil, []byte("foobar\n"))
	require.NoError(t, err)
	assert.Equal(t, xerialFoobar, got)

	out, err := Decompress(CompressionSnappy, nil, xerialFoobar)
	require.NoError(t, err)
	assert.Equal(t, "foobar\n", string(out))
}

func TestCompressXerialBlocks(t *testing.T) {
	src := testPayloads()["text"]
	framed, err := Compress(CompressionSnappy, nil, src)
	require.NoError(t, err)

	// Walk the framing by hand: every block is at most 32 KiB decoded.
	require.Equal(t, xerialMagic, string(framed[:8]))
	assert.Equal(t, uint32(1), binary.BigEndian.Uint32(framed[8:]))
	assert.Equal(t, uint32(1), binary.BigEndian.Uint32(framed[12:]))
	var manual []byte
	blocks := 0
	for p := framed[16:]; len(p) > 0; blocks++ {
		n := binary.BigEndian.Uint32(p)
		dec, err := snappy.Decode(nil, p[4:4+n])
		require.NoError(t, err)
		require.LessOrEqual(t, len(dec), 32<<10)
		manual = append(manual, dec...)
		p = p[4+n:]
	}
	assert.Equal(t, (len(src)+32<<10-1)/(32<<10), blocks)
	assert.True(t, bytes.Equal(src, manual))

	// A framed stream built block by block with a different block size.
	built := []byte(xerialMagic + "\x00\x00\x00\x01\x00\x00\x00\x01")
	for rest := src; len(rest) > 0; {
		chunk := rest[:min(len(rest), 1000)]
		rest = rest[len(chunk):]
		blk := snappy.Encode(nil, chunk)
		built = binary.BigEndian.AppendUint32(built, uint32(len(blk)))
		built = append(built, blk...)
	}
	out, err := Decompress(CompressionSnappy, nil, built)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(src, out))

	// Concatenated framed streams (the header reappears mid-stream).
	a, _ := Compress(CompressionSnappy, nil, []byte("hello "))
	b, _ := Compress(CompressionSnappy, nil, []byte("world"))
	out, err = Decompress(CompressionSnappy, nil, append(a, b...))
	require.NoError(t, err)
	assert.Equal(t, "hello world", string(out))

	// Header only: empty.
	out, err = Decompress(CompressionSnappy, nil, framed[:16])
	require.NoError(t, err)
	assert.Empty(t, out)
}

func TestCompressRawSnappyDecodes(t *testing.T) {
	for name, src := range testPayloads() {
		raw := snappy.Encode(nil, src)
		out, err := Decompress(CompressionSnappy, nil, raw)
		require.NoError(t, err, name)
		assert.True(t, bytes.Equal(src, out), name)
	}
}

func TestCompressSnappyCorrupt(t *testing.T) {
	framed, err := Compress(CompressionSnappy, nil, testPayloads()["text"])
	require.NoError(t, err)
	for _, bad := range [][]byte{
		nil,
		framed[:10], // truncated header
		framed[:18], // truncated block length
		framed[:40], // truncated block
		append(bytes.Clone(framed[:16]), 0xff, 0xff, 0xff, 0xff), // negative/huge block length
		append(bytes.Clone(framed[:16]), 0, 0, 0, 2, 0xff, 0xff), // garbage block
		{0xff, 0xff, 0xff, 0xff, 0x0f},                           // raw block claiming 4 GiB
	} {
		_, err := Decompress(CompressionSnappy, nil, bad)
		assert.Error(t, err, "%x", bad)
	}
}

func TestCompressDecompressGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range allCodecs[1:] {
		valid, err := Compress(c, nil, testPayloads()["text"])
		require.NoError(t, err)
		inputs := [][]byte{nil, {}, {0xff}, valid[:len(valid)/2], valid[:len(valid)-1]}
		for range 50 {
			g := make([]byte, rng.IntN(200))
			for i := range g {
				g[i] = byte(rng.Uint32())
			}
			inputs = append(inputs, g)
			// Flip bytes of a valid stream.
			f := bytes.Clone(valid)
			for range 1 + rng.IntN(4) {
				f[rng.IntN(len(f))] ^= byte(1 + rng.IntN(255))
			}
			inputs = append(inputs, f)
		}
		for i, in := range inputs {
			require.NotPanics(t, func() { _, _ = Decompress(c, nil, in) }, "%s input %d", c, i)
		}
		for _, in := range inputs[:5] {
			_, err := Decompress(c, nil, in)
			assert.Error(t, err, "%s: %d bytes of a truncated stream", c, len(in))
		}
	}
}

func TestCompressDecompressionBomb(t *testing.T) {
	bomb := make([]byte, 4<<20) // 4 MiB of zeros compresses to a few KiB
	for _, c := range allCodecs {
		comp, err := Compress(c, nil, bomb)
		require.NoError(t, err)
		t.Run(c.String(), func(t *testing.T) {
			prev := SetMaxDecompressedSize(1 << 20)
			defer SetMaxDecompressedSize(prev)
			assert.Equal(t, 1<<20, MaxDecompressedSize())
			_, err := Decompress(c, nil, comp)
			require.ErrorIs(t, err, ErrDecompressedTooLarge)

			// Exactly at the limit is fine.
			SetMaxDecompressedSize(len(bomb))
			out, err := Decompress(c, nil, comp)
			require.NoError(t, err)
			assert.Len(t, out, len(bomb))
		})
	}
	assert.Equal(t, DefaultMaxDecompressedSize, MaxDecompressedSize())
	assert.Equal(t, DefaultMaxDecompressedSize, SetMaxDecompressedSize(0))
	assert.Equal(t, DefaultMaxDecompressedSize, MaxDecompressedSize())

	// A zstd frame whose header declares 1 TiB is refused at the default
	// limit without allocating it: frame magic, descriptor 0xe0 (8-byte
	// content size, single segment), content size, then a last raw block
	// of 1 byte.
	zframe := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0}
	zframe = binary.LittleEndian.AppendUint64(zframe, 1<<40)
	zframe = append(zframe, 0x09, 0x00, 0x00, 'x')
	_, err := Decompress(CompressionZstd, nil, zframe)
	require.ErrorIs(t, err, ErrDecompressedTooLarge)

	// A raw snappy block claiming 4 GiB - 1.
	_, err = Decompress(CompressionSnappy, nil, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00})
	require.ErrorIs(t, err, ErrDecompressedTooLarge)
}

func TestCompressConcurrent(t *testing.T) {
	payloads := testPayloads()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				c := allCodecs[(g+i)%len(allCodecs)]
				src := payloads["text"][g*100 : g*100+1000*(i+1)]
				comp, err := Compress(c, nil, src)
				if !assert.NoError(t, err) {
					return
				}
				out, err := Decompress(c, nil, comp)
				if !assert.NoError(t, err) || !assert.True(t, bytes.Equal(src, out)) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestCompressionInteropFranzGo checks both directions against franz-go's
// codecs, an independent implementation of the same Kafka conventions.
func TestCompressionInteropFranzGo(t *testing.T) {
	kcodecs := map[Compression]kgo.CompressionCodec{
		CompressionGzip: kgo.GzipCompression(), CompressionSnappy: kgo.SnappyCompression(),
		CompressionLZ4: kgo.Lz4Compression(), CompressionZstd: kgo.ZstdCompression(),
	}
	dec := kgo.DefaultDecompressor()
	for _, c := range allCodecs[1:] {
		for name, src := range testPayloads() {
			if len(src) == 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", c, name), func(t *testing.T) {
				ours, err := Compress(c, nil, src)
				require.NoError(t, err)
				out, err := dec.Decompress(ours, kgo.CompressionCodecType(c))
				require.NoError(t, err)
				require.True(t, bytes.Equal(src, out), "franz-go decoding ours")

				comp, err := kgo.DefaultCompressor(kcodecs[c])
				require.NoError(t, err)
				var buf bytes.Buffer
				theirs, used := comp.Compress(&buf, src)
				require.Equal(t, kgo.CompressionCodecType(c), used)
				out, err = Decompress(c, nil, theirs)
				require.NoError(t, err)
				require.True(t, bytes.Equal(src, out), "decoding franz-go's")
			})
		}
	}
}

func TestCompressDecompressErrors(t *testing.T) {
	_, err := Decompress(CompressionGzip, nil, []byte("not gzip"))
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrDecompressedTooLarge))
}

// TestCompressLZ4FrameHeader pins the frame descriptor the Java client writes (see
// testdata/recordbatch/java-lz4.bin at offset 61): magic 04 22 4d 18, FLG
// 0x60 (version 01, independent blocks, no block or content checksum, no
// content size), BD 0x40 (64 KiB blocks), and the descriptor checksum 0x82
// (second byte of xxh32 of FLG and BD), which Kafka's pre-0.10 clients got
// wrong.
func TestCompressLZ4FrameHeader(t *testing.T) {
	got, err := Compress(CompressionLZ4, nil, []byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82}, got[:7])
}

// TestCompressZstdFrameHeader pins the zstd frame librdkafka and the Java
// client write: magic 28 b5 2f fd, then a frame header descriptor without
// a dictionary id and without the content checksum flag (bit 2): a
// checksum would only cost an xxhash64 pass per batch (the RecordBatch
// CRC-32C covers the bytes). Inputs above the 1 KiB minimum window, up to
// the encoder's 8 MiB window, are single segment with their content size,
// so a decoder needs no more window than the content size. It holds for
// both encoders: `go test -tags gofka_czstd ./wire` checks libzstd's.
func TestCompressZstdFrameHeader(t *testing.T) {
	for _, n := range []int{5, 4 << 10, 1 << 20} {
		src := bytes.Repeat([]byte("kafka record "), n/13+1)[:n]
		got, err := Compress(CompressionZstd, nil, src)
		require.NoError(t, err)
		require.Equal(t, []byte{0x28, 0xb5, 0x2f, 0xfd}, got[:4])
		fhd := got[4]
		assert.Zero(t, fhd&0x04, "content checksum flag set (n=%d, descriptor %#x)", n, fhd)
		assert.Zero(t, fhd&0x03, "dictionary id present (n=%d)", n)
		// Both encoders write a single segment (the content size, no
		// window) above the 1 KiB minimum window; below it libzstd
		// does too and klauspost declares a window instead.
		if n > 1<<10 {
			assert.NotZero(t, fhd&0x20, "not single segment (n=%d)", n)
		}
		out, err := Decompress(CompressionZstd, nil, got)
		require.NoError(t, err)
		assert.Equal(t, src, out)
	}
}
