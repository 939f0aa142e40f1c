#!/usr/bin/env bash
# The whole test suite, as `make test` runs it:
#   1. gofmt / go vet / mypy, Go unit and engine tests (dev cluster), the
#      portable wait fallback (-tags gofka_portable), the libzstd encoder
#      (-tags gofka_czstd), fuzz smoke;
#   2. a real Apache Kafka (scripts/kafka.sh) started for the rest and
#      always stopped on exit;
#   3. Go integration tests, Python tests (dev cluster and real Kafka), and
#      the console-consumer oracle, all against that broker.
# Env: FUZZTIME (default 5s per fuzz target), KAFKA_PORT (default 9092),
#      VENV (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export KAFKA_PORT=${KAFKA_PORT:-9092}
PY="$VENV/bin/python"
# `make build` compiled the C speedups; the tests fail if they did not load.
export GOFKA_REQUIRE_SPEEDUPS=1

step() { printf '\n=== %s\n' "$*"; }

step "lint"
bad=$(gofmt -l wire core devcluster capi internal)
[ -z "$bad" ] || { echo "gofmt needed: $bad"; exit 1; }
go vet ./...
"$VENV/bin/mypy"  # the Python package, strict (pyproject.toml [tool.mypy])

step "Go unit and engine tests (dev cluster)"
go test -count=1 ./...

# internal/ppoll's portable fallbacks (poll(2) and a pipe, what non-Linux
# builds use) under the engine's socket reader and capi's wake pipes.
step "portable wait fallback (-tags gofka_portable)"
go test -count=1 -tags gofka_portable ./internal/ppoll
go test -count=1 -tags gofka_portable ./core -run 'TestReadRole|TestCallerRead|TestEndWait|TestIdleConnection|TestClaimedResponse|TestUnknownCorrelation|TestCloseNotifies'
go test -count=1 -tags gofka_portable ./capi -run 'TestEventQueue|TestWakePipe'

# The C library's zstd encoder (libzstd through cgo, build.sh's tag); the
# Go tests above ran the pure-Go one.
step "libzstd encoder (-tags gofka_czstd)"
go test -count=1 -tags gofka_czstd ./wire

step "fuzz smoke (${FUZZTIME:-5s} per target)"
./scripts/fuzz.sh "${FUZZTIME:-5s}"

step "Python tests on the dev cluster"
PYTHONPATH=python "$PY" -m pytest -q -p no:cacheprovider --timeout=300 tests/python

step "Python tests of the pure-Python paths (GOFKA_NO_SPEEDUPS=1, dev cluster)"
GOFKA_NO_SPEEDUPS=1 GOFKA_REQUIRE_SPEEDUPS=0 PYTHONPATH=python "$PY" -m pytest -q -p no:cacheprovider --timeout=300 \
  tests/python/test_message.py tests/python/test_speedups.py tests/python/test_producer_produce.py \
  tests/python/test_consumer.py tests/python/test_async_consumer.py

step "start Apache Kafka (plaintext + TLS/SASL listeners)"
trap './scripts/kafka.sh down || true' EXIT
KAFKA_SECURITY=1 ./scripts/kafka.sh up
# Addresses of the secured listeners, CA and client certificate paths.
set -a; . "${KAFKA_WORKDIR:-.kafka}/security.env"; set +a
export GOFKA_REQUIRE_SECURITY=1
export GOFKA_BROKERS="127.0.0.1:${KAFKA_PORT}"

step "Go tests against Apache Kafka ($GOFKA_BROKERS)"
go test -count=1 ./core/...

step "Python tests against Apache Kafka ($GOFKA_BROKERS)"
PYTHONPATH=python GOFKA_KAFKA_SCRIPT="$PWD/scripts/kafka.sh" "$PY" -m pytest -q -p no:cacheprovider --timeout=300 tests/python tests/integration

step "C and C++ tests against Apache Kafka"
make --no-print-directory test-c

step "packaging: wheel in a fresh venv, make install + pkg-config, examples"
make --no-print-directory test-packaging
