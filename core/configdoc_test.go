package core

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// The documentation of the configuration table must match the table.
func TestConfigurationDocIsCurrent(t *testing.T) {
	got, err := os.ReadFile("../docs/configuration.md")
	require.NoError(t, err)
	require.Equal(t, ConfigMarkdown(), string(got),
		"docs/configuration.md is stale: run `go run ./core/cmd/configdoc > docs/configuration.md`")
}

func TestConfigTableDefaultsParse(t *testing.T) {
	for _, p := range Properties() {
		require.NotEmpty(t, p.Doc, p.Name)
		require.NotEmpty(t, p.Type, p.Name)
		if p.Default != "" {
			c := newConfig()
			require.NoError(t, c.Set(p.Name, p.Default), p.Name)
		}
	}
	_, err := parseConfig("no.such.key=1")
	require.ErrorContains(t, err, "unknown config key")
	_, err = parseConfig("acks=7")
	require.ErrorContains(t, err, "acks")
}
