"""docs/api.md maps every call of the documented Python API (the seed,
shared/seed/gofka-python-api.md) and every function of include/gofka.h to
code and tests that exist; the guides' links resolve and the C guide's
complete program compiles."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import tempfile
from typing import Dict, List, Set, Tuple

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = os.path.join(ROOT, "docs")


def read(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def seed_path() -> str:
    candidates = [os.environ.get("GOFKA_API_SEED", ""),
                  os.path.join(ROOT, "..", "shared", "seed", "gofka-python-api.md")]
    for c in candidates:
        if c and os.path.exists(c):
            return c
    raise AssertionError("the seed API document was not found (set GOFKA_API_SEED); looked at %s" % candidates)


def seed_calls() -> List[str]:
    """Class.method names (and exception names) the seed documents."""
    with open(seed_path(), encoding="utf-8") as f:
        text = f.read()
    calls: List[str] = []
    section = None
    cls = None
    for line in text.splitlines():
        m = re.match(r"^## (.+)$", line)
        if m:
            section, cls = m.group(1).strip(), None
            continue
        m = re.match(r"^### (\w+)\s*$", line)
        if m:
            cls = m.group(1)
            if section == "Exceptions":
                calls.append(cls)
            elif section != "Best Practices":
                calls.append(cls + ".__init__")
            continue
        if cls is None or section == "Exceptions":
            if section == "Message Object":
                f = re.match(r"^\s+(\w+): ", line)
                if f:
                    calls.append("Message." + f.group(1))
            continue
        m = re.match(r"^##### `(?:async )?(\w+)\(", line)
        if m:
            calls.append("%s.%s" % (cls, m.group(1)))
        elif line.startswith("##### Context Manager"):
            calls.append(cls + (".__aenter__" if cls.startswith("Async") else ".__enter__"))
        elif line.startswith("##### Async Iteration"):
            calls.append(cls + ".__aiter__")
        for m in re.finditer(r"\basync with (\w+)\(", line):
            if m.group(1) == cls:
                calls.append(cls + ".__aenter__")
        for m in re.finditer(r"\bawait \w+\.(\w+)\(", line):
            if section == "Utilities":
                calls.append("%s.%s" % (cls, m.group(1)))
    out: List[str] = []
    for c in calls:
        if c not in out:
            out.append(c)
    return out


def api_rows() -> Dict[str, List[str]]:
    rows: Dict[str, List[str]] = {}
    for line in read("docs", "api.md").splitlines():
        m = re.match(r"^\| `([^`]+)` \|(.*)\|\s*$", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    return rows


def paths(cell: str) -> List[str]:
    return re.findall(r"`((?:python|tests|capi|core|include|examples)/[^`]+)`", cell)


def test_seed_is_parsed() -> None:
    calls = seed_calls()
    for expected in ("Producer.send", "Consumer.poll", "AsyncConsumer.__aiter__", "AsyncProducer.__aenter__",
                     "ConnectionPool.get_connection", "BrokerFailoverManager.execute_with_failover",
                     "GroupCoordinationError", "Message.timestamp", "AsyncAdminClient.get_topic_leaders"):
        assert expected in calls
    assert len(calls) > 50


@pytest.mark.parametrize("call", seed_calls())
def test_every_seed_call_is_mapped_to_code_and_tests(call: str) -> None:
    rows = api_rows()
    assert call in rows, "docs/api.md has no row for %s" % call
    impl_cell, _engine, tests_cell = rows[call][:3]
    impls, tests = paths(impl_cell), paths(tests_cell)
    assert impls and tests, "row of %s needs an implementation and a test file" % call
    cls, _, method = call.partition(".")
    impl = read(impls[0])
    if not method:
        probe_impl, probe_test = r"^class %s\b" % cls, r"\b%s\b" % cls
    elif cls == "Message":
        probe_impl, probe_test = r"[\"']%s[\"']|self\.%s\b" % (method, method), r"\.%s\b" % method
    elif method == "__init__":
        probe_impl, probe_test = r"^\s*def __init__\(", r"\b%s\(" % cls
    elif method == "__enter__":
        probe_impl, probe_test = r"^\s*def __enter__\(", r"\bwith (?:gofka\.)?%s\(" % cls
    elif method == "__aenter__":
        probe_impl, probe_test = r"^\s*async def __aenter__\(", r"\basync with (?:gofka\.)?%s\(" % cls
    elif method == "__aiter__":
        probe_impl, probe_test = r"^\s*def __aiter__\(", r"\basync for\b"
    else:
        probe_impl, probe_test = r"^\s*(?:async )?def %s\(" % method, r"\.%s\(" % method
    assert re.search(probe_impl, impl, re.M), "%s does not define %s" % (impls[0], call)
    for t in tests:
        assert re.search(probe_test, read(t), re.M), "%s does not exercise %s" % (t, call)


def header_functions() -> List[str]:
    text = re.sub(r"/\*.*?\*/", " ", read("include", "gofka.h"), flags=re.S)
    out: List[str] = []
    for name in re.findall(r"\b(gofka_\w+)\s*\([^;{)]*\)\s*;", text):
        if name not in out:
            out.append(name)
    return out


@pytest.mark.parametrize("function", header_functions())
def test_every_c_function_is_mapped(function: str) -> None:
    rows = api_rows()
    assert function in rows, "docs/api.md has no row for %s: run tests/packaging/update_api_table.py" % function
    exported_in, bindings, tests = rows[function][:3]
    (capi_file,) = paths(exported_in)
    assert "//export %s\n" % function in read(capi_file)
    for b in paths(bindings):
        assert re.search(r"\b%s\b" % function, read(b)), "%s does not call %s" % (b, function)
    listed = paths(tests)
    assert listed, "no test uses %s (neither tests/c nor a Python binding under test); add one, then run tests/packaging/update_api_table.py" % function
    for t in listed:
        assert os.path.exists(os.path.join(ROOT, t)), t
    direct = [t for t in listed if re.search(r"\b%s\b" % function, read(t))]
    assert direct or paths(bindings), "%s: neither a direct test nor bindings under test" % function


def test_go_table_and_examples_exist() -> None:
    examples = read("core", "example_test.go")
    text = read("docs", "api.md")
    go_part = text[text.index("## Go:"):]
    for name in re.findall(r"`(Example\w*)`", go_part):
        assert re.search(r"^func %s\(\)" % name, examples, re.M), name
    for pattern in re.findall(r"`(core/[^`]+)`", go_part):
        assert glob.glob(os.path.join(ROOT, pattern)), pattern
    # every Example of core/example_test.go has expected output (so go test runs it)
    for name in re.findall(r"^func (Example\w*)\(\)", examples, re.M):
        body = examples[examples.index("func %s()" % name):]
        body = body[: body.index("\n}\n")]
        assert "// Output:" in body, name


def test_relative_links_resolve() -> None:
    for path in glob.glob(os.path.join(DOCS, "*.md")):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert os.path.exists(os.path.join(os.path.dirname(path), target)), "%s links to %s" % (path, target)
    for guide in ("api.md", "c-guide.md", "go-guide.md"):
        assert os.path.exists(os.path.join(DOCS, guide))


def test_c_guide_program_compiles() -> None:
    blocks = re.findall(r"```c\n(.*?)```", read("docs", "c-guide.md"), re.S)
    programs = [b for b in blocks if "int main" in b]
    assert programs
    with tempfile.TemporaryDirectory() as tmp:
        for i, src in enumerate(programs):
            path = os.path.join(tmp, "guide%d.c" % i)
            with open(path, "w") as f:
                f.write(src)
            proc = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                                   "-I" + os.path.join(ROOT, "include"), path],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            assert proc.returncode == 0, proc.stderr


def test_header_documents_every_function() -> None:
    """Each declaration in gofka.h directly follows its comment block."""
    text = read("include", "gofka.h")
    undocumented = []
    for m in re.finditer(r"^[a-z][\w \*]*\b(gofka_\w+)\s*\(", text, re.M):
        before = text[: m.start()].rstrip()
        if not before.endswith("*/"):
            undocumented.append(m.group(1))
    assert undocumented == []
    assert 'extern "C"' in text
