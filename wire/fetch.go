package wire

// Isolation levels of Fetch and ListOffsets.
const (
	// IsolationReadUncommitted reads up to the high watermark.
	IsolationReadUncommitted int8 = 0
	// IsolationReadCommitted reads up to the last stable offset and skips
	// aborted transactions.
	IsolationReadCommitted int8 = 1
)

// FetchRequest (key 1) reads record batches from partition leaders (or
// preferred read replicas), as a consumer.
//
// Versions 4-12, flexible from 12. Apache Kafka 4.0 removed v0-3 (KIP-896),
// so v4, the first version that carries RecordBatch v2 and the isolation
// level, is the floor. v13+ identify topics by id only (KIP-516), so v12 is
// the ceiling.
//
// The request always goes out as a consumer's: ReplicaId (v0-14) is written
// as -1, and the tagged ClusterId and ReplicaState are never sent.
//
// Several fields have a spec default that is not Go's zero value: set
// MaxBytes (0x7fffffff), SessionEpoch (-1 for no session; 0 with SessionId 0
// opens one), and per partition CurrentLeaderEpoch, LastFetchedEpoch and
// LogStartOffset (-1 when unknown) explicitly.
type FetchRequest struct {
	MaxWaitMs           int32
	MinBytes            int32
	MaxBytes            int32 // v3+
	IsolationLevel      int8  // v4+, IsolationReadUncommitted or IsolationReadCommitted
	SessionId           int32 // v7+
	SessionEpoch        int32 // v7+
	Topics              []FetchRequestTopic
	ForgottenTopicsData []FetchRequestForgottenTopic // v7+
	RackId              string                       // v11+
}

// FetchRequestTopic is one topic to fetch from.
type FetchRequestTopic struct {
	Topic      string
	Partitions []FetchRequestPartition
}

// FetchRequestPartition is one partition to fetch from.
type FetchRequestPartition struct {
	Partition          int32
	CurrentLeaderEpoch int32 // v9+, -1 to skip fencing
	FetchOffset        int64
	LastFetchedEpoch   int32 // v12+, -1 if unknown
	LogStartOffset     int64 // v5+, -1 for a consumer
	PartitionMaxBytes  int32
}

// FetchRequestForgottenTopic lists partitions to remove from the fetch
// session (incremental fetches, v7+).
type FetchRequestForgottenTopic struct {
	Topic      string
	Partitions []int32
}

