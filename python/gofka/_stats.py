"""Client statistics: ``stats()`` snapshots and the periodic ``on_stats`` report.

Every client (Producer, AsyncProducer, Consumer, AsyncConsumer,
AdminClient, AsyncAdminClient) has:

* ``stats()``: a snapshot of the engine's statistics as a dict (the JSON
  object of ``gofka_*_stats``, fields described in docs/statistics.md). A
  plain synchronous call on every client, asyncio ones included: the
  engine reads counters and takes its locks briefly, it never waits on the
  network.
* ``stats_interval_ms`` and ``on_stats`` (constructor keywords): with an
  interval > 0, a daemon thread of the client (named
  ``gofka-stats-<kind>``) calls ``on_stats(stats_dict)`` every interval,
  starting one interval after construction. The rule is the same for the
  asyncio clients: the callback runs in that thread, never on the event
  loop and never on a Go thread; to get to a loop, call
  ``loop.call_soon_threadsafe`` from the callback. An exception raised by
  the callback is logged on the client's logger (``gofka.producer``,
  ``gofka.consumer``, ``gofka.admin``) and the reports go on. The thread
  ends when the client closes: after close() no new report starts (one
  already running when close was called finishes). The reports hold no
  strong reference to the client, so an unclosed client is still
  garbage-collected (and closed by its finalizer).

Nothing of this runs unless asked for: with the default interval 0 no
thread is started, and ``stats()`` costs only when called.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from typing import Any, Callable, Dict, Optional, TypedDict

from . import _native
from ._client import check_time
from ._keywords import KeywordGroup
from .exceptions import GofkaError

#: What ``on_stats`` is called with: the dict of ``stats()``.
StatsCallback = Callable[[Dict[str, Any]], Any]


class StatsKeywords(TypedDict, total=False):
    """The two statistics keywords of the Kafka clients (not of the share
    consumers): part of their keyword groups (gofka._keywords)."""

    stats_interval_ms: float
    on_stats: Optional[Callable[[Dict[str, Any]], Any]]


#: StatsKeywords with their defaults (0 = no periodic report).
STATS_KEYWORDS: KeywordGroup = KeywordGroup(StatsKeywords, stats_interval_ms=0)


def check_stats_options(stats_interval_ms: Any, on_stats: Any) -> float:
    """Validates the two constructor keywords; returns the interval in
    seconds (0 = no report).

    ``stats_interval_ms``: a number of milliseconds >= 0 (0, the default,
    means no periodic report), at most 2**31-1; else TypeError/ValueError.
    ``on_stats``: a callable when the interval is > 0 (a report with
    nobody to tell would be an ignored setting), None when it is 0 (a
    callback that would never be called is refused as well).
    """
    ms = check_time("stats_interval_ms", stats_interval_ms, unit="ms")
    assert ms is not None
    if on_stats is not None and not callable(on_stats):
        raise TypeError("on_stats must be callable, not %s" % type(on_stats).__name__)
    if ms > 0 and on_stats is None:
        raise ValueError("stats_interval_ms=%r needs an on_stats callback to report to" % (stats_interval_ms,))
    if ms == 0 and on_stats is not None:
        raise ValueError("on_stats is only called with stats_interval_ms > 0 (got %r)" % (stats_interval_ms,))
    return ms / 1000.0


def snapshot(client: Any, fn: Callable[..., int]) -> Dict[str, Any]:
    """The statistics of ``client`` through ``fn`` (gofka_producer_stats,
    gofka_consumer_stats or gofka_admin_stats) as a dict. Raises the
    client's closed error (CLIENT_CLOSED, or ForkError in a forked child)
    when it is closed."""
    handle = client._get()
    try:
        raw = _native.call_returning_buffer(fn, handle)
    except GofkaError as exc:
        if exc.code == _native.ERR_INVALID_HANDLE and client.closed:
            raise client._closed_error() from None  # closed by another thread meanwhile
        raise
    result: Dict[str, Any] = json.loads(raw.decode("utf-8"))
    return result


class StatsReporter(object):
    """The thread of one client that calls ``on_stats`` every interval.

    Thread-safety: ``stop`` may be called from any thread (the client's
    close, its finalizer, the callback itself) and more than once.
    """

    def __init__(self, client: Any, interval: float, callback: StatsCallback, kind: str) -> None:
        self._client = weakref.ref(client)
        self._interval = interval
        self._callback = callback
        self._log = logging.getLogger("gofka." + kind)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gofka-stats-%s" % kind, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            client = self._client()
            if client is None or client.closed:
                return
            try:
                stats = client.stats()
            except GofkaError:
                if client.closed:
                    return
                self._log.exception("gofka: taking the statistics for on_stats failed")
                continue
            finally:
                del client  # no strong reference while waiting
            if self._stop.is_set():
                return
            try:
                self._callback(stats)
            except Exception:
                self._log.exception("gofka: the on_stats callback raised (the reports go on)")

    def stop(self) -> None:
        """Ends the reports: no new one starts after this returns."""
        self._stop.set()


def start_reporter(client: Any, interval: float, callback: Optional[StatsCallback], kind: str) -> Optional[StatsReporter]:
    """Starts the report thread of ``client`` when ``interval`` (seconds,
    from check_stats_options) is > 0; returns it (None when off). The
    client's close calls stop_reporter."""
    if interval <= 0 or callback is None:
        return None
    reporter = StatsReporter(client, interval, callback, kind)
    reporter.thread.start()
    return reporter


def stop_reporter(client: Any) -> None:
    """Stops the report thread of ``client``, if it has one (close hook)."""
    reporter = getattr(client, "_stats_reporter", None)
    if reporter is not None:
        reporter.stop()
