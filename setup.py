"""Build hooks of the gofka wheel (metadata is in pyproject.toml).

- build_py runs ./build.sh, i.e. the Go toolchain, and puts the freshly
  built libgofka.so into the package of the build tree (or, for an editable
  install, next to python/gofka/__init__.py).
- build_ext compiles the optional C extension gofka._speedups (the C
  files of python/gofka/_speedups_src, one module) against CPython's
  stable ABI (Py_LIMITED_API 0x03080000), giving gofka/_speedups.abi3.so. It is optional: without
  Python's headers (python3-dev) or a C compiler the build prints a warning
  and goes on, and the package runs in pure Python (gofka/message.py falls
  back; same behaviour, only slower).
- bdist_wheel tags the wheel ``cp38-abi3-<platform>`` when the extension was
  built (one wheel serves every CPython 3.8+: stable ABI, and the package
  loads libgofka.so with ctypes), and ``py3-none-<platform>`` when it was
  not. The platform is ``manylinux_2_X_<arch>`` where X is the newest glibc
  symbol version libgofka.so and _speedups.abi3.so need (read from their ELF
  version-requirement sections, like ``objdump -T`` shows them) and both
  link only to libraries the manylinux policy allows; otherwise it is the
  plain ``linux_<arch>`` tag. ``--plat-name`` overrides the choice.
- Cross builds: GOFKA_TARGET_ARCH=aarch64 (``make wheels`` sets it) builds
  both shared objects for that architecture with Debian's cross toolchain
  (gcc-aarch64-linux-gnu; GOFKA_CROSS_CC names another compiler): build.sh
  runs with GOARCH=arm64, CC=<cross compiler> and cgo, build_ext compiles the
  same SPEEDUPS_EXTENSION sources with the cross compiler. The headers are
  this Python's: the stable ABI's declarations do not depend on the
  architecture, and `make test-aarch64` checks that the sources preprocess
  to the same code with Debian's aarch64 pyconfig.h. The tag then follows
  from the ELF files as above. Unset, or the machine's own architecture,
  is a native build.
- Before building libgofka.so, build_py checks for Go (go.mod's release or
  newer) and cgo's C compiler, and stops naming what is missing: what a
  `pip install` of the sdist (`make sdist`) shows.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import shutil
import struct
import subprocess
import sys
from typing import Dict, List, Optional, Set, Tuple

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext
from setuptools.command.build_py import build_py as _build_py
from setuptools.dist import Distribution
from setuptools.errors import BaseError, CCompilerError, CompileError

try:  # setuptools >= 70.1
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # older setuptools: the `wheel` package (see pyproject.toml)
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel  # type: ignore[no-redef]

ROOT = os.path.dirname(os.path.abspath(__file__))
LIB_NAME = "libgofka.so"
SPEEDUPS = "gofka._speedups"
# The oldest CPython whose stable ABI the speedups use (its Py_LIMITED_API).
LIMITED_API = 0x03080000
LIMITED_API_TAG = "cp38"

# The speedups' sources: every .c file of the folder (the Makefile's
# SPEEDUPS_SRC takes the same), compiled into the one module. Not named
# python/gofka/_speedups: a folder of that name would import as a namespace
# package where the extension is not built, instead of the ImportError the
# pure-Python fallback expects.
SPEEDUPS_SRC = "python/gofka/_speedups_src"
SPEEDUPS_EXTENSION = Extension(
    SPEEDUPS,
    sources=sorted(
        os.path.join(SPEEDUPS_SRC, name)
        for name in os.listdir(os.path.join(ROOT, SPEEDUPS_SRC))
        if name.endswith(".c")
    ),
    # They take gofka_error_t, the library's signatures and the packed
    # layouts from gofka.h (and share speedups.h, next to them).
    include_dirs=["include"],
    py_limited_api=True,
    define_macros=[("Py_LIMITED_API", "0x%08X" % LIMITED_API)],
    # A failed build (no Python.h, no C compiler) is a warning, not an
    # error: the package then runs in pure Python.
    optional=True,
)

# Libraries a manylinux wheel may link against without bundling them
# (PEP 600 / auditwheel policy; only the glibc ones matter for a Go library).
MANYLINUX_LIBS = {
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "librt.so.1",
    "libpthread.so.0",
    "libresolv.so.2",
    "libutil.so.1",
    "libnsl.so.1",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
}

ELF_MACHINES = {62: "x86_64", 183: "aarch64"}

# Targets of a cross build (GOFKA_TARGET_ARCH): Go's GOARCH and the default
# C cross compiler (Debian's package name in the error message).
CROSS_TARGETS = {
    "aarch64": ("arm64", "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
}


class CrossTarget(object):
    """A cross build's architecture (ELF name), GOARCH and C compiler."""

    def __init__(self, arch: str, goarch: str, cc: List[str]) -> None:
        self.arch = arch
        self.goarch = goarch
        self.cc = cc


