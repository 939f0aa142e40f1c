// This file holds the error-code table of Gofka: every error code defined by
// the Apache Kafka protocol as of Kafka 4.x (org.apache.kafka.common.protocol.Errors,
// -1 UNKNOWN_SERVER_ERROR through 136 CONTROLLER_ID_NOT_REGISTERED), plus the
// error codes the client raises itself.
//
// The table is the single source of truth for errors across the project: Go
// code uses ErrorCode and *Error directly, the C ABI exports the same table
// (as JSON built from ErrorTable), and the Python exception classes are
// generated from it. cmd/errordoc renders it as docs/errors.md. Add a code
// here and nowhere else.
//
// Kafka codes keep Kafka's names, codes, default messages and retriability
// (Retriable is true exactly when Kafka maps the code to a subclass of
// org.apache.kafka.common.errors.RetriableException).
//
// Local codes: errors raised by the client itself, never sent by a broker,
// use codes <= -100 (LocalCodeMax). Kafka uses -1 for UNKNOWN_SERVER_ERROR
// and positive codes for everything else, so the two ranges never collide.
// Local names are chosen not to clash with any Kafka name (hence the _LOCAL
// suffix on MESSAGE_TOO_LARGE_LOCAL, UNSUPPORTED_VERSION_LOCAL, ...).
//
// Go constant names are the CamelCase of the Kafka name with an Err prefix,
// keeping the initialisms ID and TLS upper-case (UNKNOWN_TOPIC_ID is
// ErrUnknownTopicID, TLS_FAILED is ErrTLSFailed).

package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
)

// Category is a coarse classification of an error code, used by the
// bindings to pick an exception class. It is a string so that it serialises
// readably (JSON for the C ABI, Python class names).
//
// Each code is put in the first category of this list whose rule matches:
//
//   - auth: authentication, authorization, SASL, delegation tokens and
//     credentials, and TLS_FAILED: as in Kafka (SslAuthenticationException
//     is an AuthenticationException), a failed TLS handshake or certificate
//     check is an authentication failure that retrying cannot fix.
//   - connection: the transport failed or the broker could not be reached or
//     did not answer in time (no meaningful reply was obtained).
//   - group: group coordinators and group membership: consumer, share and
//     streams groups, including the COORDINATOR_* errors (also returned by
//     transaction coordinators).
//   - offset: committed offsets and fetch positions: committing, fetching,
//     resetting and deleting offsets, offsets out of range.
//   - produce: errors only a producer acts on: record and batch validation,
//     acks and in-sync replicas, idempotence (sequence numbers, producer ids
//     and epochs) and transactions.
//   - consume: the fetch and share-fetch path (fetch sessions, share
//     sessions, acknowledgements).
//   - metadata: the client's view of the cluster is wrong or stale (unknown
//     topics, partitions, leaders, replicas, epochs), and topic or partition
//     administration (create, delete, reassign, elect leaders).
//   - generic: everything else, including configuration and policy errors,
//     version mismatches, quotas and controller/KRaft internals.
//
// Two categories hold one client-local code each and come before the
// rules above: transaction_abortable (TXN_ABORTABLE) and transaction_fatal
// (TXN_FATAL), the two kinds of error of a transactional producer's calls
// (core.TxnError) as the C ABI returns them, so that the bindings raise a
// class of their own for each.
type Category string

// The categories; see Category for the rule that assigns them.
const (
	CategoryGeneric    Category = "generic"
	CategoryConnection Category = "connection"
	CategoryProduce    Category = "produce"
	CategoryConsume    Category = "consume"
	CategoryOffset     Category = "offset"
	CategoryGroup      Category = "group"
	CategoryMetadata   Category = "metadata"
	CategoryAuth       Category = "auth"
	// CategoryTxnAbortable is TXN_ABORTABLE's: abort the transaction, go on.
	CategoryTxnAbortable Category = "transaction_abortable"
	// CategoryTxnFatal is TXN_FATAL's: the producer can only be closed.
	CategoryTxnFatal Category = "transaction_fatal"
)

// Categories returns every category, generic first.
func Categories() []Category {
	return []Category{
		CategoryGeneric, CategoryConnection, CategoryProduce, CategoryConsume,
		CategoryOffset, CategoryGroup, CategoryMetadata, CategoryAuth,
		CategoryTxnAbortable, CategoryTxnFatal,
	}
}

// ErrorCode is a Kafka protocol error code, or a client-local code (<=
// LocalCodeMax). It implements error, so a bare code can be returned:
// `return wire.ErrTimedOut`. Use AsError to turn a code read off the wire
// into an error (nil for ErrNone), and *Error to attach context.
type ErrorCode int16

// LocalCodeMax is the highest client-local code; every code <= LocalCodeMax
// is raised by the client, never by a broker.
const LocalCodeMax ErrorCode = -100

// ErrorInfo describes one error code.
type ErrorInfo struct {
	Code ErrorCode `json:"code"`
	// Name is the UPPER_SNAKE name, exactly as Kafka spells it for Kafka
	// codes.
	Name string `json:"name"`
	// Retriable reports whether the operation may succeed if retried.
	Retriable bool `json:"retriable"`
	// Description is Kafka's default message for the code (one line).
	Description string `json:"description"`
	// Category is our classification, see Category.
	Category Category `json:"category"`
}

// String returns the code's name, e.g. "NOT_LEADER_OR_FOLLOWER".
func (c ErrorCode) String() string { return Lookup(c).Name }

// Error returns "NAME: description", or just NAME when the code has no
// description (NONE).
func (c ErrorCode) Error() string {
	info := Lookup(c)
	if info.Description == "" {
		return info.Name
	}
	return info.Name + ": " + info.Description
}

