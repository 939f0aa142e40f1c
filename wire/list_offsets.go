package wire

// Special ListOffsets timestamps. Any other value asks for the earliest
// offset whose record timestamp is at or after it.
const (
	ListOffsetsLatest       int64 = -1 // the high watermark (last stable offset under read_committed)
	ListOffsetsEarliest     int64 = -2 // the log start offset
	ListOffsetsMaxTimestamp int64 = -3 // the record with the largest timestamp, v7+ (KIP-734)
	// ListOffsetsEarliestLocal is the local log start offset, v8+ (KIP-405).
	ListOffsetsEarliestLocal int64 = -4
	// ListOffsetsLatestTiered is the highest offset in remote storage, v9+ (KIP-1005).
	ListOffsetsLatestTiered int64 = -5
	// ListOffsetsEarliestPendingUpload is the earliest offset not yet in
	// remote storage, v11+ (KIP-1023).
	ListOffsetsEarliestPendingUpload int64 = -6
)

// ListOffsets replica ids.
const (
	ReplicaIdConsumer int32 = -1 // a normal consumer: the leader answers, IsolationLevel applies
	ReplicaIdDebug    int32 = -2 // any replica answers, IsolationLevel is ignored
)

// ListOffsetsRequest (key 2) looks up offsets by timestamp, or the special
// earliest/latest/max-timestamp offsets.
//
// Versions 1-11, flexible from 6. Apache Kafka 4.0 removed v0 (KIP-896), so
// v1, the first version with a single offset per partition, is the floor.
// Every version names topics; v11 (Kafka 4.2) has the layout of v10 and only
// adds the timestamp -6, so the full range is supported.
type ListOffsetsRequest struct {
	// ReplicaId must be ReplicaIdConsumer (-1) for a client; the zero
	// value claims to be broker 0.
	ReplicaId      int32
	IsolationLevel int8 // v2+
	Topics         []ListOffsetsRequestTopic
	TimeoutMs      int32 // v10+, for lookups in remote storage
}

// ListOffsetsRequestTopic is one topic to look up.
type ListOffsetsRequestTopic struct {
	Name       string
	Partitions []ListOffsetsRequestPartition
}

// ListOffsetsRequestPartition is one partition to look up.
type ListOffsetsRequestPartition struct {
	PartitionIndex     int32
	CurrentLeaderEpoch int32 // v4+, -1 to skip fencing
	Timestamp          int64 // a timestamp in ms or one of the ListOffsets* constants
}

func (*ListOffsetsRequest) APIKey() int16            { return 2 }
func (*ListOffsetsRequest) Versions() (int16, int16) { return 1, 11 }
func (*ListOffsetsRequest) FlexibleFrom() int16      { return 6 }
func (*ListOffsetsRequest) NewResponse() Response    { return &ListOffsetsResponse{} }
func (q *ListOffsetsRequest) Encode(w *Writer, v int16) {
	flex := v >= 6
	w.Int32(q.ReplicaId)
	if v >= 2 {
		w.Int8(q.IsolationLevel)
	}
	w.ArrayLen(flex, len(q.Topics))
	for i := range q.Topics {
		t := &q.Topics[i]
		w.String(flex, t.Name)
		w.ArrayLen(flex, len(t.Partitions))
		for j := range t.Partitions {
			p := &t.Partitions[j]
			w.Int32(p.PartitionIndex)
			if v >= 4 {
				w.Int32(p.CurrentLeaderEpoch)
			}
			w.Int64(p.Timestamp)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	if v >= 10 {
		w.Int32(q.TimeoutMs)
	}
	w.Tags(flex)
}

// ListOffsetsResponse gives the offsets found.
type ListOffsetsResponse struct {
	ThrottleTimeMs int32 // v2+
	Topics         []ListOffsetsResponseTopic
}

// ListOffsetsResponseTopic holds the partitions of one topic.
type ListOffsetsResponseTopic struct {
	Name       string
	Partitions []ListOffsetsResponsePartition
}

// ListOffsetsResponsePartition is the offset found for one partition.
type ListOffsetsResponsePartition struct {
	PartitionIndex int32
	ErrorCode      int16
	Timestamp      int64 // -1 if unknown
	Offset         int64 // -1 if none
	LeaderEpoch    int32 // v4+, -1 if unknown
}

func (p *ListOffsetsResponse) Decode(r *Reader, v int16) {
	flex := v >= 6
	*p = ListOffsetsResponse{}
	if v >= 2 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.Topics = decodeSlice(r, flex, 3, func(r *Reader, t *ListOffsetsResponseTopic) {
		t.Name = r.String(flex)
		// PartitionIndex, ErrorCode, Timestamp, Offset: 4+2+8+8 (v1).
		t.Partitions = decodeSlice(r, flex, 22, func(r *Reader, pt *ListOffsetsResponsePartition) {
			pt.PartitionIndex = r.Int32()
			pt.ErrorCode = r.Int16()
			pt.Timestamp = r.Int64()
			pt.Offset = r.Int64()
			pt.LeaderEpoch = -1
			if v >= 4 {
				pt.LeaderEpoch = r.Int32()
			}
			r.SkipTags(flex)
		})
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}
