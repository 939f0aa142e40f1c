package main

import (
	"strings"
)

// parseProperties reads the configuration string of the *_new calls:
// '\n'-separated key=value lines, blank lines and '#' comments ignored,
// spaces around keys ignored (core trims values). A key given twice keeps
// its last value, as when the lines were applied in order. core's
// New*FromProperties then check keys and values.
func parseProperties(text string) (map[string]string, error) {
	props := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, invalid("config line %q is not key=value", line)
		}
		props[strings.TrimSpace(k)] = v
	}
	return props, nil
}
