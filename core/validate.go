package core

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofka/gofka/wire"
)

// The range of every numeric setting, stated once (issue 21: "each fact
// once"). Every door checks a setting against its row here, with the same
// function and the same words:
//
//   - the property table's setters (New*FromProperties, whose key=value
//     lines the C ABI passes, and Config.Set) parse the text with
//     Range.parse;
//   - the client constructors check a Config, however it was built (With...
//     options only record values), with Config.checkRanges: validate (the
//     "common" group), validateProducer, validateConsumer, poolFromConfig
//     ("pool") and RetryPolicy.Validate ("retry");
//   - the Python package checks its keyword arguments against
//     python/gofka/_ranges.py, generated from this table by
//     `go run ./core/cmd/configdoc -python` (make docs; a test fails when
//     it is stale).
//
// Durations are whole milliseconds, at most 2,147,483,647 (about 24.8
// days): Kafka's Java client declares most of them int, and the C ABI and
// Python carry times as int32 milliseconds. Checks that relate two settings
// (heartbeat below session timeout, at most 5 in flight with idempotence,
// backoff maximum not below its start) stay with the client's validation.

// Range is the inclusive range of one numeric setting.
type Range struct {
	Name     string // the property (a row of the configuration table)
	Min, Max int64  // in the property's unit: milliseconds when Ms
	Ms       bool   // a duration: the Config field is a time.Duration
	group    string // the validation that checks the Config field (range* below)
	get      func(*Config) int64
}

// The validations that check a group of ranges on a Config.
const (
	rangeCommon   = "common"   // Config.validate: every client
	rangeRetry    = "retry"    // RetryPolicy.Validate (called by validate)
	rangePool     = "pool"     // Config.validate and poolFromConfig (NewPool, NewPoolFromProperties)
	rangeProducer = "producer" // validateProducer
	rangeConsumer = "consumer" // validateConsumer
)

// maxSettingMs is the largest duration setting, in milliseconds.
const maxSettingMs = math.MaxInt32

func msRange(name string, lo int64, group string, field func(*Config) time.Duration) Range {
	return Range{Name: name, Min: lo, Max: maxSettingMs, Ms: true, group: group,
		get: func(c *Config) int64 { return int64(field(c)) }}
}

func intRange(name string, lo, hi int64, group string, get func(*Config) int64) Range {
	return Range{Name: name, Min: lo, Max: hi, group: group, get: get}
}

var ranges = []Range{
	// common
	msRange("connect.timeout.ms", 1, rangeCommon, func(c *Config) time.Duration { return c.DialTimeout }),
	msRange("request.timeout.ms", 1, rangeCommon, func(c *Config) time.Duration { return c.RequestTimeout }),
	msRange("metadata.max.age.ms", 0, rangeCommon, func(c *Config) time.Duration { return c.MetadataMaxAge }),
	msRange("socket.connection.setup.timeout.ms", 0, rangeCommon, func(c *Config) time.Duration { return c.ConnectionSetupTimeout }),
	msRange("reconnect.backoff.ms", 0, rangeCommon, func(c *Config) time.Duration { return c.ReconnectBackoff }),
	msRange("reconnect.backoff.max.ms", 0, rangeCommon, func(c *Config) time.Duration { return c.ReconnectBackoffMax }),
	// retry policy
	intRange("retries", 0, math.MaxInt32, rangeRetry, func(c *Config) int64 { return int64(c.Retry.MaxRetries) }),
	msRange("retry.backoff.ms", 0, rangeRetry, func(c *Config) time.Duration { return c.Retry.InitialBackoff }),
	msRange("retry.backoff.max.ms", 0, rangeRetry, func(c *Config) time.Duration { return c.Retry.MaxBackoff }),
	// connection pool
	intRange("connections.max", 0, math.MaxInt32, rangePool, func(c *Config) int64 { return int64(c.PoolMaxConnections) }),
	msRange("connections.max.idle.ms", 0, rangePool, func(c *Config) time.Duration { return c.ConnectionsMaxIdle }),
	// producer
	intRange("compression.level", wire.MinCompressionLevel, wire.MaxCompressionLevel, rangeProducer, func(c *Config) int64 { return int64(c.CompressionLevel) }),
	intRange("batch.size", 1, 1<<30, rangeProducer, func(c *Config) int64 { return int64(c.BatchSize) }),
	msRange("linger.ms", 0, rangeProducer, func(c *Config) time.Duration { return c.Linger }),
	intRange("max.in.flight.requests.per.connection", 1, MaxInFlightLimit, rangeProducer, func(c *Config) int64 { return int64(c.MaxInFlight) }),
	intRange("buffer.memory", 1024, 1<<40, rangeProducer, func(c *Config) int64 { return c.BufferMemory }),
	msRange("delivery.timeout.ms", 1, rangeProducer, func(c *Config) time.Duration { return c.DeliveryTimeout }),
	intRange("max.request.size", 64, 1<<30, rangeProducer, func(c *Config) int64 { return int64(c.MaxRequestSize) }),
	msRange("transaction.timeout.ms", 1, rangeProducer, func(c *Config) time.Duration { return c.TransactionTimeout }),
	// consumer
	msRange("session.timeout.ms", 1, rangeConsumer, func(c *Config) time.Duration { return c.SessionTimeout }),
	msRange("heartbeat.interval.ms", 1, rangeConsumer, func(c *Config) time.Duration { return c.HeartbeatInterval }),
	msRange("max.poll.interval.ms", 1, rangeConsumer, func(c *Config) time.Duration { return c.MaxPollInterval }),
	msRange("auto.commit.interval.ms", 1, rangeConsumer, func(c *Config) time.Duration { return c.AutoCommitInterval }),
	intRange("fetch.min.bytes", 1, math.MaxInt32, rangeConsumer, func(c *Config) int64 { return int64(c.FetchMinBytes) }),
	intRange("fetch.max.bytes", 1024, math.MaxInt32, rangeConsumer, func(c *Config) int64 { return int64(c.FetchMaxBytes) }),
	intRange("max.partition.fetch.bytes", 1, math.MaxInt32, rangeConsumer, func(c *Config) int64 { return int64(c.MaxPartitionFetchBytes) }),
	// librdkafka's range; the bound in bytes then fits an int32 too.
	intRange("queued.max.messages.kbytes", 1, 2097151, rangeConsumer, func(c *Config) int64 { return int64(c.QueuedMaxKbytes) }),
	msRange("fetch.max.wait.ms", 0, rangeConsumer, func(c *Config) time.Duration { return c.FetchMaxWait }),
	// Poll's max_messages is an int32 in the C ABI.
	intRange("max.poll.records", 1, math.MaxInt32, rangeConsumer, func(c *Config) int64 { return int64(c.MaxPollRecords) }),
}

