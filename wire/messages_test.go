package wire

import (
	"encoding/hex"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The golden request bytes below are derived by hand from the JSON specs in
// apache/kafka clients/src/main/resources/common/message (Kafka 4.x), one
// line per field, so that they check the encoders against the spec rather
// than against themselves.

// msgHex decodes annotated hex: whitespace is ignored and "#" starts a
// comment that runs to the end of the line.
func msgHex(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	require.NoError(t, err)
	return b
}

func msgStr(s string) *string { return &s }

type msgRequestCase struct {
	name    string
	req     Request
	version int16
	want    string
}

func msgRequestCases() []msgRequestCase {
	return []msgRequestCase{
		// Metadata
		{"Metadata/v0/all", &MetadataRequest{}, 0, `
			00000000 # Topics: empty array means all topics in v0
		`},
		{"Metadata/v1/all", &MetadataRequest{}, 1, `
			ffffffff # Topics: null
		`},
		{"Metadata/v4", &MetadataRequest{Topics: []MetadataRequestTopic{{Name: "foo"}}, AllowAutoTopicCreation: true}, 4, `
			00000001     # Topics: 1
			0003 666f6f  # Name "foo"
			01           # AllowAutoTopicCreation
		`},
		{"Metadata/v9/all", &MetadataRequest{AllowAutoTopicCreation: true}, 9, `
			00 # Topics: compact null
			01 # AllowAutoTopicCreation
			00 # IncludeClusterAuthorizedOperations (v8-10)
			00 # IncludeTopicAuthorizedOperations
			00 # tagged fields
		`},
		{"Metadata/v12", &MetadataRequest{
			Topics: []MetadataRequestTopic{
				{Name: "foo"},
				{TopicId: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
			},
			IncludeClusterAuthorizedOperations: true, // not sent from v11
			IncludeTopicAuthorizedOperations:   true,
		}, 12, `
			03                                # Topics: compact 2
			00000000000000000000000000000000  #   TopicId
			04 666f6f                         #   Name "foo"
			00                                #   tagged fields
			0102030405060708090a0b0c0d0e0f10  #   TopicId
			00                                #   Name null
			00                                #   tagged fields
			00                                # AllowAutoTopicCreation
			01                                # IncludeTopicAuthorizedOperations
			00                                # tagged fields
		`},

		// Produce
		{"Produce/v3", &ProduceRequest{Acks: -1, TimeoutMs: 30000, TopicData: []ProduceRequestTopic{
			{Name: "t", PartitionData: []ProduceRequestPartition{{Index: 0, Records: []byte("abc")}}},
		}}, 3, `
			ffff              # TransactionalId null
			ffff              # Acks -1
			00007530          # TimeoutMs 30000
			00000001          # TopicData: 1
			0001 74           #   Name "t"
			00000001          #   PartitionData: 1
			00000000          #     Index
			00000003 616263   #     Records
		`},
		{"Produce/v9", &ProduceRequest{TransactionalId: msgStr("tx"), Acks: 1, TimeoutMs: 1000, TopicData: []ProduceRequestTopic{
			{Name: "t", PartitionData: []ProduceRequestPartition{{Index: 2}}},
		}}, 9, `
			03 7478    # TransactionalId "tx"
			0001       # Acks 1
			000003e8   # TimeoutMs 1000
			02         # TopicData: 1
			02 74      #   Name "t"
			02         #   PartitionData: 1
			00000002   #     Index
			00         #     Records null
			00         #     tagged fields
			00         #   tagged fields
			00         # tagged fields
		`},

		// Fetch
		{"Fetch/v4", &FetchRequest{MaxWaitMs: 500, MinBytes: 1, MaxBytes: 1 << 20, IsolationLevel: IsolationReadCommitted,
			Topics: []FetchRequestTopic{{Topic: "t", Partitions: []FetchRequestPartition{
				{Partition: 0, CurrentLeaderEpoch: 9, FetchOffset: 42, LastFetchedEpoch: 9, LogStartOffset: 9, PartitionMaxBytes: 1 << 16},
			}}},
			SessionId: 9, SessionEpoch: 9, RackId: "not sent",
		}, 4, `
			ffffffff          # ReplicaId -1
			000001f4          # MaxWaitMs 500
			00000001          # MinBytes
			00100000          # MaxBytes
			01                # IsolationLevel read_committed
			00000001          # Topics: 1
			0001 74           #   Topic "t"
			00000001          #   Partitions: 1
			00000000          #     Partition
			000000000000002a  #     FetchOffset 42
			00010000          #     PartitionMaxBytes
		`},
		{"Fetch/v12", &FetchRequest{MaxWaitMs: 500, MinBytes: 1, MaxBytes: math.MaxInt32, SessionEpoch: -1,
			Topics: []FetchRequestTopic{{Topic: "t", Partitions: []FetchRequestPartition{
				{Partition: 1, CurrentLeaderEpoch: 5, FetchOffset: 42, LastFetchedEpoch: 4, LogStartOffset: -1, PartitionMaxBytes: 1 << 20},
			}}},
			ForgottenTopicsData: []FetchRequestForgottenTopic{{Topic: "u", Partitions: []int32{3}}},
			RackId:              "r",
		}, 12, `
			ffffffff          # ReplicaId -1
			000001f4          # MaxWaitMs
			00000001          # MinBytes
			7fffffff          # MaxBytes
			00                # IsolationLevel
			00000000          # SessionId
			ffffffff          # SessionEpoch -1
			02                # Topics: 1
			02 74             #   Topic "t"
			02                #   Partitions: 1
			00000001          #     Partition
			00000005          #     CurrentLeaderEpoch
			000000000000002a  #     FetchOffset
			00000004          #     LastFetchedEpoch
			ffffffffffffffff  #     LogStartOffset -1
			00100000          #     PartitionMaxBytes
			00                #     tagged fields
			00                #   tagged fields
			02                # ForgottenTopicsData: 1
			02 75             #   Topic "u"
			02 00000003       #   Partitions [3]
			00                #   tagged fields
			02 72             # RackId "r"
			00                # tagged fields
		`},

		// ListOffsets
		{"ListOffsets/v1", &ListOffsetsRequest{ReplicaId: ReplicaIdConsumer, IsolationLevel: 1, Topics: []ListOffsetsRequestTopic{
			{Name: "t", Partitions: []ListOffsetsRequestPartition{{PartitionIndex: 0, CurrentLeaderEpoch: 3, Timestamp: ListOffsetsEarliest}}},
		}}, 1, `
			ffffffff          # ReplicaId -1
			00000001          # Topics: 1
			0001 74           #   Name "t"
			00000001          #   Partitions: 1
			00000000          #     PartitionIndex
			fffffffffffffffe  #     Timestamp -2 (earliest)
		`},
		{"ListOffsets/v10", &ListOffsetsRequest{ReplicaId: ReplicaIdConsumer, IsolationLevel: 1, TimeoutMs: 5000, Topics: []ListOffsetsRequestTopic{
			{Name: "t", Partitions: []ListOffsetsRequestPartition{{PartitionIndex: 3, CurrentLeaderEpoch: 7, Timestamp: ListOffsetsLatest}}},
		}}, 10, `
			ffffffff          # ReplicaId -1
			01                # IsolationLevel
			02                # Topics: 1
			02 74             #   Name "t"
			02                #   Partitions: 1
			00000003          #     PartitionIndex
			00000007          #     CurrentLeaderEpoch
			ffffffffffffffff  #     Timestamp -1 (latest)
			00                #     tagged fields
			00                #   tagged fields
			00001388          # TimeoutMs 5000
			00                # tagged fields
		`},

		// InitProducerId
		{"InitProducerId/v1", &InitProducerIdRequest{TransactionTimeoutMs: 60000, ProducerId: -1, ProducerEpoch: -1}, 1, `
			ffff      # TransactionalId null
			0000ea60  # TransactionTimeoutMs 60000
		`},
		{"InitProducerId/v4", &InitProducerIdRequest{TransactionalId: msgStr("tx"), TransactionTimeoutMs: 60000, ProducerId: -1, ProducerEpoch: -1}, 4, `
			03 7478           # TransactionalId "tx"
			0000ea60          # TransactionTimeoutMs
			ffffffffffffffff  # ProducerId -1
			ffff              # ProducerEpoch -1
			00                # tagged fields
		`},

		// CreateTopics
		{"CreateTopics/v4", &CreateTopicsRequest{TimeoutMs: 30000, Topics: []CreateTopicsRequestTopic{
			{Name: "t", NumPartitions: 3, ReplicationFactor: -1, Configs: []CreateTopicsRequestConfig{{Name: "a", Value: msgStr("b")}}},
		}}, 4, `
			00000001  # Topics: 1
			0001 74   #   Name "t"
			00000003  #   NumPartitions
			ffff      #   ReplicationFactor -1
			00000000  #   Assignments: 0
			00000001  #   Configs: 1
			0001 61   #     Name "a"
			0001 62   #     Value "b"
			00007530  # TimeoutMs
			00        # ValidateOnly
		`},
		{"CreateTopics/v5", &CreateTopicsRequest{TimeoutMs: 30000, ValidateOnly: true, Topics: []CreateTopicsRequestTopic{
			{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
				Assignments: []CreateTopicsRequestAssignment{{PartitionIndex: 0, BrokerIds: []int32{1, 2}}},
				Configs:     []CreateTopicsRequestConfig{{Name: "a"}}},
		}}, 5, `
			02                    # Topics: 1
			02 74                 #   Name "t"
			ffffffff              #   NumPartitions -1
			ffff                  #   ReplicationFactor -1
			02                    #   Assignments: 1
			00000000              #     PartitionIndex
			03 00000001 00000002  #     BrokerIds [1 2]
			00                    #     tagged fields
			02                    #   Configs: 1
			02 61                 #     Name "a"
			00                    #     Value null
			00                    #     tagged fields
			00                    #   tagged fields
			00007530              # TimeoutMs
			01                    # ValidateOnly
			00                    # tagged fields
		`},

		// DeleteTopics
		{"DeleteTopics/v1", &DeleteTopicsRequest{TopicNames: []string{"a", "bc"}, TimeoutMs: 1000}, 1, `
			00000002   # TopicNames: 2
			0001 61    #   "a"
			0002 6263  #   "bc"
			000003e8   # TimeoutMs
		`},
		{"DeleteTopics/v4", &DeleteTopicsRequest{TopicNames: []string{"a", "bc"}, TimeoutMs: 1000}, 4, `
			03         # TopicNames: 2
			02 61      #   "a"
			03 6263    #   "bc"
			000003e8   # TimeoutMs
			00         # tagged fields
		`},
		{"DeleteTopics/v6", &DeleteTopicsRequest{TopicNames: []string{"a"}, TimeoutMs: 1000}, 6, `
			02                                # Topics: 1
			02 61                             #   Name "a"
			00000000000000000000000000000000  #   TopicId (zero: by name)
			00                                #   tagged fields
			000003e8                          # TimeoutMs
			00                                # tagged fields
		`},

		// CreatePartitions
		{"CreatePartitions/v1", &CreatePartitionsRequest{TimeoutMs: 1000, Topics: []CreatePartitionsRequestTopic{
			{Name: "a", Count: 3},
			{Name: "b", Count: 2, Assignments: []CreatePartitionsRequestAssignment{{BrokerIds: []int32{1}}}},
		}}, 1, `
			00000002           # Topics: 2
			0001 61            #   Name "a"
			00000003           #   Count
			ffffffff           #   Assignments null
			0001 62            #   Name "b"
			00000002           #   Count
			00000001           #   Assignments: 1
			00000001 00000001  #     BrokerIds [1]
			000003e8           # TimeoutMs
			00                 # ValidateOnly
		`},
		{"CreatePartitions/v2", &CreatePartitionsRequest{TimeoutMs: 1000, ValidateOnly: true, Topics: []CreatePartitionsRequestTopic{
			{Name: "a", Count: 3},
		}}, 2, `
			02        # Topics: 1
			02 61     #   Name "a"
			00000003  #   Count
			00        #   Assignments null
			00        #   tagged fields
			000003e8  # TimeoutMs
			01        # ValidateOnly
			00        # tagged fields
		`},

		// DescribeConfigs
		{"DescribeConfigs/v1", &DescribeConfigsRequest{IncludeSynonyms: true, IncludeDocumentation: true, Resources: []DescribeConfigsRequestResource{
			{ResourceType: ConfigResourceTopic, ResourceName: "t"},
		}}, 1, `
			00000001  # Resources: 1
			02        #   ResourceType topic
			0001 74   #   ResourceName "t"
			ffffffff  #   ConfigurationKeys null (all)
			01        # IncludeSynonyms
		`},
		{"DescribeConfigs/v4", &DescribeConfigsRequest{IncludeDocumentation: true, Resources: []DescribeConfigsRequestResource{
			{ResourceType: ConfigResourceBroker, ResourceName: "1", ConfigurationKeys: []string{"a"}},
		}}, 4, `
			02        # Resources: 1
			04        #   ResourceType broker
			02 31     #   ResourceName "1"
			02 02 61  #   ConfigurationKeys ["a"]
			00        #   tagged fields
			00        # IncludeSynonyms
			01        # IncludeDocumentation
			00        # tagged fields
		`},

		// IncrementalAlterConfigs
		{"IncrementalAlterConfigs/v0", &IncrementalAlterConfigsRequest{Resources: []IncrementalAlterConfigsRequestResource{
			{ResourceType: ConfigResourceTopic, ResourceName: "t", Configs: []IncrementalAlterConfigsRequestConfig{{Name: "a", ConfigOperation: ConfigOpSet, Value: msgStr("b")}}},
		}}, 0, `
			00000001  # Resources: 1
			02        #   ResourceType
			0001 74   #   ResourceName "t"
			00000001  #   Configs: 1
			0001 61   #     Name "a"
			00        #     ConfigOperation set
			0001 62   #     Value "b"
			00        # ValidateOnly
		`},
		{"IncrementalAlterConfigs/v1", &IncrementalAlterConfigsRequest{ValidateOnly: true, Resources: []IncrementalAlterConfigsRequestResource{
			{ResourceType: ConfigResourceTopic, ResourceName: "t", Configs: []IncrementalAlterConfigsRequestConfig{{Name: "a", ConfigOperation: ConfigOpDelete}}},
		}}, 1, `
			02     # Resources: 1
			02     #   ResourceType
			02 74  #   ResourceName "t"
			02     #   Configs: 1
			02 61  #     Name "a"
			01     #     ConfigOperation delete
			00     #     Value null
			00     #     tagged fields
			00     #   tagged fields
			01     # ValidateOnly
			00     # tagged fields
		`},

		// DescribeCluster: every version is flexible.
		{"DescribeCluster/v0", &DescribeClusterRequest{IncludeClusterAuthorizedOperations: true}, 0, `
			01  # IncludeClusterAuthorizedOperations
			00  # tagged fields
		`},
		{"DescribeCluster/v2", &DescribeClusterRequest{IncludeFencedBrokers: true}, 2, `
			00  # IncludeClusterAuthorizedOperations
			01  # EndpointType: 0 is sent as 1 (brokers)
			01  # IncludeFencedBrokers
			00  # tagged fields
		`},

		// DeleteRecords
		{"DeleteRecords/v1", &DeleteRecordsRequest{TimeoutMs: 1000, Topics: []DeleteRecordsRequestTopic{
			{Name: "t", Partitions: []DeleteRecordsRequestPartition{{PartitionIndex: 0, Offset: 100}}},
		}}, 1, `
			00000001          # Topics: 1
			0001 74           #   Name "t"
			00000001          #   Partitions: 1
			00000000          #     PartitionIndex
			0000000000000064  #     Offset 100
			000003e8          # TimeoutMs
		`},
		{"DeleteRecords/v2", &DeleteRecordsRequest{TimeoutMs: 1000, Topics: []DeleteRecordsRequestTopic{
			{Name: "t", Partitions: []DeleteRecordsRequestPartition{{PartitionIndex: 0, Offset: 100}}},
		}}, 2, `
			02                # Topics: 1
			02 74             #   Name "t"
			02                #   Partitions: 1
			00000000          #     PartitionIndex
			0000000000000064  #     Offset
			00                #     tagged fields
			00                #   tagged fields
			000003e8          # TimeoutMs
			00                # tagged fields
		`},

		// SaslHandshake: never flexible.
		{"SaslHandshake/v1", &SaslHandshakeRequest{Mechanism: "PLAIN"}, 1, `
			0005 504c41494e  # Mechanism "PLAIN"
		`},

		// SaslAuthenticate
		{"SaslAuthenticate/v0/nil", &SaslAuthenticateRequest{}, 0, `
			00000000  # AuthBytes: empty (BYTES is not nullable)
		`},
		{"SaslAuthenticate/v1", &SaslAuthenticateRequest{AuthBytes: []byte("\x00u\x00p")}, 1, `
			00000004 00750070  # AuthBytes
		`},
		{"SaslAuthenticate/v2", &SaslAuthenticateRequest{AuthBytes: []byte("\x00u\x00p")}, 2, `
			05 00750070  # AuthBytes
			00           # tagged fields
		`},
	}
}

func TestRequestGoldenBytes(t *testing.T) {
	for _, tc := range msgRequestCases() {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := tc.req.Versions()
			require.True(t, tc.version >= lo && tc.version <= hi, "version %d outside %d-%d", tc.version, lo, hi)
			var w Writer
			tc.req.Encode(&w, tc.version)
			assert.Equal(t, hex.EncodeToString(msgHex(t, tc.want)), hex.EncodeToString(w.Bytes()))
		})
	}
}

