package wire

// SCRAM mechanisms of the user SCRAM credential APIs (the
// org.apache.kafka.clients.admin.ScramMechanism type codes).
const (
	ScramCredentialMechanismUnknown int8 = 0
	ScramCredentialMechanismSHA256  int8 = 1 // SCRAM-SHA-256
	ScramCredentialMechanismSHA512  int8 = 2 // SCRAM-SHA-512
)

// DescribeUserScramCredentialsRequest (key 50) lists users' SCRAM
// credentials (mechanism and iterations, never secrets). Version 0 only,
// always flexible.
type DescribeUserScramCredentialsRequest struct {
	// Users to describe; nil (null) describes every user.
	Users []DescribeUserScramCredentialsRequestUser
}

// DescribeUserScramCredentialsRequestUser names one user (the JSON
// "UserName").
type DescribeUserScramCredentialsRequestUser struct {
	Name string
}

func (*DescribeUserScramCredentialsRequest) APIKey() int16            { return 50 }
func (*DescribeUserScramCredentialsRequest) Versions() (int16, int16) { return 0, 0 }
func (*DescribeUserScramCredentialsRequest) FlexibleFrom() int16      { return 0 }
func (*DescribeUserScramCredentialsRequest) NewResponse() Response {
	return &DescribeUserScramCredentialsResponse{}
}
func (q *DescribeUserScramCredentialsRequest) Encode(w *Writer, v int16) {
	w.ArrayLen(true, groupNullableLen(q.Users))
	for _, u := range q.Users {
		w.String(true, u.Name)
		w.Tags(true)
	}
	w.Tags(true)
}

// DescribeUserScramCredentialsResponse has a top-level error and one result
// per user.
type DescribeUserScramCredentialsResponse struct {
	ThrottleTimeMs int32
	ErrorCode      int16
	ErrorMessage   *string
	Results        []DescribeUserScramCredentialsResult
}

// DescribeUserScramCredentialsResult describes one user's credentials.
type DescribeUserScramCredentialsResult struct {
	User            string
	ErrorCode       int16
	ErrorMessage    *string
	CredentialInfos []DescribeUserScramCredentialsCredentialInfo
}

// DescribeUserScramCredentialsCredentialInfo is one credential (the JSON
// "CredentialInfo").
type DescribeUserScramCredentialsCredentialInfo struct {
	Mechanism  int8 // ScramCredentialMechanismSHA256, ...
	Iterations int32
}

func (p *DescribeUserScramCredentialsResponse) Decode(r *Reader, v int16) {
	const flex = true
	p.ThrottleTimeMs = r.Int32()
	p.ErrorCode = r.Int16()
	p.ErrorMessage = r.NullableString(flex)
	p.Results = nil
	// User, ErrorCode, ErrorMessage, CredentialInfos, tags.
	if n := r.ArrayLen(flex, 6); n > 0 {
		p.Results = make([]DescribeUserScramCredentialsResult, n)
	}
	for i := range p.Results {
		u := &p.Results[i]
		u.User = r.String(flex)
		u.ErrorCode = r.Int16()
		u.ErrorMessage = r.NullableString(flex)
		// Mechanism, Iterations, tags.
		if n := r.ArrayLen(flex, 6); n > 0 {
			u.CredentialInfos = make([]DescribeUserScramCredentialsCredentialInfo, n)
		}
		for j := range u.CredentialInfos {
			u.CredentialInfos[j] = DescribeUserScramCredentialsCredentialInfo{Mechanism: r.Int8(), Iterations: r.Int32()}
			r.SkipTags(flex)
		}
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}

// AlterUserScramCredentialsRequest (key 51) deletes and creates/updates
// users' SCRAM credentials. The client salts and hashes the password
// (SaltedPassword = Hi(password, Salt, Iterations)); the broker never sees
// it. Version 0 only, always flexible.
type AlterUserScramCredentialsRequest struct {
	Deletions  []AlterUserScramCredentialsRequestDeletion
	Upsertions []AlterUserScramCredentialsRequestUpsertion
}

// AlterUserScramCredentialsRequestDeletion removes one credential (the JSON
// "ScramCredentialDeletion").
type AlterUserScramCredentialsRequestDeletion struct {
	Name      string
	Mechanism int8
}

// AlterUserScramCredentialsRequestUpsertion creates or replaces one
// credential (the JSON "ScramCredentialUpsertion").
type AlterUserScramCredentialsRequestUpsertion struct {
	Name           string
	Mechanism      int8
	Iterations     int32
	Salt           []byte
	SaltedPassword []byte
}

func (*AlterUserScramCredentialsRequest) APIKey() int16            { return 51 }
func (*AlterUserScramCredentialsRequest) Versions() (int16, int16) { return 0, 0 }
func (*AlterUserScramCredentialsRequest) FlexibleFrom() int16      { return 0 }
func (*AlterUserScramCredentialsRequest) NewResponse() Response {
	return &AlterUserScramCredentialsResponse{}
}
func (q *AlterUserScramCredentialsRequest) Encode(w *Writer, v int16) {
	const flex = true
	w.ArrayLen(flex, len(q.Deletions))
	for _, d := range q.Deletions {
		w.String(flex, d.Name)
		w.Int8(d.Mechanism)
		w.Tags(flex)
	}
	w.ArrayLen(flex, len(q.Upsertions))
	for _, u := range q.Upsertions {
		w.String(flex, u.Name)
		w.Int8(u.Mechanism)
		w.Int32(u.Iterations)
		// Not nullable: a nil slice must go out as empty, not as null.
		w.BytesField(flex, groupBytes(u.Salt))
		w.BytesField(flex, groupBytes(u.SaltedPassword))
		w.Tags(flex)
	}
	w.Tags(flex)
}

// AlterUserScramCredentialsResponse has one result per affected user.
type AlterUserScramCredentialsResponse struct {
	ThrottleTimeMs int32
	Results        []AlterUserScramCredentialsResult
}

// AlterUserScramCredentialsResult is the outcome for one user.
type AlterUserScramCredentialsResult struct {
	User         string
	ErrorCode    int16
	ErrorMessage *string
}

func (p *AlterUserScramCredentialsResponse) Decode(r *Reader, v int16) {
	const flex = true
	p.ThrottleTimeMs = r.Int32()
	p.Results = nil
	// User, ErrorCode, ErrorMessage, tags.
	if n := r.ArrayLen(flex, 5); n > 0 {
		p.Results = make([]AlterUserScramCredentialsResult, n)
	}
	for i := range p.Results {
		u := &p.Results[i]
		u.User = r.String(flex)
		u.ErrorCode = r.Int16()
		u.ErrorMessage = r.NullableString(flex)
		r.SkipTags(flex)
	}
	r.SkipTags(flex)
}
