package main

import (
	"context"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gofka/gofka/core"
)

// TestVerifyTransactionalTopic: the verify tool reads a topic whose last
// offsets are commit markers (a transactional produce run) to its end and
// counts only the data records (it used to wait for a record at the last
// offset until its timeout).
func TestVerifyTransactionalTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "txn"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := core.NewProducer(core.WithBrokers(c.ListenAddrs()...), core.WithTransactionalID("verify-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	var want uint64
	for txn := 0; txn < 3; txn++ {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var recs []*core.Record
		for i := 0; i < 5; i++ {
			v := []byte(fmt.Sprintf("txn-%d-%d", txn, i))
			want += uint64(crc32.ChecksumIEEE(v))
			recs = append(recs, &core.Record{Topic: "txn", Partition: int32(i % 2), ManualPartition: true, Value: v})
		}
		if err := p.ProduceSync(ctx, recs...); err != nil {
			t.Fatal(err)
		}
		if err := p.CommitTransaction(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	vctx, vcancel := context.WithTimeout(ctx, 10*time.Second)
	defer vcancel()
	res, err := verifyTopic(vctx, cl, "txn")
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 15 || res.Checksum != want {
		t.Fatalf("verify: %d records, checksum %d; want 15, %d", res.Count, res.Checksum, want)
	}
}
