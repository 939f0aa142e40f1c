package core

import (
	"sort"
	"sync/atomic"
	"time"
)

// Statistics snapshots: one type per client kind (ProducerStats,
// ConsumerStats, AdminStats), built on demand by Stats() from counters
// the engine keeps anyway (atomics bumped per request, batch or fetch
// response, never per record) and from state read under the locks that
// guard it. Taking a snapshot does no network I/O. The JSON tags are the
// schema of the C ABI's gofka_*_stats and of Python's stats() dicts;
// docs/statistics.md is generated from these types (core/cmd/statsdoc),
// field comments included, so every field needs one.

// ProducerStats is a snapshot of a producer's statistics. The counters
// count since the producer was created.
type ProducerStats struct {
	// Type is "producer".
	Type string `json:"type"`
	// ClientID is the client.id setting.
	ClientID string `json:"client_id"`
	// TimestampMs is when the snapshot was taken, in ms since the Unix epoch.
	TimestampMs int64 `json:"ts_ms"`
	// Requests is the number of Produce requests written.
	Requests int64 `json:"requests"`
	// Batches is the number of record batches written (a retried batch counts again).
	Batches int64 `json:"batches"`
	// Records is the number of records written (retried records count again).
	Records int64 `json:"records"`
	// Bytes is the encoded (compressed) batch bytes written.
	Bytes int64 `json:"bytes"`
	// Retries is the number of batches resent after a retriable failure.
	Retries int64 `json:"retries"`
	// EpochBumps is the number of idempotent producer id/epoch changes after the first.
	EpochBumps int64 `json:"epoch_bumps"`
	// Acknowledged is the number of records acknowledged by the brokers.
	Acknowledged int64 `json:"acknowledged"`
	// Failed is the number of records whose delivery failed (delivery errors).
	Failed int64 `json:"failed"`
	// BufferedRecords is the number of records produced whose result is not known yet (buffered, in flight or being retried).
	BufferedRecords int64 `json:"buffered_records"`
	// BufferBytes is the bytes of buffer.memory in use by buffered records.
	BufferBytes int64 `json:"buffer_bytes"`
	// BufferLimit is buffer.memory, the bound of BufferBytes.
	BufferLimit int64 `json:"buffer_limit"`
	// Brokers are the connection statistics per broker.
	Brokers []BrokerStats `json:"brokers"`
	// Partitions are the statistics of every partition the producer has routed records to, sorted by topic and partition.
	Partitions []ProducerPartitionStats `json:"partitions"`
}

// ProducerPartitionStats are the statistics of one partition of a producer.
type ProducerPartitionStats struct {
	// Topic is the partition's topic.
	Topic string `json:"topic"`
	// Partition is the partition number.
	Partition int32 `json:"partition"`
	// Leader is the node id of the partition's leader as last known, -1 unknown.
	Leader int32 `json:"leader"`
	// QueuedRecords is the number of records in the partition's queue (waiting, in flight or being retried).
	QueuedRecords int64 `json:"queued_records"`
	// QueuedBytes is the buffer.memory bytes those records hold.
	QueuedBytes int64 `json:"queued_bytes"`
	// QueuedBatches is the number of batches in the partition's queue.
	QueuedBatches int `json:"queued_batches"`
	// InFlightBatches is the number of the partition's batches in requests awaiting their response.
	InFlightBatches int `json:"in_flight_batches"`
	// BatchesSent is the number of batches written (retries count again).
	BatchesSent int64 `json:"batches_sent"`
	// RecordsSent is the number of records written (retries count again).
	RecordsSent int64 `json:"records_sent"`
	// BytesSent is the encoded batch bytes written.
	BytesSent int64 `json:"bytes_sent"`
	// Retries is the number of batches resent after a failure.
	Retries int64 `json:"retries"`
}

// partCounters are a producer partition's counters, bumped once per batch
// written (sink.go). Safe for concurrent use.
type partCounters struct {
	batches, records, bytes, retries atomic.Int64
}

// noteSent counts batch b, of n encoded bytes, written for the partition.
func (pc *partCounters) noteSent(b *recBatch, n int) {
	pc.batches.Add(1)
	pc.records.Add(int64(len(b.proms)))
	pc.bytes.Add(int64(n))
	if b.attempts > 1 {
		pc.retries.Add(1)
	}
}

