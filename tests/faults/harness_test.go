//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/core"
)

// cluster drives the 3-node Kafka that scripts/run-faults.sh started:
// node i (1-based) listens on brokers[i-1].
type cluster struct {
	script  string
	brokers []string
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	list := os.Getenv("GOFKA_FAULT_BROKERS")
	script := os.Getenv("GOFKA_KAFKA_SCRIPT")
	if list == "" || script == "" {
		t.Fatal("GOFKA_FAULT_BROKERS and GOFKA_KAFKA_SCRIPT must be set: run scripts/run-faults.sh")
	}
	c := &cluster{script: script, brokers: strings.Split(list, ",")}
	require.Len(t, c.brokers, 3, "the fault tests need a 3-node cluster")
	// Each test starts from a healthy cluster and leaves one behind, even
	// when it fails half-way through a fault.
	c.heal(t)
	t.Cleanup(func() { c.heal(t) })
	return c
}

// bootstrap is the bootstrap string listing every node.
func (c *cluster) bootstrap() string { return strings.Join(c.brokers, ",") }

// nodeOf returns the node id listening on addr ("host:port"), 0 if none.
func (c *cluster) nodeOf(addr string) int {
	for i, b := range c.brokers {
		if b == addr {
			return i + 1
		}
	}
	return 0
}

// kafka runs scripts/kafka.sh with args, bounded by timeout.
func (c *cluster) kafka(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.script, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("kafka.sh %s: timed out after %v", strings.Join(args, " "), timeout)
	}
	return out.String(), err
}

// signal sends sig (KILL, TERM, STOP, CONT) to node id; for KILL and TERM
// it returns once the node has exited.
func (c *cluster) signal(t *testing.T, id int, sig string) {
	t.Helper()
	out, err := c.kafka(60*time.Second, "kill", strconv.Itoa(id), sig)
	require.NoError(t, err, "kafka.sh kill %d %s: %s", id, sig, out)
}

// start restarts node id and waits until it is ready.
func (c *cluster) start(t *testing.T, id int) {
	t.Helper()
	out, err := c.startNode(id)
	require.NoError(t, err, "kafka.sh start %d: %s", id, out)
}

// startNode runs `kafka.sh start id`. kafka.sh can report "exited during
// startup" for a node that is in fact starting: it reads the node's
// /proc/<pid>/cmdline right after the pid file is written, and during the
// exec of java that read can come back empty. When the node does run,
// startNode then waits itself until the node listens and is registered in
// the cluster metadata (what "ready" means to the tests).
func (c *cluster) startNode(id int) (string, error) {
	out, err := c.kafka(150*time.Second, "start", strconv.Itoa(id))
	if err == nil || !strings.Contains(out, "exited during startup") {
		return out, err
	}
	time.Sleep(time.Second)
	st, serr := c.kafka(30*time.Second, "status")
	if serr != nil || !nodeRunning(st, id) {
		return out, err
	}
	deadline := time.Now().Add(150 * time.Second)
	for time.Now().Before(deadline) {
		if c.nodeRegistered(id) {
			return out + "\n(node running after all: ready)", nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return out, fmt.Errorf("node %d runs but did not become ready: %w", id, err)
}

// nodeRegistered reports whether node id accepts connections and appears
// in the cluster metadata.
func (c *cluster) nodeRegistered(id int) bool {
	adm, err := core.NewAdminFromProperties(map[string]string{"bootstrap.servers": c.brokers[id-1], "request.timeout.ms": "5000"})
	if err != nil {
		return false
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	brokers, err := adm.ListBrokers(ctx)
	if err != nil {
		return false
	}
	for _, b := range brokers {
		if int(b.NodeID) == id {
			return true
		}
	}
	return false
}

// startAll starts the given nodes in parallel (a node whose controller
// quorum is down can only become ready once the others run too).
func (c *cluster) startAll(t *testing.T, ids ...int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	outs := make([]string, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = c.startNode(id)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "kafka.sh start %d: %s", ids[i], outs[i])
	}
}

// nodeStates returns each node's state from `kafka.sh status`: "down",
// "T" (stopped by SIGSTOP) or the process state letter.
func (c *cluster) nodeStates(t *testing.T) map[int]string {
	t.Helper()
	out, err := c.kafka(30*time.Second, "status")
	require.NoError(t, err, out)
	return parseStates(out)
}

// nodeRunning reports whether `kafka.sh status` output shows node id
// running (in any process state).
func nodeRunning(status string, id int) bool {
	st, ok := parseStates(status)[id]
	return ok && st != "down"
}

func parseStates(out string) map[int]string {
	states := map[int]string{}
	for _, line := range strings.Split(out, "\n") {
		var id int
		if _, err := fmt.Sscanf(line, "node %d:", &id); err != nil {
			continue
		}
		switch {
		case strings.Contains(line, "not running"):
			states[id] = "down"
		case strings.Contains(line, "state "):
			states[id] = line[strings.LastIndex(line, "state ")+6:]
		default:
			states[id] = "running"
		}
	}
	return states
}

// heal resumes frozen nodes, starts dead ones and waits until the cluster
// metadata lists all three brokers.
func (c *cluster) heal(t *testing.T) {
	t.Helper()
	var down []int
	for id := 1; id <= 3; id++ {
		switch st := c.nodeStates(t)[id]; st {
		case "down", "":
			down = append(down, id)
		case "T", "t":
			c.signal(t, id, "CONT")
		}
	}
	if len(down) > 0 {
		t.Logf("heal: starting nodes %v", down)
		c.startAll(t, down...)
	}
	adm := c.admin(t, c.bootstrap(), "")
	defer adm.Close()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		brokers, err := adm.ListBrokers(ctx)
		cancel()
		if err == nil && len(brokers) == 3 {
			return
		}
		require.True(t, time.Now().Before(deadline), "cluster did not come back with 3 brokers: %v %v", brokers, err)
		time.Sleep(500 * time.Millisecond)
	}
}

// config builds client properties from '\n'-separated key=value lines
// (Kafka-style, as the C ABI and Python give them) for the
// New*FromProperties constructors.
func config(t *testing.T, brokers string, props string) map[string]string {
	t.Helper()
	out := map[string]string{"bootstrap.servers": brokers}
	for _, line := range strings.Split(props, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "property line %q is not key=value", line)
		out[strings.TrimSpace(k)] = v
	}
	return out
}

