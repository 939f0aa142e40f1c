package core

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gofka/gofka/wire"
)

// GroupListing is one group as ListGroups reports it.
type GroupListing struct {
	GroupID      string `json:"group_id"`
	ProtocolType string `json:"protocol_type"` // "consumer" for consumer groups, "" for groups with only offsets
	State        string `json:"state"`         // e.g. Stable, Empty; "" when the broker does not say
	Type         string `json:"type"`          // "classic", "consumer", "share", ...; "" when the broker does not say
}

// GroupMember is one member of a group.
type GroupMember struct {
	MemberID        string             `json:"member_id"`
	GroupInstanceID *string            `json:"group_instance_id"`
	ClientID        string             `json:"client_id"`
	ClientHost      string             `json:"client_host"`
	Assignment      map[string][]int32 `json:"assignment"` // topic -> partitions
}

// GroupDescription describes one group.
type GroupDescription struct {
	GroupID      string        `json:"group_id"`
	State        string        `json:"state"`
	Type         string        `json:"type"`          // "classic", "consumer" (KIP-848) or "share" (KIP-932)
	ProtocolType string        `json:"protocol_type"` // classic groups: "consumer", or "" with no members; share groups: "share"
	Protocol     string        `json:"protocol"`      // classic: the chosen assignor; consumer, share: the server assignor
	Coordinator  BrokerInfo    `json:"coordinator"`
	Members      []GroupMember `json:"members"`
}

// coordinator finds the coordinator of group (Client.findCoordinator: one
// group coordinator for classic, consumer and share groups) and makes sure
// the client can reach it by node id; a retriable error
// (COORDINATOR_NOT_AVAILABLE, ...) is left to the caller's retry policy.
func (a *Admin) coordinator(ctx context.Context, group string) (BrokerInfo, error) {
	node, err := a.cl.findCoordinator(ctx, group, wire.FindCoordinatorKeyTypeGroup, "group "+strconv.Quote(group))
	if err != nil {
		return BrokerInfo{}, err
	}
	if m := a.cl.meta.Load(); m == nil || m.Brokers[node].Host == "" {
		if _, err := a.cl.RefreshMetadata(ctx, []string{}); err != nil {
			return BrokerInfo{}, err
		}
	}
	if m := a.cl.meta.Load(); m != nil {
		if b, ok := m.Brokers[node]; ok && b.Host != "" {
			return b, nil
		}
	}
	return BrokerInfo{}, &wire.Error{Code: wire.ErrCoordinatorNotAvailable,
		Detail: fmt.Sprintf("coordinator %d of group %q is not in the cluster metadata", node, group)}
}

// coordinatorRequest sends req to group's coordinator.
func (a *Admin) coordinatorRequest(ctx context.Context, group string, req wire.Request) (wire.Response, string, error) {
	b, err := a.coordinator(ctx, group)
	if err != nil {
		return nil, "", err
	}
	return a.cl.requestAddr(ctx, b.NodeID, req)
}

func checkGroup(group string) error {
	if group == "" {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "group id is empty"}
	}
	return nil
}

