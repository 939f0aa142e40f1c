"""Retry policy: exponential backoff with a cap, a multiplier and jitter.

A :class:`RetryPolicy` given to a client (``retry_policy=``) configures the
engine itself: the library retries retriable failures (the error table says
which: ``GofkaError.retriable``) with exactly these waits. The same policy
also drives :func:`retry_with_backoff` for your own async callables and the
:class:`~gofka.failover.BrokerFailoverManager`.

Backoff before retry ``n`` (0 = the first retry)::

    base(n) = min(initial_backoff_ms * backoff_multiplier ** n, max_backoff_ms)

and with ``jitter=True`` the wait is drawn uniformly from
``[base(n) / 2, base(n)]`` (the engine uses the same rule), so that many
clients failing together do not retry in lockstep.
"""

from __future__ import annotations

import builtins
import math
import random
import socket
import sys
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple, Type, TypeVar, Union

from ._client import check_setting, check_setting_ms, check_time, maybe_await
from .exceptions import GofkaError

__all__ = [
    "RetryPolicy",
    "retry_with_backoff",
    "with_timeout",
    "is_retriable",
    "is_connection_error",
    "BrokerFailoverManager",
]

T = TypeVar("T")

Number = Union[int, float]


def _check_number(name: str, value: Any, minimum: float) -> Number:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number, not %s" % (name, type(value).__name__))
    if value != value or math.isinf(value) or value < minimum:
        raise ValueError("%s must be a finite number >= %s, got %r" % (name, minimum, value))
    return value


class RetryPolicy(object):
    """Exponential backoff with a cap, a multiplier and optional jitter.

    Args:
        max_retries: retries after the first attempt (>= 0).
        initial_backoff_ms: wait before the first retry, in ms (>= 0).
        max_backoff_ms: upper bound of any wait, in ms (>= initial_backoff_ms).
        backoff_multiplier: growth factor per retry (>= 1.0).
        jitter: draw each wait from [backoff/2, backoff].
        rng: random source for the jitter (``random.Random``); tests pass a
            seeded one. Keyword only.

    Invalid values raise ValueError (TypeError for wrong types).
    """

    def __init__(
        self,
        max_retries: int = 3,
        initial_backoff_ms: Number = 100,
        max_backoff_ms: Number = 30000,
        backoff_multiplier: float = 2.0,
        jitter: bool = True,
        *,
        rng: Optional[random.Random] = None,
    ) -> None:
        # the ranges of retries, retry.backoff.ms and retry.backoff.max.ms,
        # the properties these become (the engine's table: _ranges.py)
        check_setting("max_retries", max_retries, "retries")
        check_setting_ms("initial_backoff_ms", initial_backoff_ms, "retry.backoff.ms")
        check_setting_ms("max_backoff_ms", max_backoff_ms, "retry.backoff.max.ms")
        _check_number("backoff_multiplier", backoff_multiplier, 1.0)
        if max_backoff_ms < initial_backoff_ms:
            raise ValueError(
                "max_backoff_ms (%r) must not be below initial_backoff_ms (%r)" % (max_backoff_ms, initial_backoff_ms)
            )
        if not isinstance(jitter, bool):
            raise TypeError("jitter must be bool, not %s" % type(jitter).__name__)
        self.max_retries = max_retries
        self.initial_backoff_ms = initial_backoff_ms
        self.max_backoff_ms = max_backoff_ms
        self.backoff_multiplier = float(backoff_multiplier)
        self.jitter = jitter
        self._rng = rng

    def __repr__(self) -> str:
        return "RetryPolicy(max_retries=%d, initial_backoff_ms=%r, max_backoff_ms=%r, backoff_multiplier=%r, jitter=%r)" % (
            self.max_retries,
            self.initial_backoff_ms,
            self.max_backoff_ms,
            self.backoff_multiplier,
            self.jitter,
        )

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, RetryPolicy) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> Tuple[Any, ...]:
        return (self.max_retries, self.initial_backoff_ms, self.max_backoff_ms, self.backoff_multiplier, self.jitter)

    @staticmethod
    def _check_attempt(attempt: Any) -> int:
        if isinstance(attempt, bool) or not isinstance(attempt, int):
            raise TypeError("attempt must be int, not %s" % type(attempt).__name__)
        if attempt < 0:
            raise ValueError("attempt must be >= 0, got %d" % attempt)
        return attempt

    def base_backoff_ms(self, attempt: int) -> float:
        """The wait before retry ``attempt`` (0-based) without jitter:
        ``min(initial * multiplier ** attempt, max)`` in ms."""
        attempt = self._check_attempt(attempt)
        try:
            b = self.initial_backoff_ms * self.backoff_multiplier ** attempt
        except OverflowError:
            return float(self.max_backoff_ms)
        return float(min(b, self.max_backoff_ms))

    def backoff_range_ms(self, attempt: int) -> Tuple[float, float]:
        """The (low, high) bounds of the wait before retry ``attempt``."""
        b = self.base_backoff_ms(attempt)
        return (b / 2.0 if self.jitter else b, b)

    def get_backoff_ms(self, attempt: int) -> int:
        """The wait, in whole ms, the policy uses before retry ``attempt``
        (0 = the first retry): jittered when ``jitter`` is set."""
        low, high = self.backoff_range_ms(attempt)
        if low == high:
            return int(high)
        r = (self._rng or random).random()
        return int(low + r * (high - low))

    def compute_backoff(self, attempt: int) -> float:
        """:meth:`get_backoff_ms` in seconds (what ``asyncio.sleep`` takes)."""
        return self.get_backoff_ms(attempt) / 1000.0

    def to_config(self) -> Dict[str, Any]:
        """The engine properties this policy sets (``retries``,
        ``retry.backoff.ms``, ...), as clients pass them to the library."""
        return {
            "retries": self.max_retries,
            "retry.backoff.ms": int(round(self.initial_backoff_ms)),
            "retry.backoff.max.ms": int(round(self.max_backoff_ms)),
            "retry.backoff.multiplier": repr(self.backoff_multiplier),
            "retry.jitter": self.jitter,
        }


