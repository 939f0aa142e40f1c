package wire

// InitProducerIdRequest (key 22) obtains a producer id and epoch for an
// idempotent or transactional producer (sent to the transaction
// coordinator when TransactionalId is set, to any broker otherwise).
//
// Versions 0-5, flexible from 2. KIP-896 removed no InitProducerId version,
// so Apache Kafka 4.x still accepts v0. v6 (two-phase commit, KIP-939) is
// still marked unstable in Kafka 4.4 and is not supported; the API has no
// topics, so v5 is the newest stable version.
type InitProducerIdRequest struct {
	TransactionalId      *string // null for an idempotent producer
	TransactionTimeoutMs int32
	// ProducerId and ProducerEpoch (v3+) let a producer resume after
	// INVALID_PRODUCER_EPOCH. Set both to -1 for a new producer: the zero
	// values name producer 0.
	ProducerId    int64
	ProducerEpoch int16
}

func (*InitProducerIdRequest) APIKey() int16            { return 22 }
func (*InitProducerIdRequest) Versions() (int16, int16) { return 0, 5 }
func (*InitProducerIdRequest) FlexibleFrom() int16      { return 2 }
func (*InitProducerIdRequest) NewResponse() Response    { return &InitProducerIdResponse{} }
func (q *InitProducerIdRequest) Encode(w *Writer, v int16) {
	flex := v >= 2
	w.NullableString(flex, q.TransactionalId)
	w.Int32(q.TransactionTimeoutMs)
	if v >= 3 {
		w.Int64(q.ProducerId)
		w.Int16(q.ProducerEpoch)
	}
	w.Tags(flex)
}

// InitProducerIdResponse carries the producer id and epoch to use.
type InitProducerIdResponse struct {
	ThrottleTimeMs int32
	ErrorCode      int16
	ProducerId     int64
	ProducerEpoch  int16
}

func (p *InitProducerIdResponse) Decode(r *Reader, v int16) {
	flex := v >= 2
	p.ThrottleTimeMs = r.Int32()
	p.ErrorCode = r.Int16()
	p.ProducerId = r.Int64()
	p.ProducerEpoch = r.Int16()
	r.SkipTags(flex)
}
