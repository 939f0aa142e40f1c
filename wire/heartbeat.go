package wire

// HeartbeatRequest (key 12) keeps a classic group member alive; the error
// code tells it when to rejoin. Versions 0-4, flexible from 4.
type HeartbeatRequest struct {
	GroupId         string
	GenerationId    int32
	MemberId        string
	GroupInstanceId *string // v3+
}

func (*HeartbeatRequest) APIKey() int16            { return 12 }
func (*HeartbeatRequest) Versions() (int16, int16) { return 0, 4 }
func (*HeartbeatRequest) FlexibleFrom() int16      { return 4 }
func (*HeartbeatRequest) NewResponse() Response    { return &HeartbeatResponse{} }
func (q *HeartbeatRequest) Encode(w *Writer, v int16) {
	flex := v >= 4
	w.String(flex, q.GroupId)
	w.Int32(q.GenerationId)
	w.String(flex, q.MemberId)
	if v >= 3 {
		w.NullableString(flex, q.GroupInstanceId)
	}
	w.Tags(flex)
}

// HeartbeatResponse reports REBALANCE_IN_PROGRESS and friends.
type HeartbeatResponse struct {
	ThrottleTimeMs int32 // v1+
	ErrorCode      int16
}

func (p *HeartbeatResponse) Decode(r *Reader, v int16) {
	flex := v >= 4
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.ErrorCode = r.Int16()
	r.SkipTags(flex)
}
