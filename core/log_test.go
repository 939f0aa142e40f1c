package core

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recLogger records lines at or above min.
type recLogger struct {
	min   LogLevel
	mu    sync.Mutex
	lines []string // "LEVEL subsystem: msg"
}

func (r *recLogger) Enabled(l LogLevel) bool { return l >= r.min }

func (r *recLogger) Log(l LogLevel, subsystem, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, l.String()+" "+subsystem+": "+msg)
}

func (r *recLogger) find(prefix, substr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func TestWithLoggerGetsConnectionAndMetadataEvents(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &recLogger{min: LogDebug}
	cl, err := NewClient(WithBrokers(brokers...), WithLogger(rec))
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.Connect(ctx))
	require.True(t, rec.find("INFO conn: ", "connected to "+brokers[0]), "lines: %v", rec.lines)
	require.True(t, rec.find("INFO metadata: ", "controller"), "lines: %v", rec.lines)
	require.True(t, rec.find("DEBUG metadata: ", "metadata refreshed"), "lines: %v", rec.lines)
}

func TestLoggerLevelsAndFailedDial(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := &recLogger{min: LogWarn}
	cl, err := NewClient(WithBrokers("127.0.0.1:1"), WithLogger(rec), WithRetry(RetryPolicy{MaxRetries: 0, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, BackoffMultiplier: 1}))
	require.NoError(t, err)
	defer cl.Close()
	require.Error(t, cl.Connect(ctx))
	require.True(t, rec.find("WARNING conn: ", "connecting to 127.0.0.1:1 (bootstrap) failed"), "lines: %v", rec.lines)
	for _, l := range rec.lines {
		require.False(t, strings.HasPrefix(l, "INFO") || strings.HasPrefix(l, "DEBUG"), "below the enabled level: %s", l)
	}
}

func TestDefaultLoggerAndSlogAdapter(t *testing.T) {
	brokers := testBrokers(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelInfo})
	SetDefaultLogger(SlogLogger(slog.New(h)))
	defer SetDefaultLogger(nil)
	require.IsType(t, slogLogger{}, DefaultLogger())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := NewClient(WithBrokers(brokers...))
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.Connect(ctx))
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	require.Contains(t, out, "level=INFO")
	require.Contains(t, out, "subsystem=conn")
	require.NotContains(t, out, "level=DEBUG") // the handler's level is honoured

	SetDefaultLogger(nil)
	require.Equal(t, NopLogger{}, DefaultLogger())
	require.Equal(t, "WARNING", LogWarn.String())
	require.Equal(t, "LEVEL(15)", LogLevel(15).String())
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestGroupAssignmentIsLogged(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := uniqueTopic(t)
	p, err := NewProducer(WithBrokers(brokers...))
	require.NoError(t, err)
	defer p.Close(ctx)
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("x")}))

	rec := &recLogger{min: LogInfo}
	group := "g-" + topic
	c, err := NewConsumer(WithBrokers(brokers...), WithGroupID(group), WithLogger(rec))
	require.NoError(t, err)
	require.NoError(t, c.Subscribe(ctx, topic))
	require.True(t, rec.find("INFO group: ", `group "`+group+`": assigned [`+topic+"/0]"), "lines: %v", rec.lines)
	require.NoError(t, c.Close(ctx))
}
