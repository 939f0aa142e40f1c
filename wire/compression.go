package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression is a RecordBatch compression codec: the value of the three low
// bits of the batch attributes.
type Compression int8

// The codecs, numbered as in the attributes.
const (
	CompressionNone Compression = iota
	CompressionGzip
	CompressionSnappy
	CompressionLZ4
	CompressionZstd
)

var compressionNames = [...]string{"none", "gzip", "snappy", "lz4", "zstd"}

// String returns the codec name as Kafka's compression.type spells it
// ("none", "gzip", "snappy", "lz4", "zstd").
func (c Compression) String() string {
	if c >= 0 && int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("compression(%d)", int8(c))
}

func (c Compression) valid() bool { return c >= CompressionNone && c <= CompressionZstd }

// ParseCompression parses a codec name, case-insensitively. "" and "none"
// give CompressionNone.
func ParseCompression(name string) (Compression, error) {
	if name == "" {
		return CompressionNone, nil
	}
	for i, n := range compressionNames {
		if strings.EqualFold(name, n) {
			return Compression(i), nil
		}
	}
	return 0, fmt.Errorf("wire: unknown compression %q (valid: %s)", name, strings.Join(compressionNames[:], ", "))
}

// ErrDecompressedTooLarge is returned (wrapped) when decompressing would
// produce more than MaxDecompressedSize bytes.
var ErrDecompressedTooLarge = errors.New("wire: decompressed data exceeds the maximum decompressed size")

// DefaultMaxDecompressedSize is the initial MaxDecompressedSize: 256 MiB.
const DefaultMaxDecompressedSize = 256 << 20

var maxDecompressed atomic.Int64

func init() { maxDecompressed.Store(DefaultMaxDecompressedSize) }

// MaxDecompressedSize returns how many bytes one Decompress call may produce.
//
// Fetch limits bound only the compressed bytes on the wire; a small hostile
// or corrupt batch can otherwise claim gigabytes (gzip expands ~1000x, zstd
// and snappy headers declare arbitrary sizes). Every codec enforces the cap
// while decompressing, before the memory is allocated.
func MaxDecompressedSize() int { return int(maxDecompressed.Load()) }

// SetMaxDecompressedSize sets the cap returned by MaxDecompressedSize and
// returns the previous value. n <= 0 restores the default; n is clamped
// below 2 GiB. Caps under a few MiB may also reject zstd frames whose window
// is larger than the cap, whatever their content size. It is safe to call
// concurrently with Decompress; calls already running keep the old cap.
func SetMaxDecompressedSize(n int) (prev int) {
	if n <= 0 {
		n = DefaultMaxDecompressedSize
	}
	// No legitimate batch decompresses beyond an int32 (every producer
	// builds its records section in an int32-indexed buffer).
	n = min(n, math.MaxInt32-1)
	return int(maxDecompressed.Swap(int64(n)))
}

// Compression levels (compression.level): librdkafka's name, range and
// default. -1 asks for each codec's default; otherwise the usable range
// depends on the codec (CheckCompressionLevel), and a level means what it
// means in the reference library of that codec, mapped onto the Go
// library that implements it here:
//
//   - gzip 0..9 (zlib's levels) are klauspost/compress/gzip's levels 0..9
//     (0 stores, 1 fastest, 9 best); -1 is its DefaultCompression, which
//     klauspost implements as its level 5.
//   - lz4 0..12 (LZ4 frame levels): 0..2 are the fast compressor
//     (pierrec/lz4 Fast, as LZ4F uses LZ4_compress_fast below level 3);
//     3..9 are pierrec's high-compression Level3..Level9; 10..12 are
//     Level9, pierrec's best (it has no deeper search). -1 is Fast.
//   - zstd 0..12: 0 and -1 are zstd's default (level 3, as libzstd reads
//     0); 1..12 go through klauspost's EncoderLevelFromZstd: 1..2
//     SpeedFastest, 3..5 SpeedDefault, 6..9 SpeedBetterCompression, 10..12
//     SpeedBestCompression. klauspost has these four levels only, so
//     neighbouring zstd levels give the same bytes. With -tags gofka_czstd
//     (the C library's build) libzstd compresses, and 1..12 are its own
//     levels (zstd_encode_cgo.go).
//   - snappy has no levels: -1 and 0 only.
//   - none takes any level of the range and ignores it.
const (
	CompressionLevelDefault = -1
	MinCompressionLevel     = -1
	MaxCompressionLevel     = 12
)

