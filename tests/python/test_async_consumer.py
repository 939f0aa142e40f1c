"""AsyncConsumer on the stock asyncio loop and on uvloop."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any, Dict, List, Set, Tuple

import pytest
import uvloop  # tests/requirements.txt

import gofka
from conftest import Runner  # the run fixture (stock asyncio loop and uvloop)
from gofka import AsyncConsumer, Message, TopicPartition
from gofka.exceptions import GofkaError, GroupCoordinationError

pytestmark = pytest.mark.timeout(240)

FAST = dict(session_timeout=6000, heartbeat_interval_ms=300, timeout=20)


def new_topic(brokers: str, partitions: int) -> str:
    name = "gofka-pyac-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(name, num_partitions=partitions)
    return name


def produce(brokers: str, topic: str, partitions: int, per_partition: int, tag: str) -> None:
    with gofka.Producer(brokers, timeout=20) as p:
        for part in range(partitions):
            p.send_batch(topic, [("%s-%d-%d" % (tag, part, i)).encode() for i in range(per_partition)], partition=part)


async def poll_n(c: AsyncConsumer, n: int, deadline: float = 30.0) -> List[Message]:
    got: List[Message] = []
    end = time.monotonic() + deadline
    while len(got) < n:
        assert time.monotonic() < end, "got %d of %d" % (len(got), n)
        got += await c.poll(n - len(got), timeout=0.5)
    return got


def test_bad_arguments(brokers: str) -> None:
    with pytest.raises(ValueError):
        AsyncConsumer(brokers, "g", ["t"], auto_offset_reset="sometimes")
    with pytest.raises(ValueError):
        AsyncConsumer(brokers, "g", [])
    with pytest.raises(ValueError):
        AsyncConsumer(brokers, "g", ["t"], max_poll_records=0)


def test_poll_commit_iterate_close(brokers: str, run: Runner) -> None:
    topic = new_topic(brokers, 2)
    produce(brokers, topic, 2, 25, "a")
    group = "g-" + topic

    async def main() -> None:
        async with AsyncConsumer(brokers, group, [topic], auto_commit=False, max_poll_records=7, **FAST) as c:
            await c.subscribe()
            assert sorted(c.assignment()) == [TopicPartition(topic, 0), TopicPartition(topic, 1)]
            first = await poll_n(c, 10)
            await c.commit(first[-1])
            committed = await c.committed([(first[-1].topic, first[-1].partition)])
            assert list(committed.values()) == [first[-1].offset + 1]
            rest: List[Message] = []
            async for m in c:  # polls 7 at a time, yields one by one
                rest.append(m)
                if len(rest) == 30:
                    break
            seen = {(m.partition, m.offset) for m in first + rest}
            assert len(seen) == 40
            # commit() counts only what the iterator yielded.
            await c.commit()
            committed = await c.committed([(topic, 0), (topic, 1)])
            per_part: Dict[int, int] = {0: 0, 1: 0}
            for p, o in seen:
                per_part[p] = max(per_part[p], o + 1)
            assert committed == {TopicPartition(topic, p): per_part[p] for p in (0, 1)}
        # A new member resumes after exactly the 40 consumed messages.
        async with AsyncConsumer(brokers, group, [topic], **FAST) as d:
            await d.subscribe()
            left = await poll_n(d, 10)
            assert {(m.partition, m.offset) for m in left}.isdisjoint(seen)
            assert len(seen) + len(left) == 50

    run(main())


def test_close_keeps_unyielded_messages(brokers: str, run: Runner) -> None:
    """Messages the iterator buffered but never yielded are not committed
    by close (auto-commit), so the next member gets them."""
    topic = new_topic(brokers, 1)
    produce(brokers, topic, 1, 20, "b")
    group = "g-" + topic

    async def main() -> None:
        c = AsyncConsumer(brokers, group, [topic], max_poll_records=20, **FAST)
        await c.subscribe()
        async for m in c:
            assert m.offset == 0
            break  # the other 19 sit in the local buffer
        await c.close()
        async with AsyncConsumer(brokers, group, [topic], **FAST) as d:
            await d.subscribe()
            msgs = await poll_n(d, 19)
            assert [m.offset for m in msgs] == list(range(1, 20))

    run(main())


def test_three_members_share_partitions(brokers: str, run: Runner) -> None:
    topic = new_topic(brokers, 6)
    group = "g-" + topic

    async def main() -> None:
        cs = [AsyncConsumer(brokers, group, [topic], auto_commit=False, **FAST) for _ in range(3)]
        await asyncio.gather(*(c.subscribe() for c in cs))
        end = time.monotonic() + 60
        while True:
            assigns = [c.assignment() for c in cs]
            flat = [tp for a in assigns for tp in a]
            if len(set(flat)) == 6 == len(flat) and all(len(a) == 2 for a in assigns):
                break
            assert time.monotonic() < end, assigns
            await asyncio.sleep(0.1)
        produce(brokers, topic, 6, 10, "c")
        seen: Dict[Tuple[int, int], int] = {}

        async def member(i: int) -> None:
            while len(seen) < 60:
                for m in await cs[i].poll(100, timeout=0.2):
                    assert (m.partition, m.offset) not in seen
                    assert TopicPartition(topic, m.partition) in assigns[i]
                    seen[(m.partition, m.offset)] = i
                await cs[i].commit()

        await asyncio.wait_for(asyncio.gather(*(member(i) for i in range(3))), 60)
        assert len(seen) == 60
        for c in cs:
            await c.close()

    run(main())


def test_callbacks_may_be_coroutines(brokers: str, run: Runner) -> None:
    topic = new_topic(brokers, 1)
    calls: List[Tuple[str, int]] = []

    async def on_assign(tps: List[TopicPartition]) -> None:
        await asyncio.sleep(0)
        calls.append(("assign", threading.get_ident()))

    def on_revoke(tps: List[TopicPartition]) -> None:
        calls.append(("revoke", threading.get_ident()))

    async def main() -> None:
        c = AsyncConsumer(brokers, "g-" + topic, [topic], on_assign=on_assign, on_revoke=on_revoke, **FAST)
        await c.subscribe()
        await c.poll(1, timeout=0.5)
        await c.close()

    run(main())
    me = threading.get_ident()
    assert calls == [("assign", me), ("revoke", me)]


async def cancel_a_waiting_poll(c: AsyncConsumer, topic: str) -> None:
    """Assigns partition 0 and cancels a poll while the engine still waits
    for records (the engine's call stays pending)."""
    c.assign([(topic, 0)])
    task = asyncio.ensure_future(c.poll(100, timeout=5))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_cancelled_poll_loses_nothing(brokers: str, run: Runner) -> None:
    topic = new_topic(brokers, 1)

    async def main() -> None:
        async with AsyncConsumer(brokers, None, None, **FAST) as c:
            await cancel_a_waiting_poll(c, topic)
            # The cancelled poll hands what it gets afterwards to the next.
            produce(brokers, topic, 1, 5, "d")
            msgs = await poll_n(c, 5)
            assert [m.offset for m in msgs] == list(range(5))

    run(main())


def test_cancelled_poll_is_not_overtaken(brokers: str, run: Runner) -> None:
    """The cancelled poll's records come first even when newer records are
    already prefetched by the time the next poll runs."""
    topic = new_topic(brokers, 1)

    async def main() -> None:
        async with AsyncConsumer(brokers, None, None, **FAST) as c:
            await cancel_a_waiting_poll(c, topic)
            # The loop is blocked from here on: the cancelled poll takes
            # record 0 in the engine, records 1-4 arrive in a later fetch.
            produce(brokers, topic, 1, 1, "first")
            time.sleep(0.5)
            produce(brokers, topic, 1, 4, "later")
            time.sleep(0.5)
            msgs = await poll_n(c, 5)
            assert [m.offset for m in msgs] == list(range(5))

    run(main())


def test_seek_position_offsets_for_times(brokers: str, run: Runner) -> None:
    topic = new_topic(brokers, 1)
    base = time.time() - 100
    with gofka.Producer(brokers, timeout=20) as p:
        for i in range(5):
            p.send(topic, b"%d" % i, timestamp=base + i)

    async def main() -> None:
        async with AsyncConsumer(brokers, "g-" + topic, None, auto_commit=False, **FAST) as c:
            c.assign([(topic, 0)])
            res = await c.offsets_for_times({(topic, 0): base + 2})
            assert res[TopicPartition(topic, 0)].offset == 2
            c.seek(topic, 0, 3)
            assert await c.position(topic, 0) == 3
            msgs = await poll_n(c, 2)
            assert [m.value for m in msgs] == [b"3", b"4"]
            c.pause([(topic, 0)])
            c.resume([(topic, 0)])
            with pytest.raises(GroupCoordinationError):
                await c.commit(Message(topic, 9, 0, b""))

    run(main())


def test_unreachable_coordinator(run: Runner) -> None:
    async def main() -> None:
        c = AsyncConsumer("127.0.0.1:1", "g", ["t"], timeout=2)
        try:
            with pytest.raises(GroupCoordinationError):
                await c.subscribe()
        finally:
            await c.close()
        with pytest.raises(GofkaError):
            await c.poll()

    run(main())


@pytest.mark.parametrize("cls", [gofka.AsyncProducer, gofka.AsyncConsumer, gofka.AsyncAdminClient])
def test_asyncio_clients_have_no_sync_context_manager(cls: type) -> None:
    # Their close is a coroutine: a plain ``with`` could only drop it
    # unawaited (the client stays open); ``async with`` is the way.
    assert not hasattr(cls, "__enter__") and not hasattr(cls, "__exit__")
    assert hasattr(cls, "__aenter__") and hasattr(cls, "__aexit__")


def test_sync_with_on_async_consumer_is_refused_and_leaves_it_usable(brokers: str) -> None:
    c = AsyncConsumer(brokers, "g-%s" % uuid.uuid4().hex[:8], ["t"], **FAST)
    try:
        with pytest.raises((TypeError, AttributeError)):  # AttributeError before Python 3.11
            with c:  # type: ignore[attr-defined]  # the misuse under test (mypy refuses it too)
                pass
        assert not c.closed
    finally:
        asyncio.run(c.close())
    assert c.closed


@pytest.mark.parametrize("how", ["poll", "async for"])
def test_prefetched_records_do_not_starve_the_loop(run: Runner, brokers: str, monkeypatch: pytest.MonkeyPatch,
                                                   how: str) -> None:
    """Records the engine has already prefetched are taken without a round
    trip through the event queue, so a consumer that finds records every
    time never had to suspend: poll() held the loop until the topic ran dry
    (other tasks waited 0.1-0.7 s at a time over 1M records). A take now
    yields to the loop once a millisecond has passed since the consumer last
    did. The engine here always has 100 records ready, each take lasting
    2 ms; another task must run between takes."""
    import gofka.async_consumer as mod

    taken = 0

    def always_ready(owner: Any, max_messages: int, wait_ms: int) -> Tuple[List[Message], list]:
        nonlocal taken
        assert wait_ms == 0
        time.sleep(0.002)
        first = taken
        taken += 100
        return [Message("t", 0, first + i, b"v") for i in range(min(100, max_messages))], []

    async def body() -> Tuple[int, int]:
        c = AsyncConsumer(brokers, None, None, max_poll_records=100, **FAST)
        c.assign([TopicPartition("t", 0)])
        monkeypatch.setattr(mod, "poll_native", always_ready)
        ticks = 0
        stop = False

        async def ticker() -> None:
            nonlocal ticks
            while not stop:
                await asyncio.sleep(0)
                ticks += 1

        t = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)  # the ticker starts
        ticks = 0
        got = 0
        if how == "poll":
            while got < 2000:
                got += len(await c.poll(100, timeout=None))
        else:
            async for _ in c:
                got += 1
                if got == 2000:
                    break
        seen = ticks
        stop = True
        await t
        monkeypatch.undo()
        await c.close()
        return got, seen

    got, ticks = run(body())
    assert got == 2000
    # 20 takes of 2 ms each: the ticker runs after (nearly) every one.
    assert ticks >= 10, "other tasks ran %d times during 20 takes" % ticks
