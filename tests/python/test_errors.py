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
    TransactionAbortableError,
    TransactionFatalError,
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
    -119: "TXN_ABORTABLE",
    -120: "TXN_FATAL",
}

CATEGORY_CLASSES = {
    "connection": ConnectionError,
    "produce": ProduceError,
    "consume": ConsumeError,
    "offset": OffsetError,
    "group": GroupCoordinationError,
    "metadata": MetadataError,
    "auth": AuthenticationError,
    "transaction_abortable": TransactionAbortableError,
    "transaction_fatal": TransactionFatalError,
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
    assert {"connection", "produce", "metadata", "generic", "transaction_abortable", "transaction_fatal"} <= seen


def test_transaction_errors_are_produce_errors() -> None:
    # A transactional producer's two kinds of error (TXN_ABORTABLE: abort
    # and go on; TXN_FATAL: close) are ProduceErrors, told apart by class.
    abortable = error_from_code(-119, "abortable transaction error (abort the transaction): x")
    fatal = error_from_code(-120, "fatal transactional producer error (close the producer): PRODUCER_FENCED")
    assert type(abortable) is TransactionAbortableError and isinstance(abortable, ProduceError)
    assert type(fatal) is TransactionFatalError and isinstance(fatal, ProduceError)
    assert not abortable.retriable and not fatal.retriable
    assert gofka.TransactionAbortableError is TransactionAbortableError
    assert gofka.TransactionFatalError is TransactionFatalError


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


# --- the documented table, the broker field ---------------------------------

import ctypes  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402

DOCS_ERRORS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "errors.md")


def _docs_rows():  # type: ignore[no-untyped-def]
    rows = {}
    with open(DOCS_ERRORS) as f:
        for line in f:
            m = re.match(r"^\| (-?\d+) \| `([A-Z0-9_]+)` \| (yes|no) \| (\w+) \| `(\w+)` \|", line)
            if m:
                rows[int(m.group(1))] = (m.group(2), m.group(3) == "yes", m.group(4), m.group(5))
    return rows


def test_docs_errors_md_matches_the_table_and_the_classes() -> None:
    # docs/errors.md is generated (go run ./wire/cmd/errordoc); the Go test
    # wire/cmd/errordoc fails when it is stale, this one when the Python
    # class column disagrees with the classes Python really raises.
    rows = _docs_rows()
    table = error_table()
    assert set(rows) == set(table), "docs/errors.md is stale: regenerate it"
    for code, info in table.items():
        name, retriable, category, cls_name = rows[code]
        assert (name, retriable, category) == (info.name, info.retriable, info.category), code
        exc = error_from_code(code)
        assert type(exc).__name__ == cls_name, (code, name)
        assert getattr(exceptions, cls_name) is type(exc)
        assert cls_name in exceptions.__all__


def test_error_struct_layout_and_broker() -> None:
    from gofka import _native

    assert ctypes.sizeof(_native.gofka_error_t) == 1024
    err = _native.new_error()
    err.code = 6
    err.retriable = 1
    err.name = b"NOT_LEADER_OR_FOLLOWER"
    err.message = b"leader moved"
    err.broker = b"10.1.2.3:9092"
    e = _native.make_error(6, err)
    assert isinstance(e, MetadataError)
    assert e.broker == "10.1.2.3:9092"
    err.broker = b""
    assert _native.make_error(6, err).broker is None


def test_async_error_event_carries_broker() -> None:
    from gofka._bridge import Event

    e = Event(1, 3, -1, -1, b"UNKNOWN_TOPIC_OR_PARTITION: x (broker h:1)\x00h:1").error()
    assert isinstance(e, MetadataError)
    assert e.broker == "h:1" and "\x00" not in e.message
    assert Event(1, -105, -1, -1, b"refused").error().broker is None


def test_library_error_names_the_broker() -> None:
    # A refused connection names the broker it tried.
    from gofka import _native

    handle = _native.gofka_handle_t()
    err = _native.new_error()
    _native.check(_native.lib.gofka_pool_new(b"connections.max=1\nconnect.timeout.ms=2000", _native.byref(handle), _native.byref(err)), err)
    try:
        with pytest.raises(ConnectionError) as info:
            _native.call_returning_buffer(
                _native.lib.gofka_pool_call, handle.value, b"get", b'{"host": "127.0.0.1", "port": 1}', 2000
            )
        assert info.value.broker == "127.0.0.1:1"
        assert info.value.retriable is True
    finally:
        _native.lib.gofka_pool_close(handle.value, _native.byref(err))


def test_class_for_code() -> None:
    from gofka.exceptions import class_for_code

    assert class_for_code(3) is MetadataError
    assert class_for_code(-105) is ConnectionError
    assert class_for_code(25) is GroupCoordinationError  # UNKNOWN_MEMBER_ID
    assert class_for_code(123456) is GofkaError
    for code in error_table():
        assert type(error_from_code(code)) is class_for_code(code)
