"""The Python wheel and the C install, as users get them.

- The wheel (``make wheel``; GOFKA_WHEEL_DIR points at its folder, else this
  test builds one with pip) is tagged cp38-abi3-manylinux_2_X_<arch> (the
  C extension gofka._speedups, stable ABI, is required here: this machine
  has Python's headers) with X the newest glibc version libgofka.so and
  _speedups.abi3.so need (checked with objdump -T), and holds both, py.typed
  and the ``gofka`` console script.
- It installs offline (--no-deps --no-index) into fresh venvs outside the
  repository, one per CPython 3.8+ found on the machine, where the one
  abi3 binary imports (gofka.message.speedups is set), parses a hand-built
  messages buffer, and the quickstart (produce, consume, admin) runs against
  a cluster: GOFKA_BROKERS when set, else a dev cluster started by the
  installed package itself. With GOFKA_NO_SPEEDUPS=1 the same install runs
  in pure Python.
- The sdist holds the C sources of gofka._speedups (every file of
  python/gofka/_speedups_src) and every Go file libgofka.so is built from
  (the module's packages ``go list -deps ./capi`` names: wire, core,
  devcluster, internal/...); a wheel built from it where the extension does
  not compile is the pure-Python py3-none-<platform> one, and works. The
  Makefile's GO_SOURCES (what makes libgofka.so stale) and its gofmt lists
  cover the same files.
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
import tarfile
import textwrap
import uuid
import zipfile
from typing import Dict, Iterator, List, Optional, Tuple

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


MODULE = "github.com/gofka/gofka"


def engine_go_files() -> List[str]:
    """The non-test Go files, relative to the repository, of the module's
    packages libgofka.so links (``go list -deps ./capi``): what an sdist
    must carry and what makes a built library stale."""
    fmt = "{{.ImportPath}}|{{.Dir}}|{{join .GoFiles \",\"}},{{join .CgoFiles \",\"}}"
    out = sh(["go", "list", "-deps", "-f", fmt, "./capi"], cwd=ROOT, env=clean_env(CGO_ENABLED="1")).stdout
    files: List[str] = []
    for line in out.splitlines():
        path, folder, names = line.split("|")
        if path == MODULE or path.startswith(MODULE + "/"):
            rel = os.path.relpath(folder, ROOT)
            files += [os.path.join(rel, n) for n in names.split(",") if n]
    return sorted(files)


def test_engine_go_files_lister() -> None:
    files = engine_go_files()
    for f in ("capi/devcluster.go", "core/producer.go", "devcluster/guard.go", "wire/record.go"):
        assert f in files, files
    assert not [f for f in files if f.endswith("_test.go")], files


def make_go_sources(*make_args: str) -> List[str]:
    out = sh(["make", "-s", "--no-print-directory", "-C", ROOT] + list(make_args)
             + ["--eval", "gofka-print-go-sources: ; @echo $(GO_SOURCES)", "gofka-print-go-sources"]).stdout
    return out.split()


@pytest.mark.parametrize("make_args", [[], ["-f", "mk/doors.mk"]], ids=["Makefile", "mk/doors.mk"])
def test_make_go_sources_name_every_engine_go_file(make_args: List[str]) -> None:
    """A change to any Go file of the library rebuilds it (`make build`,
    `make wheel`): GO_SOURCES lists them all."""
    listed = set(make_go_sources(*make_args))
    missing = [f for f in engine_go_files() if f not in listed]
    assert not missing, "GO_SOURCES of %s misses %s" % (make_args or "Makefile", missing)


@pytest.mark.parametrize("script", ["Makefile", "scripts/run-tests.sh"])
def test_gofmt_checks_every_engine_package(script: str) -> None:
    with open(os.path.join(ROOT, script)) as f:
        lists = re.findall(r"gofmt -l ([\w/ ]+)\)", f.read())
    assert lists, "no gofmt -l line in %s" % script
    for dirs in lists:
        roots = dirs.split()
        missing = sorted({os.path.dirname(f) for f in engine_go_files()
                          if not any(f.startswith(r + "/") for r in roots)})
        assert not missing, "%s: gofmt -l %s does not check %s" % (script, dirs, missing)


def objdump_glibc(path: str) -> Optional[Tuple[int, int]]:
    """The newest GLIBC_x.y symbol version `objdump -T` lists for path,
    None when it needs none."""
    out = sh(["objdump", "-T", path]).stdout
    versions = {(int(a), int(b)) for a, b in re.findall(r"GLIBC_(\d+)\.(\d+)", out)}
    return max(versions) if versions else None


# Tag of a wheel of this package: cp38-abi3 with the C extension (stable
# ABI of CPython 3.8+), py3-none without it; manylinux_2_X_<arch> platform.
WHEEL_NAME = re.compile(
    r"^gofka-(?P<version>[0-9][^-]*)-(?P<tag>cp38-abi3|py3-none)-"
    r"(?P<plat>manylinux_(?P<major>\d+)_(?P<minor>\d+)_(?:x86_64|aarch64))\.whl$"
)
SPEEDUPS_SO = "gofka/_speedups.abi3.so"
ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1"}


def python_h_available() -> bool:
    import sysconfig

    return os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))


def test_wheel_tag_and_contents(wheel: str, tmp_path: "os.PathLike[str]") -> None:
    name = os.path.basename(wheel)
    m = WHEEL_NAME.match(name)
    assert m, "unexpected wheel name %s (want cp38-abi3-manylinux_2_X_<arch>)" % name
    version, tag, plat = m.group("version"), m.group("tag"), m.group("plat")
    # The wheel is built with this interpreter (pip wheel), whose headers
    # are here: the extension must have been built, not silently skipped.
    assert python_h_available(), "this machine should have Python's headers (python3-dev)"
    assert tag == "cp38-abi3", "the wheel %s was built without gofka._speedups" % name
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = "gofka-%s.dist-info/" % version
        wheel_meta = z.read(info + "WHEEL").decode()
        metadata = z.read(info + "METADATA").decode()
        entry_points = z.read(info + "entry_points.txt").decode()
        z.extract("gofka/libgofka.so", str(tmp_path))
        z.extract(SPEEDUPS_SO, str(tmp_path))
    so = os.path.join(str(tmp_path), "gofka", "libgofka.so")
    ext = os.path.join(str(tmp_path), SPEEDUPS_SO)
    for required in ("gofka/__init__.py", "gofka/__main__.py", "gofka/cli.py", "gofka/_log.py", "gofka/py.typed",
                     "gofka/message.py", "gofka/libgofka.so", SPEEDUPS_SO):
        assert required in names
    # one stable-ABI binary, no version-specific one, no source
    assert sorted(n for n in names if ".so" in n) == sorted(["gofka/libgofka.so", SPEEDUPS_SO])
    assert not [n for n in names if n.endswith((".c", ".h"))]
    assert not [n for n in names if n.startswith(("tests/", "wire/", "core/", "devcluster/", "capi/", "internal/"))]
    assert re.search(r"^Tag: %s-%s$" % (tag, plat), wheel_meta, re.M), wheel_meta
    assert len(re.findall(r"^Tag: ", wheel_meta, re.M)) == 1, wheel_meta
    assert "Root-Is-Purelib: false" in wheel_meta
    assert "Requires-Python: >=3.8" in metadata
    # gofka.otel's optional dependency, and nothing required
    assert re.search(r"^Provides-Extra: otel$", metadata, re.M), metadata
    assert re.findall(r"^Requires-Dist: (.*)$", metadata, re.M) == ['opentelemetry-api>=1.20; extra == "otel"'], metadata
    assert re.search(r"^gofka = gofka\.cli:main$", entry_points, re.M)
    # the tag's glibc is the newest one either shared object needs (as
    # objdump sees it); the library needs one, the extension maybe none
    lib_glibc = objdump_glibc(so)
    assert lib_glibc is not None, "no GLIBC symbol versions in %s" % so
    needs = [v for v in (lib_glibc, objdump_glibc(ext)) if v is not None]
    assert (int(m.group("major")), int(m.group("minor"))) == max(needs + [(2, 17)])
    needed = re.findall(r"NEEDED\s+(\S+)", sh(["objdump", "-p", so]).stdout)
    assert set(needed) <= ALLOWED_NEEDED, needed
    # the extension links no libpython (it would pin one CPython version)
    ext_needed = re.findall(r"NEEDED\s+(\S+)", sh(["objdump", "-p", ext]).stdout)
    assert set(ext_needed) <= ALLOWED_NEEDED, ext_needed
    # the extension exports its init function only: the functions its C
    # files share (python/gofka/_speedups_src/speedups.h) stay hidden
    ext_exported = re.findall(r"^\S*\s+[A-TV-Z]\s+(\S+)$", sh(["nm", "-D", "--defined-only", ext]).stdout, re.M)
    assert ext_exported == ["PyInit__speedups"], ext_exported
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
    import os, struct, sys, json
    import gofka
    import gofka.consumer
    import gofka.message as m
    from gofka import AdminClient, Consumer, DevCluster, Producer, TopicPartition

    here = os.path.dirname(gofka.__file__)
    assert "site-packages" in here, here
    assert os.path.exists(os.path.join(here, "py.typed"))
    assert gofka.library_version() == gofka.__version__
    topic = sys.argv[1]

    # The C speedups: present (argv[2] == "1", the abi3 binary imports on
    # this CPython) or not (GOFKA_NO_SPEEDUPS=1, or a wheel without them).
    if sys.argv[2] == "1":
        assert m.speedups is not None, "gofka._speedups did not load"
        assert m.speedups.__file__.startswith(here), m.speedups.__file__
        assert m.speedups.__file__.endswith("_speedups.abi3.so"), m.speedups.__file__
        assert issubclass(gofka.Message, m.speedups.MessageFields)
    else:
        assert m.speedups is None, m.speedups

    # A hand-built buffer in the messages format (include/gofka.h): topic
    # table, one assigned event, two message heads, then the data region.
    topics = [b"t0", "t\\u00e9".encode("utf-8")]
    head = struct.pack("<iii", 2, 1, len(topics)) + b"".join(struct.pack("<i", len(t)) + t for t in topics)
    head += struct.pack("<ii", 1, 2) + struct.pack("<iiii", 0, 3, 1, 7)
    start = len(head) + 2 * 48
    key, value = b"k1", b"v" * 100
    hdrs = struct.pack("<i", 2) + struct.pack("<i", 1) + b"h" + struct.pack("<i", 2) + b"hv"
    hdrs += struct.pack("<i", 1) + b"n" + struct.pack("<i", -1)
    ks, vs, hs = start, start + len(key), start + len(key) + len(value)
    heads = struct.pack("<iiqqiiiiii", 1, 7, 42, 1500, ks, vs, vs, hs, hs, hs + len(hdrs))
    heads += struct.pack("<iiqqiiiiii", 0, 3, 9, 2000, -1, -1, -1, -1, -1, -1)
    buf = head + heads + key + value + hdrs
    msgs, events = gofka.consumer.parse_poll(buf)
    assert events == [(1, [TopicPartition("t0", 3), TopicPartition("t\\u00e9", 7)])], events
    assert [type(x) for x in msgs] == [gofka.Message, gofka.Message], msgs
    assert msgs[0] == gofka.Message("t\\u00e9", 7, 42, value, {"h": b"hv", "n": None}, 1.5, key), repr(msgs[0])
    assert msgs[1] == gofka.Message("t0", 3, 9, None, {}, 2.0, None), repr(msgs[1])
    assert msgs[1].headers == {} and msgs[1].key is None and msgs[1].value is None
    if m.speedups is not None:  # the C parser bounds-checks every range
        try:
            gofka.consumer.parse_poll(buf[:len(buf) - 5])
        except ValueError:
            pass
        else:
            raise AssertionError("a truncated buffer was accepted")
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
    print(json.dumps({"version": sys.version_info[:2], "file": gofka.__file__,
                      "speedups": m.speedups is not None}))
    """
)


