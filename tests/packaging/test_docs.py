"""docs/api.md maps every call of the documented Python API (its Python
tables are the list of documented calls) and every function of
include/gofka.h to code and tests that exist; every link of README.md and
docs/ resolves inside the repository, which needs nothing beside it; the C
guide's complete program compiles."""

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


def python_section() -> str:
    """The Python part of docs/api.md: its tables list every call of the
    documented Python API (the package's contract) and are the source of
    truth these tests check the code and the tests against."""
    text = read("docs", "api.md")
    return text[text.index("## Python: the documented API"):text.index("## C ABI")]


def documented_calls() -> List[str]:
    """Class.method names (and exception names) of the Python tables of
    docs/api.md, in order."""
    out: List[str] = []
    for line in python_section().splitlines():
        m = re.match(r"^\| `([^`]+)` \|", line)
        if m and m.group(1) not in out:
            out.append(m.group(1))
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


# One call of each part of the documented API: a table that loses rows (or
# a parser that stops reading them) fails here.
ANCHORS = ("Producer.send", "Producer.send_string", "Consumer.poll", "Consumer.subscribe", "AdminClient.list_topics",
           "AsyncProducer.send_batch", "AsyncConsumer.__aiter__", "AsyncProducer.__aenter__",
           "AsyncAdminClient.get_topic_leaders", "ConnectionPool.get_connection", "RetryPolicy.__init__",
           "BrokerFailoverManager.execute_with_failover", "GofkaError", "GroupCoordinationError",
           "Message.timestamp", "Producer.connected", "Consumer.subscribed")


def test_documented_calls_are_parsed() -> None:
    calls = documented_calls()
    for expected in ANCHORS:
        assert expected in calls
    assert len(calls) > 60


@pytest.mark.parametrize("call", documented_calls())
def test_every_documented_call_is_mapped_to_code_and_tests(call: str) -> None:
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
        # a method is called, a property read: both show as ".name"
        probe_impl, probe_test = r"^\s*(?:async )?def %s\(" % method, r"\.%s\b" % method
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
    # the engine's examples (every *example_test.go) and the dev cluster's
    # (a package of its own)
    files = sorted(glob.glob(os.path.join(ROOT, "core", "*example_test.go")))
    files += sorted(glob.glob(os.path.join(ROOT, "devcluster", "*example_test.go")))
    examples = "".join(read(os.path.relpath(f, ROOT)) for f in files)
    text = read("docs", "api.md")
    go_part = text[text.index("## Go:"):]
    for name in re.findall(r"`(Example\w*)`", go_part):
        assert re.search(r"^func %s\(\)" % name, examples, re.M), name
    for pattern in re.findall(r"`((?:core|devcluster)/[^`]+)`", go_part):
        assert glob.glob(os.path.join(ROOT, pattern)), pattern
    # every Example of both files has expected output (so go test runs it)
    for name in re.findall(r"^func (Example\w*)\(\)", examples, re.M):
        body = examples[examples.index("func %s()" % name):]
        body = body[: body.index("\n}\n")]
        assert "// Output:" in body, name


def markdown_files() -> List[str]:
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(DOCS, "**", "*.md"), recursive=True))


