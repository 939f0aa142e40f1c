package wire

// DeleteRecordsRequest (key 21) advances the log start offset of partitions,
// deleting the records before it; it is sent to each partition's leader.
//
// Versions 0-2, flexible from 2. KIP-896 removed no version of it and every
// version names topics, so the full range is supported.
type DeleteRecordsRequest struct {
	Topics    []DeleteRecordsRequestTopic
	TimeoutMs int32
}

// DeleteRecordsRequestTopic is one topic to truncate (DeleteRecordsTopic).
type DeleteRecordsRequestTopic struct {
	Name       string
	Partitions []DeleteRecordsRequestPartition
}

// DeleteRecordsRequestPartition is one partition to truncate
// (DeleteRecordsPartition).
type DeleteRecordsRequestPartition struct {
	PartitionIndex int32
	Offset         int64 // delete before this offset; -1 for the high watermark
}

func (*DeleteRecordsRequest) APIKey() int16            { return 21 }
func (*DeleteRecordsRequest) Versions() (int16, int16) { return 0, 2 }
func (*DeleteRecordsRequest) FlexibleFrom() int16      { return 2 }
func (*DeleteRecordsRequest) NewResponse() Response    { return &DeleteRecordsResponse{} }
func (q *DeleteRecordsRequest) Encode(w *Writer, v int16) {
	flex := v >= 2
	w.ArrayLen(flex, len(q.Topics))
	for i := range q.Topics {
		t := &q.Topics[i]
		w.String(flex, t.Name)
		w.ArrayLen(flex, len(t.Partitions))
		for _, p := range t.Partitions {
			w.Int32(p.PartitionIndex)
			w.Int64(p.Offset)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	w.Int32(q.TimeoutMs)
	w.Tags(flex)
}

// DeleteRecordsResponse gives the new low watermark of each partition.
type DeleteRecordsResponse struct {
	ThrottleTimeMs int32
	Topics         []DeleteRecordsResponseTopic
}

// DeleteRecordsResponseTopic holds one topic's results
// (DeleteRecordsTopicResult).
type DeleteRecordsResponseTopic struct {
	Name       string
	Partitions []DeleteRecordsResponsePartition
}

// DeleteRecordsResponsePartition is one partition's result
// (DeleteRecordsPartitionResult).
type DeleteRecordsResponsePartition struct {
	PartitionIndex int32
	LowWatermark   int64
	ErrorCode      int16
}

func (p *DeleteRecordsResponse) Decode(r *Reader, v int16) {
	flex := v >= 2
	*p = DeleteRecordsResponse{}
	p.ThrottleTimeMs = r.Int32()
	p.Topics = decodeSlice(r, flex, 3, func(r *Reader, t *DeleteRecordsResponseTopic) {
		t.Name = r.String(flex)
		// PartitionIndex, LowWatermark, ErrorCode: 4+8+2.
		t.Partitions = decodeSlice(r, flex, 14, func(r *Reader, pt *DeleteRecordsResponsePartition) {
			pt.PartitionIndex = r.Int32()
			pt.LowWatermark = r.Int64()
			pt.ErrorCode = r.Int16()
			r.SkipTags(flex)
		})
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}
