#!/usr/bin/env bash
# Builds libgofka.so (the Go engine behind the C ABI) and puts it where the
# Python package finds it. Usage: ./build.sh [output-path]
#   default output: python/gofka/libgofka.so
#   GOFLAGS / CGO_ENABLED are honoured; the build is trimmed and stripped.
# -tags gofka_czstd: zstd batches are compressed with libzstd (vendored C,
# github.com/DataDog/zstd) instead of the pure-Go encoder that Go programs
# get by default; see wire/zstd_encode_cgo.go.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-python/gofka/libgofka.so}
command -v go >/dev/null || { echo "build.sh: the Go toolchain is required (https://go.dev/dl)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
CGO_ENABLED=1 go build -buildmode=c-shared -trimpath -tags gofka_czstd \
  -ldflags "-s -w -extldflags -Wl,--version-script=$PWD/capi/exports.map" -o "$out" ./capi
rm -f "${out%.so}.h"   # cgo's generated header; include/gofka.h is the documented one
echo "built $out ($(du -h "$out" | cut -f1))"
