package wire

// Reflection machinery of the kmsg oracle (kmsg_oracle_test.go): it fills
// Gofka and kmsg message structs with distinct data, maps Gofka field names
// onto kmsg's, and compares the two field by field. Whether a field is on
// the wire at a version is never written down here: it is asked of kmsg
// itself, by changing the field in the kmsg value and re-encoding it (a
// field that is absent at that version, or a null that the version cannot
// tell from empty, leaves the bytes unchanged).

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
)

// oracleVariant selects how the filler treats optional data.
type oracleVariant int

const (
	// variantSet sets every field, nullable ones included.
	variantSet oracleVariant = iota
	// variantNull leaves nullable strings, byte slices and pointers null.
	variantNull
	// variantEmpty leaves every array nil (null where the version allows it)
	// on top of variantNull.
	variantEmpty
	// variantLong is variantSet with strings and bytes longer than 127, so
	// that compact lengths take two varint bytes.
	variantLong
	// variantTags is variantSet with an unknown tagged field in every
	// flexible kmsg struct: a decoder must skip each tag section.
	variantTags
	// variantMin0..variantMin3 make the smallest elements the spec allows
	// (scalars at their defaults, strings empty, nullables null), many of
	// them in the arrays at one nesting depth, one element in the arrays
	// above it and none below. A decoder that overestimates the smallest
	// encoded element (Reader.ArrayLen's elemMin) rejects these.
	variantMin0
	variantMin1
	variantMin2
	variantMin3
)

func (v oracleVariant) String() string {
	return [...]string{"set", "null", "empty", "long", "tags", "min0", "min1", "min2", "min3"}[v]
}

func (v oracleVariant) minimal() bool { return v >= variantMin0 }

// oracleUnknownTag is a tag number no message of the specs uses.
const oracleUnknownTag = 9999

// oracleMinElems is how many elements the arrays of a minimal variant get
// at their target depth: enough that overestimating one element by a
// single byte outweighs the bytes that follow the array, and more than 127
// so that compact array lengths take two varint bytes.
const oracleMinElems = 130

// oracleFiller writes distinct, non-zero values into a struct tree. Every
// scalar it writes is derived from a counter, so two fields never hold the
// same value and a field decoded into the wrong slot shows up. Deterministic:
// the same type and variant always give the same values.
type oracleFiller struct {
	n       int
	variant oracleVariant
	// keep names fields ("Type.Field") left filled in variantEmpty, for
	// encoders that substitute one field for another when it is empty.
	keep map[string]bool
	// skip names fields the filler must leave alone.
	skip func(t reflect.Type, f reflect.StructField) bool
	// use, when set, is told each keep entry that applied.
	use func(key string)
}

func (f *oracleFiller) next() int { f.n++; return f.n }

// fill fills v, named name, which sits inside depth arrays.
func (f *oracleFiller) fill(v reflect.Value, name string, keep bool, depth int) {
	if f.variant.minimal() {
		f.fillMinimal(v, depth)
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		// All true when set; alternating otherwise, so that two bools
		// read in each other's place show up.
		v.SetBool(f.variant == variantSet || f.next()%2 == 1)
	case reflect.Int8:
		v.SetInt(int64(10 + f.next()%100))
	case reflect.Int16:
		v.SetInt(int64(1000 + f.next()))
	case reflect.Int32:
		v.SetInt(int64(100000 + f.next()))
	case reflect.Int64:
		v.SetInt(int64(10000000000 + f.next()))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(20 + f.next()%100))
	case reflect.Float64:
		v.SetFloat(float64(f.next()) + 0.5)
	case reflect.String:
		s := fmt.Sprintf("%s-%d", name, f.next())
		if f.variant == variantLong {
			s += strings.Repeat("x", 200)
		}
		v.SetString(s)
	case reflect.Array: // UUIDs
		n := f.next()
		for i := 0; i < v.Len(); i++ {
			v.Index(i).SetUint(uint64(n*16 + i))
		}
	case reflect.Pointer:
		if (f.variant == variantNull || f.variant == variantEmpty) && !keep {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), name, false, depth)
		v.Set(p)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 { // bytes
			if (f.variant == variantNull || f.variant == variantEmpty) && !keep {
				v.SetZero()
				return
			}
			n := f.next()
			b := []byte{byte(n), byte(n >> 8), 0xab, byte(n * 3)}
			if f.variant == variantLong {
				b = append(b, bytes.Repeat([]byte{0xcd}, 300)...)
			}
			v.SetBytes(b)
			return
		}
		if f.variant == variantEmpty && !keep {
			v.SetZero()
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			f.fill(s.Index(i), name, false, depth+1)
		}
		v.Set(s)
	case reflect.Struct:
		t := v.Type()
		if d, ok := v.Addr().Interface().(interface{ Default() }); ok {
			d.Default() // kmsg: start from the spec defaults
		}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if tags, ok := v.Field(i).Addr().Interface().(interface{ Set(uint32, []byte) }); ok && f.variant == variantTags {
				n := f.next()
				tags.Set(oracleUnknownTag, []byte{byte(n), 0xee, byte(n >> 8)})
				continue
			}
			if !sf.IsExported() || (f.skip != nil && f.skip(t, sf)) {
				continue
			}
			keep := f.keep[t.Name()+"."+sf.Name]
			if keep && f.use != nil {
				f.use(t.Name() + "." + sf.Name)
			}
			f.fill(v.Field(i), sf.Name, keep, depth)
		}
	default:
		panic(fmt.Sprintf("oracle filler: unsupported kind %s", v.Kind()))
	}
}