func (*FetchRequest) APIKey() int16            { return 1 }
func (*FetchRequest) Versions() (int16, int16) { return 4, 12 }
func (*FetchRequest) FlexibleFrom() int16      { return 12 }
func (*FetchRequest) NewResponse() Response    { return &FetchResponse{} }
func (q *FetchRequest) Encode(w *Writer, v int16) {
	flex := v >= 12
	w.Int32(-1) // ReplicaId: a consumer
	w.Int32(q.MaxWaitMs)
	w.Int32(q.MinBytes)
	if v >= 3 {
		w.Int32(q.MaxBytes)
	}
	if v >= 4 {
		w.Int8(q.IsolationLevel)
	}
	if v >= 7 {
		w.Int32(q.SessionId)
		w.Int32(q.SessionEpoch)
	}
	w.ArrayLen(flex, len(q.Topics))
	for i := range q.Topics {
		t := &q.Topics[i]
		w.String(flex, t.Topic)
		w.ArrayLen(flex, len(t.Partitions))
		for j := range t.Partitions {
			p := &t.Partitions[j]
			w.Int32(p.Partition)
			if v >= 9 {
				w.Int32(p.CurrentLeaderEpoch)
			}
			w.Int64(p.FetchOffset)
			if v >= 12 {
				w.Int32(p.LastFetchedEpoch)
			}
			if v >= 5 {
				w.Int64(p.LogStartOffset)
			}
			w.Int32(p.PartitionMaxBytes)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	if v >= 7 {
		w.ArrayLen(flex, len(q.ForgottenTopicsData))
		for i := range q.ForgottenTopicsData {
			t := &q.ForgottenTopicsData[i]
			w.String(flex, t.Topic)
			w.Int32Array(flex, t.Partitions)
			w.Tags(flex)
		}
	}
	if v >= 11 {
		w.String(flex, q.RackId)
	}
	w.Tags(flex)
}

// FetchResponse carries the fetched records per partition.
type FetchResponse struct {
	ThrottleTimeMs int32 // v1+
	ErrorCode      int16 // v7+, top-level (fetch session) error
	SessionId      int32 // v7+
	Responses      []FetchResponseTopic
}

// FetchResponseTopic holds the partitions fetched from one topic.
type FetchResponseTopic struct {
	Topic      string
	Partitions []FetchResponsePartition
}

// FetchResponsePartition is the data and state of one partition (the spec's
// PartitionData). Fields absent from the decoded version are -1.
type FetchResponsePartition struct {
	PartitionIndex   int32
	ErrorCode        int16
	HighWatermark    int64
	LastStableOffset int64 // v4+
	LogStartOffset   int64 // v5+
	// DivergingEpoch (tagged, v12+) is set when the log diverged from
	// LastFetchedEpoch: the consumer must truncate (KIP-320). -1/-1 if absent.
	DivergingEpoch FetchResponseDivergingEpoch
	// CurrentLeader (tagged, v12+) names the new leader on a leadership
	// error. -1/-1 if absent.
	CurrentLeader        FetchResponseCurrentLeader
	AbortedTransactions  []FetchResponseAbortedTransaction // v4+, nil if null
	PreferredReadReplica int32                             // v11+, -1 if none
	// Records are the raw record batches, aliasing the decoded input (nil
	// if null). The last batch may be truncated by the size limits.
	Records []byte
}

// FetchResponseDivergingEpoch is an epoch and its end offset (EpochEndOffset).
type FetchResponseDivergingEpoch struct {
	Epoch     int32
	EndOffset int64
}

// FetchResponseCurrentLeader is a leader id and epoch (LeaderIdAndEpoch).
type FetchResponseCurrentLeader struct {
	LeaderId    int32
	LeaderEpoch int32
}

// FetchResponseAbortedTransaction is an aborted transaction of a producer,
// starting at FirstOffset, to skip under IsolationReadCommitted.
type FetchResponseAbortedTransaction struct {
	ProducerId  int64
	FirstOffset int64
}

func (p *FetchResponse) Decode(r *Reader, v int16) {
	flex := v >= 12
	*p = FetchResponse{}
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	if v >= 7 {
		p.ErrorCode = r.Int16()
		p.SessionId = r.Int32()
	}
	// Topic, Partitions: 2+4, or 1+1+1 flexible.
	p.Responses = decodeSlice(r, flex, 3, func(r *Reader, t *FetchResponseTopic) {
		t.Topic = r.String(flex)
		// PartitionIndex, ErrorCode, HighWatermark, LastStableOffset,
		// AbortedTransactions, Records: 4+2+8+8+4+4 (v4).
		t.Partitions = decodeSlice(r, flex, 30, func(r *Reader, pt *FetchResponsePartition) {
			pt.decode(r, v, flex)
		})
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}

func (pt *FetchResponsePartition) decode(r *Reader, v int16, flex bool) {
	pt.PartitionIndex = r.Int32()
	pt.ErrorCode = r.Int16()
	pt.HighWatermark = r.Int64()
	pt.LastStableOffset, pt.LogStartOffset, pt.PreferredReadReplica = -1, -1, -1
	pt.DivergingEpoch = FetchResponseDivergingEpoch{Epoch: -1, EndOffset: -1}
	pt.CurrentLeader = FetchResponseCurrentLeader{LeaderId: -1, LeaderEpoch: -1}
	if v >= 4 {
		pt.LastStableOffset = r.Int64()
	}
	if v >= 5 {
		pt.LogStartOffset = r.Int64()
	}
	if v >= 4 {
		pt.AbortedTransactions = decodeSlice(r, flex, 16, func(r *Reader, a *FetchResponseAbortedTransaction) {
			a.ProducerId = r.Int64()
			a.FirstOffset = r.Int64()
			r.SkipTags(flex)
		})
	}
	if v >= 11 {
		pt.PreferredReadReplica = r.Int32()
	}
	pt.Records = r.BytesField(flex)
	if !flex {
		return
	}
	r.Tags(func(tag uint64, data []byte) {
		switch tag {
		case 0: // DivergingEpoch
			decodeTagged(r, data, func(s *Reader) {
				pt.DivergingEpoch.Epoch = s.Int32()
				pt.DivergingEpoch.EndOffset = s.Int64()
				s.SkipTags(true)
			})
		case 1: // CurrentLeader
			decodeTagged(r, data, func(s *Reader) {
				pt.CurrentLeader.LeaderId = s.Int32()
				pt.CurrentLeader.LeaderEpoch = s.Int32()
				s.SkipTags(true)
			})
		}
	})
}
