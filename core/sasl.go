package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// SASL authentication (KIP-152): right after ApiVersions, a connection of
// a SASL_SSL or SASL_PLAINTEXT client sends SaslHandshake v1 naming the
// mechanism, then SaslAuthenticate requests carrying the mechanism's
// messages until the mechanism is done. A refused credential fails the
// dial with a non-retriable auth-category error (SASL_AUTHENTICATION_FAILED,
// UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE, AUTHENTICATION_LOCAL),
// and authFailures (core/tls.go) keeps the client from redialing at once.
//
// When the broker limits the session (connections.max.reauth.ms, KIP-368)
// the connection is retired before the session ends: it takes no new
// requests, closes once its requests in flight are answered, and the next
// request dials (and authenticates) a fresh connection.
//
// Mechanisms: PLAIN (RFC 4616), SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802,
// RFC 7677; core/sasl_scram.go) and OAUTHBEARER (RFC 7628). Go users can
// plug in their own with WithSASL.

// SASL mechanism names (sasl.mechanism).
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// SASLMechanism is the client side of a SASL mechanism. Implementations
// must be safe for concurrent use: Start is called once per connection,
// possibly from several goroutines at once.
type SASLMechanism interface {
	// Name is the mechanism name sent in SaslHandshake, e.g. "PLAIN".
	Name() string
	// Start begins the exchange of one connection and returns its first
	// message (the client speaks first in every Kafka mechanism).
	Start(ctx context.Context) (SASLSession, []byte, error)
}

// SASLSession is one connection's exchange. Step receives each server
// message and returns the next client message, or done=true when the
// exchange is complete (the server's last message verified).
type SASLSession interface {
	Step(challenge []byte) (done bool, response []byte, err error)
}

// TokenProvider returns the OAUTHBEARER token to authenticate a new
// connection with (a JWT, typically). It is called for every connection
// (so it should cache the token until shortly before it expires) and may
// be called from several goroutines at once.
type TokenProvider func(ctx context.Context) (string, error)

// WithSASL authenticates every connection with m (overriding
// sasl.mechanism). It turns a PLAINTEXT or SSL security.protocol into
// SASL_SSL: SASL without TLS needs WithSecurityProtocol(ProtocolSASLPlaintext).
// Default: no SASL (or the mechanism of the sasl.* properties).
func WithSASL(m SASLMechanism) ConnOption {
	return connOpt(func(c *Config) {
		c.SASL = m
		upgradeToSASL(c)
	})
}

// WithOAuthBearerTokenProvider selects OAUTHBEARER with tokens from p
// (and, like WithSASL, SASL_SSL unless SASL_PLAINTEXT was chosen).
// Default: none (OAUTHBEARER then needs sasl.oauthbearer.token).
func WithOAuthBearerTokenProvider(p TokenProvider) ConnOption {
	return connOpt(func(c *Config) {
		c.SASLMechanism = MechanismOAuthBearer
		c.OAuthBearerTokenProvider = p
		upgradeToSASL(c)
	})
}

func upgradeToSASL(c *Config) {
	switch c.SecurityProtocol {
	case "", ProtocolPlaintext, ProtocolSSL:
		c.SecurityProtocol = ProtocolSASLSSL
	}
}

// SASLPlain is the PLAIN mechanism (RFC 4616): the password goes to the
// broker as is, so use it over TLS only.
func SASLPlain(user, password string) SASLMechanism {
	return &plainMechanism{user: user, pass: password}
}

// SASLOAuthBearer is the OAUTHBEARER mechanism (RFC 7628) with tokens from
// p and optional SASL extensions (key=value pairs sent with the token).
func SASLOAuthBearer(p TokenProvider, extensions map[string]string) SASLMechanism {
	return &oauthMechanism{provider: p, ext: extensions}
}

