package wire

// SaslHandshakeRequest (key 17) chooses the SASL mechanism of a connection,
// right after ApiVersions.
//
// Versions 0-1, never flexible; Apache Kafka 4.x still accepts both. The
// versions differ in what follows, not in their layout: after v0 the SASL
// tokens go as raw size-prefixed frames, after v1 inside
// SaslAuthenticateRequest. Use v1 with SaslAuthenticate; v0 is only listed
// because brokers accept it.
type SaslHandshakeRequest struct {
	Mechanism string // e.g. "PLAIN", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI"
}

func (*SaslHandshakeRequest) APIKey() int16            { return 17 }
func (*SaslHandshakeRequest) Versions() (int16, int16) { return 0, 1 }
func (*SaslHandshakeRequest) FlexibleFrom() int16      { return -1 }
func (*SaslHandshakeRequest) NewResponse() Response    { return &SaslHandshakeResponse{} }
func (q *SaslHandshakeRequest) Encode(w *Writer, v int16) {
	w.String(false, q.Mechanism)
}

// SaslHandshakeResponse accepts the mechanism or lists the enabled ones.
type SaslHandshakeResponse struct {
	ErrorCode  int16
	Mechanisms []string
}

func (p *SaslHandshakeResponse) Decode(r *Reader, v int16) {
	p.ErrorCode = r.Int16()
	p.Mechanisms = r.StringArray(false)
}

// SaslAuthenticateRequest (key 36) carries one SASL token from the client.
//
// Versions 0-2, flexible from 2. KIP-896 removed no version of it, so the
// full range is supported.
type SaslAuthenticateRequest struct {
	AuthBytes []byte // nil is sent as empty
}

func (*SaslAuthenticateRequest) APIKey() int16            { return 36 }
func (*SaslAuthenticateRequest) Versions() (int16, int16) { return 0, 2 }
func (*SaslAuthenticateRequest) FlexibleFrom() int16      { return 2 }
func (*SaslAuthenticateRequest) NewResponse() Response    { return &SaslAuthenticateResponse{} }
func (q *SaslAuthenticateRequest) Encode(w *Writer, v int16) {
	flex := v >= 2
	b := q.AuthBytes
	if b == nil {
		b = []byte{} // BYTES is not nullable
	}
	w.BytesField(flex, b)
	w.Tags(flex)
}

// SaslAuthenticateResponse carries the server's SASL token.
type SaslAuthenticateResponse struct {
	ErrorCode    int16
	ErrorMessage *string
	AuthBytes    []byte // aliases the decoded input
	// SessionLifetimeMs (v1+) is how long the authenticated session lasts,
	// 0 if unlimited: the client must re-authenticate before (KIP-368).
	SessionLifetimeMs int64
}

func (p *SaslAuthenticateResponse) Decode(r *Reader, v int16) {
	flex := v >= 2
	*p = SaslAuthenticateResponse{}
	p.ErrorCode = r.Int16()
	p.ErrorMessage = r.NullableString(flex)
	p.AuthBytes = r.BytesField(flex)
	if v >= 1 {
		p.SessionLifetimeMs = r.Int64()
	}
	r.SkipTags(flex)
}
