package wire

// OffsetFetchRequest (key 9) reads a group's committed offsets. Versions 1-9,
// flexible from 6: Apache Kafka 4.0 removed v0 (KIP-896), and v10 (KIP-848)
// identifies topics by TopicId instead of Name, so it is not supported here.
// Version 8 replaced GroupId/Topics by the Groups batch (KIP-709).
//
// Encode bridges the two forms so callers need not care about the version:
// below v8 an empty GroupId is taken from Groups[0] (with its Topics), and
// from v8 an empty Groups is sent as one group built from GroupId and Topics.
type OffsetFetchRequest struct {
	GroupId string // v0-7
	// Topics (v0-7) lists the partitions to fetch; nil asks for every
	// topic (null, v2+; v1 sends an empty list instead).
	Topics        []OffsetFetchRequestTopic
	Groups        []OffsetFetchRequestGroup // v8+
	RequireStable bool                      // v7+
}

// OffsetFetchRequestTopic names the partitions to fetch in one topic (the
// JSON "OffsetFetchRequestTopic" before v8 and "OffsetFetchRequestTopics"
// from v8, which have the same fields).
type OffsetFetchRequestTopic struct {
	Name             string
	PartitionIndexes []int32
}

// OffsetFetchRequestGroup is one group of the v8+ batch.
type OffsetFetchRequestGroup struct {
	GroupId string
	// MemberId and MemberEpoch (v9+) are set by KIP-848 consumer members.
	// While MemberId is nil, MemberEpoch is sent as -1 (no member).
	MemberId    *string
	MemberEpoch int32
	Topics      []OffsetFetchRequestTopic // nil asks for every topic
}

func (*OffsetFetchRequest) APIKey() int16            { return 9 }
func (*OffsetFetchRequest) Versions() (int16, int16) { return 1, 9 }
func (*OffsetFetchRequest) FlexibleFrom() int16      { return 6 }
func (*OffsetFetchRequest) NewResponse() Response    { return &OffsetFetchResponse{} }
func (q *OffsetFetchRequest) Encode(w *Writer, v int16) {
	flex := v >= 6
	if v <= 7 {
		id, topics := q.GroupId, q.Topics
		if id == "" && len(q.Groups) > 0 {
			id, topics = q.Groups[0].GroupId, q.Groups[0].Topics
		}
		w.String(flex, id)
		if v < 2 && topics == nil {
			topics = []OffsetFetchRequestTopic{}
		}
		encodeOffsetFetchTopics(w, flex, topics)
	} else {
		groups := q.Groups
		if len(groups) == 0 {
			groups = []OffsetFetchRequestGroup{{GroupId: q.GroupId, Topics: q.Topics}}
		}
		w.ArrayLen(flex, len(groups))
		for _, g := range groups {
			w.String(flex, g.GroupId)
			if v >= 9 {
				w.NullableString(flex, g.MemberId)
				epoch := g.MemberEpoch
				if g.MemberId == nil {
					epoch = -1
				}
				w.Int32(epoch)
			}
			encodeOffsetFetchTopics(w, flex, g.Topics)
			w.Tags(flex)
		}
	}
	if v >= 7 {
		w.Bool(q.RequireStable)
	}
	w.Tags(flex)
}

// encodeOffsetFetchTopics writes a nullable topic list (nil is null).
func encodeOffsetFetchTopics(w *Writer, flex bool, topics []OffsetFetchRequestTopic) {
	w.ArrayLen(flex, groupNullableLen(topics))
	for _, t := range topics {
		w.String(flex, t.Name)
		w.Int32Array(flex, t.PartitionIndexes)
		w.Tags(flex)
	}
}

// OffsetFetchResponse holds committed offsets: before v8 for one group in
// Topics/ErrorCode, from v8 per group in Groups. Group reads either form.
type OffsetFetchResponse struct {
	ThrottleTimeMs int32                      // v3+
	Topics         []OffsetFetchResponseTopic // v0-7
	ErrorCode      int16                      // v2-7, group-level error
	Groups         []OffsetFetchResponseGroup // v8+

	batched bool // decoded from v8+
}

// OffsetFetchResponseGroup is one group of the v8+ batch.
type OffsetFetchResponseGroup struct {
	GroupId   string
	Topics    []OffsetFetchResponseTopic
	ErrorCode int16
}

// OffsetFetchResponseTopic holds the offsets of one topic (the JSON
// "OffsetFetchResponseTopic" before v8 and "OffsetFetchResponseTopics" from
// v8, which have the same fields).
type OffsetFetchResponseTopic struct {
	Name       string
	Partitions []OffsetFetchResponsePartition
}

// OffsetFetchResponsePartition is the committed offset of one partition;
// CommittedOffset is -1 when there is none.
type OffsetFetchResponsePartition struct {
	PartitionIndex       int32
	CommittedOffset      int64
	CommittedLeaderEpoch int32 // v5+, -1 when absent or unknown
	Metadata             *string
	ErrorCode            int16
}

func (p *OffsetFetchResponse) Decode(r *Reader, v int16) {
	flex := v >= 6
	p.batched = v >= 8
	if v >= 3 {
		p.ThrottleTimeMs = r.Int32()
	}
	if v <= 7 {
		p.Topics = decodeOffsetFetchTopics(r, v, flex)
		if v >= 2 {
			p.ErrorCode = r.Int16()
		}
	} else {
		// GroupId, Topics, ErrorCode, tags.
		p.Groups = nil
		if n := r.ArrayLen(flex, 5); n > 0 {
			p.Groups = make([]OffsetFetchResponseGroup, n)
		}
		for i := range p.Groups {
			g := &p.Groups[i]
			g.GroupId = r.String(flex)
			g.Topics = decodeOffsetFetchTopics(r, v, flex)
			g.ErrorCode = r.Int16()
			r.SkipTags(flex)
		}
	}
	r.SkipTags(flex)
}

func decodeOffsetFetchTopics(r *Reader, v int16, flex bool) []OffsetFetchResponseTopic {
	n := r.ArrayLen(flex, groupMin(flex, 3, 6))
	if n <= 0 {
		return nil
	}
	topics := make([]OffsetFetchResponseTopic, n)
	for i := range topics {
		t := &topics[i]
		t.Name = r.String(flex)
		// PartitionIndex, CommittedOffset, [CommittedLeaderEpoch], Metadata,
		// ErrorCode (and tags).
		if m := r.ArrayLen(flex, groupMin(flex, 20, 16)); m > 0 {
			t.Partitions = make([]OffsetFetchResponsePartition, m)
		}
		for j := range t.Partitions {
			q := &t.Partitions[j]
			q.PartitionIndex = r.Int32()
			q.CommittedOffset = r.Int64()
			q.CommittedLeaderEpoch = -1
			if v >= 5 {
				q.CommittedLeaderEpoch = r.Int32()
			}
			q.Metadata = r.NullableString(flex)
			q.ErrorCode = r.Int16()
			r.SkipTags(flex)
		}
		r.SkipTags(flex)
	}
	return topics
}

// Group returns the offsets of groupId whatever the version decoded. Before
// v8 the response covers the one group asked for, which is returned with
// GroupId set to groupId; from v8 the group is looked up, and ok is false
// when the broker did not answer for it.
func (p *OffsetFetchResponse) Group(groupId string) (g OffsetFetchResponseGroup, ok bool) {
	if !p.batched {
		return OffsetFetchResponseGroup{GroupId: groupId, Topics: p.Topics, ErrorCode: p.ErrorCode}, true
	}
	for _, g := range p.Groups {
		if g.GroupId == groupId {
			return g, true
		}
	}
	return g, false
}