// ListGroups lists the groups of every broker (each broker lists the groups
// it coordinates), sorted by id. types, when given, keeps only groups of
// those types ("classic", "consumer", "share", "streams"; case does not
// matter; anything else is INVALID_ARGUMENT); filtering needs ListGroups v5
// (Kafka 3.8+), so an older broker answers UNSUPPORTED_VERSION rather than
// an unfiltered list. No types lists every group.
func (a *Admin) ListGroups(ctx context.Context, types ...string) ([]GroupListing, error) {
	var req wire.Request = &wire.ListGroupsRequest{}
	if len(types) > 0 {
		filter := make([]string, 0, len(types))
		for _, t := range types {
			lt := strings.ToLower(t)
			if !groupTypes[lt] {
				return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("unknown group type %q (classic, consumer, share or streams)", t)}
			}
			filter = append(filter, lt)
		}
		req = versionFloor{Request: &wire.ListGroupsRequest{TypesFilter: filter}, Min: 5}
	}
	ctx, cancel := a.cl.withTimeout(ctx, a.cl.cfg.RequestTimeout)
	defer cancel()
	m, err := a.cl.RefreshMetadata(ctx, []string{})
	if err != nil {
		return nil, err
	}
	byID := map[string]GroupListing{}
	for _, b := range m.sortedBrokers() {
		node := b.NodeID
		err := a.do(ctx, func(ctx context.Context) error {
			resp, addr, err := a.cl.requestAddr(ctx, node, req)
			if err != nil {
				return err
			}
			r := resp.(*wire.ListGroupsResponse)
			if err := kerr(r.ErrorCode, nil, "listing groups", addr); err != nil {
				return err
			}
			for _, g := range r.Groups {
				byID[g.GroupId] = GroupListing{GroupID: g.GroupId, ProtocolType: g.ProtocolType, State: g.GroupState, Type: g.GroupType}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]GroupListing, 0, len(byID))
	for _, g := range byID {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GroupID < out[j].GroupID })
	return out, nil
}

// DescribeGroups describes groups, classic, KIP-848 consumer and KIP-932
// share groups alike (Type says which; DescribeShareGroups tells more of a
// share group). A group that does not exist is GROUP_ID_NOT_FOUND.
func (a *Admin) DescribeGroups(ctx context.Context, groups []string) ([]GroupDescription, error) {
	return describeEach(ctx, groups, a.DescribeGroup)
}

// describeEach describes groups one by one, in the order given, with
// describe (one coordinator round trip each); the first failure is
// returned. The shape of DescribeGroups and DescribeShareGroups.
func describeEach[D any](ctx context.Context, groups []string, describe func(context.Context, string) (*D, error)) ([]D, error) {
	out := make([]D, 0, len(groups))
	for _, g := range groups {
		d, err := describe(ctx, g)
		if err != nil {
			return nil, err
		}
		out = append(out, *d)
	}
	return out, nil
}

// atCoordinator checks the group id, then runs fn against the group's
// coordinator (looked up again on each attempt) under the admin's retry
// policy (Admin.do), and returns what the last attempt gave.
func atCoordinator[D any](ctx context.Context, a *Admin, group string, fn func(ctx context.Context, coord BrokerInfo) (*D, error)) (*D, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	var out *D
	err := a.do(ctx, func(ctx context.Context) error {
		coord, err := a.coordinator(ctx, group)
		if err != nil {
			return err
		}
		out, err = fn(ctx, coord)
		return err
	})
	return out, err
}

// DescribeGroup describes one group (see DescribeGroups).
func (a *Admin) DescribeGroup(ctx context.Context, group string) (*GroupDescription, error) {
	return atCoordinator(ctx, a, group, func(ctx context.Context, coord BrokerInfo) (*GroupDescription, error) {
		return a.describeGroup(ctx, coord, group)
	})
}