// Stats returns a snapshot of the producer's statistics: counters, buffer
// use, per broker and per partition. Safe to call concurrently with
// everything, also after Close (the counters then stay as they were).
// It takes each partition's lock briefly and does no network I/O.
func (p *Producer) Stats() ProducerStats {
	s := &p.stats
	out := ProducerStats{Type: "producer", ClientID: p.cfg.ClientID, TimestampMs: time.Now().UnixMilli(),
		Requests: s.requests.Load(), Batches: s.batches.Load(), Records: s.records.Load(),
		Bytes: s.bytes.Load(), Retries: s.retries.Load(), EpochBumps: s.bumps.Load(),
		Acknowledged: s.acked.Load(), Failed: s.failed.Load(),
		BufferedRecords: p.outstanding.Load(), BufferBytes: p.mem.used.Load(), BufferLimit: p.mem.max,
		Brokers: p.cl.brokerStats(), Partitions: []ProducerPartitionStats{}}
	p.topics.Range(func(_, v any) bool {
		for _, pb := range v.(*topicState).partitions() {
			ps := ProducerPartitionStats{Topic: pb.topic, Partition: pb.partition,
				BatchesSent: pb.st.batches.Load(), RecordsSent: pb.st.records.Load(),
				BytesSent: pb.st.bytes.Load(), Retries: pb.st.retries.Load()}
			pb.mu.Lock()
			ps.Leader = pb.leader
			if pb.sink == nil {
				ps.Leader = -1
			}
			ps.QueuedBatches, ps.InFlightBatches = len(pb.batches), pb.inflight
			for _, b := range pb.batches {
				ps.QueuedRecords += int64(len(b.proms))
				ps.QueuedBytes += b.mem
			}
			pb.mu.Unlock()
			out.Partitions = append(out.Partitions, ps)
		}
		return true
	})
	sort.Slice(out.Partitions, func(i, j int) bool {
		a, b := out.Partitions[i], out.Partitions[j]
		return a.Topic < b.Topic || (a.Topic == b.Topic && a.Partition < b.Partition)
	})
	return out
}

// ConsumerStats is a snapshot of a consumer's statistics. The counters
// count since the consumer was created.
type ConsumerStats struct {
	// Type is "consumer".
	Type string `json:"type"`
	// ClientID is the client.id setting.
	ClientID string `json:"client_id"`
	// GroupID is the group.id setting ("" without a group).
	GroupID string `json:"group_id"`
	// TimestampMs is when the snapshot was taken, in ms since the Unix epoch.
	TimestampMs int64 `json:"ts_ms"`
	// BufferBytes is the bytes of fetched records waiting to be polled (the prefetch buffer).
	BufferBytes int64 `json:"buffer_bytes"`
	// BufferLimit is queued.max.messages.kbytes in bytes, the bound of the prefetch buffer and the fetches in flight.
	BufferLimit int64 `json:"buffer_limit"`
	// BufferWindow is the part of buffer_limit in force: a quarter of it when the consumer starts, doubling (up to all of it) each time Poll emptied the buffer before a full fetch came in.
	BufferWindow int64 `json:"buffer_window"`
	// BufferedRecords is the number of fetched records waiting to be polled,
	// as the headers of their record batches count them (an over-estimate
	// after compaction removed some).
	BufferedRecords int64 `json:"buffered_records"`
	// FetchedRecords is the number of records fetched into the buffer.
	FetchedRecords int64 `json:"fetched_records"`
	// FetchedBytes is the wire bytes of the records fetched into the buffer.
	FetchedBytes int64 `json:"fetched_bytes"`
	// Rebalances is the number of assignment changes made by the group (each assignment, revocation or loss of partitions counts one).
	Rebalances int64 `json:"rebalances"`
	// Commits is the number of partition offsets committed successfully.
	Commits int64 `json:"commits"`
	// LastCommitMs is when an offset commit last succeeded, in ms since the Unix epoch; 0 = never.
	LastCommitMs int64 `json:"last_commit_ms"`
	// Brokers are the connection statistics per broker.
	Brokers []BrokerStats `json:"brokers"`
	// Partitions are the statistics of the assigned partitions, sorted by topic and partition.
	Partitions []ConsumerPartitionStats `json:"partitions"`
}

// ConsumerPartitionStats are the statistics of one assigned partition of a
// consumer.
type ConsumerPartitionStats struct {
	// Topic is the partition's topic.
	Topic string `json:"topic"`
	// Partition is the partition number.
	Partition int32 `json:"partition"`
	// Leader is the node id of the partition's leader as last known, -1 unknown.
	Leader int32 `json:"leader"`
	// FetchPosition is the next offset to fetch; -1 while unknown.
	FetchPosition int64 `json:"fetch_position"`
	// Position is the next offset Poll returns; -1 while unknown.
	Position int64 `json:"position"`
	// Committed is the offset last committed (or read from the group) by this consumer; -1 none.
	Committed int64 `json:"committed"`
	// HighWatermark is the partition's high watermark from the last fetch; -1 unknown.
	HighWatermark int64 `json:"high_watermark"`
	// Lag is HighWatermark - Position (records not yet polled); -1 while either is unknown.
	Lag int64 `json:"lag"`
	// PrefetchedRecords is the number of the partition's records in the buffer.
	PrefetchedRecords int64 `json:"prefetched_records"`
	// PrefetchedBytes is the wire bytes of the partition's records in the buffer.
	PrefetchedBytes int64 `json:"prefetched_bytes"`
	// Paused is true while the application has paused the partition.
	Paused bool `json:"paused"`
}

