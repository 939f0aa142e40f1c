package wire

// ListGroupsRequest (key 16) lists the groups a broker coordinates. Versions
// 0-5, flexible from 3.
type ListGroupsRequest struct {
	StatesFilter []string // v4+ (KIP-518); empty lists every state
	TypesFilter  []string // v5+ (KIP-848): "classic", "consumer", ...; empty lists every type
}

func (*ListGroupsRequest) APIKey() int16            { return 16 }
func (*ListGroupsRequest) Versions() (int16, int16) { return 0, 5 }
func (*ListGroupsRequest) FlexibleFrom() int16      { return 3 }
func (*ListGroupsRequest) NewResponse() Response    { return &ListGroupsResponse{} }
func (q *ListGroupsRequest) Encode(w *Writer, v int16) {
	flex := v >= 3
	if v >= 4 {
		w.StringArray(flex, q.StatesFilter)
	}
	if v >= 5 {
		w.StringArray(flex, q.TypesFilter)
	}
	w.Tags(flex)
}

// ListGroupsResponse lists the groups of one broker.
type ListGroupsResponse struct {
	ThrottleTimeMs int32 // v1+
	ErrorCode      int16
	Groups         []ListGroupsResponseGroup
}

// ListGroupsResponseGroup is one group (the JSON "ListedGroup").
type ListGroupsResponseGroup struct {
	GroupId      string
	ProtocolType string
	GroupState   string // v4+
	GroupType    string // v5+
}

func (p *ListGroupsResponse) Decode(r *Reader, v int16) {
	flex := v >= 3
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	p.ErrorCode = r.Int16()
	p.Groups = nil
	if n := r.ArrayLen(flex, groupMin(flex, 3, 4)); n > 0 {
		p.Groups = make([]ListGroupsResponseGroup, n)
	}
	for i := range p.Groups {
		g := &p.Groups[i]
		g.GroupId = r.String(flex)
		g.ProtocolType = r.String(flex)
		if v >= 4 {
			g.GroupState = r.String(flex)
		}
		if v >= 5 {
			g.GroupType = r.String(flex)
		}
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}
