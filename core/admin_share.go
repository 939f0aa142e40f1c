package core

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/gofka/gofka/wire"
)

// Share-group administration (KIP-932): describe share groups, and list,
// alter and delete the start offsets they keep per partition. Listing is
// ListGroups with the "share" type; deleting a whole share group is
// DeleteGroups, which Kafka applies to every group type. Every call goes to
// the group's coordinator (Admin.coordinator) under the retry policy, so a
// coordinator that moved (NOT_COORDINATOR) is found again.

// ShareGroupMember is one member of a share group.
type ShareGroupMember struct {
	MemberID         string             `json:"member_id"`
	RackID           *string            `json:"rack_id"` // nil when the member gave none
	ClientID         string             `json:"client_id"`
	ClientHost       string             `json:"client_host"`
	MemberEpoch      int32              `json:"member_epoch"`
	SubscribedTopics []string           `json:"subscribed_topics"`
	Assignment       map[string][]int32 `json:"assignment"` // topic -> partitions, sorted
}

// ShareGroupDescription describes one share group as its coordinator
// reports it (ShareGroupDescribe).
type ShareGroupDescription struct {
	GroupID         string             `json:"group_id"`
	State           string             `json:"state"`       // "Empty", "Stable", ...
	GroupEpoch      int32              `json:"group_epoch"` // bumped by every membership or subscription change
	AssignmentEpoch int32              `json:"assignment_epoch"`
	Assignor        string             `json:"assignor"` // the server-side assignor, e.g. "simple"
	Coordinator     BrokerInfo         `json:"coordinator"`
	Members         []ShareGroupMember `json:"members"` // sorted by member id
}

// ShareGroupOffset is the start offset of a share group on one partition:
// the first offset not yet delivered and acknowledged (the share-partition
// start offset, SPSO).
type ShareGroupOffset struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	StartOffset int64  `json:"start_offset"` // -1 when the group has no state for the partition
	LeaderEpoch int32  `json:"leader_epoch"` // -1 when unknown
	// Lag is the number of records from StartOffset to the high watermark
	// not yet delivered and acknowledged; -1 when the broker does not say
	// (DescribeShareGroupOffsets v0, before Kafka 4.2) or has no state.
	Lag int64 `json:"lag"`
}

// ShareOffset is a start offset to set with AlterShareGroupOffsets.
type ShareOffset struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	StartOffset int64  `json:"start_offset"`
}

// groupTypes are the group types ListGroups filters by (KIP-848, KIP-932,
// KIP-1071), as Kafka names them.
var groupTypes = map[string]bool{"classic": true, "consumer": true, "share": true, "streams": true}

// versionFloor sends Request at Min at least: a request whose meaning
// needs a field older brokers would drop (ListGroups' TypesFilter, v5+)
// fails with UNSUPPORTED_VERSION on them rather than answering another
// question.
type versionFloor struct {
	wire.Request
	Min int16
}

func (v versionFloor) Versions() (int16, int16) {
	lo, hi := v.Request.Versions()
	return max(lo, v.Min), hi
}

// DescribeShareGroups describes share groups, one coordinator request per
// group, in the order given. A group that does not exist, or is not a
// share group, is GROUP_ID_NOT_FOUND; the first failure is returned.
func (a *Admin) DescribeShareGroups(ctx context.Context, groups []string) ([]ShareGroupDescription, error) {
	return describeEach(ctx, groups, a.DescribeShareGroup)
}

// DescribeShareGroup describes one share group (see DescribeShareGroups).
func (a *Admin) DescribeShareGroup(ctx context.Context, group string) (*ShareGroupDescription, error) {
	return atCoordinator(ctx, a, group, func(ctx context.Context, coord BrokerInfo) (*ShareGroupDescription, error) {
		return a.describeShareGroup(ctx, coord, group)
	})
}

