package core

import (
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// source fetches, in a loop, every fetchable assigned partition led by one
// broker: one Fetch request in flight at a time, the next sent as soon as
// the previous is decoded, as long as the prefetch bound
// (queued.max.messages.kbytes, see prefetchRoomLocked) leaves room for it.
//
// "The fetcher" is a role (mu), like the producer's sender and receiver
// (core/sink.go): whoever holds it moves the loop on (advance). When a
// response arrives, the connection's reader takes the role if it is free,
// applies the response and sends the next fetch itself (onResponse); the
// source's goroutine, which lives until the consumer closes, takes over
// when the loop stops (nothing to fetch, the buffer full, a backoff, a
// connection to dial) and when woken (the consumer drained its buffer, the
// assignment changed) or by the bound of a fetch that got no answer.
// Handing each response to the goroutine cost a futex wake-up of another
// thread per fetch, and a thread spinning on a core the application or
// the broker needed: a consumer following a producer record by record
// spent about twice confluent-kafka's CPU per record.
type source struct {
	c      *Consumer
	node   int32
	full   bool          // guarded by c.mu: build found no room under the prefetch bound (wakeSourcesIfRoom)
	wake   chan struct{} // capacity 1: wakes the goroutine
	notify func()        // s.onResponse, the notify of every fetch (one closure per source)
	conn   leasedConn    // the fetcher's own connection to node

	// reserved is the MaxBytes of the fetch in flight, counted against
	// the prefetch bound (Consumer.reserved) until its response is
	// buffered or it fails. Guarded by c.mu.
	reserved int

	mu       sync.Mutex  // the fetcher role; guards the fields below
	cur      *call       // the fetch in flight (nil: none)
	curParts []fetchPart // its partitions
	failures int         // fetches in a row that got no response
	rot      int         // rotates the partition order between requests, for fairness
	// batches is decode scratch, reused from fetch to fetch; cleared
	// after each use, as its views alias the frame.
	batches []wire.BatchView
}

// fetchPart is one partition of a fetch request.
type fetchPart struct {
	p      *partState
	seq    uint64
	offset int64
	epoch  int32 // the leader epoch the fetch was sent with
}

func (s *source) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ensureSourceLocked starts the fetcher of node if there is none.
func (c *Consumer) ensureSourceLocked(node int32) {
	if node < 0 || c.closed || c.sources[node] != nil {
		return
	}
	s := &source{c: c, node: node, wake: make(chan struct{}, 1), conn: leasedConn{c: c}}
	s.notify = s.onResponse
	c.sources[node] = s
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		s.run()
	}()
}

func (c *Consumer) wakeSources() {
	c.mu.Lock()
	for _, s := range c.sources {
		s.poke()
	}
	c.mu.Unlock()
}

// wakeSourcesIfRoom pokes the fetchers that paused for want of room under
// the prefetch bound, once Poll has drained the buffer enough for the
// smallest fetch one of them may send. The others need no wake-up: a
// fetch in flight moves its loop on when it returns, and poking its
// goroutine for nothing cost a goroutine hand-off per poll.
func (c *Consumer) wakeSourcesIfRoom() {
	c.mu.Lock()
	c.wakeSourcesIfRoomLocked()
	c.mu.Unlock()
}

func (c *Consumer) wakeSourcesIfRoomLocked() {
	if c.prefetchRoomLocked() < c.minFetchRoom(1) {
		return
	}
	for _, s := range c.sources {
		if s.full {
			s.full = false
			s.poke()
		}
	}
}

// prefetchLimit is queued.max.messages.kbytes in bytes: the most the
// prefetch window may grow to.
func (c *Consumer) prefetchLimit() int { return int(c.cfg.QueuedMaxKbytes) * 1024 }

// The prefetch window is the bound in force, between a quarter of
// queued.max.messages.kbytes (where a consumer starts) and all of it. It
// doubles when the application outran it: Poll took the last buffered
// record, and the next fetch to come in found the buffer still empty and
// came back at least half as full as it asked for (the broker had more
// than the window let it ask for). It never shrinks. Why: a loop that
// handles records slowly (a commit per message reads ~3,000 records a
// second) never drains even the first quarter before the next fetch is
// due, yet holding the whole bound full cost it 3-4 MiB of peak RSS (the
// bound, plus the collector's headroom over it); a loop that keeps up
// grows to the whole bound within its first few fetches.
func startWindow(limit int) int { return max(1, limit/4) }

