"""The aarch64 wheel (cross-built by ``make wheels``), tested where it runs:
on Debian's aarch64 CPython under qemu-user.

``make test-aarch64`` prepares the sysroot (scripts/aarch64-sysroot.sh,
GOFKA_AARCH64_SYSROOT) and the wheel (GOFKA_WHEEL_DIR), then runs this file:

- the wheel is cp38-abi3-manylinux_2_X_aarch64, both shared objects are
  aarch64 ELF files, X is the newest glibc version they need (objdump -T)
  and they link only what the manylinux policy allows;
- the C speedups' sources (the list of setup.py, which the cross build
  compiles) preprocess to the same code with this machine's pyconfig.h
  (what the cross build uses) as with Debian's aarch64 one;
- the wheel installs with pip, run by the aarch64 CPython, into a fresh
  venv made by that CPython, and tests/aarch64/smoke.py runs there: the
  dev cluster, 10,000 records through every codec, a consumer group, admin
  calls, the async API; the console script runs;
- the C and C++ tests (tests/c, ``make test-c``) built with the cross
  compiler against the wheel's libgofka.so pass under qemu.
"""

from __future__ import annotations

import ast
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
import zipfile
from typing import Dict, List, Optional, Tuple

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CROSS_CC = "aarch64-linux-gnu-gcc"
CROSS_CXX = "aarch64-linux-gnu-g++"
WHEEL_NAME = re.compile(r"^gofka-[0-9][^-]*-cp38-abi3-manylinux_(?P<major>\d+)_(?P<minor>\d+)_aarch64\.whl$")
ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1"}


def sh(cmd: List[str], timeout: float = 300, **kw: object) -> "subprocess.CompletedProcess[str]":
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout, **kw)  # type: ignore[call-overload]
    assert proc.returncode == 0, "%s failed (%d):\n%s\n%s" % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr)
    return proc


