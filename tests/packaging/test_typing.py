"""mypy catches a misspelt keyword or a wrong argument type in user code
that builds a client: for every client and every keyword group it takes
(TLS/SASL, statistics, its kind's own: gofka._keywords), a misspelt
keyword and a wrong type are reported, and the same calls spelt right
type-check clean (so the check can fail both ways). A constructor that
takes its keywords through ``**kwargs`` must keep this
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


#: One keyword of each group: (misspelt, wrong type, right), as source.
SECURITY = ("use_sll=True", "ssl_cafile=5", 'use_ssl=True, ssl_cafile="ca.pem"')
STATS = ("stats_interval=0", 'stats_interval_ms="0"', "stats_interval_ms=0")
PRODUCER = ("transactonal_id=None", "transactional_id=5", 'transactional_id="t"')
CONSUMER = ('isolation_levl="read_committed"', "isolation_level=1", 'isolation_level="read_committed"')
ADMIN = ("retry_polcy=None", "retry_policy=5", "retry_policy=gofka.RetryPolicy()")
SHARE = ('acknowledgement_mod="explicit"', "acknowledgement_mode=1", 'acknowledgement_mode="explicit"')

#: The groups each client takes.
GROUPS = {
    "Producer": [SECURITY, STATS, PRODUCER],
    "AsyncProducer": [SECURITY, STATS, PRODUCER],
    "Consumer": [SECURITY, STATS, CONSUMER],
    "AsyncConsumer": [SECURITY, STATS, CONSUMER],
    "AdminClient": [SECURITY, STATS, ADMIN],
    "AsyncAdminClient": [SECURITY, STATS, ADMIN],
    "ShareConsumer": [SECURITY, SHARE],
    "AsyncShareConsumer": [SECURITY, SHARE],
    "ConnectionPool": [SECURITY],
}


def call(name: str, keywords: str) -> str:
    head = CLIENTS[name]
    return "gofka.%s(%s)" % (name, ", ".join(x for x in (head, keywords) if x))


def test_mypy_reports_a_misspelt_keyword_and_a_wrong_type_for_every_client(tmp_path: Any) -> None:
    assert sorted(GROUPS) == sorted(CLIENTS)
    lines = ["import gofka", "", "def build() -> None:"]
    cases = []
    for name in CLIENTS:
        for misspelt, wrong, right in GROUPS[name]:
            case = "%s/%s" % (name, right.split("=")[0])
            cases.append(case)
            lines.append("    %s  # misspelt:%s" % (call(name, misspelt), case))
            lines.append("    %s  # wrongtype:%s" % (call(name, wrong), case))
            lines.append("    %s  # right:%s" % (call(name, right), case))
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

    assert flagged("misspelt") == sorted(cases), errors
    assert flagged("wrongtype") == sorted(cases), errors
    assert flagged("right") == [], errors
    for err in errors:  # a misspelt keyword is reported by its name
        line = numbered[int(err.split(":")[1])]
        if "# misspelt:" in line:
            assert '"%s"' % line.split("(")[1].split("=")[0].split(", ")[-1] in err, err


def test_constructor_annotations_evaluate_at_run_time() -> None:
    """typing.get_type_hints() (used by documentation tools, validators
    and IDEs) evaluates every client constructor's annotations, the
    ``**keywords: Unpack[<Kind>Keywords]`` one included, with no
    typing_extensions needed at run time (a TYPE_CHECKING-only import made
    it a NameError); and the annotations of each keyword group (the
    TypedDict, whose keys inspect.signature lists) evaluate in its
    module."""
    import typing

    sys.path.insert(0, os.path.join(ROOT, "python"))
    try:
        import gofka
    finally:
        sys.path.pop(0)
    groups = {
        "Producer": "ProducerKeywords", "AsyncProducer": "ProducerKeywords",
        "Consumer": "ConsumerKeywords", "AsyncConsumer": "ConsumerKeywords",
        "AdminClient": "AdminKeywords", "AsyncAdminClient": "AdminKeywords",
        "ShareConsumer": "ShareConsumerKeywords", "AsyncShareConsumer": "ShareConsumerKeywords",
        "ConnectionPool": "SecurityKeywords",
    }
    assert sorted(groups) == sorted(CLIENTS)
    for name in CLIENTS:
        hints = typing.get_type_hints(getattr(gofka, name).__init__)
        assert hints["use_ssl"] is bool, name
        group = hints["keywords"]  # Unpack[X] (X where Unpack is the stand-in)
        typed_dict = getattr(group, "__args__", (group,))[0]
        assert getattr(typed_dict, "__name__", None) == groups[name], (name, group)
        group_hints = typing.get_type_hints(typed_dict)
        assert group_hints["ssl_check_hostname"] is bool, name
        assert set(group_hints) == set(typed_dict.__annotations__), name
