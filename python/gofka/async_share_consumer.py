"""Asynchronous share consumer (asyncio; docs/share-groups.md).

Every wait is a ``gofka_share_consumer_*_async`` call whose completion
arrives through the AsyncBridge, so nothing blocks the loop. Options,
handle, subscribe() and acknowledge() (neither waits) are shared with
ShareConsumer (_share_consumer_base.ShareConsumerBase).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Set

from . import _native
from ._async_poll import AsyncConsumerCalls
from ._bridge import AsyncBridge, Event
from ._client import Finalized
from ._consumer_base import check_max_messages, check_poll_timeout
from ._share_consumer_base import AckResult, ShareConsumerBase, as_consume_error, parse_ack_results, \
    parse_share_poll
from .exceptions import GofkaError
from .message import Message

__all__ = ["AsyncShareConsumer"]

# Longest single wait of one library poll when the caller waits without a
# limit (the loop just asks again).
_LONG_POLL_MS = 5000


class AsyncShareConsumer(AsyncConsumerCalls, ShareConsumerBase, Finalized):
    """An asyncio member of a share group: the arguments, modes and rules
    of :class:`gofka.ShareConsumer`; ``poll``, ``commit`` and ``close`` are
    coroutines, ``subscribe`` and ``acknowledge`` plain methods (they never
    wait). ``async with`` closes on exit; ``async for message in
    consumer`` yields messages until close() (see ShareConsumer.__iter__
    for the batch it polls). Used from one event loop at a time.
    """

    _public_name = "AsyncShareConsumer"

    def _init_own_state(self) -> None:
        # (the constructor is ShareConsumerBase's: the twins take the same arguments)
        self._bridge: Optional[AsyncBridge] = None
        self._buffer: Deque[Message] = deque()
        # Polls cancelled while the engine still waited: the records they
        # take are delivered to this consumer, so the next poll returns
        # them (in the explicit mode it could not run without them).
        self._late_polls: Set["asyncio.Future[Event]"] = set()
        self._late: List[Message] = []

    # Not an AsyncHandleOwner: a share consumer has no connect (its
    # first poll joins the share group), so ``async with`` only closes on
    # exit; the finalizer is every client's (Finalized).
    async def __aenter__(self) -> "AsyncShareConsumer":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def poll(self, max_messages: int = 1, timeout: Optional[float] = 1.0) -> List[Message]:
        """As ShareConsumer.poll, without blocking the loop. A poll
        cancelled while waiting keeps what the engine took for the next
        poll."""
        max_messages = check_max_messages(max_messages)
        timeout = check_poll_timeout(timeout)
        self._subscribe_if_needed()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if self._late:
                out, self._late = self._late[:max_messages], self._late[max_messages:]
                return out
            if deadline is None:
                wait_ms = _LONG_POLL_MS
            else:
                wait_ms = max(0, int((deadline - loop.time()) * 1000))
            msgs = await self._poll_once(max_messages, wait_ms)
            if msgs or self._late:
                return msgs or self._take_late(max_messages)
            if deadline is not None and loop.time() >= deadline:
                return []

    def _take_late(self, n: int) -> List[Message]:
        out, self._late = self._late[:n], self._late[n:]
        return out

    # AsyncConsumerCalls hooks (_poll_once, _keep_late: _async_poll.py).
    def _poll_function(self) -> Callable[..., int]:
        fn: Callable[..., int] = _native.lib.gofka_share_consumer_poll_async
        return fn

    def _poll_failed(self, exc: GofkaError) -> GofkaError:
        return as_consume_error(exc)

    async def _took(self, payload: bytes) -> List[Message]:
        return parse_share_poll(payload)

    def _keep(self, payload: bytes) -> None:
        self._late.extend(parse_share_poll(payload))

    def __aiter__(self) -> "AsyncShareConsumer":
        return self

    async def __anext__(self) -> Message:
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self.closed:
                raise StopAsyncIteration
            # Implicit mode: one at a time, since a poll accepts every
            # message of the previous one (a batch would accept messages
            # not yielded yet if the consumer closed).
            batch = self.max_poll_records if self.acknowledgement_mode == "explicit" else 1
            try:
                msgs = await self.poll(batch, None)
            except GofkaError as exc:
                if self.closed and exc.code in (_native.ERR_CLIENT_CLOSED, _native.ERR_INVALID_HANDLE):
                    raise StopAsyncIteration from None
                raise
            self._buffer.extend(msgs)

    async def commit(self) -> List[AckResult]:
        """As ShareConsumer.commit, without blocking the loop."""
        ev = await self._submit(_native.lib.gofka_share_consumer_commit_async, self._timeout_ms)
        return parse_ack_results(ev.payload)

    async def close(self) -> None:
        """As ShareConsumer.close, without blocking the loop (messages the
        iterator polled and has not yielded are released in the explicit
        mode). Idempotent."""
        if self.closed:
            return
        # The bridge first: on a loop other than the one with calls pending
        # it raises, and the consumer stays open rather than leak its handle.
        bridge = self._get_bridge()
        handle = self._detach()
        if not handle:
            return
        self._buffer.clear()
        try:
            await bridge.close_handle(_native.lib.gofka_share_consumer_close_async, handle, self._timeout_ms)
        finally:
            self._bridge = None