def cross_target() -> Optional[CrossTarget]:
    """The cross build GOFKA_TARGET_ARCH asks for, None for a native one
    (unset, empty, or this machine's architecture). An unknown architecture
    or a missing cross compiler stops the build with what to install."""
    arch = os.environ.get("GOFKA_TARGET_ARCH", "").strip()
    if not arch or arch == platform.machine():
        return None
    if arch not in CROSS_TARGETS:
        raise SystemExit("gofka: GOFKA_TARGET_ARCH=%s: cross builds from %s support %s"
                         % (arch, platform.machine(), ", ".join(sorted(CROSS_TARGETS))))
    goarch, default_cc, package = CROSS_TARGETS[arch]
    cc = shlex.split(os.environ.get("GOFKA_CROSS_CC", "") or default_cc)
    if not cc or shutil.which(cc[0]) is None:
        raise SystemExit("gofka: cross-building for %s needs the C compiler %s on PATH (Debian: apt-get install %s)"
                         % (arch, cc[0] if cc else default_cc, package))
    return CrossTarget(arch, goarch, cc)


def required_go() -> str:
    """The Go release go.mod asks for, e.g. "1.26": go.mod is the one place
    it is stated (tests/packaging/test_docs.py checks the docs agree)."""
    try:
        with open(os.path.join(ROOT, "go.mod")) as f:
            m = re.search(r"^go (\d+\.\d+)", f.read(), re.M)
    except OSError:
        m = None
    return m.group(1) if m else "(the release go.mod names)"


def go_mod_minimum() -> Tuple[int, ...]:
    """The oldest Go go.mod accepts, e.g. (1, 26, 8) for "go 1.26.8" (the
    go command refuses older ones)."""
    with open(os.path.join(ROOT, "go.mod")) as f:
        m = re.search(r"^go (\d+(?:\.\d+)*)\s*$", f.read(), re.M)
    if not m:
        raise SystemExit("gofka: go.mod states no go release")
    return tuple(int(x) for x in m.group(1).split("."))


