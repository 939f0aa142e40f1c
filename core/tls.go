package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// Security: the `--- security ---` group of Config, its rows of the
// property table, and how a connection is secured. This file holds the
// protocol choice and TLS; core/sasl*.go holds SASL. docs/security.md is
// the user's guide.
//
// Everything a connection needs is resolved when the client and its pool
// are created (prepareSecurity): files are read and keys decrypted then, so
// a missing file or a wrong key password is an error of NewClient, not of
// every dial. The pool keeps its resolved state (securitySetup), including
// the record of failed authentications; the OAUTHBEARER token holder is
// shared by every copy of the Config, so a client, its pool and copies of
// its Config all see a refreshed token.

// Secret is a string that never prints: fmt shows it as "[redacted]" (also
// inside a printed Config), and it marshals as "[redacted]". Convert it
// with string(s) where the value is really needed.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalText hides the value from encoding/json and friends.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// secretProperties are the keys whose values Config.Set never echoes.
var secretProperties = map[string]bool{
	"ssl.key.password":       true,
	"sasl.password":          true,
	"sasl.oauthbearer.token": true,
}

func init() {
	properties = append(properties, securityProperties...)
}

var securityProperties = []Property{
	{"security.protocol", "enum", "PLAINTEXT", "How connections to brokers are secured: PLAINTEXT (none), SSL (TLS, mutual TLS with ssl.certificate.location), SASL_SSL (SASL authentication over TLS) or SASL_PLAINTEXT (SASL without TLS: only on trusted networks).",
		func(c *Config, v string) error {
			p, err := ParseSecurityProtocol(v)
			c.SecurityProtocol = p
			return err
		}},
	{"ssl.ca.location", "path", "", "PEM file of the CA certificate(s) that brokers' certificates must chain to. Empty = the system's trusted CAs.",
		func(c *Config, v string) error { c.SSLCALocation = v; return nil }},
	{"ssl.certificate.location", "path", "", "PEM file of the client certificate (and its intermediates) presented to brokers for mutual TLS. It may also hold the private key.",
		func(c *Config, v string) error { c.SSLCertificateLocation = v; return nil }},
	{"ssl.key.location", "path", "", "PEM file of the private key of ssl.certificate.location (PKCS#8, PKCS#1 or SEC 1; encrypted keys need ssl.key.password). Empty = the key is in the certificate file.",
		func(c *Config, v string) error { c.SSLKeyLocation = v; return nil }},
	{"ssl.key.password", "password", "", "Password of an encrypted ssl.key.location (PKCS#8 PBES2, or legacy PEM encryption). Never shown in errors.",
		func(c *Config, v string) error { c.SSLKeyPassword = Secret(v); return nil }},
	{"ssl.endpoint.identification.algorithm", "enum", "https", "https: a broker's certificate must be valid for the host name the client dialed (as browsers check). none: only the certificate chain is verified (empty means none too, as in the Java client).",
		func(c *Config, v string) error {
			a, err := choiceOf("ssl.endpoint.identification.algorithm").parse(v)
			if err == nil {
				c.SSLEndpointIdentification = a
			}
			return err
		}},
	{"sasl.mechanism", "enum", "", "SASL mechanism of SASL_SSL and SASL_PLAINTEXT connections. PLAIN and SCRAM-* need sasl.username and sasl.password; OAUTHBEARER needs sasl.oauthbearer.token (or, from Go, a token provider).",
		func(c *Config, v string) error {
			m, err := choiceOf("sasl.mechanism").parse(v) // "" = none
			if err == nil {
				c.SASLMechanism = m
			}
			return err
		}},
	{"sasl.username", "string", "", "User name of the PLAIN and SCRAM-* mechanisms.",
		func(c *Config, v string) error { c.SASLUsername = v; return nil }},
	{"sasl.password", "password", "", "Password of the PLAIN and SCRAM-* mechanisms. Never shown in errors; with SCRAM it never leaves the client.",
		func(c *Config, v string) error { c.SASLPassword = Secret(v); return nil }},
	{"sasl.oauthbearer.token", "password", "", "Current OAUTHBEARER bearer token (e.g. a JWT). Replace it before it expires with gofka_oauth_token_set (C), Client.SetOAuthBearerToken (Go) or a Python sasl_oauth_token_provider; new connections use the newest token. Never shown in errors.",
		func(c *Config, v string) error {
			if v == "" {
				c.oauthToken = nil
				return nil
			}
			if err := checkBearerToken(v); err != nil {
				return err
			}
			c.oauthToken = newOAuthBearerTokens(v)
			return nil
		}},
	{"sasl.oauthbearer.extensions", "list", "", "OAUTHBEARER SASL extensions (RFC 7628) sent with the token, as comma-separated key=value pairs (e.g. logicalCluster=lkc-1,identityPoolId=pool-2).",
		func(c *Config, v string) error {
			ext, err := parseOAuthExtensions(v)
			c.OAuthBearerExtensions = ext
			return err
		}},
}

