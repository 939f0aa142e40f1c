package core

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// testBrokers returns GOFKA_BROKERS (a real Kafka) when set, else a fresh
// dev cluster for the test.
func testBrokers(t *testing.T) []string {
	t.Helper()
	if b := os.Getenv("GOFKA_BROKERS"); b != "" {
		return strings.Split(b, ",")
	}
	d, err := StartDevCluster(DevClusterOptions{Brokers: 3})
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d.Addrs()
}

func uniqueTopic(t *testing.T) string {
	return fmt.Sprintf("gofka-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

func TestProduceAndFetchEveryCodec(t *testing.T) {
	brokers := testBrokers(t)
	for _, codec := range []wire.Compression{wire.CompressionNone, wire.CompressionGzip, wire.CompressionSnappy, wire.CompressionLZ4, wire.CompressionZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p, err := NewProducer(WithBrokers(brokers...), WithCompression(codec))
			require.NoError(t, err)
			defer p.Close(ctx)
			topic := uniqueTopic(t)
			var recs []*Record
			for i := 0; i < 100; i++ {
				recs = append(recs, &Record{Topic: topic, Partition: 0, Key: []byte(fmt.Sprint("k", i)),
					Value: []byte(fmt.Sprint("value-", i)), Headers: []wire.Header{{Key: "h", Value: []byte("v")}}})
			}
			require.NoError(t, p.ProduceSync(ctx, recs...))
			for i, r := range recs {
				require.Equal(t, int64(i), r.Offset)
			}
			one := &Record{Topic: topic, Partition: 0, Value: []byte("last")}
			require.NoError(t, p.ProduceSync(ctx, one))
			require.Equal(t, int64(100), one.Offset)

			var got []*Record
			next := int64(0)
			for len(got) < 101 {
				res, err := p.Client().FetchPartition(ctx, topic, 0, next, FetchOptions{})
				require.NoError(t, err)
				got = append(got, res.Records...)
				next = res.NextOffset
			}
			require.Len(t, got, 101)
			for i := 0; i < 100; i++ {
				require.Equal(t, int64(i), got[i].Offset)
				require.Equal(t, fmt.Sprint("value-", i), string(got[i].Value))
				require.Equal(t, fmt.Sprint("k", i), string(got[i].Key))
				require.Equal(t, []wire.Header{{Key: "h", Value: []byte("v")}}, got[i].Headers)
			}
			require.Equal(t, "last", string(got[100].Value))
			require.Nil(t, got[100].Key)
		})
	}
}

func TestProduceLargeBatchSplits(t *testing.T) {
	brokers := testBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := NewProducer(WithBrokers(brokers...))
	require.NoError(t, err)
	defer p.Close(ctx)
	topic := uniqueTopic(t)
	value := make([]byte, 1000)
	recs := make([]*Record, 5000) // ~5 MB: several batches and requests
	for i := range recs {
		recs[i] = &Record{Topic: topic, Partition: 0, Value: value}
	}
	require.NoError(t, p.ProduceSync(ctx, recs...))
	for i, r := range recs {
		require.Equal(t, int64(i), r.Offset)
	}
}

func TestKeyedRecordsUseJavaPartitioner(t *testing.T) {
	// Vectors from the Java client's UtilsTest.testMurmur2; the default
	// partitioner then takes toPositive(murmur2(key)) % n.
	cases := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	}
	for key, want := range cases {
		require.Equal(t, want, murmur2([]byte(key)), key)
		require.Equal(t, (want&0x7fffffff)%7, KeyPartition([]byte(key), 7), key)
	}
}

func TestUnreachableBrokerFailsWithinTimeout(t *testing.T) {
	p, err := NewProducer(WithBrokers("127.0.0.1:1"), WithDialTimeout(time.Second))
	require.NoError(t, err)
	defer p.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err = p.ProduceSync(ctx, &Record{Topic: "t", Partition: 0, Value: []byte("x")})
	require.Error(t, err)
	code := wire.CodeOf(err)
	require.Contains(t, []wire.ErrorCode{wire.ErrNoBrokersAvailable, wire.ErrTimedOut, wire.ErrConnectionFailed}, code, err.Error())
}

func TestClosedProducer(t *testing.T) {
	p, err := NewProducer(WithBrokers("127.0.0.1:1"))
	require.NoError(t, err)
	require.NoError(t, p.Close(context.Background()))
	require.NoError(t, p.Close(context.Background()))
	err = p.ProduceSync(context.Background(), &Record{Topic: "t", Value: []byte("x")})
	require.ErrorIs(t, err, wire.ErrClientClosed)
}
