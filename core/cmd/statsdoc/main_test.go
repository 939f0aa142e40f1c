package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsStatisticsUpToDate fails when docs/statistics.md differs from
// what the snapshot types generate: run
// `go run ./core/cmd/statsdoc > docs/statistics.md` (or make docs).
func TestDocsStatisticsUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := render(&buf, "../.."); err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("../../../docs/statistics.md")
	if err != nil {
		t.Fatalf("docs/statistics.md: %v (generate it with go run ./core/cmd/statsdoc > docs/statistics.md)", err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatal("docs/statistics.md is stale: run go run ./core/cmd/statsdoc > docs/statistics.md")
	}
}

// A snapshot field without a comment is refused, not documented blank.
func TestFieldWithoutCommentFails(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../stats.go")
	if err != nil {
		t.Fatal(err)
	}
	// Drop the comment of ProducerStats.Requests.
	const doc = "\t// Requests is the number of Produce requests written.\n"
	if !bytes.Contains(src, []byte(doc)) {
		t.Fatal("the comment this test removes is gone: update the test")
	}
	src = bytes.Replace(src, []byte(doc), nil, 1)
	if err := os.WriteFile(filepath.Join(dir, "stats.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	conn, err := os.ReadFile("../../stats_conn.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stats_conn.go"), conn, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = render(&buf, dir)
	if err == nil || !strings.Contains(err.Error(), "ProducerStats.Requests has no comment") {
		t.Fatalf("got %v, want an error naming ProducerStats.Requests", err)
	}
}
