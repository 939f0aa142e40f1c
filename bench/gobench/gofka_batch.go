//go:build gofka_batch

package main

// Gofka core ProduceBatch path: chunks of -chunk records buffered with one
// call each (memory reserved once per chunk), a promise per record, then
// Flush. Built with the tag gofka_batch, which bench/run.py sets when this
// file compiles against the checked-out core.

import (
	"context"

	"github.com/gofka/gofka/core"
)

func init() {
	gofkaRunners["produce/batch"] = gofkaProduceBatch
}

func gofkaProduceBatch(ctx context.Context, s *spec, m *meter) (*result, error) {
	return gofkaPromiseRun(ctx, s, m, func(p *core.Producer, pool [][]byte, promise func(*core.Record, error)) error {
		for lo := 0; lo < s.Count; lo += s.Chunk {
			hi := min(s.Count, lo+s.Chunk)
			recs := make([]*core.Record, hi-lo)
			for i := range recs {
				recs[i] = &core.Record{Topic: s.Topic, Value: pool[(lo+i)%len(pool)]}
			}
			if err := p.ProduceBatch(ctx, recs, promise); err != nil {
				return err
			}
		}
		return nil
	})
}
