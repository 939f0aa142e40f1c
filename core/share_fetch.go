package core

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/gofka/gofka/wire"
)

// Share fetching (KIP-932): one share session per broker that leads an
// assigned partition. ShareFetch epoch 0 opens the session with every
// partition to fetch from that broker; later requests carry the next epoch,
// name only the partitions added (and those carrying acknowledgements) and
// forget the ones no longer wanted. A session error
// (SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH), any other
// top-level error and a transport failure reset the session: the next
// request opens a new one (epoch 0, which cannot carry acknowledgements:
// those queued for the old session are reported failed; the broker
// releases their records when the old session or its locks end). A
// transport failure (no response: the broker is dead or unreachable) also
// backs that broker off, as the classic consumer's fetch does: it is tried
// again after retry.backoff.ms, doubling with the failures in a row up to
// reconnect.backoff.max.ms, while the other brokers are fetched from and
// the leaders are looked up again.

// shareSession is the state of the share session with one broker. Used
// under ShareConsumer.opMu only.
type shareSession struct {
	node  int32
	conn  shareConn
	epoch int32              // the next request's epoch; 0 opens a session
	parts map[sharePart]bool // in the session, as the broker knows it
	// resets counts the sessions abandoned after an error (a clean close
	// is not one).
	resets int
	// failures counts the transport failures in a row; no request goes
	// to the broker before retryAt (zero: at once).
	failures int
	retryAt  time.Time
}

func (s *shareSession) reset() {
	if s.epoch != 0 {
		s.resets++
	}
	s.epoch = 0
	s.parts = map[sharePart]bool{}
}

// advance moves to the next epoch after a successful request (after
// MaxInt32 comes 1: 0 would open a new session).
func (s *shareSession) advance() {
	if s.epoch == math.MaxInt32 {
		s.epoch = 1
	} else {
		s.epoch++
	}
}

func (c *ShareConsumer) session(node int32) *shareSession {
	s := c.sessions[node]
	if s == nil {
		s = &shareSession{node: node, conn: shareConn{cl: c.cl}, parts: map[sharePart]bool{}}
		c.sessions[node] = s
	}
	return s
}

// shareAcks are the queued acknowledgements of one partition: records by
// offset, and gaps (acquired offsets that hold no record: control records,
// compacted ones), acknowledged as GAP without the application seeing them.
type shareAcks struct {
	offs map[int64]int8
	gaps [][2]int64 // inclusive ranges
}

