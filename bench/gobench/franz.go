package main

// franz-go (kgo): the Go peer, tuned as its documentation advises. kgo
// batches on its own while a request is in flight and lingers 10 ms by
// default; its defaults (idempotent acks=all producer, 50,000 buffered
// records, 1 MB batches, 50 MB fetches) are its throughput settings, so the
// runs below only set what the scenario fixes (acks, compression, linger 0
// for latency).

import (
	"context"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	franzRunners["produce/async"] = franzProduce
	franzRunners["consume/group"] = franzConsume
	franzRunners["latency-produce/sync"] = franzLatencyProduce
	franzRunners["latency-consume/group"] = franzLatencyConsume
}

func franzCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown compression %q", name)
}

func franzClient(s *spec, extra ...kgo.Opt) (*kgo.Client, error) {
	codec, err := franzCodec(s.Compression)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(s.Brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		kgo.ClientID("gobench-franz"),
	}
	return kgo.NewClient(append(opts, extra...)...)
}

// warm loads the topic's metadata so the timed section starts connected.
func franzWarm(ctx context.Context, cl *kgo.Client, topic string) error {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	_, err := req.RequestWith(ctx, cl)
	return err
}

// franzProduce: Produce with a promise per record, then Flush.
func franzProduce(ctx context.Context, s *spec, m *meter) (*result, error) {
	pool := makePool(s.Count, s.Size)
	cl, err := franzClient(s)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := franzWarm(ctx, cl, s.Topic); err != nil {
		return nil, err
	}
	var acked atomic.Int64
	var firstErr atomic.Value
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			firstErr.CompareAndSwap(nil, err)
			return
		}
		acked.Add(1)
	}
	m.Start()
	for i := 0; i < s.Count; i++ {
		cl.Produce(ctx, &kgo.Record{Topic: s.Topic, Value: pool[i%len(pool)]}, promise)
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	m.Stop()
	if e := firstErr.Load(); e != nil {
		return nil, e.(error)
	}
	res := &result{Count: acked.Load(), Bytes: int64(s.Count) * int64(s.Size), Checksum: expectedChecksum(pool, s.Count)}
	m.fill(res)
	return res, nil
}

// franzConsume: a group consumer from the start of a pre-filled topic,
// PollFetches until count records arrived.
func franzConsume(ctx context.Context, s *spec, m *meter) (*result, error) {
	cl, err := franzClient(s,
		kgo.ConsumeTopics(s.Topic),
		kgo.ConsumerGroup(s.Group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var count, nbytes int64
	var sum uint64
	first := time.Time{}
	m.Start()
	for count < int64(s.Count) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("after %d of %d records: %w", count, s.Count, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return nil, fmt.Errorf("fetch %s/%d: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			count++
			nbytes += int64(len(r.Value))
			sum += uint64(crc32.ChecksumIEEE(r.Value))
		})
		if first.IsZero() && count > 0 {
			first = time.Now()
		}
	}
	m.Stop()
	res := &result{Count: count, Bytes: nbytes, Checksum: sum}
	m.fill(res)
	res.First = first.Sub(m.start).Seconds()
	return res, nil
}

// franzLatencyProduce: ProduceSync one record at a time, linger 0.
func franzLatencyProduce(ctx context.Context, s *spec, m *meter) (*result, error) {
	pool := makePool(s.Count+1, s.Size)
	cl, err := franzClient(s, kgo.ProducerLinger(0))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := franzWarm(ctx, cl, s.Topic); err != nil {
		return nil, err
	}
	return latencyProduceLoop(ctx, s, m, pool, func(v []byte) error {
		return cl.ProduceSync(ctx, &kgo.Record{Topic: s.Topic, Partition: 0, Value: v}).FirstErr()
	})
}

// latencyProduceLoop sends the priming record 0, waits for "go" on stdin,
// then sends records 1..count one at a time, timing each acknowledgement.
func latencyProduceLoop(ctx context.Context, s *spec, m *meter, pool [][]byte, send func([]byte) error) (*result, error) {
	var sum uint64
	v := latencyValue(pool, 0, time.Now())
	if err := send(v); err != nil {
		return nil, err
	}
	sum += uint64(crc32.ChecksumIEEE(v))
	if err := waitGo(ctx); err != nil {
		return nil, err
	}
	samples := make([]float64, 0, s.Count)
	m.Start()
	for seq := 1; seq <= s.Count; seq++ {
		t0 := time.Now()
		v := latencyValue(pool, seq, t0)
		if err := send(v); err != nil {
			return nil, err
		}
		samples = append(samples, float64(time.Since(t0).Nanoseconds())/1e6)
		sum += uint64(crc32.ChecksumIEEE(v))
	}
	m.Stop()
	res := &result{Count: int64(s.Count + 1), Bytes: int64(s.Count+1) * int64(s.Size), Checksum: sum, Latency: percentiles(samples)}
	m.fill(res)
	return res, nil
}

// franzLatencyConsume: a group consumer that reports end-to-end latency.
func franzLatencyConsume(ctx context.Context, s *spec, m *meter) (*result, error) {
	cl, err := franzClient(s,
		kgo.ConsumeTopics(s.Topic),
		kgo.ConsumerGroup(s.Group),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
	)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	lc := newLatencyConsumer(s.Count)
	m.Start()
	for done := false; !done; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("after %d of %d records: %w", len(lc.samples), s.Count, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return nil, fmt.Errorf("fetch: %w", errs[0].Err)
		}
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			if lc.add(r.Value, now) {
				done = true
			}
		})
	}
	m.Stop()
	res := lc.result()
	m.fill(res)
	return res, nil
}

