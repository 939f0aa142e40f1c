package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// DefaultFailoverCooldown is how long a broker that failed is tried only
// after the healthy ones.
const DefaultFailoverCooldown = 30 * time.Second

// FailoverManager runs operations against one of several brokers: it
// spreads calls round-robin, moves on to the next broker when one fails
// with a connection-class error (category "connection" in the error
// table: refused, reset, timed out, unreachable), remembers failed
// brokers for a cool-down during which healthy brokers are tried first,
// and between rounds over all brokers waits as its RetryPolicy says.
//
// Clients fail over between their bootstrap brokers by themselves; this
// type is for callers that pick a broker address themselves. It is safe
// for concurrent use.
type FailoverManager struct {
	brokers  []string
	policy   RetryPolicy
	cooldown time.Duration
	now      func() time.Time

	mu     sync.Mutex
	health map[string]*brokerHealth // guarded by mu
	next   int                      // round-robin start; guarded by mu
}

type brokerHealth struct {
	failures  int
	downUntil time.Time
	lastErr   error
}

// BrokerHealth is what a FailoverManager knows about one broker.
type BrokerHealth struct {
	Broker    string    `json:"broker"`
	Healthy   bool      `json:"healthy"`
	Failures  int       `json:"failures"`   // consecutive failures
	DownUntil time.Time `json:"down_until"` // end of the cool-down (zero when healthy)
	LastError string    `json:"last_error"`
}

// FailoverOption configures a FailoverManager.
type FailoverOption func(*FailoverManager)

// WithFailoverCooldown sets how long a failed broker stays behind the
// healthy ones (default DefaultFailoverCooldown).
func WithFailoverCooldown(d time.Duration) FailoverOption {
	return func(m *FailoverManager) { m.cooldown = d }
}

// WithFailoverClock replaces time.Now for the cool-downs (tests use a fake
// clock; the waits between rounds go through RetryPolicy.Sleep). Default:
// time.Now.
func WithFailoverClock(now func() time.Time) FailoverOption {
	return func(m *FailoverManager) { m.now = now }
}

// NewFailoverManager creates a manager over brokers ("host:port" each, at
// least one) with the given retry policy: each Execute makes up to
// MaxRetries+1 rounds over the brokers.
func NewFailoverManager(brokers []string, policy RetryPolicy, opts ...FailoverOption) (*FailoverManager, error) {
	if len(brokers) == 0 {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "failover needs at least one broker"}
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	m := &FailoverManager{policy: policy, cooldown: DefaultFailoverCooldown, now: time.Now, health: map[string]*brokerHealth{}}
	for _, b := range brokers {
		if _, _, err := splitHostPort(b); err != nil {
			return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: err.Error()}
		}
		if m.health[b] == nil {
			m.brokers = append(m.brokers, b)
			m.health[b] = &brokerHealth{}
		}
	}
	for _, o := range opts {
		o(m)
	}
	if m.cooldown < 0 {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "failover cool-down must be >= 0"}
	}
	return m, nil
}

// IsConnectionError reports whether err is of the connection class (the
// broker could not be reached or did not answer), which makes a failover
// move on to another broker.
func IsConnectionError(err error) bool {
	return err != nil && wire.Lookup(wire.CodeOf(err)).Category == wire.CategoryConnection
}

// order returns this call's broker order: the brokers rotated by the
// round-robin counter, healthy ones first, then those cooling down, the
// soonest to recover first.
func (m *FailoverManager) order() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.brokers)
	start := m.next % n
	m.next++
	now := m.now()
	out := make([]string, 0, n)
	var down []string
	for i := 0; i < n; i++ {
		b := m.brokers[(start+i)%n]
		if now.Before(m.health[b].downUntil) {
			down = append(down, b)
		} else {
			out = append(out, b)
		}
	}
	sort.SliceStable(down, func(i, j int) bool { return m.health[down[i]].downUntil.Before(m.health[down[j]].downUntil) })
	return append(out, down...)
}

// Execute calls fn with a broker address until a call succeeds. A
// connection-class failure marks the broker failed and moves to the next
// one; any other error is returned as is (the broker answered). After a
// round in which every broker failed it waits JitteredBackoff(round) and
// starts another, up to MaxRetries+1 rounds. When all fail, the error is
// NO_BROKERS_AVAILABLE naming every broker tried with its last error.
func (m *FailoverManager) Execute(ctx context.Context, fn func(ctx context.Context, broker string) error) error {
	var tried []string
	lastErr := map[string]error{}
	for round := 0; ; round++ {
		for _, b := range m.order() {
			err := fn(ctx, b)
			if err == nil {
				m.MarkHealthy(b)
				return nil
			}
			if !IsConnectionError(err) {
				return err
			}
			m.MarkFailed(b, err)
			if _, seen := lastErr[b]; !seen {
				tried = append(tried, b)
			}
			lastErr[b] = err
			if ctx.Err() != nil {
				return m.allFailed(tried, lastErr, round+1)
			}
		}
		if round >= m.policy.MaxRetries {
			return m.allFailed(tried, lastErr, round+1)
		}
		if err := m.policy.wait(ctx, round); err != nil {
			return m.allFailed(tried, lastErr, round+1)
		}
	}
}

func (m *FailoverManager) allFailed(tried []string, lastErr map[string]error, rounds int) error {
	parts := make([]string, len(tried))
	for i, b := range tried {
		parts[i] = fmt.Sprintf("%s: %v", b, lastErr[b])
	}
	return &wire.Error{Code: wire.ErrNoBrokersAvailable,
		Detail: fmt.Sprintf("every broker failed (%d round(s)): %s", rounds, strings.Join(parts, "; "))}
}

// MarkFailed records a failure of broker: it is tried after the healthy
// brokers until the cool-down ends.
func (m *FailoverManager) MarkFailed(broker string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.health[broker]; h != nil {
		h.failures++
		h.downUntil = m.now().Add(m.cooldown)
		h.lastErr = err
	}
}

// MarkHealthy clears broker's failures.
func (m *FailoverManager) MarkHealthy(broker string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.health[broker]; h != nil {
		*h = brokerHealth{}
	}
}

// Healthy returns the brokers not cooling down, in configured order.
func (m *FailoverManager) Healthy() []string {
	var out []string
	for _, h := range m.Status() {
		if h.Healthy {
			out = append(out, h.Broker)
		}
	}
	return out
}

// Status returns the health of every broker, in configured order.
func (m *FailoverManager) Status() []BrokerHealth {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]BrokerHealth, len(m.brokers))
	for i, b := range m.brokers {
		h := m.health[b]
		out[i] = BrokerHealth{Broker: b, Healthy: !now.Before(h.downUntil), Failures: h.failures}
		if !out[i].Healthy {
			out[i].DownUntil = h.downUntil
		}
		if h.lastErr != nil {
			out[i].LastError = h.lastErr.Error()
		}
	}
	return out
}
