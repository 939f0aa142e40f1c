#!/usr/bin/env bash
# Broker compatibility: the integration suites (Go engine tests and Python
# tests against a real broker, not the fault suite) against each Apache Kafka
# version of KAFKA_COMPAT_VERSIONS, one single-node KRaft broker at a time,
# always stopped on exit. `make test` covers the default version
# (scripts/kafka.sh, 4.4.0); this adds the oldest supported ones.
# Env: KAFKA_COMPAT_VERSIONS (default "3.9.2 4.0.0": the newest 3.x on Maven
#      Central and the first 4.x), KAFKA_COMPAT_PORT (default 9892), VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
VERSIONS=${KAFKA_COMPAT_VERSIONS:-3.9.2 4.0.0}
export KAFKA_PORT=${KAFKA_COMPAT_PORT:-9892}
export GOFKA_REQUIRE_SPEEDUPS=1

step() { printf '\n=== %s\n' "$*"; }

running=""
stop() { [ -z "$running" ] || KAFKA_VERSION="$running" ./scripts/kafka.sh down || true; }
trap stop EXIT
failed=""  # every version runs; the exit status says whether any failed

for v in $VERSIONS; do
  export KAFKA_VERSION="$v" KAFKA_WORKDIR="$PWD/.kafka-compat-$v"
  step "start Apache Kafka $v"
  running="$v"
  ./scripts/kafka.sh up
  export GOFKA_BROKERS="127.0.0.1:${KAFKA_PORT}" GOFKA_KAFKA_VERSION="$v"

  step "Go tests against Apache Kafka $v"
  go test -count=1 ./core/... || failed="$failed $v(go)"

  step "Python tests against Apache Kafka $v"
  PYTHONPATH=python GOFKA_KAFKA_SCRIPT="$PWD/scripts/kafka.sh" "$PY" -m pytest -q -p no:cacheprovider \
    --timeout=300 tests/python tests/integration || failed="$failed $v(python)"

  ./scripts/kafka.sh down
  running=""
done
if [ -n "$failed" ]; then
  echo "run-compat: failed on:$failed" >&2
  exit 1
fi
