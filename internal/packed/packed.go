// Package packed is the one definition of the fixed-size little-endian
// records that libgofka writes into the buffers it hands to its callers
// (include/gofka.h: "events", "messages", "log lines" and the batch
// results of gofka_producer_produce_batch). capi writes them with the offsets and
// sizes below; wire/cmd/errordoc generates from the same tables the
// #defines of gofka.h (between its "BEGIN GENERATED: packed layouts"
// markers, used by python/gofka/_speedups_src) and the struct formats and
// offsets of python/gofka/_layouts.py, and tests fail when either is stale.
// Changing a layout is an ABI change: bump GOFKA_ABI_VERSION.
//
// The tables are read-only after package initialization and safe for
// concurrent use.
package packed

import "fmt"

// Type is the wire type of one field (always little-endian).
type Type int

// The field types; Python's struct codes are 'i', 'I', 'q', 'Q'.
const (
	Int32 Type = iota
	Uint32
	Int64
	Uint64
)

// Size is the field's size in bytes.
func (t Type) Size() int {
	if t == Int64 || t == Uint64 {
		return 8
	}
	return 4
}

// StructCode is the field's format character of Python's struct module.
func (t Type) StructCode() byte { return "iIqQ"[t] }

// CType is the field's C type.
func (t Type) CType() string {
	return [...]string{"int32_t", "uint32_t", "int64_t", "uint64_t"}[t]
}

// Field is one field of a layout: its name, type and byte offset from the
// start of the record.
type Field struct {
	Name   string
	Type   Type
	Offset int
}

// Layout is one fixed-size record: fields back to back, no padding.
type Layout struct {
	Name   string // lower_snake: "event"; C GOFKA_EVENT_*, Python EVENT_*
	Doc    string // one line, for the generated files
	Fields []Field
	Size   int
}

// Offset is the offset of the named field; it panics on an unknown name
// (a programming error caught by every test that encodes the layout).
func (l *Layout) Offset(name string) int {
	for _, f := range l.Fields {
		if f.Name == name {
			return f.Offset
		}
	}
	panic(fmt.Sprintf("packed: layout %s has no field %q", l.Name, name))
}

// StructFormat is the layout as a format string of Python's struct module
// ("<" then one code per field; "<" means no padding, as the layout).
func (l *Layout) StructFormat() string {
	b := []byte{'<'}
	for _, f := range l.Fields {
		b = append(b, f.Type.StructCode())
	}
	return string(b)
}

// f is a field of a layout under construction (its offset is assigned by
// layout).
type f struct {
	name string
	typ  Type
}

// layout packs fields back to back in order, assigning their offsets.
func layout(name, doc string, fields ...f) *Layout {
	l := &Layout{Name: name, Doc: doc}
	for _, x := range fields {
		l.Fields = append(l.Fields, Field{Name: x.name, Type: x.typ, Offset: l.Size})
		l.Size += x.typ.Size()
	}
	return l
}

// The layouts. Field names are those of gofka.h's format descriptions.
var (
	// Event is the head of one event of the events format
	// (gofka_queue_drain and friends); payload_len payload bytes follow it.
	Event = layout("event", "head of one event (events format); payload_len payload bytes follow",
		f{"token", Uint64}, f{"code", Int32}, f{"partition", Int32}, f{"offset", Int64}, f{"payload_len", Uint32})

	// BatchResult is the result of one record in the payload of a
	// gofka_producer_produce_batch event; count of them come first.
	BatchResult = layout("batch_result", "result of one record of a produce_batch event (count of them, in input order)",
		f{"code", Int32}, f{"partition", Int32}, f{"offset", Int64})

	// PollHeader starts the messages format (gofka_consumer_poll).
	PollHeader = layout("poll_header", "start of the messages format (gofka_consumer_poll)",
		f{"message_count", Int32}, f{"event_count", Int32}, f{"topic_count", Int32})

	// MessageHead is the fixed part of one message of the messages
	// format; the start/end pairs are byte ranges of the whole buffer,
	// -1/-1 for a null key or value or no headers.
	MessageHead = layout("message_head", "fixed part of one message of the messages format; ranges [start, end) of the whole buffer, -1/-1 for none",
		f{"topic_index", Int32}, f{"partition", Int32}, f{"offset", Int64}, f{"timestamp_ms", Int64},
		f{"key_start", Int32}, f{"key_end", Int32}, f{"value_start", Int32}, f{"value_end", Int32},
		f{"headers_start", Int32}, f{"headers_end", Int32})

	// LogHead starts one line of the log format (gofka_log_drain);
	// subsystem_len subsystem bytes, then uint32 message_len and the
	// message bytes follow it.
	LogHead = layout("log_head", "start of one line of the log format; subsystem_len subsystem bytes, uint32 message_len and the message follow",
		f{"level", Int32}, f{"time_ns", Int64}, f{"subsystem_len", Uint32})
)

// All is every layout, in the order the generated files list them.
func All() []*Layout { return []*Layout{Event, BatchResult, PollHeader, MessageHead, LogHead} }
