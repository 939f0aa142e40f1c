"""Synchronous producer."""

from __future__ import annotations

from ctypes import byref, c_int64
from typing import Any, List, Mapping, Optional, Union

from . import _native
from ._client import HandleOwner, validate_brokers, validate_client_id, validate_timeout

__all__ = ["Producer", "COMPRESSION_TYPES"]

#: Valid values of ``compression`` (None means "none").
COMPRESSION_TYPES = ("none", "gzip", "snappy", "lz4", "zstd")

_ACKS = {"all": "all", "-1": "-1", "0": "0", "1": "1", -1: "-1", 0: "0", 1: "1"}


class Producer(HandleOwner):
    """A synchronous Kafka producer.

    Each ``send`` blocks until the broker acknowledges the record and returns
    its offset. One producer may be shared by many threads; calls run in
    parallel with the GIL released.

    Args:
        brokers: comma-separated bootstrap brokers, e.g. ``"localhost:9092"``.
        client_id: client identifier sent to the brokers.
        timeout: connection and request timeout in seconds.
        compression: ``None``/``"none"``, ``"gzip"``, ``"snappy"``, ``"lz4"``
            or ``"zstd"`` (keyword-only).
        acks: ``"all"`` (or -1), 1 or 0 (keyword-only). With ``acks=0`` the
            returned offsets are -1.

    The native client is created in the constructor, without network I/O;
    ``connect()`` connects eagerly, otherwise the first send connects.
    """

    _kind = "producer"

    def __init__(
        self,
        brokers: str,
        client_id: str = "gofka-python-producer",
        timeout: int = 30,
        *,
        compression: Optional[str] = None,
        acks: Union[str, int] = "all",
    ) -> None:
        super().__init__()
        self.brokers = validate_brokers(brokers)
        self.client_id = validate_client_id(client_id)
        self.timeout = validate_timeout(timeout)
        if compression is not None and compression not in COMPRESSION_TYPES:
            raise ValueError(
                "compression must be None or one of %s, got %r" % (", ".join(COMPRESSION_TYPES), compression)
            )
        self.compression = compression
        if isinstance(acks, bool) or acks not in _ACKS:
            raise ValueError("acks must be 'all', -1, 0 or 1, got %r" % (acks,))
        self.acks = acks
        self._timeout_ms = max(1, _native.timeout_ms(self.timeout))
        config = _native.encode_config(
            {
                "bootstrap.servers": self.brokers,
                "client.id": self.client_id,
                "connect.timeout.ms": self._timeout_ms,
                "request.timeout.ms": self._timeout_ms,
                "compression.type": compression or "none",
                "acks": _ACKS[acks],
            }
        )
        handle = _native.gofka_handle_t()
        err = _native.new_error()
        _native.check(_native.lib.gofka_producer_new(config, byref(handle), byref(err)), err)
        self._set_handle(handle.value)

    def __repr__(self) -> str:
        return "<gofka.Producer brokers=%r client_id=%r%s>" % (
            self.brokers,
            self.client_id,
            " closed" if self.closed else "",
        )

    def connect(self) -> None:
        """Connects to the cluster now (optional: sends connect on demand).
        Raises gofka.exceptions.ConnectionError when no broker answers within
        ``timeout``."""
        self._call(_native.lib.gofka_producer_connect, self._timeout_ms)

    def send(
        self,
        topic: str,
        message: bytes,
        partition: int = 0,
        *,
        key: Optional[bytes] = None,
        headers: Optional[Mapping[str, Any]] = None,
        timestamp: Optional[float] = None,
    ) -> int:
        """Sends one record and returns its offset once acknowledged.

        Args:
            topic: topic name.
            message: the record value (bytes, bytearray or memoryview).
            partition: the partition (>= 0).
            key: the record key (bytes-like) or None.
            headers: dict of str -> bytes / str / None.
            timestamp: record timestamp in seconds since the epoch; None = now.
        """
        value = _native.as_bytes(message, "message")
        return self._send(topic, value, partition, _native.as_optional_bytes(key, "key"), headers, timestamp)

    def send_string(
        self,
        topic: str,
        message: str,
        partition: int = 0,
        encoding: str = "utf-8",
        *,
        key: Optional[Union[str, bytes]] = None,
        headers: Optional[Mapping[str, Any]] = None,
        timestamp: Optional[float] = None,
    ) -> int:
        """Sends a str encoded with ``encoding``; returns its offset. ``key``
        may be a str (encoded the same way) or bytes."""
        if not isinstance(message, str):
            raise TypeError("message must be str, not %s" % type(message).__name__)
        if isinstance(key, str):
            key_bytes: Optional[bytes] = key.encode(encoding)
        else:
            key_bytes = _native.as_optional_bytes(key, "key")
        return self._send(topic, message.encode(encoding), partition, key_bytes, headers, timestamp)

    def _send(
        self,
        topic: str,
        value: bytes,
        partition: int,
        key: Optional[bytes],
        headers: Optional[Mapping[str, Any]],
        timestamp: Optional[float],
    ) -> int:
        topic_b = _native.encode_topic(topic)
        partition = _native.check_partition(partition)
        packed_headers = _native.pack_headers(headers)
        ts = _native.timestamp_ms(timestamp)
        offset = c_int64(-1)
        self._call(
            _native.lib.gofka_producer_send,
            topic_b,
            partition,
            key,
            -1 if key is None else len(key),
            value,
            len(value),
            packed_headers or None,
            len(packed_headers),
            ts,
            self._timeout_ms,
            byref(offset),
        )
        return offset.value

    def send_batch(self, topic: str, messages: List[bytes], partition: int = 0) -> List[int]:
        """Sends many values to one partition in a single library call and
        returns their offsets, in order. On failure nothing is returned and
        the records may or may not have been written."""
        topic_b = _native.encode_topic(topic)
        partition = _native.check_partition(partition)
        if isinstance(messages, (bytes, bytearray, memoryview, str)):
            raise TypeError("messages must be a list of bytes, not a single %s" % type(messages).__name__)
        try:
            values = list(messages)
        except TypeError:
            raise TypeError("messages must be a list of bytes, not %s" % type(messages).__name__) from None
        if not values:
            return []
        if len(values) > _native.INT32_MAX:
            raise ValueError("too many messages in one batch")
        records = _native.pack_values(values)
        count = len(values)
        offsets = (c_int64 * count)()
        self._call(
            _native.lib.gofka_producer_send_batch,
            topic_b,
            partition,
            records,
            len(records),
            count,
            self._timeout_ms,
            offsets,
        )
        return list(offsets)

    def close(self) -> None:
        """Waits up to ``timeout`` for requests in flight, then closes every
        connection. Idempotent; sends after close raise GofkaError
        (CLIENT_CLOSED)."""
        handle = self._take_handle()
        if handle:
            err = _native.new_error()
            _native.check(_native.lib.gofka_producer_close(handle, self._timeout_ms, byref(err)), err)
