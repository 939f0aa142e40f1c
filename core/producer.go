package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// Record is one Kafka record to produce or one consumed record.
type Record struct {
	Topic     string
	Partition int32 // < 0: let the partitioner choose (murmur2 of Key, else round-robin)
	Key       []byte
	Value     []byte
	Headers   []wire.Header
	Timestamp time.Time // zero: now
	Offset    int64     // set when the record is acknowledged or consumed
}

// maxBatchBytes caps the records section of one batch. Kafka rejects a batch
// larger than the topic's max.message.bytes (1 MiB by default), so larger
// sends are split into several batches, each in its own request (a produce
// request carries at most one batch per partition from v3 on).
const maxBatchBytes = 900 << 10

// Producer writes records to Kafka. It is safe for concurrent use.
type Producer struct {
	cl         *Client
	ownsClient bool
	rr         roundRobin
	closed     atomic.Bool
	wg         sync.WaitGroup // calls in flight, waited for by Close
	metaRetry  RetryPolicy
}

// NewProducer creates a producer with its own client. No network I/O.
func NewProducer(opts ...Option) (*Producer, error) {
	return NewProducerFromConfig(NewConfig(opts...))
}

// NewProducerFromConfig is NewProducer for a ready Config.
func NewProducerFromConfig(cfg Config) (*Producer, error) {
	cl, err := NewClientFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	p := NewProducerOn(cl)
	p.ownsClient = true
	return p, nil
}

// NewProducerOn creates a producer that shares cl (and its connections).
// Closing the producer does not close cl.
func NewProducerOn(cl *Client) *Producer {
	return &Producer{cl: cl, metaRetry: RetryPolicy{
		InitialBackoff: 20 * time.Millisecond, MaxBackoff: time.Second, BackoffMultiplier: 2, Jitter: true}}
}

// Client returns the producer's client.
func (p *Producer) Client() *Client { return p.cl }

// Connect reaches the cluster (see Client.Connect).
func (p *Producer) Connect(ctx context.Context) error {
	if p.closed.Load() {
		return &wire.Error{Code: wire.ErrClientClosed}
	}
	return p.cl.Connect(ctx)
}

// Close waits for calls in flight (bounded by ctx) and closes the client if
// the producer owns it. Safe to call more than once.
func (p *Producer) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = &wire.Error{Code: wire.ErrTimedOut, Detail: "close: requests still in flight"}
	}
	if p.ownsClient {
		p.cl.Close()
	}
	return err
}

// ProduceSync writes recs and waits until every one is acknowledged (or ctx
// ends). On success each record's Partition and Offset are set (Offset is -1
// with acks=0). Records are grouped per partition into batches and per
// leader into requests, so many records cost few round trips. Retriable
// errors (leader moved, broker restarting, topic being created) refresh the
// metadata and retry until ctx ends; the first other error is returned.
func (p *Producer) ProduceSync(ctx context.Context, recs ...*Record) error {
	if p.closed.Load() {
		return &wire.Error{Code: wire.ErrClientClosed}
	}
	p.wg.Add(1)
	defer p.wg.Done()
	ctx, cancel := p.cl.withTimeout(ctx, p.cl.cfg.RequestTimeout)
	defer cancel()

	now := time.Now()
	pending := make(map[topicPartition][]*Record)
	for _, r := range recs {
		if r.Topic == "" {
			return &wire.Error{Code: wire.ErrInvalidArgument, Detail: "record has no topic"}
		}
		if err := p.assignPartition(ctx, r); err != nil {
			return err
		}
		if r.Timestamp.IsZero() {
			r.Timestamp = now
		}
		tp := topicPartition{r.Topic, r.Partition}
		pending[tp] = append(pending[tp], r)
	}
	return p.metaRetry.retryUntil(ctx, func() error {
		err := p.produceOnce(ctx, pending)
		if err != nil && wire.CodeOf(err).Retriable() {
			// Leaders may have moved: refresh before the next attempt.
			topics := make([]string, 0, len(pending))
			for tp := range pending {
				topics = append(topics, tp.topic)
			}
			p.cl.RefreshMetadata(ctx, topics)
		}
		return err
	})
}

type topicPartition struct {
	topic     string
	partition int32
}

