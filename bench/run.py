#!/usr/bin/env python3
"""Gofka benchmark runner: `make bench` (full) and `make bench-quick`.

It installs the peers into bench/.venv (bench/requirements.txt), builds the
Go peer (bench/gobench), starts its own Apache Kafka through
scripts/kafka.sh (port 9592, workdir .kafka-bench/ by default) and always
stops it, then runs every scenario with the clients interleaved (A B C A B
C ...) for several rounds, one process per run, each with a hard timeout.
Each run is verified (record count and checksum). Raw results go to
bench/results/<timestamp>.json; bench/report.py turns them into
docs/benchmarks.md and docs/bench-*.png.

Usage: bench/run.py [--quick] [--rounds N] [--only produce,consume,latency,patterns,transactions,share]
                    [--clients id,id] [--configs name,name] [--brokers host:port] [--no-report]

Standard library only (it runs before the venv exists).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import queue
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
VENV = os.path.join(BENCH, ".venv")
VENV_PY = os.path.join(VENV, "bin", "python")
# Built into the (git-ignored) bench venv: it is part of the bench environment.
GOBENCH = os.path.join(VENV, "bin", "gobench")
CLIENTS_DIR = os.path.join(BENCH, "clients")
sys.path.insert(0, CLIENTS_DIR)
import common  # noqa: E402  (stdlib-only helpers shared with the workers)

# Optional Gofka Go paths: build tag -> the gobench file that needs it.
GO_TAGS = ["gofka_async", "gofka_batch", "gofka_consumer", "gofka_txn", "gofka_share"]

# ---------------------------------------------------------------------------
# Scenario sizes. Full: what the issue asks. Quick: a subset sized to finish
# in well under 5 minutes on a 2-core machine, Kafka start included.

FULL = {
    "rounds": 3,
    "produce": {
        "configs": [
            (size, parts, comp)
            for size in (100, 1024)
            for parts in (1, 8)
            for comp in ("none", "lz4", "zstd")
        ],
        # 1 KiB runs of 100,000 records took 0.3-0.9 s and one client moved
        # 1.4-2.5x between rounds of one run; 300,000 make them 1-3 s.
        "count": {100: 500000, 1024: 300000},
    },
    "consume": {"configs": [(100, 5000000), (1024, 1000000)], "partitions": 4},
    "latency": {"count": 5000, "size": 100},
    # The loops users write (PATTERNS): 1,000,000 records so that fixed
    # costs do not dominate; a commit per message is a broker round trip
    # each, hence fewer, and so is a sequential `await send()` (a count
    # by pattern name overrides the one by kind).
    "patterns": {"size": 100, "partitions": 4, "poll_max": 500,
                 "count": {"produce": 1000000, "consume": 1000000, "commit": 20000, "send-sequential": 20000}},
    # Transactional produce: the same records committed every 1,000 and
    # every 10,000 records (TXN_CLIENTS).
    "transactions": {"size": 100, "partitions": 4, "count": 500000, "commit_every": (1000, 10000)},
    # Share groups (KIP-932): 1 and 4 consumers of one group read a
    # pre-filled topic, share group beside classic group.
    "share": {"size": 100, "partitions": 4, "count": 1000000, "members": (1, 4)},
    "warmup_seconds": 30,
    "timeout": 900,
}

QUICK = {
    "rounds": 3,
    "produce": {
        "configs": [(100, 1, "none"), (1024, 8, "lz4")],
        "count": {100: 40000, 1024: 12000},
    },
    "consume": {"configs": [(100, 100000)], "partitions": 4},
    "latency": {"count": 250, "size": 100},
    "patterns": {"size": 100, "partitions": 4, "poll_max": 500,
                 "count": {"produce": 50000, "consume": 100000, "commit": 1000, "send-sequential": 1000}},
    "transactions": {"size": 100, "partitions": 4, "count": 40000, "commit_every": (1000, 10000)},
    # Not run by default in quick mode (--only share runs it).
    "share": {"size": 100, "partitions": 4, "count": 100000, "members": (1, 4)},
    "warmup_seconds": 5,
    "timeout": 120,
}

POLL_MAX = 10000

# ---------------------------------------------------------------------------
# Clients. Each entry is one measured path; "family" groups them in the
# report, "worker" is how to start it. A Gofka path missing from the build
# reports itself unavailable (the worker checks hasattr / gobench -list).


def py_worker(script):
    return {"kind": "py", "script": script}


GO = {"kind": "go"}

PRODUCE_CLIENTS = [
    ("gofka-sync", "Gofka", "Producer.send_batch (sync)", py_worker("gofka_sync.py"), "send_batch"),
    ("gofka-async", "Gofka", "AsyncProducer.send (concurrent)", py_worker("gofka_async.py"), "send"),
    ("gofka-async-batch", "Gofka", "AsyncProducer.send_batch", py_worker("gofka_async.py"), "send_batch"),
    ("gofka-nb", "Gofka", "Producer.produce + flush (non-blocking)", py_worker("gofka_nb.py"), "produce"),
    ("confluent", "confluent-kafka", "produce + flush", py_worker("confluent.py"), "produce"),
    ("aiokafka", "aiokafka", "send", py_worker("aiokafka_client.py"), "send"),
    ("aiokafka-batch", "aiokafka", "send_batch", py_worker("aiokafka_client.py"), "send_batch"),
    ("kafka-python", "kafka-python", "send + flush", py_worker("kafka_python.py"), "send"),
    ("go-gofka", "Go: Gofka core", "ProduceSync (4 goroutines x 10k records)", GO, "sync"),
    ("go-gofka-async", "Go: Gofka core", "Produce + Flush", GO, "async"),
    ("go-gofka-batch", "Go: Gofka core", "ProduceBatch (10k) + Flush", GO, "batch"),
    ("go-franz", "Go: franz-go", "Produce + Flush", GO, "async"),
]

CONSUME_CLIENTS = [
    ("gofka-sync", "Gofka", "Consumer.poll(max_messages=N)", py_worker("gofka_sync.py"), "poll"),
    ("gofka-async", "Gofka", "AsyncConsumer.poll(max_messages=N)", py_worker("gofka_async.py"), "poll"),
    ("confluent", "confluent-kafka", "consume(num_messages=N)", py_worker("confluent.py"), "consume"),
    ("aiokafka", "aiokafka", "getmany(max_records=N)", py_worker("aiokafka_client.py"), "getmany"),
    ("kafka-python", "kafka-python", "poll(max_records=N)", py_worker("kafka_python.py"), "poll"),
    ("go-gofka", "Go: Gofka core", "Consumer.Poll (group)", GO, "poll"),
    ("go-gofka-fetch", "Go: Gofka core", "FetchPartition loop (no group)", GO, "fetch"),
    ("go-franz", "Go: franz-go", "PollFetches (group)", GO, "group"),
]

# Transactional produce (issue 23): a transactional producer writing a
# fresh topic, one transaction per commit_every records. Gofka's Python path
# reports itself unavailable in a build without the Python transactions
# API. The ids are those of the produce matrix, so the ratios are to
# confluent-kafka as everywhere.
TXN_CLIENTS = [
    ("gofka-nb", "Gofka", "Producer.produce + commit_transaction every N", py_worker("gofka_nb.py"), "txn"),
    ("go-gofka", "Go: Gofka core", "Produce + CommitTransaction every N", GO, "txn"),
    ("confluent", "confluent-kafka", "produce + commit_transaction every N", py_worker("confluent.py"), "txn"),
]

# Share groups (issue 24): (id, family, label, worker, mode, share?). Each
# run is spec["members"] consumers of one new group in one process (a
# thread or goroutine each); share=True runs get a share group set to read
# from the earliest offset (share.auto.offset.reset), the others a classic
# group. Ids are per table (the topic is shared): "confluent" is the
# baseline of the report's ratio column.
SHARE_CLIENTS = [
    ("gofka-sync.share", "Gofka", "ShareConsumer.poll (share group)", py_worker("gofka_sync.py"), "share", True),
    ("gofka-sync.classic", "Gofka", "Consumer.poll (classic group)", py_worker("gofka_sync.py"), "classic", False),
    ("confluent", "confluent-kafka", "ShareConsumer.poll (share group)", py_worker("confluent.py"), "share", True),
    ("go-gofka.share", "Go: Gofka core", "ShareConsumer.Poll (share group)", GO, "share", True),
    ("go-gofka.classic", "Go: Gofka core", "Consumer.Poll (classic group)", GO, "classic", False),
]

# The loops users write (issue 22), each Gofka loop beside the peer writing
# the same one: (pattern, kind, what the user writes, [(id, family, label,
# worker, mode)]). kind: produce (fresh topic per run, read back), consume
# (a pre-filled topic, read whole by a new group per run), commit (the same,
# committing each message; the worker checks the committed offsets). Ids are
# unique across patterns: they name topics and the runs' results.
PATTERNS = [
    ("produce-poll-each", "produce", "produce(v, on_delivery=cb); poll(0) per record; flush()", [
        ("gofka-nb.poll-each", "Gofka", "Producer.produce + poll(0) each", py_worker("gofka_nb.py"), "produce-poll-each"),
        ("confluent.poll-each", "confluent-kafka", "produce + poll(0) each", py_worker("confluent.py"), "produce-poll-each"),
    ]),
    ("produce-no-poll", "produce", "produce(v, on_delivery=cb) per record, no poll; flush()", [
        ("gofka-nb.no-poll", "Gofka", "Producer.produce, flush", py_worker("gofka_nb.py"), "produce-no-poll"),
        ("confluent.no-poll", "confluent-kafka", "produce, flush", py_worker("confluent.py"), "produce-no-poll"),
    ]),
    # Waves of sends awaited together, at the clients' default linger_ms=0
    # (a wave is in before a linger would end: linger only delays it).
    ("send-gather", "produce", "await gather(*(send(v) for v in 2,500 values)), repeated (linger_ms=0)", [
        ("gofka-async.gather", "Gofka", "AsyncProducer.send, gathered", py_worker("gofka_async.py"), "send-gather"),
        ("aiokafka.gather", "aiokafka", "send_and_wait, gathered", py_worker("aiokafka_client.py"), "send-gather"),
    ]),
    # One record in flight at a time: a broker round trip per record, so
    # linger_ms=0 on both sides (the clients' default; with the other
    # patterns' linger_ms=10 each record would wait 10 ms). confluent-kafka
    # has no awaitable send (produce + flush per record is another loop).
    ("send-sequential", "produce", "for v in values: await send(v) (linger_ms=0)", [
        ("gofka-async.sequential", "Gofka", "await AsyncProducer.send, one at a time", py_worker("gofka_async.py"),
         "send-sequential"),
        ("aiokafka.sequential", "aiokafka", "await send_and_wait, one at a time", py_worker("aiokafka_client.py"),
         "send-sequential"),
    ]),
    ("async-for", "consume", "async for m in consumer", [
        ("gofka-async.iter", "Gofka", "async for (AsyncConsumer)", py_worker("gofka_async.py"), "iter"),
        ("aiokafka.iter", "aiokafka", "async for (AIOKafkaConsumer)", py_worker("aiokafka_client.py"), "iter"),
    ]),
    ("poll-500", "consume", "for m in consumer.poll(500) / consume(500)", [
        ("gofka-sync.poll500", "Gofka", "Consumer.poll(500)", py_worker("gofka_sync.py"), "poll"),
        ("confluent.consume500", "confluent-kafka", "consume(500)", py_worker("confluent.py"), "consume"),
    ]),
    ("async-for-commit", "commit", "async for m in consumer: await consumer.commit(m)", [
        ("gofka-async.iter-commit", "Gofka", "async for + await commit(m)", py_worker("gofka_async.py"), "iter-commit"),
        ("aiokafka.iter-commit", "aiokafka", "async for + await commit()", py_worker("aiokafka_client.py"), "iter-commit"),
    ]),
    ("poll-commit", "commit", "for m in poll(500): commit(m) (synchronous)", [
        ("gofka-sync.poll-commit", "Gofka", "Consumer.poll(500) + commit(m)", py_worker("gofka_sync.py"), "poll-commit"),
        ("confluent.consume-commit", "confluent-kafka", "consume(500) + commit(m, asynchronous=False)",
         py_worker("confluent.py"), "consume-commit"),
    ]),
]

# Latency: (id, family, label, producer worker, producer mode, consumer
# worker, consumer mode).
LATENCY_CLIENTS = [
    ("gofka-sync", "Gofka", "send() / Consumer.poll", py_worker("gofka_sync.py"), "send", py_worker("gofka_sync.py"), "poll"),
    ("gofka-async", "Gofka", "await AsyncProducer.send / AsyncConsumer.poll", py_worker("gofka_async.py"), "send",
     py_worker("gofka_async.py"), "poll"),
    ("gofka-nb", "Gofka", "produce + flush / Consumer.poll", py_worker("gofka_nb.py"), "produce",
     py_worker("gofka_sync.py"), "poll"),
    ("confluent", "confluent-kafka", "produce + flush / poll", py_worker("confluent.py"), "produce",
     py_worker("confluent.py"), "consume"),
    ("aiokafka", "aiokafka", "send_and_wait / getmany", py_worker("aiokafka_client.py"), "send_and_wait",
     py_worker("aiokafka_client.py"), "getmany"),
    ("kafka-python", "kafka-python", "send().get() / poll", py_worker("kafka_python.py"), "send",
     py_worker("kafka_python.py"), "poll"),
    ("go-gofka", "Go: Gofka core", "ProduceSync / Consumer.Poll", GO, "sync", GO, "poll"),
    ("go-gofka-fetch", "Go: Gofka core", "ProduceSync / FetchPartition", GO, "sync", GO, "fetch"),
    ("go-franz", "Go: franz-go", "ProduceSync / PollFetches", GO, "sync", GO, "group"),
]

# ---------------------------------------------------------------------------


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def sh(cmd, **kw):
    return subprocess.run(cmd, cwd=kw.pop("cwd", ROOT), check=kw.pop("check", True), **kw)


def out(cmd, **kw):
    try:
        return subprocess.run(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=60, **kw
        ).stdout.strip()
    except Exception:
        return ""


# ---- set-up ---------------------------------------------------------------


def ensure_venv():
    req = os.path.join(BENCH, "requirements.txt")
    with open(req, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(VENV, ".requirements.sha256")
    if os.path.exists(stamp) and open(stamp).read().strip() == want and os.path.exists(VENV_PY):
        return
    log("installing the peers into bench/.venv (pip, %s)" % req)
    if not os.path.exists(VENV_PY):
        sh([sys.executable, "-m", "venv", VENV])
    sh([VENV_PY, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", req])
    with open(stamp, "w") as f:
        f.write(want + "\n")


def ensure_gofka_lib():
    lib = os.path.join(ROOT, "python", "gofka", "libgofka.so")
    if not os.path.exists(lib):
        log("building libgofka.so (./build.sh)")
        sh(["./build.sh"])


def build_gobench():
    """Builds bench/gobench with every optional Gofka path that compiles
    against this checkout; returns (tags used, {tag: why not})."""
    os.makedirs(os.path.dirname(GOBENCH), exist_ok=True)
    ok, missing = [], {}
    for tag in GO_TAGS:
        r = subprocess.run(
            ["go", "build", "-tags", tag, "-o", os.devnull, "./bench/gobench"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if r.returncode == 0:
            ok.append(tag)
        else:
            lines = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith("#")]
            missing[tag] = lines[0] if lines else "build failed"
    args = ["go", "build", "-o", GOBENCH]
    if ok:
        args += ["-tags", ",".join(ok)]
    sh(args + ["./bench/gobench"])
    log("built %s (tags: %s)" % (os.path.relpath(GOBENCH, ROOT), ",".join(ok) or "none"))
    return ok, missing


# The Gofka Python package the workers import: a copy of python/gofka taken
# at the start (snapshot_gofka), so that one run measures one build even when
# the working tree changes under it.
GOFKA_PYTHONPATH = os.path.join(ROOT, "python")


def snapshot_gofka():
    global GOFKA_PYTHONPATH
    tmp = tempfile.mkdtemp(prefix="gofka-bench-")
    shutil.copytree(os.path.join(ROOT, "python", "gofka"), os.path.join(tmp, "gofka"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    GOFKA_PYTHONPATH = tmp
    return tmp


def gofka_paths():
    """Which Gofka Python and Go paths this build has."""
    probe = (
        "import json, gofka\n"
        "P = gofka.Producer\n"
        "print(json.dumps({\n"
        " 'Producer.send_batch': hasattr(P, 'send_batch'),\n"
        " 'Producer.produce/poll/flush': all(hasattr(P, n) for n in ('produce', 'poll', 'flush')),\n"
        " 'Producer.init_transactions': hasattr(P, 'init_transactions'),\n"
        " 'AsyncProducer': hasattr(gofka, 'AsyncProducer'),\n"
        " 'AsyncProducer.send_batch': hasattr(getattr(gofka, 'AsyncProducer', None), 'send_batch'),\n"
        " 'Consumer': hasattr(gofka, 'Consumer'),\n"
        " 'AsyncConsumer': hasattr(gofka, 'AsyncConsumer'),\n"
        " 'version': gofka.__version__, 'library_version': gofka.library_version()}))\n"
    )
    env = dict(os.environ, PYTHONPATH=GOFKA_PYTHONPATH)
    try:
        py = json.loads(out([VENV_PY, "-c", probe], env=env) or "{}")
    except ValueError:
        py = {}
    try:
        go = json.loads(out([GOBENCH, "-list"]) or "{}")
    except ValueError:
        go = {}
    return {"python": py, "go": go}


def machine_info():
    info = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": os.getloadavg(),
    }
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["mem_gib"] = round(int(line.split()[1]) / 1048576, 1)
                break
    except OSError:
        pass
    return info


def versions():
    v = {"go": out(["go", "version"]), "kafka": os.environ.get("KAFKA_VERSION", "4.4.0")}
    v["franz-go"] = out(["go", "list", "-m", "-f", "{{.Version}}", "github.com/twmb/franz-go"])
    v["java"] = (subprocess.run(["java", "-version"], stderr=subprocess.PIPE, text=True).stderr.splitlines() or [""])[0]
    probe = (
        "import json, importlib.metadata as m, confluent_kafka\n"
        "d = {n: m.version(n) for n in ('confluent-kafka', 'kafka-python', 'aiokafka', 'matplotlib')}\n"
        "d['librdkafka'] = confluent_kafka.libversion()[0]\n"
        "print(json.dumps(d))\n"
    )
    try:
        v.update(json.loads(out([VENV_PY, "-c", probe]) or "{}"))
    except ValueError:
        pass
    v["gofka_commit"] = out(["git", "rev-parse", "--short", "HEAD"])
    v["gofka_dirty"] = bool(out(["git", "status", "--porcelain", "--untracked-files=no"]))
    return v


# ---- Kafka ----------------------------------------------------------------


class Kafka:
    """The harness's own broker, through scripts/kafka.sh."""

    def __init__(self, port, workdir):
        self.env = dict(os.environ, KAFKA_PORT=str(port), KAFKA_WORKDIR=workdir, KAFKA_NODES="1")
        self.started = False

    def up(self):
        log("starting Kafka (scripts/kafka.sh up, port %s, workdir %s)" % (self.env["KAFKA_PORT"], self.env["KAFKA_WORKDIR"]))
        self.started = True
        r = sh(["scripts/kafka.sh", "up"], env=self.env, stdout=subprocess.PIPE, text=True)
        return r.stdout.strip().splitlines()[-1]

    def down(self):
        if not self.started:
            return
        self.started = False
        log("stopping Kafka (scripts/kafka.sh down)")
        sh(["scripts/kafka.sh", "down"], env=self.env, check=False, stdout=subprocess.DEVNULL)
        # Safety net: if kafka.sh could not stop it, stop the node this
        # harness started, by the pid in its own workdir (never by name).
        pidfile = os.path.join(self.env["KAFKA_WORKDIR"], "node-1.pid")
        try:
            pid = int(open(pidfile).read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return
        if self.env["KAFKA_WORKDIR"] not in cmdline:
            return  # the pid is not (any more) our broker
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
            try:
                os.kill(pid, 0)
            except OSError:
                return
            log("Kafka (pid %d) still running: %s" % (pid, sig.name))
            try:
                os.kill(pid, sig)
            except OSError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    return
                time.sleep(0.2)


# ---- processes ------------------------------------------------------------

_live = set()  # Popen objects to kill if the runner is interrupted


def _start(cmd, env, stdin=None):
    p = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: killed as a whole
    )
    _live.add(p)
    return p


