"""Transactions exist in the Go engine only (docs/transactions.md): the C
ABI refuses transactional.id with INVALID_ARGUMENT rather than creating a
producer that could never produce (it would need InitTransactions and
BeginTransaction, which the C ABI does not have yet)."""

from __future__ import annotations

import ctypes

from gofka import _native

NOWHERE = "127.0.0.1:9"  # discard port: never dialled


def test_transactional_id_is_refused_by_the_c_abi() -> None:
    handle = _native.gofka_handle_t()
    err = _native.new_error()
    config = _native.encode_config({"bootstrap.servers": NOWHERE, "transactional.id": "tx-1"})
    code = _native.lib.gofka_producer_new(config, ctypes.byref(handle), ctypes.byref(err))
    message = str(_native.make_error(code, err)) if code else ""
    assert code == -101, message  # INVALID_ARGUMENT
    assert "transactional.id" in message and "not available through the C ABI" in message
    assert handle.value == 0


def test_producer_without_transactional_id_is_created() -> None:
    handle = _native.gofka_handle_t()
    err = _native.new_error()
    config = _native.encode_config({"bootstrap.servers": NOWHERE, "transaction.timeout.ms": "5000"})
    code = _native.lib.gofka_producer_new(config, ctypes.byref(handle), ctypes.byref(err))
    assert code == 0, str(_native.make_error(code, err))
    _native.lib.gofka_producer_close(handle.value, 1000, None)