// buildSASL resolves the mechanism of a SASL_* config.
func (c *Config) buildSASL() (SASLMechanism, error) {
	if c.SASL != nil {
		if c.SASLMechanism != "" && c.SASLMechanism != c.SASL.Name() {
			return nil, securityErr("sasl.mechanism=%s conflicts with the mechanism given by WithSASL (%s)", c.SASLMechanism, c.SASL.Name())
		}
		return c.SASL, nil
	}
	switch c.SASLMechanism {
	case "":
		return nil, securityErr("security.protocol=%s needs sasl.mechanism (%s)", c.SecurityProtocol,
			strings.Join(choiceOf("sasl.mechanism").Values, ", "))
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		if c.SASLUsername == "" || c.SASLPassword == "" {
			return nil, securityErr("sasl.mechanism=%s needs sasl.username and sasl.password", c.SASLMechanism)
		}
		if c.oauthToken != nil || c.OAuthBearerTokenProvider != nil || len(c.OAuthBearerExtensions) > 0 {
			return nil, securityErr("OAUTHBEARER settings are given but sasl.mechanism=%s", c.SASLMechanism)
		}
		if c.SASLMechanism == MechanismPlain {
			return SASLPlain(c.SASLUsername, string(c.SASLPassword)), nil
		}
		if c.SASLMechanism == MechanismScramSHA256 {
			return SASLScramSHA256(c.SASLUsername, string(c.SASLPassword)), nil
		}
		return SASLScramSHA512(c.SASLUsername, string(c.SASLPassword)), nil
	case MechanismOAuthBearer:
		if c.SASLUsername != "" || c.SASLPassword != "" {
			return nil, securityErr("sasl.username and sasl.password are not used by OAUTHBEARER: give a token instead")
		}
		p := c.OAuthBearerTokenProvider
		switch {
		case p != nil && c.oauthToken != nil:
			return nil, securityErr("give either sasl.oauthbearer.token or a token provider, not both")
		case p == nil && c.oauthToken == nil:
			return nil, securityErr("sasl.mechanism=OAUTHBEARER needs a token: sasl.oauthbearer.token (C, Python: sasl_oauth_token_provider) or WithOAuthBearerTokenProvider (Go)")
		case p == nil:
			p = c.oauthToken.Token
		}
		return SASLOAuthBearer(p, c.OAuthBearerExtensions), nil
	}
	return nil, checkChoice("sasl.mechanism", c.SASLMechanism) // a field set by hand: not one of the table's
}

// ---------------------------------------------------------------------------
// The exchange on a connection

// maxSASLSteps bounds the messages of one exchange (SCRAM needs 2): a
// broker that keeps challenging is broken or hostile.
const maxSASLSteps = 8

// authenticate runs SaslHandshake and the mechanism's SaslAuthenticate
// round trips on a fresh connection. It returns the session lifetime the
// broker announced (0 = unlimited).
func (c *conn) authenticate(ctx context.Context, m SASLMechanism) (time.Duration, error) {
	hs := &wire.SaslHandshakeRequest{Mechanism: m.Name()}
	v, err := c.version(hs)
	if err != nil {
		return 0, err
	}
	if v < 1 {
		return 0, &wire.Error{Code: wire.ErrUnsupportedVersionLocal, Broker: c.addr,
			Detail: "the broker supports only SaslHandshake v0 (pre-KIP-152 framing), which Gofka does not implement"}
	}
	raw, err := c.roundTripVersion(ctx, hs, v)
	if err != nil {
		return 0, err
	}
	hr := &wire.SaslHandshakeResponse{}
	if err := wire.DecodeResponse(raw, hs, v, hr); err != nil {
		return 0, &wire.Error{Code: wire.ErrCorruptResponse, Detail: "SaslHandshake: " + err.Error(), Broker: c.addr}
	}
	switch code := wire.ErrorCode(hr.ErrorCode); code {
	case wire.ErrNone:
	case wire.ErrUnsupportedSaslMechanism:
		enabled := append([]string(nil), hr.Mechanisms...)
		sort.Strings(enabled)
		return 0, &wire.Error{Code: code, Broker: c.addr,
			Detail: fmt.Sprintf("the broker does not enable SASL mechanism %s on this listener (it enables: %s)", m.Name(), strings.Join(enabled, ", "))}
	case wire.ErrIllegalSaslState:
		return 0, &wire.Error{Code: code, Broker: c.addr,
			Detail: "the broker refused SaslHandshake: this listener does not use SASL (check security.protocol: SSL and PLAINTEXT listeners take no SASL)"}
	default:
		return 0, &wire.Error{Code: code, Detail: "SaslHandshake", Broker: c.addr}
	}

	sess, msg, err := m.Start(ctx)
	if err != nil {
		return 0, localAuthErr(m, c.addr, err)
	}
	for step := 0; step < maxSASLSteps; step++ {
		req := &wire.SaslAuthenticateRequest{AuthBytes: msg}
		av, err := c.version(req)
		if err != nil {
			return 0, err
		}
		raw, err := c.roundTripVersion(ctx, req, av)
		if err != nil {
			return 0, err
		}
		ar := &wire.SaslAuthenticateResponse{}
		if err := wire.DecodeResponse(raw, req, av, ar); err != nil {
			return 0, &wire.Error{Code: wire.ErrCorruptResponse, Detail: "SaslAuthenticate: " + err.Error(), Broker: c.addr}
		}
		if ar.ErrorCode != 0 {
			detail := "SASL " + m.Name() + " authentication failed"
			if ar.ErrorMessage != nil && *ar.ErrorMessage != "" {
				detail += ": " + redact(*ar.ErrorMessage, sess)
			}
			if f, ok := sess.(interface{ serverError() string }); ok && f.serverError() != "" && !strings.Contains(detail, f.serverError()) {
				detail += " (" + redact(f.serverError(), sess) + ")"
			}
			return 0, &wire.Error{Code: wire.ErrorCode(ar.ErrorCode), Detail: detail, Broker: c.addr}
		}
		done, next, err := sess.Step(ar.AuthBytes)
		if err != nil {
			return 0, localAuthErr(m, c.addr, err)
		}
		if done {
			return time.Duration(ar.SessionLifetimeMs) * time.Millisecond, nil
		}
		msg = next
	}
	return 0, &wire.Error{Code: wire.ErrIllegalSaslState, Broker: c.addr,
		Detail: fmt.Sprintf("SASL %s: the broker did not finish the exchange in %d steps", m.Name(), maxSASLSteps)}
}