// WithSecurityProtocol sets security.protocol (default ProtocolPlaintext).
// SASL_PLAINTEXT must be asked for this way (or with the property): the
// SASL options alone never turn TLS off.
func WithSecurityProtocol(p SecurityProtocol) ConnOption {
	return connOpt(func(c *Config) { c.SecurityProtocol = p })
}

// WithSSLFiles sets ssl.ca.location, ssl.certificate.location and
// ssl.key.location ("" leaves a setting unset) and turns a PLAINTEXT
// security.protocol into SSL (SASL_PLAINTEXT into SASL_SSL). Default: no
// files (the system's trusted CAs, no client certificate).
func WithSSLFiles(caFile, certFile, keyFile string) ConnOption {
	return connOpt(func(c *Config) {
		c.SSLCALocation, c.SSLCertificateLocation, c.SSLKeyLocation = caFile, certFile, keyFile
		switch c.SecurityProtocol {
		case "", ProtocolPlaintext:
			c.SecurityProtocol = ProtocolSSL
		case ProtocolSASLPlaintext:
			c.SecurityProtocol = ProtocolSASLSSL
		}
	})
}

// securitySetup is the resolved security of a Config: what dialConn
// applies to each new connection. Immutable after prepareSecurity except
// for the failure record, which has its own lock.
type securitySetup struct {
	tls      *tls.Config   // nil = no TLS
	sasl     SASLMechanism // nil = no SASL
	protocol SecurityProtocol
	failures authFailures
}

// prepareSecurity checks the security settings, reads the certificate
// files and resolves the mechanism into c.sec. It always resolves anew, so
// a Config copied from a client and then changed gets its own setup.
func (c *Config) prepareSecurity() error {
	s, err := c.resolveSecurity()
	if err != nil {
		return err
	}
	// A client on a shared pool connects with the pool's settings; its
	// own would be silently ignored, so they must be absent or the same.
	if p := c.Pool; p != nil && s.protocol != ProtocolPlaintext {
		ps := p.dial.sec
		if ps == nil || ps.protocol != s.protocol || mechanismName(ps.sasl) != mechanismName(s.sasl) || p.dial.SASLUsername != c.SASLUsername {
			return securityErr("security settings given to a client that uses connection pool %d differ from the pool's: the pool makes the connections, so give TLS/SASL settings to the pool only", p.ID())
		}
	}
	c.sec = s
	return nil
}

func mechanismName(m SASLMechanism) string {
	if m == nil {
		return ""
	}
	return m.Name()
}

// security returns the resolved setup, resolving it now for a Config that
// went through neither validate nor NewPool (it then has no failure
// record to share).
func (c *Config) security() (*securitySetup, error) {
	if c.sec != nil {
		return c.sec, nil
	}
	return c.resolveSecurity()
}

func securityErr(format string, args ...any) error {
	return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf(format, args...)}
}

