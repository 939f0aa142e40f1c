package wire

// ProduceRequest (key 0) writes record batches to partition leaders.
//
// Versions 3-12, flexible from 9. Apache Kafka 4.0 removed v0-2 (KIP-896; it
// still lists v0 in ApiVersions because of KAFKA-18659, but rejects v0-2), so
// v3, the first version carrying RecordBatch v2, is the floor. v13 (Kafka
// 4.1, KIP-516) identifies topics by id only, so v12 is the ceiling.
//
// Transactions: from v12 a transactional produce also adds the partition to
// the transaction (KIP-890 part 2, transaction protocol v2). A producer that
// still sends AddPartitionsToTxn itself must not use a version above 11.
//
// With Acks = 0 the broker sends no response at all: see ExpectsResponse.
type ProduceRequest struct {
	TransactionalId *string // v3+, null if not transactional
	// Acks is the number of acknowledgements the leader waits for: 0 none
	// (no response is sent), 1 the leader only, -1 the full ISR.
	Acks      int16
	TimeoutMs int32
	TopicData []ProduceRequestTopic
}

// ProduceRequestTopic is one topic to produce to.
type ProduceRequestTopic struct {
	Name          string
	PartitionData []ProduceRequestPartition
}

// ProduceRequestPartition carries the records for one partition.
type ProduceRequestPartition struct {
	Index int32
	// Records are encoded record batches (see record.go), written as they
	// are; nil is sent as null.
	Records []byte
}

func (*ProduceRequest) APIKey() int16            { return 0 }
func (*ProduceRequest) Versions() (int16, int16) { return 3, 12 }
func (*ProduceRequest) FlexibleFrom() int16      { return 9 }
func (*ProduceRequest) NewResponse() Response    { return &ProduceResponse{} }

// ExpectsResponse reports whether the broker answers this request. With
// Acks = 0 it does not: the caller must not register the correlation id
// nor wait for a reply, and learns about failures only from the next
// metadata refresh (the broker closes the connection on some errors).
func (q *ProduceRequest) ExpectsResponse() bool { return q.Acks != 0 }

func (q *ProduceRequest) Encode(w *Writer, v int16) {
	flex := v >= 9
	if v >= 3 {
		w.NullableString(flex, q.TransactionalId)
	}
	w.Int16(q.Acks)
	w.Int32(q.TimeoutMs)
	w.ArrayLen(flex, len(q.TopicData))
	for i := range q.TopicData {
		t := &q.TopicData[i]
		w.String(flex, t.Name)
		w.ArrayLen(flex, len(t.PartitionData))
		for j := range t.PartitionData {
			p := &t.PartitionData[j]
			w.Int32(p.Index)
			w.BytesField(flex, p.Records)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	w.Tags(flex)
}

// ProduceResponse reports the outcome for each partition.
type ProduceResponse struct {
	Responses      []ProduceResponseTopic
	ThrottleTimeMs int32 // v1+
	// NodeEndpoints (tagged, v10+) are the brokers named in the partitions'
	// CurrentLeader, sent with NOT_LEADER_OR_FOLLOWER errors (KIP-951).
	NodeEndpoints []ProduceResponseNodeEndpoint
}

// ProduceResponseTopic holds the results for one topic.
type ProduceResponseTopic struct {
	Name               string
	PartitionResponses []ProduceResponsePartition
}

// ProduceResponsePartition is the result for one partition.
type ProduceResponsePartition struct {
	Index           int32
	ErrorCode       int16
	BaseOffset      int64
	LogAppendTimeMs int64                        // v2+, -1 unless the topic uses LogAppendTime
	LogStartOffset  int64                        // v5+, -1 if unknown
	RecordErrors    []ProduceResponseRecordError // v8+
	ErrorMessage    *string                      // v8+
	// CurrentLeader (tagged, v10+) is the new leader when ErrorCode is
	// NOT_LEADER_OR_FOLLOWER; -1/-1 when absent.
	CurrentLeader ProduceResponseCurrentLeader
}

// ProduceResponseRecordError names one record that made its batch fail
// (BatchIndexAndErrorMessage in the spec).
type ProduceResponseRecordError struct {
	BatchIndex             int32
	BatchIndexErrorMessage *string
}

// ProduceResponseCurrentLeader is a leader id and epoch (LeaderIdAndEpoch).
type ProduceResponseCurrentLeader struct {
	LeaderId    int32
	LeaderEpoch int32
}

// ProduceResponseNodeEndpoint is one broker's address (NodeEndpoint).
type ProduceResponseNodeEndpoint struct {
	NodeId int32
	Host   string
	Port   int32
	Rack   *string
}

func (p *ProduceResponse) Decode(r *Reader, v int16) {
	flex := v >= 9
	*p = ProduceResponse{}
	// Name, PartitionResponses: 2+4, or 1+1+1 flexible.
	p.Responses = decodeSlice(r, flex, 3, func(r *Reader, t *ProduceResponseTopic) {
		t.Name = r.String(flex)
		// Index, ErrorCode, BaseOffset, LogAppendTimeMs: 4+2+8+8 (v3).
		t.PartitionResponses = decodeSlice(r, flex, 22, func(r *Reader, pt *ProduceResponsePartition) {
			pt.Index = r.Int32()
			pt.ErrorCode = r.Int16()
			pt.BaseOffset = r.Int64()
			pt.LogAppendTimeMs, pt.LogStartOffset = -1, -1
			pt.CurrentLeader = ProduceResponseCurrentLeader{LeaderId: -1, LeaderEpoch: -1}
			if v >= 2 {
				pt.LogAppendTimeMs = r.Int64()
			}
			if v >= 5 {
				pt.LogStartOffset = r.Int64()
			}
			if v >= 8 {
				pt.RecordErrors = decodeSlice(r, flex, 5, func(r *Reader, e *ProduceResponseRecordError) {
					e.BatchIndex = r.Int32()
					e.BatchIndexErrorMessage = r.NullableString(flex)
					r.SkipTags(flex)
				})
				pt.ErrorMessage = r.NullableString(flex)
			}
			if flex {
				r.Tags(func(tag uint64, data []byte) {
					if tag == 0 && v >= 10 {
						decodeTagged(r, data, func(s *Reader) {
							pt.CurrentLeader.LeaderId = s.Int32()
							pt.CurrentLeader.LeaderEpoch = s.Int32()
							s.SkipTags(true)
						})
					}
				})
			}
		})
		r.SkipTags(flex)
	})
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	if flex {
		r.Tags(func(tag uint64, data []byte) {
			if tag == 0 && v >= 10 {
				decodeTagged(r, data, func(s *Reader) {
					p.NodeEndpoints = decodeNodeEndpoints(s)
				})
			}
		})
	}
}

// decodeNodeEndpoints reads the compact NodeEndpoint array of the
// NodeEndpoints tagged field.
func decodeNodeEndpoints(r *Reader) []ProduceResponseNodeEndpoint {
	// NodeId, Host, Port, Rack, tags: 4+1+4+1+1.
	return decodeSlice(r, true, 11, func(r *Reader, e *ProduceResponseNodeEndpoint) {
		e.NodeId = r.Int32()
		e.Host = r.String(true)
		e.Port = r.Int32()
		e.Rack = r.NullableString(true)
		r.SkipTags(true)
	})
}
