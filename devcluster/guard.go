package devcluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The dev cluster's guard. kfake trusts its peers: one frame with an
// unknown API key panics its connection goroutine (which kills the host
// process: a panic in any goroutine does), a length prefix of 4 GiB is
// allocated before a byte of it arrives, and CreatePartitions with a count
// of 2^31-1 builds partitions until memory runs out. kfake is not ours to
// patch, so every accepted connection is wrapped (kfake.ListenFn) in a
// guardConn that hands kfake only frames it has checked, and the cluster
// refuses absurd resource requests itself. A bad peer costs at most its own
// connection.
//
// Limits (fixed; the dev cluster is for demos and tests, not production):
const (
	// devMaxFrame bounds one request frame, as Kafka's
	// socket.request.max.bytes (default 104857600) does. The body is read
	// as it arrives, never allocated from the length prefix alone.
	devMaxFrame = 100 << 20
	// devMaxPartitionsPerTopic bounds the partitions of one topic
	// (CreateTopics, CreatePartitions): INVALID_PARTITIONS past it.
	devMaxPartitionsPerTopic = 10000
	// devMaxPartitions bounds the partitions created through the admin
	// API over the whole cluster (deleted topics give theirs back):
	// POLICY_VIOLATION past it. kfake keeps ~400 bytes per partition.
	devMaxPartitions = 100000
	// devMaxTopicsPerRequest bounds the topics of one CreateTopics or
	// CreatePartitions request: POLICY_VIOLATION for all of them past it.
	devMaxTopicsPerRequest = 1000
)

// Also refused as Kafka does (kfake accepts them): a partition count or
// replication factor of 0 or below -1 (INVALID_PARTITIONS,
// INVALID_REPLICATION_FACTOR). Record sizes are bounded by devMaxFrame and
// kfake's own max.message.bytes check (MESSAGE_TOO_LARGE).

// Kafka error codes the guard answers with.
const (
	kerrInvalidPartitions        = 37
	kerrInvalidReplicationFactor = 38
	kerrPolicyViolation          = 44
)

var errGuardClosed = errors.New("dev cluster: connection closed by the request guard")

// devGuard is the state shared by one cluster's guarded connections.
// Safe for concurrent use (mu).
type devGuard struct {
	mu       sync.Mutex
	versions map[int16][2]int16 // API key -> [min, max] kfake serves; nil until learned (then only ApiVersions passes)
	parts    map[string]int32   // partitions of topics created through the admin API, by name
	total    int                // sum of parts
	// rejected counts frames refused (tests read it).
	rejected int
}

func newDevGuard() *devGuard { return &devGuard{parts: map[string]int32{}} }

// listen is the kfake.ListenFn: net.Listen with every accepted connection
// guarded.
func (g *devGuard) listen(network, addr string) (net.Listener, error) {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	return &guardListener{Listener: ln, g: g}, nil
}

type guardListener struct {
	net.Listener
	g *devGuard
}

func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c, g: l.g, patches: map[int32]*guardPatch{}}, nil
}

// learnVersions asks the cluster (through the guard: ApiVersions always
// passes) which API keys and versions it serves.
func (g *devGuard) learnVersions(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(0)
	frame := appendRequestHeader(make([]byte, 4, 64), req, 1, nil)
	frame = req.AppendTo(frame)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	if _, err := c.Write(frame); err != nil {
		return err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 1<<20 {
		return fmt.Errorf("ApiVersions response of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return err
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	if err := resp.ReadFrom(body[4:]); err != nil {
		return err
	}
	if resp.ErrorCode != 0 {
		return fmt.Errorf("ApiVersions error %d", resp.ErrorCode)
	}
	v := make(map[int16][2]int16, len(resp.ApiKeys))
	for _, k := range resp.ApiKeys {
		v[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	g.mu.Lock()
	g.versions = v
	g.mu.Unlock()
	return nil
}

// appendRequestHeader appends a request header (v1, or v2 for flexible
// requests) for req to dst.
func appendRequestHeader(dst []byte, req kmsg.Request, corr int32, clientID *string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.Key()))
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.GetVersion()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	if clientID == nil {
		dst = binary.BigEndian.AppendUint16(dst, 0xffff)
	} else {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(*clientID)))
		dst = append(dst, *clientID...)
	}
	if req.IsFlexible() {
		dst = append(dst, 0) // no tagged fields
	}
	return dst
}

// supports reports whether kfake serves key at version.
func (g *devGuard) supports(key, version int16) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if key == 18 { // ApiVersions: any version (an unknown one is answered with v0, as Kafka does)
		return version >= 0
	}
	r, ok := g.versions[key]
	return ok && version >= r[0] && version <= r[1]
}

