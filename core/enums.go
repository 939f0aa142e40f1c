package core

import (
	"strconv"
	"strings"

	"github.com/gofka/gofka/wire"
)

// Typed settings: each enumerated property has a Go type, constants for
// its values, a String method that spells the value as the property does,
// and a Parse function that is what the property-string path (Config.Set,
// the C ABI, Python) uses to read it, so Go and properties accept the same
// values. The accepted spellings and their case rule are the property's
// row of the choices table (core/choices.go), which Python is generated
// from too; Parse errors list them, and Config.Set prefixes them with the
// key. An out-of-range value given to an option (Acks(7), say) is refused
// when the client is created (INVALID_ARGUMENT, checkChoice).
//
// The compression codec is already typed (wire.Compression, whose String is
// the compression.type spelling); the SASL mechanism is chosen in Go by a
// value (WithSASL, SASLPlain, ...), not by name.

// Acks is how many replicas must have a produced batch before the
// partition leader answers (acks). The values are the wire values of the
// Produce request.
type Acks int16

const (
	// AcksAll waits for every in-sync replica (acks=all, -1): no
	// acknowledged record is lost while one in-sync replica survives. The
	// default, and needed for idempotence.
	AcksAll Acks = -1
	// AcksNone does not wait at all (acks=0): the broker sends no
	// response, so a record succeeds once its request is written, without
	// an offset.
	AcksNone Acks = 0
	// AcksLeader waits for the leader's own write only (acks=1).
	AcksLeader Acks = 1
)

// String returns the property spelling: "all", "0" or "1".
func (a Acks) String() string {
	switch a {
	case AcksAll:
		return "all"
	case AcksNone:
		return "0"
	case AcksLeader:
		return "1"
	}
	return "Acks(" + strconv.Itoa(int(a)) + ")"
}

// ParseAcks reads an acks property value: "all" or "-1", "0", "1".
// Case-sensitive, like the Java client ("ALL" is refused).
func ParseAcks(s string) (Acks, error) {
	return parseEnum("acks", s, AcksAll, AcksNone, AcksLeader)
}

// IsolationLevel says which records a consumer (or a fetch) reads
// (isolation.level). The values are the wire values of Fetch and
// ListOffsets.
type IsolationLevel int8

const (
	// ReadUncommitted reads every record up to the high watermark,
	// including those of open and aborted transactions. The default.
	ReadUncommitted IsolationLevel = IsolationLevel(wire.IsolationReadUncommitted)
	// ReadCommitted reads up to the last stable offset and skips the
	// records of aborted transactions.
	ReadCommitted IsolationLevel = IsolationLevel(wire.IsolationReadCommitted)
)

// String returns the property spelling: "read_uncommitted" or
// "read_committed".
func (l IsolationLevel) String() string {
	switch l {
	case ReadUncommitted:
		return "read_uncommitted"
	case ReadCommitted:
		return "read_committed"
	}
	return "IsolationLevel(" + strconv.Itoa(int(l)) + ")"
}

// ParseIsolationLevel reads an isolation.level property value
// ("read_uncommitted" or "read_committed", any case).
func ParseIsolationLevel(s string) (IsolationLevel, error) {
	return parseEnum("isolation.level", s, ReadUncommitted, ReadCommitted)
}

// OffsetReset is where a consumer starts reading a partition that has no
// committed offset, or whose offset is out of range (auto.offset.reset).
type OffsetReset string

const (
	// OffsetResetEarliest starts at the partition's earliest offset.
	OffsetResetEarliest OffsetReset = "earliest"
	// OffsetResetLatest starts at the partition's end: only records
	// produced from now on are read. The default.
	OffsetResetLatest OffsetReset = "latest"
	// OffsetResetNone makes Poll fail (NO_OFFSET, OFFSET_OUT_OF_RANGE)
	// until the application seeks.
	OffsetResetNone OffsetReset = "none"
)

// String returns the property spelling ("earliest", "latest", "none").
func (r OffsetReset) String() string { return string(r) }

// ParseOffsetReset reads an auto.offset.reset property value ("earliest",
// "latest" or "none", any case).
func ParseOffsetReset(s string) (OffsetReset, error) {
	return parseEnum("auto.offset.reset", s, OffsetResetEarliest, OffsetResetLatest, OffsetResetNone)
}

// GroupProtocol is the consumer group membership protocol
// (group.protocol).
type GroupProtocol string

const (
	// GroupProtocolClassic is JoinGroup/SyncGroup with client-side
	// assignors (AssignmentStrategy). The default.
	GroupProtocolClassic GroupProtocol = "classic"
	// GroupProtocolConsumer is KIP-848's ConsumerGroupHeartbeat with
	// broker-side assignment (Kafka 4.0+).
	GroupProtocolConsumer GroupProtocol = "consumer"
)

// String returns the property spelling ("classic", "consumer").
func (p GroupProtocol) String() string { return string(p) }

// ParseGroupProtocol reads a group.protocol property value ("classic" or
// "consumer", any case).
func ParseGroupProtocol(s string) (GroupProtocol, error) {
	return parseEnum("group.protocol", s, GroupProtocolClassic, GroupProtocolConsumer)
}

// AssignmentStrategy is a client-side partition assignor of the classic
// group protocol (partition.assignment.strategy). Members of one group
// must share at least one.
type AssignmentStrategy string

const (
	// AssignRange gives each member a contiguous range of each topic's
	// partitions; every partition is revoked at each rebalance.
	AssignRange AssignmentStrategy = "range"
	// AssignRoundRobin deals all partitions out one by one; every
	// partition is revoked at each rebalance.
	AssignRoundRobin AssignmentStrategy = "roundrobin"
	// AssignCooperativeSticky keeps partitions where they are and
	// rebalances incrementally: members keep consuming the partitions
	// they keep. The default.
	AssignCooperativeSticky AssignmentStrategy = "cooperative-sticky"
)

// String returns the property spelling ("range", "roundrobin",
// "cooperative-sticky").
func (s AssignmentStrategy) String() string { return string(s) }

// ParseAssignmentStrategy reads one name of a partition.assignment.strategy
// list ("range", "roundrobin" or "cooperative-sticky", any case, spaces
// around it ignored).
func ParseAssignmentStrategy(s string) (AssignmentStrategy, error) {
	a, err := choiceOf("partition.assignment.strategy").parseOne(strings.TrimSpace(s))
	return AssignmentStrategy(a), err
}

// SecurityProtocol is how connections to brokers are secured
// (security.protocol).
type SecurityProtocol string

// Security protocols: the values of security.protocol.
const (
	ProtocolPlaintext     SecurityProtocol = "PLAINTEXT"      // no TLS, no SASL (the default)
	ProtocolSSL           SecurityProtocol = "SSL"            // TLS, optionally with a client certificate
	ProtocolSASLPlaintext SecurityProtocol = "SASL_PLAINTEXT" // SASL without TLS: credentials cross the network unencrypted (PLAIN)
	ProtocolSASLSSL       SecurityProtocol = "SASL_SSL"       // SASL over TLS
)

// String returns the property spelling ("PLAINTEXT", "SSL",
// "SASL_PLAINTEXT", "SASL_SSL").
func (p SecurityProtocol) String() string { return string(p) }

// ParseSecurityProtocol reads a security.protocol property value
// (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, any case).
func ParseSecurityProtocol(s string) (SecurityProtocol, error) {
	return parseEnum("security.protocol", s, ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL)
}
