package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofka/gofka/wire"
)

// Consumer configuration: the `--- consumer ---` fields of Config and their
// rows of the property table. Defaults are the Java client's, except:
//
//   - partition.assignment.strategy defaults to cooperative-sticky alone
//     (Java: range,cooperative-sticky). Incremental rebalancing keeps every
//     member consuming the partitions it keeps while the group rebalances,
//     and a group mixing Gofka and Java consumers still agrees on it.
//   - rebalance.callbacks is Gofka's own: see its doc.

func init() {
	properties = append(properties, consumerProperties...)
}

var consumerProperties = []Property{
	{"group.id", "string", "", "Consumer group id. Required to subscribe and to commit offsets; a consumer without one can only Assign partitions.",
		func(c *Config, v string) error { c.GroupID = v; return nil }},
	{"group.instance.id", "string", "", "Static membership id (KIP-345). A static member that restarts within session.timeout.ms gets its partitions back without a rebalance; it does not leave the group on close.",
		func(c *Config, v string) error { c.GroupInstanceID = v; return nil }},
	{"group.protocol", "enum", "classic", "Group membership protocol: classic (JoinGroup/SyncGroup, client-side assignors) or consumer (KIP-848 ConsumerGroupHeartbeat, broker-side assignment; Kafka 4.0+).",
		func(c *Config, v string) error {
			p, err := ParseGroupProtocol(v)
			c.GroupProtocol = p
			return err
		}},
	{"group.remote.assignor", "string", "", "Broker-side assignor of the consumer group protocol (uniform or range on Apache Kafka); empty lets the broker choose.",
		func(c *Config, v string) error { c.GroupRemoteAssignor = v; return nil }},
	{"partition.assignment.strategy", "list", "cooperative-sticky", "Client-side assignors of the classic protocol, preferred first. cooperative-sticky rebalances incrementally; the others revoke every partition at each rebalance.",
		func(c *Config, v string) error {
			list, err := choiceOf("partition.assignment.strategy").parse(v)
			if err != nil {
				return err
			}
			var out []AssignmentStrategy
			for _, s := range strings.Split(list, ",") {
				out = append(out, AssignmentStrategy(s))
			}
			c.AssignmentStrategies = out
			return nil
		}},
	{"session.timeout.ms", "duration(ms)", "45000", "Classic protocol: a member that sends no heartbeat for this long is removed from the group. The broker bounds it (group.min/max.session.timeout.ms). The consumer protocol uses the broker's group.consumer.session.timeout.ms instead.",
		durationSetter("session.timeout.ms", func(c *Config) *time.Duration { return &c.SessionTimeout })},
	{"heartbeat.interval.ms", "duration(ms)", "3000", "Classic protocol: time between heartbeats (sent by the engine, not by Poll). Keep it well under session.timeout.ms. The consumer protocol uses the interval the broker sends.",
		durationSetter("heartbeat.interval.ms", func(c *Config) *time.Duration { return &c.HeartbeatInterval })},
	{"max.poll.interval.ms", "duration(ms)", "300000", "A member whose application does not call Poll for this long leaves the group (and rejoins at its next Poll). Also the rebalance timeout, and the longest a revocation waits for the application with rebalance.callbacks.",
		durationSetter("max.poll.interval.ms", func(c *Config) *time.Duration { return &c.MaxPollInterval })},
	{"enable.auto.commit", "bool", "true", "Commit consumed offsets every auto.commit.interval.ms, before partitions are revoked, and on close. Background commits cover the records returned by all but the latest Poll (at-least-once).",
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.EnableAutoCommit = b
			return err
		}},
	{"auto.commit.interval.ms", "duration(ms)", "5000", "Interval of automatic offset commits.",
		durationSetter("auto.commit.interval.ms", func(c *Config) *time.Duration { return &c.AutoCommitInterval })},
	{"auto.offset.reset", "enum", "latest", "Where to start when a partition has no committed offset or its offset is out of range: the earliest or the latest offset, or none (Poll fails with NO_OFFSET / OFFSET_OUT_OF_RANGE until the application seeks).",
		func(c *Config, v string) error {
			r, err := ParseOffsetReset(v)
			c.AutoOffsetReset = r
			return err
		}},
	{"isolation.level", "enum", "read_uncommitted", "read_committed reads only up to the last stable offset and skips records of aborted transactions; read_uncommitted reads everything up to the high watermark.",
		func(c *Config, v string) error {
			l, err := ParseIsolationLevel(v)
			c.IsolationLevel = l
			return err
		}},
	{"fetch.min.bytes", "int", "1", "Bytes a broker waits for (up to fetch.max.wait.ms) before answering a fetch.",
		int32Setter("fetch.min.bytes", func(c *Config) *int32 { return &c.FetchMinBytes })},
	{"fetch.max.bytes", "int", "52428800", "Upper bound of one fetch response (a larger first batch is still returned whole). What the consumer buffers ahead of Poll is bounded by queued.max.messages.kbytes.",
		int32Setter("fetch.max.bytes", func(c *Config) *int32 { return &c.FetchMaxBytes })},
	{"max.partition.fetch.bytes", "int", "1048576", "Upper bound of the data one fetch returns per partition (a larger first batch is still returned whole).",
		int32Setter("max.partition.fetch.bytes", func(c *Config) *int32 { return &c.MaxPartitionFetchBytes })},
	{"queued.max.messages.kbytes", "int", "4096", "Bound, in KiB, of the records fetched but not yet returned by Poll (the prefetch), counted in fetch-response bytes, the fetches in flight included. The bound is shared by the brokers fetched from: a fetch asks for at most its broker's share and the room left, and waits until half its share (or what it can carry, if less) is free. A consumer starts with a quarter of the bound and doubles what it holds ahead, up to the whole bound, each time Poll has emptied the buffer before a full fetch came in: a loop that keeps up reaches the bound within its first fetches, while one that handles records slowly (a commit per message) never holds more than the quarter. A share consumer fetches ahead only once Poll emptied its buffer, each share fetch asking for at most its broker's share. A record batch larger than that room still comes whole (KIP-74), so the buffer may pass the bound by one batch per broker. Records are kept as the batches fetched and decoded when polled (about 140 bytes each on top of their data, for the records of one poll). librdkafka's name and unit; its default is 64 MiB, Gofka's 4 MiB keeps a consumer's memory small. Raise it for brokers far away (one broker's share is what a fetch round trip can bring) and for large records when throughput matters more than memory: with 1 KiB records on a local broker, 16 MiB made AsyncConsumer.poll(10000) 15-40% faster for about 20 MiB more RSS.",
		int32Setter("queued.max.messages.kbytes", func(c *Config) *int32 { return &c.QueuedMaxKbytes })},
	{"fetch.max.wait.ms", "duration(ms)", "500", "How long a broker may hold a fetch waiting for fetch.min.bytes.",
		durationSetter("fetch.max.wait.ms", func(c *Config) *time.Duration { return &c.FetchMaxWait })},
	{"max.poll.records", "int", "500", "Records returned by one Poll when the call gives no limit of its own.",
		intSetter("max.poll.records", func(c *Config) *int { return &c.MaxPollRecords })},
	{"rebalance.callbacks", "bool", "false", "The application handles rebalance events (Poll with a rebalance listener, or PollEvents): a revocation then waits, up to max.poll.interval.ms, until the application polls again after receiving it, so that it can commit in its callback. Without it the engine revokes at once, committing first if auto-commit is on.",
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.RebalanceCallbacks = b
			return err
		}},
	{"client.rack", "string", "", "Rack of the consumer, sent with fetches and group membership for rack-aware replica selection and assignment.",
		func(c *Config, v string) error { c.ClientRack = v; return nil }},
}

