"""The README's Python examples run as shown: every ```python block of
README.md runs in a fresh interpreter (with the repository's package, from
an empty folder, no GOFKA_BROKERS: the examples start their own dev
cluster) and prints exactly the ```text block that follows it. The README
shows a synchronous and an asynchronous consumer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from typing import List, Tuple

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def examples() -> List[Tuple[str, str]]:
    """(code, expected output) of each Python block of the README."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"```python\n(.*?)```\s*```text\n(.*?)```", text, re.S)


def test_every_python_block_has_its_output() -> None:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n", f.read())
    found = examples()
    assert len(found) == len(blocks) >= 3
    codes = [code for code, _ in found]
    sync = [c for c in codes if re.search(r"\bConsumer\(", c) and ".poll(" in c]
    asynchronous = [c for c in codes if "AsyncConsumer(" in c and "async for " in c]
    assert sync and asynchronous, "the README shows a sync and an async consumer"


@pytest.mark.parametrize("code,expected", examples(), ids=lambda v: v.splitlines()[0][:40])
def test_readme_example_runs(code: str, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GOFKA_BROKERS", "PYTHONPATH")}
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, cwd=tmp, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected
