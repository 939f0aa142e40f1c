package core

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gofka/gofka/wire"
)

// ResourceType names what a configuration belongs to.
type ResourceType string

// The resource types DescribeConfigs and AlterConfigs accept.
const (
	ResourceTopic         ResourceType = "topic"
	ResourceBroker        ResourceType = "broker"
	ResourceBrokerLogger  ResourceType = "broker_logger"
	ResourceGroup         ResourceType = "group"
	ResourceClientMetrics ResourceType = "client_metrics"
)

func (r ResourceType) code() (int8, error) {
	switch ResourceType(strings.ToLower(string(r))) {
	case ResourceTopic:
		return wire.ConfigResourceTopic, nil
	case ResourceBroker:
		return wire.ConfigResourceBroker, nil
	case ResourceBrokerLogger:
		return wire.ConfigResourceBrokerLogger, nil
	case ResourceGroup:
		return wire.ConfigResourceGroup, nil
	case ResourceClientMetrics:
		return wire.ConfigResourceClientMetrics, nil
	}
	return 0, &wire.Error{Code: wire.ErrInvalidArgument,
		Detail: fmt.Sprintf("resource type %q is not one of topic, broker, broker_logger, group, client_metrics", string(r))}
}

// ConfigEntry is one configuration value of a resource.
type ConfigEntry struct {
	Value     *string `json:"value"`  // nil for sensitive values
	Source    string  `json:"source"` // e.g. DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG
	IsDefault bool    `json:"is_default"`
	ReadOnly  bool    `json:"read_only"`
	Sensitive bool    `json:"sensitive"`
}

var configSources = map[int8]string{
	wire.ConfigSourceUnknown:                    "UNKNOWN",
	wire.ConfigSourceTopicConfig:                "DYNAMIC_TOPIC_CONFIG",
	wire.ConfigSourceDynamicBrokerConfig:        "DYNAMIC_BROKER_CONFIG",
	wire.ConfigSourceDynamicDefaultBrokerConfig: "DYNAMIC_DEFAULT_BROKER_CONFIG",
	wire.ConfigSourceStaticBrokerConfig:         "STATIC_BROKER_CONFIG",
	wire.ConfigSourceDefaultConfig:              "DEFAULT_CONFIG",
	wire.ConfigSourceDynamicBrokerLoggerConfig:  "DYNAMIC_BROKER_LOGGER_CONFIG",
	wire.ConfigSourceClientMetricsConfig:        "CLIENT_METRICS_CONFIG",
	wire.ConfigSourceGroupConfig:                "GROUP_CONFIG",
}

// configNode picks the broker to ask about a resource: broker (and broker
// logger) configs live on that broker, everything else on any broker.
func configNode(rt int8, name string) (int32, error) {
	if rt != wire.ConfigResourceBroker && rt != wire.ConfigResourceBrokerLogger {
		return -1, nil
	}
	if name == "" {
		// The cluster-wide default broker config: any broker answers.
		return -1, nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return 0, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("broker resource name %q is not a node id", name)}
	}
	return int32(id), nil
}

// DescribeConfigs returns the configuration of one resource (keys nil =
// every key). A topic's name, a broker's node id ("" for the cluster-wide
// broker defaults), a group's id.
func (a *Admin) DescribeConfigs(ctx context.Context, rtype ResourceType, name string, keys []string) (map[string]ConfigEntry, error) {
	rt, err := rtype.code()
	if err != nil {
		return nil, err
	}
	node, err := configNode(rt, name)
	if err != nil {
		return nil, err
	}
	req := &wire.DescribeConfigsRequest{Resources: []wire.DescribeConfigsRequestResource{{ResourceType: rt, ResourceName: name, ConfigurationKeys: keys}}}
	var out map[string]ConfigEntry
	err = a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.cl.requestAddr(ctx, node, req)
		if err != nil {
			return err
		}
		for _, r := range resp.(*wire.DescribeConfigsResponse).Results {
			if err := kerr(r.ErrorCode, r.ErrorMessage, fmt.Sprintf("describing configs of %s %q", rtype, name), addr); err != nil {
				return err
			}
			out = make(map[string]ConfigEntry, len(r.Configs))
			for _, c := range r.Configs {
				src, ok := configSources[c.ConfigSource]
				if !ok {
					src = "UNKNOWN"
				}
				out[c.Name] = ConfigEntry{Value: c.Value, Source: src, IsDefault: c.ConfigSource == wire.ConfigSourceDefaultConfig,
					ReadOnly: c.ReadOnly, Sensitive: c.IsSensitive}
			}
			return nil
		}
		return &wire.Error{Code: wire.ErrCorruptResponse, Detail: "DescribeConfigs answered without the resource", Broker: addr}
	})
	return out, err
}

// ConfigOp is one change of IncrementalAlterConfigs.
type ConfigOp struct {
	Name string
	// Op is "set" (the default when empty), "delete" (revert to the
	// default), "append" or "subtract" (list values).
	Op    string
	Value string // ignored by "delete"
}

func (o ConfigOp) code() (int8, error) {
	switch strings.ToLower(o.Op) {
	case "", "set":
		return wire.ConfigOpSet, nil
	case "delete":
		return wire.ConfigOpDelete, nil
	case "append":
		return wire.ConfigOpAppend, nil
	case "subtract":
		return wire.ConfigOpSubtract, nil
	}
	return 0, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("config operation %q is not one of set, delete, append, subtract", o.Op)}
}

// AlterConfigs changes configuration keys of one resource incrementally
// (IncrementalAlterConfigs): keys not named keep their values. With
// validateOnly the broker only checks the change. Brokers apply a change
// asynchronously: a DescribeConfigs right after may still show the old
// value for a moment.
func (a *Admin) AlterConfigs(ctx context.Context, rtype ResourceType, name string, ops []ConfigOp, validateOnly bool) error {
	rt, err := rtype.code()
	if err != nil {
		return err
	}
	node, err := configNode(rt, name)
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	res := wire.IncrementalAlterConfigsRequestResource{ResourceType: rt, ResourceName: name}
	sorted := append([]ConfigOp(nil), ops...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, o := range sorted {
		if o.Name == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "config name is empty"}
		}
		op, err := o.code()
		if err != nil {
			return err
		}
		c := wire.IncrementalAlterConfigsRequestConfig{Name: o.Name, ConfigOperation: op}
		if op != wire.ConfigOpDelete {
			v := o.Value
			c.Value = &v
		}
		res.Configs = append(res.Configs, c)
	}
	req := &wire.IncrementalAlterConfigsRequest{Resources: []wire.IncrementalAlterConfigsRequestResource{res}, ValidateOnly: validateOnly}
	return a.do(ctx, func(ctx context.Context) error {
		resp, addr, err := a.cl.requestAddr(ctx, node, req)
		if err != nil {
			return err
		}
		for _, r := range resp.(*wire.IncrementalAlterConfigsResponse).Responses {
			if err := kerr(r.ErrorCode, r.ErrorMessage, fmt.Sprintf("altering configs of %s %q", rtype, name), addr); err != nil {
				return err
			}
		}
		return nil
	})
}
