package core

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/gofka/gofka/wire"
)

// SCRAM (RFC 5802) with SHA-256 and SHA-512 (RFC 7677), as Kafka speaks it:
//
//	client-first  n,,n=<user>,r=<client nonce>
//	server-first  r=<client nonce><server nonce>,s=<salt b64>,i=<iterations>
//	client-final  c=biws,r=<nonce>,p=<ClientProof b64>
//	server-final  v=<ServerSignature b64>   (or e=<error>)
//
// SaltedPassword = PBKDF2(HMAC-H, password, salt, i); ClientKey =
// HMAC(SaltedPassword, "Client Key"); StoredKey = H(ClientKey);
// AuthMessage = client-first-bare "," server-first "," client-final-
// without-proof; ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage);
// ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage).
//
// The password never leaves the client; the server proves it knows the
// credential too (the server signature is checked, so a fake broker
// cannot pretend the login worked). As in Kafka, the password is used as
// its UTF-8 bytes without SASLprep, and no channel binding is used.

// Kafka's bounds on SCRAM iterations (ScramMechanism min/max): a server
// asking for fewer is refused as too weak, more as a denial of service.
const (
	scramMinIterations = 4096
	scramMaxIterations = 16384
)

type scramMechanism struct {
	name string
	hash func() hash.Hash
	user string
	pass string
	// nonce returns the client nonce; tests fix it (RFC 7677 vectors).
	nonce func() (string, error)
}

// SASLScramSHA256 is the SCRAM-SHA-256 mechanism.
func SASLScramSHA256(user, password string) SASLMechanism {
	return &scramMechanism{name: MechanismScramSHA256, hash: sha256.New, user: user, pass: password, nonce: scramNonce}
}

// SASLScramSHA512 is the SCRAM-SHA-512 mechanism.
func SASLScramSHA512(user, password string) SASLMechanism {
	return &scramMechanism{name: MechanismScramSHA512, hash: sha512.New, user: user, pass: password, nonce: scramNonce}
}

func (m *scramMechanism) Name() string   { return m.name }
func (m *scramMechanism) String() string { return m.name + "(" + m.user + ")" }

// scramNonce is 24 random bytes in base64: printable and free of ','.
func scramNonce() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawStdEncoding.EncodeToString(b[:]), nil
}

// scramEscape encodes a saslname: '=' as "=3D" and ',' as "=2C".
func scramEscape(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

func (m *scramMechanism) Start(context.Context) (SASLSession, []byte, error) {
	nonce, err := m.nonce()
	if err != nil {
		return nil, nil, err
	}
	s := &scramSession{m: m, clientNonce: nonce}
	s.clientFirstBare = "n=" + scramEscape(m.user) + ",r=" + nonce
	return s, []byte("n,," + s.clientFirstBare), nil
}

type scramSession struct {
	m               *scramMechanism
	clientNonce     string
	clientFirstBare string
	serverSignature []byte // expected in server-final
	step            int
}

func (s *scramSession) secrets() []string { return []string{s.m.pass} }

func scramErr(format string, args ...any) error {
	return &wire.Error{Code: wire.ErrAuthenticationLocal, Detail: fmt.Sprintf(format, args...)}
}

func (s *scramSession) Step(challenge []byte) (bool, []byte, error) {
	s.step++
	switch s.step {
	case 1:
		final, err := s.clientFinal(string(challenge))
		if err != nil {
			return false, nil, err
		}
		return false, final, nil
	case 2:
		return true, nil, s.verifyServerFinal(string(challenge))
	}
	return false, nil, scramErr("%s: unexpected extra server message", s.m.name)
}

// scramAttrs parses "a=v,b=w" (values may contain '=').
func scramAttrs(msg string) (map[byte]string, []byte) {
	attrs := map[byte]string{}
	var order []byte
	for _, part := range strings.Split(msg, ",") {
		if len(part) < 2 || part[1] != '=' {
			return nil, nil
		}
		attrs[part[0]] = part[2:]
		order = append(order, part[0])
	}
	return attrs, order
}

func (s *scramSession) clientFinal(serverFirst string) ([]byte, error) {
	name := s.m.name
	attrs, order := scramAttrs(serverFirst)
	if attrs == nil || len(order) < 3 {
		return nil, scramErr("%s: malformed server-first-message", name)
	}
	if order[0] == 'm' {
		return nil, scramErr("%s: the server requires an extension the client does not support", name)
	}
	if order[0] != 'r' || order[1] != 's' || order[2] != 'i' {
		return nil, scramErr("%s: malformed server-first-message", name)
	}
	nonce := attrs['r']
	if !strings.HasPrefix(nonce, s.clientNonce) || len(nonce) <= len(s.clientNonce) {
		return nil, scramErr("%s: the server nonce does not extend the client nonce", name)
	}
	for i := 0; i < len(nonce); i++ {
		if nonce[i] < 0x21 || nonce[i] > 0x7e || nonce[i] == ',' {
			return nil, scramErr("%s: the server nonce has invalid characters", name)
		}
	}
	salt, err := base64.StdEncoding.DecodeString(attrs['s'])
	if err != nil || len(salt) == 0 {
		return nil, scramErr("%s: the server sent an invalid salt", name)
	}
	iters, err := strconv.Atoi(attrs['i'])
	if err != nil || iters < scramMinIterations || iters > scramMaxIterations {
		return nil, scramErr("%s: the server asks for %q iterations (allowed: %d..%d)", name, attrs['i'], scramMinIterations, scramMaxIterations)
	}
	salted, err := scramSaltedPassword(s.m.hash, s.m.pass, salt, iters)
	if err != nil {
		return nil, scramErr("%s: %v", name, err)
	}
	clientKey := hmacSum(s.m.hash, salted, []byte("Client Key"))
	storedKey := hashSum(s.m.hash, clientKey)
	withoutProof := "c=biws,r=" + nonce // biws = base64("n,,")
	authMessage := []byte(s.clientFirstBare + "," + serverFirst + "," + withoutProof)
	clientSig := hmacSum(s.m.hash, storedKey, authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ clientSig[i]
	}
	serverKey := hmacSum(s.m.hash, salted, []byte("Server Key"))
	s.serverSignature = hmacSum(s.m.hash, serverKey, authMessage)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

func (s *scramSession) verifyServerFinal(msg string) error {
	name := s.m.name
	if strings.HasPrefix(msg, "e=") {
		return &wire.Error{Code: wire.ErrSaslAuthenticationFailed, Detail: name + ": the server refused the login: " + strings.SplitN(msg[2:], ",", 2)[0]}
	}
	attrs, order := scramAttrs(msg)
	if attrs == nil || len(order) == 0 || order[0] != 'v' {
		return scramErr("%s: malformed server-final-message", name)
	}
	sig, err := base64.StdEncoding.DecodeString(attrs['v'])
	if err != nil || !hmac.Equal(sig, s.serverSignature) {
		return scramErr("%s: the server's signature is wrong: it does not know this user's credential (is it really the broker?)", name)
	}
	return nil
}

// scramSaltedPassword is Hi(password, salt, i) of RFC 5802: PBKDF2 with
// HMAC-H and the hash's output length. AlterUserScramCredentials sends it.
func scramSaltedPassword(h func() hash.Hash, password string, salt []byte, iters int) ([]byte, error) {
	return pbkdf2.Key(h, password, salt, iters, h().Size())
}

func hmacSum(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

func hashSum(h func() hash.Hash, b []byte) []byte {
	d := h()
	d.Write(b)
	return d.Sum(nil)
}
