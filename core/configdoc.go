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

What a client holds is bounded by two settings:

- Producer: ` + "`buffer.memory`" + ` (default 32 MiB), the records buffered or in flight;
  Produce blocks (or fails with QUEUE_FULL) while it is full. A record
  counts its encoded size plus 160 bytes, the structures that hold it
  (so 100-byte records take ~300 bytes each: ~113,000 fit in the default);
  the live Go heap of a full buffer stays within about 1.2x the setting.
  The Python producers hold each record's tuple (~150 bytes, plus the
  value object they were given) until its result is served, on top.
- Consumer: ` + "`queued.max.messages.kbytes`" + ` (default 4 MiB), in bytes of records
  (the engine's own structures come on top: about 130 bytes per decoded
  record), the records fetched but not yet returned by Poll, fetches in
  flight included (see its row). ` + "`fetch.max.bytes`" + ` and
  ` + "`max.partition.fetch.bytes`" + ` only size one fetch.

The Go heap of the engine (in Python and C, the heap of libgofka) is
collected with GOGC=100 (it may grow to about twice its live data) under
a soft limit that the library sets when it is loaded: 32 MiB plus each
open client's budget (a producer's ` + "`buffer.memory`" + `, twice a consumer's
` + "`queued.max.messages.kbytes`" + `), and never below 1.5 times the live heap
of the last collection (core/memlimit.go). With one producer at the
defaults the limit is 64 MiB: the collector then runs before the garbage
of a busy producer doubles a full buffer, and a live heap larger than the
budgets (a dev cluster in the same process, large metadata) still gets
half its size as headroom, so the collector never runs without end (a
fixed GOMEMLIMIT=16MiB made a consumer's collector run constantly, at 4x
the CPU). The limit never fails an allocation. The Go runtime's
environment variables win, read when the library is loaded: GOMEMLIMIT
sets your own limit (GOMEMLIMIT=off: none), GOGC trades CPU for memory.
Go programs keep the runtime's defaults unless they call
core.AutoMemoryLimit(). The records the Python producers hand over are
copied into pooled memory reused once their results are in
(capi/produce_slab.go), so a busy producer makes little garbage.

A full buffer is what a producer's peak depends on. A
` + "`produce(cb)`" + ` + ` + "`poll(0)`" + ` loop of 1,000,000 x 100 B records (4 partitions,
Apache Kafka 4.4 on the same 2-core machine, which it outran) peaked at
130 MiB RSS: 43 MiB of Go heap, 76 MiB of the Python process (the
interpreter, the values, each record's tuple until its callback ran) and
9 MiB of the library's file pages; with GOMEMLIMIT=off, 137 MiB (50 MiB
of Go heap). Lower ` + "`buffer.memory`" + ` to bound it further.

Loading the library is a fixed cost that no setting changes: in Python,
` + "`import gofka`" + ` takes ~18 MiB RSS with the interpreter (a bare
interpreter ~10). It does not import asyncio: asyncio and the ssl module
it brings add ~10 MiB, paid on first use of an asyncio client
(` + "`gofka.AsyncProducer`" + `...), as importing aiokafka pays it. The
first client loads libgofka, +14 MiB: ~11
MiB are the library's file pages (text, read-only data and relocations of
a 13 MB file, nearly all of it resident once loaded: the kernel maps the
cached pages around each page touched; clean and shared with every
process using the same file, but counted in each one's RSS) and ~3 MiB are private (1.3 MiB of pointers the loader relocates,
the Go runtime's first heap arena and metadata). Threads are not where
it goes: the library starts 6 (the Go runtime's), an idle Python producer
has 9 in all, and each costs the few pages of stack it touched. On small
workloads this fixed part is most of the difference to clients written
in C or pure Python.
`

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
