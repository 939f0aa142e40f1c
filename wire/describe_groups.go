package wire

import "math"

// DescribeGroupsRequest (key 15) describes classic groups: state, protocol
// and members. Versions 0-6, flexible from 5. Version 6 answers
// GROUP_ID_NOT_FOUND for unknown groups (KIP-1043).
type DescribeGroupsRequest struct {
	Groups                      []string
	IncludeAuthorizedOperations bool // v3+
}

func (*DescribeGroupsRequest) APIKey() int16            { return 15 }
func (*DescribeGroupsRequest) Versions() (int16, int16) { return 0, 6 }
func (*DescribeGroupsRequest) FlexibleFrom() int16      { return 5 }
func (*DescribeGroupsRequest) NewResponse() Response    { return &DescribeGroupsResponse{} }
func (q *DescribeGroupsRequest) Encode(w *Writer, v int16) {
	flex := v >= 5
	w.StringArray(flex, q.Groups)
	if v >= 3 {
		w.Bool(q.IncludeAuthorizedOperations)
	}
	w.Tags(flex)
}

// DescribeGroupsResponse describes each group asked for.
type DescribeGroupsResponse struct {
	ThrottleTimeMs int32 // v1+
	Groups         []DescribeGroupsResponseGroup
}

// DescribeGroupsResponseGroup describes one group (the JSON "DescribedGroup").
type DescribeGroupsResponseGroup struct {
	ErrorCode    int16
	ErrorMessage *string // v6+
	GroupId      string
	GroupState   string
	ProtocolType string
	ProtocolData string // the selected protocol, when Stable
	Members      []DescribeGroupsResponseMember
	// AuthorizedOperations (v3+) is a bit field of ACL operations, or
	// math.MinInt32 when not requested (and before v3).
	AuthorizedOperations int32
}

// DescribeGroupsResponseMember is one member (the JSON
// "DescribedGroupMember"); metadata and assignment are filled when the group
// is Stable.
type DescribeGroupsResponseMember struct {
	MemberId         string
	GroupInstanceId  *string // v4+
	ClientId         string
	ClientHost       string
	MemberMetadata   []byte
	MemberAssignment []byte
}

func (p *DescribeGroupsResponse) Decode(r *Reader, v int16) {
	flex := v >= 5
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.Groups = nil
	if n := r.ArrayLen(flex, groupMin(flex, 8, 14)); n > 0 {
		p.Groups = make([]DescribeGroupsResponseGroup, n)
	}
	for i := range p.Groups {
		g := &p.Groups[i]
		g.ErrorCode = r.Int16()
		if v >= 6 {
			g.ErrorMessage = r.NullableString(flex)
		}
		g.GroupId = r.String(flex)
		g.GroupState = r.String(flex)
		g.ProtocolType = r.String(flex)
		g.ProtocolData = r.String(flex)
		if n := r.ArrayLen(flex, groupMin(flex, 6, 14)); n > 0 {
			g.Members = make([]DescribeGroupsResponseMember, n)
		}
		for j := range g.Members {
			m := &g.Members[j]
			m.MemberId = r.String(flex)
			if v >= 4 {
				m.GroupInstanceId = r.NullableString(flex)
			}
			m.ClientId = r.String(flex)
			m.ClientHost = r.String(flex)
			m.MemberMetadata = r.BytesField(flex)
			m.MemberAssignment = r.BytesField(flex)
			r.SkipTags(flex)
		}
		g.AuthorizedOperations = math.MinInt32
		if v >= 3 {
			g.AuthorizedOperations = r.Int32()
		}
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}
