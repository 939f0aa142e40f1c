package wire

import (
	"encoding/binary"
	"fmt"
)

// Request is the body of one Kafka API request. Each API key has one
// implementation in its own file (produce.go, fetch.go, ...), named after the
// Kafka message (ProduceRequest) with fields named after the JSON spec in
// apache/kafka clients/src/main/resources/common/message.
type Request interface {
	// APIKey is the Kafka API key (Produce = 0, Fetch = 1, ...).
	APIKey() int16
	// Versions is the inclusive range of versions this package can encode
	// the request and decode the response for.
	Versions() (min, max int16)
	// FlexibleFrom is the first flexible version (compact encodings and
	// tagged fields), or -1 when the API has none.
	FlexibleFrom() int16
	// Encode appends the body for version to w.
	Encode(w *Writer, version int16)
	// NewResponse returns an empty response to decode the reply into.
	NewResponse() Response
}

// Response is the body of one Kafka API response. Decode reports failures
// through r (see Reader); it must never panic.
type Response interface {
	Decode(r *Reader, version int16)
}

// IsFlexible reports whether version of req uses the flexible encoding.
func IsFlexible(req Request, version int16) bool {
	f := req.FlexibleFrom()
	return f >= 0 && version >= f
}

// APIKeyApiVersions is special: its response header is always v0 so that a
// client can read the reply of a broker that does not know the version asked.
const APIKeyApiVersions int16 = 18

// AppendRequest appends one framed request to dst: the int32 size, the
// request header (v1, or v2 for flexible versions) and the body. A value
// that cannot be encoded (a string over MaxStringLength) is an
// INVALID_ARGUMENT error, and dst[:len(dst)] holds nothing of the request.
func AppendRequest(dst []byte, req Request, version int16, correlationID int32, clientID string) ([]byte, error) {
	start := len(dst)
	w := Writer{B: append(dst, 0, 0, 0, 0)}
	w.Int16(req.APIKey())
	w.Int16(version)
	w.Int32(correlationID)
	// The client id stays a non-compact NULLABLE_STRING even in header v2.
	w.NullableString(false, &clientID)
	flexible := IsFlexible(req, version)
	w.Tags(flexible)
	req.Encode(&w, version)
	if err := w.Err(); err != nil {
		return w.B[:start], fmt.Errorf("encoding %s v%d request: %w", APIName(req.APIKey()), version, err)
	}
	binary.BigEndian.PutUint32(w.B[start:], uint32(len(w.B)-start-4))
	return w.B, nil
}

// ResponseCorrelationID returns the correlation id that starts every
// response frame (the frame without its size prefix).
func ResponseCorrelationID(frame []byte) (int32, error) {
	if len(frame) < 4 {
		return 0, ErrShortBuffer
	}
	return int32(binary.BigEndian.Uint32(frame)), nil
}

// DecodeResponse decodes a response frame (without its size prefix) for the
// request req sent at version, into resp. The header is v1 for flexible
// versions, except for ApiVersions which always answers with header v0.
func DecodeResponse(frame []byte, req Request, version int16, resp Response) error {
	r := NewReader(frame)
	r.Int32() // correlation id, matched by the caller
	if IsFlexible(req, version) && req.APIKey() != APIKeyApiVersions {
		r.SkipTags(true)
	}
	resp.Decode(r, version)
	if err := r.Err(); err != nil {
		return fmt.Errorf("decoding %s v%d response: %w", APIName(req.APIKey()), version, err)
	}
	return nil
}

// APIName returns the Kafka name of an API key, for messages and logs.
func APIName(key int16) string {
	if n, ok := apiNames[key]; ok {
		return n
	}
	return fmt.Sprintf("ApiKey(%d)", key)
}

var apiNames = map[int16]string{
	0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata",
	8: "OffsetCommit", 9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup",
	12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups",
	16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics",
	20: "DeleteTopics", 21: "DeleteRecords", 22: "InitProducerId", 24: "AddPartitionsToTxn",
	25: "AddOffsetsToTxn", 26: "EndTxn", 28: "TxnOffsetCommit", 32: "DescribeConfigs",
	33: "AlterConfigs", 36: "SaslAuthenticate", 37: "CreatePartitions", 42: "DeleteGroups",
	44: "IncrementalAlterConfigs", 47: "OffsetDelete", 50: "DescribeUserScramCredentials",
	51: "AlterUserScramCredentials", 60: "DescribeCluster", 65: "DescribeTransactions", 68: "ConsumerGroupHeartbeat",
	69: "ConsumerGroupDescribe",
	76: "ShareGroupHeartbeat", 77: "ShareGroupDescribe", 78: "ShareFetch", 79: "ShareAcknowledge",
	90: "DescribeShareGroupOffsets", 91: "AlterShareGroupOffsets", 92: "DeleteShareGroupOffsets",
}
