"""Asynchronous producer (asyncio; works on the stock loop and on uvloop).

Sends are coalesced: every ``send`` made in one turn of the event loop is
packed, per topic and partition, into one ``gofka_producer_produce_batch``
call (one library crossing for many records), and each batch's single
completion event arrives through the AsyncBridge (the queue's file
descriptor is watched with ``loop.add_reader``). So many concurrent sends
pipeline into few requests, nothing blocks the loop, and no Python code runs
on a library thread. The order of sends to one partition is kept.
"""

from __future__ import annotations

import asyncio
import ctypes
import struct
import time
import weakref
from collections import deque
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Sequence, Tuple, Union

from . import _native
from ._bridge import AsyncBridge, Event
from .exceptions import GofkaError, error_from_code
from .message import speedups as _speedups
from .producer import (
    PARTITION_DEFAULT,
    REC_OVERHEAD,
    Headers,
    ProducerOptions,
    batch_offsets,
    batch_records,
    check_custom_partition,
    chunk_records,
    columnar,
    columnar_chunks,
    new_producer_handle,
    optional_value,
    pack_pending,
    pack_record_list,
    parse_batch_results,
    partition_runs,
    produce_values,
    resolve_partition,
    security_options,
)

__all__ = ["AsyncProducer"]

_RESULT = struct.Struct("<iiq")  # per-record result of a batch event (gofka.h)
_RESULT_SIZE = _RESULT.size
_RESULT_ITER = _RESULT.iter_unpack

# Records and bytes per library call of coalesced sends: large enough to
# cross the boundary rarely, small enough that the engine starts sending the
# first unit while Python packs the next, and that the sends of one loop
# turn complete (and their awaiters resume) unit by unit rather than all
# at once. A turn that has buffered _CHUNK_RECORDS sends packs them at once
# (the engine then sends while the loop is still busy).
_CHUNK_RECORDS = 2048
_CHUNK_BYTES = 256 << 10
# The running loop or None (asyncio.get_running_loop raises instead).
_running_loop = asyncio._get_running_loop
# Seconds between retries of a batch refused because buffer.memory is full
# while none of this producer's batches is in flight to free room.
_FULL_RETRY = 0.005
# Partition counts for a custom partitioner are re-read after this long.
_PARTITION_COUNT_TTL = 30.0


class _PyAsyncSends(object):
    """Pure-Python AsyncSends (gofka._speedups has the C one, which also
    has a ``send`` fast path; see _speedups.c): the sends of the current
    loop turn, not yet packed, as (topic, partition, key, value,
    timestamp_ms, headers, size, future), and whether ``pack`` is
    scheduled."""

    __slots__ = ("buffer", "scheduled", "closed", "partitioner")

    def __init__(self, owner: Any, topics: Dict[str, bytes], slow_send: Any, default_partition: Any,
                 pack: Callable[[], None], partitioner: bool, push_records: int) -> None:
        self.buffer: List[Tuple[bytes, int, Optional[bytes], Optional[bytes], int, bytes, int, "asyncio.Future[int]"]] = []
        self.scheduled = False
        self.closed = False
        self.partitioner = partitioner

    def bind(self, loop: Any) -> None:
        pass  # only the C fast path serves one loop

    def take(self) -> List[Any]:
        buf, self.buffer = self.buffer, []
        self.scheduled = False
        return buf


_AsyncSends: Any = _speedups.AsyncSends if _speedups is not None else _PyAsyncSends


def _pack_later(producer: "AsyncProducer") -> Callable[[], None]:
    """The callback scheduled once per loop turn to pack its sends; holds
    the producer weakly (AsyncSends keeps it)."""
    ref = weakref.ref(producer)

    def pack() -> None:
        p = ref()
        if p is not None:
            p._pack()

    return pack


class _Unit(object):
    """One library call: records for one topic-partition, packed (gofka.h
    records format) or columnar (int32 lengths, values joined: values-only
    records), and what to do with their results."""

    __slots__ = ("topic", "partition", "packed", "count", "deliver", "since", "columnar")

    def __init__(self, topic: bytes, partition: int, packed: bytes, count: int,
                 deliver: Callable[[Optional[BaseException], Optional[Event]], None],
                 columnar: Any = None) -> None:
        self.topic = topic
        self.partition = partition
        self.packed = packed  # b"" when columnar
        self.count = count
        self.deliver = deliver
        self.since = 0.0
        self.columnar = columnar