// growWindowLocked applies a fetch response that buffered records to the
// window: asked is what the fetch asked for (its MaxBytes), got the
// response bytes it buffered (> 0), empty whether the buffer was empty
// when it came in. c.mu held.
func (c *Consumer) growWindowLocked(asked, got int, empty bool) {
	if empty && c.drained && 2*got >= asked {
		c.window = min(2*c.window, c.prefetchLimit())
	}
	c.drained = false
}

// prefetchRoomLocked is what the prefetch bound leaves for new fetches:
// the window less the buffered records' response bytes and the MaxBytes
// of the fetches in flight (a response carries at most its MaxBytes,
// except that a first record batch larger than that comes whole, KIP-74).
// So buffered plus in-flight bytes stay within the window, over it by at
// most one such batch per fetch, whatever the number of brokers. c.mu
// held.
func (c *Consumer) prefetchRoomLocked() int {
	return c.window - c.bufBytes - c.reserved
}

// fetchShare is the most one fetch may ask for under the prefetch bound:
// the window shared by the brokers fetched from, so that one broker's
// fetch in flight (a long poll of fetch.max.wait.ms when it has no data)
// never holds all the room while the others wait for it. c.mu held.
func (c *Consumer) fetchShare() int {
	return max(1, c.window/max(1, len(c.sources)))
}

// wantFetch is the most a fetch of n partitions can carry and ask for.
// c.mu held.
func (c *Consumer) wantFetch(n int) int {
	return min(int(c.cfg.FetchMaxBytes), n*int(c.cfg.MaxPartitionFetchBytes), c.fetchShare())
}

// minFetchRoom is the room a fetch of n partitions waits for: half its
// share of the bound, or less when the fetch cannot carry that much.
// Without that hysteresis an application polling a record at a time would
// free room for one record per poll and cause a fetch per record. c.mu
// held.
func (c *Consumer) minFetchRoom(n int) int {
	return max(1, min(c.fetchShare()/2, c.wantFetch(n)))
}

// run is the source's goroutine.
func (s *source) run() {
	c := s.c
	defer s.conn.close()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		wait := s.advance(false)
		s.mu.Unlock()
		timer.Stop()
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-s.wake:
		case <-timer.C:
		case <-c.ctx.Done():
			return
		}
	}
}

// onResponse is the notify of the fetch in flight: it runs on the
// connection's reader when the response arrives (or on a goroutine of its
// own when the connection dies). It moves the loop on in place when the
// role is free, and wakes the goroutine when the role is taken (its holder
// may be past looking at the call) or when the loop stopped with no fetch
// in flight (the goroutine owns the waiting then).
func (s *source) onResponse() {
	if !s.mu.TryLock() {
		s.poke()
		return
	}
	s.advance(true)
	idle := s.cur == nil
	s.mu.Unlock()
	if idle {
		s.poke()
	}
}

// advance takes the response of the fetch in flight when it is in,
// applies it, and sends the next fetch, for as long as it can without
// blocking. It returns how long the goroutine may sleep before calling
// again (0: until woken): what is left of the fetch's bound, or of a
// partition's backoff. inline (onResponse) never dials: with no live
// connection it leaves the next fetch to the goroutine. mu held.
func (s *source) advance(inline bool) time.Duration {
	c := s.c
	for c.ctx.Err() == nil {
		var ready func() // the consumer's ready hook, when handle buffered records
		if k := s.cur; k != nil {
			if !k.arrived() {
				if k.expire() {
					continue // closed: the call has failed
				}
				if d := k.deadline(); !d.IsZero() {
					return max(time.Until(d), time.Millisecond)
				}
				return 0 // unbounded: its notify comes back here
			}
			fps := s.curParts
			s.cur, s.curParts = nil, nil
			resp, err := k.wait(c.ctx) // at once: arrived
			if err != nil {
				s.conn.dropDead()
				s.failed(fps)
				continue
			}
			s.failures = 0
			ready = s.handle(fps, resp.(*wire.FetchResponse))
		}
		req, fps, wait := s.build()
		// The ready hook runs once the next fetch is built, before it is
		// written: the application thread it wakes polls at once, and
		// polling while this goroutine builds the request under the
		// consumer's lock made one of them sleep on that lock; the write
		// takes no lock the poll needs.
		if ready != nil {
			ready()
		}
		if req == nil {
			return wait
		}
		k, err := s.send(req, inline)
		if k == nil && err == nil {
			s.unmark(fps) // inline, not connected: the goroutine sends it
			return 0
		}
		if err != nil {
			s.failed(fps)
			continue
		}
		s.cur, s.curParts = k, fps
	}
	return 0
}

