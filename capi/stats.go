package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"encoding/json"
)

// Statistics: each client's core.*Stats snapshot marshalled as JSON (the
// Go struct's JSON tags are the schema, docs/statistics.md). The snapshot
// reads counters and takes the client's locks briefly: no network I/O,
// never blocks on the broker.

// statsJSON marshals a snapshot into a malloc'ed NUL-terminated buffer.
func statsJSON(snap func() (any, error), out **C.char, outLen *C.size_t) error {
	if out == nil {
		return invalid("output pointer is NULL")
	}
	v, err := snap()
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return cBuffer(b, out, outLen)
}

//export gofka_producer_stats
func gofka_producer_stats(h C.gofka_handle_t, out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, statsJSON(func() (any, error) {
		p, err := producerOf(h)
		if err != nil {
			return nil, err
		}
		return p.Stats(), nil
	}, out, outLen))
}

//export gofka_consumer_stats
func gofka_consumer_stats(h C.gofka_handle_t, out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, statsJSON(func() (any, error) {
		c, err := consumerOf(h)
		if err != nil {
			return nil, err
		}
		return c.Stats(), nil
	}, out, outLen))
}

//export gofka_admin_stats
func gofka_admin_stats(h C.gofka_handle_t, out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	return fill(errOut, statsJSON(func() (any, error) {
		a, err := adminOf(h)
		if err != nil {
			return nil, err
		}
		return a.Stats(), nil
	}, out, outLen))
}
