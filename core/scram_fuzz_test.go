package core

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gofka/gofka/wire"
)

// FuzzScramServerMessages feeds arbitrary server-first and server-final
// messages to a SCRAM client session (the only SASL decoder of bytes a
// broker sends). "{nonce}" in the input is replaced by the session's client
// nonce so that the fuzzer gets past the nonce check. Step must never
// panic, and every failure must be a local authentication error or the
// broker's refusal, never an unclassified error.
func FuzzScramServerMessages(f *testing.F) {
	f.Add([]byte("r={nonce}srv,s=c2FsdA==,i=4096"), []byte("v=AAAA"))
	f.Add([]byte("r={nonce}srv,s=c2FsdA==,i=4096,x=ext"), []byte("e=invalid-proof"))
	f.Add([]byte("m=ext,r={nonce}x,s=c2FsdA==,i=4096"), []byte(""))
	f.Add([]byte("r=other,s=c2FsdA==,i=4096"), []byte("v="))
	f.Add([]byte("r={nonce}x,s=!!,i=99999999999"), []byte("v=,,"))
	f.Add([]byte(""), []byte("="))
	f.Fuzz(func(t *testing.T, first, final []byte) {
		for _, m := range []SASLMechanism{SASLScramSHA256("user", "pencil"), SASLScramSHA512("user", "pencil")} {
			sess, clientFirst, err := m.Start(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			i := strings.Index(string(clientFirst), ",r=")
			if i < 0 {
				t.Fatalf("client-first-message %q has no nonce", clientFirst)
			}
			nonce := clientFirst[i+3:]
			done, resp, err := sess.Step(bytes.ReplaceAll(first, []byte("{nonce}"), nonce))
			if err != nil {
				checkScramErr(t, err)
				continue
			}
			if done || len(resp) == 0 {
				t.Fatalf("server-first accepted but done=%v response=%q", done, resp)
			}
			if _, _, err := sess.Step(final); err != nil {
				checkScramErr(t, err)
			}
		}
	})
}

func checkScramErr(t *testing.T, err error) {
	t.Helper()
	switch wire.CodeOf(err) {
	case wire.ErrAuthenticationLocal, wire.ErrSaslAuthenticationFailed:
	default:
		t.Fatalf("unexpected error class: %v", err)
	}
}