def install_wheel(python: str, wheel: str, tmp_path: "os.PathLike[str]") -> str:
    """A fresh venv of python with only the wheel installed (offline: no
    index, no dependencies); returns its python."""
    venv = os.path.join(str(tmp_path), "venv")
    sh([python, "-m", "venv", "--without-pip", venv])
    vpy = os.path.join(venv, "bin", "python")
    # clean_env: with PYTHONPATH=python (make test) pip would take the
    # repository's python/gofka.egg-info, which a wheel or sdist build
    # leaves there, for an installed gofka and skip the install.
    sh([sys.executable, "-m", "pip", "--python", vpy, "install", "--no-deps", "--no-index", "-q", wheel],
       env=clean_env())
    return vpy


def run_quickstart(vpy: str, tmp_path: "os.PathLike[str]", speedups: bool, **env: str) -> None:
    script = os.path.join(str(tmp_path), "quickstart.py")
    with open(script, "w") as f:
        f.write(QUICKSTART)
    topic = "gofka-wheel-%s" % uuid.uuid4().hex[:12]
    out = sh([vpy, "-I", script, topic, "1" if speedups else "0"], cwd=str(tmp_path), env=clean_env(**env),
             timeout=120).stdout
    venv = os.path.dirname(os.path.dirname(vpy))
    assert os.path.realpath(venv) in os.path.realpath(out), out
    assert ('"speedups": %s' % ("true" if speedups else "false")) in out, out