def clean_env(**extra: str) -> Dict[str, str]:
    """The environment without anything pointing into the repository or
    at another cluster (the smoke suite starts its own dev cluster)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "GOFKA_LIBRARY", "VIRTUAL_ENV", "GOFKA_BROKERS", "PYTHONHOME")}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def sysroot() -> str:
    root = os.environ.get("GOFKA_AARCH64_SYSROOT", "")
    if not root or not os.path.exists(os.path.join(root, "usr", "bin", "python3.11")):
        pytest.fail("GOFKA_AARCH64_SYSROOT=%r is no aarch64 sysroot: run `make test-aarch64`" % root)
    for tool in ("qemu-aarch64", CROSS_CC, CROSS_CXX):
        if shutil.which(tool) is None:
            pytest.fail("%s is missing: run `make test-aarch64` (scripts/aarch64-sysroot.sh installs it)" % tool)
    return os.path.abspath(root)


@pytest.fixture(scope="session")
def wheel() -> str:
    folder = os.environ.get("GOFKA_WHEEL_DIR", "")
    wheels = glob.glob(os.path.join(folder, "gofka-*_aarch64.whl"))
    if len(wheels) != 1:
        pytest.fail("expected one aarch64 gofka wheel in GOFKA_WHEEL_DIR=%r, found %s: run `make test-aarch64`"
                    % (folder, wheels))
    return wheels[0]


def qemu(sysroot: str, *argv: str) -> List[str]:
    return ["qemu-aarch64", "-L", sysroot] + list(argv)


def objdump_glibc(path: str) -> Optional[Tuple[int, int]]:
    out = sh(["objdump", "-T", path]).stdout
    versions = {(int(a), int(b)) for a, b in re.findall(r"GLIBC_(\d+)\.(\d+)", out)}
    return max(versions) if versions else None


def test_wheel_is_manylinux_aarch64(wheel: str, tmp_path: "os.PathLike[str]") -> None:
    name = os.path.basename(wheel)
    m = WHEEL_NAME.match(name)
    assert m, "unexpected aarch64 wheel name %s (want cp38-abi3-manylinux_2_X_aarch64)" % name
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extract("gofka/libgofka.so", str(tmp_path))
        z.extract("gofka/_speedups.abi3.so", str(tmp_path))
        wheel_meta = z.read([n for n in names if n.endswith(".dist-info/WHEEL")][0]).decode()
    assert sorted(n for n in names if ".so" in n) == ["gofka/_speedups.abi3.so", "gofka/libgofka.so"]
    assert re.search(r"^Tag: cp38-abi3-manylinux_%s_%s_aarch64$" % (m.group("major"), m.group("minor")),
                     wheel_meta, re.M), wheel_meta
    so = os.path.join(str(tmp_path), "gofka", "libgofka.so")
    ext = os.path.join(str(tmp_path), "gofka", "_speedups.abi3.so")
    for path in (so, ext):
        with open(path, "rb") as f:
            head = f.read(20)
        # 64-bit little-endian ELF (EI_CLASS 2, EI_DATA 1), e_machine EM_AARCH64 (183)
        assert head[:6] == b"\x7fELF\x02\x01" and struct.unpack_from("<H", head, 18)[0] == 183, (path, head)
        needed = re.findall(r"NEEDED\s+(\S+)", sh(["objdump", "-p", path]).stdout)
        assert set(needed) <= ALLOWED_NEEDED, (path, needed)
    lib_glibc = objdump_glibc(so)
    assert lib_glibc is not None
    needs = [v for v in (lib_glibc, objdump_glibc(ext)) if v is not None]
    assert (int(m.group("major")), int(m.group("minor"))) == max(needs + [(2, 17)])
    assert "PyInit__speedups" in sh(["nm", "-D", "--defined-only", ext]).stdout
    assert "gofka_producer_new" in sh(["nm", "-D", "--defined-only", so]).stdout


def speedups_sources() -> List[str]:
    """The sources of the Extension in setup.py, the one list both the
    native and the cross build compile: its ``sources=`` expression
    evaluated with the module-level names it uses (setup.py itself cannot
    be imported here: it calls setup())."""
    path = os.path.join(ROOT, "setup.py")
    with open(path) as f:
        tree = ast.parse(f.read())
    scope: Dict[str, object] = {"os": os, "__file__": path}
    expr = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            call = node.value
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Extension":
                expr = next((kw.value for kw in call.keywords if kw.arg == "sources"), None)
                break
            try:  # the constants before it (ROOT, folder names); others are not needed
                exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), scope)
            except Exception:
                pass
    assert expr is not None, "no SPEEDUPS_EXTENSION = Extension(..., sources=...) in setup.py: update this test"
    sources = eval(compile(ast.Expression(body=expr), path, "eval"), scope)
    assert sources and all(isinstance(s, str) for s in sources), sources
    return list(sources)


def test_speedups_preprocess_alike_with_the_aarch64_pyconfig(sysroot: str, tmp_path: "os.PathLike[str]") -> None:
    """The cross build compiles _speedups against this Python's headers,
    whose pyconfig.h describes x86_64 (e.g. HAVE_GCC_ASM_FOR_X87) and this
    build's options. Under Py_LIMITED_API that must not matter: with the
    aarch64 compiler, every source preprocesses to the same code as with
    Debian's aarch64 pyconfig.h put in its place."""
    host = sysconfig.get_paths()["include"]
    assert os.path.exists(os.path.join(host, "Python.h")), host
    version = "python%d.%d" % sys.version_info[:2]
    target_cfg = os.path.join(sysroot, "usr", "include", "aarch64-linux-gnu", version, "pyconfig.h")
    if not os.path.exists(target_cfg):  # the sysroot has 3.11; compare with that one
        target_cfg = os.path.join(sysroot, "usr", "include", "aarch64-linux-gnu", "python3.11", "pyconfig.h")
    swapped = os.path.join(str(tmp_path), "include")
    shutil.copytree(host, swapped)
    shutil.copyfile(target_cfg, os.path.join(swapped, "pyconfig.h"))
    with open(os.path.join(host, "pyconfig.h")) as a, open(target_cfg) as b:
        assert a.read() != b.read(), "the two pyconfig.h are the same file: the check would prove nothing"
    with_python_h = []
    for src in speedups_sources():
        outs = []
        for inc in (host, swapped):
            outs.append(sh([CROSS_CC, "-E", "-P", "-DPy_LIMITED_API=0x03080000", "-I" + inc, "-Iinclude", src],
                           cwd=ROOT).stdout)
        assert outs[0] == outs[1], "%s preprocesses differently with the aarch64 pyconfig.h" % src
        if "PyObject_GetAttrString" in outs[0]:
            with_python_h.append(src)
    assert with_python_h, "no source of the extension includes Python.h?"


