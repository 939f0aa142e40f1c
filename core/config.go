package core

import (
	"crypto/tls"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofka/gofka/wire"
)

// Version is the Gofka release this engine belongs to. The Python package
// and the C header carry the same number.
const Version = "0.2.0"

// Config holds every setting of a client. Constructors build it from the
// defaults of the property table below, then apply typed options
// (NewProducer(opts...), core/options.go) or key=value properties
// (NewProducerFromProperties, the C ABI and Python); so defaults live in
// one place. Client.Config returns a copy for inspection.
//
// A Config is copied into each client at creation and never changed after,
// so clients read it without locks.
//
// Fields are grouped by subsystem; each group's properties are rows of the
// table below (or of a subsystem file's table appended in its init).
type Config struct {
	// --- common ---
	Brokers                []string
	ClientID               string
	DialTimeout            time.Duration
	RequestTimeout         time.Duration
	ConnectionSetupTimeout time.Duration // socket.connection.setup.timeout.ms (core/conn_config.go); 0 = DialTimeout only
	ReconnectBackoff       time.Duration // reconnect.backoff.ms (core/conn_config.go)
	ReconnectBackoffMax    time.Duration // reconnect.backoff.max.ms (core/conn_config.go)
	MetadataMaxAge         time.Duration
	AllowAutoTopicCreation bool
	Retry                  RetryPolicy
	Logger                 Logger // WithLogger; nil = the process default (core/log.go)

	// --- producer ---
	// Properties in core/producer_config.go (acks and compression.type
	// here); defaults and their reasons are documented there.
	Acks              Acks             // acks: AcksAll (-1), AcksNone (0) or AcksLeader (1)
	Compression       wire.Compression // compression.type
	CompressionLevel  int              // compression.level: -1 = the codec's default (wire.CompressionLevelDefault)
	BatchSize         int              // batch.size: bytes of one record batch
	Linger            time.Duration    // linger.ms
	MaxInFlight       int              // max.in.flight.requests.per.connection
	EnableIdempotence bool             // enable.idempotence (effective only with acks=all)
	idempotenceSet    bool             // enable.idempotence was set explicitly (not the default)
	BufferMemory      int64            // buffer.memory: bytes of buffered records
	DeliveryTimeout   time.Duration    // delivery.timeout.ms
	MaxRequestSize    int              // max.request.size
	// Transactions: properties in core/txn_config.go.
	TransactionalID    string        // transactional.id; "" = not transactional
	TransactionTimeout time.Duration // transaction.timeout.ms

	// --- consumer ---
	// Properties in core/consumer_config.go; defaults follow the Java
	// client except where that file says otherwise.
	GroupID                string               // group.id; "" = no group (Assign only, no commits)
	GroupInstanceID        string               // group.instance.id; "" = dynamic member
	GroupProtocol          GroupProtocol        // group.protocol: GroupProtocolClassic or GroupProtocolConsumer (KIP-848)
	GroupRemoteAssignor    string               // group.remote.assignor (consumer protocol); "" = broker default
	AssignmentStrategies   []AssignmentStrategy // partition.assignment.strategy (classic protocol), preferred first
	SessionTimeout         time.Duration        // session.timeout.ms (classic protocol)
	HeartbeatInterval      time.Duration        // heartbeat.interval.ms (classic protocol)
	MaxPollInterval        time.Duration        // max.poll.interval.ms, also the rebalance timeout
	EnableAutoCommit       bool                 // enable.auto.commit
	AutoCommitInterval     time.Duration        // auto.commit.interval.ms
	AutoOffsetReset        OffsetReset          // auto.offset.reset: OffsetResetEarliest, OffsetResetLatest or OffsetResetNone
	IsolationLevel         IsolationLevel       // isolation.level: ReadUncommitted or ReadCommitted
	FetchMinBytes          int32                // fetch.min.bytes
	FetchMaxBytes          int32                // fetch.max.bytes: the most one fetch response carries
	MaxPartitionFetchBytes int32                // max.partition.fetch.bytes
	QueuedMaxKbytes        int32                // queued.max.messages.kbytes: the prefetch bound, KiB
	FetchMaxWait           time.Duration        // fetch.max.wait.ms
	MaxPollRecords         int                  // max.poll.records: Poll's limit when it is given none
	RebalanceCallbacks     bool                 // rebalance.callbacks: revocations wait for the app's next poll
	ClientRack             string               // client.rack

	// --- share consumer ---
	// Properties in core/share_config.go; a ShareConsumer also reads
	// group.id, client.rack, fetch.* and max.poll.records above.
	ShareAcknowledgementMode string // share.acknowledgement.mode: "implicit" or "explicit"

	// --- admin and connection pool ---
	// Properties in core/pool_config.go.
	Pool               *Pool         // connection.pool; nil = a private pool built from the two fields below
	PoolMaxConnections int           // connections.max: bound on the private pool's connections; 0 = none
	ConnectionsMaxIdle time.Duration // connections.max.idle.ms: idle connections are closed after this; 0 = never
	PoolAcquireTimeout time.Duration // WithAcquireTimeout (NewPool only): wait for a free slot and the dial; 0 = DialTimeout

	// --- security ---
	// Properties, options and behaviour in core/tls.go and core/sasl.go
	// (docs/security.md). Files named here are read when the client (or
	// pool) is created. Secrets (passwords, tokens) never appear in errors.
	SecurityProtocol          SecurityProtocol   // security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
	TLS                       *tls.Config        // WithTLS: a ready TLS config (cloned per connection); nil = built from the ssl.* fields
	SSLCALocation             string             // ssl.ca.location: PEM CA certificates; "" = the system store
	SSLCertificateLocation    string             // ssl.certificate.location: PEM client certificate (mutual TLS)
	SSLKeyLocation            string             // ssl.key.location: PEM private key of that certificate
	SSLKeyPassword            Secret             // ssl.key.password: decrypts an encrypted ssl.key.location
	SSLEndpointIdentification string             // ssl.endpoint.identification.algorithm: "https" (check host name) or "none"
	SASLMechanism             string             // sasl.mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER
	SASLUsername              string             // sasl.username (PLAIN, SCRAM)
	SASLPassword              Secret             // sasl.password (PLAIN, SCRAM)
	OAuthBearerTokenProvider  TokenProvider      // WithOAuthBearerTokenProvider; else sasl.oauthbearer.token (OAUTHBEARER)
	OAuthBearerExtensions     map[string]string  // sasl.oauthbearer.extensions: RFC 7628 key=value extensions
	SASL                      SASLMechanism      // WithSASL: a custom mechanism; overrides sasl.mechanism
	oauthToken                *OAuthBearerTokens // set by sasl.oauthbearer.token; updated by SetOAuthBearerToken
	sec                       *securitySetup     // resolved by prepareSecurity; shared by copies
}