@pytest.mark.parametrize("python", interpreters(), ids=lambda p: os.path.basename(os.path.dirname(os.path.dirname(p))))
def test_wheel_installs_and_runs_quickstart(wheel: str, python: str, tmp_path: "os.PathLike[str]") -> None:
    venv_python = install_wheel(python, wheel, tmp_path)
    venv = os.path.dirname(os.path.dirname(venv_python))
    # the cp38-abi3 binary loads on every CPython 3.8+ (test_wheel_tag_and_contents requires it)
    run_quickstart(venv_python, tmp_path, speedups=True)
    # the console script and python -m gofka
    help_text = sh([os.path.join(venv, "bin", "gofka"), "--help"], cwd=str(tmp_path), env=clean_env()).stdout
    for sub in ("produce", "consume", "topics", "groups", "lag", "dev-cluster"):
        assert sub in help_text
    sh([venv_python, "-I", "-m", "gofka", "--version"], cwd=str(tmp_path), env=clean_env())


def test_wheel_without_speedups_env(wheel: str, tmp_path: "os.PathLike[str]") -> None:
    """GOFKA_NO_SPEEDUPS=1: the installed wheel runs in pure Python."""
    venv_python = install_wheel(sys.executable, wheel, tmp_path)
    run_quickstart(venv_python, tmp_path, speedups=False, GOFKA_NO_SPEEDUPS="1")


