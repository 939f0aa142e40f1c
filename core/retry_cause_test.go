package core

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	fkerr "github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gofka/gofka/wire"
)

// TestRetryDeadlineKeepsCause: a call that retries a failure and whose
// deadline passes while a retry's request is in flight tells its caller
// why it was retrying, not only that the last request timed out
// (keepCause). One case per retry loop: the group's requests (the
// coordinator loading), the committed-offset read (a transaction's
// offsets pending), the transaction coordinator's requests (EndTxn:
// CONCURRENT_TRANSACTIONS) and the transactional offset commit (its group
// coordinator loading). Group calls report the cause itself; transaction
// calls report TIMED_OUT with the cause in the detail.
func TestRetryDeadlineKeepsCause(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  kmsg.Key // the request retried, held from its second on
		// first answers the first request (nil, or a nil answer: the
		// cluster does, through a fault or by itself); setup
		// makes the client and returns the call, whose deadline passes.
		first func(kmsg.Request) kmsg.Response
		setup func(t *testing.T, c *kfake.Cluster) func(ctx context.Context) error
		code  wire.ErrorCode // the error's code
		cause string         // what its text must name
	}{
		{
			name: "group request: coordinator loading", key: kmsg.OffsetFetch,
			first: func(r kmsg.Request) kmsg.Response {
				return offsetFetchFailing(r.(*kmsg.OffsetFetchRequest), wire.ErrCoordinatorLoadInProgress, wire.ErrNone)
			},
			setup: committedCall, code: wire.ErrCoordinatorLoadInProgress, cause: "COORDINATOR_LOAD_IN_PROGRESS",
		},
		{
			name: "committed offsets: pending a transaction", key: kmsg.OffsetFetch,
			first: func(r kmsg.Request) kmsg.Response {
				return offsetFetchFailing(r.(*kmsg.OffsetFetchRequest), wire.ErrNone, wire.ErrUnstableOffsetCommit)
			},
			setup: committedCall, code: wire.ErrUnstableOffsetCommit, cause: "UNSTABLE_OFFSET_COMMIT",
		},
		{
			name: "transaction coordinator: concurrent transactions", key: kmsg.EndTxn,
			first: func(r kmsg.Request) kmsg.Response {
				resp := r.ResponseKind().(*kmsg.EndTxnResponse)
				resp.ErrorCode = fkerr.ConcurrentTransactions.Code
				return resp
			},
			setup: func(t *testing.T, c *kfake.Cluster) func(ctx context.Context) error {
				p := openTxn(t, c)
				return p.CommitTransaction
			},
			code: wire.ErrTimedOut, cause: "CONCURRENT_TRANSACTIONS",
		},
		{
			name: "transactional offsets: coordinator loading", key: kmsg.TxnOffsetCommit,
			setup: func(t *testing.T, c *kfake.Cluster) func(ctx context.Context) error {
				c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.TxnOffsetCommit}, Err: fkerr.CoordinatorLoadInProgress})
				p := openTxn(t, c)
				return func(ctx context.Context) error {
					return p.SendOffsetsToTransaction(ctx, map[TopicPartition]int64{{"held", 0}: 1},
						GroupMetadata{GroupID: "g-held", GenerationID: -1})
				}
			},
			code: wire.ErrTimedOut, cause: "COORDINATOR_LOAD_IN_PROGRESS",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeCluster(t, 1, kfake.SeedTopics(1, "held"))
			release := make(chan struct{})
			var requests atomic.Int32
			c.ControlKey(int16(tc.key), func(r kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				if requests.Add(1) == 1 {
					if tc.first == nil {
						return nil, nil, false // the fault answers
					}
					if resp := tc.first(r); resp != nil {
						return resp, nil, true
					}
					return nil, nil, false
				}
				// A retry: held until the caller's deadline has passed.
				c.SleepControl(func() { <-release })
				return nil, nil, false
			})
			call := tc.setup(t, c)
			t.Cleanup(func() { close(release) }) // before the clients and the cluster close

			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			err := call(ctx)
			require.Error(t, err)
			require.Equal(t, tc.code, wire.CodeOf(err), "%v", err)
			require.True(t, strings.Contains(err.Error(), tc.cause), "the cause is missing from %q", err)
			require.GreaterOrEqual(t, requests.Load(), int32(2), "the call never retried")
		})
	}
}

// committedCall is a group consumer's Committed of topic "held".
func committedCall(t *testing.T, c *kfake.Cluster) func(ctx context.Context) error {
	consumer := newTestConsumer(t, c.ListenAddrs(), WithGroupID("g-held"), WithAutoCommit(false))
	return func(ctx context.Context) error {
		_, err := consumer.Committed(ctx, []TopicPartition{{"held", 0}})
		return err
	}
}

// openTxn is a transactional producer of c with a transaction open that
// holds one record of topic "held".
func openTxn(t *testing.T, c *kfake.Cluster) *Producer {
	ctx := testCtx(t, 30*time.Second)
	p := newTxnProducer(t, c.ListenAddrs(), "txn-held")
	require.NoError(t, p.InitTransactions(ctx))
	require.NoError(t, p.BeginTransaction())
	require.NoError(t, p.ProduceSync(ctx, &Record{Topic: "held", Value: []byte("x")}))
	return p
}

// offsetFetchFailing answers req with group as the group's error code and
// part as every partition's. It fills the layout of version 8 and later
// (groups batched), the one the client sends to a broker that offers it,
// as the fake cluster does; for an older request it returns nil, and the
// cluster answers it itself (the test then fails on the error it sees).
func offsetFetchFailing(req *kmsg.OffsetFetchRequest, group, part wire.ErrorCode) *kmsg.OffsetFetchResponse {
	if req.Version < 8 {
		return nil
	}
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	for _, g := range req.Groups {
		rg := kmsg.NewOffsetFetchResponseGroup()
		rg.Group, rg.ErrorCode = g.Group, int16(group)
		for _, t := range g.Topics {
			rt := kmsg.NewOffsetFetchResponseGroupTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
				rp.Partition, rp.Offset, rp.ErrorCode = p, -1, int16(part)
				rt.Partitions = append(rt.Partitions, rp)
			}
			rg.Topics = append(rg.Topics, rt)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
