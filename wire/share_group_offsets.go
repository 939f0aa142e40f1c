package wire

// The share-group offset administration APIs (KIP-932): describe, alter
// and delete the share-partition start offsets (SPSO) a share group keeps
// per partition. All three go to the group's coordinator and are always
// flexible. Kafka 4.0 shipped them unstable (not advertised); 4.1 made
// version 0 final; 4.2 added DescribeShareGroupOffsets v1 with the lag
// (KIP-1226). franz-go kfake answers the same versions.

// DescribeShareGroupOffsetsRequest (key 90) fetches the start offsets of
// share groups. Versions 0-1 (v1: the response carries the lag).
type DescribeShareGroupOffsetsRequest struct {
	Groups []DescribeShareGroupOffsetsRequestGroup
}

// DescribeShareGroupOffsetsRequestGroup is one group to describe.
type DescribeShareGroupOffsetsRequestGroup struct {
	GroupId string
	// Topics is nil for every partition the group has state for (sent as
	// a null array), else the partitions to describe.
	Topics []DescribeShareGroupOffsetsRequestTopic
}

// DescribeShareGroupOffsetsRequestTopic names partitions of one topic.
type DescribeShareGroupOffsetsRequestTopic struct {
	TopicName  string
	Partitions []int32
}

func (*DescribeShareGroupOffsetsRequest) APIKey() int16            { return 90 }
func (*DescribeShareGroupOffsetsRequest) Versions() (int16, int16) { return 0, 1 }
func (*DescribeShareGroupOffsetsRequest) FlexibleFrom() int16      { return 0 }
func (*DescribeShareGroupOffsetsRequest) NewResponse() Response {
	return &DescribeShareGroupOffsetsResponse{}
}
func (q *DescribeShareGroupOffsetsRequest) Encode(w *Writer, v int16) {
	const flex = true
	w.ArrayLen(flex, len(q.Groups))
	for _, g := range q.Groups {
		w.String(flex, g.GroupId)
		if g.Topics == nil {
			w.ArrayLen(flex, -1)
		} else {
			w.ArrayLen(flex, len(g.Topics))
			for _, t := range g.Topics {
				w.String(flex, t.TopicName)
				w.Int32Array(flex, t.Partitions)
				w.Tags(flex)
			}
		}
		w.Tags(flex)
	}
	w.Tags(flex)
}

// DescribeShareGroupOffsetsResponse holds the start offsets per group.
type DescribeShareGroupOffsetsResponse struct {
	ThrottleTimeMs int32
	Groups         []DescribeShareGroupOffsetsResponseGroup
}

// DescribeShareGroupOffsetsResponseGroup is one group's result; ErrorCode
// is the group-level error (e.g. GROUP_ID_NOT_FOUND).
type DescribeShareGroupOffsetsResponseGroup struct {
	GroupId      string
	Topics       []DescribeShareGroupOffsetsResponseTopic
	ErrorCode    int16
	ErrorMessage *string
}

// DescribeShareGroupOffsetsResponseTopic is one topic's partitions.
type DescribeShareGroupOffsetsResponseTopic struct {
	TopicName  string
	TopicId    [16]byte
	Partitions []DescribeShareGroupOffsetsResponsePartition
}

// DescribeShareGroupOffsetsResponsePartition is one partition's start
// offset (-1 when the group has no state for it).
type DescribeShareGroupOffsetsResponsePartition struct {
	PartitionIndex int32
	StartOffset    int64
	LeaderEpoch    int32
	Lag            int64 // v1+; -1 when unknown (and below v1)
	ErrorCode      int16
	ErrorMessage   *string
}

