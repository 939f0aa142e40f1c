//go:build !gofka_czstd || !cgo

package wire

import (
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdCompress appends src as one zstd frame at compression.level level
// (see CompressionLevelDefault) to dst: CompressLevel's zstd case.
//
// This is the pure-Go encoder, the default of every Go build. The C ABI's
// library is built with -tags gofka_czstd (build.sh) and uses libzstd
// instead (zstd_encode_cgo.go), which takes about 0.6x the CPU at the same
// level; Go programs may opt in with the same tag when cgo is enabled.
func zstdCompress(dst, src []byte, level int) ([]byte, error) {
	return zstdEncoder(level).EncodeAll(src, dst), nil
}

// zstdWindow bounds the window of the zstd encoders: how far back a match
// may reach, and so the history each encoder keeps. A record batch is one
// frame (batch.size: 1 MiB by default), so a longer window would only find
// matches in batches larger than 1 MiB, more than 1 MiB apart. klauspost's
// default window (8 MiB) made every encoder state keep a 16 MiB history
// buffer the first time it compressed a batch of more than one 128 KiB
// block: 48 MiB of heap for the 3 states of a 2-core machine, for nothing.
// With this window and WithLowerEncoderMem the history is 1 MiB + 128 KiB.
// Decoders gain too: the frame header of a batch larger than the window
// declares this window rather than 8 MiB.
const zstdWindow = 1 << 20

// zstdEncoders holds the shared encoders, one per klauspost level (made on
// first use). Each serves every goroutine: EncodeAll is concurrency-safe
// and keeps zstdStates() internal encoder states, one per call running at
// once; a further call waits for a state.
//
// No content checksum: neither librdkafka nor the Java client writes one
// (the RecordBatch CRC-32C already covers the compressed bytes), and
// hashing every batch with xxhash64 cost CPU for nothing. The frame header
// still declares the content size and a window fitted to it (single
// segment up to zstdWindow), so decoders allocate only what the batch
// needs. WithLowerEncoderMem sizes the history at window + one block
// (rather than twice the window) and grows the block buffers as needed
// rather than up front; it changes no output byte.
var zstdEncoders [5]func() *zstd.Encoder

func init() {
	for l := zstd.SpeedFastest; l <= zstd.SpeedBestCompression; l++ {
		zstdEncoders[l] = sync.OnceValue(func() *zstd.Encoder { return newZstdEncoder(l, zstdStates()) })
	}
}

// zstdStates is how many encoder states a shared encoder keeps: one per
// compression that can really run at once, min(GOMAXPROCS, NumCPU). The C
// library runs with one P more than the CPUs (capi/sched.go), and each
// state holds ~3.5 MiB (hash tables, history, block buffers) that the GC's
// heap goal doubles; a third compression on two CPUs would only
// time-slice with the other two, so it waits for a state instead.
func zstdStates() int {
	return max(1, min(runtime.GOMAXPROCS(0), runtime.NumCPU()))
}

// newZstdEncoder makes an encoder at klauspost level l with up to
// concurrency states (0: GOMAXPROCS).
func newZstdEncoder(l zstd.EncoderLevel, concurrency int) *zstd.Encoder {
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(l),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithLowerEncoderMem(true),
		zstd.WithEncoderConcurrency(concurrency),
		zstd.WithEncoderCRC(false),
		zstd.WithZeroFrames(true), // empty input still gives a valid frame
	)
	if err != nil {
		panic("wire: zstd encoder: " + err.Error()) // static options; cannot fail
	}
	return e
}

// zstdEncoder returns the shared encoder for a compression.level (-1..12;
// see CompressionLevelDefault): -1 and 0 are zstd's default level 3,
// klauspost's SpeedDefault.
func zstdEncoder(level int) *zstd.Encoder {
	l := zstd.SpeedDefault
	if level > 0 {
		l = zstd.EncoderLevelFromZstd(level)
	}
	return zstdEncoders[l]()
}
