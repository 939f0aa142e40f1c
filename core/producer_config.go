package core

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gofka/gofka/wire"
)

// Producer configuration: the `--- producer ---` fields of Config (acks and
// compression.type are rows of config.go's table; the rest are here).
// Defaults follow the Java client except:
//
//   - batch.size defaults to 1 MiB (Java: 16 KiB). Java allocates batch.size
//     bytes up front for every partition it writes to, so it keeps the
//     value small; Gofka's batches grow only as records arrive, so the
//     bound costs nothing until records pile up behind requests in flight,
//     and then large batches are what keeps throughput up (librdkafka and
//     franz-go use ~1 MB too). It stays below the broker's default
//     max.message.bytes (1048588), which limits a whole compressed batch.
//   - linger.ms defaults to 0 (Java 4.x: 5): with linger 0 a batch leaves
//     as soon as the broker connection has room for a request, and batches
//     still form naturally while requests are in flight.

func init() {
	properties = append(properties, producerProperties...)
}

var producerProperties = []Property{
	{"batch.size", "int(bytes)", "1048576", "Upper bound on the encoded size of one record batch (one partition's records in one request), before compression. A record larger than this gets a batch of its own.",
		intSetter("batch.size", func(c *Config) *int { return &c.BatchSize })},
	{"linger.ms", "duration(ms)", "0", "How long a batch that is not full may wait for more records before it is sent. 0 sends as soon as the connection has room for another request.",
		durationSetter("linger.ms", func(c *Config) *time.Duration { return &c.Linger })},
	{"max.in.flight.requests.per.connection", "int", "5", "Produce requests sent to one broker and not yet answered: 1 to 1000 (WithMaxInFlight too). At most 5 with enable.idempotence (the broker deduplicates the last 5 batches of each partition).",
		intSetter("max.in.flight.requests.per.connection", func(c *Config) *int { return &c.MaxInFlight })},
	{"enable.idempotence", "bool", "true", "Give each batch a producer id and sequence number so that retries neither duplicate nor reorder records. Needs acks=all; when left at its default with acks 0 or 1, idempotence is off (as in the Java client); set explicitly to true with acks 0 or 1 it is an error.",
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return err
			}
			c.EnableIdempotence, c.idempotenceSet = b, true
			return nil
		}},
	{"buffer.memory", "int(bytes)", "33554432", "Bytes of records the producer buffers (waiting or in flight), each record counting its encoded size plus 160 bytes for the structures that hold it. Produce blocks while it is full, until room frees up or its context ends (QUEUE_FULL).",
		int64Setter("buffer.memory", func(c *Config) *int64 { return &c.BufferMemory })},
	{"delivery.timeout.ms", "duration(ms)", "120000", "Upper bound on the time between Produce and the record's result: a record not acknowledged by then fails with DELIVERY_TIMEOUT (retries included).",
		durationSetter("delivery.timeout.ms", func(c *Config) *time.Duration { return &c.DeliveryTimeout })},
	{"max.request.size", "int(bytes)", "1048576", "Upper bound on the batches of one produce request, and on one record: a larger record fails with MESSAGE_TOO_LARGE_LOCAL without being sent.",
		intSetter("max.request.size", func(c *Config) *int { return &c.MaxRequestSize })},
}

// WithBatchSize bounds the encoded size of one record batch (batch.size;
// default 1 MiB).
func WithBatchSize(bytes int) ProducerOption {
	return producerOpt(func(c *Config) { c.BatchSize = bytes })
}

// WithLinger lets a batch that is not full wait d for more records
// (linger.ms; default 0: send as soon as the connection has room).
func WithLinger(d time.Duration) ProducerOption { return producerOpt(func(c *Config) { c.Linger = d }) }

// MaxInFlightLimit is the largest max.in.flight.requests.per.connection
// (property, WithMaxInFlight and Python's max_in_flight alike); at most 5
// with idempotence.
const MaxInFlightLimit = 1000

// WithMaxInFlight bounds the produce requests in flight per broker
// (max.in.flight.requests.per.connection; default 5, at most 5 with
// idempotence).
func WithMaxInFlight(n int) ProducerOption { return producerOpt(func(c *Config) { c.MaxInFlight = n }) }

// WithIdempotence turns the idempotent producer on or off
// (enable.idempotence; default on, effective with AcksAll only; asking
// for it with other acks is an error).
func WithIdempotence(on bool) ProducerOption {
	return producerOpt(func(c *Config) { c.EnableIdempotence, c.idempotenceSet = on, true })
}

// WithBufferMemory bounds the bytes of buffered records (buffer.memory;
// default 32 MiB).
func WithBufferMemory(bytes int64) ProducerOption {
	return producerOpt(func(c *Config) { c.BufferMemory = bytes })
}

// WithDeliveryTimeout bounds the time from Produce to a record's result
// (delivery.timeout.ms; default 120 s).
func WithDeliveryTimeout(d time.Duration) ProducerOption {
	return producerOpt(func(c *Config) { c.DeliveryTimeout = d })
}

// WithMaxRequestSize bounds one produce request and one record
// (max.request.size; default 1 MiB).
func WithMaxRequestSize(bytes int) ProducerOption {
	return producerOpt(func(c *Config) { c.MaxRequestSize = bytes })
}

// idempotent reports whether the producer runs idempotently: asked for (or
// left at the default) and compatible with acks.
func (c *Config) idempotent() bool { return c.EnableIdempotence && c.Acks == -1 }

// validateProducer checks the producer settings together.
func (c *Config) validateProducer() error {
	bad := func(format string, args ...any) error {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf(format, args...)}
	}
	// The enumerated settings' values (core/choices.go).
	if err := checkChoice("acks", c.Acks.String()); err != nil {
		return err
	}
	if err := checkChoice("compression.type", c.Compression.String()); err != nil {
		return err
	}
	// Each setting's range (core/validate.go): the property's, also for
	// the With... options. One rule for Go, the C ABI and Python.
	if err := c.checkRanges(rangeProducer); err != nil {
		return err
	}
	// The codec's own range within compression.level's (wire/compression.go).
	if err := wire.CheckCompressionLevel(c.Compression, c.CompressionLevel); err != nil {
		return bad("compression.level=%d with compression.type=%s: %v", c.CompressionLevel, c.Compression, err)
	}
	if c.EnableIdempotence && c.idempotenceSet && c.Acks != -1 {
		return bad("enable.idempotence=true needs acks=all (acks is %d)", c.Acks)
	}
	if c.idempotent() && c.MaxInFlight > 5 {
		return bad("max.in.flight.requests.per.connection must be at most 5 with enable.idempotence, got %d", c.MaxInFlight)
	}
	return c.validateTxn()
}