// msgRequests lists one zero request of each API implemented here.
func msgRequests() []Request {
	return []Request{
		&ProduceRequest{}, &FetchRequest{}, &ListOffsetsRequest{}, &MetadataRequest{},
		&SaslHandshakeRequest{}, &CreateTopicsRequest{}, &DeleteTopicsRequest{}, &DeleteRecordsRequest{},
		&InitProducerIdRequest{}, &DescribeConfigsRequest{}, &SaslAuthenticateRequest{},
		&CreatePartitionsRequest{}, &IncrementalAlterConfigsRequest{}, &DescribeClusterRequest{},
	}
}

func TestRequestVersionRanges(t *testing.T) {
	// The ranges chosen: Kafka 4.0's lowest accepted version up to the
	// newest version that still names topics.
	want := map[int16][3]int16{ // key: min, max, first flexible
		0: {3, 12, 9}, 1: {4, 12, 12}, 2: {1, 11, 6}, 3: {0, 13, 9},
		17: {0, 1, -1}, 19: {2, 7, 5}, 20: {1, 6, 4}, 21: {0, 2, 2},
		22: {0, 5, 2}, 32: {1, 4, 4}, 36: {0, 2, 2}, 37: {0, 3, 2},
		44: {0, 1, 1}, 60: {0, 2, 0},
	}
	for _, req := range msgRequests() {
		name := APIName(req.APIKey())
		lo, hi := req.Versions()
		w, ok := want[req.APIKey()]
		require.True(t, ok, name)
		assert.Equal(t, w, [3]int16{lo, hi, req.FlexibleFrom()}, name)
		assert.NotContains(t, name, "ApiKey(", "APIName knows key %d", req.APIKey())
		for v := lo; v <= hi; v++ {
			// A zero request encodes at every version, and the response
			// type decodes its own empty input as an error, not a panic.
			var w Writer
			req.Encode(&w, v)
			assert.NotEmpty(t, w.Bytes(), "%s v%d", name, v)
			r := NewReader(nil)
			req.NewResponse().Decode(r, v)
			assert.Error(t, r.Err(), "%s v%d", name, v)
		}
	}
}

