package core_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/devcluster"
	"github.com/gofka/gofka/wire"
)

// The examples run against an in-process dev cluster, so `go test` checks
// their output. With a real cluster, pass its addresses to WithBrokers
// instead ("broker1:9092", "broker2:9092").

// Produce a few records, then read them back with a consumer group.
func Example() {
	cluster, err := devcluster.Start(devcluster.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	producer, err := core.NewProducer(core.WithBrokers(cluster.Addrs()...))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(ctx)
	for _, v := range []string{"one", "two", "three"} {
		if err := producer.ProduceSync(ctx, &core.Record{Topic: "greetings", Partition: 0, ManualPartition: true, Value: []byte(v)}); err != nil {
			log.Fatal(err)
		}
	}

	consumer, err := core.NewConsumer(core.WithBrokers(cluster.Addrs()...),
		core.WithGroupID("example-group"), core.WithAutoOffsetReset(core.OffsetResetEarliest))
	if err != nil {
		log.Fatal(err)
	}
	defer consumer.Close(ctx)
	if err := consumer.Subscribe(ctx, "greetings"); err != nil {
		log.Fatal(err)
	}
	for seen := 0; seen < 3; {
		recs, err := consumer.Poll(ctx, 10)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range recs {
			fmt.Printf("%s/%d@%d %s\n", r.Topic, r.Partition, r.Offset, r.Value)
			seen++
		}
	}
	// Output:
	// greetings/0@0 one
	// greetings/0@1 two
	// greetings/0@2 three
}

func ExampleProducer_ProduceSync() {
	cluster, _ := devcluster.Start(devcluster.Options{})
	defer cluster.Close()
	ctx := context.Background()

	producer, err := core.NewProducer(core.WithBrokers(cluster.Addrs()...), core.WithCompression(wire.CompressionZstd))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(ctx)

	// Many records in one call: they are batched per partition and leader.
	recs := []*core.Record{
		{Topic: "orders", Partition: 0, ManualPartition: true, Key: []byte("a"), Value: []byte("first")},
		{Topic: "orders", Partition: 0, ManualPartition: true, Key: []byte("b"), Value: []byte("second"),
			Headers: []wire.Header{{Key: "source", Value: []byte("example")}}},
	}
	if err := producer.ProduceSync(ctx, recs...); err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Printf("%s at %s/%d offset %d\n", r.Value, r.Topic, r.Partition, r.Offset)
	}
	// Output:
	// first at orders/0 offset 0
	// second at orders/0 offset 1
}

