package wire

// The kmsg oracle: every request this package encodes and every response it
// decodes is checked, at every version its type declares, against franz-go's
// kmsg, which is generated from Apache Kafka's JSON message specs.
//
//   - Requests: a Gofka request full of distinct data is encoded, kmsg
//     decodes the bytes at the same version and re-encodes them to the same
//     bytes, and the two values are compared field by field.
//   - Responses: a kmsg response full of distinct data is encoded, Gofka
//     decodes all of it, and the two values are compared field by field
//     (against kmsg's own decoding of those bytes, so that fields the
//     version does not carry hold the spec's default).
//
// Each runs in several variants (oracleVariant): everything set, nullable
// fields null, arrays empty/null, long strings; responses also with unknown
// tagged fields everywhere and with the smallest elements the spec allows
// (which catch decoders that overestimate an element's size). kmsg stays a
// test-only dependency.
//
// Adding a request type: add one row to oracleCases. TestKmsgOracleCoverage
// fails until the row exists; the comparison then names every field it
// cannot map (add it to names) and every kmsg field on the wire that no
// Gofka field carries (map it, or declare it in kmsgOnly with the reason).

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// oracleCase is one request type of this package and what the oracle needs
// to know about it beyond the generic name rules.
type oracleCase struct {
	req Request // a zero value of the request type
	// names maps "GofkaType.Field" to the kmsg field carrying it, where
	// the generic rules (oracleKmsgField) do not find it.
	names map[string]string
	// kmsgOnly declares kmsg fields ("KmsgType.Field") that no Gofka field
	// carries, with the reason. A request leaves them at the spec default.
	kmsgOnly map[string]string
	// keep names Gofka fields ("Type.Field") the empty variant leaves
	// filled, where the encoder substitutes one field for another.
	keep map[string]bool
	// prepare applies a coercion the encoder documents (for example a
	// field sent as -1 while another is null) to the filled request, so
	// that the comparison sees what the encoder promises to send.
	prepare func(q Request, v int16)
	// checked names kmsg fields ("KmsgType.Field") whose shape differs from
	// the Gofka field carrying them; check compares those by hand.
	checked map[string]string
	check   func(t *testing.T, q Request, k kmsg.Request, v int16)
	// specResp undoes, in kmsg's decoding of a response, tagged fields that
	// kmsg writes at every flexible version but the spec defines only from
	// a later one: below it they are unknown tags, which Gofka must skip.
	specResp func(want kmsg.Response, v int16)

	used map[string]bool // declarations that applied (see use)
}

func (c *oracleCase) name() string { return reflect.TypeOf(c.req).Elem().Name() }

// use records that the declaration key of the case applied, so that
// TestKmsgOracle can flag declarations that no longer do.
func (c *oracleCase) use(key string) {
	if c.used == nil {
		c.used = map[string]bool{}
	}
	c.used[key] = true
}

