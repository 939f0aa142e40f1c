package core

import (
	"fmt"
	"time"

	"github.com/gofka/gofka/wire"
)

// Transactional producer settings (core/txn.go). A transactional.id makes
// the producer transactional: it implies enable.idempotence and acks=all,
// so setting either explicitly to something else is an error rather than
// a silent override.

func init() {
	properties = append(properties, txnProperties...)
}

// DefaultTransactionTimeout is transaction.timeout.ms's default, as in
// the Java client: the coordinator aborts a transaction left open longer.
const DefaultTransactionTimeout = 60 * time.Second

var txnProperties = []Property{
	{"transactional.id", "string", "", "Makes the producer transactional (InitTransactions, BeginTransaction, CommitTransaction, AbortTransaction). A second producer with the same id fences the first. Implies enable.idempotence=true and acks=all; setting either to something else is an error. Every front door has the calls (Go, C, Python: docs/transactions.md).",
		func(c *Config, v string) error {
			c.TransactionalID = v
			return nil
		}},
	{"transaction.timeout.ms", "duration(ms)", "60000", "How long the transaction coordinator lets a transaction stay open before it aborts it (the broker refuses values above its transaction.max.timeout.ms, 15 minutes by default, with INVALID_TRANSACTION_TIMEOUT at InitTransactions).",
		durationSetter("transaction.timeout.ms", func(c *Config) *time.Duration { return &c.TransactionTimeout })},
}

// WithTransactionalID makes the producer transactional (transactional.id;
// default none: not transactional).
func WithTransactionalID(id string) ProducerOption {
	return producerOpt(func(c *Config) { c.TransactionalID = id })
}

// WithTransactionTimeout sets transaction.timeout.ms (default 60 s; its
// range is in core/validate.go).
func WithTransactionTimeout(d time.Duration) ProducerOption {
	return producerOpt(func(c *Config) { c.TransactionTimeout = d })
}

// validateTxn checks the transactional settings against the others; part
// of validateProducer.
func (c *Config) validateTxn() error {
	if c.TransactionalID == "" {
		return nil
	}
	bad := func(format string, args ...any) error {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case len(c.TransactionalID) > wire.MaxStringLength:
		return bad("transactional.id is %d bytes long; Kafka allows at most %d", len(c.TransactionalID), wire.MaxStringLength)
	case c.Acks != AcksAll:
		return bad("transactional.id needs acks=all (acks is %d)", c.Acks)
	case c.idempotenceSet && !c.EnableIdempotence:
		return bad("transactional.id needs enable.idempotence=true (it is set to false)")
	}
	return nil
}