func TestProduceExpectsResponse(t *testing.T) {
	assert.False(t, (&ProduceRequest{Acks: 0}).ExpectsResponse())
	assert.True(t, (&ProduceRequest{Acks: 1}).ExpectsResponse())
	assert.True(t, (&ProduceRequest{Acks: -1}).ExpectsResponse())
}

// msgTags writes a tagged-field section with the given fields, in order.
func msgTags(w *Writer, fields ...msgTagField) {
	w.Uvarint(uint64(len(fields)))
	for _, f := range fields {
		var inner Writer
		f.write(&inner)
		w.Uvarint(f.tag)
		w.Uvarint(uint64(len(inner.B)))
		w.Raw(inner.B)
	}
}

type msgTagField struct {
	tag   uint64
	write func(w *Writer)
}

type msgResponseCase struct {
	name    string
	req     Request // gives the API key and the response type
	version int16
	build   func(w *Writer)
	want    Response
}

func (c msgResponseCase) bytes() []byte {
	var w Writer
	c.build(&w)
	return w.B
}

func msgResponseCases() []msgResponseCase {
	uuid := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	return []msgResponseCase{
		{"Metadata/v1", &MetadataRequest{}, 1, func(w *Writer) {
			w.Int32(1) // Brokers
			w.Int32(1)
			w.String(false, "b1")
			w.Int32(9092)
			w.NullableString(false, nil) // Rack
			w.Int32(1)                   // ControllerId
			w.Int32(1)                   // Topics
			w.Int16(0)
			w.String(false, "t")
			w.Bool(false) // IsInternal
			w.Int32(1)    // Partitions
			w.Int16(0)
			w.Int32(0)
			w.Int32(1) // LeaderId
			w.Int32Array(false, []int32{1, 2})
			w.Int32Array(false, []int32{1})
		}, &MetadataResponse{
			Brokers:                     []MetadataResponseBroker{{NodeId: 1, Host: "b1", Port: 9092}},
			ControllerId:                1,
			ClusterAuthorizedOperations: math.MinInt32,
			Topics: []MetadataResponseTopic{{Name: "t", TopicAuthorizedOperations: math.MinInt32, Partitions: []MetadataResponsePartition{
				{LeaderId: 1, LeaderEpoch: -1, ReplicaNodes: []int32{1, 2}, IsrNodes: []int32{1}},
			}}},
		}},
		{"Metadata/v13", &MetadataRequest{}, 13, func(w *Writer) {
			w.Int32(10)         // ThrottleTimeMs
			w.ArrayLen(true, 2) // Brokers
			w.Int32(1)
			w.String(true, "b1")
			w.Int32(9092)
			w.NullableString(true, msgStr("rack-a"))
			w.Tags(true)
			w.Int32(2)
			w.String(true, "b2")
			w.Int32(9093)
			w.NullableString(true, nil)
			msgTags(w, msgTagField{7, func(w *Writer) { w.Int32(5) }}) // unknown tag, skipped
			w.NullableString(true, msgStr("cluster"))
			w.Int32(2)          // ControllerId
			w.ArrayLen(true, 2) // Topics
			w.Int16(0)
			w.String(true, "t")
			w.UUID(uuid)
			w.Bool(true)        // IsInternal
			w.ArrayLen(true, 1) // Partitions
			w.Int16(0)
			w.Int32(3)  // PartitionIndex
			w.Int32(2)  // LeaderId
			w.Int32(17) // LeaderEpoch
			w.Int32Array(true, []int32{2, 1})
			w.Int32Array(true, []int32{2})
			w.Int32Array(true, []int32{1})
			w.Tags(true)
			w.Int32(0x1f) // TopicAuthorizedOperations
			w.Tags(true)
			w.Int16(3)                  // UNKNOWN_TOPIC_OR_PARTITION
			w.NullableString(true, nil) // Name null: asked by id
			w.UUID([16]byte{})
			w.Bool(false)
			w.ArrayLen(true, 0)
			w.Int32(math.MinInt32)
			w.Tags(true)
			w.Int16(0) // ErrorCode
			w.Tags(true)
		}, &MetadataResponse{
			ThrottleTimeMs: 10,
			Brokers: []MetadataResponseBroker{
				{NodeId: 1, Host: "b1", Port: 9092, Rack: msgStr("rack-a")},
				{NodeId: 2, Host: "b2", Port: 9093},
			},
			ClusterId:                   msgStr("cluster"),
			ControllerId:                2,
			ClusterAuthorizedOperations: math.MinInt32,
			Topics: []MetadataResponseTopic{
				{Name: "t", TopicId: uuid, IsInternal: true, TopicAuthorizedOperations: 0x1f, Partitions: []MetadataResponsePartition{
					{PartitionIndex: 3, LeaderId: 2, LeaderEpoch: 17, ReplicaNodes: []int32{2, 1}, IsrNodes: []int32{2}, OfflineReplicas: []int32{1}},
				}},
				{ErrorCode: 3, TopicAuthorizedOperations: math.MinInt32},
			},
		}},

		{"Produce/v8", &ProduceRequest{}, 8, func(w *Writer) {
			w.Int32(1) // Responses
			w.String(false, "t")
			w.Int32(2) // PartitionResponses
			w.Int32(0)
			w.Int16(0)
			w.Int64(100) // BaseOffset
			w.Int64(-1)  // LogAppendTimeMs
			w.Int64(5)   // LogStartOffset
			w.Int32(0)   // RecordErrors
			w.NullableString(false, nil)
			w.Int32(1)
			w.Int16(87) // INVALID_RECORD
			w.Int64(-1)
			w.Int64(-1)
			w.Int64(-1)
			w.Int32(1) // RecordErrors
			w.Int32(4)
			w.NullableString(false, msgStr("bad key"))
			w.NullableString(false, msgStr("batch dropped"))
			w.Int32(7) // ThrottleTimeMs
		}, &ProduceResponse{
			Responses: []ProduceResponseTopic{{Name: "t", PartitionResponses: []ProduceResponsePartition{
				{Index: 0, BaseOffset: 100, LogAppendTimeMs: -1, LogStartOffset: 5, CurrentLeader: ProduceResponseCurrentLeader{-1, -1}},
				{Index: 1, ErrorCode: 87, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: -1,
					RecordErrors: []ProduceResponseRecordError{{BatchIndex: 4, BatchIndexErrorMessage: msgStr("bad key")}},
					ErrorMessage: msgStr("batch dropped"), CurrentLeader: ProduceResponseCurrentLeader{-1, -1}},
			}}},
			ThrottleTimeMs: 7,
		}},
		{"Produce/v10", &ProduceRequest{}, 10, func(w *Writer) {
			w.ArrayLen(true, 1) // Responses
			w.String(true, "t")
			w.ArrayLen(true, 1) // PartitionResponses
			w.Int32(0)
			w.Int16(6) // NOT_LEADER_OR_FOLLOWER
			w.Int64(-1)
			w.Int64(-1)
			w.Int64(-1)
			w.ArrayLen(true, 0) // RecordErrors
			w.NullableString(true, nil)
			msgTags(w, msgTagField{0, func(w *Writer) { // CurrentLeader
				w.Int32(3)
				w.Int32(12)
				w.Tags(true)
			}})
			w.Tags(true)
			w.Int32(0)                                  // ThrottleTimeMs
			msgTags(w, msgTagField{0, func(w *Writer) { // NodeEndpoints
				w.ArrayLen(true, 1)
				w.Int32(3)
				w.String(true, "b3")
				w.Int32(9094)
				w.NullableString(true, nil)
				w.Tags(true)
			}}, msgTagField{99, func(w *Writer) { w.Raw([]byte("future")) }})
		}, &ProduceResponse{
			Responses: []ProduceResponseTopic{{Name: "t", PartitionResponses: []ProduceResponsePartition{
				{ErrorCode: 6, BaseOffset: -1, LogAppendTimeMs: -1, LogStartOffset: -1, CurrentLeader: ProduceResponseCurrentLeader{LeaderId: 3, LeaderEpoch: 12}},
			}}},
			NodeEndpoints: []ProduceResponseNodeEndpoint{{NodeId: 3, Host: "b3", Port: 9094}},
		}},

		{"Fetch/v4", &FetchRequest{}, 4, func(w *Writer) {
			w.Int32(0) // ThrottleTimeMs
			w.Int32(1) // Responses
			w.String(false, "t")
			w.Int32(1) // Partitions
			w.Int32(0)
			w.Int16(0)
			w.Int64(50) // HighWatermark
			w.Int64(40) // LastStableOffset
			w.Int32(1)  // AbortedTransactions
			w.Int64(1000)
			w.Int64(30)
			w.BytesField(false, []byte{1, 2, 3})
		}, &FetchResponse{
			Responses: []FetchResponseTopic{{Topic: "t", Partitions: []FetchResponsePartition{{
				HighWatermark: 50, LastStableOffset: 40, LogStartOffset: -1, PreferredReadReplica: -1,
				DivergingEpoch:      FetchResponseDivergingEpoch{-1, -1},
				CurrentLeader:       FetchResponseCurrentLeader{-1, -1},
				AbortedTransactions: []FetchResponseAbortedTransaction{{ProducerId: 1000, FirstOffset: 30}},
				Records:             []byte{1, 2, 3},
			}}}},
		}},
		{"Fetch/v12", &FetchRequest{}, 12, func(w *Writer) {
			w.Int32(5)          // ThrottleTimeMs
			w.Int16(0)          // ErrorCode
			w.Int32(77)         // SessionId
			w.ArrayLen(true, 1) // Responses
			w.String(true, "t")
			w.ArrayLen(true, 2) // Partitions
			w.Int32(0)
			w.Int16(0)
			w.Int64(50)
			w.Int64(50)
			w.Int64(0)           // LogStartOffset
			w.ArrayLen(true, -1) // AbortedTransactions null
			w.Int32(2)           // PreferredReadReplica
			w.BytesField(true, []byte{9})
			msgTags(w)
			w.Int32(1)
			w.Int16(74) // FENCED_LEADER_EPOCH
			w.Int64(-1)
			w.Int64(-1)
			w.Int64(-1)
			w.ArrayLen(true, 0)
			w.Int32(-1)
			w.BytesField(true, nil)
			msgTags(w, msgTagField{0, func(w *Writer) { // DivergingEpoch
				w.Int32(4)
				w.Int64(44)
				w.Tags(true)
			}}, msgTagField{1, func(w *Writer) { // CurrentLeader
				w.Int32(2)
				w.Int32(5)
				w.Tags(true)
			}}, msgTagField{2, func(w *Writer) { // SnapshotId: skipped
				w.Int64(1)
				w.Int32(1)
				w.Tags(true)
			}})
			w.Tags(true)
			w.Tags(true)
		}, &FetchResponse{
			ThrottleTimeMs: 5, SessionId: 77,
			Responses: []FetchResponseTopic{{Topic: "t", Partitions: []FetchResponsePartition{
				{HighWatermark: 50, LastStableOffset: 50, LogStartOffset: 0, PreferredReadReplica: 2,
					DivergingEpoch: FetchResponseDivergingEpoch{-1, -1}, CurrentLeader: FetchResponseCurrentLeader{-1, -1},
					Records: []byte{9}},
				{PartitionIndex: 1, ErrorCode: 74, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1, PreferredReadReplica: -1,
					DivergingEpoch: FetchResponseDivergingEpoch{Epoch: 4, EndOffset: 44},
					CurrentLeader:  FetchResponseCurrentLeader{LeaderId: 2, LeaderEpoch: 5}},
			}}},
		}},

		{"ListOffsets/v1", &ListOffsetsRequest{}, 1, func(w *Writer) {
			w.Int32(1)
			w.String(false, "t")
			w.Int32(1)
			w.Int32(0)
			w.Int16(0)
			w.Int64(-1) // Timestamp
			w.Int64(42) // Offset
		}, &ListOffsetsResponse{Topics: []ListOffsetsResponseTopic{{Name: "t", Partitions: []ListOffsetsResponsePartition{
			{Timestamp: -1, Offset: 42, LeaderEpoch: -1},
		}}}}},
		{"ListOffsets/v6", &ListOffsetsRequest{}, 6, func(w *Writer) {
			w.Int32(3) // ThrottleTimeMs
			w.ArrayLen(true, 1)
			w.String(true, "t")
			w.ArrayLen(true, 1)
			w.Int32(2)
			w.Int16(0)
			w.Int64(1700000000000)
			w.Int64(42)
			w.Int32(8) // LeaderEpoch
			w.Tags(true)
			w.Tags(true)
			w.Tags(true)
		}, &ListOffsetsResponse{ThrottleTimeMs: 3, Topics: []ListOffsetsResponseTopic{{Name: "t", Partitions: []ListOffsetsResponsePartition{
			{PartitionIndex: 2, Timestamp: 1700000000000, Offset: 42, LeaderEpoch: 8},
		}}}}},

		{"InitProducerId/v0", &InitProducerIdRequest{}, 0, func(w *Writer) {
			w.Int32(0)
			w.Int16(0)
			w.Int64(4000)
			w.Int16(0)
		}, &InitProducerIdResponse{ProducerId: 4000}},
		{"InitProducerId/v5", &InitProducerIdRequest{}, 5, func(w *Writer) {
			w.Int32(1)
			w.Int16(0)
			w.Int64(4000)
			w.Int16(3)
			w.Tags(true)
		}, &InitProducerIdResponse{ThrottleTimeMs: 1, ProducerId: 4000, ProducerEpoch: 3}},

		{"CreateTopics/v4", &CreateTopicsRequest{}, 4, func(w *Writer) {
			w.Int32(0)
			w.Int32(1)
			w.String(false, "t")
			w.Int16(36) // TOPIC_ALREADY_EXISTS
			w.NullableString(false, msgStr("exists"))
		}, &CreateTopicsResponse{Topics: []CreateTopicsResponseTopic{
			{Name: "t", ErrorCode: 36, ErrorMessage: msgStr("exists"), NumPartitions: -1, ReplicationFactor: -1},
		}}},
		{"CreateTopics/v7", &CreateTopicsRequest{}, 7, func(w *Writer) {
			w.Int32(0)
			w.ArrayLen(true, 1)
			w.String(true, "t")
			w.UUID(uuid)
			w.Int16(0)
			w.NullableString(true, nil)
			w.Int32(3) // NumPartitions
			w.Int16(1) // ReplicationFactor
			w.ArrayLen(true, 1)
			w.String(true, "cleanup.policy")
			w.NullableString(true, msgStr("delete"))
			w.Bool(false)
			w.Int8(ConfigSourceDefaultConfig)
			w.Bool(false)
			w.Tags(true)
			msgTags(w, msgTagField{0, func(w *Writer) { w.Int16(29) }}) // TopicConfigErrorCode
			w.Tags(true)
		}, &CreateTopicsResponse{Topics: []CreateTopicsResponseTopic{{
			Name: "t", TopicId: uuid, NumPartitions: 3, ReplicationFactor: 1, TopicConfigErrorCode: 29,
			Configs: []CreateTopicsResponseConfig{{Name: "cleanup.policy", Value: msgStr("delete"), ConfigSource: ConfigSourceDefaultConfig}},
		}}}},

		{"DeleteTopics/v3", &DeleteTopicsRequest{}, 3, func(w *Writer) {
			w.Int32(0)
			w.Int32(1)
			w.String(false, "t")
			w.Int16(3)
		}, &DeleteTopicsResponse{Responses: []DeleteTopicsResponseTopic{{Name: "t", ErrorCode: 3}}}},
		{"DeleteTopics/v6", &DeleteTopicsRequest{}, 6, func(w *Writer) {
			w.Int32(2)
			w.ArrayLen(true, 1)
			w.String(true, "t")
			w.UUID(uuid)
			w.Int16(0)
			w.NullableString(true, nil)
			w.Tags(true)
			w.Tags(true)
		}, &DeleteTopicsResponse{ThrottleTimeMs: 2, Responses: []DeleteTopicsResponseTopic{{Name: "t", TopicId: uuid}}}},

		{"CreatePartitions/v1", &CreatePartitionsRequest{}, 1, func(w *Writer) {
			w.Int32(0)
			w.Int32(1)
			w.String(false, "t")
			w.Int16(37) // INVALID_PARTITIONS
			w.NullableString(false, msgStr("fewer"))
		}, &CreatePartitionsResponse{Results: []CreatePartitionsResponseResult{{Name: "t", ErrorCode: 37, ErrorMessage: msgStr("fewer")}}}},
		{"CreatePartitions/v3", &CreatePartitionsRequest{}, 3, func(w *Writer) {
			w.Int32(0)
			w.ArrayLen(true, 1)
			w.String(true, "t")
			w.Int16(0)
			w.NullableString(true, nil)
			w.Tags(true)
			w.Tags(true)
		}, &CreatePartitionsResponse{Results: []CreatePartitionsResponseResult{{Name: "t"}}}},

		{"DescribeConfigs/v1", &DescribeConfigsRequest{}, 1, func(w *Writer) {
			w.Int32(0)
			w.Int32(1) // Results
			w.Int16(0)
			w.NullableString(false, nil)
			w.Int8(ConfigResourceTopic)
			w.String(false, "t")
			w.Int32(1) // Configs
			w.String(false, "retention.ms")
			w.NullableString(false, msgStr("1000"))
			w.Bool(false)
			w.Int8(ConfigSourceTopicConfig)
			w.Bool(false)
			w.Int32(2) // Synonyms
			w.String(false, "retention.ms")
			w.NullableString(false, msgStr("1000"))
			w.Int8(ConfigSourceTopicConfig)
			w.String(false, "log.retention.ms")
			w.NullableString(false, nil)
			w.Int8(ConfigSourceDefaultConfig)
		}, &DescribeConfigsResponse{Results: []DescribeConfigsResponseResult{{
			ResourceType: ConfigResourceTopic, ResourceName: "t",
			Configs: []DescribeConfigsResponseConfig{{Name: "retention.ms", Value: msgStr("1000"), ConfigSource: ConfigSourceTopicConfig,
				Synonyms: []DescribeConfigsResponseSynonym{
					{Name: "retention.ms", Value: msgStr("1000"), Source: ConfigSourceTopicConfig},
					{Name: "log.retention.ms", Source: ConfigSourceDefaultConfig},
				}}},
		}}}},
		{"DescribeConfigs/v4", &DescribeConfigsRequest{}, 4, func(w *Writer) {
			w.Int32(1)
			w.ArrayLen(true, 1)
			w.Int16(0)
			w.NullableString(true, nil)
			w.Int8(ConfigResourceBroker)
			w.String(true, "1")
			w.ArrayLen(true, 1)
			w.String(true, "sasl.jaas.config")
			w.NullableString(true, nil)
			w.Bool(false)
			w.Int8(ConfigSourceStaticBrokerConfig)
			w.Bool(true) // IsSensitive
			w.ArrayLen(true, 0)
			w.Int8(9) // ConfigType PASSWORD
			w.NullableString(true, msgStr("JAAS"))
			w.Tags(true)
			w.Tags(true)
			w.Tags(true)
		}, &DescribeConfigsResponse{ThrottleTimeMs: 1, Results: []DescribeConfigsResponseResult{{
			ResourceType: ConfigResourceBroker, ResourceName: "1",
			Configs: []DescribeConfigsResponseConfig{{Name: "sasl.jaas.config", ConfigSource: ConfigSourceStaticBrokerConfig,
				IsSensitive: true, ConfigType: 9, Documentation: msgStr("JAAS")}},
		}}}},

		{"IncrementalAlterConfigs/v0", &IncrementalAlterConfigsRequest{}, 0, func(w *Writer) {
			w.Int32(0)
			w.Int32(1)
			w.Int16(40) // INVALID_CONFIG
			w.NullableString(false, msgStr("no"))
			w.Int8(ConfigResourceTopic)
			w.String(false, "t")
		}, &IncrementalAlterConfigsResponse{Responses: []IncrementalAlterConfigsResponseResource{
			{ErrorCode: 40, ErrorMessage: msgStr("no"), ResourceType: ConfigResourceTopic, ResourceName: "t"},
		}}},
		{"IncrementalAlterConfigs/v1", &IncrementalAlterConfigsRequest{}, 1, func(w *Writer) {
			w.Int32(0)
			w.ArrayLen(true, 1)
			w.Int16(0)
			w.NullableString(true, nil)
			w.Int8(ConfigResourceBroker)
			w.String(true, "")
			w.Tags(true)
			w.Tags(true)
		}, &IncrementalAlterConfigsResponse{Responses: []IncrementalAlterConfigsResponseResource{
			{ResourceType: ConfigResourceBroker},
		}}},

		{"DescribeCluster/v0", &DescribeClusterRequest{}, 0, func(w *Writer) {
			w.Int32(0)
			w.Int16(0)
			w.NullableString(true, nil)
			w.String(true, "cid")
			w.Int32(1)
			w.ArrayLen(true, 1)
			w.Int32(1)
			w.String(true, "b1")
			w.Int32(9092)
			w.NullableString(true, nil)
			w.Tags(true)
			w.Int32(math.MinInt32)
			w.Tags(true)
		}, &DescribeClusterResponse{EndpointType: EndpointTypeBroker, ClusterId: "cid", ControllerId: 1,
			Brokers:                     []DescribeClusterResponseBroker{{BrokerId: 1, Host: "b1", Port: 9092}},
			ClusterAuthorizedOperations: math.MinInt32}},
		{"DescribeCluster/v2", &DescribeClusterRequest{}, 2, func(w *Writer) {
			w.Int32(0)
			w.Int16(0)
			w.NullableString(true, nil)
			w.Int8(EndpointTypeBroker)
			w.String(true, "cid")
			w.Int32(1)
			w.ArrayLen(true, 2)
			w.Int32(1)
			w.String(true, "b1")
			w.Int32(9092)
			w.NullableString(true, msgStr("r1"))
			w.Bool(false)
			w.Tags(true)
			w.Int32(2)
			w.String(true, "b2")
			w.Int32(9092)
			w.NullableString(true, nil)
			w.Bool(true) // IsFenced
			w.Tags(true)
			w.Int32(0xff)
			w.Tags(true)
		}, &DescribeClusterResponse{EndpointType: EndpointTypeBroker, ClusterId: "cid", ControllerId: 1,
			Brokers: []DescribeClusterResponseBroker{
				{BrokerId: 1, Host: "b1", Port: 9092, Rack: msgStr("r1")},
				{BrokerId: 2, Host: "b2", Port: 9092, IsFenced: true},
			},
			ClusterAuthorizedOperations: 0xff}},

		{"DeleteRecords/v0", &DeleteRecordsRequest{}, 0, func(w *Writer) {
			w.Int32(0)
			w.Int32(1)
			w.String(false, "t")
			w.Int32(1)
			w.Int32(0)
			w.Int64(100)
			w.Int16(0)
		}, &DeleteRecordsResponse{Topics: []DeleteRecordsResponseTopic{{Name: "t", Partitions: []DeleteRecordsResponsePartition{{LowWatermark: 100}}}}}},
		{"DeleteRecords/v2", &DeleteRecordsRequest{}, 2, func(w *Writer) {
			w.Int32(0)
			w.ArrayLen(true, 1)
			w.String(true, "t")
			w.ArrayLen(true, 1)
			w.Int32(1)
			w.Int64(-1)
			w.Int16(1) // OFFSET_OUT_OF_RANGE
			w.Tags(true)
			w.Tags(true)
			w.Tags(true)
		}, &DeleteRecordsResponse{Topics: []DeleteRecordsResponseTopic{{Name: "t", Partitions: []DeleteRecordsResponsePartition{
			{PartitionIndex: 1, LowWatermark: -1, ErrorCode: 1},
		}}}}},

		{"SaslHandshake/v1", &SaslHandshakeRequest{}, 1, func(w *Writer) {
			w.Int16(33) // UNSUPPORTED_SASL_MECHANISM
			w.StringArray(false, []string{"PLAIN", "SCRAM-SHA-512"})
		}, &SaslHandshakeResponse{ErrorCode: 33, Mechanisms: []string{"PLAIN", "SCRAM-SHA-512"}}},
		{"SaslAuthenticate/v1", &SaslAuthenticateRequest{}, 1, func(w *Writer) {
			w.Int16(0)
			w.NullableString(false, nil)
			w.BytesField(false, []byte("server-final"))
			w.Int64(3600000)
		}, &SaslAuthenticateResponse{AuthBytes: []byte("server-final"), SessionLifetimeMs: 3600000}},
		{"SaslAuthenticate/v2", &SaslAuthenticateRequest{}, 2, func(w *Writer) {
			w.Int16(58) // SASL_AUTHENTICATION_FAILED
			w.NullableString(true, msgStr("bad password"))
			w.BytesField(true, []byte{})
			w.Int64(0)
			w.Tags(true)
		}, &SaslAuthenticateResponse{ErrorCode: 58, ErrorMessage: msgStr("bad password"), AuthBytes: []byte{}}},
	}
}

