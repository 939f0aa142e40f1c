package wire

import (
	"math"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gsp(s string) *string { return &s }

var groupTestTopicID = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// groupRequestGoldens are requests with their encodings derived by hand from
// the Kafka JSON specs: one non-flexible version (where the API has one) and
// one flexible version per API, plus the version-bridging cases.
var groupRequestGoldens = []struct {
	name string
	req  Request
	v    int16
	want []byte
}{
	{"FindCoordinator/v2", &FindCoordinatorRequest{Key: "g1", KeyType: FindCoordinatorKeyTypeGroup}, 2, []byte{
		0, 2, 'g', '1', // Key
		0, // KeyType
	}},
	{"FindCoordinator/v4", &FindCoordinatorRequest{KeyType: FindCoordinatorKeyTypeTransaction, CoordinatorKeys: []string{"a", "b"}}, 4, []byte{
		1,                 // KeyType
		3, 2, 'a', 2, 'b', // CoordinatorKeys: compact array of 2
		0, // tags
	}},
	{"FindCoordinator/v4 from Key", &FindCoordinatorRequest{Key: "g1"}, 4, []byte{
		0,              // KeyType
		2, 3, 'g', '1', // CoordinatorKeys ["g1"]
		0,
	}},
	{"FindCoordinator/v3 from CoordinatorKeys", &FindCoordinatorRequest{CoordinatorKeys: []string{"g1"}}, 3, []byte{
		3, 'g', '1', // Key, compact
		0, // KeyType
		0, // tags
	}},
	{"JoinGroup/v5", &JoinGroupRequest{
		GroupId: "g", SessionTimeoutMs: 10000, RebalanceTimeoutMs: 30000, ProtocolType: "consumer",
		Protocols: []JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 1}}},
	}, 5, []byte{
		0, 1, 'g', // GroupId
		0, 0, 0x27, 0x10, // SessionTimeoutMs 10000
		0, 0, 0x75, 0x30, // RebalanceTimeoutMs 30000
		0, 0, // MemberId ""
		0xff, 0xff, // GroupInstanceId null
		0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', // ProtocolType
		0, 0, 0, 1, // Protocols: 1
		0, 5, 'r', 'a', 'n', 'g', 'e', // Name
		0, 0, 0, 2, 0, 1, // Metadata
	}},
	{"JoinGroup/v8", &JoinGroupRequest{
		GroupId: "g", SessionTimeoutMs: 10000, RebalanceTimeoutMs: 30000, MemberId: "m", GroupInstanceId: gsp("i"),
		ProtocolType: "consumer", Protocols: []JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 1}}}, Reason: gsp("r"),
	}, 8, []byte{
		2, 'g',
		0, 0, 0x27, 0x10,
		0, 0, 0x75, 0x30,
		2, 'm', // MemberId
		2, 'i', // GroupInstanceId
		9, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',
		2,                          // Protocols: 1
		6, 'r', 'a', 'n', 'g', 'e', // Name
		3, 0, 1, // Metadata
		0,      // protocol tags
		2, 'r', // Reason
		0, // tags
	}},
	{"SyncGroup/v3", &SyncGroupRequest{
		GroupId: "g", GenerationId: 1, MemberId: "m",
		Assignments: []SyncGroupRequestAssignment{{MemberId: "m", Assignment: []byte{0, 0}}},
	}, 3, []byte{
		0, 1, 'g',
		0, 0, 0, 1, // GenerationId
		0, 1, 'm',
		0xff, 0xff, // GroupInstanceId null
		0, 0, 0, 1, // Assignments: 1
		0, 1, 'm',
		0, 0, 0, 2, 0, 0,
	}},
	{"SyncGroup/v5", &SyncGroupRequest{
		GroupId: "g", GenerationId: 1, MemberId: "m", ProtocolType: gsp("consumer"), ProtocolName: gsp("range"),
		Assignments: []SyncGroupRequestAssignment{{MemberId: "m"}},
	}, 5, []byte{
		2, 'g',
		0, 0, 0, 1,
		2, 'm',
		0, // GroupInstanceId null
		9, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',
		6, 'r', 'a', 'n', 'g', 'e',
		2, // Assignments: 1
		2, 'm',
		1, // nil Assignment goes out empty (BYTES is not nullable)
		0, // assignment tags
		0,
	}},
	{"Heartbeat/v3", &HeartbeatRequest{GroupId: "g", GenerationId: 2, MemberId: "m", GroupInstanceId: gsp("i")}, 3, []byte{
		0, 1, 'g', 0, 0, 0, 2, 0, 1, 'm', 0, 1, 'i',
	}},
	{"Heartbeat/v4", &HeartbeatRequest{GroupId: "g", GenerationId: 2, MemberId: "m"}, 4, []byte{
		2, 'g', 0, 0, 0, 2, 2, 'm', 0, 0,
	}},
	{"LeaveGroup/v2", &LeaveGroupRequest{GroupId: "g", MemberId: "m"}, 2, []byte{
		0, 1, 'g', 0, 1, 'm',
	}},
	{"LeaveGroup/v3 from MemberId", &LeaveGroupRequest{GroupId: "g", MemberId: "m"}, 3, []byte{
		0, 1, 'g',
		0, 0, 0, 1, // Members: 1
		0, 1, 'm',
		0xff, 0xff,
	}},
	{"LeaveGroup/v2 from Members", &LeaveGroupRequest{GroupId: "g", Members: []LeaveGroupRequestMember{{MemberId: "m"}}}, 2, []byte{
		0, 1, 'g', 0, 1, 'm',
	}},
	{"LeaveGroup/v5", &LeaveGroupRequest{GroupId: "g", Members: []LeaveGroupRequestMember{{MemberId: "m", Reason: gsp("r")}}}, 5, []byte{
		2, 'g',
		2,      // Members: 1
		2, 'm', // MemberId
		0,      // GroupInstanceId null
		2, 'r', // Reason
		0, // member tags
		0,
	}},
	{"OffsetCommit/v2", &OffsetCommitRequest{
		GroupId: "g", GenerationIdOrMemberEpoch: 1, MemberId: "m",
		Topics: []OffsetCommitRequestTopic{{Name: "t", Partitions: []OffsetCommitRequestPartition{{CommittedOffset: 10, CommittedLeaderEpoch: 7}}}},
	}, 2, []byte{
		0, 1, 'g',
		0, 0, 0, 1,
		0, 1, 'm',
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // RetentionTimeMs: 0 goes out as -1
		0, 0, 0, 1, // Topics: 1
		0, 1, 't',
		0, 0, 0, 1, // Partitions: 1
		0, 0, 0, 0, // PartitionIndex
		0, 0, 0, 0, 0, 0, 0, 10, // CommittedOffset (no leader epoch before v6)
		0xff, 0xff, // CommittedMetadata null
	}},
	{"OffsetCommit/v8", &OffsetCommitRequest{
		GroupId: "g", GenerationIdOrMemberEpoch: 1, MemberId: "m",
		Topics: []OffsetCommitRequestTopic{{Name: "t", Partitions: []OffsetCommitRequestPartition{{CommittedOffset: 10, CommittedLeaderEpoch: 2, CommittedMetadata: gsp("")}}}},
	}, 8, []byte{
		2, 'g',
		0, 0, 0, 1,
		2, 'm',
		0,      // GroupInstanceId null
		2,      // Topics: 1
		2, 't', // Name
		2,          // Partitions: 1
		0, 0, 0, 0, // PartitionIndex
		0, 0, 0, 0, 0, 0, 0, 10,
		0, 0, 0, 2, // CommittedLeaderEpoch
		1, // CommittedMetadata ""
		0, // partition tags
		0, // topic tags
		0,
	}},
	{"OffsetFetch/v1 all topics", &OffsetFetchRequest{GroupId: "g"}, 1, []byte{
		0, 1, 'g', 0, 0, 0, 0, // v1 Topics is not nullable: empty
	}},
	{"OffsetFetch/v2 all topics", &OffsetFetchRequest{GroupId: "g"}, 2, []byte{
		0, 1, 'g', 0xff, 0xff, 0xff, 0xff, // Topics null
	}},
	{"OffsetFetch/v7", &OffsetFetchRequest{GroupId: "g", Topics: []OffsetFetchRequestTopic{{Name: "t", PartitionIndexes: []int32{0, 1}}}, RequireStable: true}, 7, []byte{
		2, 'g',
		2, 2, 't', // Topics: 1, Name
		3, 0, 0, 0, 0, 0, 0, 0, 1, // PartitionIndexes [0 1]
		0, // topic tags
		1, // RequireStable
		0,
	}},
	{"OffsetFetch/v8 from GroupId", &OffsetFetchRequest{GroupId: "g"}, 8, []byte{
		2,      // Groups: 1
		2, 'g', // GroupId
		0, // Topics null
		0, // group tags
		0, // RequireStable
		0,
	}},
	{"OffsetFetch/v9", &OffsetFetchRequest{Groups: []OffsetFetchRequestGroup{
		{GroupId: "g", MemberId: gsp("m"), MemberEpoch: 5, Topics: []OffsetFetchRequestTopic{{Name: "t", PartitionIndexes: []int32{0}}}},
		{GroupId: "h", MemberEpoch: 5},
	}}, 9, []byte{
		3, // Groups: 2
		2, 'g',
		2, 'm', // MemberId
		0, 0, 0, 5, // MemberEpoch
		2, 2, 't', 2, 0, 0, 0, 0, 0, // Topics
		0,
		2, 'h',
		0,                      // MemberId null
		0xff, 0xff, 0xff, 0xff, // so MemberEpoch -1
		0, // Topics null
		0,
		0, // RequireStable
		0,
	}},
	{"OffsetFetch/v5 from Groups", &OffsetFetchRequest{Groups: []OffsetFetchRequestGroup{{GroupId: "g", Topics: []OffsetFetchRequestTopic{{Name: "t"}}}}}, 5, []byte{
		0, 1, 'g',
		0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0,
	}},
	{"ListGroups/v2", &ListGroupsRequest{StatesFilter: []string{"Stable"}}, 2, []byte{}},
	{"ListGroups/v4", &ListGroupsRequest{StatesFilter: []string{"Stable"}}, 4, []byte{
		2, 7, 'S', 't', 'a', 'b', 'l', 'e', 0,
	}},
	{"ListGroups/v5", &ListGroupsRequest{TypesFilter: []string{"consumer"}}, 5, []byte{
		1, // StatesFilter empty
		2, 9, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r',
		0,
	}},
	{"DescribeGroups/v3", &DescribeGroupsRequest{Groups: []string{"a"}, IncludeAuthorizedOperations: true}, 3, []byte{
		0, 0, 0, 1, 0, 1, 'a', 1,
	}},
	{"DescribeGroups/v5", &DescribeGroupsRequest{Groups: []string{"a"}, IncludeAuthorizedOperations: true}, 5, []byte{
		2, 2, 'a', 1, 0,
	}},
	{"DeleteGroups/v1", &DeleteGroupsRequest{GroupsNames: []string{"a"}}, 1, []byte{
		0, 0, 0, 1, 0, 1, 'a',
	}},
	{"DeleteGroups/v2", &DeleteGroupsRequest{GroupsNames: []string{"a"}}, 2, []byte{
		2, 2, 'a', 0,
	}},
	{"OffsetDelete/v0", &OffsetDeleteRequest{GroupId: "g", Topics: []OffsetDeleteRequestTopic{{Name: "t", Partitions: []OffsetDeleteRequestPartition{{PartitionIndex: 1}}}}}, 0, []byte{
		0, 1, 'g',
		0, 0, 0, 1, 0, 1, 't',
		0, 0, 0, 1, 0, 0, 0, 1,
	}},
	{"ConsumerGroupHeartbeat/v0", &ConsumerGroupHeartbeatRequest{
		GroupId: "g", MemberId: "m", RebalanceTimeoutMs: 30000, SubscribedTopicNames: []string{"t"},
		TopicPartitions: []ConsumerGroupHeartbeatRequestTopicPartitions{},
	}, 0, []byte{
		2, 'g',
		2, 'm',
		0, 0, 0, 0, // MemberEpoch 0: join
		0, // InstanceId null
		0, // RackId null
		0, 0, 0x75, 0x30,
		2, 2, 't', // SubscribedTopicNames ["t"]
		0, // ServerAssignor null
		1, // TopicPartitions: empty, not null
		0,
	}},
	{"ConsumerGroupHeartbeat/v1", &ConsumerGroupHeartbeatRequest{
		GroupId: "g", MemberId: "m", MemberEpoch: 5, RebalanceTimeoutMs: -1, SubscribedTopicRegex: gsp("t.*"),
		TopicPartitions: []ConsumerGroupHeartbeatRequestTopicPartitions{{TopicId: groupTestTopicID, Partitions: []int32{0}}},
	}, 1, []byte{
		2, 'g',
		2, 'm',
		0, 0, 0, 5,
		0, 0,
		0xff, 0xff, 0xff, 0xff, // RebalanceTimeoutMs -1
		0,                // SubscribedTopicNames null
		4, 't', '.', '*', // SubscribedTopicRegex
		0,                                                     // ServerAssignor null
		2,                                                     // TopicPartitions: 1
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, // TopicId
		2, 0, 0, 0, 0, // Partitions [0]
		0,
		0,
	}},
	{"ConsumerGroupDescribe/v1", &ConsumerGroupDescribeRequest{GroupIds: []string{"g"}, IncludeAuthorizedOperations: true}, 1, []byte{
		2, 2, 'g', 1, 0,
	}},
	{"AddPartitionsToTxn/v2", &AddPartitionsToTxnRequest{
		V3AndBelowTransactionalId: "tx", V3AndBelowProducerId: 1,
		V3AndBelowTopics: []AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{0}}},
	}, 2, []byte{
		0, 2, 't', 'x',
		0, 0, 0, 0, 0, 0, 0, 1, // ProducerId
		0, 0, // ProducerEpoch
		0, 0, 0, 1, 0, 1, 't',
		0, 0, 0, 1, 0, 0, 0, 0,
	}},
	{"AddPartitionsToTxn/v3", &AddPartitionsToTxnRequest{
		V3AndBelowTransactionalId: "tx", V3AndBelowProducerId: 1, V3AndBelowProducerEpoch: 2,
		V3AndBelowTopics: []AddPartitionsToTxnTopic{{Name: "t", Partitions: []int32{0}}},
	}, 3, []byte{
		3, 't', 'x',
		0, 0, 0, 0, 0, 0, 0, 1,
		0, 2,
		2, 2, 't', 2, 0, 0, 0, 0, 0,
		0,
	}},
	{"AddOffsetsToTxn/v2", &AddOffsetsToTxnRequest{TransactionalId: "tx", ProducerId: 1, ProducerEpoch: 2, GroupId: "g"}, 2, []byte{
		0, 2, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1, 'g',
	}},
	{"AddOffsetsToTxn/v3", &AddOffsetsToTxnRequest{TransactionalId: "tx", ProducerId: 1, ProducerEpoch: 2, GroupId: "g"}, 3, []byte{
		3, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 2, 'g', 0,
	}},
	{"EndTxn/v2", &EndTxnRequest{TransactionalId: "tx", ProducerId: 1, ProducerEpoch: 2, Committed: true}, 2, []byte{
		0, 2, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1,
	}},
	{"EndTxn/v5", &EndTxnRequest{TransactionalId: "tx", ProducerId: 1, ProducerEpoch: 2}, 5, []byte{
		3, 't', 'x', 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0,
	}},
	{"DescribeTransactions/v0", &DescribeTransactionsRequest{TransactionalIds: []string{"tx", "ab"}}, 0, []byte{
		3, 3, 't', 'x', 3, 'a', 'b', 0,
	}},
	{"TxnOffsetCommit/v2", &TxnOffsetCommitRequest{
		TransactionalId: "tx", GroupId: "g", ProducerId: 1,
		Topics: []TxnOffsetCommitRequestTopic{{Name: "t", Partitions: []TxnOffsetCommitRequestPartition{{CommittedOffset: 10, CommittedLeaderEpoch: 3}}}},
	}, 2, []byte{
		0, 2, 't', 'x',
		0, 1, 'g',
		0, 0, 0, 0, 0, 0, 0, 1,
		0, 0,
		0, 0, 0, 1, 0, 1, 't',
		0, 0, 0, 1,
		0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 10,
		0, 0, 0, 3, // CommittedLeaderEpoch (v2+)
		0xff, 0xff,
	}},
	{"TxnOffsetCommit/v3", &TxnOffsetCommitRequest{
		TransactionalId: "tx", GroupId: "g", ProducerId: 1, GenerationId: -1,
		Topics: []TxnOffsetCommitRequestTopic{{Name: "t", Partitions: []TxnOffsetCommitRequestPartition{{CommittedOffset: 10, CommittedLeaderEpoch: 3}}}},
	}, 3, []byte{
		3, 't', 'x',
		2, 'g',
		0, 0, 0, 0, 0, 0, 0, 1,
		0, 0,
		0xff, 0xff, 0xff, 0xff, // GenerationId
		1, // MemberId ""
		0, // GroupInstanceId null
		2, 2, 't',
		2,
		0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 10,
		0, 0, 0, 3,
		0, // CommittedMetadata null
		0, 0, 0,
	}},
	{"DescribeUserScramCredentials/v0 all", &DescribeUserScramCredentialsRequest{}, 0, []byte{
		0, // Users null
		0,
	}},
	{"DescribeUserScramCredentials/v0", &DescribeUserScramCredentialsRequest{Users: []DescribeUserScramCredentialsRequestUser{{Name: "alice"}}}, 0, []byte{
		2, 6, 'a', 'l', 'i', 'c', 'e', 0, 0,
	}},
	{"AlterUserScramCredentials/v0", &AlterUserScramCredentialsRequest{
		Deletions: []AlterUserScramCredentialsRequestDeletion{{Name: "bob", Mechanism: ScramCredentialMechanismSHA512}},
		Upsertions: []AlterUserScramCredentialsRequestUpsertion{{
			Name: "alice", Mechanism: ScramCredentialMechanismSHA256, Iterations: 4096, Salt: []byte("s"), SaltedPassword: []byte("p"),
		}},
	}, 0, []byte{
		2, 4, 'b', 'o', 'b', 2, 0, // Deletions
		2, 6, 'a', 'l', 'i', 'c', 'e', 1, // Upsertions: Name, Mechanism
		0, 0, 0x10, 0, // Iterations 4096
		2, 's', 2, 'p', 0, // Salt, SaltedPassword, tags
		0,
	}},
}

