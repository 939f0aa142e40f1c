package core

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gofka/gofka/wire"
	"github.com/stretchr/testify/require"
)

// Each kind has one options constructor and one properties constructor,
// and both give the same settings; the properties constructors refuse an
// unknown key or a bad value (always the first in key order), and accept
// keys of other kinds so that one property set can serve several clients.
func TestConstructorsFromProperties(t *testing.T) {
	props := map[string]string{
		"bootstrap.servers": "127.0.0.1:1",
		"client.id":         "props",
		"acks":              "1",
		"group.id":          "g",
		"auto.offset.reset": "earliest",
		"connections.max":   "3",
	}
	p, err := NewProducerFromProperties(props)
	require.NoError(t, err)
	defer p.Close(context.Background())
	po, err := NewProducer(WithBrokers("127.0.0.1:1"), WithClientID("props"), WithAcks(AcksLeader), WithMaxConnections(3))
	require.NoError(t, err)
	defer po.Close(context.Background())
	for _, cfg := range []Config{p.Client().Config(), po.Client().Config()} {
		require.Equal(t, []string{"127.0.0.1:1"}, cfg.Brokers)
		require.Equal(t, "props", cfg.ClientID)
		require.Equal(t, AcksLeader, cfg.Acks)
		require.Equal(t, 3, cfg.PoolMaxConnections)
	}

	c, err := NewConsumerFromProperties(props)
	require.NoError(t, err)
	defer c.Close(context.Background())
	require.Equal(t, "g", c.Client().Config().GroupID)
	require.Equal(t, OffsetResetEarliest, c.Client().Config().AutoOffsetReset)

	a, err := NewAdminFromProperties(props)
	require.NoError(t, err)
	defer a.Close()
	require.Equal(t, "props", a.Client().Config().ClientID)

	pool, err := NewPoolFromProperties(map[string]string{"connections.max": "2", "connections.max.idle.ms": "60000", "connect.timeout.ms": "7000"})
	require.NoError(t, err)
	defer pool.Close()
	require.Equal(t, PoolConfig{MaxConnections: 2, MaxIdleTime: time.Minute, ConnectionTimeout: 7 * time.Second}, pool.Config())

	ctors := map[string]func(map[string]string) error{
		"producer": func(m map[string]string) error { return closeIfMade(NewProducerFromProperties(m)) },
		"consumer": func(m map[string]string) error { return closeIfMade(NewConsumerFromProperties(m)) },
		"admin":    func(m map[string]string) error { return closeIfMade(NewAdminFromProperties(m)) },
		"pool":     func(m map[string]string) error { return closeIfMade(NewPoolFromProperties(m)) },
	}
	for name, ctor := range ctors {
		err := ctor(map[string]string{"bootstrap.servers": "127.0.0.1:1", "no.such.key": "1"})
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s: %v", name, err)
		require.Contains(t, err.Error(), "no.such.key", name)
		// Two bad values: the first key in sorted order is reported.
		err = ctor(map[string]string{"bootstrap.servers": "127.0.0.1:1", "retries": "-1", "acks": "2"})
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s: %v", name, err)
		require.True(t, strings.Contains(err.Error(), "acks"), "%s: %v", name, err)
	}
	// Without brokers a client cannot be made; a pool needs none.
	for _, name := range []string{"producer", "consumer", "admin"} {
		err := ctors[name](map[string]string{})
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%s: %v", name, err)
	}
	require.NoError(t, ctors["pool"](map[string]string{}))
}

// closeIfMade closes what a constructor made and returns its error.
func closeIfMade[T interface {
	*Producer | *Consumer | *Admin | *Pool
}](x T, err error) error {
	if err != nil {
		return err
	}
	switch v := any(x).(type) {
	case *Producer:
		v.Close(context.Background())
	case *Consumer:
		v.Close(context.Background())
	case *Admin:
		v.Close()
	case *Pool:
		v.Close()
	}
	return nil
}

// NewPool takes options: connection settings shared with clients, and the
// pool's own acquire timeout (default the dial timeout).
func TestNewPoolOptions(t *testing.T) {
	p, err := NewPool(WithMaxConnections(4), WithConnectionsMaxIdle(time.Minute), WithAcquireTimeout(2*time.Second), WithClientID("pooled"))
	require.NoError(t, err)
	defer p.Close()
	require.Equal(t, PoolConfig{MaxConnections: 4, MaxIdleTime: time.Minute, ConnectionTimeout: 2 * time.Second}, p.Config())
	require.Equal(t, "pooled", p.dial.ClientID)

	d, err := NewPool(WithDialTimeout(3 * time.Second))
	require.NoError(t, err)
	defer d.Close()
	require.Equal(t, 3*time.Second, d.Config().ConnectionTimeout)
	require.Equal(t, 9*time.Minute, d.Config().MaxIdleTime) // connections.max.idle.ms default

	for _, bad := range []PoolOption{WithMaxConnections(-1), WithAcquireTimeout(-time.Second), WithDialTimeout(0)} {
		_, err := NewPool(bad)
		require.Equal(t, wire.ErrInvalidArgument, wire.CodeOf(err), "%v", err)
	}
}
