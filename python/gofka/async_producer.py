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
import contextlib
import ctypes
import itertools
import logging
import time
import weakref
from collections import deque
from typing import Any, AsyncIterator, Awaitable, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from . import _stats
from ._bridge import AsyncBridge, Event, EventQueue
from ._client import AsyncHandleOwner, check_time
from ._producer_base import (  # the per-send converters and constants of send()
    BATCH_RESULT,
    PARTITION_DEFAULT,
    PRODUCER_KEYWORDS,
    REC_OVERHEAD,
    Headers,
    ProducerBase,
    ProducerKeywords,
    optional_value,
    resolve_partition,
)
from ._keywords import Unpack, takes_keywords
from ._consumer_base import GroupMetadata
from .exceptions import GofkaError, ProduceError, TransactionAbortableError, argument_errors, error_from_code
from .message import speedups as _speedups

__all__ = ["AsyncProducer"]

_log = logging.getLogger("gofka.producer")

_RESULT_SIZE = BATCH_RESULT.size  # per-record result of a batch event (gofka.h)
_RESULT_ITER = BATCH_RESULT.iter_unpack

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


class _PyAsyncSends(object):
    """Pure-Python AsyncSends (gofka._speedups has the C one, which also
    has a ``send`` fast path; see _speedups_src/sends.c): the sends of the current
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


class _SendsBridge(AsyncBridge):
    """The producer's AsyncBridge: delivers the units whose events it
    reads right away, as the loop's reader callback (or _reap) runs,
    rather than from the bridge futures' done callbacks one loop turn
    later (a sequential ``await send()`` waited a turn more per record).
    Holds the producer weakly."""

    def __init__(self, owner: "AsyncProducer", loop: asyncio.AbstractEventLoop, queue: Optional[EventQueue] = None,
                 tokens: Optional["itertools.count[int]"] = None) -> None:
        super().__init__(loop, queue, tokens)
        self._owner = weakref.ref(owner)

    def _on_readable(self) -> List["asyncio.Future[Event]"]:
        resolved = self._resolve()
        owner = self._owner()
        if owner is not None:
            owner._deliver_resolved(resolved)  # schedules the send futures' awaiters
        self._stop_when_idle()  # after them: see there
        return resolved


class _Unit(object):
    """One library call: records for one topic-partition, as ProducerBase
    cuts them (payload: packed records in the gofka.h records format, or
    columnar values, see ProducerBase._produce_chunk; for send_batch the
    function that builds it, called when the unit is first started, so
    that units waiting their turn hold no joined values), and what to do
    with their results."""

    __slots__ = ("topic", "partition", "payload", "count", "deliver", "since", "futures")

    def __init__(self, topic: bytes, partition: int, payload: Any, count: int,
                 deliver: Callable[[Optional[BaseException], Optional[Event]], None],
                 futures: Optional[List["asyncio.Future[int]"]] = None) -> None:
        self.topic = topic
        self.partition = partition
        self.payload = payload  # None once the engine took it; a callable until first started
        self.count = count
        self.deliver = deliver
        self.since = 0.0
        self.futures = futures  # the send() futures it resolves (None: send_batch)


class AsyncProducer(ProducerBase, AsyncHandleOwner):
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

    Keyword-only: compression_level, acks, enable_idempotence, retry_policy,
    delivery_timeout_ms, buffer_memory, max_request_size,
    allow_auto_create_topics, connection_pool, transactional_id,
    transaction_timeout_ms, ``config``, the TLS/SASL
    options (or ``security``) and
    ``exit_timeout``, as for :class:`gofka.Producer`. An AsyncProducer
    still open at interpreter exit or garbage-collected unclosed is closed
    synchronously (no event loop needed, whether its loop is still alive
    or already closed) within ``exit_timeout`` seconds (default 5, or
    GOFKA_EXIT_TIMEOUT): buffered sends are handed to the engine, their
    futures resolved where their loop allows it, and records not
    delivered are reported on stderr and the ``gofka.producer`` logger.

    Partitioning of ``send``: an explicit ``partition`` is used as is;
    ``partition=None`` lets the engine choose (murmur2 of the key as the
    Java client does, the sticky partitioner without a key). When
    ``partition`` is not passed: the custom ``partitioner`` decides if there
    is one, else the engine's partitioner for keyed records, else partition
    0 (the documented default).

    Transactions: the coroutines ``init_transactions``,
    ``begin_transaction``, ``commit_transaction``, ``abort_transaction``,
    ``send_offsets_to_transaction`` and ``async with
    producer.transaction():``, as :class:`gofka.Producer`'s (the blocking
    steps run in the loop's executor: the loop never blocks).

    The native client is created in the constructor (no network I/O). The
    producer may be used from one event loop at a time; ``async with``
    connects on entry and closes (flushing) on exit.

    Statistics: ``stats()`` returns a snapshot dict (docs/statistics.md).
    With the keywords ``stats_interval_ms`` (default 0 = off) and
    ``on_stats``, the client calls ``on_stats(stats_dict)`` every interval
    in a daemon thread of its own, also for this asyncio client (never on
    the event loop); see gofka._stats.
    """

    _public_name = "AsyncProducer"  # for repr
    _report_kind = "async producer"  # what an implicit close's reports call it

    @takes_keywords(PRODUCER_KEYWORDS)
    @argument_errors(ProduceError)  # invalid arguments: ProduceValueError / ProduceTypeError
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
        **keywords: Unpack[ProducerKeywords],
    ) -> None:
        # the constructor's arguments with the keywords it shares with Producer (defaults filled in)
        arguments = PRODUCER_KEYWORDS.arguments("AsyncProducer", locals(), keywords)
        super().__init__(arguments)  # options, security= or the TLS/SASL keywords: ProducerBase
        self._bridge: Optional[AsyncBridge] = None
        self._waiting: Deque[_Unit] = deque()  # units refused for lack of buffer room, in order
        self._retry_handle: Optional[asyncio.TimerHandle] = None
        self._inflight: "set[asyncio.Future[Event]]" = set()
        # The unit of each in-flight bridge future (to re-home or settle
        # it without its loop: see _adopt_bridge, _close_sync).
        self._unit_of: Dict["asyncio.Future[Event]", _Unit] = {}
        self._topics: Dict[str, bytes] = {}
        # The sends of the current loop turn; with the C speedups also the
        # fast path of send (an instance attribute, unless a subclass
        # overrides send), which falls back to AsyncProducer.send.
        self._sends = _AsyncSends(self, self._topics, AsyncProducer.send, PARTITION_DEFAULT,
                                  _pack_later(self), partitioner is not None, _CHUNK_RECORDS)
        if _speedups is not None and type(self).send is AsyncProducer.send:
            self.send = self._sends.send  # type: ignore[method-assign]
        self._closing = False
        self._open_handle()  # dropped in a forked child: close does nothing there, use raises ForkError

    def _partitioner_changed(self) -> None:
        self._sends.partitioner = self._partitioner is not None

    @property
    def closed(self) -> bool:
        """True once close() was called (or began)."""
        return self._handle == 0 or self._closing

    def _get(self) -> int:
        h = self._handle
        if h == 0 or self._closing:
            raise self._closed_error()  # ForkError in a child forked after __init__
        return h

    def _get_bridge(self) -> AsyncBridge:
        loop = asyncio.get_running_loop()
        bridge = self._bridge
        if bridge is None or bridge.loop is not loop:
            if bridge is not None and bridge.loop.is_closed():
                return self._adopt_bridge(bridge, loop)
            if bridge is not None and (bridge.pending or self._sends.buffer or self._waiting):
                raise RuntimeError("AsyncProducer is in use on another event loop")
            if bridge is not None:
                bridge.close()
            bridge = self._bridge = _SendsBridge(self, loop)
            self._sends.bind(loop)
        return bridge

    def _adopt_bridge(self, old: AsyncBridge, loop: asyncio.AbstractEventLoop) -> AsyncBridge:
        """Moves the work of a bridge whose loop was closed to ``loop``: its
        operations in flight (their events still arrive on its queue),
        the sends buffered and the units waiting for room. Their futures
        stay on the closed loop (resolved there as far as it allows: see
        _deliver), so nothing is lost and the producer can flush and close
        on the new loop."""
        bridge = self._bridge = _SendsBridge(self, loop, old.queue, old.tokens)
        for token, fut in old.detach().items():
            unit = self._unit_of.pop(fut, None)
            self._inflight.discard(fut)
            if unit is not None:
                self._track(bridge.adopt(token), unit)
        self._settle_stranded()
        self._sends.bind(loop)
        self._retry_handle = None  # a timer of the closed loop never fires
        if self._sends.buffer:
            loop.call_soon(self._pack)
        if self._waiting:
            self._arm_retry()
        return bridge

    def _settle_stranded(self) -> None:
        """Delivers the units whose bridge future resolved on a loop that
        stopped before running its done-callback (the future is done, its
        unit not delivered)."""
        for fut in list(self._inflight):
            if fut.done():
                self._inflight.discard(fut)
                unit = self._unit_of.pop(fut, None)
                if unit is not None:
                    _deliver_from(unit, fut, self._closed_error)

    async def _blocking(self, fn: Callable[..., int], *args: Any) -> None:
        """Runs a blocking library call in the loop's executor."""
        handle = self._get()
        err = _native.new_error()
        loop = asyncio.get_running_loop()
        code = await loop.run_in_executor(None, lambda: fn(handle, *args, ctypes.byref(err)))
        if code != _native.OK:
            raise self._failure(code, err)

    async def connect(self) -> None:
        """Connects to the cluster now (optional: sends connect on demand).
        Raises ConnectionError when no broker answers within ``timeout``."""
        self._get_bridge()
        await self._blocking(_native.lib.gofka_producer_connect, self._timeout_ms)
        self._connected = True


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
        order. The batch crosses into the library in calls of at most
        1 MiB (a quarter of ``buffer_memory`` if that is smaller), each
        call's records joined only when it is made. ``partition``
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
        # Validation, partitions and chunks: ProducerBase._batch_plan.
        chunks, recs = self._batch_plan(messages, partition, keys, headers, timestamp)
        if recs is not None:  # the custom partitioner decides, per record
            chunks = self._batch_chunks_by_partition(
                recs, [await self._custom_partition(topic, topic_b, r[0]) for r in recs])
        if not chunks:
            return []
        offsets: List[int] = [-1] * sum(len(c[1]) for c in chunks)
        futures = []
        for part, idxs, build in chunks:
            fut: "asyncio.Future[List[int]]" = loop.create_future()
            futures.append(fut)
            # The payload is built when the unit starts (_start_unit).
            self._submit_unit(_Unit(topic_b, part, build, len(idxs), _batch_deliver(fut, idxs, offsets)))
        results = await asyncio.gather(*futures, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return offsets

    async def _custom_partition(self, topic: str, topic_b: bytes, key: Optional[bytes]) -> int:
        return self._custom_partition_of(topic, key, await self._partition_count(topic, topic_b))

    async def _partition_count(self, topic: str, topic_b: bytes) -> int:
        count = self._cached_partition_count(topic)
        if count is not None:
            return count
        now = time.monotonic()
        out = ctypes.c_int32()
        await self._blocking(_native.lib.gofka_producer_partition_count, topic_b, self._timeout_ms, ctypes.byref(out))
        self._remember_partition_count(topic, out.value, now)
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
        partition in order of first appearance, and submits them; first
        delivers the results that arrived meanwhile (_reap)."""
        buf = self._sends.take()
        self._reap()
        if not buf:
            return
        for unit in self._units_of(buf):
            self._submit_unit(unit)

    def _reap(self) -> None:
        """Delivers the units whose results are on the queue now, without
        waiting for the loop to poll it, and submits units waiting for
        room: a run of sends that never yields to the loop (it packs every
        _CHUNK_RECORDS sends) then frees the futures, bytes and
        buffer.memory of what completed and keeps the engine fed, instead
        of holding every send until the run ends. Only the futures' own
        callbacks are scheduled (call_soon): no user code runs here."""
        bridge = self._bridge
        if bridge is None or not self._inflight or bridge.loop is not _running_loop():
            return
        bridge._on_readable()  # delivers what it read (_SendsBridge) and pumps

    def _deliver_resolved(self, resolved: List["asyncio.Future[Event]"]) -> None:
        """Delivers the units of bridge futures just resolved (by
        _SendsBridge, as it reads their events), then submits units
        waiting for room. Their done callbacks, scheduled meanwhile, find
        them settled."""
        for fut in resolved:
            unit = self._unit_of.pop(fut, None)
            if unit is None:
                continue  # settled elsewhere (close, _settle_stranded)
            self._inflight.discard(fut)
            _deliver_from(unit, fut, self._closed_error)
        if self._waiting:
            self._pump()

    def _units_of(self, buf: List[Any]) -> List[_Unit]:
        """Units of buffered sends (see _pack)."""
        units = []
        limit = min(self._opts.chunk_bytes, _CHUNK_BYTES)
        for topic, part, recs, payload in self._pending_chunks(buf, limit, _CHUNK_RECORDS):
            futs = [r[7] for r in recs]
            units.append(_Unit(topic, part, payload, len(recs), _send_deliver(futs), futs))
        return units

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
            _deliver(unit, exc, None)
            return True
        full = [False]

        def start(queue: int, token: int) -> None:
            err = _native.new_error()
            code = _start_unit(handle, unit, queue, token, err)
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
            _deliver(unit, exc, None)
            return True
        # The engine copied the records before the call returned and a
        # started unit is never started again: drop its bytes now rather
        # than hold them until the results arrive (with sends made faster
        # than the loop turns, that was every value twice).
        unit.payload = None
        self._track(fut, unit)
        return True

    def _track(self, fut: "asyncio.Future[Event]", unit: _Unit) -> None:
        """Delivers the unit's results when its bridge future resolves."""
        self._inflight.add(fut)
        self._unit_of[fut] = unit

        # The callback finds the unit through _unit_of rather than holding
        # it: once _SendsBridge delivered it, the callback (scheduled, and
        # kept in the loop's queue until the loop turns) must not keep the
        # unit's futures alive through a run of sends that never yields.
        def done(f: "asyncio.Future[Event]") -> None:
            self._inflight.discard(f)
            settled = self._unit_of.pop(f, None)
            if settled is None:
                return  # settled elsewhere (_SendsBridge, close, _settle_stranded)
            _deliver_from(settled, f, self._closed_error)
            if self._waiting:
                self._pump()

        fut.add_done_callback(done)

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
                _deliver(unit, error_from_code(_native.ERR_QUEUE_FULL,
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
        timeout = check_time("timeout", timeout, none_ok=True)
        if timeout is None:
            timeout = self.timeout
        if self._handle == 0:
            raise self._closed_error()
        deadline = time.monotonic() + timeout
        self._get_bridge()  # takes over the work of a closed loop (see _adopt_bridge)
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

    # ---- transactions (docs/transactions.md; as Producer's) ----

    async def init_transactions(self, timeout: Optional[float] = None) -> None:
        """As Producer.init_transactions (in the loop's executor)."""
        await self._blocking(_native.lib.gofka_producer_init_transactions, self._txn_ms(self._txn_deadline(timeout)))

    async def begin_transaction(self) -> None:
        """As Producer.begin_transaction (local: it never waits)."""
        self._call(_native.lib.gofka_producer_begin_transaction)

    async def commit_transaction(self, timeout: Optional[float] = None) -> None:
        """As Producer.commit_transaction: the sends of the transaction are
        flushed first (their futures resolve), then it commits; ``timeout``
        bounds both."""
        deadline = self._txn_deadline(timeout)
        await self._flush_for_txn(deadline)
        await self._blocking(_native.lib.gofka_producer_commit_transaction, self._txn_ms(deadline))

    async def abort_transaction(self, timeout: Optional[float] = None) -> None:
        """As Producer.abort_transaction: sends buffered on the Python side
        are handed to the engine first (so that they fail with the
        transaction, not join the next one); ``timeout`` bounds both."""
        deadline = self._txn_deadline(timeout)
        await self._flush_for_txn(deadline)
        await self._blocking(_native.lib.gofka_producer_abort_transaction, self._txn_ms(deadline))

    async def send_offsets_to_transaction(self, offsets: Mapping[Any, int], group_metadata: GroupMetadata,
                                          timeout: Optional[float] = None) -> None:
        """As Producer.send_offsets_to_transaction (in the loop's executor)."""
        await self._blocking(_native.lib.gofka_producer_send_offsets_to_transaction,
                             *self._send_offsets_args(offsets, group_metadata, timeout))

    @contextlib.asynccontextmanager
    async def transaction(self, timeout: Optional[float] = None) -> AsyncIterator["AsyncProducer"]:
        """``async with producer.transaction():``, as Producer.transaction."""
        await self.begin_transaction()
        try:
            yield self
        except BaseException as exc:
            if self._aborts_after(exc):
                await self.abort_transaction(timeout)
            raise
        try:
            await self.commit_transaction(timeout)
        except TransactionAbortableError:
            await self.abort_transaction(timeout)
            raise

    async def _flush_for_txn(self, deadline: Optional[float]) -> None:
        """Waits for every send of the transaction that ends (flush, up to
        ``deadline``; the producer's ``timeout`` without one). A send that
        failed does not raise here: the commit reports it."""
        await self.flush(None if deadline is None else max(0.0, deadline - time.monotonic()))

    async def close(self, timeout: Optional[float] = None) -> None:
        """Flushes, then closes the connections, all within ``timeout``
        seconds (None = the producer's ``timeout``; 0 = do not wait): one
        deadline bounds the whole call. Sends without a result by then fail
        with CLIENT_CLOSED (and a warning is logged). Idempotent; sends
        after close raise GofkaError CLIENT_CLOSED.

        Works from any loop: sends made on a loop that was closed since
        move to this one; a producer in use on another loop that is alive
        but not running is settled in a worker thread (its futures are
        resolved there, which is safe only while that loop does not run)."""
        timeout = check_time("timeout", timeout, none_ok=True)
        if self._handle == 0 or self._closing:
            return
        if timeout is None:
            timeout = self.timeout
        deadline = time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        bridge = self._bridge
        if bridge is not None and bridge.loop is not loop and not bridge.loop.is_closed():
            left, _ = await loop.run_in_executor(None, self._close_sync, deadline)
            if left:
                _log.warning("async producer closed with %d record(s) not delivered within timeout=%ss "
                             "(they failed with CLIENT_CLOSED)", left, timeout)
            return
        try:
            await self.flush(max(0.0, deadline - time.monotonic()))
        except GofkaError:
            pass
        finally:
            self._closing = True
            self._sends.closed = True
        if self._handle == 0:
            return  # closed meanwhile (e.g. by the garbage collector)
        left = sum(u.count for u in self._unit_of.values()) + sum(u.count for u in self._waiting)
        left += len(self._sends.buffer)
        handle = self._release_handle()  # also ends the OAUTHBEARER refresh
        code, err = await loop.run_in_executor(None, self._close_engine, handle, deadline)
        # close posted the events of what it failed before returning: read
        # them now (no waiting), and let the units' callbacks run.
        bridge = self._bridge
        if bridge is not None and bridge.loop is loop:
            bridge._on_readable()
            await asyncio.sleep(0)
        closed = self._closed_error()
        for f in list(self._inflight):
            self._inflight.discard(f)
            unit = self._unit_of.pop(f, None)
            if unit is not None:
                _deliver(unit, closed, None)
        while self._waiting:
            _deliver(self._waiting.popleft(), closed, None)
        for item in self._sends.take():
            if _track_futures is not None:
                _track_futures([item[7]])
            if not item[7].done():
                item[7].set_exception(closed)
        if self._retry_handle is not None:
            self._retry_handle.cancel()
            self._retry_handle = None
        if self._bridge is not None:
            self._bridge.close()
        self._sends.bind(None)
        if code == _native.ERR_TIMED_OUT:
            _log.warning("async producer closed with %d record(s) not delivered within timeout=%ss "
                         "(they failed with CLIENT_CLOSED): %s", left, timeout, _native.make_error(code, err))

    def _close_sync(self, deadline: float, quiet: bool = False) -> Tuple[int, List[BaseException]]:
        """Closes without an event loop, in the calling thread, by
        ``deadline`` (time.monotonic()): hands the buffered sends and the
        units waiting for room to the engine, waits for results (engine
        flush), closes the engine (failing the rest with CLIENT_CLOSED) and
        resolves every future from the events, as far as its loop allows
        (see _deliver). Returns the records without a result at the
        deadline, and the errors of records that failed before it. With
        ``quiet`` (exit, garbage collection: nobody can await them any
        more) the send futures' errors count as retrieved, so that asyncio
        does not log each one: the caller reports them at once."""
        self._closing = True
        self._sends.closed = True
        handle = self._handle
        if not handle:
            return 0, []
        bridge, self._bridge = self._bridge, None
        units: Dict[int, _Unit] = {}
        if bridge is not None:
            queue, tokens = bridge.queue, bridge.tokens
            for token, fut in bridge.detach().items():
                self._inflight.discard(fut)
                unit = self._unit_of.pop(fut, None)
                if unit is not None:
                    units[token] = unit
            self._settle_stranded()
        else:
            queue, tokens = EventQueue(), itertools.count(1)
        if self._retry_handle is not None:
            try:
                self._retry_handle.cancel()
            except Exception:
                pass
            self._retry_handle = None
        todo = list(self._waiting)
        self._waiting.clear()
        todo.extend(self._units_of(self._sends.take()))
        handled = list(units.values()) + todo
        failures: List[BaseException] = []
        err = _native.new_error()
        for unit in todo:
            token = next(tokens)
            while True:
                code = _start_unit(handle, unit, queue.handle, token, err)
                if code == _native.OK:
                    units[token] = unit
                    break
                if code == _native.ERR_QUEUE_FULL and time.monotonic() < deadline:
                    _collect(queue, units, 5, failures)  # deliveries free room meanwhile
                    continue
                exc = _native.make_error(code, err)
                failures.extend([exc] * unit.count)
                _deliver(unit, exc, None)
                break
        while units:
            code = _native.lib.gofka_producer_flush(handle, _native.slice_ms(deadline), ctypes.byref(err))
            _collect(queue, units, 0, failures)
            if code != _native.ERR_TIMED_OUT or time.monotonic() >= deadline:
                break
        self._release_handle()  # also ends the OAUTHBEARER refresh
        self._close_engine(handle, deadline)
        failed_by_close: List[BaseException] = []
        _collect(queue, units, 0, failed_by_close)  # the failures close posted before returning
        left = len(failed_by_close) + sum(u.count for u in units.values())
        closed = self._closed_error()
        for unit in units.values():
            _deliver(unit, closed, None)
        queue.close()
        self._sends.bind(None)
        if quiet:
            for unit in handled:
                for send_fut in unit.futures or ():
                    if send_fut.done() and not send_fut.cancelled():
                        send_fut.exception()  # marks it retrieved
        return left, failures

    def _implicit_close(self, why: str, deadline: float) -> None:
        """_close_sync for the exit hook and the garbage collector, reporting
        what was not delivered."""
        left, failures = self._close_sync(deadline, quiet=True)
        self._report_unheard(why, len(failures), failures[0] if failures else None, left)



def _start_unit(handle: int, unit: _Unit, queue: int, token: int, err: Any) -> int:
    """Hands one unit to the engine (its event goes to ``queue`` with
    ``token``); the library's return code. Builds a send_batch unit's
    payload on its first try (kept on the unit if buffer.memory is full:
    the unit is then the first to retry)."""
    if callable(unit.payload):
        unit.payload = unit.payload()
    return ProducerBase._produce_chunk(handle, queue, token, unit.topic, unit.partition, unit.count,
                                       unit.payload, err)


def _deliver(unit: _Unit, exc: Optional[BaseException], ev: Optional[Event]) -> None:
    """unit.deliver, for futures whose loop may be closed: setting such a
    future's result works but scheduling its callbacks raises
    RuntimeError; each retry goes on with the futures not done yet."""
    for _ in range(unit.count + 1):
        try:
            unit.deliver(exc, ev)
            return
        except RuntimeError:
            continue


def _deliver_from(unit: _Unit, fut: "asyncio.Future[Event]", closed: Callable[[], GofkaError]) -> None:
    """Delivers a unit from its resolved bridge future."""
    if fut.cancelled():
        _deliver(unit, closed(), None)
    elif fut.exception() is not None:
        _deliver(unit, fut.exception(), None)
    else:
        _deliver(unit, None, fut.result())


def _collect(queue: EventQueue, units: Dict[int, _Unit], wait_ms: int,
             failures: Optional[List[BaseException]]) -> None:
    """Delivers the events on ``queue`` to their units (see _close_sync);
    appends the errors of failed records to ``failures``."""
    for ev in queue.drain(65536, wait_ms):
        unit = units.pop(ev.token, None)
        if unit is None:
            continue
        if ev.code != _native.OK:
            exc = ev.error()
            if failures is not None:
                failures.extend([exc] * unit.count)
            _deliver(unit, exc, None)
            continue
        if failures is not None and len(ev.payload) != _RESULT_SIZE * unit.count:
            failures.extend(e for _, e in ProducerBase._batch_results(ev.payload, unit.count)[1])
        _deliver(unit, None, ev)


_resolve_sends: Any = _speedups.resolve_sends if _speedups is not None else None
# The C send path hides pending futures from the cyclic GC (see
# _speedups_src/sends.c); whoever resolves or drops them tracks them again.
_track_futures: Any = _speedups.track_futures if _speedups is not None else None


def _send_deliver(futs: List["asyncio.Future[int]"]) -> Callable[[Optional[BaseException], Optional[Event]], None]:
    """Resolves one future per record from a batch event."""

    def deliver(exc: Optional[BaseException], ev: Optional[Event]) -> None:
        if _track_futures is not None:
            _track_futures(futs)
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
        offsets, failures = ProducerBase._batch_results(payload, n)
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


def _batch_deliver(fut: "asyncio.Future[List[int]]", idxs: Sequence[int],
                   offsets: List[int]) -> Callable[[Optional[BaseException], Optional[Event]], None]:
    """Resolves a send_batch chunk (its records at input positions
    ``idxs``): stores their offsets in ``offsets`` and gives the future
    the whole list, or fails it with the first failed record's error."""

    def deliver(exc: Optional[BaseException], ev: Optional[Event]) -> None:
        if fut.done():
            return
        if exc is not None or ev is None:
            fut.set_exception(exc if exc is not None else RuntimeError("no result"))
            return
        try:
            ProducerBase._place_offsets(offsets, idxs, ev.payload)
        except GofkaError as failed:
            fut.set_exception(failed)
            return
        fut.set_result(offsets)

    return deliver
