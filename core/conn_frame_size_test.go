package core

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// peerAnswering listens on loopback and answers every connection's first
// bytes with answer, keeping the connection open (so that a client waiting
// for the rest of a frame would wait until its own deadline).
func peerAnswering(t *testing.T, answer []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			s, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer s.Close()
				buf := make([]byte, 4096)
				if _, err := s.Read(buf); err != nil {
					return
				}
				if _, err := s.Write(answer); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, s) // until the client hangs up
			}()
		}
	}()
	return ln.Addr().String()
}

// A peer that is not a Kafka broker fails the connection's setup at once,
// with an error that says what answered, on the first size prefix that
// cannot be a handshake response's: text (an HTTP server on the port), a
// TLS alert (a plaintext client on an SSL listener: its 5-byte record
// header reads as a 352 MB frame, which the reader used to allocate and
// then wait for until the request timed out), or any prefix over the
// handshake bound.
func TestForeignPeerFailsTheConnectionSetup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer []byte
		want   string
	}{
		{"http", []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), `answered with text beginning "HTTP": it does not speak the Kafka protocol`},
		{"tls alert", []byte{21, 3, 3, 0, 2, 2, 70}, "answered with TLS: its listener expects security.protocol SSL or SASL_SSL"},
		{"tls handshake", []byte{22, 3, 1, 0, 80, 2, 0, 0}, "answered with TLS"},
		{"2 MiB frame", []byte{0, 32, 0, 0, 0, 0, 0, 1}, "frame size 2097152"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := peerAnswering(t, tc.answer)
			cfg := defaultConfig()
			cfg.RequestTimeout = time.Minute
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := dialConn(ctx, addr, -1, &cfg, nil)
			if c != nil {
				c.close(&wire.Error{Code: wire.ErrConnectionFailed, Detail: "test over"})
			}
			require.Error(t, err)
			assert.Equal(t, wire.ErrCorruptResponse, wire.CodeOf(err), "%v", err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NoError(t, ctx.Err(), "refused on the size prefix, not after waiting for the frame")
		})
	}
}

// The rule itself: the bounds before and after setup, and no hint for a
// prefix that looks like nothing in particular.
func TestCheckFrameSize(t *testing.T) {
	be := func(n uint32) [4]byte { return [4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }
	assert.NoError(t, checkFrameSize(be(4), true, "a"))
	assert.NoError(t, checkFrameSize(be(maxHandshakeResponse), true, "a"))
	assert.Error(t, checkFrameSize(be(maxHandshakeResponse+1), true, "a"))
	assert.NoError(t, checkFrameSize(be(maxHandshakeResponse+1), false, "a"))
	assert.NoError(t, checkFrameSize(be(maxResponseSize), false, "a"))
	for _, n := range []uint32{0, 3, maxResponseSize + 1} {
		err := checkFrameSize(be(n), false, "a")
		require.Error(t, err, "%d", n)
		assert.Equal(t, wire.ErrCorruptResponse, wire.CodeOf(err))
	}
	err := checkFrameSize(be(maxResponseSize+1), false, "a")
	assert.NotContains(t, err.Error(), "peer at", "a binary prefix gets no protocol hint")
}
