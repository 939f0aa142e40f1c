package core

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofka/gofka/wire"
	"github.com/stretchr/testify/require"
)

// python/gofka/_ranges.py must be the one RangesPython renders.
func TestPythonRangesAreCurrent(t *testing.T) {
	got, err := os.ReadFile("../python/gofka/_ranges.py")
	require.NoError(t, err)
	require.Equal(t, RangesPython(), string(got),
		"python/gofka/_ranges.py is stale: run `go run ./core/cmd/configdoc -python > python/gofka/_ranges.py` (make docs)")
}

// Every range names a row of the property table, whose default is in it.
func TestRangesNameProperties(t *testing.T) {
	for _, r := range Ranges() {
		var p *Property
		for _, q := range Properties() {
			if q.Name == r.Name {
				p = &q
				break
			}
		}
		require.NotNil(t, p, "range %s has no property", r.Name)
		require.Equal(t, r.Ms, strings.HasSuffix(r.Name, ".ms"), r.Name)
		d, err := strconv.ParseInt(p.Default, 10, 64)
		require.NoError(t, err, r.Name)
		require.True(t, d >= r.Min && d <= r.Max, "default of %s", r.Name)
	}
}

// rangeDoor is how the Go options express one numeric setting: opt(v) sets
// it to v (in the property's unit), with the options and properties that
// the value needs to be valid as a whole (another setting it must not
// exceed), so that only the range decides.
type rangeDoor struct {
	opt func(v int64) []option
	// props are the other properties the value needs (property door).
	props func(v int64) map[string]string
	// noBelowMin: the option cannot express a value below the minimum (its
	// documented "<= 0 keeps the current setting").
	noBelowMin bool
	// noAboveMax: the option's type (int32) cannot hold a value above the
	// maximum.
	noAboveMax bool
	// skip: a bound that a rule relating two settings refuses whatever
	// else is set (heartbeat.interval.ms must stay below
	// session.timeout.ms, whose range is the same).
	skip int64
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

func retryWith(f func(p *RetryPolicy)) option {
	p := DefaultRetryPolicy()
	f(&p)
	return WithRetry(p)
}

var rangeDoors = map[string]rangeDoor{
	"connect.timeout.ms": {opt: func(v int64) []option { return []option{WithDialTimeout(ms(v))} }},
	"request.timeout.ms": {opt: func(v int64) []option { return []option{WithRequestTimeout(ms(v))} }},
	"metadata.max.age.ms": {opt: func(v int64) []option {
		return []option{connOpt(func(c *Config) { c.MetadataMaxAge = ms(v) })} // no option: the field is the door
	}},
	"socket.connection.setup.timeout.ms": {opt: func(v int64) []option { return []option{WithConnectionSetupTimeout(ms(v))} }},
	"reconnect.backoff.ms": {
		opt: func(v int64) []option { return []option{WithReconnectBackoff(ms(v), ms(max(v, 1000)))} },
		// (the companion stays in its own range: properties apply in key
		// order, so an out-of-range companion would be reported first)
		props: func(v int64) map[string]string {
			return map[string]string{"reconnect.backoff.max.ms": strconv.FormatInt(min(max(v, 1000), maxSettingMs), 10)}
		}},
	"reconnect.backoff.max.ms": {
		opt: func(v int64) []option { return []option{WithReconnectBackoff(0, ms(v))} },
		props: func(v int64) map[string]string {
			return map[string]string{"reconnect.backoff.ms": "0"}
		}},
	"retries": {opt: func(v int64) []option { return []option{retryWith(func(p *RetryPolicy) { p.MaxRetries = int(v) })} }},
	"retry.backoff.ms": {
		opt: func(v int64) []option {
			return []option{retryWith(func(p *RetryPolicy) { p.InitialBackoff, p.MaxBackoff = ms(v), ms(max(v, 30000)) })}
		},
		props: func(v int64) map[string]string {
			return map[string]string{"retry.backoff.max.ms": strconv.FormatInt(min(max(v, 30000), maxSettingMs), 10)}
		}},
	"retry.backoff.max.ms": {
		opt: func(v int64) []option {
			return []option{retryWith(func(p *RetryPolicy) { p.InitialBackoff, p.MaxBackoff = 0, ms(v) })}
		},
		props: func(v int64) map[string]string { return map[string]string{"retry.backoff.ms": "0"} }},
	"connections.max":         {opt: func(v int64) []option { return []option{WithMaxConnections(int(v))} }},
	"connections.max.idle.ms": {opt: func(v int64) []option { return []option{WithConnectionsMaxIdle(ms(v))} }},
	"batch.size":              {opt: func(v int64) []option { return []option{WithBatchSize(int(v))} }},
	// zstd takes the whole range (other codecs narrower ones: wire.CheckCompressionLevel).
	"compression.level": {
		opt: func(v int64) []option {
			return []option{WithCompressionLevel(int(v)), WithCompression(wire.CompressionZstd)}
		},
		props: func(int64) map[string]string { return map[string]string{"compression.type": "zstd"} }},
	"linger.ms": {opt: func(v int64) []option { return []option{WithLinger(ms(v))} }},
	"max.in.flight.requests.per.connection": {
		opt:   func(v int64) []option { return []option{WithMaxInFlight(int(v)), WithIdempotence(false)} },
		props: func(int64) map[string]string { return map[string]string{"enable.idempotence": "false"} }},
	"buffer.memory":          {opt: func(v int64) []option { return []option{WithBufferMemory(v)} }},
	"delivery.timeout.ms":    {opt: func(v int64) []option { return []option{WithDeliveryTimeout(ms(v))} }},
	"max.request.size":       {opt: func(v int64) []option { return []option{WithMaxRequestSize(int(v))} }},
	"transaction.timeout.ms": {opt: func(v int64) []option { return []option{WithTransactionTimeout(ms(v))} }},
	"session.timeout.ms": {
		opt: func(v int64) []option {
			return []option{WithSessionTimeout(ms(v)), WithHeartbeatInterval(ms(max(v-1, 1)))}
		},
		props: func(v int64) map[string]string {
			return map[string]string{"heartbeat.interval.ms": strconv.FormatInt(max(v-1, 1), 10)}
		},
		skip: 1}, // no heartbeat below 1 ms
	"heartbeat.interval.ms": {
		// the session timeout above it, at most its own maximum
		opt: func(v int64) []option {
			return []option{WithHeartbeatInterval(ms(v)), WithSessionTimeout(ms(min(max(v+1, 45000), maxSettingMs)))}
		},
		props: func(v int64) map[string]string {
			return map[string]string{"session.timeout.ms": strconv.FormatInt(min(max(v+1, 45000), maxSettingMs), 10)}
		},
		skip: maxSettingMs}, // no session timeout above it
	"max.poll.interval.ms":    {opt: func(v int64) []option { return []option{WithMaxPollInterval(ms(v))} }},
	"auto.commit.interval.ms": {opt: func(v int64) []option { return []option{WithAutoCommitInterval(ms(v))} }},
	"fetch.min.bytes": {
		opt: func(v int64) []option { return []option{WithFetchBytes(int32(v), 0, 0)} }, noBelowMin: true, noAboveMax: true},
	"fetch.max.bytes": {
		opt: func(v int64) []option { return []option{WithFetchBytes(0, int32(v), 0)} }, noAboveMax: true},
	"max.partition.fetch.bytes": {
		opt: func(v int64) []option { return []option{WithFetchBytes(0, 0, int32(v))} }, noBelowMin: true, noAboveMax: true},
	"queued.max.messages.kbytes": {
		opt: func(v int64) []option { return []option{WithQueuedMaxMessagesKbytes(int32(v))} }},
	"fetch.max.wait.ms": {opt: func(v int64) []option { return []option{WithFetchMaxWait(ms(v))} }},
	"max.poll.records":  {opt: func(v int64) []option { return []option{WithMaxPollRecords(int(v))} }},
}

// validateAll runs what the client constructors run on a Config (client,
// connection, producer and consumer settings; a pool's), with a group so
// that the consumer checks apply.
func validateAll(c Config) error {
	c.GroupID = "g"
	for _, f := range []func() error{c.validate, c.validateConn, c.validateProducer, c.validateConsumer} {
		if err := f(); err != nil {
			return err
		}
	}
	p, err := poolFromConfig(c)
	if p != nil {
		p.Close()
	}
	return err
}

// The property door (key=value lines, as the C ABI and Python pass them)
// and the option door (With...) accept exactly the values of each
// setting's range, and refuse the others naming the property. Python's
// keyword arguments are checked against the same table
// (tests/python/test_setting_agreement.py).
func TestEveryNumericSettingHasOneRangeForEveryDoor(t *testing.T) {
	for _, r := range Ranges() {
		door, ok := rangeDoors[r.Name]
		require.True(t, ok, "no option door in this test for %s", r.Name)
		for _, v := range []int64{r.Min - 1, r.Min, r.Max, r.Max + 1} {
			if door.skip != 0 && v == door.skip {
				continue
			}
			want := v >= r.Min && v <= r.Max
			t.Run(fmt.Sprintf("%s=%d", r.Name, v), func(t *testing.T) {
				props := map[string]string{"bootstrap.servers": "127.0.0.1:1", r.Name: strconv.FormatInt(v, 10)}
				if door.props != nil {
					for k, pv := range door.props(v) {
						props[k] = pv
					}
				}
				cfg, err := configFromProperties(props)
				if err == nil {
					err = validateAll(cfg)
				}
				if want {
					require.NoError(t, err, "property door")
				} else {
					require.ErrorContains(t, err, r.Name, "property door")
				}

				if (v < r.Min && door.noBelowMin) || (v > r.Max && door.noAboveMax) {
					return
				}
				err = validateAll(configOf(append([]option{WithBrokers("127.0.0.1:1")}, door.opt(v)...)))
				if want {
					require.NoError(t, err, "option door")
				} else {
					require.ErrorContains(t, err, r.Name, "option door")
				}
			})
		}
	}
}
