"""Broker failover and load spreading for your own calls.

Gofka clients already fail over between their bootstrap brokers by
themselves. :class:`BrokerFailoverManager` is for code that talks to one
broker address at a time itself: it picks brokers round-robin, moves on
when one fails with a connection-class error, remembers failed brokers for
a cool-down (healthy brokers are tried first meanwhile) and backs off
between rounds as its :class:`~gofka.retry.RetryPolicy` says.

It runs on the asyncio loop; the clock and the sleep are injectable so that
tests can check the timings without sleeping. (Go users have the same in
``core.FailoverManager``.)

A broker has one form everywhere: the ``"host:port"`` string (IPv6 hosts in
brackets). ``brokers``, ``failed_brokers``, ``get_healthy_brokers()`` and
``broker_status()`` hold it, ``get_next_broker()`` returns it; every method
taking a broker, and ``in`` on those lists, accepts it or a ``(host, port)``
tuple (the form of the earlier pure-Python client).
"""

from __future__ import annotations

import inspect
import threading
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, Union

from ._client import check_time, maybe_await
from .exceptions import GofkaError, error_from_code
from .retry import RetryPolicy, check_policy, is_connection_error

__all__ = ["BrokerFailoverManager", "BrokerList"]

ERR_NO_BROKERS = -106  # NO_BROKERS_AVAILABLE, category "connection"


def _parse_broker(broker: Any) -> Tuple[str, int]:
    if isinstance(broker, tuple) and len(broker) == 2:
        host, port = broker
    elif isinstance(broker, str):
        host, sep, port = broker.strip().rpartition(":")
        if not sep:
            raise ValueError("broker %r is not host:port" % (broker,))
    else:
        raise TypeError("a broker must be 'host:port' or (host, port), not %s" % type(broker).__name__)
    host = str(host).strip().strip("[]")
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ValueError("broker %r has an invalid port" % (broker,)) from None
    if not host or not 0 < port < 65536:
        raise ValueError("broker %r is not host:port" % (broker,))
    return host, port


def _addr(host: str, port: int) -> str:
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


class BrokerList(List[str]):
    """A list of "host:port" strings whose ``in`` also accepts a (host,
    port) tuple or another spelling of the same address."""

    def __contains__(self, broker: object) -> bool:
        try:
            key = _addr(*_parse_broker(broker))
        except (TypeError, ValueError):
            return False
        return list.__contains__(self, key)


class _Health(object):
    __slots__ = ("failures", "down_until", "last_error")

    def __init__(self) -> None:
        self.failures = 0
        self.down_until = 0.0
        self.last_error: Optional[BaseException] = None


