"""send_batch's per-record arguments (keys, headers, timestamp) and its
messages, on Producer and AsyncProducer: a dict, a set or any other
non-sequence collection is a TypeError naming the argument (a dict's keys or
a set's arbitrary order would silently pair the wrong items), and a list of
the wrong length is a ValueError naming it. The checks run before any I/O,
so the producer's address is never dialled.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict

import pytest

import gofka

NOWHERE = "127.0.0.1:9"  # discard port: never dialled by these tests
VALUES = [b"a", b"b"]


def _gen(items: Any) -> Any:
    return (x for x in items)


def _sync(**kwargs: Any) -> Any:
    with gofka.Producer(NOWHERE) as p:
        return p.send_batch("t", kwargs.pop("messages", VALUES), **kwargs)


def _async(**kwargs: Any) -> Any:
    async def main() -> Any:
        p = gofka.AsyncProducer(NOWHERE)
        try:
            return await p.send_batch("t", kwargs.pop("messages", VALUES), **kwargs)
        finally:
            await p.close(timeout=0)

    return asyncio.run(main())


SENDERS: Dict[str, Callable[..., Any]] = {"Producer": _sync, "AsyncProducer": _async}

# (argument, bad value): unordered or one-shot collections.
NON_SEQUENCES = [
    ("keys", {b"k1": 1, b"k2": 2}),
    ("keys", {b"k1", b"k2"}),
    ("keys", _gen([b"k1", b"k2"])),
    ("headers", {frozenset({("h", b"1")}), frozenset({("h", b"2")})}),
    ("headers", _gen([{"h": b"1"}, {"h": b"2"}])),
    ("timestamp", {1.0: 0, 2.0: 0}),
    ("timestamp", {1.0, 2.0}),
    ("timestamp", _gen([1.0, 2.0])),
    ("messages", {b"a": b"x", b"b": b"y"}),
    ("messages", {b"a", b"b"}),
]


@pytest.mark.parametrize("sender", sorted(SENDERS))
@pytest.mark.parametrize("arg,value", NON_SEQUENCES,
                         ids=["%s=%s" % (a, type(v).__name__) for a, v in NON_SEQUENCES])
def test_non_sequence_is_a_type_error_naming_it(sender: str, arg: str, value: Any) -> None:
    kwargs = {arg: value}
    if arg == "messages":
        kwargs["keys"] = [b"k1", b"k2"]  # the records path as well as the plain one is covered below
    with pytest.raises(TypeError) as info:
        SENDERS[sender](**kwargs)
    assert arg in str(info.value), str(info.value)


@pytest.mark.parametrize("sender", sorted(SENDERS))
@pytest.mark.parametrize("value", [{b"a": b"x"}, {b"a"}], ids=["dict", "set"])
def test_messages_dict_or_set_without_other_arguments(sender: str, value: Any) -> None:
    with pytest.raises(TypeError) as info:
        SENDERS[sender](messages=value)
    assert "messages" in str(info.value)


@pytest.mark.parametrize("sender", sorted(SENDERS))
@pytest.mark.parametrize("arg,value", [
    ("keys", [b"k1"]),
    ("headers", [{"h": b"1"}, {"h": b"2"}, {"h": b"3"}]),
    ("timestamp", [1.0]),
], ids=["keys", "headers", "timestamp"])
def test_length_mismatch_is_a_value_error_naming_it(sender: str, arg: str, value: Any) -> None:
    with pytest.raises(ValueError) as info:
        SENDERS[sender](**{arg: value})
    assert arg in str(info.value), str(info.value)
