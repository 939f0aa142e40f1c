// Command configdoc prints docs/configuration.md from the engine's
// configuration table.
package main

import (
	"fmt"

	"github.com/gofka/gofka/core"
)

func main() { fmt.Print(core.ConfigMarkdown()) }