// WithGroupID sets the consumer group id (group.id; default none: the
// consumer can only Assign partitions and not commit).
func WithGroupID(id string) GroupOption { return groupOpt(func(c *Config) { c.GroupID = id }) }

// WithGroupInstanceID makes the consumer a static group member
// (group.instance.id; default none: a dynamic member).
func WithGroupInstanceID(id string) ConsumerOption {
	return consumerOpt(func(c *Config) { c.GroupInstanceID = id })
}

// WithGroupProtocol selects GroupProtocolClassic or GroupProtocolConsumer
// (KIP-848) group membership (group.protocol; default classic).
func WithGroupProtocol(p GroupProtocol) ConsumerOption {
	return consumerOpt(func(c *Config) { c.GroupProtocol = p })
}

// WithAssignmentStrategies sets the classic protocol's assignors, preferred
// first (partition.assignment.strategy; default AssignCooperativeSticky
// alone).
func WithAssignmentStrategies(strategies ...AssignmentStrategy) ConsumerOption {
	return consumerOpt(func(c *Config) { c.AssignmentStrategies = append([]AssignmentStrategy(nil), strategies...) })
}

// WithSessionTimeout sets session.timeout.ms (classic protocol; default
// 45 s).
func WithSessionTimeout(d time.Duration) ConsumerOption {
	return consumerOpt(func(c *Config) { c.SessionTimeout = d })
}

