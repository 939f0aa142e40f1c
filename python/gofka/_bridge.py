"""The asynchronous bridge: library event queues, drained in bulk.

Asynchronous C functions (``gofka_*_async``, ``gofka_producer_produce``)
return at once and later post one completion event, tagged with a 64-bit
token, to an event queue (gofka.h, "Event queues"). The queue's file
descriptor turns readable when events are waiting. This module turns that
into Python:

- :class:`EventQueue` owns a queue handle: ``drain()`` takes many events in
  one C call (the GIL is released while it waits).
- :class:`AsyncBridge` runs on one asyncio loop: ``submit(start)`` creates a
  future, calls ``start(queue_handle, token)`` to launch the operation, and
  resolves the future when its event arrives. The loop watches the fd with
  ``loop.add_reader``, so nothing blocks the loop and no Python code ever
  runs on a Go thread.

Thread-safety: EventQueue may be drained from any thread; an AsyncBridge
belongs to the loop it was created on.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import struct
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, NamedTuple, Optional

if TYPE_CHECKING:
    import asyncio  # imported where a loop is used: import gofka does not import asyncio

from . import _layouts, _native
from .exceptions import GofkaError, error_from_code

_EVENT_HEADER = struct.Struct(_layouts.EVENT_FORMAT)  # token, code, partition, offset, payload_len
# Loop turns a bridge keeps watching its queue with nothing pending before
# it stops (AsyncBridge._stop_when_idle).
_IDLE_TURNS = 2


class Event(NamedTuple):
    """One completion: code 0 means success; payload is the result (or the
    error message when code != 0)."""

    token: int
    code: int
    partition: int
    offset: int
    payload: bytes

    def error(self) -> GofkaError:
        # payload: message [NUL broker] (gofka.h, events format)
        message, _, broker = self.payload.partition(b"\0")
        return error_from_code(
            self.code,
            message.decode("utf-8", "replace"),
            broker=broker.decode("utf-8", "replace") or None,
        )


def parse_events(buf: bytes, count: int) -> List[Event]:
    """Decodes ``count`` events packed in ``buf`` (gofka.h events format)."""
    out = []
    pos = 0
    unpack = _EVENT_HEADER.unpack_from
    size = _EVENT_HEADER.size
    for _ in range(count):
        token, code, partition, offset, n = unpack(buf, pos)
        pos += size
        out.append(Event(token, code, partition, offset, buf[pos:pos + n]))
        pos += n
    return out


class EventQueue(object):
    """A library event queue (one native handle and its file descriptor)."""

    def __init__(self) -> None:
        handle = _native.gofka_handle_t()
        err = _native.new_error()
        _native.check(_native.lib.gofka_queue_new(ctypes.byref(handle), ctypes.byref(err)), err)
        self.handle = handle.value
        fd = ctypes.c_int32()
        _native.check(_native.lib.gofka_queue_fd(self.handle, ctypes.byref(fd), ctypes.byref(err)), err)
        self.fd = fd.value
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()  # the process whose library owns the queue

    def ready_flag(self) -> int:
        """The address of the queue's ready flag (gofka_queue_ready_flag): a
        32-bit word, nonzero while events wait, valid until close(). For C
        code that reads it atomically (gofka._speedups.IdlePoll); Python
        code uses ``fd``."""
        flag = ctypes.c_void_p()
        err = _native.new_error()
        _native.check(_native.lib.gofka_queue_ready_flag(self.handle, ctypes.byref(flag), ctypes.byref(err)), err)
        return flag.value or 0

    def drain(self, max_events: int = 65536, timeout_ms: int = 0) -> List[Event]:
        """Takes up to ``max_events`` events, waiting up to ``timeout_ms``
        for the first one (0 = do not wait)."""
        if self._closed:
            return []
        buf = ctypes.c_void_p()
        length = ctypes.c_size_t()
        count = ctypes.c_int32()
        err = _native.new_error()
        code = _native.lib.gofka_queue_drain(
            self.handle, max_events, timeout_ms, ctypes.byref(buf), ctypes.byref(length),
            ctypes.byref(count), ctypes.byref(err))
        if code != _native.OK:
            if self._closed:
                return []
            raise _native.make_error(code, err)
        if count.value == 0:
            return []
        return parse_events(_native.take_buffer(buf, length), count.value)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._pid != os.getpid():
            return  # a forked child: the queue is the parent's (the call would hang)
        err = _native.new_error()
        _native.lib.gofka_queue_close(self.handle, ctypes.byref(err))

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class AsyncBridge(object):
    """Resolves asyncio futures from an EventQueue on one event loop."""

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None, queue: Optional[EventQueue] = None,
                 tokens: Optional["itertools.count[int]"] = None) -> None:
        """A bridge on ``loop`` (default: the running loop). ``queue`` and
        ``tokens`` continue those of a detached bridge (see detach and
        adopt), whose operations' events still arrive on that queue."""
        if loop is None:
            loop = running_loop()
        self.loop = loop
        self.queue = queue if queue is not None else EventQueue()
        self._futures: Dict[int, "asyncio.Future[Event]"] = {}
        self.tokens = tokens if tokens is not None else itertools.count(1)
        self._reading = False
        self._stop_soon = False  # a _stop_if_idle is scheduled

    def submit(self, start: Callable[[int, int], None]) -> "asyncio.Future[Event]":
        """Starts an operation and returns a future for its completion event.

        ``start(queue_handle, token)`` must call the asynchronous C function
        (raising on an immediate failure, which propagates to the caller).
        The future's result is the :class:`Event`; a failed event sets the
        matching :mod:`gofka.exceptions` error instead.
        """
        token = next(self.tokens)
        fut = self.loop.create_future()
        self._futures[token] = fut
        try:
            start(self.queue.handle, token)
        except BaseException:
            del self._futures[token]
            raise
        self._watch()
        return fut

    def adopt(self, token: int) -> "asyncio.Future[Event]":
        """A future on this bridge's loop for an operation already started
        with ``token`` on this queue (by the bridge this one continues)."""
        fut = self.loop.create_future()
        self._futures[token] = fut
        self._watch()
        return fut

    def _watch(self) -> None:
        if not self._reading:
            self.loop.add_reader(self.queue.fd, self._on_readable)
            self._reading = True

    def detach(self) -> Dict[int, "asyncio.Future[Event]"]:
        """Stops watching the queue (the loop may be closed) and hands over
        the futures of the operations in progress, by token, unresolved.
        The queue stays open: its new owner drains it (or a new bridge
        built on it). Used when the loop went away with operations in
        flight."""
        self._stop_watching()
        futures, self._futures = self._futures, {}
        return futures

    def _stop_watching(self) -> None:
        if self._reading:
            self._reading = False
            try:
                self.loop.remove_reader(self.queue.fd)
            except Exception:  # a closed loop has no reader left
                pass

    def _on_readable(self) -> List["asyncio.Future[Event]"]:
        """Resolves the futures of the events waiting on the queue (no
        waiting); returns them (the loop's reader callback ignores that;
        AsyncProducer._reap delivers them at once)."""
        resolved = self._resolve()
        self._stop_when_idle()
        return resolved

    def _resolve(self) -> List["asyncio.Future[Event]"]:
        """Sets the result (or error) of the futures whose events are on
        the queue now, without waiting; returns them."""
        resolved = []
        for ev in self.queue.drain():
            fut = self._futures.pop(ev.token, None)
            if fut is None or fut.done():
                continue  # cancelled by its awaiter
            if ev.code == _native.OK:
                fut.set_result(ev)
            else:
                fut.set_exception(ev.error())
            resolved.append(fut)
        return resolved

    def _stop_when_idle(self) -> None:
        """Stops watching the queue once nothing has been pending for
        _IDLE_TURNS turns of the loop. Why wait: the task woken by the
        futures just resolved usually starts the next operation at once (a
        commit per message), or one callback later (a send packed by the
        next callback, a send_batch awaited through gather), and
        add_reader / remove_reader per operation cost ~10 us and two
        epoll_ctl calls. Call it after resolving the futures, so that the
        checks (call_soon keeps order) run after their awaiters' steps."""
        if not self._futures and self._reading and not self._stop_soon:
            self._stop_soon = True
            self.loop.call_soon(self._stop_if_idle, _IDLE_TURNS - 1)

    def _stop_if_idle(self, turns_left: int) -> None:
        if self._futures or not self._reading:
            self._stop_soon = False
        elif turns_left > 0:
            self.loop.call_soon(self._stop_if_idle, turns_left - 1)
        else:
            self._stop_soon = False
            self.loop.remove_reader(self.queue.fd)
            self._reading = False

    @property
    def pending(self) -> int:
        """Operations started and not yet completed."""
        return len(self._futures)

    async def close_handle(self, fn: Callable[..., int], handle: int, timeout_ms: int) -> None:
        """Closes a client handle through ``fn(handle, queue, token,
        timeout_ms, &err)`` (a ``gofka_*_close_async``), then this bridge,
        also when the close fails: the last call of an async client's
        close(). The caller has detached ``handle`` (owns it) already."""

        def start(queue: int, token: int) -> None:
            err = _native.new_error()
            code = fn(handle, queue, token, timeout_ms, ctypes.byref(err))
            if code != _native.OK:
                raise _native.make_error(code, err)

        try:
            await self.submit(start)
        finally:
            self.close()

    def close(self) -> None:
        """Stops watching the fd and fails every pending future."""
        self._stop_watching()
        futures, self._futures = self._futures, {}
        for fut in futures.values():
            if not fut.done():
                fut.set_exception(error_from_code(_native.ERR_CLIENT_CLOSED, "client closed"))
        self.queue.close()