func TestGroupRequestGoldens(t *testing.T) {
	for _, c := range groupRequestGoldens {
		t.Run(c.name, func(t *testing.T) {
			lo, hi := c.req.Versions()
			require.True(t, c.v >= lo && c.v <= hi, "version %d outside %d-%d", c.v, lo, hi)
			var w Writer
			c.req.Encode(&w, c.v)
			assert.Equal(t, c.want, append([]byte{}, w.Bytes()...))
		})
	}
}

// TestGroupRequestGoldensCoverage checks that every API has a golden for a
// flexible version and, when it has any, for a non-flexible one.
func TestGroupRequestGoldensCoverage(t *testing.T) {
	type seen struct{ flex, legacy bool }
	got := map[int16]*seen{}
	for _, c := range groupRequestGoldens {
		s := got[c.req.APIKey()]
		if s == nil {
			s = &seen{}
			got[c.req.APIKey()] = s
		}
		if IsFlexible(c.req, c.v) {
			s.flex = true
		} else {
			s.legacy = true
		}
	}
	for _, api := range groupAPIs {
		req := api.newReq()
		s := got[req.APIKey()]
		require.NotNil(t, s, api.name)
		lo, _ := req.Versions()
		hasFlex := req.FlexibleFrom() >= 0
		hasLegacy := req.FlexibleFrom() < 0 || lo < req.FlexibleFrom()
		assert.Equal(t, hasFlex, s.flex, "%s flexible golden", api.name)
		assert.Equal(t, hasLegacy, s.legacy, "%s non-flexible golden", api.name)
	}
}

