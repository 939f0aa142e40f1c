"""The C ABI: exported symbols == functions declared in include/gofka.h."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from typing import Dict, List, Set, Tuple

import pytest

import gofka
from gofka import _native

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEADER = os.path.join(ROOT, "include", "gofka.h")

# Symbols a Go c-shared library exports on its own (cgo glue and runtime
# hooks); anything else must be a gofka_ function declared in the header.
CGO_INTERNAL = re.compile(
    r"^(?:_cgo_\w+|_cgoexp_\w+|x_cgo_\w+|__cgo_\w+|crosscall\d*|crosscall2|x_crosscall2_ptr|fatalf"
    r"|_init|_fini|_edata|_end|__bss_start)$"
)


def exported_symbols() -> Set[str]:
    nm = shutil.which("nm")
    assert nm, "nm (binutils) is required for this test"
    out = subprocess.run(
        [nm, "-D", "--defined-only", _native.path], check=True, stdout=subprocess.PIPE, universal_newlines=True
    ).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            names.add(parts[2].split("@")[0])
    return names


def header_functions() -> Set[str]:
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)
    # a declaration: <type> name ( ... ) ;
    return set(re.findall(r"\b(gofka_\w+)\s*\([^;{)]*\)\s*;", text))


def test_header_parses() -> None:
    declared = header_functions()
    assert "gofka_version" in declared
    assert "gofka_producer_send_batch" in declared
    assert "gofka_error_t" not in declared


def test_exports_match_header() -> None:
    exported = exported_symbols()
    gofka_exported = {s for s in exported if s.startswith("gofka_")}
    declared = header_functions()
    assert gofka_exported - declared == set(), "exported but not declared in gofka.h"
    assert declared - gofka_exported == set(), "declared in gofka.h but not exported"
    stray = {s for s in exported if not s.startswith("gofka_") and not CGO_INTERNAL.match(s)}
    assert stray == set(), "unexpected exported symbols"


def test_bindings_declare_every_header_function() -> None:
    assert set(_native.SIGNATURES) == header_functions()


# The ctypes type each C type of gofka.h is bound with. Inputs of bytes
# (const char * / const uint8_t *) are c_char_p, which passes a bytes
# object's own buffer; every ** out-parameter is POINTER(c_void_p), read
# back with take_buffer; const int32_t * (the lengths array of a batch) is
# a c_void_p to a buffer the caller packs.
_CTYPE_OF = {
    "void": None,
    "void *": ctypes.c_void_p,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "size_t": ctypes.c_size_t,
    "gofka_handle_t": ctypes.c_uint64,
    "const char *": ctypes.c_char_p,
    "const uint8_t *": ctypes.c_char_p,
    "const int32_t *": ctypes.c_void_p,
    "char * *": ctypes.POINTER(ctypes.c_void_p),
    "uint8_t * *": ctypes.POINTER(ctypes.c_void_p),
    "const int32_t * *": ctypes.POINTER(ctypes.c_void_p),
    "int32_t *": ctypes.POINTER(ctypes.c_int32),
    "int64_t *": ctypes.POINTER(ctypes.c_int64),
    "uint64_t *": ctypes.POINTER(ctypes.c_uint64),
    "size_t *": ctypes.POINTER(ctypes.c_size_t),
    "gofka_handle_t *": ctypes.POINTER(ctypes.c_uint64),
    "gofka_error_t *": ctypes.POINTER(_native.gofka_error_t),
}


def header_prototypes() -> Dict[str, Tuple[str, List[str]]]:
    """name -> (return type, [parameter types]) of every function of gofka.h,
    types with the parameter names dropped and spelt "T *" / "T * *"."""
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)

    def spell(decl: str) -> str:
        decl = " ".join(decl.replace("*", " * ").split())
        if decl in ("void", "void *") or decl.endswith("*"):
            return decl
        return decl.rsplit(" ", 1)[0]  # drop the parameter's name

    protos = {}
    for ret, name, params in re.findall(r"([\w\s*]+?)\b(gofka_\w+)\s*\(([^;{)]*)\)\s*;", text):
        types = [spell(p) for p in params.split(",")]
        protos[name] = (" ".join(ret.replace("*", " * ").split()), [] if types == ["void"] else types)
    return protos


def test_header_prototypes_parse() -> None:
    protos = header_prototypes()
    assert protos["gofka_free"] == ("void", ["void *"])
    assert protos["gofka_version"] == ("const char *", [])
    assert protos["gofka_pool_id"][1] == ["gofka_handle_t", "uint64_t *", "gofka_error_t *"]


def test_bindings_match_header_prototypes() -> None:
    """Each ctypes signature of _native has the header's return type and
    parameter types, one for one (a wrong or missing argument would pass
    garbage through the ABI without any error: ctypes cannot check it)."""
    mismatched = []
    for name, (ret, params) in sorted(header_prototypes().items()):
        want_args = [_CTYPE_OF[p] for p in params]
        got_ret, got_args = _native.SIGNATURES[name]
        if got_ret is not _CTYPE_OF[ret] or got_args != want_args:
            mismatched.append("%s: header (%s; %s), bindings (%s; %s)" % (name, ret, ", ".join(params), got_ret, got_args))
    assert mismatched == []


def test_error_struct_layout() -> None:
    assert ctypes.sizeof(_native.gofka_error_t) == 1024
    assert _native.gofka_error_t.name.offset == 8
    assert _native.gofka_error_t.message.offset == 72


def test_abi_version() -> None:
    assert _native.lib.gofka_abi_version() == _native.ABI_VERSION == 1
    with open(HEADER) as f:
        m = re.search(r"#define\s+GOFKA_ABI_VERSION\s+(\d+)", f.read())
    assert m and int(m.group(1)) == _native.ABI_VERSION


def test_local_error_codes_match_header() -> None:
    with open(HEADER) as f:
        defines = dict(re.findall(r"#define\s+GOFKA_(ERR_\w+|OK)\s+\(?(-?\d+)\)?", f.read()))
    assert int(defines["OK"]) == _native.OK
    for name, value in defines.items():
        if name != "OK":
            assert getattr(_native, name if name != "ERR_NO_BROKERS" else "ERR_NO_BROKERS") == int(value), name


def test_every_local_code_is_in_header_and_native() -> None:
    """Issue 21: MESSAGE_TOO_LARGE_LOCAL (-110) was a _native constant but
    not in gofka.h. Every client-local code of the library's own table is
    now a GOFKA_ constant of the header and an _native constant with the
    same value (both generated from wire/errors.go)."""
    import json

    with open(HEADER) as f:
        defines = {int(v): n for n, v in re.findall(r"#define\s+GOFKA_(ERR_\w+)\s+\((-\d+)\)", f.read())}
    local = [e for e in json.loads(_native.error_table_json()) if e["code"] <= -100]
    assert len(local) >= 19
    for e in local:
        assert e["code"] in defines, "gofka.h has no GOFKA_ERR_ constant for %d %s" % (e["code"], e["name"])
        assert getattr(_native, defines[e["code"]]) == e["code"], defines[e["code"]]


def test_version_matches_library() -> None:
    assert gofka.__version__ == _native.version() == gofka.library_version()


def _run_import(library: str, code: str = "import gofka; gofka.library_version()") -> "subprocess.CompletedProcess[str]":
    import sys

    env = dict(os.environ)
    env["GOFKA_LIBRARY"] = library
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=60,
    )


def test_missing_library_is_an_import_error(tmp_path: "os.PathLike[str]") -> None:
    # The library loads on first use (here library_version()), not on import.
    proc = _run_import(os.path.join(str(tmp_path), "missing-libgofka.so"))
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "GOFKA_LIBRARY" in proc.stderr


def test_import_does_not_load_the_library(tmp_path: "os.PathLike[str]") -> None:
    # import gofka and the pure-Python helpers work without libgofka: the
    # engine (whose threads do not survive fork) starts on first use.
    # Errors built from a code (here BrokerFailoverManager's last one) use
    # the generated copy of the library's error table.
    code = (
        "import asyncio, builtins\n"
        "import gofka\n"
        "from gofka import _native\n"
        "p = gofka.RetryPolicy(max_retries=2, initial_backoff_ms=1, jitter=False)\n"
        "m = gofka.Message('t', 0, 1, b'v')\n"
        "e = gofka.ProduceError('x')\n"
        "def down(broker):\n"
        "    raise builtins.ConnectionError('refused')\n"
        "fm = gofka.BrokerFailoverManager('a:1,b:2', retry_policy=p)\n"
        "try:\n"
        "    asyncio.run(fm.execute_with_failover(down))\n"
        "except gofka.ConnectionError as exc:\n"
        "    f = exc\n"
        "assert not _native.loaded()\n"
        "print('ok', p.max_retries, m.value, e, f.name, f.retriable)\n"
    )
    proc = _run_import(os.path.join(str(tmp_path), "missing-libgofka.so"), code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", "2", "b'v'", "x", "NO_BROKERS_AVAILABLE", "True"]


@pytest.mark.parametrize("speedups", ["1", "0"], ids=["speedups", "pure-python"])
def test_blocking_clients_do_not_import_asyncio(speedups: str) -> None:
    # asyncio and the ssl module it brings cost a process about 10 MiB of
    # RSS: a program using only the blocking clients does not pay it. The
    # asyncio clients import it on first use, and the retry helpers still
    # tell asyncio's timeout (its own class before Python 3.11) once it is.
    code = (
        "import sys\n"
        "import gofka\n"
        "from gofka.retry import is_connection_error\n"
        "p = gofka.Producer('127.0.0.1:1', linger_ms=0)\n"
        "c = gofka.Consumer('127.0.0.1:1', 'g', ['t'])\n"
        "s = gofka.ShareConsumer('127.0.0.1:1', 'g', ['t'])\n"
        "a = gofka.AdminClient('127.0.0.1:1')\n"
        "pool = gofka.ConnectionPool()\n"
        "r = gofka.RetryPolicy()\n"
        "p.poll(0)\n"
        "for x in (c, s, a, pool):\n"
        "    x.close()\n"
        "p.close(timeout=0)\n"
        "print('blocking', sorted(m for m in ('asyncio', 'ssl') if m in sys.modules))\n"
        "from gofka import AsyncProducer\n"
        "import asyncio\n"
        "print('async', AsyncProducer is gofka.AsyncProducer, 'AsyncConsumer' in dir(gofka),\n"
        "      is_connection_error(asyncio.TimeoutError()))\n"
    )
    env = dict(os.environ)
    env["GOFKA_NO_SPEEDUPS"] = "0" if speedups == "1" else "1"
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    import sys

    proc = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["blocking []", "async True True True"]


def test_generated_error_table_matches_the_library() -> None:
    # gofka/_error_table.py (errordoc -python; Go checks it is fresh) is
    # what the library answers: errors are the same before and after the
    # library is loaded.
    import json

    from gofka._error_table import TABLE_JSON

    assert json.loads(TABLE_JSON) == json.loads(_native.error_table_json())


def test_wrong_abi_version_is_an_import_error(tmp_path: "os.PathLike[str]") -> None:
    # A stub library exporting every function of gofka.h but reporting ABI 2.
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is required for this test"
    src = os.path.join(str(tmp_path), "stub.c")
    lib = os.path.join(str(tmp_path), "libstub.so")
    with open(src, "w") as f:
        f.write("int gofka_abi_version(void) { return 2; }\n")
        for name in sorted(header_functions() - {"gofka_abi_version"}):
            f.write("int %s(void) { return 0; }\n" % name)
    subprocess.run([cc, "-shared", "-fPIC", "-o", lib, src], check=True)
    proc = _run_import(lib)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert "ABI version 2" in proc.stderr
    assert "ABI version 1" in proc.stderr


def test_queue_bindings_round_trip() -> None:
    # The event-queue functions are declared with the right argument types:
    # create, get the fd, drain with no events (timeout 0), close.
    h = _native.gofka_handle_t()
    err = _native.new_error()
    _native.check(_native.lib.gofka_queue_new(ctypes.byref(h), ctypes.byref(err)), err)
    assert h.value != 0
    try:
        fd = ctypes.c_int32(-1)
        _native.check(_native.lib.gofka_queue_fd(h, ctypes.byref(fd), ctypes.byref(err)), err)
        assert fd.value >= 0
        buf = ctypes.c_void_p()
        length = ctypes.c_size_t(123)
        count = ctypes.c_int32(-1)
        code = _native.lib.gofka_queue_drain(
            h, 16, 0, ctypes.byref(buf), ctypes.byref(length), ctypes.byref(count), ctypes.byref(err)
        )
        _native.check(code, err)
        assert count.value == 0
        assert not buf.value
    finally:
        _native.check(_native.lib.gofka_queue_close(h, ctypes.byref(err)), err)
    assert _native.lib.gofka_queue_close(h, ctypes.byref(err)) == _native.ERR_INVALID_HANDLE
