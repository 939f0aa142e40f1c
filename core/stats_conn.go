package core

import (
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/gofka/gofka/wire"
)

// Per-broker connection counters (see stats.go for the snapshots built
// from them).
//
// A Pool keeps one brokerCounters per broker address it has dialed, for
// its whole life: connections come and go (a dead conn is never revived,
// the pool dials anew), the counters of the address stay. Every conn
// dialed by the pool points at its address's counters (conn.stats, set
// before the conn's first request and never changed), so the hooks on the
// request path are a nil check and a few atomic adds per request or
// response, never per record. Clients that share a Pool share its
// connections, so they report the same per-broker counters.

// rttWindow is how many of the latest round-trip times the p99 and the
// average are computed over.
const rttWindow = 512

// brokerCounters are the counters of one broker address. Safe for
// concurrent use (atomics only).
type brokerCounters struct {
	addr   string
	nodeID atomic.Int32 // the node id of the last dial that knew it; -1 until then

	connects     atomic.Int64 // successful dials
	connectFails atomic.Int64 // failed dials
	disconnects  atomic.Int64 // connections that closed, for any reason
	errors       atomic.Int64 // connections that failed: I/O errors, request timeouts, corrupt frames

	reqSent   atomic.Int64 // requests written
	bytesSent atomic.Int64 // request bytes written (frames, size prefix included)
	respRecv  atomic.Int64 // responses received
	bytesRecv atomic.Int64 // response bytes received (frames, size prefix included)

	rttCount atomic.Uint64           // round trips recorded in total
	rtt      [rttWindow]atomic.Int64 // the latest round trips (ns), a ring indexed by rttCount
}

func newBrokerCounters(addr string) *brokerCounters {
	bc := &brokerCounters{addr: addr}
	bc.nodeID.Store(-1)
	return bc
}

// noteRTT records one round trip of d nanoseconds.
func (bc *brokerCounters) noteRTT(d int64) {
	i := bc.rttCount.Add(1) - 1
	bc.rtt[i%rttWindow].Store(max(d, 0))
}

// rttStats returns the average and the 99th percentile (nearest rank) of
// the round trips in the window, in microseconds, and how many were
// recorded in total. Both are 0 before the first one.
func (bc *brokerCounters) rttStats() (avgUs, p99Us int64, count uint64) {
	count = bc.rttCount.Load()
	n := min(count, rttWindow)
	if n == 0 {
		return 0, 0, count
	}
	s := make([]int64, n)
	var sum int64
	for i := range s {
		s[i] = bc.rtt[i].Load()
		sum += s[i]
	}
	slices.Sort(s)
	rank := (99*int(n) + 99) / 100 // ceil(0.99 n), 1-based
	return sum / int64(n) / 1000, s[rank-1] / 1000, count
}

// timesRTT reports whether req's round trip says how fast the broker
// answers: requests the broker holds on purpose (a Fetch up to its max
// wait, group joins and syncs until the group settles) would only measure
// the hold.
func timesRTT(req wire.Request) bool {
	switch r := req.(type) {
	case *wire.FetchRequest:
		return r.MaxWaitMs <= 0
	case *wire.JoinGroupRequest, *wire.SyncGroupRequest:
		return false
	}
	return true
}

// noteSent counts a request of n bytes written on c.
func (c *conn) noteSent(n int) {
	if st := c.stats; st != nil {
		st.reqSent.Add(1)
		st.bytesSent.Add(int64(n))
	}
}

// monoEpoch anchors monoNow.
var monoEpoch = time.Now()

// monoNow is a monotonic clock in ns (never 0 after the first ns of the
// process): round trips are measured on it, so wall-clock steps do not
// distort them, and it reads faster than time.Now().UnixNano().
func monoNow() int64 { return int64(time.Since(monoEpoch)) + 1 }

// noteReceived counts a response frame of n bytes (size prefix excluded)
// for a request sent at sent (monoNow; 0 = not timed, see timesRTT).
func (c *conn) noteReceived(n int, sent int64) {
	if st := c.stats; st != nil {
		st.respRecv.Add(1)
		st.bytesRecv.Add(int64(n) + 4)
		if sent != 0 {
			st.noteRTT(monoNow() - sent)
		}
	}
}

// noteClosed counts the end of c (called once, by close); it is an error
// unless the pool or the client closed it on purpose (closeLocal). A conn
// whose setup failed counts as a failed dial only (Pool.noteDial).
func (c *conn) noteClosed() {
	if st := c.stats; st != nil && c.set.Load() {
		st.disconnects.Add(1)
		if !c.localClose.Load() {
			st.errors.Add(1)
		}
	}
}

// closeLocal closes c on purpose (idle reaping, eviction, pool close,
// SASL re-authentication): the statistics count it as a disconnect, not
// as an error.
func (c *conn) closeLocal(err error) {
	c.localClose.Store(true)
	c.close(err)
}

// brokerCountersFor returns the counters of addr, creating them.
func (p *Pool) brokerCountersFor(addr string) *brokerCounters {
	if v, ok := p.brokerStats.Load(addr); ok {
		return v.(*brokerCounters)
	}
	v, _ := p.brokerStats.LoadOrStore(addr, newBrokerCounters(addr))
	return v.(*brokerCounters)
}