// groupAPIs lists every request of this file set with its response type.
var groupAPIs = []struct {
	name    string
	newReq  func() Request
	newResp func() Response
}{
	{"FindCoordinator", func() Request { return &FindCoordinatorRequest{} }, func() Response { return &FindCoordinatorResponse{} }},
	{"JoinGroup", func() Request { return &JoinGroupRequest{} }, func() Response { return &JoinGroupResponse{} }},
	{"SyncGroup", func() Request { return &SyncGroupRequest{} }, func() Response { return &SyncGroupResponse{} }},
	{"Heartbeat", func() Request { return &HeartbeatRequest{} }, func() Response { return &HeartbeatResponse{} }},
	{"LeaveGroup", func() Request { return &LeaveGroupRequest{} }, func() Response { return &LeaveGroupResponse{} }},
	{"OffsetCommit", func() Request { return &OffsetCommitRequest{} }, func() Response { return &OffsetCommitResponse{} }},
	{"OffsetFetch", func() Request { return &OffsetFetchRequest{} }, func() Response { return &OffsetFetchResponse{} }},
	{"ListGroups", func() Request { return &ListGroupsRequest{} }, func() Response { return &ListGroupsResponse{} }},
	{"DescribeGroups", func() Request { return &DescribeGroupsRequest{} }, func() Response { return &DescribeGroupsResponse{} }},
	{"DeleteGroups", func() Request { return &DeleteGroupsRequest{} }, func() Response { return &DeleteGroupsResponse{} }},
	{"OffsetDelete", func() Request { return &OffsetDeleteRequest{} }, func() Response { return &OffsetDeleteResponse{} }},
	{"ConsumerGroupHeartbeat", func() Request { return &ConsumerGroupHeartbeatRequest{} }, func() Response { return &ConsumerGroupHeartbeatResponse{} }},
	{"ConsumerGroupDescribe", func() Request { return &ConsumerGroupDescribeRequest{} }, func() Response { return &ConsumerGroupDescribeResponse{} }},
	{"AddPartitionsToTxn", func() Request { return &AddPartitionsToTxnRequest{} }, func() Response { return &AddPartitionsToTxnResponse{} }},
	{"AddOffsetsToTxn", func() Request { return &AddOffsetsToTxnRequest{} }, func() Response { return &AddOffsetsToTxnResponse{} }},
	{"EndTxn", func() Request { return &EndTxnRequest{} }, func() Response { return &EndTxnResponse{} }},
	{"TxnOffsetCommit", func() Request { return &TxnOffsetCommitRequest{} }, func() Response { return &TxnOffsetCommitResponse{} }},
	{"DescribeTransactions", func() Request { return &DescribeTransactionsRequest{} }, func() Response { return &DescribeTransactionsResponse{} }},
	{"DescribeUserScramCredentials", func() Request { return &DescribeUserScramCredentialsRequest{} }, func() Response { return &DescribeUserScramCredentialsResponse{} }},
	{"AlterUserScramCredentials", func() Request { return &AlterUserScramCredentialsRequest{} }, func() Response { return &AlterUserScramCredentialsResponse{} }},
}