def call_sliced(start: Callable[[int, int], None]) -> Event:
    """Runs one asynchronous operation and blocks for its completion event.

    ``start(queue_handle, token)`` launches it (as for AsyncBridge.submit).
    The wait happens in _native.SLICE_MS slices with the GIL released, so a
    KeyboardInterrupt between slices abandons the wait (the operation's
    completion is dropped with the queue). The operation itself is bounded
    by the timeout given to the C function; a failed event raises the
    matching gofka.exceptions error.
    """
    queue = EventQueue()
    try:
        start(queue.handle, 1)
        while True:
            events = queue.drain(1, _native.SLICE_MS)
            if events:
                ev = events[0]
                if ev.code != _native.OK:
                    raise ev.error()
                return ev
    finally:
        queue.close()


def running_loop() -> "asyncio.AbstractEventLoop":
    """asyncio.get_running_loop(), with asyncio imported here rather than
    at import: import gofka does not import asyncio (and the ssl module
    it brings, ~10 MiB of RSS), which the blocking clients never need."""
    import asyncio

    return asyncio.get_running_loop()


def bridge_of_loop(owner: Any, current: Optional[AsyncBridge]) -> AsyncBridge:
    """The AsyncBridge a client uses on the running loop: ``current`` when
    it belongs to that loop, else a new one (``current`` is closed; a
    client with operations pending on another loop raises RuntimeError,
    naming ``owner._public_name``). The caller stores the result: a client
    is used from one event loop at a time (AsyncConsumer,
    AsyncAdminClient; AsyncProducer moves its work between loops itself)."""
    loop = running_loop()
    if current is not None and current.loop is loop:
        return current
    if current is not None:
        if current.pending:
            raise RuntimeError("%s is in use on another event loop" % owner._public_name)
        current.close()
    return AsyncBridge(loop)
