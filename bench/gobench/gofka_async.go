//go:build gofka_async

package main

// Gofka core asynchronous produce path: Producer.Produce with a promise per
// record, then Flush. Built with the tag gofka_async, which bench/run.py
// sets when this file compiles against the checked-out core.

import (
	"context"

	"github.com/gofka/gofka/core"
)

func init() {
	gofkaRunners["produce/async"] = gofkaProduceAsync
}

func gofkaProduceAsync(ctx context.Context, s *spec, m *meter) (*result, error) {
	return gofkaPromiseRun(ctx, s, m, func(p *core.Producer, pool [][]byte, promise func(*core.Record, error)) error {
		for i := 0; i < s.Count; i++ {
			p.Produce(ctx, &core.Record{Topic: s.Topic, Value: pool[i%len(pool)]}, promise)
		}
		return nil
	})
}
