package wire

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzDecodeGroupResponses decodes arbitrary bytes as any group,
// transaction or SCRAM response at any supported version: api picks the
// entry of groupAPIs, version the version within its range. Decode must
// never panic nor read past its input.
func FuzzDecodeGroupResponses(f *testing.F) {
	for _, c := range groupResponseCases {
		for i, api := range groupAPIs {
			if reflect.TypeOf(api.newResp()) == reflect.TypeOf(c.want) {
				lo, _ := api.newReq().Versions()
				f.Add(byte(i), byte(c.v-lo), c.bytes())
			}
		}
	}
	f.Fuzz(func(t *testing.T, api, version byte, data []byte) {
		a := groupAPIs[int(api)%len(groupAPIs)]
		lo, hi := a.newReq().Versions()
		v := lo + int16(version)%(hi-lo+1)
		r := NewReader(data)
		a.newResp().Decode(r, v)
		if r.Offset() > len(data) || r.Remaining() < 0 {
			t.Fatalf("%s v%d: offset %d past %d bytes", a.name, v, r.Offset(), len(data))
		}
	})
}

// FuzzConsumerProtocol decodes arbitrary bytes as a subscription (even
// kind) or an assignment (odd kind). What decodes must survive an
// encode/decode round trip at the version read (clamped to the newest known).
func FuzzConsumerProtocol(f *testing.F) {
	sub := ConsumerProtocolSubscription{
		Topics: []string{"a", "b"}, UserData: []byte{1},
		OwnedPartitions: []ConsumerProtocolTopicPartition{{Topic: "a", Partitions: []int32{0, 1}}},
		GenerationId:    3, RackId: gsp("r"),
	}
	asg := ConsumerProtocolAssignment{
		AssignedPartitions: []ConsumerProtocolTopicPartition{{Topic: "a", Partitions: []int32{0}}},
		UserData:           []byte{2},
	}
	for v := int16(0); v <= ConsumerProtocolMaxVersion; v++ {
		f.Add(byte(0), sub.Encode(v))
		f.Add(byte(1), asg.Encode(v))
	}
	future := append(sub.Encode(3), 0, 0, 0, 42) // a v9 member with a field we do not know
	future[1] = 9
	f.Add(byte(0), future)
	f.Add(byte(1), []byte{})
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		if kind%2 == 0 {
			var s ConsumerProtocolSubscription
			if s.Decode(data) != nil {
				return
			}
			s.Version = min(s.Version, ConsumerProtocolMaxVersion)
			var again ConsumerProtocolSubscription
			require.NoError(t, again.Decode(s.Encode(s.Version)))
			require.Equal(t, s, again)
			return
		}
		var a ConsumerProtocolAssignment
		if a.Decode(data) != nil {
			return
		}
		a.Version = min(a.Version, ConsumerProtocolMaxVersion)
		var again ConsumerProtocolAssignment
		require.NoError(t, again.Decode(a.Encode(a.Version)))
		require.Equal(t, a, again)
	})
}