func TestGroupAPIsMetadata(t *testing.T) {
	for _, api := range groupAPIs {
		req := api.newReq()
		assert.Equal(t, api.name, APIName(req.APIKey()))
		assert.IsType(t, api.newResp(), req.NewResponse(), api.name)
		lo, hi := req.Versions()
		assert.LessOrEqual(t, lo, hi, api.name)
		// Encoding the zero value at every version must not panic.
		for v := lo; v <= hi; v++ {
			var w Writer
			req.Encode(&w, v)
		}
	}
}

// groupResponseCases are responses encoded with Writer, field by field in
// spec order, and the value each must decode to.
type groupResponseCase struct {
	name  string
	v     int16
	build func(w *Writer)
	want  Response
}

func (c groupResponseCase) bytes() []byte {
	var w Writer
	c.build(&w)
	return w.Bytes()
}

var groupResponseCases = []groupResponseCase{
	{"FindCoordinator/v2", 2, func(w *Writer) {
		w.Int32(5)                   // ThrottleTimeMs
		w.Int16(0)                   // ErrorCode
		w.NullableString(false, nil) // ErrorMessage
		w.Int32(3)                   // NodeId
		w.String(false, "b3")
		w.Int32(9092)
	}, &FindCoordinatorResponse{ThrottleTimeMs: 5, NodeId: 3, Host: "b3", Port: 9092}},
	{"FindCoordinator/v4", 4, func(w *Writer) {
		w.Int32(5)
		w.ArrayLen(true, 2)
		w.String(true, "g1")
		w.Int32(3)
		w.String(true, "b3")
		w.Int32(9092)
		w.Int16(0)
		w.NullableString(true, nil)
		w.Tags(true)
		w.String(true, "g2")
		w.Int32(-1)
		w.String(true, "")
		w.Int32(-1)
		w.Int16(15)
		w.NullableString(true, gsp("not available"))
		w.Tags(true)
		w.Tags(true)
	}, &FindCoordinatorResponse{ThrottleTimeMs: 5, batched: true, Coordinators: []FindCoordinatorResponseCoordinator{
		{Key: "g1", NodeId: 3, Host: "b3", Port: 9092},
		{Key: "g2", NodeId: -1, Port: -1, ErrorCode: 15, ErrorMessage: gsp("not available")},
	}}},
	{"JoinGroup/v5", 5, func(w *Writer) {
		w.Int32(0)
		w.Int16(0)
		w.Int32(7) // GenerationId
		w.String(false, "range")
		w.String(false, "L")
		w.String(false, "L")
		w.ArrayLen(false, 1)
		w.String(false, "L")
		w.NullableString(false, gsp("i1"))
		w.BytesField(false, []byte{0, 3})
	}, &JoinGroupResponse{GenerationId: 7, ProtocolName: "range", Leader: "L", MemberId: "L",
		Members: []JoinGroupResponseMember{{MemberId: "L", GroupInstanceId: gsp("i1"), Metadata: []byte{0, 3}}}}},
	{"JoinGroup/v9", 9, func(w *Writer) {
		w.Int32(1)
		w.Int16(79) // MEMBER_ID_REQUIRED
		w.Int32(-1)
		w.NullableString(true, nil)
		w.NullableString(true, nil)
		w.String(true, "")
		w.Bool(true)
		w.String(true, "m-1")
		w.ArrayLen(true, 0)
		w.Tags(true)
	}, &JoinGroupResponse{ThrottleTimeMs: 1, ErrorCode: 79, GenerationId: -1, SkipAssignment: true, MemberId: "m-1"}},
	{"SyncGroup/v3", 3, func(w *Writer) {
		w.Int32(2)
		w.Int16(0)
		w.BytesField(false, []byte{0, 3, 0, 0, 0, 0})
	}, &SyncGroupResponse{ThrottleTimeMs: 2, Assignment: []byte{0, 3, 0, 0, 0, 0}}},
	{"SyncGroup/v5", 5, func(w *Writer) {
		w.Int32(2)
		w.Int16(0)
		w.NullableString(true, gsp("consumer"))
		w.NullableString(true, gsp("range"))
		w.BytesField(true, []byte{})
		w.Tags(true)
	}, &SyncGroupResponse{ThrottleTimeMs: 2, ProtocolType: gsp("consumer"), ProtocolName: gsp("range"), Assignment: []byte{}}},
	{"Heartbeat/v0", 0, func(w *Writer) { w.Int16(27) }, &HeartbeatResponse{ErrorCode: 27}},
	{"Heartbeat/v4", 4, func(w *Writer) {
		w.Int32(3)
		w.Int16(0)
		w.Tags(true)
	}, &HeartbeatResponse{ThrottleTimeMs: 3}},
	{"LeaveGroup/v2", 2, func(w *Writer) {
		w.Int32(3)
		w.Int16(25)
	}, &LeaveGroupResponse{ThrottleTimeMs: 3, ErrorCode: 25}},
	{"LeaveGroup/v4", 4, func(w *Writer) {
		w.Int32(3)
		w.Int16(0)
		w.ArrayLen(true, 1)
		w.String(true, "m")
		w.NullableString(true, gsp("i"))
		w.Int16(25)
		w.Tags(true)
		w.Tags(true)
	}, &LeaveGroupResponse{ThrottleTimeMs: 3, Members: []LeaveGroupResponseMember{{MemberId: "m", GroupInstanceId: gsp("i"), ErrorCode: 25}}}},
	{"OffsetCommit/v2", 2, func(w *Writer) {
		w.ArrayLen(false, 1)
		w.String(false, "t")
		w.ArrayLen(false, 2)
		w.Int32(0)
		w.Int16(0)
		w.Int32(1)
		w.Int16(22)
	}, &OffsetCommitResponse{Topics: []OffsetCommitResponseTopic{{Name: "t", Partitions: []OffsetCommitResponsePartition{{}, {PartitionIndex: 1, ErrorCode: 22}}}}}},
	{"OffsetCommit/v8", 8, func(w *Writer) {
		w.Int32(4)
		w.ArrayLen(true, 1)
		w.String(true, "t")
		w.ArrayLen(true, 1)
		w.Int32(1)
		w.Int16(22)
		w.Tags(true)
		w.Tags(true)
		w.Tags(true)
	}, &OffsetCommitResponse{ThrottleTimeMs: 4, Topics: []OffsetCommitResponseTopic{{Name: "t", Partitions: []OffsetCommitResponsePartition{{PartitionIndex: 1, ErrorCode: 22}}}}}},
	{"OffsetFetch/v4", 4, func(w *Writer) {
		w.Int32(4)
		w.ArrayLen(false, 1)
		w.String(false, "t")
		w.ArrayLen(false, 1)
		w.Int32(0)
		w.Int64(42)
		w.NullableString(false, gsp(""))
		w.Int16(0)
		w.Int16(0) // ErrorCode
	}, &OffsetFetchResponse{ThrottleTimeMs: 4, Topics: []OffsetFetchResponseTopic{{Name: "t", Partitions: []OffsetFetchResponsePartition{
		{CommittedOffset: 42, CommittedLeaderEpoch: -1, Metadata: gsp("")}}}}}},
	{"OffsetFetch/v7", 7, func(w *Writer) {
		w.Int32(4)
		w.ArrayLen(true, 1)
		w.String(true, "t")
		w.ArrayLen(true, 1)
		w.Int32(0)
		w.Int64(-1)
		w.Int32(-1)
		w.NullableString(true, nil)
		w.Int16(0)
		w.Tags(true)
		w.Tags(true)
		w.Int16(14)
		w.Tags(true)
	}, &OffsetFetchResponse{ThrottleTimeMs: 4, ErrorCode: 14, Topics: []OffsetFetchResponseTopic{{Name: "t", Partitions: []OffsetFetchResponsePartition{
		{CommittedOffset: -1, CommittedLeaderEpoch: -1}}}}}},
	{"OffsetFetch/v8", 8, func(w *Writer) {
		w.Int32(4)
		w.ArrayLen(true, 2)
		w.String(true, "g")
		w.ArrayLen(true, 1)
		w.String(true, "t")
		w.ArrayLen(true, 1)
		w.Int32(2)
		w.Int64(42)
		w.Int32(6)
		w.NullableString(true, gsp("md"))
		w.Int16(0)
		w.Tags(true)
		w.Tags(true)
		w.Int16(0)
		w.Tags(true)
		w.String(true, "h")
		w.ArrayLen(true, 0)
		w.Int16(69) // GROUP_ID_NOT_FOUND
		w.Tags(true)
		w.Tags(true)
	}, &OffsetFetchResponse{ThrottleTimeMs: 4, batched: true, Groups: []OffsetFetchResponseGroup{
		{GroupId: "g", Topics: []OffsetFetchResponseTopic{{Name: "t", Partitions: []OffsetFetchResponsePartition{
			{PartitionIndex: 2, CommittedOffset: 42, CommittedLeaderEpoch: 6, Metadata: gsp("md")}}}}},
		{GroupId: "h", ErrorCode: 69},
	}}},
	{"ListGroups/v2", 2, func(w *Writer) {
		w.Int32(0)
		w.Int16(0)
		w.ArrayLen(false, 1)
		w.String(false, "g")
		w.String(false, "consumer")
	}, &ListGroupsResponse{Groups: []ListGroupsResponseGroup{{GroupId: "g", ProtocolType: "consumer"}}}},
	{"ListGroups/v5", 5, func(w *Writer) {
		w.Int32(0)
		w.Int16(0)
		w.ArrayLen(true, 1)
		w.String(true, "g")
		w.String(true, "consumer")
		w.String(true, "Stable")
		w.String(true, "consumer")
		w.Tags(true)
		w.Tags(true)
	}, &ListGroupsResponse{Groups: []ListGroupsResponseGroup{{GroupId: "g", ProtocolType: "consumer", GroupState: "Stable", GroupType: "consumer"}}}},
	{"DescribeGroups/v2", 2, func(w *Writer) {
		w.Int32(0)
		w.ArrayLen(false, 1)
		w.Int16(0)
		w.String(false, "g")
		w.String(false, "Stable")
		w.String(false, "consumer")
		w.String(false, "range")
		w.ArrayLen(false, 1)
		w.String(false, "m")
		w.String(false, "c")
		w.String(false, "/10.0.0.1")
		w.BytesField(false, []byte{1})
		w.BytesField(false, []byte{2})
	}, &DescribeGroupsResponse{Groups: []DescribeGroupsResponseGroup{{
		GroupId: "g", GroupState: "Stable", ProtocolType: "consumer", ProtocolData: "range", AuthorizedOperations: math.MinInt32,
		Members: []DescribeGroupsResponseMember{{MemberId: "m", ClientId: "c", ClientHost: "/10.0.0.1", MemberMetadata: []byte{1}, MemberAssignment: []byte{2}}},
	}}}},
	{"DescribeGroups/v6", 6, func(w *Writer) {
		w.Int32(0)
		w.ArrayLen(true, 1)
		w.Int16(69)
		w.NullableString(true, gsp("gone"))
		w.String(true, "g")
		w.String(true, "Dead")
		w.String(true, "")
		w.String(true, "")
		w.ArrayLen(true, 0)
		w.Int32(0x0c)
		w.Tags(true)
		w.Tags(true)
	}, &DescribeGroupsResponse{Groups: []DescribeGroupsResponseGroup{{
		ErrorCode: 69, ErrorMessage: gsp("gone"), GroupId: "g", GroupState: "Dead", AuthorizedOperations: 0x0c,
	}}}},
	{"DeleteGroups/v1", 1, func(w *Writer) {
		w.Int32(0)
		w.ArrayLen(false, 1)
		w.String(false, "g")
		w.Int16(68) // NON_EMPTY_GROUP
	}, &DeleteGroupsResponse{Results: []DeleteGroupsResponseResult{{GroupId: "g", ErrorCode: 68}}}},
	{"DeleteGroups/v2", 2, func(w *Writer) {
		w.Int32(1)
		w.ArrayLen(true, 1)
		w.String(true, "g")
		w.Int16(0)
		w.Tags(true)
		w.Tags(true)
	}, &DeleteGroupsResponse{ThrottleTimeMs: 1, Results: []DeleteGroupsResponseResult{{GroupId: "g"}}}},
	{"OffsetDelete/v0", 0, func(w *Writer) {
		w.Int16(0)
		w.Int32(1)
		w.ArrayLen(false, 1)
		w.String(false, "t")
		w.ArrayLen(false, 1)
		w.Int32(0)
		w.Int16(86) // GROUP_SUBSCRIBED_TO_TOPIC
	}, &OffsetDeleteResponse{ThrottleTimeMs: 1, Topics: []OffsetDeleteResponseTopic{{Name: "t", Partitions: []OffsetDeleteResponsePartition{{ErrorCode: 86}}}}}},
	{"ConsumerGroupHeartbeat/v0", 0, func(w *Writer) {
		w.Int32(0)
		w.Int16(0)
		w.NullableString(true, nil)
		w.NullableString(true, gsp("m"))
		w.Int32(1)
		w.Int32(5000)
		w.Int8(1) // Assignment present
		w.ArrayLen(true, 1)
		w.UUID(groupTestTopicID)
		w.Int32Array(true, []int32{0, 2})
		w.Tags(true)
		w.Tags(true) // Assignment tags
		w.Tags(true)
	}, &ConsumerGroupHeartbeatResponse{MemberId: gsp("m"), MemberEpoch: 1, HeartbeatIntervalMs: 5000,
		Assignment: &ConsumerGroupHeartbeatResponseAssignment{TopicPartitions: []ConsumerGroupHeartbeatResponseTopicPartitions{
			{TopicId: groupTestTopicID, Partitions: []int32{0, 2}}}}}},
	{"ConsumerGroupHeartbeat/v1", 1, func(w *Writer) {
		w.Int32(0)
		w.Int16(110) // FENCED_MEMBER_EPOCH
		w.NullableString(true, gsp("fenced"))
		w.NullableString(true, nil)
		w.Int32(0)
		w.Int32(0)
		w.Int8(-1) // Assignment null
		w.Tags(true)
	}, &ConsumerGroupHeartbeatResponse{ErrorCode: 110, ErrorMessage: gsp("fenced")}},
	{"ConsumerGroupDescribe/v0", 0, groupBuildConsumerGroupDescribe(0), groupWantConsumerGroupDescribe(-1)},
	{"ConsumerGroupDescribe/v1", 1, groupBuildConsumerGroupDescribe(1), groupWantConsumerGroupDescribe(1)},
	{"AddPartitionsToTxn/v2", 2, func(w *Writer) {
		w.Int32(0)
		w.ArrayLen(false, 1)
		w.String(false, "t")
		w.ArrayLen(false, 1)
		w.Int32(0)
		w.Int16(48) // INVALID_TXN_STATE
	}, &AddPartitionsToTxnResponse{ResultsByTopicV3AndBelow: []AddPartitionsToTxnTopicResult{{Name: "t",
		ResultsByPartition: []AddPartitionsToTxnPartitionResult{{PartitionErrorCode: 48}}}}}},
	{"AddPartitionsToTxn/v3", 3, func(w *Writer) {
		w.Int32(0)
		w.ArrayLen(true, 1)
		w.String(true, "t")
		w.ArrayLen(true, 1)
		w.Int32(1)
		w.Int16(0)
		w.Tags(true)
		w.Tags(true)
		w.Tags(true)
	}, &AddPartitionsToTxnResponse{ResultsByTopicV3AndBelow: []AddPartitionsToTxnTopicResult{{Name: "t",
		ResultsByPartition: []AddPartitionsToTxnPartitionResult{{PartitionIndex: 1}}}}}},
	{"AddOffsetsToTxn/v0", 0, func(w *Writer) {
		w.Int32(1)
		w.Int16(47)
	}, &AddOffsetsToTxnResponse{ThrottleTimeMs: 1, ErrorCode: 47}},
	{"AddOffsetsToTxn/v3", 3, func(w *Writer) {
		w.Int32(1)
		w.Int16(0)
		w.Tags(true)
	}, &AddOffsetsToTxnResponse{ThrottleTimeMs: 1}},
	{"EndTxn/v2", 2, func(w *Writer) {
		w.Int32(1)
		w.Int16(0)
	}, &EndTxnResponse{ThrottleTimeMs: 1, ProducerId: -1, ProducerEpoch: -1}},
	{"EndTxn/v5", 5, func(w *Writer) {
		w.Int32(1)
		w.Int16(0)
		w.Int64(1000)
		w.Int16(4)
		w.Tags(true)
	}, &EndTxnResponse{ThrottleTimeMs: 1, ProducerId: 1000, ProducerEpoch: 4}},
	{"TxnOffsetCommit/v2", 2, func(w *Writer) {
		w.Int32(0)
		w.ArrayLen(false, 1)
		w.String(false, "t")
		w.ArrayLen(false, 1)
		w.Int32(0)
		w.Int16(0)
	}, &TxnOffsetCommitResponse{Topics: []TxnOffsetCommitResponseTopic{{Name: "t", Partitions: []TxnOffsetCommitResponsePartition{{}}}}}},
	{"TxnOffsetCommit/v3", 3, func(w *Writer) {
		w.Int32(0)
		w.ArrayLen(true, 1)
		w.String(true, "t")
		w.ArrayLen(true, 1)
		w.Int32(3)
		w.Int16(22)
		w.Tags(true)
		w.Tags(true)
		w.Tags(true)
	}, &TxnOffsetCommitResponse{Topics: []TxnOffsetCommitResponseTopic{{Name: "t", Partitions: []TxnOffsetCommitResponsePartition{{PartitionIndex: 3, ErrorCode: 22}}}}}},
	{"DescribeTransactions/v0", 0, func(w *Writer) {
		w.Int32(2)          // ThrottleTimeMs
		w.ArrayLen(true, 1) // TransactionStates
		w.Int16(0)          // ErrorCode
		w.String(true, "tx")
		w.String(true, "PrepareCommit")
		w.Int32(60000)      // TimeoutMillis
		w.Int64(1700000000) // StartTimestamp
		w.Int64(1000)       // ProducerId
		w.Int16(3)          // ProducerEpoch
		w.ArrayLen(true, 1) // Topics
		w.String(true, "t")
		w.Int32Array(true, []int32{0, 2})
		w.Tags(true)
		w.Tags(true)
		w.Tags(true)
	}, &DescribeTransactionsResponse{ThrottleTimeMs: 2, TransactionStates: []DescribeTransactionsState{{
		TransactionalId: "tx", State: "PrepareCommit", TimeoutMillis: 60000, StartTimestamp: 1700000000,
		ProducerId: 1000, ProducerEpoch: 3, Topics: []DescribeTransactionsTopic{{Topic: "t", Partitions: []int32{0, 2}}}}}}},
	{"DescribeUserScramCredentials/v0", 0, func(w *Writer) {
		w.Int32(0)
		w.Int16(0)
		w.NullableString(true, nil)
		w.ArrayLen(true, 2)
		w.String(true, "alice")
		w.Int16(0)
		w.NullableString(true, nil)
		w.ArrayLen(true, 1)
		w.Int8(ScramCredentialMechanismSHA256)
		w.Int32(8192)
		w.Tags(true)
		w.Tags(true)
		w.String(true, "bob")
		w.Int16(91) // RESOURCE_NOT_FOUND
		w.NullableString(true, gsp("no credentials"))
		w.ArrayLen(true, 0)
		w.Tags(true)
		w.Tags(true)
	}, &DescribeUserScramCredentialsResponse{Results: []DescribeUserScramCredentialsResult{
		{User: "alice", CredentialInfos: []DescribeUserScramCredentialsCredentialInfo{{Mechanism: ScramCredentialMechanismSHA256, Iterations: 8192}}},
		{User: "bob", ErrorCode: 91, ErrorMessage: gsp("no credentials")},
	}}},
	{"AlterUserScramCredentials/v0", 0, func(w *Writer) {
		w.Int32(0)
		w.ArrayLen(true, 1)
		w.String(true, "alice")
		w.Int16(0)
		w.NullableString(true, nil)
		w.Tags(true)
		w.Tags(true)
	}, &AlterUserScramCredentialsResponse{Results: []AlterUserScramCredentialsResult{{User: "alice"}}}},
}

