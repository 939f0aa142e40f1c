//go:build !gofka_czstd || !cgo

package wire

import (
	"sync"

	"github.com/klauspost/compress/zstd"
)

// ZstdEncoder names the zstd encoder this build compresses with (reported
// by the benchmarks next to their numbers).
const ZstdEncoder = "klauspost/compress (pure Go)"

// zstdCompress appends src as one zstd frame to dst: Compress's zstd case.
//
// This is the pure-Go encoder, the default of every Go build. The C ABI's
// library is built with -tags gofka_czstd (build.sh) and uses libzstd
// instead (zstd_encode_cgo.go), which is about twice as fast at the same
// level; Go programs may opt in with the same tag when cgo is enabled.
//
// One encoder serves every goroutine: EncodeAll is concurrency-safe and
// keeps up to GOMAXPROCS internal encoder states. It is created on first use.
//
// Level: SpeedDefault, klauspost's equivalent of zstd level 3, the default
// of librdkafka and of the Java client. No content checksum: neither
// librdkafka nor the Java client writes one (the RecordBatch CRC-32C
// already covers the compressed bytes), and hashing every batch with
// xxhash64 cost CPU for nothing. The frame header still declares the
// content size and a window fitted to it (single segment up to the
// encoder's 8 MiB window), so decoders allocate only what the batch needs.
func zstdCompress(dst, src []byte) ([]byte, error) {
	return zstdEncoder().EncodeAll(src, dst), nil
}

var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(0), // GOMAXPROCS
		zstd.WithEncoderCRC(false),
		zstd.WithZeroFrames(true), // empty input still gives a valid frame
	)
	if err != nil {
		panic("wire: zstd encoder: " + err.Error()) // static options; cannot fail
	}
	return e
})
