package wire

// OffsetDeleteRequest (key 47) deletes a group's committed offsets for
// partitions it no longer consumes. Version 0 only, never flexible.
type OffsetDeleteRequest struct {
	GroupId string
	Topics  []OffsetDeleteRequestTopic
}

// OffsetDeleteRequestTopic names the partitions of one topic.
type OffsetDeleteRequestTopic struct {
	Name       string
	Partitions []OffsetDeleteRequestPartition
}

// OffsetDeleteRequestPartition is one partition whose offset to delete.
type OffsetDeleteRequestPartition struct {
	PartitionIndex int32
}

func (*OffsetDeleteRequest) APIKey() int16            { return 47 }
func (*OffsetDeleteRequest) Versions() (int16, int16) { return 0, 0 }
func (*OffsetDeleteRequest) FlexibleFrom() int16      { return -1 }
func (*OffsetDeleteRequest) NewResponse() Response    { return &OffsetDeleteResponse{} }
func (q *OffsetDeleteRequest) Encode(w *Writer, v int16) {
	w.String(false, q.GroupId)
	w.ArrayLen(false, len(q.Topics))
	for _, t := range q.Topics {
		w.String(false, t.Name)
		w.ArrayLen(false, len(t.Partitions))
		for _, p := range t.Partitions {
			w.Int32(p.PartitionIndex)
		}
	}
}

// OffsetDeleteResponse has a group-level error and one per partition.
type OffsetDeleteResponse struct {
	ErrorCode      int16
	ThrottleTimeMs int32
	Topics         []OffsetDeleteResponseTopic
}

// OffsetDeleteResponseTopic holds the results of one topic.
type OffsetDeleteResponseTopic struct {
	Name       string
	Partitions []OffsetDeleteResponsePartition
}

// OffsetDeleteResponsePartition is the result of one partition.
type OffsetDeleteResponsePartition struct {
	PartitionIndex int32
	ErrorCode      int16
}

func (p *OffsetDeleteResponse) Decode(r *Reader, v int16) {
	p.ErrorCode = r.Int16()
	p.ThrottleTimeMs = r.Int32()
	p.Topics = nil
	if n := r.ArrayLen(false, 6); n > 0 {
		p.Topics = make([]OffsetDeleteResponseTopic, n)
	}
	for i := range p.Topics {
		t := &p.Topics[i]
		t.Name = r.String(false)
		if n := r.ArrayLen(false, 6); n > 0 {
			t.Partitions = make([]OffsetDeleteResponsePartition, n)
		}
		for j := range t.Partitions {
			t.Partitions[j] = OffsetDeleteResponsePartition{PartitionIndex: r.Int32(), ErrorCode: r.Int16()}
		}
	}
}