// batches encodes the acknowledgements in ascending, non-overlapping
// batches: a run of consecutive offsets is one batch, with one type when
// they all have the same.
func (a *shareAcks) batches() []wire.ShareAcknowledgementBatch {
	offs := make([]int64, 0, len(a.offs))
	for o := range a.offs {
		offs = append(offs, o)
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	var out []wire.ShareAcknowledgementBatch
	for i := 0; i < len(offs); {
		j := i + 1
		for j < len(offs) && offs[j] == offs[j-1]+1 {
			j++
		}
		types := make([]int8, 0, j-i)
		same := true
		for _, o := range offs[i:j] {
			types = append(types, a.offs[o])
			same = same && a.offs[o] == types[0]
		}
		if same {
			types = types[:1]
		}
		out = append(out, wire.ShareAcknowledgementBatch{FirstOffset: offs[i], LastOffset: offs[j-1], AcknowledgeTypes: types})
		i = j
	}
	for _, g := range a.gaps {
		out = append(out, wire.ShareAcknowledgementBatch{FirstOffset: g[0], LastOffset: g[1], AcknowledgeTypes: []int8{wire.AckGap}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FirstOffset < out[j].FirstOffset })
	return out
}

// results reports the outcome err (nil: applied) of every record
// acknowledgement in a (gaps are the client's own and not reported).
func (a *shareAcks) results(name string, sp sharePart, err error) []ShareAckResult {
	out := make([]ShareAckResult, 0, len(a.offs))
	for o, t := range a.offs {
		out = append(out, ShareAckResult{Topic: name, Partition: sp.p, Offset: o, Type: AcknowledgeType(t), Err: err})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return out
}

// takePending returns the queued acknowledgements and starts a new queue.
func (c *ShareConsumer) takePending() map[int32]map[sharePart]*shareAcks {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	c.pending = map[int32]map[sharePart]*shareAcks{}
	return p
}

// topicNames maps the topic ids of the metadata snapshot to names.
func topicNames(m *Metadata) map[[16]byte]*TopicInfo {
	out := map[[16]byte]*TopicInfo{}
	if m != nil {
		for _, t := range m.Topics {
			out[t.ID] = t
		}
	}
	return out
}

// nameOf returns the topic name of id in the current metadata ("" when
// unknown).
func (c *ShareConsumer) nameOf(id [16]byte) string {
	if t := topicNames(c.cl.meta.Load())[id]; t != nil {
		return t.Name
	}
	return ""
}

// shareJob is the request of one fetch round to one broker.
type shareJob struct {
	s      *shareSession
	fetch  []sharePart // partitions to add to (or open) the session
	wanted bool        // the broker leads assigned partitions: fetch from it
	forget []sharePart
	acks   map[sharePart]*shareAcks
	req    wire.Request
	resp   wire.Response
	err    error
	sent   time.Time
}

// fetchRound sends one share fetch to every broker leading an assigned
// partition (and acknowledgements wherever they are queued), waiting up to
// fetch.max.wait.ms (bounded by ctx) for records, which it adds to
// c.buffered. With nothing assigned it sends the queued acknowledgements
// and waits for an assignment or ctx. A round already in flight (one the
// last Poll fetched ahead, or one whose caller's ctx ended) is awaited
// instead. It returns the acknowledgements' outcome, and an error only when
// the membership is over (opMu held).
func (c *ShareConsumer) fetchRound(ctx context.Context, maxRecs int) ([]ShareAckResult, error) {
	if c.inflight != nil {
		return c.awaitRound(ctx), nil
	}
	jobs, results, idle, err := c.planFetch(ctx, false)
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		// Nothing assigned yet, no leader known or every leader backed
		// off: wait for a change (or the end of the first backoff).
		t := time.NewTimer(idle.wait)
		defer t.Stop()
		select {
		case <-idle.changed:
		case <-t.C:
		case <-ctx.Done():
		}
		return results, nil
	}
	maxWait := c.cfg.FetchMaxWait
	if dl, ok := ctx.Deadline(); ok {
		maxWait = min(maxWait, time.Until(dl))
	}
	maxWait = max(maxWait, 0)
	for _, j := range jobs {
		j.req = c.buildShareRequest(j, maxRecs, maxWait, c.fetchMaxBytes(len(jobs)))
	}
	c.launch(jobs, false)
	return append(results, c.awaitRound(ctx)...), nil
}

// fetchAhead starts the next round after a Poll took records from the
// buffer, without waiting for it (opMu held), as Java's KafkaShareConsumer
// does: when nothing is buffered any more, a share fetch to every broker
// (carrying the queued acknowledgements), whose records the next Poll
// returns; while records are still buffered no fetch is due, and the
// queued acknowledgements go alone (ShareAcknowledge). Nothing starts while
// a round is in flight (one request per broker at a time: the share
// session needs them in order), when the leaders must be looked up first
// (the next Poll does it, within its ctx), or once the membership is over.
// The answer is applied by the next Poll, Commit or Close. It returns the
// outcome of acknowledgements it could not send (their session is gone).
func (c *ShareConsumer) fetchAhead(maxRecs int) []ShareAckResult {
	if c.inflight != nil {
		return nil
	}
	if len(c.buffered) > 0 {
		return c.launchAcks(false)
	}
	jobs, results, _, err := c.planFetch(c.ctx, true)
	if err != nil || len(jobs) == 0 {
		return results
	}
	for _, j := range jobs {
		// No wait at the broker: the fetch ahead takes what is there now.
		// (A fetch ahead held there until fetch.max.wait.ms kept the
		// acknowledgements of the poll after it queued behind it; with the
		// partitions at their limit of acquired records
		// (group.share.partition.max.record.locks), held by those
		// unacknowledged records, every member then waited out the whole
		// wait: 1M records took 17 s with 4 members instead of 2.) When it
		// brings nothing, the next Poll fetches as usual, long poll and
		// acknowledgements included; a Commit or Close waits for it no
		// longer than a round trip.
		j.req = c.buildShareRequest(j, maxRecs, 0, c.fetchMaxBytes(len(jobs)))
	}
	c.launch(jobs, false)
	return results
}

// shareIdle is what a round with no request waits for.
type shareIdle struct {
	changed <-chan struct{} // closed when the assignment changes
	wait    time.Duration
}

// planFetch builds the requests of a fetch round, one per broker: the
// partitions to fetch, to add to or forget from its session, and the
// queued acknowledgements (it takes them; those of a session that is gone
// are returned failed). ahead (a fetch ahead, no caller waiting) plans
// nothing and takes nothing when the metadata must be refreshed first;
// otherwise the refresh runs within ctx. No jobs: what to wait for (opMu
// held).
func (c *ShareConsumer) planFetch(ctx context.Context, ahead bool) (map[int32]*shareJob, []ShareAckResult, shareIdle, error) {
	c.mu.Lock()
	if c.fatal != nil {
		err := c.fatal
		c.mu.Unlock()
		return nil, nil, shareIdle{}, err
	}
	asg := make([]sharePart, 0, len(c.assigned))
	for sp := range c.assigned {
		asg = append(asg, sp)
	}
	changed := c.changed
	topics := c.topics
	c.mu.Unlock()

	// Leaders of the assigned partitions, from the metadata (refreshed
	// when a partition's topic or leader is unknown, or after a leader
	// error).
	byID := topicNames(c.cl.meta.Load())
	leaderOf := func(sp sharePart) int32 {
		t := byID[sp.id]
		if t == nil || int(sp.p) >= len(t.Partitions) || sp.p < 0 {
			return -1
		}
		return t.Partitions[sp.p].Leader
	}
	refresh := c.stale
	for _, sp := range asg {
		refresh = refresh || leaderOf(sp) < 0
	}
	if refresh && len(asg) > 0 {
		if ahead {
			return nil, nil, shareIdle{}, nil
		}
		mctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		m, err := c.cl.RefreshMetadata(mctx, topics)
		cancel()
		if err == nil {
			byID = topicNames(m)
			c.stale = false
		}
	}

	jobs := map[int32]*shareJob{}
	job := func(node int32) *shareJob {
		j := jobs[node]
		if j == nil {
			j = &shareJob{s: c.session(node), acks: map[sharePart]*shareAcks{}}
			jobs[node] = j
		}
		return j
	}
	wanted := map[int32]map[sharePart]bool{}
	now := time.Now()
	var backoff time.Time // the earliest end of a broker's backoff, when one is skipped
	for _, sp := range asg {
		if node := leaderOf(sp); node >= 0 {
			if s := c.session(node); now.Before(s.retryAt) {
				if backoff.IsZero() || s.retryAt.Before(backoff) {
					backoff = s.retryAt
				}
				continue
			}
			if wanted[node] == nil {
				wanted[node] = map[sharePart]bool{}
			}
			wanted[node][sp] = true
			j := job(node)
			j.wanted = true
			if !j.s.parts[sp] || j.s.epoch == 0 {
				j.fetch = append(j.fetch, sp)
			}
		}
	}
	var results []ShareAckResult
	for node, byPart := range c.takePending() {
		s := c.session(node)
		if s.epoch == 0 {
			// Acknowledgements belong to the session that delivered the
			// records; a new session cannot carry them.
			results = append(results, failAcks(c, byPart, &wire.Error{Code: wire.ErrShareSessionNotFound,
				Detail: fmt.Sprintf("the share session with broker %d that delivered the records is gone", node)})...)
			continue
		}
		j := job(node)
		for sp, a := range byPart {
			j.acks[sp] = a
		}
	}
	for node, s := range c.sessions {
		if s.epoch == 0 {
			continue
		}
		for sp := range s.parts {
			if !wanted[node][sp] {
				if j := job(node); j.acks[sp] == nil { // forget once its acks are sent
					j.forget = append(j.forget, sp)
				}
			}
		}
	}
	for node, j := range jobs {
		// A share fetch fetches every partition it names, those named
		// only for their acknowledgements too: acknowledgements for a
		// partition no longer wanted there go alone (ShareAcknowledge),
		// and the next round forgets it. (Fetching it again acquired
		// records only to release them, each time with the delivery count
		// + 1, until the broker archived them.)
		for sp := range j.acks {
			if !wanted[node][sp] {
				j.wanted, j.fetch, j.forget = false, nil, nil
				break
			}
		}
	}

	wait := 100 * time.Millisecond
	if len(asg) == 0 {
		wait = c.cfg.FetchMaxWait
	}
	if !backoff.IsZero() {
		wait = max(time.Until(backoff), 0)
	}
	return jobs, results, shareIdle{changed: changed, wait: wait}, nil
}

// shareRound is a set of share requests in flight, one per broker. Their
// outcome must be applied whatever the caller's ctx does: the broker
// applies them (session epochs move on, acknowledgements are taken, records
// acquired), so a Poll whose ctx ends first leaves the round in flight and
// the next Poll, Commit or Close takes it up (awaitRound).
type shareRound struct {
	jobs    map[int32]*shareJob
	closing bool          // the requests close their sessions
	done    chan struct{} // closed when every response (or failure) is in
}

// launch sends the requests of jobs, each bounded by request.timeout.ms
// (plus the long poll of a share fetch), not by any caller's ctx, and makes
// them the round in flight (opMu held).
func (c *ShareConsumer) launch(jobs map[int32]*shareJob, closing bool) {
	r := &shareRound{jobs: jobs, closing: closing, done: make(chan struct{})}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func(j *shareJob) {
			defer wg.Done()
			j.sent = time.Now()
			j.resp, j.err = j.s.conn.request(context.Background(), j.s.node, j.req)
		}(j)
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
	c.inflight = r
}

// awaitRound waits, up to the end of ctx, for the round in flight and
// applies its responses, returning the acknowledgements' outcome. When ctx
// ends first the round stays in flight (opMu held).
func (c *ShareConsumer) awaitRound(ctx context.Context) []ShareAckResult {
	r := c.inflight
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil
	}
	c.inflight = nil
	var results []ShareAckResult
	for _, j := range r.jobs {
		results = append(results, c.handleShareResponse(j)...)
		if r.closing {
			j.s.epoch, j.s.parts = 0, map[sharePart]bool{}
		}
	}
	return results
}

// fetchMaxBytes is the MaxBytes of each share fetch of a round to n
// brokers: fetch.max.bytes, and at most the broker's share of the prefetch
// bound (queued.max.messages.kbytes). A round starts only once Poll has
// emptied the buffer and runs alone (fetchAhead), so what a round buffers
// stays within the bound, over it by at most one record batch per broker
// (a first batch larger than MaxBytes still comes whole, KIP-74).
func (c *ShareConsumer) fetchMaxBytes(n int) int32 {
	share := int(c.cfg.QueuedMaxKbytes) * 1024 / max(1, n)
	return int32(max(1, min(int(c.cfg.FetchMaxBytes), share)))
}

// buildShareRequest builds the request of j: a ShareFetch (of at most
// maxBytes) when the broker has partitions to fetch or forget, else a
// ShareAcknowledge.
func (c *ShareConsumer) buildShareRequest(j *shareJob, maxRecs int, maxWait time.Duration, maxBytes int32) wire.Request {
	group, member := c.cfg.GroupID, c.memberID
	byTopic := map[[16]byte]int{}
	var topics []wire.ShareFetchRequestTopic
	add := func(sp sharePart) *wire.ShareFetchRequestPartition {
		i, ok := byTopic[sp.id]
		if !ok {
			i = len(topics)
			byTopic[sp.id] = i
			topics = append(topics, wire.ShareFetchRequestTopic{TopicId: sp.id})
		}
		for k := range topics[i].Partitions {
			if topics[i].Partitions[k].PartitionIndex == sp.p {
				return &topics[i].Partitions[k]
			}
		}
		topics[i].Partitions = append(topics[i].Partitions, wire.ShareFetchRequestPartition{PartitionIndex: sp.p})
		return &topics[i].Partitions[len(topics[i].Partitions)-1]
	}
	for _, sp := range j.fetch {
		add(sp)
	}
	for sp, a := range j.acks {
		add(sp).AcknowledgementBatches = a.batches()
	}
	if !j.wanted && len(j.forget) == 0 {
		// The acknowledgements alone: the same topics (one type for both).
		return &wire.ShareAcknowledgeRequest{GroupId: &group, MemberId: &member, ShareSessionEpoch: j.s.epoch, Topics: topics}
	}
	req := &wire.ShareFetchRequest{GroupId: &group, MemberId: &member, ShareSessionEpoch: j.s.epoch,
		MinBytes: c.cfg.FetchMinBytes, MaxBytes: maxBytes,
		MaxRecords: int32(min(maxRecs, math.MaxInt32)), BatchSize: int32(min(maxRecs, math.MaxInt32)), Topics: topics}
	if j.wanted {
		req.MaxWaitMs = ms32(maxWait)
	}
	byForgotten := map[[16]byte]int{}
	for _, sp := range j.forget {
		i, ok := byForgotten[sp.id]
		if !ok {
			i = len(req.ForgottenTopicsData)
			byForgotten[sp.id] = i
			req.ForgottenTopicsData = append(req.ForgottenTopicsData, wire.ShareFetchRequestForgottenTopic{TopicId: sp.id})
		}
		req.ForgottenTopicsData[i].Partitions = append(req.ForgottenTopicsData[i].Partitions, sp.p)
	}
	return req
}

// sendAcks sends the queued acknowledgements with ShareAcknowledge, one
// request per broker, and returns their outcome, after the round in flight
// (bounded by ctx). closing closes every share session (epoch -1: the
// broker applies the acknowledgements, then releases what the session
// still holds), those with nothing to acknowledge too (opMu held).
func (c *ShareConsumer) sendAcks(ctx context.Context, closing bool) []ShareAckResult {
	results := c.awaitRound(ctx)
	if c.inflight != nil {
		return results // ctx ended first: what is queued waits for the next call
	}
	results = append(results, c.launchAcks(closing)...)
	return append(results, c.awaitRound(ctx)...)
}

// launchAcks sends the queued acknowledgements (ShareAcknowledge, one
// request per broker; with closing, to every open session, with epoch -1)
// as the round in flight, without waiting for it; it returns the outcome
// of those whose session is gone (opMu held, no round in flight).
func (c *ShareConsumer) launchAcks(closing bool) []ShareAckResult {
	var results []ShareAckResult
	jobs := map[int32]*shareJob{}
	for node, byPart := range c.takePending() {
		s := c.session(node)
		if s.epoch == 0 {
			results = append(results, failAcks(c, byPart, &wire.Error{Code: wire.ErrShareSessionNotFound,
				Detail: fmt.Sprintf("the share session with broker %d that delivered the records is gone", node)})...)
			continue
		}
		jobs[node] = &shareJob{s: s, acks: byPart}
	}
	if closing {
		for node, s := range c.sessions {
			if s.epoch != 0 && jobs[node] == nil {
				jobs[node] = &shareJob{s: s, acks: map[sharePart]*shareAcks{}}
			}
		}
	}
	if len(jobs) == 0 {
		return results
	}
	for _, j := range jobs {
		j.req = c.buildShareRequest(j, 0, 0, c.fetchMaxBytes(len(jobs)))
		if closing {
			j.req.(*wire.ShareAcknowledgeRequest).ShareSessionEpoch = -1
		}
	}
	c.launch(jobs, closing)
	return results
}

// failAcks reports every acknowledgement of byPart failed with err.
func failAcks(c *ShareConsumer, byPart map[sharePart]*shareAcks, err error) []ShareAckResult {
	var out []ShareAckResult
	for sp, a := range byPart {
		out = append(out, a.results(c.nameOf(sp.id), sp, err)...)
	}
	return out
}

// shareTopError is the error of a top-level error code of a share
// response.
func shareTopError(api string, node int32, code int16, msg *string) error {
	detail := fmt.Sprintf("%s to broker %d", api, node)
	if msg != nil && *msg != "" {
		detail += ": " + *msg
	}
	return &wire.Error{Code: wire.ErrorCode(code), Detail: detail}
}

// handleShareResponse applies the answer of j to its session, buffers the
// acquired records and returns the acknowledgements' outcome.
func (c *ShareConsumer) handleShareResponse(j *shareJob) []ShareAckResult {
	s := j.s
	fail := func(err error) []ShareAckResult {
		s.reset()
		c.stale = true
		c.cfg.logf(LogWarn, "share", "group %s: share session with %s abandoned (a new one opens at the next poll): %v", c.cfg.GroupID, nodeName(s.node), err)
		return failAcks(c, j.acks, err)
	}
	if j.err != nil {
		s.failures++
		s.retryAt = time.Now().Add(c.cfg.lookupBackoff(s.failures))
		return fail(j.err)
	}
	s.failures, s.retryAt = 0, time.Time{}
	var results []ShareAckResult
	ackResult := func(sp sharePart, code int16, msg *string) {
		a := j.acks[sp]
		if a == nil {
			return
		}
		delete(j.acks, sp)
		var err error
		if code != 0 {
			detail := fmt.Sprintf("acknowledging records of partition %d", sp.p)
			if msg != nil && *msg != "" {
				detail += ": " + *msg
			}
			err = &wire.Error{Code: wire.ErrorCode(code), Detail: detail}
		}
		results = append(results, a.results(c.nameOf(sp.id), sp, err)...)
	}
	switch r := j.resp.(type) {
	case *wire.ShareAcknowledgeResponse:
		if r.ErrorCode != 0 {
			return fail(shareTopError("ShareAcknowledge", s.node, r.ErrorCode, r.ErrorMessage))
		}
		s.advance()
		for _, t := range r.Responses {
			for _, p := range t.Partitions {
				ackResult(sharePart{t.TopicId, p.PartitionIndex}, p.ErrorCode, p.ErrorMessage)
			}
		}
	case *wire.ShareFetchResponse:
		if r.ErrorCode != 0 {
			return fail(shareTopError("ShareFetch", s.node, r.ErrorCode, r.ErrorMessage))
		}
		s.advance()
		for _, sp := range j.fetch {
			s.parts[sp] = true
		}
		for sp := range j.acks {
			s.parts[sp] = true
		}
		for _, sp := range j.forget {
			delete(s.parts, sp)
		}
		var deadline time.Time
		if r.AcquisitionLockTimeoutMs > 0 {
			deadline = j.sent.Add(time.Duration(r.AcquisitionLockTimeoutMs) * time.Millisecond)
		}
		for _, t := range r.Responses {
			for i := range t.Partitions {
				p := &t.Partitions[i]
				sp := sharePart{t.TopicId, p.PartitionIndex}
				ackResult(sp, p.AcknowledgeErrorCode, p.AcknowledgeErrorMessage)
				if p.ErrorCode != 0 {
					// NOT_LEADER_OR_FOLLOWER and the like: find the
					// leader again before the next round.
					c.stale = true
					c.cfg.logf(LogWarn, "share", "group %s: share fetch of %s/%d from %s: %v", c.cfg.GroupID, c.nameOf(sp.id), sp.p, nodeName(s.node), wire.ErrorCode(p.ErrorCode))
				}
				c.acquire(s.node, sp, p, deadline)
			}
		}
	}
	// Acknowledgements the response did not mention: the broker took
	// them without comment.
	for sp := range j.acks {
		ackResult(sp, 0, nil)
	}
	return results
}

// acquire buffers the records of p that this member acquired, with their
// delivery counts, and queues GAP acknowledgements for acquired offsets
// that hold no record. Records outside the acquired ranges belong to other
// members' deliveries and are dropped.
func (c *ShareConsumer) acquire(node int32, sp sharePart, p *wire.ShareFetchResponsePartition, deadline time.Time) {
	if len(p.AcquiredRecords) == 0 {
		return
	}
	name := c.nameOf(sp.id)
	ranges := append([]wire.ShareAcquiredRecords(nil), p.AcquiredRecords...)
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].FirstOffset < ranges[j].FirstOffset })
	rangeOf := func(off int64) int {
		i := sort.Search(len(ranges), func(i int) bool { return ranges[i].LastOffset >= off })
		if i < len(ranges) && ranges[i].FirstOffset <= off {
			return i
		}
		return -1
	}
	batches, derr := wire.DecodeRecordBatches(p.Records, nil)
	seen := map[int64]bool{}
	for bi := range batches {
		b := &batches[bi]
		if b.IsControl() {
			continue
		}
		for ri := range b.Records {
			r := &b.Records[ri]
			i := rangeOf(r.Offset)
			if i < 0 || seen[r.Offset] {
				continue
			}
			seen[r.Offset] = true
			c.buffered = append(c.buffered, &ShareRecord{
				Record: Record{Topic: name, Partition: sp.p, Offset: r.Offset, Key: r.Key, Value: r.Value,
					Headers: r.Headers, Timestamp: time.UnixMilli(r.Timestamp)},
				DeliveryCount: ranges[i].DeliveryCount, LockDeadline: deadline, topicID: sp.id, node: node,
			})
		}
	}
	if derr != nil {
		// A corrupt batch: its offsets are not acknowledged as gaps (the
		// lock ends and the broker delivers them again).
		c.cfg.logf(LogWarn, "share", "group %s: %s/%d: corrupt record batch, left to its acquisition lock: %v", c.cfg.GroupID, name, sp.p, derr)
		return
	}
	// Gaps: acquired offsets without a record, as ranges, up to the end
	// of the last whole batch received (past it, records may just not have
	// fit in the response: those are left to their lock).
	end := int64(-1)
	if n := len(batches); n > 0 {
		end = batches[n-1].NextOffset() - 1
	}
	got := make([]int64, 0, len(seen))
	for off := range seen {
		got = append(got, off)
	}
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	c.mu.Lock()
	defer c.mu.Unlock()
	gap := func(from, to int64) {
		if from <= to {
			a := c.partAcksLocked(node, sp)
			a.gaps = append(a.gaps, [2]int64{from, to})
		}
	}
	for _, rg := range ranges {
		last := min(rg.LastOffset, end)
		cur := rg.FirstOffset
		for _, off := range got {
			if off < cur || off > last {
				continue
			}
			gap(cur, off-1)
			cur = off + 1
		}
		gap(cur, last)
	}
}