def test_wheel_installs_and_runs_smoke_under_qemu(sysroot: str, wheel: str, tmp_path: "os.PathLike[str]") -> None:
    tmp = str(tmp_path)
    python = os.path.join(sysroot, "usr", "bin", "python3.11")
    venv = os.path.join(tmp, "venv")
    sh(qemu(sysroot, python, "-m", "venv", "--without-pip", venv), env=clean_env(), timeout=120)
    vpy = os.path.join(venv, "bin", "python")
    # pip (pure Python) of this machine's interpreter, run by the aarch64
    # one: it checks the wheel's tags against aarch64's and installs it.
    import pip

    pipsrc = os.path.join(tmp, "pipsrc")
    shutil.copytree(os.path.dirname(pip.__file__), os.path.join(pipsrc, "pip"))
    sh(qemu(sysroot, vpy, "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir",
            "--disable-pip-version-check", "-q", wheel), env=clean_env(PYTHONPATH=pipsrc), cwd=tmp, timeout=300)
    site = os.path.join(venv, "lib", "python3.11", "site-packages")
    assert os.path.exists(os.path.join(site, "gofka", "libgofka.so")), os.listdir(site)
    out = sh(qemu(sysroot, vpy, "-I", os.path.join(ROOT, "tests", "aarch64", "smoke.py"), "aarch64"),
             env=clean_env(), cwd=tmp, timeout=900).stdout
    assert '"machine": "aarch64"' in out and os.path.realpath(site) in out, out
    assert '"codecs": {"none": 10000, "gzip": 10000, "snappy": 10000, "lz4": 10000, "zstd": 10000}' in out, out
    # the console script pip wrote runs on the venv's python
    script = os.path.join(venv, "bin", "gofka")
    with open(script) as f:
        assert f.readline().strip() == "#!" + vpy
    help_text = sh(qemu(sysroot, vpy, script, "--help"), env=clean_env(), cwd=tmp, timeout=120).stdout
    assert "dev-cluster" in help_text


def test_c_tests_against_the_wheels_library(sysroot: str, wheel: str, tmp_path: "os.PathLike[str]") -> None:
    """make test-c (tests/c: C and C++), compiled with the cross compilers
    against the wheel's libgofka.so and run under qemu."""
    lib_dir = os.path.join(str(tmp_path), "lib")
    os.makedirs(lib_dir)
    with zipfile.ZipFile(wheel) as z, open(os.path.join(lib_dir, "libgofka.so"), "wb") as f:
        f.write(z.read("gofka/libgofka.so"))
    lib = os.path.join(lib_dir, "libgofka.so")
    proc = subprocess.run(
        ["make", "--no-print-directory", "-C", ROOT, "-f", "mk/doors.mk", "test-c",
         "-o", lib,  # the wheel's library as it is: never rebuilt here
         "CC=" + CROSS_CC, "CXX=" + CROSS_CXX, "LIB=" + lib, "DOORS_BUILD=" + os.path.join(str(tmp_path), "c"),
         "TEST_C_RUN=qemu-aarch64 -L " + sysroot],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, env=clean_env())
    assert proc.returncode == 0, proc.stdout
    totals = re.findall(r"^(\d+) passed, (\d+) failed$", proc.stdout, re.M)
    assert totals and totals[-1][1] == "0" and int(totals[-1][0]) > 0, proc.stdout
    assert "aarch64-linux-gnu-g++" in proc.stdout  # the C++ translation unit was cross-compiled too