// ---- harness tools (not measured) ----

func runTool(ctx context.Context, s *spec, m *meter) (*result, error) {
	s.Client = "tool"
	if len(splitNonEmpty(s.Topic)) == 0 {
		return nil, fmt.Errorf("-topic is required")
	}
	cl, err := franzClient(s)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	res := &result{Mode: s.Tool}
	switch s.Tool {
	case "create":
		err = createTopics(ctx, cl, splitNonEmpty(s.Topic), s.Partitions)
	case "delete":
		err = deleteTopics(ctx, cl, s.Topic)
	case "fill":
		res, err = fillTopic(ctx, s, m)
	case "share-earliest":
		err = shareGroupEarliest(ctx, cl, s.Group)
	case "verify":
		// One topic: its count and checksum at the top level. Several
		// (comma-separated): one result per topic in Topics.
		topics := splitNonEmpty(s.Topic)
		if len(topics) == 1 {
			res, err = verifyTopic(ctx, cl, topics[0])
			break
		}
		res.Topics = map[string]*result{}
		for _, t := range topics {
			r, verr := verifyTopic(ctx, cl, t)
			if verr != nil {
				r = &result{Error: verr.Error()}
			} else {
				r.OK = true
			}
			res.Topics[t] = r
		}
	default:
		err = fmt.Errorf("unknown -tool %q", s.Tool)
	}
	if err != nil {
		return nil, err
	}
	res.OK = true
	return res, nil
}

// shareGroupEarliest sets share.auto.offset.reset=earliest on share group
// group (a new share group starts at the latest offset), before its
// members join, so that they read the pre-filled topic.
func shareGroupEarliest(ctx context.Context, cl *kgo.Client, group string) error {
	if group == "" {
		return fmt.Errorf("-group is required")
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType = kmsg.ConfigResourceTypeGroupConfig
	r.ResourceName = group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name = "share.auto.offset.reset"
	c.Value = kmsg.StringPtr("earliest")
	c.Op = kmsg.IncrementalAlterConfigOpSet
	r.Configs = append(r.Configs, c)
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, rr := range resp.Resources {
		if err := kerr.ErrorForCode(rr.ErrorCode); err != nil {
			return fmt.Errorf("share.auto.offset.reset of group %s: %w", group, err)
		}
	}
	return nil
}

// createTopics creates topics (replication factor 1) and waits until
// every partition has a leader, so that the first produce of a measured run
// does not pay for topic creation.
func createTopics(ctx context.Context, cl *kgo.Client, topics []string, partitions int) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	for _, topic := range topics {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic = topic
		t.NumPartitions = int32(partitions)
		t.ReplicationFactor = 1
		req.Topics = append(req.Topics, t)
	}
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return fmt.Errorf("create %s: %w", rt.Topic, err)
		}
	}
	for {
		md := kmsg.NewPtrMetadataRequest()
		for _, topic := range topics {
			mt := kmsg.NewMetadataRequestTopic()
			mt.Topic = kmsg.StringPtr(topic)
			md.Topics = append(md.Topics, mt)
		}
		mresp, err := md.RequestWith(ctx, cl)
		ready := err == nil && len(mresp.Topics) == len(topics)
		if ready {
			for _, t := range mresp.Topics {
				ready = ready && t.ErrorCode == 0 && len(t.Partitions) == partitions
				for _, p := range t.Partitions {
					ready = ready && p.ErrorCode == 0 && p.Leader >= 0
				}
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %v have no leaders yet: %w", topics, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func deleteTopics(ctx context.Context, cl *kgo.Client, topics string) error {
	req := kmsg.NewPtrDeleteTopicsRequest()
	for _, name := range splitNonEmpty(topics) {
		req.TopicNames = append(req.TopicNames, name)
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, t)
	}
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil && err != kerr.UnknownTopicOrPartition {
			return fmt.Errorf("delete: %w", err)
		}
	}
	return nil
}

