package wire

// DeleteGroupsRequest (key 42) deletes empty groups. Versions 0-2, flexible
// from 2.
type DeleteGroupsRequest struct {
	GroupsNames []string
}

func (*DeleteGroupsRequest) APIKey() int16            { return 42 }
func (*DeleteGroupsRequest) Versions() (int16, int16) { return 0, 2 }
func (*DeleteGroupsRequest) FlexibleFrom() int16      { return 2 }
func (*DeleteGroupsRequest) NewResponse() Response    { return &DeleteGroupsResponse{} }
func (q *DeleteGroupsRequest) Encode(w *Writer, v int16) {
	flex := v >= 2
	w.StringArray(flex, q.GroupsNames)
	w.Tags(flex)
}

// DeleteGroupsResponse has one result per group.
type DeleteGroupsResponse struct {
	ThrottleTimeMs int32
	Results        []DeleteGroupsResponseResult
}

// DeleteGroupsResponseResult is the outcome for one group (the JSON
// "DeletableGroupResult").
type DeleteGroupsResponseResult struct {
	GroupId   string
	ErrorCode int16
}

func (p *DeleteGroupsResponse) Decode(r *Reader, v int16) {
	flex := v >= 2
	p.ThrottleTimeMs = r.Int32()
	p.Results = nil
	if n := r.ArrayLen(flex, 4); n > 0 {
		p.Results = make([]DeleteGroupsResponseResult, n)
	}
	for i := range p.Results {
		p.Results[i].GroupId = r.String(flex)
		p.Results[i].ErrorCode = r.Int16()
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}