// describeGroup asks coord (the coordinator of group) with DescribeGroups;
// a KIP-848 consumer group, which Kafka 4 answers GROUP_ID_NOT_FOUND
// there, with ConsumerGroupDescribe.
func (a *Admin) describeGroup(ctx context.Context, coord BrokerInfo, group string) (*GroupDescription, error) {
	resp, addr, err := a.cl.requestAddr(ctx, coord.NodeID, &wire.DescribeGroupsRequest{Groups: []string{group}})
	if err != nil {
		return nil, err
	}
	for _, g := range resp.(*wire.DescribeGroupsResponse).Groups {
		if g.GroupId != group {
			continue
		}
		if wire.ErrorCode(g.ErrorCode) == wire.ErrGroupIDNotFound {
			// Kafka 4 answers so for KIP-848 consumer groups.
			return a.describeConsumerGroup(ctx, coord, group)
		}
		if err := kerr(g.ErrorCode, g.ErrorMessage, "describing group "+strconv.Quote(group), addr); err != nil {
			return nil, err
		}
		if g.GroupState == "Dead" {
			return nil, &wire.Error{Code: wire.ErrGroupIDNotFound, Detail: "group " + strconv.Quote(group), Broker: addr}
		}
		d := &GroupDescription{GroupID: group, State: g.GroupState, Type: "classic", ProtocolType: g.ProtocolType,
			Protocol: g.ProtocolData, Coordinator: coord, Members: []GroupMember{}}
		for _, m := range g.Members {
			gm := GroupMember{MemberID: m.MemberId, GroupInstanceID: m.GroupInstanceId, ClientID: m.ClientId,
				ClientHost: m.ClientHost, Assignment: map[string][]int32{}}
			if g.ProtocolType == "consumer" && len(m.MemberAssignment) > 0 {
				var as wire.ConsumerProtocolAssignment
				if as.Decode(m.MemberAssignment) == nil {
					for _, tp := range as.AssignedPartitions {
						gm.Assignment[tp.Topic] = append(gm.Assignment[tp.Topic], tp.Partitions...)
					}
				}
			}
			d.Members = append(d.Members, gm)
		}
		return d, nil
	}
	return nil, &wire.Error{Code: wire.ErrCorruptResponse, Detail: "DescribeGroups answered without group " + strconv.Quote(group), Broker: addr}
}

// describeConsumerGroup describes a KIP-848 group with
// ConsumerGroupDescribe, or else (GROUP_ID_NOT_FOUND) a share group with
// ShareGroupDescribe.
func (a *Admin) describeConsumerGroup(ctx context.Context, coord BrokerInfo, group string) (*GroupDescription, error) {
	describeShare := func() (*GroupDescription, error) {
		d, err := a.describeShareGroup(ctx, coord, group)
		if err != nil {
			return nil, err
		}
		return shareAsGroupDescription(d), nil
	}
	resp, addr, err := a.cl.requestAddr(ctx, coord.NodeID, &wire.ConsumerGroupDescribeRequest{GroupIds: []string{group}})
	if wire.CodeOf(err) == wire.ErrUnsupportedVersionLocal {
		return describeShare()
	}
	if err != nil {
		return nil, err
	}
	for _, g := range resp.(*wire.ConsumerGroupDescribeResponse).Groups {
		if g.GroupId != group {
			continue
		}
		if wire.ErrorCode(g.ErrorCode) == wire.ErrGroupIDNotFound {
			return describeShare()
		}
		if err := kerr(g.ErrorCode, g.ErrorMessage, "describing group "+strconv.Quote(group), addr); err != nil {
			return nil, err
		}
		d := &GroupDescription{GroupID: group, State: g.GroupState, Type: "consumer", ProtocolType: "consumer",
			Protocol: g.AssignorName, Coordinator: coord, Members: []GroupMember{}}
		for _, m := range g.Members {
			gm := GroupMember{MemberID: m.MemberId, GroupInstanceID: m.InstanceId, ClientID: m.ClientId,
				ClientHost: m.ClientHost, Assignment: map[string][]int32{}}
			for _, tp := range m.Assignment.TopicPartitions {
				gm.Assignment[tp.TopicName] = append(gm.Assignment[tp.TopicName], tp.Partitions...)
			}
			d.Members = append(d.Members, gm)
		}
		return d, nil
	}
	return describeShare()
}