func splitNonEmpty(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// fillTopic writes records 0..count-1 of the pool (the consume scenarios'
// data), spread evenly over the partitions, uncompressed.
func fillTopic(ctx context.Context, s *spec, m *meter) (*result, error) {
	pool := makePool(s.Count, s.Size)
	cl, err := franzClient(s, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.MaxBufferedRecords(200000))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var once sync.Once
	var firstErr error
	m.Start()
	for i := 0; i < s.Count; i++ {
		cl.Produce(ctx, &kgo.Record{Topic: s.Topic, Value: pool[i%len(pool)]}, func(_ *kgo.Record, err error) {
			if err != nil {
				once.Do(func() { firstErr = err })
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	m.Stop()
	if firstErr != nil {
		return nil, firstErr
	}
	res := &result{Count: int64(s.Count), Bytes: int64(s.Count) * int64(s.Size), Checksum: expectedChecksum(pool, s.Count)}
	m.fill(res)
	return res, nil
}

// verifyTopic reads every partition of topic from its start to its end
// offset (as listed now) and returns the record count and checksum.
func verifyTopic(ctx context.Context, cl *kgo.Client, topic string) (*result, error) {
	ends, err := listEnds(ctx, cl, topic)
	if err != nil {
		return nil, err
	}
	res := &result{Partitions: map[string]int64{}}
	parts := map[int32]kgo.Offset{}
	left := 0
	for p, end := range ends {
		res.Partitions[fmt.Sprint(p)] = end
		if end > 0 {
			parts[p] = kgo.NewOffset().AtStart()
			left++
		}
	}
	if left == 0 {
		return res, nil
	}
	// Control records (the commit markers of transactional produce runs)
	// are kept so that a partition whose last offset is a marker is seen
	// to end; they are not counted.
	cc, err := kgo.NewClient(kgo.SeedBrokers(cl.OptValue(kgo.SeedBrokers).([]string)...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}), kgo.KeepControlRecords())
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	done := map[int32]bool{}
	for left > 0 {
		fs := cc.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("verify %s: %w", topic, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return nil, fmt.Errorf("verify %s/%d: %w", topic, errs[0].Partition, errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset >= ends[r.Partition] {
				return
			}
			if !r.Attrs.IsControl() {
				res.Count++
				res.Bytes += int64(len(r.Value))
				res.Checksum += uint64(crc32.ChecksumIEEE(r.Value))
			}
			if r.Offset == ends[r.Partition]-1 && !done[r.Partition] {
				done[r.Partition] = true
				left--
			}
		})
	}
	return res, nil
}

// listEnds returns the end offset (high watermark) of every partition.
func listEnds(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	md.Topics = append(md.Topics, mt)
	mresp, err := md.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if len(mresp.Topics) != 1 {
		return nil, fmt.Errorf("metadata for %s: %d topics", topic, len(mresp.Topics))
	}
	if err := kerr.ErrorForCode(mresp.Topics[0].ErrorCode); err != nil {
		return nil, fmt.Errorf("metadata for %s: %w", topic, err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, p := range mresp.Topics[0].Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p.Partition
		rp.Timestamp = -1 // latest
		rp.CurrentLeaderEpoch = -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	ends := map[int32]int64{}
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			return nil, shard.Err
		}
		for _, t := range shard.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return nil, fmt.Errorf("list offsets %s/%d: %w", topic, p.Partition, err)
				}
				ends[p.Partition] = p.Offset
			}
		}
	}
	if len(ends) != len(mresp.Topics[0].Partitions) {
		return nil, fmt.Errorf("list offsets %s: %d of %d partitions answered", topic, len(ends), len(mresp.Topics[0].Partitions))
	}
	return ends, nil
}
