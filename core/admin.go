package core

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/gofka/gofka/wire"
)

// Admin inspects and manages the cluster: metadata, topics, partitions,
// configs, consumer groups and their offsets, log offsets and records. It
// is safe for concurrent use.
//
// Every method is bounded by ctx (and, when ctx has no deadline, by the
// client's request timeout) and retries retriable failures (connection
// failures, NOT_CONTROLLER, coordinator moves, ...) as the client's
// RetryPolicy says. Errors are *wire.Error values naming the broker that
// answered when it is known.
//
// Methods that change the cluster (CreateTopics, DeleteTopics,
// CreatePartitions) return once the change is visible in the cluster
// metadata, so that a describe right after sees it.
type Admin struct {
	cl         *Client
	ownsClient bool
}

// NewAdmin creates an admin client from options over the defaults of the
// property table (docs/configuration.md); WithBrokers is required. It does
// no network I/O. A bad setting is INVALID_ARGUMENT.
func NewAdmin(opts ...AdminOption) (*Admin, error) {
	return adminFromConfig(configOf(opts))
}

// NewAdminFromProperties creates an admin client from key=value properties
// (the keys of docs/configuration.md, as the C ABI and Python give them),
// over the defaults. Keys that configure other kinds of client are
// accepted and have no effect; an unknown key or a bad value is
// INVALID_ARGUMENT. Go code normally uses NewAdmin.
func NewAdminFromProperties(props map[string]string) (*Admin, error) {
	cfg, err := configFromProperties(props)
	if err != nil {
		return nil, err
	}
	return adminFromConfig(cfg)
}

// adminFromConfig creates an admin client with its own Client.
func adminFromConfig(cfg Config) (*Admin, error) {
	cl, err := clientFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Admin{cl: cl, ownsClient: true}, nil
}

// Client returns the admin's client.
func (a *Admin) Client() *Client { return a.cl }

// Close closes the client if the admin owns it.
func (a *Admin) Close() error {
	if a.ownsClient {
		return a.cl.Close()
	}
	return nil
}

// Connect reaches the cluster (see Client.Connect). Optional.
func (a *Admin) Connect(ctx context.Context) error { return a.cl.Connect(ctx) }

// do bounds ctx by the request timeout and runs fn under the retry policy.
func (a *Admin) do(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := a.cl.withTimeout(ctx, a.cl.cfg.RequestTimeout)
	defer cancel()
	return a.cl.cfg.Retry.Do(ctx, fn)
}

// kerr turns a Kafka error code read from a response into an error (nil
// for NONE) naming what it concerns and the broker that sent it.
func kerr(code int16, msg *string, what, broker string) error {
	if code == 0 {
		return nil
	}
	detail := what
	if msg != nil && *msg != "" {
		if detail != "" {
			detail += ": "
		}
		detail += *msg
	}
	return &wire.Error{Code: wire.ErrorCode(code), Detail: detail, Broker: broker}
}

// ---------------------------------------------------------------------------
// Metadata

// ClusterMetadata is the cluster as one Metadata response describes it.
type ClusterMetadata struct {
	ClusterID    string          `json:"cluster_id"`
	ControllerID int32           `json:"controller_id"` // -1 when unknown
	Brokers      []BrokerInfo    `json:"brokers"`       // sorted by node id
	Topics       []TopicMetadata `json:"topics"`        // sorted by name
}

// TopicMetadata describes one topic. Error is "" when the topic is usable,
// else the error name (e.g. UNKNOWN_TOPIC_OR_PARTITION).
type TopicMetadata struct {
	Name       string              `json:"name"`
	TopicID    string              `json:"topic_id"` // UUID text, "" when unknown
	Internal   bool                `json:"internal"`
	ErrorCode  int16               `json:"error_code"`
	Error      string              `json:"error"`
	Partitions []PartitionMetadata `json:"partitions"` // sorted by partition
}

