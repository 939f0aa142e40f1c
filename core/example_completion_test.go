package core_test

import (
	"context"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/devcluster"
)

// Produce without blocking and collect the results on one goroutine: the
// shape of an event loop (watch q.FD() with poll(2) or epoll and call
// q.Poll when it turns readable, or block in q.Wait as here).
func ExampleCompletionQueue() {
	cluster, err := devcluster.Start(devcluster.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	producer, err := core.NewProducer(core.WithBrokers(cluster.Addrs()...))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(context.Background())
	q, err := core.NewCompletionQueue()
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	for token, v := range []string{"one", "two", "three"} {
		r := &core.Record{Topic: "events", Partition: 0, ManualPartition: true, Value: []byte(v)}
		if err := producer.ProduceTo(q, uint64(token), r); err != nil {
			log.Fatal(err) // not buffered (QUEUE_FULL, invalid record, closed)
		}
	}
	var done []core.Completion
	for len(done) < 3 {
		cs, err := q.Wait(0, 10*time.Second)
		if err != nil {
			log.Fatal(err)
		}
		done = append(done, cs...)
	}
	sort.Slice(done, func(i, j int) bool { return done[i].Token < done[j].Token })
	for _, c := range done {
		fmt.Printf("token %d: err=%v partition %d offset %d\n", c.Token, c.Err, c.Partition, c.Offset)
	}
	// Output:
	// token 0: err=<nil> partition 0 offset 0
	// token 1: err=<nil> partition 0 offset 1
	// token 2: err=<nil> partition 0 offset 2
}

// A synchronous send on the C ABI's low-latency path: the calling
// goroutine reads its acknowledgement from the partition leader's socket
// itself (what pays off on a thread locked to a foreign runtime).
func ExampleProducer_ProduceWait() {
	cluster, err := devcluster.Start(devcluster.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	producer, err := core.NewProducer(core.WithBrokers(cluster.Addrs()...))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(context.Background())
	q, err := core.NewCompletionQueue() // one per sending goroutine
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	for token, v := range []string{"a", "b"} {
		r := &core.Record{Topic: "sync", Partition: 0, ManualPartition: true, Value: []byte(v)}
		cs, err := producer.ProduceWait(q, uint64(token), r, 1, 10*time.Second)
		if err != nil {
			log.Fatal(err)
		}
		for len(cs) == 0 { // timed out first: the completion comes later
			if cs, err = q.Wait(1, 10*time.Second); err != nil {
				log.Fatal(err)
			}
		}
		if cs[0].Err != nil {
			log.Fatal(cs[0].Err)
		}
		fmt.Printf("%s at offset %d\n", v, cs[0].Offset)
	}
	// Output:
	// a at offset 0
	// b at offset 1
}
