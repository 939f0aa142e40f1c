//go:build !gofka_czstd || !cgo

package wire

import (
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An encoder state compressing a multi-block batch allocates a history of
// about the window, not twice klauspost's default 8 MiB window (16 MiB
// per state, one state per GOMAXPROCS: what made zstd produce heavy).
func TestZstdEncoderMemory(t *testing.T) {
	src := levelData(2 << 20)
	dst := make([]byte, 0, CompressBound(CompressionZstd, len(src)))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := newZstdEncoder(zstd.SpeedDefault, 1)
	out := e.EncodeAll(src, dst)
	runtime.ReadMemStats(&after)
	require.Equal(t, &dst[:1][0], &out[:1][0], "output stays in dst")
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("one zstd encoder state: %d KiB allocated compressing 2 MiB", alloc>>10)
	assert.Less(t, alloc, uint64(6<<20))
}