// PartitionMetadata describes one partition: its leader, replicas and
// in-sync replicas (node ids) and the partition-level error.
type PartitionMetadata struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`      // node id, -1 when leaderless
	LeaderAddr  string  `json:"leader_addr"` // "host:port", "" when leaderless or unknown
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	Offline     []int32 `json:"offline_replicas"`
	ErrorCode   int16   `json:"error_code"`
	Error       string  `json:"error"`
}

func errName(code int16) string {
	if code == 0 {
		return ""
	}
	return wire.ErrorCode(code).String()
}

func uuidString(id [16]byte) string {
	if id == ([16]byte{}) {
		return ""
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// metadata sends one Metadata request for topics (nil = all) that never
// creates topics, merges it into the client's cache and converts it.
func (a *Admin) metadata(ctx context.Context, topics []string) (*ClusterMetadata, string, error) {
	req := &wire.MetadataRequest{AllowAutoTopicCreation: false}
	if topics != nil {
		req.Topics = make([]wire.MetadataRequestTopic, 0, len(topics))
		for _, t := range topics {
			req.Topics = append(req.Topics, wire.MetadataRequestTopic{Name: t})
		}
	}
	var out *ClusterMetadata
	var broker string
	err := a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.cl.requestAddr(ctx, -1, req)
		if err != nil {
			return err
		}
		mr := resp.(*wire.MetadataResponse)
		a.cl.mergeMetadata(mr, topics == nil)
		out, broker = convertMetadata(mr), addr
		return nil
	})
	return out, broker, err
}

func convertMetadata(mr *wire.MetadataResponse) *ClusterMetadata {
	m := &ClusterMetadata{ControllerID: mr.ControllerId, Brokers: []BrokerInfo{}, Topics: []TopicMetadata{}}
	if mr.ClusterId != nil {
		m.ClusterID = *mr.ClusterId
	}
	addrs := map[int32]string{}
	for _, b := range mr.Brokers {
		bi := BrokerInfo{NodeID: b.NodeId, Host: b.Host, Port: b.Port}
		if b.Rack != nil {
			bi.Rack = *b.Rack
		}
		m.Brokers = append(m.Brokers, bi)
		addrs[b.NodeId] = bi.Addr()
	}
	sort.Slice(m.Brokers, func(i, j int) bool { return m.Brokers[i].NodeID < m.Brokers[j].NodeID })
	for _, t := range mr.Topics {
		tm := TopicMetadata{Name: t.Name, TopicID: uuidString(t.TopicId), Internal: t.IsInternal,
			ErrorCode: t.ErrorCode, Error: errName(t.ErrorCode), Partitions: []PartitionMetadata{}}
		for _, p := range t.Partitions {
			tm.Partitions = append(tm.Partitions, PartitionMetadata{
				Partition: p.PartitionIndex, Leader: p.LeaderId, LeaderAddr: addrs[p.LeaderId], LeaderEpoch: p.LeaderEpoch,
				Replicas: nonNil(p.ReplicaNodes), ISR: nonNil(p.IsrNodes), Offline: nonNil(p.OfflineReplicas),
				ErrorCode: p.ErrorCode, Error: errName(p.ErrorCode),
			})
		}
		sort.Slice(tm.Partitions, func(i, j int) bool { return tm.Partitions[i].Partition < tm.Partitions[j].Partition })
		m.Topics = append(m.Topics, tm)
	}
	sort.Slice(m.Topics, func(i, j int) bool { return m.Topics[i].Name < m.Topics[j].Name })
	return m
}

// ClusterMetadata returns the cluster id, controller, brokers and the
// given topics (nil = every topic, internal ones included) with their
// partitions. A topic that does not exist is listed with its error
// (UNKNOWN_TOPIC_OR_PARTITION) rather than failing the call. It never
// creates topics.
func (a *Admin) ClusterMetadata(ctx context.Context, topics []string) (*ClusterMetadata, error) {
	m, _, err := a.metadata(ctx, topics)
	return m, err
}

// ListBrokers returns the brokers of the cluster, sorted by node id.
func (a *Admin) ListBrokers(ctx context.Context) ([]BrokerInfo, error) {
	m, _, err := a.metadata(ctx, []string{})
	if err != nil {
		return nil, err
	}
	return m.Brokers, nil
}

// ListTopics returns the names of the cluster's topics, sorted. Internal
// topics (__consumer_offsets, __transaction_state, ...) are included only
// when includeInternal is true.
func (a *Admin) ListTopics(ctx context.Context, includeInternal bool) ([]string, error) {
	m, _, err := a.metadata(ctx, nil)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(m.Topics))
	for _, t := range m.Topics {
		if t.ErrorCode != 0 || (t.Internal && !includeInternal) {
			continue
		}
		names = append(names, t.Name)
	}
	return names, nil
}

// topicMetadata returns one existing topic's metadata; a missing topic is
// UNKNOWN_TOPIC_OR_PARTITION (not retried: the caller asked about it).
func (a *Admin) topicMetadata(ctx context.Context, topic string) (*TopicMetadata, error) {
	if err := ValidateTopicName(topic); err != nil {
		return nil, err
	}
	if topic == "" {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "topic name is empty"}
	}
	m, broker, err := a.metadata(ctx, []string{topic})
	if err != nil {
		return nil, err
	}
	for i := range m.Topics {
		if t := &m.Topics[i]; t.Name == topic {
			if t.ErrorCode != 0 {
				return nil, kerr(t.ErrorCode, nil, "topic "+strconv.Quote(topic), broker)
			}
			return t, nil
		}
	}
	return nil, &wire.Error{Code: wire.ErrUnknownTopicOrPartition, Detail: "topic " + strconv.Quote(topic), Broker: broker}
}

// TopicDescription is a topic's metadata plus its configuration.
type TopicDescription struct {
	TopicMetadata
	Configs map[string]ConfigEntry `json:"configs"`
}

// DescribeTopic returns the topic's partitions (leaders, replicas, ISR)
// and its configuration. A topic that does not exist is
// UNKNOWN_TOPIC_OR_PARTITION.
func (a *Admin) DescribeTopic(ctx context.Context, topic string) (*TopicDescription, error) {
	t, err := a.topicMetadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	cfgs, err := a.DescribeConfigs(ctx, ResourceTopic, topic, nil)
	if err != nil {
		return nil, err
	}
	return &TopicDescription{TopicMetadata: *t, Configs: cfgs}, nil
}

// PartitionCount returns the number of partitions of topic.
func (a *Admin) PartitionCount(ctx context.Context, topic string) (int, error) {
	t, err := a.topicMetadata(ctx, topic)
	if err != nil {
		return 0, err
	}
	return len(t.Partitions), nil
}

// TopicLeaders maps each partition of topic to its leader's "host:port"
// ("" for a partition without a leader).
func (a *Admin) TopicLeaders(ctx context.Context, topic string) (map[int32]string, error) {
	t, err := a.topicMetadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]string, len(t.Partitions))
	for _, p := range t.Partitions {
		out[p.Partition] = p.LeaderAddr
	}
	return out, nil
}

// DescribeCluster returns the cluster id, the controller and the brokers
// from a DescribeCluster request (the KRaft-era API; Metadata's controller
// id is a random broker on KRaft clusters).
func (a *Admin) DescribeCluster(ctx context.Context) (*ClusterMetadata, error) {
	var out *ClusterMetadata
	err := a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.cl.requestAddr(ctx, -1, &wire.DescribeClusterRequest{})
		if err != nil {
			return err
		}
		r := resp.(*wire.DescribeClusterResponse)
		if err := kerr(r.ErrorCode, r.ErrorMessage, "DescribeCluster", addr); err != nil {
			return err
		}
		m := &ClusterMetadata{ClusterID: r.ClusterId, ControllerID: r.ControllerId, Brokers: []BrokerInfo{}, Topics: []TopicMetadata{}}
		for _, b := range r.Brokers {
			bi := BrokerInfo{NodeID: b.BrokerId, Host: b.Host, Port: b.Port}
			if b.Rack != nil {
				bi.Rack = *b.Rack
			}
			m.Brokers = append(m.Brokers, bi)
		}
		sort.Slice(m.Brokers, func(i, j int) bool { return m.Brokers[i].NodeID < m.Brokers[j].NodeID })
		out = m
		return nil
	})
	return out, err
}
