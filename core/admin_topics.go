package core

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/gofka/gofka/wire"
)

// NewTopic describes a topic to create.
type NewTopic struct {
	Name string
	// NumPartitions and ReplicationFactor: -1 takes the broker defaults
	// (num.partitions, default.replication.factor). Ignored (sent as -1)
	// when Assignments is set.
	NumPartitions     int32
	ReplicationFactor int16
	// Assignments optionally places the replicas: partition -> broker ids.
	Assignments map[int32][]int32
	// Configs are topic-level properties (retention.ms, cleanup.policy, ...).
	Configs map[string]string
}

// CreateTopicsOptions tune CreateTopics.
type CreateTopicsOptions struct {
	// ValidateOnly asks the controller to check the request without
	// creating anything.
	ValidateOnly bool
}

// controllerRequest sends req to the controller named by the cluster
// metadata (on KRaft clusters any broker forwards it to the active
// controller). NOT_CONTROLLER is retriable, so the caller's retry policy
// asks again after this refreshes the metadata.
func (a *Admin) controllerRequest(ctx context.Context, req wire.Request) (wire.Response, string, error) {
	m, err := a.cl.RefreshMetadata(ctx, []string{})
	if err != nil {
		return nil, "", err
	}
	node := m.ControllerID
	if _, ok := m.Brokers[node]; !ok {
		node = -1
	}
	return a.cl.requestAddr(ctx, node, req)
}

// timeoutMs is the server-side timeout sent with admin requests: what is
// left of ctx, at most the request timeout.
func (a *Admin) timeoutMs(ctx context.Context) int32 {
	d := a.cl.cfg.RequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	return int32(max(d.Milliseconds(), 1))
}

// CreateTopics creates topics and waits until the cluster metadata shows
// each created topic with a leader for every partition. Topics are
// created independently: when some fail, the others are still created and
// the error returned is the first failure (by topic name) naming its topic.
func (a *Admin) CreateTopics(ctx context.Context, topics []NewTopic, o CreateTopicsOptions) error {
	if len(topics) == 0 {
		return nil
	}
	ctx, cancel := a.cl.withTimeout(ctx, a.cl.cfg.RequestTimeout)
	defer cancel()
	req := &wire.CreateTopicsRequest{ValidateOnly: o.ValidateOnly}
	seen := map[string]bool{}
	for _, t := range topics {
		if err := ValidateTopicName(t.Name); err != nil {
			return err
		}
		if seen[t.Name] {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("topic %q given twice", t.Name)}
		}
		seen[t.Name] = true
		rt := wire.CreateTopicsRequestTopic{Name: t.Name, NumPartitions: t.NumPartitions, ReplicationFactor: t.ReplicationFactor}
		if len(t.Assignments) > 0 {
			rt.NumPartitions, rt.ReplicationFactor = -1, -1
			parts := make([]int32, 0, len(t.Assignments))
			for p := range t.Assignments {
				parts = append(parts, p)
			}
			sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
			for _, p := range parts {
				rt.Assignments = append(rt.Assignments, wire.CreateTopicsRequestAssignment{PartitionIndex: p, BrokerIds: t.Assignments[p]})
			}
		}
		keys := make([]string, 0, len(t.Configs))
		for k := range t.Configs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := t.Configs[k]
			rt.Configs = append(rt.Configs, wire.CreateTopicsRequestConfig{Name: k, Value: &v})
		}
		req.Topics = append(req.Topics, rt)
	}
	errs, err := a.perTopicRequest(ctx, req, &req.TimeoutMs, wire.ErrTopicAlreadyExists, func(resp wire.Response, addr string) map[string]error {
		out := map[string]error{}
		for _, t := range resp.(*wire.CreateTopicsResponse).Topics {
			out[t.Name] = kerr(t.ErrorCode, t.ErrorMessage, "creating topic "+strconv.Quote(t.Name), addr)
		}
		return out
	})
	if err != nil {
		return err
	}
	if !o.ValidateOnly {
		for _, t := range topics {
			if errs[t.Name] == nil {
				if err := a.waitTopic(ctx, t.Name, func(tm *TopicMetadata) bool { return true }); err != nil {
					return err
				}
			}
		}
	}
	return firstItemError(errs)
}

// perTopicRequest sends req to the controller under the retry policy,
// setting *timeoutMs (the request's own timeout field) to what is left of
// ctx on each attempt, and returns each topic's outcome as results reads
// it from a response (nil: done). A retriable error of any topic other
// than topicCode (the one retriable code that is that topic's own answer)
// concerns the whole request (NOT_CONTROLLER and friends): the request is
// retried. The round trip of CreateTopics, DeleteTopics and
// CreatePartitions.
func (a *Admin) perTopicRequest(ctx context.Context, req wire.Request, timeoutMs *int32, topicCode wire.ErrorCode,
	results func(resp wire.Response, addr string) map[string]error) (map[string]error, error) {
	var errs map[string]error
	err := a.cl.cfg.Retry.Do(ctx, func(ctx context.Context) error {
		*timeoutMs = a.timeoutMs(ctx)
		resp, addr, err := a.controllerRequest(ctx, req)
		if err != nil {
			return err
		}
		errs = results(resp, addr)
		whole := map[string]error{}
		for name, e := range errs {
			if e != nil && wire.CodeOf(e).Retriable() && wire.CodeOf(e) != topicCode {
				whole[name] = e
			}
		}
		return firstItemError(whole) // nil when none: done
	})
	return errs, err
}

