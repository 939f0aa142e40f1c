package wire

// IncrementalAlterConfigs operations (AlterConfigOp.OpType).
const (
	ConfigOpSet      int8 = 0 // set the value
	ConfigOpDelete   int8 = 1 // revert to the default
	ConfigOpAppend   int8 = 2 // add to a list value
	ConfigOpSubtract int8 = 3 // remove from a list value
)

// IncrementalAlterConfigsRequest (key 44) changes individual configs of
// topics, brokers and other resources, leaving the others untouched.
//
// Versions 0-1, flexible from 1. KIP-896 removed no version of it and it
// names resources, not topic ids, so the full range is supported.
type IncrementalAlterConfigsRequest struct {
	Resources    []IncrementalAlterConfigsRequestResource
	ValidateOnly bool
}

// IncrementalAlterConfigsRequestResource is one resource to change
// (AlterConfigsResource).
type IncrementalAlterConfigsRequestResource struct {
	ResourceType int8 // a ConfigResource* constant
	ResourceName string
	Configs      []IncrementalAlterConfigsRequestConfig
}

// IncrementalAlterConfigsRequestConfig is one change (AlterableConfig).
type IncrementalAlterConfigsRequestConfig struct {
	Name            string
	ConfigOperation int8 // a ConfigOp* constant
	Value           *string
}

func (*IncrementalAlterConfigsRequest) APIKey() int16            { return 44 }
func (*IncrementalAlterConfigsRequest) Versions() (int16, int16) { return 0, 1 }
func (*IncrementalAlterConfigsRequest) FlexibleFrom() int16      { return 1 }
func (*IncrementalAlterConfigsRequest) NewResponse() Response {
	return &IncrementalAlterConfigsResponse{}
}
func (q *IncrementalAlterConfigsRequest) Encode(w *Writer, v int16) {
	flex := v >= 1
	w.ArrayLen(flex, len(q.Resources))
	for i := range q.Resources {
		res := &q.Resources[i]
		w.Int8(res.ResourceType)
		w.String(flex, res.ResourceName)
		w.ArrayLen(flex, len(res.Configs))
		for _, c := range res.Configs {
			w.String(flex, c.Name)
			w.Int8(c.ConfigOperation)
			w.NullableString(flex, c.Value)
			w.Tags(flex)
		}
		w.Tags(flex)
	}
	w.Bool(q.ValidateOnly)
	w.Tags(flex)
}

// IncrementalAlterConfigsResponse gives the result for each resource.
type IncrementalAlterConfigsResponse struct {
	ThrottleTimeMs int32
	Responses      []IncrementalAlterConfigsResponseResource
}

// IncrementalAlterConfigsResponseResource is the result for one resource
// (AlterConfigsResourceResponse).
type IncrementalAlterConfigsResponseResource struct {
	ErrorCode    int16
	ErrorMessage *string
	ResourceType int8
	ResourceName string
}

func (p *IncrementalAlterConfigsResponse) Decode(r *Reader, v int16) {
	flex := v >= 1
	*p = IncrementalAlterConfigsResponse{}
	p.ThrottleTimeMs = r.Int32()
	// ErrorCode, ErrorMessage, ResourceType, ResourceName: 2+2+1+2, or
	// 2+1+1+1+1 flexible.
	p.Responses = decodeSlice(r, flex, 6, func(r *Reader, res *IncrementalAlterConfigsResponseResource) {
		res.ErrorCode = r.Int16()
		res.ErrorMessage = r.NullableString(flex)
		res.ResourceType = r.Int8()
		res.ResourceName = r.String(flex)
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}
