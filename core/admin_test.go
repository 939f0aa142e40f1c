package core

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/devcluster"
	"github.com/gofka/gofka/wire"
)

func newTestAdmin(t *testing.T, brokers []string) *Admin {
	t.Helper()
	a, err := NewAdmin(WithBrokers(brokers...), WithClientID("gofka-admin-test"))
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	return a
}

func TestAdminMetadata(t *testing.T) {
	brokers := testBrokers(t)
	a := newTestAdmin(t, brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := uniqueTopic(t)
	require.NoError(t, a.CreateTopic(ctx, NewTopic{Name: topic, NumPartitions: 3, ReplicationFactor: 1,
		Configs: map[string]string{"retention.ms": "3600000"}}))

	bs, err := a.ListBrokers(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, bs)
	addrs := map[string]bool{}
	for _, b := range bs {
		require.NotEmpty(t, b.Host)
		require.Positive(t, b.Port)
		addrs[b.Addr()] = true
	}

	m, err := a.ClusterMetadata(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, bs, m.Brokers)
	var found *TopicMetadata
	for i := range m.Topics {
		if m.Topics[i].Name == topic {
			found = &m.Topics[i]
		}
	}
	require.NotNil(t, found)
	require.Len(t, found.Partitions, 3)
	for i, p := range found.Partitions {
		require.EqualValues(t, i, p.Partition)
		require.True(t, addrs[p.LeaderAddr], p.LeaderAddr)
		require.Equal(t, []int32{p.Leader}, p.Replicas)
		require.Contains(t, p.ISR, p.Leader)
		require.Empty(t, p.Error)
	}

	// Asking about a missing topic lists it with its error, and never
	// creates it (the brokers allow auto-creation).
	missing := uniqueTopic(t) + "-missing"
	m, err = a.ClusterMetadata(ctx, []string{missing})
	require.NoError(t, err)
	require.Len(t, m.Topics, 1)
	require.Equal(t, "UNKNOWN_TOPIC_OR_PARTITION", m.Topics[0].Error)
	_, err = a.DescribeTopic(ctx, missing)
	require.ErrorIs(t, err, wire.ErrUnknownTopicOrPartition)
	var we *wire.Error
	require.ErrorAs(t, err, &we)
	require.NotEmpty(t, we.Broker)
	names, err := a.ListTopics(ctx, false)
	require.NoError(t, err)
	require.Contains(t, names, topic)
	require.NotContains(t, names, missing)
	for _, n := range names {
		require.NotEqual(t, "__consumer_offsets", n)
	}

	d, err := a.DescribeTopic(ctx, topic)
	require.NoError(t, err)
	require.Equal(t, topic, d.Name)
	require.Len(t, d.Partitions, 3)
	require.NotNil(t, d.Configs["retention.ms"].Value)
	require.Equal(t, "3600000", *d.Configs["retention.ms"].Value)
	require.Equal(t, "DYNAMIC_TOPIC_CONFIG", d.Configs["retention.ms"].Source)

	n, err := a.PartitionCount(ctx, topic)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	leaders, err := a.TopicLeaders(ctx, topic)
	require.NoError(t, err)
	require.Len(t, leaders, 3)
	for _, l := range leaders {
		require.True(t, addrs[l], l)
	}

	// Partitions, configs.
	require.NoError(t, a.CreatePartitions(ctx, map[string]int32{topic: 5}, false))
	n, err = a.PartitionCount(ctx, topic)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	err = a.CreatePartitions(ctx, map[string]int32{topic: 2}, false)
	require.ErrorIs(t, err, wire.ErrInvalidPartitions)

	require.NoError(t, a.AlterConfigs(ctx, ResourceTopic, topic, []ConfigOp{{Name: "retention.ms", Value: "7200000"}, {Name: "cleanup.policy", Value: "compact"}}, false))
	require.Eventually(t, func() bool {
		c, err := a.DescribeConfigs(ctx, ResourceTopic, topic, []string{"retention.ms", "cleanup.policy"})
		return err == nil && c["retention.ms"].Value != nil && *c["retention.ms"].Value == "7200000" &&
			c["cleanup.policy"].Value != nil && *c["cleanup.policy"].Value == "compact"
	}, 20*time.Second, 100*time.Millisecond)
	require.NoError(t, a.AlterConfigs(ctx, ResourceTopic, topic, []ConfigOp{{Name: "cleanup.policy", Op: "delete"}}, false))
	require.Eventually(t, func() bool {
		c, err := a.DescribeConfigs(ctx, ResourceTopic, topic, []string{"cleanup.policy"})
		return err == nil && c["cleanup.policy"].Value != nil && *c["cleanup.policy"].Value == "delete" && c["cleanup.policy"].IsDefault
	}, 20*time.Second, 100*time.Millisecond)
	err = a.AlterConfigs(ctx, ResourceTopic, topic, []ConfigOp{{Name: "retention.ms", Op: "bogus"}}, false)
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	_, err = a.DescribeConfigs(ctx, "nope", topic, nil)
	require.ErrorIs(t, err, wire.ErrInvalidArgument)
	bc, err := a.DescribeConfigs(ctx, ResourceBroker, fmt.Sprint(bs[0].NodeID), nil)
	require.NoError(t, err)
	require.NotEmpty(t, bc)

	err = a.CreateTopic(ctx, NewTopic{Name: topic, NumPartitions: 1, ReplicationFactor: 1})
	require.ErrorIs(t, err, wire.ErrTopicAlreadyExists)

	require.NoError(t, a.DeleteTopic(ctx, topic))
	names, err = a.ListTopics(ctx, false)
	require.NoError(t, err)
	require.NotContains(t, names, topic)
	err = a.DeleteTopic(ctx, topic)
	require.ErrorIs(t, err, wire.ErrUnknownTopicOrPartition)
}

func TestAdminOffsetsGroupsAndLag(t *testing.T) {
	brokers := testBrokers(t)
	a := newTestAdmin(t, brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := uniqueTopic(t)
	require.NoError(t, a.CreateTopics(ctx, []NewTopic{{Name: topic, NumPartitions: 2, ReplicationFactor: 1}}, CreateTopicsOptions{}))

	p, err := NewProducer(WithBrokers(brokers...))
	require.NoError(t, err)
	defer p.Close(ctx)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var recs []*Record
	for i := 0; i < 10; i++ {
		recs = append(recs, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Minute)})
	}
	recs = append(recs, &Record{Topic: topic, Partition: 1, ManualPartition: true, Value: []byte("x")})
	require.NoError(t, p.ProduceSync(ctx, recs...))

	latest, err := a.ListOffsets(ctx, topic, nil, OffsetLatest)
	require.NoError(t, err)
	require.EqualValues(t, 10, latest[0].Offset)
	require.EqualValues(t, 1, latest[1].Offset)
	earliest, err := a.ListOffsets(ctx, topic, []int32{0}, OffsetEarliest)
	require.NoError(t, err)
	require.EqualValues(t, 0, earliest[0].Offset)
	require.Len(t, earliest, 1)
	byTime, err := a.ListOffsets(ctx, topic, []int32{0}, base.Add(4*time.Minute+time.Second).UnixMilli())
	require.NoError(t, err)
	require.EqualValues(t, 5, byTime[0].Offset)
	require.Equal(t, base.Add(5*time.Minute).UnixMilli(), byTime[0].Timestamp)
	future, err := a.ListOffsets(ctx, topic, []int32{0}, time.Now().Add(time.Hour).UnixMilli())
	require.NoError(t, err)
	require.EqualValues(t, -1, future[0].Offset)
	_, err = a.ListOffsets(ctx, topic, []int32{7}, OffsetLatest)
	require.ErrorIs(t, err, wire.ErrPartitionNotFound)

	low, err := a.DeleteRecords(ctx, topic, map[int32]int64{0: 3})
	require.NoError(t, err)
	require.EqualValues(t, 3, low[0])
	earliest, err = a.ListOffsets(ctx, topic, []int32{0}, OffsetEarliest)
	require.NoError(t, err)
	require.EqualValues(t, 3, earliest[0].Offset)

	group := "gofka-group-" + uniqueTopic(t)
	require.NoError(t, a.AlterGroupOffsets(ctx, group, []GroupOffset{{Topic: topic, Partition: 0, Offset: 4, Metadata: "m"}, {Topic: topic, Partition: 1, Offset: 1}}))
	offs, err := a.ListGroupOffsets(ctx, group, nil)
	require.NoError(t, err)
	require.Len(t, offs, 2)
	require.Equal(t, GroupOffset{Topic: topic, Partition: 0, Offset: 4, Metadata: "m", LeaderEpoch: offs[0].LeaderEpoch}, offs[0])
	require.EqualValues(t, 1, offs[1].Offset)
	one, err := a.ListGroupOffsets(ctx, group, []TopicPartition{{Topic: topic, Partition: 1}})
	require.NoError(t, err)
	require.Len(t, one, 1)

	lag, err := a.ConsumerLag(ctx, group)
	require.NoError(t, err)
	require.Equal(t, []PartitionLag{{Topic: topic, Partition: 0, Committed: 4, LogEnd: 10, Lag: 6}, {Topic: topic, Partition: 1, Committed: 1, LogEnd: 1, Lag: 0}}, lag)

	groups, err := a.ListGroups(ctx)
	require.NoError(t, err)
	var listed *GroupListing
	for i := range groups {
		if groups[i].GroupID == group {
			listed = &groups[i]
		}
	}
	require.NotNil(t, listed, "%v", groups)
	d, err := a.DescribeGroup(ctx, group)
	require.NoError(t, err)
	require.Equal(t, "Empty", d.State)
	require.Empty(t, d.Members)
	require.NotEmpty(t, d.Coordinator.Host)
	_, err = a.DescribeGroup(ctx, group+"-none")
	require.ErrorIs(t, err, wire.ErrGroupIDNotFound)

	require.NoError(t, a.DeleteGroupOffsets(ctx, group, topic, []int32{1}))
	offs, err = a.ListGroupOffsets(ctx, group, nil)
	require.NoError(t, err)
	require.Len(t, offs, 1)

	require.NoError(t, a.DeleteGroups(ctx, []string{group}))
	_, err = a.DescribeGroup(ctx, group)
	require.ErrorIs(t, err, wire.ErrGroupIDNotFound)
	err = a.DeleteGroups(ctx, []string{group})
	require.Error(t, err)
	require.NoError(t, a.DeleteTopic(ctx, topic))
}

