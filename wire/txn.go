package wire

// AddPartitionsToTxnRequest (key 24) adds partitions to a producer's
// transaction. Versions 0-3, flexible from 3: v4+ is the broker-to-broker
// batched form (Transactions, VerifyOnly; KIP-890), which clients do not
// send, and producers on transaction protocol v2 add partitions implicitly
// by producing. The Go field names keep the JSON names of the client form.
type AddPartitionsToTxnRequest struct {
	V3AndBelowTransactionalId string
	V3AndBelowProducerId      int64
	V3AndBelowProducerEpoch   int16
	V3AndBelowTopics          []AddPartitionsToTxnTopic
}

// AddPartitionsToTxnTopic names the partitions of one topic.
type AddPartitionsToTxnTopic struct {
	Name       string
	Partitions []int32
}

func (*AddPartitionsToTxnRequest) APIKey() int16            { return 24 }
func (*AddPartitionsToTxnRequest) Versions() (int16, int16) { return 0, 3 }
func (*AddPartitionsToTxnRequest) FlexibleFrom() int16      { return 3 }
func (*AddPartitionsToTxnRequest) NewResponse() Response    { return &AddPartitionsToTxnResponse{} }
func (q *AddPartitionsToTxnRequest) Encode(w *Writer, v int16) {
	flex := v >= 3
	w.String(flex, q.V3AndBelowTransactionalId)
	w.Int64(q.V3AndBelowProducerId)
	w.Int16(q.V3AndBelowProducerEpoch)
	w.ArrayLen(flex, len(q.V3AndBelowTopics))
	for _, t := range q.V3AndBelowTopics {
		w.String(flex, t.Name)
		w.Int32Array(flex, t.Partitions)
		w.Tags(flex)
	}
	w.Tags(flex)
}

// AddPartitionsToTxnResponse has one error code per partition.
type AddPartitionsToTxnResponse struct {
	ThrottleTimeMs           int32
	ResultsByTopicV3AndBelow []AddPartitionsToTxnTopicResult
}

// AddPartitionsToTxnTopicResult holds the results of one topic.
type AddPartitionsToTxnTopicResult struct {
	Name               string
	ResultsByPartition []AddPartitionsToTxnPartitionResult
}

// AddPartitionsToTxnPartitionResult is the result of one partition.
type AddPartitionsToTxnPartitionResult struct {
	PartitionIndex     int32
	PartitionErrorCode int16
}