// compressionLevelMax is the highest level each codec takes (by codec).
var compressionLevelMax = [...]int{CompressionNone: MaxCompressionLevel, CompressionGzip: 9,
	CompressionSnappy: 0, CompressionLZ4: 12, CompressionZstd: 12}

// CheckCompressionLevel returns an error when level is not one codec c
// takes (see CompressionLevelDefault), naming the codec's range.
func CheckCompressionLevel(c Compression, level int) error {
	if !c.valid() {
		return fmt.Errorf("unknown compression codec %d", int8(c))
	}
	if hi := compressionLevelMax[c]; level < MinCompressionLevel || level > hi {
		if c == CompressionSnappy {
			return fmt.Errorf("compression level %d: snappy has no levels (-1 or 0 only)", level)
		}
		return fmt.Errorf("compression level %d is outside %s's range %d..%d (-1 = the codec's default)", level, c, MinCompressionLevel, hi)
	}
	return nil
}

// Compress appends src compressed with c at the codec's default level to
// dst and returns the extended slice; see CompressLevel.
func Compress(c Compression, dst, src []byte) ([]byte, error) {
	return CompressLevel(c, CompressionLevelDefault, dst, src)
}

// CompressLevel appends src compressed with c at level (see
// CompressionLevelDefault; CheckCompressionLevel says which levels a
// codec takes, others are an error) to dst and returns the extended slice.
// CompressionNone appends src unchanged. src is only read; the result
// never aliases src. Safe for concurrent use: codec state comes from
// package-level pools (gzip, lz4, libzstd contexts) or shared
// concurrency-safe encoders (klauspost zstd, one per level; see
// zstd_encode_*.go) and never escapes the call.
//
// Formats: gzip is a standard gzip member (default level: klauspost's
// DefaultCompression, its level 5). snappy uses the xerial framing that
// the Java client writes and every client reads. lz4 is an LZ4 frame with
// 64 KiB independent blocks and no content checksum, as the Java client
// writes it (recent Java readers check a content checksum in their own
// non-standard way, so writing one would break them). zstd is a standard
// zstd frame at the default level (3) with the content size and no content
// checksum, as librdkafka and the Java client write it, and a window of at
// most zstdWindow.
func CompressLevel(c Compression, level int, dst, src []byte) ([]byte, error) {
	if err := CheckCompressionLevel(c, level); err != nil {
		return dst, fmt.Errorf("wire: %w", err)
	}
	switch c {
	case CompressionNone:
		return append(dst, src...), nil
	case CompressionGzip:
		return gzipCompress(dst, src, level)
	case CompressionSnappy:
		return xerialCompress(dst, src), nil
	case CompressionLZ4:
		return lz4Compress(dst, src, level)
	case CompressionZstd:
		return zstdCompress(dst, src, level)
	}
	return dst, fmt.Errorf("wire: unknown compression codec %d", int8(c))
}

// CompressBound is an upper bound on what CompressLevel appends for n
// bytes of input with c, used to size the output once rather than let
// it grow by doubling (every growth leaves garbage behind).
func CompressBound(c Compression, n int) int {
	switch c {
	case CompressionGzip:
		return n + n/1000 + 64 + 5*(n/16384+1) // stored blocks at worst, plus header and trailer
	case CompressionSnappy:
		return xerialHeaderLen + n + n/6 + 32 + 4*(n/xerialBlockSize+1)
	case CompressionLZ4:
		return 19 + n + n/255 + 16 + 4*(n/(64<<10)+1) + 8 // frame header, blocks at worst, end mark
	case CompressionZstd:
		return n + n>>8 + 64 + 3*(n/(128<<10)+1)
	}
	return n
}