func (c *cluster) admin(t *testing.T, brokers, props string) *core.Admin {
	t.Helper()
	a, err := core.NewAdminFromProperties(config(t, brokers, "request.timeout.ms=10000\n"+props))
	require.NoError(t, err)
	return a
}

// createTopic creates a topic with replication factor 3 and
// min.insync.replicas=2 and waits until every partition has all three
// replicas in sync.
func (c *cluster) createTopic(t *testing.T, partitions int) string {
	t.Helper()
	name := fmt.Sprintf("faults-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano()%1e9)
	adm := c.admin(t, c.bootstrap(), "")
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, adm.CreateTopic(ctx, core.NewTopic{
		Name: name, NumPartitions: int32(partitions), ReplicationFactor: 3,
		Configs: map[string]string{"min.insync.replicas": "2"},
	}))
	// Brokers learn of a new topic one after the other: wait until each
	// one's metadata shows it in sync.
	for _, b := range c.brokers {
		one := c.admin(t, b, "")
		c.waitInSync(t, one, name)
		one.Close()
	}
	return name
}

// waitInSync waits until every partition of topic has a leader and three
// in-sync replicas.
func (c *cluster) waitInSync(t *testing.T, adm *core.Admin, topic string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		tm, err := c.topicMeta(adm, topic)
		ok := err == nil && len(tm.Partitions) > 0
		if ok {
			for _, p := range tm.Partitions {
				ok = ok && p.Leader >= 0 && len(p.ISR) == 3
			}
		}
		if ok {
			return
		}
		require.True(t, time.Now().Before(deadline), "topic %s not fully in sync: %+v %v", topic, tm, err)
		time.Sleep(300 * time.Millisecond)
	}
}

func (c *cluster) topicMeta(adm *core.Admin, topic string) (*core.TopicMetadata, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := adm.ClusterMetadata(ctx, []string{topic})
	if err != nil {
		return nil, err
	}
	for i := range m.Topics {
		if m.Topics[i].Name == topic {
			return &m.Topics[i], nil
		}
	}
	return nil, fmt.Errorf("topic %s not in metadata", topic)
}

// bootstrapAvoiding lists every node but puts node id last (the harness
// must not depend on how clients cope with a dead first address: that is
// what test 4 checks).
func (c *cluster) bootstrapAvoiding(id int) string {
	var out []string
	for i, b := range c.brokers {
		if i+1 != id {
			out = append(out, b)
		}
	}
	if id >= 1 && id <= len(c.brokers) {
		out = append(out, c.brokers[id-1])
	}
	return strings.Join(out, ",")
}

// leaders maps each partition of topic to its leader's node id (asking the
// other nodes first when avoid names a node that is down or frozen).
func (c *cluster) leaders(t *testing.T, topic string, avoid ...int) map[int32]int {
	t.Helper()
	bs := c.bootstrap()
	if len(avoid) > 0 {
		bs = c.bootstrapAvoiding(avoid[0])
	}
	adm := c.admin(t, bs, "")
	defer adm.Close()
	tm, err := c.topicMeta(adm, topic)
	require.NoError(t, err)
	out := map[int32]int{}
	for _, p := range tm.Partitions {
		out[p.Partition] = int(p.Leader)
	}
	return out
}

