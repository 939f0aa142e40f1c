package core

import (
	"fmt"
	"slices"

	"github.com/gofka/gofka/wire"
)

// The transactional producer's state machine, with the Java client's
// rules. Transitions (anything else is INVALID_TXN_STATE, the producer
// unchanged):
//
//	uninitialized --InitTransactions--> ready
//	ready --BeginTransaction--> inTransaction
//	inTransaction --CommitTransaction--> committing --EndTxn ok--> ready
//	inTransaction --AbortTransaction--> aborting --EndTxn ok--> ready
//	inTransaction, committing --abortable error--> abortableError
//	abortableError --AbortTransaction--> aborting
//	any --fatal error--> fatalError (only Close is left)
//
// A CommitTransaction that times out stays in committing and may be called
// again; an AbortTransaction that times out stays in aborting and may be
// called again. InitTransactions that times out may be called again.
type txnState int

const (
	txnUninitialized txnState = iota
	txnInitializing
	txnReady
	txnInTransaction
	txnCommitting
	txnAborting
	txnAbortableError
	txnFatalError
)

func (s txnState) String() string {
	switch s {
	case txnUninitialized:
		return "uninitialized"
	case txnInitializing:
		return "initializing"
	case txnReady:
		return "ready"
	case txnInTransaction:
		return "in transaction"
	case txnCommitting:
		return "committing"
	case txnAborting:
		return "aborting"
	case txnAbortableError:
		return "abortable error"
	case txnFatalError:
		return "fatal error"
	}
	return fmt.Sprintf("state %d", int(s))
}

// txnFatalCode reports whether a broker error ends the transactional
// producer for good: another instance with the same transactional.id took
// over (fencing), or the producer may not use its transactional.id. The
// application can only Close it (and start a new producer).
func txnFatalCode(code wire.ErrorCode) bool {
	switch code {
	case wire.ErrProducerFenced, wire.ErrInvalidProducerEpoch, wire.ErrTransactionalIDAuthorizationFailed,
		wire.ErrTransactionCoordinatorFenced, wire.ErrClusterAuthorizationFailed, wire.ErrUnsupportedVersion:
		return true
	}
	return false
}

// txnFatalBatchCode is txnFatalCode for a partition leader's answer to a
// Produce of the transaction. INVALID_PRODUCER_EPOCH there is abortable,
// as in the Java client (KIP-588): the coordinator bumped the epoch either
// because the transaction outlived transaction.timeout.ms or because a
// newer producer took over, and the leader cannot tell which. The abort's
// EndTxn asks the coordinator, which accepts it after a timeout (Kafka 4
// on transaction protocol v2; the producer goes on) and fences it after a
// takeover (fatal). From the coordinator the code always means fenced.
func txnFatalBatchCode(code wire.ErrorCode) bool {
	return code != wire.ErrInvalidProducerEpoch && txnFatalCode(code)
}

// txnRetryCode reports whether a transaction coordinator's answer means
// "ask again" (after a short wait, and after finding the coordinator again
// for the coordinator errors).
func txnRetryCode(code wire.ErrorCode) bool {
	switch code {
	case wire.ErrNotCoordinator, wire.ErrCoordinatorNotAvailable, wire.ErrCoordinatorLoadInProgress,
		wire.ErrConcurrentTransactions, wire.ErrRequestTimedOut, wire.ErrNotEnoughReplicas,
		wire.ErrNotEnoughReplicasAfterAppend:
		return true
	}
	return false
}

// admitLocked is the state check that opens a transactional call (t.mu
// held): nil when the state is one of from; the error that put the
// producer in it when it is one of failed; INVALID_TXN_STATE naming op
// otherwise. The caller then moves to the call's own state.
func (t *txnManager) admitLocked(op string, from []txnState, failed ...txnState) error {
	switch {
	case slices.Contains(from, t.state):
		return nil
	case slices.Contains(failed, t.state):
		return t.err
	}
	return txnStateError(op, t.state)
}

// txnStateError is the error of a call made in the wrong state.
func txnStateError(op string, s txnState) error {
	return &wire.Error{Code: wire.ErrInvalidTxnState, Detail: fmt.Sprintf("%s: the transactional producer is %s", op, s)}
}
