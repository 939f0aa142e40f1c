//go:build !gofka_portable

package ppoll

const portableTag = false