// DeleteGroups deletes groups (each must have no active members). Each
// group succeeds or fails on its own; the first failure is returned.
func (a *Admin) DeleteGroups(ctx context.Context, groups []string) error {
	errs := map[string]error{}
	for _, g := range groups {
		if err := checkGroup(g); err != nil {
			return err
		}
		g := g
		err := a.do(ctx, func(ctx context.Context) error {
			resp, addr, err := a.coordinatorRequest(ctx, g, &wire.DeleteGroupsRequest{GroupsNames: []string{g}})
			if err != nil {
				return err
			}
			for _, r := range resp.(*wire.DeleteGroupsResponse).Results {
				if r.GroupId == g {
					return kerr(r.ErrorCode, nil, "deleting group "+strconv.Quote(g), addr)
				}
			}
			return nil
		})
		errs[g] = err
		if err != nil && !isPerItemError(err) {
			return err
		}
	}
	return firstItemError(errs)
}

// isPerItemError reports whether err concerns the item rather than the
// connection (so that the other items are still attempted).
func isPerItemError(err error) bool { return wire.CodeOf(err) > wire.LocalCodeMax }

// GroupOffset is a committed offset of a group.
type GroupOffset struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	Offset      int64  `json:"offset"` // -1 when the group has none
	Metadata    string `json:"metadata"`
	LeaderEpoch int32  `json:"leader_epoch"` // -1 when unknown
}

