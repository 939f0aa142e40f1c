package core

import (
	"fmt"
	"strconv"
	"time"
)

// The connection-pool rows of the configuration table (the "admin and
// connection pool" group of Config).
func init() {
	properties = append(properties,
		Property{"connection.pool", "int", "", "ID of a connection pool (Pool.ID, gofka_pool_new) whose broker connections the client shares with the pool's other clients; empty = the client has a private pool.",
			func(c *Config, v string) error {
				if v == "" {
					c.Pool = nil
					return nil
				}
				id, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return fmt.Errorf("must be a pool id")
				}
				p := poolByID(id)
				if p == nil {
					return fmt.Errorf("no open connection pool has id %d", id)
				}
				c.Pool = p
				return nil
			}},
		Property{"connections.max", "int", "0", "Upper bound on the open broker connections of the client's private pool (or of a pool made by gofka_pool_new); when reached, requests to another broker wait for a free slot. 0 = no limit.",
			intSetter("connections.max", func(c *Config) *int { return &c.PoolMaxConnections })},
		Property{"connections.max.idle.ms", "duration(ms)", "540000", "Connections with no request in flight for this long are closed (and dialed again on next use). 0 = never.",
			durationSetter("connections.max.idle.ms", func(c *Config) *time.Duration { return &c.ConnectionsMaxIdle })},
	)
}

// WithPool makes the client share the broker connections of p (see Pool).
// The client never closes p. Default: a private pool, closed with the
// client.
func WithPool(p *Pool) ClientOption { return clientOpt(func(c *Config) { c.Pool = p }) }

// WithMaxConnections bounds the connections of the client's private pool,
// or of the pool NewPool creates (connections.max; default 0 = no limit).
func WithMaxConnections(n int) ConnOption {
	return connOpt(func(c *Config) { c.PoolMaxConnections = n })
}

// WithAcquireTimeout bounds how long an acquisition from the pool (Get, or
// a client's first request to a broker) waits for a free slot under
// WithMaxConnections and for the dial. Default: the dial timeout
// (WithDialTimeout, 30 s). Go only: pools made from properties use the
// dial timeout.
func WithAcquireTimeout(d time.Duration) PoolOption {
	return poolOpt(func(c *Config) { c.PoolAcquireTimeout = d })
}

// WithConnectionsMaxIdle closes connections idle for d
// (connections.max.idle.ms; default 9 min; 0 = never).
func WithConnectionsMaxIdle(d time.Duration) ConnOption {
	return connOpt(func(c *Config) { c.ConnectionsMaxIdle = d })
}