// declarations lists the keys of names, kmsgOnly, checked and keep.
func (c *oracleCase) declarations() []string {
	var keys []string
	for _, m := range []map[string]string{c.names, c.kmsgOnly, c.checked} {
		for k := range m {
			keys = append(keys, k)
		}
	}
	for k := range c.keep {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// oracleCases has one row per request type of the package; see
// TestKmsgOracleCoverage.
var oracleCases = []oracleCase{
	{req: &ProduceRequest{}, specResp: func(want kmsg.Response, v int16) {
		if v < 10 { // CurrentLeader and NodeEndpoints: tagged, v10+
			m := want.(*kmsg.ProduceResponse)
			m.Brokers = nil
			for i := range m.Topics {
				for j := range m.Topics[i].Partitions {
					m.Topics[i].Partitions[j].CurrentLeader = kmsg.NewProduceResponseTopicPartitionCurrentLeader()
				}
			}
		}
	}},
	{req: &FetchRequest{}, kmsgOnly: map[string]string{
		"FetchRequest.ReplicaID":                        "always -1 (a consumer), the kmsg default",
		"FetchRequest.ClusterID":                        "tagged, broker-to-broker (KIP-595), never sent",
		"FetchRequest.ReplicaState":                     "tagged, broker-to-broker, never sent",
		"FetchRequestTopicPartition.ReplicaDirectoryID": "tagged, broker-to-broker (KIP-853), never sent",
		"FetchRequestTopicPartition.HighWatermark":      "tagged, broker-to-broker (KIP-1166), never sent",
		"FetchResponseTopicPartition.SnapshotID":        "tagged, KRaft controller fetches only",
		"FetchResponse.Brokers":                         "tagged NodeEndpoints, v16+ (above the supported range); kmsg writes it at v12 too, Gofka skips it as unknown",
	}},
	{req: &ListOffsetsRequest{}},
	{req: &MetadataRequest{}},
	{req: &OffsetCommitRequest{}},
	{req: &OffsetFetchRequest{}, keep: map[string]bool{"OffsetFetchRequest.Groups": true},
		prepare: func(q Request, v int16) {
			for i := range q.(*OffsetFetchRequest).Groups {
				if g := &q.(*OffsetFetchRequest).Groups[i]; g.MemberId == nil {
					g.MemberEpoch = -1 // documented: sent as -1 while MemberId is nil
				}
			}
		}},
	{req: &FindCoordinatorRequest{}, keep: map[string]bool{"FindCoordinatorRequest.CoordinatorKeys": true}},
	{req: &JoinGroupRequest{}},
	{req: &HeartbeatRequest{}},
	{req: &LeaveGroupRequest{}, keep: map[string]bool{"LeaveGroupRequest.Members": true}},
	{req: &SyncGroupRequest{}},
	{req: &DescribeGroupsRequest{}},
	{req: &ListGroupsRequest{}},
	{req: &SaslHandshakeRequest{}},
	{req: &ApiVersionsRequest{}, kmsgOnly: map[string]string{
		"ApiVersionsResponse.SupportedFeatures":      "tagged, feature flags the client does not use",
		"ApiVersionsResponse.FinalizedFeaturesEpoch": "tagged, feature flags the client does not use",
		"ApiVersionsResponse.ZkMigrationReady":       "tagged, broker-to-controller only",
	}},
	{req: &CreateTopicsRequest{}},
	{req: &DeleteTopicsRequest{},
		checked: map[string]string{"DeleteTopicsRequest.Topics": "v6+ form of TopicNames: [Name, TopicId]"},
		check: func(t *testing.T, q Request, k kmsg.Request, v int16) {
			names, topics := q.(*DeleteTopicsRequest).TopicNames, k.(*kmsg.DeleteTopicsRequest).Topics
			if v < 6 {
				assert.Empty(t, topics)
				return
			}
			require.Len(t, topics, len(names))
			for i, tp := range topics {
				assert.Equal(t, names[i], *tp.Topic)
				assert.Zero(t, tp.TopicID, "v6 deletes by name: zero topic id")
			}
		}},
	{req: &DeleteRecordsRequest{}},
	{req: &InitProducerIdRequest{}},
	{req: &AddPartitionsToTxnRequest{}, names: map[string]string{
		"AddPartitionsToTxnResponse.ResultsByTopicV3AndBelow": "Topics",
	}},
	{req: &AddOffsetsToTxnRequest{}},
	{req: &EndTxnRequest{}},
	{req: &TxnOffsetCommitRequest{}},
	{req: &DescribeTransactionsRequest{}},
	{req: &DescribeConfigsRequest{}},
	{req: &SaslAuthenticateRequest{}},
	{req: &CreatePartitionsRequest{}},
	{req: &DeleteGroupsRequest{}},
	{req: &IncrementalAlterConfigsRequest{}},
	{req: &OffsetDeleteRequest{}},
	{req: &DescribeUserScramCredentialsRequest{}},
	{req: &AlterUserScramCredentialsRequest{}},
	{req: &DescribeClusterRequest{}},
	{req: &ConsumerGroupHeartbeatRequest{}},
	{req: &ConsumerGroupDescribeRequest{}},
}

// The variants each request and response runs in. Minimal variants only
// test responses: they check decoders' size bounds, which requests lack.
var (
	oracleRequestVariants  = []oracleVariant{variantSet, variantNull, variantEmpty, variantLong}
	oracleResponseVariants = []oracleVariant{variantSet, variantNull, variantEmpty, variantLong, variantTags,
		variantMin0, variantMin1, variantMin2, variantMin3}
)

// TestKmsgOracle runs, for every request type at every version it
// declares: the request direction (Gofka encodes, kmsg decodes) and the
// response direction (kmsg encodes, Gofka decodes), in every variant. When
// it ran in full, it also checks that every declaration of the cases
// (names, kmsgOnly, checked, keep) still applies somewhere, so the tables
// cannot rot into excuses.
func TestKmsgOracle(t *testing.T) {
	ran, want := 0, 0
	for i := range oracleCases {
		c := &oracleCases[i]
		c.used = nil
		lo, hi := c.req.Versions()
		for v := lo; v <= hi; v++ {
			for _, variant := range oracleRequestVariants {
				want++
				t.Run("request/"+c.name()+"/v"+itoa(v)+"/"+variant.String(), func(t *testing.T) {
					ran++
					oracleRequest(t, c, v, variant)
				})
			}
			for _, variant := range oracleResponseVariants {
				want++
				t.Run("response/"+c.name()+"/v"+itoa(v)+"/"+variant.String(), func(t *testing.T) {
					ran++
					oracleResponse(t, c, v, variant)
				})
			}
		}
	}
	if ran != want {
		return // a -run filter picked some subtests: usage is incomplete
	}
	for i := range oracleCases {
		c := &oracleCases[i]
		for _, k := range c.declarations() {
			assert.True(t, c.used[k], "%s: declaration %q never applied; remove it", c.name(), k)
		}
	}
}

func oracleRequest(t *testing.T, c *oracleCase, v int16, variant oracleVariant) {
	qv := reflect.New(reflect.TypeOf(c.req).Elem())
	f := &oracleFiller{variant: variant, keep: c.keep, use: c.use}
	f.fill(qv.Elem(), "", false, 0)
	q := qv.Interface().(Request)
	if c.prepare != nil {
		c.prepare(q, v)
	}
	var w Writer
	q.Encode(&w, v)

	kr := kmsg.RequestForKey(q.APIKey())
	require.NotNil(t, kr, "kmsg knows key %d", q.APIKey())
	kr.SetVersion(v)
	require.Equal(t, IsFlexible(q, v), kr.IsFlexible(), "flexible at v%d", v)
	require.NoError(t, kr.ReadFrom(w.B), "kmsg decodes Gofka's v%d request", v)
	again := kr.AppendTo(nil)
	require.Equal(t, w.B, again, "kmsg re-encodes Gofka's v%d request to the same bytes (no byte left unread or read differently)", v)

	o := &oracleCompare{c: c, root: kr, base: again, request: true}
	o.structs(qv.Elem(), reflect.ValueOf(kr).Elem(), c.name())
	for _, e := range o.errs {
		t.Error(e)
	}
	if c.check != nil {
		c.check(t, q, kr, v)
	}

	// The framed request (size, header v1 or v2, body) matches kmsg's
	// RequestFormatter, so the header version follows the body's.
	const corr, client = int32(0x01020304), "oracle-client"
	framed, err := AppendRequest(nil, q, v, corr, client)
	require.NoError(t, err)
	assert.Equal(t, kmsg.NewRequestFormatter(kmsg.FormatterClientID(client)).AppendRequest(nil, kr, corr),
		framed, "framed v%d request", v)
}

func oracleResponse(t *testing.T, c *oracleCase, v int16, variant oracleVariant) {
	kr := kmsg.RequestForKey(c.req.APIKey())
	require.NotNil(t, kr)
	kr.SetVersion(v)
	src := kr.ResponseKind()
	src.SetVersion(v)
	f := &oracleFiller{variant: variant, skip: kmsgFillSkip}
	f.fill(reflect.ValueOf(src).Elem(), "", false, 0)
	src.SetVersion(v)
	b := src.AppendTo(nil)

	// What the version carries, as kmsg reads it: fields absent at v hold
	// the spec's default.
	want := kr.ResponseKind()
	want.SetVersion(v)
	require.NoError(t, want.ReadFrom(b))
	require.Equal(t, b, want.AppendTo(nil), "kmsg round trip")
	if c.specResp != nil {
		c.specResp(want, v)
	}

	resp := c.req.NewResponse()
	r := NewReader(b)
	resp.Decode(r, v)
	require.NoError(t, r.Err(), "Gofka decodes kmsg's v%d response", v)
	require.Zero(t, r.Remaining(), "Gofka reads the whole v%d response", v)

	// The same body in a response frame: header v1 (with a tag section,
	// here holding an unknown tag) for flexible versions, except
	// ApiVersions whose response header is always v0.
	frame := []byte{1, 2, 3, 4} // correlation id
	if kr.IsFlexible() && kr.Key() != 18 {
		frame = append(frame, 1, 7, 2, 0xaa, 0xbb) // one tag: 7, two bytes
	}
	framed := c.req.NewResponse()
	require.NoError(t, DecodeResponse(append(frame, b...), c.req, v, framed), "framed v%d response", v)
	assert.Equal(t, resp, framed, "framed v%d response", v)

	// The probes compare against want's own encoding (b unless specResp
	// changed want).
	o := &oracleCompare{c: c, root: want, base: want.AppendTo(nil)}
	o.structs(reflect.ValueOf(resp).Elem(), reflect.ValueOf(want).Elem(), reflect.TypeOf(resp).Elem().Name())
	for _, e := range o.errs {
		t.Error(e)
	}
}

func itoa(v int16) string { return strconv.Itoa(int(v)) }

// TestKmsgOracleCoverage fails when a request type of this package has no
// oracle case: it lists, from the package's source, every type with an
// APIKey method (the Request implementations), and checks the table has
// exactly those, each with its own API key and a version range kmsg knows.
func TestKmsgOracleCoverage(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var defined []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != "APIKey" {
				continue
			}
			typ := fd.Recv.List[0].Type
			if s, ok := typ.(*ast.StarExpr); ok {
				typ = s.X
			}
			defined = append(defined, typ.(*ast.Ident).Name)
		}
	}
	require.NotEmpty(t, defined)

	var covered []string
	keys := map[int16]string{}
	for i := range oracleCases {
		c := &oracleCases[i]
		covered = append(covered, c.name())
		key := c.req.APIKey()
		require.NotContains(t, keys, key, "%s and %s share API key %d", keys[key], c.name(), key)
		keys[key] = c.name()
		assert.NotContains(t, APIName(key), "ApiKey(", "APIName knows %s", c.name())
		kr := kmsg.RequestForKey(key)
		require.NotNil(t, kr, "kmsg knows %s (key %d)", c.name(), key)
		lo, hi := c.req.Versions()
		assert.True(t, lo >= 0 && lo <= hi && hi <= kr.MaxVersion(),
			"%s declares v%d-%d; kmsg knows up to v%d", c.name(), lo, hi, kr.MaxVersion())
	}
	sort.Strings(defined)
	sort.Strings(covered)
	assert.Equal(t, defined, covered, "every Request type of package wire has exactly one oracleCases row")
}

