"""BrokerFailoverManager with one dead and one live broker, timed with a
fake clock (no sleeps)."""

from __future__ import annotations

import socket
from typing import List, Tuple

import pytest

import gofka
from gofka import BrokerFailoverManager, RetryPolicy


class FakeClock(object):
    """A manual clock whose sleep advances the time instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: List[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _dead_addr() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    addr = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()  # nothing listens: connection refused
    return addr


def _manager(brokers: List[str], retries: int = 3) -> Tuple[BrokerFailoverManager, FakeClock]:
    clock = FakeClock()
    policy = RetryPolicy(max_retries=retries, initial_backoff_ms=100, max_backoff_ms=1000, backoff_multiplier=2.0, jitter=False)
    return BrokerFailoverManager(brokers, retry_policy=policy, cooldown=10, clock=clock, sleep=clock.sleep), clock


def _list_brokers(addr: str) -> List[dict]:
    with gofka.AdminClient(addr, timeout=5, retry_policy=RetryPolicy(max_retries=0)) as admin:
        return admin.list_brokers()


@pytest.mark.asyncio
async def test_fails_over_from_dead_to_live_broker(brokers: str) -> None:
    live = brokers.split(",")[0]
    dead = _dead_addr()
    m, clock = _manager([dead, live])
    tried: List[str] = []

    async def call(addr: str) -> List[dict]:
        tried.append(addr)
        return _list_brokers(addr)

    result = await m.execute_with_failover(call)
    assert result and tried == [dead, live]
    assert clock.sleeps == []  # moving to the next broker does not back off
    status = {s["broker"]: s for s in m.broker_status()}
    assert status[dead]["healthy"] is False and status[dead]["failures"] == 1
    assert "CONNECTION_FAILED" in status[dead]["last_error"] or "NO_BROKERS" in status[dead]["last_error"]
    assert status[dead]["retry_at"] == clock.now + 10
    assert status[live]["healthy"] is True
    assert m.get_healthy_brokers() == [live]
    assert m.failed_brokers == [dead]

    # During the cool-down the live broker goes first, whatever round-robin says.
    for _ in range(3):
        tried.clear()
        await m.execute_with_failover(call)
        assert tried == [live]

    # After it, calls are spread round-robin again (a sync callable this time).
    clock.now += 11
    seen: List[str] = []
    for _ in range(4):
        await m.execute_with_failover(lambda addr: seen.append(addr))
    assert sorted(seen) == sorted([dead, live, dead, live])


@pytest.mark.asyncio
async def test_all_brokers_dead_backs_off_per_policy() -> None:
    dead1, dead2 = _dead_addr(), _dead_addr()
    m, clock = _manager([dead1, dead2], retries=3)
    calls: List[str] = []

    def call(addr: str) -> None:
        calls.append(addr)
        _list_brokers(addr)

    with pytest.raises(gofka.ConnectionError) as info:
        await m.execute_with_failover(call)
    assert len(calls) == 8  # 4 rounds over 2 brokers
    assert clock.sleeps == [0.1, 0.2, 0.4]  # policy.compute_backoff(0..2)
    msg = str(info.value)
    assert dead1 in msg and dead2 in msg
    assert info.value.name == "NO_BROKERS_AVAILABLE"
    assert isinstance(info.value.__cause__, gofka.ConnectionError)


@pytest.mark.asyncio
async def test_jittered_waits_within_policy_bounds() -> None:
    clock = FakeClock()
    policy = RetryPolicy(max_retries=4, initial_backoff_ms=100, max_backoff_ms=300)
    m = BrokerFailoverManager(["a:1"], retry_policy=policy, clock=clock, sleep=clock.sleep)

    def refuse(addr: str) -> None:
        raise ConnectionRefusedError(addr)

    with pytest.raises(gofka.ConnectionError):
        await m.execute_with_failover(refuse)
    assert len(clock.sleeps) == 4
    for n, s in enumerate(clock.sleeps):
        low, high = policy.backoff_range_ms(n)
        assert low / 1000 <= s <= high / 1000


@pytest.mark.asyncio
async def test_host_port_callables_and_other_errors() -> None:
    m, clock = _manager(["h1:1", "h2:2"])

    async def old_style(host: str, port: int, extra: str) -> Tuple[str, int, str]:
        return host, port, extra

    assert await m.execute_with_failover(old_style, "x") == ("h1", 1, "x")

    def broken(addr: str) -> None:
        raise KeyError(addr)

    with pytest.raises(KeyError):  # not a connection problem: no failover
        await m.execute_with_failover(broken)
    assert m.get_healthy_brokers() == ["h1:1", "h2:2"]
    assert clock.sleeps == []


@pytest.mark.asyncio
async def test_compat_methods_and_validation() -> None:
    m, _ = _manager(["h1:1", "h2:2", "h3:3"])
    assert m.brokers == ["h1:1", "h2:2", "h3:3"]
    assert isinstance(m.retry_policy, RetryPolicy)
    assert m.get_next_broker() == "h1:1"
    assert m.get_next_broker() == "h2:2"
    m.mark_failed(("h3", 3))
    assert not m.is_healthy("h3:3")
    m.mark_success("h3:3")
    assert m.is_healthy("h3:3")
    assert BrokerFailoverManager("a:1,b:2").brokers == ["a:1", "b:2"]
    with pytest.raises(ValueError):
        BrokerFailoverManager([])
    with pytest.raises(ValueError):
        BrokerFailoverManager(["nohost"])
    with pytest.raises(TypeError):
        BrokerFailoverManager(["a:1"], retry_policy="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        BrokerFailoverManager(["a:1"], cooldown=-1)
    with pytest.raises(ValueError):
        m.mark_failed("other:9")


@pytest.mark.parametrize("given", ["h1:1", ("h1", 1), " h1:1 "])
def test_one_broker_form_everywhere(given: object) -> None:
    """What get_next_broker() returns is what brokers, failed_brokers and
    get_healthy_brokers() hold and what mark_failed / mark_success /
    is_healthy take; they and ``in`` accept either form."""
    m, _ = _manager([("h1", 1), "h2:2", "[::1]:3"])
    assert m.brokers == ["h1:1", "h2:2", "[::1]:3"]
    broker = m.get_next_broker()
    assert broker == "h1:1"
    assert {type(b) for b in list(m.brokers) + list(m.get_healthy_brokers()) + [broker]} == {str}
    m.mark_failed(broker)
    assert broker in m.failed_brokers and given in m.failed_brokers
    assert broker not in m.get_healthy_brokers() and given not in m.get_healthy_brokers()
    assert [s["broker"] for s in m.broker_status() if not s["healthy"]] == [broker]
    m.mark_success(given)
    assert broker not in m.failed_brokers and given in m.get_healthy_brokers()
    m.mark_failed(given)
    assert not m.is_healthy(broker) and m.failed_brokers == [broker]
    assert ("::1", 3) in m.brokers and "other:1" not in m.brokers and 5 not in m.brokers
