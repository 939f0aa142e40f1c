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
			func(c *Config, v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return fmt.Errorf("must be a non-negative integer")
				}
				c.PoolMaxConnections = n
				return nil
			}},
		Property{"connections.max.idle.ms", "duration(ms)", "540000", "Connections with no request in flight for this long are closed (and dialed again on next use). 0 = never.",
			durationSetter(func(c *Config) *time.Duration { return &c.ConnectionsMaxIdle })},
	)
}

// WithPool makes the client share the broker connections of p (see Pool).
// The client never closes p.
func WithPool(p *Pool) Option { return func(c *Config) { c.Pool = p } }

// WithMaxConnections bounds the connections of the client's private pool
// (connections.max); 0 = no limit.
func WithMaxConnections(n int) Option { return func(c *Config) { c.PoolMaxConnections = n } }

// WithConnectionsMaxIdle closes connections idle for d
// (connections.max.idle.ms); 0 = never.
func WithConnectionsMaxIdle(d time.Duration) Option {
	return func(c *Config) { c.ConnectionsMaxIdle = d }
}
