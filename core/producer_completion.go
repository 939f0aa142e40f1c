package core

import (
	"time"

	"github.com/gofka/gofka/wire"
)

// Producing into a CompletionQueue: the path of callers that collect
// results on a thread of their own (an event loop, the C ABI) instead of
// in promises run on engine goroutines.

// ProduceTo buffers r like TryProduce and posts its result to q under
// token: a Completion with r's Partition and Offset once the broker
// acknowledged it, or with Err (and the partition it was routed to, -1
// when none) once it failed. It never blocks: when buffer.memory is full
// it returns QUEUE_FULL at once. An error returned (closed producer,
// invalid record, too large, buffer full) means r was not buffered and no
// completion will come; after a nil return exactly one will. q nil: r is
// produced with no result reported (fire and forget).
//
// When r has an explicit partition (ManualPartition), the next blocking
// Wait on q also watches the connection its batch goes out on and reads
// the acknowledgement itself (see CompletionQueue). The producer owns r
// until its completion is posted, as with Produce.
func (p *Producer) ProduceTo(q *CompletionQueue, token uint64, r *Record) error {
	_, err := p.produceTo(q, token, r, false)
	return err
}

// ProduceWait is the synchronous send of one record on the low-latency
// path: ProduceTo(q, token, r), then q.Wait(max, timeout), in one call.
// For a record with an explicit partition it first claims the connection
// to the partition's leader (when connected), so that the
// acknowledgement wakes only the calling thread, which reads it from the
// socket itself: one thread wake-up per round trip instead of two
// (core/conn_read.go). The completions returned are whatever q holds (up
// to max; max <= 0: all), r's among them unless timeout passed first;
// then it comes with a later Wait. An error from the produce is returned
// as ProduceTo's (r was not buffered); an error of the wait (q closed)
// comes after r was buffered.
//
// The saving is largest on threads locked to a foreign runtime (cgo
// callers: the C ABI's sync send is this call), where every hand-off to
// another thread costs a scheduler round trip. An ordinary goroutine
// waits here in a blocking system call, and ProduceSync is about as fast
// for it (BenchmarkProduceSyncOne and BenchmarkProduceWait: within ~10%
// of each other on a 2-core VM).
//
// q must not be nil. Safe for concurrent use, also with other waiters on
// q (each gets some of the completions: give each concurrent synchronous
// caller its own queue to get its own results).
func (p *Producer) ProduceWait(q *CompletionQueue, token uint64, r *Record, max int, timeout time.Duration) ([]Completion, error) {
	if q == nil {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "ProduceWait needs a completion queue: the record's result is waited for there"}
	}
	claim, err := p.produceTo(q, token, r, true)
	if err != nil {
		return nil, err
	}
	return q.wait(max, timeout, claim)
}

// produceTo is ProduceTo; with claim (ProduceWait) it first begins to
// wait on the connection r will most likely go out on and returns that
// claim, whose wait the caller ends (q.wait does): the connection's reader
// goroutine then never wakes for the acknowledgement.
func (p *Producer) produceTo(q *CompletionQueue, token uint64, r *Record, claim bool) (responseReader, error) {
	var claimed responseReader
	if r == nil {
		return claimed, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "nil record"}
	}
	var promise func(*Record, error)
	if q != nil {
		promise = func(r *Record, err error) {
			if err != nil {
				q.Post(Completion{Token: token, Err: err, Partition: r.Partition, Offset: -1})
				return
			}
			q.Post(Completion{Token: token, Partition: r.Partition, Offset: r.Offset})
		}
	}
	// Read before producing: r belongs to the engine afterwards, and its
	// fields may change.
	topic, partition, manual := r.Topic, r.Partition, r.ManualPartition && r.Partition >= 0
	if claim && manual {
		if c := p.leaderReader(topic, partition); c.valid() && c.beginWait() {
			claimed = c
		}
	}
	if err := p.tryProduce(nil, r, promise); err != nil {
		if claimed.valid() {
			claimed.endWait()
		}
		return responseReader{}, err
	}
	if q != nil && manual {
		// A synchronous caller waits on q next: let it read the
		// acknowledgement itself (also after the claimed wait, should
		// that end first).
		rr := claimed
		if !rr.valid() {
			rr = p.responseReader(topic, partition)
		}
		q.setReader(rr)
	}
	return claimed, nil
}

// responseReader is the connection that the batch in flight for
// topic/partition was written on, for a caller waiting for that batch's
// acknowledgement to read the response itself (see responseReader); the
// zero value when nothing is in flight there or the connection cannot be
// read that way (TLS).
func (p *Producer) responseReader(topic string, partition int32) responseReader {
	var cn *clientConn
	if pb := p.partIfKnown(topic, partition); pb != nil {
		pb.mu.Lock()
		if pb.inflight > 0 {
			cn = pb.inflightConn
		}
		pb.mu.Unlock()
	}
	return readerOf(cn)
}

// leaderReader is the connection a record for topic/partition produced now
// would most likely go out on (its leader's, when connected), for a caller
// that claims it (responseReader.beginWait) before producing and then
// waits for the acknowledgement, so that the reader goroutine never
// starts watching for it (core/conn_read.go); the zero value when that is
// not known or the connection cannot be read that way (TLS).
func (p *Producer) leaderReader(topic string, partition int32) responseReader {
	var cn *clientConn
	if pb := p.partIfKnown(topic, partition); pb != nil {
		pb.mu.Lock()
		s := pb.sink
		pb.mu.Unlock()
		if s != nil {
			cn = p.cl.liveBrokerConn(s.node)
		}
	}
	return readerOf(cn)
}

// readerOf is cn's responseReader; the zero value for none or a TLS connection.
func readerOf(cn *clientConn) responseReader {
	if cn == nil || cn.sock == nil {
		return responseReader{}
	}
	return responseReader{cn.conn}
}
