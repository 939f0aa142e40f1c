// Command gobench is the Go peer of the Gofka benchmark (bench/run.py).
//
// It measures one client per process, Gofka's Go engine (core) or franz-go
// (kgo), on one scenario, and prints exactly one JSON result line on stdout
// (everything else goes to stderr). The same binary also carries the
// harness's tools (create/delete topics, pre-fill, verify a topic), which use
// franz-go because they are not measured.
//
// Scenarios (-scenario): produce, consume, latency-produce, latency-consume,
// share (-members consumers of one share or classic group read a topic).
// Tools (-tool): create, delete, fill, verify, share-earliest (a share
// group -group reads from the earliest offset).
//
// Every payload comes from the same deterministic pool as the Python
// workers (bench/clients/common.py), and every run reports the number of
// records and the sum of the CRC-32 (IEEE) of their values, so the runner
// can check that a client wrote or read exactly what it should have.
package main

import (
	"bufio"
	"context"
	"crypto/sha512"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spec is one run, filled from the flags.
type spec struct {
	Scenario    string
	Tool        string
	Client      string
	Mode        string
	Brokers     []string
	Topic       string
	Partitions  int
	Count       int
	Size        int
	Compression string
	Group       string
	Timeout     time.Duration
	PollMax     int
	Concurrency int
	Chunk       int
	CommitEvery int
	Members     int
}

// result is the JSON line printed at the end. Fields mirror the Python
// workers' results (bench/clients/common.py).
type result struct {
	OK          bool               `json:"ok"`
	Client      string             `json:"client,omitempty"`
	Mode        string             `json:"mode,omitempty"`
	Unavailable string             `json:"unavailable,omitempty"`
	Error       string             `json:"error,omitempty"`
	Count       int64              `json:"count"`
	Bytes       int64              `json:"bytes"`
	Checksum    uint64             `json:"checksum"`
	Seconds     float64            `json:"seconds"`
	Startup     float64            `json:"startup_seconds"`
	First       float64            `json:"first_seconds,omitempty"`
	CPU         float64            `json:"cpu_seconds"`
	MaxRSSKB    int64              `json:"maxrss_kb"`
	Latency     map[string]float64 `json:"latency_ms,omitempty"`
	Partitions  map[string]int64   `json:"partitions,omitempty"`
	Topics      map[string]*result `json:"topics,omitempty"`
	Extra       map[string]any     `json:"extra,omitempty"`
}

// runner is one client's implementation of a scenario.
type runner func(ctx context.Context, s *spec, m *meter) (*result, error)

// Registries of implementations, keyed by "scenario/mode". Files built only
// with a tag (Gofka paths that not every build has) add to them in init.
var (
	gofkaRunners = map[string]runner{}
	franzRunners = map[string]runner{}
)

func main() {
	s := &spec{}
	var brokers string
	flag.StringVar(&s.Scenario, "scenario", "", "produce | consume | latency-produce | latency-consume | share")
	flag.StringVar(&s.Tool, "tool", "", "create | delete | fill | verify | share-earliest (harness tools, franz-go)")
	flag.StringVar(&s.Client, "client", "gofka", "gofka | franz")
	flag.StringVar(&s.Mode, "mode", "", "implementation variant (see -list); empty = the client's first")
	flag.StringVar(&brokers, "brokers", "127.0.0.1:9592", "bootstrap brokers")
	flag.StringVar(&s.Topic, "topic", "", "topic")
	flag.IntVar(&s.Partitions, "partitions", 1, "partitions (create; produce spreads over all of them)")
	flag.IntVar(&s.Count, "count", 100000, "records")
	flag.IntVar(&s.Size, "size", 100, "value size in bytes (>= 16)")
	flag.StringVar(&s.Compression, "compression", "none", "none | lz4 | zstd | gzip | snappy")
	flag.StringVar(&s.Group, "group", "", "consumer group id (consume scenarios)")
	flag.DurationVar(&s.Timeout, "timeout", 5*time.Minute, "give up after this long")
	flag.IntVar(&s.PollMax, "poll-max", 10000, "records per poll where the API takes a maximum")
	flag.IntVar(&s.Concurrency, "concurrency", 4, "goroutines calling a synchronous produce")
	flag.IntVar(&s.Chunk, "chunk", 10000, "records per synchronous produce call")
	flag.IntVar(&s.CommitEvery, "commit-every", 1000, "records per transaction (transactional produce paths)")
	flag.IntVar(&s.Members, "members", 1, "consumers of one group in the share scenario (one goroutine each)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the timed section to this file")
	list := flag.Bool("list", false, "print the available scenario/mode pairs per client as JSON and exit")
	flag.Parse()
	s.Brokers = strings.Split(brokers, ",")

	if *list {
		out := map[string][]string{"gofka": keys(gofkaRunners), "franz": keys(franzRunners)}
		_ = json.NewEncoder(os.Stdout).Encode(out)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
	defer cancel()

	var res *result
	var err error
	m := newMeter()
	if s.Tool != "" {
		res, err = runTool(ctx, s, m)
	} else {
		res, err = runScenario(ctx, s, m)
	}
	if err != nil {
		res = &result{Error: err.Error()}
	}
	if res.Client == "" {
		res.Client = s.Client
	}
	if res.Mode == "" {
		res.Mode = s.Mode
	}
	res.MaxRSSKB = maxRSSKB()
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		os.Exit(2)
	}
	if err != nil {
		os.Exit(1)
	}
}

func keys(m map[string]runner) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func runScenario(ctx context.Context, s *spec, m *meter) (*result, error) {
	if s.Topic == "" {
		return nil, fmt.Errorf("-topic is required")
	}
	if s.Size < 16 {
		return nil, fmt.Errorf("-size must be at least 16")
	}
	var reg map[string]runner
	switch s.Client {
	case "gofka":
		reg = gofkaRunners
	case "franz":
		reg = franzRunners
	default:
		return nil, fmt.Errorf("unknown -client %q", s.Client)
	}
	if s.Mode == "" {
		for _, k := range keys(reg) {
			if strings.HasPrefix(k, s.Scenario+"/") {
				s.Mode = strings.TrimPrefix(k, s.Scenario+"/")
				break
			}
		}
	}
	run, ok := reg[s.Scenario+"/"+s.Mode]
	if !ok {
		return &result{Unavailable: fmt.Sprintf("%s %s/%s not available in this build", s.Client, s.Scenario, s.Mode)}, nil
	}
	res, err := run(ctx, s, m)
	if err != nil {
		return nil, err
	}
	res.OK = true
	return res, nil
}

// meter measures the timed section of a run: wall time and the CPU time of
// the whole process (every thread), from getrusage.
type meter struct {
	created   time.Time
	start     time.Time
	cpu0      float64
	wall, cpu float64
}

func newMeter() *meter { return &meter{created: time.Now()} }

func (m *meter) Start() {
	startProfile()
	m.start = time.Now()
	m.cpu0 = cpuSeconds()
}

func (m *meter) Stop() {
	m.wall = time.Since(m.start).Seconds()
	m.cpu = cpuSeconds() - m.cpu0
	stopProfile()
}

// cpuProfile, when -cpuprofile names a file, is the CPU profile of the
// timed section (between the meter's Start and Stop), for finding where a
// client's CPU goes; empty (the default) profiles nothing.
var cpuProfile string

var profileFile *os.File

func startProfile() {
	if cpuProfile == "" {
		return
	}
	f, err := os.Create(cpuProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		f.Close()
		return
	}
	profileFile = f
}

func stopProfile() {
	if profileFile == nil {
		return
	}
	pprof.StopCPUProfile()
	profileFile.Close()
	profileFile = nil
}

// fill copies the measurements into r.
func (m *meter) fill(r *result) {
	r.Seconds = m.wall
	r.CPU = m.cpu
	r.Startup = m.start.Sub(m.created).Seconds()
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// maxRSSKB is the peak RSS of this process in KiB: VmHWM of
// /proc/self/status. Not ru_maxrss, which Linux carries over execve (the
// runner's RSS at fork time would show instead of ours).
func maxRSSKB() int64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					return n
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss // kilobytes on Linux
}

// ---- payloads (same algorithm as bench/clients/common.py) ----

const alphabet = "abcdefghijklmnop"

// poolSize is how many distinct values a run cycles through: about 16 MiB
// of payload, so that batches hold no repeated values (which would make
// compression look better than it is) while memory stays small.
func poolSize(count, size int) int {
	p := 1
	for p*2*size <= 16<<20 {
		p *= 2
	}
	return max(1, min(count, p))
}

// makePool returns the values 0..n-1 of the given size: an 8-byte
// big-endian index followed by letters from a SHA-512 counter stream mapped
// onto 16 letters (about 2:1 compressible, like text).
func makePool(count, size int) [][]byte {
	n := poolSize(count, size)
	body := size - 8
	stream := make([]byte, 0, n*body+64)
	var ctr [8]byte
	for k := uint64(0); len(stream) < n*body; k++ {
		binary.BigEndian.PutUint64(ctr[:], k)
		h := sha512.Sum512(append([]byte("gofka-bench"), ctr[:]...))
		for _, b := range h {
			stream = append(stream, alphabet[b&15])
		}
	}
	pool := make([][]byte, n)
	for j := range pool {
		v := make([]byte, size)
		binary.BigEndian.PutUint64(v, uint64(j))
		copy(v[8:], stream[j*body:(j+1)*body])
		pool[j] = v
	}
	return pool
}

// expectedChecksum is the checksum of records 0..count-1 of the pool.
func expectedChecksum(pool [][]byte, count int) uint64 {
	var sum uint64
	for i := 0; i < count; i++ {
		sum += uint64(crc32.ChecksumIEEE(pool[i%len(pool)]))
	}
	return sum
}

// percentiles returns p50/p99/p99.9/max/mean of samples (milliseconds).
func percentiles(samples []float64) map[string]float64 {
	if len(samples) == 0 {
		return nil
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.999999) - 1 // nearest-rank
		return s[max(0, min(len(s)-1, i))]
	}
	var sum float64
	for _, v := range s {
		sum += v
	}
	return map[string]float64{"p50": at(0.50), "p99": at(0.99), "p99.9": at(0.999), "max": s[len(s)-1],
		"mean": sum / float64(len(s)), "samples": float64(len(s))}
}

