package devcluster_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/devcluster"
)

// Start a three-broker cluster whose auto-created topics get four
// partitions, and point a client at it.
func ExampleStart() {
	cluster, err := devcluster.Start(devcluster.Options{Brokers: 3, Partitions: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	fmt.Println(len(cluster.Addrs()), "brokers")
	fmt.Println(strings.HasPrefix(cluster.Brokers(), "127.0.0.1:"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	producer, err := core.NewProducer(core.WithBrokers(cluster.Addrs()...))
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(ctx)
	if err := producer.ProduceSync(ctx, &core.Record{Topic: "auto", Partition: 3, Value: []byte("v")}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote to partition 3 of an auto-created topic")
	// Output:
	// 3 brokers
	// true
	// wrote to partition 3 of an auto-created topic
}