// TestKmsgOracleDetectsMismatch checks the comparison is not vacuous: a
// value that differs in a field the version carries, a kmsg field on the
// wire that no Gofka field carries, a declared kmsg-only request field not
// at its default, and a misread response field are all reported, while a
// field the version does not carry is not.
func TestKmsgOracleDetectsMismatch(t *testing.T) {
	c := &oracleCase{req: &HeartbeatRequest{}}
	q := &HeartbeatRequest{GroupId: "g", GenerationId: 7, MemberId: "m", GroupInstanceId: msgStr("i")}
	var w Writer
	q.Encode(&w, 3)
	kr := kmsg.NewPtrHeartbeatRequest()
	kr.SetVersion(3)
	require.NoError(t, kr.ReadFrom(w.B))
	base := kr.AppendTo(nil)

	// The same message compares clean.
	o := &oracleCompare{c: c, root: kr, base: base, request: true}
	o.structs(reflect.ValueOf(q).Elem(), reflect.ValueOf(kr).Elem(), "HeartbeatRequest")
	assert.Empty(t, o.errs)

	// A different value in a field v3 carries is reported...
	q2 := *q
	q2.GenerationId = 8
	o = &oracleCompare{c: c, root: kr, base: base, request: true}
	o.structs(reflect.ValueOf(&q2).Elem(), reflect.ValueOf(kr).Elem(), "HeartbeatRequest")
	assert.Len(t, o.errs, 1)
	assert.Contains(t, strings.Join(o.errs, "\n"), "GenerationId")

	// ...but not in a field the version does not carry (v0 has no
	// GroupInstanceId, so kmsg's null stands for Gofka's "i").
	w = Writer{}
	q.Encode(&w, 0)
	kr0 := kmsg.NewPtrHeartbeatRequest()
	kr0.SetVersion(0)
	require.NoError(t, kr0.ReadFrom(w.B))
	o = &oracleCompare{c: c, root: kr0, base: kr0.AppendTo(nil), request: true}
	o.structs(reflect.ValueOf(q).Elem(), reflect.ValueOf(kr0).Elem(), "HeartbeatRequest")
	assert.Empty(t, o.errs)

	// A kmsg field on the wire with no Gofka counterpart is reported
	// unless declared.
	type partialHeartbeat struct {
		GroupId, MemberId string
		GenerationId      int32
	}
	o = &oracleCompare{c: c, root: kr, base: base, request: true}
	o.structs(reflect.ValueOf(&partialHeartbeat{"g", "m", 7}).Elem(), reflect.ValueOf(kr).Elem(), "partial")
	require.Len(t, o.errs, 1)
	assert.Contains(t, o.errs[0], "HeartbeatRequest.InstanceID")
	c.kmsgOnly = map[string]string{"HeartbeatRequest.InstanceID": "test"}
	o = &oracleCompare{c: c, root: kr, base: base, request: true}
	o.structs(reflect.ValueOf(&partialHeartbeat{"g", "m", 7}).Elem(), reflect.ValueOf(kr).Elem(), "partial")
	require.Len(t, o.errs, 1, "a declared kmsg-only request field must still hold the default")

	// A response field Gofka misreads is reported.
	src := kmsg.NewPtrHeartbeatResponse()
	src.SetVersion(1)
	src.ThrottleMillis, src.ErrorCode = 5, 6
	b := src.AppendTo(nil)
	got := &HeartbeatResponse{ThrottleTimeMs: 5, ErrorCode: 7}
	o = &oracleCompare{c: c, root: src, base: b}
	o.structs(reflect.ValueOf(got).Elem(), reflect.ValueOf(src).Elem(), "HeartbeatResponse")
	require.Len(t, o.errs, 1)
	assert.Contains(t, o.errs[0], "ErrorCode")
}