// Retriable reports whether the code is retriable. Unknown codes are not.
func (c ErrorCode) Retriable() bool { return Lookup(c).Retriable }

// IsLocal reports whether the code is a client-local code.
func (c ErrorCode) IsLocal() bool { return c <= LocalCodeMax }

// Lookup returns the table entry of code. An unknown code gives an entry
// named "UNKNOWN_ERROR_<n>", generic and not retriable.
func Lookup(code ErrorCode) ErrorInfo {
	if i, ok := index[code]; ok {
		return table[i]
	}
	return ErrorInfo{
		Code:        code,
		Name:        "UNKNOWN_ERROR_" + strconv.Itoa(int(code)),
		Description: "Unknown error code " + strconv.Itoa(int(code)) + ".",
		Category:    CategoryGeneric,
	}
}

// ErrorTable returns a copy of every entry of the table, sorted by code.
func ErrorTable() []ErrorInfo { return slices.Clone(table[:]) }

// AsError returns the error for a code read off the wire: nil for 0 (NONE),
// otherwise the ErrorCode itself.
func AsError(code int16) error {
	if code == 0 {
		return nil
	}
	return ErrorCode(code)
}

// Error is an error code with context. errors.Is(err, wire.ErrX) matches
// on the code (Unwrap returns Code), and so does errors.Is(err,
// &wire.Error{Code: wire.ErrX}).
type Error struct {
	Code ErrorCode
	// Detail is extra text, e.g. the error_message field of a response or
	// the topic-partition concerned. Optional.
	Detail string
	// Broker identifies the broker involved ("host:port" or node id).
	// Optional.
	Broker string
}

// Error returns "NAME: description", followed by ": detail" and
// " (broker B)" when those are set.
func (e *Error) Error() string {
	s := e.Code.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Broker != "" {
		s += " (broker " + e.Broker + ")"
	}
	return s
}

// Unwrap returns the bare code.
func (e *Error) Unwrap() error { return e.Code }

// Is reports whether target is an *Error with the same code. (A bare
// ErrorCode target is matched through Unwrap.)
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// Retriable reports whether the code is retriable.
func (e *Error) Retriable() bool { return e.Code.Retriable() }

// CodeOf returns the error code that best describes err, looking through
// wrapped errors:
//
//   - nil gives ErrNone;
//   - an *Error or ErrorCode in the chain gives its code;
//   - context.DeadlineExceeded, os.ErrDeadlineExceeded and net timeouts give
//     ErrTimedOut; context.Canceled gives ErrInterrupted;
//   - TLS handshake and certificate errors give ErrTLSFailed;
//   - other network errors (net.OpError, DNS errors, closed connections,
//     connection refused/reset, EOF while reading) give ErrConnectionFailed;
//   - ErrShortBuffer (a truncated response) gives ErrCorruptResponse;
//   - anything else gives ErrLocalUnknown.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return ErrNone
	}
	if e, ok := errors.AsType[*Error](err); ok && e != nil {
		return e.Code
	}
	if c, ok := errors.AsType[ErrorCode](err); ok {
		return c
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimedOut
	case errors.Is(err, context.Canceled):
		return ErrInterrupted
	case isTLSError(err):
		return ErrTLSFailed
	case isTimeout(err):
		return ErrTimedOut
	case isConnError(err):
		return ErrConnectionFailed
	case errors.Is(err, ErrShortBuffer):
		return ErrCorruptResponse
	}
	return ErrLocalUnknown
}

func isTLSError(err error) bool {
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return true
	}
	// An alert sent by the peer during the handshake surfaces as
	// *net.OpError{Op: "remote error"}.
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "remote error" {
		return true
	}
	return false
}

