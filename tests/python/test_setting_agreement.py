"""Python and the C ABI accept the same settings: for each (setting, bad
value) below, the Python keyword raises ValueError and the C ABI, given
the same value as a property, returns INVALID_ARGUMENT (core's property
table and record checks decide; Python's checks agree with them). Also the
valid spellings pass both. No broker is dialled: creation does no I/O and
the record check runs before any.
"""

from __future__ import annotations

import ctypes
from typing import Any, Dict

import pytest

import gofka
from gofka import _native

NOWHERE = "127.0.0.1:9"  # discard port: never dialled


def _c_producer(props: Dict[str, Any]) -> "tuple[int, int, str]":
    """gofka_producer_new over bootstrap.servers=NOWHERE plus props:
    (code, handle, message)."""
    config = dict({"bootstrap.servers": NOWHERE}, **props)
    handle = _native.gofka_handle_t()
    err = _native.new_error()
    code = _native.lib.gofka_producer_new(_native.encode_config(config), ctypes.byref(handle), ctypes.byref(err))
    message = str(_native.make_error(code, err)) if code else ""
    return code, handle.value, message


# (Python keyword, value, property, property text)
BAD_SETTINGS = [
    ("compression", "GZIP", "compression.type", "GZIP"),  # Kafka's validator is case-sensitive
    ("compression", "Lz4", "compression.type", "Lz4"),
    ("compression", "brotli", "compression.type", "brotli"),
    ("max_in_flight", 0, "max.in.flight.requests.per.connection", "0"),
    ("max_in_flight", 1001, "max.in.flight.requests.per.connection", "1001"),
    ("linger_ms", -1, "linger.ms", "-1"),
    ("acks", 2, "acks", "2"),
    ("acks", "ALL", "acks", "ALL"),
]


@pytest.mark.parametrize("kw,value,prop,text", BAD_SETTINGS, ids=["%s=%s" % (b[2], b[3]) for b in BAD_SETTINGS])
def test_python_and_c_refuse_the_same_setting(kw: str, value: Any, prop: str, text: str) -> None:
    extra: Dict[str, Any] = {"enable_idempotence": False} if kw == "max_in_flight" else {}
    with pytest.raises(ValueError):
        gofka.Producer(NOWHERE, **{kw: value}, **extra)
    props = {prop: text}
    if kw == "max_in_flight":
        props["enable.idempotence"] = "false"
    code, handle, message = _c_producer(props)
    if code == _native.OK:
        _native.lib.gofka_producer_close(handle, 0, ctypes.byref(_native.new_error()))
    assert code == _native.ERR_INVALID_ARGUMENT, (code, message)
    assert prop in message


@pytest.mark.parametrize("value", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_python_and_c_accept_lower_case_codecs(value: str) -> None:
    gofka.Producer(NOWHERE, compression=value).close(timeout=0)
    code, handle, message = _c_producer({"compression.type": value})
    assert code == _native.OK, message
    _native.lib.gofka_producer_close(handle, 0, ctypes.byref(_native.new_error()))


@pytest.mark.parametrize("ts_ms", [-5, -2, -(2 ** 63)])
def test_negative_timestamp_is_refused_by_python_and_c(ts_ms: int) -> None:
    with gofka.Producer(NOWHERE) as p:
        with pytest.raises(ValueError):
            p.produce("t", b"v", timestamp=ts_ms / 1000)
        err = _native.new_error()
        value = b"v"
        code = _native.lib.gofka_producer_produce(
            p._get(), 0, 0, b"t", 0, None, -1, value, len(value), None, 0, ts_ms, ctypes.byref(err))
        assert code == _native.ERR_INVALID_ARGUMENT, _native.make_error(code, err)
        assert "timestamp" in str(_native.make_error(code, err))
