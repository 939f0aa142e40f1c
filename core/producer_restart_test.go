//go:build kafkarestart

package core

// A destructive check against a real Kafka started by scripts/kafka.sh: it
// kills node 1 (SIGKILL, or the signal in GOFKA_RESTART_SIGNAL) while
// records are being produced, starts it again, and verifies that every
// record was acknowledged once and is in the log exactly once and in order.
// It is behind a build tag because it takes the broker down:
//
//	KAFKA_PORT=9192 KAFKA_WORKDIR=/tmp/kafka-x scripts/kafka.sh up
//	GOFKA_BROKERS=127.0.0.1:9192 KAFKA_PORT=9192 KAFKA_WORKDIR=/tmp/kafka-x \
//	    go test -tags kafkarestart -run TestProducerSurvivesBrokerRestart -v ./core

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func kafkaScript(t *testing.T, args ...string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "scripts", "kafka.sh")
	cmd := exec.Command(script, args...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "kafka.sh %v: %s", args, out)
}

func TestProducerSurvivesBrokerRestart(t *testing.T) {
	brokers := testBrokers(t)
	if os.Getenv("GOFKA_BROKERS") == "" {
		t.Fatal("needs GOFKA_BROKERS (a real Kafka from scripts/kafka.sh) and its KAFKA_PORT/KAFKA_WORKDIR")
	}
	signal := os.Getenv("GOFKA_RESTART_SIGNAL")
	if signal == "" {
		signal = "KILL"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := newTestProducer(t, brokers, WithBatchSize(16<<10), WithRequestTimeout(10*time.Second),
		WithDialTimeout(2*time.Second))
	topic := uniqueTopic(t)
	const parts = 3
	createTopic(t, ctx, p.Client(), topic, parts)

	var acked, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	produced := make([]int, parts)
	var wg sync.WaitGroup
	for part := 0; part < parts; part++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					produced[part] = i
					return
				default:
				}
				p.Produce(ctx, &Record{Topic: topic, Partition: int32(part), ManualPartition: true, Value: []byte(fmt.Sprintf("r%d", i))},
					func(_ *Record, err error) {
						if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err)
							return
						}
						acked.Add(1)
					})
				if i%50 == 0 {
					time.Sleep(5 * time.Millisecond) // ~10k records/s in all
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	before := acked.Load()
	t.Logf("acknowledged before the kill: %d; killing node 1 with SIG%s", before, signal)
	kafkaScript(t, "kill", "1", signal)
	time.Sleep(time.Second)
	t.Logf("starting node 1 again (buffered meanwhile: %d)", p.BufferedRecords())
	kafkaScript(t, "start", "1")
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	require.NoError(t, p.Flush(ctx))
	total := 0
	for _, n := range produced {
		total += n
	}
	st := p.Stats()
	t.Logf("produced %d, acknowledged %d, failed %d; stats %+v", total, acked.Load(), failed.Load(), st)
	require.Zero(t, failed.Load(), "first failure: %v", firstErr.Load())
	require.Equal(t, int64(total), acked.Load())
	require.Greater(t, acked.Load(), before)
	for part := 0; part < parts; part++ {
		checkSequence(t, fetchAll(t, ctx, p.Client(), topic, int32(part), produced[part]), produced[part], "r")
	}
}
