// Command configdoc prints docs/configuration.md from the engine's
// configuration table, or with -python the Python module
// python/gofka/_ranges.py (the ranges of the numeric settings, which the
// Python package checks its keyword arguments against):
//
//	go run ./core/cmd/configdoc > docs/configuration.md
//	go run ./core/cmd/configdoc -python > python/gofka/_ranges.py
package main

import (
	"flag"
	"fmt"

	"github.com/gofka/gofka/core"
)

func main() {
	python := flag.Bool("python", false, "print python/gofka/_ranges.py instead of Markdown")
	flag.Parse()
	if *python {
		fmt.Print(core.RangesPython())
		return
	}
	fmt.Print(core.ConfigMarkdown())
}
