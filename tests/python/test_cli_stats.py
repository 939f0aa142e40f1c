"""The command line's statistics: produce/consume --stats SECONDS and
lag GROUP --watch (gofka/_cli_stats.py)."""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

import pytest

import gofka
from gofka import cli
from gofka._cli_stats import StatsPrinter, watch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _env(brokers: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
    env["GOFKA_BROKERS"] = brokers
    return env


def _popen(args: List[str], brokers: str) -> "subprocess.Popen[str]":
    return subprocess.Popen([sys.executable, "-m", "gofka"] + args, env=_env(brokers), cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)


class _Lines(object):
    """Reads a stream's lines in a thread, so that waits can time out."""

    def __init__(self, stream: Any) -> None:
        self.q: "queue.Queue[Optional[str]]" = queue.Queue()
        self.seen: List[str] = []

        def pump() -> None:
            for line in stream:
                self.q.put(line.rstrip("\n"))
            self.q.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def until(self, pred: Any, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no such line within %ss; saw %r" % (timeout, self.seen[-20:])
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, "stream ended; saw %r" % self.seen[-20:]
            self.seen.append(line)
            if pred(line):
                return line


def _row(line: str, topic: str) -> Optional[List[str]]:
    cells = line.split()
    return cells if cells and cells[0] == topic else None


def test_produce_stats_reports_partitions_while_sending(brokers: str, topic: str) -> None:
    p = _popen(["produce", topic, "--stats", "0.05", "--batch", "1", "-p", "0", "-q"], brokers)
    try:
        assert p.stdin is not None and p.stderr is not None
        err = _Lines(p.stderr)
        # Records trickle in: reports come while the producer runs.
        for i in range(5):
            p.stdin.write("record %d\n" % i)
            p.stdin.flush()
        header = err.until(lambda ln: ln.startswith("TOPIC") and "RECORDS/S" in ln)
        assert header.split() == ["TOPIC", "PARTITION", "RECORDS/S", "QUEUED", "RTT_MS", "RTT_P99_MS"]
        # A report after the five were acknowledged: the partition's row
        # with a round-trip time measured.
        err.until(lambda ln: ln.startswith("gofka stats: 5 records sent, 5 acknowledged, 0 failed"))
        row = _row(err.until(lambda ln: _row(ln, topic) is not None), topic)
        assert row is not None and row[1] == "0" and row[3] == "0"
        assert float(row[4]) > 0 and float(row[5]) >= float(row[4]) / 2
        p.stdin.close()
        assert p.wait(timeout=60) == cli.EXIT_OK
    finally:
        p.kill()
        p.wait(timeout=30)


def test_consume_stats_reports_lag(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, timeout=15) as prod:
        prod.send_batch(topic, [b"v%d" % i for i in range(30)], partition=0)
    group = "cli-stats-%s" % uuid.uuid4().hex[:8]
    r = subprocess.run([sys.executable, "-m", "gofka", "consume", topic, "-g", group, "--stats", "0.05",
                        "--idle-timeout", "1", "-q"], env=_env(brokers), cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=90)
    assert r.returncode == cli.EXIT_OK, r.stderr
    assert r.stdout.count("\n") == 30
    lines = r.stderr.splitlines()
    heads = [ln for ln in lines if ln.startswith("TOPIC")]
    assert heads and heads[0].split() == ["TOPIC", "PARTITION", "RECORDS/S", "LAG", "RTT_MS", "RTT_P99_MS"]
    rows = [row for row in (_row(ln, topic) for ln in lines) if row is not None]
    assert len(rows) >= 5  # 1 s idle at 0.05 s
    assert rows[-1][1] == "0" and rows[-1][3] == "0"  # all 30 polled: no lag
    assert any(ln.startswith("gofka stats: 30 records fetched") for ln in lines)


def test_lag_watch_refreshes_until_interrupted(brokers: str, topic: str) -> None:
    group = "cli-watch-%s" % uuid.uuid4().hex[:8]
    with gofka.Producer(brokers, timeout=15) as prod:
        prod.send_batch(topic, [b"v%d" % i for i in range(4)], partition=0)
    with gofka.Consumer(brokers, group, [topic], auto_commit=False, timeout=15) as c:
        got: List[Any] = []
        deadline = time.monotonic() + 20
        while len(got) < 3:
            assert time.monotonic() < deadline
            got += c.poll(3 - len(got), timeout=0.5)
        c.commit()
    p = _popen(["lag", group, "--watch", "0.1"], brokers)
    try:
        assert p.stdout is not None
        out = _Lines(p.stdout)
        for _ in range(3):
            out.until(lambda ln: ln.startswith("# "))  # not a terminal: one table after another
            row = _row(out.until(lambda ln: _row(ln, topic) is not None), topic)
            assert row == [topic, "0", "3", "4", "1"]
            assert out.until(lambda ln: ln.startswith("total lag")) == "total lag 1"
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == cli.EXIT_INTERRUPTED
    finally:
        p.kill()
        p.wait(timeout=30)


@pytest.mark.parametrize("args", [
    ["produce", "t", "--stats", "0"],
    ["produce", "t", "--stats", "-1"],
    ["consume", "t", "--stats", "nan"],
    ["consume", "t", "--stats", "soon"],
    ["consume", "t", "--stats", "3000000"],
    ["lag", "g", "--watch", "0"],
    ["lag", "g", "--watch", "x"],
])
def test_bad_intervals_are_usage_errors(args: List[str]) -> None:
    r = subprocess.run([sys.executable, "-m", "gofka"] + args, env=_env("127.0.0.1:9"), cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert r.returncode == cli.EXIT_USAGE
    assert "--stats" in r.stderr or "--watch" in r.stderr


def test_watch_with_max_lag_is_a_usage_error() -> None:
    r = subprocess.run([sys.executable, "-m", "gofka", "lag", "g", "--watch", "--max-lag", "3"],
                       env=_env("127.0.0.1:9"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    assert r.returncode == cli.EXIT_USAGE and "--watch" in r.stderr


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_watch_redraws_in_place_on_a_terminal() -> None:
    out = _Tty()
    tables = [["A", "total 1"], ["A", "B", "total 2"], ["total 3"]]
    calls = []

    def sleep(s: float) -> None:
        calls.append(s)
        if len(calls) == len(tables):
            raise KeyboardInterrupt

    it = iter(tables)
    with pytest.raises(KeyboardInterrupt):
        watch(lambda: next(it), 0.5, out, sleep=sleep)
    assert calls == [0.5, 0.5, 0.5]
    # The second draw goes back up the 2 lines of the first and clears;
    # the third the 3 lines of the second. No timestamps on a terminal.
    assert out.getvalue() == "A\ntotal 1\n\x1b[2F\x1b[JA\nB\ntotal 2\n\x1b[3F\x1b[Jtotal 3\n"


def _snap(kind: str, ts: int, parts: List[Dict[str, Any]]) -> Dict[str, Any]:
    s: Dict[str, Any] = {"type": kind, "ts_ms": ts, "partitions": parts,
                         "brokers": [{"node_id": 1, "rtt_avg_us": 1500, "rtt_p99_us": 4000, "rtt_samples": 3}]}
    s.update({"records": 0, "acknowledged": 0, "failed": 0, "buffer_bytes": 0, "buffer_limit": 1,
              "fetched_records": 0, "rebalances": 0})
    return s


def test_stats_printer_rates() -> None:
    pr = StatsPrinter(io.StringIO())
    pr.start_ms = 0
    part = {"topic": "t", "partition": 0, "leader": 1, "queued_records": 2, "records_sent": 100}
    lines = pr.lines(_snap("producer", 1000, [part]))
    assert lines[2].split() == ["t", "0", "100", "2", "1.50", "4.00"]  # 100 records in the first second
    lines = pr.lines(_snap("producer", 3000, [dict(part, records_sent=500, leader=7)]))
    assert lines[2].split() == ["t", "0", "200", "2", "-", "-"]  # 400 in 2 s; leader unknown: no RTT

    pr = StatsPrinter(io.StringIO())
    cpart = {"topic": "t", "partition": 3, "leader": 1, "position": 10, "lag": 5}
    lines = pr.lines(_snap("consumer", 1000, [cpart]))
    assert lines[2].split() == ["t", "3", "-", "5", "1.50", "4.00"]  # no rate before two reports
    lines = pr.lines(_snap("consumer", 1500, [dict(cpart, position=60, lag=-1)]))
    assert lines[2].split() == ["t", "3", "100", "-", "1.50", "4.00"]  # 50 in 0.5 s; lag unknown