// fillMinimal fills v for a minimal variant: only arrays get content.
func (f *oracleFiller) fillMinimal(v reflect.Value, depth int) {
	target := int(f.variant - variantMin0)
	switch v.Kind() {
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // null (or empty where not nullable)
		}
		n := 0
		switch {
		case depth < target:
			n = 1
		case depth == target:
			n = oracleMinElems
		}
		if n == 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			f.fillMinimal(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Struct:
		t := v.Type()
		if d, ok := v.Addr().Interface().(interface{ Default() }); ok {
			d.Default()
		}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if sf.IsExported() && (f.skip == nil || !f.skip(t, sf)) {
				f.fillMinimal(v.Field(i), depth)
			}
		}
	}
}

// kmsgFillSkip leaves kmsg's bookkeeping fields alone.
func kmsgFillSkip(_ reflect.Type, f reflect.StructField) bool {
	return f.Name == "Version" || f.Name == "UnknownTags"
}

// oracleNameRules are renamings kmsg applies throughout (Gofka keeps the
// names of the JSON specs); a Gofka field tries them in order after its own
// name. Message-specific renamings live in oracleCase.names.
var oracleNameRules = map[string][]string{
	"Name":                        {"Topic", "Group", "Name"},
	"PartitionIndex":              {"Partition"},
	"PartitionIndexes":            {"Partitions"},
	"Index":                       {"Partition"},
	"GroupId":                     {"Group"},
	"GroupsNames":                 {"Groups"},
	"TopicData":                   {"Topics"},
	"PartitionData":               {"Partitions"},
	"Responses":                   {"Topics", "Resources"},
	"PartitionResponses":          {"Partitions"},
	"Results":                     {"Groups", "Topics", "Resources", "Results"},
	"TransactionalId":             {"TransactionalID", "TransactionID"},
	"LogAppendTimeMs":             {"LogAppendTime"},
	"GenerationId":                {"Generation"},
	"GroupInstanceId":             {"InstanceID"},
	"CommittedOffset":             {"Offset"},
	"CommittedMetadata":           {"Metadata"},
	"CommittedLeaderEpoch":        {"LeaderEpoch"},
	"Committed":                   {"Commit"},
	"ProtocolName":                {"Protocol"},
	"RackId":                      {"Rack"},
	"ForgottenTopicsData":         {"ForgottenTopics"},
	"TopicAuthorizedOperations":   {"AuthorizedOperations"},
	"ClusterAuthorizedOperations": {"AuthorizedOperations"},
	"LeaderId":                    {"Leader"},
	"Leader":                      {"LeaderID"},
	"ReplicaNodes":                {"Replicas"},
	"IsrNodes":                    {"ISR"},
	"RecordErrors":                {"ErrorRecords"},
	"NodeEndpoints":               {"Brokers"},
	"Records":                     {"RecordBatches"},
	"Assignment":                  {"MemberAssignment"},
	"Assignments":                 {"GroupAssignment", "ReplicaAssignment", "Assignment"},
	"Metadata":                    {"ProtocolMetadata"},
	"Key":                         {"CoordinatorKey"},
	"KeyType":                     {"CoordinatorType"},
	"GroupState":                  {"State"},
	"ProtocolData":                {"Protocol"},
	"MemberMetadata":              {"ProtocolMetadata"},
	"GroupEpoch":                  {"Epoch"},
	"AuthBytes":                   {"SASLAuthBytes"},
	"Mechanisms":                  {"SupportedMechanisms"},
	"GroupIds":                    {"Groups"},
	"TopicPartitions":             {"Topics"},
	"SubscribedTopicNames":        {"SubscribedTopics"},
	"TopicName":                   {"Topic"},
	"BrokerId":                    {"NodeID"},
	"ConfigSource":                {"Source"},
	"ConfigOperation":             {"Op"},
	"ConfigurationKeys":           {"ConfigNames"},
	"TopicConfigErrorCode":        {"ConfigErrorCode"},
	"GenerationIdOrMemberEpoch":   {"Generation"},
	"BatchIndex":                  {"RelativeOffset"},
	"BatchIndexErrorMessage":      {"ErrorMessage"},
	"ResultsByPartition":          {"Partitions"},
	"PartitionErrorCode":          {"ErrorCode"},
	"BrokerIds":                   {"Replicas"},
	"Synonyms":                    {"ConfigSynonyms"},
}

