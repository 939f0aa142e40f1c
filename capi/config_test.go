package main

import (
	"testing"

	"github.com/gofka/gofka/wire"
)

// The configuration string of the *_new calls: key=value lines, comments
// and blank lines skipped, keys trimmed, the last of a repeated key wins,
// and a line without '=' is INVALID_ARGUMENT.
func TestParseProperties(t *testing.T) {
	got, err := parseProperties("# producer\n bootstrap.servers = k1:9092\n\nacks=1\nacks=all\nclient.id=a=b\r\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"bootstrap.servers": " k1:9092", "acks": "all", "client.id": "a=b"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: got %q, want %q (all: %q)", k, got[k], v, got)
		}
	}
	if _, err := parseProperties("bootstrap.servers=k1:9092\nacks"); wire.CodeOf(err) != wire.ErrInvalidArgument {
		t.Fatalf("a line without '=': got %v", err)
	}
}