// WithBrokers sets the bootstrap brokers ("host:port" each), tried in
// order to reach the cluster (bootstrap.servers). No default: a client
// without brokers fails to be created.
func WithBrokers(brokers ...string) ClientOption {
	return clientOpt(func(c *Config) { c.Brokers = append([]string(nil), brokers...) })
}

// WithClientID sets the client id sent with every request (client.id;
// default "gofka").
func WithClientID(id string) ConnOption { return connOpt(func(c *Config) { c.ClientID = id }) }

// WithDialTimeout bounds each connection attempt, TCP and TLS handshake
// (connect.timeout.ms; default 30 s).
func WithDialTimeout(d time.Duration) ConnOption {
	return connOpt(func(c *Config) { c.DialTimeout = d })
}

// WithRequestTimeout bounds the wait for each response, also when the
// caller's context has a later deadline (request.timeout.ms; default 30 s).
func WithRequestTimeout(d time.Duration) ConnOption {
	return connOpt(func(c *Config) { c.RequestTimeout = d })
}

// WithAcks sets the producer's required acknowledgements (acks; default
// AcksAll).
func WithAcks(acks Acks) ProducerOption { return producerOpt(func(c *Config) { c.Acks = acks }) }

// WithCompression sets the producer's batch compression codec
// (compression.type; default wire.CompressionNone).
func WithCompression(codec wire.Compression) ProducerOption {
	return producerOpt(func(c *Config) { c.Compression = codec })
}

