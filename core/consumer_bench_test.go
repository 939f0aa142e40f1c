package core

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gofka/gofka/devcluster"
)

// BenchmarkConsume measures the consumer engine alone: b.N records of 100
// bytes are written to a fresh one-partition topic (not timed), then a
// group consumer polls them in batches of 10000. It reports records/s and
// the process CPU time per record (all goroutines: fetch, decode, poll).
//
//	go test ./core -run '^$' -bench BenchmarkConsume -benchtime 1000000x
//	GOFKA_BROKERS=127.0.0.1:9092 go test ./core -run '^$' -bench BenchmarkConsume -benchtime 1000000x
func BenchmarkConsume(b *testing.B) {
	brokers := benchBrokers(b)
	// GOFKA_BENCH_TOPIC reuses a one-partition topic holding at least b.N
	// records (then only the consumer runs in the process).
	topic := os.Getenv("GOFKA_BENCH_TOPIC")
	if topic == "" {
		topic = fmt.Sprintf("gofka-bench-consume-%d", time.Now().UnixNano())
		fillTopic(b, brokers, topic, b.N)
	}

	c, err := NewConsumer(WithBrokers(brokers...), WithGroupID(fmt.Sprintf("g-%s-%d", topic, time.Now().UnixNano())), WithAutoOffsetReset(OffsetResetEarliest),
		WithAutoCommit(false))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.Subscribe(ctx, topic); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	n := 0
	for n < b.N {
		recs, err := c.Poll(ctx, 10000)
		if err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(n)/el.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/record")
}

func benchBrokers(b *testing.B) []string {
	if v := os.Getenv("GOFKA_BROKERS"); v != "" {
		return splitComma(v)
	}
	d, err := devcluster.Start(devcluster.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Close)
	return d.Addrs()
}

func splitComma(s string) []string {
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

func fillTopic(b *testing.B, brokers []string, topic string, n int) {
	b.Helper()
	p, err := NewProducer(WithBrokers(brokers...))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	val := make([]byte, 100)
	const chunk = 50000
	recs := make([]*Record, 0, chunk)
	for i := 0; i < n; i += chunk {
		recs = recs[:0]
		for j := i; j < min(n, i+chunk); j++ {
			recs = append(recs, &Record{Topic: topic, Partition: 0, ManualPartition: true, Value: val})
		}
		if err := p.ProduceSync(ctx, recs...); err != nil {
			b.Fatal(err)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
