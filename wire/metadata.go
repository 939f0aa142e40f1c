package wire

import "math"

// MetadataRequest (key 3) asks a broker for the cluster's brokers, its
// controller and the partitions (leaders, replicas, ISR) of some topics.
//
// Versions 0-13, flexible from 9. KIP-896 removed no Metadata version, so
// Apache Kafka 4.x still accepts v0; v13 (Kafka 4.0, KIP-1102) is the newest.
// Every version names topics (v10+ carry the topic id next to the name), so
// the whole range is supported.
type MetadataRequest struct {
	// Topics to describe. nil asks for all topics; an empty non-nil slice
	// asks for none (v1+). v0 has no null array: it sends an empty array,
	// which v0 reads as "all topics", so v0 cannot ask for none.
	Topics                             []MetadataRequestTopic
	AllowAutoTopicCreation             bool // v4+; older versions always allow it
	IncludeClusterAuthorizedOperations bool // v8-10 (use DescribeCluster from v11)
	IncludeTopicAuthorizedOperations   bool // v8+
}

// MetadataRequestTopic names one topic to describe.
type MetadataRequestTopic struct {
	TopicId [16]byte // v10+; brokers only look topics up by id from v12
	// Name of the topic. From v12 an empty Name is sent as null, asking for
	// the topic by TopicId.
	Name string
}

func (*MetadataRequest) APIKey() int16            { return 3 }
func (*MetadataRequest) Versions() (int16, int16) { return 0, 13 }
func (*MetadataRequest) FlexibleFrom() int16      { return 9 }
func (*MetadataRequest) NewResponse() Response    { return &MetadataResponse{} }
func (q *MetadataRequest) Encode(w *Writer, v int16) {
	flex := v >= 9
	if q.Topics == nil && v >= 1 {
		w.ArrayLen(flex, -1)
	} else {
		w.ArrayLen(flex, len(q.Topics))
	}
	for i := range q.Topics {
		t := &q.Topics[i]
		if v >= 10 {
			w.UUID(t.TopicId)
		}
		if v >= 12 && t.Name == "" {
			w.NullableString(flex, nil)
		} else {
			w.String(flex, t.Name)
		}
		w.Tags(flex)
	}
	if v >= 4 {
		w.Bool(q.AllowAutoTopicCreation)
	}
	if v >= 8 && v <= 10 {
		w.Bool(q.IncludeClusterAuthorizedOperations)
	}
	if v >= 8 {
		w.Bool(q.IncludeTopicAuthorizedOperations)
	}
	w.Tags(flex)
}

// MetadataResponse describes the brokers and the requested topics. Fields
// absent from the decoded version keep the spec's default (-1 for ids and
// epochs, math.MinInt32 for authorized operations).
type MetadataResponse struct {
	ThrottleTimeMs              int32 // v3+
	Brokers                     []MetadataResponseBroker
	ClusterId                   *string // v2+, null if unknown
	ControllerId                int32   // v1+, -1 if unknown
	Topics                      []MetadataResponseTopic
	ClusterAuthorizedOperations int32 // v8-10
	ErrorCode                   int16 // v13+, top-level error (KIP-1102)
}

// MetadataResponseBroker is one live broker.
type MetadataResponseBroker struct {
	NodeId int32
	Host   string
	Port   int32
	Rack   *string // v1+, null if not set
}

// MetadataResponseTopic is one topic with its partitions.
type MetadataResponseTopic struct {
	ErrorCode                 int16
	Name                      string   // null (read as "") from v12 when asked by id
	TopicId                   [16]byte // v10+
	IsInternal                bool     // v1+
	Partitions                []MetadataResponsePartition
	TopicAuthorizedOperations int32 // v8+
}

// MetadataResponsePartition is one partition's leader and replica sets.
type MetadataResponsePartition struct {
	ErrorCode       int16
	PartitionIndex  int32
	LeaderId        int32
	LeaderEpoch     int32 // v7+, -1 if unknown
	ReplicaNodes    []int32
	IsrNodes        []int32
	OfflineReplicas []int32 // v5+
}

func (p *MetadataResponse) Decode(r *Reader, v int16) {
	flex := v >= 9
	*p = MetadataResponse{ControllerId: -1, ClusterAuthorizedOperations: math.MinInt32}
	if v >= 3 {
		p.ThrottleTimeMs = r.Int32()
	}
	// NodeId, Host, Port: 4+2+4 (v0); 4+1+4 plus Rack and tags (v9).
	p.Brokers = decodeSlice(r, flex, 10, func(r *Reader, b *MetadataResponseBroker) {
		b.NodeId = r.Int32()
		b.Host = r.String(flex)
		b.Port = r.Int32()
		if v >= 1 {
			b.Rack = r.NullableString(flex)
		}
		r.SkipTags(flex)
	})
	if v >= 2 {
		p.ClusterId = r.NullableString(flex)
	}
	if v >= 1 {
		p.ControllerId = r.Int32()
	}
	// ErrorCode, Name, Partitions: at least 2+2+4 (v0) or 2+1+1+1+4+1 (v9).
	p.Topics = decodeSlice(r, flex, 8, func(r *Reader, t *MetadataResponseTopic) {
		t.ErrorCode = r.Int16()
		t.Name = r.String(flex)
		if v >= 10 {
			t.TopicId = r.UUID()
		}
		if v >= 1 {
			t.IsInternal = r.Bool()
		}
		// ErrorCode, PartitionIndex, LeaderId and two arrays: 2+4+4+4+4 (v0);
		// v9 adds LeaderEpoch and OfflineReplicas: 2+4+4+4+1+1+1+1.
		t.Partitions = decodeSlice(r, flex, 18, func(r *Reader, pt *MetadataResponsePartition) {
			pt.ErrorCode = r.Int16()
			pt.PartitionIndex = r.Int32()
			pt.LeaderId = r.Int32()
			pt.LeaderEpoch = -1
			if v >= 7 {
				pt.LeaderEpoch = r.Int32()
			}
			pt.ReplicaNodes = r.Int32Array(flex)
			pt.IsrNodes = r.Int32Array(flex)
			if v >= 5 {
				pt.OfflineReplicas = r.Int32Array(flex)
			}
			r.SkipTags(flex)
		})
		t.TopicAuthorizedOperations = math.MinInt32
		if v >= 8 {
			t.TopicAuthorizedOperations = r.Int32()
		}
		r.SkipTags(flex)
	})
	if v >= 8 && v <= 10 {
		p.ClusterAuthorizedOperations = r.Int32()
	}
	if v >= 13 {
		p.ErrorCode = r.Int16()
	}
	r.SkipTags(flex)
}

// decodeSlice reads an array header and then each element with fn. elemMin
// is the smallest encoded size of one element, so that a hostile length is
// rejected before anything is allocated. A null or empty array, or a failed
// decode, gives nil. It is shared by the message files of this package.
func decodeSlice[T any](r *Reader, flex bool, elemMin int, fn func(r *Reader, e *T)) []T {
	n := r.ArrayLen(flex, elemMin)
	if n <= 0 {
		return nil
	}
	s := make([]T, n)
	for i := range s {
		fn(r, &s[i])
		if r.Err() != nil {
			return nil
		}
	}
	return s
}

// decodeTagged decodes the payload of one tagged field with fn, reporting a
// malformed payload as an error of r.
func decodeTagged(r *Reader, data []byte, fn func(r *Reader)) {
	s := NewReader(data)
	fn(s)
	if err := s.Err(); err != nil {
		r.Fail(err)
	}
}
