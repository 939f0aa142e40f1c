package wire

// DeleteTopicsRequest (key 20) deletes topics by name; it must be sent to
// the controller (any broker forwards it in KRaft clusters).
//
// Versions 1-6, flexible from 4. Apache Kafka 4.0 removed v0 (KIP-896), so v1
// is the floor. v6 replaces TopicNames with Topics [Name, TopicId] but still
// accepts names, so it is supported too: it is written with each name and a
// zero topic id. Deleting by topic id alone is not supported.
type DeleteTopicsRequest struct {
	TopicNames []string
	TimeoutMs  int32
}

func (*DeleteTopicsRequest) APIKey() int16            { return 20 }
func (*DeleteTopicsRequest) Versions() (int16, int16) { return 1, 6 }
func (*DeleteTopicsRequest) FlexibleFrom() int16      { return 4 }
func (*DeleteTopicsRequest) NewResponse() Response    { return &DeleteTopicsResponse{} }
func (q *DeleteTopicsRequest) Encode(w *Writer, v int16) {
	flex := v >= 4
	if v >= 6 {
		w.ArrayLen(flex, len(q.TopicNames))
		for _, name := range q.TopicNames {
			w.String(flex, name)
			w.UUID([16]byte{})
			w.Tags(flex)
		}
	} else {
		w.StringArray(flex, q.TopicNames)
	}
	w.Int32(q.TimeoutMs)
	w.Tags(flex)
}

// DeleteTopicsResponse gives the result for each topic.
type DeleteTopicsResponse struct {
	ThrottleTimeMs int32 // v1+
	Responses      []DeleteTopicsResponseTopic
}

// DeleteTopicsResponseTopic is the result for one topic (DeletableTopicResult).
type DeleteTopicsResponseTopic struct {
	Name         string   // null (read as "") from v6 when deleted by id
	TopicId      [16]byte // v6+
	ErrorCode    int16
	ErrorMessage *string // v5+
}

func (p *DeleteTopicsResponse) Decode(r *Reader, v int16) {
	flex := v >= 4
	*p = DeleteTopicsResponse{}
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	// Name, ErrorCode: 2+2, or 1+2+1 flexible.
	p.Responses = decodeSlice(r, flex, 4, func(r *Reader, t *DeleteTopicsResponseTopic) {
		t.Name = r.String(flex)
		if v >= 6 {
			t.TopicId = r.UUID()
		}
		t.ErrorCode = r.Int16()
		if v >= 5 {
			t.ErrorMessage = r.NullableString(flex)
		}
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}
