package wire

// ConsumerGroupDescribeRequest (key 69) describes KIP-848 consumer groups.
// Versions 0-1, always flexible; v1 adds MemberType to the response
// (KIP-1099).
type ConsumerGroupDescribeRequest struct {
	GroupIds                    []string
	IncludeAuthorizedOperations bool
}

func (*ConsumerGroupDescribeRequest) APIKey() int16            { return 69 }
func (*ConsumerGroupDescribeRequest) Versions() (int16, int16) { return 0, 1 }
func (*ConsumerGroupDescribeRequest) FlexibleFrom() int16      { return 0 }
func (*ConsumerGroupDescribeRequest) NewResponse() Response {
	return &ConsumerGroupDescribeResponse{}
}
func (q *ConsumerGroupDescribeRequest) Encode(w *Writer, v int16) {
	w.StringArray(true, q.GroupIds)
	w.Bool(q.IncludeAuthorizedOperations)
	w.Tags(true)
}

// ConsumerGroupDescribeResponse describes each group asked for.
type ConsumerGroupDescribeResponse struct {
	ThrottleTimeMs int32
	Groups         []ConsumerGroupDescribeResponseGroup
}

// ConsumerGroupDescribeResponseGroup describes one group (the JSON
// "DescribedGroup").
type ConsumerGroupDescribeResponseGroup struct {
	ErrorCode       int16
	ErrorMessage    *string
	GroupId         string
	GroupState      string
	GroupEpoch      int32
	AssignmentEpoch int32
	AssignorName    string
	Members         []ConsumerGroupDescribeResponseMember
	// AuthorizedOperations is a bit field of ACL operations, or
	// math.MinInt32 when not requested.
	AuthorizedOperations int32
}

// ConsumerGroupDescribeResponseMember is one member (the JSON "Member").
type ConsumerGroupDescribeResponseMember struct {
	MemberId             string
	InstanceId           *string
	RackId               *string
	MemberEpoch          int32
	ClientId             string
	ClientHost           string
	SubscribedTopicNames []string
	SubscribedTopicRegex *string
	Assignment           ConsumerGroupDescribeResponseAssignment
	TargetAssignment     ConsumerGroupDescribeResponseAssignment
	// MemberType (v1+): -1 unknown, 0 classic member, 1 consumer member.
	// It reads as -1 before v1.
	MemberType int8
}

// ConsumerGroupDescribeResponseAssignment is a member's assignment.
type ConsumerGroupDescribeResponseAssignment struct {
	TopicPartitions []ConsumerGroupDescribeResponseTopicPartitions
}

// ConsumerGroupDescribeResponseTopicPartitions lists the partitions of one
// topic (the JSON "TopicPartitions").
type ConsumerGroupDescribeResponseTopicPartitions struct {
	TopicId    [16]byte
	TopicName  string
	Partitions []int32
}

func (p *ConsumerGroupDescribeResponse) Decode(r *Reader, v int16) {
	const flex = true
	p.ThrottleTimeMs = r.Int32()
	p.Groups = nil
	// ErrorCode, ErrorMessage, GroupId, GroupState, GroupEpoch,
	// AssignmentEpoch, AssignorName, Members, AuthorizedOperations, tags.
	if n := r.ArrayLen(flex, 20); n > 0 {
		p.Groups = make([]ConsumerGroupDescribeResponseGroup, n)
	}
	for i := range p.Groups {
		g := &p.Groups[i]
		g.ErrorCode = r.Int16()
		g.ErrorMessage = r.NullableString(flex)
		g.GroupId = r.String(flex)
		g.GroupState = r.String(flex)
		g.GroupEpoch = r.Int32()
		g.AssignmentEpoch = r.Int32()
		g.AssignorName = r.String(flex)
		if n := r.ArrayLen(flex, 16); n > 0 {
			g.Members = make([]ConsumerGroupDescribeResponseMember, n)
		}
		for j := range g.Members {
			m := &g.Members[j]
			m.MemberId = r.String(flex)
			m.InstanceId = r.NullableString(flex)
			m.RackId = r.NullableString(flex)
			m.MemberEpoch = r.Int32()
			m.ClientId = r.String(flex)
			m.ClientHost = r.String(flex)
			m.SubscribedTopicNames = r.StringArray(flex)
			m.SubscribedTopicRegex = r.NullableString(flex)
			m.Assignment.decode(r)
			m.TargetAssignment.decode(r)
			m.MemberType = -1
			if v >= 1 {
				m.MemberType = r.Int8()
			}
			r.SkipTags(flex)
		}
		g.AuthorizedOperations = r.Int32()
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}

func (a *ConsumerGroupDescribeResponseAssignment) decode(r *Reader) {
	const flex = true
	a.TopicPartitions = nil
	// TopicId, TopicName, Partitions, tags.
	if n := r.ArrayLen(flex, 19); n > 0 {
		a.TopicPartitions = make([]ConsumerGroupDescribeResponseTopicPartitions, n)
	}
	for i := range a.TopicPartitions {
		t := &a.TopicPartitions[i]
		t.TopicId = r.UUID()
		t.TopicName = r.String(flex)
		t.Partitions = r.Int32Array(flex)
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}
