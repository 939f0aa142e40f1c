package wire

import (
	"encoding/binary"
	"testing"
)

// FuzzDecodeApiVersions decodes arbitrary bytes as an ApiVersions response
// at any version: the first response of every connection, read before the
// client knows anything about the peer (which may not even be a Kafka
// broker). Decode must never panic nor read past its input.
func FuzzDecodeApiVersions(f *testing.F) {
	var w Writer
	w.Int16(0)
	w.Uvarint(2) // compact array of 1
	w.Int16(18)
	w.Int16(0)
	w.Int16(4)
	w.Tags(true)
	w.Int32(0)
	w.Tags(true)
	f.Add(byte(3), w.Bytes())
	v0 := binary.BigEndian.AppendUint16(nil, 35) // UNSUPPORTED_VERSION
	v0 = binary.BigEndian.AppendUint32(v0, 1)
	v0 = append(v0, 0, 18, 0, 0, 0, 3)
	f.Add(byte(4), v0)
	f.Add(byte(0), []byte{0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, version byte, data []byte) {
		req := &ApiVersionsRequest{}
		lo, hi := req.Versions()
		v := lo + int16(version)%(hi-lo+1)
		r := NewReader(data)
		(&ApiVersionsResponse{}).Decode(r, v)
		if r.Offset() > len(data) || r.Remaining() < 0 {
			t.Fatalf("v%d: offset %d past %d bytes", v, r.Offset(), len(data))
		}
	})
}

// FuzzDecodeResponseFrame runs whole response frames (correlation id,
// header tags, body) through ResponseCorrelationID and DecodeResponse, as
// the connection's reader does with what arrives from the socket.
func FuzzDecodeResponseFrame(f *testing.F) {
	reqs := msgFuzzRequests()
	reqs[byte(APIKeyApiVersions)] = &ApiVersionsRequest{}
	for _, tc := range msgResponseCases() {
		lo, _ := tc.req.Versions()
		frame := binary.BigEndian.AppendUint32(nil, 7)
		if IsFlexible(tc.req, tc.version) {
			frame = append(frame, 0) // no header tags
		}
		f.Add(byte(tc.req.APIKey()), byte(tc.version-lo), append(frame, tc.bytes()...))
	}
	f.Add(byte(APIKeyApiVersions), byte(3), []byte{0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0})
	f.Add(byte(0), byte(9), []byte{0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, apiKey, version byte, frame []byte) {
		req, ok := reqs[apiKey]
		if !ok {
			return
		}
		lo, hi := req.Versions()
		v := lo + int16(version)%(hi-lo+1)
		id, err := ResponseCorrelationID(frame)
		if (err != nil) != (len(frame) < 4) {
			t.Fatalf("correlation id of %d bytes: %v", len(frame), err)
		}
		if err == nil && id != int32(binary.BigEndian.Uint32(frame)) {
			t.Fatalf("correlation id %d", id)
		}
		_ = DecodeResponse(frame, req, v, req.NewResponse())
	})
}