// WithCompressionLevel sets the level of the producer's codec
// (compression.level; default -1, wire.CompressionLevelDefault: the
// codec's default). Levels are librdkafka's: gzip 0..9, lz4 0..12, zstd
// 0..12, snappy none (-1 or 0); how each maps onto the Go codec libraries
// is documented at wire.CompressionLevelDefault. A level the codec does
// not take fails the producer's constructor with INVALID_ARGUMENT.
func WithCompressionLevel(level int) ProducerOption {
	return producerOpt(func(c *Config) { c.CompressionLevel = level })
}

// WithTLS enables TLS with the given configuration (cloned per connection),
// instead of one built from the ssl.* properties. It turns
// security.protocol PLAINTEXT into SSL and SASL_PLAINTEXT into SASL_SSL.
// Default: no TLS (security.protocol PLAINTEXT).
func WithTLS(cfg *tls.Config) ConnOption {
	return connOpt(func(c *Config) {
		c.TLS = cfg
		switch c.SecurityProtocol {
		case "", ProtocolPlaintext:
			c.SecurityProtocol = ProtocolSSL
		case ProtocolSASLPlaintext:
			c.SecurityProtocol = ProtocolSASLSSL
		}
	})
}

// WithRetry sets the retry policy used for retriable errors (see
// RetryPolicy; the properties retries and retry.backoff.*). Default:
// DefaultRetryPolicy (3 retries, 100 ms doubling up to 30 s, jittered).
func WithRetry(p RetryPolicy) ClientOption { return clientOpt(func(c *Config) { c.Retry = p }) }

// WithAllowAutoTopicCreation lets metadata requests create missing topics
// on brokers configured with auto.create.topics.enable
// (allow.auto.create.topics; default true).
func WithAllowAutoTopicCreation(allow bool) ClientOption {
	return clientOpt(func(c *Config) { c.AllowAutoTopicCreation = allow })
}

// Property is one row of the configuration table: the key used by the C
// ABI and Python, its type and default, documentation, and the Java
// client's property of the same meaning.
type Property struct {
	Name    string
	Type    string
	Default string
	Doc     string
	set     func(*Config, string) error
}