// oracleNorm folds the naming differences kmsg applies everywhere: case
// (Id/ID), and "Ms"/"TimeMs" spelled "Millis".
func oracleNorm(s string) []string {
	// AddPartitionsToTxn's JSON names mark its client-only fields.
	s = strings.TrimPrefix(strings.TrimSuffix(s, "V3AndBelow"), "V3AndBelow")
	l := strings.ToLower(s)
	out := []string{l}
	if strings.HasSuffix(l, "timems") {
		out = append(out, strings.TrimSuffix(l, "timems")+"millis")
	}
	if strings.HasSuffix(l, "ms") {
		out = append(out, strings.TrimSuffix(l, "ms")+"millis", strings.TrimSuffix(l, "ms"))
	}
	return out
}

// oracleKmsgField finds the kmsg field of kt that carries the Gofka field
// gname of type gt: the case's explicit names first, then the same name,
// then the normalised name, then oracleNameRules.
func oracleKmsgField(c *oracleCase, gt reflect.Type, gname string, kt reflect.Type) (string, bool) {
	if n, ok := c.names[gt.Name()+"."+gname]; ok {
		c.use(gt.Name() + "." + gname)
		_, found := kt.FieldByName(n)
		return n, found
	}
	if _, ok := kt.FieldByName(gname); ok {
		return gname, true
	}
	want := oracleNorm(gname)
	for i := 0; i < kt.NumField(); i++ {
		kn := strings.ToLower(kt.Field(i).Name)
		for _, w := range want {
			if kn == w {
				return kt.Field(i).Name, true
			}
		}
	}
	for _, alias := range oracleNameRules[gname] {
		if _, ok := kt.FieldByName(alias); ok {
			return alias, true
		}
	}
	return "", false
}

// kmsgMessage is what the oracle needs of a kmsg request or response.
type kmsgMessage interface {
	AppendTo([]byte) []byte
}

// oracleCompare walks a Gofka value and a kmsg value of the same message
// side by side and reports every field whose values differ in a way the
// wire can see.
type oracleCompare struct {
	c       *oracleCase
	root    kmsgMessage // re-encoded to ask whether a difference is on the wire
	base    []byte      // root's encoding before any probe
	request bool        // Gofka encoded, kmsg decoded (else the reverse)
	errs    []string
}

func (o *oracleCompare) errorf(format string, args ...any) {
	o.errs = append(o.errs, fmt.Sprintf(format, args...))
}

// onWire reports whether setting the kmsg value k to nv changes the
// encoding of the whole kmsg message: false when the field is absent at
// this version, or when the version cannot tell the two values apart (null
// and empty in a non-nullable field).
func (o *oracleCompare) onWire(k reflect.Value, nv reflect.Value) bool {
	old := reflect.New(k.Type()).Elem()
	old.Set(k)
	k.Set(nv)
	got := o.root.AppendTo(nil)
	k.Set(old)
	return !bytes.Equal(got, o.base)
}

