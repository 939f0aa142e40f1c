// Command capi is the C ABI of Gofka, built with -buildmode=c-shared into
// libgofka.so. It only translates between C and core/: handles, buffers,
// error codes. Behaviour belongs in core/.
//
// Rules (see include/gofka.h): opaque handles with one destroy function
// each; inputs borrowed for the call; returned buffers malloc'ed and freed
// with gofka_free; every export recovers panics into GOFKA_ERR_LOCAL_UNKNOWN.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#define GOFKA_TYPES_ONLY
#include <stdlib.h>
#include <string.h>
#include "gofka.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
	"unsafe"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// abiVersion must equal GOFKA_ABI_VERSION in include/gofka.h.
const abiVersion = 1

func main() {}

// init turns on the engine's default Go heap limit (core/memlimit.go) and
// collector pace (core/gcpace.go): the library hosts its process's Go
// runtime, which nothing else tunes. GOMEMLIMIT and GOGC in the
// environment win (GOMEMLIMIT=off: no limit).
func init() {
	core.AutoMemoryLimit()
	core.AutoGCPace()
}

// handleKind tags each handle so that a producer handle passed to an admin
// function is an error rather than a type confusion.
type handleKind uint8

const (
	kindProducer handleKind = iota + 1
	kindAdmin
	kindDevCluster
	kindQueue
	kindConsumer
	kindPool
	kindShareConsumer
)

func (k handleKind) String() string {
	return [...]string{"", "producer", "admin", "dev cluster", "event queue", "consumer", "connection pool", "share consumer"}[k]
}

type handleEntry struct {
	kind handleKind
	obj  any
}

// handles maps live handle numbers to objects. Numbers are never reused, so
// a stale handle can never reach a newer object.
var handles = struct {
	sync.Mutex
	next uint64
	m    map[uint64]handleEntry
}{m: map[uint64]handleEntry{}}

func newHandle(kind handleKind, obj any) C.gofka_handle_t {
	handles.Lock()
	defer handles.Unlock()
	handles.next++
	handles.m[handles.next] = handleEntry{kind, obj}
	return C.gofka_handle_t(handles.next)
}

func lookup(h C.gofka_handle_t, kind handleKind) (any, error) {
	handles.Lock()
	e, ok := handles.m[uint64(h)]
	handles.Unlock()
	if !ok || e.kind != kind {
		return nil, &wire.Error{Code: wire.ErrInvalidHandle, Detail: fmt.Sprintf("%d is not a live %s handle", uint64(h), kind)}
	}
	return e.obj, nil
}

// handleOf is lookup typed: the live object of kind behind h.
func handleOf[T any](h C.gofka_handle_t, kind handleKind) (T, error) {
	obj, err := lookup(h, kind)
	if err != nil {
		var none T
		return none, err
	}
	return obj.(T), nil
}

// newFromConfig is the body of the gofka_*_new exports that take a
// configuration: it parses config (NUL-terminated "key=value" lines),
// builds the client with ctor (core's New*FromProperties, which validates
// every setting) and stores it in a new handle of kind in *out.
func newFromConfig[T any](config *C.char, out *C.gofka_handle_t, kind handleKind,
	ctor func(map[string]string) (T, error)) error {
	if config == nil || out == nil {
		return invalid("config and out must not be NULL")
	}
	props, err := parseProperties(C.GoString(config))
	if err != nil {
		return err
	}
	obj, err := ctor(props)
	if err != nil {
		return err
	}
	*out = newHandle(kind, obj)
	return nil
}

// release removes h and returns its object (once: a second call fails).
func release(h C.gofka_handle_t, kind handleKind) (any, error) {
	handles.Lock()
	defer handles.Unlock()
	e, ok := handles.m[uint64(h)]
	if !ok || e.kind != kind {
		return nil, &wire.Error{Code: wire.ErrInvalidHandle, Detail: fmt.Sprintf("%d is not a live %s handle", uint64(h), kind)}
	}
	delete(handles.m, uint64(h))
	return e.obj, nil
}

// errCode is the code the C ABI gives err, in return values and events
// alike: wire.CodeOf, except that a transactional producer's
// *core.TxnError is TXN_ABORTABLE or TXN_FATAL (its message names the
// cause), the one way C tells the two kinds apart.
func errCode(err error) wire.ErrorCode {
	if te, ok := errors.AsType[*core.TxnError](err); ok && te != nil {
		if te.Fatal {
			return wire.ErrTxnFatal
		}
		return wire.ErrTxnAbortable
	}
	return wire.CodeOf(err)
}

