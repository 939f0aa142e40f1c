package wire

// CreatePartitionsRequest (key 37) adds partitions to existing topics; it
// must be sent to the controller (any broker forwards it in KRaft clusters).
//
// Versions 0-3, flexible from 2. KIP-896 removed no CreatePartitions version
// and every version names topics, so the full range is supported.
type CreatePartitionsRequest struct {
	Topics       []CreatePartitionsRequestTopic
	TimeoutMs    int32
	ValidateOnly bool
}

// CreatePartitionsRequestTopic raises one topic's partition count.
type CreatePartitionsRequestTopic struct {
	Name  string
	Count int32 // the new total number of partitions
	// Assignments place the new partitions' replicas, one entry per new
	// partition; nil (sent as null) lets the controller place them.
	Assignments []CreatePartitionsRequestAssignment
}

// CreatePartitionsRequestAssignment lists the replicas of one new partition.
type CreatePartitionsRequestAssignment struct {
	BrokerIds []int32
}

func (*CreatePartitionsRequest) APIKey() int16            { return 37 }
func (*CreatePartitionsRequest) Versions() (int16, int16) { return 0, 3 }
func (*CreatePartitionsRequest) FlexibleFrom() int16      { return 2 }
func (*CreatePartitionsRequest) NewResponse() Response    { return &CreatePartitionsResponse{} }
func (q *CreatePartitionsRequest) Encode(w *Writer, v int16) {
	flex := v >= 2
	w.ArrayLen(flex, len(q.Topics))
	for i := range q.Topics {
		t := &q.Topics[i]
		w.String(flex, t.Name)
		w.Int32(t.Count)
		if t.Assignments == nil {
			w.ArrayLen(flex, -1)
		} else {
			w.ArrayLen(flex, len(t.Assignments))
		}
		for _, a := range t.Assignments {
			w.Int32Array(flex, a.BrokerIds)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	w.Int32(q.TimeoutMs)
	w.Bool(q.ValidateOnly)
	w.Tags(flex)
}

// CreatePartitionsResponse gives the result for each topic.
type CreatePartitionsResponse struct {
	ThrottleTimeMs int32
	Results        []CreatePartitionsResponseResult
}

// CreatePartitionsResponseResult is the result for one topic
// (CreatePartitionsTopicResult).
type CreatePartitionsResponseResult struct {
	Name         string
	ErrorCode    int16
	ErrorMessage *string
}

func (p *CreatePartitionsResponse) Decode(r *Reader, v int16) {
	flex := v >= 2
	*p = CreatePartitionsResponse{}
	p.ThrottleTimeMs = r.Int32()
	// Name, ErrorCode, ErrorMessage: 2+2+2, or 1+2+1+1 flexible.
	p.Results = decodeSlice(r, flex, 5, func(r *Reader, t *CreatePartitionsResponseResult) {
		t.Name = r.String(flex)
		t.ErrorCode = r.Int16()
		t.ErrorMessage = r.NullableString(flex)
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}
