package main

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/gofka/gofka/wire"
)

// TestDocsErrorsUpToDate fails when docs/errors.md differs from what the
// error table generates: run `go run ./wire/cmd/errordoc > docs/errors.md`.
func TestDocsErrorsUpToDate(t *testing.T) {
	var buf bytes.Buffer
	render(&buf)
	have, err := os.ReadFile("../../../docs/errors.md")
	if err != nil {
		t.Fatalf("docs/errors.md: %v (generate it with go run ./wire/cmd/errordoc > docs/errors.md)", err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatal("docs/errors.md is stale: run go run ./wire/cmd/errordoc > docs/errors.md")
	}
}

// TestPythonTableUpToDate fails when python/gofka/_error_table.py differs
// from what the error table generates.
func TestPythonTableUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := renderPython(&buf); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("../../../python/gofka/_error_table.py")
	if err != nil {
		t.Fatalf("python/gofka/_error_table.py: %v (generate it with go run ./wire/cmd/errordoc -python > python/gofka/_error_table.py)", err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatal("python/gofka/_error_table.py is stale: run go run ./wire/cmd/errordoc -python > python/gofka/_error_table.py")
	}
}

func TestEveryCategoryHasAClass(t *testing.T) {
	for _, c := range wire.Categories() {
		found := false
		for _, p := range pythonClasses {
			found = found || p.category == c
		}
		if !found {
			t.Errorf("category %s has no Python class in pythonClasses", c)
		}
	}
}

// TestHeaderUpToDate fails when the generated regions of include/gofka.h
// (error codes, packed layouts) differ from what the tables generate.
func TestHeaderUpToDate(t *testing.T) {
	have, err := os.ReadFile("../../../include/gofka.h")
	if err != nil {
		t.Fatal(err)
	}
	want, err := rewriteHeader(have)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Fatal("include/gofka.h is stale: run go run ./wire/cmd/errordoc -header include/gofka.h (make docs)")
	}
}

// TestLayoutsUpToDate fails when python/gofka/_layouts.py differs from
// what internal/packed generates.
func TestLayoutsUpToDate(t *testing.T) {
	var buf bytes.Buffer
	renderLayouts(&buf)
	have, err := os.ReadFile("../../../python/gofka/_layouts.py")
	if err != nil {
		t.Fatalf("python/gofka/_layouts.py: %v (generate it with make docs)", err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatal("python/gofka/_layouts.py is stale: run go run ./wire/cmd/errordoc -layouts > python/gofka/_layouts.py (make docs)")
	}
}

// A header whose markers are missing, doubled or out of order is an
// error, never a silently unchanged or mangled file.
func TestRewriteHeaderNeedsMarkers(t *testing.T) {
	full := []byte("a\n" + beginCodes + "old\n" + endCodes + beginLayouts + endLayouts + "z\n")
	out, err := rewriteHeader(full)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("old\n")) || !bytes.Contains(out, []byte("#define GOFKA_ERR_TIMED_OUT")) ||
		!bytes.Contains(out, []byte("#define GOFKA_EVENT_SIZE 28\n")) || !bytes.HasSuffix(out, []byte(endLayouts+"z\n")) {
		t.Fatalf("regions not regenerated:\n%s", out)
	}
	for _, bad := range []string{
		"a\n" + beginLayouts + endLayouts,                                                 // no error-code markers
		"a\n" + endCodes + beginCodes + beginLayouts + endLayouts,                         // out of order
		"a\n" + beginCodes + endCodes + beginCodes + endCodes + beginLayouts + endLayouts, // twice
	} {
		if _, err := rewriteHeader([]byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// Every client-local code of the table is a constant of the header and of
// the Python module (issue 21: -110 was missing from gofka.h).
func TestEveryLocalCodeIsGenerated(t *testing.T) {
	var c, py bytes.Buffer
	headerCodes(&c)
	if err := renderPython(&py); err != nil {
		t.Fatal(err)
	}
	for _, e := range wire.ErrorTable() {
		if !e.Code.IsLocal() {
			continue
		}
		if !bytes.Contains(c.Bytes(), []byte(fmt.Sprintf("(%d)\n", e.Code))) {
			t.Errorf("gofka.h has no constant for %d %s", e.Code, e.Name)
		}
		if !bytes.Contains(py.Bytes(), []byte(fmt.Sprintf(" = %d\n", e.Code))) {
			t.Errorf("_error_table.py has no constant for %d %s", e.Code, e.Name)
		}
	}
}