// Decompress appends the decompression of src with c to dst and returns the
// extended slice. CompressionNone appends src unchanged. The result never
// aliases src. At most MaxDecompressedSize bytes are produced; beyond that
// the call fails with an error wrapping ErrDecompressedTooLarge. Snappy
// accepts both xerial-framed data and a raw snappy block. Safe for concurrent
// use (see Compress). On error the returned slice is dst with unspecified
// bytes appended; callers should discard it.
func Decompress(c Compression, dst, src []byte) ([]byte, error) {
	limit := MaxDecompressedSize()
	if len(src) == 0 && c != CompressionNone && c.valid() {
		// No codec produces an empty stream, not even for empty input.
		return dst, fmt.Errorf("wire: %s: empty input", c)
	}
	switch c {
	case CompressionNone:
		if len(src) > limit {
			return dst, fmt.Errorf("%w (%d > %d)", ErrDecompressedTooLarge, len(src), limit)
		}
		return append(dst, src...), nil
	case CompressionGzip:
		return gzipDecompress(dst, src, limit)
	case CompressionSnappy:
		return snappyDecompress(dst, src, limit)
	case CompressionLZ4:
		return lz4Decompress(dst, src, limit)
	case CompressionZstd:
		return zstdDecompress(dst, src, limit)
	}
	return dst, fmt.Errorf("wire: unknown compression codec %d", int8(c))
}

// appendWriter is an io.Writer appending to b. Pooled codec writers write
// into one so that compressed output lands directly in the caller's dst.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// readLimited appends everything r produces to dst, failing once more than
// limit bytes were produced. sizeHint pre-sizes dst (clamped to limit).
func readLimited(dst []byte, r io.Reader, limit, sizeHint int) ([]byte, error) {
	start := len(dst)
	if sizeHint > limit {
		sizeHint = limit
	}
	dst = slices.Grow(dst, sizeHint+1)
	for empty := 0; ; {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, 1)
		}
		// Never read more than limit+1 bytes in total: one more than the
		// cap is enough to tell that the cap was exceeded.
		room := min(cap(dst)-len(dst), limit+1-(len(dst)-start))
		n, err := r.Read(dst[len(dst) : len(dst)+room])
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst, fmt.Errorf("%w (limit %d)", ErrDecompressedTooLarge, limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
		if n > 0 {
			empty = 0
		} else if empty++; empty >= 100 {
			return dst, io.ErrNoProgress
		}
	}
}

// scratchPool holds reusable buffers for intermediate data: the
// uncompressed records of a batch being compressed, and the output of the
// streaming decompressors (gzip, lz4, zstd), whose size is unknown until
// the end. Decompressing into scratch and then copying into dst costs a
// memcpy but allocates the result exactly once, at its final size. A
// buffer is owned by one call at a time and holds no data the caller can
// see once returned; oversized ones are dropped.
var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 64<<10)
	return &b
}}

const maxPooledScratch = 16 << 20

