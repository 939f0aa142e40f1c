"""RetryPolicy and retry_with_backoff, timed with a fake sleep."""

from __future__ import annotations

import asyncio
import random
from typing import List

import pytest

import gofka
from gofka import RetryPolicy, retry_with_backoff
from gofka.exceptions import error_from_code


class FakeSleep(object):
    def __init__(self) -> None:
        self.waits: List[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_defaults_and_attributes() -> None:
    p = RetryPolicy()
    assert (p.max_retries, p.initial_backoff_ms, p.max_backoff_ms, p.backoff_multiplier, p.jitter) == (3, 100, 30000, 2.0, True)
    assert p == RetryPolicy() and p != RetryPolicy(jitter=False)
    assert "max_retries=3" in repr(p)


def test_backoff_sequence_without_jitter() -> None:
    p = RetryPolicy(max_retries=6, initial_backoff_ms=100, max_backoff_ms=1000, backoff_multiplier=3.0, jitter=False)
    assert [p.get_backoff_ms(n) for n in range(5)] == [100, 300, 900, 1000, 1000]
    assert p.compute_backoff(1) == 0.3
    assert p.base_backoff_ms(10 ** 6) == 1000  # no overflow
    assert p.backoff_range_ms(2) == (900, 900)


def test_jitter_stays_in_range() -> None:
    p = RetryPolicy(initial_backoff_ms=200, max_backoff_ms=5000, rng=random.Random(7))
    for attempt in range(6):
        low, high = p.backoff_range_ms(attempt)
        assert low == high / 2
        for _ in range(50):
            assert low <= p.get_backoff_ms(attempt) <= high
    values = {p.get_backoff_ms(3) for _ in range(50)}
    assert len(values) > 1  # really random


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"max_retries": -1}, ValueError),
        ({"max_retries": 1.5}, TypeError),
        ({"initial_backoff_ms": -1}, ValueError),
        ({"max_backoff_ms": 10, "initial_backoff_ms": 100}, ValueError),
        ({"backoff_multiplier": 0.5}, ValueError),
        ({"backoff_multiplier": float("nan")}, ValueError),
        ({"jitter": "yes"}, TypeError),
        ({"initial_backoff_ms": "100"}, TypeError),
    ],
)
def test_invalid_policy(kwargs, exc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc):
        RetryPolicy(**kwargs)
    with pytest.raises(ValueError):
        RetryPolicy().get_backoff_ms(-1)


def test_to_config_is_accepted_by_the_engine() -> None:
    p = RetryPolicy(max_retries=5, initial_backoff_ms=50, max_backoff_ms=800, backoff_multiplier=1.5, jitter=False)
    assert p.to_config() == {
        "retries": 5,
        "retry.backoff.ms": 50,
        "retry.backoff.max.ms": 800,
        "retry.backoff.multiplier": "1.5",
        "retry.jitter": False,
    }
    with gofka.AdminClient("127.0.0.1:1", retry_policy=p) as admin:
        assert admin.retry_policy is p


@pytest.mark.asyncio
async def test_retry_with_backoff_follows_policy() -> None:
    sleep = FakeSleep()
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise error_from_code(6, "leader moved")  # NOT_LEADER_OR_FOLLOWER: retriable
        return "ok"

    p = RetryPolicy(max_retries=3, initial_backoff_ms=100, backoff_multiplier=2.0, jitter=False)
    assert await retry_with_backoff(flaky, policy=p, sleep=sleep) == "ok"
    assert sleep.waits == [0.1, 0.2]

    # Exhausted: the last error propagates after max_retries waits.
    sleep.waits.clear()

    async def down() -> None:
        raise error_from_code(-105, "refused")

    with pytest.raises(gofka.ConnectionError):
        await retry_with_backoff(down, policy=p, sleep=sleep)
    assert sleep.waits == [0.1, 0.2, 0.4]

    # Not retriable per the error table: no retry.
    sleep.waits.clear()

    async def fatal() -> None:
        raise error_from_code(10, "too big")  # MESSAGE_TOO_LARGE

    with pytest.raises(gofka.ProduceError):
        await retry_with_backoff(fatal, policy=p, sleep=sleep)
    assert sleep.waits == []
    with pytest.raises(ZeroDivisionError):
        await retry_with_backoff(lambda: 1 / 0, policy=p, sleep=sleep)


@pytest.mark.asyncio
async def test_retry_with_backoff_compat_arguments() -> None:
    sleep = FakeSleep()
    n = []

    def sync_fn(a: int, b: int = 0) -> int:
        n.append(1)
        if len(n) == 1:
            raise KeyError("x")
        return a + b

    p = RetryPolicy(max_retries=1, initial_backoff_ms=5, jitter=False)
    assert await retry_with_backoff(sync_fn, 1, b=2, policy=p, retriable_exceptions=(KeyError,), sleep=sleep) == 3
    assert sleep.waits == [0.005]


@pytest.mark.asyncio
async def test_retry_with_real_sleep_and_timeout_helper() -> None:
    from gofka.retry import with_timeout

    async def slow() -> None:
        await asyncio.sleep(5)

    with pytest.raises(asyncio.TimeoutError):
        await with_timeout(slow, 0.01)
    assert await retry_with_backoff(asyncio.sleep, 0, policy=RetryPolicy(max_retries=0)) is None


def test_module_names_of_the_earlier_client() -> None:
    from gofka.retry import BrokerFailoverManager, RetryPolicy as RP, retry_with_backoff as rwb  # noqa: F401
    from gofka.failover import BrokerFailoverManager as BFM
    from gofka.pool import ConnectionPool  # noqa: F401
    from gofka.admin import AdminClient  # noqa: F401
    from gofka.async_admin import AsyncAdminClient  # noqa: F401

    assert BrokerFailoverManager is BFM and RP is RetryPolicy and rwb is retry_with_backoff
