package core

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// TestSinkMatchPairsBatchesWithResults covers match's three outcomes per
// batch: its partition's entry (offsets or the broker's error), a corrupt
// response error when the response has no entry for it, and the request's
// own error for every batch. Sixteen batches or fewer are matched by a
// scan, more through a map: both are exercised.
func TestSinkMatchPairsBatchesWithResults(t *testing.T) {
	for _, n := range []int{3, 20} {
		s := &sink{}
		pc := &produceCall{cn: &clientConn{conn: &conn{addr: "broker:9092"}}}
		for i := 0; i < n; i++ {
			pc.batches = append(pc.batches, &recBatch{})
			pc.parts = append(pc.parts, &partBuf{topic: "t", partition: int32(i)})
		}
		msg := "boom"
		var parts []wire.ProduceResponsePartition
		for i := n - 1; i >= 1; i-- { // partition 0 unanswered; reversed order
			pr := wire.ProduceResponsePartition{Index: int32(i), BaseOffset: int64(100 * i), LogAppendTimeMs: -1}
			if i == 1 {
				pr = wire.ProduceResponsePartition{Index: 1, ErrorCode: int16(wire.ErrNotLeaderOrFollower), ErrorMessage: &msg}
			}
			parts = append(parts, pr)
		}
		resp := &wire.ProduceResponse{Responses: []wire.ProduceResponseTopic{
			{Name: "other", PartitionResponses: []wire.ProduceResponsePartition{{Index: 0, BaseOffset: 7}}},
			{Name: "t", PartitionResponses: parts},
		}}

		res := s.match(pc, resp, nil)
		require.Len(t, res, n)
		var werr *wire.Error
		require.True(t, errors.As(res[0].err, &werr), "batch 0: %v", res[0].err)
		assert.Equal(t, wire.ErrCorruptResponse, werr.Code)
		assert.Contains(t, werr.Error(), "no result for t/0")
		require.True(t, errors.As(res[1].err, &werr), "batch 1: %v", res[1].err)
		assert.Equal(t, wire.ErrNotLeaderOrFollower, werr.Code)
		assert.Contains(t, werr.Error(), "t/1: boom")
		for i := 2; i < n; i++ {
			assert.NoError(t, res[i].err, "batch %d", i)
			assert.Equal(t, int64(100*i), res[i].base, "batch %d", i)
		}

		failed := errors.New("write failed")
		for _, r := range s.match(pc, nil, failed) {
			assert.Same(t, failed, r.err)
		}
	}
}