func (p *DescribeShareGroupOffsetsResponse) Decode(r *Reader, v int16) {
	const flex = true
	*p = DescribeShareGroupOffsetsResponse{}
	p.ThrottleTimeMs = r.Int32()
	// GroupId, Topics, ErrorCode, ErrorMessage, tags: 1+1+2+1+1.
	p.Groups = decodeSlice(r, flex, 6, func(r *Reader, g *DescribeShareGroupOffsetsResponseGroup) {
		g.GroupId = r.String(flex)
		// TopicName, TopicId, Partitions, tags: 1+16+1+1.
		g.Topics = decodeSlice(r, flex, 19, func(r *Reader, t *DescribeShareGroupOffsetsResponseTopic) {
			t.TopicName = r.String(flex)
			t.TopicId = r.UUID()
			// PartitionIndex, StartOffset, LeaderEpoch, [Lag],
			// ErrorCode, ErrorMessage, tags: 4+8+4+[8]+2+1+1.
			elem := 20
			if v >= 1 {
				elem = 28
			}
			t.Partitions = decodeSlice(r, flex, elem, func(r *Reader, pp *DescribeShareGroupOffsetsResponsePartition) {
				pp.PartitionIndex = r.Int32()
				pp.StartOffset = r.Int64()
				pp.LeaderEpoch = r.Int32()
				pp.Lag = -1
				if v >= 1 {
					pp.Lag = r.Int64()
				}
				pp.ErrorCode = r.Int16()
				pp.ErrorMessage = r.NullableString(flex)
				r.SkipTags(flex)
			})
			r.SkipTags(flex)
		})
		g.ErrorCode = r.Int16()
		g.ErrorMessage = r.NullableString(flex)
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}

// AlterShareGroupOffsetsRequest (key 91) sets the start offsets of a share
// group, which must have no members (NON_EMPTY_GROUP otherwise). Version 0.
type AlterShareGroupOffsetsRequest struct {
	GroupId string
	Topics  []AlterShareGroupOffsetsRequestTopic
}

// AlterShareGroupOffsetsRequestTopic is one topic's new start offsets.
type AlterShareGroupOffsetsRequestTopic struct {
	TopicName  string
	Partitions []AlterShareGroupOffsetsRequestPartition
}

// AlterShareGroupOffsetsRequestPartition is one partition's new start
// offset.
type AlterShareGroupOffsetsRequestPartition struct {
	PartitionIndex int32
	StartOffset    int64
}

func (*AlterShareGroupOffsetsRequest) APIKey() int16            { return 91 }
func (*AlterShareGroupOffsetsRequest) Versions() (int16, int16) { return 0, 0 }
func (*AlterShareGroupOffsetsRequest) FlexibleFrom() int16      { return 0 }
func (*AlterShareGroupOffsetsRequest) NewResponse() Response {
	return &AlterShareGroupOffsetsResponse{}
}
func (q *AlterShareGroupOffsetsRequest) Encode(w *Writer, v int16) {
	const flex = true
	w.String(flex, q.GroupId)
	w.ArrayLen(flex, len(q.Topics))
	for _, t := range q.Topics {
		w.String(flex, t.TopicName)
		w.ArrayLen(flex, len(t.Partitions))
		for _, p := range t.Partitions {
			w.Int32(p.PartitionIndex)
			w.Int64(p.StartOffset)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	w.Tags(flex)
}

// AlterShareGroupOffsetsResponse has a request-level error (e.g.
// NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND) and one per partition.
type AlterShareGroupOffsetsResponse struct {
	ThrottleTimeMs int32
	ErrorCode      int16
	ErrorMessage   *string
	Topics         []AlterShareGroupOffsetsResponseTopic // the spec's Responses
}

// AlterShareGroupOffsetsResponseTopic is one topic's results.
type AlterShareGroupOffsetsResponseTopic struct {
	TopicName  string
	TopicId    [16]byte
	Partitions []AlterShareGroupOffsetsResponsePartition
}

// AlterShareGroupOffsetsResponsePartition is one partition's result.
type AlterShareGroupOffsetsResponsePartition struct {
	PartitionIndex int32
	ErrorCode      int16
	ErrorMessage   *string
}

func (p *AlterShareGroupOffsetsResponse) Decode(r *Reader, v int16) {
	const flex = true
	*p = AlterShareGroupOffsetsResponse{}
	p.ThrottleTimeMs = r.Int32()
	p.ErrorCode = r.Int16()
	p.ErrorMessage = r.NullableString(flex)
	// TopicName, TopicId, Partitions, tags: 1+16+1+1.
	p.Topics = decodeSlice(r, flex, 19, func(r *Reader, t *AlterShareGroupOffsetsResponseTopic) {
		t.TopicName = r.String(flex)
		t.TopicId = r.UUID()
		// PartitionIndex, ErrorCode, ErrorMessage, tags: 4+2+1+1.
		t.Partitions = decodeSlice(r, flex, 8, func(r *Reader, pp *AlterShareGroupOffsetsResponsePartition) {
			pp.PartitionIndex = r.Int32()
			pp.ErrorCode = r.Int16()
			pp.ErrorMessage = r.NullableString(flex)
			r.SkipTags(flex)
		})
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}

// DeleteShareGroupOffsetsRequest (key 92) deletes a share group's state
// for whole topics; the group must have no members (NON_EMPTY_GROUP
// otherwise). Version 0.
type DeleteShareGroupOffsetsRequest struct {
	GroupId string
	Topics  []DeleteShareGroupOffsetsRequestTopic
}

// DeleteShareGroupOffsetsRequestTopic names one topic whose state to
// delete (all its partitions).
type DeleteShareGroupOffsetsRequestTopic struct {
	TopicName string
}

func (*DeleteShareGroupOffsetsRequest) APIKey() int16            { return 92 }
func (*DeleteShareGroupOffsetsRequest) Versions() (int16, int16) { return 0, 0 }
func (*DeleteShareGroupOffsetsRequest) FlexibleFrom() int16      { return 0 }
func (*DeleteShareGroupOffsetsRequest) NewResponse() Response {
	return &DeleteShareGroupOffsetsResponse{}
}
func (q *DeleteShareGroupOffsetsRequest) Encode(w *Writer, v int16) {
	const flex = true
	w.String(flex, q.GroupId)
	w.ArrayLen(flex, len(q.Topics))
	for _, t := range q.Topics {
		w.String(flex, t.TopicName)
		w.Tags(flex)
	}
	w.Tags(flex)
}

// DeleteShareGroupOffsetsResponse has a request-level error and one per
// topic.
type DeleteShareGroupOffsetsResponse struct {
	ThrottleTimeMs int32
	ErrorCode      int16
	ErrorMessage   *string
	Topics         []DeleteShareGroupOffsetsResponseTopic // the spec's Responses
}

// DeleteShareGroupOffsetsResponseTopic is one topic's result.
type DeleteShareGroupOffsetsResponseTopic struct {
	TopicName    string
	TopicId      [16]byte
	ErrorCode    int16
	ErrorMessage *string
}

func (p *DeleteShareGroupOffsetsResponse) Decode(r *Reader, v int16) {
	const flex = true
	*p = DeleteShareGroupOffsetsResponse{}
	p.ThrottleTimeMs = r.Int32()
	p.ErrorCode = r.Int16()
	p.ErrorMessage = r.NullableString(flex)
	// TopicName, TopicId, ErrorCode, ErrorMessage, tags: 1+16+2+1+1.
	p.Topics = decodeSlice(r, flex, 21, func(r *Reader, t *DeleteShareGroupOffsetsResponseTopic) {
		t.TopicName = r.String(flex)
		t.TopicId = r.UUID()
		t.ErrorCode = r.Int16()
		t.ErrorMessage = r.NullableString(flex)
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}