func TestResponseDecode(t *testing.T) {
	covered := map[int16]bool{}
	for _, tc := range msgResponseCases() {
		t.Run(tc.name, func(t *testing.T) {
			covered[tc.req.APIKey()] = true
			data := tc.bytes()
			got := tc.req.NewResponse()
			r := NewReader(data)
			got.Decode(r, tc.version)
			require.NoError(t, r.Err())
			assert.Zero(t, r.Remaining(), "trailing bytes")
			assert.Equal(t, tc.want, got)

			// Decoding into a used response gives the same result.
			r = NewReader(data)
			got.Decode(r, tc.version)
			require.NoError(t, r.Err())
			assert.Equal(t, tc.want, got)

			// Every field is required, so each strict prefix fails cleanly.
			for n := range len(data) {
				r := NewReader(data[:n])
				tc.req.NewResponse().Decode(r, tc.version)
				require.Error(t, r.Err(), "prefix of %d/%d bytes decoded", n, len(data))
			}
		})
	}
	for _, req := range msgRequests() {
		assert.True(t, covered[req.APIKey()], "no response test for %s", APIName(req.APIKey()))
	}
}

func TestResponseDecodeRejectsHugeArrays(t *testing.T) {
	// A Metadata v1 response claiming 2^31-1 brokers in a 10-byte body must
	// fail on the length, before allocating.
	var w Writer
	w.Int32(math.MaxInt32)
	w.Raw(make([]byte, 6))
	var resp MetadataResponse
	r := NewReader(w.B)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp.Decode(r, 1)
	runtime.ReadMemStats(&after)
	require.Error(t, r.Err())
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "bytes allocated")

	// The same for a compact array (Fetch v12 partitions) and a nested one.
	w = Writer{}
	w.Int32(0)
	w.Int16(0)
	w.Int32(0)
	w.ArrayLen(true, 1)
	w.String(true, "t")
	w.Uvarint(1 << 40)
	r = NewReader(w.B)
	(&FetchResponse{}).Decode(r, 12)
	require.Error(t, r.Err())
}

