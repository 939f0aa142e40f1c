"""scripts/kafka.sh's own helpers, without a broker: the script defines
them when sourced."""

from __future__ import annotations

import os
import subprocess
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KAFKA_SH = os.path.join(ROOT, "scripts", "kafka.sh")


def has_since(log: str, offset: int, text: str) -> bool:
    script = 'source "$1"; log_has_since "$2" "$3" "$4"'
    proc = subprocess.run(["bash", "-c", script, "bash", KAFKA_SH, log, str(offset), text],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return proc.returncode == 0


def test_readiness_line_found_with_much_log_after_it(tmp_path: Any) -> None:
    """A node restarted into a busy cluster logs well over a pipe's worth
    after "Kafka Server started": the readiness check must still see the
    line (under pipefail, `tail | grep -q` failed here: tail died of
    SIGPIPE once grep had its match, and a ready node read as not ready)."""
    log = str(tmp_path / "node-2.log")
    before = b"[old run] Kafka Server started\n" + b"old filler\n" * 1000
    with open(log, "wb") as f:
        f.write(before + b"[new run] Kafka Server started\n" + b"replica fetcher line\n" * 20000)
    assert has_since(log, len(before), "Kafka Server started")
    assert has_since(log, 0, "Kafka Server started")
    assert not has_since(log, len(before) + 40, "Kafka Server started")  # only the old run's line before
    assert not has_since(str(tmp_path / "missing.log"), 0, "Kafka Server started")
