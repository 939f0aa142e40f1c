package core_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/devcluster"
)

// A share group (KIP-932) as a work queue: each record is acknowledged on
// its own. A released record comes back with its delivery count + 1; a
// rejected one never comes back.
func ExampleShareConsumer() {
	cluster, err := devcluster.Start(devcluster.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	brokers := core.WithBrokers(cluster.Addrs()...)

	// A share group starts at the latest offset unless its
	// share.auto.offset.reset says otherwise.
	admin, err := core.NewAdmin(brokers)
	if err != nil {
		log.Fatal(err)
	}
	defer admin.Close()
	if err := admin.AlterConfigs(ctx, core.ResourceGroup, "workers", []core.ConfigOp{{Name: "share.auto.offset.reset", Value: "earliest"}}, false); err != nil {
		log.Fatal(err)
	}
	producer, err := core.NewProducer(brokers)
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close(ctx)
	for _, v := range []string{"job-1", "job-2", "job-3"} {
		if err := producer.ProduceSync(ctx, &core.Record{Topic: "jobs", Value: []byte(v)}); err != nil {
			log.Fatal(err)
		}
	}

	consumer, err := core.NewShareConsumer(brokers, core.WithGroupID("workers"),
		core.WithShareAcknowledgementMode(core.ShareAckExplicit))
	if err != nil {
		log.Fatal(err)
	}
	defer consumer.Close(ctx)
	if err := consumer.Subscribe("jobs"); err != nil {
		log.Fatal(err)
	}
	for done := 0; done < 3; {
		recs, err := consumer.Poll(ctx, 10)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range recs {
			ack := core.AcknowledgeAccept
			switch {
			case string(r.Value) == "job-2" && r.DeliveryCount == 1:
				ack = core.AcknowledgeRelease // not now: try again later
			case string(r.Value) == "job-3":
				ack = core.AcknowledgeReject // never
			}
			fmt.Printf("%s delivery %d: %s\n", r.Value, r.DeliveryCount, ack)
			if err := consumer.Acknowledge(r, ack); err != nil {
				log.Fatal(err)
			}
			if ack != core.AcknowledgeRelease {
				done++
			}
		}
	}
	results, err := consumer.Commit(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, res := range results {
		fmt.Printf("offset %d %s: err=%v\n", res.Offset, res.Type, res.Err)
	}
	// Output:
	// job-1 delivery 1: accept
	// job-2 delivery 1: release
	// job-3 delivery 1: reject
	// job-2 delivery 2: accept
	// offset 1 accept: err=<nil>
}