// perturbed returns a value of k's type that differs from k in a way every
// encoding of the field would show.
func perturbed(k reflect.Value) reflect.Value {
	nv := reflect.New(k.Type()).Elem()
	nv.Set(k)
	switch k.Kind() {
	case reflect.Bool:
		nv.SetBool(!k.Bool())
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		nv.SetInt(k.Int() ^ 1)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		nv.SetUint(k.Uint() ^ 1)
	case reflect.Float64:
		nv.SetFloat(k.Float() + 1)
	case reflect.String:
		nv.SetString(k.String() + "~")
	case reflect.Array:
		nv.Index(0).SetUint(nv.Index(0).Uint() ^ 1)
	case reflect.Pointer:
		if k.IsNil() {
			p := reflect.New(k.Type().Elem())
			if d, ok := p.Interface().(interface{ Default() }); ok {
				d.Default()
			}
			if p.Elem().Kind() == reflect.String {
				p.Elem().SetString("~")
			}
			nv.Set(p)
		} else {
			nv.SetZero()
		}
	case reflect.Slice:
		// A fresh slice one element longer (never k's backing array).
		s := reflect.AppendSlice(reflect.MakeSlice(k.Type(), 0, k.Len()+1), k)
		nv.Set(reflect.Append(s, reflect.Zero(k.Type().Elem())))
	case reflect.Struct:
		for i := 0; i < k.NumField(); i++ {
			if k.Type().Field(i).IsExported() && k.Type().Field(i).Name != "UnknownTags" {
				nv.Field(i).Set(perturbed(k.Field(i)))
				break
			}
		}
	}
	return nv
}

// structs compares the Gofka struct g with the kmsg struct k (addressable).
func (o *oracleCompare) structs(g, k reflect.Value, path string) {
	gt, kt := g.Type(), k.Type()
	used := map[string]bool{}
	for i := 0; i < gt.NumField(); i++ {
		gf := gt.Field(i)
		if !gf.IsExported() {
			continue
		}
		kn, ok := oracleKmsgField(o.c, gt, gf.Name, kt)
		if !ok {
			o.errorf("%s: no kmsg field for %s.%s in %s (fields: %s); add it to the case's names", path, gt.Name(), gf.Name, kt.Name(), oracleFieldNames(kt))
			continue
		}
		used[kn] = true
		o.values(g.Field(i), k.FieldByName(kn), path+"."+gf.Name)
	}
	// kmsg fields no Gofka field carries must be declared, and a request
	// must leave them at the spec default (the broker sees that value).
	var def reflect.Value
	for i := 0; i < kt.NumField(); i++ {
		kf := kt.Field(i)
		if !kf.IsExported() || kf.Name == "Version" || kf.Name == "UnknownTags" || used[kf.Name] {
			continue
		}
		key := kt.Name() + "." + kf.Name
		fv := k.Field(i)
		if _, custom := o.c.checked[key]; custom {
			o.c.use(key)
			continue // compared by the case's check
		}
		onWire := o.onWire(fv, perturbed(fv))
		if _, declared := o.c.kmsgOnly[key]; !declared {
			if onWire {
				o.errorf("%s: kmsg field %s is on the wire but no Gofka field maps to it; map it or declare it in kmsgOnly", path, key)
			}
			continue
		}
		if onWire {
			o.c.use(key)
		}
		if o.request {
			if !def.IsValid() {
				def = reflect.New(kt)
				if d, ok := def.Interface().(interface{ Default() }); ok {
					d.Default()
				}
				def = def.Elem()
			}
			if !reflect.DeepEqual(fv.Interface(), def.Field(i).Interface()) {
				o.errorf("%s: kmsg-only field %s decoded as %v, want the default %v", path, key, fv.Interface(), def.Field(i).Interface())
			}
		}
	}
}

func oracleFieldNames(t reflect.Type) string {
	var s []string
	for i := 0; i < t.NumField(); i++ {
		if n := t.Field(i).Name; t.Field(i).IsExported() && n != "UnknownTags" {
			s = append(s, n)
		}
	}
	return strings.Join(s, ", ")
}