func groupBuildConsumerGroupDescribe(v int16) func(w *Writer) {
	return func(w *Writer) {
		assignment := func() {
			w.ArrayLen(true, 1)
			w.UUID(groupTestTopicID)
			w.String(true, "t")
			w.Int32Array(true, []int32{0})
			w.Tags(true)
			w.Tags(true)
		}
		w.Int32(0)
		w.ArrayLen(true, 1)
		w.Int16(0)
		w.NullableString(true, nil)
		w.String(true, "g")
		w.String(true, "Stable")
		w.Int32(3) // GroupEpoch
		w.Int32(3) // AssignmentEpoch
		w.String(true, "uniform")
		w.ArrayLen(true, 1)
		w.String(true, "m")
		w.NullableString(true, nil)
		w.NullableString(true, gsp("r"))
		w.Int32(3)
		w.String(true, "c")
		w.String(true, "/h")
		w.StringArray(true, []string{"t"})
		w.NullableString(true, nil)
		assignment()
		assignment()
		if v >= 1 {
			w.Int8(1)
		}
		w.Tags(true)
		w.Int32(math.MinInt32)
		w.Tags(true)
		w.Tags(true)
	}
}

func groupWantConsumerGroupDescribe(memberType int8) *ConsumerGroupDescribeResponse {
	a := ConsumerGroupDescribeResponseAssignment{TopicPartitions: []ConsumerGroupDescribeResponseTopicPartitions{
		{TopicId: groupTestTopicID, TopicName: "t", Partitions: []int32{0}}}}
	return &ConsumerGroupDescribeResponse{Groups: []ConsumerGroupDescribeResponseGroup{{
		GroupId: "g", GroupState: "Stable", GroupEpoch: 3, AssignmentEpoch: 3, AssignorName: "uniform",
		AuthorizedOperations: math.MinInt32,
		Members: []ConsumerGroupDescribeResponseMember{{
			MemberId: "m", RackId: gsp("r"), MemberEpoch: 3, ClientId: "c", ClientHost: "/h",
			SubscribedTopicNames: []string{"t"}, Assignment: a, TargetAssignment: a, MemberType: memberType,
		}},
	}}}
}

