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
  On top, until a record's result is served, the Python producers keep
  what its callback will read: about 9 bytes per record handed to
  ` + "`produce()`" + ` (the value and key objects stay referenced), a future per
  ` + "`send()`" + `.
- Consumer: ` + "`queued.max.messages.kbytes`" + ` (default 4 MiB), in bytes of records
  (the engine's own structures come on top: about 130 bytes per decoded
  record), the records fetched but not yet returned by Poll, fetches in
  flight included (see its row). ` + "`fetch.max.bytes`" + ` and
  ` + "`max.partition.fetch.bytes`" + ` only size one fetch.

The library tunes the Go heap of the engine (in Python and C, the heap
of libgofka) when it is loaded, in two ways. The collector's pace
(core/gcpace.go): GOGC=50 (the heap grows to 1.5 times its live data,
at least 2 MiB) while collections cost less than 10% of a CPU, the
runtime's default GOGC=100 (twice, at least 4 MiB) while they cost more,
as on the fastest poll loops (` + "`poll(10000)`" + `: 10-15% at 50, so busy in most
runs: 0.69 us of CPU per record, against 0.65 when it turns busy after
its first 100 ms). A client that
sends or commits one message at a time keeps 2-3 MiB less RSS that way
(20,000 sequential ` + "`await send`" + `: 42.5 -> 40.6 MiB; ` + "`poll(500)`" + ` +
` + "`commit(m)`" + `: 45.8 -> 42.2 MiB), so do ` + "`async for`" + ` (7% at 50; 48 -> 45 MiB
for 1M records) and a ` + "`produce(cb)`" + ` + ` + "`poll(0)`" + ` loop (94 -> 91 MiB), with
no CPU per record the runs could tell apart. And a soft limit
(core/memlimit.go): 32 MiB plus each
open client's budget (a producer's ` + "`buffer.memory`" + `, twice a consumer's
` + "`queued.max.messages.kbytes`" + `), and never below 1.5 times the live heap
of the last collection. With one producer at the
defaults the limit is 64 MiB: the collector then runs before the garbage
of a busy producer doubles a full buffer, and a live heap larger than the
budgets (a dev cluster in the same process, large metadata) still gets
half its size as headroom, so the collector never runs without end (a
fixed GOMEMLIMIT=16MiB made a consumer's collector run constantly, at 4x
the CPU). The limit never fails an allocation. The Go runtime's
environment variables win, read when the library is loaded: GOMEMLIMIT
sets your own limit (GOMEMLIMIT=off: none), GOGC your own pace (it
trades CPU for memory). Go programs keep the runtime's defaults unless
they call core.AutoMemoryLimit() and core.AutoGCPace(). The records the Python producers hand over are
copied into pooled memory reused once their results are in
(capi/produce_slab.go), so a busy producer makes little garbage.

A full buffer is what a producer's peak depends on. A
` + "`produce(cb)`" + ` + ` + "`poll(0)`" + ` loop of 1,000,000 x 100 B records (4 partitions,
Apache Kafka 4.4 on the same 2-core machine) peaked at 87-97 MiB RSS
in runs where the broker kept up: 17-20 MiB of Go heap, 63-70 MiB of the
Python process (the interpreter, the benchmark's values, the C heap) and
7 MiB of the library's file pages. In runs where the client outran the
broker (6 of 7 runs on a new topic), the buffer filled and the peak was
123-137 MiB: 46-60 MiB of Go heap, the ~32 MiB of buffered records plus
the garbage the collector lets grow up to the 64 MiB limit
(` + "`bench/rss_probe.py`" + ` splits a run's peak this way). Lower ` + "`buffer.memory`" + `
to bound it further: the limit follows it.

Loading the library is a fixed cost that no setting changes: in Python,
` + "`import gofka`" + ` takes ~18 MiB RSS with the interpreter (a bare
interpreter ~9). It does not import asyncio: asyncio adds ~6 MiB, paid
on first use of an asyncio client
(` + "`gofka.AsyncProducer`" + `...), as importing aiokafka pays it. The
first client loads libgofka, +9 MiB. ~5.5 MiB are the library's
read-only file pages, clean and shared with every process using the same
file but counted in each one's RSS: what loading touched is given back
once it is done (capi/load_pages_linux.go), and what stays is the text
the engine runs and the function tables the collector reads for each
stack frame it scans, in the 64 KiB the kernel maps around each page
touched. ~1.5 MiB are the pointers the loader relocates, the rest the Go
runtime's first heap arena and metadata. Threads are not where
it goes: the library starts 6 (the Go runtime's), an idle Python producer
has 9 in all, and each costs the few pages of stack it touched. On small
workloads this fixed part is most of the difference to clients written
in C or pure Python.
`

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