func (g *devGuard) reject() {
	g.mu.Lock()
	g.rejected++
	g.mu.Unlock()
}

func (g *devGuard) rejectedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rejected
}

// guardPatch is what the guard does to the response of one request it
// rewrote or watches: add refusals, and learn created/deleted topics.
type guardPatch struct {
	req     kmsg.Request
	refused []guardRefusal
	// reserved partitions by topic for the request's creations (given back
	// for those the response says failed).
	reserved map[string]int32
	// fetchMax is the MaxBytes of a read_committed fetch that the guard
	// lifted for kfake and applies to the response itself (fetch_trim.go).
	fetchMax int32
}

type guardRefusal struct {
	topic string
	code  int16
	msg   string
}

// guardConn is one guarded connection. kfake reads it from one goroutine
// and writes it from another; pmu guards patches, the rest is the
// reader's alone.
type guardConn struct {
	net.Conn
	g   *devGuard
	out []byte // checked frame bytes not yet read by kfake; reader only
	buf bytes.Buffer

	pmu     sync.Mutex
	patches map[int32]*guardPatch // by correlation id; guarded by pmu
}

// Read hands kfake the next checked frame; on a bad one it closes the
// connection and returns an error (kfake then drops the connection).
func (c *guardConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		frame, err := c.nextFrame()
		if err != nil {
			c.Conn.Close()
			return 0, err
		}
		c.out = frame
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// nextFrame reads one frame and returns it (possibly rewritten) with its
// length prefix.
func (c *guardConn) nextFrame() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.Conn, size[:]); err != nil {
		return nil, err
	}
	n := int64(int32(binary.BigEndian.Uint32(size[:])))
	if n < 10 || n > devMaxFrame { // key, version, correlation id, client id length
		c.g.reject()
		return nil, errGuardClosed
	}
	c.buf.Reset()
	// Read as it arrives: a length prefix alone allocates nothing.
	if _, err := io.CopyN(&c.buf, c.Conn, n); err != nil {
		return nil, err
	}
	body := c.buf.Bytes()
	frame, ok := c.check(body)
	if !ok {
		c.g.reject()
		return nil, errGuardClosed
	}
	if frame == nil {
		frame = make([]byte, 4+len(body))
		copy(frame, size[:])
		copy(frame[4:], body)
	}
	if c.buf.Cap() > 1<<20 {
		c.buf = bytes.Buffer{} // do not pin a large frame's buffer per connection
	}
	return frame, nil
}

// check decodes a request body with kmsg as kfake will, and applies the
// resource policy. It returns a rewritten frame (or nil to pass body as
// is) and whether the request may pass.
func (c *guardConn) check(body []byte) ([]byte, bool) {
	r := kbin.Reader{Src: body}
	key := r.Int16()
	version := r.Int16()
	corr := r.Int32()
	clientID := r.NullableString()
	if !r.Ok() || !c.g.supports(key, version) {
		return nil, false
	}
	req := kmsg.RequestForKey(key)
	if req == nil {
		return nil, false
	}
	req.SetVersion(version)
	if req.IsFlexible() {
		kmsg.SkipTags(&r)
		if !r.Ok() {
			return nil, false
		}
	}
	if err := req.ReadFrom(r.Src); err != nil {
		return nil, false
	}
	switch req := req.(type) {
	case *kmsg.CreateTopicsRequest:
		return c.policyCreateTopics(req, corr, clientID), true
	case *kmsg.CreatePartitionsRequest:
		return c.policyCreatePartitions(req, corr, clientID), true
	case *kmsg.DeleteTopicsRequest:
		c.watch(corr, &guardPatch{req: req})
	case *kmsg.FetchRequest:
		return c.rewriteFetch(req, corr, clientID), true
	}
	return nil, true
}

func (c *guardConn) watch(corr int32, p *guardPatch) {
	c.pmu.Lock()
	c.patches[corr] = p
	c.pmu.Unlock()
}

