"""The Message record type."""

from __future__ import annotations

from typing import Any, Dict, Optional

__all__ = ["Message"]

_REPR_BYTES = 40


def _short(data: Optional[bytes]) -> str:
    if data is None:
        return "None"
    if len(data) <= _REPR_BYTES:
        return repr(data)
    return "%r...(%d bytes)" % (bytes(data[:_REPR_BYTES]), len(data))


class Message(object):
    """One Kafka record.

    Attributes:
        topic: topic name.
        partition: partition number.
        offset: offset of the record in its partition.
        value: record value (None for a null value / tombstone).
        headers: dict of header name -> bytes (or None).
        timestamp: record timestamp, seconds since the epoch (from the record).
        key: record key, or None.
    """

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
        return self._fields() == other._fields()

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]  # mutable
