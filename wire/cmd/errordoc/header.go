package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gofka/gofka/internal/packed"
	"github.com/gofka/gofka/wire"
)

// legacyNames are the constant names (after GOFKA_ / in Python) that the
// header published before it was generated and that differ from
// "ERR_" + the table's name; they are kept so that no caller breaks.
var legacyNames = map[wire.ErrorCode]string{
	wire.ErrNoBrokersAvailable: "ERR_NO_BROKERS",
}

type localCode struct {
	name string // without the GOFKA_ prefix: "OK", "ERR_TIMED_OUT"
	code wire.ErrorCode
	doc  string
}

// localCodes is OK then every client-local code of the table, from -100
// down.
func localCodes() []localCode {
	out := []localCode{{"OK", wire.ErrNone, "Success."}}
	var local []localCode
	for _, e := range wire.ErrorTable() {
		if !e.Code.IsLocal() {
			continue
		}
		name, ok := legacyNames[e.Code]
		if !ok {
			name = "ERR_" + e.Name
		}
		local = append(local, localCode{name, e.Code, e.Description})
	}
	// The table is sorted by code (-118 first): list -100 first.
	for i := len(local) - 1; i >= 0; i-- {
		out = append(out, local[i])
	}
	return out
}

// The marker comments of the generated regions of gofka.h.
const (
	beginCodes   = "/* BEGIN GENERATED: error codes (make docs; wire/errors.go) */\n"
	endCodes     = "/* END GENERATED: error codes */\n"
	beginLayouts = "/* BEGIN GENERATED: packed layouts (make docs; internal/packed) */\n"
	endLayouts   = "/* END GENERATED: packed layouts */\n"
)

// headerCodes is the body of the error-codes region.
func headerCodes(w io.Writer) {
	fmt.Fprintln(w, "/* Client-local error codes (Kafka's own codes are >= -1); docs/errors.md")
	fmt.Fprintln(w, " * and gofka_error_table() list every code with its name and category. */")
	width := 0
	for _, c := range localCodes() {
		width = max(width, len(c.name))
	}
	for _, c := range localCodes() {
		value := fmt.Sprint(int32(c.code))
		if c.code < 0 {
			value = "(" + value + ")"
		}
		fmt.Fprintf(w, "/* %s */\n", strings.ReplaceAll(c.doc, "*/", "* /"))
		fmt.Fprintf(w, "#define GOFKA_%-*s %6s\n", width, c.name, value)
	}
}

// headerLayouts is the body of the packed-layouts region.
func headerLayouts(w io.Writer) {
	fmt.Fprintln(w, "/* Sizes and byte offsets of the fixed-size records of the packed formats")
	fmt.Fprintln(w, " * (all little-endian, no padding); the formats are described with the")
	fmt.Fprintln(w, " * functions that use them. */")
	for _, l := range packed.All() {
		up := strings.ToUpper(l.Name)
		fmt.Fprintf(w, "/* %s: %s */\n", l.Name, l.Doc)
		fmt.Fprintf(w, "#define GOFKA_%s_SIZE %d\n", up, l.Size)
		for _, f := range l.Fields {
			fmt.Fprintf(w, "#define GOFKA_%s_%s_OFFSET %d /* %s */\n", up, strings.ToUpper(f.Name), f.Offset, f.Type.CType())
		}
	}
}

// replaceRegion replaces what lies between begin and end in src (both
// markers must be there once, in that order) with body.
func replaceRegion(src []byte, begin, end string, body func(io.Writer)) ([]byte, error) {
	i := bytes.Index(src, []byte(begin))
	j := bytes.Index(src, []byte(end))
	if i < 0 || j < i || bytes.Count(src, []byte(begin)) != 1 || bytes.Count(src, []byte(end)) != 1 {
		return nil, fmt.Errorf("the header needs the lines %q and %q once each, in that order", strings.TrimSpace(begin), strings.TrimSpace(end))
	}
	var out bytes.Buffer
	out.Write(src[:i+len(begin)])
	body(&out)
	out.Write(src[j:])
	return out.Bytes(), nil
}

// rewriteHeader returns src with its generated regions regenerated.
func rewriteHeader(src []byte) ([]byte, error) {
	src, err := replaceRegion(src, beginCodes, endCodes, headerCodes)
	if err != nil {
		return nil, err
	}
	return replaceRegion(src, beginLayouts, endLayouts, headerLayouts)
}

func rewriteHeaderFile(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := rewriteHeader(src)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal(out, src) {
		return nil
	}
	return os.WriteFile(path, out, 0o644)
}

// renderLayouts writes python/gofka/_layouts.py.
func renderLayouts(w io.Writer) {
	fmt.Fprintln(w, `"""The fixed-size records of libgofka's packed formats (include/gofka.h):`)
	fmt.Fprintln(w, "for each, its struct format (little-endian, no padding), its size and the")
	fmt.Fprintln(w, "byte offset of each field.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Generated from internal/packed by `go run ./wire/cmd/errordoc -layouts >")
	fmt.Fprintln(w, "python/gofka/_layouts.py` (make docs); do not edit.")
	fmt.Fprintln(w, `"""`)
	for _, l := range packed.All() {
		up := strings.ToUpper(l.Name)
		fmt.Fprintln(w)
		fmt.Fprintf(w, "# %s: %s\n", l.Name, l.Doc)
		fmt.Fprintf(w, "%s_FORMAT = %q\n", up, l.StructFormat())
		fmt.Fprintf(w, "%s_SIZE = %d\n", up, l.Size)
		for _, f := range l.Fields {
			fmt.Fprintf(w, "%s_%s_OFFSET = %d\n", up, strings.ToUpper(f.Name), f.Offset)
		}
	}
}
