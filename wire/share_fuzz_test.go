package wire

import (
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzDecodeShareResponses decodes arbitrary bytes as a response of the
// share-group APIs (share.go and the share-group admin messages) at any version they implement. Decode must
// never panic, never read past its input, and be deterministic. Seeds are
// kmsg's encodings of filled-in responses.
func FuzzDecodeShareResponses(f *testing.F) {
	reqs := []Request{&ShareGroupHeartbeatRequest{}, &ShareGroupDescribeRequest{}, &ShareFetchRequest{}, &ShareAcknowledgeRequest{},
		&DescribeShareGroupOffsetsRequest{}, &AlterShareGroupOffsetsRequest{}, &DeleteShareGroupOffsetsRequest{}}
	for i, q := range reqs {
		lo, hi := q.Versions()
		for v := lo; v <= hi; v++ {
			kr := kmsg.RequestForKey(q.APIKey())
			kr.SetVersion(v)
			src := kr.ResponseKind()
			(&oracleFiller{variant: variantSet, skip: kmsgFillSkip}).fill(reflect.ValueOf(src).Elem(), "", false, 0)
			src.SetVersion(v)
			f.Add(byte(i), byte(v-lo), src.AppendTo(nil))
		}
	}
	f.Fuzz(func(t *testing.T, which, version byte, data []byte) {
		q := reqs[int(which)%len(reqs)]
		lo, hi := q.Versions()
		v := lo + int16(version)%(hi-lo+1)
		r := NewReader(data)
		resp := q.NewResponse()
		resp.Decode(r, v)
		if r.Offset() > len(data) || r.Remaining() < 0 {
			t.Fatalf("%s v%d: offset %d past input of %d bytes", APIName(q.APIKey()), v, r.Offset(), len(data))
		}
		if r.Err() != nil {
			return
		}
		r2 := NewReader(data)
		resp2 := q.NewResponse()
		resp2.Decode(r2, v)
		if r2.Err() != nil || r2.Offset() != r.Offset() || !reflect.DeepEqual(resp, resp2) {
			t.Fatalf("%s v%d: decoding twice differs", APIName(q.APIKey()), v)
		}
	})
}
