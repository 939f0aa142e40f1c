package core

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Subscribing again to the same topics (or pattern) is harmless: it waits
// for the group like the first call and changes nothing. It used to make
// the member rejoin, and a Close during that rebalance failed its final
// auto-commit with UNKNOWN_MEMBER_ID ("group membership ended").
func TestConsumerSubscribeAgainSameTopics(t *testing.T) {
	brokers := testBrokers(t)
	for _, protocol := range []GroupProtocol{GroupProtocolClassic, GroupProtocolConsumer} {
		for _, pattern := range []bool{false, true} {
			name := string(protocol)
			if pattern {
				name += "/pattern"
			}
			t.Run(name, func(t *testing.T) {
				if protocol == "consumer" {
					skipWithoutKIP848(t)
				}
				topic := consumerTestTopic(t, brokers, 1)
				produceTo(t, brokers, topic, 1, 6, "v")
				group := "g-" + topic
				c := newTestConsumer(t, brokers, WithGroupID(group), WithGroupProtocol(protocol), WithAutoCommit(true))
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				subscribe := func() error {
					if pattern {
						return c.SubscribePattern(ctx, regexpQuote(topic))
					}
					return c.Subscribe(ctx, topic)
				}
				require.NoError(t, subscribe())
				got := pollN(t, c, 3, 30*time.Second)
				require.Equal(t, int64(2), got[2].Offset)
				require.NoError(t, subscribe())
				require.NoError(t, subscribe())
				require.NoError(t, c.Close(ctx)) // commits offset 3

				next := newTestConsumer(t, brokers, WithGroupID(group), WithGroupProtocol(protocol))
				require.NoError(t, next.Subscribe(ctx, topic))
				rest := pollN(t, next, 3, 30*time.Second)
				require.Equal(t, int64(3), rest[0].Offset)
			})
		}
	}
}
