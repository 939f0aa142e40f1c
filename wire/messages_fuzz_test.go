package wire

import (
	"reflect"
	"testing"
)

// msgFuzzRequests maps the API keys implemented in the message files of
// this package to a request of that API.
func msgFuzzRequests() map[byte]Request {
	m := map[byte]Request{}
	for _, req := range msgRequests() {
		m[byte(req.APIKey())] = req
	}
	return m
}

// FuzzDecodeResponses decodes arbitrary bytes as the response of any API
// and version implemented here. Decode must never panic, never read past
// its input, and be deterministic.
func FuzzDecodeResponses(f *testing.F) {
	reqs := msgFuzzRequests()
	for _, tc := range msgResponseCases() {
		lo, _ := tc.req.Versions()
		f.Add(byte(tc.req.APIKey()), byte(tc.version-lo), tc.bytes())
	}
	f.Add(byte(3), byte(0), []byte{0x7f, 0xff, 0xff, 0xff})
	f.Add(byte(1), byte(8), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})

	f.Fuzz(func(t *testing.T, apiKey, version byte, data []byte) {
		req, ok := reqs[apiKey]
		if !ok {
			return
		}
		// Map version onto the supported range so every byte is useful.
		lo, hi := req.Versions()
		v := lo + int16(version)%(hi-lo+1)

		r := NewReader(data)
		resp := req.NewResponse()
		resp.Decode(r, v)
		if r.Offset() > len(data) || r.Remaining() < 0 {
			t.Fatalf("%s v%d: offset %d past input of %d bytes", APIName(req.APIKey()), v, r.Offset(), len(data))
		}
		if r.Err() != nil {
			return
		}
		r2 := NewReader(data)
		resp2 := req.NewResponse()
		resp2.Decode(r2, v)
		if r2.Err() != nil || r2.Offset() != r.Offset() || !reflect.DeepEqual(resp, resp2) {
			t.Fatalf("%s v%d: decoding twice differs", APIName(req.APIKey()), v)
		}
	})
}
