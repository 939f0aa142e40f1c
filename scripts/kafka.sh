#!/usr/bin/env bash
# Real Apache Kafka test harness for Gofka.
#
# Assembles Apache Kafka from Maven Central jars (no tarball, no Docker) and runs
# 1 or 3 combined broker+controller KRaft nodes on 127.0.0.1.
# See scripts/README.md for the commands and environment variables.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_LOG4J_VERSION="${KAFKA_LOG4J_VERSION:-2.25.5}"
GOFKA_CACHE="${GOFKA_CACHE:-${HOME:-/tmp}/.cache/gofka}"
KAFKA_HOME_DIR="$GOFKA_CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME_DIR/libs"
KAFKA_FETCH_MARKER="$KAFKA_HOME_DIR/.fetch-complete"
KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"

KAFKA_WORKDIR="${KAFKA_WORKDIR:-$REPO_ROOT/.kafka}"
KAFKA_NODES="${KAFKA_NODES:-1}"
KAFKA_HOST="127.0.0.1"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1000))}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
KAFKA_JVM_OPTS="${KAFKA_JVM_OPTS:-}"
KAFKA_TOOL_HEAP_OPTS="${KAFKA_TOOL_HEAP_OPTS:--Xmx256m}"
KAFKA_LOG_LEVEL="${KAFKA_LOG_LEVEL:-INFO}"
KAFKA_LOG_QUIET_LEVEL="${KAFKA_LOG_QUIET_LEVEL:-WARN}"
KAFKA_GROUP_PROTOCOLS="${KAFKA_GROUP_PROTOCOLS:-}"
KAFKA_EXTRA_PROPS="${KAFKA_EXTRA_PROPS:-}"
KAFKA_FORMAT_ARGS="${KAFKA_FORMAT_ARGS:-}"
KAFKA_CONSUME_TIMEOUT_MS="${KAFKA_CONSUME_TIMEOUT_MS:-20000}"
# Secured listeners (KAFKA_SECURITY=1): six extra ports per node from
# KAFKA_SECURITY_PORT on; see the security section below.
KAFKA_SECURITY="${KAFKA_SECURITY:-0}"
KAFKA_SECURITY_PORT="${KAFKA_SECURITY_PORT:-}"

if [[ -n "${JAVA:-}" ]]; then
  :
elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA="java"
fi

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- helpers ---

# Kafka version >= given major.minor ?
version_at_least() {
  local want_major="$1" want_minor="$2" major minor rest
  IFS=. read -r major minor rest <<<"$KAFKA_VERSION"
  ((major > want_major || (major == want_major && minor >= want_minor)))
}

validate_nodes() {
  [[ "$KAFKA_NODES" =~ ^[1-9]$ ]] || die "KAFKA_NODES must be 1..9 (got '$KAFKA_NODES')"
}

node_ids() { seq 1 "$KAFKA_NODES"; }
broker_port() { echo $((KAFKA_PORT + $1 - 1)); }
controller_port() { echo $((KAFKA_CONTROLLER_PORT + $1 - 1)); }

bootstrap_servers() {
  local id out=""
  for id in $(node_ids); do out+="${out:+,}$KAFKA_HOST:$(broker_port "$id")"; done
  echo "$out"
}

quorum_voters() {
  local id out=""
  for id in $(node_ids); do out+="${out:+,}$id@$KAFKA_HOST:$(controller_port "$id")"; done
  echo "$out"
}

node_dir() { echo "$KAFKA_WORKDIR/node-$1"; }
node_pidfile() { echo "$KAFKA_WORKDIR/node-$1.pid"; }
node_logfile() { echo "$KAFKA_WORKDIR/node-$1.log"; }
node_config() { echo "$KAFKA_WORKDIR/config/server-$1.properties"; }

# TCP connect test (bash /dev/tcp, no external tools).
port_open() {
  local port="$1"
  (exec 3<>"/dev/tcp/$KAFKA_HOST/$port") 2>/dev/null
}

# pid of a running node, or nothing. Guards against pid reuse.
node_pid() {
  local pidfile pid
  pidfile="$(node_pidfile "$1")"
  [[ -f "$pidfile" ]] || return 1
  pid="$(<"$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  local tries=0
  # Right after start the node's shell is still exec'ing java: its cmdline
  # can read empty or as the shell for a moment, so look again briefly
  # before calling a live process "not a broker".
  while :; do
    kill -0 "$pid" 2>/dev/null || return 1
    grep -q 'kafka\.Kafka ' < <(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) && break
    ((++tries < 20)) || return 1
    sleep 0.1
  done
  echo "$pid"
}

# Node ids that have a pid file in the workdir (whatever KAFKA_NODES says now).
recorded_node_ids() {
  local f id
  shopt -s nullglob
  for f in "$KAFKA_WORKDIR"/node-*.pid; do
    id="${f##*/node-}"
    id="${id%.pid}"
    [[ "$id" =~ ^[0-9]+$ ]] && echo "$id"
  done | sort -n
  shopt -u nullglob
}

# Node count and ports of the workdir's cluster (saved by 'up') override the
# environment, so tools and 'start' talk to the cluster that is really there.
load_layout() {
  local f="$KAFKA_WORKDIR/layout.env"
  if [[ -f "$f" ]]; then
    # shellcheck disable=SC1090
    source "$f"
  fi
}

save_layout() {
  cat >"$KAFKA_WORKDIR/layout.env" <<EOF
KAFKA_NODES=$KAFKA_NODES
KAFKA_PORT=$KAFKA_PORT
KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
KAFKA_SECURITY=$KAFKA_SECURITY
KAFKA_SECURITY_PORT=$(security_base_port)
EOF
}

# Kafka's Uuid.randomUuid(): 16 random bytes, URL-safe base64 without padding,
# never starting with '-'.
random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

# ------------------------------------------------------------------ fetch ---

