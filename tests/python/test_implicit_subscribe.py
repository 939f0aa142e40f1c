"""A consumer given topics subscribes to them at its first poll (sync) or
poll / iteration step (async) when subscribe() was not called; explicit
subscribe() keeps working (twice is harmless), assign() before the first
poll means no implicit subscribe, and after unsubscribe() nothing is
subscribed again by itself. Every wait is bounded: a consumer that never
subscribes fails a test instead of hanging it."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Awaitable, Callable, List

import pytest

import gofka
from gofka import AsyncConsumer, Consumer, Message, TopicPartition

pytestmark = pytest.mark.timeout(240)

FAST = dict(session_timeout=6000, heartbeat_interval_ms=300, timeout=20)


def new_topic(brokers: str, partitions: int = 1) -> str:
    name = "gofka-pyis-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(name, num_partitions=partitions)
    return name


def produce(brokers: str, topic: str, n: int, tag: str = "v") -> List[bytes]:
    values = [("%s-%d" % (tag, i)).encode() for i in range(n)]
    with gofka.Producer(brokers, timeout=20) as p:
        p.send_batch(topic, values, partition=0)
    return values


def group() -> str:
    return "g-is-%s" % uuid.uuid4().hex[:12]


def poll_n(c: Consumer, n: int, deadline: float = 30.0) -> List[Message]:
    got: List[Message] = []
    end = time.monotonic() + deadline
    while len(got) < n:
        assert time.monotonic() < end, "got %d of %d messages" % (len(got), n)
        got += c.poll(n - len(got), timeout=0.5)
    return got


def run(coro: Awaitable[Any], limit: float = 60) -> Any:
    """Runs coro on a new loop; a hang fails with asyncio.TimeoutError."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, limit))
    finally:
        loop.close()


# ---- sync ----


def test_first_poll_subscribes_to_the_constructor_topics(brokers: str) -> None:
    topic = new_topic(brokers)
    values = produce(brokers, topic, 20)
    with Consumer(brokers, group(), [topic], **FAST) as c:  # type: ignore[arg-type]
        assert not c.subscribed
        got = poll_n(c, 20)
        assert [m.value for m in got] == values
        assert c.subscribed
        assert c.assignment() == [TopicPartition(topic, 0)]
    assert not c.subscribed  # closed


def test_pattern_is_subscribed_implicitly_too(brokers: str) -> None:
    topic = new_topic(brokers)
    values = produce(brokers, topic, 5)
    with Consumer(brokers, group(), None, pattern=topic, **FAST) as c:  # type: ignore[arg-type]
        assert [m.value for m in poll_n(c, 5)] == values


def test_explicit_subscribe_twice_then_poll(brokers: str) -> None:
    topic = new_topic(brokers)
    values = produce(brokers, topic, 10)
    with Consumer(brokers, group(), [topic], **FAST) as c:  # type: ignore[arg-type]
        c.subscribe()
        assert c.subscribed
        start = time.monotonic()
        c.subscribe()  # already a member: no rejoin, no wait
        assert time.monotonic() - start < FAST["timeout"]
        assert c.assignment() == [TopicPartition(topic, 0)]
        assert [m.value for m in poll_n(c, 10)] == values
        # nothing is delivered twice
        assert c.poll(10, timeout=0.5) == []


def test_subscribe_after_an_implicit_subscribe(brokers: str) -> None:
    topic = new_topic(brokers)
    values = produce(brokers, topic, 6)
    with Consumer(brokers, group(), [topic], **FAST) as c:  # type: ignore[arg-type]
        got = c.poll(3, timeout=0.2)  # subscribes (records may not have come yet)
        assert c.subscribed
        c.subscribe()  # waits for the group
        assert c.assignment() == [TopicPartition(topic, 0)]
        got += poll_n(c, 6 - len(got))
        assert [m.value for m in got] == values


def test_assign_before_the_first_poll_means_no_subscribe(brokers: str) -> None:
    subscribed_topic, assigned_topic = new_topic(brokers), new_topic(brokers)
    produce(brokers, subscribed_topic, 5, "sub")
    values = produce(brokers, assigned_topic, 5, "asg")
    with Consumer(brokers, group(), [subscribed_topic], **FAST) as c:  # type: ignore[arg-type]
        c.assign([(assigned_topic, 0)])
        got = poll_n(c, 5)
        assert [m.value for m in got] == values
        assert not c.subscribed
        assert c.assignment() == [TopicPartition(assigned_topic, 0)]


