package core

import (
	"context"
	"fmt"
	"time"

	"github.com/gofka/gofka/wire"
)

// FetchResult is what one partition fetch returned.
type FetchResult struct {
	Records       []*Record
	HighWatermark int64 // offset of the next record to be written
	NextOffset    int64 // offset to fetch from next
}

// FetchOptions tune FetchPartition. Zero values take the defaults.
type FetchOptions struct {
	MaxWait   time.Duration  // how long the broker may wait for MinBytes; default 500 ms
	MinBytes  int32          // default 1
	MaxBytes  int32          // per partition; default 1 MiB
	Isolation IsolationLevel // ReadUncommitted (default) or ReadCommitted
}

// FetchPartition reads records of one partition starting at offset from its
// leader, in one Fetch request. It returns records at or after offset
// (a compressed batch may start earlier; those records are dropped) and
// skips control records. Record keys, values and headers are copies owned
// by the caller.
func (c *Client) FetchPartition(ctx context.Context, topic string, partition int32, offset int64, o FetchOptions) (*FetchResult, error) {
	if o.MaxWait <= 0 {
		o.MaxWait = 500 * time.Millisecond
	}
	if o.MinBytes <= 0 {
		o.MinBytes = 1
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 20
	}
	ti, err := c.TopicPartitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	if partition < 0 || int(partition) >= len(ti.Partitions) {
		return nil, &wire.Error{Code: wire.ErrPartitionNotFound, Detail: fmt.Sprintf("%s/%d", topic, partition)}
	}
	req := &wire.FetchRequest{
		MaxWaitMs: int32(o.MaxWait / time.Millisecond), MinBytes: o.MinBytes, MaxBytes: o.MaxBytes,
		IsolationLevel: int8(o.Isolation), SessionEpoch: -1,
		Topics: []wire.FetchRequestTopic{{Topic: topic, Partitions: []wire.FetchRequestPartition{{
			Partition: partition, CurrentLeaderEpoch: -1, FetchOffset: offset, LastFetchedEpoch: -1,
			LogStartOffset: -1, PartitionMaxBytes: o.MaxBytes,
		}}}},
	}
	resp, err := c.Request(ctx, ti.Partitions[partition].Leader, req)
	if err != nil {
		return nil, err
	}
	fr := resp.(*wire.FetchResponse)
	if fr.ErrorCode != 0 {
		return nil, &wire.Error{Code: wire.ErrorCode(fr.ErrorCode), Detail: "fetch"}
	}
	for _, t := range fr.Responses {
		for _, p := range t.Partitions {
			if t.Topic != topic || p.PartitionIndex != partition {
				continue
			}
			if p.ErrorCode != 0 {
				return nil, &wire.Error{Code: wire.ErrorCode(p.ErrorCode), Detail: fmt.Sprintf("%s/%d offset %d", topic, partition, offset)}
			}
			return decodeFetched(topic, partition, offset, p)
		}
	}
	return &FetchResult{HighWatermark: -1, NextOffset: offset}, nil
}

func decodeFetched(topic string, partition int32, offset int64, p wire.FetchResponsePartition) (*FetchResult, error) {
	res := &FetchResult{HighWatermark: p.HighWatermark, NextOffset: offset}
	batches, err := wire.DecodeRecordBatches(p.Records, nil)
	if err != nil {
		return nil, &wire.Error{Code: wire.ErrCorruptMessage, Detail: fmt.Sprintf("%s/%d: %v", topic, partition, err)}
	}
	for i := range batches {
		b := &batches[i]
		if !b.IsControl() {
			for _, r := range b.Records {
				if r.Offset < offset {
					continue
				}
				res.Records = append(res.Records, &Record{
					Topic: topic, Partition: partition, Offset: r.Offset,
					Key: clone(r.Key), Value: clone(r.Value), Headers: cloneHeaders(r.Headers),
					Timestamp: time.UnixMilli(r.Timestamp),
				})
			}
		}
		res.NextOffset = max(res.NextOffset, b.NextOffset())
	}
	return res, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

func cloneHeaders(hs []wire.Header) []wire.Header {
	if hs == nil {
		return nil
	}
	out := make([]wire.Header, len(hs))
	for i, h := range hs {
		out[i] = wire.Header{Key: h.Key, Value: clone(h.Value)}
	}
	return out
}