def check_policy(policy: Any) -> Optional[RetryPolicy]:
    """None or a RetryPolicy, else TypeError (for clients' retry_policy=)."""
    if policy is not None and not isinstance(policy, RetryPolicy):
        raise TypeError("retry_policy must be a gofka.RetryPolicy, not %s" % type(policy).__name__)
    return policy


_CONNECTION_ERRORS: Tuple[Type[BaseException], ...] = (
    builtins.ConnectionError,  # includes gofka.ConnectionError
    builtins.TimeoutError,  # asyncio.TimeoutError from Python 3.11 (is_connection_error: older ones)
    socket.timeout,
    socket.gaierror,
)


def is_connection_error(exc: BaseException) -> bool:
    """True for connection-class failures: the broker could not be reached
    or did not answer (gofka.ConnectionError, the error table's
    "connection" category, and the built-in connection/timeout errors)."""
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    # Before Python 3.11 asyncio.TimeoutError is a class of its own. Only a
    # process that imported asyncio can raise it, and import gofka does not
    # import asyncio (the sync clients do not need it), so look it up here.
    aio = sys.modules.get("asyncio")
    return aio is not None and isinstance(exc, aio.TimeoutError)


def is_retriable(exc: BaseException) -> bool:
    """True when retrying may succeed: a GofkaError whose ``retriable`` is
    set (the error table's flag of its code; a gofka ConnectionError
    without a code, as application code raises it, is retriable), or a
    built-in connection/timeout error."""
    if isinstance(exc, GofkaError):
        return bool(exc.retriable)
    return is_connection_error(exc)


async def retry_with_backoff(
    func: Callable[..., Union[T, Awaitable[T]]],
    *args: Any,
    policy: Optional[RetryPolicy] = None,
    retriable_exceptions: Optional[Tuple[Type[BaseException], ...]] = None,
    sleep: Optional[Callable[[float], Awaitable[Any]]] = None,
    **kwargs: Any,
) -> T:
    """Calls ``func(*args, **kwargs)`` (async or sync) until it succeeds,
    retrying up to ``policy.max_retries`` times and waiting
    ``policy.compute_backoff(n)`` seconds before retry ``n``.

    Which failures are retried: instances of ``retriable_exceptions`` when
    given, else those :func:`is_retriable` accepts (the error table's
    retriable flag; gofka.exceptions.ConnectionError unless its code says
    otherwise). Other exceptions propagate at once; when retries run
    out the last exception propagates. ``sleep`` (default ``asyncio.sleep``)
    can be replaced by a fake clock in tests.
    """
    policy = check_policy(policy) or RetryPolicy()
    if not callable(func):
        raise TypeError("func must be callable")
    if sleep is None:
        import asyncio  # here, not at import: import gofka does not import asyncio

        sleep = asyncio.sleep
    do_sleep = sleep
    attempt = 0
    while True:
        try:
            return await maybe_await(func(*args, **kwargs))
        except Exception as exc:
            if retriable_exceptions is not None:
                retry = isinstance(exc, retriable_exceptions)
            else:
                retry = is_retriable(exc)
            if not retry or attempt >= policy.max_retries:
                raise
            await do_sleep(policy.compute_backoff(attempt))
            attempt += 1


async def with_timeout(func: Callable[..., Awaitable[T]], timeout_seconds: float, *args: Any, **kwargs: Any) -> T:
    """Awaits ``func(*args, **kwargs)`` for at most ``timeout_seconds``
    (asyncio.TimeoutError after; None or inf = no bound)."""
    import asyncio  # here, not at import: import gofka does not import asyncio

    timeout = check_time("timeout_seconds", timeout_seconds, none_ok=True, unbounded=True)
    return await asyncio.wait_for(func(*args, **kwargs), timeout=timeout)


def __getattr__(name: str) -> Any:
    # gofka.retry.BrokerFailoverManager kept for code written against the
    # earlier pure-Python client (it lives in gofka.failover now).
    if name == "BrokerFailoverManager":
        from .failover import BrokerFailoverManager

        return BrokerFailoverManager
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
