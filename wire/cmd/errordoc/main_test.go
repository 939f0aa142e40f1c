package main

import (
	"bytes"
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
