package wire

import "math"

// DescribeCluster endpoint types (v1+).
const (
	EndpointTypeBroker     int8 = 1 // describe the brokers (the default)
	EndpointTypeController int8 = 2 // describe the controllers (KIP-919)
)

// DescribeClusterRequest (key 60) describes the cluster: its id, controller
// and brokers (KIP-700).
//
// Versions 0-2, all flexible. KIP-896 removed no version of it and it has no
// topics, so the full range is supported (v2 is Kafka 4.0's).
type DescribeClusterRequest struct {
	IncludeClusterAuthorizedOperations bool
	// EndpointType (v1+) is EndpointTypeBroker or EndpointTypeController;
	// 0 is sent as EndpointTypeBroker, the spec default.
	EndpointType         int8
	IncludeFencedBrokers bool // v2+
}

func (*DescribeClusterRequest) APIKey() int16            { return 60 }
func (*DescribeClusterRequest) Versions() (int16, int16) { return 0, 2 }
func (*DescribeClusterRequest) FlexibleFrom() int16      { return 0 }
func (*DescribeClusterRequest) NewResponse() Response    { return &DescribeClusterResponse{} }
func (q *DescribeClusterRequest) Encode(w *Writer, v int16) {
	w.Bool(q.IncludeClusterAuthorizedOperations)
	if v >= 1 {
		et := q.EndpointType
		if et == 0 {
			et = EndpointTypeBroker
		}
		w.Int8(et)
	}
	if v >= 2 {
		w.Bool(q.IncludeFencedBrokers)
	}
	w.Tags(true)
}

// DescribeClusterResponse describes the cluster.
type DescribeClusterResponse struct {
	ThrottleTimeMs              int32
	ErrorCode                   int16
	ErrorMessage                *string
	EndpointType                int8 // v1+, EndpointTypeBroker before
	ClusterId                   string
	ControllerId                int32
	Brokers                     []DescribeClusterResponseBroker
	ClusterAuthorizedOperations int32 // math.MinInt32 unless asked
}

// DescribeClusterResponseBroker is one broker (or controller) of the
// cluster (DescribeClusterBroker).
type DescribeClusterResponseBroker struct {
	BrokerId int32
	Host     string
	Port     int32
	Rack     *string
	IsFenced bool // v2+
}

func (p *DescribeClusterResponse) Decode(r *Reader, v int16) {
	*p = DescribeClusterResponse{EndpointType: EndpointTypeBroker, ClusterAuthorizedOperations: math.MinInt32}
	p.ThrottleTimeMs = r.Int32()
	p.ErrorCode = r.Int16()
	p.ErrorMessage = r.NullableString(true)
	if v >= 1 {
		p.EndpointType = r.Int8()
	}
	p.ClusterId = r.String(true)
	p.ControllerId = r.Int32()
	// BrokerId, Host, Port, Rack, tags: 4+1+4+1+1.
	p.Brokers = decodeSlice(r, true, 11, func(r *Reader, b *DescribeClusterResponseBroker) {
		b.BrokerId = r.Int32()
		b.Host = r.String(true)
		b.Port = r.Int32()
		b.Rack = r.NullableString(true)
		if v >= 2 {
			b.IsFenced = r.Bool()
		}
		r.SkipTags(true)
	})
	p.ClusterAuthorizedOperations = r.Int32()
	r.SkipTags(true)
}