func TestResponseDecodeBadTaggedField(t *testing.T) {
	// A CurrentLeader tagged field too short for its two int32s fails the
	// whole decode.
	var w Writer
	w.ArrayLen(true, 1)
	w.String(true, "t")
	w.ArrayLen(true, 1)
	w.Int32(0)
	w.Int16(6)
	w.Int64(-1)
	w.Int64(-1)
	w.Int64(-1)
	w.ArrayLen(true, 0)
	w.NullableString(true, nil)
	msgTags(&w, msgTagField{0, func(w *Writer) { w.Int32(3) }})
	w.Tags(true)
	w.Int32(0)
	w.Tags(true)
	r := NewReader(w.B)
	(&ProduceResponse{}).Decode(r, 10)
	assert.ErrorIs(t, r.Err(), ErrShortBuffer)
}

func TestMetadataFramingRoundTrip(t *testing.T) {
	req := &MetadataRequest{Topics: []MetadataRequestTopic{{Name: "foo"}}, AllowAutoTopicCreation: true}
	frame, err := AppendRequest(nil, req, 12, 7, "gofka")
	require.NoError(t, err)
	want := msgHex(t, `
		00000029                          # size: 41
		0003                              # api key 3
		000c                              # version 12
		00000007                          # correlation id
		0005 676f666b61                   # client id "gofka" (always a non-compact string)
		00                                # header tagged fields (header v2)
		02                                # Topics: 1
		00000000000000000000000000000000  #   TopicId
		04 666f6f                         #   Name "foo"
		00                                #   tagged fields
		01                                # AllowAutoTopicCreation
		00                                # IncludeTopicAuthorizedOperations
		00                                # tagged fields
	`)
	require.Equal(t, hex.EncodeToString(want), hex.EncodeToString(frame))

	// The reply: correlation id, header tagged fields (header v1), body.
	var w Writer
	w.Int32(7)
	w.Tags(true)
	w.Int32(0)
	w.ArrayLen(true, 1)
	w.Int32(1)
	w.String(true, "localhost")
	w.Int32(9092)
	w.NullableString(true, nil)
	w.Tags(true)
	w.NullableString(true, msgStr("c1"))
	w.Int32(1)
	w.ArrayLen(true, 1)
	w.Int16(0)
	w.String(true, "foo")
	w.UUID([16]byte{9})
	w.Bool(false)
	w.ArrayLen(true, 1)
	w.Int16(0)
	w.Int32(0)
	w.Int32(1)
	w.Int32(0)
	w.Int32Array(true, []int32{1})
	w.Int32Array(true, []int32{1})
	w.Int32Array(true, nil)
	w.Tags(true)
	w.Int32(math.MinInt32)
	w.Tags(true)
	w.Tags(true)

	corr, err := ResponseCorrelationID(w.B)
	require.NoError(t, err)
	assert.Equal(t, int32(7), corr)
	resp := req.NewResponse()
	require.NoError(t, DecodeResponse(w.B, req, 12, resp))
	md := resp.(*MetadataResponse)
	assert.Equal(t, []MetadataResponseBroker{{NodeId: 1, Host: "localhost", Port: 9092}}, md.Brokers)
	assert.Equal(t, "c1", *md.ClusterId)
	require.Len(t, md.Topics, 1)
	assert.Equal(t, "foo", md.Topics[0].Name)
	assert.Equal(t, [16]byte{9}, md.Topics[0].TopicId)
	assert.Equal(t, []MetadataResponsePartition{{LeaderId: 1, ReplicaNodes: []int32{1}, IsrNodes: []int32{1}}}, md.Topics[0].Partitions)

	// A truncated frame reports which API failed.
	err = DecodeResponse(w.B[:len(w.B)-3], req, 12, req.NewResponse())
	require.ErrorIs(t, err, ErrShortBuffer)
	assert.Contains(t, err.Error(), "Metadata v12")
}