func isTimeout(err error) bool {
	if errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

func isConnError(err error) bool {
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*net.AddrError](err); ok {
		return true
	}
	for _, target := range []error{
		net.ErrClosed, io.EOF, io.ErrUnexpectedEOF, io.ErrClosedPipe,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// index maps a code to its position in table.
var index = func() map[ErrorCode]int {
	m := make(map[ErrorCode]int, len(table))
	for i, e := range table {
		m[e.Code] = i
	}
	return m
}()

// Kafka protocol error codes (org.apache.kafka.common.protocol.Errors).
const (
	ErrUnknownServerError                     ErrorCode = -1
	ErrNone                                   ErrorCode = 0
	ErrOffsetOutOfRange                       ErrorCode = 1
	ErrCorruptMessage                         ErrorCode = 2
	ErrUnknownTopicOrPartition                ErrorCode = 3
	ErrInvalidFetchSize                       ErrorCode = 4
	ErrLeaderNotAvailable                     ErrorCode = 5
	ErrNotLeaderOrFollower                    ErrorCode = 6
	ErrRequestTimedOut                        ErrorCode = 7
	ErrBrokerNotAvailable                     ErrorCode = 8
	ErrReplicaNotAvailable                    ErrorCode = 9
	ErrMessageTooLarge                        ErrorCode = 10
	ErrStaleControllerEpoch                   ErrorCode = 11
	ErrOffsetMetadataTooLarge                 ErrorCode = 12
	ErrNetworkException                       ErrorCode = 13
	ErrCoordinatorLoadInProgress              ErrorCode = 14
	ErrCoordinatorNotAvailable                ErrorCode = 15
	ErrNotCoordinator                         ErrorCode = 16
	ErrInvalidTopicException                  ErrorCode = 17
	ErrRecordListTooLarge                     ErrorCode = 18
	ErrNotEnoughReplicas                      ErrorCode = 19
	ErrNotEnoughReplicasAfterAppend           ErrorCode = 20
	ErrInvalidRequiredAcks                    ErrorCode = 21
	ErrIllegalGeneration                      ErrorCode = 22
	ErrInconsistentGroupProtocol              ErrorCode = 23
	ErrInvalidGroupID                         ErrorCode = 24
	ErrUnknownMemberID                        ErrorCode = 25
	ErrInvalidSessionTimeout                  ErrorCode = 26
	ErrRebalanceInProgress                    ErrorCode = 27
	ErrInvalidCommitOffsetSize                ErrorCode = 28
	ErrTopicAuthorizationFailed               ErrorCode = 29
	ErrGroupAuthorizationFailed               ErrorCode = 30
	ErrClusterAuthorizationFailed             ErrorCode = 31
	ErrInvalidTimestamp                       ErrorCode = 32
	ErrUnsupportedSaslMechanism               ErrorCode = 33
	ErrIllegalSaslState                       ErrorCode = 34
	ErrUnsupportedVersion                     ErrorCode = 35
	ErrTopicAlreadyExists                     ErrorCode = 36
	ErrInvalidPartitions                      ErrorCode = 37
	ErrInvalidReplicationFactor               ErrorCode = 38
	ErrInvalidReplicaAssignment               ErrorCode = 39
	ErrInvalidConfig                          ErrorCode = 40
	ErrNotController                          ErrorCode = 41
	ErrInvalidRequest                         ErrorCode = 42
	ErrUnsupportedForMessageFormat            ErrorCode = 43
	ErrPolicyViolation                        ErrorCode = 44
	ErrOutOfOrderSequenceNumber               ErrorCode = 45
	ErrDuplicateSequenceNumber                ErrorCode = 46
	ErrInvalidProducerEpoch                   ErrorCode = 47
	ErrInvalidTxnState                        ErrorCode = 48
	ErrInvalidProducerIDMapping               ErrorCode = 49
	ErrInvalidTransactionTimeout              ErrorCode = 50
	ErrConcurrentTransactions                 ErrorCode = 51
	ErrTransactionCoordinatorFenced           ErrorCode = 52
	ErrTransactionalIDAuthorizationFailed     ErrorCode = 53
	ErrSecurityDisabled                       ErrorCode = 54
	ErrOperationNotAttempted                  ErrorCode = 55
	ErrKafkaStorageError                      ErrorCode = 56
	ErrLogDirNotFound                         ErrorCode = 57
	ErrSaslAuthenticationFailed               ErrorCode = 58
	ErrUnknownProducerID                      ErrorCode = 59
	ErrReassignmentInProgress                 ErrorCode = 60
	ErrDelegationTokenAuthDisabled            ErrorCode = 61
	ErrDelegationTokenNotFound                ErrorCode = 62
	ErrDelegationTokenOwnerMismatch           ErrorCode = 63
	ErrDelegationTokenRequestNotAllowed       ErrorCode = 64
	ErrDelegationTokenAuthorizationFailed     ErrorCode = 65
	ErrDelegationTokenExpired                 ErrorCode = 66
	ErrInvalidPrincipalType                   ErrorCode = 67
	ErrNonEmptyGroup                          ErrorCode = 68
	ErrGroupIDNotFound                        ErrorCode = 69
	ErrFetchSessionIDNotFound                 ErrorCode = 70
	ErrInvalidFetchSessionEpoch               ErrorCode = 71
	ErrListenerNotFound                       ErrorCode = 72
	ErrTopicDeletionDisabled                  ErrorCode = 73
	ErrFencedLeaderEpoch                      ErrorCode = 74
	ErrUnknownLeaderEpoch                     ErrorCode = 75
	ErrUnsupportedCompressionType             ErrorCode = 76
	ErrStaleBrokerEpoch                       ErrorCode = 77
	ErrOffsetNotAvailable                     ErrorCode = 78
	ErrMemberIDRequired                       ErrorCode = 79
	ErrPreferredLeaderNotAvailable            ErrorCode = 80
	ErrGroupMaxSizeReached                    ErrorCode = 81
	ErrFencedInstanceID                       ErrorCode = 82
	ErrEligibleLeadersNotAvailable            ErrorCode = 83
	ErrElectionNotNeeded                      ErrorCode = 84
	ErrNoReassignmentInProgress               ErrorCode = 85
	ErrGroupSubscribedToTopic                 ErrorCode = 86
	ErrInvalidRecord                          ErrorCode = 87
	ErrUnstableOffsetCommit                   ErrorCode = 88
	ErrThrottlingQuotaExceeded                ErrorCode = 89
	ErrProducerFenced                         ErrorCode = 90
	ErrResourceNotFound                       ErrorCode = 91
	ErrDuplicateResource                      ErrorCode = 92
	ErrUnacceptableCredential                 ErrorCode = 93
	ErrInconsistentVoterSet                   ErrorCode = 94
	ErrInvalidUpdateVersion                   ErrorCode = 95
	ErrFeatureUpdateFailed                    ErrorCode = 96
	ErrPrincipalDeserializationFailure        ErrorCode = 97
	ErrSnapshotNotFound                       ErrorCode = 98
	ErrPositionOutOfRange                     ErrorCode = 99
	ErrUnknownTopicID                         ErrorCode = 100
	ErrDuplicateBrokerRegistration            ErrorCode = 101
	ErrBrokerIDNotRegistered                  ErrorCode = 102
	ErrInconsistentTopicID                    ErrorCode = 103
	ErrInconsistentClusterID                  ErrorCode = 104
	ErrTransactionalIDNotFound                ErrorCode = 105
	ErrFetchSessionTopicIDError               ErrorCode = 106
	ErrIneligibleReplica                      ErrorCode = 107
	ErrNewLeaderElected                       ErrorCode = 108
	ErrOffsetMovedToTieredStorage             ErrorCode = 109
	ErrFencedMemberEpoch                      ErrorCode = 110
	ErrUnreleasedInstanceID                   ErrorCode = 111
	ErrUnsupportedAssignor                    ErrorCode = 112
	ErrStaleMemberEpoch                       ErrorCode = 113
	ErrMismatchedEndpointType                 ErrorCode = 114
	ErrUnsupportedEndpointType                ErrorCode = 115
	ErrUnknownControllerID                    ErrorCode = 116
	ErrUnknownSubscriptionID                  ErrorCode = 117
	ErrTelemetryTooLarge                      ErrorCode = 118
	ErrInvalidRegistration                    ErrorCode = 119
	ErrTransactionAbortable                   ErrorCode = 120
	ErrInvalidRecordState                     ErrorCode = 121
	ErrShareSessionNotFound                   ErrorCode = 122
	ErrInvalidShareSessionEpoch               ErrorCode = 123
	ErrFencedStateEpoch                       ErrorCode = 124
	ErrInvalidVoterKey                        ErrorCode = 125
	ErrDuplicateVoter                         ErrorCode = 126
	ErrVoterNotFound                          ErrorCode = 127
	ErrInvalidRegularExpression               ErrorCode = 128
	ErrRebootstrapRequired                    ErrorCode = 129
	ErrStreamsInvalidTopology                 ErrorCode = 130
	ErrStreamsInvalidTopologyEpoch            ErrorCode = 131
	ErrStreamsTopologyFenced                  ErrorCode = 132
	ErrShareSessionLimitReached               ErrorCode = 133
	ErrGroupDeletionFailed                    ErrorCode = 134
	ErrStreamsTopologyDescriptionUpdateFailed ErrorCode = 135
	ErrControllerIDNotRegistered              ErrorCode = 136
)

// Client-local error codes (<= LocalCodeMax), raised by the client itself.
const (
	ErrLocalUnknown            ErrorCode = -100
	ErrInvalidArgument         ErrorCode = -101
	ErrInvalidHandle           ErrorCode = -102
	ErrClientClosed            ErrorCode = -103
	ErrTimedOut                ErrorCode = -104
	ErrConnectionFailed        ErrorCode = -105
	ErrNoBrokersAvailable      ErrorCode = -106
	ErrUnsupportedVersionLocal ErrorCode = -107
	ErrCorruptResponse         ErrorCode = -108
	ErrQueueFull               ErrorCode = -109
	ErrMessageTooLargeLocal    ErrorCode = -110
	ErrDeliveryTimeout         ErrorCode = -111
	ErrPartitionNotFound       ErrorCode = -112
	ErrAuthenticationLocal     ErrorCode = -113
	ErrInterrupted             ErrorCode = -114
	ErrNoOffset                ErrorCode = -115
	ErrNotAssigned             ErrorCode = -116
	ErrTLSFailed               ErrorCode = -117
	ErrAllBrokersDown          ErrorCode = -118
	// ErrTxnAbortable and ErrTxnFatal are what the C ABI returns for a
	// core.TxnError (the cause's code and message are in the message).
	ErrTxnAbortable ErrorCode = -119
	ErrTxnFatal     ErrorCode = -120
)

// table holds every known code, sorted by code.
var table = [...]ErrorInfo{
	{ErrTxnFatal, "TXN_FATAL", false, "The transactional producer can do nothing more (fenced by a newer producer with the same transactional.id, or not authorized): close it.", CategoryTxnFatal},
	{ErrTxnAbortable, "TXN_ABORTABLE", false, "The transaction cannot commit (a record or the offsets were refused): abort it, then go on with a new transaction.", CategoryTxnAbortable},
	{ErrAllBrokersDown, "ALL_BROKERS_DOWN", true, "No broker was reachable: nothing was sent (a producer's records were not written).", CategoryConnection},
	{ErrTLSFailed, "TLS_FAILED", false, "The TLS handshake or certificate verification failed.", CategoryAuth},
	{ErrNotAssigned, "NOT_ASSIGNED", false, "The partition is not assigned to this consumer.", CategoryGroup},
	{ErrNoOffset, "NO_OFFSET", false, "There is no committed offset and the offset reset policy is none.", CategoryOffset},
	{ErrInterrupted, "INTERRUPTED", false, "The operation was interrupted or cancelled.", CategoryGeneric},
	{ErrAuthenticationLocal, "AUTHENTICATION_LOCAL", false, "The client could not authenticate to the broker.", CategoryAuth},
	{ErrPartitionNotFound, "PARTITION_NOT_FOUND", false, "The partition does not exist in the client's metadata.", CategoryMetadata},
	{ErrDeliveryTimeout, "DELIVERY_TIMEOUT", false, "The record was not acknowledged before the delivery timeout expired.", CategoryProduce},
	{ErrMessageTooLargeLocal, "MESSAGE_TOO_LARGE_LOCAL", false, "The record is larger than the client's configured maximum request size.", CategoryProduce},
	{ErrQueueFull, "QUEUE_FULL", true, "The local send buffer is full.", CategoryProduce},
	{ErrCorruptResponse, "CORRUPT_RESPONSE", false, "A response from the broker could not be decoded.", CategoryConnection},
	{ErrUnsupportedVersionLocal, "UNSUPPORTED_VERSION_LOCAL", false, "The broker does not support any version of the API that the client implements.", CategoryGeneric},
	{ErrNoBrokersAvailable, "NO_BROKERS_AVAILABLE", true, "No broker could be reached.", CategoryConnection},
	{ErrConnectionFailed, "CONNECTION_FAILED", true, "Connecting to, writing to or reading from a broker failed.", CategoryConnection},
	{ErrTimedOut, "TIMED_OUT", true, "The operation did not complete before its deadline.", CategoryConnection},
	{ErrClientClosed, "CLIENT_CLOSED", false, "The client has been closed.", CategoryGeneric},
	{ErrInvalidHandle, "INVALID_HANDLE", false, "The handle does not refer to a live client object.", CategoryGeneric},
	{ErrInvalidArgument, "INVALID_ARGUMENT", false, "An argument passed to the client is invalid.", CategoryGeneric},
	{ErrLocalUnknown, "LOCAL_UNKNOWN", false, "The client failed with an error it could not classify.", CategoryGeneric},
	{ErrUnknownServerError, "UNKNOWN_SERVER_ERROR", false, "The server experienced an unexpected error when processing the request.", CategoryGeneric},
	{ErrNone, "NONE", false, "", CategoryGeneric},
	{ErrOffsetOutOfRange, "OFFSET_OUT_OF_RANGE", false, "The requested offset is not within the range of offsets maintained by the server.", CategoryOffset},
	{ErrCorruptMessage, "CORRUPT_MESSAGE", true, "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.", CategoryProduce},
	{ErrUnknownTopicOrPartition, "UNKNOWN_TOPIC_OR_PARTITION", true, "This server does not host this topic-partition.", CategoryMetadata},
	{ErrInvalidFetchSize, "INVALID_FETCH_SIZE", false, "The requested fetch size is invalid.", CategoryConsume},
	{ErrLeaderNotAvailable, "LEADER_NOT_AVAILABLE", true, "There is no leader for this topic-partition as we are in the middle of a leadership election.", CategoryMetadata},
	{ErrNotLeaderOrFollower, "NOT_LEADER_OR_FOLLOWER", true, "For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition.", CategoryMetadata},
	{ErrRequestTimedOut, "REQUEST_TIMED_OUT", true, "The request timed out.", CategoryConnection},
	{ErrBrokerNotAvailable, "BROKER_NOT_AVAILABLE", false, "The broker is not available.", CategoryConnection},
	{ErrReplicaNotAvailable, "REPLICA_NOT_AVAILABLE", true, "The replica is not available for the requested topic-partition. Produce/Fetch requests and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER if the broker is not a replica of the topic-partition.", CategoryMetadata},
	{ErrMessageTooLarge, "MESSAGE_TOO_LARGE", false, "The request included a message larger than the max message size the server will accept.", CategoryProduce},
	{ErrStaleControllerEpoch, "STALE_CONTROLLER_EPOCH", false, "The controller moved to another broker.", CategoryGeneric},
	{ErrOffsetMetadataTooLarge, "OFFSET_METADATA_TOO_LARGE", false, "The metadata field of the offset request was too large.", CategoryOffset},
	{ErrNetworkException, "NETWORK_EXCEPTION", true, "The server disconnected before a response was received.", CategoryConnection},
	{ErrCoordinatorLoadInProgress, "COORDINATOR_LOAD_IN_PROGRESS", true, "The coordinator is loading and hence can't process requests.", CategoryGroup},
	{ErrCoordinatorNotAvailable, "COORDINATOR_NOT_AVAILABLE", true, "The coordinator is not available.", CategoryGroup},
	{ErrNotCoordinator, "NOT_COORDINATOR", true, "This is not the correct coordinator.", CategoryGroup},
	{ErrInvalidTopicException, "INVALID_TOPIC_EXCEPTION", false, "The request attempted to perform an operation on an invalid topic.", CategoryMetadata},
	{ErrRecordListTooLarge, "RECORD_LIST_TOO_LARGE", false, "The request included message batch larger than the configured segment size on the server.", CategoryProduce},
	{ErrNotEnoughReplicas, "NOT_ENOUGH_REPLICAS", true, "Messages are rejected since there are fewer in-sync replicas than required.", CategoryProduce},
	{ErrNotEnoughReplicasAfterAppend, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, "Messages are written to the log, but to fewer in-sync replicas than required.", CategoryProduce},
	{ErrInvalidRequiredAcks, "INVALID_REQUIRED_ACKS", false, "Produce request specified an invalid value for required acks.", CategoryProduce},
	{ErrIllegalGeneration, "ILLEGAL_GENERATION", false, "Specified group generation id is not valid.", CategoryGroup},
	{ErrInconsistentGroupProtocol, "INCONSISTENT_GROUP_PROTOCOL", false, "The group member's supported protocols are incompatible with those of existing members or first group member tried to join with empty protocol type or empty protocol list.", CategoryGroup},
	{ErrInvalidGroupID, "INVALID_GROUP_ID", false, "The group id is invalid.", CategoryGroup},
	{ErrUnknownMemberID, "UNKNOWN_MEMBER_ID", false, "The coordinator is not aware of this member.", CategoryGroup},
	{ErrInvalidSessionTimeout, "INVALID_SESSION_TIMEOUT", false, "The session timeout is not within the range allowed by the broker (as configured by group.min.session.timeout.ms and group.max.session.timeout.ms).", CategoryGroup},
	{ErrRebalanceInProgress, "REBALANCE_IN_PROGRESS", false, "The group is rebalancing, so a rejoin is needed.", CategoryGroup},
	{ErrInvalidCommitOffsetSize, "INVALID_COMMIT_OFFSET_SIZE", false, "The committing offset data size is not valid.", CategoryOffset},
	{ErrTopicAuthorizationFailed, "TOPIC_AUTHORIZATION_FAILED", false, "Topic authorization failed.", CategoryAuth},
	{ErrGroupAuthorizationFailed, "GROUP_AUTHORIZATION_FAILED", false, "Group authorization failed.", CategoryAuth},
	{ErrClusterAuthorizationFailed, "CLUSTER_AUTHORIZATION_FAILED", false, "Cluster authorization failed.", CategoryAuth},
	{ErrInvalidTimestamp, "INVALID_TIMESTAMP", false, "The timestamp of the message is out of acceptable range.", CategoryProduce},
	{ErrUnsupportedSaslMechanism, "UNSUPPORTED_SASL_MECHANISM", false, "The broker does not support the requested SASL mechanism.", CategoryAuth},
	{ErrIllegalSaslState, "ILLEGAL_SASL_STATE", false, "Request is not valid given the current SASL state.", CategoryAuth},
	{ErrUnsupportedVersion, "UNSUPPORTED_VERSION", false, "The version of API is not supported.", CategoryGeneric},
	{ErrTopicAlreadyExists, "TOPIC_ALREADY_EXISTS", false, "Topic with this name already exists.", CategoryMetadata},
	{ErrInvalidPartitions, "INVALID_PARTITIONS", false, "Number of partitions is below 1.", CategoryMetadata},
	{ErrInvalidReplicationFactor, "INVALID_REPLICATION_FACTOR", false, "Replication factor is below 1 or larger than the number of available brokers.", CategoryMetadata},
	{ErrInvalidReplicaAssignment, "INVALID_REPLICA_ASSIGNMENT", false, "Replica assignment is invalid.", CategoryMetadata},
	{ErrInvalidConfig, "INVALID_CONFIG", false, "Configuration is invalid.", CategoryGeneric},
	{ErrNotController, "NOT_CONTROLLER", true, "This is not the correct controller for this cluster.", CategoryGeneric},
	{ErrInvalidRequest, "INVALID_REQUEST", false, "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.", CategoryGeneric},
	{ErrUnsupportedForMessageFormat, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, "The message format version on the broker does not support the request.", CategoryGeneric},
	{ErrPolicyViolation, "POLICY_VIOLATION", false, "Request parameters do not satisfy the configured policy.", CategoryGeneric},
	{ErrOutOfOrderSequenceNumber, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, "The broker received an out of order sequence number.", CategoryProduce},
	{ErrDuplicateSequenceNumber, "DUPLICATE_SEQUENCE_NUMBER", false, "The broker received a duplicate sequence number.", CategoryProduce},
	{ErrInvalidProducerEpoch, "INVALID_PRODUCER_EPOCH", false, "Producer attempted to produce with an old epoch.", CategoryProduce},
	{ErrInvalidTxnState, "INVALID_TXN_STATE", false, "The producer attempted a transactional operation in an invalid state.", CategoryProduce},
	{ErrInvalidProducerIDMapping, "INVALID_PRODUCER_ID_MAPPING", false, "The producer attempted to use a producer id which is not currently assigned to its transactional id.", CategoryProduce},
	{ErrInvalidTransactionTimeout, "INVALID_TRANSACTION_TIMEOUT", false, "The transaction timeout is larger than the maximum value allowed by the broker (as configured by transaction.max.timeout.ms).", CategoryProduce},
	{ErrConcurrentTransactions, "CONCURRENT_TRANSACTIONS", true, "The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing.", CategoryProduce},
	{ErrTransactionCoordinatorFenced, "TRANSACTION_COORDINATOR_FENCED", false, "Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current coordinator for a given producer.", CategoryProduce},
	{ErrTransactionalIDAuthorizationFailed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, "Transactional Id authorization failed.", CategoryAuth},
	{ErrSecurityDisabled, "SECURITY_DISABLED", false, "Security features are disabled.", CategoryAuth},
	{ErrOperationNotAttempted, "OPERATION_NOT_ATTEMPTED", false, "The broker did not attempt to execute this operation. This may happen for batched RPCs where some operations in the batch failed, causing the broker to respond without trying the rest.", CategoryGeneric},
	{ErrKafkaStorageError, "KAFKA_STORAGE_ERROR", true, "Disk error when trying to access log file on the disk.", CategoryMetadata},
	{ErrLogDirNotFound, "LOG_DIR_NOT_FOUND", false, "The user-specified log directory is not found in the broker config.", CategoryGeneric},
	{ErrSaslAuthenticationFailed, "SASL_AUTHENTICATION_FAILED", false, "SASL Authentication failed.", CategoryAuth},
	{ErrUnknownProducerID, "UNKNOWN_PRODUCER_ID", false, "This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question. This could happen if, for instance, the producer's records were deleted because their retention time had elapsed. Once the last records of the producerId are removed, the producer's metadata is removed from the broker, and future appends by the producer will return this exception.", CategoryProduce},
	{ErrReassignmentInProgress, "REASSIGNMENT_IN_PROGRESS", false, "A partition reassignment is in progress.", CategoryMetadata},
	{ErrDelegationTokenAuthDisabled, "DELEGATION_TOKEN_AUTH_DISABLED", false, "Delegation Token feature is not enabled.", CategoryAuth},
	{ErrDelegationTokenNotFound, "DELEGATION_TOKEN_NOT_FOUND", false, "Delegation Token is not found on server.", CategoryAuth},
	{ErrDelegationTokenOwnerMismatch, "DELEGATION_TOKEN_OWNER_MISMATCH", false, "Specified Principal is not valid Owner/Renewer.", CategoryAuth},
	{ErrDelegationTokenRequestNotAllowed, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false, "Delegation Token requests are not allowed on PLAINTEXT/1-way SSL channels and on delegation token authenticated channels.", CategoryAuth},
	{ErrDelegationTokenAuthorizationFailed, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false, "Delegation Token authorization failed.", CategoryAuth},
	{ErrDelegationTokenExpired, "DELEGATION_TOKEN_EXPIRED", false, "Delegation Token is expired.", CategoryAuth},
	{ErrInvalidPrincipalType, "INVALID_PRINCIPAL_TYPE", false, "Supplied principalType is not supported.", CategoryAuth},
	{ErrNonEmptyGroup, "NON_EMPTY_GROUP", false, "The group is not empty.", CategoryGroup},
	{ErrGroupIDNotFound, "GROUP_ID_NOT_FOUND", false, "The group id does not exist.", CategoryGroup},
	{ErrFetchSessionIDNotFound, "FETCH_SESSION_ID_NOT_FOUND", true, "The fetch session ID was not found.", CategoryConsume},
	{ErrInvalidFetchSessionEpoch, "INVALID_FETCH_SESSION_EPOCH", true, "The fetch session epoch is invalid.", CategoryConsume},
	{ErrListenerNotFound, "LISTENER_NOT_FOUND", true, "There is no listener on the leader broker that matches the listener on which metadata request was processed.", CategoryMetadata},
	{ErrTopicDeletionDisabled, "TOPIC_DELETION_DISABLED", false, "Topic deletion is disabled.", CategoryMetadata},
	{ErrFencedLeaderEpoch, "FENCED_LEADER_EPOCH", true, "The leader epoch in the request is older than the epoch on the broker.", CategoryMetadata},
	{ErrUnknownLeaderEpoch, "UNKNOWN_LEADER_EPOCH", true, "The leader epoch in the request is newer than the epoch on the broker.", CategoryMetadata},
	{ErrUnsupportedCompressionType, "UNSUPPORTED_COMPRESSION_TYPE", false, "The requesting client does not support the compression type of given partition.", CategoryConsume},
	{ErrStaleBrokerEpoch, "STALE_BROKER_EPOCH", false, "Broker epoch has changed.", CategoryGeneric},
	{ErrOffsetNotAvailable, "OFFSET_NOT_AVAILABLE", true, "The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing.", CategoryOffset},
	{ErrMemberIDRequired, "MEMBER_ID_REQUIRED", false, "The group member needs to have a valid member id before actually entering a consumer group.", CategoryGroup},
	{ErrPreferredLeaderNotAvailable, "PREFERRED_LEADER_NOT_AVAILABLE", true, "The preferred leader was not available.", CategoryMetadata},
	{ErrGroupMaxSizeReached, "GROUP_MAX_SIZE_REACHED", false, "The group has reached its maximum size.", CategoryGroup},
	{ErrFencedInstanceID, "FENCED_INSTANCE_ID", false, "The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id.", CategoryGroup},
	{ErrEligibleLeadersNotAvailable, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true, "Eligible topic partition leaders are not available.", CategoryMetadata},
	{ErrElectionNotNeeded, "ELECTION_NOT_NEEDED", true, "Leader election not needed for topic partition.", CategoryMetadata},
	{ErrNoReassignmentInProgress, "NO_REASSIGNMENT_IN_PROGRESS", false, "No partition reassignment is in progress.", CategoryMetadata},
	{ErrGroupSubscribedToTopic, "GROUP_SUBSCRIBED_TO_TOPIC", false, "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it.", CategoryOffset},
	{ErrInvalidRecord, "INVALID_RECORD", false, "This record has failed the validation on broker and hence will be rejected.", CategoryProduce},
	{ErrUnstableOffsetCommit, "UNSTABLE_OFFSET_COMMIT", true, "There are unstable offsets that need to be cleared.", CategoryOffset},
	{ErrThrottlingQuotaExceeded, "THROTTLING_QUOTA_EXCEEDED", true, "The throttling quota has been exceeded.", CategoryGeneric},
	{ErrProducerFenced, "PRODUCER_FENCED", false, "There is a newer producer with the same transactionalId which fences the current one.", CategoryProduce},
	{ErrResourceNotFound, "RESOURCE_NOT_FOUND", false, "A request illegally referred to a resource that does not exist.", CategoryGeneric},
	{ErrDuplicateResource, "DUPLICATE_RESOURCE", false, "A request illegally referred to the same resource twice.", CategoryGeneric},
	{ErrUnacceptableCredential, "UNACCEPTABLE_CREDENTIAL", false, "Requested credential would not meet criteria for acceptability.", CategoryAuth},
	{ErrInconsistentVoterSet, "INCONSISTENT_VOTER_SET", false, "Indicates that the either the sender or recipient of a voter-only request is not one of the expected voters.", CategoryGeneric},
	{ErrInvalidUpdateVersion, "INVALID_UPDATE_VERSION", false, "The given update version was invalid.", CategoryGeneric},
	{ErrFeatureUpdateFailed, "FEATURE_UPDATE_FAILED", false, "Unable to update finalized features due to an unexpected server error.", CategoryGeneric},
	{ErrPrincipalDeserializationFailure, "PRINCIPAL_DESERIALIZATION_FAILURE", false, "Request principal deserialization failed during forwarding. This indicates an internal error on the broker cluster security setup.", CategoryAuth},
	{ErrSnapshotNotFound, "SNAPSHOT_NOT_FOUND", false, "Requested snapshot was not found.", CategoryGeneric},
	{ErrPositionOutOfRange, "POSITION_OUT_OF_RANGE", false, "Requested position is not greater than or equal to zero, and less than the size of the snapshot.", CategoryGeneric},
	{ErrUnknownTopicID, "UNKNOWN_TOPIC_ID", true, "This server does not host this topic ID.", CategoryMetadata},
	{ErrDuplicateBrokerRegistration, "DUPLICATE_BROKER_REGISTRATION", false, "This broker ID is already in use.", CategoryGeneric},
	{ErrBrokerIDNotRegistered, "BROKER_ID_NOT_REGISTERED", false, "The given broker ID was not registered.", CategoryGeneric},
	{ErrInconsistentTopicID, "INCONSISTENT_TOPIC_ID", true, "The log's topic ID did not match the topic ID in the request.", CategoryMetadata},
	{ErrInconsistentClusterID, "INCONSISTENT_CLUSTER_ID", false, "The clusterId in the request does not match that found on the server.", CategoryGeneric},
	{ErrTransactionalIDNotFound, "TRANSACTIONAL_ID_NOT_FOUND", false, "The transactionalId could not be found.", CategoryProduce},
	{ErrFetchSessionTopicIDError, "FETCH_SESSION_TOPIC_ID_ERROR", true, "The fetch session encountered inconsistent topic ID usage.", CategoryConsume},
	{ErrIneligibleReplica, "INELIGIBLE_REPLICA", false, "The new ISR contains at least one ineligible replica.", CategoryGeneric},
	{ErrNewLeaderElected, "NEW_LEADER_ELECTED", false, "The AlterPartition request successfully updated the partition state but the leader has changed.", CategoryGeneric},
	{ErrOffsetMovedToTieredStorage, "OFFSET_MOVED_TO_TIERED_STORAGE", false, "The requested offset is moved to tiered storage.", CategoryOffset},
	{ErrFencedMemberEpoch, "FENCED_MEMBER_EPOCH", false, "The member epoch is fenced by the group coordinator. The member must abandon all its partitions and rejoin.", CategoryGroup},
	{ErrUnreleasedInstanceID, "UNRELEASED_INSTANCE_ID", false, "The instance ID is still used by another member in the consumer group. That member must leave first.", CategoryGroup},
	{ErrUnsupportedAssignor, "UNSUPPORTED_ASSIGNOR", false, "The assignor or its version range is not supported by the consumer group.", CategoryGroup},
	{ErrStaleMemberEpoch, "STALE_MEMBER_EPOCH", false, "The member epoch is stale. The member must retry after receiving its updated member epoch via the ConsumerGroupHeartbeat API.", CategoryGroup},
	{ErrMismatchedEndpointType, "MISMATCHED_ENDPOINT_TYPE", false, "The request was sent to an endpoint of the wrong type.", CategoryGeneric},
	{ErrUnsupportedEndpointType, "UNSUPPORTED_ENDPOINT_TYPE", false, "This endpoint type is not supported yet.", CategoryGeneric},
	{ErrUnknownControllerID, "UNKNOWN_CONTROLLER_ID", false, "This controller ID is not known.", CategoryGeneric},
	{ErrUnknownSubscriptionID, "UNKNOWN_SUBSCRIPTION_ID", false, "Client sent a push telemetry request with an invalid or outdated subscription ID.", CategoryGeneric},
	{ErrTelemetryTooLarge, "TELEMETRY_TOO_LARGE", false, "Client sent a push telemetry request larger than the maximum size the broker will accept.", CategoryGeneric},
	{ErrInvalidRegistration, "INVALID_REGISTRATION", false, "The controller has considered the broker registration to be invalid.", CategoryGeneric},
	{ErrTransactionAbortable, "TRANSACTION_ABORTABLE", false, "The server encountered an error with the transaction. The client can abort the transaction to continue using this transactional ID.", CategoryProduce},
	{ErrInvalidRecordState, "INVALID_RECORD_STATE", false, "The record state is invalid. The acknowledgement of delivery could not be completed.", CategoryConsume},
	{ErrShareSessionNotFound, "SHARE_SESSION_NOT_FOUND", true, "The share session was not found.", CategoryConsume},
	{ErrInvalidShareSessionEpoch, "INVALID_SHARE_SESSION_EPOCH", true, "The share session epoch is invalid.", CategoryConsume},
	{ErrFencedStateEpoch, "FENCED_STATE_EPOCH", false, "The share coordinator rejected the request because the share-group state epoch did not match.", CategoryGroup},
	{ErrInvalidVoterKey, "INVALID_VOTER_KEY", false, "The voter key doesn't match the receiving replica's key.", CategoryGeneric},
	{ErrDuplicateVoter, "DUPLICATE_VOTER", false, "The voter is already part of the set of voters.", CategoryGeneric},
	{ErrVoterNotFound, "VOTER_NOT_FOUND", false, "The voter is not part of the set of voters.", CategoryGeneric},
	{ErrInvalidRegularExpression, "INVALID_REGULAR_EXPRESSION", false, "The regular expression is not valid.", CategoryGroup},
	{ErrRebootstrapRequired, "REBOOTSTRAP_REQUIRED", false, "Client metadata is stale. The client should rebootstrap to obtain new metadata.", CategoryMetadata},
	{ErrStreamsInvalidTopology, "STREAMS_INVALID_TOPOLOGY", false, "The supplied topology is invalid.", CategoryGroup},
	{ErrStreamsInvalidTopologyEpoch, "STREAMS_INVALID_TOPOLOGY_EPOCH", false, "The supplied topology epoch is invalid.", CategoryGroup},
	{ErrStreamsTopologyFenced, "STREAMS_TOPOLOGY_FENCED", false, "The supplied topology epoch is outdated.", CategoryGroup},
	{ErrShareSessionLimitReached, "SHARE_SESSION_LIMIT_REACHED", true, "The limit of share sessions has been reached.", CategoryConsume},
	{ErrGroupDeletionFailed, "GROUP_DELETION_FAILED", false, "DeleteGroups could not complete; see the error message on the per-group result for details.", CategoryGroup},
	{ErrStreamsTopologyDescriptionUpdateFailed, "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED", false, "The broker could not process the topology description update; see the error message for details.", CategoryGroup},
	{ErrControllerIDNotRegistered, "CONTROLLER_ID_NOT_REGISTERED", false, "The given controller ID was not registered.", CategoryGeneric},
}