def test_no_implicit_resubscribe_after_unsubscribe(brokers: str) -> None:
    topic = new_topic(brokers)
    produce(brokers, topic, 4, "first")
    with Consumer(brokers, group(), [topic], auto_commit=False, **FAST) as c:  # type: ignore[arg-type]
        assert len(poll_n(c, 4)) == 4
        c.unsubscribe()
        assert not c.subscribed
        produce(brokers, topic, 4, "second")
        assert c.poll(10, timeout=1.5) == []
        assert not c.subscribed and c.assignment() == []
        # an explicit subscribe still works (nothing committed: from the start)
        c.subscribe()
        assert len(poll_n(c, 8)) == 8


def test_topics_without_group_id_is_a_clear_error_at_poll(brokers: str) -> None:
    with Consumer(brokers, None, ["t"], timeout=5) as c:
        with pytest.raises(ValueError, match="group_id"):
            c.poll(timeout=0.1)


def test_implicit_subscribe_does_not_block_the_poll() -> None:
    """Nothing listens on 127.0.0.1:1: the group cannot be joined, and a
    poll still returns [] within (a bound of) its own timeout."""
    with Consumer("127.0.0.1:1", group(), ["t"], timeout=5) as c:
        start = time.monotonic()
        assert c.poll(timeout=0.5) == []
        assert time.monotonic() - start < 5
        assert c.subscribed


# ---- async ----


def test_async_with_then_async_for(brokers: str) -> None:
    """The seed's example without its subscribe(): `async with` then
    `async for` yields the records."""
    topic = new_topic(brokers)
    values = produce(brokers, topic, 12)

    async def main() -> List[bytes]:
        got: List[bytes] = []
        async with AsyncConsumer(brokers, group(), [topic], **FAST) as c:  # type: ignore[arg-type]
            assert not c.subscribed
            async for m in c:
                got.append(m.value)
                if len(got) == len(values):
                    break
            assert c.subscribed
        return got

    assert run(main()) == values


def test_async_poll_subscribes_and_subscribe_twice(brokers: str) -> None:
    topic = new_topic(brokers)
    values = produce(brokers, topic, 8)

    async def main() -> None:
        async with AsyncConsumer(brokers, group(), [topic], **FAST) as c:  # type: ignore[arg-type]
            got: List[Message] = []
            end = time.monotonic() + 30
            while len(got) < 4:
                assert time.monotonic() < end
                got += await c.poll(4 - len(got), timeout=0.5)
            assert c.subscribed
            await c.subscribe()  # after the implicit one: waits for the group
            await c.subscribe()  # joined: returns at once
            while len(got) < 8:
                assert time.monotonic() < end
                got += await c.poll(8 - len(got), timeout=0.5)
            assert [m.value for m in got] == values

    run(main())


def test_async_assign_first_and_unsubscribe(brokers: str) -> None:
    subscribed_topic, assigned_topic = new_topic(brokers), new_topic(brokers)
    produce(brokers, subscribed_topic, 3, "sub")
    values = produce(brokers, assigned_topic, 3, "asg")

    async def main() -> None:
        async with AsyncConsumer(brokers, group(), [subscribed_topic], **FAST) as c:  # type: ignore[arg-type]
            c.assign([(assigned_topic, 0)])
            got: List[bytes] = []
            async for m in c:
                got.append(m.value)
                if len(got) == 3:
                    break
            assert got == values and not c.subscribed
        # auto_commit=False: an auto-commit before revoking, right after the
        # join, can meet a follow-up rebalance (REBALANCE_IN_PROGRESS); that
        # engine race is not what this test is about.
        async with AsyncConsumer(brokers, group(), [subscribed_topic], auto_commit=False,
                                 **FAST) as c:  # type: ignore[arg-type]
            await c.subscribe()
            await c.unsubscribe()
            assert not c.subscribed
            assert await c.poll(10, timeout=1.0) == []
            assert not c.subscribed and c.assignment() == []

    run(main())


def test_async_implicit_subscribe_does_not_block_the_loop() -> None:
    async def main() -> None:
        c = AsyncConsumer("127.0.0.1:1", group(), ["t"], timeout=5)
        try:
            start = time.monotonic()
            assert await c.poll(timeout=0.5) == []
            assert time.monotonic() - start < 5
            assert c.subscribed
        finally:
            await c.close()

    run(main())
