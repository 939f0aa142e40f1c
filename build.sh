#!/usr/bin/env bash
# Builds libgofka.so (the Go engine behind the C ABI) and puts it where the
# Python package finds it. Usage: ./build.sh [output-path]
#   default output: python/gofka/libgofka.so
#   GOFLAGS / CGO_ENABLED are honoured; the build is trimmed and stripped.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-python/gofka/libgofka.so}
command -v go >/dev/null || { echo "build.sh: the Go toolchain is required (https://go.dev/dl)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
CGO_ENABLED=1 go build -buildmode=c-shared -trimpath \
  -ldflags "-s -w -extldflags -Wl,--version-script=$PWD/capi/exports.map" -o "$out" ./capi
rm -f "${out%.so}.h"   # cgo's generated header; include/gofka.h is the documented one
echo "built $out ($(du -h "$out" | cut -f1))"