// oracleEmbedded is a message Gofka encodes and decodes inside another
// message's bytes (the consumer protocol of JoinGroup/SyncGroup), checked
// against kmsg in both directions like the requests and responses.
type oracleEmbedded struct {
	name     string
	c        oracleCase // names and kmsgOnly only
	newGofka func() any
	newKmsg  func() interface {
		kmsgMessage
		ReadFrom([]byte) error
	}
	encode func(g any, v int16) []byte
	decode func(g any, b []byte) error
}

var oracleEmbeddedCases = []oracleEmbedded{
	{
		name:     "ConsumerProtocolSubscription",
		newGofka: func() any { return &ConsumerProtocolSubscription{} },
		newKmsg: func() interface {
			kmsgMessage
			ReadFrom([]byte) error
		} {
			return new(kmsg.ConsumerMemberMetadata)
		},
		encode: func(g any, v int16) []byte {
			g.(*ConsumerProtocolSubscription).Version = v // Encode writes v
			return g.(*ConsumerProtocolSubscription).Encode(v)
		},
		decode: func(g any, b []byte) error { return g.(*ConsumerProtocolSubscription).Decode(b) },
	},
	{
		name:     "ConsumerProtocolAssignment",
		c:        oracleCase{names: map[string]string{"ConsumerProtocolAssignment.AssignedPartitions": "Topics"}},
		newGofka: func() any { return &ConsumerProtocolAssignment{} },
		newKmsg: func() interface {
			kmsgMessage
			ReadFrom([]byte) error
		} {
			return new(kmsg.ConsumerMemberAssignment)
		},
		encode: func(g any, v int16) []byte {
			g.(*ConsumerProtocolAssignment).Version = v
			return g.(*ConsumerProtocolAssignment).Encode(v)
		},
		decode: func(g any, b []byte) error { return g.(*ConsumerProtocolAssignment).Decode(b) },
	},
}

