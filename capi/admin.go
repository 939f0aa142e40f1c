package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import (
	"encoding/json"

	"github.com/gofka/gofka/core"
)

func adminOf(h C.gofka_handle_t) (*core.Admin, error) {
	obj, err := lookup(h, kindAdmin)
	if err != nil {
		return nil, err
	}
	return obj.(*core.Admin), nil
}

//export gofka_admin_new
func gofka_admin_new(config *C.char, out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if config == nil || out == nil {
		return fill(errOut, invalid("config and out must not be NULL"))
	}
	cfg, err := core.ParseConfig(C.GoString(config))
	if err != nil {
		return fill(errOut, err)
	}
	a, err := core.NewAdminFromConfig(cfg)
	if err != nil {
		return fill(errOut, err)
	}
	*out = newHandle(kindAdmin, a)
	return fill(errOut, nil)
}

//export gofka_admin_list_topics
func gofka_admin_list_topics(h C.gofka_handle_t, includeInternal C.int32_t, timeoutMs C.int32_t,
	out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	a, err := adminOf(h)
	if err != nil {
		return fill(errOut, err)
	}
	ctx, cancel := timeoutCtx(timeoutMs, a.Client().Config().RequestTimeout)
	defer cancel()
	names, err := a.ListTopics(ctx, includeInternal != 0)
	if err != nil {
		return fill(errOut, err)
	}
	b, err := json.Marshal(names)
	if err == nil {
		err = cBuffer(b, out, outLen)
	}
	return fill(errOut, err)
}

//export gofka_admin_close
func gofka_admin_close(h C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	obj, err := release(h, kindAdmin)
	if err != nil {
		return fill(errOut, err)
	}
	return fill(errOut, obj.(*core.Admin).Close())
}
