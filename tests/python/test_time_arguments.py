"""Every time argument of the public API follows one rule (gofka._client.check_time):

* a non-number (a str, a bool) is a TypeError naming the argument;
* NaN and negative values are a ValueError naming the argument;
* inf means "no bound" where None already means that (poll timeouts,
  retry.with_timeout), and is a ValueError everywhere else;
* a finite value above 2**31-1 ms (the C ABI's int32 milliseconds) is a
  ValueError -- never an OverflowError from ctypes, never a silent clamp.

The table below lists every such argument of every client (grep for
timeout/_ms/interval/backoff/cooldown/idle in python/gofka); each is tried
with each bad value. No call here reaches a broker: the checks run before
any I/O, so the address is never dialled.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Callable, List, Tuple

import pytest

import gofka
from gofka import retry as gofka_retry
from gofka.consumer import check_poll_timeout

NOWHERE = "127.0.0.1:9"  # discard port: never dialled by these tests
HUGE = 10 ** 13  # above 2**31-1 ms whether read as seconds or as ms


def _producer_call(fn: Callable[[gofka.Producer], Any]) -> Callable[[], Any]:
    def call() -> Any:
        p = gofka.Producer(NOWHERE)
        try:
            return fn(p)
        finally:
            p.close(timeout=0)

    return call


def _async_producer_call(method: str, value: Any) -> Callable[[], Any]:
    def call() -> Any:
        async def main() -> Any:
            p = gofka.AsyncProducer(NOWHERE)
            try:
                return await getattr(p, method)(timeout=value)
            finally:
                await p.close(timeout=0)

        return asyncio.run(main())

    return call


def _consumer_poll(value: Any) -> Any:
    with gofka.Consumer(NOWHERE, None, None) as c:
        return c.poll(timeout=value)


def _async_consumer_poll(value: Any) -> Any:
    async def main() -> Any:
        c = gofka.AsyncConsumer(NOWHERE, None, None)
        try:
            return await c.poll(timeout=value)
        finally:
            await c.close()

    return asyncio.run(main())


async def _never() -> None:
    raise AssertionError("not reached: the timeout is checked first")


def _with_timeout(value: Any) -> Any:
    return asyncio.run(gofka_retry.with_timeout(_never, value))


# (argument id, call with the value, whether inf means "no bound" there)
Case = Tuple[str, Callable[[Any], Any], bool]
CASES: List[Case] = [
    ("Producer(timeout)", lambda v: gofka.Producer(NOWHERE, timeout=v), False),
    ("Producer(linger_ms)", lambda v: gofka.Producer(NOWHERE, linger_ms=v), False),
    ("Producer(delivery_timeout_ms)", lambda v: gofka.Producer(NOWHERE, delivery_timeout_ms=v), False),
    ("Producer(exit_timeout)", lambda v: gofka.Producer(NOWHERE, exit_timeout=v), False),
    ("Producer.poll(timeout)", lambda v: _producer_call(lambda p: p.poll(timeout=v))(), True),
    ("Producer.flush(timeout)", lambda v: _producer_call(lambda p: p.flush(timeout=v))(), False),
    ("Producer.close(timeout)", lambda v: _producer_call(lambda p: p.close(timeout=v))(), False),
    ("AsyncProducer(timeout)", lambda v: gofka.AsyncProducer(NOWHERE, timeout=v), False),
    ("AsyncProducer(linger_ms)", lambda v: gofka.AsyncProducer(NOWHERE, linger_ms=v), False),
    ("AsyncProducer(delivery_timeout_ms)", lambda v: gofka.AsyncProducer(NOWHERE, delivery_timeout_ms=v), False),
    ("AsyncProducer(exit_timeout)", lambda v: gofka.AsyncProducer(NOWHERE, exit_timeout=v), False),
    ("AsyncProducer.flush(timeout)", lambda v: _async_producer_call("flush", v)(), False),
    ("AsyncProducer.close(timeout)", lambda v: _async_producer_call("close", v)(), False),
    ("Consumer(timeout)", lambda v: gofka.Consumer(NOWHERE, None, None, timeout=v), False),
    ("Consumer(session_timeout)", lambda v: gofka.Consumer(NOWHERE, None, None, session_timeout=v), False),
    ("Consumer(max_poll_interval_ms)", lambda v: gofka.Consumer(NOWHERE, None, None, max_poll_interval_ms=v), False),
    ("Consumer(heartbeat_interval_ms)", lambda v: gofka.Consumer(NOWHERE, None, None, heartbeat_interval_ms=v), False),
    ("Consumer(auto_commit_interval_ms)", lambda v: gofka.Consumer(NOWHERE, None, None, auto_commit_interval_ms=v), False),
    ("Consumer(fetch_max_wait_ms)", lambda v: gofka.Consumer(NOWHERE, None, None, fetch_max_wait_ms=v), False),
    ("Consumer(metadata_max_age_ms)", lambda v: gofka.Consumer(NOWHERE, None, None, metadata_max_age_ms=v), False),
    ("Consumer.poll(timeout)", _consumer_poll, True),
    ("AsyncConsumer(timeout)", lambda v: gofka.AsyncConsumer(NOWHERE, None, None, timeout=v), False),
    ("AsyncConsumer(session_timeout)", lambda v: gofka.AsyncConsumer(NOWHERE, None, None, session_timeout=v), False),
    ("AsyncConsumer(max_poll_interval_ms)", lambda v: gofka.AsyncConsumer(NOWHERE, None, None, max_poll_interval_ms=v), False),
    ("AsyncConsumer(heartbeat_interval_ms)", lambda v: gofka.AsyncConsumer(NOWHERE, None, None, heartbeat_interval_ms=v), False),
    ("AsyncConsumer(auto_commit_interval_ms)",
     lambda v: gofka.AsyncConsumer(NOWHERE, None, None, auto_commit_interval_ms=v), False),
    ("AsyncConsumer(fetch_max_wait_ms)", lambda v: gofka.AsyncConsumer(NOWHERE, None, None, fetch_max_wait_ms=v), False),
    ("AsyncConsumer(metadata_max_age_ms)", lambda v: gofka.AsyncConsumer(NOWHERE, None, None, metadata_max_age_ms=v), False),
    ("AsyncConsumer.poll(timeout)", _async_consumer_poll, True),
    ("AdminClient(timeout)", lambda v: gofka.AdminClient(NOWHERE, timeout=v), False),
    ("AsyncAdminClient(timeout)", lambda v: gofka.AsyncAdminClient(NOWHERE, timeout=v), False),
    ("ConnectionPool(max_idle_time)", lambda v: gofka.ConnectionPool(max_idle_time=v), False),
    ("ConnectionPool(connection_timeout)", lambda v: gofka.ConnectionPool(connection_timeout=v), False),
    ("RetryPolicy(initial_backoff_ms)", lambda v: gofka.RetryPolicy(initial_backoff_ms=v), False),
    ("RetryPolicy(max_backoff_ms)", lambda v: gofka.RetryPolicy(max_backoff_ms=v), False),
    ("BrokerFailoverManager(cooldown)", lambda v: gofka.BrokerFailoverManager(NOWHERE, cooldown=v), False),
    ("retry.with_timeout(timeout_seconds)", _with_timeout, True),
]

BAD_VALUES = [
    ("nan", math.nan, ValueError),
    ("negative", -1, ValueError),
    ("huge", HUGE, ValueError),
    ("str", "1", TypeError),
    ("bool", True, TypeError),
]


def _arg_name(case_id: str) -> str:
    """'Producer.poll(timeout)' -> 'timeout'."""
    return case_id[case_id.index("(") + 1:-1]


@pytest.mark.parametrize("label,value,exc", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_time_argument(case: Case, label: str, value: Any, exc: type) -> None:
    case_id, call, _ = case
    with pytest.raises(exc) as info:
        call(value)
    assert _arg_name(case_id) in str(info.value), str(info.value)
    if exc is ValueError and label == "huge":
        assert "2**31-1 ms" in str(info.value)


@pytest.mark.parametrize("case", [c for c in CASES if not c[2]], ids=[c[0] for c in CASES if not c[2]])
def test_inf_is_a_value_error_where_none_is_not_no_bound(case: Case) -> None:
    case_id, call, _ = case
    with pytest.raises(ValueError) as info:
        call(math.inf)
    assert _arg_name(case_id) in str(info.value)


def test_inf_means_no_bound_where_none_does() -> None:
    # Producer.poll(inf) is poll(None): with nothing sent it has nothing
    # to wait for and returns at once.
    assert _producer_call(lambda p: p.poll(timeout=math.inf))() == 0
    # The consumers' poll: inf is None ("until a message arrives"); a
    # call would block, so the shared check is asserted directly.
    assert check_poll_timeout(math.inf) is None
    assert check_poll_timeout(None) is None
    assert check_poll_timeout(2.5) == 2.5

    async def answer() -> int:
        return 42

    assert asyncio.run(gofka_retry.with_timeout(answer, math.inf)) == 42


def test_largest_time_is_accepted() -> None:
    # 2**31-1 ms is the bound itself: accepted (in ms and in seconds).
    gofka.RetryPolicy(initial_backoff_ms=0, max_backoff_ms=2 ** 31 - 1)
    with gofka.Producer(NOWHERE, linger_ms=2 ** 31 - 1, timeout=(2 ** 31 - 1) / 1000) as p:
        assert p.linger_ms == 2 ** 31 - 1
