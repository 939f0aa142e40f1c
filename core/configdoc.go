package core

import (
	"fmt"
	"strings"
)

// ConfigMarkdown renders the configuration table as the Markdown of
// docs/configuration.md (regenerate with `go run ./core/cmd/configdoc >
// docs/configuration.md`; a test fails when the file is stale).
func ConfigMarkdown() string {
	var b strings.Builder
	b.WriteString("# Configuration\n\n")
	b.WriteString("Generated from the engine's property table (`core.Properties()`) by\n")
	b.WriteString("`go run ./core/cmd/configdoc > docs/configuration.md`; do not edit by hand.\n\n")
	b.WriteString("The same keys serve the C ABI (`key=value` lines given to `gofka_*_new`),\n")
	b.WriteString("Go (`core.NewProducerFromProperties` and the other `New...FromProperties`, or the typed `With...` options) and the\n")
	b.WriteString("Python keyword arguments, which map onto them.\n\n")
	b.WriteString("| key | type | default | description |\n|---|---|---|---|\n")
	for _, p := range Properties() {
		def := p.Default
		if def == "" {
			def = "(none)"
		}
		typ := p.Type
		if r := findRange(p.Name); r != nil { // core/validate.go
			typ += fmt.Sprintf(", %d to %d", r.Min, r.Max)
		}
		if c := findChoice(p.Name); c != nil { // core/choices.go
			typ += " of " + c.doc()
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", p.Name, escapeCell(typ), def, escapeCell(p.Doc))
	}
	b.WriteString(memoryNotes)
	return b.String()
}

// memoryNotes is the hand-written part of docs/configuration.md on the
// settings that bound a client's memory.
const memoryNotes = `
## Memory

What a client holds is bounded by two settings, both in bytes of records
(the engine's own structures come on top: on the consumer, about
130 bytes per decoded record):

- Producer: ` + "`buffer.memory`" + ` (default 32 MiB), the records buffered or in flight;
  Produce blocks (or fails with QUEUE_FULL) while it is full.
- Consumer: ` + "`queued.max.messages.kbytes`" + ` (default 4 MiB), the records fetched
  but not yet returned by Poll, fetches in flight included (see its row).
  ` + "`fetch.max.bytes`" + ` and ` + "`max.partition.fetch.bytes`" + ` only size one fetch.

The Go heap of the engine (in Python and C, the heap of libgofka) is
collected with the Go runtime's defaults (GOGC=100: it may grow to about
twice its live data) and has no memory limit by default. The Go runtime's
environment variables apply, read when the library is loaded: GOMEMLIMIT
(e.g. GOMEMLIMIT=64MiB) makes the collector work harder as the heap nears
it, GOGC trades CPU for memory. A default limit was measured and left out:
on 1,000,000 x 100 B records, a Python consumer at the default prefetch
peaked at 63-64 MiB RSS; GOMEMLIMIT=24MiB saved 6 MiB for 20% more CPU,
16MiB made the collector run constantly (4x the CPU); on the produce side
GOMEMLIMIT=96MiB took the peak from 387 to 329 MiB.
`

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
