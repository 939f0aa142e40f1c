#!/usr/bin/env bash
# The fault-injection suite (docs/reliability.md), as `make test-faults` runs
# it: starts a 3-node KRaft cluster (scripts/kafka.sh, KAFKA_NODES=3), runs
# the Go fault tests (tests/faults, build tag "faults") and the Python fault
# tests (tests/faults/*.py) against it, prints the figures, and always stops
# the cluster, whatever happens.
#
# Usage: scripts/run-faults.sh [go-test-run-regexp]
#   e.g. scripts/run-faults.sh TestKillLeaderWhileProducing  (Go tests only)
# Env:
#   KAFKA_PORT      broker port of node 1 (default 9892; nodes use +0..+2,
#                   controllers KAFKA_CONTROLLER_PORT, default +1000)
#   KAFKA_WORKDIR   cluster data and logs (default <repo>/.kafka-faults)
#   VENV            Python virtualenv with tests/requirements.txt (default
#                   .venv; python3 when it does not exist)
#   FAULTS_PYTHON   0 skips the Python fault tests (default 1)
#   GOFKA_FAULT_GROUP_PROTOCOLS  group protocols of the group test
#                   (default classic,consumer)
# Every test has its own hard timeout; the whole run is bounded by
# FAULTS_TIMEOUT (default 11m) for Go and per-test timeouts for Python.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export KAFKA_NODES=3
export KAFKA_PORT=${KAFKA_PORT:-9892}
export KAFKA_WORKDIR=${KAFKA_WORKDIR:-$ROOT/.kafka-faults}
# Broker settings of the fault cluster. Broker failure detection keeps
# Kafka's defaults (broker.session.timeout.ms 9 s) so the recovery times
# measured are those of a default cluster. KIP-848 groups get a 6 s member
# session (default 45 s, its minimum too) so the group test finishes in
# time; classic groups ask for 6 s themselves.
export KAFKA_EXTRA_PROPS=${KAFKA_EXTRA_PROPS:-"group.consumer.min.session.timeout.ms=6000
group.consumer.session.timeout.ms=6000
group.consumer.min.heartbeat.interval.ms=1000
group.consumer.heartbeat.interval.ms=1000"}
export GOFKA_FAULT_GROUP_PROTOCOLS=${GOFKA_FAULT_GROUP_PROTOCOLS:-classic,consumer}
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || PY=python3
RUN=${1:-}

step() { printf '\n=== %s\n' "$*"; }

mkdir -p "$KAFKA_WORKDIR"
REPORT="$KAFKA_WORKDIR/report.jsonl"
rm -f "$REPORT"
export GOFKA_FAULT_REPORT="$REPORT"
export GOFKA_KAFKA_SCRIPT="$ROOT/scripts/kafka.sh"

cleanup() {
  rc=$?
  step "stop the fault cluster"
  # Resume frozen nodes first so that SIGTERM can stop them.
  for id in 1 2 3; do ./scripts/kafka.sh kill "$id" CONT >/dev/null 2>&1 || true; done
  ./scripts/kafka.sh down || true
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "vet the fault tests"
go vet -tags faults ./tests/faults

step "start a 3-node Apache Kafka (ports $KAFKA_PORT-$((KAFKA_PORT + 2)), workdir $KAFKA_WORKDIR)"
start=$SECONDS
./scripts/kafka.sh up >/dev/null
GOFKA_FAULT_BROKERS=$(./scripts/kafka.sh bootstrap)
export GOFKA_FAULT_BROKERS
echo "cluster $GOFKA_FAULT_BROKERS ready in $((SECONDS - start)) s"

rc=0
step "Go fault tests"
go test -tags faults -count=1 -v -timeout "${FAULTS_TIMEOUT:-11m}" ${RUN:+-run "$RUN"} ./tests/faults 2>&1 |
  grep -v '^=== \(PAUSE\|CONT\)' || rc=1

if [ "${FAULTS_PYTHON:-1}" = 1 ] && [ -z "$RUN" ]; then
  step "Python fault tests"
  [ -f python/gofka/libgofka.so ] || ./build.sh python/gofka/libgofka.so
  PYTHONPATH=python "$PY" -m pytest -q -p no:cacheprovider -o asyncio_default_fixture_loop_scope=function tests/faults || rc=1
fi

step "figures ($REPORT)"
if [ -s "$REPORT" ]; then
  "$PY" - "$REPORT" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    name = row.pop("test")
    print("%s\n    %s" % (name, ", ".join("%s=%s" % kv for kv in sorted(row.items()))))
EOF
fi
echo "total: $((SECONDS - start)) s"
exit $rc
