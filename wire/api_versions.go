package wire

// ApiVersionsRequest (key 18) asks a broker which API versions it supports.
// It is the first request on every connection. Versions 0-4, flexible from 3.
type ApiVersionsRequest struct {
	ClientSoftwareName    string // v3+
	ClientSoftwareVersion string // v3+
}

func (*ApiVersionsRequest) APIKey() int16            { return APIKeyApiVersions }
func (*ApiVersionsRequest) Versions() (int16, int16) { return 0, 4 }
func (*ApiVersionsRequest) FlexibleFrom() int16      { return 3 }
func (*ApiVersionsRequest) NewResponse() Response    { return &ApiVersionsResponse{} }
func (q *ApiVersionsRequest) Encode(w *Writer, v int16) {
	if v >= 3 {
		w.String(true, q.ClientSoftwareName)
		w.String(true, q.ClientSoftwareVersion)
		w.Tags(true)
	}
}

// ApiVersionsResponse lists the supported version range of each API key.
type ApiVersionsResponse struct {
	ErrorCode      int16
	ApiKeys        []ApiVersionsKey
	ThrottleTimeMs int32 // v1+
}

// ApiVersionsKey is one supported API and its version range.
type ApiVersionsKey struct {
	ApiKey     int16
	MinVersion int16
	MaxVersion int16
}

func (p *ApiVersionsResponse) Decode(r *Reader, v int16) {
	flex := v >= 3
	p.ErrorCode = r.Int16()
	// A broker that does not support the version we asked answers with a v0
	// body (error UNSUPPORTED_VERSION and its key list), whatever v was.
	if p.ErrorCode == int16(35) {
		flex = false
		v = 0
	}
	n := r.ArrayLen(flex, 6)
	p.ApiKeys = make([]ApiVersionsKey, 0, max(n, 0))
	for i := 0; i < n; i++ {
		p.ApiKeys = append(p.ApiKeys, ApiVersionsKey{ApiKey: r.Int16(), MinVersion: r.Int16(), MaxVersion: r.Int16()})
		r.SkipTags(flex)
	}
	if v >= 1 {
		p.ThrottleTimeMs = r.Int32()
	}
	r.SkipTags(flex)
}
