package wire

// ShareGroupDescribeRequest (key 77) describes share groups (KIP-932): state,
// epochs, and each member's subscription and assignment. Sent to each
// group's coordinator. Version 1 (Kafka 4.2+; v0 was 4.0's early access),
// always flexible.
type ShareGroupDescribeRequest struct {
	GroupIds                    []string
	IncludeAuthorizedOperations bool
}

func (*ShareGroupDescribeRequest) APIKey() int16            { return 77 }
func (*ShareGroupDescribeRequest) Versions() (int16, int16) { return 1, 1 }
func (*ShareGroupDescribeRequest) FlexibleFrom() int16      { return 0 }
func (*ShareGroupDescribeRequest) NewResponse() Response {
	return &ShareGroupDescribeResponse{}
}
func (q *ShareGroupDescribeRequest) Encode(w *Writer, v int16) {
	w.StringArray(true, q.GroupIds)
	w.Bool(q.IncludeAuthorizedOperations)
	w.Tags(true)
}

// ShareGroupDescribeResponse describes each group asked for.
type ShareGroupDescribeResponse struct {
	ThrottleTimeMs int32
	Groups         []ShareGroupDescribeResponseGroup
}

// ShareGroupDescribeResponseGroup is one described group (the spec's
// DescribedGroup). ErrorCode is per group (e.g. GROUP_ID_NOT_FOUND, or
// INVALID_GROUP_TYPE for a group that is not a share group).
type ShareGroupDescribeResponseGroup struct {
	ErrorCode       int16
	ErrorMessage    *string
	GroupId         string
	GroupState      string // e.g. "Empty", "Stable"; "" when unknown
	GroupEpoch      int32
	AssignmentEpoch int32
	AssignorName    string
	Members         []ShareGroupDescribeResponseMember
	// AuthorizedOperations is a bit field, -2147483648 when not asked for.
	AuthorizedOperations int32
}

// ShareGroupDescribeResponseMember is one member of a share group.
type ShareGroupDescribeResponseMember struct {
	MemberId             string
	RackId               *string
	MemberEpoch          int32
	ClientId             string
	ClientHost           string
	SubscribedTopicNames []string
	Assignment           ShareGroupDescribeResponseAssignment
}

// ShareGroupDescribeResponseAssignment is a member's assignment.
type ShareGroupDescribeResponseAssignment struct {
	TopicPartitions []ShareGroupDescribeResponseTopicPartitions
}

// ShareGroupDescribeResponseTopicPartitions lists the assigned partitions of
// one topic (the spec's TopicPartitions).
type ShareGroupDescribeResponseTopicPartitions struct {
	TopicId    [16]byte
	TopicName  string
	Partitions []int32
}

func (p *ShareGroupDescribeResponse) Decode(r *Reader, v int16) {
	const flex = true
	*p = ShareGroupDescribeResponse{}
	p.ThrottleTimeMs = r.Int32()
	// ErrorCode, ErrorMessage, GroupId, GroupState, GroupEpoch,
	// AssignmentEpoch, AssignorName, Members, AuthorizedOperations, tags:
	// 2+1+1+1+4+4+1+1+4+1.
	p.Groups = decodeSlice(r, flex, 20, func(r *Reader, g *ShareGroupDescribeResponseGroup) {
		g.ErrorCode = r.Int16()
		g.ErrorMessage = r.NullableString(flex)
		g.GroupId = r.String(flex)
		g.GroupState = r.String(flex)
		g.GroupEpoch = r.Int32()
		g.AssignmentEpoch = r.Int32()
		g.AssignorName = r.String(flex)
		// MemberId, RackId, MemberEpoch, ClientId, ClientHost,
		// SubscribedTopicNames, Assignment (array, tags), tags:
		// 1+1+4+1+1+1+2+1.
		g.Members = decodeSlice(r, flex, 12, func(r *Reader, m *ShareGroupDescribeResponseMember) {
			m.MemberId = r.String(flex)
			m.RackId = r.NullableString(flex)
			m.MemberEpoch = r.Int32()
			m.ClientId = r.String(flex)
			m.ClientHost = r.String(flex)
			m.SubscribedTopicNames = r.StringArray(flex)
			// TopicId, TopicName, Partitions, tags: 16+1+1+1.
			m.Assignment.TopicPartitions = decodeSlice(r, flex, 19, func(r *Reader, t *ShareGroupDescribeResponseTopicPartitions) {
				t.TopicId = r.UUID()
				t.TopicName = r.String(flex)
				t.Partitions = r.Int32Array(flex)
				r.SkipTags(flex)
			})
			r.SkipTags(flex)
			r.SkipTags(flex)
		})
		g.AuthorizedOperations = r.Int32()
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}
