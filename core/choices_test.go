package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/gofka/gofka/wire"
	"github.com/stretchr/testify/require"
)

// Every enumerated setting's row names a property of the table (whose
// default it accepts and whose type says enum or list).
func TestChoicesNameProperties(t *testing.T) {
	for _, c := range Choices() {
		var p *Property
		for _, q := range Properties() {
			if q.Name == c.Name {
				p = &q
				break
			}
		}
		require.NotNil(t, p, "choice %s has no property", c.Name)
		if c.List {
			require.Equal(t, "list", p.Type, c.Name)
		} else {
			require.Equal(t, "enum", p.Type, c.Name)
		}
		require.Contains(t, []string{CaseExact, CaseLower, CaseUpper}, c.Case, c.Name)
		for _, v := range c.Values {
			switch c.Case {
			case CaseLower:
				require.Equal(t, strings.ToLower(v), v, c.Name)
			case CaseUpper:
				require.Equal(t, strings.ToUpper(v), v, c.Name)
			}
		}
		require.Nil(t, findRange(c.Name), "%s is both numeric and enumerated", c.Name)
	}
	for _, p := range Properties() {
		if p.Type == "enum" {
			require.NotNil(t, findChoice(p.Name), "property %s says enum but has no choice row", p.Name)
		}
	}
}

// The typed constants of each enumerated setting spell exactly the row's
// values (parseEnum maps a canonical spelling to the constant whose String
// it is), and the classic assignors are those of the row.
func TestChoicesCoverTheTypedConstants(t *testing.T) {
	strs := func(vs ...fmt.Stringer) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.String()
		}
		sort.Strings(out)
		return out
	}
	sorted := func(name string) []string {
		out := append([]string(nil), choiceOf(name).Values...)
		sort.Strings(out)
		return out
	}
	require.Equal(t, sorted("acks"), strs(AcksAll, AcksNone, AcksLeader))
	require.Equal(t, sorted("compression.type"), strs(wire.CompressionNone, wire.CompressionGzip,
		wire.CompressionSnappy, wire.CompressionLZ4, wire.CompressionZstd))
	require.Equal(t, sorted("auto.offset.reset"), strs(OffsetResetEarliest, OffsetResetLatest, OffsetResetNone))
	require.Equal(t, sorted("isolation.level"), strs(ReadUncommitted, ReadCommitted))
	require.Equal(t, sorted("group.protocol"), strs(GroupProtocolClassic, GroupProtocolConsumer))
	require.Equal(t, sorted("partition.assignment.strategy"),
		strs(AssignRange, AssignRoundRobin, AssignCooperativeSticky))
	require.Equal(t, sorted("share.acknowledgement.mode"), strs(ShareAckImplicit, ShareAckExplicit))
	require.Equal(t, sorted("security.protocol"),
		strs(ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL))
	require.ElementsMatch(t, choiceOf("sasl.mechanism").Values,
		[]string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer})
	for _, v := range choiceOf("partition.assignment.strategy").Values {
		require.NotNil(t, assignorByName(AssignmentStrategy(v)), v)
	}
}

// choiceDoor is how the Go options express one enumerated setting.
type choiceDoor struct {
	// opt sets the canonical value v, with what v needs to be valid as a
	// whole.
	opt func(v string) []option
	// props are the other properties v needs (property door).
	props func(v string) map[string]string
	// bad sets a value outside the row (a conversion or a field set by
	// hand: the typed options cannot spell one otherwise).
	bad []option
}

var saslNeeds = func(v string) map[string]string {
	if v == "" { // no mechanism: no SASL
		return nil
	}
	m := map[string]string{"security.protocol": "SASL_PLAINTEXT"}
	if strings.EqualFold(v, MechanismOAuthBearer) {
		m["sasl.oauthbearer.token"] = "tok"
	} else if v != "" {
		m["sasl.username"], m["sasl.password"] = "u", "p"
	}
	return m
}