cmd_fetch() {
  if [[ -f "$KAFKA_FETCH_MARKER" ]]; then
    log "Kafka $KAFKA_VERSION already in $KAFKA_LIBS"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  [[ -f "$KAFKA_POM" ]] || die "missing $KAFKA_POM"
  mkdir -p "$KAFKA_HOME_DIR"
  local tmp="$KAFKA_HOME_DIR/libs.tmp.$$"
  rm -rf "$tmp"
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS ..."
  local t0=$SECONDS
  local mvnlog="$KAFKA_HOME_DIR/fetch.log"
  if ! mvn -B -Dstyle.color=never -f "$KAFKA_POM" \
      -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$KAFKA_LOG4J_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      >"$mvnlog" 2>&1; then
    grep -E 'ERROR|FAIL' "$mvnlog" | tail -n 30 >&2 || tail -n 30 "$mvnlog" >&2
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (is $KAFKA_VERSION on Maven Central?); full log: $mvnlog"
  fi
  local need
  for need in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" \
              "kafka-server-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
    [[ -f "$tmp/$need" ]] || { rm -rf "$tmp"; die "fetched jars lack $need"; }
  done
  # Kafka 3.x brings its own slf4j binding (reload4j): drop log4j2's, or
  # slf4j would pick one of the two by classpath order.
  version_at_least 4 0 || rm -f "$tmp"/log4j-slf4j-impl-*.jar
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  write_log4j_configs "$KAFKA_HOME_DIR"
  date -u +%FT%TZ >"$KAFKA_FETCH_MARKER"
  log "fetched $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $((SECONDS - t0))s"
}

# install_if_changed <file> < content: atomic replace, only when different
# (tools running in parallel may be reading the file).
install_if_changed() {
  local dst="$1" tmp="$1.tmp.$$"
  cat >"$tmp"
  if cmp -s "$tmp" "$dst"; then rm -f "$tmp"; else mv -f "$tmp" "$dst"; fi
}

