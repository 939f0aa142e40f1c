"""examples/prometheus_stats.py: the clients' stats() exported through
prometheus_client, printed once and served over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from typing import Dict, Tuple

from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "prometheus_stats.py")


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _samples(text: str) -> Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _check(text: str) -> None:
    samples = _samples(text)
    by_name: Dict[str, float] = {}
    for (name, labels), value in samples.items():
        by_name.setdefault(name, 0.0)
        by_name[name] += value
    # 100 records produced, 50 consumed and committed: the lag is the rest.
    # records sent counts a resent batch again (a real broker can refuse a
    # fresh topic's first batch): at least the 100, the same per partition
    assert by_name["gofka_producer_records_sent_total"] >= 100
    assert by_name["gofka_producer_records_acknowledged_total"] == 100
    assert by_name["gofka_producer_delivery_errors_total"] == 0
    assert by_name["gofka_producer_partition_records_sent_total"] == by_name["gofka_producer_records_sent_total"]
    assert by_name["gofka_consumer_commits_total"] == 1
    assert by_name["gofka_consumer_partition_position"] == 50
    assert by_name["gofka_consumer_partition_lag"] == 50
    assert by_name["gofka_consumer_last_commit_timestamp_seconds"] > 0
    ups = {labels: v for (name, labels), v in samples.items() if name == "gofka_broker_up"}
    clients = {dict(labels)["client"] for labels in ups}
    assert clients == {"producer", "consumer"} and all(v == 1 for v in ups.values())
    assert by_name["gofka_broker_requests_sent_total"] > 0
    assert by_name["gofka_broker_rtt_avg_seconds"] > 0


def test_example_prints_metrics_once() -> None:
    r = subprocess.run([sys.executable, EXAMPLE, "--once"], env=_env(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, universal_newlines=True)
    assert r.returncode == 0, r.stderr
    _check(r.stdout)


def test_example_serves_metrics_over_http() -> None:
    p = subprocess.Popen([sys.executable, EXAMPLE, "--port", "0", "--serve-seconds", "60"], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        assert p.stdout is not None
        line = p.stdout.readline()  # bounded by the finally's kill if the example hangs (test timeout)
        assert line.startswith("serving http://127.0.0.1:"), (line, p.stderr.read() if p.poll() is not None else "")
        url = line.split()[1]
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert resp.status == 200
            _check(resp.read().decode())
    finally:
        p.kill()
        p.wait(timeout=30)