// Produce returns at once; the promise runs when the broker has answered.
func ExampleProducer_Produce() {
	cluster, _ := devcluster.Start(devcluster.Options{})
	defer cluster.Close()
	ctx := context.Background()
	producer, err := core.NewProducer(core.WithBrokers(cluster.Addrs()...), core.WithLinger(5*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(ctx)

	var mu sync.Mutex
	acked := map[int64]string{}
	for i := 0; i < 5; i++ {
		r := &core.Record{Topic: "clicks", Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprint("click-", i))}
		producer.Produce(ctx, r, func(r *core.Record, err error) {
			if err != nil {
				log.Print(err)
				return
			}
			mu.Lock()
			acked[r.Offset] = string(r.Value)
			mu.Unlock()
		})
	}
	// Flush waits until every record produced so far is settled.
	if err := producer.Flush(ctx); err != nil {
		log.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(len(acked), "acknowledged;", "offset 4 holds", acked[4])
	// Output:
	// 5 acknowledged; offset 4 holds click-4
}

// FetchPartition reads one partition directly, without a consumer group.
func ExampleClient_FetchPartition() {
	cluster, _ := devcluster.Start(devcluster.Options{})
	defer cluster.Close()
	ctx := context.Background()
	producer, _ := core.NewProducer(core.WithBrokers(cluster.Addrs()...))
	defer producer.Close(ctx)
	for _, v := range []string{"a", "b", "c"} {
		producer.ProduceSync(ctx, &core.Record{Topic: "letters", Partition: 0, ManualPartition: true, Value: []byte(v)})
	}

	res, err := producer.Client().FetchPartition(ctx, "letters", 0, 1, core.FetchOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res.Records {
		fmt.Println(r.Offset, string(r.Value))
	}
	fmt.Println("high watermark", res.HighWatermark)
	// Output:
	// 1 b
	// 2 c
	// high watermark 3
}

// A consumer without a group reads the partitions it is given.
func ExampleConsumer_Assign() {
	cluster, _ := devcluster.Start(devcluster.Options{})
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	producer, _ := core.NewProducer(core.WithBrokers(cluster.Addrs()...))
	defer producer.Close(ctx)
	producer.ProduceSync(ctx, &core.Record{Topic: "metrics", Partition: 0, ManualPartition: true, Value: []byte("cpu=3")},
		&core.Record{Topic: "metrics", Partition: 0, ManualPartition: true, Value: []byte("cpu=5")})

	consumer, err := core.NewConsumer(core.WithBrokers(cluster.Addrs()...), core.WithAutoOffsetReset(core.OffsetResetEarliest))
	if err != nil {
		log.Fatal(err)
	}
	defer consumer.Close(ctx)
	if err := consumer.Assign([]core.TopicPartition{{Topic: "metrics", Partition: 0}}); err != nil {
		log.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		recs, err := consumer.Poll(ctx, 100)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, string(r.Value))
		}
	}
	fmt.Println(got)
	// Output:
	// [cpu=3 cpu=5]
}

func ExampleAdmin_ListTopics() {
	cluster, _ := devcluster.Start(devcluster.Options{})
	defer cluster.Close()
	ctx := context.Background()

	admin, err := core.NewAdmin(core.WithBrokers(cluster.Addrs()...))
	if err != nil {
		log.Fatal(err)
	}
	defer admin.Close()
	for _, name := range []string{"payments", "audit"} {
		if err := admin.CreateTopic(ctx, core.NewTopic{Name: name, NumPartitions: 3, ReplicationFactor: 1}); err != nil {
			log.Fatal(err)
		}
	}
	topics, err := admin.ListTopics(ctx, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(topics)
	n, _ := admin.PartitionCount(ctx, "payments")
	fmt.Println("payments has", n, "partitions")
	// Output:
	// [audit payments]
	// payments has 3 partitions
}

// The C ABI and Python configure clients with key=value properties
// (docs/configuration.md lists them); Go code can too. The typed options
// set the same settings: WithAcks(AcksLeader) is acks=1.
func ExampleNewProducerFromProperties() {
	p, err := core.NewProducerFromProperties(map[string]string{
		"bootstrap.servers": "k1:9092,k2:9092",
		"acks":              "1",
		"compression.type":  "lz4",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close(context.Background())
	cfg := p.Client().Config()
	fmt.Println(cfg.Brokers, cfg.Acks == core.AcksLeader, cfg.Acks, cfg.Compression)

	_, err = core.NewProducerFromProperties(map[string]string{"bootstrap.servers": "k1:9092", "acks": "2"})
	fmt.Println(wire.CodeOf(err).String())
	// Output:
	// [k1:9092 k2:9092] true 1 lz4
	// INVALID_ARGUMENT
}

// printLogger prints the engine's connection lines (addresses left out so
// that the output is stable).
type printLogger struct{ once sync.Once }

func (*printLogger) Enabled(level core.LogLevel) bool { return level >= core.LogInfo }

func (p *printLogger) Log(level core.LogLevel, subsystem, msg string) {
	if subsystem == "conn" && strings.HasPrefix(msg, "connected to") {
		p.once.Do(func() { fmt.Println(level, subsystem, "connected") })
	}
}

// WithLogger receives connection, metadata and group events; SlogLogger
// adapts a *slog.Logger.
func ExampleWithLogger() {
	cluster, _ := devcluster.Start(devcluster.Options{})
	defer cluster.Close()
	cl, err := core.NewClient(core.WithBrokers(cluster.Addrs()...), core.WithLogger(&printLogger{}))
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Connect(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// INFO conn connected
}

// Consume, transform and produce exactly once: each transaction holds the
// records written and the input offsets they come from, so after a crash
// the group resumes exactly where the last committed transaction ended.
// The error handling is the loop every transactional application needs:
// abort on an abortable error (and reprocess from the committed offsets),
// stop on a fatal one.
func ExampleProducer_CommitTransaction() {
	cluster, err := devcluster.Start(devcluster.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	brokers := core.WithBrokers(cluster.Addrs()...)

	// The input: three records.
	plain, err := core.NewProducer(brokers)
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range []string{"a", "b", "c"} {
		if err := plain.ProduceSync(ctx, &core.Record{Topic: "in", Partition: 0, ManualPartition: true, Value: []byte(v)}); err != nil {
			log.Fatal(err)
		}
	}
	plain.Close(ctx)

	consumer, err := core.NewConsumer(brokers, core.WithGroupID("upper"), core.WithAutoOffsetReset(core.OffsetResetEarliest),
		core.WithAutoCommit(false), core.WithIsolationLevel(core.ReadCommitted))
	if err != nil {
		log.Fatal(err)
	}
	defer consumer.Close(ctx)
	if err := consumer.Subscribe(ctx, "in"); err != nil {
		log.Fatal(err)
	}
	producer, err := core.NewProducer(brokers, core.WithTransactionalID("upper-0"))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(ctx)
	if err := producer.InitTransactions(ctx); err != nil {
		log.Fatal(err)
	}

	for done := 0; done < 3; {
		recs, err := consumer.Poll(ctx, 100)
		if err != nil {
			log.Fatal(err)
		}
		if len(recs) == 0 {
			continue
		}
		err = func() error {
			if err := producer.BeginTransaction(); err != nil {
				return err
			}
			offsets := map[core.TopicPartition]int64{}
			for _, r := range recs {
				producer.Produce(ctx, &core.Record{Topic: "out", Partition: 0, ManualPartition: true,
					Value: []byte(strings.ToUpper(string(r.Value)))}, nil)
				offsets[core.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset + 1
			}
			if err := producer.SendOffsetsToTransaction(ctx, offsets, consumer.GroupMetadata()); err != nil {
				return err
			}
			return producer.CommitTransaction(ctx)
		}()
		switch {
		case err == nil:
			done += len(recs)
		case core.IsTxnFatal(err):
			log.Fatal(err) // fenced by a newer instance, or not authorized: stop
		case core.IsTxnAbortable(err):
			if err := producer.AbortTransaction(ctx); err != nil {
				log.Fatal(err)
			}
			// Reprocess the batch: back to the group's committed offsets.
			tps := []core.TopicPartition{}
			for _, r := range recs {
				tps = append(tps, core.TopicPartition{Topic: r.Topic, Partition: r.Partition})
			}
			committed, err := consumer.Committed(ctx, tps)
			if err != nil {
				log.Fatal(err)
			}
			for tp, off := range committed {
				if off < 0 {
					off = core.OffsetBeginning
				}
				if err := consumer.Seek(tp, off); err != nil {
					log.Fatal(err)
				}
			}
		default:
			log.Fatal(err) // e.g. TIMED_OUT: retry CommitTransaction, or stop
		}
	}

	reader, err := core.NewConsumer(brokers, core.WithIsolationLevel(core.ReadCommitted), core.WithAutoOffsetReset(core.OffsetResetEarliest))
	if err != nil {
		log.Fatal(err)
	}
	defer reader.Close(ctx)
	if err := reader.Assign([]core.TopicPartition{{Topic: "out", Partition: 0}}); err != nil {
		log.Fatal(err)
	}
	for seen := 0; seen < 3; {
		recs, err := reader.Poll(ctx, 10)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range recs {
			fmt.Printf("%s\n", r.Value)
			seen++
		}
	}
	// Output:
	// A
	// B
	// C
}