def test_sdist_and_wheel_without_speedups(tmp_path: "os.PathLike[str]") -> None:
    """The sdist carries the speedups' C sources and no built binary; a
    wheel built from it where the C extension does not compile (as on a
    machine without Python.h: CFLAGS here forces a missing header; cgo
    ignores CFLAGS) warns, is the pure-Python py3-none-<platform> one, and
    works."""
    tmp = str(tmp_path)
    # a build environment: setuptools with bdist_wheel (what pyproject.toml
    # asks for), without the build isolation of pip that would hide the log
    builder = os.path.join(tmp, "builder")
    sh([sys.executable, "-m", "venv", "--without-pip", builder])
    bpy = os.path.join(builder, "bin", "python")
    sh([sys.executable, "-m", "pip", "--python", bpy, "install", "-q", "setuptools>=70.1"], timeout=300)
    build = "import sys\nfrom setuptools import build_meta as b\nprint(getattr(b, sys.argv[1])(sys.argv[2]))"
    sdist_dir = os.path.join(tmp, "sdist")
    sdist = sh([bpy, "-c", build, "build_sdist", sdist_dir], cwd=ROOT, env=clean_env()).stdout.split()[-1]
    with tarfile.open(os.path.join(sdist_dir, sdist)) as t:
        members = t.getnames()
        t.extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))  # type: ignore[arg-type]
    top = sdist[: -len(".tar.gz")]
    speedups_src = sorted(os.listdir(os.path.join(ROOT, "python", "gofka", "_speedups_src")))
    assert "module.c" in speedups_src and "speedups.h" in speedups_src, speedups_src
    missing_c = [n for n in speedups_src if top + "/python/gofka/_speedups_src/" + n not in members]
    assert not missing_c, "the sdist (MANIFEST.in) lacks %s" % missing_c
    assert top + "/setup.py" in members and top + "/build.sh" in members
    missing = [f for f in engine_go_files() if top + "/" + f not in members]
    assert not missing, "the sdist (MANIFEST.in) lacks %s" % missing
    assert not [n for n in members if n.endswith(".so")], members

    wheel_dir = os.path.join(tmp, "wheels")
    proc = sh([bpy, "-c", build, "build_wheel", wheel_dir], cwd=os.path.join(tmp, top), timeout=600,
              env=clean_env(CFLAGS="-include gofka-test-no-python-h.h"))
    assert "WARNING: the optional C extension gofka._speedups was not built" in proc.stderr, proc.stderr
    name = proc.stdout.split()[-1]
    m = WHEEL_NAME.match(name)
    assert m and m.group("tag") == "py3-none", name
    with zipfile.ZipFile(os.path.join(wheel_dir, name)) as z:
        names = set(z.namelist())
    assert "gofka/libgofka.so" in names and "gofka/message.py" in names
    assert not [n for n in names if "_speedups" in n], names
    venv_python = install_wheel(sys.executable, os.path.join(wheel_dir, name), tmp_path)
    run_quickstart(venv_python, tmp_path, speedups=False)


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