# log4j2 configuration files (XML: needs no extra jars; Kafka's own
# config/log4j2.yaml would need jackson-dataformat-yaml on the tool classpath).
write_log4j_configs() {
  local dir="$1"
  # Broker: everything to stdout, which `up` redirects to node-<id>.log.
  install_if_changed "$dir/log4j2-server.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <Console name="STDOUT" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="${sys:kafka.root.loglevel:-INFO}">
      <AppenderRef ref="STDOUT"/>
    </Root>
    <!-- chatty loggers (per-partition / per-thread lines); KAFKA_LOG_QUIET_LEVEL -->
    <Logger name="kafka.request.logger" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="kafka.network.RequestChannel$" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="state.change.logger" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="kafka.authorizer.logger" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="kafka.cluster.Partition" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="kafka.log" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="org.apache.kafka.storage.internals.log" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="org.apache.kafka.coordinator.common.runtime.CoordinatorRuntime" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="org.apache.kafka.coordinator.common.runtime.MultiThreadedEventProcessor" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="org.apache.kafka.server.purgatory" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="org.apache.kafka.server.util.timer" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="kafka.server.ClientQuotaManager" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="org.apache.kafka.server.quota" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="org.apache.kafka.common.utils.AppInfoParser" level="${sys:kafka.quiet.loglevel:-WARN}"/>
    <Logger name="org.apache.kafka.common.config.AbstractConfig" level="${sys:kafka.quiet.loglevel:-WARN}"/>
  </Loggers>
</Configuration>
EOF
  # Command-line tools: warnings only, to stderr (stdout stays clean for tests).
  install_if_changed "$dir/log4j2-tools.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <Console name="STDERR" target="SYSTEM_ERR">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="${sys:kafka.root.loglevel:-WARN}">
      <AppenderRef ref="STDERR"/>
    </Root>
  </Loggers>
</Configuration>
EOF
  # Kafka 3.x logs through slf4j -> reload4j (log4j 1.2 syntax); the same
  # two destinations as above. Both system properties are always passed, so
  # one command line serves every version.
  install_if_changed "$dir/log4j-server.properties" <<'EOF'
log4j.rootLogger=${kafka.root.loglevel}, STDOUT
log4j.appender.STDOUT=org.apache.log4j.ConsoleAppender
log4j.appender.STDOUT.Target=System.out
log4j.appender.STDOUT.layout=org.apache.log4j.PatternLayout
log4j.appender.STDOUT.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=${kafka.quiet.loglevel}
log4j.logger.kafka.network.RequestChannel$=${kafka.quiet.loglevel}
log4j.logger.state.change.logger=${kafka.quiet.loglevel}
log4j.logger.kafka.authorizer.logger=${kafka.quiet.loglevel}
log4j.logger.kafka.cluster.Partition=${kafka.quiet.loglevel}
log4j.logger.kafka.log=${kafka.quiet.loglevel}
log4j.logger.org.apache.kafka.storage.internals.log=${kafka.quiet.loglevel}
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=${kafka.quiet.loglevel}
log4j.logger.org.apache.kafka.common.config.AbstractConfig=${kafka.quiet.loglevel}
EOF
  install_if_changed "$dir/log4j-tools.properties" <<'EOF'
log4j.rootLogger=WARN, STDERR
log4j.appender.STDERR=org.apache.log4j.ConsoleAppender
log4j.appender.STDERR.Target=System.err
log4j.appender.STDERR.layout=org.apache.log4j.PatternLayout
log4j.appender.STDERR.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

ensure_fetched() {
  [[ -f "$KAFKA_FETCH_MARKER" ]] || cmd_fetch
  # cheap: keep the log4j2 files in step with this script
  write_log4j_configs "$KAFKA_HOME_DIR"
}

# ------------------------------------------------------------------ tools ---

# --- AppCDS: dynamic class-data-sharing archives cut JVM start-up CPU by
# ~35% (broker) to ~55% (tools), which matters on a busy 2-core machine.
# The first run of a class records an archive at JVM exit
# (-XX:ArchiveClassesAtExit=<name>.jsa.tmp.<pid>); a later invocation promotes
# it once that pid is gone, and later runs map it (-XX:SharedArchiveFile).
# A missing or stale archive only costs speed (-Xshare:auto). KAFKA_CDS=0 = off.

cds_dir() {
  local j jvm key
  j="$(readlink -f "$(command -v "$JAVA")" 2>/dev/null || echo "$JAVA")"
  jvm="${j%/bin/java}/lib/server/libjvm.so"
  key="$( { echo "$j"; stat -c %Y "$jvm" 2>/dev/null || true; } | cksum | cut -d' ' -f1)"
  echo "$KAFKA_HOME_DIR/cds-$key"
}

# Promote finished dumps (<name>.jsa.tmp.<pid> whose pid has exited).
cds_promote() {
  local dir="$1" f pid
  shopt -s nullglob
  for f in "$dir"/*.jsa.tmp.*; do
    pid="${f##*.tmp.}"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    kill -0 "$pid" 2>/dev/null && continue
    if [[ -s "$f" ]]; then mv -f "$f" "${f%.tmp.*}"; else rm -f "$f"; fi
  done
  shopt -u nullglob
}

# cds_opts <archive-name> <pid-or-@PID@>: prints the JVM flags (one per line).
cds_opts() {
  [[ "${KAFKA_CDS:-1}" == 1 ]] || return 0
  local name="$1" pid="$2" dir
  dir="$(cds_dir)"
  mkdir -p "$dir" 2>/dev/null || return 0
  cds_promote "$dir"
  if [[ -s "$dir/$name.jsa" ]]; then
    echo "-XX:SharedArchiveFile=$dir/$name.jsa"
  else
    echo "-XX:ArchiveClassesAtExit=$dir/$name.jsa.tmp.$pid"
  fi
  # keep CDS chatter (skipped classes, stale archive) off stdout
  echo "-Xlog:disable"
  echo "-Xlog:all=warning:stderr"
  echo "-Xlog:cds*=off:stderr"
}

tool_jvm_opts() {
  local class="$1" pid="$2"
  # shellcheck disable=SC2206
  TOOL_OPTS=($KAFKA_TOOL_HEAP_OPTS -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$KAFKA_HOME_DIR/log4j2-tools.xml"
    "-Dlog4j.configuration=file:$KAFKA_HOME_DIR/log4j-tools.properties")
  local o
  while IFS= read -r o; do [[ -n "$o" ]] && TOOL_OPTS+=("$o"); done < <(cds_opts "tool-$class" "$pid")
}

# Run a Kafka class from the fetched jars in the foreground (exec: same pid).
run_tool() {
  ensure_fetched
  local class="$1"; shift
  tool_jvm_opts "$class" "$$"
  exec "$JAVA" "${TOOL_OPTS[@]}" -cp "$KAFKA_LIBS/*" "$class" "$@"
}

# Same, but returns instead of exec'ing (for use inside the script).
run_tool_inline() {
  local class="$1"; shift
  local tag="9${RANDOM}${RANDOM}"   # not a live pid: promoted after we waited
  tool_jvm_opts "$class" "$tag"
  local rc=0
  "$JAVA" "${TOOL_OPTS[@]}" -cp "$KAFKA_LIBS/*" "$class" "$@" || rc=$?
  local f
  for f in "$(cds_dir)"/*.jsa.tmp."$tag"; do
    [[ -e "$f" ]] || continue
    if ((rc < 128)) && [[ -s "$f" ]]; then mv -f "$f" "${f%.tmp.*}"; else rm -f "$f"; fi
  done
  return "$rc"
}

# has_arg <flag> <args...>: does the caller's argument list contain <flag>?
has_arg() {
  local flag="$1" a; shift
  for a in "$@"; do [[ "$a" == "$flag" || "$a" == "$flag="* ]] && return 0; done
  return 1
}

# legacy_tool_args <client-kind> args...: prints the args one per line, with
# the console tools' option names of Kafka 4.2+ (--formatter-property,
# --reader-property, --command-property) turned into the older ones
# (--property, --consumer-property / --producer-property) on older versions,
# so callers write one spelling.
legacy_tool_args() {
  local kind="$1"; shift
  local a
  for a in "$@"; do
    if ! version_at_least 4 2; then
      case "$a" in
        --formatter-property|--reader-property) a=--property ;;
        --command-property) a="--$kind-property" ;;
      esac
    fi
    printf '%s\n' "$a"
  done
}

cmd_console_consume() {
  [[ $# -ge 1 ]] || die "usage: kafka.sh console-consume <topic> [max-messages] [extra args...]"
  load_layout
  local topic="$1"; shift
  local max=""
  if [[ $# -ge 1 && "$1" =~ ^[0-9]+$ ]]; then max="$1"; shift; fi
  local a given=()
  while IFS= read -r a; do given+=("$a"); done < <(legacy_tool_args consumer "$@")
  set -- "${given[@]+"${given[@]}"}"
  local args=(--bootstrap-server "$(bootstrap_servers)" --topic "$topic")
  # defaults, unless the caller passed the option itself
  has_arg --offset "$@" || has_arg --from-beginning "$@" || args+=(--from-beginning)
  has_arg --timeout-ms "$@" || args+=(--timeout-ms "$KAFKA_CONSUME_TIMEOUT_MS")
  if [[ -n "$max" ]] && ! has_arg --max-messages "$@"; then args+=(--max-messages "$max"); fi
  # Consumer group protocol of the oracle consumer (KIP-848 'consumer' joins
  # much faster than 'classic'; Kafka 3.x does not enable it);
  # KAFKA_CONSUME_GROUP_PROTOCOL= to leave unset.
  version_at_least 4 0 || KAFKA_CONSUME_GROUP_PROTOCOL="${KAFKA_CONSUME_GROUP_PROTOCOL-}"
  local cp="--command-property"
  version_at_least 4 2 || cp="--consumer-property"
  has_arg --consumer-property "$@" && cp="--consumer-property"
  if [[ -n "${KAFKA_CONSUME_GROUP_PROTOCOL-consumer}" ]] && ! has_arg --partition "$@" \
     && ! has_arg --consumer.config "$@" && ! has_arg --command-config "$@"; then
    args+=("$cp" "group.protocol=${KAFKA_CONSUME_GROUP_PROTOCOL-consumer}")
  fi
  local fp="--formatter-property"
  version_at_least 4 2 || fp="--property"
  has_arg --property "$@" && fp="--property"
  if [[ "${KAFKA_PRINT_KEY:-0}" == 1 ]]; then args+=("$fp" print.key=true); fi
  if [[ "${KAFKA_PRINT_HEADERS:-0}" == 1 ]]; then args+=("$fp" print.headers=true); fi
  if [[ "${KAFKA_PRINT_PARTITION:-0}" == 1 ]]; then args+=("$fp" print.partition=true); fi
  if [[ "${KAFKA_PRINT_OFFSET:-0}" == 1 ]]; then args+=("$fp" print.offset=true); fi
  if [[ "${KAFKA_PRINT_TIMESTAMP:-0}" == 1 ]]; then args+=("$fp" print.timestamp=true); fi
  if [[ -z "$max" ]]; then
    run_tool org.apache.kafka.tools.consumer.ConsoleConsumer "${args[@]}" "$@"
  fi
  # With a max: the console consumer exits 0 even when --timeout-ms hits before
  # max messages arrived; turn that into exit code 3 (oracle must not pass).
  ensure_fetched
  local errf rc=0 got
  errf="$(mktemp)"
  run_tool_inline org.apache.kafka.tools.consumer.ConsoleConsumer "${args[@]}" "$@" 2>"$errf" || rc=$?
  cat "$errf" >&2
  got="$(sed -n 's/^Processed a total of \([0-9]*\) messages.*/\1/p' "$errf" | tail -n 1)"
  rm -f "$errf"
  ((rc == 0)) || return "$rc"
  if [[ -n "$got" ]] && ((got < max)); then
    log "console-consume: got $got of $max message(s) before timeout"
    return 3
  fi
  return 0
}

cmd_console_produce() {
  [[ $# -ge 1 ]] || die "usage: kafka.sh console-produce <topic> [extra args...] < lines"
  load_layout
  local topic="$1"; shift
  local a given=()
  while IFS= read -r a; do given+=("$a"); done < <(legacy_tool_args producer "$@")
  local class=org.apache.kafka.tools.ConsoleProducer
  version_at_least 4 0 || class=kafka.tools.ConsoleProducer
  run_tool "$class" --bootstrap-server "$(bootstrap_servers)" --topic "$topic" "${given[@]+"${given[@]}"}"
}

# Kafka's console share consumer (KIP-932), a member of share group <group>:
# prints the records it gets (accepting each), until --timeout-ms (default
# KAFKA_CONSUME_TIMEOUT_MS) passes without one or --max-messages. Share
# groups are enabled from Kafka 4.2 (4.0/4.1: early access, off).
cmd_console_share_consume() {
  [[ $# -ge 2 ]] || die "usage: kafka.sh console-share-consume <topic> <group> [extra args...]"
  load_layout
  version_at_least 4 2 || die "console-share-consume needs Kafka 4.2+ (share groups), not $KAFKA_VERSION"
  local topic="$1" group="$2"; shift 2
  local args=(--bootstrap-server "$(bootstrap_servers)" --topic "$topic" --group "$group")
  has_arg --timeout-ms "$@" || args+=(--timeout-ms "$KAFKA_CONSUME_TIMEOUT_MS")
  run_tool org.apache.kafka.tools.consumer.ConsoleShareConsumer "${args[@]}" "$@"
}

cmd_topics() {
  load_layout
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap_servers)" "$@"
}

cmd_groups() {
  load_layout
  run_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$(bootstrap_servers)" "$@"
}

cmd_api_versions() {
  load_layout
  local class=org.apache.kafka.tools.BrokerApiVersionsCommand
  version_at_least 4 0 || class=kafka.admin.BrokerApiVersionsCommand
  run_tool "$class" --bootstrap-server "$(bootstrap_servers)" "$@"
}

cmd_run_class() {
  [[ $# -ge 1 ]] || die "usage: kafka.sh run-class <java.class.Name> [args...]"
  run_tool "$@"
}

# -------------------------------------------------------------- security ----
#
# KAFKA_SECURITY=1 adds six listeners to every node, on the ports
# KAFKA_SECURITY_PORT + 6*(node-1) + k (default KAFKA_SECURITY_PORT =
# KAFKA_PORT + KAFKA_NODES, i.e. right after the PLAINTEXT ports and far
# below the controller ports at KAFKA_PORT+1000):
#
#   k listener        protocol        what for
#   0 SSL             SSL             TLS, no client certificate asked
#   1 MTLS            SSL             mutual TLS: client certificate required
#   2 SASL_SSL        SASL_SSL        PLAIN, SCRAM-SHA-256/512, OAUTHBEARER
#   3 SASL_PLAINTEXT  SASL_PLAINTEXT  the same mechanisms without TLS
#   4 EXPIRED         SSL             serves an expired certificate
#   5 BADHOST         SSL             certificate valid for wrong.invalid only
#
# Material made with openssl at 'up' in $KAFKA_WORKDIR/security: a CA, a
# broker certificate for localhost/127.0.0.1 (PKCS12 keystore), the expired
# and wrong-host broker certificates, a client certificate (plain and
# encrypted key), a second CA that signed nothing the broker trusts, and a
# client certificate from that CA. Users: PLAIN via the listeners' JAAS
# config, SCRAM-SHA-256 and -512 created at format time (--add-scram);
# OAUTHBEARER uses Kafka's unsecured-JWT validator (tests only!). No
# authorizer: every authenticated principal may do anything.
# $KAFKA_WORKDIR/security.env exports what the tests need ('security-env'
# prints it). The passwords are test-only constants.

SEC_PLAIN_USER=plainuser
SEC_PLAIN_PASSWORD=plain-Secret-4711
SEC_SCRAM_USER=scramuser
SEC_SCRAM_PASSWORD=scram-Secret-4711
SEC_STORE_PASSWORD=store-Secret-4711
SEC_CLIENT_KEY_PASSWORD=key-Secret-4711

security_dir() { echo "$KAFKA_WORKDIR/security"; }
security_base_port() { echo "${KAFKA_SECURITY_PORT:-$((KAFKA_PORT + KAFKA_NODES))}"; }
# security_port <node> <k>
security_port() { echo $(($(security_base_port) + 6 * ($1 - 1) + $2)); }

security_brokers() {
  local k="$1" id out=""
  for id in $(node_ids); do out+="${out:+,}$KAFKA_HOST:$(security_port "$id" "$k")"; done
  echo "$out"
}

# openssl_leaf <name> <san> <signing-ca> [startdate enddate]
openssl_leaf() {
  local name="$1" san="$2" ca="$3" start="${4:-}" end="${5:-}" dir
  dir="$(security_dir)"
  local addext=()
  [[ -n "$san" ]] && addext=(-addext "subjectAltName=$san")
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" \
    -subj "/CN=$name" "${addext[@]+"${addext[@]}"}" 2>/dev/null
  if [[ -n "$start" ]]; then
    # 'openssl ca' is the only OpenSSL 3.0 command that takes explicit dates.
    mkdir -p "$dir/ca-db/new"
    : >"$dir/ca-db/index.txt"
    echo 1000 >"$dir/ca-db/serial"
    cat >"$dir/ca-db/ca.cnf" <<EOF
[ ca ]
default_ca = testca
[ testca ]
database = $dir/ca-db/index.txt
new_certs_dir = $dir/ca-db/new
serial = $dir/ca-db/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
EOF
    openssl ca -batch -notext -config "$dir/ca-db/ca.cnf" -cert "$dir/$ca.pem" -keyfile "$dir/$ca.key" \
      -in "$dir/$name.csr" -out "$dir/$name.pem" -startdate "$start" -enddate "$end" 2>/dev/null
  else
    local ext="$dir/$name.ext"
    { if [[ -n "$san" ]]; then echo "subjectAltName=$san"; fi
      echo "extendedKeyUsage=serverAuth,clientAuth"; } >"$ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" -CAcreateserial \
      -days 3650 -sha256 -extfile "$ext" -out "$dir/$name.pem" 2>/dev/null
    rm -f "$ext"
  fi
  rm -f "$dir/$name.csr"
}

# PKCS12 keystore of a broker certificate (with the CA as its chain).
keystore() {
  local name="$1" dir
  dir="$(security_dir)"
  openssl pkcs12 -export -in "$dir/$name.pem" -inkey "$dir/$name.key" -certfile "$dir/ca.pem" \
    -name broker -out "$dir/$name.p12" -passout "pass:$SEC_STORE_PASSWORD"
}

make_security_material() {
  command -v openssl >/dev/null || die "KAFKA_SECURITY=1 needs openssl"
  local dir
  dir="$(security_dir)"
  rm -rf "$dir"
  mkdir -p "$dir"
  (
    set -e
    umask 077
    for ca in ca other-ca; do
      openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$dir/$ca.key" -out "$dir/$ca.pem" \
        -days 3650 -subj "/CN=gofka test $ca" 2>/dev/null
    done
    openssl_leaf broker "DNS:localhost,IP:127.0.0.1" ca
    openssl_leaf broker-expired "DNS:localhost,IP:127.0.0.1" ca 20200101000000Z 20200201000000Z
    openssl_leaf broker-badhost "DNS:wrong.invalid" ca
    openssl_leaf client "" ca
    openssl_leaf stranger "" other-ca
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$dir/client.key" -out "$dir/client-encrypted.key" \
      -passout "pass:$SEC_CLIENT_KEY_PASSWORD"
    for ks in broker broker-expired broker-badhost; do keystore "$ks"; done
    chmod go+r "$dir"/*.pem
  ) || die "making TLS material with openssl failed"
}

write_security_env() {
  local dir
  dir="$(security_dir)"
  cat >"$KAFKA_WORKDIR/security.env" <<EOF
# generated by scripts/kafka.sh (KAFKA_SECURITY=1); source it
export GOFKA_SSL_BROKERS=$(security_brokers 0)
export GOFKA_MTLS_BROKERS=$(security_brokers 1)
export GOFKA_SASL_SSL_BROKERS=$(security_brokers 2)
export GOFKA_SASL_PLAINTEXT_BROKERS=$(security_brokers 3)
export GOFKA_EXPIRED_CERT_BROKERS=$(security_brokers 4)
export GOFKA_BADHOST_CERT_BROKERS=$(security_brokers 5)
export GOFKA_TEST_CA=$dir/ca.pem
export GOFKA_TEST_OTHER_CA=$dir/other-ca.pem
export GOFKA_TEST_CLIENT_CERT=$dir/client.pem
export GOFKA_TEST_CLIENT_KEY=$dir/client.key
export GOFKA_TEST_CLIENT_KEY_ENCRYPTED=$dir/client-encrypted.key
export GOFKA_TEST_CLIENT_KEY_PASSWORD=$SEC_CLIENT_KEY_PASSWORD
export GOFKA_TEST_STRANGER_CERT=$dir/stranger.pem
export GOFKA_TEST_STRANGER_KEY=$dir/stranger.key
export GOFKA_TEST_PLAIN_USER=$SEC_PLAIN_USER
export GOFKA_TEST_PLAIN_PASSWORD=$SEC_PLAIN_PASSWORD
export GOFKA_TEST_SCRAM_USER=$SEC_SCRAM_USER
export GOFKA_TEST_SCRAM_PASSWORD=$SEC_SCRAM_PASSWORD
EOF
}

cmd_security_env() {
  load_layout
  [[ -f "$KAFKA_WORKDIR/security.env" && "$KAFKA_SECURITY" == 1 ]] ||
    die "no secured listeners in $KAFKA_WORKDIR (start them with KAFKA_SECURITY=1 scripts/kafka.sh up)"
  cat "$KAFKA_WORKDIR/security.env"
}

# StorageTool args creating the SCRAM users (one per line).
security_format_args() {
  [[ "$KAFKA_SECURITY" == 1 ]] || return 0
  echo "--add-scram"
  echo "SCRAM-SHA-256=[name=$SEC_SCRAM_USER,password=$SEC_SCRAM_PASSWORD]"
  echo "--add-scram"
  echo "SCRAM-SHA-512=[name=$SEC_SCRAM_USER,password=$SEC_SCRAM_PASSWORD]"
}

# Settings of the secured listeners (appended to a node's listener block).
security_listener_properties() {
  local dir mechs="PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER" l
  dir="$(security_dir)"
  cat <<EOF

# --- secured listeners (KAFKA_SECURITY=1) ---
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/broker.p12
ssl.keystore.password=$SEC_STORE_PASSWORD
ssl.key.password=$SEC_STORE_PASSWORD
ssl.truststore.type=PEM
ssl.truststore.location=$dir/ca.pem
ssl.client.auth=none
listener.name.mtls.ssl.client.auth=required
listener.name.expired.ssl.keystore.location=$dir/broker-expired.p12
listener.name.badhost.ssl.keystore.location=$dir/broker-badhost.p12
EOF
  for l in sasl_ssl sasl_plaintext; do
    cat <<EOF
listener.name.$l.sasl.enabled.mechanisms=$mechs
listener.name.$l.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SEC_PLAIN_USER="$SEC_PLAIN_PASSWORD";
listener.name.$l.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.$l.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.$l.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
EOF
  done
}

# ---------------------------------------------------------------- config ----

# Listener block for one node: PLAINTEXT (clients and inter-broker) and
# CONTROLLER, plus the secured listeners above with KAFKA_SECURITY=1.
listener_properties() {
  local node_id="$1" broker_port="$2" controller_port="$3"
  local listeners="PLAINTEXT://$KAFKA_HOST:$broker_port"
  local advertised="PLAINTEXT://$KAFKA_HOST:$broker_port"
  local map="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ "$KAFKA_SECURITY" == 1 ]]; then
    local k names=(SSL MTLS SASL_SSL SASL_PLAINTEXT EXPIRED BADHOST)
    local protos=(SSL SSL SASL_SSL SASL_PLAINTEXT SSL SSL)
    for k in 0 1 2 3 4 5; do
      listeners+=",${names[$k]}://$KAFKA_HOST:$(security_port "$node_id" "$k")"
      advertised+=",${names[$k]}://$KAFKA_HOST:$(security_port "$node_id" "$k")"
      map+=",${names[$k]}:${protos[$k]}"
    done
  fi
  cat <<EOF
listeners=$listeners,CONTROLLER://$KAFKA_HOST:$controller_port
advertised.listeners=$advertised
listener.security.protocol.map=$map
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
EOF
  if [[ "$KAFKA_SECURITY" == 1 ]]; then security_listener_properties; fi
}

# write_node_config <node_id> <broker_port> <controller_port> <voters>
write_node_config() {
  local node_id="$1" broker_port="$2" controller_port="$3" voters="$4"
  local n="$KAFKA_NODES" rf isr
  rf=$((n >= 3 ? 3 : 1))
  isr=$((rf >= 3 ? 2 : 1))
  local cfg; cfg="$(node_config "$node_id")"
  mkdir -p "$(dirname "$cfg")"
  {
    cat <<EOF
# generated by scripts/kafka.sh -- do not edit (rewritten on each 'up')
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=$voters
EOF
    listener_properties "$node_id" "$broker_port" "$controller_port"
    cat <<EOF
log.dirs=$(node_dir "$node_id")/data

# small machine
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4

# tests
num.partitions=1
default.replication.factor=$rf
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
share.coordinator.state.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
log.retention.check.interval.ms=300000
EOF
    # Share groups (KIP-932) need nothing to be enabled from Kafka 4.2 on: a
    # fresh format finalizes share.version (4.4: level 2; check with
    # 'run-class org.apache.kafka.tools.FeatureCommand --bootstrap-server
    # ... describe'). 3.9 has none and 4.0/4.1 only an early access that is
    # off, so the share tests skip below 4.2 and this block is gated: it
    # lowers the coordinator's floors (5 s heartbeats, 15 s acquisition
    # locks by default) so that share members join within a second and a
    # test can set a short lock on its group (share.record.lock.duration.ms).
    if version_at_least 4 2; then
      cat <<EOF
group.share.min.heartbeat.interval.ms=500
group.share.heartbeat.interval.ms=1000
group.share.min.record.lock.duration.ms=1000
EOF
    fi
    # Kafka 4.x enables classic+consumer (KIP-848) group protocols by default;
    # setting the (deprecated in 4.4) list explicitly disables 'streams'.
    if [[ -n "$KAFKA_GROUP_PROTOCOLS" ]]; then
      echo "group.coordinator.rebalance.protocols=$KAFKA_GROUP_PROTOCOLS"
    fi
    if [[ -n "$KAFKA_EXTRA_PROPS" ]]; then
      echo
      echo "# KAFKA_EXTRA_PROPS"
      printf '%s\n' "$KAFKA_EXTRA_PROPS"
    fi
  } >"$cfg"
}

# format_node <node_id> <cluster_id>: wipe and format the node's storage.
format_node() {
  local node_id="$1" cluster_id="$2"
  rm -rf "$(node_dir "$node_id")"
  mkdir -p "$(node_dir "$node_id")/data"
  local out sec_args=() a
  while IFS= read -r a; do [[ -n "$a" ]] && sec_args+=("$a"); done < <(security_format_args)
  # shellcheck disable=SC2086
  if ! out="$(run_tool_inline kafka.tools.StorageTool format -t "$cluster_id" \
        -c "$(node_config "$node_id")" "${sec_args[@]+"${sec_args[@]}"}" $KAFKA_FORMAT_ARGS 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "formatting storage of node $node_id failed"
  fi
}

# ----------------------------------------------------------- node control ---

# start_node <node_id> [append]: launch one node in the background (detached).
start_node() {
  local node_id="$1" mode="${2:-truncate}"
  local cfg logf pidf
  cfg="$(node_config "$node_id")"
  logf="$(node_logfile "$node_id")"
  pidf="$(node_pidfile "$node_id")"
  [[ -f "$cfg" ]] || die "no config for node $node_id (run 'up' first)"
  if [[ "$mode" == truncate ]]; then : >"$logf"; else echo "==== restart $(date -u +%FT%TZ) ====" >>"$logf"; fi
  rm -f "$pidf"
  # The inner shell writes its own pid then execs java, so the pid is java's
  # (@PID@ in an argument becomes that pid). setsid detaches the node from
  # the caller's process group / terminal.
  # CDS: every node maps the broker archive once it exists; only node 1 records it.
  local cds=() o
  while IFS= read -r o; do
    [[ -z "$o" ]] && continue
    [[ "$o" == -XX:ArchiveClassesAtExit=* && "$node_id" != 1 ]] && continue
    cds+=("$o")
  done < <(cds_opts broker @PID@)
  # shellcheck disable=SC2016,SC2086
  setsid nohup bash -c 'p="$1"; shift; a=(); for x in "$@"; do a+=("${x//@PID@/$$}"); done
      echo $$ >"$p"; exec "${a[@]}"' _ "$pidf" \
    "$JAVA" $KAFKA_HEAP_OPTS "${cds[@]+"${cds[@]}"}" \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KAFKA_WORKDIR" \
    -Dkafka.root.loglevel="$KAFKA_LOG_LEVEL" -Dkafka.quiet.loglevel="$KAFKA_LOG_QUIET_LEVEL" \
    -Dlog4j2.configurationFile="$KAFKA_HOME_DIR/log4j2-server.xml" \
    -Dlog4j.configuration="file:$KAFKA_HOME_DIR/log4j-server.properties" \
    $KAFKA_JVM_OPTS \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$cfg" \
    </dev/null >>"$logf" 2>&1 &
  local _
  for _ in $(seq 1 50); do
    [[ -s "$pidf" ]] && break
    sleep 0.1
  done
  [[ -s "$pidf" ]] || die "node $node_id did not record its pid"
}

# wait_ready <deadline-epoch> <log-offset> <node_id>
node_ready() {
  local node_id="$1" offset="$2"
  node_pid "$node_id" >/dev/null || return 2
  log_has_since "$(node_logfile "$node_id")" "$offset" 'Kafka Server started' || return 1
  port_open "$(broker_port "$node_id")" || return 1
  return 0
}

# log_has_since <file> <byte-offset> <text>: whether text occurs in file
# after offset. Not `tail | grep -q` under pipefail: grep -q exits at the
# first match, tail then dies of SIGPIPE when more than a pipe's worth of
# log follows the match, and the pipeline fails although the text is
# there (a node restarted into a busy cluster then never read as ready).
log_has_since() {
  grep -qF -- "$3" < <(tail -c +"$(($2 + 1))" "$1" 2>/dev/null)
}

# wait_nodes_ready <timeout> <node_id>=<log_offset>...
wait_nodes_ready() {
  local timeout="$1"; shift
  local deadline=$((SECONDS + timeout)) pending=("$@") still spec id off rc
  while ((${#pending[@]} > 0)); do
    still=()
    for spec in "${pending[@]}"; do
      id="${spec%%=*}"; off="${spec#*=}"
      rc=0; node_ready "$id" "$off" || rc=$?
      if ((rc == 2)); then
        log "node $id exited during startup; last 50 lines of $(node_logfile "$id"):"
        tail -n 50 "$(node_logfile "$id")" >&2 || true
        return 1
      elif ((rc == 1)); then
        still+=("$spec")
      fi
    done
    pending=("${still[@]+"${still[@]}"}")
    ((${#pending[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      for spec in "${pending[@]}"; do
        id="${spec%%=*}"
        log "node $id not ready after ${timeout}s; last 50 lines of $(node_logfile "$id"):"
        tail -n 50 "$(node_logfile "$id")" >&2 || true
      done
      return 1
    fi
    sleep 0.5
  done
}

# stop_pids <timeout> <signal-first> <id>...: signal, wait, SIGKILL stragglers.
stop_nodes() {
  local timeout="$1"; shift
  local id pid pids=() ids=()
  for id in "$@"; do
    if pid="$(node_pid "$id")"; then
      kill -CONT "$pid" 2>/dev/null || true   # in case it was SIGSTOPped
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); ids+=("$id")
    fi
  done
  local deadline=$((SECONDS + timeout)) alive
  while :; do
    alive=()
    for pid in "${pids[@]+"${pids[@]}"}"; do
      kill -0 "$pid" 2>/dev/null && alive+=("$pid")
    done
    ((${#alive[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      log "SIGKILL after ${timeout}s: ${alive[*]}"
      kill -KILL "${alive[@]}" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.3
  done
  for id in "$@"; do rm -f "$(node_pidfile "$id")"; done
  ((${#ids[@]} == 0)) || log "stopped node(s) ${ids[*]}"
}

# ------------------------------------------------------------- commands -----

cmd_up() {
  validate_nodes
  mkdir -p "$KAFKA_WORKDIR"
  # already running?
  local id running=() recorded
  recorded="$( (recorded_node_ids; node_ids) | sort -un)"
  for id in $recorded; do
    node_pid "$id" >/dev/null && running+=("$id")
  done
  if ((${#running[@]} > 0)); then
    local requested="$KAFKA_NODES"
    load_layout
    if ((${#running[@]} == KAFKA_NODES)); then
      log "Kafka already running (node(s) ${running[*]}) in $KAFKA_WORKDIR"
      ((requested == KAFKA_NODES)) ||
        log "warning: KAFKA_NODES=$requested requested, but the running cluster has $KAFKA_NODES node(s); 'down' first to change"
      bootstrap_servers
      return 0
    fi
    die "node(s) ${running[*]} running but layout has $KAFKA_NODES node(s); use 'start <id>' or 'down' first"
  fi
  ((KAFKA_NODES == 1 || KAFKA_NODES == 3)) || log "warning: KAFKA_NODES=$KAFKA_NODES (tested: 1 and 3)"

  ensure_fetched

  [[ "$KAFKA_SECURITY" == 0 || "$KAFKA_SECURITY" == 1 ]] || die "KAFKA_SECURITY must be 0 or 1 (got '$KAFKA_SECURITY')"
  local k
  for id in $(node_ids); do
    port_open "$(broker_port "$id")" && die "port $(broker_port "$id") already in use"
    port_open "$(controller_port "$id")" && die "port $(controller_port "$id") already in use"
    if [[ "$KAFKA_SECURITY" == 1 ]]; then
      for k in 0 1 2 3 4 5; do
        port_open "$(security_port "$id" "$k")" && die "port $(security_port "$id" "$k") already in use"
      done
    fi
  done

  # fresh state
  rm -rf "$KAFKA_WORKDIR/config" "$KAFKA_WORKDIR"/node-* "$KAFKA_WORKDIR/layout.env" \
    "$KAFKA_WORKDIR/security" "$KAFKA_WORKDIR/security.env"
  if [[ "$KAFKA_SECURITY" == 1 ]]; then
    make_security_material
    write_security_env
  fi
  local cluster_id voters
  cluster_id="$(random_cluster_id)"
  echo "$cluster_id" >"$KAFKA_WORKDIR/cluster.id"
  voters="$(quorum_voters)"
  save_layout
  for id in $(node_ids); do
    write_node_config "$id" "$(broker_port "$id")" "$(controller_port "$id")" "$voters"
  done
  # format (one JVM each; in parallel when several nodes)
  local fpids=()
  for id in $(node_ids); do
    format_node "$id" "$cluster_id" &
    fpids+=($!)
  done
  for id in "${fpids[@]}"; do wait "$id" || die "format failed"; done

  log "starting $KAFKA_NODES node(s), Kafka $KAFKA_VERSION, cluster id $cluster_id, workdir $KAFKA_WORKDIR"
  local specs=()
  for id in $(node_ids); do
    start_node "$id" truncate
    specs+=("$id=0")
  done
  if ! wait_nodes_ready "$KAFKA_START_TIMEOUT" "${specs[@]}"; then
    # shellcheck disable=SC2046
    stop_nodes 10 $(node_ids)
    die "Kafka did not start"
  fi
  log "Kafka ready: $(bootstrap_servers)"
  if [[ "$KAFKA_SECURITY" == 1 ]]; then
    log "secured listeners: SSL $(security_brokers 0), mTLS $(security_brokers 1), SASL_SSL $(security_brokers 2), SASL_PLAINTEXT $(security_brokers 3) (env: $KAFKA_WORKDIR/security.env)"
  fi
  bootstrap_servers
}

cmd_down() {
  local ids
  ids="$(recorded_node_ids | tr '\n' ' ')"
  if [[ -z "${ids// /}" ]]; then
    log "no Kafka node recorded in $KAFKA_WORKDIR"
    return 0
  fi
  # shellcheck disable=SC2086
  stop_nodes "$KAFKA_STOP_TIMEOUT" $ids
}

cmd_status() {
  load_layout
  local id pid any=0
  for id in $( (recorded_node_ids; [[ -f "$KAFKA_WORKDIR/layout.env" ]] && node_ids) | sort -un); do
    if pid="$(node_pid "$id")"; then
      local st; st="$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)"
      echo "node $id: running pid $pid broker $KAFKA_HOST:$(broker_port "$id") controller $KAFKA_HOST:$(controller_port "$id")${st:+ state $st}"
      any=1
    else
      echo "node $id: not running"
    fi
  done
  if ((any)); then
    echo "bootstrap: $(bootstrap_servers)"
  else
    echo "no Kafka node running (workdir $KAFKA_WORKDIR)"
  fi
}

# kill <node-id> [signal]: default KILL (crash). STOP/CONT pause/resume.
cmd_kill() {
  [[ $# -ge 1 ]] || die "usage: kafka.sh kill <node-id> [signal]"
  local id="$1" sig="${2:-KILL}" pid
  sig="${sig#SIG}"; sig="${sig#-}"
  pid="$(node_pid "$id")" || die "node $id is not running"
  kill -"$sig" "$pid"
  case "$sig" in
    STOP|TSTP|CONT|19|18|20|0) log "sent SIG$sig to node $id (pid $pid)"; return 0 ;;
  esac
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "node $id still alive ${KAFKA_STOP_TIMEOUT}s after SIG$sig; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$(node_pidfile "$id")"
  log "node $id (pid $pid) stopped with SIG$sig"
}

# start <node-id>: restart one node with its existing config and data.
cmd_start() {
  [[ $# -ge 1 ]] || die "usage: kafka.sh start <node-id>"
  load_layout
  local id="$1" pid
  [[ -f "$(node_config "$id")" ]] || die "node $id has no config in $KAFKA_WORKDIR (run 'up' first)"
  if pid="$(node_pid "$id")"; then
    log "node $id already running (pid $pid)"
    return 0
  fi
  ensure_fetched
  port_open "$(broker_port "$id")" && die "port $(broker_port "$id") already in use"
  local off; off="$(stat -c %s "$(node_logfile "$id")" 2>/dev/null || echo 0)"
  start_node "$id" append
  wait_nodes_ready "$KAFKA_START_TIMEOUT" "$id=$off" || die "node $id did not start"
  log "node $id ready on $KAFKA_HOST:$(broker_port "$id")"
}

usage() {
  cat <<EOF
usage: scripts/kafka.sh <command> [args]

  fetch                                  download Kafka $KAFKA_VERSION jars (cached)
  up                                     format + start \$KAFKA_NODES node(s); prints bootstrap
  down                                   stop all nodes of the workdir
  status                                 show nodes
  bootstrap                              print the bootstrap servers
  kill <node-id> [signal]                signal one node (default KILL; STOP/CONT pause)
  start <node-id>                        restart one node without reformatting
  console-consume <topic> [max] [args]   Kafka console consumer, from beginning
  console-produce <topic> [args]         Kafka console producer, reads stdin
  console-share-consume <topic> <group> [args]
                                         Kafka console share consumer (4.2+)
  topics <args...>                       kafka-topics (TopicCommand)
  groups <args...>                       kafka-consumer-groups (ConsumerGroupCommand)
  api-versions [args]                    kafka-broker-api-versions
  security-env                           print the env of the secured listeners (KAFKA_SECURITY=1)
  run-class <class> [args...]            run any class from the Kafka jars
EOF
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    fetch) cmd_fetch "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    bootstrap) load_layout; bootstrap_servers ;;
    kill) cmd_kill "$@" ;;
    start) cmd_start "$@" ;;
    console-consume) cmd_console_consume "$@" ;;
    console-produce) cmd_console_produce "$@" ;;
    console-share-consume) cmd_console_share_consume "$@" ;;
    topics) cmd_topics "$@" ;;
    groups) cmd_groups "$@" ;;
    api-versions) cmd_api_versions "$@" ;;
    security-env) cmd_security_env "$@" ;;
    run-class) cmd_run_class "$@" ;;
    -h|--help|help|"") usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

# Sourced (tests call its functions), it only defines them.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
