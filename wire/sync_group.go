package wire

// SyncGroupRequest (key 14) ends a classic rebalance: the leader sends every
// member's assignment, the others send none, and all get their own back.
// Versions 0-5, flexible from 4.
type SyncGroupRequest struct {
	GroupId         string
	GenerationId    int32
	MemberId        string
	GroupInstanceId *string // v3+
	ProtocolType    *string // v5+
	ProtocolName    *string // v5+
	Assignments     []SyncGroupRequestAssignment
}

// SyncGroupRequestAssignment is the assignment of one member (for consumers a
// ConsumerProtocolAssignment).
type SyncGroupRequestAssignment struct {
	MemberId   string
	Assignment []byte
}

func (*SyncGroupRequest) APIKey() int16            { return 14 }
func (*SyncGroupRequest) Versions() (int16, int16) { return 0, 5 }
func (*SyncGroupRequest) FlexibleFrom() int16      { return 4 }
func (*SyncGroupRequest) NewResponse() Response    { return &SyncGroupResponse{} }
func (q *SyncGroupRequest) Encode(w *Writer, v int16) {
	flex := v >= 4
	w.String(flex, q.GroupId)
	w.Int32(q.GenerationId)
	w.String(flex, q.MemberId)
	if v >= 3 {
		w.NullableString(flex, q.GroupInstanceId)
	}
	if v >= 5 {
		w.NullableString(flex, q.ProtocolType)
		w.NullableString(flex, q.ProtocolName)
	}
	w.ArrayLen(flex, len(q.Assignments))
	for _, a := range q.Assignments {
		w.String(flex, a.MemberId)
		w.BytesField(flex, groupBytes(a.Assignment))
		w.Tags(flex)
	}
	w.Tags(flex)
}

// SyncGroupResponse carries this member's assignment.
type SyncGroupResponse struct {
	ThrottleTimeMs int32 // v1+
	ErrorCode      int16
	ProtocolType   *string // v5+
	ProtocolName   *string // v5+
	Assignment     []byte
}

func (p *SyncGroupResponse) Decode(r *Reader, v int16) {
	flex := v >= 4
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.ErrorCode = r.Int16()
	if v >= 5 {
		p.ProtocolType = r.NullableString(flex)
		p.ProtocolName = r.NullableString(flex)
	}
	p.Assignment = r.BytesField(flex)
	r.SkipTags(flex)
}
