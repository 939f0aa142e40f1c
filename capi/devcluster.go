package main

/*
#define GOFKA_TYPES_ONLY
#include "gofka.h"
*/
import "C"

import "github.com/gofka/gofka/devcluster"

//export gofka_devcluster_new
func gofka_devcluster_new(numBrokers C.int32_t, port C.int32_t, out *C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	if out == nil {
		return fill(errOut, invalid("out must not be NULL"))
	}
	if numBrokers < 1 {
		return fill(errOut, invalid("num_brokers must be at least 1, got %d", int(numBrokers)))
	}
	d, err := devcluster.Start(devcluster.Options{Brokers: int(numBrokers), Port: int(port)})
	if err != nil {
		return fill(errOut, err)
	}
	*out = newHandle(kindDevCluster, d)
	return fill(errOut, nil)
}

//export gofka_devcluster_brokers
func gofka_devcluster_brokers(h C.gofka_handle_t, out **C.char, outLen *C.size_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	obj, err := lookup(h, kindDevCluster)
	if err != nil {
		return fill(errOut, err)
	}
	return fill(errOut, cBuffer([]byte(obj.(*devcluster.Cluster).Brokers()), out, outLen))
}

//export gofka_devcluster_close
func gofka_devcluster_close(h C.gofka_handle_t, errOut *C.gofka_error_t) (rc C.int32_t) {
	defer guard(errOut, &rc)
	obj, err := release(h, kindDevCluster)
	if err != nil {
		return fill(errOut, err)
	}
	obj.(*devcluster.Cluster).Close()
	return fill(errOut, nil)
}