// ListGroupOffsets returns the committed offsets of group, for the given
// partitions or (nil) every partition it committed, sorted by topic and
// partition.
func (a *Admin) ListGroupOffsets(ctx context.Context, group string, partitions []TopicPartition) ([]GroupOffset, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	g := wire.OffsetFetchRequestGroup{GroupId: group}
	if partitions != nil {
		byTopic := map[string][]int32{}
		var order []string
		for _, tp := range partitions {
			if _, ok := byTopic[tp.Topic]; !ok {
				order = append(order, tp.Topic)
			}
			byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
		}
		g.Topics = []wire.OffsetFetchRequestTopic{}
		for _, t := range order {
			g.Topics = append(g.Topics, wire.OffsetFetchRequestTopic{Name: t, PartitionIndexes: byTopic[t]})
		}
	}
	req := &wire.OffsetFetchRequest{GroupId: g.GroupId, Topics: g.Topics, Groups: []wire.OffsetFetchRequestGroup{g}}
	var out []GroupOffset
	err := a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.coordinatorRequest(ctx, group, req)
		if err != nil {
			return err
		}
		rg, ok := resp.(*wire.OffsetFetchResponse).Group(group)
		if !ok {
			return &wire.Error{Code: wire.ErrCorruptResponse, Detail: "OffsetFetch answered without group " + strconv.Quote(group), Broker: addr}
		}
		if err := kerr(rg.ErrorCode, nil, "fetching offsets of group "+strconv.Quote(group), addr); err != nil {
			return err
		}
		out = out[:0]
		for _, t := range rg.Topics {
			for _, p := range t.Partitions {
				if err := kerr(p.ErrorCode, nil, fmt.Sprintf("offset of group %q for %s/%d", group, t.Name, p.PartitionIndex), addr); err != nil {
					return err
				}
				o := GroupOffset{Topic: t.Name, Partition: p.PartitionIndex, Offset: p.CommittedOffset, LeaderEpoch: p.CommittedLeaderEpoch}
				if p.Metadata != nil {
					o.Metadata = *p.Metadata
				}
				out = append(out, o)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	if out == nil {
		out = []GroupOffset{}
	}
	return out, nil
}

// AlterGroupOffsets commits offsets for group from outside the group
// (generation -1), which the coordinator accepts only while the group has
// no active members (else UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION). A group
// that does not exist is created empty, holding the offsets.
func (a *Admin) AlterGroupOffsets(ctx context.Context, group string, offsets []GroupOffset) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	if len(offsets) == 0 {
		return nil
	}
	req := &wire.OffsetCommitRequest{GroupId: group, GenerationIdOrMemberEpoch: -1, RetentionTimeMs: -1}
	idx := map[string]int{}
	for _, o := range offsets {
		if o.Topic == "" || o.Partition < 0 || o.Offset < 0 {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("invalid offset %d for %q partition %d", o.Offset, o.Topic, o.Partition)}
		}
		i, ok := idx[o.Topic]
		if !ok {
			i = len(req.Topics)
			idx[o.Topic] = i
			req.Topics = append(req.Topics, wire.OffsetCommitRequestTopic{Name: o.Topic})
		}
		var md *string
		if o.Metadata != "" {
			m := o.Metadata
			md = &m
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, wire.OffsetCommitRequestPartition{
			PartitionIndex: o.Partition, CommittedOffset: o.Offset, CommittedLeaderEpoch: -1, CommittedMetadata: md})
	}
	return a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.coordinatorRequest(ctx, group, req)
		if err != nil {
			return err
		}
		for _, t := range resp.(*wire.OffsetCommitResponse).Topics {
			for _, p := range t.Partitions {
				if err := kerr(p.ErrorCode, nil, fmt.Sprintf("committing for group %q %s/%d", group, t.Name, p.PartitionIndex), addr); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// DeleteGroupOffsets deletes the committed offsets of group for the given
// partitions of topic (nil = every partition of the topic). The group
// must not be subscribed to the topic (GROUP_SUBSCRIBED_TO_TOPIC).
func (a *Admin) DeleteGroupOffsets(ctx context.Context, group, topic string, partitions []int32) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	if partitions == nil {
		t, err := a.topicMetadata(ctx, topic)
		if err != nil {
			return err
		}
		for _, p := range t.Partitions {
			partitions = append(partitions, p.Partition)
		}
	}
	rt := wire.OffsetDeleteRequestTopic{Name: topic}
	for _, p := range partitions {
		rt.Partitions = append(rt.Partitions, wire.OffsetDeleteRequestPartition{PartitionIndex: p})
	}
	req := &wire.OffsetDeleteRequest{GroupId: group, Topics: []wire.OffsetDeleteRequestTopic{rt}}
	return a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.coordinatorRequest(ctx, group, req)
		if err != nil {
			return err
		}
		r := resp.(*wire.OffsetDeleteResponse)
		if err := kerr(r.ErrorCode, nil, "deleting offsets of group "+strconv.Quote(group), addr); err != nil {
			return err
		}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if err := kerr(p.ErrorCode, nil, fmt.Sprintf("deleting offset of group %q for %s/%d", group, t.Name, p.PartitionIndex), addr); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// PartitionLag is how far a group is behind on one partition.
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed_offset"` // the group's committed offset
	LogEnd    int64  `json:"log_end_offset"`   // the partition's high watermark
	Lag       int64  `json:"lag"`              // LogEnd - Committed, never negative
}

// ConsumerLag returns, for every partition group has committed, its
// committed offset, the partition's end offset and the difference, sorted
// by topic and partition.
func (a *Admin) ConsumerLag(ctx context.Context, group string) ([]PartitionLag, error) {
	committed, err := a.ListGroupOffsets(ctx, group, nil)
	if err != nil {
		return nil, err
	}
	byTopic := map[string][]int32{}
	for _, o := range committed {
		if o.Offset >= 0 {
			byTopic[o.Topic] = append(byTopic[o.Topic], o.Partition)
		}
	}
	ends := map[TopicPartition]int64{}
	for topic, parts := range byTopic {
		offs, err := a.ListOffsets(ctx, topic, parts, OffsetLatest)
		if err != nil {
			return nil, err
		}
		for p, o := range offs {
			ends[TopicPartition{topic, p}] = o.Offset
		}
	}
	out := make([]PartitionLag, 0, len(committed))
	for _, o := range committed {
		if o.Offset < 0 {
			continue
		}
		end := ends[TopicPartition{o.Topic, o.Partition}]
		out = append(out, PartitionLag{Topic: o.Topic, Partition: o.Partition, Committed: o.Offset, LogEnd: end, Lag: max(end-o.Offset, 0)})
	}
	return out, nil
}
