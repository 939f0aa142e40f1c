// Package devcluster runs an in-process Kafka-compatible cluster on
// loopback for demos and tests (franz-go's kfake behind a request guard).
//
// It is a package of its own so that a program importing the client
// (github.com/gofka/gofka/core) does not link a fake broker: only programs
// that import devcluster do (Gofka's tests, and the C ABI, whose
// gofka_devcluster_* functions serve the Python and C tests).
//
//	cluster, err := devcluster.Start(devcluster.Options{Brokers: 3})
//	if err != nil { ... }
//	defer cluster.Close()
//	producer, err := core.NewProducer(core.WithBrokers(cluster.Addrs()...))
package devcluster

import (
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/gofka/gofka/wire"
)

// Cluster is an in-process Kafka-compatible cluster on loopback, built on
// franz-go's kfake. It serves demos and fast tests: it speaks the real wire
// protocol, keeps data in memory, creates topics on first use (default 1
// partition) and is gone when closed. It is not a production broker.
//
// Every connection goes through a guard (guard.go): frames kfake cannot
// serve (unknown API key or version, undecodable, over 100 MiB) close that
// connection only, and absurd resource requests (over 10,000 partitions per
// topic, 100,000 in all, 1,000 topics per request) are refused with
// INVALID_PARTITIONS or POLICY_VIOLATION, so no peer can crash or exhaust
// the process hosting the cluster.
//
// A Cluster is safe for concurrent use; its owner closes it once done
// (Close), which ends every client connection to it.
type Cluster struct {
	c     *kfake.Cluster
	guard *devGuard
	once  sync.Once
}

// Options configures Start. The zero value is one broker on a free port
// with one partition per auto-created topic.
type Options struct {
	Brokers    int // number of brokers, 1..16; 0 means 1
	Port       int // first port; 0 picks free ports
	Partitions int // partitions of auto-created topics; 0 means 1
}

// Start starts a dev cluster on 127.0.0.1. Out-of-range options are a
// *wire.Error with code wire.ErrInvalidArgument; a port in use (or any
// other failure to start) is wire.ErrConnectionFailed.
func Start(o Options) (*Cluster, error) {
	if o.Brokers == 0 {
		o.Brokers = 1
	}
	if o.Brokers < 1 || o.Brokers > 16 {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("dev cluster brokers must be 1..16, got %d", o.Brokers)}
	}
	if o.Port < 0 || o.Port+o.Brokers-1 > 65535 {
		return nil, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("dev cluster port %d out of range", o.Port)}
	}
	if o.Partitions <= 0 {
		o.Partitions = 1
	}
	ports := make([]int, o.Brokers)
	for i := range ports {
		if o.Port > 0 {
			ports[i] = o.Port + i
		}
	}
	g := newDevGuard()
	c, err := kfake.NewCluster(
		kfake.ListenFn(g.listen),
		kfake.NumBrokers(o.Brokers),
		kfake.Ports(ports...),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(o.Partitions),
	)
	if err != nil {
		return nil, &wire.Error{Code: wire.ErrConnectionFailed, Detail: "starting dev cluster: " + err.Error()}
	}
	if err := g.learnVersions(c.ListenAddrs()[0]); err != nil {
		c.Close()
		return nil, &wire.Error{Code: wire.ErrConnectionFailed, Detail: "starting dev cluster: asking it for its API versions: " + err.Error()}
	}
	return &Cluster{c: c, guard: g}, nil
}

// Brokers returns the bootstrap list "127.0.0.1:p1,127.0.0.1:p2,...".
func (d *Cluster) Brokers() string { return strings.Join(d.c.ListenAddrs(), ",") }

// Addrs returns the broker addresses.
func (d *Cluster) Addrs() []string { return d.c.ListenAddrs() }

// Close stops every broker. Safe to call more than once.
func (d *Cluster) Close() { d.once.Do(d.c.Close) }
