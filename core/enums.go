package core

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofka/gofka/wire"
)

// Typed settings: each enumerated property has a Go type, constants for
// its values, a String method that spells the value as the property does,
// and a Parse function that is what the property-string path (Config.Set,
// the C ABI, Python) uses to read it, so Go and properties accept the same
// values. Parse errors say which values are accepted; Config.Set prefixes
// them with the key. An out-of-range value given to an option (Acks(7),
// say) is refused when the client is created (INVALID_ARGUMENT).
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

func (a Acks) valid() bool { return a == AcksAll || a == AcksNone || a == AcksLeader }

// ParseAcks reads an acks property value: "all" or "-1", "0", "1".
// Case-sensitive, like the Java client ("ALL" is refused).
func ParseAcks(s string) (Acks, error) {
	switch s {
	case "all", "-1":
		return AcksAll, nil
	case "0":
		return AcksNone, nil
	case "1":
		return AcksLeader, nil
	}
	return 0, fmt.Errorf("must be all, -1, 0 or 1")
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

func (l IsolationLevel) valid() bool { return l == ReadUncommitted || l == ReadCommitted }

// ParseIsolationLevel reads an isolation.level property value
// ("read_uncommitted" or "read_committed", any case).
func ParseIsolationLevel(s string) (IsolationLevel, error) {
	switch strings.ToLower(s) {
	case "read_uncommitted":
		return ReadUncommitted, nil
	case "read_committed":
		return ReadCommitted, nil
	}
	return 0, fmt.Errorf("must be read_uncommitted or read_committed")
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

func (r OffsetReset) valid() bool {
	return r == OffsetResetEarliest || r == OffsetResetLatest || r == OffsetResetNone
}

// ParseOffsetReset reads an auto.offset.reset property value ("earliest",
// "latest" or "none", any case).
func ParseOffsetReset(s string) (OffsetReset, error) {
	if r := OffsetReset(strings.ToLower(s)); r.valid() {
		return r, nil
	}
	return "", fmt.Errorf("must be earliest, latest or none")
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

func (p GroupProtocol) valid() bool { return p == GroupProtocolClassic || p == GroupProtocolConsumer }

// ParseGroupProtocol reads a group.protocol property value ("classic" or
// "consumer", any case).
func ParseGroupProtocol(s string) (GroupProtocol, error) {
	if p := GroupProtocol(strings.ToLower(s)); p.valid() {
		return p, nil
	}
	return "", fmt.Errorf("must be classic or consumer")
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
	a := AssignmentStrategy(strings.ToLower(strings.TrimSpace(s)))
	if assignorByName(a) == nil {
		return "", fmt.Errorf("unknown assignor %q (range, roundrobin, cooperative-sticky)", a)
	}
	return a, nil
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
	switch p := SecurityProtocol(strings.ToUpper(s)); p {
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
		return p, nil
	}
	return "", fmt.Errorf("must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
}
