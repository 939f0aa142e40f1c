package devcluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// rawFrame builds a request frame: header v1 (key, version, correlation
// id, client id "fuzz") followed by body.
func rawFrame(key, version int16, body []byte) []byte {
	b := make([]byte, 4, 64+len(body))
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, 7)
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "fuzz"...)
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// sendRaw writes data to addr and waits (bounded) for the server to answer
// or close; it returns what was read.
func sendRaw(t *testing.T, addr string, data []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = c.Write(data)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	got, _ := io.ReadAll(c)
	return got
}

// requireServing checks the cluster still answers a real client.
func requireServing(t *testing.T, d *Cluster) {
	t.Helper()
	a, err := core.NewAdmin(core.WithBrokers(d.Addrs()...), core.WithClientID("guard-check"))
	require.NoError(t, err)
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = a.ListTopics(ctx, false)
	require.NoError(t, err)
}

func TestSurvivesBadFrames(t *testing.T) {
	d, err := Start(Options{})
	require.NoError(t, err)
	defer d.Close()
	addr := d.Addrs()[0]

	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, math.MaxUint32) // negative as int32
	huge2 := binary.BigEndian.AppendUint32(nil, 0x7fffffff)
	huge2 = append(huge2, 1, 2, 3)
	valid := rawFrame(3, 1, []byte{0, 0, 0, 0}) // Metadata v1, no topics
	truncated := valid[:len(valid)-2]
	garbage := rawFrame(0, 3, []byte{0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 1, 2, 3}) // Produce v3, nonsense body
	short := binary.BigEndian.AppendUint32(nil, 3)
	short = append(short, 0, 1, 2)

	cases := map[string][]byte{
		"unknown key":        rawFrame(9999, 0, nil),
		"negative key":       rawFrame(-5, 0, nil),
		"unknown key 1000":   rawFrame(1000, 3, []byte{1, 2, 3}),
		"bad version":        rawFrame(3, 99, []byte{0, 0, 0, 0}),
		"negative version":   rawFrame(3, -1, []byte{0, 0, 0, 0}),
		"truncated":          truncated,
		"negative length":    huge,
		"huge length":        huge2,
		"short frame":        short,
		"garbage after head": garbage,
		"valid then unknown": append(append([]byte{}, valid...), rawFrame(9999, 0, nil)...),
	}
	for name, data := range cases {
		sendRaw(t, addr, data)
		requireServing(t, d)
		_ = name
	}
	require.GreaterOrEqual(t, d.guard.rejectedCount(), len(cases)-1) // "truncated" may just end

	// A valid request still gets its answer through the guard.
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Write(valid)
	require.NoError(t, err)
	got := make([]byte, 8)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, uint32(7), binary.BigEndian.Uint32(got[4:8]))

	// Random frames: random keys (mostly known ones), versions and bodies.
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		key := int16(rng.Intn(100))
		if rng.Intn(4) == 0 {
			key = int16(rng.Intn(65536) - 32768)
		}
		body := make([]byte, rng.Intn(64))
		rng.Read(body)
		frame := rawFrame(key, int16(rng.Intn(20)), body)
		if rng.Intn(5) == 0 {
			frame = frame[:rng.Intn(len(frame))]
		}
		sendRaw(t, addr, frame)
	}
	requireServing(t, d)
}

func TestRefusesAbsurdResources(t *testing.T) {
	d, err := Start(Options{})
	require.NoError(t, err)
	defer d.Close()
	a, err := core.NewAdmin(core.WithBrokers(d.Addrs()...), core.WithClientID("guard-res"), core.WithRetry(core.DefaultRetryPolicy()))
	require.NoError(t, err)
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	require.NoError(t, a.CreateTopic(ctx, core.NewTopic{Name: "small", NumPartitions: 1, ReplicationFactor: 1}))
	err = a.CreatePartitions(ctx, map[string]int32{"small": math.MaxInt32}, false)
	require.Error(t, err)
	require.Equal(t, wire.ErrInvalidPartitions, wire.CodeOf(err), "%v", err)
	require.Contains(t, err.Error(), "at most 10000 partitions")

	err = a.CreateTopic(ctx, core.NewTopic{Name: "big", NumPartitions: math.MaxInt32, ReplicationFactor: 1})
	require.Equal(t, wire.ErrInvalidPartitions, wire.CodeOf(err), "%v", err)

	// Replication beyond the brokers, or nonsense, is kfake's own refusal.
	for _, rf := range []int16{math.MaxInt16, -5, 0} {
		err = a.CreateTopic(ctx, core.NewTopic{Name: "rf", NumPartitions: 1, ReplicationFactor: rf})
		require.Equal(t, wire.ErrInvalidReplicationFactor, wire.CodeOf(err), "replication factor %d: %v", rf, err)
	}
	err = a.CreateTopic(ctx, core.NewTopic{Name: "np", NumPartitions: -7, ReplicationFactor: 1})
	require.Equal(t, wire.ErrInvalidPartitions, wire.CodeOf(err), "%v", err)
	requireServing(t, d)

	// Too many topics in one request: all refused, none created.
	var many []core.NewTopic
	for i := 0; i <= devMaxTopicsPerRequest; i++ {
		many = append(many, core.NewTopic{Name: fmt.Sprintf("many-%d", i), NumPartitions: 1, ReplicationFactor: 1})
	}
	err = a.CreateTopics(ctx, many, core.CreateTopicsOptions{})
	require.Equal(t, wire.ErrPolicyViolation, wire.CodeOf(err), "%v", err)
	_, err = a.PartitionCount(ctx, "many-0")
	require.Error(t, err)

	// One request with a good and a bad topic: the good one is created.
	err = a.CreateTopics(ctx, []core.NewTopic{{Name: "good", NumPartitions: 2, ReplicationFactor: 1},
		{Name: "bad", NumPartitions: 20000, ReplicationFactor: 1}}, core.CreateTopicsOptions{})
	require.Equal(t, wire.ErrInvalidPartitions, wire.CodeOf(err), "%v", err)
	n, err := a.PartitionCount(ctx, "good")
	require.NoError(t, err)
	require.Equal(t, 2, n)

	// The cluster-wide budget: 10 topics of 10,000 partitions fill it.
	for i := 0; i < 10; i++ {
		err = a.CreateTopic(ctx, core.NewTopic{Name: "fill" + string(rune('a'+i)), NumPartitions: 10000, ReplicationFactor: 1})
		if err != nil {
			break
		}
	}
	require.Equal(t, wire.ErrPolicyViolation, wire.CodeOf(err), "%v", err)
	// Deleting a topic gives its partitions back.
	require.NoError(t, a.DeleteTopic(ctx, "filla"))
	require.NoError(t, a.CreateTopic(ctx, core.NewTopic{Name: "again", NumPartitions: 5000, ReplicationFactor: 1}))
	requireServing(t, d)
}