def check_toolchain(env: Dict[str, str]) -> None:
    """Stops the build, before anything is compiled, with what is missing
    to build libgofka.so from source: Go at the release go.mod names or
    newer, and the C compiler cgo uses (CC, else `go env CC`). pip shows
    the message when `pip install` builds an sdist."""
    want = ".".join(str(x) for x in go_mod_minimum())
    needs = "gofka: building libgofka.so from source needs Go %s or newer (as go.mod states) on PATH" % want
    hint = "; install it (https://go.dev/dl), or install a gofka wheel (pip install --only-binary gofka gofka)"
    go = shutil.which("go", path=env.get("PATH"))
    if go is None:
        raise SystemExit(needs + ": no `go` command found" + hint)
    try:
        proc = subprocess.run([go, "env", "GOVERSION", "CC"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SystemExit("%s: %s failed: %s%s" % (needs, go, e, hint))
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        raise SystemExit("%s: `%s env` failed: %s%s" % (needs, go, (proc.stderr or proc.stdout).strip(), hint))
    m = re.match(r"^go(\d+(?:\.\d+)*)", lines[0].strip())
    if not m or tuple(int(x) for x in m.group(1).split(".")) < go_mod_minimum():
        raise SystemExit("%s: %s is %s%s" % (needs, go, lines[0].strip() or "of an unknown version", hint))
    cc = env.get("CC") or lines[1].strip()
    words = shlex.split(cc) if cc else []
    if not words or shutil.which(words[0], path=env.get("PATH")) is None:
        raise SystemExit("gofka: building libgofka.so from source needs a C compiler for cgo: %s not found on PATH "
                         "(e.g. apt-get install gcc, or set CC)" % (words[0] if words else "no CC (go env CC is empty)"))


def build_library(target: str) -> None:
    """Runs ./build.sh target (the Go toolchain), failing with its output."""
    script = os.path.join(ROOT, "build.sh")
    if not os.path.exists(script):
        raise SystemExit("gofka: %s is missing; build from a clone or an sdist of Gofka" % script)
    env = dict(os.environ)
    cross = cross_target()
    if cross is not None:
        # cgo compiles and links with CC; GOARCH picks Go's target.
        env.update(GOARCH=cross.goarch, CC=" ".join(shlex.quote(a) for a in cross.cc), CGO_ENABLED="1")
    check_toolchain(env)
    print("gofka: building %s with the Go toolchain (build.sh%s)"
          % (target, "" if cross is None else ", GOARCH=%s CC=%s" % (cross.goarch, env["CC"])))
    sys.stdout.flush()
    result = subprocess.run(["bash", script, target], cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(
            "gofka: build.sh failed (exit %d): building the wheel needs Go %s+ on PATH "
            "and a C compiler for cgo" % (result.returncode, required_go())
        )


class ElfInfo(object):
    """What the wheel tag depends on: architecture, DT_NEEDED libraries and
    the symbol versions required from each of them."""

    def __init__(self, machine: str, needed: List[str], versions: Dict[str, Set[str]]) -> None:
        self.machine = machine
        self.needed = needed
        self.versions = versions

    def glibc_version(self) -> Optional[Tuple[int, int]]:
        """The newest GLIBC_x.y version required, or None when none is."""
        best = None  # type: Optional[Tuple[int, int]]
        for names in self.versions.values():
            for name in names:
                m = re.match(r"^GLIBC_(\d+)\.(\d+)", name)
                if m:
                    v = (int(m.group(1)), int(m.group(2)))
                    if best is None or v > best:
                        best = v
        return best


def read_elf(path: str) -> ElfInfo:
    """Parses a 64-bit little-endian ELF shared object (the only kind
    build.sh makes on the platforms Go's c-shared mode serves here)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("%s is not a 64-bit little-endian ELF file" % path)
    (e_machine,) = struct.unpack_from("<H", data, 18)
    e_shoff, = struct.unpack_from("<Q", data, 40)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 58)
    sections = []
    for i in range(e_shnum):
        off = e_shoff + i * e_shentsize
        sh_name, sh_type, _flags, _addr, sh_offset, sh_size, sh_link, sh_info = struct.unpack_from(
            "<IIQQQQII", data, off
        )
        sections.append((sh_type, sh_offset, sh_size, sh_link, sh_info))

    def cstr(section_index: int, offset: int) -> str:
        base = sections[section_index][1] + offset
        end = data.index(b"\0", base)
        return data[base:end].decode("ascii", "replace")

    needed = []  # type: List[str]
    versions = {}  # type: Dict[str, Set[str]]
    for sh_type, sh_offset, sh_size, sh_link, sh_info in sections:
        if sh_type == 6:  # SHT_DYNAMIC: d_tag, d_val pairs
            for pos in range(sh_offset, sh_offset + sh_size, 16):
                tag, val = struct.unpack_from("<qQ", data, pos)
                if tag == 0:
                    break
                if tag == 1:  # DT_NEEDED
                    needed.append(cstr(sh_link, val))
        elif sh_type == 0x6FFFFFFE:  # SHT_GNU_verneed
            pos = sh_offset
            for _ in range(sh_info):
                _vn_version, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, pos)
                lib = cstr(sh_link, vn_file)
                aux = pos + vn_aux
                for _ in range(vn_cnt):
                    _hash, _flags, _other, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                    versions.setdefault(lib, set()).add(cstr(sh_link, vna_name))
                    aux += vna_next
                pos += vn_next
    return ElfInfo(ELF_MACHINES.get(e_machine, "unknown-%d" % e_machine), needed, versions)


def platform_tag(library: str, *extensions: str) -> str:
    """manylinux_2_X_<arch> when the wheel's shared objects qualify, else
    linux_<arch>. library is libgofka.so, which must link libc and need a
    glibc version; extensions (gofka/_speedups.abi3.so when built) may need
    no libc symbol at all. X is the newest glibc version any of them needs,
    so the tag promises nothing older than what one of them requires."""
    infos = [(path, read_elf(path)) for path in (library,) + extensions]
    machine = infos[0][1].machine
    for path, info in infos:
        if info.machine.startswith("unknown"):
            raise SystemExit("gofka: unsupported architecture of %s (%s)" % (path, info.machine))
        if info.machine != machine:
            raise SystemExit("gofka: %s is built for %s, %s for %s" % (path, info.machine, library, machine))
    lib_info = infos[0][1]
    versions = [v for v in (info.glibc_version() for _, info in infos) if v is not None]
    foreign = [(path, lib) for path, info in infos for lib in info.needed if lib not in MANYLINUX_LIBS]
    if lib_info.glibc_version() is None or "libc.so.6" not in lib_info.needed or foreign:
        print("gofka: not manylinux shared objects (%s needs %s; outside the policy: %s); tagging linux_%s"
              % (library, lib_info.needed, foreign, machine))
        return "linux_%s" % machine
    # PEP 600 tags start at glibc 2.17 for x86_64/aarch64 (manylinux2014).
    major, minor = max(versions + [(2, 17)])
    return "manylinux_%d_%d_%s" % (major, minor, machine)


class BinaryDistribution(Distribution):
    """A distribution with platform-specific content (the .so), so that the
    wheel is not tagged 'any' and installs into platlib."""

    def has_ext_modules(self) -> bool:
        return True


class build_py(_build_py):
    """build_py plus the Go build of libgofka.so."""

    def run(self) -> None:
        super().run()
        build_library(self._library_target())

    def _library_target(self) -> str:
        if getattr(self, "editable_mode", False):
            return os.path.join(ROOT, "python", "gofka", LIB_NAME)
        return os.path.join(os.path.abspath(self.build_lib), "gofka", LIB_NAME)

    def get_outputs(self, include_bytecode: bool = True) -> List[str]:  # type: ignore[override]
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.append(os.path.join(self.build_lib, "gofka", LIB_NAME))
        return outputs


SPEEDUPS_WARNING = """
**********************************************************************
gofka: WARNING: the optional C extension gofka._speedups was not built
(%s).
gofka works without it, in pure Python (same behaviour, slower); the wheel
is tagged py3-none-<platform>. To get it, install Python's headers
(e.g. apt-get install python3-dev) and a C compiler, then rebuild.
**********************************************************************
"""


class build_ext(_build_ext):
    """build_ext of the optional gofka._speedups with a clear warning when
    it cannot be built, and no stale binary left to ship in that case; in a
    cross build (GOFKA_TARGET_ARCH) with the cross compiler."""

    def build_extensions(self) -> None:
        cross = cross_target()
        if cross is not None:
            # The flags of this Python's own build (sysconfig CFLAGS, its
            # -L/-rpath of its lib folder) are for the host: a cross build
            # uses the compiler with position-independent, optimized code
            # and links nothing but libc (the stable ABI needs no libpython).
            cflags = shlex.split(os.environ.get("CFLAGS", ""))
            self.compiler.set_executables(
                compiler_so=cross.cc + ["-fPIC", "-O2", "-Wall", "-DNDEBUG"] + cflags,
                linker_so=cross.cc + ["-shared"] + shlex.split(os.environ.get("LDFLAGS", "")),
            )
        super().build_extensions()

    def build_extension(self, ext: Extension) -> None:
        target = self.get_ext_fullpath(ext.name)
        if ext.optional and not self.inplace and os.path.exists(target):
            # A binary of an earlier build must not ship if this one fails.
            os.remove(target)
        try:
            super().build_extension(ext)
        except (CCompilerError, CompileError, BaseError) as e:  # what build_ext skips for an optional one
            if not ext.optional:
                raise
            missing = not any(os.path.exists(os.path.join(d, "Python.h")) for d in self.include_dirs or [])
            self._warn_skipped("%s%s" % (e, "; Python.h is not in %s" % (self.include_dirs,) if missing else ""))
            raise  # build_ext turns it into its own warning and goes on

    def _warn_skipped(self, why: str) -> None:
        sys.stdout.flush()
        sys.stderr.write(SPEEDUPS_WARNING % why)
        sys.stderr.flush()


def built_extensions(cmd: _bdist_wheel) -> List[str]:
    """The extension modules build_ext left in the build tree (at most
    gofka/_speedups.abi3.so)."""
    ext = cmd.get_finalized_command("build_ext")
    path = os.path.join(ext.build_lib, ext.get_ext_filename(SPEEDUPS))
    return [path] if os.path.exists(path) else []


class bdist_wheel(_bdist_wheel):
    """Tags the wheel cp38-abi3-<platform> with the extension, else
    py3-none-<platform> (see the module docstring)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> Tuple[str, str, str]:
        extensions = built_extensions(self)
        if getattr(self, "plat_name_supplied", False):
            plat = self.plat_name.replace("-", "_").replace(".", "_")
        else:
            build_lib = self.get_finalized_command("build_py").build_lib
            plat = platform_tag(os.path.join(build_lib, "gofka", LIB_NAME), *extensions)
        if extensions:
            return LIMITED_API_TAG, "abi3", plat
        return "py3", "none", plat


setup(
    distclass=BinaryDistribution,
    ext_modules=[SPEEDUPS_EXTENSION],
    cmdclass={"build_py": build_py, "build_ext": build_ext, "bdist_wheel": bdist_wheel},
)
