package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

// The shapes of the client exports, each written once. cgo needs one
// //export function per C symbol, so every export stays, but it is one
// line of translation over one of these:
//
//   - callSync: a blocking call without a result (callOut: one whose
//     result is a malloc'ed buffer for C);
//   - callAsync: the _async twin, same checks, result posted to a queue;
//   - closeSync / closeAsync: release a handle (once) and close its object;
//   - jsonCall: the prep of the JSON operation tables (gofka_admin_call,
//     gofka_pool_call and their _async twins).
//
// A sync/async pair passes the same prep, so the two validate alike.

// callOp is one operation with its inputs decoded: it runs bounded by ctx
// and returns its result buffer (nil: none) and the offset field of its
// async event (-1: none).
type callOp func(ctx context.Context) ([]byte, int64, error)

// prep decodes an export's inputs for the handle's object (an error is the
// export's at once, before any I/O) and returns the operation.
type prep[T any] func(obj T) (callOp, error)

// kindOf names the handle kind whose object is a T and how such an object
// is closed (bounded by ctx; kinds whose Close takes no context ignore it).
type kindOf[T any] struct {
	kind  handleKind
	close func(obj T, ctx context.Context) error
}

// The handle kinds with blocking or async calls (the first argument of
// the helpers below: callSync(consumers, h, ...)).
var (
	consumers      = kindOf[*core.Consumer]{kindConsumer, (*core.Consumer).Close}
	shareConsumers = kindOf[*core.ShareConsumer]{kindShareConsumer, (*core.ShareConsumer).Close}
	producers      = kindOf[*core.Producer]{kindProducer, (*core.Producer).Close}
	admins         = kindOf[*core.Admin]{kindAdmin, func(a *core.Admin, _ context.Context) error { return a.Close() }}
	pools          = kindOf[*core.Pool]{kindPool, func(p *core.Pool, _ context.Context) error { return p.Close() }}
)

// timeoutDefault is the default of a negative timeout_ms for an object.
type timeoutDefault[T any] func(obj T) time.Duration

// clientOwner is a handle object built on a core.Client.
type clientOwner interface{ Client() *core.Client }

// requestTimeout and dialTimeout are the usual defaults of a negative
// timeout_ms: the client's request.timeout.ms and its dial timeout.
func requestTimeout[T clientOwner](obj T) time.Duration { return obj.Client().Config().RequestTimeout }
func dialTimeout[T clientOwner](obj T) time.Duration    { return obj.Client().Config().DialTimeout }

// noDefault is the "default" of calls whose timeout_ms is clamped to >= 0
// before (polls: a negative timeout waits not at all).
func noDefault[T any](T) time.Duration { return 0 }

// callSync is the body of a blocking export without a result: resolve
// the handle, decode the inputs, run the operation in the calling thread
// bounded by timeoutMs (def when negative).
func callSync[T any](k kindOf[T], h C.gofka_handle_t, timeoutMs C.int32_t, def timeoutDefault[T], p prep[T]) error {
	obj, err := handleOf[T](h, k.kind)
	if err != nil {
		return err
	}
	op, err := p(obj)
	if err != nil {
		return err
	}
	ctx, cancel := timeoutCtx(timeoutMs, def(obj))
	defer cancel()
	_, _, err = op(ctx)
	return err
}

// callOut is callSync for an export that returns its result as a buffer
// (freed with gofka_free): the same checks, then out (named outName in
// gofka.h) must not be NULL; *out and *outLen (may be NULL) are cleared
// before the operation runs and set only when it succeeds.
func callOut[T any](k kindOf[T], h C.gofka_handle_t, timeoutMs C.int32_t, def timeoutDefault[T], p prep[T],
	out **C.char, outLen *C.size_t, outName string) error {
	obj, err := handleOf[T](h, k.kind)
	if err != nil {
		return err
	}
	op, err := p(obj)
	if err != nil {
		return err
	}
	if out == nil {
		return invalid("%s must not be NULL", outName)
	}
	*out = nil
	if outLen != nil {
		*outLen = 0
	}
	ctx, cancel := timeoutCtx(timeoutMs, def(obj))
	defer cancel()
	b, _, err := op(ctx)
	if err != nil {
		return err
	}
	return cBuffer(b, out, outLen)
}

// callAsync is the body of an _async export: the checks of callSync (the
// queue after the handle, the inputs last), then the operation on its own
// goroutine, its result posted to the queue as one event tagged token.
func callAsync[T any](k kindOf[T], h, queue C.gofka_handle_t, token C.uint64_t, timeoutMs C.int32_t, def timeoutDefault[T],
	p prep[T]) error {
	obj, err := handleOf[T](h, k.kind)
	if err != nil {
		return err
	}
	q, err := queueOf(queue)
	if err != nil {
		return err
	}
	op, err := p(obj)
	if err != nil {
		return err
	}
	runAsync(q, uint64(token), timeoutMs, def(obj), op)
	return nil
}