// endOffsets returns the high watermark of each partition of topic.
func (c *cluster) endOffsets(t *testing.T, topic string) map[int32]int64 {
	t.Helper()
	adm := c.admin(t, c.bootstrap(), "")
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := adm.ListOffsets(ctx, topic, nil, core.OffsetLatest)
	require.NoError(t, err)
	out := map[int32]int64{}
	for p, o := range offs {
		out[p] = o.Offset
	}
	return out
}

// ---- records ----

const recordSize = 100

// payload is the 100-byte value of record seq of partition p; the first
// bytes say which record it is, so a reader can check order and gaps.
func payload(p int32, seq int) []byte {
	b := make([]byte, recordSize)
	copy(b, fmt.Sprintf("p=%03d seq=%09d ", p, seq))
	for i := 20; i < recordSize; i++ {
		b[i] = 'a' + byte((seq+i)%26)
	}
	return b
}

// parsePayload returns the partition and sequence number written in v.
func parsePayload(v []byte) (int32, int, error) {
	var p int32
	var seq int
	if len(v) != recordSize {
		return 0, 0, fmt.Errorf("record of %d bytes, want %d", len(v), recordSize)
	}
	if _, err := fmt.Sscanf(string(v[:19]), "p=%03d seq=%09d", &p, &seq); err != nil {
		return 0, 0, fmt.Errorf("bad record %q: %v", v[:20], err)
	}
	if !bytes.Equal(v, payload(p, seq)) {
		return 0, 0, fmt.Errorf("record p=%d seq=%d corrupted", p, seq)
	}
	return p, seq, nil
}

// logCheck is what readAll found in a topic.
type logCheck struct {
	Records    int           // records read
	Lost       int           // sequence numbers written but absent
	Duplicated int           // records read more than once (same sequence)
	OutOfOrder int           // records whose sequence is below the previous one
	Elapsed    time.Duration // time to read everything
}

// seqTally checks the records of a read as it meets them: partition p
// must hold sequence numbers 0..want[p]-1 (payload), each once and in
// order. Used by readAll and readCommitted.
type seqTally struct {
	next map[int32]int    // next expected sequence per partition
	seen map[int32][]bool // sequences seen per partition
}

func newSeqTally(want map[int32]int) *seqTally {
	s := &seqTally{next: map[int32]int{}, seen: map[int32][]bool{}}
	for p, n := range want {
		s.seen[p] = make([]bool, n)
	}
	return s
}

// add checks r (a well-formed payload of its own partition, within what
// was written) and counts it in res (Records, Duplicated, OutOfOrder).
func (s *seqTally) add(t *testing.T, r *core.Record, res *logCheck) {
	p, seq, err := parsePayload(r.Value)
	require.NoError(t, err)
	require.Equal(t, r.Partition, p, "record of partition %d found in %d", p, r.Partition)
	require.Less(t, seq, len(s.seen[p]), "sequence %d beyond what was written to %d", seq, p)
	res.Records++
	if s.seen[p][seq] {
		res.Duplicated++
	}
	s.seen[p][seq] = true
	if seq < s.next[p] {
		res.OutOfOrder++
	} else {
		s.next[p] = seq + 1
	}
}

// finish counts the sequence numbers never seen in res.Lost.
func (s *seqTally) finish(res *logCheck) {
	for _, seen := range s.seen {
		for _, ok := range seen {
			if !ok {
				res.Lost++
			}
		}
	}
}