// localAuthErr wraps an error of the mechanism itself (bad server
// message, failed server proof, token provider failure).
func localAuthErr(m SASLMechanism, addr string, err error) error {
	var we *wire.Error
	if errors.As(err, &we) {
		if we.Broker == "" {
			c := *we
			c.Broker = addr
			return &c
		}
		return we
	}
	return &wire.Error{Code: wire.ErrAuthenticationLocal, Detail: "SASL " + m.Name() + ": " + err.Error(), Broker: addr}
}

// secretHolder is implemented by sessions that know secrets which must
// never be echoed, even if a broker quotes them in an error message.
type secretHolder interface{ secrets() []string }

func redact(s string, sess SASLSession) string {
	h, ok := sess.(secretHolder)
	if !ok {
		return s
	}
	for _, sec := range h.secrets() {
		if len(sec) >= 3 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// retireAfter schedules the retirement of an authenticated connection
// whose session lasts lifetime (KIP-368): at 85-95% of it (jittered, so a
// client's connections do not all redial at once) the connection stops taking
// new requests, then closes when those in flight are answered or the
// session ends, whichever is first.
func (c *conn) retireAfter(lifetime time.Duration) {
	soft := lifetime * time.Duration(85+rand.IntN(11)) / 100
	time.AfterFunc(soft, func() {
		if c.isDead() {
			return
		}
		c.retiring.Store(true)
		hard := time.Now().Add(lifetime - soft)
		for c.inFlight.Load() > 0 && time.Now().Before(hard) {
			select {
			case <-c.dead:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		c.closeLocal(&wire.Error{Code: wire.ErrConnectionFailed, Broker: c.addr,
			Detail: "SASL session lifetime reached: connection closed for re-authentication"})
	})
}

// ---------------------------------------------------------------------------
// PLAIN

type plainMechanism struct {
	user string
	pass string
}

func (m *plainMechanism) Name() string   { return MechanismPlain }
func (m *plainMechanism) String() string { return "PLAIN(" + m.user + ")" }

func (m *plainMechanism) Start(context.Context) (SASLSession, []byte, error) {
	// authzid (empty: act as the authenticated user) NUL authcid NUL passwd
	msg := make([]byte, 0, 2+len(m.user)+len(m.pass))
	msg = append(msg, 0)
	msg = append(msg, m.user...)
	msg = append(msg, 0)
	msg = append(msg, m.pass...)
	return &plainSession{pass: m.pass}, msg, nil
}

type plainSession struct{ pass string }

func (s *plainSession) Step([]byte) (bool, []byte, error) { return true, nil, nil }
func (s *plainSession) secrets() []string                 { return []string{s.pass} }

// ---------------------------------------------------------------------------
// OAUTHBEARER

type oauthMechanism struct {
	provider TokenProvider
	ext      map[string]string
}

func (m *oauthMechanism) Name() string   { return MechanismOAuthBearer }
func (m *oauthMechanism) String() string { return "OAUTHBEARER" }

func (m *oauthMechanism) Start(ctx context.Context) (SASLSession, []byte, error) {
	tok, err := m.provider(ctx)
	if err != nil {
		return nil, nil, &wire.Error{Code: wire.ErrAuthenticationLocal, Detail: "OAUTHBEARER token provider: " + err.Error()}
	}
	if err := checkBearerToken(tok); err != nil {
		return nil, nil, &wire.Error{Code: wire.ErrAuthenticationLocal, Detail: "OAUTHBEARER token provider: " + err.Error()}
	}
	return &oauthSession{token: tok}, oauthClientFirst(tok, m.ext), nil
}

// oauthClientFirst is the RFC 7628 initial client response:
// gs2-header (no channel binding, no authzid) kvsep auth=Bearer <token>
// [kvsep key=value]... kvsep kvsep, with kvsep = 0x01.
func oauthClientFirst(token string, ext map[string]string) []byte {
	var b strings.Builder
	b.WriteString("n,,\x01auth=Bearer ")
	b.WriteString(token)
	keys := make([]string, 0, len(ext))
	for k := range ext {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("\x01" + k + "=" + ext[k])
	}
	b.WriteString("\x01\x01")
	return []byte(b.String())
}

type oauthSession struct {
	token  string
	failed string // the server's error challenge (JSON), if any
}

// Step: an empty server message means success. A non-empty one is the
// RFC 7628 error challenge; the client answers with a lone kvsep and the
// broker then fails the exchange (its error message is reported, with
// the challenge's status).
func (s *oauthSession) Step(challenge []byte) (bool, []byte, error) {
	if len(challenge) == 0 {
		return true, nil, nil
	}
	if s.failed != "" {
		return false, nil, &wire.Error{Code: wire.ErrSaslAuthenticationFailed, Detail: "OAUTHBEARER token rejected: " + s.failed}
	}
	s.failed = string(challenge)
	return false, []byte{0x01}, nil
}

func (s *oauthSession) serverError() string { return s.failed }
func (s *oauthSession) secrets() []string   { return []string{s.token} }

// checkBearerToken accepts RFC 6750 b64token syntax (what JWTs are made
// of); anything else could smuggle separators into the SASL message.
// The error never quotes the token.
func checkBearerToken(tok string) error {
	if tok == "" {
		return fmt.Errorf("empty token")
	}
	i := 0
	for ; i < len(tok); i++ {
		ch := tok[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '+' || ch == '/' {
			continue
		}
		break
	}
	chars := i
	for ; i < len(tok) && tok[i] == '='; i++ {
	}
	if chars == 0 || i != len(tok) {
		return fmt.Errorf("not a bearer token (RFC 6750 b64token: letters, digits and -._~+/ followed by optional =)")
	}
	return nil
}

// parseOAuthExtensions parses "k=v,k2=v2" (RFC 7628 keys are letters;
// values printable ASCII without ',' here since ',' separates pairs).
func parseOAuthExtensions(v string) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("extension %q is not key=value", pair)
		}
		for _, ch := range k {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z') {
				return nil, fmt.Errorf("extension key %q must be letters only", k)
			}
		}
		if k == "auth" {
			return nil, fmt.Errorf("extension key \"auth\" is reserved for the token")
		}
		for _, ch := range val {
			if ch < 0x20 || ch > 0x7e {
				return nil, fmt.Errorf("extension %s has a non-printable value", k)
			}
		}
		out[k] = val
	}
	return out, nil
}

// OAuthBearerTokens holds the current token of a client configured with
// sasl.oauthbearer.token; SetOAuthBearerToken replaces it and every later
// connection authenticates with the new one. Copies of the Config share
// it. Safe for concurrent use.
type OAuthBearerTokens struct {
	// A pointer, not a string: fmt prints nested pointers as addresses,
	// so even a raw dump of a Config does not show the token.
	token atomic.Pointer[string]
}

func newOAuthBearerTokens(tok string) *OAuthBearerTokens {
	t := &OAuthBearerTokens{}
	t.token.Store(&tok)
	return t
}

// Token returns the current token (a TokenProvider).
func (t *OAuthBearerTokens) Token(context.Context) (string, error) {
	return *t.token.Load(), nil
}

// String hides the token.
func (t *OAuthBearerTokens) String() string { return "OAuthBearerTokens([redacted])" }

func (t *OAuthBearerTokens) set(tok string) error {
	if err := checkBearerToken(tok); err != nil {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "OAUTHBEARER token: " + err.Error()}
	}
	t.token.Store(&tok)
	return nil
}

// SetOAuthBearerToken replaces the OAUTHBEARER token the pool's new
// connections authenticate with (established connections keep their
// session), and forgets failed authentications so that the next request
// dials at once. The pool must have been created with
// sasl.oauthbearer.token set.
func (p *Pool) SetOAuthBearerToken(token string) error {
	if p.dial.oauthToken == nil {
		return &wire.Error{Code: wire.ErrInvalidArgument,
			Detail: "the client is not configured for OAUTHBEARER with sasl.oauthbearer.token (a Go token provider is refreshed by itself)"}
	}
	if err := p.dial.oauthToken.set(token); err != nil {
		return err
	}
	if p.dial.sec != nil {
		p.dial.sec.failures.reset()
	}
	return nil
}

// SetOAuthBearerToken replaces the token of the client's connections (see
// Pool.SetOAuthBearerToken; a client on a shared pool updates that pool).
func (c *Client) SetOAuthBearerToken(token string) error { return c.pool.SetOAuthBearerToken(token) }
