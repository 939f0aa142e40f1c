// Package wire implements the Apache Kafka wire protocol: primitive types,
// request and response headers, one file per API key, RecordBatch v2 with its
// compression codecs, and the error-code table.
//
// wire knows bytes, not sockets: nothing here does I/O or imports core/.
// Every decoder works on an in-memory buffer through Reader, which never
// panics and never allocates more than the input can describe, so decoders
// are safe on hostile input (each one has a fuzz target).
//
// Every request and response, at every version its type declares, is
// checked against franz-go's kmsg, generated from Kafka's JSON message
// specs (kmsg_oracle_test.go; kmsg is a test-only dependency): a new
// message type fails TestKmsgOracleCoverage until it has a row there.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Writer appends Kafka protocol primitives to a growing byte slice.
// The zero value is ready to use. Not safe for concurrent use.
type Writer struct {
	B []byte
	// err is the first value that could not be encoded (a string longer
	// than MaxStringLength): sticky, so that an encoder writes on and its
	// caller checks Err once instead of sending a malformed frame.
	err error
}

// MaxStringLength is the longest STRING (or COMPACT_STRING) Kafka allows:
// its length is an int16 (compact strings are held to the same limit by
// Kafka's own encoders).
const MaxStringLength = math.MaxInt16

// Err returns the first encoding error, or nil.
func (w *Writer) Err() error { return w.err }

// Bytes returns the encoded bytes (aliasing the internal buffer).
func (w *Writer) Bytes() []byte { return w.B }

func (w *Writer) Int8(v int8)   { w.B = append(w.B, byte(v)) }
func (w *Writer) Uint8(v uint8) { w.B = append(w.B, v) }
func (w *Writer) Int16(v int16) { w.B = binary.BigEndian.AppendUint16(w.B, uint16(v)) }
func (w *Writer) Int32(v int32) { w.B = binary.BigEndian.AppendUint32(w.B, uint32(v)) }
func (w *Writer) Int64(v int64) { w.B = binary.BigEndian.AppendUint64(w.B, uint64(v)) }

// Uint32 writes a big-endian unsigned 32-bit integer (used by CRCs).
func (w *Writer) Uint32(v uint32) { w.B = binary.BigEndian.AppendUint32(w.B, v) }

func (w *Writer) Float64(v float64) { w.Int64(int64(math.Float64bits(v))) }

func (w *Writer) Bool(v bool) {
	if v {
		w.B = append(w.B, 1)
	} else {
		w.B = append(w.B, 0)
	}
}

// Uvarint writes an unsigned LEB128 varint (Kafka "UNSIGNED_VARINT").
func (w *Writer) Uvarint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }

// Varint writes a zig-zag varint (Kafka "VARINT" / "VARLONG").
func (w *Writer) Varint(v int64) { w.B = binary.AppendVarint(w.B, v) }

// UUID writes 16 raw bytes.
func (w *Writer) UUID(v [16]byte) { w.B = append(w.B, v[:]...) }

// Raw appends bytes with no length prefix.
func (w *Writer) Raw(b []byte) { w.B = append(w.B, b...) }

// String writes a STRING (int16 length) or, when flexible, a COMPACT_STRING.
func (w *Writer) String(flexible bool, s string) {
	if len(s) > MaxStringLength {
		// An int16 length would wrap into a malformed frame.
		if w.err == nil {
			w.err = &Error{Code: ErrInvalidArgument, Detail: fmt.Sprintf("string field of %d bytes is longer than Kafka's %d", len(s), MaxStringLength)}
		}
		return
	}
	if flexible {
		w.Uvarint(uint64(len(s)) + 1)
	} else {
		w.Int16(int16(len(s)))
	}
	w.B = append(w.B, s...)
}

// NullableString writes a NULLABLE_STRING or COMPACT_NULLABLE_STRING; nil is null.
func (w *Writer) NullableString(flexible bool, s *string) {
	if s == nil {
		if flexible {
			w.Uvarint(0)
		} else {
			w.Int16(-1)
		}
		return
	}
	w.String(flexible, *s)
}

// BytesField writes BYTES / NULLABLE_BYTES (int32 length, nil is -1) or the
// compact forms when flexible.
func (w *Writer) BytesField(flexible bool, b []byte) {
	switch {
	case flexible && b == nil:
		w.Uvarint(0)
	case flexible:
		w.Uvarint(uint64(len(b)) + 1)
	case b == nil:
		w.Int32(-1)
	default:
		w.Int32(int32(len(b)))
	}
	w.B = append(w.B, b...)
}

// ArrayLen writes an array length: int32 (null = -1) or, when flexible, a
// compact uvarint of n+1 (null = 0). Pass n < 0 for a null array.
func (w *Writer) ArrayLen(flexible bool, n int) {
	if flexible {
		w.Uvarint(uint64(n + 1))
	} else {
		w.Int32(int32(n))
	}
}

// Int32Array writes an ARRAY of INT32 (nil writes an empty array).
func (w *Writer) Int32Array(flexible bool, v []int32) {
	w.ArrayLen(flexible, len(v))
	for _, x := range v {
		w.Int32(x)
	}
}

// StringArray writes an ARRAY of STRING.
func (w *Writer) StringArray(flexible bool, v []string) {
	w.ArrayLen(flexible, len(v))
	for _, s := range v {
		w.String(flexible, s)
	}
}

// Tags writes an empty tagged-field section when flexible (we send no tagged
// fields of our own unless a message says otherwise).
func (w *Writer) Tags(flexible bool) {
	if flexible {
		w.Uvarint(0)
	}
}