class BrokerFailoverManager(object):
    """Runs calls against one of several brokers with failover.

    Args:
        brokers: "host:port" strings (or (host, port) tuples), or one
            comma-separated string. At least one.
        retry_policy: waits between rounds and how many rounds
            (``max_retries + 1``); default ``RetryPolicy()``.
        cooldown: seconds a failed broker stays behind the healthy ones.
        clock: returns the current time in seconds (default
            ``time.monotonic``); tests pass a fake clock.
        sleep: async ``sleep(seconds)`` (default ``asyncio.sleep``).

    Thread-safety: the health bookkeeping is locked; one manager may be used
    from several tasks at once.
    """

    def __init__(
        self,
        brokers: Union[str, Sequence[Any]],
        retry_policy: Optional[RetryPolicy] = None,
        cooldown: float = 30.0,
        clock: Optional[Callable[[], float]] = None,
        sleep: Optional[Callable[[float], Awaitable[Any]]] = None,
    ) -> None:
        if isinstance(brokers, str):
            items: List[Any] = [b for b in brokers.split(",") if b.strip()]
        elif isinstance(brokers, (list, tuple)):
            items = list(brokers)
        else:
            raise TypeError("brokers must be a list of 'host:port' strings, not %s" % type(brokers).__name__)
        if not items:
            raise ValueError("brokers must name at least one broker")
        self.brokers = BrokerList()
        for b in items:
            a = _addr(*_parse_broker(b))
            if not list.__contains__(self.brokers, a):
                self.brokers.append(a)
        self.retry_policy = check_policy(retry_policy) or RetryPolicy()
        self.cooldown = float(check_time("cooldown", cooldown) or 0)
        self._clock = clock or time.monotonic
        if sleep is None:
            import asyncio  # here, not at import: import gofka does not import asyncio

            sleep = asyncio.sleep
        self._sleep = sleep
        self._lock = threading.Lock()
        self._health: Dict[str, _Health] = {b: _Health() for b in self.brokers}
        self.current_index = 0

    def __repr__(self) -> str:
        return "<gofka.BrokerFailoverManager brokers=%r healthy=%r>" % (self.brokers, self.get_healthy_brokers())

    # -- health ----------------------------------------------------------

    def _key(self, broker: Any) -> str:
        key = _addr(*_parse_broker(broker))
        if key not in self._health:
            raise ValueError("%s is not one of this manager's brokers %r" % (key, self.brokers))
        return key

    def mark_failed(self, broker: Any, error: Optional[BaseException] = None) -> None:
        """Records a failure: the broker is tried after healthy ones until
        its cool-down ends."""
        key = self._key(broker)
        with self._lock:
            h = self._health[key]
            h.failures += 1
            h.down_until = self._clock() + self.cooldown
            h.last_error = error

    def mark_healthy(self, broker: Any) -> None:
        """Clears the broker's failures."""
        key = self._key(broker)
        with self._lock:
            self._health[key] = _Health()

    mark_success = mark_healthy  # name of the earlier pure-Python client

    def is_healthy(self, broker: Any) -> bool:
        """True unless broker failed and its cool-down has not passed."""
        key = self._key(broker)
        with self._lock:
            return self._clock() >= self._health[key].down_until

    def get_healthy_brokers(self) -> BrokerList:
        """Brokers not cooling down, in configured order ("host:port")."""
        now = self._clock()
        with self._lock:
            return BrokerList(b for b in self.brokers if now >= self._health[b].down_until)

    @property
    def failed_brokers(self) -> BrokerList:
        """Brokers cooling down after a failure ("host:port"; ``in`` takes
        either form, so ``mark_failed(b)`` then ``b in failed_brokers``
        holds for what get_next_broker() returned)."""
        now = self._clock()
        with self._lock:
            return BrokerList(b for b in self.brokers if now < self._health[b].down_until)

    def broker_status(self) -> List[Dict[str, Any]]:
        """Per broker: ``broker``, ``healthy``, ``failures`` (consecutive),
        ``retry_at`` (clock time the cool-down ends, None when healthy) and
        ``last_error`` (str or None)."""
        now = self._clock()
        out = []
        with self._lock:
            for b in self.brokers:
                h = self._health[b]
                healthy = now >= h.down_until
                out.append(
                    {
                        "broker": b,
                        "healthy": healthy,
                        "failures": h.failures,
                        "retry_at": None if healthy else h.down_until,
                        "last_error": None if h.last_error is None else str(h.last_error),
                    }
                )
        return out

    def _order(self) -> List[str]:
        """This call's order: brokers rotated round-robin, healthy first,
        then those cooling down, soonest to recover first."""
        with self._lock:
            n = len(self.brokers)
            start = self.current_index % n
            self.current_index = (self.current_index + 1) % n
            now = self._clock()
            rotated = self.brokers[start:] + self.brokers[:start]
            healthy = [b for b in rotated if now >= self._health[b].down_until]
            down = sorted((b for b in rotated if now < self._health[b].down_until), key=lambda b: self._health[b].down_until)
            return healthy + down

    def get_next_broker(self) -> str:
        """The broker the next call would start with, as "host:port" (the
        form of ``brokers`` and ``failed_brokers``, accepted by
        ``mark_failed``/``mark_success``), and advances the round-robin
        position."""
        return self._order()[0]

    # -- running calls ---------------------------------------------------

    @staticmethod
    def _call_style(fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> str:
        """"addr": fn("host:port", ...); "host_port": fn(host, port, ...)
        (the convention of the earlier pure-Python client), chosen by
        whether fn's signature accepts the broker as one argument."""
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return "addr"
        try:
            sig.bind("h:1", *args, **kwargs)
            return "addr"
        except TypeError:
            pass
        try:
            sig.bind("h", 1, *args, **kwargs)
            return "host_port"
        except TypeError:
            return "addr"

    async def execute_with_failover(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Calls ``fn(broker, *args, **kwargs)`` (sync or async; ``broker``
        is "host:port", or ``fn(host, port, ...)`` when fn takes those two
        instead) until one call succeeds, and returns its result.

        A connection-class failure (gofka.ConnectionError, built-in
        ConnectionError/TimeoutError) marks the broker failed and moves on
        to the next; any other exception propagates at once (the broker
        answered). After a round in which every broker failed it sleeps
        ``retry_policy.compute_backoff(round)`` and starts another, up to
        ``max_retries + 1`` rounds. Then it raises gofka.ConnectionError
        (NO_BROKERS_AVAILABLE) naming every broker tried with its last
        error; ``__cause__`` is the last failure.
        """
        if not callable(fn):
            raise TypeError("fn must be callable")
        style = self._call_style(fn, args, kwargs)
        tried: List[str] = []
        last: Dict[str, BaseException] = {}
        last_exc: Optional[BaseException] = None
        rounds = 0
        while True:
            rounds += 1
            for broker in self._order():
                try:
                    if style == "host_port":
                        host, port = _parse_broker(broker)
                        result = await maybe_await(fn(host, port, *args, **kwargs))
                    else:
                        result = await maybe_await(fn(broker, *args, **kwargs))
                except Exception as exc:
                    if not is_connection_error(exc):
                        raise
                    self.mark_failed(broker, exc)
                    if broker not in last:
                        tried.append(broker)
                    last[broker] = exc
                    last_exc = exc
                    continue
                self.mark_healthy(broker)
                return result
            if rounds > self.retry_policy.max_retries:
                break
            await self._sleep(self.retry_policy.compute_backoff(rounds - 1))
        detail = "; ".join("%s: %s" % (b, last[b]) for b in tried)
        err: GofkaError = error_from_code(
            ERR_NO_BROKERS,
            "every broker failed (%d round(s)): %s" % (rounds, detail),
        )
        raise err from last_exc
