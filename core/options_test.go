package core

import (
	"fmt"
	"strings"

	"github.com/gofka/gofka/wire"
)

// newConfig is the Config a constructor builds from opts, for tests that
// look at settings (or build a client from a Config) directly.
func newConfig(opts ...option) Config { return configOf(opts) }

// parseConfig builds a Config from '\n'-separated key=value lines over the
// defaults, as the C ABI's configuration strings are read (capi's
// parseProperties, then configFromProperties).
func parseConfig(text string) (Config, error) {
	props := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Config{}, &wire.Error{Code: wire.ErrInvalidArgument, Detail: fmt.Sprintf("config line %q is not key=value", line)}
		}
		props[strings.TrimSpace(k)] = v
	}
	return configFromProperties(props)
}