// build makes the next fetch request, marking its partitions in flight.
// With nothing to fetch it returns nil and how long until a partition
// backing off becomes fetchable (0: wait for a wake-up).
func (s *source) build() (*wire.FetchRequest, []fetchPart, time.Duration) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, 0
	}
	room := c.prefetchRoomLocked()
	if room < c.minFetchRoom(1) {
		s.full = true
		return nil, nil, 0
	}
	now := time.Now()
	var wait time.Duration
	var ps []*partState
	for _, p := range c.parts {
		if p.leader != s.node {
			continue
		}
		if p.fetchable(now) {
			ps = append(ps, p)
		} else if p.need == posKnown && p.fetchOffset >= 0 && !p.inflight && now.Before(p.retryAt) {
			if d := p.retryAt.Sub(now); wait == 0 || d < wait {
				wait = d
			}
		}
	}
	if len(ps) == 0 {
		return nil, nil, wait
	}
	if room < c.minFetchRoom(len(ps)) {
		s.full = true
		return nil, nil, 0
	}
	// The fetch asks for no more than the room left, and reserves it
	// until its response is buffered (handle) or it fails.
	maxBytes := min(room, int(c.cfg.FetchMaxBytes), c.fetchShare())
	partMax := min(maxBytes, int(c.cfg.MaxPartitionFetchBytes))
	s.reserved = maxBytes
	c.reserved += maxBytes
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].tp.Topic != ps[j].tp.Topic {
			return ps[i].tp.Topic < ps[j].tp.Topic
		}
		return ps[i].tp.Partition < ps[j].tp.Partition
	})
	// Brokers fill a response in request order, so rotate the start to
	// keep one busy partition from starving the others.
	s.rot++
	r := s.rot % len(ps)
	ps = append(ps[r:], ps[:r]...)

	req := &wire.FetchRequest{
		MaxWaitMs: int32(c.cfg.FetchMaxWait / time.Millisecond), MinBytes: c.cfg.FetchMinBytes,
		MaxBytes: int32(maxBytes), IsolationLevel: int8(c.cfg.IsolationLevel), SessionEpoch: -1,
		RackId: c.cfg.ClientRack,
	}
	topicIdx := map[string]int{}
	fps := make([]fetchPart, len(ps))
	for i, p := range ps {
		p.inflight = true
		fps[i] = fetchPart{p: p, seq: p.seq, offset: p.fetchOffset, epoch: p.leaderEpoch}
		ti, ok := topicIdx[p.tp.Topic]
		if !ok {
			ti = len(req.Topics)
			topicIdx[p.tp.Topic] = ti
			req.Topics = append(req.Topics, wire.FetchRequestTopic{Topic: p.tp.Topic})
		}
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, wire.FetchRequestPartition{
			Partition: p.tp.Partition, CurrentLeaderEpoch: p.leaderEpoch, FetchOffset: p.fetchOffset,
			LastFetchedEpoch: -1, LogStartOffset: -1, PartitionMaxBytes: int32(partMax),
		})
	}
	return req, fps, 0
}

// send starts req on the fetcher's connection. Only the goroutine
// (!inline) may dial, bounded like a request; inline there is no dial and
// no context to allocate per fetch.
func (s *source) send(req *wire.FetchRequest, inline bool) (*call, error) {
	c := s.c
	if inline {
		return s.conn.start(c.ctx, s.node, req, s.notify, false)
	}
	ctx, cancel := c.cl.withTimeout(c.ctx, c.cfg.RequestTimeout)
	defer cancel()
	return s.conn.start(ctx, s.node, req, s.notify, true)
}

// unreserveLocked gives back the room the fetch in flight reserved.
// c.mu held.
func (s *source) unreserveLocked() {
	s.c.reserved -= s.reserved
	s.reserved = 0
}

// unmark undoes build's marking (and reservation) of a fetch that was not
// sent.
func (s *source) unmark(fps []fetchPart) {
	s.c.mu.Lock()
	s.unreserveLocked()
	for _, fp := range fps {
		if s.c.parts[fp.p.tp] == fp.p {
			fp.p.inflight = false
		}
	}
	s.c.mu.Unlock()
}

// failed handles a fetch that got no response, mostly from a broker that
// cannot be reached or stopped answering (its connection is closed then):
// its partitions back off as for a reconnection (growing with the
// failures in a row, at most reconnect.backoff.max.ms) while the leaders
// are looked up again (a dead connection often means a moved one). s.mu
// held.
func (s *source) failed(fps []fetchPart) {
	c := s.c
	s.failures++
	retryAt := time.Now().Add(c.cl.cfg.lookupBackoff(s.failures))
	c.mu.Lock()
	s.unreserveLocked()
	c.wakeSourcesIfRoomLocked()
	for _, fp := range fps {
		if c.parts[fp.p.tp] == fp.p {
			fp.p.inflight = false
			fp.p.retryAt = retryAt
		}
	}
	c.needMeta = true
	c.mu.Unlock()
	c.wakeMaint()
}

