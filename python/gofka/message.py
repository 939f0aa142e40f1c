"""The Message record type.

Its storage comes from the optional C module ``gofka._speedups``
(``MessageFields``), which also builds the messages of a poll at C speed;
without it (no compiler at install time, or ``GOFKA_NO_SPEEDUPS=1``) an
equivalent pure-Python base is used. Both behave the same: seven mutable
attributes, ``headers`` an empty dict when the record has none.
"""

from __future__ import annotations

import typing  # typing.TYPE_CHECKING: the base class of Message that mypy checks
import os
from typing import Any, Dict, Optional

__all__ = ["Message"]

_REPR_BYTES = 40

# gofka._speedups, or None when pure Python is in use.
speedups: Any = None
if os.environ.get("GOFKA_NO_SPEEDUPS", "") in ("", "0"):
    try:
        # A C extension that mypy cannot see (no stub): typed Any above.
        from . import _speedups as speedups  # type: ignore[attr-defined,no-redef]
    except ImportError:  # not built (no C compiler at install time)
        speedups = None


class _PyMessageFields(object):
    """Pure-Python storage of Message (used without gofka._speedups)."""

    __slots__ = ("topic", "partition", "offset", "value", "headers", "timestamp", "key")

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: Optional[bytes],
        headers: Optional[Dict[str, Optional[bytes]]] = None,
        timestamp: float = 0.0,
        key: Optional[bytes] = None,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.value = value
        self.headers = {} if headers is None else headers
        self.timestamp = timestamp
        self.key = key


if typing.TYPE_CHECKING:
    # What mypy checks Message against: the C MessageFields has the same
    # attributes and constructor (gofka/_speedups.c), but no stub.
    _MessageFields = _PyMessageFields
else:
    _MessageFields = speedups.MessageFields if speedups is not None else _PyMessageFields


def _short(data: Optional[bytes]) -> str:
    if data is None:
        return "None"
    if len(data) <= _REPR_BYTES:
        return repr(data)
    return "%r...(%d bytes)" % (bytes(data[:_REPR_BYTES]), len(data))


class Message(_MessageFields):
    """One Kafka record: ``Message(topic, partition, offset, value,
    headers=None, timestamp=0.0, key=None)``.

    Attributes:
        topic: topic name.
        partition: partition number.
        offset: offset of the record in its partition.
        value: record value (None for a null value / tombstone).
        headers: dict of header name -> bytes (or None).
        timestamp: record timestamp, seconds since the epoch (from the record).
        key: record key, or None.
    """

    # The storage is the base class's; adding none keeps the C builder valid.
    __slots__ = ()

    topic: str
    partition: int
    offset: int
    value: Optional[bytes]
    headers: Dict[str, Optional[bytes]]
    timestamp: float
    key: Optional[bytes]

    def __repr__(self) -> str:
        parts = [
            "topic=%r" % (self.topic,),
            "partition=%r" % (self.partition,),
            "offset=%r" % (self.offset,),
        ]
        if self.key is not None:
            parts.append("key=%s" % _short(self.key))
        parts.append("value=%s" % _short(self.value))
        if self.headers:
            parts.append("headers=%r" % (self.headers,))
        parts.append("timestamp=%r" % (self.timestamp,))
        return "Message(%s)" % ", ".join(parts)

    def _fields(self) -> Any:
        return (self.topic, self.partition, self.offset, self.key, self.value, self.headers, self.timestamp)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return bool(self._fields() == other._fields())  # a tuple comparison

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __reduce__(self) -> Any:
        # pickle and copy: the C storage has no __slots__ for copyreg to see.
        return (Message, (self.topic, self.partition, self.offset, self.value, self.headers, self.timestamp, self.key))


if speedups is not None:
    speedups.set_message_class(Message)


def bind_library(cdll: Any) -> None:
    """Hands the C speedups the library functions that speedups.send_wait
    (Producer.send) and speedups.consumer_poll (Consumer.poll) call without
    ctypes. Called by _native.load when it loads the library (on first
    use, not at import; a forked child unbinds them)."""
    if speedups is not None:
        import ctypes

        speedups.bind_library(*(ctypes.cast(f, ctypes.c_void_p).value for f in (
            cdll.gofka_producer_produce_wait, cdll.gofka_queue_drain, cdll.gofka_free,
            cdll.gofka_consumer_poll)))
