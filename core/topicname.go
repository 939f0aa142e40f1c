package core

import (
	"fmt"

	"github.com/gofka/gofka/wire"
)

// maxTopicNameLength is Kafka's limit (249: the name plus a partition
// suffix must fit a 255-byte file name).
const maxTopicNameLength = 249

// ValidateTopicName applies Kafka's topic naming rules: 1 to 249
// characters of [a-zA-Z0-9._-], and not "." or "..". Checking locally gives
// a clear INVALID_TOPIC_EXCEPTION before any request, the same on every
// broker (the dev cluster accepts names that Kafka rejects).
func ValidateTopicName(name string) error {
	bad := func(why string) error {
		return &wire.Error{Code: wire.ErrInvalidTopicException, Detail: fmt.Sprintf("topic name %q %s", truncateName(name), why)}
	}
	switch {
	case name == "":
		return bad("is empty")
	case name == "." || name == "..":
		return bad(`cannot be "." or ".."`)
	case len(name) > maxTopicNameLength:
		return bad(fmt.Sprintf("is longer than %d characters", maxTopicNameLength))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return bad("may only contain ASCII letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}

func truncateName(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
