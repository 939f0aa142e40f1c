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
	return b.String()
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