// getScratch returns an empty pooled buffer.
func getScratch() *[]byte {
	p := scratchPool.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

// putScratch returns b, which grew from *p, to the pool.
func putScratch(p *[]byte, b []byte) {
	if cap(b) <= maxPooledScratch {
		*p = b[:0]
		scratchPool.Put(p)
	}
}

// viaScratch runs a streaming decompression into a pooled buffer and
// appends the result to dst.
func viaScratch(dst []byte, decompress func(scratch []byte) ([]byte, error)) ([]byte, error) {
	sp := getScratch()
	out, err := decompress(*sp)
	if err == nil {
		dst = append(dst, out...)
	}
	putScratch(sp, out)
	return dst, err
}

// ---- gzip ----

type gzipEnc struct {
	out appendWriter
	zw  *gzip.Writer
}

type gzipDec struct {
	in bytes.Reader
	zr gzip.Reader
}

// gzip writers and readers are pooled: each holds sizeable compression
// state. A pooled value is owned by one call at a time and holds no
// reference to caller memory once returned to the pool. Writers are pooled
// per level (gzipEncPools[level+1], levels -1..9): a writer's level is
// fixed at creation.
var (
	gzipEncPools [11]sync.Pool
	gzipDecPool  = sync.Pool{New: func() any { return new(gzipDec) }}
)

func init() {
	for i := range gzipEncPools {
		level := i - 1
		gzipEncPools[i].New = func() any {
			e := new(gzipEnc)
			var err error
			if e.zw, err = gzip.NewWriterLevel(&e.out, level); err != nil {
				panic("wire: gzip writer: " + err.Error()) // levels -1..9; cannot fail
			}
			return e
		}
	}
}

func gzipCompress(dst, src []byte, level int) ([]byte, error) {
	pool := &gzipEncPools[level+1]
	e := pool.Get().(*gzipEnc)
	e.out.b = dst
	e.zw.Reset(&e.out)
	_, err := e.zw.Write(src)
	if cerr := e.zw.Close(); err == nil {
		err = cerr
	}
	dst = e.out.b
	e.out.b = nil
	pool.Put(e)
	return dst, err
}

const (
	maxDeflateRatio = 1032    // how much deflate can expand its input
	maxSizeHint     = 4 << 20 // most output pre-sized from an untrusted header
)

func gzipDecompress(dst, src []byte, limit int) ([]byte, error) {
	// The gzip trailer ends with the uncompressed size mod 2^32 (of the
	// last member); trust it only as far as deflate can expand, and only to
	// pre-size a few MiB: the output grows as needed beyond that.
	hint := 2 * len(src)
	if len(src) >= 4 {
		hint = min(int(binary.LittleEndian.Uint32(src[len(src)-4:])), maxDeflateRatio*len(src), maxSizeHint)
	}
	d := gzipDecPool.Get().(*gzipDec)
	defer func() {
		d.in.Reset(nil)
		gzipDecPool.Put(d)
	}()
	d.in.Reset(src)
	if err := d.zr.Reset(&d.in); err != nil {
		return dst, fmt.Errorf("wire: gzip: %w", err)
	}
	out, err := viaScratch(dst, func(scratch []byte) ([]byte, error) {
		return readLimited(scratch, &d.zr, limit, hint)
	})
	if err != nil {
		return out, fmt.Errorf("wire: gzip: %w", err)
	}
	return out, nil
}

// ---- snappy (xerial framing) ----

// xerialMagic starts the framing written by snappy-java's SnappyOutputStream:
// the 8-byte magic, then two big-endian int32s (version 1, minimum compatible
// version 1), then blocks of a big-endian int32 length followed by that many
// bytes of one raw snappy block.
const (
	xerialMagic      = "\x82SNAPPY\x00"
	xerialHeaderLen  = len(xerialMagic) + 8
	xerialBlockSize  = 32 << 10 // snappy-java's default block size
	xerialVersion    = 1
	xerialCompatible = 1
)

func xerialCompress(dst, src []byte) []byte {
	dst = append(dst, xerialMagic...)
	dst = binary.BigEndian.AppendUint32(dst, xerialVersion)
	dst = binary.BigEndian.AppendUint32(dst, xerialCompatible)
	for len(src) > 0 {
		chunk := src[:min(len(src), xerialBlockSize)]
		src = src[len(chunk):]
		lenAt := len(dst)
		dst = slices.Grow(dst, 4+snappy.MaxEncodedLen(len(chunk)))
		dst = dst[:lenAt+4]
		enc := snappy.Encode(dst[lenAt+4:cap(dst)], chunk)
		binary.BigEndian.PutUint32(dst[lenAt:], uint32(len(enc)))
		dst = dst[:lenAt+4+len(enc)]
	}
	return dst
}

func snappyDecompress(dst, src []byte, limit int) ([]byte, error) {
	if len(src) < len(xerialMagic) || string(src[:len(xerialMagic)]) != xerialMagic {
		// Not framed: one raw snappy block (what some non-Java clients
		// write, and what snappy-java also accepts).
		n, err := snappyDecodedLen(src, limit)
		if err != nil {
			return dst, err
		}
		return snappyBlock(slices.Grow(dst, n), src, n)
	}
	// First pass: validate the framing and size the output from the block
	// headers, so that it is allocated once and the cap is enforced before
	// anything is allocated.
	total := 0
	err := xerialBlocks(src, func(block []byte) error {
		n, err := snappyDecodedLen(block, limit-total)
		total += n
		return err
	})
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, total)
	err = xerialBlocks(src, func(block []byte) error {
		n, _ := snappy.DecodedLen(block) // checked by the first pass
		var err error
		dst, err = snappyBlock(dst, block, n)
		return err
	})
	return dst, err
}