// closeSync is the body of every gofka_*_close of a client: release h
// (once: a second close is INVALID_HANDLE) and close its object bounded by
// timeoutMs (def when negative).
func closeSync[T any](k kindOf[T], h C.gofka_handle_t, timeoutMs C.int32_t, def timeoutDefault[T]) error {
	obj, err := release(h, k.kind)
	if err != nil {
		return err
	}
	o := obj.(T)
	ctx, cancel := timeoutCtx(timeoutMs, def(o))
	defer cancel()
	return k.close(o, ctx)
}

// closeAsync is closeSync posting its result to queue: the queue is
// checked first, so a bad queue handle leaves h open.
func closeAsync[T any](k kindOf[T], h, queue C.gofka_handle_t, token C.uint64_t, timeoutMs C.int32_t, def timeoutDefault[T]) error {
	q, err := queueOf(queue)
	if err != nil {
		return err
	}
	obj, err := release(h, k.kind)
	if err != nil {
		return err
	}
	o := obj.(T)
	runAsync(q, uint64(token), timeoutMs, def(o), func(ctx context.Context) ([]byte, int64, error) {
		return nil, -1, k.close(o, ctx)
	})
	return nil
}

// runAsync runs fn on its own goroutine and posts its result: payload and
// offset (-1 when not applicable) on success, the error otherwise.
func runAsync(q *core.CompletionQueue, token uint64, timeoutMs C.int32_t, def time.Duration, fn callOp) {
	ctx, cancel := timeoutCtx(timeoutMs, def)
	go func() {
		defer cancel()
		defer func() {
			if r := recover(); r != nil {
				q.Post(errorCompletion(token, invalidPanic(r)))
			}
		}()
		payload, offset, err := fn(ctx)
		if err != nil {
			q.Post(errorCompletion(token, err))
			return
		}
		q.Post(core.Completion{Token: token, Partition: -1, Offset: offset, Payload: payload})
	}()
}

// errOnly adapts a call without a result to a callOp.
func errOnly(fn func(context.Context) error) callOp {
	return func(ctx context.Context) ([]byte, int64, error) { return nil, -1, fn(ctx) }
}

// noInputs is the prep of an operation without inputs.
func noInputs[T any](fn func(obj T) func(context.Context) error) prep[T] {
	return func(obj T) (callOp, error) { return errOnly(fn(obj)), nil }
}

// jsonOp is one operation of a JSON call table: it decodes its JSON
// arguments (decodeArgs), calls core and returns a value marshalled as the
// JSON result. Translation only: the behaviour is in core.
type jsonOp[T any] func(ctx context.Context, obj T, args json.RawMessage) (any, error)

// jsonCall is the prep of a JSON call (what names the table in errors):
// op must name one of ops, args_json (NULL or blank = {}) must be valid
// JSON; the arguments are copied (they are borrowed only for the call).
// The operation's result is marshalled to JSON.
func jsonCall[T any](ops map[string]jsonOp[T], what string, opName, argsJSON *C.char) prep[T] {
	return func(obj T) (callOp, error) {
		if opName == nil {
			return nil, invalid("op must not be NULL")
		}
		name := C.GoString(opName)
		fn, ok := ops[name]
		if !ok {
			return nil, invalid("unknown %s operation %q; known: %s", what, name, opNames(ops))
		}
		var args json.RawMessage
		if argsJSON != nil {
			args = json.RawMessage(C.GoString(argsJSON))
			if len(bytes.TrimSpace(args)) > 0 && !json.Valid(args) {
				return nil, invalid("args_json is not valid JSON")
			}
		}
		return func(ctx context.Context) ([]byte, int64, error) {
			res, err := fn(ctx, obj, args)
			if err != nil {
				return nil, -1, err
			}
			b, err := json.Marshal(res)
			if err != nil {
				return nil, -1, &wire.Error{Code: wire.ErrLocalUnknown, Detail: "encoding result: " + err.Error()}
			}
			return b, -1, nil
		}, nil
	}
}

// opNames lists the operations of a table, sorted, for error messages.
func opNames[T any](ops map[string]jsonOp[T]) string {
	names := make([]string, 0, len(ops))
	for n := range ops {
		names = append(names, n)
	}
	sort.Strings(names)
	b, _ := json.Marshal(names)
	return string(b)
}

// decodeArgs decodes JSON args into v, rejecting unknown fields so that a
// misspelt argument is an error rather than silently ignored.
func decodeArgs(args json.RawMessage, v any) error {
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	d := json.NewDecoder(bytes.NewReader(args))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return invalid("arguments: %v", err)
	}
	return nil
}