// noteDial counts the outcome of a dial to addr (node nodeID, -1 unknown).
func (p *Pool) noteDial(addr string, nodeID int32, ok bool) {
	bc := p.brokerCountersFor(addr)
	if !ok {
		bc.connectFails.Add(1)
		return
	}
	bc.connects.Add(1)
	if nodeID >= 0 {
		bc.nodeID.Store(nodeID)
	}
}

// BrokerStats are the connection statistics of one broker address of a
// client's connection pool, since the pool was created. Clients sharing a
// pool share these numbers.
type BrokerStats struct {
	// Address is the broker's "host:port".
	Address string `json:"address"`
	// NodeID is the broker's node id (from the dial or the client's metadata), -1 while only known as a bootstrap address.
	NodeID int32 `json:"node_id"`
	// State is "up" (a live connection), "connecting" (a dial in progress) or "down".
	State string `json:"state"`
	// Connections is the number of open connections to the address (shared and leased).
	Connections int `json:"connections"`
	// InFlight is the number of requests written and awaiting their response.
	InFlight int64 `json:"in_flight"`
	// RTTAvgUs is the average round-trip time, in microseconds, of the latest 512 timed requests (0 before the first). Requests the broker holds on purpose (Fetch with a max wait, JoinGroup, SyncGroup) are not timed.
	RTTAvgUs int64 `json:"rtt_avg_us"`
	// RTTP99Us is the 99th percentile round-trip time, in microseconds, over the same window.
	RTTP99Us int64 `json:"rtt_p99_us"`
	// RTTSamples is the number of timed round trips since creation.
	RTTSamples uint64 `json:"rtt_samples"`
	// RequestsSent is the number of requests written.
	RequestsSent int64 `json:"requests_sent"`
	// BytesSent is the bytes of request frames written.
	BytesSent int64 `json:"bytes_sent"`
	// ResponsesReceived is the number of responses received.
	ResponsesReceived int64 `json:"responses_received"`
	// BytesReceived is the bytes of response frames received.
	BytesReceived int64 `json:"bytes_received"`
	// Errors is the number of connections that failed (I/O error, request timeout, corrupt frame) plus failed dials.
	Errors int64 `json:"errors"`
	// Connects is the number of successful dials.
	Connects int64 `json:"connects"`
	// ConnectFailures is the number of failed dials.
	ConnectFailures int64 `json:"connect_failures"`
	// Reconnects is the number of successful dials that replaced a closed connection to the address (at most one per closed connection; several connections open at once, e.g. a consumer's group coordinator lease, are no reconnects).
	Reconnects int64 `json:"reconnects"`
	// Disconnects is the number of connections closed, for any reason (idle reaping included).
	Disconnects int64 `json:"disconnects"`
}

// brokerStats is the per-broker part of a client's snapshot: its pool's
// counters, with the node ids the client's metadata knows (a broker
// reached through its bootstrap address was dialed without one).
func (c *Client) brokerStats() []BrokerStats {
	out := c.pool.brokerSnapshot()
	if m := c.meta.Load(); m != nil {
		for i := range out {
			if out[i].NodeID >= 0 {
				continue
			}
			for id, b := range m.Brokers {
				if b.Addr() == out[i].Address {
					out[i].NodeID = id
					break
				}
			}
		}
	}
	return out
}

// brokerSnapshot returns the statistics of every address the pool has
// dialed, sorted by address. It takes the pool's lock briefly.
func (p *Pool) brokerSnapshot() []BrokerStats {
	type live struct {
		conns    int
		inFlight int64
		up       bool
	}
	p.mu.Lock()
	state := make(map[string]*live, len(p.entries))
	for addr, list := range p.entries {
		l := &live{}
		for _, e := range list {
			l.conns++
			l.inFlight += int64(e.conn.inFlight.Load())
			l.up = l.up || !e.conn.isDead()
		}
		state[addr] = l
	}
	dialing := make(map[string]bool, len(p.dialing))
	for addr := range p.dialing {
		dialing[addr] = true
	}
	p.mu.Unlock()

	out := []BrokerStats{}
	p.brokerStats.Range(func(k, v any) bool {
		bc := v.(*brokerCounters)
		s := BrokerStats{Address: bc.addr, NodeID: bc.nodeID.Load(), State: "down",
			RequestsSent: bc.reqSent.Load(), BytesSent: bc.bytesSent.Load(),
			ResponsesReceived: bc.respRecv.Load(), BytesReceived: bc.bytesRecv.Load(),
			Connects: bc.connects.Load(), ConnectFailures: bc.connectFails.Load(),
			Disconnects: bc.disconnects.Load()}
		s.Errors = bc.errors.Load() + s.ConnectFailures
		s.Reconnects = max(min(s.Connects-1, s.Disconnects), 0)
		s.RTTAvgUs, s.RTTP99Us, s.RTTSamples = bc.rttStats()
		if l := state[bc.addr]; l != nil {
			s.Connections, s.InFlight = l.conns, l.inFlight
			if l.up {
				s.State = "up"
			}
		}
		if s.State != "up" && dialing[bc.addr] {
			s.State = "connecting"
		}
		out = append(out, s)
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}
