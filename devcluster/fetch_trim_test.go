package devcluster

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// batches returns record-batch-shaped bytes: for each size, an 8-byte base
// offset, the 4-byte length (size-12) and filler.
func batches(sizes ...int) []byte {
	var out []byte
	for _, n := range sizes {
		b := make([]byte, n)
		binary.BigEndian.PutUint32(b[8:12], uint32(n-12))
		out = append(out, b...)
	}
	return out
}

// TestTrimFetch: the guard applies a read_committed fetch's MaxBytes
// across partitions in response order, by whole batches, and keeps the
// response's first batch even when it alone is larger (KIP-74).
func TestTrimFetch(t *testing.T) {
	resp := func(parts ...[]byte) *kmsg.FetchResponse {
		r := kmsg.NewPtrFetchResponse()
		topic := kmsg.NewFetchResponseTopic()
		for i, data := range parts {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition, p.RecordBatches = int32(i), data
			topic.Partitions = append(topic.Partitions, p)
		}
		r.Topics = append(r.Topics, topic)
		return r
	}
	sizes := func(r *kmsg.FetchResponse) []int {
		var out []int
		for _, p := range r.Topics[0].Partitions {
			out = append(out, len(p.RecordBatches))
		}
		return out
	}

	r := resp(batches(100, 100), batches(100, 100), batches(100))
	trimFetch(r, 350)
	require.Equal(t, []int{200, 100, 0}, sizes(r), "whole batches while they fit, then none")

	r = resp(batches(500, 100), batches(100))
	trimFetch(r, 350)
	require.Equal(t, []int{500, 0}, sizes(r), "the first batch comes whole, and nothing after it")

	r = resp(batches(), batches(100, 100))
	trimFetch(r, 1000)
	require.Equal(t, []int{0, 200}, sizes(r), "within the bound: untouched")

	r = resp(append(batches(100), 1, 2, 3))
	trimFetch(r, 1000)
	require.Equal(t, []int{103}, sizes(r), "a partial batch at the end is left as kfake sent it")
}
