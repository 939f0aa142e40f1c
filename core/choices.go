package core

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gofka/gofka/wire"
)

// The accepted values of every enumerated setting, stated once (issue 21:
// "each fact once"), beside the ranges of the numeric ones
// (core/validate.go). Every door reads a setting through its row here:
//
//   - the property table's setters (Config.Set, New*FromProperties, the C
//     ABI) and the typed Parse functions (core/enums.go) read the text
//     with Choice.parse, which returns the value's canonical spelling;
//   - the client constructors check the typed Config fields, however they
//     were set (With... options only record values), with checkChoice,
//     comparing the field's String with the canonical spellings;
//   - the Python package checks its keyword arguments against CHOICES in
//     python/gofka/_ranges.py, generated from this table by `go run
//     ./core/cmd/configdoc -python` (make docs; a test fails when it is
//     stale), with the same case rule and aliases;
//   - docs/configuration.md lists the accepted values from here.
//
// Case rules follow Kafka's Java client: acks and compression.type are
// case-sensitive (its validators are ValidString.in), the others accept
// any case (CaseInsensitiveValidString).

// Choice is the set of accepted values of one enumerated setting.
type Choice struct {
	Name    string      // the property (a row of the configuration table)
	Values  []string    // the canonical spellings, as the Config field's String gives them
	Aliases [][2]string // other accepted spellings -> canonical spelling ("" = leave unset)
	Case    string      // CaseExact, CaseLower or CaseUpper
	List    bool        // a comma-separated list of at least one value (spaces around an item ignored)
}

// Case rules of a Choice: how a given spelling is compared with the
// accepted ones.
const (
	CaseExact = "exact" // as written: "GZIP" is not "gzip"
	CaseLower = "lower" // any case; the canonical spelling is lower case
	CaseUpper = "upper" // any case; the canonical spelling is upper case
)

var choices = []Choice{
	// -1 is the wire value of all; Python also takes the ints -1, 0, 1.
	{Name: "acks", Values: []string{"all", "0", "1"}, Aliases: [][2]string{{"-1", "all"}}, Case: CaseExact},
	// Python also takes None for none.
	{Name: "compression.type", Values: []string{"none", "gzip", "snappy", "lz4", "zstd"}, Case: CaseExact},
	{Name: "auto.offset.reset", Values: []string{"earliest", "latest", "none"}, Case: CaseLower},
	{Name: "isolation.level", Values: []string{"read_uncommitted", "read_committed"}, Case: CaseLower},
	{Name: "group.protocol", Values: []string{"classic", "consumer"}, Case: CaseLower},
	{Name: "partition.assignment.strategy", Values: []string{"range", "roundrobin", "cooperative-sticky"}, Case: CaseLower, List: true},
	{Name: "share.acknowledgement.mode", Values: []string{"implicit", "explicit"}, Case: CaseLower},
	{Name: "security.protocol", Values: []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, Case: CaseUpper},
	// Empty: no mechanism (the default); Python says None.
	{Name: "sasl.mechanism", Values: []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"},
		Aliases: [][2]string{{"", ""}}, Case: CaseUpper},
	// Empty means none, as in the Java client. Python sets it with the
	// ssl_check_hostname bool.
	{Name: "ssl.endpoint.identification.algorithm", Values: []string{"https", "none"},
		Aliases: [][2]string{{"", "none"}}, Case: CaseLower},
}