// xerialBlocks calls fn with each raw snappy block of xerial-framed src.
func xerialBlocks(src []byte, fn func(block []byte) error) error {
	for len(src) > 0 {
		// The magic header starts the data and may reappear mid-stream when
		// framed outputs were concatenated. A block length never starts
		// with 0x82: that would be a negative int32.
		if len(src) >= len(xerialMagic) && string(src[:len(xerialMagic)]) == xerialMagic {
			if len(src) < xerialHeaderLen {
				return errors.New("wire: snappy: truncated xerial header")
			}
			src = src[xerialHeaderLen:]
			continue
		}
		if len(src) < 4 {
			return errors.New("wire: snappy: truncated xerial block length")
		}
		n := binary.BigEndian.Uint32(src)
		src = src[4:]
		if uint64(n) > uint64(len(src)) {
			return fmt.Errorf("wire: snappy: xerial block of %d bytes exceeds remaining %d", n, len(src))
		}
		if n == 0 {
			continue
		}
		if err := fn(src[:n]); err != nil {
			return err
		}
		src = src[n:]
	}
	return nil
}

// maxSnappyRatio bounds how much a valid snappy block expands: its densest
// element is a 3-byte copy of 64 bytes.
const maxSnappyRatio = 22

// snappyDecodedLen returns the decoded length a raw block declares, failing
// if it is beyond limit, or beyond what the block can decode to (so that a
// few hostile bytes cannot make the caller allocate up to the limit).
func snappyDecodedLen(block []byte, limit int) (int, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return 0, fmt.Errorf("wire: snappy: %w", err)
	}
	if n > limit {
		return 0, fmt.Errorf("%w (snappy block claims %d bytes beyond the limit)", ErrDecompressedTooLarge, n)
	}
	if n > maxSnappyRatio*len(block) {
		return 0, fmt.Errorf("wire: snappy: block of %d bytes claims %d decoded bytes: %w", len(block), n, snappy.ErrCorrupt)
	}
	return n, nil
}

// snappyBlock appends the n bytes one raw snappy block decodes to.
func snappyBlock(dst, block []byte, n int) ([]byte, error) {
	at := len(dst)
	dst = slices.Grow(dst, n)[:at+n]
	out, err := snappy.Decode(dst[at:], block)
	if err != nil {
		return dst[:at], fmt.Errorf("wire: snappy: %w", err)
	}
	if len(out) != n || (n > 0 && &out[0] != &dst[at]) {
		return dst[:at], errors.New("wire: snappy: decoded length mismatch")
	}
	return dst, nil
}

// ---- lz4 ----

type lz4Enc struct {
	out appendWriter
	zw  *lz4.Writer
}

type lz4Dec struct {
	in bytes.Reader
	zr *lz4.Reader
}

// lz4 writers and readers are pooled like gzip's (see above). A writer is
// configured once (options survive Reset), so writers are pooled per
// pierrec level: lz4EncPools[0] is Fast, [1..7] Level3..Level9 (see
// lz4PoolIndex).
var (
	lz4EncPools [8]sync.Pool
	lz4DecPool  = sync.Pool{New: func() any {
		d := new(lz4Dec)
		d.zr = lz4.NewReader(&d.in)
		return d
	}}
)