// WithHeartbeatInterval sets heartbeat.interval.ms (classic protocol;
// default 3 s).
func WithHeartbeatInterval(d time.Duration) ConsumerOption {
	return consumerOpt(func(c *Config) { c.HeartbeatInterval = d })
}

// WithMaxPollInterval sets max.poll.interval.ms (default 5 min).
func WithMaxPollInterval(d time.Duration) ConsumerOption {
	return consumerOpt(func(c *Config) { c.MaxPollInterval = d })
}

// WithAutoCommit turns automatic commits on or off (enable.auto.commit;
// default on).
func WithAutoCommit(on bool) ConsumerOption {
	return consumerOpt(func(c *Config) { c.EnableAutoCommit = on })
}

// WithAutoCommitInterval sets auto.commit.interval.ms (default 5 s).
func WithAutoCommitInterval(d time.Duration) ConsumerOption {
	return consumerOpt(func(c *Config) { c.AutoCommitInterval = d })
}

// WithAutoOffsetReset sets where reading starts without a committed offset
// (auto.offset.reset; default OffsetResetLatest).
func WithAutoOffsetReset(policy OffsetReset) ConsumerOption {
	return consumerOpt(func(c *Config) { c.AutoOffsetReset = policy })
}

// WithIsolationLevel sets isolation.level (default ReadUncommitted;
// ReadCommitted skips aborted transactions).
func WithIsolationLevel(level IsolationLevel) ConsumerOption {
	return consumerOpt(func(c *Config) { c.IsolationLevel = level })
}

// WithFetchBytes sets fetch.min.bytes, fetch.max.bytes and
// max.partition.fetch.bytes (a value <= 0 keeps the current setting;
// defaults 1 byte, 50 MiB and 1 MiB).
func WithFetchBytes(minBytes, maxBytes, maxPartitionBytes int32) GroupOption {
	return groupOpt(func(c *Config) {
		if minBytes > 0 {
			c.FetchMinBytes = minBytes
		}
		if maxBytes > 0 {
			c.FetchMaxBytes = maxBytes
		}
		if maxPartitionBytes > 0 {
			c.MaxPartitionFetchBytes = maxPartitionBytes
		}
	})
}

// WithQueuedMaxMessagesKbytes sets queued.max.messages.kbytes, the bound
// in KiB of the records fetched ahead of Poll (default 4096: 4 MiB), for
// consumers and share consumers.
func WithQueuedMaxMessagesKbytes(kbytes int32) GroupOption {
	return groupOpt(func(c *Config) { c.QueuedMaxKbytes = kbytes })
}

// WithFetchMaxWait sets fetch.max.wait.ms (default 500 ms).
func WithFetchMaxWait(d time.Duration) GroupOption {
	return groupOpt(func(c *Config) { c.FetchMaxWait = d })
}

// WithMaxPollRecords sets max.poll.records (default 500).
func WithMaxPollRecords(n int) GroupOption {
	return groupOpt(func(c *Config) { c.MaxPollRecords = n })
}

// validateConsumer checks the consumer settings (called by NewConsumer, so
// that producers and admins are not held to them).
func (c *Config) validateConsumer() error {
	bad := func(format string, args ...any) error {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf(format, args...)}
	}
	// The enumerated settings' values (core/choices.go).
	if err := checkChoice("group.protocol", c.GroupProtocol.String()); err != nil {
		return err
	}
	if err := checkChoice("auto.offset.reset", c.AutoOffsetReset.String()); err != nil {
		return err
	}
	if err := checkChoice("isolation.level", c.IsolationLevel.String()); err != nil {
		return err
	}
	if len(c.AssignmentStrategies) == 0 {
		return bad("partition.assignment.strategy %s, got none", choiceOf("partition.assignment.strategy").rule())
	}
	for _, s := range c.AssignmentStrategies {
		if err := checkChoice("partition.assignment.strategy", s.String()); err != nil {
			return err
		}
	}
	// Each setting's range (core/validate.go): the property's, also for
	// the With... options.
	if err := c.checkRanges(rangeConsumer); err != nil {
		return err
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		return bad("heartbeat.interval.ms (%v) must be lower than session.timeout.ms (%v)", c.HeartbeatInterval, c.SessionTimeout)
	}
	if c.GroupInstanceID != "" && c.GroupID == "" {
		return bad("group.instance.id needs a group.id")
	}
	return nil
}
