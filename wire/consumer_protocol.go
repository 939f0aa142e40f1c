package wire

import "fmt"

// The classic consumer protocol ("consumer" ProtocolType) embeds two
// payloads in group RPCs: a member's ConsumerProtocolSubscription in
// JoinGroupRequestProtocol.Metadata (and JoinGroupResponseMember.Metadata),
// and its ConsumerProtocolAssignment in SyncGroup assignments. Both are
// non-flexible structures prefixed by an int16 version, versions 0-3.
//
// Newer versions may only append fields, so, like the Java client, the
// decoders read a version they do not know as the newest one they know and
// ignore what follows.

// ConsumerProtocolMaxVersion is the newest subscription / assignment version
// this package encodes and fully decodes.
const ConsumerProtocolMaxVersion int16 = 3

// ConsumerProtocolSubscription is what a consumer subscribes to.
type ConsumerProtocolSubscription struct {
	// Version is the version read by Decode (possibly newer than
	// ConsumerProtocolMaxVersion); Encode takes its version as an argument.
	Version         int16
	Topics          []string
	UserData        []byte                           // nullable
	OwnedPartitions []ConsumerProtocolTopicPartition // v1+
	GenerationId    int32                            // v2+, -1 when absent
	RackId          *string                          // v3+
}

// ConsumerProtocolTopicPartition lists partitions of one topic: owned ones in
// a subscription, assigned ones in an assignment (the JSON "TopicPartition"
// of both payloads).
type ConsumerProtocolTopicPartition struct {
	Topic      string
	Partitions []int32
}

// Encode returns the subscription at version (clamped to 0-3), version
// prefix included.
func (s *ConsumerProtocolSubscription) Encode(version int16) []byte {
	v := min(max(version, 0), ConsumerProtocolMaxVersion)
	var w Writer
	w.Int16(v)
	w.StringArray(false, s.Topics)
	w.BytesField(false, s.UserData)
	if v >= 1 {
		w.ArrayLen(false, len(s.OwnedPartitions))
		for _, tp := range s.OwnedPartitions {
			w.String(false, tp.Topic)
			w.Int32Array(false, tp.Partitions)
		}
	}
	if v >= 2 {
		w.Int32(s.GenerationId)
	}
	if v >= 3 {
		w.NullableString(false, s.RackId)
	}
	return w.Bytes()
}

// Decode parses b into s. Fields of versions newer than 3 are ignored.
func (s *ConsumerProtocolSubscription) Decode(b []byte) error {
	*s = ConsumerProtocolSubscription{GenerationId: -1}
	r := NewReader(b)
	s.Version = r.Int16()
	if r.Err() == nil && s.Version < 0 {
		return fmt.Errorf("wire: consumer protocol subscription version %d", s.Version)
	}
	v := min(s.Version, ConsumerProtocolMaxVersion)
	s.Topics = r.StringArray(false)
	s.UserData = r.BytesField(false)
	if v >= 1 {
		s.OwnedPartitions = decodeConsumerProtocolPartitions(r)
	}
	if v >= 2 {
		s.GenerationId = r.Int32()
	}
	if v >= 3 {
		s.RackId = r.NullableString(false)
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("wire: consumer protocol subscription v%d: %w", s.Version, err)
	}
	return nil
}

// ConsumerProtocolAssignment is what the group leader assigned to a member.
type ConsumerProtocolAssignment struct {
	// Version is the version read by Decode (possibly newer than
	// ConsumerProtocolMaxVersion); Encode takes its version as an argument.
	Version            int16
	AssignedPartitions []ConsumerProtocolTopicPartition
	UserData           []byte // nullable
}

// Encode returns the assignment at version (clamped to 0-3), version prefix
// included. Versions 1-3 have the same fields as 0.
func (a *ConsumerProtocolAssignment) Encode(version int16) []byte {
	v := min(max(version, 0), ConsumerProtocolMaxVersion)
	var w Writer
	w.Int16(v)
	w.ArrayLen(false, len(a.AssignedPartitions))
	for _, tp := range a.AssignedPartitions {
		w.String(false, tp.Topic)
		w.Int32Array(false, tp.Partitions)
	}
	w.BytesField(false, a.UserData)
	return w.Bytes()
}

// Decode parses b into a. Fields of versions newer than 3 are ignored. An
// empty b, which a coordinator sends to a member the leader gave no
// assignment, decodes as an empty assignment.
func (a *ConsumerProtocolAssignment) Decode(b []byte) error {
	*a = ConsumerProtocolAssignment{}
	if len(b) == 0 {
		return nil
	}
	r := NewReader(b)
	a.Version = r.Int16()
	if r.Err() == nil && a.Version < 0 {
		return fmt.Errorf("wire: consumer protocol assignment version %d", a.Version)
	}
	a.AssignedPartitions = decodeConsumerProtocolPartitions(r)
	a.UserData = r.BytesField(false)
	if err := r.Err(); err != nil {
		return fmt.Errorf("wire: consumer protocol assignment v%d: %w", a.Version, err)
	}
	return nil
}

func decodeConsumerProtocolPartitions(r *Reader) []ConsumerProtocolTopicPartition {
	// Topic, Partitions.
	n := r.ArrayLen(false, 6)
	if n <= 0 {
		return nil
	}
	tps := make([]ConsumerProtocolTopicPartition, n)
	for i := range tps {
		tps[i].Topic = r.String(false)
		tps[i].Partitions = r.Int32Array(false)
	}
	return tps
}

// groupNullableLen is the array length to write for a nullable array: -1
// (null) for a nil slice.
func groupNullableLen[T any](s []T) int {
	if s == nil {
		return -1
	}
	return len(s)
}

// groupMin returns the smallest encoded size of an array element, for
// Reader.ArrayLen, in the flexible or the legacy encoding.
func groupMin(flex bool, flexMin, legacyMin int) int {
	if flex {
		return flexMin
	}
	return legacyMin
}

// groupBytes maps nil to an empty slice, for BYTES fields that are not
// nullable (Writer.BytesField writes nil as null).
func groupBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
