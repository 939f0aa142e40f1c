"""The source distribution (``make sdist``), as a user without a wheel for
their platform gets it:

- ``pip install gofka-<v>.tar.gz`` into a fresh venv builds libgofka.so
  with Go and the C speedups with the C compiler, and the quickstart runs
  (test_wheel.py's: produce, consume, admin on a dev cluster the installed
  package starts);
- where Go is missing, older than go.mod asks, or the C compiler cgo
  uses is missing, the install fails before compiling anything, with a
  message naming what is missing (pip shows the build's output).

Run with ``make test-packaging`` (part of ``make test``).
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import tarfile
from typing import List

import pytest

from test_wheel import ROOT, _make, clean_env, engine_go_files, run_quickstart, sh


def go_mod_minimum() -> str:
    with open(os.path.join(ROOT, "go.mod")) as f:
        m = re.search(r"^go (\d+(?:\.\d+)*)\s*$", f.read(), re.M)
    assert m, "go.mod states no go release"
    return m.group(1)


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = str(tmp_path_factory.mktemp("sdist"))
    sh(_make("sdist", "WHEEL_DIR=" + folder), timeout=600)
    found = glob.glob(os.path.join(folder, "gofka-*.tar.gz"))
    assert len(found) == 1, found
    return found[0]


def fresh_venv(tmp: str) -> str:
    venv = os.path.join(tmp, "venv")
    sh([sys.executable, "-m", "venv", "--without-pip", venv])
    return os.path.join(venv, "bin", "python")


def pip_install(vpy: str, sdist: str, env: "dict[str, str]") -> "subprocess.CompletedProcess[str]":
    """pip install SDIST into vpy's venv: pip's isolated build environment
    (setuptools from the package index), the build's output shown (-v)."""
    return subprocess.run([sys.executable, "-m", "pip", "--python", vpy, "install", "--no-deps", "-v",
                           "--disable-pip-version-check", sdist], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=900, env=env)


def test_sdist_contents(sdist: str) -> None:
    """Everything the build uses: the packaging files, the Go sources of
    the library, and the package's Python and C sources (what git tracks
    under python/gofka)."""
    with tarfile.open(sdist) as t:
        members = t.getnames()
    top = os.path.basename(sdist)[: -len(".tar.gz")]
    package = sh(["git", "ls-files", "python/gofka"], cwd=ROOT).stdout.split()
    assert [f for f in package if f.endswith(".c")], package
    for f in ["setup.py", "pyproject.toml", "build.sh", "go.mod", "go.sum", "capi/exports.map", "include/gofka.h"] \
            + engine_go_files() + package:
        assert top + "/" + f in members, f
    assert not [n for n in members if n.endswith((".so", "_test.go", ".whl"))], members


def test_pip_install_builds_the_sdist(sdist: str, tmp_path: "os.PathLike[str]") -> None:
    vpy = fresh_venv(str(tmp_path))
    proc = pip_install(vpy, sdist, clean_env())
    assert proc.returncode == 0, proc.stdout
    assert "gofka: building" in proc.stdout and "with the Go toolchain" in proc.stdout, proc.stdout
    # the speedups were compiled (this machine has Python's headers)
    run_quickstart(vpy, tmp_path, speedups=True)


def path_without(tool: str) -> List[str]:
    """PATH's folders except those with an executable named tool."""
    return [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not os.access(os.path.join(d, tool), os.X_OK)]


@pytest.mark.parametrize("case", ["no-go", "old-go", "no-cc"])
def test_pip_install_names_what_is_missing(case: str, sdist: str, tmp_path: "os.PathLike[str]") -> None:
    tmp = str(tmp_path)
    want = go_mod_minimum()
    needs = "gofka: building libgofka.so from source needs Go %s or newer (as go.mod states) on PATH" % want
    if case == "no-go":
        env = clean_env(PATH=os.pathsep.join(path_without("go")))
        message = needs + ": no `go` command found"
    elif case == "old-go":
        # a go command of a release before go.mod's (it answers `go env GOVERSION CC`)
        fake = os.path.join(tmp, "oldgo")
        os.makedirs(fake)
        with open(os.path.join(fake, "go"), "w") as f:
            f.write("#!/bin/sh\necho go1.20.1\necho gcc\n")
        os.chmod(os.path.join(fake, "go"), 0o755)
        env = clean_env(PATH=os.pathsep.join([fake] + path_without("go")))
        message = needs + ": %s is go1.20.1" % os.path.join(fake, "go")
    else:
        env = clean_env(CC="gofka-no-such-cc")
        message = "gofka: building libgofka.so from source needs a C compiler for cgo: gofka-no-such-cc not found"
    vpy = fresh_venv(tmp)
    proc = pip_install(vpy, sdist, env)
    assert proc.returncode != 0, proc.stdout
    assert message in proc.stdout, proc.stdout
    assert "with the Go toolchain (build.sh" not in proc.stdout, "build.sh ran: %s" % proc.stdout
    out = subprocess.run([vpy, "-c", "import gofka"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, cwd=tmp, env=clean_env(), timeout=60)
    assert out.returncode != 0, "gofka got installed: %s" % out.stdout