// values compares one Gofka value with the kmsg value k that carries it.
func (o *oracleCompare) values(g, k reflect.Value, path string) {
	gk, kk := g.Kind(), k.Kind()
	switch {
	case gk == reflect.Struct && kk == reflect.Struct:
		o.structs(g, k, path)
	case gk == reflect.Pointer && g.Type().Elem().Kind() == reflect.Struct && kk == reflect.Pointer:
		if g.IsNil() != k.IsNil() {
			o.leafMismatch(g, k, path)
			return
		}
		if !g.IsNil() {
			o.structs(g.Elem(), k.Elem(), path)
		}
	case gk == reflect.Slice && kk == reflect.Slice && g.Type().Elem().Kind() != reflect.Uint8:
		if g.Len() == 0 && k.Len() == 0 && g.IsNil() != k.IsNil() {
			// Null against empty: visible only where the array is nullable.
			nv := reflect.Zero(k.Type())
			if !g.IsNil() {
				nv = reflect.MakeSlice(k.Type(), 0, 0)
			}
			if o.onWire(k, nv) {
				o.errorf("%s: Gofka %s, kmsg %s", path, oracleShow(g), oracleShow(k))
			}
			return
		}
		if g.Len() != k.Len() {
			o.leafMismatch(g, k, path)
			return
		}
		for i := 0; i < g.Len(); i++ {
			o.values(g.Index(i), k.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		if !oracleLeafEqual(g, k) {
			o.leafMismatch(g, k, path)
		}
	}
}

// leafMismatch reports a difference between Gofka's g and kmsg's k. A
// request field the version does not carry (or a null the version cannot
// tell from empty) is not sent, so any value is right; a response field the
// version does not carry must hold the spec's default, which is what kmsg
// decoded.
func (o *oracleCompare) leafMismatch(g, k reflect.Value, path string) {
	nv, ok := oracleConvert(g, k.Type())
	if !ok {
		nv = perturbed(k)
	}
	if !o.onWire(k, nv) {
		if !o.request {
			o.errorf("%s: not carried at this version: Gofka %s, spec default %s", path, oracleShow(g), oracleShow(k))
		}
		return
	}
	o.errorf("%s: Gofka %s, kmsg %s", path, oracleShow(g), oracleShow(k))
}

// oracleLeafEqual compares scalars, strings, nullable strings, bytes and
// UUIDs across the Gofka and kmsg representations. A Gofka string that
// stands for a nullable kmsg string reads null as "" (documented there).
func oracleLeafEqual(g, k reflect.Value) bool {
	switch {
	case g.Kind() == reflect.String && k.Kind() == reflect.Pointer:
		return !k.IsNil() && g.String() == k.Elem().String() || k.IsNil() && g.String() == ""
	case g.Kind() == reflect.Pointer && k.Kind() == reflect.String:
		return !g.IsNil() && g.Elem().String() == k.String()
	case g.Kind() == reflect.Pointer && k.Kind() == reflect.Pointer:
		if g.IsNil() || k.IsNil() {
			return g.IsNil() == k.IsNil()
		}
		return oracleLeafEqual(g.Elem(), k.Elem())
	case g.Kind() == reflect.Slice && k.Kind() == reflect.Slice: // bytes
		return g.IsNil() == k.IsNil() && bytes.Equal(g.Bytes(), k.Bytes())
	case g.Kind() != k.Kind():
		return false
	}
	switch g.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return g.Int() == k.Int()
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return g.Uint() == k.Uint()
	default:
		return reflect.DeepEqual(g.Interface(), k.Interface())
	}
}

// oracleConvert converts a Gofka leaf to kmsg's type kt, to ask kmsg
// whether the two encode the same.
func oracleConvert(g reflect.Value, kt reflect.Type) (reflect.Value, bool) {
	nv := reflect.New(kt).Elem()
	switch {
	case g.Kind() == reflect.String && kt.Kind() == reflect.Pointer:
		s := g.String()
		nv.Set(reflect.ValueOf(&s))
	case g.Kind() == reflect.Pointer && kt.Kind() == reflect.String:
		if !g.IsNil() {
			nv.SetString(g.Elem().String())
		}
	case g.Kind() == reflect.Pointer && kt.Kind() == reflect.Pointer && kt.Elem().Kind() == reflect.String:
		if !g.IsNil() {
			s := g.Elem().String()
			nv.Set(reflect.ValueOf(&s))
		}
	case g.Kind() == reflect.Slice && kt.Kind() == reflect.Slice && kt.Elem().Kind() != reflect.Struct:
		if g.IsNil() {
			return nv, true
		}
		s := reflect.MakeSlice(kt, g.Len(), g.Len())
		for i := 0; i < g.Len(); i++ {
			e, ok := oracleConvert(g.Index(i), kt.Elem())
			if !ok {
				return nv, false
			}
			s.Index(i).Set(e)
		}
		nv.Set(s)
	case g.Type().ConvertibleTo(kt) && g.Kind() != reflect.Slice && g.Kind() != reflect.Pointer && g.Kind() != reflect.Struct:
		nv.Set(g.Convert(kt))
	default:
		return nv, false
	}
	return nv, true
}

func oracleShow(v reflect.Value) string {
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() != reflect.Struct {
		return fmt.Sprintf("&%#v", v.Elem().Interface())
	}
	if v.Kind() == reflect.Slice && v.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("%#v", v.Interface())
}
