"""docs/share-groups.md: its C program compiles against include/gofka.h
and its Python blocks compile (tests/python/test_share_consumer.py runs
the Python worker pools on a cluster)."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def blocks(lang: str) -> list:
    with open(os.path.join(ROOT, "docs", "share-groups.md"), encoding="utf-8") as f:
        return re.findall(r"```%s\n(.*?)```" % lang, f.read(), re.S)


def test_c_program_compiles() -> None:
    programs = [b for b in blocks("c") if "int main" in b]
    assert programs
    with tempfile.TemporaryDirectory() as tmp:
        for i, src in enumerate(programs):
            path = os.path.join(tmp, "share%d.c" % i)
            with open(path, "w") as f:
                f.write(src)
            proc = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only",
                                   "-I" + os.path.join(ROOT, "include"), path],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
            assert proc.returncode == 0, proc.stderr


def test_python_blocks_compile() -> None:
    found = blocks("python")
    assert len(found) >= 2
    for src in found:
        compile(src, "share-groups.md", "exec")
