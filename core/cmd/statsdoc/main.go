// Command statsdoc prints docs/statistics.md from the engine's statistics
// snapshot types (core.ProducerStats, core.ConsumerStats, core.AdminStats
// and the types they contain): each field's JSON name and type by
// reflection, its meaning from the comment on the field in core's source.
//
//	go run ./core/cmd/statsdoc > docs/statistics.md
//
// It fails (exit 1) when a field has no comment. A test fails when the
// file is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/gofka/gofka/core"
)

func main() {
	dir := flag.String("core", "core", "the directory of package core's source (for the field comments)")
	flag.Parse()
	var buf bytes.Buffer
	if err := render(&buf, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "statsdoc:", err)
		os.Exit(1)
	}
	os.Stdout.Write(buf.Bytes())
}

// section is one documented type: its heading and what it is.
type section struct {
	typ   reflect.Type
	title string
	intro string
}

var sections = []section{
	{reflect.TypeOf(core.ProducerStats{}), "Producer", "`Producer.stats()` (Python), `gofka_producer_stats` (C), `Producer.Stats()` (Go: `core.ProducerStats`)."},
	{reflect.TypeOf(core.ProducerPartitionStats{}), "Producer: `partitions[]`", "One per partition the producer has routed records to (`core.ProducerPartitionStats`)."},
	{reflect.TypeOf(core.ConsumerStats{}), "Consumer", "`Consumer.stats()` (Python), `gofka_consumer_stats` (C), `Consumer.Stats()` (Go: `core.ConsumerStats`)."},
	{reflect.TypeOf(core.ConsumerPartitionStats{}), "Consumer: `partitions[]`", "One per assigned partition (`core.ConsumerPartitionStats`)."},
	{reflect.TypeOf(core.AdminStats{}), "Admin client", "`AdminClient.stats()` (Python), `gofka_admin_stats` (C), `Admin.Stats()` (Go: `core.AdminStats`)."},
	{reflect.TypeOf(core.BrokerStats{}), "`brokers[]` (every client)", "One per broker address the client's connection pool has dialed (`core.BrokerStats`). Clients that share a connection pool share its connections, so they report the same numbers here."},
}

const preamble = `# Statistics

Generated from the engine's snapshot types (` + "`core/stats.go`, `core/stats_conn.go`" + `) by
` + "`go run ./core/cmd/statsdoc > docs/statistics.md`" + ` (` + "`make docs`" + `); do not edit by hand.
The meaning of each field is the comment on it in the Go source.

Every client has a statistics snapshot, the same object at every front door:

- Python: ` + "`stats()`" + ` on ` + "`Producer`, `AsyncProducer`, `Consumer`, `AsyncConsumer`, `AdminClient`, `AsyncAdminClient`" + `
  returns it as a dict. With the constructor keywords ` + "`stats_interval_ms`" + ` (default 0 = off)
  and ` + "`on_stats`" + `, the client calls ` + "`on_stats(stats_dict)`" + ` every interval in a
  daemon thread of its own (` + "`gofka-stats-<kind>`" + `), asyncio clients included (never on
  the event loop: use ` + "`loop.call_soon_threadsafe`" + ` from the callback to get there).
  An exception in the callback is logged on the client's logger and the reports go on;
  close ends them. See ` + "`python/gofka/_stats.py`" + `.
- C: ` + "`gofka_producer_stats`, `gofka_consumer_stats`, `gofka_admin_stats`" + ` return it as a
  JSON object in a buffer freed with ` + "`gofka_free`" + ` (` + "`include/gofka.h`" + `).
- Go: ` + "`Producer.Stats()`, `Consumer.Stats()`, `Admin.Stats()`" + ` return the structs below; their
  JSON tags are the names used here.

Taking a snapshot reads counters and takes the client's locks briefly; it never
waits on the network. The counters behind it are kept whether or not anyone
asks: atomic additions per request, response, batch or fetch response, never
per record. Counters count from the creation of the client (per-broker ones
from the creation of its connection pool). Every field is always present;
arrays may be empty.

Prometheus: ` + "`examples/prometheus_stats.py`" + ` exports ` + "`stats()`" + ` through ` + "`prometheus_client`" + ` (a
collector that takes the snapshots at each scrape; run by
` + "`tests/python/test_example_prometheus.py`" + `).
`

// render writes the Markdown; coreDir is where package core's source is.
func render(w io.Writer, coreDir string) error {
	docs, err := fieldDocs(coreDir)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString(preamble)
	for _, s := range sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n| field | type | meaning |\n|---|---|---|\n", s.title, s.intro)
		for i := 0; i < s.typ.NumField(); i++ {
			f := s.typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				return fmt.Errorf("%s.%s has no JSON name", s.typ.Name(), f.Name)
			}
			doc := docs[s.typ.Name()+"."+f.Name]
			if doc == "" {
				return fmt.Errorf("%s.%s has no comment in %s", s.typ.Name(), f.Name, coreDir)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, jsonType(f.Type), strings.ReplaceAll(meaning(s.typ, f.Name, doc), "|", "\\|"))
		}
	}
	_, err = w.Write(b.Bytes())
	return err
}

// meaning turns the Go comment of field name of t into the table's
// wording: without the leading "Name is" (Go's convention), and with the
// names of t's other fields as their JSON names.
func meaning(t reflect.Type, name, doc string) string {
	for _, verb := range []string{" is ", " are "} {
		if rest, ok := strings.CutPrefix(doc, name+verb); ok {
			doc = rest
			if first, _, _ := strings.Cut(doc, " "); first == strings.ToLower(first) && !strings.ContainsAny(first, ".\"_") {
				doc = strings.ToUpper(doc[:1]) + doc[1:]
			}
			break
		}
	}
	words := strings.Fields(doc)
	for i, w := range words {
		core := strings.TrimRight(w, ".,;:)")
		lead := strings.TrimLeft(core, "(")
		if f, ok := t.FieldByName(lead); ok && lead != "" && lead[0] >= 'A' && lead[0] <= 'Z' {
			j, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			words[i] = strings.Replace(w, lead, "`"+j+"`", 1)
		}
	}
	return strings.Join(words, " ")
}

// jsonType names the JSON type of a field of type t.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array of " + jsonType(t.Elem())
	case reflect.Struct:
		return "`" + t.Name() + "` objects"
	}
	return t.String()
}

// fieldDocs reads the comments of the struct fields declared in the
// non-test Go files of dir, keyed "Type.Field", each as one line.
func fieldDocs(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fl := range st.Fields.List {
				text := fl.Doc.Text()
				if text == "" {
					text = fl.Comment.Text()
				}
				for _, name := range fl.Names {
					out[ts.Name.Name+"."+name.Name] = strings.Join(strings.Fields(text), " ")
				}
			}
			return false
		})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Go source with struct types in %s", dir)
	}
	return out, nil
}
