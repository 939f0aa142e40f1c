"""Asynchronous consumer (asyncio; works on the stock loop and on uvloop).

Every operation is a ``gofka_consumer_*_async`` call whose completion
arrives through the AsyncBridge (the event queue's file descriptor is
watched with ``loop.add_reader``), so nothing blocks the loop and no Python
code runs on a library thread. A poll crosses into the library once and
gets one packed buffer with every record and rebalance event of the call.

``async for message in consumer`` polls ``max_poll_records`` messages at a
time into a local buffer and yields them one by one. Positions stay exact:
auto-commit covers only what earlier polls returned, ``commit()`` and
``close()`` leave out what the iterator has not yielded yet.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Set, Tuple

from . import _native
from ._async_poll import AsyncConsumerCalls
from ._bridge import AsyncBridge, Event
from ._client import maybe_await
from ._consumer_base import (
    ConsumerBase,
    Events,
    OffsetAndTimestamp,
    TopicPartition,
    as_topic_partition,
    callback_of,
    check_max_messages,
    check_poll_timeout,
    commit_args,
    first_offsets,
    own_revocation,
    parse_poll,
    poll_native,
    unregister_open,
)
from ._security import security_keywords, SecurityKeywords, SecuritySettings, takes_security_keywords, Unpack
from .exceptions import ConsumeError, GofkaError, argument_errors, error_from_code
from .message import Message

__all__ = ["AsyncConsumer"]

# Longest single wait of one library poll when the caller waits without a
# limit (the loop just asks again).
_LONG_POLL_MS = 5000


class AsyncConsumer(AsyncConsumerCalls, ConsumerBase):
    """An asyncio Kafka consumer.

    Arguments as :class:`gofka.Consumer`, plus ``use_ssl`` (TLS: security
    protocol SSL, or SASL_SSL with a SASL mechanism) and
    ``max_poll_records`` (the batch ``async for`` polls, and the engine's
    max.poll.records). Keyword-only options as for Consumer; rebalance
    callbacks may be plain functions or coroutine functions (awaited), and
    run in the event loop's thread inside ``poll`` / the iteration.

    ``async with`` connects on entry and closes on exit (``close`` is a
    coroutine, so there is no plain ``with``). The first ``poll()``
    or ``async for`` step subscribes to ``topics`` (or ``pattern``) when
    neither ``subscribe()`` nor ``assign()`` (nor ``unsubscribe()``) came
    first. The consumer may be used from one event loop at a time.

    Statistics: ``stats()`` returns a snapshot dict (docs/statistics.md).
    With the keywords ``stats_interval_ms`` (default 0 = off) and
    ``on_stats``, the client calls ``on_stats(stats_dict)`` every interval
    in a daemon thread of its own, also for this asyncio client (never on
    the event loop); see gofka._stats.
    """

    _public_name = "AsyncConsumer"  # for repr

    @takes_security_keywords(after="config")
    @argument_errors(ConsumeError)  # invalid arguments: ConsumeValueError / ConsumeTypeError
    def __init__(
        self,
        brokers: str,
        group_id: Optional[str],
        topics: Optional[List[str]],
        client_id: Optional[str] = None,
        auto_commit: bool = True,
        auto_offset_reset: str = "earliest",
        session_timeout: int = 30000,
        timeout: int = 30,
        use_ssl: bool = False,
        max_poll_records: int = 500,
        *,
        group_protocol: str = "classic",
        partition_assignment_strategy: Any = None,
        group_remote_assignor: Optional[str] = None,
        group_instance_id: Optional[str] = None,
        isolation_level: str = "read_uncommitted",
        max_poll_interval_ms: int = 300000,
        heartbeat_interval_ms: Optional[int] = None,
        auto_commit_interval_ms: int = 5000,
        pattern: Optional[str] = None,
        fetch_min_bytes: Optional[int] = None,
        fetch_max_bytes: Optional[int] = None,
        max_partition_fetch_bytes: Optional[int] = None,
        queued_max_messages_kbytes: Optional[int] = None,
        fetch_max_wait_ms: Optional[int] = None,
        metadata_max_age_ms: Optional[int] = None,
        client_rack: Optional[str] = None,
        on_assign: Optional[Callable[[List[TopicPartition]], Any]] = None,
        on_revoke: Optional[Callable[[List[TopicPartition]], Any]] = None,
        on_lost: Optional[Callable[[List[TopicPartition]], Any]] = None,
        connection_pool: Any = None,
        config: Optional[Dict[str, Any]] = None,
        stats_interval_ms: float = 0,
        on_stats: Optional[Callable[[Dict[str, Any]], Any]] = None,
        **tls_sasl: Unpack[SecurityKeywords],
    ) -> None:
        self._bridge: Optional[AsyncBridge] = None
        self._buffer: Deque[Message] = deque()
        self._late_events: Events = []
        # Polls cancelled while the engine still waited for records; what
        # they take comes before anything a newer poll could get.
        self._late_polls: Set["asyncio.Future[Event]"] = set()
        # the constructor's arguments with its TLS/SASL keywords (defaults filled in)
        arguments = dict(locals(), **security_keywords("AsyncConsumer", tls_sasl))
        super().__init__(arguments)  # options, security= or the TLS/SASL keywords, statistics: ConsumerBase
        self.max_poll_records = self._opts.max_poll_records

    # ---- plumbing ----

    async def _run(self, fn: Callable[..., int], *args: Any) -> Event:
        return await self._submit(fn, *args)

    # ---- lifecycle ----

    async def connect(self) -> None:
        """Connects to the cluster (optional). Raises ConnectionError when no
        broker answers within ``timeout``."""
        await self._run(_native.lib.gofka_consumer_connect_async, self._timeout_ms)
        self._connected = True


    async def subscribe(self) -> None:
        """Joins the consumer group subscribed to ``topics`` (or
        ``pattern``); returns once the first assignment arrived. Raises
        GroupCoordinationError when the group cannot be joined within
        ``timeout``. Calling it again once joined returns at once.
        Optional: the first poll or iteration subscribes by itself."""
        args = self._subscribe_plan()
        if args is None:
            return
        try:
            await self._run(_native.lib.gofka_consumer_subscribe_async, *args)
        except GofkaError as exc:
            self._sub.explicit_done(exc)
            raise
        self._sub.explicit_done(None)

    async def unsubscribe(self) -> None:
        """Leaves the group (see Consumer.unsubscribe: ``on_revoke`` is
        called, and awaited, first, while the partitions are still assigned;
        polls do not subscribe again by themselves)."""
        await self._run_revoke_callback()
        self._sub.cleared()
        self._drop_buffer()
        await self._run(_native.lib.gofka_consumer_unsubscribe_async, self._timeout_ms)

    async def _run_revoke_callback(self) -> None:
        """Calls ``on_revoke`` with the current assignment, if both exist:
        the revocation the application makes itself (unsubscribe, close)."""
        current = own_revocation(self, self._opts)
        if current:
            await maybe_await(self._opts.on_revoke(current))

    async def __aenter__(self) -> "AsyncConsumer":
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Commits what was consumed (with auto-commit; messages polled but
        not yet yielded by the iterator are left for the next owner),
        leaves the group and closes. With ``on_revoke`` it is first called
        (and awaited) with the current assignment; if it raises, the
        consumer is closed all the same and its exception propagates.
        Idempotent. Never closed, it is closed synchronously when collected
        or at interpreter exit (see Consumer.close), also after its event
        loop was closed."""
        if self.closed:
            return
        try:
            await self._run_revoke_callback()
        finally:
            # Also when on_revoke raised (even SystemExit): the consumer
            # is closed, and what it returned committed, either way.
            self._drop_buffer()
            handle = self._take_handle()
            unregister_open(self)
            if handle:
                await self._close_handle(handle)

    async def _close_handle(self, handle: int) -> None:
        bridge = self._get_bridge()
        try:
            await bridge.close_handle(_native.lib.gofka_consumer_close_async, handle, self._timeout_ms)
        finally:
            self._bridge = None

    # ---- polling ----

    async def poll(self, max_messages: int = 1, timeout: Optional[float] = 1.0) -> List[Message]:
        """Returns up to ``max_messages`` messages, waiting up to ``timeout``
        seconds (None: until one arrives) for the first; ``[]`` on timeout.
        Rebalance callbacks run first (see the class doc). Engine errors,
        ALL_BROKERS_DOWN included, are raised once (see Consumer.poll). The
        first poll subscribes implicitly (see Consumer.poll)."""
        max_messages = check_max_messages(max_messages)
        timeout = check_poll_timeout(timeout)
        self._sub.subscribe_if_pending(self, self._opts)  # never blocks (timeout 0)
        if self._late_events:
            events, self._late_events = self._late_events, []
            self._drop_buffer()  # what came with them is read again (see _callbacks)
            await self._callbacks(events, [])
        if self._buffer:
            return self._take_buffered(max_messages)
        # What the engine has already prefetched is taken directly (a
        # non-blocking call on the loop's thread, microseconds): only an
        # empty consumer costs a round trip through the event queue.
        if not self._late_polls:
            msgs, events = poll_native(self, max_messages, 0)
            if events:
                msgs = await self._callbacks(events, msgs)
            if msgs:
                return msgs
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if deadline is None:
                wait_ms = _LONG_POLL_MS
            else:
                wait_ms = max(0, int((deadline - loop.time()) * 1000))
            msgs = await self._poll_once(max_messages, wait_ms)
            if msgs:
                return msgs
            if self._buffer:
                return self._take_buffered(max_messages)
            if deadline is not None and loop.time() >= deadline:
                return []

    def _take_buffered(self, n: int) -> List[Message]:
        buf = self._buffer
        if n >= len(buf):
            out = list(buf)
            buf.clear()
            return out
        return [buf.popleft() for _ in range(n)]

    # AsyncConsumerCalls hooks (_poll_once, _keep_late: _async_poll.py).
    def _poll_function(self) -> Callable[..., int]:
        fn: Callable[..., int] = _native.lib.gofka_consumer_poll_async
        return fn

    async def _took(self, payload: bytes) -> List[Message]:
        msgs, events = parse_poll(payload)
        if events:
            msgs = await self._callbacks(events, msgs)
        return msgs

    def _keep(self, payload: bytes) -> None:
        msgs, events = parse_poll(payload)
        self._late_events.extend(events)
        self._buffer.extend(msgs)

    async def _callbacks(self, events: Events, msgs: List[Message]) -> List[Message]:
        """Runs (awaits) the rebalance callbacks of events and returns the
        messages to hand out: none when messages came with the events
        (given back first, as Consumer._dispatch explains)."""
        if msgs:
            self._rewind(msgs)
        opts = self._opts
        for kind, tps in events:
            fn = callback_of(opts, kind)
            if fn is not None:
                await maybe_await(fn(list(tps)))
        return []

    def _forget_buffered(self, tp: TopicPartition) -> None:
        self._buffer = deque(m for m in self._buffer if (m.topic, m.partition) != tp)

    def _drop_buffer(self) -> None:
        if self._buffer:
            msgs = list(self._buffer)
            self._buffer.clear()
            if not self.closed:
                self._rewind(msgs)

    def __aiter__(self) -> "AsyncConsumer":
        return self

    async def __anext__(self) -> Message:
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self.closed:
                raise StopAsyncIteration
            self._sub.subscribe_if_pending(self, self._opts)  # never blocks (timeout 0)
            if self._late_events:
                events, self._late_events = self._late_events, []
                await self._callbacks(events, [])
            try:
                msgs = await self._poll_once(self._opts.max_poll_records, _LONG_POLL_MS)
            except GofkaError as exc:
                if self.closed and exc.code in (_native.ERR_CLIENT_CLOSED, _native.ERR_INVALID_HANDLE):
                    raise StopAsyncIteration from None
                raise
            self._buffer.extend(msgs)

    # ---- offsets ----

    async def commit(self, message: Optional[Message] = None) -> None:
        """Commits ``message.offset + 1`` for its partition, or (no message)
        the position after the last message consumed of every assigned
        partition (messages the iterator has not yielded yet are not
        counted as consumed). A message of a partition no longer assigned
        raises GroupCoordinationError (NOT_ASSIGNED).

        Safe to call from several tasks: calls made while a commit is
        in flight share the next request (per partition the latest call's
        offset wins); each returns once its offsets are committed, or
        raises the error of its own partitions. A TIMED_OUT error means
        the offsets may still be committed (docs/api.md, "Commits")."""
        buf, all_flag = commit_args(message)
        if message is None and self._buffer:
            buf = first_offsets(self._buffer)  # what the iterator has not yielded is not consumed
        await self._run(_native.lib.gofka_consumer_commit_async, buf, len(buf) if buf else 0, all_flag,
                        self._timeout_ms)

    async def position(self, topic: str, partition: int) -> int:
        """The offset of the next message of an assigned partition."""
        tp = as_topic_partition((topic, partition))
        for m in self._buffer:
            if m.topic == tp.topic and m.partition == tp.partition:
                return m.offset
        args, convert = self._position_plan(topic, partition)
        loop = asyncio.get_running_loop()
        # Usually immediate; it waits only while the position is looked up.
        res = await loop.run_in_executor(None, lambda: self._call_returning_buffer(
            _native.lib.gofka_consumer_position, *args))
        return convert(res)

    async def committed(self, partitions: Iterable[Any]) -> Dict[TopicPartition, Optional[int]]:
        """The group's committed offsets (None where nothing is committed)."""
        args, convert = self._committed_plan(partitions)
        return convert((await self._run(_native.lib.gofka_consumer_committed_async, *args)).payload)

    async def offsets_for_times(self, timestamps: Dict[Any, float]) -> Dict[TopicPartition, Optional[OffsetAndTimestamp]]:
        """As Consumer.offsets_for_times."""
        args, convert = self._times_plan(timestamps)
        return convert((await self._run(_native.lib.gofka_consumer_offsets_for_times_async, *args)).payload)