func (p *AddPartitionsToTxnResponse) Decode(r *Reader, v int16) {
	flex := v >= 3
	p.ThrottleTimeMs = r.Int32()
	p.ResultsByTopicV3AndBelow = nil
	if n := r.ArrayLen(flex, groupMin(flex, 3, 6)); n > 0 {
		p.ResultsByTopicV3AndBelow = make([]AddPartitionsToTxnTopicResult, n)
	}
	for i := range p.ResultsByTopicV3AndBelow {
		t := &p.ResultsByTopicV3AndBelow[i]
		t.Name = r.String(flex)
		if n := r.ArrayLen(flex, groupMin(flex, 7, 6)); n > 0 {
			t.ResultsByPartition = make([]AddPartitionsToTxnPartitionResult, n)
		}
		for j := range t.ResultsByPartition {
			t.ResultsByPartition[j] = AddPartitionsToTxnPartitionResult{PartitionIndex: r.Int32(), PartitionErrorCode: r.Int16()}
			r.SkipTags(flex)
		}
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}

// AddOffsetsToTxnRequest (key 25) adds a group's offset commits to a
// transaction (followed by TxnOffsetCommit to the group coordinator).
// Versions 0-4, flexible from 3; v4 only adds TRANSACTION_ABORTABLE.
type AddOffsetsToTxnRequest struct {
	TransactionalId string
	ProducerId      int64
	ProducerEpoch   int16
	GroupId         string
}

func (*AddOffsetsToTxnRequest) APIKey() int16            { return 25 }
func (*AddOffsetsToTxnRequest) Versions() (int16, int16) { return 0, 4 }
func (*AddOffsetsToTxnRequest) FlexibleFrom() int16      { return 3 }
func (*AddOffsetsToTxnRequest) NewResponse() Response    { return &AddOffsetsToTxnResponse{} }
func (q *AddOffsetsToTxnRequest) Encode(w *Writer, v int16) {
	flex := v >= 3
	w.String(flex, q.TransactionalId)
	w.Int64(q.ProducerId)
	w.Int16(q.ProducerEpoch)
	w.String(flex, q.GroupId)
	w.Tags(flex)
}

// AddOffsetsToTxnResponse is a single error code.
type AddOffsetsToTxnResponse struct {
	ThrottleTimeMs int32
	ErrorCode      int16
}

func (p *AddOffsetsToTxnResponse) Decode(r *Reader, v int16) {
	flex := v >= 3
	p.ThrottleTimeMs = r.Int32()
	p.ErrorCode = r.Int16()
	r.SkipTags(flex)
}

// EndTxnRequest (key 26) commits or aborts a transaction. Versions 0-5,
// flexible from 3; v5 is transaction protocol v2 (KIP-890 part 2), where
// the coordinator bumps the producer epoch at every transaction end and
// returns the new id/epoch.
type EndTxnRequest struct {
	TransactionalId string
	ProducerId      int64
	ProducerEpoch   int16
	Committed       bool // true to commit, false to abort
}

func (*EndTxnRequest) APIKey() int16            { return 26 }
func (*EndTxnRequest) Versions() (int16, int16) { return 0, 5 }
func (*EndTxnRequest) FlexibleFrom() int16      { return 3 }
func (*EndTxnRequest) NewResponse() Response    { return &EndTxnResponse{} }
func (q *EndTxnRequest) Encode(w *Writer, v int16) {
	flex := v >= 3
	w.String(flex, q.TransactionalId)
	w.Int64(q.ProducerId)
	w.Int16(q.ProducerEpoch)
	w.Bool(q.Committed)
	w.Tags(flex)
}

// EndTxnResponse is an error code and, from v5, the producer id and epoch to
// use next.
type EndTxnResponse struct {
	ThrottleTimeMs int32
	ErrorCode      int16
	ProducerId     int64 // v5+, -1 before
	ProducerEpoch  int16 // v5+, -1 before
}

func (p *EndTxnResponse) Decode(r *Reader, v int16) {
	flex := v >= 3
	p.ThrottleTimeMs = r.Int32()
	p.ErrorCode = r.Int16()
	p.ProducerId, p.ProducerEpoch = -1, -1
	if v >= 5 {
		p.ProducerId = r.Int64()
		p.ProducerEpoch = r.Int16()
	}
	r.SkipTags(flex)
}

// TxnOffsetCommitRequest (key 28) commits offsets within a transaction; they
// become visible when the transaction commits. Versions 0-5, flexible from
// 3; v5 (KIP-890) may be used without a prior AddOffsetsToTxn on
// transaction protocol v2. Later versions that identify topics by TopicId are
// not supported.
type TxnOffsetCommitRequest struct {
	TransactionalId string
	GroupId         string
	ProducerId      int64
	ProducerEpoch   int16
	// GenerationId, MemberId and GroupInstanceId (v3+) let the coordinator
	// fence zombie members (KIP-447); send -1, "" and nil when the producer
	// is not tied to a group member.
	GenerationId    int32
	MemberId        string
	GroupInstanceId *string
	Topics          []TxnOffsetCommitRequestTopic
}

// TxnOffsetCommitRequestTopic holds the commits of one topic.
type TxnOffsetCommitRequestTopic struct {
	Name       string
	Partitions []TxnOffsetCommitRequestPartition
}

// TxnOffsetCommitRequestPartition is the commit of one partition.
type TxnOffsetCommitRequestPartition struct {
	PartitionIndex       int32
	CommittedOffset      int64
	CommittedLeaderEpoch int32 // v2+, -1 if unknown
	CommittedMetadata    *string
}

func (*TxnOffsetCommitRequest) APIKey() int16            { return 28 }
func (*TxnOffsetCommitRequest) Versions() (int16, int16) { return 0, 5 }
func (*TxnOffsetCommitRequest) FlexibleFrom() int16      { return 3 }
func (*TxnOffsetCommitRequest) NewResponse() Response    { return &TxnOffsetCommitResponse{} }
func (q *TxnOffsetCommitRequest) Encode(w *Writer, v int16) {
	flex := v >= 3
	w.String(flex, q.TransactionalId)
	w.String(flex, q.GroupId)
	w.Int64(q.ProducerId)
	w.Int16(q.ProducerEpoch)
	if v >= 3 {
		w.Int32(q.GenerationId)
		w.String(flex, q.MemberId)
		w.NullableString(flex, q.GroupInstanceId)
	}
	w.ArrayLen(flex, len(q.Topics))
	for _, t := range q.Topics {
		w.String(flex, t.Name)
		w.ArrayLen(flex, len(t.Partitions))
		for _, p := range t.Partitions {
			w.Int32(p.PartitionIndex)
			w.Int64(p.CommittedOffset)
			if v >= 2 {
				w.Int32(p.CommittedLeaderEpoch)
			}
			w.NullableString(flex, p.CommittedMetadata)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	w.Tags(flex)
}

// TxnOffsetCommitResponse has one error code per partition.
type TxnOffsetCommitResponse struct {
	ThrottleTimeMs int32
	Topics         []TxnOffsetCommitResponseTopic
}

// TxnOffsetCommitResponseTopic holds the results of one topic.
type TxnOffsetCommitResponseTopic struct {
	Name       string
	Partitions []TxnOffsetCommitResponsePartition
}

// TxnOffsetCommitResponsePartition is the result of one partition.
type TxnOffsetCommitResponsePartition struct {
	PartitionIndex int32
	ErrorCode      int16
}

func (p *TxnOffsetCommitResponse) Decode(r *Reader, v int16) {
	flex := v >= 3
	p.ThrottleTimeMs = r.Int32()
	p.Topics = nil
	if n := r.ArrayLen(flex, groupMin(flex, 3, 6)); n > 0 {
		p.Topics = make([]TxnOffsetCommitResponseTopic, n)
	}
	for i := range p.Topics {
		t := &p.Topics[i]
		t.Name = r.String(flex)
		if n := r.ArrayLen(flex, groupMin(flex, 7, 6)); n > 0 {
			t.Partitions = make([]TxnOffsetCommitResponsePartition, n)
		}
		for j := range t.Partitions {
			t.Partitions[j] = TxnOffsetCommitResponsePartition{PartitionIndex: r.Int32(), ErrorCode: r.Int16()}
			r.SkipTags(flex)
		}
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}

// DescribeTransactionsRequest (key 65, KIP-664) asks the transaction
// coordinators for the state of transactions by transactional.id. Version
// 0, flexible. Needs DESCRIBE on each transactional.id (WRITE implies it,
// so a transactional producer may describe its own).
type DescribeTransactionsRequest struct {
	TransactionalIds []string
}

func (*DescribeTransactionsRequest) APIKey() int16            { return 65 }
func (*DescribeTransactionsRequest) Versions() (int16, int16) { return 0, 0 }
func (*DescribeTransactionsRequest) FlexibleFrom() int16      { return 0 }
func (*DescribeTransactionsRequest) NewResponse() Response    { return &DescribeTransactionsResponse{} }
func (q *DescribeTransactionsRequest) Encode(w *Writer, v int16) {
	w.StringArray(true, q.TransactionalIds)
	w.Tags(true)
}

// DescribeTransactionsResponse has one state per transactional.id asked.
type DescribeTransactionsResponse struct {
	ThrottleTimeMs    int32
	TransactionStates []DescribeTransactionsState
}

// DescribeTransactionsState is one transactional.id's transaction as its
// coordinator sees it. State is the coordinator's name for it: Empty,
// Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort,
// Dead or PrepareEpochFence.
type DescribeTransactionsState struct {
	ErrorCode       int16
	TransactionalId string
	State           string
	TimeoutMillis   int32
	StartTimestamp  int64
	ProducerId      int64
	ProducerEpoch   int16
	Topics          []DescribeTransactionsTopic // the partitions in the transaction
}

// DescribeTransactionsTopic names the partitions of one topic in a
// transaction.
type DescribeTransactionsTopic struct {
	Topic      string
	Partitions []int32
}

func (p *DescribeTransactionsResponse) Decode(r *Reader, v int16) {
	p.ThrottleTimeMs = r.Int32()
	p.TransactionStates = nil
	// An element is at least 2+1+1+4+8+8+2+1+1 bytes (compact strings and
	// arrays, empty tags); a topic at least 1+1+1.
	if n := r.ArrayLen(true, 28); n > 0 {
		p.TransactionStates = make([]DescribeTransactionsState, n)
	}
	for i := range p.TransactionStates {
		s := &p.TransactionStates[i]
		s.ErrorCode = r.Int16()
		s.TransactionalId = r.String(true)
		s.State = r.String(true)
		s.TimeoutMillis = r.Int32()
		s.StartTimestamp = r.Int64()
		s.ProducerId = r.Int64()
		s.ProducerEpoch = r.Int16()
		if n := r.ArrayLen(true, 3); n > 0 {
			s.Topics = make([]DescribeTransactionsTopic, n)
		}
		for j := range s.Topics {
			s.Topics[j].Topic = r.String(true)
			s.Topics[j].Partitions = r.Int32Array(true)
			r.SkipTags(true)
		}
		r.SkipTags(true)
	}
	r.SkipTags(true)
}
