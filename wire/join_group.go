package wire

// JoinGroupRequest (key 11) joins a classic consumer group. Versions 2-9,
// flexible from 6. Apache Kafka 4.0.0 removed v0-1 (KIP-896; 4.0.1 put them
// back for old librdkafka), so v2 is the lowest every 4.x broker accepts.
// Since v4 a member joining with an empty MemberId gets MEMBER_ID_REQUIRED
// and a member id to join again with.
type JoinGroupRequest struct {
	GroupId            string
	SessionTimeoutMs   int32
	RebalanceTimeoutMs int32   // v1+
	MemberId           string  // "" on the first join
	GroupInstanceId    *string // v5+, static membership (KIP-345)
	ProtocolType       string  // "consumer" for consumer groups
	Protocols          []JoinGroupRequestProtocol
	Reason             *string // v8+ (KIP-800)
}

// JoinGroupRequestProtocol is one assignment protocol the member supports,
// with its metadata (for consumers a ConsumerProtocolSubscription).
type JoinGroupRequestProtocol struct {
	Name     string
	Metadata []byte
}

func (*JoinGroupRequest) APIKey() int16            { return 11 }
func (*JoinGroupRequest) Versions() (int16, int16) { return 2, 9 }
func (*JoinGroupRequest) FlexibleFrom() int16      { return 6 }
func (*JoinGroupRequest) NewResponse() Response    { return &JoinGroupResponse{} }
func (q *JoinGroupRequest) Encode(w *Writer, v int16) {
	flex := v >= 6
	w.String(flex, q.GroupId)
	w.Int32(q.SessionTimeoutMs)
	if v >= 1 {
		w.Int32(q.RebalanceTimeoutMs)
	}
	w.String(flex, q.MemberId)
	if v >= 5 {
		w.NullableString(flex, q.GroupInstanceId)
	}
	w.String(flex, q.ProtocolType)
	w.ArrayLen(flex, len(q.Protocols))
	for _, p := range q.Protocols {
		w.String(flex, p.Name)
		w.BytesField(flex, groupBytes(p.Metadata))
		w.Tags(flex)
	}
	if v >= 8 {
		w.NullableString(flex, q.Reason)
	}
	w.Tags(flex)
}

// JoinGroupResponse tells a member its generation, its member id, the chosen
// protocol and, for the leader, every member's metadata.
type JoinGroupResponse struct {
	ThrottleTimeMs int32 // v2+
	ErrorCode      int16
	GenerationId   int32
	ProtocolType   *string // v7+
	ProtocolName   string  // nullable from v7; null reads as ""
	Leader         string
	SkipAssignment bool // v9+: the leader must not assign (server-side assignor)
	MemberId       string
	Members        []JoinGroupResponseMember // non-empty for the leader only
}

// JoinGroupResponseMember is one group member as seen by the leader.
type JoinGroupResponseMember struct {
	MemberId        string
	GroupInstanceId *string // v5+
	Metadata        []byte
}

func (p *JoinGroupResponse) Decode(r *Reader, v int16) {
	flex := v >= 6
	if v >= 2 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.ErrorCode = r.Int16()
	p.GenerationId = r.Int32()
	if v >= 7 {
		p.ProtocolType = r.NullableString(flex)
	}
	p.ProtocolName = r.String(flex)
	p.Leader = r.String(flex)
	if v >= 9 {
		p.SkipAssignment = r.Bool()
	}
	p.MemberId = r.String(flex)
	n := r.ArrayLen(flex, groupMin(flex, 4, 6))
	p.Members = nil
	if n > 0 {
		p.Members = make([]JoinGroupResponseMember, n)
	}
	for i := range p.Members {
		m := &p.Members[i]
		m.MemberId = r.String(flex)
		if v >= 5 {
			m.GroupInstanceId = r.NullableString(flex)
		}
		m.Metadata = r.BytesField(flex)
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}
