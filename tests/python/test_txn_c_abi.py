"""The C ABI creates transactional producers (transactional.id) and drives
their transactions (include/gofka.h, "Transactions"): it used to refuse
transactional.id with INVALID_ARGUMENT while it had no calls for them.
The Python API on top is tested in test_transactions.py, the C calls
themselves in tests/c/test_txn.c."""

from __future__ import annotations

import ctypes
import uuid

from gofka import _native

NOWHERE = "127.0.0.1:9"  # discard port: never dialled


def new_producer(config: dict) -> int:
    handle = _native.gofka_handle_t()
    err = _native.new_error()
    code = _native.lib.gofka_producer_new(_native.encode_config(config), ctypes.byref(handle), ctypes.byref(err))
    assert code == 0, str(_native.make_error(code, err))
    assert handle.value != 0
    return handle.value


def call(fn: object, *args: object) -> tuple:
    err = _native.new_error()
    code = fn(*args, ctypes.byref(err))  # type: ignore[operator]
    return code, err.name.decode(), err.message.decode()


def test_transactional_producer_is_created_and_runs_a_transaction(brokers: str) -> None:
    topic = "gofka-txncabi-" + uuid.uuid4().hex[:10]
    h = new_producer({"bootstrap.servers": brokers, "transactional.id": "tx-" + topic,
                      "transaction.timeout.ms": "30000"})
    lib = _native.lib
    try:
        # Calls out of order are refused by the engine's state machine.
        assert call(lib.gofka_producer_begin_transaction, h)[:2] == (48, "INVALID_TXN_STATE")
        assert call(lib.gofka_producer_init_transactions, h, 30000)[0] == 0
        assert call(lib.gofka_producer_begin_transaction, h)[0] == 0
        offset = ctypes.c_int64(-2)
        code, name, message = call(lib.gofka_producer_send, h, topic.encode(), 0, None, -1, b"v", 1, None, 0, -1,
                                   15000, ctypes.byref(offset))
        assert code == 0, (name, message)
        assert offset.value == 0
        assert call(lib.gofka_producer_commit_transaction, h, 30000)[0] == 0
        # No transaction open any more.
        code, name, _ = call(lib.gofka_producer_send, h, topic.encode(), 0, None, -1, b"v", 1, None, 0, -1, 15000,
                             None)
        assert (code, name) == (48, "INVALID_TXN_STATE")
    finally:
        assert call(lib.gofka_producer_close, h, 5000)[0] == 0


def test_producer_without_transactional_id_has_no_transactions() -> None:
    h = new_producer({"bootstrap.servers": NOWHERE, "transaction.timeout.ms": "5000"})
    try:
        code, name, message = call(_native.lib.gofka_producer_init_transactions, h, 1000)
        assert (code, name) == (-101, "INVALID_ARGUMENT") and "transactional.id" in message
    finally:
        _native.lib.gofka_producer_close(h, 1000, None)
