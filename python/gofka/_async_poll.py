"""What the asyncio consumers (AsyncConsumer and AsyncShareConsumer) share:
calls through their AsyncBridge and the cancel-safe poll, written once.

The engine runs one poll of a consumer at a time, and a poll that the
caller cancels keeps running there: the records it takes are already off
the engine's buffer. So a cancelled poll's future is kept (``_late_polls``)
and what it returns is kept by the consumer for its next poll, and a new
poll first waits for a late one instead of queueing behind it (its records
are older than any a new poll could get, so they must not be overtaken).
"""

from __future__ import annotations

import abc
import asyncio
import ctypes
from typing import Any, Callable, List, Optional, Set

from . import _native
from ._bridge import AsyncBridge, Event, bridge_of_loop
from ._client import HandleBase
from .exceptions import GofkaError
from .message import Message

__all__ = ["AsyncConsumerCalls"]


class AsyncConsumerCalls(HandleBase, metaclass=abc.ABCMeta):
    """Base of the asyncio consumers (before their sync/async common base
    in the bases): ``_submit``, ``_poll_once`` and ``_keep_late``. The
    class sets ``_bridge`` (None) and ``_late_polls`` (an empty set) in
    ``__init__`` and implements the abstract hooks below (a subclass that
    does not cannot be instantiated). Used from one event loop at a time
    (not thread-safe)."""

    _bridge: Optional[AsyncBridge]
    _late_polls: Set["asyncio.Future[Event]"]

    def _get_bridge(self) -> AsyncBridge:
        """The bridge on the running loop (bridge_of_loop raises on another
        loop while calls are pending there)."""
        self._bridge = bridge = bridge_of_loop(self, self._bridge)
        return bridge

    def _submit(self, fn: Callable[..., int], *args: Any) -> "asyncio.Future[Event]":
        """Starts ``fn(handle, queue, token, *args, &err)``."""
        handle = self._get()

        def start(queue: int, token: int) -> None:
            err = _native.new_error()
            code = fn(handle, queue, token, *args, ctypes.byref(err))
            if code != _native.OK:
                raise self._failure(code, err)

        return self._get_bridge().submit(start)

    @abc.abstractmethod
    def _poll_function(self) -> Callable[..., int]:
        """The ``gofka_*_poll_async`` function of the consumer's kind."""

    def _poll_failed(self, exc: GofkaError) -> GofkaError:
        """The error a failed poll raises (default: the engine's, unchanged)."""
        return exc

    @abc.abstractmethod
    async def _took(self, payload: bytes) -> List[Message]:
        """The messages a poll returns from its (non-empty) payload."""

    @abc.abstractmethod
    def _keep(self, payload: bytes) -> None:
        """Keeps a late poll's (non-empty) payload for the next poll."""

    async def _poll_once(self, max_messages: int, wait_ms: int) -> List[Message]:
        """One engine poll of at most wait_ms; [] after waiting for a late
        poll (what it took is then kept, see the module doc)."""
        if self._late_polls:
            done, _ = await asyncio.wait(list(self._late_polls), timeout=wait_ms / 1000)
            for f in done:
                self._keep_late(f)
            return []
        fut = self._submit(self._poll_function(), max_messages, wait_ms)
        try:
            ev = await asyncio.shield(fut)
        except asyncio.CancelledError:
            self._late_polls.add(fut)
            fut.add_done_callback(self._keep_late)
            raise
        except GofkaError as exc:
            failed = self._poll_failed(exc)
            if failed is exc:
                raise
            raise failed from None
        return await self._took(ev.payload) if ev.payload else []

    def _keep_late(self, fut: "asyncio.Future[Event]") -> None:
        if fut not in self._late_polls:
            return  # already kept
        self._late_polls.discard(fut)
        if fut.cancelled() or fut.exception() is not None:
            return
        payload = fut.result().payload
        if payload:
            self._keep(payload)
