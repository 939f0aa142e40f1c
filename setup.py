"""Build hooks of the gofka wheel (metadata is in pyproject.toml).

- build_py runs ./build.sh, i.e. the Go toolchain, and puts the freshly
  built libgofka.so into the package of the build tree (or, for an editable
  install, next to python/gofka/__init__.py).
- bdist_wheel tags the wheel ``py3-none-<platform>``: one wheel serves every
  CPython 3.8+ because the package loads the library with ctypes and has no
  CPython extension module. The platform is ``manylinux_2_X_<arch>`` where X
  is the newest glibc symbol version the library needs (read from its ELF
  version-requirement section, like ``objdump -T`` shows it) and the library
  links only to libraries the manylinux policy allows; otherwise it is the
  plain ``linux_<arch>`` tag. ``--plat-name`` overrides the choice.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from typing import Dict, List, Optional, Set, Tuple

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # older setuptools: the `wheel` package (see pyproject.toml)
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel  # type: ignore[no-redef]

ROOT = os.path.dirname(os.path.abspath(__file__))
LIB_NAME = "libgofka.so"

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


def build_library(target: str) -> None:
    """Runs ./build.sh target (the Go toolchain), failing with its output."""
    script = os.path.join(ROOT, "build.sh")
    if not os.path.exists(script):
        raise SystemExit("gofka: %s is missing; build from a clone or an sdist of Gofka" % script)
    print("gofka: building %s with the Go toolchain (build.sh)" % target)
    sys.stdout.flush()
    result = subprocess.run(["bash", script, target], cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(
            "gofka: build.sh failed (exit %d): building the wheel needs Go 1.23+ on PATH "
            "and a C compiler for cgo" % result.returncode
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


def platform_tag(path: str) -> str:
    """manylinux_2_X_<arch> when the library qualifies, else linux_<arch>."""
    info = read_elf(path)
    if info.machine.startswith("unknown"):
        raise SystemExit("gofka: unsupported architecture of %s (%s)" % (path, info.machine))
    glibc = info.glibc_version()
    foreign = [lib for lib in info.needed if lib not in MANYLINUX_LIBS]
    if glibc is None or foreign or "libc.so.6" not in info.needed:
        print("gofka: %s is not a manylinux library (needs %s); tagging linux_%s" % (path, info.needed, info.machine))
        return "linux_%s" % info.machine
    # PEP 600 tags start at glibc 2.17 for x86_64/aarch64 (manylinux2014).
    major, minor = max(glibc, (2, 17))
    return "manylinux_%d_%d_%s" % (major, minor, info.machine)


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


class bdist_wheel(_bdist_wheel):
    """Tags the wheel py3-none-<platform> (see the module docstring)."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> Tuple[str, str, str]:
        if getattr(self, "plat_name_supplied", False):
            plat = self.plat_name.replace("-", "_").replace(".", "_")
        else:
            build_lib = self.get_finalized_command("build_py").build_lib
            plat = platform_tag(os.path.join(build_lib, "gofka", LIB_NAME))
        return "py3", "none", plat


setup(
    distclass=BinaryDistribution,
    cmdclass={"build_py": build_py, "bdist_wheel": bdist_wheel},
)
