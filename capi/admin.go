package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

func adminOf(h C.gofka_handle_t) (*core.Admin, error) {
	return handleOf[*core.Admin](h, kindAdmin)
}

//export gofka_admin_new
func gofka_admin_new(config *C.char, out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, newFromConfig(config, out, kindAdmin, core.NewAdminFromProperties))
}

//export gofka_admin_list_topics
func gofka_admin_list_topics(h C.gofka_handle_t, includeInternal C.int32_t, timeoutMs C.int32_t,
	out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callOut(admins, h, timeoutMs, requestTimeout, listTopicsPrep(includeInternal != 0), out, outLen, "json_out"))
}

// listTopicsPrep: the topic names, as a JSON array.
func listTopicsPrep(includeInternal bool) prep[*core.Admin] {
	return func(a *core.Admin) (callOp, error) {
		return func(ctx context.Context) ([]byte, int64, error) {
			names, err := a.ListTopics(ctx, includeInternal)
			if err != nil {
				return nil, -1, err
			}
			b, err := json.Marshal(names)
			return b, -1, err
		}, nil
	}
}

// adminOp is one operation of gofka_admin_call (see jsonOp).
type adminOp = jsonOp[*core.Admin]

// op builds an adminOp from a typed function.
func op[A any](fn func(ctx context.Context, a *core.Admin, args *A) (any, error)) adminOp {
	return func(ctx context.Context, a *core.Admin, raw json.RawMessage) (any, error) {
		args := new(A)
		if err := decodeArgs(raw, args); err != nil {
			return nil, err
		}
		return fn(ctx, a, args)
	}
}

type topicArg struct {
	Topic string `json:"topic"`
}
type groupArg struct {
	Group string `json:"group"`
}

// partitionsArg is an optional list of {"topic", "partition"}: null (or
// absent) means every partition, as the core calls take a nil slice.
type partitionsArg []struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

func (p partitionsArg) topicPartitions() []core.TopicPartition {
	if p == nil {
		return nil
	}
	tps := make([]core.TopicPartition, 0, len(p))
	for _, x := range p {
		tps = append(tps, core.TopicPartition{Topic: x.Topic, Partition: x.Partition})
	}
	return tps
}

// intKeys turns {"0": v} maps (JSON object keys are strings) into int32 keys.
func intKeys[V any](m map[string]V) (map[int32]V, error) {
	out := make(map[int32]V, len(m))
	for k, v := range m {
		n, err := strconv.ParseInt(k, 10, 32)
		if err != nil {
			return nil, invalid("%q is not a partition number", k)
		}
		out[int32(n)] = v
	}
	return out, nil
}