// Properties returns the configuration table sorted by name. It generates
// docs/configuration.md (go run ./core/cmd/configdoc).
func Properties() []Property {
	out := append([]Property(nil), properties...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var properties = []Property{
	{"bootstrap.servers", "list", "", "Comma-separated host:port pairs tried in order to reach the cluster. Required.",
		func(c *Config, v string) error {
			var bs []string
			for _, b := range strings.Split(v, ",") {
				if b = strings.TrimSpace(b); b == "" {
					continue
				}
				if _, _, err := splitHostPort(b); err != nil {
					return err
				}
				bs = append(bs, b)
			}
			if len(bs) == 0 {
				return fmt.Errorf("no broker address given")
			}
			c.Brokers = bs
			return nil
		}},
	{"client.id", "string", "gofka", "Client identifier sent with every request; brokers log it and use it for quotas. At most 32,767 bytes (a Kafka STRING), like every string setting sent to brokers (group.id, group.instance.id, client.rack, sasl.username): longer is INVALID_ARGUMENT.",
		func(c *Config, v string) error { c.ClientID = v; return nil }},
	{"connect.timeout.ms", "duration(ms)", "30000", "Upper bound on one connection attempt (TCP connect plus TLS handshake).",
		durationSetter("connect.timeout.ms", func(c *Config) *time.Duration { return &c.DialTimeout })},
	{"request.timeout.ms", "duration(ms)", "30000", "Upper bound on the wait for one response (plus the fetch max wait for fetches and the rebalance timeout for group joins), also under a longer call deadline; a broker that does not answer in time has its connection closed and the request is retried elsewhere when the call allows. Calls without a deadline of their own are bounded by it too.",
		durationSetter("request.timeout.ms", func(c *Config) *time.Duration { return &c.RequestTimeout })},
	{"metadata.max.age.ms", "duration(ms)", "300000", "Cached cluster metadata older than this is refreshed before use.",
		durationSetter("metadata.max.age.ms", func(c *Config) *time.Duration { return &c.MetadataMaxAge })},
	{"allow.auto.create.topics", "bool", "true", "Ask brokers to create a topic the client produces to when it does not exist (if the broker allows it).",
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.AllowAutoTopicCreation = b
			return err
		}},
	{"retries", "int", "3", "Retries after the first attempt of an operation that failed with a retriable error (the error table says which are); 0 disables retries.",
		intSetter("retries", func(c *Config) *int { return &c.Retry.MaxRetries })},
	{"retry.backoff.ms", "duration(ms)", "100", "Wait before the first retry; later waits grow by retry.backoff.multiplier up to retry.backoff.max.ms.",
		durationSetter("retry.backoff.ms", func(c *Config) *time.Duration { return &c.Retry.InitialBackoff })},
	{"retry.backoff.max.ms", "duration(ms)", "30000", "Upper bound on the wait between two retries.",
		durationSetter("retry.backoff.max.ms", func(c *Config) *time.Duration { return &c.Retry.MaxBackoff })},
	{"retry.backoff.multiplier", "float", "2.0", "Factor by which the wait grows after each retry (>= 1.0).",
		func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 1 || math.IsInf(f, 0) || math.IsNaN(f) {
				return fmt.Errorf("must be a finite number >= 1.0")
			}
			c.Retry.BackoffMultiplier = f
			return nil
		}},
	{"retry.jitter", "bool", "true", "Randomise each wait within [backoff/2, backoff] so that many clients do not retry in lockstep.",
		func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Retry.Jitter = b
			return err
		}},
	{"acks", "enum", "all", "Acknowledgements the leader waits for before answering a produce request: all in-sync replicas (all, -1), the leader only (1), or none (0).",
		func(c *Config, v string) error {
			a, err := ParseAcks(v) // case-sensitive, like the Java client and Python
			c.Acks = a
			return err
		}},
	{"compression.type", "enum", "none", "Codec applied to each produced record batch. Names are case-sensitive, as in Kafka's Java client (GZIP is INVALID_ARGUMENT).",
		func(c *Config, v string) error {
			// Case-sensitive, like the Java client (its validator is
			// ValidString.in of the lower-case names): "GZIP" is refused
			// here, in Python and by Kafka alike (core/choices.go).
			codec, err := parseEnum("compression.type", v, wire.CompressionNone, wire.CompressionGzip,
				wire.CompressionSnappy, wire.CompressionLZ4, wire.CompressionZstd)
			c.Compression = codec
			return err
		}},
	{"compression.level", "int", "-1", "Compression level of compression.type, as in librdkafka: -1 is the codec's default; otherwise gzip 0..9 (klauspost/compress gzip levels; -1 is its level 5), lz4 0..12 (0..2 pierrec/lz4's fast compressor, which -1 also is; 3..9 its Level3..Level9; 10..12 Level9), zstd 0..12 (0 and -1 are zstd level 3; the C library and the Python package compress with libzstd, whose own levels these are, as in librdkafka; Go builds without -tags gofka_czstd use klauspost/compress, which maps 1..2 to SpeedFastest, 3..5 SpeedDefault, 6..9 SpeedBetterCompression, 10..12 SpeedBestCompression), snappy -1 or 0 only. A level outside the codec's range is INVALID_ARGUMENT.",
		intSetter("compression.level", func(c *Config) *int { return &c.CompressionLevel })},
}