// A string longer than an int16 length can say is an error, never a
// wrapped length (issue 19 item 10: a 40,000-byte client id became a
// malformed header), in classic and compact encodings and in the header.
func TestWriterRefusesOverlongStrings(t *testing.T) {
	long := strings.Repeat("x", MaxStringLength+1)
	for _, flexible := range []bool{false, true} {
		var w Writer
		w.String(flexible, strings.Repeat("y", MaxStringLength)) // the limit itself is fine
		require.NoError(t, w.Err())
		w.String(flexible, long)
		require.Equal(t, ErrInvalidArgument, CodeOf(w.Err()))
		w.NullableString(flexible, &long)
		require.Equal(t, ErrInvalidArgument, CodeOf(w.Err()))
	}
	frame, err := AppendRequest([]byte("keep"), &MetadataRequest{}, 12, 1, long)
	require.Equal(t, ErrInvalidArgument, CodeOf(err), "%v", err)
	require.Equal(t, "keep", string(frame), "nothing of the request is left in dst")
	_, err = AppendRequest(nil, &MetadataRequest{Topics: []MetadataRequestTopic{{Name: long}}}, 12, 1, "ok")
	require.Equal(t, ErrInvalidArgument, CodeOf(err), "%v", err)
	_, err = AppendRequest(nil, &MetadataRequest{Topics: []MetadataRequestTopic{{Name: long}}}, 4, 1, "ok")
	require.Equal(t, ErrInvalidArgument, CodeOf(err), "%v", err)
}
