package wire

// CreateTopicsRequest (key 19) creates topics; it must be sent to the
// controller (any broker forwards it in KRaft clusters).
//
// Versions 2-7, flexible from 5. Apache Kafka 4.0 removed v0-1 (KIP-896), so
// v2 is the floor, and v7 is the newest; every version names topics.
type CreateTopicsRequest struct {
	Topics       []CreateTopicsRequestTopic
	TimeoutMs    int32
	ValidateOnly bool // v1+
}

// CreateTopicsRequestTopic is one topic to create (CreatableTopic).
type CreateTopicsRequestTopic struct {
	Name string
	// NumPartitions and ReplicationFactor may be -1 for the broker default
	// (v4+), and must be -1 when Assignments is set.
	NumPartitions     int32
	ReplicationFactor int16
	Assignments       []CreateTopicsRequestAssignment
	Configs           []CreateTopicsRequestConfig
}

// CreateTopicsRequestAssignment places one partition's replicas by hand.
type CreateTopicsRequestAssignment struct {
	PartitionIndex int32
	BrokerIds      []int32
}

// CreateTopicsRequestConfig is one topic config to set.
type CreateTopicsRequestConfig struct {
	Name  string
	Value *string
}

func (*CreateTopicsRequest) APIKey() int16            { return 19 }
func (*CreateTopicsRequest) Versions() (int16, int16) { return 2, 7 }
func (*CreateTopicsRequest) FlexibleFrom() int16      { return 5 }
func (*CreateTopicsRequest) NewResponse() Response    { return &CreateTopicsResponse{} }
func (q *CreateTopicsRequest) Encode(w *Writer, v int16) {
	flex := v >= 5
	w.ArrayLen(flex, len(q.Topics))
	for i := range q.Topics {
		t := &q.Topics[i]
		w.String(flex, t.Name)
		w.Int32(t.NumPartitions)
		w.Int16(t.ReplicationFactor)
		w.ArrayLen(flex, len(t.Assignments))
		for _, a := range t.Assignments {
			w.Int32(a.PartitionIndex)
			w.Int32Array(flex, a.BrokerIds)
			w.Tags(flex)
		}
		w.ArrayLen(flex, len(t.Configs))
		for _, c := range t.Configs {
			w.String(flex, c.Name)
			w.NullableString(flex, c.Value)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	w.Int32(q.TimeoutMs)
	if v >= 1 {
		w.Bool(q.ValidateOnly)
	}
	w.Tags(flex)
}

// CreateTopicsResponse gives the result for each topic.
type CreateTopicsResponse struct {
	ThrottleTimeMs int32 // v2+
	Topics         []CreateTopicsResponseTopic
}

// CreateTopicsResponseTopic is the result for one topic (CreatableTopicResult).
type CreateTopicsResponseTopic struct {
	Name         string
	TopicId      [16]byte // v7+
	ErrorCode    int16
	ErrorMessage *string // v1+
	// TopicConfigErrorCode (tagged, v5+) is set when the configs could not
	// be described (the topic was created all the same).
	TopicConfigErrorCode int16
	NumPartitions        int32                        // v5+, -1 if unknown
	ReplicationFactor    int16                        // v5+, -1 if unknown
	Configs              []CreateTopicsResponseConfig // v5+, nil if null
}

// CreateTopicsResponseConfig is one config of the created topic.
type CreateTopicsResponseConfig struct {
	Name         string
	Value        *string
	ReadOnly     bool
	ConfigSource int8 // a ConfigSource* constant
	IsSensitive  bool
}

func (p *CreateTopicsResponse) Decode(r *Reader, v int16) {
	flex := v >= 5
	*p = CreateTopicsResponse{}
	if v >= 2 {
		p.ThrottleTimeMs = r.Int32()
	}
	// Name, ErrorCode, ErrorMessage: 2+2+2 (v2).
	p.Topics = decodeSlice(r, flex, 6, func(r *Reader, t *CreateTopicsResponseTopic) {
		t.Name = r.String(flex)
		if v >= 7 {
			t.TopicId = r.UUID()
		}
		t.ErrorCode = r.Int16()
		if v >= 1 {
			t.ErrorMessage = r.NullableString(flex)
		}
		t.NumPartitions, t.ReplicationFactor = -1, -1
		if v >= 5 {
			t.NumPartitions = r.Int32()
			t.ReplicationFactor = r.Int16()
			// Name, Value, ReadOnly, ConfigSource, IsSensitive, tags.
			t.Configs = decodeSlice(r, flex, 6, func(r *Reader, c *CreateTopicsResponseConfig) {
				c.Name = r.String(flex)
				c.Value = r.NullableString(flex)
				c.ReadOnly = r.Bool()
				c.ConfigSource = r.Int8()
				c.IsSensitive = r.Bool()
				r.SkipTags(flex)
			})
		}
		if flex {
			r.Tags(func(tag uint64, data []byte) {
				if tag == 0 {
					decodeTagged(r, data, func(s *Reader) { t.TopicConfigErrorCode = s.Int16() })
				}
			})
		}
	})
	r.SkipTags(flex)
}