// Choices returns the table of enumerated settings sorted by property
// name (it generates CHOICES in python/gofka/_ranges.py and the accepted
// values of docs/configuration.md).
func Choices() []Choice {
	out := append([]Choice(nil), choices...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// findChoice returns the row of a property, nil when it has none.
func findChoice(name string) *Choice {
	for i := range choices {
		if choices[i].Name == name {
			return &choices[i]
		}
	}
	return nil
}

// choiceOf returns the row of an enumerated property; a missing one is a
// programming error of the tables.
func choiceOf(name string) *Choice {
	if c := findChoice(name); c != nil {
		return c
	}
	panic("core: no choice for " + name)
}

// Accepted returns every accepted spelling: the canonical ones, then the
// non-empty aliases.
func (c *Choice) Accepted() []string {
	out := append([]string(nil), c.Values...)
	for _, a := range c.Aliases {
		if a[0] != "" {
			out = append(out, a[0])
		}
	}
	return out
}

// rule says the accepted values in words, the same for every door.
func (c *Choice) rule() string {
	s := "must be one of " + strings.Join(c.Accepted(), ", ")
	if c.List {
		s = "must be a comma-separated list of " + strings.Join(c.Accepted(), ", ")
	}
	if c.Case == CaseExact {
		return s + " (case-sensitive)"
	}
	return s + " (any case)"
}

// doc says the accepted values for docs/configuration.md: "`a`, `b`
// (also `x` = `a`; case-sensitive)".
func (c *Choice) doc() string {
	quoted := func(s string) string {
		if s == "" {
			return "empty"
		}
		return "`" + s + "`"
	}
	vals := make([]string, len(c.Values))
	for i, v := range c.Values {
		vals[i] = quoted(v)
	}
	notes := []string{}
	for _, a := range c.Aliases {
		if a[1] == "" {
			notes = append(notes, quoted(a[0])+" = unset")
		} else {
			notes = append(notes, quoted(a[0])+" = "+quoted(a[1]))
		}
	}
	if c.Case == CaseExact {
		notes = append(notes, "case-sensitive")
	} else {
		notes = append(notes, "any case")
	}
	return strings.Join(vals, ", ") + " (" + strings.Join(notes, "; ") + ")"
}

// parseOne reads one value: its canonical spelling, or the rule.
func (c *Choice) parseOne(v string) (string, error) {
	switch c.Case {
	case CaseLower:
		v = strings.ToLower(v)
	case CaseUpper:
		v = strings.ToUpper(v)
	}
	for _, a := range c.Aliases {
		if a[0] == v {
			return a[1], nil
		}
	}
	for _, w := range c.Values {
		if w == v {
			return w, nil
		}
	}
	return "", fmt.Errorf("%s, got %q", c.rule(), v)
}

// parse reads a property's text: the canonical spelling of its value, or
// for a List row the canonical spellings joined with commas.
func (c *Choice) parse(v string) (string, error) {
	if !c.List {
		return c.parseOne(v)
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		w, err := c.parseOne(item)
		if err != nil {
			return "", err
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return "", fmt.Errorf("%s, got none", c.rule())
	}
	return strings.Join(out, ","), nil
}

// has reports whether v is one of the canonical spellings (a typed
// Config field's String).
func (c *Choice) has(v string) bool {
	for _, w := range c.Values {
		if w == v {
			return true
		}
	}
	return false
}

// checkChoice checks a typed Config field (its String) against its
// property's row: the error a constructor returns for an option given an
// unknown value (Acks(7), OffsetReset("first"), ...).
func checkChoice(name string, v string) error {
	c := choiceOf(name)
	if c.has(v) {
		return nil
	}
	return &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("%s %s, got %q", c.Name, c.rule(), v)}
}

// parseEnum reads a property value into the typed constant whose String
// is its canonical spelling (one of all, which must cover the row's
// values: TestChoicesCoverTheTypedConstants).
func parseEnum[T fmt.Stringer](name, s string, all ...T) (T, error) {
	var zero T
	v, err := choiceOf(name).parse(s)
	if err != nil {
		return zero, err
	}
	for _, t := range all {
		if t.String() == v {
			return t, nil
		}
	}
	panic("core: " + name + " value " + v + " has no constant")
}

// choicesPython renders the CHOICES part of python/gofka/_ranges.py.
func choicesPython(b *strings.Builder) {
	b.WriteString(`

class Choice(NamedTuple):
    """The accepted values of one enumerated setting."""

    #: the canonical spellings (what the engine is given)
    values: Tuple[str, ...]
    #: other accepted spellings -> canonical spelling ("" = leave unset)
    aliases: Dict[str, str]
    #: "exact" (case-sensitive), "lower" or "upper" (any case, the
    #: canonical spelling in that case)
    case: str
    #: a comma-separated list (a Python list or str) of at least one value
    is_list: bool


#: property -> its accepted values (core/choices.go, ` + "`core.Choices()`" + `).
CHOICES: Dict[str, Choice] = {
`)
	for _, c := range Choices() {
		vals := make([]string, len(c.Values))
		for i, v := range c.Values {
			vals[i] = fmt.Sprintf("%q", v)
		}
		tuple := strings.Join(vals, ", ")
		if len(vals) == 1 {
			tuple += ","
		}
		aliases := make([]string, len(c.Aliases))
		for i, a := range c.Aliases {
			aliases[i] = fmt.Sprintf("%q: %q", a[0], a[1])
		}
		list := "False"
		if c.List {
			list = "True"
		}
		fmt.Fprintf(b, "    %q: Choice((%s), {%s}, %q, %s),\n", c.Name, tuple, strings.Join(aliases, ", "), c.Case, list)
	}
	b.WriteString("}\n")
}
