package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/internal/packed"
)

// logCapacity bounds the lines buffered between two drains; older lines are
// dropped first and the next drain reports how many were lost.
const logCapacity = 10000

// logOff is GOFKA_LOG_OFF: no level is enabled.
const logOff = 100

type logLine struct {
	level     core.LogLevel
	unixNanos int64
	subsystem string
	msg       string
}

// logBuffer is the engine's log sink in the C library: a bounded ring of
// lines that the caller takes in bulk with gofka_log_drain (Python drains
// it from its own thread), so no foreign code ever runs on a Go thread.
// Safe for concurrent use.
type logBuffer struct {
	threshold atomic.Int32 // lowest enabled level; logOff = none

	mu      sync.Mutex
	lines   []logLine // ring storage; guarded by mu
	head    int       // index of the oldest line; guarded by mu
	n       int       // lines buffered; guarded by mu
	dropped int64     // lines dropped since the last drain; guarded by mu
	wake    chan struct{}
}

var engineLog = newLogBuffer()

func newLogBuffer() *logBuffer {
	b := &logBuffer{lines: make([]logLine, logCapacity), wake: make(chan struct{}, 1)}
	b.threshold.Store(logOff)
	return b
}

func init() { core.SetDefaultLogger(engineLog) }

func (b *logBuffer) Enabled(level core.LogLevel) bool { return int32(level) >= b.threshold.Load() }

func (b *logBuffer) Log(level core.LogLevel, subsystem, msg string) {
	if !b.Enabled(level) {
		return
	}
	line := logLine{level: level, unixNanos: time.Now().UnixNano(), subsystem: subsystem, msg: msg}
	b.mu.Lock()
	if b.n == len(b.lines) {
		b.lines[b.head] = line // overwrite the oldest
		b.head = (b.head + 1) % len(b.lines)
		b.dropped++
	} else {
		b.lines[(b.head+b.n)%len(b.lines)] = line
		b.n++
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// take removes up to max lines, oldest first, prefixed by a warning when
// lines were dropped.
func (b *logBuffer) take(max int) []logLine {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []logLine
	if b.dropped > 0 {
		out = append(out, logLine{level: core.LogWarn, unixNanos: time.Now().UnixNano(), subsystem: "log",
			msg: fmt.Sprintf("%d engine log lines dropped: more than %d lines were waiting to be drained", b.dropped, len(b.lines))})
		b.dropped = 0
	}
	for len(out) < max && b.n > 0 {
		out = append(out, b.lines[b.head])
		b.lines[b.head] = logLine{}
		b.head = (b.head + 1) % len(b.lines)
		b.n--
	}
	return out
}

// drain waits up to timeout for a line, then takes up to max.
func (b *logBuffer) drain(max int, timeout time.Duration) []logLine {
	if out := b.take(max); len(out) > 0 || timeout <= 0 {
		return out
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-b.wake:
			if out := b.take(max); len(out) > 0 {
				return out
			}
		case <-t.C:
			return b.take(max)
		}
	}
}

// Field offsets of packed.LogHead, looked up once.
var (
	logLevel        = packed.LogHead.Offset("level")
	logTime         = packed.LogHead.Offset("time_ns")
	logSubsystemLen = packed.LogHead.Offset("subsystem_len")
)

// packLogLines encodes lines in the log format of gofka.h.
func packLogLines(lines []logLine) []byte {
	size := 0
	for _, l := range lines {
		size += packed.LogHead.Size + len(l.subsystem) + 4 + len(l.msg)
	}
	out := make([]byte, 0, size)
	for _, l := range lines {
		head := len(out)
		out = out[:head+packed.LogHead.Size]
		binary.LittleEndian.PutUint32(out[head+logLevel:], uint32(l.level))
		binary.LittleEndian.PutUint64(out[head+logTime:], uint64(l.unixNanos))
		binary.LittleEndian.PutUint32(out[head+logSubsystemLen:], uint32(len(l.subsystem)))
		out = append(out, l.subsystem...)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(l.msg)))
		out = append(out, l.msg...)
	}
	return out
}

//export gofka_log_set_level
func gofka_log_set_level(level C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if level < 0 || level > logOff {
		return fill(errOut, invalid("log level %d: must be 0..%d (GOFKA_LOG_OFF)", int(level), logOff))
	}
	engineLog.threshold.Store(int32(level))
	return fill(errOut, nil)
}

//export gofka_log_drain
func gofka_log_drain(maxLines C.int32_t, timeoutMs C.int32_t, bufOut **C.uint8_t, lenOut *C.size_t,
	countOut *C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if bufOut == nil || countOut == nil {
		return fill(errOut, invalid("buf_out and count_out must not be NULL"))
	}
	if maxLines <= 0 {
		return fill(errOut, invalid("max_lines must be positive, got %d", int(maxLines)))
	}
	*bufOut, *countOut = nil, 0
	if lenOut != nil {
		*lenOut = 0
	}
	lines := engineLog.drain(int(maxLines), time.Duration(timeoutMs)*time.Millisecond)
	if len(lines) == 0 {
		return fill(errOut, nil)
	}
	var p *C.char
	if err := cBuffer(packLogLines(lines), &p, lenOut); err != nil {
		return fill(errOut, err)
	}
	*bufOut = (*C.uint8_t)(unsafe.Pointer(p))
	*countOut = C.int32_t(len(lines))
	return fill(errOut, nil)
}