func groupNewLike(resp Response) Response {
	return reflect.New(reflect.TypeOf(resp).Elem()).Interface().(Response)
}

func TestGroupResponseDecode(t *testing.T) {
	for _, c := range groupResponseCases {
		t.Run(c.name, func(t *testing.T) {
			b := c.bytes()
			got := groupNewLike(c.want)
			r := NewReader(b)
			got.Decode(r, c.v)
			require.NoError(t, r.Err())
			assert.Zero(t, r.Remaining(), "bytes left over")
			assert.Equal(t, c.want, got)

			// Every truncation must fail cleanly.
			for n := 0; n < len(b); n++ {
				r := NewReader(b[:n])
				groupNewLike(c.want).Decode(r, c.v)
				assert.Error(t, r.Err(), "prefix of %d/%d bytes decoded", n, len(b))
			}
		})
	}
}

// TestGroupResponseDecodeCoverage checks that every response has decode
// cases for a flexible and (where it has one) a non-flexible version.
func TestGroupResponseDecodeCoverage(t *testing.T) {
	for _, api := range groupAPIs {
		req := api.newReq()
		var flex, legacy bool
		for _, c := range groupResponseCases {
			if reflect.TypeOf(c.want) == reflect.TypeOf(api.newResp()) {
				if IsFlexible(req, c.v) {
					flex = true
				} else {
					legacy = true
				}
			}
		}
		lo, _ := req.Versions()
		assert.Equal(t, req.FlexibleFrom() >= 0, flex, "%s flexible case", api.name)
		assert.Equal(t, req.FlexibleFrom() < 0 || lo < req.FlexibleFrom(), legacy, "%s non-flexible case", api.name)
	}
}

