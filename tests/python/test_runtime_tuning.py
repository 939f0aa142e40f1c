"""The library tunes the Go runtime it hosts when it is loaded
(docs/configuration.md, "Memory"). Here: the collector's pace
(core/gcpace.go, GOGC=50 while collections are cheap), and GOGC in the
environment winning. The heap's soft limit (core/memlimit.go) is checked
where the library is loaded in Go (capi/memlimit_test.go).

Each case loads the library in a fresh interpreter, where the environment
is the case's own: the runtime reads GOGC once, when it starts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Dict, Optional

import pytest

import gofka

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(gofka.__file__)))

# A client loads the library; no broker is needed to read its figures.
SCRIPT = r"""
import json, gofka
from gofka import _native
p = gofka.Producer(brokers="127.0.0.1:1")
print(json.dumps(json.loads(_native.call_returning_buffer(_native.lib.gofka_debug_stats, 0))))
p.close(timeout=1)
"""


def stats_in_fresh_process(gogc: Optional[str]) -> Dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOGC", "GOMEMLIMIT")}
    env["PYTHONPATH"] = PACKAGE_PARENT
    if gogc is not None:
        env["GOGC"] = gogc
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, timeout=120, check=True)
    stats: Dict[str, object] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return stats


def test_the_library_starts_the_collector_at_the_lean_pace() -> None:
    # An idle client's collections cost next to nothing: the pace stays 50.
    assert stats_in_fresh_process(None)["gc_percent"] == 50


@pytest.mark.parametrize("gogc,expected", [("80", 80), ("100", 100), ("off", -1)])
def test_GOGC_in_the_environment_sets_the_pace(gogc: str, expected: int) -> None:
    assert stats_in_fresh_process(gogc)["gc_percent"] == expected
