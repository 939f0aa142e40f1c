package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gofka/gofka/wire"
)

// Metadata is an immutable snapshot of what the client knows about the
// cluster. A refresh builds a new snapshot and swaps it in atomically, so
// readers never lock and never see a half-updated view.
type Metadata struct {
	Fetched      time.Time
	ClusterID    string
	ControllerID int32
	Brokers      map[int32]BrokerInfo
	Topics       map[string]*TopicInfo
	// all is true when the snapshot lists every topic of the cluster (the
	// last refresh asked for all of them).
	all bool
}

// TopicInfo describes one topic. Err is the topic-level error the broker
// returned (e.g. UNKNOWN_TOPIC_OR_PARTITION), ErrNone when it is usable.
type TopicInfo struct {
	Name       string
	ID         [16]byte
	Internal   bool
	Err        wire.ErrorCode
	Partitions []PartitionInfo // indexed by partition id
}

// PartitionInfo describes one partition: its leader and replicas.
type PartitionInfo struct {
	ID          int32
	Leader      int32 // -1 when leaderless
	LeaderEpoch int32
	Replicas    []int32
	ISR         []int32
	Offline     []int32
	Err         wire.ErrorCode
}

func (m *Metadata) sortedBrokers() []BrokerInfo {
	out := make([]BrokerInfo, 0, len(m.Brokers))
	for _, b := range m.Brokers {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

// SortedBrokers returns the brokers ordered by node id.
func (m *Metadata) SortedBrokers() []BrokerInfo { return m.sortedBrokers() }

// Metadata returns the cached snapshot, refreshing it first when it is
// missing, older than metadata.max.age.ms, or lacks one of topics.
func (c *Client) Metadata(ctx context.Context, topics ...string) (*Metadata, error) {
	m := c.meta.Load()
	if m != nil && time.Since(m.Fetched) < c.cfg.MetadataMaxAge {
		fresh := true
		for _, t := range topics {
			if ti, ok := m.Topics[t]; !ok || ti.Err != wire.ErrNone {
				fresh = false
				break
			}
		}
		if fresh {
			return m, nil
		}
	}
	if len(topics) == 0 {
		topics = nil
	}
	return c.RefreshMetadata(ctx, topics)
}

// RefreshMetadata asks the cluster for metadata about topics (nil means
// every topic; an empty non-nil slice means brokers only) and merges the
// answer into the cache. Concurrent refreshes are serialised; a caller
// that waited for another refresh still sends its own request so that it
// sees data at least as new as its call.
func (c *Client) RefreshMetadata(ctx context.Context, topics []string) (*Metadata, error) {
	ctx, cancel := c.withTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	c.metaMu.Lock()
	defer c.metaMu.Unlock()

	req := &wire.MetadataRequest{AllowAutoTopicCreation: c.cfg.AllowAutoTopicCreation}
	if topics != nil {
		req.Topics = make([]wire.MetadataRequestTopic, 0, len(topics))
		for _, t := range topics {
			req.Topics = append(req.Topics, wire.MetadataRequestTopic{Name: t})
		}
	}
	var lastErr error
	// Try brokers until one answers: a dead connection is replaced by the
	// next dial inside anyConn, and a broker that did not answer within
	// request.timeout.ms has had its connection closed (requestLimits), so
	// the next attempt goes to another broker.
	for attempt := 0; attempt < 3; attempt++ {
		cn, err := c.anyConn(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := cn.roundTrip(ctx, req, false)
		if err != nil {
			c.noteFailure(cn, err)
			lastErr = err
			if ctx.Err() != nil || !wire.CodeOf(err).Retriable() {
				return nil, err
			}
			continue
		}
		return c.mergeMetadata(resp.(*wire.MetadataResponse), topics == nil), nil
	}
	return nil, lastErr
}

func (c *Client) mergeMetadata(resp *wire.MetadataResponse, all bool) *Metadata {
	old := c.meta.Load()
	m := &Metadata{
		Fetched:      time.Now(),
		ControllerID: resp.ControllerId,
		Brokers:      make(map[int32]BrokerInfo, len(resp.Brokers)),
		Topics:       make(map[string]*TopicInfo),
		all:          all,
	}
	if resp.ClusterId != nil {
		m.ClusterID = *resp.ClusterId
	}
	for _, b := range resp.Brokers {
		bi := BrokerInfo{NodeID: b.NodeId, Host: b.Host, Port: b.Port}
		if b.Rack != nil {
			bi.Rack = *b.Rack
		}
		m.Brokers[b.NodeId] = bi
	}
	// Keep topics we knew and did not ask about, unless this was a full
	// listing (then a missing topic was deleted).
	if old != nil && !all {
		for name, t := range old.Topics {
			m.Topics[name] = t
		}
	}
	for _, t := range resp.Topics {
		if t.Name == "" {
			continue
		}
		ti := &TopicInfo{Name: t.Name, ID: t.TopicId, Internal: t.IsInternal, Err: wire.ErrorCode(t.ErrorCode)}
		maxID := int32(-1)
		for _, p := range t.Partitions {
			maxID = max(maxID, p.PartitionIndex)
		}
		// The topic as cached before, when it is the same topic (not
		// deleted and re-created meanwhile, which restarts leader epochs).
		var prev *TopicInfo
		if old != nil {
			if o := old.Topics[t.Name]; o != nil && o.ID == ti.ID {
				prev = o
			}
		}
		if maxID >= 0 && int(maxID) < 1<<20 {
			ti.Partitions = make([]PartitionInfo, maxID+1)
			for i := range ti.Partitions {
				ti.Partitions[i] = PartitionInfo{ID: int32(i), Leader: -1, Err: wire.ErrLeaderNotAvailable}
			}
			for _, p := range t.Partitions {
				pi := PartitionInfo{
					ID: p.PartitionIndex, Leader: p.LeaderId, LeaderEpoch: p.LeaderEpoch,
					Replicas: p.ReplicaNodes, ISR: p.IsrNodes, Offline: p.OfflineReplicas,
					Err: wire.ErrorCode(p.ErrorCode),
				}
				// A broker that lags behind the controller (e.g. one just
				// resumed after a freeze, or not yet caught up after a
				// restart) answers with an older leader epoch than one
				// already seen: keep the newer view, as the Java client
				// does (KIP-320). Acting on the stale leader would send
				// produce and fetch requests to a deposed leader, whose
				// OFFSET_OUT_OF_RANGE would rewind a consumer.
				if prev != nil && int(p.PartitionIndex) < len(prev.Partitions) {
					if op := prev.Partitions[p.PartitionIndex]; op.LeaderEpoch >= 0 && pi.LeaderEpoch >= 0 && pi.LeaderEpoch < op.LeaderEpoch {
						c.cfg.logf(LogDebug, "metadata", "%s/%d: ignoring leader %d at epoch %d, older than the known leader %d at epoch %d",
							t.Name, p.PartitionIndex, pi.Leader, pi.LeaderEpoch, op.Leader, op.LeaderEpoch)
						pi = op
					}
				}
				ti.Partitions[p.PartitionIndex] = pi
			}
		}
		m.Topics[ti.Name] = ti
	}
	c.meta.Store(m)
	c.logMetadata(old, m, len(resp.Topics))
	return m
}

// logMetadata logs each refresh at debug level and a change of the broker
// set or of the controller at info level.
func (c *Client) logMetadata(old, m *Metadata, answered int) {
	changed := old == nil || old.ControllerID != m.ControllerID || len(old.Brokers) != len(m.Brokers)
	if !changed {
		for id, b := range m.Brokers {
			if ob, ok := old.Brokers[id]; !ok || ob.Addr() != b.Addr() {
				changed = true
				break
			}
		}
	}
	if changed && c.cfg.logger().Enabled(LogInfo) {
		addrs := make([]string, 0, len(m.Brokers))
		for _, b := range m.sortedBrokers() {
			addrs = append(addrs, fmt.Sprintf("%d@%s", b.NodeID, b.Addr()))
		}
		c.cfg.logf(LogInfo, "metadata", "cluster %s: brokers %s, controller %d",
			m.ClusterID, strings.Join(addrs, ","), m.ControllerID)
	}
	c.cfg.logf(LogDebug, "metadata", "metadata refreshed: %d brokers, %d topics in the answer, %d cached",
		len(m.Brokers), answered, len(m.Topics))
}

// TopicPartitions returns the topic's metadata, refreshing the cache when
// the topic is unknown. A topic the cluster reports as missing gives a
// *wire.Error with its code (UNKNOWN_TOPIC_OR_PARTITION, ...).
func (c *Client) TopicPartitions(ctx context.Context, topic string) (*TopicInfo, error) {
	if err := ValidateTopicName(topic); err != nil {
		return nil, err
	}
	m, err := c.Metadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	t, ok := m.Topics[topic]
	if !ok {
		return nil, &wire.Error{Code: wire.ErrUnknownTopicOrPartition, Detail: topic}
	}
	if t.Err != wire.ErrNone {
		return nil, &wire.Error{Code: t.Err, Detail: "topic " + topic}
	}
	if len(t.Partitions) == 0 {
		return nil, &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: "topic " + topic + " has no partitions yet"}
	}
	return t, nil
}
