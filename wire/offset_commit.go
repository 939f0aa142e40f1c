package wire

// OffsetCommitRequest (key 8) commits consumed offsets for a group. Versions
// 2-9, flexible from 8: Apache Kafka 4.0 removed v0-1 (KIP-896), and v10
// (KIP-848) identifies topics by TopicId instead of Name, so it is not
// supported here. v9 is the first usable with the KIP-848 consumer protocol
// (GenerationIdOrMemberEpoch then carries the member epoch).
type OffsetCommitRequest struct {
	GroupId string
	// GenerationIdOrMemberEpoch is -1 (with an empty MemberId) for a commit
	// made outside group membership.
	GenerationIdOrMemberEpoch int32   // v1+
	MemberId                  string  // v1+
	GroupInstanceId           *string // v7+
	// RetentionTimeMs (v2-4) is how long the broker keeps the offsets; -1
	// means the broker default. 0 is sent as -1, since a zero retention
	// would expire the commit at once.
	RetentionTimeMs int64
	Topics          []OffsetCommitRequestTopic
}

// OffsetCommitRequestTopic holds the commits of one topic.
type OffsetCommitRequestTopic struct {
	Name       string
	Partitions []OffsetCommitRequestPartition
}

// OffsetCommitRequestPartition is the commit of one partition.
type OffsetCommitRequestPartition struct {
	PartitionIndex       int32
	CommittedOffset      int64
	CommittedLeaderEpoch int32   // v6+, -1 if unknown
	CommittedMetadata    *string // null means none
}

func (*OffsetCommitRequest) APIKey() int16            { return 8 }
func (*OffsetCommitRequest) Versions() (int16, int16) { return 2, 9 }
func (*OffsetCommitRequest) FlexibleFrom() int16      { return 8 }
func (*OffsetCommitRequest) NewResponse() Response    { return &OffsetCommitResponse{} }
func (q *OffsetCommitRequest) Encode(w *Writer, v int16) {
	flex := v >= 8
	w.String(flex, q.GroupId)
	if v >= 1 {
		w.Int32(q.GenerationIdOrMemberEpoch)
		w.String(flex, q.MemberId)
	}
	if v >= 7 {
		w.NullableString(flex, q.GroupInstanceId)
	}
	if v >= 2 && v <= 4 {
		rt := q.RetentionTimeMs
		if rt == 0 {
			rt = -1
		}
		w.Int64(rt)
	}
	w.ArrayLen(flex, len(q.Topics))
	for _, t := range q.Topics {
		w.String(flex, t.Name)
		w.ArrayLen(flex, len(t.Partitions))
		for _, p := range t.Partitions {
			w.Int32(p.PartitionIndex)
			w.Int64(p.CommittedOffset)
			if v >= 6 {
				w.Int32(p.CommittedLeaderEpoch)
			}
			w.NullableString(flex, p.CommittedMetadata)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	w.Tags(flex)
}

// OffsetCommitResponse has one error code per committed partition.
type OffsetCommitResponse struct {
	ThrottleTimeMs int32 // v3+
	Topics         []OffsetCommitResponseTopic
}

// OffsetCommitResponseTopic holds the results of one topic.
type OffsetCommitResponseTopic struct {
	Name       string
	Partitions []OffsetCommitResponsePartition
}

// OffsetCommitResponsePartition is the result of one partition.
type OffsetCommitResponsePartition struct {
	PartitionIndex int32
	ErrorCode      int16
}

func (p *OffsetCommitResponse) Decode(r *Reader, v int16) {
	flex := v >= 8
	if v >= 3 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.Topics = nil
	if n := r.ArrayLen(flex, groupMin(flex, 3, 6)); n > 0 {
		p.Topics = make([]OffsetCommitResponseTopic, n)
	}
	for i := range p.Topics {
		t := &p.Topics[i]
		t.Name = r.String(flex)
		if n := r.ArrayLen(flex, groupMin(flex, 7, 6)); n > 0 {
			t.Partitions = make([]OffsetCommitResponsePartition, n)
		}
		for j := range t.Partitions {
			t.Partitions[j] = OffsetCommitResponsePartition{PartitionIndex: r.Int32(), ErrorCode: r.Int16()}
			r.SkipTags(flex)
		}
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}