// ErrShortBuffer is returned when a decoder runs past the end of its input.
var ErrShortBuffer = errors.New("wire: buffer too short")

// Reader decodes Kafka protocol primitives from a byte slice.
//
// Errors are sticky: after the first failure every read returns a zero value
// and Err reports the first error, so decoders can read a whole structure and
// check once. Length prefixes are validated against the remaining input
// before anything is allocated.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over b. b is borrowed, not copied: byte slices
// returned by the Reader alias it.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first decoding error, if any.
func (r *Reader) Err() error { return r.err }

// Remaining returns the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// Offset returns how many bytes were consumed.
func (r *Reader) Offset() int { return r.off }

// Fail records err (if none is recorded yet) and stops further reads.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.off = len(r.b)
}

// Failf records a formatted decoding error.
func (r *Reader) Failf(format string, args ...any) { r.Fail(fmt.Errorf("wire: "+format, args...)) }

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.Fail(ErrShortBuffer)
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

func (r *Reader) Int8() int8 {
	p := r.take(1)
	if p == nil {
		return 0
	}
	return int8(p[0])
}

func (r *Reader) Int16() int16 {
	p := r.take(2)
	if p == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(p))
}

func (r *Reader) Int32() int32 {
	p := r.take(4)
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

func (r *Reader) Uint32() uint32 {
	p := r.take(4)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (r *Reader) Int64() int64 {
	p := r.take(8)
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

func (r *Reader) Float64() float64 { return math.Float64frombits(uint64(r.Int64())) }

func (r *Reader) Bool() bool { return r.Int8() != 0 }

func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.Failf("bad unsigned varint")
		return 0
	}
	r.off += n
	return v
}

func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.Failf("bad varint")
		return 0
	}
	r.off += n
	return v
}

// Varint32 reads a zig-zag varint that must fit in an int32.
func (r *Reader) Varint32() int32 {
	v := r.Varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.Failf("varint %d overflows int32", v)
		return 0
	}
	return int32(v)
}

func (r *Reader) UUID() (u [16]byte) {
	copy(u[:], r.take(16))
	return u
}

// Raw returns the next n bytes (aliasing the input).
func (r *Reader) Raw(n int) []byte { return r.take(n) }

// length reads a length prefix and returns it, or -1 for null.
func (r *Reader) length(flexible, wide bool) int {
	if flexible {
		v := r.Uvarint()
		if v > uint64(len(r.b)) {
			r.Fail(ErrShortBuffer)
			return -1
		}
		return int(v) - 1
	}
	if wide {
		return int(r.Int32())
	}
	return int(r.Int16())
}

// NullableString reads a (COMPACT_)NULLABLE_STRING; null gives nil.
func (r *Reader) NullableString(flexible bool) *string {
	n := r.length(flexible, false)
	if n < 0 || r.err != nil {
		return nil
	}
	s := string(r.take(n))
	if r.err != nil {
		return nil
	}
	return &s
}

// String reads a (COMPACT_)STRING; a null string reads as "".
func (r *Reader) String(flexible bool) string {
	if s := r.NullableString(flexible); s != nil {
		return *s
	}
	return ""
}

// BytesField reads (COMPACT_)(NULLABLE_)BYTES; null gives nil. The result
// aliases the input.
func (r *Reader) BytesField(flexible bool) []byte {
	n := r.length(flexible, true)
	if n < 0 || r.err != nil {
		return nil
	}
	return r.take(n)
}

// ArrayLen reads an array length, -1 for a null array. elemMin is the
// smallest encoded size of one element; lengths the remaining input cannot
// hold are rejected before the caller allocates.
func (r *Reader) ArrayLen(flexible bool, elemMin int) int {
	n := r.length(flexible, true)
	if r.err != nil {
		return -1
	}
	if n < -1 {
		r.Failf("negative array length %d", n)
		return -1
	}
	if elemMin < 1 {
		elemMin = 1
	}
	if n > 0 && n > r.Remaining()/elemMin {
		r.Failf("array length %d exceeds remaining %d bytes", n, r.Remaining())
		return -1
	}
	return n
}

// Int32Array reads an ARRAY of INT32 (null reads as nil).
func (r *Reader) Int32Array(flexible bool) []int32 {
	n := r.ArrayLen(flexible, 4)
	if n <= 0 {
		return nil
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = r.Int32()
	}
	return v
}

// StringArray reads an ARRAY of STRING.
func (r *Reader) StringArray(flexible bool) []string {
	n := r.ArrayLen(flexible, 1)
	if n <= 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = r.String(flexible)
	}
	return v
}

// SkipTags reads and discards a tagged-field section when flexible. Messages
// that care about specific tags read them with Tags instead.
func (r *Reader) SkipTags(flexible bool) {
	if !flexible {
		return
	}
	r.Tags(func(tag uint64, data []byte) {})
}

// Tags reads a tagged-field section, calling fn for each field. data aliases
// the input.
func (r *Reader) Tags(fn func(tag uint64, data []byte)) {
	n := r.Uvarint()
	if n > uint64(r.Remaining()) {
		r.Failf("tag count %d exceeds input", n)
		return
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		tag := r.Uvarint()
		size := r.Uvarint()
		if size > uint64(r.Remaining()) {
			r.Fail(ErrShortBuffer)
			return
		}
		data := r.take(int(size))
		if r.err == nil {
			fn(tag, data)
		}
	}
}