// TestKmsgOracleConsumerProtocol checks the consumer protocol's
// subscription and assignment, at every version Gofka writes, both ways.
func TestKmsgOracleConsumerProtocol(t *testing.T) {
	for i := range oracleEmbeddedCases {
		e := &oracleEmbeddedCases[i]
		for v := int16(0); v <= ConsumerProtocolMaxVersion; v++ {
			for _, variant := range oracleRequestVariants {
				t.Run(e.name+"/encode/v"+itoa(v)+"/"+variant.String(), func(t *testing.T) {
					g := e.newGofka()
					(&oracleFiller{variant: variant}).fill(reflect.ValueOf(g).Elem(), "", false, 0)
					b := e.encode(g, v)
					k := e.newKmsg()
					require.NoError(t, k.ReadFrom(b))
					again := k.AppendTo(nil)
					require.Equal(t, b, again, "kmsg re-encodes Gofka's bytes")
					o := &oracleCompare{c: &e.c, root: k, base: again, request: true}
					o.structs(reflect.ValueOf(g).Elem(), reflect.ValueOf(k).Elem(), e.name)
					for _, msg := range o.errs {
						t.Error(msg)
					}
				})
			}
			for _, variant := range oracleResponseVariants {
				t.Run(e.name+"/decode/v"+itoa(v)+"/"+variant.String(), func(t *testing.T) {
					src := e.newKmsg()
					(&oracleFiller{variant: variant, skip: kmsgFillSkip}).fill(reflect.ValueOf(src).Elem(), "", false, 0)
					reflect.ValueOf(src).Elem().FieldByName("Version").SetInt(int64(v))
					b := src.AppendTo(nil)
					want := e.newKmsg()
					require.NoError(t, want.ReadFrom(b))
					g := e.newGofka()
					require.NoError(t, e.decode(g, b))
					o := &oracleCompare{c: &e.c, root: want, base: want.AppendTo(nil)}
					o.structs(reflect.ValueOf(g).Elem(), reflect.ValueOf(want).Elem(), e.name)
					for _, msg := range o.errs {
						t.Error(msg)
					}
				})
			}
		}
	}
}

