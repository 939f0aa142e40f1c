"""Synchronous producer.

Options, packing, the exit hook and the handle are shared with
AsyncProducer through :mod:`gofka._producer_base` (ProducerBase); this
module holds what only the synchronous producer does: blocking sends on
private event queues, and produce()/poll()/flush() with callbacks.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import logging
import struct
import threading
from select import select as _select
import time
import weakref
from collections import deque
from types import MethodType as _MethodType
from ctypes import byref, c_int64
from typing import Any, Callable, Deque, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _layouts, _native
from ._client import HandleOwner, check_time
from ._producer_base import (  # the per-record converters and result layouts of produce()/send()
    BATCH_RESULT,
    COMPRESSION_TYPES,
    DEFAULT_EXIT_TIMEOUT,
    EXIT_TIMEOUT_ENV,
    PARTITION_DEFAULT,
    PRODUCER_KEYWORDS,
    RESULT_PARTITION_OFFSET,
    U32,
    Headers,
    ProducerBase,
    ProducerKeywords,
    default_partition,
    optional_value,
    resolve_partition,
)
from ._keywords import Unpack, takes_keywords
from ._consumer_base import GroupMetadata
from .exceptions import GofkaError, ProduceError, TransactionAbortableError, argument_errors, error_from_code
from .message import Message
from .message import speedups as _speedups

__all__ = ["Producer", "COMPRESSION_TYPES", "DEFAULT_EXIT_TIMEOUT", "EXIT_TIMEOUT_ENV"]

_log = logging.getLogger("gofka.producer")


def _tally_silent_failures(entry: List[Any], tally: List[Any]) -> None:
    """Adds to tally [count, first error] the records of a backlog entry
    (from its position on) that have no callback and failed with an error
    other than CLIENT_CLOSED (those a close failed are counted apart)."""
    recs, results, pos, exc = entry
    if isinstance(results, bytes):
        return  # all delivered
    for i in range(pos, len(recs)):
        if recs[i][7] is not None:
            continue
        if results is None:
            err = exc
        else:
            r = results[i]
            if r[0] == 0 or r[0] == _native.ERR_CLIENT_CLOSED:
                continue
            err = _result_error(r)
        if getattr(err, "code", None) == _native.ERR_CLIENT_CLOSED:
            continue
        tally[0] += 1
        if tally[1] is None:
            tally[1] = err


_EVENT = struct.Struct(_layouts.EVENT_FORMAT)
# The sync send's C fast path (gofka._speedups.send_wait); None without
# the speedups.
fast_send_wait: Optional[Callable[..., Any]] = _speedups.send_wait if _speedups is not None else None
# produce() pushes pending records itself beyond this many.
_PUSH_RECORDS = 4096
# The most events one _drain takes. An event is one chunk's results (16 B
# per record, e.g. 64 KiB for 4,096 records): taking every event at once
# held, for a million records produced without a poll, ~16 MB of results
# three times over (the library's buffer, its copy, the per-event slices)
# plus the backlog's records; poll serves 64 events at a time instead
# (each drain is one library call).
_DRAIN_EVENTS = 64


# --------------------------------------------------------------------------
# Producer
# --------------------------------------------------------------------------


class Producer(ProducerBase, HandleOwner):
    """A synchronous Kafka producer.

    Two ways to send:

    - ``send`` / ``send_string`` / ``send_batch`` block until the broker
      acknowledges the records and return their offsets. One producer may be
      shared by many threads; calls run in parallel with the GIL released,
      and concurrent sends are batched together by the engine.
    - ``produce`` (confluent-kafka style) buffers a record and returns at
      once; ``poll`` and ``flush`` deliver the results to the
      ``on_delivery(err, message)`` callbacks, in the thread that calls them
      (never on a library thread).

    Args:
        brokers: comma-separated bootstrap brokers, e.g. ``"localhost:9092"``.
        client_id: client identifier sent to the brokers.
        timeout: connection and request timeout in seconds; blocking calls
            (``send``, ``flush()`` without a timeout, ``close``) are bounded
            by it.

    Keyword-only options (None = the engine's default, see
    docs/configuration.md):
        compression: ``None``/``"none"``, ``"gzip"``, ``"snappy"``, ``"lz4"``
            or ``"zstd"`` (per batch).
        compression_level: the codec's level (compression.level, as in
            librdkafka; default -1, the codec's default): gzip 0..9, lz4
            0..12, zstd 0..12, snappy none; another level is ValueError.
            docs/configuration.md says which library level each maps to.
        acks: ``"all"`` (or -1, the default), 1 or 0. With ``acks=0`` the
            returned offsets are -1.
        batch_size: bytes of one record batch (default 1 MiB).
        linger_ms: how long a batch that is not full waits for more records
            (default 0).
        max_in_flight: produce requests in flight per broker (default 5; at
            most 5 with idempotence).
        enable_idempotence: idempotent producer (default: on with
            acks='all'); retries then neither duplicate nor reorder.
        retry_policy: a :class:`gofka.RetryPolicy` (or an object with its
            attributes) for retries and their backoff.
        delivery_timeout_ms: a record not acknowledged within this fails
            with ProduceError DELIVERY_TIMEOUT (default 120000).
        buffer_memory: bytes of buffered records (default 32 MiB); when
            full, sends wait (``produce`` up to ``timeout``).
        max_request_size: bytes of one request and largest record (default
            1 MiB; larger records fail with MESSAGE_TOO_LARGE_LOCAL).
        allow_auto_create_topics: let the broker create missing topics
            (default True); with False an unknown topic is a MetadataError.
        connection_pool: a :class:`gofka.ConnectionPool` to share
            connections with.
        transactional_id: makes the producer transactional
            (``transactional.id``; needs acks='all' and idempotence): call
            ``init_transactions()`` once, then send inside transactions
            (``with producer.transaction():``); docs/transactions.md.
        transaction_timeout_ms: how long the coordinator lets a
            transaction stay open before aborting it (default 60000).
        partitioner: ``partitioner(key, num_partitions, topic) -> int``,
            as kafka-python's: called in the sending thread for records
            sent without ``partition`` (keyed or not; its exceptions
            propagate to the caller); partition counts are cached for 30 s.
            Also the ``partitioner`` attribute (may be replaced).
        use_ssl, ssl_cafile, ssl_certfile, ssl_keyfile, ssl_password,
        ssl_check_hostname, security_protocol, sasl_mechanism, sasl_username,
        sasl_password, sasl_oauth_token_provider: TLS and SASL (see
            docs/security.md).
        security: the same TLS/SASL options as one :class:`gofka.SecuritySettings`
            (keyword; instead of those keywords, not with them).
        config: a dict of further Kafka property names to values
            (docs/configuration.md), as for the consumers; its keys win
            over those the other arguments make, except the ones the
            Python side reads too (``max.request.size``, ``buffer.memory``,
            ``compression.type``, ``acks``: ValueError, use the keyword).
        exit_timeout: seconds an implicit close waits for buffered records
            (default: the GOFKA_EXIT_TIMEOUT environment variable, else
            5). A producer still open at interpreter exit (normal end,
            ``sys.exit()``, an uncaught exception), or garbage-collected
            unclosed (``del p``, a dead reference cycle), is closed with
            this bound: callbacks are served, and records not delivered
            by then fail with CLIENT_CLOSED and are reported on stderr and
            the ``gofka.producer`` logger. Only in the process that created
            the producer: a forked child never touches its parent's engine.

    Partitioning: an explicit partition is used as is (one the topic does
    not have fails with MetadataError PARTITION_NOT_FOUND); ``partition=None``
    lets the engine choose: murmur2 of the key as the Java client does, or
    the sticky partitioner for records without a key. When no partition is
    passed, the custom ``partitioner`` decides if there is one; otherwise
    a key chooses it on every path: the record goes where the Java client
    puts it, toPositive(murmur2(key)) % partitions. Without a key,
    ``send``, ``send_string`` and ``send_batch`` keep the documented default
    partition 0, and ``produce`` uses the sticky partitioner.

    Headers, on every path: a dict of str -> bytes / str / None, or a list
    of (str, bytes / str / None) pairs, in which a key may repeat (as
    Kafka allows).

    The native client is created in the constructor, without network I/O;
    ``connect()`` connects eagerly, otherwise the first send connects.

    Statistics: ``stats()`` returns a snapshot dict (docs/statistics.md).
    With the keywords ``stats_interval_ms`` (default 0 = off) and
    ``on_stats``, the client calls ``on_stats(stats_dict)`` every interval
    in a daemon thread of its own; see gofka._stats.
    """

    @takes_keywords(PRODUCER_KEYWORDS)
    @argument_errors(ProduceError)  # invalid arguments: ProduceValueError / ProduceTypeError
    def __init__(
        self,
        brokers: str,
        client_id: str = "gofka-python-producer",
        timeout: int = 30,
        *,
        compression: Optional[str] = None,
        batch_size: Optional[int] = None,
        linger_ms: Optional[float] = None,
        max_in_flight: Optional[int] = None,
        partitioner: Optional[Callable[[Optional[bytes], int, str], int]] = None,
        use_ssl: bool = False,
        **keywords: Unpack[ProducerKeywords],
    ) -> None:
        self._queue: Any = None
        # the constructor's arguments with the keywords it shares with AsyncProducer (defaults filled in)
        arguments = PRODUCER_KEYWORDS.arguments("Producer", locals(), keywords)
        super().__init__(arguments)  # options, security= or the TLS/SASL keywords: ProducerBase
        # produce()/poll() state: tokens, callbacks and undelivered events.
        self._tokens = itertools.count(1)
        self._served = 0  # events served (guarded by _poll_lock)
        self._poll_lock = threading.RLock()
        self._backlog: Deque[List[Any]] = deque()
        self._push_lock = threading.Lock()  # pushes happen one at a time, in order
        self._batches: Dict[int, Any] = {}  # event token -> its records (ChunkRecords, or a list of record tuples)
        self._drained_all = True  # whether the last _drain took every event due (under _poll_lock)
        self._wake = threading.Event()
        self._flusher: Optional[threading.Thread] = None
        self._record_limit = min(self._opts.max_request_size or (1 << 20), self._opts.buffer_memory or (32 << 20))
        # produce() records not yet handed to the library, and produce()
        # itself (C speedups or pure Python, see PendingRecords).
        self._pending = PendingRecords(self, normalize_record, PARTITION_DEFAULT, self._record_limit, _PUSH_RECORDS)
        self._bind_produce()
        # poll(0) finding nothing due is answered in C (IdlePoll) unless a
        # subclass overrides poll; None without the C speedups. Its fd and
        # the queue's ready flag it reads follow self._queue (set in
        # _event_queue; fd -1 once released, before the queue is closed).
        self._idle_poll: Any = None
        if _speedups is not None and type(self).poll is Producer.poll:
            self._idle_poll = _speedups.IdlePoll(self, Producer.poll, self._backlog)
            self.poll = self._idle_poll  # type: ignore[method-assign]
        self._queues = _QueuePool()  # private event queues of blocking sends
        # The thread serving callbacks now (under _poll_lock), else None: a
        # poll/flush/close made from a callback sees it (re-entrant call).
        self._serving: Optional[int] = None
        self._close_deadline = 0.0  # while closing: bound of buffer-room waits
        self._engine_closed = False  # gofka_producer_close returned
        # While an implicit close runs: [count, first error] of records
        # without a callback that failed (else nobody would hear of them).
        self._silent_failures: Optional[List[Any]] = None
        self._open_handle()

    def connect(self) -> None:
        """Connects to the cluster now (optional: sends connect on demand).
        Raises gofka.exceptions.ConnectionError when no broker answers within
        ``timeout``."""
        self._call_sliced(_native.lib.gofka_producer_connect, self._timeout_ms)
        self._connected = True


    def _call_sliced(self, fn: Callable[..., int], *args: Any) -> None:
        """``_call`` from a helper thread, joined in 200 ms slices so that
        Ctrl-C interrupts the caller (the call itself ends within its own
        timeout)."""
        result: List[BaseException] = []

        def run() -> None:
            try:
                self._call(fn, *args)
            except BaseException as exc:
                result.append(exc)

        t = threading.Thread(target=run, name="gofka-producer-call", daemon=True)
        t.start()
        while t.is_alive():
            t.join(0.2)
        if result:
            raise result[0]

    def _partitioner_changed(self) -> None:
        self._bind_produce()

    def _bind_produce(self) -> None:
        """produce is PendingRecords.produce itself (one call less per
        record) unless a subclass overrides it or a custom partitioner must
        run first (Producer.produce then does)."""
        if type(self).produce is Producer.produce and self._partitioner is None:
            self.produce = self._pending.produce  # type: ignore[method-assign]
        else:
            self.__dict__.pop("produce", None)

    def _custom_partition(self, topic: str, key: Optional[bytes]) -> int:
        """The custom partitioner's partition for a record of topic."""
        count = self._cached_partition_count(topic)
        if count is None:
            now = time.monotonic()
            count = self.partition_count(topic)
            self._remember_partition_count(topic, count, now)
        return self._custom_partition_of(topic, key, count)

    # -- blocking sends -----------------------------------------------------

    def send(
        self,
        topic: str,
        message: bytes,
        partition: Optional[int] = PARTITION_DEFAULT,
        *,
        key: Optional[bytes] = None,
        headers: Headers = None,
        timestamp: Optional[float] = None,
    ) -> int:
        """Sends one record and returns its offset once acknowledged.

        Args:
            topic: topic name.
            message: the record value (bytes, bytearray or memoryview).
            partition: the partition (>= 0; always wins over the key), or
                None to let the partitioner choose (murmur2 of the key,
                sticky without a key). Not passed: the custom
                ``partitioner`` decides if there is one; else a keyed
                record goes where the Java client puts it
                (toPositive(murmur2(key)) % partitions), one without a key
                to partition 0.
            key: the record key (bytes-like) or None.
            headers: a dict of str -> bytes / str / None, or a list of
                (str, bytes / str / None) pairs (a key may repeat).
            timestamp: record timestamp in seconds since the epoch; None = now.

        Raises ProduceError (e.g. MESSAGE_TOO_LARGE, DELIVERY_TIMEOUT),
        MetadataError (unknown topic without auto-creation, partition out of
        range), ConnectionError; TypeError / ValueError for bad arguments.
        """
        value = _native.as_bytes(message, "message")
        return self._send(topic, value, partition, _native.as_optional_bytes(key, "key"), headers, timestamp)

    def send_string(
        self,
        topic: str,
        message: str,
        partition: Optional[int] = PARTITION_DEFAULT,
        encoding: str = "utf-8",
        *,
        key: Optional[Union[str, bytes]] = None,
        headers: Headers = None,
        timestamp: Optional[float] = None,
    ) -> int:
        """Sends a str encoded with ``encoding``; returns its offset. ``key``
        may be a str (encoded the same way) or bytes; ``partition`` and
        ``headers`` as for :meth:`send` (a key chooses the partition when
        none is passed)."""
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
        partition: Any,
        key: Optional[bytes],
        headers: Headers,
        timestamp: Optional[float],
    ) -> int:
        topic_b = _native.encode_topic(topic)
        if partition is not PARTITION_DEFAULT:
            part = resolve_partition(partition, 0)
        elif self._partitioner is not None:
            part = self._custom_partition(topic, key)
        else:
            part = default_partition(key)
        packed_headers = _native.pack_headers(headers)
        ts = _native.timestamp_ms(timestamp)
        deadline = time.monotonic() + self.timeout
        q = self._queues.get()
        try:
            token = next(self._tokens)
            ev = None
            while True:
                if fast_send_wait is not None:
                    # The produce and the first wait slice in one C call: the
                    # offset, None (produced, still in flight) or a failure.
                    r = fast_send_wait(self._get(), q.handle, token, topic_b, part, key, value, packed_headers, ts,
                                   _native.slice_ms(deadline))
                    if type(r) is int:
                        return r
                    if r is None:
                        break
                    if r[0] == 1:  # (1, code, payload): the record failed
                        from ._bridge import Event

                        ev = Event(token, r[1], -1, -1, r[2])
                        break
                    code = r[1][0]  # (0, (code, name, message, broker, retriable)): the call failed
                    failure = functools.partial(_native.error_from_fields, *r[1])
                else:
                    err = _native.new_error()
                    code = _native.lib.gofka_producer_produce(
                        self._get(), q.handle, token, topic_b, part, key, -1 if key is None else len(key),
                        value, len(value), packed_headers or None, len(packed_headers), ts, byref(err))
                    if code == _native.OK:
                        break
                    failure = functools.partial(_native.make_error, code, err)
                if code != _native.ERR_QUEUE_FULL or time.monotonic() >= deadline:
                    if code in (_native.ERR_INVALID_HANDLE, _native.ERR_CLIENT_CLOSED) and self._handle == 0:
                        raise self._closed_error()  # closed by another thread meanwhile
                    raise failure()
                time.sleep(0.002)  # buffer.memory full: wait for deliveries
            if ev is None:
                ev = self._await_events(q, {token}, deadline)[token]
        finally:
            self._queues.put(q)
        if ev.code != _native.OK:
            raise self._event_error(ev)
        return ev.offset

    def _await_events(self, q: Any, tokens: Any, deadline: float) -> Dict[int, Any]:
        """Waits for the events of ``tokens`` on the private queue q, in
        slices of at most 200 ms so that Ctrl-C interrupts the wait (the
        records keep going: results that arrive later are dropped)."""
        got: Dict[int, Any] = {}
        while True:
            for ev in q.drain(65536, 0 if len(got) == len(tokens) else _native.slice_ms(deadline)):
                if ev.token in tokens:
                    got[ev.token] = ev
            if len(got) == len(tokens):
                return got
            if self._handle == 0:
                raise self._closed_error()
            if time.monotonic() >= deadline:
                raise error_from_code(_native.ERR_TIMED_OUT,
                                      "no acknowledgement within timeout=%ss (the records may still be written)"
                                      % self.timeout)

    def _event_error(self, ev: Any) -> GofkaError:
        if ev.code == _native.ERR_INVALID_HANDLE or (ev.code == _native.ERR_CLIENT_CLOSED and self._handle == 0):
            return self._closed_error()
        error: GofkaError = ev.error()  # a _bridge.Event
        return error

    def send_batch(
        self,
        topic: str,
        messages: List[bytes],
        partition: Optional[int] = PARTITION_DEFAULT,
        *,
        keys: Optional[Sequence[Optional[bytes]]] = None,
        headers: Any = None,
        timestamp: Any = None,
    ) -> List[int]:
        """Sends many values to one topic and returns their offsets, in
        order, once all are acknowledged. The batch crosses into the library
        in calls of at most 1 MiB (a quarter of ``buffer_memory`` if that
        is smaller; a batch mixing keyed and unkeyed records without
        ``partition`` in at least one call per run of each), each call's
        records joined only when it is made.

        Args:
            partition: the partition for all of them (wins over the keys),
                or None to let the partitioner choose per record. Not
                passed: the custom ``partitioner`` per record if there is
                one, else each keyed record goes where the Java client
                puts it (murmur2 of its key), the others to partition 0.
            keys: optional list of keys, one per message (bytes or None).
            headers: one set of headers for every message (a dict, or a
                list of (str, value) pairs), or a list of them, one per
                message.
            timestamp: one timestamp (seconds) for every message, or a list.

        On failure the first failed record's error is raised (nothing is
        returned) and the other records may or may not have been written.
        """
        topic_b = _native.encode_topic(topic)
        # Validation, partitions and chunks: ProducerBase._batch_plan.
        chunks, recs = self._batch_plan(messages, partition, keys, headers, timestamp)
        if recs is not None:  # the custom partitioner decides, per record
            chunks = self._batch_chunks_by_partition(recs, [self._custom_partition(topic, r[0]) for r in recs])
        if not chunks:
            return []
        deadline = time.monotonic() + self.timeout
        q = self._queues.get()
        try:
            tokens = [next(self._tokens) for _ in chunks]
            pending = set()
            got: Dict[int, Any] = {}
            err = _native.new_error()
            for token, (chunk_part, idxs, build) in zip(tokens, chunks):
                # Built now and dropped once the library took it (it copies
                # the records): the call holds one chunk's payload at a time.
                # While buffer.memory is full only this chunk's stays, to
                # retry with.
                payload = build()
                while True:
                    code = self._produce_chunk(self._get(), q.handle, token, topic_b, chunk_part, len(idxs), payload,
                                               err)
                    if code == _native.OK:
                        pending.add(token)
                        del payload
                        break
                    if code != _native.ERR_QUEUE_FULL or time.monotonic() >= deadline:
                        raise self._failure(code, err)
                    # buffer.memory is full: collect results of the chunks
                    # already sent while deliveries free room.
                    for ev in q.drain(65536, 5):
                        if ev.token in pending:
                            got[ev.token] = ev
            got.update(self._await_events(q, pending - set(got), deadline))
        finally:
            self._queues.put(q)
        offsets = [-1] * sum(len(c[1]) for c in chunks)
        for token, (_, idxs, _) in zip(tokens, chunks):
            ev = got[token]
            if ev.code != _native.OK:
                raise self._event_error(ev)
            self._place_offsets(offsets, idxs, ev.payload)
        return offsets

    # -- produce / poll / flush -------------------------------------------------
    #
    # produce() only validates and appends to a Python list; the list crosses
    # into the library in one gofka_producer_produce_batch call per topic and
    # partition (one completion event per call, expanded into per-record
    # results by _drain). Pushes happen in poll() and flush(), in produce()
    # once _PUSH_RECORDS are pending, and in a small flusher thread woken
    # when the list turns non-empty, so that a record is never held back
    # waiting for a poll. Callbacks only ever run in poll/flush/close.

    def produce(
        self,
        topic: str,
        value: Optional[bytes] = None,
        key: Optional[bytes] = None,
        partition: Optional[int] = PARTITION_DEFAULT,
        headers: Headers = None,
        timestamp: Optional[float] = None,
        on_delivery: Optional[Callable[[Optional[GofkaError], Message], Any]] = None,
        *,
        callback: Optional[Callable[[Optional[GofkaError], Message], Any]] = None,
    ) -> None:
        """Buffers one record for sending and returns without waiting for
        the broker (confluent-kafka's ``produce``).

        ``on_delivery(err, message)`` (alias ``callback``) is called from
        :meth:`poll`, :meth:`flush` or :meth:`close`, in the calling thread,
        with ``err`` None and the delivered :class:`~gofka.Message`
        (partition and offset set), or with the GofkaError of a failed
        record (e.g. ProduceError DELIVERY_TIMEOUT, MetadataError
        PARTITION_NOT_FOUND). Without a callback the result is only counted
        (``len(producer)``, :meth:`flush`).

        ``partition``: omitted, None or -1 lets the partitioner choose
        (omitted: the custom ``partitioner`` if there is one; else murmur2
        of the key as the Java client, sticky without a key); an int >= 0
        is used as is (it wins over the key). ``value`` None is a
        null value (a tombstone). ``headers``: a dict of str -> bytes / str
        / None or a list of (str, value) pairs (a key may repeat; the
        delivered message's ``header_list`` has them all). ``timestamp`` in
        seconds since the epoch (None = now).

        Raises at once: TypeError / ValueError for bad arguments,
        ProduceError MESSAGE_TOO_LARGE_LOCAL for a record larger than
        ``max_request_size``, GofkaError CLIENT_CLOSED after close, and
        ProduceError QUEUE_FULL when ``buffer_memory`` stayed full for
        ``timeout`` seconds (produce waits for room, like a blocking send).
        """
        # Producer.__init__ binds self.produce to self._pending.produce
        # directly (one call less per record); this body serves calls made
        # through the class, subclasses that override produce, and
        # producers with a custom partitioner (which runs here).
        if partition is PARTITION_DEFAULT and self._partitioner is not None:
            key = key if key is None or type(key) is bytes else optional_value(key, "key")
            partition = self._custom_partition(topic, key)
        self._pending.produce(topic, value, key, partition, headers, timestamp, on_delivery, callback=callback)

    def _too_large(self, size: int) -> GofkaError:
        return error_from_code(
            _native.ERR_MESSAGE_TOO_LARGE_LOCAL,
            "record of about %d bytes is larger than max_request_size/buffer_memory (%d)" % (size, self._record_limit),
        )

    def _queue_full(self) -> GofkaError:
        return error_from_code(_native.ERR_QUEUE_FULL, "buffer_memory stayed full for timeout=%ss" % self.timeout)

    def _wake_flusher(self) -> None:
        if self._flusher is None:
            # The first produce(): the event queue is made here rather than
            # at the flusher's first push, so that the poll(0) calls made
            # until then are answered in C (IdlePoll sends every call to
            # the Python method while there is no queue).
            if self._handle:
                self._event_queue()
            with self._lock:
                if self._flusher is None and self._handle:
                    t = threading.Thread(target=_flusher_loop, args=(weakref.ref(self), self._wake),
                                         name="gofka-producer-push", daemon=True)
                    self._flusher = t
                    t.start()
        self._wake.set()

    def _push(self, until: Optional[float] = None) -> bool:
        """Hands every pending produce() record to the library, in order.
        Returns False when buffer.memory stayed full for ``timeout`` (or
        until ``until``, a time.monotonic() deadline of the calling flush
        or close, or the deadline of a close started meanwhile); the
        records concerned then fail through their callbacks."""
        ok = True
        with self._push_lock:
            pend = self._pending.take()
            if not pend:
                return True
            handle = self._handle
            if handle == 0:
                self._fail_records(pend, self._closed_error())
                return True
            queue = self._event_queue()
            for topic_b, part, recs, payload in self._pending_chunks(pend, self._opts.chunk_bytes):
                ok = self._push_chunk(handle, queue, topic_b, part, recs, payload, until) and ok
        return ok

    def _push_chunk(self, handle: int, queue: Any, topic_b: bytes, part: int, recs: List[Any],
                    payload: Any, until: Optional[float] = None) -> bool:
        btoken = next(self._tokens)
        # Until its results are served the chunk is kept as ChunkRecords,
        # what its callbacks need in a few bytes per record (or none:
        # records without a callback), not as record tuples (~117 B each
        # with their list slots); recs itself is only needed below, for
        # a chunk the library refused.
        self._batches[btoken] = ChunkRecords(topic_b, part, recs)
        err = _native.new_error()
        deadline = 0.0
        while True:
            code = self._produce_chunk(handle, queue.handle, btoken, topic_b, part, len(recs), payload, err)
            if code == _native.OK:
                return True
            if code != _native.ERR_QUEUE_FULL:
                break
            # Wait for deliveries to free buffer room (the GIL is released
            # while sleeping; results keep arriving for poll to serve).
            now = time.monotonic()
            if not deadline:
                deadline = now + self.timeout if until is None else min(until, now + self.timeout)
            if now >= deadline or (self._close_deadline and now >= self._close_deadline):
                break  # (a close bounds every push, e.g. the push thread's)
            time.sleep(0.002)
        self._batches.pop(btoken, None)
        if code == _native.ERR_QUEUE_FULL:
            self._fail_records(recs, _native.make_error(code, err))
            return False
        # The batch as a whole was refused (e.g. one record too large for
        # the engine): send record by record so that only the bad ones fail.
        single = _native.lib.gofka_producer_produce
        for r in recs:
            kb, vb, hb = r[2], r[3], r[5]
            token = next(self._tokens)
            self._batches[token] = [r]
            code = single(handle, queue.handle, token, topic_b, part, kb, -1 if kb is None else len(kb),
                          vb, -1 if vb is None else len(vb), hb or None, len(hb), r[4], byref(err))
            if code != _native.OK:
                self._batches.pop(token, None)
                self._fail_records([r], self._failure(code, err))
        return True

    def _fail_records(self, recs: List[Any], exc: GofkaError) -> None:
        """Queues failure results for records (served by poll)."""
        self._backlog.append([recs, None, 0, exc])

    def _event_queue(self) -> Any:
        q = self._queue
        if q is None:
            from ._bridge import EventQueue

            with self._lock:
                if self._queue is None:
                    self._queue = EventQueue()
                    if self._idle_poll is not None:
                        # The flag first: it is read while fd >= 0.
                        self._idle_poll.flag = self._queue.ready_flag()
                        self._idle_poll.fd = self._queue.fd
                q = self._queue
        return q

    def poll(self, timeout: Optional[float] = None) -> int:
        """Serves delivery callbacks of ``produce``: hands pending records to
        the library (``poll(0)`` leaves that to the producer's flusher
        thread, which does it at once), waits up to ``timeout`` seconds
        (None or inf = until one arrives; 0 = do not wait; NaN or negative
        is a ValueError) for the first result, then calls the callbacks of
        every result available, in this thread. Returns the
        number of results served. An exception raised by a callback
        propagates; the results after it stay queued for the next poll.

        Called from a delivery callback (re-entrant), poll serves nothing
        and returns 0 at once (with a timeout it first hands buffered
        records to the engine): the
        poll/flush/close running the callback serves the other results
        once it returns, so each callback runs exactly once, in order.

        ``poll(0)`` with no result due is cheap (with the C speedups it
        is answered in C, gofka._speedups.IdlePoll, with one memory load:
        no library call, no system call), so calling it after every
        ``produce`` costs little."""
        if self._forked_from:
            raise self._closed_error()  # ForkError: the parent owns the records
        timeout = check_time("timeout", timeout, none_ok=True, unbounded=True)
        if timeout != 0 and len(self._pending):
            # A waiting poll hands pending records over itself. poll(0)
            # leaves them to the flusher thread, woken by produce() when
            # the first record became pending: pushing from poll(0), which
            # a confluent-kafka loop calls after every produce(), would
            # cross into the library once per record (and wake the
            # flusher once per record).
            self._push()
        if self._serving == threading.get_ident():
            # Called from a delivery callback: the poll/flush/close running
            # it serves the other results once it returns (serving them
            # here would run callbacks out of order, or twice).
            return 0
        q = self._queue
        if q is None:
            if self._backlog:  # e.g. records refused by a close racing with produce
                with self._poll_lock:
                    return self._serve()
            if timeout and timeout > 0 and self._handle:
                time.sleep(timeout)
            return 0
        if timeout == 0 and not self._backlog and self._idle_poll is None and not _select([q.fd], (), (), 0)[0]:
            # Nothing due: the queue's wake pipe is readable while results
            # wait (_bridge.EventQueue), so poll(0) needs no library call.
            # With the C speedups, IdlePoll asked the queue's ready flag
            # before calling this method: the pipe is not asked again, as
            # its byte is written just after the flag is set (a call made
            # in between would find no result due and serve nothing).
            return 0
        forever = timeout is None  # check_time: inf is None here, negative refused
        deadline = time.monotonic() + (0 if timeout is None else timeout)
        with self._poll_lock:
            while True:
                if not self._backlog:
                    left = 0.2 if forever else max(0.0, deadline - time.monotonic())
                    # Wait in slices so that Ctrl-C works (the GIL is
                    # released while the library waits).
                    self._drain(q, min(left, 0.2))
                if self._backlog:
                    served = self._serve()
                    more = (1 << 20) // _DRAIN_EVENTS  # events one drain took before, at most
                    while not self._drained_all and more and self._queue is not None and self._handle:
                        # The last drain took _DRAIN_EVENTS: serve what
                        # else is due now, as one poll always did.
                        more -= 1
                        self._drain(self._queue, 0)
                        served += self._serve()
                    if self._handle == 0 and self._queue is not None:
                        # A callback closed the producer: serve what its
                        # close failed, then release the queue.
                        self._release_queue()
                    return served
                if not forever and time.monotonic() >= deadline:
                    return 0
                if self._queue is None:
                    return 0

    def _drain(self, q: Any, wait: float) -> None:
        """Moves up to _DRAIN_EVENTS available events into the backlog (one
        library call; _drained_all tells whether it took fewer, i.e. no
        more were due). A backlog entry is [records, results, position,
        error]: results holds (code, partition, offset) per record, then
        the error payloads."""
        buf = ctypes.c_void_p()
        length = ctypes.c_size_t()
        count = ctypes.c_int32()
        err = _native.new_error()
        code = _native.lib.gofka_queue_drain(
            q.handle, _DRAIN_EVENTS, int(wait * 1000), byref(buf), byref(length), byref(count), byref(err)
        )
        self._drained_all = code != _native.OK or count.value < _DRAIN_EVENTS
        if code != _native.OK or count.value == 0:
            return
        data = _native.take_buffer(buf, length)
        unpack = _EVENT.unpack_from
        size = _EVENT.size
        pos = 0
        append = self._backlog.append
        batches = self._batches
        for _ in range(count.value):
            token, code, part, off, n = unpack(data, pos)
            pos += size
            payload = data[pos:pos + n] if n else b""
            pos += n
            recs = batches.pop(token, None)
            if recs is None:
                continue  # not ours (cannot happen: the queue is private)
            if code != 0 or n == 0:
                # A single record's event (the fallback path: code 0 with
                # partition and offset, or the error and its payload); a
                # batch event always has code 0 and a results payload.
                if code == 0:
                    append([recs, [(0, part, off)], 0, None])
                else:
                    append([recs, [(code, part, off, payload)], 0, None])
                continue
            rsize = BATCH_RESULT.size * len(recs)
            if len(payload) == rsize:
                # No failures (capi's batchDelivery puts a message after
                # the results for every failed record): serve_entry reads
                # the results straight from the payload.
                append([recs, payload, 0, None])
                continue
            results = list(BATCH_RESULT.iter_unpack(payload[:rsize]))
            if len(payload) > rsize:
                # Error payloads follow the results, one per failed record.
                mpos = rsize
                for j, (rc, rp, ro) in enumerate(results):
                    if rc:
                        (mn,) = U32.unpack_from(payload, mpos)
                        results[j] = (rc, rp, ro, payload[mpos + 4:mpos + 4 + mn])
                        mpos += 4 + mn
            append([recs, results, 0, None])

    def _serve(self) -> int:
        """Calls the callbacks of the backlog (under _poll_lock); records
        without a callback are only counted."""
        served = 0
        backlog = self._backlog
        now = time.time()
        me = threading.get_ident()
        if self._serving == me:
            return 0  # re-entrant (see poll)
        self._serving = me
        try:
            while backlog:
                entry = backlog[0]
                before = entry[2]
                if self._silent_failures is not None:
                    _tally_silent_failures(entry, self._silent_failures)
                try:
                    serve_entry(entry, now, _result_error, _headers_dict, self._pending)
                finally:
                    served += entry[2] - before
                backlog.popleft()
        finally:
            self._serving = None
            self._served += served
        return served

    def _unresolved(self) -> int:
        """Records given to produce whose result has not arrived yet (nor
        waits in the backlog)."""
        waiting: int = sum(len(e[0]) - e[2] for e in list(self._backlog))
        return max(0, len(self) - waiting)

    def __len__(self) -> int:
        """Records given to ``produce`` whose result has not been served
        yet (confluent-kafka's ``len(producer)``)."""
        produced: int = self._pending.produced
        return max(0, produced - self._served)

    def flush(self, timeout: Optional[float] = None) -> int:
        """Sends everything buffered now (ignoring ``linger_ms``), waits for
        every record's result and serves the ``produce`` callbacks (in this
        thread), for up to ``timeout`` seconds (None = the producer's
        ``timeout``). Returns the number of ``produce`` records still
        without a result (0 when all are done).

        Called from a delivery callback (re-entrant), flush hands buffered
        records to the engine and waits up to ``timeout`` for their
        results to arrive, but serves no callback: the poll/flush/close
        running the callback serves them, in order, once it returns."""
        if self._forked_from:
            raise self._closed_error()  # ForkError: the parent owns the records
        timeout = check_time("timeout", timeout, none_ok=True)
        if timeout is None:
            timeout = self.timeout
        deadline = time.monotonic() + timeout
        if self._serving == threading.get_ident():
            # Always through _push (see _push_for_txn): its lock waits for
            # records the push thread took but has not handed over yet.
            self._push(deadline)
            while self._handle:  # in slices: Ctrl-C stays responsive
                err = _native.new_error()
                code = _native.lib.gofka_producer_flush(self._handle, _native.slice_ms(deadline), byref(err))
                if code not in (_native.OK, _native.ERR_TIMED_OUT):
                    raise self._failure(code, err)
                if code == _native.OK or time.monotonic() >= deadline:
                    break
            return len(self)
        # poll through the class, not the instance's IdlePoll: that one
        # holds the producer weakly, and a flush run by the finalizer of a
        # producer collected in a reference cycle finds the weak reference
        # already cleared (RuntimeError, callbacks not served).
        poll = type(self).poll
        while True:
            if self._handle == 0:
                poll(self, 0)
                break
            self._push(deadline)  # (waits for the push thread's records, as above)
            wait_ms = _native.slice_ms(deadline)
            if not self._opts.linger_ms and len(self) and wait_ms > 0:
                # With no linger there is nothing to force out: this
                # producer's results arrive on its event queue, and poll
                # waits for them in the kernel (its pipe). The engine's
                # flush below, a park of this thread's goroutine, then
                # finds nothing of ours outstanding and returns at once
                # (it still waits for other threads' sends). Saves ~0.2 ms
                # per produce+flush of one record.
                poll(self, wait_ms / 1000.0)
                continue
            err = _native.new_error()
            code = _native.lib.gofka_producer_flush(self._get(), wait_ms, byref(err))
            if code not in (_native.OK, _native.ERR_TIMED_OUT):
                raise self._failure(code, err)
            while self._queue is not None and len(self) > 0:
                if poll(self, 0) == 0:
                    break
            if code == _native.OK and len(self) == 0 and not len(self._pending):
                return 0
            if time.monotonic() >= deadline:
                break
        return len(self)

    def partition_count(self, topic: str) -> int:
        """The number of partitions of ``topic`` (loads its metadata when
        needed, creating the topic when auto-creation is on)."""
        topic_b = _native.encode_topic(topic)
        out = ctypes.c_int32()
        self._call_sliced(_native.lib.gofka_producer_partition_count, topic_b, self._timeout_ms, byref(out))
        return out.value

    # ---- transactions (docs/transactions.md) ----

    def init_transactions(self, timeout: Optional[float] = None) -> None:
        """Registers ``transactional_id`` with its transaction coordinator
        and fences any earlier producer with the same id (its open
        transaction is aborted). Once, before the first transaction.
        Blocks up to ``timeout`` seconds (None = delivery_timeout_ms); after
        a TIMED_OUT error it may be called again. A producer without
        ``transactional_id`` raises GofkaError INVALID_ARGUMENT."""
        self._call_sliced(_native.lib.gofka_producer_init_transactions, self._txn_ms(self._txn_deadline(timeout)))

    def begin_transaction(self) -> None:
        """Starts a transaction: every send from now until
        ``commit_transaction`` / ``abort_transaction`` belongs to it. Local,
        never blocks. Out of order (before ``init_transactions``, or with a
        transaction open) it raises ProduceError INVALID_TXN_STATE."""
        self._call(_native.lib.gofka_producer_begin_transaction)

    def commit_transaction(self, timeout: Optional[float] = None) -> None:
        """Sends every record of the transaction (``produce`` records
        included), then commits it: its records become visible to
        read_committed consumers, and the offsets sent with
        ``send_offsets_to_transaction`` are committed. Blocks up to
        ``timeout`` seconds (None = delivery_timeout_ms). Raises
        TransactionAbortableError when a record or the offsets were
        refused (call ``abort_transaction``), TransactionFatalError when
        the producer was fenced (close it); after TIMED_OUT it may be
        called again. ``produce`` callbacks are served by poll/flush as
        usual."""
        deadline = self._txn_deadline(timeout)
        self._push_for_txn(deadline)
        self._call_sliced(_native.lib.gofka_producer_commit_transaction, self._txn_ms(deadline))

    def abort_transaction(self, timeout: Optional[float] = None) -> None:
        """Aborts the transaction: records not sent yet fail
        (OPERATION_NOT_ATTEMPTED, through their callbacks or the sends
        waiting for them), and read_committed consumers never see what it
        wrote. Blocks up to ``timeout`` seconds (None =
        delivery_timeout_ms); after TIMED_OUT it may be called again."""
        deadline = self._txn_deadline(timeout)
        self._push_for_txn(deadline)
        self._call_sliced(_native.lib.gofka_producer_abort_transaction, self._txn_ms(deadline))

    def send_offsets_to_transaction(self, offsets: Mapping[Any, int], group_metadata: GroupMetadata,
                                    timeout: Optional[float] = None) -> None:
        """Adds a consumer group's offsets to the current transaction: the
        group commits them when, and only when, the transaction commits
        (exactly-once consume-transform-produce). ``offsets`` maps
        TopicPartition (or (topic, partition)) to the next offset to
        consume, ``message.offset + 1``; ``group_metadata`` is
        ``consumer.group_metadata()`` taken just before. Blocks up to
        ``timeout`` seconds (None = delivery_timeout_ms). A member fenced by
        a rebalance raises TransactionAbortableError."""
        self._call_sliced(_native.lib.gofka_producer_send_offsets_to_transaction,
                          *self._send_offsets_args(offsets, group_metadata, timeout))

    @contextlib.contextmanager
    def transaction(self, timeout: Optional[float] = None) -> Iterator["Producer"]:
        """``with producer.transaction():`` begins a transaction, commits it
        when the block ends, and aborts it when the block raises (the
        exception propagates; a TransactionFatalError is not aborted: the
        producer can only be closed). A commit that fails with
        TransactionAbortableError is aborted before the error propagates,
        so the producer is ready for the next transaction. ``timeout``
        bounds the commit and the abort, each."""
        self.begin_transaction()
        try:
            yield self
        except BaseException as exc:
            if self._aborts_after(exc):
                self.abort_transaction(timeout)
            raise
        try:
            self.commit_transaction(timeout)
        except TransactionAbortableError:
            self.abort_transaction(timeout)
            raise

    def _push_for_txn(self, deadline: Optional[float]) -> None:
        """Hands the ``produce`` records still buffered on the Python side
        to the library, so that they belong to the transaction that ends.

        Always through ``_push``, even with the buffer empty: its lock
        waits for a push under way on the push thread, which may hold
        records it took from the buffer but has not handed over yet.
        Checking ``len(self._pending)`` alone let a commit go ahead
        without them (they then failed with INVALID_TXN_STATE after a
        successful commit) or an abort (they then joined the next
        transaction)."""
        self._push(deadline)

    def _after_fork_in_child(self) -> None:
        # Called by _native's fork hook in a child forked after __init__ (the
        # handle reads 0 already): produce() raises ForkError, and locks a
        # thread of the parent may have held are new.
        self._pending.closed = True
        if self._idle_poll is not None:
            self._idle_poll.fd = -1  # poll(0) reaches the method, which raises ForkError
        self._push_lock = threading.Lock()
        self._poll_lock = threading.RLock()

    def close(self, timeout: Optional[float] = None) -> None:
        """Flushes (serving ``produce`` callbacks), then closes every
        connection, all within ``timeout`` seconds (None = the producer's
        ``timeout``; 0 = do not wait): one deadline bounds the whole call.
        Records not delivered by then fail: their callbacks get
        CLIENT_CLOSED (or their error) before close returns, and a warning
        is logged. Idempotent; calls after close raise GofkaError
        CLIENT_CLOSED.

        Called from a delivery callback, close closes the producer at once
        (within ``timeout``), and the poll/flush running the callback then
        serves the remaining callbacks, each exactly once."""
        if self.closed:
            return
        timeout = check_time("timeout", timeout, none_ok=True)
        if timeout is None:
            timeout = self.timeout
        left, code, err = self._close(timeout)
        if code == _native.ERR_TIMED_OUT:
            _log.warning("producer closed with %d record(s) not delivered within timeout=%ss "
                         "(they failed with CLIENT_CLOSED): %s", left, timeout, _native.make_error(code, err))

    def _close(self, timeout: float) -> Tuple[int, int, Any]:
        """close() with ``timeout`` seconds for everything. Returns the
        records that had no result when the flush ended (close then failed
        them), and the code and error of gofka_producer_close."""
        deadline = time.monotonic() + timeout
        self._close_deadline = deadline
        try:
            if len(self) or len(self._pending):
                self.flush(max(0.0, deadline - time.monotonic()))
        except GofkaError:
            pass
        except Exception:
            # A callback raised: go on closing (the results after it are
            # served below).
            _log.exception("delivery callback raised during close")
        q = self._queue
        if q is not None and self._serving == threading.get_ident():
            with self._poll_lock:  # from a callback: count what arrived
                self._drain(q, 0)
                while not self._drained_all:
                    self._drain(q, 0)
        left = self._unresolved()
        self._pending.closed = True  # produce() refuses from here on
        self._push(deadline)
        handle = self._release_handle()
        if not handle:
            # Closed meanwhile: by a callback this close served (its engine
            # close is done: serve what it failed and release the queue
            # here), or by another thread (which releases it itself).
            if self._engine_closed and self._serving != threading.get_ident():
                self._release_queue()
            return 0, _native.OK, None
        self._wake.set()  # the flusher thread sees the closed handle and ends
        code, err = self._close_engine(handle, deadline)
        self._engine_closed = True
        if code not in (_native.OK, _native.ERR_TIMED_OUT):
            raise _native.make_error(code, err)
        self._queues.close()
        if self._serving != threading.get_ident():
            # (From a callback, the poll running it releases the queue.)
            self._release_queue()
        return left, code, err

    def _release_queue(self) -> None:
        """After close: serves the results still queued (the failures close
        posted before it returned), then releases the event queue."""
        with self._poll_lock:
            q = self._queue
            if q is None:
                return
            try:
                while True:
                    self._drain(q, 0)
                    while self._backlog:
                        try:
                            self._serve()
                        except Exception:
                            _log.exception("delivery callback raised during close")
                    if self._drained_all:
                        break
            finally:
                if self._idle_poll is not None:
                    self._idle_poll.fd = -1  # before the fd is closed (and reused)
                self._queue = None
                q.close()

    def _implicit_close(self, why: str, deadline: float) -> None:
        """Closes an unclosed producer (exit hook, garbage collection)
        within ``deadline``, reporting undelivered records."""
        if self.closed:
            return
        silent: List[Any] = [0, None]  # [count, first error]
        self._silent_failures = silent
        try:
            left, code, err = self._close(max(0.0, deadline - time.monotonic()))
        finally:
            self._silent_failures = None
        timed_out = code == _native.ERR_TIMED_OUT  # else everything got its result
        self._report_unheard(why, silent[0], silent[1], left if timed_out else 0)
        if timed_out and not left:  # e.g. blocking sends of other threads
            _log.warning("producer %s: close timed out: %s", why, _native.make_error(code, err))