type fetchOutcome struct {
	ch   *chunk
	code wire.ErrorCode
	err  error
	hw   int64
}

// handle decodes a fetch response (outside the lock) and applies it. When
// it buffered records it returns the consumer's ready hook, for the caller
// to run outside the consumer's lock (wakeLocked).
func (s *source) handle(fps []fetchPart, resp *wire.FetchResponse) func() {
	c := s.c
	out := make([]fetchOutcome, len(fps))
	for i := range out {
		out[i].hw = -1
	}
	if resp.ErrorCode != 0 {
		for i := range out {
			out[i].code = wire.ErrorCode(resp.ErrorCode)
		}
	} else {
		index := make(map[TopicPartition]int, len(fps))
		for i, fp := range fps {
			index[fp.p.tp] = i
		}
		for ti := range resp.Responses {
			t := &resp.Responses[ti]
			for pi := range t.Partitions {
				rp := &t.Partitions[pi]
				i, ok := index[TopicPartition{t.Topic, rp.PartitionIndex}]
				if !ok {
					continue
				}
				out[i].hw = rp.HighWatermark
				if rp.ErrorCode != 0 {
					out[i].code = wire.ErrorCode(rp.ErrorCode)
					continue
				}
				out[i].ch, out[i].err = s.decode(fps[i], t.Topic, rp, c.cfg.IsolationLevel == ReadCommitted)
			}
		}
	}

	c.mu.Lock()
	// The response is in: what it buffers below replaces its reservation
	// (room it did not fill goes back to fetchers paused for it).
	asked, before := s.reserved, c.bufBytes
	s.unreserveLocked()
	added := false
	refresh := false
	now := time.Now()
	for i, fp := range fps {
		p := fp.p
		if c.parts[p.tp] != p {
			continue
		}
		p.inflight = false
		if p.seq != fp.seq || p.fetchOffset != fp.offset {
			// Seeked, reset or revoked meanwhile (seq), or the position
			// moved by another way: the response no longer continues the
			// partition where the application is, so it is dropped
			// rather than returned out of sequence.
			continue
		}
		o := &out[i]
		if o.hw >= 0 {
			p.hw = o.hw
		}
		switch {
		case o.err != nil:
			// Undecodable data: stop the partition until the application
			// seeks past it, as the Java client does.
			p.fetchOffset = -1
			c.reportErrLocked(o.err)
		case o.code == wire.ErrNone:
			ch := o.ch
			if ch == nil || ch.next <= fp.offset {
				continue // nothing new (the broker waited fetch.max.wait.ms)
			}
			p.fetchOffset = ch.next
			if ch.left == 0 && len(ch.batches) == 0 {
				// Only control records or aborted data: move on without
				// buffering, unless records of the partition are still
				// waiting to be returned.
				if p.consumed == fp.offset {
					p.consumed = ch.next
					continue
				}
			}
			ch.p, ch.seq = p, p.seq
			c.buf = append(c.buf, ch)
			c.bufBytes += ch.bytes
			c.stats.fetchedRecords.Add(int64(ch.left))
			c.stats.fetchedBytes.Add(int64(ch.bytes))
			added = true
		case o.code == wire.ErrOffsetOutOfRange && (p.leader != s.node || p.leaderEpoch != fp.epoch):
			// Out of range at a broker that is no longer the leader as
			// the metadata now says (it changed while the fetch was out):
			// a deposed leader's log end says nothing about the position.
			// Fetch again from the current leader instead of resetting,
			// which would rewind or skip records.
			p.retryAt = now.Add(100 * time.Millisecond)
		case o.code == wire.ErrOffsetOutOfRange:
			if c.cfg.AutoOffsetReset == "none" {
				p.fetchOffset = -1
				c.reportErrLocked(&wire.Error{Code: wire.ErrOffsetOutOfRange,
					Detail: fmt.Sprintf("%s offset %d (auto.offset.reset=none: seek to continue)", p.tp, fp.offset)})
			} else {
				p.need, p.resetTo = posReset, c.resetOffset()
				refresh = true
			}
		case leaderError(o.code):
			p.leader = -1
			p.retryAt = now.Add(100 * time.Millisecond)
			c.needMeta = true
			refresh = true
		default:
			p.retryAt = now.Add(time.Second)
			c.reportErrLocked(&wire.Error{Code: o.code, Detail: fmt.Sprintf("fetching %s at offset %d", p.tp, fp.offset)})
		}
	}
	c.wakeSourcesIfRoomLocked()
	var ready func()
	if added {
		c.growWindowLocked(asked, c.bufBytes-before, before == 0)
		ready = c.wakeLocked()
	}
	c.mu.Unlock()
	if refresh {
		c.wakeMaint()
	}
	return ready
}