def _kill(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        pass
    _live.discard(p)


def kill_all():
    for p in list(_live):
        _kill(p)


def parse_result(stdout, stderr, rc):
    for line in reversed((stdout or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                break
    tail = " | ".join((stderr or "").strip().splitlines()[-3:])
    return {"ok": False, "error": "no result (exit %s): %s" % (rc, tail[-400:])}


def worker_cmd(worker, spec, client):
    if worker["kind"] == "py":
        return [VENV_PY, os.path.join(CLIENTS_DIR, worker["script"]), json.dumps(spec)]
    go_scen = {"latency-produce": "latency-produce", "latency-consume": "latency-consume"}.get(spec["scenario"], spec["scenario"])
    cmd = [
        GOBENCH,
        "-scenario", go_scen,
        "-client", "franz" if client.startswith("go-franz") else "gofka",
        "-mode", spec["mode"],
        "-brokers", spec["brokers"],
        "-topic", spec["topic"],
        "-partitions", str(spec.get("partitions", 1)),
        "-count", str(spec["count"]),
        "-size", str(spec["size"]),
        "-compression", spec.get("compression", "none"),
        "-group", spec.get("group", ""),
        "-poll-max", str(spec.get("poll_max", POLL_MAX)),
        "-members", str(spec.get("members", 1)),
        "-timeout", "%ds" % int(spec["timeout"]),
    ]
    if "commit_every" in spec:
        cmd += ["-commit-every", str(spec["commit_every"])]
    return cmd


def worker_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = GOFKA_PYTHONPATH
    env["PYTHONUNBUFFERED"] = "1"
    return env


def rotated(clients, rnd):
    """The clients in round rnd's order: round 1 runs A B C, round 2 B C A,
    round 3 C A B. No client always runs first after the round's topics
    are created (and the last round's deleted), when the broker is
    busiest; a fixed order gave the first client slower rounds."""
    k = (rnd - 1) % len(clients) if clients else 0
    return clients[k:] + clients[:k]


def run_worker(worker, spec, client, timeout):
    """One measured process; returns its result dict (never raises)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = _start(worker_cmd(worker, spec, client), worker_env(), stdin=subprocess.DEVNULL)
    try:
        so, se = p.communicate(timeout=timeout)
        res = parse_result(so, se, p.returncode)
    except subprocess.TimeoutExpired:
        _kill(p)
        res = {"ok": False, "error": "killed after the %ds hard timeout" % timeout}
    _live.discard(p)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res["process_cpu_seconds"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return res


def tool(args, timeout=300):
    """Runs a gobench harness tool (create/delete/fill/verify)."""
    r = subprocess.run([GOBENCH] + args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    res = parse_result(r.stdout, r.stderr, r.returncode)
    if not res.get("ok"):
        raise RuntimeError("gobench %s: %s" % (" ".join(args[:2]), res.get("error")))
    return res


# ---- the runner -----------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        self.rounds = args.rounds or self.cfg["rounds"]
        self.run_id = time.strftime("%Y%m%d-%H%M%S")
        self.tag = "b" + self.run_id.replace("-", "")[4:]
        self.runs = []
        self.expected = {}
        self.unavailable = {}  # (scenario, client) -> reason: skip later rounds
        # make bench-quick stays under 5 minutes: its share runs (each joins
        # one or four members to a new group) only with --only share.
        default = {"produce", "consume", "latency", "patterns", "transactions"} | (set() if args.quick else {"share"})
        self.only = set(args.only.split(",")) if args.only else default
        self.client_filter = set(args.clients.split(",")) if args.clients else None
        self.config_filter = set(args.configs.split(",")) if args.configs else None
        self.results_path = os.path.join(BENCH, "results", self.run_id + ".json")
        self.doc = {}

    def wanted(self, cid):
        return self.client_filter is None or cid in self.client_filter

    def wanted_config(self, name):
        return self.config_filter is None or name in self.config_filter

    def expected_checksum(self, count, size):
        key = (count, size)
        if key not in self.expected:
            self.expected[key] = common.expected_checksum(common.make_pool(count, size), count)
        return self.expected[key]

    def save(self):
        self.doc["runs"] = self.runs
        self.doc["meta"]["loadavg_end"] = os.getloadavg()
        self.doc["meta"]["finished"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.makedirs(os.path.dirname(self.results_path), exist_ok=True)
        tmp = self.results_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.doc, f, indent=1)
        os.replace(tmp, self.results_path)

    def record(self, scenario, config, client, family, label, rnd, res, verify=None):
        entry = {
            "scenario": scenario,
            "config": config,
            "client": client,
            "family": family,
            "label": label,
            "round": rnd,
            "ok": bool(res.get("ok")) and (verify is None or verify.get("ok", False)),
            "result": res,
            "verify": verify,
            "loadavg": os.getloadavg()[0],
        }
        self.runs.append(entry)
        if res.get("unavailable"):
            self.unavailable[(scenario, client)] = res["unavailable"]
            status = "n/a (%s)" % res["unavailable"]
        elif not entry["ok"]:
            status = "FAILED: %s" % (res.get("error") or (verify or {}).get("error"))
        else:
            status = self.summary(scenario, res)
        log("%-8s %-28s r%d %-16s %s" % (scenario, config.get("name", ""), rnd, client, status))

    @staticmethod
    def summary(scenario, res):
        if scenario == "latency":
            a = (res.get("latency_ms") or {})
            e = (res.get("e2e") or {}).get("latency_ms") or {}
            return "ack p50 %.2f p99 %.2f ms, e2e p50 %s ms" % (
                a.get("p50", 0), a.get("p99", 0), "%.2f" % e["p50"] if e else "n/a")
        secs = res["seconds"] - res.get("first_seconds", 0.0)
        return "%.0f msgs/s (%.2fs, cpu %.2fs)" % (res["count"] / max(secs, 1e-9), secs, res["cpu_seconds"])

    def skipped(self, scenario, cid):
        """The result of a path found unavailable in an earlier run (not
        started again)."""
        return {"ok": False, "unavailable": self.unavailable[(scenario, cid)], "skipped": True}

    def skip_if_unavailable(self, scenario, config, cid, family, label, rnd):
        if (scenario, cid) in self.unavailable:
            self.record(scenario, config, cid, family, label, rnd, self.skipped(scenario, cid))
            return True
        return False

    # -- scenarios --

    def produce(self):
        pc = self.cfg["produce"]
        clients = [c for c in PRODUCE_CLIENTS if self.wanted(c[0])]
        for size, parts, comp in pc["configs"]:
            count = pc["count"][size]
            name = "%dB-%dp-%s" % (size, parts, comp)
            if not self.wanted_config(name):
                continue
            config = {"name": name, "size": size, "partitions": parts, "compression": comp, "count": count}
            for rnd in range(1, self.rounds + 1):
                self.produce_round("produce", config, clients, rnd)

    def produce_round(self, scenario, config, clients, rnd):
        """One round of a produce configuration: each client writes
        config["count"] records into a fresh topic, then all topics are
        read back and verified."""
        name, count, size = config["name"], config["count"], config["size"]
        parts, comp = config["partitions"], config["compression"]
        expected = self.expected_checksum(count, size)
        todo = [c for c in clients if ((scenario, c[0]) not in self.unavailable)]
        if not todo:
            return
        # Fresh topics for the round, created (and later verified and
        # deleted) in one tool call each to keep the overhead small.
        topics = {c[0]: "%s-p-%s-%s-r%d" % (self.tag, name, c[0], rnd) for c in todo}
        self.create(list(topics.values()), parts)
        done = []
        for cid, family, label, worker, mode in rotated(clients, rnd):
            if (scenario, cid) in self.unavailable:
                done.append((cid, family, label, self.skipped(scenario, cid)))
                continue
            spec = dict(scenario="produce", mode=mode, brokers=self.brokers, topic=topics[cid], partitions=parts,
                        count=count, size=size, compression=comp, timeout=self.cfg["timeout"])
            if "commit_every" in config:
                spec["commit_every"] = config["commit_every"]
            res = run_worker(worker, spec, cid, self.cfg["timeout"] + 30)
            done.append((cid, family, label, res))
        checks = self.verify_topics([topics[d[0]] for d in done if d[3].get("ok")], count, expected)
        for cid, family, label, res in done:
            if not res.get("ok"):
                self.record(scenario, config, cid, family, label, rnd, res)
                continue
            verify = checks[topics[cid]]
            if verify["ok"] and (res.get("count") != count or res.get("checksum") != expected):
                verify = {"ok": False, "error": "client reported count %s checksum %s" % (
                    res.get("count"), res.get("checksum"))}
            self.record(scenario, config, cid, family, label, rnd, res, verify)
        self.delete(list(topics.values()))
        self.save()

    def transactions(self):
        """Transactional produce, committing every N records, for each N of
        the configuration."""
        tc = self.cfg["transactions"]
        clients = [c for c in TXN_CLIENTS if self.wanted(c[0])]
        size, parts, count = tc["size"], tc["partitions"], tc["count"]
        for every in tc["commit_every"]:
            name = "%dB-%dp-commit%d" % (size, parts, every)
            if not clients or not self.wanted_config(name):
                continue
            config = {"name": name, "size": size, "partitions": parts, "compression": "none", "count": count,
                      "commit_every": every}
            for rnd in range(1, self.rounds + 1):
                self.produce_round("transactions", config, clients, rnd)

    def warm_up(self, seconds):
        """Writes and reads 100 B records, unmeasured, for about `seconds`
        before the first measured run. A freshly started broker runs
        interpreted Java until its JIT compiles the produce and fetch paths:
        in a run without this the whole first round of the first
        configuration was slower for every client (the first clients by up
        to 3x), whichever order they ran in."""
        if seconds <= 0:
            return
        topic = "%s-warmup" % self.tag
        self.create([topic], 1)
        t0 = time.monotonic()
        n = 0
        # Bounded in records too: the topic's deletion frees its segments a
        # minute later (file.delete.delay.ms), during the first measured
        # runs, and 30 s of fills wrote 18.5M records (1.9 GB) in run
        # 20261127-234227.
        while time.monotonic() - t0 < seconds and n < 5000000:
            tool(["-tool", "fill", "-brokers", self.brokers, "-topic", topic, "-count", "500000", "-size", "100"],
                 timeout=self.cfg["timeout"])
            n += 500000
        # The fetch path warms up too (the consume runs come next).
        read = tool(["-tool", "verify", "-brokers", self.brokers, "-topic", topic], timeout=self.cfg["timeout"]).get("count")
        if read != n:
            raise RuntimeError("warm-up topic holds %s records, want %d" % (read, n))
        self.delete([topic])
        self.doc["meta"]["warmup"] = {"records": n, "seconds": round(time.monotonic() - t0, 1)}
        log("broker warm-up: %d records written and read back in %.0f s, unmeasured" % (n, time.monotonic() - t0))

    def create(self, topics, partitions):
        tool(["-tool", "create", "-brokers", self.brokers, "-topic", ",".join(topics), "-partitions", str(partitions)])

    def verify_topics(self, topics, count, checksum):
        """Reads topics back; {topic: {"ok", "count", "checksum", "error"}}.
        count and checksum are the expected values: numbers, or dicts by
        topic."""
        out = {}
        if not topics:
            return out
        try:
            v = tool(["-tool", "verify", "-brokers", self.brokers, "-topic", ",".join(topics)], timeout=self.cfg["timeout"])
        except Exception as e:
            return {t: {"ok": False, "error": str(e)} for t in topics}
        per = v.get("topics") or {topics[0]: v}
        for t in topics:
            want_n = count[t] if isinstance(count, dict) else count
            want_c = checksum[t] if isinstance(checksum, dict) else checksum
            r = per.get(t) or {"error": "not verified"}
            if r.get("error"):
                out[t] = {"ok": False, "error": r["error"]}
                continue
            ok = r["count"] == want_n and r["checksum"] == want_c
            out[t] = {
                "ok": ok,
                "count": r["count"],
                "checksum": r["checksum"],
                "error": None if ok else "topic holds %d records, checksum %d (want %d, %d)" % (
                    r["count"], r["checksum"], want_n, want_c),
            }
        return out

    def delete(self, topics):
        try:
            tool(["-tool", "delete", "-brokers", self.brokers, "-topic", ",".join(topics)], timeout=120)
        except Exception as e:
            log("warning: could not delete %s: %s" % (",".join(topics), e))

    def consume(self):
        cc = self.cfg["consume"]
        clients = [c for c in CONSUME_CLIENTS if self.wanted(c[0])]
        parts = cc["partitions"]
        for size, count in cc["configs"]:
            name = "%dB-x%d" % (size, count)
            if not self.wanted_config(name):
                continue
            config = {"name": name, "size": size, "partitions": parts, "count": count}
            topic = self.pre_fill("%s-c-%s" % (self.tag, name), count, size, parts)
            for rnd in range(1, self.rounds + 1):
                self.consume_round("consume", config, clients, rnd, topic, POLL_MAX)
            self.delete([topic])

    def pre_fill(self, topic, count, size, parts):
        """Creates topic and writes count records of size bytes (the pool
        every client checksums against); returns topic."""
        expected = self.expected_checksum(count, size)
        log("pre-filling %s (%d x %d B, %d partitions)" % (topic, count, size, parts))
        self.create([topic], parts)
        tool(["-tool", "fill", "-brokers", self.brokers, "-topic", topic, "-count", str(count), "-size", str(size)],
             timeout=self.cfg["timeout"])
        v = self.verify_topics([topic], count, expected)[topic]
        if not v["ok"]:
            raise RuntimeError("pre-fill of %s: %s" % (topic, v["error"]))
        return topic

    def consume_round(self, scenario, config, clients, rnd, topic, poll_max):
        """One round of a consume configuration: each client reads the whole
        pre-filled topic as a new group; count and checksum must match."""
        name, count, size, parts = config["name"], config["count"], config["size"], config["partitions"]
        expected = self.expected_checksum(count, size)
        for cid, family, label, worker, mode in rotated(clients, rnd):
            if self.skip_if_unavailable(scenario, config, cid, family, label, rnd):
                continue
            spec = dict(scenario="consume", mode=mode, brokers=self.brokers, topic=topic, partitions=parts,
                        count=count, size=size, group="%s-g-%s-%s-r%d" % (self.tag, name, cid, rnd),
                        poll_max=poll_max, timeout=self.cfg["timeout"])
            res = run_worker(worker, spec, cid, self.cfg["timeout"] + 30)
            verify = None
            if res.get("ok"):
                ok = res.get("count") == count and res.get("checksum") == expected
                verify = {"ok": ok, "error": None if ok else "consumed %s records, checksum %s (want %d, %d)" % (
                    res.get("count"), res.get("checksum"), count, expected)}
            self.record(scenario, config, cid, family, label, rnd, res, verify)
        self.save()

    def share(self):
        """Share groups: 1 and 4 consumers of a share group, beside a
        classic group, read one pre-filled topic; each run is a new group."""
        sc = self.cfg["share"]
        size, parts, count = sc["size"], sc["partitions"], sc["count"]
        clients = [c for c in SHARE_CLIENTS if self.wanted(c[0])]
        configs = [m for m in sc["members"] if self.wanted_config("share-%dc" % m)]
        if not clients or not configs:
            return
        topic = self.pre_fill("%s-s-%d" % (self.tag, count), count, size, parts)
        expected = self.expected_checksum(count, size)
        try:
            for members in configs:
                config = {"name": "share-%dc" % members, "size": size, "partitions": parts, "count": count,
                          "members": members}
                for rnd in range(1, self.rounds + 1):
                    for cid, family, label, worker, mode, share in rotated(clients, rnd):
                        if self.skip_if_unavailable("share", config, cid, family, label, rnd):
                            continue
                        group = "%s-g-%s-%s-r%d" % (self.tag, config["name"], cid, rnd)
                        if share:
                            tool(["-tool", "share-earliest", "-brokers", self.brokers, "-topic", topic, "-group", group])
                        spec = dict(scenario="share", mode=mode, brokers=self.brokers, topic=topic, partitions=parts,
                                    count=count, size=size, group=group, members=members, poll_max=POLL_MAX,
                                    timeout=self.cfg["timeout"])
                        res = run_worker(worker, spec, cid, self.cfg["timeout"] + 30)
                        verify = None
                        if res.get("ok"):
                            ok = res.get("count") == count and res.get("checksum") == expected
                            verify = {"ok": ok, "error": None if ok else "consumed %s records, checksum %s (want %d, %d)" % (
                                res.get("count"), res.get("checksum"), count, expected)}
                        self.record("share", config, cid, family, label, rnd, res, verify)
                    self.save()
        finally:
            self.delete([topic])

    def patterns(self):
        """The loops users write (PATTERNS), each beside its peer."""
        pc = self.cfg["patterns"]
        size, parts = pc["size"], pc["partitions"]
        filled = {}  # record count -> pre-filled topic, shared by the consume and commit patterns
        try:
            for name, kind, code, clients in PATTERNS:
                clients = [c for c in clients if self.wanted(c[0])]
                if not clients or not self.wanted_config(name):
                    continue
                count = pc["count"].get(name, pc["count"][kind])
                config = {"name": name, "kind": kind, "code": code, "size": size, "partitions": parts,
                          "compression": "none", "count": count}
                if kind == "produce":
                    for rnd in range(1, self.rounds + 1):
                        self.produce_round("pattern", config, clients, rnd)
                    continue
                if count not in filled:
                    filled[count] = self.pre_fill("%s-x-%d" % (self.tag, count), count, size, parts)
                for rnd in range(1, self.rounds + 1):
                    self.consume_round("pattern", config, clients, rnd, filled[count], pc["poll_max"])
        finally:
            if filled:
                self.delete(list(filled.values()))

    def latency(self):
        lc = self.cfg["latency"]
        count, size = lc["count"], lc["size"]
        config = {"name": "%dB-1p" % size, "size": size, "partitions": 1, "count": count}
        clients = [c for c in LATENCY_CLIENTS if self.wanted(c[0])]
        for rnd in range(1, self.rounds + 1):
            todo = [c for c in clients if ("latency", c[0]) not in self.unavailable]
            if not todo:
                continue
            topics = {c[0]: "%s-l-%s-r%d" % (self.tag, c[0], rnd) for c in todo}
            self.create(list(topics.values()), 1)
            done = []
            for cid, family, label, pw, pmode, cw, cmode in rotated(clients, rnd):
                if ("latency", cid) in self.unavailable:
                    done.append((cid, family, label, self.skipped("latency", cid)))
                    continue
                res = self.latency_pair(topics[cid], cid, pw, pmode, cw, cmode, count, size)
                done.append((cid, family, label, res))
            oks = [d for d in done if d[3].get("ok")]
            checks = self.verify_topics([topics[d[0]] for d in oks], count + 1,
                                        {topics[d[0]]: d[3]["checksum"] for d in oks})
            for cid, family, label, res in done:
                if not res.get("ok"):
                    self.record("latency", config, cid, family, label, rnd, res)
                    continue
                verify = checks[topics[cid]]
                e2e = res.get("e2e") or {}
                if verify["ok"] and e2e.get("ok") and (e2e.get("count") != count + 1 or e2e.get("checksum") != res["checksum"]):
                    verify = {"ok": False, "error": "consumer saw %s records, checksum %s (producer: %d, %s)" % (
                        e2e.get("count"), e2e.get("checksum"), count + 1, res["checksum"])}
                self.record("latency", config, cid, family, label, rnd, res, verify)
            self.delete(list(topics.values()))
            self.save()

    def latency_pair(self, topic, cid, pw, pmode, cw, cmode, count, size):
        """Starts the consumer, then the producer; tells the producer to go
        once the consumer has seen the priming record."""
        timeout = self.cfg["timeout"]
        base = dict(brokers=self.brokers, topic=topic, partitions=1, count=count, size=size,
                    group="%s-g-%s" % (self.tag, topic), timeout=timeout)
        env = worker_env()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cons = _start(worker_cmd(cw, dict(base, scenario="latency-consume", mode=cmode), cid), env, stdin=subprocess.DEVNULL)
        prod = _start(worker_cmd(pw, dict(base, scenario="latency-produce", mode=pmode), cid), env, stdin=subprocess.PIPE)
        lines = queue.Queue()
        cons_out, cons_err, prod_err = [], [], []

        def pump(stream, sink, q=None):
            for line in stream:
                sink.append(line)
                if q is not None:
                    q.put(line)
            if q is not None:
                q.put(None)

        threads = [
            threading.Thread(target=pump, args=(cons.stdout, cons_out, lines), daemon=True),
            threading.Thread(target=pump, args=(cons.stderr, cons_err), daemon=True),
            threading.Thread(target=pump, args=(prod.stderr, prod_err), daemon=True),
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + timeout
        consumer_ready = False
        try:
            # Wait for READY (or the consumer's early result: unavailable).
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=0.2)
                except queue.Empty:
                    if prod.poll() is not None:
                        break  # the producer ended early (unavailable or error)
                    continue
                if line is None:
                    break
                if line.strip() == "READY":
                    consumer_ready = True
                    break
            if prod.poll() is None:
                prod.stdin.write("go\n")
                prod.stdin.flush()
            try:
                pso, _ = prod.communicate(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(prod)
                pso = ""
            pres = parse_result(pso, "".join(prod_err), prod.returncode)
            if not consumer_ready or not pres.get("ok"):
                _kill(cons)
            try:
                cons.wait(timeout=max(1, min(60, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                _kill(cons)
            for t in threads:
                t.join(5)
            cres = parse_result("".join(cons_out), "".join(cons_err), cons.returncode)
        finally:
            _kill(prod)
            _kill(cons)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if pres.get("ok") and not consumer_ready and not cres.get("unavailable"):
            cres = {"ok": False, "error": "consumer never saw the priming record: %s" % cres.get("error")}
        pres["e2e"] = cres
        pres["process_cpu_seconds"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        return pres

    # -- main --

    def main(self):
        a = self.args
        t0 = time.monotonic()
        ensure_venv()
        ensure_gofka_lib()
        tags, missing_tags = build_gobench()
        kafka = None
        snap = snapshot_gofka()
        self.doc = {
            "meta": {
                "run_id": self.run_id,
                "mode": "quick" if a.quick else "full",
                "rounds": self.rounds,
                "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "machine": machine_info(),
                "versions": versions(),
                "gofka_paths": gofka_paths(),
                "go_tags": tags,
                "go_tags_missing": missing_tags,
                "sizes": self.cfg,
                "poll_max": POLL_MAX,
                "argv": sys.argv[1:],
            },
            "runs": [],
        }
        try:
            if a.brokers:
                self.brokers = a.brokers
            else:
                kafka = Kafka(a.port, a.workdir)
                self.brokers = kafka.up()
            self.doc["meta"]["brokers"] = self.brokers
            log("brokers %s, %d rounds, results -> %s" % (self.brokers, self.rounds, os.path.relpath(self.results_path, ROOT)))
            self.warm_up(self.cfg["warmup_seconds"])
            if "produce" in self.only:
                self.produce()
            if "consume" in self.only:
                self.consume()
            if "latency" in self.only:
                self.latency()
            if "patterns" in self.only:
                self.patterns()
            if "transactions" in self.only:
                self.transactions()
            if "share" in self.only:
                self.share()
        finally:
            kill_all()
            if kafka is not None:
                kafka.down()
            shutil.rmtree(snap, ignore_errors=True)
            self.doc["meta"]["elapsed_seconds"] = round(time.monotonic() - t0, 1)
            self.save()
        log("raw results: %s" % os.path.relpath(self.results_path, ROOT))
        if not a.no_report:
            sh([VENV_PY, os.path.join(BENCH, "report.py"), self.results_path])
        log("done in %.0f s" % (time.monotonic() - t0))


def _on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the < 5 min subset (make bench-quick)")
    ap.add_argument("--rounds", type=int, default=0, help="rounds (default 3)")
    ap.add_argument("--only", default="", help="comma list of produce,consume,latency,patterns,transactions,share")
    ap.add_argument("--clients", default="", help="comma list of client ids (default: all)")
    ap.add_argument("--configs", default="",
                    help="comma list of configuration names (e.g. 100B-1p-none, 100B-x5000000, produce-no-poll, share-4c; "
                         "default: all)")
    ap.add_argument("--port", type=int, default=int(os.environ.get("BENCH_KAFKA_PORT", "9592")),
                    help="port of the harness's Kafka (default 9592, env BENCH_KAFKA_PORT)")
    ap.add_argument("--workdir", default=os.environ.get("BENCH_KAFKA_WORKDIR", os.path.join(ROOT, ".kafka-bench")),
                    help="KAFKA_WORKDIR of the harness's Kafka (default .kafka-bench/)")
    ap.add_argument("--brokers", default="", help="use this running cluster instead of starting one")
    ap.add_argument("--no-report", action="store_true", help="skip docs/benchmarks.md and the charts")
    args = ap.parse_args()
    if args.rounds and args.rounds < 1:
        ap.error("--rounds must be >= 1")
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        Bench(args).main()
    except KeyboardInterrupt as e:
        log("interrupted (%s); Kafka stopped" % (e or "Ctrl-C"))
        sys.exit(130)


if __name__ == "__main__":
    main()
