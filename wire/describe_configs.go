package wire

// Config resource types (ConfigResource.Type) of DescribeConfigs and
// IncrementalAlterConfigs. They differ from the ACL resource types.
const (
	ConfigResourceUnknown       int8 = 0
	ConfigResourceTopic         int8 = 2
	ConfigResourceBroker        int8 = 4
	ConfigResourceBrokerLogger  int8 = 8
	ConfigResourceClientMetrics int8 = 16
	ConfigResourceGroup         int8 = 32
)

// Config sources reported by DescribeConfigs and CreateTopics.
const (
	ConfigSourceUnknown                    int8 = 0
	ConfigSourceTopicConfig                int8 = 1 // dynamic topic config
	ConfigSourceDynamicBrokerConfig        int8 = 2
	ConfigSourceDynamicDefaultBrokerConfig int8 = 3
	ConfigSourceStaticBrokerConfig         int8 = 4
	ConfigSourceDefaultConfig              int8 = 5
	ConfigSourceDynamicBrokerLoggerConfig  int8 = 6
	ConfigSourceClientMetricsConfig        int8 = 7
	ConfigSourceGroupConfig                int8 = 8
)

// DescribeConfigsRequest (key 32) reads the configs of topics, brokers and
// other resources.
//
// Versions 1-4, flexible from 4. Apache Kafka 4.0 removed v0 (KIP-896), so v1
// is the floor, and v4 is the newest; the API names resources, not topic ids.
type DescribeConfigsRequest struct {
	Resources            []DescribeConfigsRequestResource
	IncludeSynonyms      bool // v1+
	IncludeDocumentation bool // v3+
}

// DescribeConfigsRequestResource is one resource to describe
// (DescribeConfigsResource).
type DescribeConfigsRequestResource struct {
	ResourceType int8 // a ConfigResource* constant
	ResourceName string
	// ConfigurationKeys to describe; nil (sent as null) describes them all.
	ConfigurationKeys []string
}

func (*DescribeConfigsRequest) APIKey() int16            { return 32 }
func (*DescribeConfigsRequest) Versions() (int16, int16) { return 1, 4 }
func (*DescribeConfigsRequest) FlexibleFrom() int16      { return 4 }
func (*DescribeConfigsRequest) NewResponse() Response    { return &DescribeConfigsResponse{} }
func (q *DescribeConfigsRequest) Encode(w *Writer, v int16) {
	flex := v >= 4
	w.ArrayLen(flex, len(q.Resources))
	for i := range q.Resources {
		res := &q.Resources[i]
		w.Int8(res.ResourceType)
		w.String(flex, res.ResourceName)
		if res.ConfigurationKeys == nil {
			w.ArrayLen(flex, -1)
		} else {
			w.StringArray(flex, res.ConfigurationKeys)
		}
		w.Tags(flex)
	}
	if v >= 1 {
		w.Bool(q.IncludeSynonyms)
	}
	if v >= 3 {
		w.Bool(q.IncludeDocumentation)
	}
	w.Tags(flex)
}

// DescribeConfigsResponse gives the configs of each resource.
type DescribeConfigsResponse struct {
	ThrottleTimeMs int32
	Results        []DescribeConfigsResponseResult
}

// DescribeConfigsResponseResult holds one resource's configs
// (DescribeConfigsResult).
type DescribeConfigsResponseResult struct {
	ErrorCode    int16
	ErrorMessage *string
	ResourceType int8
	ResourceName string
	Configs      []DescribeConfigsResponseConfig
}

// DescribeConfigsResponseConfig is one config entry
// (DescribeConfigsResourceResult).
type DescribeConfigsResponseConfig struct {
	Name         string
	Value        *string // null for sensitive configs
	ReadOnly     bool
	ConfigSource int8 // v1+, a ConfigSource* constant
	IsSensitive  bool
	Synonyms     []DescribeConfigsResponseSynonym // v1+, when IncludeSynonyms
	ConfigType   int8                             // v3+, 0 if unknown
	// Documentation (v3+) is set when IncludeDocumentation was asked.
	Documentation *string
}

// DescribeConfigsResponseSynonym is one source of a config value, highest
// precedence first (DescribeConfigsSynonym).
type DescribeConfigsResponseSynonym struct {
	Name   string
	Value  *string
	Source int8
}

func (p *DescribeConfigsResponse) Decode(r *Reader, v int16) {
	flex := v >= 4
	*p = DescribeConfigsResponse{}
	p.ThrottleTimeMs = r.Int32()
	// ErrorCode, ErrorMessage, ResourceType, ResourceName, Configs:
	// 2+2+1+2+4, or 2+1+1+1+1+1 flexible.
	p.Results = decodeSlice(r, flex, 7, func(r *Reader, res *DescribeConfigsResponseResult) {
		res.ErrorCode = r.Int16()
		res.ErrorMessage = r.NullableString(flex)
		res.ResourceType = r.Int8()
		res.ResourceName = r.String(flex)
		// Name, Value, ReadOnly, ConfigSource, IsSensitive, Synonyms:
		// 2+2+1+1+1+4 (v1), or 9 bytes flexible.
		res.Configs = decodeSlice(r, flex, 9, func(r *Reader, c *DescribeConfigsResponseConfig) {
			c.Name = r.String(flex)
			c.Value = r.NullableString(flex)
			c.ReadOnly = r.Bool()
			c.ConfigSource = -1
			if v >= 1 {
				c.ConfigSource = r.Int8()
			}
			c.IsSensitive = r.Bool()
			if v >= 1 {
				// Name, Value, Source: 2+2+1, or 1+1+1+1 flexible.
				c.Synonyms = decodeSlice(r, flex, 4, func(r *Reader, s *DescribeConfigsResponseSynonym) {
					s.Name = r.String(flex)
					s.Value = r.NullableString(flex)
					s.Source = r.Int8()
					r.SkipTags(flex)
				})
			}
			if v >= 3 {
				c.ConfigType = r.Int8()
				c.Documentation = r.NullableString(flex)
			}
			r.SkipTags(flex)
		})
		r.SkipTags(flex)
	})
	r.SkipTags(flex)
}