def link_targets(text: str) -> List[str]:
    """The targets of the inline links and images ``[text](target)`` and of
    the reference definitions ``[name]: target`` of a markdown text, code
    blocks and code spans left out (code is not a link)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    targets += re.findall(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", text, re.M)
    return targets


def test_link_targets_parser() -> None:
    text = ("see [a](docs/a.md), ![img](b.png \"title\") and [c](<c d.md>)\n"
            "[ref]: ../outside.md\n`[not](a-link.md)`\n```\n[nor](this.md)\n```\n")
    assert link_targets(text) == ["docs/a.md", "b.png", "../outside.md"]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: os.path.relpath(p, ROOT))
def test_markdown_links_resolve_inside_the_repository(path: str) -> None:
    """Every relative link of README.md and docs/ names a file or folder of
    this repository (a clone needs nothing beside it); web links are left
    to the reader."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    root = os.path.realpath(ROOT)
    bad = []
    for target in link_targets(text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor of the same page
        rel = target.split("#", 1)[0]
        resolved = os.path.realpath(os.path.join(os.path.dirname(path), rel))
        if not (resolved == root or resolved.startswith(root + os.sep)) or not os.path.exists(resolved):
            bad.append(target)
    assert bad == [], "%s links outside the repository or to nothing: %s" % (os.path.relpath(path, ROOT), bad)
    for guide in ("api.md", "c-guide.md", "go-guide.md"):
        assert os.path.exists(os.path.join(DOCS, guide))


def test_docs_name_no_file_outside_the_repository() -> None:
    """Prose can point outside the repository without a link, e.g. a code
    span naming ../somewhere/FILE.md: a path with ../ in the prose of
    README.md and docs/ must name a file of the repository (code blocks
    may still use ../ for the reader's own folders)."""
    root = os.path.realpath(ROOT)
    bad = []
    for path in markdown_files():
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
        for target in re.findall(r"(?<![\w./-])((?:\.\./)+[\w./-]+)", text):
            resolved = os.path.realpath(os.path.join(os.path.dirname(path), target))
            if not resolved.startswith(root + os.sep) or not os.path.exists(resolved):
                bad.append("%s: %s" % (os.path.relpath(path, ROOT), target))
    assert bad == []


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


def test_transactions_examples_are_valid() -> None:
    """docs/transactions.md: the C program compiles against the header,
    the Python examples compile and call only what the classes they use
    have (the Go example is core's ExampleProducer_CommitTransaction, run
    by go test)."""
    import ast
    import sys

    sys.path.insert(0, os.path.join(ROOT, "python"))
    import gofka

    text = read("docs", "transactions.md")
    programs = [b for b in re.findall(r"```c\n(.*?)```", text, re.S) if "int main" in b]
    assert programs
    with tempfile.TemporaryDirectory() as tmp:
        for i, src in enumerate(programs):
            path = os.path.join(tmp, "txn%d.c" % i)
            with open(path, "w") as f:
                f.write(src)
            proc = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                                   "-I" + os.path.join(ROOT, "include"), path],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            assert proc.returncode == 0, proc.stderr
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for src in blocks:
        tree = ast.parse(src)
        is_async = "AsyncProducer" in src
        classes = {"producer": gofka.AsyncProducer if is_async else gofka.Producer,
                   "consumer": gofka.AsyncConsumer if is_async else gofka.Consumer, "gofka": gofka}
        used = [(n.value.id, n.attr) for n in ast.walk(tree)
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in classes]
        assert used
        for owner, attr in used:
            assert hasattr(classes[owner], attr), "%s.%s" % (owner, attr)
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom) and n.module == "gofka":
                for alias in n.names:
                    assert hasattr(gofka, alias.name), alias.name


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


def go_mod_release() -> str:
    m = re.search(r"^go (\d+)\.(\d+)", read("go.mod"), re.M)
    assert m, "go.mod states no go release"
    return "%s.%s" % m.groups()


def test_go_release_is_the_one_of_go_mod() -> None:
    """go.mod is the one truth about the Go toolchain: every "Go X.Y+" of
    the README, the docs and the packaging files names its release, and
    setup.py derives its message from go.mod."""
    want = go_mod_release()
    files = ["README.md", "pyproject.toml", "setup.py", "build.sh", "Makefile"] + \
        [os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(DOCS, "*.md"))]
    found = {}
    for name in files:
        for m in re.finditer(r"\bGo\s*\(?\s*(\d+\.\d+)\+", read(name)):
            found.setdefault(m.group(1), []).append(name)
    assert found.get(want) and set(found) == {want}, "go.mod says %s; the files say %s" % (want, found)
    for name in ("README.md", "pyproject.toml"):
        assert name in found[want], "%s does not state the Go release" % name
    # setup.py's required_go(), run on its own (setup.py itself calls setup())
    import ast

    tree = ast.parse(read("setup.py"))
    (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "required_go"]
    scope = {"os": os, "re": re, "ROOT": ROOT}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "setup.py", "exec"), scope)
    assert scope["required_go"]() == want
