package core

// Options: each kind of client takes its own option type, so that an
// option that means nothing to a client is a compile error rather than a
// setting silently ignored. NewProducer takes ProducerOptions, NewConsumer
// ConsumerOptions, NewAdmin AdminOptions, NewPool PoolOptions and NewClient
// ClientOptions. Settings shared by several kinds are values of a type
// that implements each of their interfaces:
//
//   - ClientOption (WithBrokers, WithRetry, WithPool, ...): every client
//     that talks to a cluster, that is NewProducer, NewConsumer, NewAdmin
//     and NewClient.
//   - ConnOption (WithClientID, WithDialTimeout, WithRequestTimeout,
//     WithTLS, WithSASL, WithLogger, WithMaxConnections, ...): how
//     connections are made and kept, so also NewPool.
//
// For example WithAcks returns a ProducerOption: passing it to NewConsumer
// does not compile. Options apply in order (a later one wins), over the
// defaults of the property table (docs/configuration.md), which each
// option's doc names. Values are checked when the client is created: a bad
// one makes the constructor fail with INVALID_ARGUMENT.
//
// An option is a value: it may be built once and passed to many
// constructors, from any goroutine. A slice of options for one kind is a
// []ProducerOption (say), to which shared options can be appended.

// option is what every option does: change settings of a Config.
type option interface{ apply(*Config) }

// ProducerOption is a setting of NewProducer: a producer option (WithAcks,
// WithLinger, ...), a ClientOption or a ConnOption.
type ProducerOption interface {
	option
	producerOption()
}

// ConsumerOption is a setting of NewConsumer: a consumer option
// (WithGroupID, WithAutoOffsetReset, ...), a ClientOption or a ConnOption.
type ConsumerOption interface {
	option
	consumerOption()
}

// AdminOption is a setting of NewAdmin: a ClientOption or a ConnOption
// (the admin client has no settings of its own).
type AdminOption interface {
	option
	adminOption()
}

// ShareConsumerOption is a setting of NewShareConsumer: a share-consumer
// option (WithShareAcknowledgementMode), a GroupOption (WithGroupID, the
// fetch sizes, WithMaxPollRecords), a ClientOption or a ConnOption.
type ShareConsumerOption interface {
	option
	shareConsumerOption()
}

// GroupOption is a setting both kinds of group member read: accepted by
// NewConsumer and NewShareConsumer.
type GroupOption interface {
	ConsumerOption
	ShareConsumerOption
}

// PoolOption is a setting of NewPool: a pool option (WithAcquireTimeout)
// or a ConnOption.
type PoolOption interface {
	option
	poolOption()
}

// ClientOption is a setting of every client that talks to a cluster:
// accepted by NewProducer, NewConsumer, NewShareConsumer, NewAdmin and
// NewClient.
type ClientOption interface {
	ProducerOption
	ConsumerOption
	ShareConsumerOption
	AdminOption
}

// ConnOption is a setting of how broker connections are made and kept
// (client id, timeouts, TLS, SASL, logging, connection limits): a
// ClientOption that NewPool accepts too.
type ConnOption interface {
	ClientOption
	PoolOption
}

// The implementations: one function type per set of kinds.
type (
	connOpt     func(*Config) // every kind
	clientOpt   func(*Config) // producer, consumer, admin (and Client)
	producerOpt func(*Config)
	consumerOpt func(*Config)
	groupOpt    func(*Config) // consumer and share consumer
	shareOpt    func(*Config)
	poolOpt     func(*Config)
)

func (o connOpt) apply(c *Config)    { o(c) }
func (connOpt) producerOption()      {}
func (connOpt) consumerOption()      {}
func (connOpt) shareConsumerOption() {}
func (connOpt) adminOption()         {}
func (connOpt) poolOption()          {}

func (o clientOpt) apply(c *Config)    { o(c) }
func (clientOpt) producerOption()      {}
func (clientOpt) consumerOption()      {}
func (clientOpt) shareConsumerOption() {}
func (clientOpt) adminOption()         {}

func (o groupOpt) apply(c *Config)    { o(c) }
func (groupOpt) consumerOption()      {}
func (groupOpt) shareConsumerOption() {}

func (o shareOpt) apply(c *Config)    { o(c) }
func (shareOpt) shareConsumerOption() {}

func (o producerOpt) apply(c *Config) { o(c) }
func (producerOpt) producerOption()   {}

func (o consumerOpt) apply(c *Config) { o(c) }
func (consumerOpt) consumerOption()   {}

func (o poolOpt) apply(c *Config) { o(c) }
func (poolOpt) poolOption()       {}

// configOf returns the defaults of the property table with opts applied in
// order. A nil option is skipped (a conditional option left unset).
func configOf[O option](opts []O) Config {
	c := defaultConfig()
	for _, o := range opts {
		if any(o) != nil {
			o.apply(&c)
		}
	}
	return c
}
