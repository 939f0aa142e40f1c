package core

import (
	"fmt"

	"github.com/gofka/gofka/wire"
)

// maxHandshakeResponse bounds a response frame while a connection is being
// set up (ApiVersions, SASL): those answers are a few hundred bytes to a
// few KiB, so a larger size prefix is a peer that does not speak Kafka (a
// TLS listener's alert reads as a 352 MB frame), refused before anything
// is allocated for it.
const maxHandshakeResponse = 1 << 20

// checkFrameSize is the one rule for a response's 4-byte size prefix, on
// both read paths: at least 4 (the correlation id), at most
// maxResponseSize, and at most maxHandshakeResponse before the connection
// is set up. A refused prefix is CORRUPT_RESPONSE; when the 4 bytes look
// like the start of another protocol's answer the error says which, since
// that is nearly always a wrong address or security.protocol, not a
// corrupt stream.
func checkFrameSize(prefix [4]byte, settingUp bool, addr string) error {
	size := uint32(prefix[0])<<24 | uint32(prefix[1])<<16 | uint32(prefix[2])<<8 | uint32(prefix[3])
	limit := uint32(maxResponseSize)
	if settingUp {
		limit = maxHandshakeResponse
	}
	if size >= 4 && size <= limit {
		return nil
	}
	return &wire.Error{Code: wire.ErrCorruptResponse, Broker: addr,
		Detail: fmt.Sprintf("frame size %d%s", size, foreignProtocolHint(prefix, addr))}
}

// foreignProtocolHint names what a refused size prefix looks like: a TLS
// record (content type 21 alert or 22 handshake, version 3.x) or printable
// text (an HTTP or other text protocol's answer). Empty otherwise.
func foreignProtocolHint(prefix [4]byte, addr string) string {
	if (prefix[0] == 21 || prefix[0] == 22) && prefix[1] == 3 && prefix[2] <= 4 {
		return fmt.Sprintf(": the peer at %s answered with TLS: its listener expects security.protocol SSL or SASL_SSL", addr)
	}
	for _, b := range prefix {
		if b < 0x20 || b > 0x7e {
			return ""
		}
	}
	return fmt.Sprintf(": the peer at %s answered with text beginning %q: it does not speak the Kafka protocol (is this a Kafka listener's address?)", addr, string(prefix[:]))
}