// describeShareGroup asks coord (the coordinator of group) with
// ShareGroupDescribe. A broker without the API has no share groups:
// GROUP_ID_NOT_FOUND.
func (a *Admin) describeShareGroup(ctx context.Context, coord BrokerInfo, group string) (*ShareGroupDescription, error) {
	resp, addr, err := a.cl.requestAddr(ctx, coord.NodeID, &wire.ShareGroupDescribeRequest{GroupIds: []string{group}})
	if wire.CodeOf(err) == wire.ErrUnsupportedVersionLocal {
		return nil, &wire.Error{Code: wire.ErrGroupIDNotFound, Detail: "group " + strconv.Quote(group) + " (the broker has no share groups)", Broker: coord.Addr()}
	}
	if err != nil {
		return nil, err
	}
	for _, g := range resp.(*wire.ShareGroupDescribeResponse).Groups {
		if g.GroupId != group {
			continue
		}
		if err := kerr(g.ErrorCode, g.ErrorMessage, "describing share group "+strconv.Quote(group), addr); err != nil {
			return nil, err
		}
		d := &ShareGroupDescription{GroupID: group, State: g.GroupState, GroupEpoch: g.GroupEpoch,
			AssignmentEpoch: g.AssignmentEpoch, Assignor: g.AssignorName, Coordinator: coord, Members: []ShareGroupMember{}}
		for _, m := range g.Members {
			sm := ShareGroupMember{MemberID: m.MemberId, RackID: m.RackId, ClientID: m.ClientId, ClientHost: m.ClientHost,
				MemberEpoch: m.MemberEpoch, SubscribedTopics: m.SubscribedTopicNames, Assignment: map[string][]int32{}}
			if sm.SubscribedTopics == nil {
				sm.SubscribedTopics = []string{}
			}
			for _, tp := range m.Assignment.TopicPartitions {
				sm.Assignment[tp.TopicName] = append(sm.Assignment[tp.TopicName], tp.Partitions...)
			}
			for _, ps := range sm.Assignment {
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
			}
			d.Members = append(d.Members, sm)
		}
		sort.Slice(d.Members, func(i, j int) bool { return d.Members[i].MemberID < d.Members[j].MemberID })
		return d, nil
	}
	return nil, &wire.Error{Code: wire.ErrCorruptResponse, Detail: "ShareGroupDescribe answered without group " + strconv.Quote(group), Broker: addr}
}

// shareAsGroupDescription is d as DescribeGroup reports groups of every
// type: Type and ProtocolType "share", Protocol the assignor, each member's
// assignment (share groups have no static members).
func shareAsGroupDescription(d *ShareGroupDescription) *GroupDescription {
	g := &GroupDescription{GroupID: d.GroupID, State: d.State, Type: "share", ProtocolType: "share",
		Protocol: d.Assignor, Coordinator: d.Coordinator, Members: make([]GroupMember, 0, len(d.Members))}
	for _, m := range d.Members {
		g.Members = append(g.Members, GroupMember{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost, Assignment: m.Assignment})
	}
	return g
}

// ListShareGroupOffsets returns the start offsets of share group, for the
// given partitions or (nil) every partition it has state for, sorted by
// topic and partition. A partition the group has no state for has
// StartOffset -1. A group that does not exist is GROUP_ID_NOT_FOUND, or,
// on brokers that answer it as a group without state (the dev cluster),
// an empty list or -1 for the partitions asked; a partition-level error
// fails the call.
func (a *Admin) ListShareGroupOffsets(ctx context.Context, group string, partitions []TopicPartition) ([]ShareGroupOffset, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	rg := wire.DescribeShareGroupOffsetsRequestGroup{GroupId: group}
	if partitions != nil {
		rg.Topics = []wire.DescribeShareGroupOffsetsRequestTopic{}
		idx := map[string]int{}
		for _, tp := range partitions {
			if tp.Topic == "" || tp.Partition < 0 {
				return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("invalid partition %q/%d", tp.Topic, tp.Partition)}
			}
			i, ok := idx[tp.Topic]
			if !ok {
				i = len(rg.Topics)
				idx[tp.Topic] = i
				rg.Topics = append(rg.Topics, wire.DescribeShareGroupOffsetsRequestTopic{TopicName: tp.Topic})
			}
			rg.Topics[i].Partitions = append(rg.Topics[i].Partitions, tp.Partition)
		}
	}
	req := &wire.DescribeShareGroupOffsetsRequest{Groups: []wire.DescribeShareGroupOffsetsRequestGroup{rg}}
	var out []ShareGroupOffset
	err := a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.coordinatorRequest(ctx, group, req)
		if err != nil {
			return err
		}
		for _, g := range resp.(*wire.DescribeShareGroupOffsetsResponse).Groups {
			if g.GroupId != group {
				continue
			}
			if err := kerr(g.ErrorCode, g.ErrorMessage, "listing offsets of share group "+strconv.Quote(group), addr); err != nil {
				return err
			}
			out = make([]ShareGroupOffset, 0, len(g.Topics))
			for _, t := range g.Topics {
				for _, p := range t.Partitions {
					if err := kerr(p.ErrorCode, p.ErrorMessage, fmt.Sprintf("offset of share group %q for %s/%d", group, t.TopicName, p.PartitionIndex), addr); err != nil {
						return err
					}
					o := ShareGroupOffset{Topic: t.TopicName, Partition: p.PartitionIndex, StartOffset: p.StartOffset,
						LeaderEpoch: max(p.LeaderEpoch, -1), Lag: p.Lag}
					if o.StartOffset < 0 {
						o.StartOffset, o.Lag = -1, -1
					}
					out = append(out, o)
				}
			}
			return nil
		}
		return &wire.Error{Code: wire.ErrCorruptResponse, Detail: "DescribeShareGroupOffsets answered without group " + strconv.Quote(group), Broker: addr}
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
	return out, nil
}

