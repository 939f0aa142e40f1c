// Command txnwriter writes transactions with Gofka's Go engine (core's
// transactional producer, under every front door) for the interoperability
// tests (tests/python/test_txn_interop.py), which build and run it.
//
// It creates topic (one partition) and writes, all to partition 0, with one
// transactional producer (transactional.id "txnwriter-<topic>"):
//
//	a committed transaction:  c-0 .. c-4
//	an aborted transaction:   a-0 .. a-4 (sent to the broker, then aborted)
//	a committed transaction:  c-5 .. c-9
//	a committed transaction:  end
//
// A read_committed reader must see c-0..c-9 then end; a read_uncommitted
// reader sees the a-* records too. It prints "ok" and exits 0, or prints
// the error and exits 1; the whole run is bounded by -timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gofka/gofka/core"
	"github.com/gofka/gofka/wire"
)

func main() {
	brokers := flag.String("brokers", "", "bootstrap servers (host:port,...)")
	topic := flag.String("topic", "", "topic to create and write")
	timeout := flag.Duration("timeout", 60*time.Second, "bound of the whole run")
	flag.Parse()
	if *brokers == "" || *topic == "" {
		fmt.Println("usage: txnwriter -brokers host:port -topic name")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, strings.Split(*brokers, ","), *topic); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ok")
}

func run(ctx context.Context, brokers []string, topic string) error {
	adm, err := core.NewAdmin(core.WithBrokers(brokers...))
	if err != nil {
		return err
	}
	defer adm.Close()
	err = adm.CreateTopic(ctx, core.NewTopic{Name: topic, NumPartitions: 1, ReplicationFactor: -1})
	if err != nil && wire.CodeOf(err) != wire.ErrTopicAlreadyExists {
		return fmt.Errorf("create %s: %w", topic, err)
	}
	p, err := core.NewProducer(core.WithBrokers(brokers...), core.WithTransactionalID("txnwriter-"+topic))
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	if err := p.InitTransactions(ctx); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	recs := func(prefix string, from, to int) []*core.Record {
		var out []*core.Record
		for i := from; i < to; i++ {
			out = append(out, &core.Record{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte(fmt.Sprintf("%s%d", prefix, i))})
		}
		return out
	}
	for _, txn := range []struct {
		recs   []*core.Record
		commit bool
	}{
		{recs("c-", 0, 5), true},
		{recs("a-", 0, 5), false},
		{recs("c-", 5, 10), true},
		{[]*core.Record{{Topic: topic, Partition: 0, ManualPartition: true, Value: []byte("end")}}, true},
	} {
		if err := p.BeginTransaction(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		// Sent and acknowledged before the transaction ends, so the
		// aborted records are in the log (behind an abort marker).
		if err := p.ProduceSync(ctx, txn.recs...); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		if txn.commit {
			err = p.CommitTransaction(ctx)
		} else {
			err = p.AbortTransaction(ctx)
		}
		if err != nil {
			return fmt.Errorf("end transaction (commit %v): %w", txn.commit, err)
		}
	}
	return nil
}