@pytest.mark.parametrize("arch,cc,message", [
    ("riscv64", "", "GOFKA_TARGET_ARCH=riscv64: cross builds from %s support aarch64"),
    ("aarch64", "gofka-no-such-cc", "cross-building for aarch64 needs the C compiler gofka-no-such-cc on PATH "
                                    "(Debian: apt-get install gcc-aarch64-linux-gnu)"),
])
def test_cross_build_names_what_is_missing(arch: str, cc: str, message: str, tmp_path: "os.PathLike[str]") -> None:
    """A cross build (GOFKA_TARGET_ARCH, as `make wheels` runs it; the
    wheel itself is tested under qemu by `make test-aarch64`) of an
    architecture it cannot build, or without its cross compiler, stops
    before building anything, saying what is missing."""
    import platform

    if platform.machine() == arch:
        pytest.skip("a native build on this machine, not a cross build")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), ROOT],
                          env=clean_env(GOFKA_TARGET_ARCH=arch, GOFKA_CROSS_CC=cc), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
    assert proc.returncode != 0, proc.stdout
    expected = message % platform.machine() if "%s" in message else message
    assert "gofka: " + expected in proc.stdout, proc.stdout
    assert "with the Go toolchain" not in proc.stdout, proc.stdout
    assert not glob.glob(os.path.join(str(tmp_path), "*.whl"))