class AsyncProducer(object):
    """An asyncio Kafka producer.

    Args:
        brokers: comma-separated bootstrap brokers.
        client_id: client identifier sent to the brokers.
        timeout: connection and request timeout in seconds; ``flush``,
            ``close`` and waits for buffer room are bounded by it.
        use_ssl: connect over TLS (security.protocol SSL; with a SASL
            mechanism, SASL_SSL).
        compression: 'gzip', 'snappy', 'lz4', 'zstd' or None (per batch).
        batch_size: maximum bytes of one record batch.
        linger_ms: how long a batch that is not full waits for more records.
        max_in_flight: produce requests in flight per broker (at most 5
            with idempotence, the default).
        partitioner: ``partitioner(key, num_partitions, topic) -> int``,
            called in the event loop's thread for sends that do not pass
            ``partition`` (its exceptions propagate to the caller).

    Keyword-only: acks, enable_idempotence, retry_policy,
    delivery_timeout_ms, buffer_memory, max_request_size,
    allow_auto_create_topics, connection_pool and the TLS/SASL options, as
    for :class:`gofka.Producer`.

    Partitioning of ``send``: an explicit ``partition`` is used as is;
    ``partition=None`` lets the engine choose (murmur2 of the key as the
    Java client does, the sticky partitioner without a key). When
    ``partition`` is not passed: the custom ``partitioner`` decides if there
    is one, else the engine's partitioner for keyed records, else partition
    0 (the documented default).

    The native client is created in the constructor (no network I/O). The
    producer may be used from one event loop at a time; ``async with``
    connects on entry and closes (flushing) on exit.
    """

    def __init__(
        self,
        brokers: str,
        client_id: str = "gofka-python-async-producer",
        timeout: int = 30,
        use_ssl: bool = False,
        compression: Optional[str] = None,
        batch_size: int = 16384,
        linger_ms: int = 0,
        max_in_flight: int = 5,
        partitioner: Optional[Callable[[Optional[bytes], int, str], int]] = None,
        *,
        acks: Union[str, int] = "all",
        enable_idempotence: Optional[bool] = None,
        retry_policy: Any = None,
        delivery_timeout_ms: Optional[int] = None,
        buffer_memory: Optional[int] = None,
        max_request_size: Optional[int] = None,
        allow_auto_create_topics: Optional[bool] = None,
        connection_pool: Any = None,
        ssl_cafile: Optional[str] = None,
        ssl_certfile: Optional[str] = None,
        ssl_keyfile: Optional[str] = None,
        ssl_password: Optional[str] = None,
        ssl_check_hostname: bool = True,
        security_protocol: Optional[str] = None,
        sasl_mechanism: Optional[str] = None,
        sasl_username: Optional[str] = None,
        sasl_password: Optional[str] = None,
        sasl_oauth_token_provider: Any = None,
    ) -> None:
        self._handle = 0
        if partitioner is not None and not callable(partitioner):
            raise TypeError("partitioner must be callable, not %s" % type(partitioner).__name__)
        self._security = security_options(
            use_ssl, ssl_cafile, ssl_certfile, ssl_keyfile, ssl_password, ssl_check_hostname,
            security_protocol, sasl_mechanism, sasl_username, sasl_password, sasl_oauth_token_provider,
        )
        opts = ProducerOptions(
            brokers, client_id, timeout, compression=compression, acks=acks, batch_size=batch_size,
            linger_ms=linger_ms, max_in_flight=max_in_flight, enable_idempotence=enable_idempotence,
            retry_policy=retry_policy, delivery_timeout_ms=delivery_timeout_ms, buffer_memory=buffer_memory,
            max_request_size=max_request_size, allow_auto_create_topics=allow_auto_create_topics,
            connection_pool=connection_pool, security=self._security,
        )
        self._opts = opts
        self.brokers = opts.brokers
        self.client_id = opts.client_id
        self.timeout = opts.timeout
        self.use_ssl = use_ssl
        self.security_protocol = self._security.security_protocol
        self.compression = compression
        self.batch_size = batch_size
        self.linger_ms = linger_ms
        self.max_in_flight = max_in_flight
        self._partitioner = partitioner
        self.acks = acks
        self._timeout_ms = opts.timeout_ms
        self._bridge: Optional[AsyncBridge] = None
        self._waiting: Deque[_Unit] = deque()  # units refused for lack of buffer room, in order
        self._retry_handle: Optional[asyncio.TimerHandle] = None
        self._inflight: "set[asyncio.Future[Event]]" = set()
        self._counts: Dict[str, Tuple[int, float]] = {}
        self._topics: Dict[str, bytes] = {}
        # The sends of the current loop turn; with the C speedups also the
        # fast path of send (an instance attribute, unless a subclass
        # overrides send), which falls back to AsyncProducer.send.
        self._sends = _AsyncSends(self, self._topics, AsyncProducer.send, PARTITION_DEFAULT,
                                  _pack_later(self), partitioner is not None, _CHUNK_RECORDS)
        if _speedups is not None and type(self).send is AsyncProducer.send:
            self.send = self._sends.send  # type: ignore[method-assign]
        self._closing = False
        self._handle = new_producer_handle(opts)
        self._security.attach(self)

    def __repr__(self) -> str:
        return "<gofka.AsyncProducer brokers=%r client_id=%r%s>" % (
            self.brokers, self.client_id, " closed" if self.closed else "")

    @property
    def partitioner(self) -> Optional[Callable[[Optional[bytes], int, str], int]]:
        """The custom partitioner, or None (may be replaced)."""
        return self._partitioner

    @partitioner.setter
    def partitioner(self, fn: Optional[Callable[[Optional[bytes], int, str], int]]) -> None:
        if fn is not None and not callable(fn):
            raise TypeError("partitioner must be callable, not %s" % type(fn).__name__)
        self._partitioner = fn
        self._sends.partitioner = fn is not None

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._handle == 0 or self._closing

    def _closed_error(self) -> GofkaError:
        return error_from_code(_native.ERR_CLIENT_CLOSED, "producer is closed")

    def _get(self) -> int:
        h = self._handle
        if h == 0 or self._closing:
            raise self._closed_error()
        return h

    def _get_bridge(self) -> AsyncBridge:
        loop = asyncio.get_running_loop()
        bridge = self._bridge
        if bridge is None or bridge.loop is not loop:
            if bridge is not None and (bridge.pending or self._sends.buffer or self._waiting):
                raise RuntimeError("AsyncProducer is in use on another event loop")
            if bridge is not None:
                bridge.close()
            bridge = self._bridge = AsyncBridge(loop)
            self._sends.bind(loop)
        return bridge

    async def _blocking(self, fn: Callable[..., int], *args: Any) -> None:
        """Runs a blocking library call in the loop's executor."""
        handle = self._get()
        err = _native.new_error()
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, lambda: fn(handle, *args, ctypes.byref(err)))
        if code != _native.OK:
            if code == _native.ERR_INVALID_HANDLE and self._handle == 0:
                raise self._closed_error()
            raise _native.make_error(code, err)

    async def connect(self) -> None:
        """Connects to the cluster now (optional: sends connect on demand).
        Raises ConnectionError when no broker answers within ``timeout``."""
        self._get_bridge()
        await self._blocking(_native.lib.gofka_producer_connect, self._timeout_ms)

    async def __aenter__(self) -> "AsyncProducer":
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    # -- sending ---------------------------------------------------------------

    def send(
        self,
        topic: str,
        message: bytes,
        partition: Optional[int] = PARTITION_DEFAULT,
        key: Optional[bytes] = None,
        headers: Headers = None,
        *,
        timestamp: Optional[float] = None,
    ) -> Awaitable[int]:
        """Sends one record; ``await producer.send(...)`` returns its offset
        once acknowledged (-1 with acks=0). ``message`` and ``key`` are
        bytes-like (``message`` may be None for a null value); ``headers`` a
        dict of str -> bytes / str / None or a list of (str, value) pairs
        (a key may repeat); ``timestamp`` seconds since the epoch (None =
        now). See the class doc for ``partition``: without one, a key
        chooses it as the Java client does. The future
        fails with ProduceError, MetadataError or ConnectionError; bad
        arguments raise TypeError / ValueError at once.

        Called from a running event loop, the record is queued before
        ``send`` returns and the result is an ``asyncio.Future`` (not a
        coroutine), so many sends in flight cost no Task each:
        ``await asyncio.gather(*(producer.send(t, v) for v in values))``.
        Called outside one (``loop.run_until_complete(producer.send(...))``)
        it returns a coroutine that queues the record when it runs.
        """
        topic_b = self._topics.get(topic) if type(topic) is str else None
        if topic_b is None:
            topic_b = _native.encode_topic(topic)
            if len(self._topics) < 10000:
                self._topics[topic] = topic_b
        value = message if type(message) is bytes else optional_value(message, "message")
        kb = key if key is None or type(key) is bytes else optional_value(key, "key")
        hb = _native.pack_headers(headers) if headers is not None else b""
        ts = -1 if timestamp is None else _native.timestamp_ms(timestamp)
        if partition is PARTITION_DEFAULT:
            if self.partitioner is not None:
                return self._send_later(topic, topic_b, None, kb, value, ts, hb)
            part = -1 if kb is not None else 0
        else:
            part = resolve_partition(partition, 0)
        if _running_loop() is None:
            return self._send_later(topic, topic_b, part, kb, value, ts, hb)
        return self._enqueue(topic_b, part, kb, value, ts, hb)

    async def _send_later(self, topic: str, topic_b: bytes, part: Optional[int], kb: Optional[bytes],
                          value: Optional[bytes], ts: int, hb: bytes) -> int:
        """send() as a coroutine: for a custom partitioner (part None: it
        may need the partition count first) and calls made outside a loop."""
        if part is None:
            part = await self._custom_partition(topic, topic_b, kb)
        return await self._enqueue(topic_b, part, kb, value, ts, hb)

    async def send_string(
        self,
        topic: str,
        message: str,
        partition: Optional[int] = PARTITION_DEFAULT,
        key: Optional[Union[str, bytes]] = None,
        encoding: str = "utf-8",
        headers: Headers = None,
        *,
        timestamp: Optional[float] = None,
    ) -> int:
        """Sends a str encoded with ``encoding``; ``key`` may be a str
        (encoded the same way) or bytes. Returns the offset."""
        if not isinstance(message, str):
            raise TypeError("message must be str, not %s" % type(message).__name__)
        kb = key.encode(encoding) if isinstance(key, str) else key
        return await self.send(topic, message.encode(encoding), partition, kb, headers, timestamp=timestamp)

    async def send_batch(
        self,
        topic: str,
        messages: List[bytes],
        partition: Optional[int] = PARTITION_DEFAULT,
        *,
        keys: Optional[Sequence[Optional[bytes]]] = None,
        headers: Any = None,
        timestamp: Any = None,
    ) -> List[int]:
        """Sends many values to one topic and returns their offsets in
        order. The batch crosses into the library in one call (batches
        larger than a quarter of ``buffer_memory`` in a few). ``partition``
        as for :meth:`send`: an explicit one for all records; None = the
        engine's partitioner per record; not passed: the custom partitioner
        per record if there is one, else murmur2 of each record's key (as
        the Java client) and partition 0 for records without a key.
        ``keys`` an optional list of keys, one per message; ``headers`` one
        set for all (a dict or a list of (str, value) pairs) or a list of
        sets, one per message; ``timestamp`` one value or a list. Raises
        the first failed record's error (the others may have been
        written)."""
        topic_b = _native.encode_topic(topic)
        loop = asyncio.get_running_loop()
        plain = keys is None and headers is None and timestamp is None and (
            partition is not PARTITION_DEFAULT or self.partitioner is None)
        if plain and isinstance(messages, list):
            col = columnar(messages)
            if col is not None:
                if not messages:
                    return []
                part = 0 if partition is PARTITION_DEFAULT else resolve_partition(partition, 0)
                offsets_c: List[int] = []
                futs_c = []
                for lengths, blob in columnar_chunks(col[0], col[1], self._opts.chunk_bytes):
                    fut_c: "asyncio.Future[List[int]]" = loop.create_future()
                    futs_c.append(fut_c)
                    self._submit_unit(_Unit(topic_b, part, b"", len(lengths), _batch_deliver(fut_c, len(lengths)),
                                            (lengths, blob)))
                for f in await asyncio.gather(*futs_c):
                    offsets_c.extend(f)
                return offsets_c
        records = batch_records(messages, keys, headers, timestamp)
        if not records:
            return []
        groups: List[Tuple[int, List[int]]] = []
        if partition is PARTITION_DEFAULT and self.partitioner is not None:
            by_part: Dict[int, List[int]] = {}
            for i, rec in enumerate(records):
                p = await self._custom_partition(topic, topic_b, rec[0])
                by_part.setdefault(p, []).append(i)
            groups = list(by_part.items())
        else:
            # Runs of consecutive records with one partition value (keyed
            # and unkeyed records differ without an explicit partition),
            # submitted in order so each partition keeps the send order.
            groups = [(part, list(range(lo, hi)))
                      for part, lo, hi in partition_runs(partition, [rec[0] for rec in records])]
        offsets: List[int] = [-1] * len(records)
        futures = []
        for part, idxs in groups:
            for unit_idx, chunk in self._chunks([records[i] for i in idxs], idxs):
                fut: "asyncio.Future[List[int]]" = loop.create_future()
                futures.append(fut)
                self._submit_unit(_Unit(topic_b, part, pack_record_list(chunk), len(chunk),
                                        _batch_deliver(fut, len(chunk), unit_idx, offsets)))
        results = await asyncio.gather(*futures, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return offsets

    def _chunks(self, records: List[Any], idxs: List[int]) -> Any:
        """Splits records so that one library call stays within the bytes
        buffer.memory can take at once."""
        limit = self._opts.chunk_bytes
        start, size = 0, 0
        for i, (k, v, _, h) in enumerate(records):
            s = REC_OVERHEAD + (len(k) if k else 0) + (len(v) if v else 0) + 2 * len(h)
            if i > start and size + s > limit:
                yield idxs[start:i], records[start:i]
                start, size = i, 0
            size += s
        if start < len(records):
            yield idxs[start:], records[start:]

    async def _custom_partition(self, topic: str, topic_b: bytes, key: Optional[bytes]) -> int:
        n = await self._partition_count(topic, topic_b)
        assert self.partitioner is not None
        return check_custom_partition(self.partitioner(key, n, topic), n, topic)

    async def _partition_count(self, topic: str, topic_b: bytes) -> int:
        cached = self._counts.get(topic)
        now = time.monotonic()
        if cached is not None and now - cached[1] < _PARTITION_COUNT_TTL:
            return cached[0]
        out = ctypes.c_int32()
        await self._blocking(_native.lib.gofka_producer_partition_count, topic_b, self._timeout_ms, ctypes.byref(out))
        self._counts[topic] = (out.value, now)
        return out.value

    def _enqueue(self, topic: bytes, part: int, key: Optional[bytes], value: Optional[bytes],
                 ts: int, headers: bytes) -> "asyncio.Future[int]":
        self._get()
        bridge = self._get_bridge()
        fut: "asyncio.Future[int]" = bridge.loop.create_future()
        sends = self._sends
        size = REC_OVERHEAD + (len(key) if key else 0) + (len(value) if value else 0) + 2 * len(headers)
        sends.buffer.append((topic, part, key, value, ts, headers, size, fut))
        if not sends.scheduled:
            bridge.loop.call_soon(self._pack)
            sends.scheduled = True
        if len(sends.buffer) >= _CHUNK_RECORDS:
            # A long run of sends without yielding to the loop: hand this
            # unit to the engine now, so that it sends while Python goes on.
            self._pack()
        return fut

    def _pack(self) -> None:
        """Turns the sends of this loop turn into units, per topic and
        partition in order of first appearance, and submits them."""
        buf = self._sends.take()
        if not buf:
            return
        limit = min(self._opts.chunk_bytes, _CHUNK_BYTES)
        for topic, part, recs, values in chunk_records(buf, limit, _CHUNK_RECORDS):
            deliver = _send_deliver([r[7] for r in recs])
            col = None if values is None else columnar(values)  # None for a null value
            if col is not None:
                self._submit_unit(_Unit(topic, part, b"", len(recs), deliver, col))
            else:
                self._submit_unit(_Unit(topic, part, pack_pending(recs), len(recs), deliver))

    def _submit_unit(self, unit: _Unit) -> None:
        if self._waiting:
            # Keep order: a unit waiting for room goes first.
            unit.since = time.monotonic()
            self._waiting.append(unit)
            return
        if not self._try_submit(unit):
            unit.since = time.monotonic()
            self._waiting.append(unit)
            self._arm_retry()

    def _try_submit(self, unit: _Unit) -> bool:
        """Starts the unit; False when buffer.memory had no room for it."""
        try:
            handle = self._get()
            bridge = self._get_bridge()
        except BaseException as exc:  # closed
            unit.deliver(exc, None)
            return True
        col, packed, count = unit.columnar, unit.packed, unit.count
        topic, part = unit.topic, unit.partition
        full = [False]

        def start(queue: int, token: int) -> None:
            err = _native.new_error()
            if col is not None:
                code = produce_values(handle, queue, token, topic, part, col[0], col[1], err)
            else:
                code = _native.lib.gofka_producer_produce_batch(
                    handle, queue, token, topic, part, packed, len(packed), count, ctypes.byref(err))
            if code == _native.ERR_QUEUE_FULL:
                full[0] = True
                raise _native.make_error(code, err)
            if code != _native.OK:
                if code == _native.ERR_INVALID_HANDLE and self._handle == 0:
                    raise self._closed_error()
                raise _native.make_error(code, err)

        try:
            fut = bridge.submit(start)
        except BaseException as exc:
            if full[0]:
                return False
            unit.deliver(exc, None)
            return True
        self._inflight.add(fut)

        def done(f: "asyncio.Future[Event]") -> None:
            self._inflight.discard(f)
            if f.cancelled():
                unit.deliver(self._closed_error(), None)
            elif f.exception() is not None:
                unit.deliver(f.exception(), None)
            else:
                unit.deliver(None, f.result())
            if self._waiting:
                self._pump()

        fut.add_done_callback(done)
        return True

    def _pump(self) -> None:
        """Submits waiting units in order while there is room; fails those
        that waited longer than ``timeout``."""
        self._retry_handle = None
        while self._waiting:
            unit = self._waiting[0]
            if self._try_submit(unit):
                self._waiting.popleft()
                continue
            if time.monotonic() - unit.since > self.timeout:
                self._waiting.popleft()
                unit.deliver(error_from_code(_native.ERR_QUEUE_FULL,
                                             "buffer.memory stayed full for timeout=%ss" % self.timeout), None)
                continue
            self._arm_retry()
            return

    def _arm_retry(self) -> None:
        # Completions of our own batches pump too; the timer covers room
        # freed by other users of the producer.
        if self._retry_handle is None and self._bridge is not None:
            self._retry_handle = self._bridge.loop.call_later(_FULL_RETRY, self._pump)

    # -- flush / close -----------------------------------------------------------

    async def flush(self, timeout: Optional[float] = None) -> None:
        """Sends everything buffered now (ignoring ``linger_ms``) and waits
        until every send of this producer has its result (up to ``timeout``
        seconds; None = the producer's ``timeout``). Raises TIMED_OUT
        (a ConnectionError) if records are still pending then; they are
        not lost and keep going."""
        if timeout is None:
            timeout = self.timeout
        if self._handle == 0:
            raise self._closed_error()
        deadline = time.monotonic() + timeout
        if self._sends.scheduled or self._sends.buffer:
            self._pack()
        while self._inflight or self._waiting or self._sends.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise error_from_code(_native.ERR_TIMED_OUT, "flush: %d batches still pending after %ss"
                                      % (len(self._inflight) + len(self._waiting), timeout))
            # The engine flush (in a worker thread) makes lingering batches
            # go now; our futures resolve on this loop meanwhile.
            flush_ms = int(min(left, 0.2) * 1000)
            try:
                await self._blocking(_native.lib.gofka_producer_flush, flush_ms)
            except GofkaError as exc:
                if exc.code != _native.ERR_TIMED_OUT:
                    raise
            if self._inflight:
                await asyncio.wait(list(self._inflight), timeout=min(max(0.0, deadline - time.monotonic()), 0.2))
            if self._waiting:
                self._pump()

    async def close(self, timeout: Optional[float] = None) -> None:
        """Flushes (up to ``timeout`` seconds; None = the producer's
        ``timeout``), then closes the connections. Sends still pending then
        fail with CLIENT_CLOSED. Idempotent; sends after close raise
        GofkaError CLIENT_CLOSED."""
        if self._handle == 0 or self._closing:
            return
        if timeout is None:
            timeout = self.timeout
        try:
            await self.flush(timeout)
        except GofkaError:
            pass
        finally:
            self._closing = True
            self._sends.closed = True
        handle, self._handle = self._handle, 0
        self._security.stop()
        err = _native.new_error()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: _native.lib.gofka_producer_close(handle, 1000, ctypes.byref(err)))
        # Events posted by close (failed records) resolve on the next turns.
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=1.0)
        closed = self._closed_error()
        while self._waiting:
            self._waiting.popleft().deliver(closed, None)
        for item in self._sends.take():
            if not item[7].done():
                item[7].set_exception(closed)
        if self._retry_handle is not None:
            self._retry_handle.cancel()
            self._retry_handle = None
        if self._bridge is not None:
            self._bridge.close()
        self._sends.bind(None)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", 0)
        if handle:
            self._handle = 0
            try:
                err = _native.new_error()
                _native.lib.gofka_producer_close(handle, 0, ctypes.byref(err))
            except Exception:
                pass