func (c *Config) resolveSecurity() (*securitySetup, error) {
	proto := c.SecurityProtocol
	if proto == "" {
		proto = ProtocolPlaintext
	}
	useTLS, useSASL := false, false
	switch proto {
	case ProtocolPlaintext:
	case ProtocolSSL:
		useTLS = true
	case ProtocolSASLPlaintext:
		useSASL = true
	case ProtocolSASLSSL:
		useTLS, useSASL = true, true
	default:
		return nil, checkChoice("security.protocol", string(proto)) // core/choices.go
	}
	if err := checkChoice("ssl.endpoint.identification.algorithm", c.SSLEndpointIdentification); err != nil {
		return nil, err // a field set by hand (the property and the options give a value of the table)
	}
	fileSet := c.SSLCALocation != "" || c.SSLCertificateLocation != "" || c.SSLKeyLocation != "" || c.SSLKeyPassword != ""
	if !useTLS && (fileSet || c.TLS != nil) {
		return nil, securityErr("TLS settings (ssl.* or WithTLS) are given but security.protocol=%s uses no TLS: use SSL or SASL_SSL", proto)
	}
	saslSet := c.SASLMechanism != "" || c.SASL != nil || c.SASLUsername != "" || c.SASLPassword != "" ||
		c.oauthToken != nil || c.OAuthBearerTokenProvider != nil || len(c.OAuthBearerExtensions) > 0
	if !useSASL && saslSet {
		return nil, securityErr("SASL settings (sasl.*) are given but security.protocol=%s uses no SASL: use SASL_SSL (or SASL_PLAINTEXT, explicitly, on a trusted network)", proto)
	}
	s := &securitySetup{protocol: proto}
	if useTLS {
		if c.TLS != nil {
			if fileSet {
				return nil, securityErr("give either WithTLS or the ssl.* files, not both")
			}
			s.tls = c.TLS.Clone()
		} else {
			t, err := c.buildTLS()
			if err != nil {
				return nil, err
			}
			s.tls = t
		}
	}
	if useSASL {
		m, err := c.buildSASL()
		if err != nil {
			return nil, err
		}
		s.sasl = m
	}
	return s, nil
}

// buildTLS makes the tls.Config of the ssl.* properties.
func (c *Config) buildTLS() (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.SSLCALocation != "" {
		pemBytes, err := os.ReadFile(c.SSLCALocation)
		if err != nil {
			return nil, securityErr("ssl.ca.location: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, securityErr("ssl.ca.location %s holds no PEM certificate", c.SSLCALocation)
		}
		t.RootCAs = pool
	}
	// else RootCAs stays nil: crypto/tls verifies against the system store
	// (x509.SystemCertPool), loaded lazily and cached by the runtime.
	if c.SSLKeyPassword != "" && c.SSLKeyLocation == "" && c.SSLCertificateLocation == "" {
		return nil, securityErr("ssl.key.password is set but there is no ssl.key.location")
	}
	if c.SSLKeyLocation != "" && c.SSLCertificateLocation == "" {
		return nil, securityErr("ssl.key.location is set but ssl.certificate.location is not: mutual TLS needs both")
	}
	if c.SSLCertificateLocation != "" {
		cert, err := loadKeyPair(c.SSLCertificateLocation, c.SSLKeyLocation, string(c.SSLKeyPassword))
		if err != nil {
			return nil, err
		}
		t.Certificates = []tls.Certificate{cert}
	}
	if c.SSLEndpointIdentification == "none" {
		// Verify the chain, not the name: crypto/tls skips both with
		// InsecureSkipVerify, so the chain check is redone here.
		roots := t.RootCAs
		t.InsecureSkipVerify = true
		t.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: broker sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			if err != nil {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			}
			return nil
		}
	}
	return t, nil
}

// loadKeyPair reads a client certificate and its key; keyFile "" means the
// key is in certFile. Encrypted keys are decrypted with password.
func loadKeyPair(certFile, keyFile, password string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, securityErr("ssl.certificate.location: %v", err)
	}
	keySrc, keyProp := certPEM, "ssl.certificate.location"
	if keyFile != "" {
		if keySrc, err = os.ReadFile(keyFile); err != nil {
			return tls.Certificate{}, securityErr("ssl.key.location: %v", err)
		}
		keyProp = "ssl.key.location"
	}
	var certs []byte
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			certs = append(certs, pem.EncodeToMemory(b)...)
		}
	}
	if len(certs) == 0 {
		return tls.Certificate{}, securityErr("ssl.certificate.location %s holds no PEM certificate", certFile)
	}
	var key *pem.Block
	for rest := keySrc; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			key = b
			break
		}
	}
	if key == nil {
		if keyFile == "" {
			return tls.Certificate{}, securityErr("ssl.key.location is not set and ssl.certificate.location %s holds no private key", certFile)
		}
		return tls.Certificate{}, securityErr("ssl.key.location %s holds no PEM private key", keyFile)
	}
	keyPEM, err := decryptKeyBlock(key, password, keyProp)
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certs, keyPEM)
	if err != nil {
		return tls.Certificate{}, securityErr("ssl.certificate.location / %s: %v", keyProp, err)
	}
	return cert, nil
}