// Ranges returns the range table sorted by property name (it generates
// python/gofka/_ranges.py and the ranges of docs/configuration.md).
func Ranges() []Range {
	out := append([]Range(nil), ranges...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// findRange returns the row of a property, nil when it has none.
func findRange(name string) *Range {
	for i := range ranges {
		if ranges[i].Name == name {
			return &ranges[i]
		}
	}
	return nil
}

// rangeOf returns the row of a numeric property; a missing one is a
// programming error of the tables, found when the package initialises.
func rangeOf(name string) *Range {
	if r := findRange(name); r != nil {
		return r
	}
	panic("core: no range for " + name)
}

// rule says the range in words, the same for every door.
func (r *Range) rule() string {
	if r.Ms {
		return fmt.Sprintf("must be a whole number of milliseconds from %d to %d", r.Min, r.Max)
	}
	return fmt.Sprintf("must be an integer from %d to %d", r.Min, r.Max)
}

// parse reads a property's text: an integer within the range.
func (r *Range) parse(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < r.Min || n > r.Max {
		return 0, fmt.Errorf("%s", r.rule())
	}
	return n, nil
}

// contains reports whether the Config field's value is within the range
// (a duration in nanoseconds, compared with the range in milliseconds).
func (r *Range) contains(v int64) bool {
	if r.Ms {
		ms := int64(time.Millisecond)
		return v >= r.Min*ms && v <= r.Max*ms
	}
	return v >= r.Min && v <= r.Max
}

// checkRanges checks c's fields of one group against their ranges.
func (c *Config) checkRanges(group string) error {
	for i := range ranges {
		r := &ranges[i]
		if r.group != group {
			continue
		}
		if v := r.get(c); !r.contains(v) {
			got := strconv.FormatInt(v, 10)
			if r.Ms {
				got = time.Duration(v).String()
			}
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("%s %s, got %s", r.Name, r.rule(), got)}
		}
	}
	return nil
}

// The setters of the table's numeric rows: parse with the row's range,
// then store.

func intSetter(name string, field func(*Config) *int) func(*Config, string) error {
	r := rangeOf(name)
	return func(c *Config, v string) error {
		n, err := r.parse(v)
		if err == nil {
			*field(c) = int(n)
		}
		return err
	}
}

func int32Setter(name string, field func(*Config) *int32) func(*Config, string) error {
	r := rangeOf(name)
	return func(c *Config, v string) error {
		n, err := r.parse(v)
		if err == nil {
			*field(c) = int32(n)
		}
		return err
	}
}

func int64Setter(name string, field func(*Config) *int64) func(*Config, string) error {
	r := rangeOf(name)
	return func(c *Config, v string) error {
		n, err := r.parse(v)
		if err == nil {
			*field(c) = n
		}
		return err
	}
}

func durationSetter(name string, field func(*Config) *time.Duration) func(*Config, string) error {
	r := rangeOf(name)
	return func(c *Config, v string) error {
		n, err := r.parse(v)
		if err == nil {
			*field(c) = time.Duration(n) * time.Millisecond
		}
		return err
	}
}

// RangesPython renders python/gofka/_ranges.py, the ranges and (CHOICES)
// the enumerated settings' values (go run ./core/cmd/configdoc
// -python > python/gofka/_ranges.py; TestPythonRangesAreCurrent fails when
// the file is stale).
func RangesPython() string {
	var b strings.Builder
	b.WriteString(`"""The ranges of the numeric settings and the accepted values of the
enumerated ones: generated from the engine's tables (core/validate.go,
` + "`core.Ranges()`" + `; core/choices.go, ` + "`core.Choices()`" + `) by ` + "`go run ./core/cmd/configdoc\n-python > python/gofka/_ranges.py`" + ` (make docs); do not edit by hand.

The Python keyword arguments that set these properties are checked against
these tables, as the property table and the Go options are, so that the
three doors accept the same values (tests/python/test_setting_agreement.py).
"""

from typing import Dict, NamedTuple, Tuple

#: property -> (minimum, maximum), inclusive, in the property's unit
#: (milliseconds for the keys ending in ".ms").
RANGES: Dict[str, Tuple[int, int]] = {
`)
	for _, r := range Ranges() {
		fmt.Fprintf(&b, "    %q: (%d, %d),\n", r.Name, r.Min, r.Max)
	}
	b.WriteString("}\n")
	choicesPython(&b) // core/choices.go
	return b.String()
}