func TestGroupResponseSkipsUnknownTags(t *testing.T) {
	var w Writer
	w.Int32(3)
	w.Int16(0)
	w.Uvarint(2) // two unknown tagged fields
	w.Uvarint(0)
	w.Uvarint(2)
	w.Raw([]byte{9, 9})
	w.Uvarint(7)
	w.Uvarint(0)
	var p HeartbeatResponse
	r := NewReader(w.Bytes())
	p.Decode(r, 4)
	require.NoError(t, r.Err())
	assert.Zero(t, r.Remaining())
	assert.Equal(t, HeartbeatResponse{ThrottleTimeMs: 3}, p)
}

func TestGroupDecodeResponseFrame(t *testing.T) {
	// Correlation id, header v1 tags, then a flexible SyncGroup body.
	var w Writer
	w.Int32(42)
	w.Tags(true)
	w.Int32(0)
	w.Int16(0)
	w.NullableString(true, gsp("consumer"))
	w.NullableString(true, gsp("range"))
	w.BytesField(true, []byte{1})
	w.Tags(true)
	req := &SyncGroupRequest{}
	resp := req.NewResponse()
	require.NoError(t, DecodeResponse(w.Bytes(), req, 5, resp))
	assert.Equal(t, []byte{1}, resp.(*SyncGroupResponse).Assignment)
}