// readAll reads every partition of topic from the beginning up to its
// high watermark with a group-less consumer and checks that partition p
// holds exactly want[p] records with sequence numbers 0..want[p]-1, each
// once and in order.
func (c *cluster) readAll(t *testing.T, topic string, want map[int32]int) logCheck {
	t.Helper()
	start := time.Now()
	ends := c.endOffsets(t, topic)
	cons, err := core.NewConsumerFromProperties(config(t, c.bootstrap(), "auto.offset.reset=earliest\nrequest.timeout.ms=10000"))
	require.NoError(t, err)
	defer closeConsumer(cons)
	var tps []core.TopicPartition
	for p := range ends {
		tps = append(tps, core.TopicPartition{Topic: topic, Partition: p})
	}
	require.NoError(t, cons.Assign(tps))

	var res logCheck
	tally := newSeqTally(want)
	offsets := map[int32]int64{} // next offset per partition
	done := func() bool {
		for p, end := range ends {
			if offsets[p] < end {
				return false
			}
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for !done() {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		recs, err := cons.Poll(pctx, 5000)
		pcancel()
		require.NoError(t, err, "poll")
		require.NoError(t, ctx.Err(), "reading %s: stuck at %v of %v", topic, offsets, ends)
		for _, r := range recs {
			require.Equal(t, offsets[r.Partition], r.Offset, "offsets of partition %d are not contiguous", r.Partition)
			offsets[r.Partition] = r.Offset + 1
			tally.add(t, r, &res)
		}
	}
	tally.finish(&res)
	res.Elapsed = time.Since(start)
	return res
}

// ---- child processes ----

// child is a child process (this test binary started as one, see
// TestMain) as the parent sees it.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when its stdout is drained
}

// childEvent is one line a child wrote on its stdout.
type childEvent struct {
	child string
	at    time.Time
	line  string
}

// startChildProcess starts this test binary as a child of kind
// (GOFKA_FAULT_CHILD: "consumer", "eos") against c, named name, with env
// (KEY=VALUE) added to its environment. Each line it writes on stdout
// goes to events; its stderr is the test's. The child is killed when the
// test ends.
func startChildProcess(t *testing.T, c *cluster, kind, name string, events chan<- childEvent, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"GOFKA_FAULT_CHILD="+kind,
		"GOFKA_FAULT_BROKERS="+c.bootstrap(),
		"GOFKA_FAULT_CHILD_NAME="+name,
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	ch := &child{name: name, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		defer close(ch.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			events <- childEvent{name, time.Now(), sc.Text()}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return ch
}

// memberLog is what the parent records of every child group: who said it
// subscribed ("R") and the lines nobody understood (errors: "E ...", or
// anything unexpected). Embedded in each test's state; mu guards the
// whole state.
type memberLog struct {
	mu    sync.Mutex
	ready map[string]bool
	errs  []string
}

// record takes one line under mu: "R" marks its child ready; any other
// goes to handle with its fields, which returns false for a line it does
// not know (recorded as an error). Empty lines are ignored.
func (m *memberLog) record(ev childEvent, handle func(f []string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := strings.Fields(ev.line)
	switch {
	case len(f) == 0:
	case f[0] == "R":
		if m.ready == nil {
			m.ready = map[string]bool{}
		}
		m.ready[ev.child] = true
	case !handle(f):
		m.errs = append(m.errs, ev.child+": "+ev.line)
	}
}

// subscribed tells whether every one of the group's children said it
// subscribed, or an error came (startChildGroup's wait).
func (m *memberLog) subscribed(n int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ready) == n || len(m.errs) > 0
}

// childGroup is the children of one test (the members of a group): the
// lines they write are applied in order, on one goroutine.
type childGroup struct {
	children []*child
	events   chan childEvent
	applied  chan struct{} // closed once every line was applied (after drain closed events)
}

// startChildGroup starts n children, the i-th named member-i by start(i,
// name, events), whose lines go to apply, and waits up to 90 s until
// subscribed(n) holds (every member said it subscribed, or an error came).
func startChildGroup(t *testing.T, n int, apply func(childEvent), start func(i int, name string, events chan<- childEvent) *child,
	subscribed func(n int) bool) *childGroup {
	t.Helper()
	g := &childGroup{events: make(chan childEvent, 1024), applied: make(chan struct{})}
	go func() {
		defer close(g.applied)
		for ev := range g.events {
			apply(ev)
		}
	}()
	for i := 0; i < n; i++ {
		g.children = append(g.children, start(i, fmt.Sprintf("member-%d", i), g.events))
	}
	waitFor(t, 90*time.Second, fmt.Sprintf("%d members subscribed", n), func() bool { return subscribed(n) })
	return g
}

// drain waits until every child's stdout is drained (they exited or were
// killed) and each of their lines applied.
func (g *childGroup) drain() {
	for _, ch := range g.children {
		<-ch.done
	}
	close(g.events)
	<-g.applied
}

// ---- reporting and guards ----

// report logs figures and appends them, with the test name, as one JSON
// line to $GOFKA_FAULT_REPORT.
func report(t *testing.T, figures map[string]any) {
	t.Helper()
	figures["test"] = t.Name()
	b, _ := json.Marshal(figures)
	t.Logf("figures: %s", b)
	if path := os.Getenv("GOFKA_FAULT_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		defer f.Close()
		_, err = f.Write(append(b, '\n'))
		require.NoError(t, err)
	}
}

// hardTimeout makes the test binary fail loudly, with every goroutine's
// stack, if the test is still running after d: a hang is a bug, and the
// suite must stop by itself.
func hardTimeout(t *testing.T, d time.Duration) {
	name := t.Name()
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 8<<20)
		n := runtime.Stack(buf, true)
		fmt.Fprintf(os.Stderr, "FAIL %s: still running after %v (hard timeout); goroutines:\n%s\n", name, d, buf[:n])
		os.Exit(2)
	})
	t.Cleanup(func() { timer.Stop() })
}

// ms renders a duration in milliseconds for the report.
func ms(d time.Duration) int64 { return d.Milliseconds() }
