//go:build gofka_czstd && cgo

package wire

import (
	"fmt"
	"sync"
	"unsafe"

	czstd "github.com/DataDog/zstd"
)

// zstdWindow is the window libzstd declares at the default level 3 for a
// batch larger than it (windowLog 21); smaller batches are single-segment
// frames, whose window is their size. Higher levels may use up to 4 MiB,
// as they do in librdkafka.
const zstdWindow = 1 << 21

// zstdCtxs holds compression contexts for reuse. A context is not safe for
// concurrent use, so each call takes one for its duration; the pool keeps
// about as many as there are concurrent compressors (the sinks' senders
// and the compress-ahead workers). A context dropped by the pool is freed
// by the finalizer DataDog/zstd sets on it. Its memory is C heap, outside
// the Go heap and its collector's headroom.
var zstdCtxs = sync.Pool{New: func() any { return czstd.NewCtx() }}

// zstdCompress appends src as one zstd frame at compression.level level
// (see CompressionLevelDefault) to dst: CompressLevel's zstd case.
//
// This build links libzstd (the reference C implementation, vendored by
// github.com/DataDog/zstd) instead of the pure-Go encoder: on record
// batches it compresses about twice as fast at the same level, and
// compression is most of a zstd producer's CPU. build.sh builds the C
// ABI's library with -tags gofka_czstd; Go programs get the pure-Go
// encoder (zstd_encode_go.go) unless they set the tag.
//
// Levels are libzstd's own: -1 and 0 are its default, 3, and 1..12 are
// used as they are, as librdkafka does. The frame is what
// ZSTD_compressCCtx writes: the content size, no dictionary id and no
// content checksum (the RecordBatch CRC-32C covers the bytes).
func zstdCompress(dst, src []byte, level int) ([]byte, error) {
	if level <= 0 {
		level = 3 // ZSTD_CLEVEL_DEFAULT
	}
	bound := CompressBound(CompressionZstd, len(src))
	if cap(dst)-len(dst) < bound {
		grown := make([]byte, len(dst), len(dst)+bound)
		copy(grown, dst)
		dst = grown
	}
	room := dst[len(dst) : len(dst)+bound]
	c := zstdCtxs.Get().(czstd.Ctx)
	out, err := c.CompressLevel(room, src, level)
	zstdCtxs.Put(c)
	if err != nil {
		return dst, fmt.Errorf("wire: zstd: %w", err)
	}
	// With room of CompressBound bytes the library writes into it; check,
	// since the result is taken as appended to dst.
	if len(out) > 0 && unsafe.SliceData(out) != unsafe.SliceData(room) {
		return dst, fmt.Errorf("wire: zstd: output not written in place (%d bytes)", len(out))
	}
	return dst[:len(dst)+len(out)], nil
}