// AlterUserScramCredentials goes to the controller (issue 19 item 13: it
// went to any broker and failed with NOT_CONTROLLER on every multi-broker
// cluster). The bootstrap list starts with a broker that is not the
// controller, so the client's only connection at first is the wrong one.
func TestAdminScramRoutedToController(t *testing.T) {
	d, err := devcluster.Start(devcluster.Options{Brokers: 3})
	require.NoError(t, err)
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	probe := newTestAdmin(t, d.Addrs())
	m, err := probe.ClusterMetadata(ctx, []string{})
	require.NoError(t, err)
	var first string
	for _, b := range m.Brokers {
		if b.NodeID != m.ControllerID {
			first = b.Addr()
		}
	}
	require.NotEmpty(t, first)
	a := newTestAdmin(t, append([]string{first}, d.Addrs()...))
	_, err = a.ListTopics(ctx, false) // connects to first
	require.NoError(t, err)
	user := fmt.Sprintf("scram-routed-%d", time.Now().UnixNano())
	require.NoError(t, a.AlterUserScramCredentials(ctx, []ScramUpsertion{{User: user, Mechanism: MechanismScramSHA256, Password: "pw-routed"}}, nil))
	got, err := a.DescribeUserScramCredentials(ctx, []string{user})
	require.NoError(t, err)
	require.Equal(t, []ScramCredentialInfo{{Mechanism: MechanismScramSHA256, Iterations: DefaultScramIterations}}, got[user])
	require.NoError(t, a.AlterUserScramCredentials(ctx, nil, []ScramDeletion{{User: user, Mechanism: MechanismScramSHA256}}))
}