// defaultConfig returns the defaults of the property table.
func defaultConfig() Config {
	c := Config{Retry: DefaultRetryPolicy()}
	for _, p := range properties {
		if p.Default != "" {
			if err := p.set(&c, p.Default); err != nil {
				panic("core: bad default for " + p.Name + ": " + err.Error())
			}
		}
	}
	c.idempotenceSet = false // the default is not an explicit choice
	return c
}

// Set applies one key=value property to c (as New*FromProperties do for
// each key). An unknown key or a bad value is INVALID_ARGUMENT (and c is
// not to be used).
func (c *Config) Set(key, value string) error {
	for _, p := range properties {
		if p.Name == key {
			if err := p.set(c, strings.TrimSpace(value)); err != nil {
				if secretProperties[key] { // never echo a secret (core/tls.go)
					return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("config %s (value not shown): %v", key, err)}
				}
				return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("config %s=%q: %v", key, value, err)}
			}
			return nil
		}
	}
	return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("unknown config key %q", key)}
}

// configFromProperties builds a Config from key=value properties over the
// defaults. Keys are applied in sorted order, so that of several bad ones
// the same is always reported (no property depends on another's order).
func configFromProperties(props map[string]string) (Config, error) {
	c := defaultConfig()
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := c.Set(k, props[k]); err != nil {
			return c, err
		}
	}
	return c, nil
}

// validate checks what a client cannot run without.
func (c *Config) validate() error {
	if len(c.Brokers) == 0 {
		return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "no bootstrap brokers configured"}
	}
	for _, b := range c.Brokers {
		if _, _, err := splitHostPort(b); err != nil {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: err.Error()}
		}
	}
	// connect/request timeouts, metadata age, connection setup and
	// reconnect backoffs, pool limits (core/validate.go)
	if err := c.checkRanges(rangeCommon); err != nil {
		return err
	}
	if err := c.checkRanges(rangePool); err != nil {
		return err
	}
	if err := c.validateStrings(); err != nil {
		return err
	}
	if err := c.Retry.Validate(); err != nil {
		return err
	}
	return c.prepareSecurity()
}

// validateStrings checks the configured strings that go into requests as
// Kafka STRINGs, whose length is an int16: longer ones cannot be encoded
// (the wire writer refuses them too, but a clear error at construction
// beats a failing request). Lengths are in bytes of UTF-8.
func (c *Config) validateStrings() error {
	check := func(key, v string) error {
		if len(v) > wire.MaxStringLength {
			return &wire.Error{Code: wire.ErrInvalidArgument,
				Detail: fmt.Sprintf("%s is %d bytes long; Kafka allows at most %d", key, len(v), wire.MaxStringLength)}
		}
		return nil
	}
	for _, f := range []struct{ key, v string }{
		{"client.id", c.ClientID},
		{"group.id", c.GroupID},
		{"group.instance.id", c.GroupInstanceID},
		{"group.remote.assignor", c.GroupRemoteAssignor},
		{"client.rack", c.ClientRack},
		{"sasl.username", c.SASLUsername},
	} {
		if err := check(f.key, f.v); err != nil {
			return err
		}
	}
	for _, a := range c.AssignmentStrategies {
		if err := check("partition.assignment.strategy", string(a)); err != nil {
			return err
		}
	}
	return nil
}

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i <= 0 || i == len(addr)-1 {
		return "", 0, fmt.Errorf("broker address %q is not host:port", addr)
	}
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("broker address %q has an invalid port", addr)
	}
	return strings.Trim(addr[:i], "[]"), port, nil
}
