package core

import (
	"fmt"
	"testing"

	"github.com/gofka/gofka/wire"
	"github.com/stretchr/testify/require"
)

// Every typed setting round-trips through its String and Parse (String
// spells the value as the property does), the property path sets the
// same typed value, and bad spellings are INVALID_ARGUMENT naming the
// accepted values.
func TestEnumsRoundTrip(t *testing.T) {
	type enumCase struct {
		key   string
		value fmt.Stringer
		field func(*Config) fmt.Stringer
		parse func(string) (fmt.Stringer, error)
	}
	wrap := func(f func(string) (fmt.Stringer, error)) func(string) (fmt.Stringer, error) { return f }
	acks := wrap(func(s string) (fmt.Stringer, error) { return ParseAcks(s) })
	iso := wrap(func(s string) (fmt.Stringer, error) { return ParseIsolationLevel(s) })
	reset := wrap(func(s string) (fmt.Stringer, error) { return ParseOffsetReset(s) })
	gp := wrap(func(s string) (fmt.Stringer, error) { return ParseGroupProtocol(s) })
	as := wrap(func(s string) (fmt.Stringer, error) { return ParseAssignmentStrategy(s) })
	sp := wrap(func(s string) (fmt.Stringer, error) { return ParseSecurityProtocol(s) })
	cases := []enumCase{
		{"acks", AcksAll, func(c *Config) fmt.Stringer { return c.Acks }, acks},
		{"acks", AcksNone, func(c *Config) fmt.Stringer { return c.Acks }, acks},
		{"acks", AcksLeader, func(c *Config) fmt.Stringer { return c.Acks }, acks},
		{"isolation.level", ReadUncommitted, func(c *Config) fmt.Stringer { return c.IsolationLevel }, iso},
		{"isolation.level", ReadCommitted, func(c *Config) fmt.Stringer { return c.IsolationLevel }, iso},
		{"auto.offset.reset", OffsetResetEarliest, func(c *Config) fmt.Stringer { return c.AutoOffsetReset }, reset},
		{"auto.offset.reset", OffsetResetLatest, func(c *Config) fmt.Stringer { return c.AutoOffsetReset }, reset},
		{"auto.offset.reset", OffsetResetNone, func(c *Config) fmt.Stringer { return c.AutoOffsetReset }, reset},
		{"group.protocol", GroupProtocolClassic, func(c *Config) fmt.Stringer { return c.GroupProtocol }, gp},
		{"group.protocol", GroupProtocolConsumer, func(c *Config) fmt.Stringer { return c.GroupProtocol }, gp},
		{"partition.assignment.strategy", AssignRange, func(c *Config) fmt.Stringer { return c.AssignmentStrategies[0] }, as},
		{"partition.assignment.strategy", AssignRoundRobin, func(c *Config) fmt.Stringer { return c.AssignmentStrategies[0] }, as},
		{"partition.assignment.strategy", AssignCooperativeSticky, func(c *Config) fmt.Stringer { return c.AssignmentStrategies[0] }, as},
		{"security.protocol", ProtocolPlaintext, func(c *Config) fmt.Stringer { return c.SecurityProtocol }, sp},
		{"security.protocol", ProtocolSSL, func(c *Config) fmt.Stringer { return c.SecurityProtocol }, sp},
		{"security.protocol", ProtocolSASLPlaintext, func(c *Config) fmt.Stringer { return c.SecurityProtocol }, sp},
		{"security.protocol", ProtocolSASLSSL, func(c *Config) fmt.Stringer { return c.SecurityProtocol }, sp},
	}
	for _, tc := range cases {
		name := tc.value.String()
		t.Run(tc.key+"="+name, func(t *testing.T) {
			got, err := tc.parse(name)
			require.NoError(t, err)
			require.Equal(t, tc.value, got)
			cfg := newConfig()
			require.NoError(t, cfg.Set(tc.key, name))
			require.Equal(t, tc.value, tc.field(&cfg))
		})
	}
	// Every value of each type has a case above: the Kafka property's
	// values (its row of the choices table, core/choices.go).
	seen := map[string]int{}
	for _, tc := range cases {
		seen[tc.key]++
	}
	for _, p := range Properties() {
		if n, ok := seen[p.Name]; ok && p.Name != "partition.assignment.strategy" {
			require.Equal(t, n, len(choiceOf(p.Name).Values), "values of %s", p.Name)
		}
	}

	for _, bad := range []struct{ key, value string }{
		{"acks", "ALL"}, {"acks", "2"}, {"acks", ""},
		{"isolation.level", "committed"}, {"auto.offset.reset", "sometimes"},
		{"group.protocol", "magic"}, {"partition.assignment.strategy", "sticky"},
		{"security.protocol", "TLS"},
	} {
		cfg := newConfig()
		err := cfg.Set(bad.key, bad.value)
		require.Error(t, err, "%s=%q", bad.key, bad.value)
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err))
	}
	// The alternative spellings the properties accept.
	for _, alt := range []struct {
		value string
		parse func(string) (fmt.Stringer, error)
		want  fmt.Stringer
	}{
		{"-1", acks, AcksAll}, {"READ_COMMITTED", iso, ReadCommitted}, {"Earliest", reset, OffsetResetEarliest},
		{"CONSUMER", gp, GroupProtocolConsumer}, {" Range ", as, AssignRange}, {"sasl_ssl", sp, ProtocolSASLSSL},
	} {
		got, err := alt.parse(alt.value)
		require.NoError(t, err, alt.value)
		require.Equal(t, alt.want, got)
	}
	// Values outside the constants print as what they are, not as a
	// valid-looking name.
	require.Equal(t, "Acks(7)", Acks(7).String())
	require.Equal(t, "IsolationLevel(3)", IsolationLevel(3).String())
}

// A typed value outside the constants (a conversion like Acks(7)) is
// refused when the client is created, as the property path refuses it.
func TestEnumsOutOfRangeRefused(t *testing.T) {
	_, err := NewProducer(WithBrokers("127.0.0.1:1"), WithAcks(Acks(7)))
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%v", err)
	for _, opt := range []ConsumerOption{
		WithIsolationLevel(IsolationLevel(2)),
		WithAutoOffsetReset(OffsetReset("sometimes")),
		WithGroupProtocol(GroupProtocol("magic")),
		WithAssignmentStrategies(AssignmentStrategy("sticky")),
	} {
		_, err := NewConsumer(WithBrokers("127.0.0.1:1"), opt)
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%v", err)
	}
	_, err = NewAdmin(WithBrokers("127.0.0.1:1"), WithSecurityProtocol(SecurityProtocol("TLS")))
	require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%v", err)
}