func TestFindCoordinatorAccessors(t *testing.T) {
	decode := func(c groupResponseCase) *FindCoordinatorResponse {
		p := &FindCoordinatorResponse{}
		r := NewReader(c.bytes())
		p.Decode(r, c.v)
		require.NoError(t, r.Err())
		return p
	}
	var v2, v4 groupResponseCase
	for _, c := range groupResponseCases {
		switch c.name {
		case "FindCoordinator/v2":
			v2 = c
		case "FindCoordinator/v4":
			v4 = c
		}
	}
	old := decode(v2)
	c, ok := old.Coordinator("g1")
	require.True(t, ok)
	assert.Equal(t, FindCoordinatorResponseCoordinator{Key: "g1", NodeId: 3, Host: "b3", Port: 9092}, c)
	assert.Len(t, old.Results(), 1)

	batch := decode(v4)
	c, ok = batch.Coordinator("g2")
	require.True(t, ok)
	assert.Equal(t, int16(15), c.ErrorCode)
	_, ok = batch.Coordinator("nope")
	assert.False(t, ok)
	assert.Len(t, batch.Results(), 2)

	// A v4 answer with no coordinators is empty, not a synthetic entry.
	empty := &FindCoordinatorResponse{}
	r := NewReader([]byte{0, 0, 0, 0, 1, 0})
	empty.Decode(r, 4)
	require.NoError(t, r.Err())
	assert.Empty(t, empty.Results())
}

func TestOffsetFetchGroupAccessor(t *testing.T) {
	for _, c := range groupResponseCases {
		p, ok := c.want.(*OffsetFetchResponse)
		if !ok {
			continue
		}
		got := &OffsetFetchResponse{}
		r := NewReader(c.bytes())
		got.Decode(r, c.v)
		require.NoError(t, r.Err())
		g, ok := got.Group("g")
		require.True(t, ok, c.name)
		assert.Equal(t, "g", g.GroupId)
		if c.v < 8 {
			assert.Equal(t, p.Topics, g.Topics)
			assert.Equal(t, p.ErrorCode, g.ErrorCode)
		} else {
			assert.Equal(t, p.Groups[0], g)
			h, ok := got.Group("h")
			require.True(t, ok)
			assert.Equal(t, int16(69), h.ErrorCode)
			_, ok = got.Group("x")
			assert.False(t, ok)
		}
	}
}

// --- Consumer protocol payloads ---

func TestConsumerProtocolSubscriptionGolden(t *testing.T) {
	s := ConsumerProtocolSubscription{
		Topics:          []string{"t"},
		OwnedPartitions: []ConsumerProtocolTopicPartition{{Topic: "t", Partitions: []int32{1}}},
		GenerationId:    4,
		RackId:          gsp("r"),
	}
	want := []byte{
		0, 3, // version
		0, 0, 0, 1, 0, 1, 't', // Topics
		0xff, 0xff, 0xff, 0xff, // UserData null
		0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 1, // OwnedPartitions
		0, 0, 0, 4, // GenerationId
		0, 1, 'r', // RackId
	}
	assert.Equal(t, want, s.Encode(3))
	// v0 stops after UserData.
	assert.Equal(t, []byte{0, 0, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff}, s.Encode(0))
}

func TestConsumerProtocolAssignmentGolden(t *testing.T) {
	a := ConsumerProtocolAssignment{
		AssignedPartitions: []ConsumerProtocolTopicPartition{{Topic: "t", Partitions: []int32{0, 2}}},
		UserData:           []byte{7},
	}
	want := []byte{
		0, 1, // version
		0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, // AssignedPartitions
		0, 0, 0, 1, 7, // UserData
	}
	assert.Equal(t, want, a.Encode(1))
}

func TestConsumerProtocolRoundTrip(t *testing.T) {
	full := ConsumerProtocolSubscription{
		Topics:          []string{"a", "b"},
		UserData:        []byte{1, 2},
		OwnedPartitions: []ConsumerProtocolTopicPartition{{Topic: "a", Partitions: []int32{0, 3}}},
		GenerationId:    9,
		RackId:          gsp("rack-1"),
	}
	for v := int16(0); v <= ConsumerProtocolMaxVersion; v++ {
		want := full
		want.Version = v
		if v < 1 {
			want.OwnedPartitions = nil
		}
		if v < 2 {
			want.GenerationId = -1
		}
		if v < 3 {
			want.RackId = nil
		}
		var got ConsumerProtocolSubscription
		require.NoError(t, got.Decode(full.Encode(v)))
		assert.Equal(t, want, got, "subscription v%d", v)

		a := ConsumerProtocolAssignment{
			Version:            v,
			AssignedPartitions: []ConsumerProtocolTopicPartition{{Topic: "a", Partitions: []int32{1}}, {Topic: "b", Partitions: []int32{0, 1}}},
		}
		var gotA ConsumerProtocolAssignment
		require.NoError(t, gotA.Decode(a.Encode(v)))
		assert.Equal(t, a, gotA, "assignment v%d", v)
	}
	// Versions beyond the known range are clamped when encoding.
	var s ConsumerProtocolSubscription
	require.NoError(t, s.Decode(full.Encode(9)))
	assert.Equal(t, int16(3), s.Version)
}

// A member on a newer client sends a higher version with extra fields:
// the known prefix is read and the rest ignored.
func TestConsumerProtocolFutureVersion(t *testing.T) {
	var w Writer
	w.Int16(7)
	w.StringArray(false, []string{"t"})
	w.BytesField(false, []byte{5})
	w.ArrayLen(false, 1)
	w.String(false, "t")
	w.Int32Array(false, []int32{2})
	w.Int32(11)
	w.NullableString(false, gsp("r"))
	w.Int64(123456) // a field from the future
	w.String(false, "future")
	var s ConsumerProtocolSubscription
	require.NoError(t, s.Decode(w.Bytes()))
	assert.Equal(t, ConsumerProtocolSubscription{
		Version: 7, Topics: []string{"t"}, UserData: []byte{5},
		OwnedPartitions: []ConsumerProtocolTopicPartition{{Topic: "t", Partitions: []int32{2}}},
		GenerationId:    11, RackId: gsp("r"),
	}, s)

	w = Writer{}
	w.Int16(4)
	w.ArrayLen(false, 1)
	w.String(false, "t")
	w.Int32Array(false, []int32{0})
	w.BytesField(false, nil)
	w.Int32(99) // a field from the future
	var a ConsumerProtocolAssignment
	require.NoError(t, a.Decode(w.Bytes()))
	assert.Equal(t, ConsumerProtocolAssignment{Version: 4,
		AssignedPartitions: []ConsumerProtocolTopicPartition{{Topic: "t", Partitions: []int32{0}}}}, a)
}

func TestConsumerProtocolErrors(t *testing.T) {
	var s ConsumerProtocolSubscription
	assert.Error(t, s.Decode(nil))
	assert.Error(t, s.Decode([]byte{0xff, 0xff, 0, 0, 0, 0}), "negative version")
	b := (&ConsumerProtocolSubscription{Topics: []string{"t"}, RackId: gsp("r")}).Encode(3)
	for n := 0; n < len(b); n++ {
		assert.Error(t, s.Decode(b[:n]), "prefix %d", n)
	}

	var a ConsumerProtocolAssignment
	require.NoError(t, a.Decode(nil), "empty assignment")
	assert.Equal(t, ConsumerProtocolAssignment{}, a)
	assert.Error(t, a.Decode([]byte{0x80, 0}), "negative version")
	b = (&ConsumerProtocolAssignment{AssignedPartitions: []ConsumerProtocolTopicPartition{{Topic: "t"}}}).Encode(0)
	for n := 1; n < len(b); n++ {
		assert.Error(t, a.Decode(b[:n]), "prefix %d", n)
	}
}