// tlsHandshake runs the TLS client handshake on nc, bounded by ctx and
// timeout. Verification failures are TLS_FAILED; a dropped or timed-out
// connection keeps its own (retriable) code.
func (s *securitySetup) tlsHandshake(ctx context.Context, nc net.Conn, addr string, timeout time.Duration) (net.Conn, error) {
	cfg := s.tls.Clone()
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tc := tls.Client(nc, cfg)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		code := ioErrorCode(err)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			code = wire.ErrTimedOut
		}
		return nil, &wire.Error{Code: code, Detail: "TLS handshake: " + err.Error() + tlsHint(err), Broker: addr}
	}
	return tc, nil
}

// ioErrorCode classifies an error of a connection's I/O: TLS alerts and
// certificate errors (a broker refusing our certificate shows up on the
// first read under TLS 1.3) are TLS_FAILED, everything else
// CONNECTION_FAILED (or TIMED_OUT).
func ioErrorCode(err error) wire.ErrorCode {
	switch wire.CodeOf(err) {
	case wire.ErrTLSFailed:
		return wire.ErrTLSFailed
	case wire.ErrTimedOut:
		return wire.ErrTimedOut
	}
	return wire.ErrConnectionFailed
}

// tlsHint adds what to check to a TLS failure.
func tlsHint(err error) string {
	var uae x509.UnknownAuthorityError
	var he x509.HostnameError
	var cie x509.CertificateInvalidError
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(err, &uae):
		return " (check ssl.ca.location: it must hold the CA that signed the broker's certificate)"
	case errors.As(err, &he):
		return " (the broker's certificate is not valid for the host name in bootstrap.servers or in its advertised listener)"
	case errors.As(err, &cie) && cie.Reason == x509.Expired:
		return " (the broker's certificate has expired or is not yet valid)"
	case errors.As(err, &rhe):
		return " (the broker does not speak TLS on this port: is it a PLAINTEXT or SASL_PLAINTEXT listener?)"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return " (the broker refused the TLS session; with mutual TLS check ssl.certificate.location and ssl.key.location: the broker must trust their CA)"
	}
	return ""
}

// authFailures remembers, per broker address, the last failed TLS or SASL
// authentication, so that clients do not redial a broker that refused
// their credentials in a tight loop (background loops, retries, many
// callers): within the hold time every dial fails at once with the same
// error. The hold starts at authHoldMin and doubles with each further
// failure up to authHoldMax; a successful connection or a new OAUTHBEARER
// token clears it. Safe for concurrent use.
type authFailures struct {
	mu sync.Mutex
	m  map[string]*authFailure // by broker address
}

type authFailure struct {
	err   *wire.Error
	until time.Time
	hold  time.Duration
}

const (
	authHoldMin = time.Second
	authHoldMax = 10 * time.Second
)

// isAuthFailure reports whether err means the broker refused our
// credentials or we refused its certificate: not retriable, held.
func isAuthFailure(err error) bool {
	code := wire.CodeOf(err)
	return code == wire.ErrTLSFailed || (!code.Retriable() && wire.Lookup(code).Category == wire.CategoryAuth)
}

// check returns the held failure for addr, if any.
func (f *authFailures) check(addr string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.m[addr]
	if a == nil || time.Now().After(a.until) {
		return nil
	}
	e := *a.err
	e.Detail += fmt.Sprintf(" (not redialed: authentication with this broker failed %v ago)", time.Since(a.until.Add(-a.hold)).Round(time.Millisecond))
	return &e
}

// record notes the outcome of a dial to addr.
func (f *authFailures) record(addr string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.m, addr)
		return
	}
	if !isAuthFailure(err) {
		return
	}
	var we *wire.Error
	if !errors.As(err, &we) {
		we = &wire.Error{Code: wire.CodeOf(err), Detail: err.Error(), Broker: addr}
	}
	if f.m == nil {
		f.m = map[string]*authFailure{}
	}
	hold := authHoldMin
	if prev := f.m[addr]; prev != nil {
		hold = min(prev.hold*2, authHoldMax)
	}
	f.m[addr] = &authFailure{err: we, until: time.Now().Add(hold), hold: hold}
}

// reset forgets every failure (new credentials).
func (f *authFailures) reset() {
	f.mu.Lock()
	f.m = nil
	f.mu.Unlock()
}

// firstAuthFailure returns the first error of errs that is an
// authentication failure, for callers that tried several brokers: a
// refused credential must surface as itself (not retriable), not as
// NO_BROKERS_AVAILABLE (retriable), or clients would retry it.
func firstAuthFailure(errs []error) error {
	for _, err := range errs {
		if isAuthFailure(err) {
			return err
		}
	}
	return nil
}