// assignPartition validates r.Partition against the topic's partition
// count, or picks one when it is negative. Unknown topics are waited for
// (auto-creation) until ctx ends.
func (p *Producer) assignPartition(ctx context.Context, r *Record) error {
	var ti *TopicInfo
	err := p.metaRetry.retryUntil(ctx, func() error {
		var err error
		ti, err = p.cl.TopicPartitions(ctx, r.Topic)
		return err
	})
	if err != nil {
		return err
	}
	n := len(ti.Partitions)
	switch {
	case r.Partition >= int32(n):
		return &wire.Error{Code: wire.ErrPartitionNotFound,
			Detail: fmt.Sprintf("topic %s has %d partitions, partition %d requested", r.Topic, n, r.Partition)}
	case r.Partition >= 0:
	case r.Key != nil:
		r.Partition = KeyPartition(r.Key, n)
	default:
		r.Partition = p.rr.pick(n)
	}
	return nil
}

// produceOnce sends every pending partition's records once. Partitions that
// succeed are removed from pending; the first error is returned.
func (p *Producer) produceOnce(ctx context.Context, pending map[topicPartition][]*Record) error {
	m := p.cl.meta.Load()
	byLeader := make(map[int32][]topicPartition)
	for tp := range pending {
		ti := m.Topics[tp.topic]
		if ti == nil || int(tp.partition) >= len(ti.Partitions) {
			return &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: fmt.Sprintf("%s/%d", tp.topic, tp.partition)}
		}
		leader := ti.Partitions[tp.partition].Leader
		if leader < 0 {
			return &wire.Error{Code: wire.ErrLeaderNotAvailable, Detail: fmt.Sprintf("%s/%d", tp.topic, tp.partition)}
		}
		byLeader[leader] = append(byLeader[leader], tp)
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for leader, tps := range byLeader {
		recs := make([][]*Record, len(tps))
		for i, tp := range tps {
			recs[i] = pending[tp]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			left, err := p.produceToBroker(ctx, leader, tps, recs)
			mu.Lock()
			for _, tp := range tps {
				if rest, failed := left[tp]; failed {
					pending[tp] = rest
				} else {
					delete(pending, tp)
				}
			}
			if err != nil {
				errs = append(errs, err)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return firstError(errs)
}

// firstError prefers a non-retriable error, so that a permanent failure is
// reported rather than retried behind a transient one.
func firstError(errs []error) error {
	for _, e := range errs {
		if !wire.CodeOf(e).Retriable() {
			return e
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// produceToBroker sends the partitions led by one broker. Each partition's
// records are cut into batches of at most maxBatchBytes; request i carries
// batch i of every partition. All requests are written back to back on the
// broker's connection (pipelined), and the broker handles them in order.
// recs[i] are the records of tps[i]. It returns, for each partition that
// failed, the records not yet acknowledged.
func (p *Producer) produceToBroker(ctx context.Context, leader int32, tps []topicPartition,
	recs [][]*Record) (map[topicPartition][]*Record, error) {
	cn, err := p.cl.brokerConn(ctx, leader)
	if err != nil {
		return nil, err
	}
	type part struct {
		tp      topicPartition
		batches [][]*Record
	}
	parts := make([]part, len(tps))
	rounds := 0
	for i, tp := range tps {
		parts[i] = part{tp: tp, batches: splitBatches(recs[i])}
		rounds = max(rounds, len(parts[i].batches))
	}
	cfg := &p.cl.cfg
	type result struct {
		resp *wire.ProduceResponse
		err  error
	}
	results := make([]chan result, rounds)
	reqBatches := make([]map[topicPartition][]*Record, rounds)
	for round := 0; round < rounds; round++ {
		req := &wire.ProduceRequest{Acks: cfg.Acks, TimeoutMs: int32(cfg.RequestTimeout / time.Millisecond)}
		reqBatches[round] = make(map[topicPartition][]*Record)
		topicIdx := map[string]int{}
		for _, pt := range parts {
			if round >= len(pt.batches) {
				continue
			}
			batch := pt.batches[round]
			raw, err := encodeBatch(batch, cfg.Compression)
			if err != nil {
				return nil, err
			}
			ti, ok := topicIdx[pt.tp.topic]
			if !ok {
				ti = len(req.TopicData)
				topicIdx[pt.tp.topic] = ti
				req.TopicData = append(req.TopicData, wire.ProduceRequestTopic{Name: pt.tp.topic})
			}
			req.TopicData[ti].PartitionData = append(req.TopicData[ti].PartitionData,
				wire.ProduceRequestPartition{Index: pt.tp.partition, Records: raw})
			reqBatches[round][pt.tp] = batch
		}
		ch := make(chan result, 1)
		results[round] = ch
		// Written here, in round order, so the broker appends each
		// partition's batches in order; only the waits run concurrently.
		k, err := cn.start(req, cfg.Acks == 0)
		if err != nil || k == nil {
			ch <- result{err: err}
			continue
		}
		go func() {
			resp, err := k.wait(ctx)
			r := result{err: err}
			if err == nil {
				r.resp = resp.(*wire.ProduceResponse)
			}
			ch <- r
		}()
	}
	failed := map[topicPartition]error{}
	for round, ch := range results {
		res := <-ch
		for tp, batch := range reqBatches[round] {
			if failed[tp] != nil {
				continue
			}
			if res.err != nil {
				failed[tp] = res.err
				continue
			}
			if res.resp == nil { // acks=0
				for _, r := range batch {
					r.Offset = -1
				}
				continue
			}
			if err := applyProduceResult(res.resp, tp, batch, cn.addr); err != nil {
				failed[tp] = err
			}
		}
	}
	left := map[topicPartition][]*Record{}
	var errs []error
	for i, pt := range parts {
		if err := failed[pt.tp]; err != nil {
			errs = append(errs, err)
			// Drop the batches that did succeed before the failure so a
			// retry does not write them twice.
			acked := 0
			for _, b := range pt.batches {
				if b[len(b)-1].Offset < 0 || p.cl.cfg.Acks == 0 {
					break
				}
				acked += len(b)
			}
			left[pt.tp] = recs[i][acked:]
		}
	}
	return left, firstError(errs)
}

// applyProduceResult finds tp in resp and assigns offsets to batch.
func applyProduceResult(resp *wire.ProduceResponse, tp topicPartition, batch []*Record, broker string) error {
	for _, t := range resp.Responses {
		if t.Name != tp.topic {
			continue
		}
		for _, pr := range t.PartitionResponses {
			if pr.Index != tp.partition {
				continue
			}
			if pr.ErrorCode != 0 {
				detail := fmt.Sprintf("%s/%d", tp.topic, tp.partition)
				if pr.ErrorMessage != nil && *pr.ErrorMessage != "" {
					detail += ": " + *pr.ErrorMessage
				}
				return &wire.Error{Code: wire.ErrorCode(pr.ErrorCode), Detail: detail, Broker: broker}
			}
			for i, r := range batch {
				r.Offset = pr.BaseOffset + int64(i)
			}
			return nil
		}
	}
	return &wire.Error{Code: wire.ErrCorruptResponse, Detail: fmt.Sprintf("no result for %s/%d", tp.topic, tp.partition), Broker: broker}
}

// splitBatches cuts recs into runs whose estimated encoded size stays
// under maxBatchBytes (a single larger record gets a batch of its own). It
// also marks every record unacknowledged (Offset -1).
func splitBatches(recs []*Record) [][]*Record {
	var out [][]*Record
	start, size := 0, 0
	for i, r := range recs {
		r.Offset = -1
		s := len(r.Key) + len(r.Value) + 32
		for _, h := range r.Headers {
			s += len(h.Key) + len(h.Value) + 10
		}
		if i > start && size+s > maxBatchBytes {
			out = append(out, recs[start:i])
			start, size = i, 0
		}
		size += s
	}
	if start < len(recs) {
		out = append(out, recs[start:])
	}
	return out
}

func encodeBatch(recs []*Record, codec wire.Compression) ([]byte, error) {
	b := wire.RecordBatch{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		Records: make([]wire.Record, len(recs))}
	for i, r := range recs {
		b.Records[i] = wire.Record{Timestamp: r.Timestamp.UnixMilli(), Key: r.Key, Value: r.Value, Headers: r.Headers}
	}
	out, err := wire.AppendRecordBatch(nil, &b, codec)
	if err != nil {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: "encoding batch: " + err.Error()}
	}
	return out, nil
}
