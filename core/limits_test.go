package core

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// Strings sent as Kafka STRINGs (int16 length) longer than 32,767 bytes are
// refused when a client is made (issue 19 item 10: a long client.id wrapped
// the length into a malformed header: TIMED_OUT for a producer, an empty
// poll forever for a consumer), for every such setting and client kind.
func TestOverlongConfigStringsRefused(t *testing.T) {
	long := strings.Repeat("c", wire.MaxStringLength+1)
	ok := strings.Repeat("c", wire.MaxStringLength)
	for _, key := range []string{"client.id", "group.id", "group.instance.id", "group.remote.assignor", "client.rack", "sasl.username"} {
		cfg := newConfig(WithBrokers("127.0.0.1:9"))
		if key == "sasl.username" {
			require.NoError(t, cfg.Set("security.protocol", "SASL_PLAINTEXT"))
			require.NoError(t, cfg.Set("sasl.mechanism", "PLAIN"))
			require.NoError(t, cfg.Set("sasl.password", "p"))
		}
		require.NoError(t, cfg.Set(key, long))
		_, err := clientFromConfig(cfg)
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s: %v", key, err)
		require.Contains(t, err.Error(), key)
		_, err = producerFromConfig(cfg)
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s: %v", key, err)
		_, err = consumerFromConfig(cfg)
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s: %v", key, err)
		_, err = adminFromConfig(cfg)
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s: %v", key, err)
		require.NoError(t, cfg.Set(key, ok))
		c, err := clientFromConfig(cfg)
		require.NoError(t, err, key)
		c.Close()
	}
}

// A long string that reaches a request (a group name) fails that request
// at once with INVALID_ARGUMENT; the connection stays usable.
func TestOverlongRequestStringFailsFast(t *testing.T) {
	brokers := testBrokers(t)
	a := newTestAdmin(t, brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := a.ListTopics(ctx, false)
	require.NoError(t, err)
	start := time.Now()
	_, err = a.DescribeGroup(ctx, strings.Repeat("g", 40000))
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%v", err)
	require.Less(t, time.Since(start), 5*time.Second)
	_, err = a.ListTopics(ctx, false)
	require.NoError(t, err)
}