func init() {
	levels := [len(lz4EncPools)]lz4.CompressionLevel{lz4.Fast, lz4.Level3, lz4.Level4, lz4.Level5,
		lz4.Level6, lz4.Level7, lz4.Level8, lz4.Level9}
	for i := range lz4EncPools {
		level := levels[i]
		lz4EncPools[i].New = func() any {
			e := new(lz4Enc)
			e.zw = lz4.NewWriter(&e.out)
			if err := e.zw.Apply(
				lz4.BlockSizeOption(lz4.Block64Kb),
				lz4.ChecksumOption(false),
				lz4.BlockChecksumOption(false),
				lz4.ConcurrencyOption(1),
				lz4.CompressionLevelOption(level),
			); err != nil {
				panic("wire: lz4 writer options: " + err.Error()) // static options; cannot fail
			}
			return e
		}
	}
}

// lz4PoolIndex maps a compression.level (-1..12) to its lz4EncPools index:
// below 3 the fast compressor (as LZ4F), 3..9 pierrec's Level3..Level9,
// above 9 Level9.
func lz4PoolIndex(level int) int {
	if level < 3 {
		return 0
	}
	return min(level, 9) - 2
}

func lz4Compress(dst, src []byte, level int) ([]byte, error) {
	pool := &lz4EncPools[lz4PoolIndex(level)]
	e := pool.Get().(*lz4Enc)
	e.out.b = dst
	e.zw.Reset(&e.out)
	_, err := e.zw.Write(src)
	if cerr := e.zw.Close(); err == nil {
		err = cerr
	}
	dst = e.out.b
	e.out.b = nil
	if err != nil {
		// A writer in an error state is not reused.
		return dst, fmt.Errorf("wire: lz4: %w", err)
	}
	pool.Put(e)
	return dst, nil
}

func lz4Decompress(dst, src []byte, limit int) ([]byte, error) {
	d := lz4DecPool.Get().(*lz4Dec)
	d.in.Reset(src)
	d.zr.Reset(&d.in)
	out, err := viaScratch(dst, func(scratch []byte) ([]byte, error) {
		return readLimited(scratch, d.zr, limit, min(2*len(src), maxSizeHint))
	})
	d.in.Reset(nil)
	d.zr.Reset(&d.in) // releases the block buffer
	lz4DecPool.Put(d)
	if err != nil {
		return out, fmt.Errorf("wire: lz4: %w", err)
	}
	return out, nil
}

// ---- zstd ----

// The encoder is in zstd_encode_go.go (pure Go, the default) or
// zstd_encode_cgo.go (libzstd, -tags gofka_czstd: the C ABI's build).

// zstdDecoder is one shared concurrency-safe decoder (DecodeAll only, so it
// starts no goroutines), built for the MaxDecompressedSize in effect when it
// was created: the decoder itself enforces that cap, before allocating, via
// WithDecoderMaxMemory. Changing the cap builds a new decoder on next use;
// the old one is left to the garbage collector.
type zstdDecoder struct {
	limit int
	dec   *zstd.Decoder
}

var zstdDec atomic.Pointer[zstdDecoder]

func zstdDecoderFor(limit int) (*zstd.Decoder, error) {
	if d := zstdDec.Load(); d != nil && d.limit == limit {
		return d.dec, nil
	}
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0), // GOMAXPROCS concurrent DecodeAll calls
		zstd.WithDecoderMaxMemory(uint64(limit)),
	)
	if err != nil {
		return nil, err
	}
	zstdDec.Store(&zstdDecoder{limit: limit, dec: dec})
	return dec, nil
}

func zstdDecompress(dst, src []byte, limit int) ([]byte, error) {
	dec, err := zstdDecoderFor(limit)
	if err != nil {
		return dst, fmt.Errorf("wire: zstd: %w", err)
	}
	return viaScratch(dst, func(scratch []byte) ([]byte, error) {
		out, err := dec.DecodeAll(src, scratch)
		switch {
		case errors.Is(err, zstd.ErrDecoderSizeExceeded), errors.Is(err, zstd.ErrWindowSizeExceeded):
			return out, fmt.Errorf("%w (zstd: %v, limit %d)", ErrDecompressedTooLarge, err, limit)
		case err != nil:
			return out, fmt.Errorf("wire: zstd: %w", err)
		case len(out) > limit: // belt and braces; the decoder enforces it
			return out, fmt.Errorf("%w (limit %d)", ErrDecompressedTooLarge, limit)
		}
		return out, nil
	})
}
