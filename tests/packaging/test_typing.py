"""mypy catches a misspelt keyword or a wrong argument type in user code
that builds a client: for every client, a misspelt TLS/SASL keyword (the
group every client takes) and a wrong type are reported, and the same
calls spelt right type-check clean (so the check can fail both ways).
A constructor that takes its keywords through ``**kwargs`` must keep this
(``Unpack[TypedDict]``), not fall back to ``**kwargs: Any``."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, List

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

#: Each client with the arguments that come before the keywords.
CLIENTS = {
    "Producer": '"127.0.0.1:9"',
    "AsyncProducer": '"127.0.0.1:9"',
    "Consumer": '"127.0.0.1:9", "g", ["t"]',
    "AsyncConsumer": '"127.0.0.1:9", "g", ["t"]',
    "AdminClient": '"127.0.0.1:9"',
    "AsyncAdminClient": '"127.0.0.1:9"',
    "ShareConsumer": '"127.0.0.1:9", "g", ["t"]',
    "AsyncShareConsumer": '"127.0.0.1:9", "g", ["t"]',
    "ConnectionPool": "",
}


def run_mypy(tmp_path: Any, source: str) -> List[str]:
    """The error lines of mypy (strict) on ``source`` with the package of
    this checkout (python/, py.typed)."""
    path = tmp_path / "snippet.py"
    path.write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "MYPYPATH"}
    env["MYPYPATH"] = os.path.join(ROOT, "python")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
         str(path)],
        capture_output=True, text=True, env=env, timeout=600, cwd=str(tmp_path))
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 2: mypy itself failed
    return [line for line in proc.stdout.splitlines() if ": error:" in line]


def call(name: str, keywords: str) -> str:
    head = CLIENTS[name]
    return "gofka.%s(%s)" % (name, ", ".join(x for x in (head, keywords) if x))


def test_mypy_reports_a_misspelt_keyword_and_a_wrong_type_for_every_client(tmp_path: Any) -> None:
    lines = ["import gofka", "", "def build() -> None:"]
    for name in CLIENTS:
        lines.append("    %s  # misspelt:%s" % (call(name, "use_sll=True"), name))
        lines.append("    %s  # wrongtype:%s" % (call(name, "ssl_cafile=5"), name))
        lines.append("    %s  # right:%s" % (call(name, 'use_ssl=True, ssl_cafile="ca.pem"'), name))
    source = "\n".join(lines) + "\n"
    errors = run_mypy(tmp_path, source)
    numbered = {i + 1: text for i, text in enumerate(source.splitlines())}

    def flagged(tag: str) -> List[str]:
        found = []
        for err in errors:
            lineno = int(err.split(":")[1])
            if "# %s:" % tag in numbered[lineno]:
                found.append(numbered[lineno].split("# %s:" % tag)[1])
        return sorted(set(found))

    assert flagged("misspelt") == sorted(CLIENTS), errors
    assert flagged("wrongtype") == sorted(CLIENTS), errors
    assert flagged("right") == [], errors
    assert all('"use_sll"' in e for e in errors if "use_sll" in numbered[int(e.split(":")[1])]), errors


def test_constructor_annotations_evaluate_at_run_time() -> None:
    """typing.get_type_hints() (used by documentation tools, validators
    and IDEs) evaluates every client constructor's annotations, the
    ``**tls_sasl: Unpack[SecurityKeywords]`` one included, with no
    typing_extensions needed at run time (a TYPE_CHECKING-only import made
    it a NameError)."""
    import typing

    sys.path.insert(0, os.path.join(ROOT, "python"))
    try:
        import gofka
        from gofka._security import SecurityKeywords
    finally:
        sys.path.pop(0)
    for name in CLIENTS:
        hints = typing.get_type_hints(getattr(gofka, name).__init__)
        assert "tls_sasl" in hints and "SecurityKeywords" in repr(hints["tls_sasl"]), (name, hints.get("tls_sasl"))
        assert hints["use_ssl"] is bool, name
    assert SecurityKeywords.__annotations__  # the TypedDict the hints name