// reserve takes n partitions for topic from the cluster budget (old is
// what the topic has now, as far as the guard knows); false when over.
func (g *devGuard) reserve(n int32) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total+int(n) > devMaxPartitions {
		return false
	}
	g.total += int(n)
	return true
}

func (g *devGuard) release(n int32) {
	g.mu.Lock()
	g.total -= int(n)
	g.mu.Unlock()
}

// settle records a creation the response confirmed (adding delta
// partitions to topic) or gives a refused one's reservation back.
func (g *devGuard) settle(topic string, delta int32, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ok {
		g.parts[topic] += delta
	} else {
		g.total -= int(delta)
	}
}

func (g *devGuard) forget(topic string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total -= int(g.parts[topic])
	delete(g.parts, topic)
}

func (g *devGuard) partitionsOf(topic string) int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.parts[topic]
}

func (c *guardConn) policyCreateTopics(req *kmsg.CreateTopicsRequest, corr int32, clientID *string) []byte {
	p := &guardPatch{req: req, reserved: map[string]int32{}}
	tooMany := len(req.Topics) > devMaxTopicsPerRequest
	keep := req.Topics[:0]
	for _, t := range req.Topics {
		n := t.NumPartitions
		if len(t.ReplicaAssignment) > 0 {
			n = int32(len(t.ReplicaAssignment))
		}
		if n < 0 { // -1: the broker's default (small)
			n = 1
		}
		_, dup := p.reserved[t.Topic]
		switch {
		case tooMany:
			p.refused = append(p.refused, guardRefusal{t.Topic, kerrPolicyViolation,
				fmt.Sprintf("dev cluster: at most %d topics per CreateTopics request", devMaxTopicsPerRequest)})
		case dup:
			keep = append(keep, t) // kfake answers duplicates itself
		case n > devMaxPartitionsPerTopic:
			p.refused = append(p.refused, guardRefusal{t.Topic, kerrInvalidPartitions,
				fmt.Sprintf("dev cluster: at most %d partitions per topic, asked for %d", devMaxPartitionsPerTopic, n)})
		case len(t.ReplicaAssignment) == 0 && (t.NumPartitions == 0 || t.NumPartitions < -1):
			// Kafka's rule (kfake lets some through).
			p.refused = append(p.refused, guardRefusal{t.Topic, kerrInvalidPartitions,
				fmt.Sprintf("number of partitions must be positive or -1 (the default), got %d", t.NumPartitions)})
		case len(t.ReplicaAssignment) == 0 && (t.ReplicationFactor == 0 || t.ReplicationFactor < -1):
			p.refused = append(p.refused, guardRefusal{t.Topic, kerrInvalidReplicationFactor,
				fmt.Sprintf("replication factor must be positive or -1 (the default), got %d", t.ReplicationFactor)})
		case req.ValidateOnly:
			keep = append(keep, t)
		case !c.g.reserve(n):
			p.refused = append(p.refused, guardRefusal{t.Topic, kerrPolicyViolation,
				fmt.Sprintf("dev cluster: at most %d partitions in all topics created through the admin API", devMaxPartitions)})
		default:
			p.reserved[t.Topic] = n
			keep = append(keep, t)
		}
	}
	req.Topics = keep
	c.watch(corr, p)
	if len(p.refused) == 0 {
		return nil
	}
	return reencode(req, corr, clientID)
}

func (c *guardConn) policyCreatePartitions(req *kmsg.CreatePartitionsRequest, corr int32, clientID *string) []byte {
	p := &guardPatch{req: req, reserved: map[string]int32{}}
	tooMany := len(req.Topics) > devMaxTopicsPerRequest
	keep := req.Topics[:0]
	for _, t := range req.Topics {
		have := c.g.partitionsOf(t.Topic)
		delta := t.Count - have
		_, dup := p.reserved[t.Topic]
		switch {
		case tooMany:
			p.refused = append(p.refused, guardRefusal{t.Topic, kerrPolicyViolation,
				fmt.Sprintf("dev cluster: at most %d topics per CreatePartitions request", devMaxTopicsPerRequest)})
		case dup:
			keep = append(keep, t)
		case t.Count > devMaxPartitionsPerTopic:
			p.refused = append(p.refused, guardRefusal{t.Topic, kerrInvalidPartitions,
				fmt.Sprintf("dev cluster: at most %d partitions per topic, asked for %d", devMaxPartitionsPerTopic, t.Count)})
		case req.ValidateOnly || delta <= 0:
			keep = append(keep, t) // kfake judges shrinking and no-ops
		case !c.g.reserve(delta):
			p.refused = append(p.refused, guardRefusal{t.Topic, kerrPolicyViolation,
				fmt.Sprintf("dev cluster: at most %d partitions in all topics created through the admin API", devMaxPartitions)})
		default:
			p.reserved[t.Topic] = delta
			keep = append(keep, t)
		}
	}
	req.Topics = keep
	c.watch(corr, p)
	if len(p.refused) == 0 {
		return nil
	}
	return reencode(req, corr, clientID)
}

func reencode(req kmsg.Request, corr int32, clientID *string) []byte {
	frame := appendRequestHeader(make([]byte, 4, 256), req, corr, clientID)
	frame = req.AppendTo(frame)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	return frame
}

// Write passes kfake's responses on, adding the guard's refusals to the
// responses of requests it rewrote. kfake writes each response frame with
// one Write call.
func (c *guardConn) Write(b []byte) (int, error) {
	c.pmu.Lock()
	var p *guardPatch
	if len(c.patches) > 0 && len(b) >= 8 {
		corr := int32(binary.BigEndian.Uint32(b[4:8]))
		if p = c.patches[corr]; p != nil {
			delete(c.patches, corr)
		}
	}
	c.pmu.Unlock()
	if p == nil {
		return c.Conn.Write(b)
	}
	out, err := c.patch(p, b)
	if err != nil {
		c.Conn.Close()
		return 0, err
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// patch decodes a response frame, settles the guard's bookkeeping, adds
// refusals and trims read_committed fetches; it returns the frame to
// write.
func (c *guardConn) patch(p *guardPatch, b []byte) ([]byte, error) {
	resp := p.req.ResponseKind()
	resp.SetVersion(p.req.GetVersion())
	r := kbin.Reader{Src: b[8:]}
	if resp.IsFlexible() {
		kmsg.SkipTags(&r)
	}
	if err := resp.ReadFrom(r.Src); err != nil {
		// Should not happen (kfake encoded it); give reservations back.
		for _, n := range p.reserved {
			c.g.release(n)
		}
		return b, nil
	}
	switch resp := resp.(type) {
	case *kmsg.CreateTopicsResponse:
		for _, t := range resp.Topics {
			if n, ok := p.reserved[t.Topic]; ok {
				c.g.settle(t.Topic, n, t.ErrorCode == 0)
				delete(p.reserved, t.Topic)
			}
		}
		for _, rf := range p.refused {
			t := kmsg.NewCreateTopicsResponseTopic()
			t.Topic, t.ErrorCode, t.ErrorMessage = rf.topic, rf.code, kmsg.StringPtr(rf.msg)
			t.NumPartitions, t.ReplicationFactor = -1, -1
			resp.Topics = append(resp.Topics, t)
		}
	case *kmsg.CreatePartitionsResponse:
		for _, t := range resp.Topics {
			if n, ok := p.reserved[t.Topic]; ok {
				c.g.settle(t.Topic, n, t.ErrorCode == 0)
				delete(p.reserved, t.Topic)
			}
		}
		for _, rf := range p.refused {
			t := kmsg.NewCreatePartitionsResponseTopic()
			t.Topic, t.ErrorCode, t.ErrorMessage = rf.topic, rf.code, kmsg.StringPtr(rf.msg)
			resp.Topics = append(resp.Topics, t)
		}
	case *kmsg.DeleteTopicsResponse:
		for _, t := range resp.Topics {
			if t.ErrorCode == 0 && t.Topic != nil {
				c.g.forget(*t.Topic)
			}
		}
		return b, nil
	case *kmsg.FetchResponse:
		trimFetch(resp, p.fetchMax)
	}
	for _, n := range p.reserved { // not in the response: not created
		c.g.release(n)
	}
	if len(p.refused) == 0 && p.fetchMax == 0 {
		return b, nil
	}
	out := append(make([]byte, 0, len(b)+64), b[:8]...)
	if resp.IsFlexible() {
		out = append(out, 0)
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out, nil
}
