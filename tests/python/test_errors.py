from __future__ import annotations

import builtins
import pickle

import pytest

import gofka
from gofka import exceptions
from gofka.exceptions import (
    AuthenticationError,
    ConnectionError,
    ConsumeError,
    GofkaError,
    GroupCoordinationError,
    MetadataError,
    OffsetError,
    ProduceError,
    error_from_code,
    error_table,
)

LOCAL_CODES = {
    -100: "LOCAL_UNKNOWN",
    -101: "INVALID_ARGUMENT",
    -102: "INVALID_HANDLE",
    -103: "CLIENT_CLOSED",
    -104: "TIMED_OUT",
    -105: "CONNECTION_FAILED",
    -106: "NO_BROKERS_AVAILABLE",
}

CATEGORY_CLASSES = {
    "connection": ConnectionError,
    "produce": ProduceError,
    "consume": ConsumeError,
    "offset": OffsetError,
    "group": GroupCoordinationError,
    "metadata": MetadataError,
    "auth": AuthenticationError,
    "generic": GofkaError,
}


def test_table_loads() -> None:
    table = error_table()
    assert len(table) > 50
    assert table is error_table()  # loaded once
    for code, info in table.items():
        assert info.code == code
        assert info.name and info.name == info.name.upper()
        assert isinstance(info.retriable, bool)
        assert info.category in CATEGORY_CLASSES, info
    names = [info.name for info in table.values()]
    assert len(names) == len(set(names))


def test_local_codes_in_table() -> None:
    table = error_table()
    for code, name in LOCAL_CODES.items():
        assert table[code].name == name


def test_every_category_maps_to_its_class() -> None:
    seen = set()
    for code, info in error_table().items():
        exc = error_from_code(code, "detail")
        assert type(exc) is CATEGORY_CLASSES[info.category], (code, info)
        assert exc.code == code
        assert exc.name == info.name
        assert exc.retriable == info.retriable
        assert exc.description == info.description
        assert exc.broker is None
        seen.add(info.category)
    # The table uses the categories the bindings know about.
    assert {"connection", "produce", "metadata", "generic"} <= seen


def test_known_codes() -> None:
    e = error_from_code(3, "no such topic")
    assert isinstance(e, MetadataError)
    assert e.name == "UNKNOWN_TOPIC_OR_PARTITION"
    assert e.retriable is True
    assert "no such topic" in str(e)

    e = error_from_code(10)
    assert isinstance(e, ProduceError)
    assert e.name == "MESSAGE_TOO_LARGE"
    assert e.retriable is False

    e = error_from_code(-105, "dial tcp 127.0.0.1:1: connection refused")
    assert isinstance(e, ConnectionError)
    assert isinstance(e, builtins.ConnectionError)


def test_hierarchy() -> None:
    assert issubclass(ConnectionError, builtins.ConnectionError)
    assert issubclass(ConnectionError, GofkaError)
    for cls in CATEGORY_CLASSES.values():
        assert issubclass(cls, GofkaError)
        assert issubclass(cls, Exception)
    assert gofka.ConnectionError is ConnectionError
    assert gofka.GofkaError is GofkaError


def test_explicit_name_and_retriable_override() -> None:
    e = error_from_code(3, "m", name="CUSTOM", retriable=False)
    assert e.name == "CUSTOM"
    assert e.retriable is False


def test_unknown_code() -> None:
    e = error_from_code(99999, "what")
    assert type(e) is GofkaError
    assert e.code == 99999
    assert e.name == "UNKNOWN_ERROR_99999"
    assert e.retriable is False


def test_attributes_and_pickle() -> None:
    e = error_from_code(6, "leader moved")
    assert hasattr(e, "code") and hasattr(e, "name") and hasattr(e, "retriable")
    assert hasattr(e, "broker") and hasattr(e, "description")
    clone = pickle.loads(pickle.dumps(e))
    assert type(clone) is type(e)
    assert (clone.code, clone.name, clone.retriable, clone.message) == (e.code, e.name, e.retriable, e.message)


def test_plain_construction() -> None:
    e = GofkaError("boom")
    assert str(e) == "boom"
    assert e.code == 0
    with pytest.raises(GofkaError):
        raise exceptions.ProduceError("x", code=10, name="MESSAGE_TOO_LARGE")


def test_library_error_struct_is_used() -> None:
    # An unknown configuration key is rejected by the library with
    # INVALID_ARGUMENT naming the key (message comes from gofka_error_t).
    from gofka import _native

    handle = _native.gofka_handle_t()
    err = _native.new_error()
    code = _native.lib.gofka_producer_new(
        b"bootstrap.servers=127.0.0.1:1\nno.such.key=1", _native.byref(handle), _native.byref(err)
    )
    assert code == -101
    assert handle.value == 0
    with pytest.raises(GofkaError) as info:
        _native.check(code, err)
    assert info.value.code == -101
    assert info.value.name == "INVALID_ARGUMENT"
    assert "no.such.key" in str(info.value)


def test_invalid_handle_is_an_error_not_a_crash() -> None:
    from gofka import _native

    err = _native.new_error()
    code = _native.lib.gofka_producer_send(
        123456789, b"t", 0, None, -1, b"x", 1, None, 0, -1, 1000, None, _native.byref(err)
    )
    assert code == -102
    assert err.code == -102
    assert err.name == b"INVALID_HANDLE"


def test_str_names_the_error_once() -> None:
    e = error_from_code(-105, "CONNECTION_FAILED: dial tcp 127.0.0.1:1: connection refused")
    assert str(e) == "CONNECTION_FAILED (-105): dial tcp 127.0.0.1:1: connection refused"
    assert str(error_from_code(10, "record of 2 MB")) == "MESSAGE_TOO_LARGE (10): record of 2 MB"
    assert str(error_from_code(10)).startswith("MESSAGE_TOO_LARGE (10): ")  # falls back to the description
