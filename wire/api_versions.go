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
	// FinalizedFeatures (v3+, tagged field 2) are the cluster-wide feature
	// levels in force, e.g. "transaction.version" (2: transaction
	// protocol v2, KIP-890). Nil when the broker sends none.
	FinalizedFeatures []ApiVersionsFinalizedFeature
}

// ApiVersionsFinalizedFeature is one finalized feature and its level range.
type ApiVersionsFinalizedFeature struct {
	Name            string
	MaxVersionLevel int16
	MinVersionLevel int16
}

// FinalizedLevel returns the finalized max level of the named feature, 0
// when the broker did not finalize it (Kafka's "feature off").
func (p *ApiVersionsResponse) FinalizedLevel(name string) int16 {
	for _, f := range p.FinalizedFeatures {
		if f.Name == name {
			return f.MaxVersionLevel
		}
	}
	return 0
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
	p.FinalizedFeatures = nil
	if flex {
		r.Tags(func(tag uint64, data []byte) {
			if tag == 2 {
				decodeTagged(r, data, func(s *Reader) {
					// Name (at least 1 byte), two int16, tags.
					p.FinalizedFeatures = decodeSlice(s, true, 6, func(s *Reader, f *ApiVersionsFinalizedFeature) {
						f.Name = s.String(true)
						f.MaxVersionLevel = s.Int16()
						f.MinVersionLevel = s.Int16()
						s.SkipTags(true)
					})
				})
			}
		})
	}
}
