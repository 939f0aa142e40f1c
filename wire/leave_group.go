package wire

// LeaveGroupRequest (key 13) removes members from a classic group. Versions
// 0-5, flexible from 4. Version 3 replaced the single MemberId by the
// Members batch (KIP-345).
//
// Encode bridges the two forms: below v3 an empty MemberId is taken from
// Members[0], and from v3 an empty Members is sent as one member MemberId.
type LeaveGroupRequest struct {
	GroupId  string
	MemberId string                    // v0-2
	Members  []LeaveGroupRequestMember // v3+
}

// LeaveGroupRequestMember identifies one leaving member (the JSON
// "MemberIdentity").
type LeaveGroupRequestMember struct {
	MemberId        string
	GroupInstanceId *string
	Reason          *string // v5+ (KIP-800)
}

func (*LeaveGroupRequest) APIKey() int16            { return 13 }
func (*LeaveGroupRequest) Versions() (int16, int16) { return 0, 5 }
func (*LeaveGroupRequest) FlexibleFrom() int16      { return 4 }
func (*LeaveGroupRequest) NewResponse() Response    { return &LeaveGroupResponse{} }
func (q *LeaveGroupRequest) Encode(w *Writer, v int16) {
	flex := v >= 4
	w.String(flex, q.GroupId)
	if v <= 2 {
		id := q.MemberId
		if id == "" && len(q.Members) > 0 {
			id = q.Members[0].MemberId
		}
		w.String(flex, id)
		w.Tags(flex)
		return
	}
	members := q.Members
	if len(members) == 0 && q.MemberId != "" {
		members = []LeaveGroupRequestMember{{MemberId: q.MemberId}}
	}
	w.ArrayLen(flex, len(members))
	for _, m := range members {
		w.String(flex, m.MemberId)
		w.NullableString(flex, m.GroupInstanceId)
		if v >= 5 {
			w.NullableString(flex, m.Reason)
		}
		w.Tags(flex)
	}
	w.Tags(flex)
}

// LeaveGroupResponse has a top-level error and, from v3, one per member.
type LeaveGroupResponse struct {
	ThrottleTimeMs int32 // v1+
	ErrorCode      int16
	Members        []LeaveGroupResponseMember // v3+
}

// LeaveGroupResponseMember is the outcome for one member (the JSON
// "MemberResponse").
type LeaveGroupResponseMember struct {
	MemberId        string
	GroupInstanceId *string
	ErrorCode       int16
}

func (p *LeaveGroupResponse) Decode(r *Reader, v int16) {
	flex := v >= 4
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.ErrorCode = r.Int16()
	p.Members = nil
	if v >= 3 {
		n := r.ArrayLen(flex, groupMin(flex, 5, 6))
		if n > 0 {
			p.Members = make([]LeaveGroupResponseMember, n)
		}
		for i := range p.Members {
			m := &p.Members[i]
			m.MemberId = r.String(flex)
			m.GroupInstanceId = r.NullableString(flex)
			m.ErrorCode = r.Int16()
			r.SkipTags(flex)
		}
	}
	r.SkipTags(flex)
}