class _QueuePool(object):
    """Event queues for blocking sends: each send takes one for its wait
    and gives it back (results that arrive after a send gave up are
    dropped by the next user: tokens never repeat). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: List[Any] = []
        self._all: List[Any] = []
        self._closed = False

    def get(self) -> Any:
        with self._lock:
            if self._free:
                return self._free.pop()
            if self._closed:
                raise error_from_code(_native.ERR_CLIENT_CLOSED, "producer is closed")
        from ._bridge import EventQueue

        q = EventQueue()
        with self._lock:
            self._all.append(q)
            if self._closed:
                q.close()
        return q

    def put(self, q: Any) -> None:
        with self._lock:
            if not self._closed:
                self._free.append(q)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            queues, self._all, self._free = self._all, [], []
        for q in queues:
            q.close()


def normalize_record(topic: Any, value: Any, key: Any, partition: Any, headers: Any,
                     timestamp: Any) -> Tuple[bytes, int, Optional[bytes], Optional[bytes], int, bytes]:
    """Validates and converts produce() arguments, in this order, into
    (topic_b, partition, key, value, ts_ms, headers_b); raises TypeError /
    ValueError. The one place produce() validation lives: both
    PendingRecords call it for every argument they do not take as is."""
    topic_b = _native.encode_topic(topic)
    vb = value if type(value) is bytes else optional_value(value, "value")
    kb = key if key is None or type(key) is bytes else optional_value(key, "key")
    part = resolve_partition(partition, -1)
    hb = _native.pack_headers(headers) if headers else b""
    ts = _native.timestamp_ms(timestamp)
    return topic_b, part, kb, vb, ts, hb


def _serve_entry_py(entry: List[Any], now: float, result_error: Callable[[Any], GofkaError],
                    headers_dict: Callable[[Any], Any], callbacks: Any = None) -> None:
    """Calls the delivery callbacks of one backlog entry [records, results,
    position, error] from its position on, advancing the position before
    each call (so an exception from a callback leaves the rest for the next
    poll). records: a list of record tuples, or the ChunkRecords of a
    chunk the library took (any sequence of record tuples). results
    None: every record failed with ``error``; bytes: every record
    succeeded, the batch event's results as they came (BATCH_RESULT.size bytes
    each, gofka.h). Item 7 of a record tuple is its callback, None, or (as
    PendingRecords stores it) an int slot that ``callbacks.take_callback``
    turns into the callback, once per record."""
    recs, results, i, exc = entry
    n = len(recs)
    if isinstance(results, bytes):
        if len(results) < BATCH_RESULT.size * n:
            raise ValueError("serve_entry: fewer results than records")
        results = [(0, part, off) for part, off in RESULT_PARTITION_OFFSET.iter_unpack(results[:BATCH_RESULT.size * n])]
    while i < n:
        rec = recs[i]  # (a _PyChunkRecords rebuilds the tuple)
        topic, part, key, value, ts, h, cb = rec[8], rec[1], rec[2], rec[3], rec[4], rec[9], rec[7]
        i += 1
        entry[2] = i
        if cb is None:
            continue
        if type(cb) is int:
            if callbacks is None:
                raise TypeError("serve_entry: a record holds a callback slot and no callbacks table was given")
            cb = callbacks.take_callback(cb)
        if results is None:
            cb(exc, Message(topic, part, -1, value, headers_dict(h), ts / 1000.0 if ts >= 0 else now, key))
            continue
        r = results[i - 1]
        msg = Message(topic, r[1], r[2], value, headers_dict(h) if h else None, ts / 1000.0 if ts >= 0 else now, key)
        cb(None if r[0] == 0 else result_error(r), msg)


# The record fields a handed-over chunk keeps (_PyChunkRecords.columns):
# what the delivery callbacks need, by record tuple item.
_KEPT_ITEMS = (8, 2, 3, 4, 9, 7)  # topic, key, value, ts_ms, headers, callback slot


class _PyChunkRecords(object):
    """Pure-Python ChunkRecords (gofka._speedups has the C one; same
    interface and behaviour, see _speedups_src/batch.c): the records of one
    chunk the library took, kept for their delivery callbacks in fewer
    bytes than their record tuples (issue 22: the record tuples and their
    list slots held ~117 B per record, measured with tracemalloc, until
    the record's result was served: ~10 MB for the ~86,000 records of a
    full buffer.memory of 100 B records, ~117 MB for a million records
    produced without a poll).

    A column per field the callbacks need (_KEPT_ITEMS: topic, key, value,
    ts_ms, headers, callback slot), each stored once for the chunk when
    every record has the same object there (the usual: one topic, no key,
    no timestamp, no headers, one callback), else as a list with one item
    per record. Records without a callback need nothing: when none of the
    chunk has one, only their count is kept. topic_b and the partition are
    the chunk's own. Items 5 (headers_b) and 6 (size) are not kept: only
    the hand-over needed them.

    ``len()`` is the record count; ``chunk[i]`` rebuilds record i's tuple
    (items 5 and 6 None; all but 0 and 1 None for a chunk without
    callbacks), for the paths that read records one by one (serve_entry on
    a sequence, _tally_silent_failures). Immutable once built: safe to
    read from any thread."""

    __slots__ = ("n", "topic_b", "part", "columns", "per_record")

    def __init__(self, topic_b: bytes, part: int, recs: List[Any]) -> None:
        self.n = n = len(recs)
        self.topic_b = topic_b
        self.part = part
        columns: List[Any] = [None] * 6
        per_record = [False] * 6
        if any(r[7] is not None for r in recs):
            for c, item in enumerate(_KEPT_ITEMS):
                first = recs[0][item]
                # Identity, so that a callback gets the very objects it
                # passed; for the ints (ts_ms, slot) equality: a slot above
                # 256 is a new int object per record.
                if all(r[item] is first for r in recs) or (item in (4, 7) and type(first) is int and all(
                        type(r[item]) is int and r[item] == first for r in recs)):
                    columns[c] = first
                else:
                    columns[c] = [r[item] for r in recs]
                    per_record[c] = True
        self.columns = tuple(columns)
        self.per_record = tuple(per_record)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Tuple[Any, ...]:
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError("ChunkRecords index out of range")
        topic, key, value, ts, headers, slot = (col[i] if per else col
                                                for col, per in zip(self.columns, self.per_record))
        return (self.topic_b, self.part, key, value, ts, None, None, slot, topic, headers)


def _result_error(r: Any) -> GofkaError:
    """The error of a failed record's result (code, partition, offset,
    payload "message NUL broker")."""
    message, _, broker = (r[3] if len(r) > 3 else b"").partition(b"\0")
    return error_from_code(r[0], message.decode("utf-8", "replace"), broker=broker.decode("utf-8", "replace") or None)


class _PyPendingRecords(object):
    """Pure-Python PendingRecords (gofka._speedups has the C one; same
    interface and behaviour, see _speedups_src/pending.c): the records produce()
    accepted and the push thread has not taken yet, and produce() itself.
    Calls back into the owning Producer (held weakly) for _closed_error,
    _too_large, _push, _queue_full and _wake_flusher. Thread-safe."""

    def __init__(self, owner: Any, normalize: Callable[..., Any], default_partition: Any, record_limit: int,
                 push_records: int) -> None:
        self._owner = weakref.ref(owner)
        self._normalize = normalize
        self._default = default_partition
        self._limit = record_limit
        self._push_records = push_records
        self._topics: Dict[str, bytes] = {}
        self._pend: List[Any] = []  # guarded by _lock
        self._lock = threading.Lock()
        # The callback table (see pending.c): record tuples hold a slot of
        # _cbs, not the callback, so that they hold only atomic items and
        # the cyclic GC untracks them; _counts[slot] records use a slot
        # (0 = free, in _free). Guarded by _lock.
        self._cbs: List[Any] = []
        self._counts: List[int] = []
        self._free: List[int] = []
        self._last = -1
        self.produced = 0  # records accepted (guarded by _lock)
        self.closed = False

    def _call(self, name: str, *args: Any) -> Any:
        owner = self._owner()
        if owner is None:
            raise RuntimeError("the producer was garbage-collected")
        return getattr(owner, name)(*args)

    def produce(self, topic: Any, value: Any = None, key: Any = None, partition: Any = PARTITION_DEFAULT,
                headers: Any = None, timestamp: Any = None, on_delivery: Any = None, *, callback: Any = None) -> None:
        if on_delivery is not None and callback is not None:
            raise TypeError("pass on_delivery or callback, not both")
        cb = on_delivery if on_delivery is not None else callback
        if cb is not None and not callable(cb):
            raise TypeError("on_delivery must be callable")
        if partition is self._default or partition is None:
            partition = -1
        topic_b = self._topics.get(topic) if type(topic) is str else None
        if (topic_b is not None and (value is None or type(value) is bytes) and (key is None or type(key) is bytes)
                and headers is None and timestamp is None and type(partition) is int and -1 <= partition <= _native.INT32_MAX):
            part, kb, vb, ts, hb = partition, key, value, -1, b""
        else:
            topic_b, part, kb, vb, ts, hb = self._normalize(topic, value, key, partition, headers, timestamp)
            if type(topic) is str and len(self._topics) < 10000:
                self._topics[topic] = topic_b
        size = 97 + (len(kb) if kb is not None else 0) + (len(vb) if vb is not None else 0) + 2 * len(hb)
        if size > self._limit:
            raise self._call("_too_large", size)
        if self.closed:
            raise self._call("_closed_error")
        if len(self._pend) >= self._push_records:
            # Push what is pending from this thread (waits for buffer room);
            # a push that gave up fails its records through their callbacks,
            # and this record is refused.
            if not self._call("_push"):
                raise self._call("_queue_full")
            if self.closed:
                raise self._call("_closed_error")
        with self._lock:
            slot = None if cb is None else self._acquire_slot(cb)
            pend = self._pend
            pend.append((topic_b, part, kb, vb, ts, hb, size, slot, topic, headers))
            self.produced += 1
        if len(pend) == 1:
            self._call("_wake_flusher")

    def _acquire_slot(self, cb: Any) -> int:
        """The slot for one more record with callback cb (under _lock):
        the last slot when cb is the same callback (the same object, or a
        bound method of the same instance and function: identity, so that
        no user __eq__ runs here), else a free or new one."""
        last = self._last
        if last >= 0 and self._counts[last] > 0:
            prev = self._cbs[last]
            if prev is cb or (type(prev) is _MethodType and type(cb) is _MethodType
                              and prev.__self__ is cb.__self__ and prev.__func__ is cb.__func__):
                self._counts[last] += 1
                return last
        if self._free:
            slot = self._free.pop()
            self._cbs[slot] = cb
            self._counts[slot] = 1
        else:
            slot = len(self._cbs)
            self._cbs.append(cb)
            self._counts.append(1)
        self._last = slot
        return slot

    def take_callback(self, slot: int) -> Any:
        """The callback of a record's slot, once per record (the slot is
        freed when no pending record uses it any more)."""
        with self._lock:
            if not 0 <= slot < len(self._cbs) or self._counts[slot] <= 0:
                raise ValueError("take_callback: no pending record holds callback slot %d" % slot)
            cb = self._cbs[slot]
            self._counts[slot] -= 1
            if self._counts[slot] == 0:
                self._cbs[slot] = None
                self._free.append(slot)
                if self._last == slot:
                    self._last = -1
        return cb

    def take(self) -> List[Any]:
        with self._lock:
            pend, self._pend = self._pend, []
        return pend

    def __len__(self) -> int:
        return len(self._pend)


PendingRecords: Any = _speedups.PendingRecords if _speedups is not None else _PyPendingRecords
ChunkRecords: Any = _speedups.ChunkRecords if _speedups is not None else _PyChunkRecords
serve_entry: Callable[..., None] = (
    _speedups.serve_entry if _speedups is not None else _serve_entry_py)


def _flusher_loop(ref: "weakref.ReferenceType[Producer]", wake: threading.Event) -> None:
    """Pushes produce() records soon after they arrive (see Producer)."""
    while True:
        wake.wait()
        wake.clear()
        p = ref()
        if p is None or p._handle == 0:
            return
        try:
            p._push()
        except Exception:  # pragma: no cover - defensive: never kill the thread silently
            _log.exception("pushing produced records failed")
        del p


def _headers_dict(headers: Any) -> Union[Dict[str, Optional[bytes]], List[Tuple[str, Optional[bytes]]], None]:
    """The headers of a delivered produce() record as Message takes them: a
    dict, or the list of every (key, value) when a key repeats (Message
    then keeps it as header_list)."""
    if not headers:
        return None
    pairs = [(k, v.encode("utf-8") if isinstance(v, str) else (None if v is None else bytes(v)))
             for k, v in _native.header_items(headers)]
    out = dict(pairs)
    return out if len(out) == len(pairs) else pairs