// fill stores err into *out (when out is not NULL) and returns its code
// (errCode).
func fill(out *C.gofka_error_t, err error) C.int32_t {
	code := errCode(err)
	if out != nil {
		info := wire.Lookup(code)
		out.code = C.int32_t(code)
		out.retriable = 0
		if info.Retriable {
			out.retriable = 1
		}
		msg := ""
		if err != nil {
			msg = err.Error()
			info.Name = code.String()
		} else {
			info.Name = ""
		}
		copyCString(unsafe.Pointer(&out.name[0]), len(out.name), info.Name)
		copyCString(unsafe.Pointer(&out.message[0]), len(out.message), msg)
		copyCString(unsafe.Pointer(&out.broker[0]), len(out.broker), brokerOf(err))
	}
	return C.int32_t(code)
}

// brokerOf returns the broker a *wire.Error names, "" when none.
func brokerOf(err error) string {
	if e, ok := errors.AsType[*wire.Error](err); ok && e != nil {
		return e.Broker
	}
	return ""
}

func copyCString(dst unsafe.Pointer, size int, s string) {
	b := unsafe.Slice((*byte)(dst), size)
	n := copy(b[:size-1], s)
	b[n] = 0
}

// guard turns a panic into GOFKA_ERR_LOCAL_UNKNOWN and lets the scheduler
// run a round for the calling thread now and then (refreshP); use as
// `defer guard(err, &rc)` in every exported function.
func guard(out *C.gofka_error_t, rc *C.int32_t) {
	if r := recover(); r != nil {
		*rc = fill(out, &wire.Error{Code: wire.ErrLocalUnknown, Detail: fmt.Sprintf("internal error: %v", r)})
	}
	refreshP()
}

func invalid(format string, args ...any) error {
	return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf(format, args...)}
}

// timeoutCtx maps a C timeout (ms; negative = def) to a context.
func timeoutCtx(ms C.int32_t, def time.Duration) (context.Context, context.CancelFunc) {
	d := def
	if ms >= 0 {
		d = time.Duration(ms) * time.Millisecond
	}
	return context.WithTimeout(context.Background(), d)
}

// cBuffer returns a malloc'ed copy of b (NUL-terminated for convenience).
func cBuffer(b []byte, out **C.char, outLen *C.size_t) error {
	if out == nil {
		return invalid("output pointer is NULL")
	}
	p := C.malloc(C.size_t(len(b) + 1))
	if p == nil {
		return &wire.Error{Code: wire.ErrLocalUnknown, Detail: "out of memory"}
	}
	dst := unsafe.Slice((*byte)(p), len(b)+1)
	copy(dst, b)
	dst[len(b)] = 0
	*out = (*C.char)(p)
	if outLen != nil {
		*outLen = C.size_t(len(b))
	}
	return nil
}

// borrow views C memory as a Go slice without copying; valid only during
// the call. n < 0 gives nil (null), a NULL pointer with n > 0 an error.
func borrow(p unsafe.Pointer, n int64) ([]byte, error) {
	switch {
	case n == -1:
		return nil, nil
	case n < 0:
		return nil, invalid("length %d is negative (only -1, meaning null, is allowed)", n)
	case n == 0:
		return []byte{}, nil
	case p == nil:
		return nil, invalid("NULL buffer with length %d", n)
	case n > 1<<31:
		return nil, invalid("buffer length %d too large", n)
	}
	return unsafe.Slice((*byte)(p), int(n)), nil
}

// sizeArg converts a size_t length for borrow. Sizes past what borrow
// accepts stay too large instead of wrapping to a negative int64 (SIZE_MAX
// would otherwise read as -1, "null").
func sizeArg(n C.size_t) int64 {
	if uint64(n) > 1<<31 {
		return math.MaxInt64
	}
	return int64(n)
}

var versionCString = C.CString(core.Version)

//export gofka_version
func gofka_version() *C.char { return versionCString }

//export gofka_abi_version
func gofka_abi_version() C.int32_t { return abiVersion }

//export gofka_free
func gofka_free(p unsafe.Pointer) { C.free(p) }

//export gofka_error_table
func gofka_error_table(out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	b, err := json.Marshal(wire.ErrorTable())
	if err == nil {
		err = cBuffer(b, out, outLen)
	}
	return fill(errOut, err)
}
