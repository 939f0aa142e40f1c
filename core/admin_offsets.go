package core

import (
	"context"
	"fmt"
	"sort"

	"github.com/gofka/gofka/wire"
)

// Offset specs for ListOffsets; any value >= 0 is a timestamp in ms since
// the epoch (the earliest offset whose record timestamp is at or after it).
const (
	OffsetLatest       int64 = wire.ListOffsetsLatest   // the high watermark: the offset the next record gets
	OffsetEarliest     int64 = wire.ListOffsetsEarliest // the log start offset
	OffsetMaxTimestamp int64 = -3                       // the record with the largest timestamp
)

// ListedOffset is one partition's answer to ListOffsets.
type ListedOffset struct {
	Offset      int64 `json:"offset"`       // -1 when no record matches a timestamp spec
	Timestamp   int64 `json:"timestamp"`    // ms, -1 when not applicable
	LeaderEpoch int32 `json:"leader_epoch"` // -1 when unknown
}

// partitionsByLeader groups partitions of topic (nil = all) by leader.
func (a *Admin) partitionsByLeader(ctx context.Context, topic string, partitions []int32) (map[int32][]int32, error) {
	t, err := a.topicMetadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	leaders := map[int32]int32{}
	for _, p := range t.Partitions {
		leaders[p.Partition] = p.Leader
	}
	if partitions == nil {
		for _, p := range t.Partitions {
			partitions = append(partitions, p.Partition)
		}
	}
	out := map[int32][]int32{}
	for _, p := range partitions {
		l, ok := leaders[p]
		if !ok {
			return nil, &wire.Error{Code: wire.ErrPartitionNotFound, Detail: fmt.Sprintf("%s/%d", topic, p)}
		}
		if l < 0 {
			return nil, &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: fmt.Sprintf("%s/%d has no leader", topic, p)}
		}
		out[l] = append(out[l], p)
	}
	return out, nil
}

// ListOffsets returns, for each partition of topic (nil = all), the offset
// matching spec: OffsetEarliest, OffsetLatest, OffsetMaxTimestamp or a
// timestamp in ms. Requests go to each partition's leader; a moved leader
// (NOT_LEADER_OR_FOLLOWER) refreshes the metadata and retries.
func (a *Admin) ListOffsets(ctx context.Context, topic string, partitions []int32, spec int64) (map[int32]ListedOffset, error) {
	if spec < OffsetMaxTimestamp {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("offset spec %d is not earliest, latest, max timestamp or a timestamp", spec)}
	}
	var out map[int32]ListedOffset
	err := a.do(ctx, func(ctx context.Context) error {
		groups, err := a.partitionsByLeader(ctx, topic, partitions)
		if err != nil {
			return err
		}
		out = map[int32]ListedOffset{}
		for leader, parts := range groups {
			rt := wire.ListOffsetsRequestTopic{Name: topic}
			for _, p := range parts {
				rt.Partitions = append(rt.Partitions, wire.ListOffsetsRequestPartition{PartitionIndex: p, CurrentLeaderEpoch: -1, Timestamp: spec})
			}
			req := &wire.ListOffsetsRequest{ReplicaId: wire.ReplicaIdConsumer, Topics: []wire.ListOffsetsRequestTopic{rt},
				TimeoutMs: a.timeoutMs(ctx)}
			resp, addr, err := a.cl.requestAddr(ctx, leader, req)
			if err != nil {
				return err
			}
			for _, t := range resp.(*wire.ListOffsetsResponse).Topics {
				for _, p := range t.Partitions {
					if err := kerr(p.ErrorCode, nil, fmt.Sprintf("listing offsets of %s/%d", t.Name, p.PartitionIndex), addr); err != nil {
						return err
					}
					out[p.PartitionIndex] = ListedOffset{Offset: p.Offset, Timestamp: p.Timestamp, LeaderEpoch: p.LeaderEpoch}
				}
			}
		}
		return nil
	})
	return out, err
}

// DeleteRecords deletes the records of each given partition of topic
// before the given offset (-1 = the high watermark, i.e. everything) and
// returns each partition's new low watermark (log start offset).
func (a *Admin) DeleteRecords(ctx context.Context, topic string, before map[int32]int64) (map[int32]int64, error) {
	if len(before) == 0 {
		return map[int32]int64{}, nil
	}
	parts := make([]int32, 0, len(before))
	for p, off := range before {
		if off < -1 {
			return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("offset %d for partition %d (use -1 for the high watermark)", off, p)}
		}
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	var out map[int32]int64
	err := a.do(ctx, func(ctx context.Context) error {
		groups, err := a.partitionsByLeader(ctx, topic, parts)
		if err != nil {
			return err
		}
		out = map[int32]int64{}
		for leader, ps := range groups {
			rt := wire.DeleteRecordsRequestTopic{Name: topic}
			for _, p := range ps {
				rt.Partitions = append(rt.Partitions, wire.DeleteRecordsRequestPartition{PartitionIndex: p, Offset: before[p]})
			}
			req := &wire.DeleteRecordsRequest{Topics: []wire.DeleteRecordsRequestTopic{rt}, TimeoutMs: a.timeoutMs(ctx)}
			resp, addr, err := a.cl.requestAddr(ctx, leader, req)
			if err != nil {
				return err
			}
			for _, t := range resp.(*wire.DeleteRecordsResponse).Topics {
				for _, p := range t.Partitions {
					if err := kerr(p.ErrorCode, nil, fmt.Sprintf("deleting records of %s/%d", t.Name, p.PartitionIndex), addr); err != nil {
						return err
					}
					out[p.PartitionIndex] = p.LowWatermark
				}
			}
		}
		return nil
	})
	return out, err
}
