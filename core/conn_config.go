package core

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gofka/gofka/wire"
)

// The connection-setup and reconnection rows of the configuration table
// (the "common" group of Config). Defaults follow the Java client:
//
//   - socket.connection.setup.timeout.ms (10 s): one address's connection
//     attempt (TCP connect, TLS, ApiVersions, SASL) is abandoned after this
//     (or connect.timeout.ms, whichever is shorter), so that a broker that
//     accepts connections but never answers (frozen, overloaded) costs a
//     bounded time, well below request.timeout.ms (30 s). Clients looking
//     for any broker also do not wait for it: they start on the next
//     address when one has not answered after anyConnStagger.
//   - reconnect.backoff.ms / reconnect.backoff.max.ms (50 ms / 1 s): the
//     wait before connecting again to a broker that could not be reached,
//     doubling per failure up to the cap, with jitter. It also caps the
//     waits between failing metadata lookups, so a client notices within
//     about a second that brokers are back after an outage, whatever
//     retry.backoff.max.ms (which bounds retries of failed operations) is.
func init() {
	properties = append(properties,
		Property{"socket.connection.setup.timeout.ms", "duration(ms)", "10000", "Upper bound on one connection attempt to one broker address: TCP connect, TLS handshake, ApiVersions and SASL authentication (the shorter of this and connect.timeout.ms applies). A broker that accepts the connection but does not answer is given up after this, and the next address is tried. 0 = connect.timeout.ms only.",
			durationSetter("socket.connection.setup.timeout.ms", func(c *Config) *time.Duration { return &c.ConnectionSetupTimeout })},
		Property{"reconnect.backoff.ms", "duration(ms)", "50", "Wait before reconnecting to a broker that could not be reached; doubles after each failure in a row up to reconnect.backoff.max.ms, with jitter.",
			durationSetter("reconnect.backoff.ms", func(c *Config) *time.Duration { return &c.ReconnectBackoff })},
		Property{"reconnect.backoff.max.ms", "duration(ms)", "1000", "Upper bound on the wait before reconnecting to a broker, and on the wait between two failing metadata lookups or group joins/heartbeats, so that a client resumes within about this long once brokers are back after an outage.",
			durationSetter("reconnect.backoff.max.ms", func(c *Config) *time.Duration { return &c.ReconnectBackoffMax })},
	)
}

// WithConnectionSetupTimeout bounds one connection attempt to one address
// (socket.connection.setup.timeout.ms; default 10 s; 0 = DialTimeout only).
func WithConnectionSetupTimeout(d time.Duration) ConnOption {
	return connOpt(func(c *Config) { c.ConnectionSetupTimeout = d })
}

// WithReconnectBackoff sets reconnect.backoff.ms and reconnect.backoff.max.ms
// (defaults 50 ms and 1 s).
func WithReconnectBackoff(initial, maxBackoff time.Duration) ClientOption {
	return clientOpt(func(c *Config) { c.ReconnectBackoff, c.ReconnectBackoffMax = initial, maxBackoff })
}

// validateConn reports connection settings that cannot work.
func (c *Config) validateConn() error {
	// Their ranges are checked by validate (core/validate.go); here what
	// relates them.
	if c.ReconnectBackoffMax > 0 && c.ReconnectBackoffMax < c.ReconnectBackoff {
		return &wire.Error{Code: wire.ErrInvalidArgument,
			Detail: fmt.Sprintf("reconnect.backoff.max.ms (%v) must not be below reconnect.backoff.ms (%v)", c.ReconnectBackoffMax, c.ReconnectBackoff)}
	}
	return nil
}

// setupTimeout is the bound on one connection attempt: the shorter of
// connect.timeout.ms and socket.connection.setup.timeout.ms (when set).
func (c *Config) setupTimeout() time.Duration {
	d := c.DialTimeout
	if s := c.ConnectionSetupTimeout; s > 0 && (d <= 0 || s < d) {
		d = s
	}
	return d
}

// reconnectBackoff is the wait after fails (>= 1) connection failures in a
// row: reconnect.backoff.ms doubled per further failure, capped at
// reconnect.backoff.max.ms, drawn from [80%, 100%] of that (jitter, so that
// many clients do not reconnect in lockstep). A Config without reconnect
// settings (a literal) uses 50 ms and 1 s.
func (c *Config) reconnectBackoff(fails int) time.Duration {
	base, capD := c.ReconnectBackoff, c.ReconnectBackoffMax
	if base <= 0 && capD <= 0 {
		base, capD = 50*time.Millisecond, time.Second
	}
	if capD <= 0 {
		capD = base
	}
	d := base
	for i := 1; i < fails && d < capD; i++ {
		d *= 2
	}
	d = min(d, capD)
	if d <= 0 {
		return 0
	}
	return d - time.Duration(rand.Float64()*0.2*float64(d))
}

// lookupBackoff is the wait before repeating a failing lookup (metadata,
// producer id, a consumer group's join or heartbeat) after fails failures
// in a row: the retry policy's backoff,
// but never above reconnect.backoff.max.ms, because such a lookup mostly
// fails while brokers are unreachable and should notice quickly when they
// are back.
func (c *Config) lookupBackoff(fails int) time.Duration {
	d := c.Retry.JitteredBackoff(min(max(fails, 0), 10))
	if capD := c.ReconnectBackoffMax; capD > 0 && d > capD {
		d = capD - time.Duration(rand.Float64()*0.2*float64(capD))
	}
	return d
}