var choiceDoors = map[string]choiceDoor{
	"acks": {
		opt: func(v string) []option {
			a, err := ParseAcks(v)
			if err != nil {
				panic(err)
			}
			return []option{WithAcks(a)}
		},
		bad: []option{WithAcks(Acks(7))}},
	"compression.type": {
		opt: func(v string) []option {
			codec, err := wire.ParseCompression(v)
			if err != nil {
				panic(err)
			}
			return []option{WithCompression(codec)}
		},
		bad: []option{WithCompression(wire.Compression(9))}},
	"auto.offset.reset": {
		opt: func(v string) []option { return []option{WithAutoOffsetReset(OffsetReset(v))} },
		bad: []option{WithAutoOffsetReset(OffsetReset("sometimes"))}},
	"isolation.level": {
		opt: func(v string) []option {
			l, err := ParseIsolationLevel(v)
			if err != nil {
				panic(err)
			}
			return []option{WithIsolationLevel(l)}
		},
		bad: []option{WithIsolationLevel(IsolationLevel(2))}},
	"group.protocol": {
		opt: func(v string) []option { return []option{WithGroupProtocol(GroupProtocol(v))} },
		bad: []option{WithGroupProtocol(GroupProtocol("magic"))}},
	"partition.assignment.strategy": {
		opt: func(v string) []option { return []option{WithAssignmentStrategies(AssignmentStrategy(v))} },
		bad: []option{WithAssignmentStrategies(AssignRange, AssignmentStrategy("sticky"))}},
	"share.acknowledgement.mode": {
		opt: func(v string) []option { return []option{WithShareAcknowledgementMode(ShareAcknowledgementMode(v))} },
		bad: []option{WithShareAcknowledgementMode(ShareAcknowledgementMode("lazy"))}},
	"security.protocol": {
		opt: func(v string) []option {
			opts := []option{WithSecurityProtocol(SecurityProtocol(v))}
			if strings.HasPrefix(v, "SASL_") {
				opts = append(opts, WithSASL(SASLPlain("u", "p")))
			}
			return opts
		},
		props: func(v string) map[string]string {
			if strings.HasPrefix(strings.ToUpper(v), "SASL_") {
				return map[string]string{"sasl.mechanism": "PLAIN", "sasl.username": "u", "sasl.password": "p"}
			}
			return nil
		},
		bad: []option{WithSecurityProtocol(SecurityProtocol("TLS"))}},
	"sasl.mechanism": {
		// Go chooses a mechanism by value (WithSASL), the name is its
		// Name; OAUTHBEARER by its token provider.
		opt: func(v string) []option {
			opts := []option{WithSecurityProtocol(ProtocolSASLPlaintext)}
			switch v {
			case MechanismPlain:
				return append(opts, WithSASL(SASLPlain("u", "p")))
			case MechanismScramSHA256:
				return append(opts, WithSASL(SASLScramSHA256("u", "p")))
			case MechanismScramSHA512:
				return append(opts, WithSASL(SASLScramSHA512("u", "p")))
			case MechanismOAuthBearer:
				return append(opts, WithOAuthBearerTokenProvider(func(context.Context) (string, error) { return "tok", nil }))
			}
			panic(v)
		},
		props: saslNeeds,
		bad: []option{WithSecurityProtocol(ProtocolSASLPlaintext), connOpt(func(c *Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPassword = "GSSAPI", "u", "p"
		})}},
	"ssl.endpoint.identification.algorithm": {
		// No option: WithTLS gives a whole tls.Config instead; the field is
		// the door.
		opt: func(v string) []option {
			return []option{connOpt(func(c *Config) { c.SSLEndpointIdentification = v })}
		},
		bad: []option{connOpt(func(c *Config) { c.SSLEndpointIdentification = "dns" })}},
}

// validateEvery runs every client kind's checks (validateAll and the share
// consumer's).
func validateEvery(c Config) error {
	if err := validateAll(c); err != nil {
		return err
	}
	c.GroupID = "g"
	return c.validateShareConsumer()
}

// wrongSpelling is a value outside the row: a misspelling, and for a
// case-sensitive row a canonical value in another case.
func wrongSpellings(c Choice) []string {
	out := []string{"bogus", c.Values[0] + "x"}
	if c.Case == CaseExact {
		for _, v := range c.Values {
			if strings.ToUpper(v) != v {
				out = append(out, strings.ToUpper(v))
			}
		}
	}
	if c.List {
		out = append(out, c.Values[0]+",bogus", " , ")
	}
	return out
}

// The property door (key=value lines, as the C ABI and Python pass them)
// and the option door (With...) accept exactly the values of each
// enumerated setting's row, and refuse the others with an error that names
// the property and lists the accepted values. Python's keyword arguments
// are checked against the same row (tests/python/test_setting_agreement.py).
func TestEveryEnumeratedSettingHasOneChoiceForEveryDoor(t *testing.T) {
	for _, c := range Choices() {
		door, ok := choiceDoors[c.Name]
		require.True(t, ok, "no option door in this test for %s", c.Name)
		propConfig := func(v string) (Config, error) {
			props := map[string]string{"bootstrap.servers": "127.0.0.1:1", c.Name: v}
			if door.props != nil {
				for k, pv := range door.props(v) {
					props[k] = pv
				}
			}
			return configFromProperties(props)
		}
		good := c.Accepted()
		if c.Case != CaseExact {
			for _, v := range c.Values {
				good = append(good, strings.ToUpper(v[:1])+strings.ToLower(v[1:])) // any case
			}
		}
		for _, a := range c.Aliases {
			good = append(good, a[0]) // also the empty ones
		}
		if c.List {
			good = append(good, strings.Join(c.Values, ", "))
		}
		for _, v := range good {
			cfg, err := propConfig(v)
			if err == nil {
				err = validateEvery(cfg)
			}
			require.NoError(t, err, "property door %s=%q", c.Name, v)
		}
		for _, v := range wrongSpellings(c) {
			_, err := propConfig(v)
			require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "property door %s=%q: %v", c.Name, v, err)
			require.ErrorContains(t, err, c.Name)
			require.ErrorContains(t, err, strings.Join(c.Accepted(), ", "))
		}
		for _, v := range c.Values {
			err := validateEvery(configOf(append([]option{WithBrokers("127.0.0.1:1")}, door.opt(v)...)))
			require.NoError(t, err, "option door %s=%s", c.Name, v)
		}
		err := validateEvery(configOf(append([]option{WithBrokers("127.0.0.1:1")}, door.bad...)))
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "option door %s: %v", c.Name, err)
		require.ErrorContains(t, err, c.Name)
		require.ErrorContains(t, err, strings.Join(c.Accepted(), ", "))
	}
}
