package core

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

func TestValidateTopicName(t *testing.T) {
	for _, ok := range []string{"a", "events", "my.topic_v2-x", strings.Repeat("x", 249), "__consumer_offsets"} {
		require.NoError(t, ValidateTopicName(ok), ok)
	}
	for _, bad := range []string{"", ".", "..", "bad topic!", "a/b", "café", "t\x01", strings.Repeat("x", 250)} {
		err := ValidateTopicName(bad)
		require.ErrorIs(t, err, wire.ErrInvalidTopicException, bad)
	}
}
