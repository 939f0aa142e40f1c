"""The cancel-safe poll of the asyncio consumers (AsyncConsumer and
AsyncShareConsumer), written once.

The engine runs one poll of a consumer at a time, and a poll that the
caller cancels keeps running there: the records it takes are already off
the engine's buffer. So a cancelled poll's future is kept (``_late_polls``)
and what it returns is kept by the consumer for its next poll, and a new
poll first waits for a late one instead of queueing behind it (its records
are older than any a new poll could get, so they must not be overtaken).
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Set

from ._bridge import Event
from .exceptions import GofkaError
from .message import Message

__all__ = ["LatePolls"]


class LatePolls(object):
    """Mixin of the asyncio consumers: ``_poll_once`` and ``_keep_late``.
    The class sets ``_late_polls`` (an empty set) in ``__init__`` and
    provides ``_submit``, ``_poll_function`` and the three hooks below.
    Used from the consumer's event loop only (not thread-safe)."""

    _late_polls: Set["asyncio.Future[Event]"]

    def _submit(self, fn: Callable[..., int], *args: Any) -> "asyncio.Future[Event]":
        raise NotImplementedError

    def _poll_function(self) -> Callable[..., int]:
        """The ``gofka_*_poll_async`` function of the consumer's kind."""
        raise NotImplementedError

    def _poll_failed(self, exc: GofkaError) -> GofkaError:
        """The error a failed poll raises (default: the engine's, unchanged)."""
        return exc

    async def _took(self, payload: bytes) -> List[Message]:
        """The messages a poll returns from its (non-empty) payload."""
        raise NotImplementedError

    def _keep(self, payload: bytes) -> None:
        """Keeps a late poll's (non-empty) payload for the next poll."""
        raise NotImplementedError

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
