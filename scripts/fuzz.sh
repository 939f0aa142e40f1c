#!/usr/bin/env bash
# Runs every Go fuzz target for a bounded time each (default 10s).
# Usage: scripts/fuzz.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz $pkg $f ($t)"
    if ! out=$(go test -run '^$' -fuzz "^${f}\$" -fuzztime "$t" -fuzzminimizetime 5s "$pkg" 2>&1); then
      echo "$out" | tail -40
      echo "fuzz: $f in $pkg FAILED (the crashing input is saved under testdata/fuzz/$f; commit it as a regression test)"
      exit 1
    fi
  done
done
echo "fuzz: all targets ran for $t without a failure"