// consumerCounters are a consumer's counters. Safe for concurrent use.
type consumerCounters struct {
	fetchedRecords, fetchedBytes atomic.Int64 // per fetch response chunk (consumer_fetcher.go)
	rebalances                   atomic.Int64 // assignment changes (consumer.go: assigned, revoked)
	commits                      atomic.Int64 // partition offsets committed (consumer_offsets.go)
	lastCommit                   atomic.Int64 // unix ms of the last successful commit; 0 = never
}

// noteCommit counts one committed partition offset.
func (cc *consumerCounters) noteCommit() {
	cc.commits.Add(1)
	cc.lastCommit.Store(time.Now().UnixMilli())
}

// Stats returns a snapshot of the consumer's statistics: counters, buffer
// use, per broker and per assigned partition. Safe to call concurrently
// with everything, also after Close (no partitions are assigned then). It
// takes the consumer's lock briefly and does no network I/O.
func (c *Consumer) Stats() ConsumerStats {
	out := ConsumerStats{Type: "consumer", ClientID: c.cfg.ClientID, GroupID: c.cfg.GroupID,
		TimestampMs: time.Now().UnixMilli(), BufferLimit: int64(c.prefetchLimit()),
		FetchedRecords: c.stats.fetchedRecords.Load(), FetchedBytes: c.stats.fetchedBytes.Load(),
		Rebalances: c.stats.rebalances.Load(), Commits: c.stats.commits.Load(),
		LastCommitMs: c.stats.lastCommit.Load(),
		Brokers:      c.cl.brokerStats(), Partitions: []ConsumerPartitionStats{}}
	c.mu.Lock()
	out.BufferBytes, out.BufferWindow = int64(c.bufBytes), int64(c.window)
	type pre struct{ recs, bytes int64 }
	prefetched := make(map[*partState]*pre, len(c.parts))
	for _, ch := range c.buf {
		if ch.p == nil || ch.seq != ch.p.seq {
			continue // stale: dropped at the next Poll
		}
		q := prefetched[ch.p]
		if q == nil {
			q = &pre{}
			prefetched[ch.p] = q
		}
		n := int64(ch.left)
		q.recs += n
		q.bytes += int64(ch.bytes)
		out.BufferedRecords += n
	}
	for _, p := range c.parts {
		ps := ConsumerPartitionStats{Topic: p.tp.Topic, Partition: p.tp.Partition, Leader: p.leader,
			FetchPosition: p.fetchOffset, Position: p.consumed, Committed: p.committed,
			HighWatermark: p.hw, Lag: -1, Paused: p.paused}
		if p.hw >= 0 && p.consumed >= 0 {
			ps.Lag = max(p.hw-p.consumed, 0)
		}
		if q := prefetched[p]; q != nil {
			ps.PrefetchedRecords, ps.PrefetchedBytes = q.recs, q.bytes
		}
		out.Partitions = append(out.Partitions, ps)
	}
	c.mu.Unlock()
	sort.Slice(out.Partitions, func(i, j int) bool {
		a, b := out.Partitions[i], out.Partitions[j]
		return a.Topic < b.Topic || (a.Topic == b.Topic && a.Partition < b.Partition)
	})
	return out
}

// AdminStats is a snapshot of an admin client's statistics.
type AdminStats struct {
	// Type is "admin".
	Type string `json:"type"`
	// ClientID is the client.id setting.
	ClientID string `json:"client_id"`
	// TimestampMs is when the snapshot was taken, in ms since the Unix epoch.
	TimestampMs int64 `json:"ts_ms"`
	// Brokers are the connection statistics per broker.
	Brokers []BrokerStats `json:"brokers"`
}

// Stats returns a snapshot of the admin client's statistics. Safe for
// concurrent use, also after Close; no network I/O.
func (a *Admin) Stats() AdminStats {
	return AdminStats{Type: "admin", ClientID: a.cl.cfg.ClientID, TimestampMs: time.Now().UnixMilli(),
		Brokers: a.cl.brokerStats()}
}