// firstItemError returns the error of the first key in sorted order, or nil.
func firstItemError(errs map[string]error) error {
	keys := make([]string, 0, len(errs))
	for k, e := range errs {
		if e != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	return errs[keys[0]]
}

// CreateTopic creates one topic (see CreateTopics).
func (a *Admin) CreateTopic(ctx context.Context, t NewTopic) error {
	return a.CreateTopics(ctx, []NewTopic{t}, CreateTopicsOptions{})
}

// waitTopic waits until the metadata shows topic with a leader for every
// partition and ok(topic) holds.
func (a *Admin) waitTopic(ctx context.Context, topic string, ok func(*TopicMetadata) bool) error {
	return a.cl.cfg.Retry.retryUntil(ctx, func() error {
		m, _, err := a.metadata(ctx, []string{topic})
		if err != nil {
			return err
		}
		for _, t := range m.Topics {
			if t.Name != topic {
				continue
			}
			if t.ErrorCode != 0 {
				return &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: "waiting for topic " + strconv.Quote(topic) + ": " + t.Error}
			}
			if len(t.Partitions) == 0 {
				break
			}
			for _, p := range t.Partitions {
				if p.Leader < 0 || p.ErrorCode != 0 {
					return &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: fmt.Sprintf("waiting for a leader of %s/%d", topic, p.Partition)}
				}
			}
			if !ok(&t) {
				return &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: "waiting for the metadata of topic " + strconv.Quote(topic)}
			}
			return nil
		}
		return &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: "waiting for topic " + strconv.Quote(topic)}
	})
}

// DeleteTopics deletes topics and waits until the cluster metadata no
// longer lists them. As with CreateTopics, each topic succeeds or fails on
// its own and the first failure is returned.
func (a *Admin) DeleteTopics(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		if n == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "topic name is empty"}
		}
	}
	ctx, cancel := a.cl.withTimeout(ctx, a.cl.cfg.RequestTimeout)
	defer cancel()
	req := &wire.DeleteTopicsRequest{TopicNames: names}
	errs, err := a.perTopicRequest(ctx, req, &req.TimeoutMs, wire.ErrUnknownTopicOrPartition, func(resp wire.Response, addr string) map[string]error {
		out := map[string]error{}
		for _, t := range resp.(*wire.DeleteTopicsResponse).Responses {
			out[t.Name] = kerr(t.ErrorCode, t.ErrorMessage, "deleting topic "+strconv.Quote(t.Name), addr)
		}
		return out
	})
	if err != nil {
		return err
	}
	for _, n := range names {
		if errs[n] != nil {
			continue
		}
		n := n
		werr := a.cl.cfg.Retry.retryUntil(ctx, func() error {
			m, _, err := a.metadata(ctx, []string{n})
			if err != nil {
				return err
			}
			for _, t := range m.Topics {
				if t.Name == n && t.ErrorCode == 0 {
					return &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: "waiting for topic " + strconv.Quote(n) + " to disappear"}
				}
			}
			return nil
		})
		if werr != nil {
			return werr
		}
	}
	return firstItemError(errs)
}

// DeleteTopic deletes one topic (see DeleteTopics).
func (a *Admin) DeleteTopic(ctx context.Context, name string) error {
	return a.DeleteTopics(ctx, []string{name})
}

// CreatePartitions raises the partition count of each topic to the given
// total (it cannot shrink) and waits until the metadata shows it. With
// validateOnly the controller only checks the request.
func (a *Admin) CreatePartitions(ctx context.Context, totals map[string]int32, validateOnly bool) error {
	if len(totals) == 0 {
		return nil
	}
	ctx, cancel := a.cl.withTimeout(ctx, a.cl.cfg.RequestTimeout)
	defer cancel()
	names := make([]string, 0, len(totals))
	for n := range totals {
		if n == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "topic name is empty"}
		}
		names = append(names, n)
	}
	sort.Strings(names)
	req := &wire.CreatePartitionsRequest{ValidateOnly: validateOnly}
	for _, n := range names {
		req.Topics = append(req.Topics, wire.CreatePartitionsRequestTopic{Name: n, Count: totals[n]})
	}
	errs, err := a.perTopicRequest(ctx, req, &req.TimeoutMs, wire.ErrUnknownTopicOrPartition, func(resp wire.Response, addr string) map[string]error {
		out := map[string]error{}
		for _, r := range resp.(*wire.CreatePartitionsResponse).Results {
			out[r.Name] = kerr(r.ErrorCode, r.ErrorMessage, "creating partitions of "+strconv.Quote(r.Name), addr)
		}
		return out
	})
	if err != nil {
		return err
	}
	if !validateOnly {
		for _, n := range names {
			if errs[n] != nil {
				continue
			}
			want := int(totals[n])
			if err := a.waitTopic(ctx, n, func(t *TopicMetadata) bool { return len(t.Partitions) >= want }); err != nil {
				return err
			}
		}
	}
	return firstItemError(errs)
}
