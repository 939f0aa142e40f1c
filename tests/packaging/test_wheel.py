"""The Python wheel and the C install, as users get them.

- The wheel (``make wheel``; GOFKA_WHEEL_DIR points at its folder, else this
  test builds one with pip) is tagged py3-none-manylinux_2_X_<arch> with X
  the newest glibc version libgofka.so needs (checked with objdump -T), and
  holds the library, py.typed and the ``gofka`` console script.
- It installs offline (--no-deps --no-index) into fresh venvs outside the
  repository, one per CPython 3.8+ found on the machine, where the
  quickstart (produce, consume, admin) runs against a cluster: GOFKA_BROKERS
  when set, else a dev cluster started by the installed package itself.
- ``make install PREFIX=...`` installs the library, header and gofka.pc;
  pkg-config then compiles and links examples/c, which run against a
  cluster.

Run with ``make test-packaging``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
import zipfile
from typing import Dict, Iterator, List, Tuple

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def sh(cmd: List[str], timeout: float = 300, **kw: object) -> "subprocess.CompletedProcess[str]":
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout, **kw)  # type: ignore[call-overload]
    assert proc.returncode == 0, "%s failed (%d):\n%s\n%s" % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr)
    return proc


def clean_env(**extra: str) -> Dict[str, str]:
    """The environment without anything pointing into the repository."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GOFKA_LIBRARY", "VIRTUAL_ENV")}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = os.environ.get("GOFKA_WHEEL_DIR")
    if not folder:
        folder = str(tmp_path_factory.mktemp("wheelhouse"))
        sh([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", folder, ROOT], timeout=600)
    wheels = glob.glob(os.path.join(folder, "gofka-*.whl"))
    assert len(wheels) == 1, "expected one gofka wheel in %s, found %s" % (folder, wheels)
    return wheels[0]


def objdump_glibc(path: str) -> Tuple[int, int]:
    """The newest GLIBC_x.y symbol version `objdump -T` lists for path."""
    out = sh(["objdump", "-T", path]).stdout
    versions = {(int(a), int(b)) for a, b in re.findall(r"GLIBC_(\d+)\.(\d+)", out)}
    assert versions, "no GLIBC symbol versions in %s" % path
    return max(versions)


def test_wheel_tag_and_contents(wheel: str, tmp_path: "os.PathLike[str]") -> None:
    name = os.path.basename(wheel)
    m = re.match(r"^gofka-([0-9][^-]*)-py3-none-(manylinux_(\d+)_(\d+)_(x86_64|aarch64))\.whl$", name)
    assert m, "unexpected wheel name %s (want py3-none-manylinux_2_X_<arch>)" % name
    version, plat = m.group(1), m.group(2)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = "gofka-%s.dist-info/" % version
        wheel_meta = z.read(info + "WHEEL").decode()
        metadata = z.read(info + "METADATA").decode()
        entry_points = z.read(info + "entry_points.txt").decode()
        so = str(os.path.join(str(tmp_path), "libgofka.so"))
        with open(so, "wb") as f:
            f.write(z.read("gofka/libgofka.so"))
    for required in ("gofka/__init__.py", "gofka/__main__.py", "gofka/cli.py", "gofka/_log.py", "gofka/py.typed",
                     "gofka/libgofka.so"):
        assert required in names
    assert not [n for n in names if n.startswith(("tests/", "core/", "capi/"))]
    assert "Tag: py3-none-%s" % plat in wheel_meta
    assert "Root-Is-Purelib: false" in wheel_meta
    assert "Requires-Python: >=3.8" in metadata
    assert re.search(r"^gofka = gofka\.cli:main$", entry_points, re.M)
    # the tag's glibc is the newest one the library needs (as objdump sees it)
    assert (int(m.group(3)), int(m.group(4))) == max(objdump_glibc(so), (2, 17))
    needed = re.findall(r"NEEDED\s+(\S+)", sh(["objdump", "-p", so]).stdout)
    assert set(needed) <= {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1"}, needed
    # the library exports the C API only
    exported = sh(["nm", "-D", "--defined-only", so]).stdout
    assert "gofka_producer_new" in exported


def interpreters() -> List[str]:
    """CPython 3.8+ interpreters of this machine, one per minor version:
    the running one, python3.X on PATH and pyenv's."""
    found: Dict[str, str] = {}
    candidates = [sys.executable]
    for minor in range(8, 20):
        exe = shutil.which("python3.%d" % minor)
        if exe:
            candidates.append(exe)
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")))
    for exe in candidates:
        try:
            out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                                 timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        v = out.stdout.strip()
        if out.returncode == 0 and re.match(r"^3\.\d+$", v) and int(v.split(".")[1]) >= 8 and v not in found:
            found[v] = exe
    return [found[v] for v in sorted(found, key=lambda v: int(v.split(".")[1]))]


QUICKSTART = textwrap.dedent(
    """
    import os, sys, json
    import gofka
    from gofka import AdminClient, Consumer, DevCluster, Producer

    here = os.path.dirname(gofka.__file__)
    assert "site-packages" in here, here
    assert os.path.exists(os.path.join(here, "py.typed"))
    assert gofka.library_version() == gofka.__version__
    topic = sys.argv[1]
    brokers = os.environ.get("GOFKA_BROKERS")
    cluster = None if brokers else DevCluster()
    brokers = brokers or cluster.brokers
    try:
        with Producer(brokers=brokers) as producer:
            first = producer.send(topic, b"hello")
            offsets = producer.send_batch(topic, [b"a", b"b", b"c"])
            assert offsets == [first + 1, first + 2, first + 3], offsets
        with Consumer(brokers, "quickstart-" + topic, [topic]) as consumer:
            consumer.subscribe()
            values = []
            while len(values) < 4:
                values += [m.value for m in consumer.poll(max_messages=10, timeout=10)]
        assert values == [b"hello", b"a", b"b", b"c"], values
        with AdminClient(brokers=brokers) as admin:
            assert topic in admin.list_topics()
    finally:
        if cluster is not None:
            cluster.close()
    print(json.dumps({"version": sys.version_info[:2], "file": gofka.__file__}))
    """
)


@pytest.mark.parametrize("python", interpreters(), ids=lambda p: os.path.basename(os.path.dirname(os.path.dirname(p))))
def test_wheel_installs_and_runs_quickstart(wheel: str, python: str, tmp_path: "os.PathLike[str]") -> None:
    venv = os.path.join(str(tmp_path), "venv")
    sh([python, "-m", "venv", "--without-pip", venv])
    vpy = os.path.join(venv, "bin", "python")
    # offline: the wheel alone, no index, no dependencies
    sh([sys.executable, "-m", "pip", "--python", vpy, "install", "--no-deps", "--no-index", "-q", wheel])
    script = os.path.join(str(tmp_path), "quickstart.py")
    with open(script, "w") as f:
        f.write(QUICKSTART)
    topic = "gofka-wheel-%s" % uuid.uuid4().hex[:12]
    out = sh([vpy, "-I", script, topic], cwd=str(tmp_path), env=clean_env(), timeout=120).stdout
    assert os.path.realpath(venv) in os.path.realpath(out), out
    # the console script and python -m gofka
    help_text = sh([os.path.join(venv, "bin", "gofka"), "--help"], cwd=str(tmp_path), env=clean_env()).stdout
    for sub in ("produce", "consume", "topics", "groups", "lag", "dev-cluster"):
        assert sub in help_text
    sh([vpy, "-I", "-m", "gofka", "--version"], cwd=str(tmp_path), env=clean_env())


@pytest.fixture(scope="module")
def cluster_brokers() -> Iterator[str]:
    """GOFKA_BROKERS, else a dev cluster of the repository's package."""
    env = os.environ.get("GOFKA_BROKERS")
    if env:
        yield env
        return
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import gofka

    with gofka.DevCluster() as cluster:
        yield cluster.brokers


def _make(*args: str) -> List[str]:
    with open(os.path.join(ROOT, "Makefile")) as f:
        included = re.search(r"^-?include\s+mk/doors\.mk\s*$", f.read(), re.M) is not None
    return ["make", "-s", "-C", ROOT] + ([] if included else ["-f", "mk/doors.mk"]) + list(args)


def test_make_install_pkg_config_and_c_examples(cluster_brokers: str, tmp_path: "os.PathLike[str]") -> None:
    prefix = os.path.join(str(tmp_path), "prefix")
    sh(_make("install", "PREFIX=" + prefix))
    for f in ("lib/libgofka.so", "include/gofka.h", "lib/pkgconfig/gofka.pc"):
        assert os.path.exists(os.path.join(prefix, f)), f
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    flags = sh(["pkg-config", "--cflags", "--libs", "gofka"], env=env).stdout.split()
    assert "-I" + os.path.join(prefix, "include") in flags and "-lgofka" in flags
    version = sh(["pkg-config", "--modversion", "gofka"], env=env).stdout.strip()
    assert re.match(r"^\d+\.\d+\.\d+$", version)

    # cc FILE $(pkg-config --cflags --libs gofka), as examples/c/Makefile does
    build = os.path.join(str(tmp_path), "examples")
    os.makedirs(build)
    libdir = sh(["pkg-config", "--variable=libdir", "gofka"], env=env).stdout.strip()
    for src, prog in (("producer.c", "gofka-producer"), ("consumer.c", "gofka-consumer")):
        sh(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-std=c11", os.path.join(ROOT, "examples", "c", src)]
           + flags + ["-Wl,-rpath," + libdir, "-o", os.path.join(build, prog)], env=env)
    # the binaries use the installed library (rpath from pkg-config's libdir)
    ldd = sh(["ldd", os.path.join(build, "gofka-producer")]).stdout
    assert os.path.join(prefix, "lib", "libgofka.so") in ldd

    topic = "gofka-c-example-%s" % uuid.uuid4().hex[:12]
    run_env = clean_env(GOFKA_BROKERS=cluster_brokers, GOFKA_GROUP="g-" + topic)
    lines = "".join("value-%d\n" % i for i in range(1500))
    out = sh([os.path.join(build, "gofka-producer"), topic], input=lines, env=run_env, cwd=str(tmp_path)).stdout
    assert "1500 records sent" in out
    out = sh([os.path.join(build, "gofka-consumer"), topic, "1500"], env=run_env, cwd=str(tmp_path)).stdout
    values = [line.split("value=", 1)[1] for line in out.splitlines() if " value=" in line]
    assert values == ["value-%d" % i for i in range(1500)]
    assert "1500 records received" in out
    # without GOFKA_BROKERS an example starts its own dev cluster
    own = clean_env()
    own.pop("GOFKA_BROKERS", None)
    out = sh([os.path.join(build, "gofka-consumer"), "t", "3"], env=own, cwd=str(tmp_path)).stdout
    assert "3 records received" in out
