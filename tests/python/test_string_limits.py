"""Issue 19 item 10: strings the engine sends as Kafka STRINGs (int16
length) longer than 32,767 bytes are refused up front (Python: ValueError
naming the argument; C: GOFKA_ERR_INVALID_ARGUMENT and a message), where a
40,000-byte client_id used to wrap the length into a malformed header
(TIMED_OUT for a producer, an empty poll forever for a consumer)."""

from __future__ import annotations

import time
from ctypes import byref
from typing import Any, Callable, Dict

import pytest

import gofka
from gofka import _native

LONG = "x" * 32768
LIMIT = "x" * 32767
LONG_UTF8 = "\u00e9" * 16384  # 16,384 characters, 32,768 bytes


def _kinds(brokers: str, **kw: Any) -> Dict[str, Callable[[], Any]]:
    return {
        "Producer": lambda: gofka.Producer(brokers, **kw),
        "AsyncProducer": lambda: gofka.AsyncProducer(brokers, **kw),
        "Consumer": lambda: gofka.Consumer(brokers, group_id=kw.pop("group_id", "g"), topics=["t"], **kw),
        "AsyncConsumer": lambda: gofka.AsyncConsumer(brokers, group_id=kw.pop("group_id", "g"), topics=["t"], **kw),
        "AdminClient": lambda: gofka.AdminClient(brokers, **kw),
        "AsyncAdminClient": lambda: gofka.AsyncAdminClient(brokers, **kw),
    }


@pytest.mark.parametrize("value", [LONG, LONG_UTF8])
def test_long_client_id_is_a_value_error_for_every_client(brokers: str, value: str) -> None:
    for kind, make in _kinds(brokers, client_id=value).items():
        start = time.monotonic()
        with pytest.raises(ValueError, match="client_id is 32768 bytes"):
            make()
        assert time.monotonic() - start < 5, kind


@pytest.mark.parametrize("arg", ["group_id", "group_instance_id", "client_rack"])
def test_long_consumer_strings_are_value_errors(brokers: str, arg: str) -> None:
    kw: Dict[str, Any] = {"group_id": "g", arg: LONG}
    for make in (gofka.Consumer, gofka.AsyncConsumer):
        with pytest.raises(ValueError, match="%s is 32768 bytes" % arg):
            make(brokers, topics=["t"], **kw)


def test_strings_at_the_limit_are_accepted(brokers: str) -> None:
    with gofka.Producer(brokers, client_id=LIMIT, timeout=10) as p:
        assert p.send("gofka-limit-%d" % time.monotonic_ns(), b"v") == 0


def test_long_group_name_in_admin_calls(brokers: str) -> None:
    with gofka.AdminClient(brokers, timeout=10) as admin:
        with pytest.raises(ValueError, match="group_id is 32768 bytes"):
            admin.describe_consumer_group(LONG)
        with pytest.raises(ValueError, match="group_id is 32768 bytes"):
            admin.delete_consumer_group(LONG)


def test_c_abi_refuses_long_config_strings(brokers: str) -> None:
    for new in (_native.lib.gofka_producer_new, _native.lib.gofka_consumer_new, _native.lib.gofka_admin_new):
        for key in ("client.id", "group.id", "group.instance.id", "client.rack"):
            handle = _native.gofka_handle_t()
            err = _native.new_error()
            config = ("bootstrap.servers=%s\ngroup.id=g\n%s=%s" % (brokers.split(",")[0], key, LONG)).encode()
            code = new(config, byref(handle), byref(err))
            assert code == _native.ERR_INVALID_ARGUMENT, (key, code)
            assert err.name == b"INVALID_ARGUMENT"
            assert key.encode() in err.message and b"32767" in err.message