// latencyValue builds value seq of a latency run: the 8-byte sequence
// number, the 8-byte send time (Unix ns) and filler.
func latencyValue(pool [][]byte, seq int, now time.Time) []byte {
	v := append([]byte(nil), pool[seq%len(pool)]...)
	binary.BigEndian.PutUint64(v, uint64(seq))
	binary.BigEndian.PutUint64(v[8:], uint64(now.UnixNano()))
	return v
}

// latencyConsumer tracks a latency-consume run: it tells the runner "READY"
// when the priming record (seq 0) arrives, then collects end-to-end
// latencies of records 1..count.
type latencyConsumer struct {
	count    int
	seen     map[uint64]bool
	samples  []float64
	checksum uint64
	ready    bool
}

func newLatencyConsumer(count int) *latencyConsumer {
	return &latencyConsumer{count: count, seen: make(map[uint64]bool, count+1)}
}

// add records one consumed value; it returns true when the run is complete.
func (l *latencyConsumer) add(v []byte, now time.Time) bool {
	if len(v) < 16 {
		return false
	}
	seq := binary.BigEndian.Uint64(v)
	if l.seen[seq] {
		l.checksum += uint64(crc32.ChecksumIEEE(v)) // duplicates make the checksum wrong, as they should
		return false
	}
	l.seen[seq] = true
	l.checksum += uint64(crc32.ChecksumIEEE(v))
	if seq == 0 {
		if !l.ready {
			l.ready = true
			fmt.Fprintln(os.Stdout, "READY")
		}
	} else {
		sent := int64(binary.BigEndian.Uint64(v[8:]))
		l.samples = append(l.samples, float64(now.UnixNano()-sent)/1e6)
	}
	return len(l.samples) >= l.count
}

func (l *latencyConsumer) result() *result {
	return &result{Count: int64(len(l.seen)), Checksum: l.checksum, Latency: percentiles(l.samples)}
}

// waitGo blocks until the runner writes a line ("go") on stdin: the
// consumer of a latency run is ready.
func waitGo(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(os.Stdin).ReadString('\n')
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("waiting for go on stdin: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