_resolve_sends: Any = _speedups.resolve_sends if _speedups is not None else None


def _send_deliver(futs: List["asyncio.Future[int]"]) -> Callable[[Optional[BaseException], Optional[Event]], None]:
    """Resolves one future per record from a batch event."""

    def deliver(exc: Optional[BaseException], ev: Optional[Event]) -> None:
        if exc is not None or ev is None:
            for f in futs:
                if not f.done():
                    f.set_exception(exc if exc is not None else RuntimeError("no result"))
            return
        payload = ev.payload
        if _resolve_sends is not None and _resolve_sends(futs, payload):
            return
        n = len(futs)
        if len(payload) == _RESULT_SIZE * n:  # no failures: results only
            for f, (_, _, off) in zip(futs, _RESULT_ITER(payload)):
                if not f.done():  # else cancelled by its awaiter
                    f.set_result(off)
            return
        _, offsets, failures = parse_batch_results(payload, n)
        failed = dict(failures)
        for i, f in enumerate(futs):
            if f.done():
                continue
            e = failed.get(i)
            if e is None:
                f.set_result(offsets[i])
            else:
                f.set_exception(e)

    return deliver


def _batch_deliver(fut: "asyncio.Future[List[int]]", count: int, idxs: Optional[List[int]] = None,
                   offsets: Optional[List[int]] = None) -> Callable[[Optional[BaseException], Optional[Event]], None]:
    """Resolves a send_batch piece of ``count`` records with its offsets, or
    its first error. With ``idxs`` the offsets are stored at those input
    positions of ``offsets`` and the future gets the whole list."""

    def deliver(exc: Optional[BaseException], ev: Optional[Event]) -> None:
        if fut.done():
            return
        if exc is not None or ev is None:
            fut.set_exception(exc if exc is not None else RuntimeError("no result"))
            return
        offs = batch_offsets(ev.payload, count)
        if offs is None:
            _, offs, failures = parse_batch_results(ev.payload, count)
            if failures:
                fut.set_exception(failures[0][1])
                return
        if idxs is None or offsets is None:
            fut.set_result(offs)
            return
        for j, i in enumerate(idxs):
            offsets[i] = offs[j]
        fut.set_result(offsets)

    return deliver