// TestKmsgOracleEncoderCoercions checks, against kmsg's encoding of the
// message the broker must see, the substitutions the encoders document and
// that the filled-in variants above do not reach: empty or null inputs
// that are sent as something else, and the bridges between the single and
// batched forms of FindCoordinator, LeaveGroup and OffsetFetch.
func TestKmsgOracleEncoderCoercions(t *testing.T) {
	str := kmsg.StringPtr
	id := [16]byte{1, 2, 3}
	metaTopic := func(name *string, id [16]byte) kmsg.MetadataRequestTopic {
		tp := kmsg.NewMetadataRequestTopic()
		tp.Topic, tp.TopicID = name, id
		return tp
	}
	cases := []struct {
		name string
		req  Request
		v    int16
		want func() kmsg.Request
	}{
		{"Metadata/v12/by-id: an empty name is null", &MetadataRequest{Topics: []MetadataRequestTopic{{TopicId: id}}}, 12, func() kmsg.Request {
			m := kmsg.NewPtrMetadataRequest()
			m.Topics = []kmsg.MetadataRequestTopic{metaTopic(nil, id)}
			return m
		}},
		{"Metadata/v11: an empty name stays a name", &MetadataRequest{Topics: []MetadataRequestTopic{{TopicId: id}}}, 11, func() kmsg.Request {
			m := kmsg.NewPtrMetadataRequest()
			m.Topics = []kmsg.MetadataRequestTopic{metaTopic(str(""), id)}
			return m
		}},
		{"Metadata/v0/nil topics: empty array", &MetadataRequest{}, 0, func() kmsg.Request {
			return kmsg.NewPtrMetadataRequest()
		}},
		{"Metadata/v1/nil topics: null", &MetadataRequest{}, 1, func() kmsg.Request {
			return kmsg.NewPtrMetadataRequest()
		}},
		{"Metadata/v9/no topics: empty, not null", &MetadataRequest{Topics: []MetadataRequestTopic{}}, 9, func() kmsg.Request {
			m := kmsg.NewPtrMetadataRequest()
			m.Topics = []kmsg.MetadataRequestTopic{}
			return m
		}},
		{"OffsetCommit/v2: zero retention is the broker default", &OffsetCommitRequest{GroupId: "g"}, 2, func() kmsg.Request {
			m := kmsg.NewPtrOffsetCommitRequest()
			m.Group, m.Generation, m.RetentionTimeMillis = "g", 0, -1
			return m
		}},
		{"FindCoordinator/v3: Key from CoordinatorKeys", &FindCoordinatorRequest{CoordinatorKeys: []string{"a", "b"}, KeyType: 1}, 3, func() kmsg.Request {
			m := kmsg.NewPtrFindCoordinatorRequest()
			m.CoordinatorKey, m.CoordinatorType = "a", 1
			return m
		}},
		{"FindCoordinator/v4: CoordinatorKeys from Key", &FindCoordinatorRequest{Key: "k"}, 4, func() kmsg.Request {
			m := kmsg.NewPtrFindCoordinatorRequest()
			m.CoordinatorKeys = []string{"k"}
			return m
		}},
		{"LeaveGroup/v2: MemberId from Members", &LeaveGroupRequest{GroupId: "g", Members: []LeaveGroupRequestMember{{MemberId: "m"}}}, 2, func() kmsg.Request {
			m := kmsg.NewPtrLeaveGroupRequest()
			m.Group, m.MemberID = "g", "m"
			return m
		}},
		{"LeaveGroup/v5: Members from MemberId", &LeaveGroupRequest{GroupId: "g", MemberId: "m"}, 5, func() kmsg.Request {
			m := kmsg.NewPtrLeaveGroupRequest()
			mem := kmsg.NewLeaveGroupRequestMember()
			mem.MemberID = "m"
			m.Group, m.Members = "g", []kmsg.LeaveGroupRequestMember{mem}
			return m
		}},
		{"OffsetFetch/v1: nil topics is an empty list", &OffsetFetchRequest{GroupId: "g"}, 1, func() kmsg.Request {
			m := kmsg.NewPtrOffsetFetchRequest()
			m.Group, m.Topics = "g", []kmsg.OffsetFetchRequestTopic{}
			return m
		}},
		{"OffsetFetch/v7: GroupId and Topics from Groups[0]", &OffsetFetchRequest{Groups: []OffsetFetchRequestGroup{{GroupId: "g", Topics: []OffsetFetchRequestTopic{{Name: "t", PartitionIndexes: []int32{4}}}}}}, 7, func() kmsg.Request {
			m := kmsg.NewPtrOffsetFetchRequest()
			m.Group, m.Topics = "g", []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{4}}}
			return m
		}},
		{"OffsetFetch/v9: Groups from GroupId and Topics, epoch -1 without member", &OffsetFetchRequest{GroupId: "g", Topics: []OffsetFetchRequestTopic{{Name: "t", PartitionIndexes: []int32{4}}}}, 9, func() kmsg.Request {
			m := kmsg.NewPtrOffsetFetchRequest()
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group, g.Topics = "g", []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{4}}}
			m.Groups = []kmsg.OffsetFetchRequestGroup{g}
			return m
		}},
		{"JoinGroup/v6: nil protocol metadata is empty bytes", &JoinGroupRequest{GroupId: "g", Protocols: []JoinGroupRequestProtocol{{Name: "range"}}}, 6, func() kmsg.Request {
			m := kmsg.NewPtrJoinGroupRequest()
			m.Group, m.SessionTimeoutMillis, m.RebalanceTimeoutMillis = "g", 0, 0
			m.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{}}}
			return m
		}},
		{"SyncGroup/v4: nil assignment is empty bytes", &SyncGroupRequest{GroupId: "g", Assignments: []SyncGroupRequestAssignment{{MemberId: "m"}}}, 4, func() kmsg.Request {
			m := kmsg.NewPtrSyncGroupRequest()
			m.Group = "g"
			m.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: "m", MemberAssignment: []byte{}}}
			return m
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w Writer
			tc.req.Encode(&w, tc.v)
			want := tc.want()
			want.SetVersion(tc.v)
			assert.Equal(t, want.AppendTo(nil), w.B)
		})
	}
}

// TestKmsgOracleApiVersionsFallback checks the answer of a broker that does
// not know the ApiVersions version asked: a v0 body with
// UNSUPPORTED_VERSION, whatever the version of the request.
func TestKmsgOracleApiVersionsFallback(t *testing.T) {
	src := kmsg.NewPtrApiVersionsResponse()
	src.SetVersion(0)
	src.ErrorCode = int16(ErrUnsupportedVersion)
	src.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: 18, MinVersion: 0, MaxVersion: 3}, {ApiKey: 3, MinVersion: 0, MaxVersion: 12}}
	b := src.AppendTo(nil)
	for v := int16(0); v <= 4; v++ {
		resp := &ApiVersionsResponse{}
		r := NewReader(b)
		resp.Decode(r, v)
		require.NoError(t, r.Err(), "v%d", v)
		assert.Zero(t, r.Remaining(), "v%d", v)
		assert.Equal(t, src.ErrorCode, resp.ErrorCode)
		assert.Equal(t, []ApiVersionsKey{{18, 0, 3}, {3, 0, 12}}, resp.ApiKeys, "v%d", v)
	}
}
