package wire

// Coordinator key types of FindCoordinatorRequest.KeyType.
const (
	FindCoordinatorKeyTypeGroup       int8 = 0
	FindCoordinatorKeyTypeTransaction int8 = 1
	FindCoordinatorKeyTypeShare       int8 = 2 // v6+ (KIP-932), key "groupId:topicId:partition"
)

// FindCoordinatorRequest (key 10) asks any broker which broker coordinates a
// consumer group or a transactional id. Versions 0-6, flexible from 3.
// Version 4 replaced the single Key by the CoordinatorKeys batch (KIP-699);
// 5 and 6 only add error codes / key types.
//
// Encode bridges the two forms so callers need not care about the version:
// below v4 an empty Key is taken from CoordinatorKeys[0], and from v4 an
// empty CoordinatorKeys is sent as [Key].
type FindCoordinatorRequest struct {
	Key             string   // v0-3
	KeyType         int8     // v1+ (v0 can only look up groups)
	CoordinatorKeys []string // v4+
}

func (*FindCoordinatorRequest) APIKey() int16            { return 10 }
func (*FindCoordinatorRequest) Versions() (int16, int16) { return 0, 6 }
func (*FindCoordinatorRequest) FlexibleFrom() int16      { return 3 }
func (*FindCoordinatorRequest) NewResponse() Response    { return &FindCoordinatorResponse{} }
func (q *FindCoordinatorRequest) Encode(w *Writer, v int16) {
	flex := v >= 3
	if v <= 3 {
		key := q.Key
		if key == "" && len(q.CoordinatorKeys) > 0 {
			key = q.CoordinatorKeys[0]
		}
		w.String(flex, key)
	}
	if v >= 1 {
		w.Int8(q.KeyType)
	}
	if v >= 4 {
		keys := q.CoordinatorKeys
		if len(keys) == 0 && q.Key != "" {
			keys = []string{q.Key}
		}
		w.StringArray(flex, keys)
	}
	w.Tags(flex)
}

// FindCoordinatorResponse locates the coordinator(s). Versions 0-3 answer
// for one key with the top-level fields, v4+ with Coordinators; use
// Coordinator or Results to read either form.
type FindCoordinatorResponse struct {
	ThrottleTimeMs int32                                // v1+
	ErrorCode      int16                                // v0-3
	ErrorMessage   *string                              // v1-3
	NodeId         int32                                // v0-3
	Host           string                               // v0-3
	Port           int32                                // v0-3
	Coordinators   []FindCoordinatorResponseCoordinator // v4+

	batched bool // decoded from v4+
}

// FindCoordinatorResponseCoordinator is the coordinator of one key (the
// JSON "Coordinator").
type FindCoordinatorResponseCoordinator struct {
	Key          string
	NodeId       int32
	Host         string
	Port         int32
	ErrorCode    int16
	ErrorMessage *string
}

func (p *FindCoordinatorResponse) Decode(r *Reader, v int16) {
	flex := v >= 3
	p.batched = v >= 4
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	if v <= 3 {
		p.ErrorCode = r.Int16()
		if v >= 1 {
			p.ErrorMessage = r.NullableString(flex)
		}
		p.NodeId = r.Int32()
		p.Host = r.String(flex)
		p.Port = r.Int32()
	} else {
		// Key, NodeId, Host, Port, ErrorCode, ErrorMessage, tags.
		n := r.ArrayLen(flex, 14)
		p.Coordinators = nil
		if n > 0 {
			p.Coordinators = make([]FindCoordinatorResponseCoordinator, n)
		}
		for i := range p.Coordinators {
			c := &p.Coordinators[i]
			c.Key = r.String(flex)
			c.NodeId = r.Int32()
			c.Host = r.String(flex)
			c.Port = r.Int32()
			c.ErrorCode = r.Int16()
			c.ErrorMessage = r.NullableString(flex)
			r.SkipTags(flex)
		}
	}
	r.SkipTags(flex)
}

// Results returns the answer in the v4+ form whatever the version decoded.
// Before v4 it holds exactly one entry, whose Key is empty (those versions
// do not echo the key).
func (p *FindCoordinatorResponse) Results() []FindCoordinatorResponseCoordinator {
	if p.batched {
		return p.Coordinators
	}
	return []FindCoordinatorResponseCoordinator{{
		NodeId: p.NodeId, Host: p.Host, Port: p.Port,
		ErrorCode: p.ErrorCode, ErrorMessage: p.ErrorMessage,
	}}
}

// Coordinator returns the result for key whatever the version decoded.
// Before v4 the response carries a single result, which is returned (with
// Key set to key); from v4 the entry with that key is looked up, and ok is
// false when the broker did not answer for it.
func (p *FindCoordinatorResponse) Coordinator(key string) (c FindCoordinatorResponseCoordinator, ok bool) {
	if !p.batched {
		c = p.Results()[0]
		c.Key = key
		return c, true
	}
	for _, c := range p.Coordinators {
		if c.Key == key {
			return c, true
		}
	}
	return c, false
}
