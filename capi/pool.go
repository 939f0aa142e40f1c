package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"time"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

func poolOf(h C.gofka_handle_t) (*core.Pool, error) {
	return handleOf[*core.Pool](h, kindPool)
}

//export gofka_pool_new
func gofka_pool_new(config *C.char, out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, newFromConfig(config, out, kindPool, core.NewPoolFromProperties))
}

//export gofka_pool_id
func gofka_pool_id(h C.gofka_handle_t, idOut *C.uint64_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	p, err := poolOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	if idOut == nil {
		return fill(errOut, invalid("id_out must not be NULL"))
	}
	*idOut = C.uint64_t(p.ID())
	return fill(errOut, nil)
}

type poolConnArgs struct {
	Conn    uint64 `json:"conn"`
	Discard bool   `json:"discard"`
}

type poolGetArgs struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// poolConnInfo describes a leased connection.
type poolConnInfo struct {
	Conn        uint64              `json:"conn"`
	Addr        string              `json:"addr"`
	Closed      bool                `json:"closed"`
	APIVersions map[string][2]int16 `json:"api_versions"`
}

func leaseOf(p *core.Pool, id uint64) (*core.PoolConn, error) {
	c := p.Lease(id)
	if c == nil {
		return nil, invalid("connection %d is not leased from this pool", id)
	}
	return c, nil
}

// poolOps are the operations of gofka_pool_call / gofka_pool_call_async.
var poolOps = map[string]jsonOp[*core.Pool]{
	"get": func(ctx context.Context, p *core.Pool, raw json.RawMessage) (any, error) {
		var a poolGetArgs
		if err := decodeArgs(raw, &a); err != nil {
			return nil, err
		}
		if a.Host == "" || a.Port <= 0 || a.Port > 65535 {
			return nil, invalid("host must be non-empty and port in 1..65535, got %q:%d", a.Host, a.Port)
		}
		c, err := p.Get(ctx, net.JoinHostPort(a.Host, strconv.Itoa(a.Port)))
		if err != nil {
			return nil, err
		}
		return poolConnInfo{Conn: c.ID(), Addr: c.Addr(), Closed: c.Closed(), APIVersions: c.APIVersions()}, nil
	},
	"release": func(ctx context.Context, p *core.Pool, raw json.RawMessage) (any, error) {
		var a poolConnArgs
		if err := decodeArgs(raw, &a); err != nil {
			return nil, err
		}
		c := p.Lease(a.Conn)
		if c == nil {
			return nil, invalid("connection %d is not leased from this pool", a.Conn)
		}
		return nil, p.Release(c, a.Discard)
	},
	"conn_info": func(ctx context.Context, p *core.Pool, raw json.RawMessage) (any, error) {
		var a poolConnArgs
		if err := decodeArgs(raw, &a); err != nil {
			return nil, err
		}
		c, err := leaseOf(p, a.Conn)
		if err != nil {
			return nil, err
		}
		return poolConnInfo{Conn: c.ID(), Addr: c.Addr(), Closed: c.Closed(), APIVersions: c.APIVersions()}, nil
	},
	"api_versions": func(ctx context.Context, p *core.Pool, raw json.RawMessage) (any, error) {
		var a poolConnArgs
		if err := decodeArgs(raw, &a); err != nil {
			return nil, err
		}
		c, err := leaseOf(p, a.Conn)
		if err != nil {
			return nil, err
		}
		resp, err := c.Request(ctx, &wire.ApiVersionsRequest{ClientSoftwareName: "gofka", ClientSoftwareVersion: core.Version})
		if err != nil {
			return nil, err
		}
		r := resp.(*wire.ApiVersionsResponse)
		if err := wire.AsError(r.ErrorCode); err != nil {
			return nil, &wire.Error{Code: wire.CodeOf(err), Detail: "ApiVersions", Broker: c.Addr()}
		}
		out := make(map[string][2]int16, len(r.ApiKeys))
		for _, k := range r.ApiKeys {
			out[wire.APIName(k.ApiKey)] = [2]int16{k.MinVersion, k.MaxVersion}
		}
		return out, nil
	},
	"stats": func(ctx context.Context, p *core.Pool, raw json.RawMessage) (any, error) {
		if err := decodeArgs(raw, &struct{}{}); err != nil {
			return nil, err
		}
		return p.Stats(), nil
	},
	"close_all": func(ctx context.Context, p *core.Pool, raw json.RawMessage) (any, error) {
		if err := decodeArgs(raw, &struct{}{}); err != nil {
			return nil, err
		}
		p.CloseAll()
		return nil, nil
	},
}

// connectionTimeout is the default of a negative timeout_ms for a pool:
// connect.timeout.ms.
func connectionTimeout(p *core.Pool) time.Duration { return p.Config().ConnectionTimeout }

//export gofka_pool_call
func gofka_pool_call(h C.gofka_handle_t, opName *C.char, argsJSON *C.char, timeoutMs C.int32_t,
	out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callOut(pools, h, timeoutMs, connectionTimeout, jsonCall(poolOps, "pool", opName, argsJSON), out, outLen, "json_out"))
}

//export gofka_pool_call_async
func gofka_pool_call_async(h C.gofka_handle_t, queue C.gofka_handle_t, token C.uint64_t, opName *C.char,
	argsJSON *C.char, timeoutMs C.int32_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, callAsync(pools, h, queue, token, timeoutMs, connectionTimeout, jsonCall(poolOps, "pool", opName, argsJSON)))
}

//export gofka_pool_close
func gofka_pool_close(h C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, closeSync(pools, h, -1, noDefault)) // Pool.Close takes no timeout
}