// leaderError reports whether a fetch error means the partition's leader
// must be looked up again.
func leaderError(code wire.ErrorCode) bool {
	switch code {
	case wire.ErrNotLeaderOrFollower, wire.ErrLeaderNotAvailable, wire.ErrUnknownTopicOrPartition,
		wire.ErrFencedLeaderEpoch, wire.ErrUnknownLeaderEpoch, wire.ErrKafkaStorageError,
		wire.ErrReplicaNotAvailable, wire.ErrOffsetNotAvailable, wire.ErrUnknownTopicID,
		wire.ErrNotCoordinator, wire.ErrBrokerNotAvailable:
		return true
	}
	return false
}

// decode turns one partition's record batches into a chunk: it checks
// the batches (CRC, codec, counts), decompresses them and leaves out
// control batches and, under read_committed, those of aborted
// transactions; the records themselves are decoded when polled (see
// chunk). The chunk's batches alias the response frame (uncompressed
// batches) or each batch's decompressed buffer; it costs a few
// allocations however many records it holds.
func (s *source) decode(fp fetchPart, topic string, rp *wire.FetchResponsePartition, readCommitted bool) (*chunk, error) {
	if len(rp.Records) == 0 {
		return nil, nil
	}
	batches, derr := wire.ScanRecordBatches(rp.Records, s.batches[:0])
	// The scratch's views alias this response's frame (or a batch's
	// decompressed buffer): once the chunk holds its own copy they must
	// not keep that memory alive.
	defer clear(batches)
	s.batches = batches
	if derr != nil && len(batches) == 0 {
		return nil, &wire.Error{Code: wire.ErrCorruptMessage, Detail: fmt.Sprintf("%s/%d offset %d: %v", topic, fp.p.tp.Partition, fp.offset, derr)}
	}
	ch := &chunk{from: fp.offset, next: fp.offset, bytes: len(rp.Records)}

	var aborted []wire.FetchResponseAbortedTransaction
	var abortedPIDs map[int64]bool
	if readCommitted && len(rp.AbortedTransactions) > 0 {
		aborted = append(aborted, rp.AbortedTransactions...)
		sort.Slice(aborted, func(i, j int) bool { return aborted[i].FirstOffset < aborted[j].FirstOffset })
		abortedPIDs = map[int64]bool{}
	}
	keep := 0 // batches[:keep] are the data batches to return
	for bi := range batches {
		b := &batches[bi]
		bnext := b.NextOffset()
		if bnext <= fp.offset {
			continue
		}
		ch.next = bnext
		if abortedPIDs != nil {
			last := bnext - 1
			for len(aborted) > 0 && aborted[0].FirstOffset <= last {
				abortedPIDs[aborted[0].ProducerId] = true
				aborted = aborted[1:]
			}
			if b.IsControl() {
				if isAbortMarker(b) {
					delete(abortedPIDs, b.ProducerID)
				}
				continue
			}
			if b.IsTransactional() && abortedPIDs[b.ProducerID] {
				continue
			}
		}
		if b.IsControl() || b.Count == 0 {
			continue
		}
		n := int(b.Count)
		if b.BaseOffset < fp.offset {
			// Records before the fetch offset are skipped when taken;
			// without compaction they are the first fetch.offset-base.
			n -= int(min(fp.offset-b.BaseOffset, int64(n)))
		}
		ch.left += n
		batches[keep] = *b
		keep++
	}
	if keep > 0 {
		ch.batches = append([]wire.BatchView(nil), batches[:keep]...)
	}
	if derr != nil && ch.next == fp.offset {
		return nil, &wire.Error{Code: wire.ErrCorruptMessage, Detail: fmt.Sprintf("%s/%d offset %d: %v", topic, fp.p.tp.Partition, fp.offset, derr)}
	}
	return ch, nil
}

// isAbortMarker reports whether a control batch holds an ABORT marker: its
// record key is int16 version, int16 type (0 abort, 1 commit).
func isAbortMarker(b *wire.BatchView) bool {
	var r wire.Record
	it := b.Iter()
	if !it.Next(&r) || len(r.Key) < 4 {
		return false
	}
	return binary.BigEndian.Uint16(r.Key[2:]) == 0
}