var adminOps = map[string]adminOp{
	"cluster_metadata": op(func(ctx context.Context, a *core.Admin, args *struct {
		Topics []string `json:"topics"`
	}) (any, error) {
		return a.ClusterMetadata(ctx, args.Topics)
	}),
	"describe_cluster": op(func(ctx context.Context, a *core.Admin, _ *struct{}) (any, error) {
		return a.DescribeCluster(ctx)
	}),
	"list_brokers": op(func(ctx context.Context, a *core.Admin, _ *struct{}) (any, error) {
		return a.ListBrokers(ctx)
	}),
	"list_topics": op(func(ctx context.Context, a *core.Admin, args *struct {
		IncludeInternal bool `json:"include_internal"`
	}) (any, error) {
		return a.ListTopics(ctx, args.IncludeInternal)
	}),
	"describe_topic": op(func(ctx context.Context, a *core.Admin, args *topicArg) (any, error) {
		return a.DescribeTopic(ctx, args.Topic)
	}),
	"partition_count": op(func(ctx context.Context, a *core.Admin, args *topicArg) (any, error) {
		return a.PartitionCount(ctx, args.Topic)
	}),
	"topic_leaders": op(func(ctx context.Context, a *core.Admin, args *topicArg) (any, error) {
		return a.TopicLeaders(ctx, args.Topic)
	}),
	"create_topics": op(func(ctx context.Context, a *core.Admin, args *struct {
		Topics []struct {
			Name              string             `json:"name"`
			NumPartitions     int32              `json:"num_partitions"`
			ReplicationFactor int16              `json:"replication_factor"`
			Configs           map[string]string  `json:"configs"`
			Assignments       map[string][]int32 `json:"assignments"`
		} `json:"topics"`
		ValidateOnly bool `json:"validate_only"`
	}) (any, error) {
		topics := make([]core.NewTopic, 0, len(args.Topics))
		for _, t := range args.Topics {
			as, err := intKeys(t.Assignments)
			if err != nil {
				return nil, err
			}
			topics = append(topics, core.NewTopic{Name: t.Name, NumPartitions: t.NumPartitions,
				ReplicationFactor: t.ReplicationFactor, Configs: t.Configs, Assignments: as})
		}
		return nil, a.CreateTopics(ctx, topics, core.CreateTopicsOptions{ValidateOnly: args.ValidateOnly})
	}),
	"delete_topics": op(func(ctx context.Context, a *core.Admin, args *struct {
		Topics []string `json:"topics"`
	}) (any, error) {
		return nil, a.DeleteTopics(ctx, args.Topics)
	}),
	"create_partitions": op(func(ctx context.Context, a *core.Admin, args *struct {
		Totals       map[string]int32 `json:"totals"`
		ValidateOnly bool             `json:"validate_only"`
	}) (any, error) {
		return nil, a.CreatePartitions(ctx, args.Totals, args.ValidateOnly)
	}),
	"describe_configs": op(func(ctx context.Context, a *core.Admin, args *struct {
		ResourceType string   `json:"resource_type"`
		Name         string   `json:"name"`
		Keys         []string `json:"keys"`
	}) (any, error) {
		return a.DescribeConfigs(ctx, core.ResourceType(args.ResourceType), args.Name, args.Keys)
	}),
	"alter_configs": op(func(ctx context.Context, a *core.Admin, args *struct {
		ResourceType string `json:"resource_type"`
		Name         string `json:"name"`
		Ops          []struct {
			Name  string `json:"name"`
			Op    string `json:"op"`
			Value string `json:"value"`
		} `json:"ops"`
		ValidateOnly bool `json:"validate_only"`
	}) (any, error) {
		ops := make([]core.ConfigOp, 0, len(args.Ops))
		for _, o := range args.Ops {
			ops = append(ops, core.ConfigOp{Name: o.Name, Op: o.Op, Value: o.Value})
		}
		return nil, a.AlterConfigs(ctx, core.ResourceType(args.ResourceType), args.Name, ops, args.ValidateOnly)
	}),
	"list_groups": op(func(ctx context.Context, a *core.Admin, args *struct {
		Types []string `json:"types"` // null or absent: every type
	}) (any, error) {
		return a.ListGroups(ctx, args.Types...)
	}),
	"describe_groups": op(func(ctx context.Context, a *core.Admin, args *struct {
		Groups []string `json:"groups"`
	}) (any, error) {
		return a.DescribeGroups(ctx, args.Groups)
	}),
	"delete_groups": op(func(ctx context.Context, a *core.Admin, args *struct {
		Groups []string `json:"groups"`
	}) (any, error) {
		return nil, a.DeleteGroups(ctx, args.Groups)
	}),
	"list_group_offsets": op(func(ctx context.Context, a *core.Admin, args *struct {
		Group      string        `json:"group"`
		Partitions partitionsArg `json:"partitions"`
	}) (any, error) {
		return a.ListGroupOffsets(ctx, args.Group, args.Partitions.topicPartitions())
	}),
	"alter_group_offsets": op(func(ctx context.Context, a *core.Admin, args *struct {
		Group   string             `json:"group"`
		Offsets []core.GroupOffset `json:"offsets"`
	}) (any, error) {
		return nil, a.AlterGroupOffsets(ctx, args.Group, args.Offsets)
	}),
	"delete_group_offsets": op(func(ctx context.Context, a *core.Admin, args *struct {
		Group      string  `json:"group"`
		Topic      string  `json:"topic"`
		Partitions []int32 `json:"partitions"`
	}) (any, error) {
		return nil, a.DeleteGroupOffsets(ctx, args.Group, args.Topic, args.Partitions)
	}),
	"describe_share_groups": op(func(ctx context.Context, a *core.Admin, args *struct {
		Groups []string `json:"groups"`
	}) (any, error) {
		return a.DescribeShareGroups(ctx, args.Groups)
	}),
	"list_share_group_offsets": op(func(ctx context.Context, a *core.Admin, args *struct {
		Group      string        `json:"group"`
		Partitions partitionsArg `json:"partitions"`
	}) (any, error) {
		return a.ListShareGroupOffsets(ctx, args.Group, args.Partitions.topicPartitions())
	}),
	"alter_share_group_offsets": op(func(ctx context.Context, a *core.Admin, args *struct {
		Group   string             `json:"group"`
		Offsets []core.ShareOffset `json:"offsets"`
	}) (any, error) {
		return nil, a.AlterShareGroupOffsets(ctx, args.Group, args.Offsets)
	}),
	"delete_share_group_offsets": op(func(ctx context.Context, a *core.Admin, args *struct {
		Group  string   `json:"group"`
		Topics []string `json:"topics"`
	}) (any, error) {
		return nil, a.DeleteShareGroupOffsets(ctx, args.Group, args.Topics)
	}),
	"list_offsets": op(func(ctx context.Context, a *core.Admin, args *struct {
		Topic      string  `json:"topic"`
		Partitions []int32 `json:"partitions"`
		Spec       int64   `json:"spec"`
	}) (any, error) {
		return a.ListOffsets(ctx, args.Topic, args.Partitions, args.Spec)
	}),
	"delete_records": op(func(ctx context.Context, a *core.Admin, args *struct {
		Topic  string           `json:"topic"`
		Before map[string]int64 `json:"before"`
	}) (any, error) {
		before, err := intKeys(args.Before)
		if err != nil {
			return nil, err
		}
		return a.DeleteRecords(ctx, args.Topic, before)
	}),
	"consumer_lag": op(func(ctx context.Context, a *core.Admin, args *groupArg) (any, error) {
		return a.ConsumerLag(ctx, args.Group)
	}),
}

//export gofka_admin_call
func gofka_admin_call(h C.gofka_handle_t, opName *C.char, argsJSON *C.char, timeoutMs C.int32_t,
	out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callOut(admins, h, timeoutMs, requestTimeout, jsonCall(adminOps, "admin", opName, argsJSON), out, outLen, "json_out"))
}

//export gofka_admin_call_async
func gofka_admin_call_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t, opName *C.char,
	argsJSON *C.char, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(admins, h, queue, token, timeoutMs, requestTimeout, jsonCall(adminOps, "admin", opName, argsJSON)))
}

// invalidPanic turns a recovered panic into GOFKA_ERR_LOCAL_UNKNOWN.
func invalidPanic(r any) error {
	return &wire.Error{Code: wire.ErrLocalUnknown, Detail: fmt.Sprintf("internal error: %v", r)}
}

//export gofka_admin_close
func gofka_admin_close(h C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, closeSync(admins, h, -1, noDefault)) // Admin.Close takes no timeout
}