// AlterShareGroupOffsets sets the start offsets of share group: its
// consumers next get records from there (records below are no longer
// delivered, those above are delivered again). The group must have no
// members (NON_EMPTY_GROUP); a group that does not exist is created empty,
// holding the offsets (GROUP_ID_NOT_FOUND when the id is another type's
// group). The first partition-level error is returned.
func (a *Admin) AlterShareGroupOffsets(ctx context.Context, group string, offsets []ShareOffset) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	if len(offsets) == 0 {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "no offsets to alter"}
	}
	req := &wire.AlterShareGroupOffsetsRequest{GroupId: group}
	idx := map[string]int{}
	for _, o := range offsets {
		if o.Topic == "" || o.Partition < 0 || o.StartOffset < 0 {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("invalid start offset %d for %q partition %d", o.StartOffset, o.Topic, o.Partition)}
		}
		i, ok := idx[o.Topic]
		if !ok {
			i = len(req.Topics)
			idx[o.Topic] = i
			req.Topics = append(req.Topics, wire.AlterShareGroupOffsetsRequestTopic{TopicName: o.Topic})
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions,
			wire.AlterShareGroupOffsetsRequestPartition{PartitionIndex: o.Partition, StartOffset: o.StartOffset})
	}
	return a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.coordinatorRequest(ctx, group, req)
		if err != nil {
			return err
		}
		r := resp.(*wire.AlterShareGroupOffsetsResponse)
		if err := kerr(r.ErrorCode, r.ErrorMessage, "altering offsets of share group "+strconv.Quote(group), addr); err != nil {
			return err
		}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				if err := kerr(p.ErrorCode, p.ErrorMessage, fmt.Sprintf("altering offset of share group %q for %s/%d", group, t.TopicName, p.PartitionIndex), addr); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// DeleteShareGroupOffsets deletes the state of share group for whole
// topics (every partition): a consumer that subscribes again starts where
// share.auto.offset.reset says. The group must have no members
// (NON_EMPTY_GROUP); a group that does not exist is GROUP_ID_NOT_FOUND.
// The first topic-level error is returned.
func (a *Admin) DeleteShareGroupOffsets(ctx context.Context, group string, topics []string) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	if len(topics) == 0 {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "no topics given"}
	}
	req := &wire.DeleteShareGroupOffsetsRequest{GroupId: group}
	seen := map[string]bool{}
	for _, t := range topics {
		if t == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "topic name is empty"}
		}
		if !seen[t] {
			seen[t] = true
			req.Topics = append(req.Topics, wire.DeleteShareGroupOffsetsRequestTopic{TopicName: t})
		}
	}
	return a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.coordinatorRequest(ctx, group, req)
		if err != nil {
			return err
		}
		r := resp.(*wire.DeleteShareGroupOffsetsResponse)
		if err := kerr(r.ErrorCode, r.ErrorMessage, "deleting offsets of share group "+strconv.Quote(group), addr); err != nil {
			return err
		}
		for _, t := range r.Topics {
			if err := kerr(t.ErrorCode, t.ErrorMessage, fmt.Sprintf("deleting offsets of share group %q for %s", group, t.TopicName), addr); err != nil {
				return err
			}
		}
		return nil
	})
}
