package core

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// LogLevel is the severity of an engine log line. The numbers are those of
// Python's logging module (DEBUG 10 ... ERROR 40), so the C ABI and the
// Python bridge pass them through unchanged.
type LogLevel int32

// Log levels, least to most severe.
const (
	LogDebug LogLevel = 10 // per-request detail: metadata refreshes, dials
	LogInfo  LogLevel = 20 // state changes: connections, group joins, assignments
	LogWarn  LogLevel = 30 // trouble the engine works around: lost connections, failed dials, retries
	LogError LogLevel = 40 // trouble it cannot work around
)

// String returns DEBUG, INFO, WARNING, ERROR (or LEVEL(n)).
func (l LogLevel) String() string {
	switch l {
	case LogDebug:
		return "DEBUG"
	case LogInfo:
		return "INFO"
	case LogWarn:
		return "WARNING"
	case LogError:
		return "ERROR"
	}
	return fmt.Sprintf("LEVEL(%d)", int32(l))
}

// Logger receives the engine's log lines: connections made and lost,
// metadata changes, consumer group rebalances. subsystem names the part of
// the engine ("conn", "metadata", "group", ...); msg is one line without a
// trailing newline.
//
// The engine calls Enabled before it formats a line, so a disabled level
// costs one call. Both methods are called from engine goroutines,
// concurrently, and must return quickly: an implementation that forwards
// lines elsewhere (a file, another language) should buffer them, as the C
// ABI's log buffer does (gofka_log_drain).
type Logger interface {
	Enabled(level LogLevel) bool
	Log(level LogLevel, subsystem, msg string)
}

// WithLogger sends the client's log lines to l. Without it a client uses
// the process-wide default (SetDefaultLogger), which discards everything
// unless set.
func WithLogger(l Logger) ConnOption { return connOpt(func(c *Config) { c.Logger = l }) }

// NopLogger discards every line.
type NopLogger struct{}

// Enabled always reports false.
func (NopLogger) Enabled(LogLevel) bool { return false }

// Log does nothing.
func (NopLogger) Log(LogLevel, string, string) {}

type loggerBox struct{ l Logger }

var defaultLogger atomic.Pointer[loggerBox]

// SetDefaultLogger sets the logger of every client whose configuration has
// none (WithLogger); nil restores the default, which discards. Clients read
// it at each log line, so the change applies to existing clients too. Safe
// for concurrent use.
func SetDefaultLogger(l Logger) {
	if l == nil {
		defaultLogger.Store(nil)
		return
	}
	defaultLogger.Store(&loggerBox{l})
}

// DefaultLogger returns the logger set by SetDefaultLogger (a NopLogger
// when none is).
func DefaultLogger() Logger {
	if b := defaultLogger.Load(); b != nil {
		return b.l
	}
	return NopLogger{}
}

// logger returns the configuration's logger, else the process default.
func (c *Config) logger() Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return DefaultLogger()
}

// logf formats and logs one line when the level is enabled. Callers must
// not hold locks that the logger could wait on (loggers must not block,
// but a slog handler writing to a slow file could).
func (c *Config) logf(level LogLevel, subsystem, format string, args ...any) {
	l := c.logger()
	if !l.Enabled(level) {
		return
	}
	l.Log(level, subsystem, fmt.Sprintf(format, args...))
}

// nodeName names a broker in log lines: "node N", or "bootstrap" for an
// address from the bootstrap list (node id not known yet).
func nodeName(id int32) string {
	if id < 0 {
		return "bootstrap"
	}
	return fmt.Sprintf("node %d", id)
}

// SlogLogger adapts a *slog.Logger: levels map to slog.LevelDebug ...
// slog.LevelError and the subsystem becomes the attribute "subsystem".
func SlogLogger(l *slog.Logger) Logger { return slogLogger{l} }

type slogLogger struct{ l *slog.Logger }

func slogLevel(level LogLevel) slog.Level {
	switch {
	case level >= LogError:
		return slog.LevelError
	case level >= LogWarn:
		return slog.LevelWarn
	case level >= LogInfo:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

func (s slogLogger) Enabled(level LogLevel) bool {
	return s.l.Enabled(context.Background(), slogLevel(level))
}

func (s slogLogger) Log(level LogLevel, subsystem, msg string) {
	s.l.Log(context.Background(), slogLevel(level), msg, slog.String("subsystem", subsystem))
}
