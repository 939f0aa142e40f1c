"""The Message record type.

Its storage comes from the optional C module ``gofka._speedups``
(``MessageFields``), which also builds the messages of a poll at C speed;
without it (no compiler at install time, or ``GOFKA_NO_SPEEDUPS=1``) an
equivalent pure-Python base is used. Both behave the same: seven mutable
attributes, ``headers`` an empty dict when the record has none, and
``header_list``, every header in order (repeated keys included); plus
``delivery_count``, set on a share consumer's messages only (else None).
"""

from __future__ import annotations

import typing  # typing.TYPE_CHECKING: the base class of Message that mypy checks
import os
from typing import Any, Dict, List, Optional, Tuple, Union

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


HeaderList = List[Tuple[str, Optional[bytes]]]


def _pairs_dict(pairs: Any) -> Dict[str, Optional[bytes]]:
    """The dict of a list of (str, value) header tuples (the last value of
    a repeated key wins); TypeError naming a bad item."""
    out: Dict[str, Optional[bytes]] = {}
    for i, item in enumerate(pairs):
        if not isinstance(item, tuple) or len(item) != 2 or not isinstance(item[0], str):
            raise TypeError("header_list[%d] must be a (str, bytes | None) tuple" % i)
        out[item[0]] = item[1]
    return out


class _PyMessageFields(object):
    """Pure-Python storage of Message (used without gofka._speedups); the
    same behaviour as _speedups.MessageFields."""

    __slots__ = ("topic", "partition", "offset", "value", "_headers", "timestamp", "key", "_header_list",
                 "delivery_count")

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        value: Optional[bytes],
        headers: Union[Dict[str, Optional[bytes]], HeaderList, None] = None,
        timestamp: float = 0.0,
        key: Optional[bytes] = None,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.value = value
        self._header_list: Optional[HeaderList] = None
        if isinstance(headers, list):
            self.header_list = headers
        else:
            self._headers = {} if headers is None else headers
        self.timestamp = timestamp
        self.key = key
        self.delivery_count: Optional[int] = None

    @property
    def headers(self) -> Dict[str, Optional[bytes]]:
        return self._headers

    @headers.setter
    def headers(self, value: Dict[str, Optional[bytes]]) -> None:
        self._headers = value
        self._header_list = None  # derived from the new headers again

    @property
    def header_list(self) -> HeaderList:
        if self._header_list is not None:
            return self._header_list
        return list(self._headers.items())

    @header_list.setter
    def header_list(self, value: HeaderList) -> None:
        if not isinstance(value, list):
            raise TypeError("header_list must be a list of (str, bytes | None) tuples")
        self._headers = _pairs_dict(value)
        self._header_list = value


if typing.TYPE_CHECKING:
    # What mypy checks Message against: the C MessageFields has the same
    # attributes and constructor (gofka/_speedups_src/message.c), but no stub.
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
        headers: dict of header name -> bytes (or None); a name that
            repeats (Kafka allows it) keeps its last value here.
        header_list: every header in record order, repeats included, as a
            list of (name, bytes or None) tuples. Setting it sets
            ``headers`` too; setting ``headers`` makes ``header_list``
            follow it. The constructor's ``headers`` may be such a list.
        timestamp: record timestamp, seconds since the epoch (from the record).
        key: record key, or None.
        delivery_count: how many times a share consumer's record was
            delivered, this delivery included (1 the first time; see
            gofka.ShareConsumer); None for every other message.
    """

    # The storage is the base class's; adding none keeps the C builder valid.
    __slots__ = ()

    topic: str
    partition: int
    offset: int
    value: Optional[bytes]
    headers: Dict[str, Optional[bytes]]
    header_list: HeaderList
    timestamp: float
    key: Optional[bytes]
    delivery_count: Optional[int]

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
            hl = self.header_list
            parts.append("headers=%r" % (hl if len(hl) != len(self.headers) else self.headers,))
        parts.append("timestamp=%r" % (self.timestamp,))
        if self.delivery_count is not None:
            parts.append("delivery_count=%r" % (self.delivery_count,))
        return "Message(%s)" % ", ".join(parts)

    def _fields(self) -> Any:
        return (self.topic, self.partition, self.offset, self.key, self.value, self.headers, self.header_list,
                self.timestamp)

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
        hl = self.header_list
        headers = hl if len(hl) != len(self.headers) else self.headers  # repeats travel as the list
        args = (self.topic, self.partition, self.offset, self.value, headers, self.timestamp, self.key)
        if self.delivery_count is None:
            return (Message, args)
        # The constructor does not take it: pickle sets it after (slot state).
        return (Message, args, (None, {"delivery_count": self.delivery_count}))


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
