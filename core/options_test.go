package core

// newConfig is the Config a constructor builds from opts, for tests that
// look at settings (or build a client from a Config) directly.
func newConfig(opts ...option) Config { return configOf(opts) }
