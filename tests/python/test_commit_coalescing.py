"""Concurrent commits (issue 22, item 3): 16 asyncio tasks, or 16 threads,
committing messages of shared partitions at once all return, and the
committed offsets end at the highest one. The engine coalesces such calls
into shared OffsetCommit requests (counted in core/commit_coalescer_test.go);
here the front doors are checked end to end."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Dict, List

import pytest

import gofka
from gofka import AsyncConsumer, Consumer, Message, TopicPartition

pytestmark = pytest.mark.timeout(240)

FAST = dict(session_timeout=6000, heartbeat_interval_ms=300, timeout=20)
PARTITIONS, ROUNDS, WORKERS = 4, 20, 16


def _topic_with_messages(brokers: str) -> str:
    name = "gofka-pycc-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(name, num_partitions=PARTITIONS)
    with gofka.Producer(brokers, timeout=20) as p:
        for part in range(PARTITIONS):
            p.send_batch(name, [b"v%d" % i for i in range(ROUNDS)], partition=part)
    return name


def _by_partition(msgs: List[Message]) -> Dict[int, List[Message]]:
    out: Dict[int, List[Message]] = {p: [] for p in range(PARTITIONS)}
    for m in msgs:
        out[m.partition].append(m)
    for part in out.values():
        part.sort(key=lambda m: m.offset)
    assert all(len(v) == ROUNDS for v in out.values()), {k: len(v) for k, v in out.items()}
    return out


def test_async_tasks_commit_concurrently(brokers: str) -> None:
    topic = _topic_with_messages(brokers)
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]

    async def main() -> Dict[TopicPartition, object]:
        async with AsyncConsumer(brokers, "g-" + topic, None, auto_commit=False, **FAST) as c:
            c.assign(tps)
            got: List[Message] = []
            while len(got) < PARTITIONS * ROUNDS:
                got += await c.poll(PARTITIONS * ROUNDS, timeout=0.5)
            parts = _by_partition(got)
            for r in range(ROUNDS):
                # Every task of a round commits offset r of a partition
                # shared with three other tasks; all must return.
                results = await asyncio.gather(*(c.commit(parts[k % PARTITIONS][r]) for k in range(WORKERS)),
                                               return_exceptions=True)
                assert results == [None] * WORKERS, results
            return dict(await c.committed(tps))

    committed = asyncio.run(main())
    assert committed == {tp: ROUNDS for tp in tps}


def test_threads_commit_concurrently(brokers: str) -> None:
    topic = _topic_with_messages(brokers)
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    with Consumer(brokers, "g-" + topic, None, auto_commit=False, **FAST) as c:
        c.assign(tps)
        got: List[Message] = []
        while len(got) < PARTITIONS * ROUNDS:
            got += c.poll(PARTITIONS * ROUNDS, timeout=0.5)
        parts = _by_partition(got)
        barrier = threading.Barrier(WORKERS, timeout=60)
        errors: List[BaseException] = []
        calls = [0] * WORKERS

        def worker(k: int) -> None:
            try:
                for r in range(ROUNDS):
                    barrier.wait()  # the 16 commits of a round start together
                    c.commit(parts[k % PARTITIONS][r])
                    calls[k] += 1
            except BaseException as e:  # noqa: BLE001 -- reported below
                errors.append(e)
                barrier.abort()

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), "a commit hung"
        assert errors == []
        assert calls == [ROUNDS] * WORKERS
        assert c.committed(tps) == {tp: ROUNDS for tp in tps}


def test_sequential_async_commits_keep_the_queue_watched(brokers: str) -> None:
    """``await commit(m)`` per message: the event loop keeps watching the
    completion queue between one commit and the next (the task woken by a
    commit's completion starts the next before the bridge would stop
    watching), instead of an add_reader / remove_reader pair per commit;
    each commit still completes and the last offset is committed. Once
    nothing is in flight the queue is no longer watched."""
    topic = _topic_with_messages(brokers)
    tp = TopicPartition(topic, 0)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        added = [0]
        add_reader = loop.add_reader

        def counting_add_reader(fd: int, cb: Any, *args: Any) -> None:
            added[0] += 1
            add_reader(fd, cb, *args)

        async with AsyncConsumer(brokers, "g-" + topic, None, auto_commit=False, **FAST) as c:
            c.assign([tp])
            got: List[Message] = []
            while len(got) < ROUNDS:
                got += await c.poll(ROUNDS, timeout=0.5)
            loop.add_reader = counting_add_reader  # type: ignore[method-assign,assignment]
            try:
                for m in got:
                    await c.commit(m)
            finally:
                loop.add_reader = add_reader  # type: ignore[method-assign]
            assert await c.committed([tp]) == {tp: ROUNDS}
            for _ in range(3):
                await asyncio.sleep(0)  # the deferred checks run (two loop turns)
            bridge = c._bridge
            assert bridge is not None and bridge.pending == 0 and not bridge._reading
        return added[0]

    added = asyncio.run(main())
    assert added <= 1, "the queue's fd was registered %d times for %d sequential commits" % (added, ROUNDS)


def test_cancelled_async_commit_leaves_the_consumer_usable(brokers: str) -> None:
    """A task cancelled while its commit is in flight raises CancelledError;
    the commit's late completion is dropped, and later commits (one of them
    right behind it, while it may still be in flight) complete with the
    latest offset committed."""
    topic = _topic_with_messages(brokers)
    tp = TopicPartition(topic, 0)

    async def main() -> Dict[TopicPartition, object]:
        async with AsyncConsumer(brokers, "g-" + topic, None, auto_commit=False, **FAST) as c:
            c.assign([tp])
            got: List[Message] = []
            while len(got) < ROUNDS:
                got += await c.poll(ROUNDS, timeout=0.5)
            for k in range(0, ROUNDS - 1, 2):
                task = asyncio.ensure_future(c.commit(got[k]))
                await asyncio.sleep(0)  # the commit is started
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await c.commit(got[k + 1])
            await c.commit(got[-1])
            return dict(await c.committed([tp]))

    assert asyncio.run(main()) == {tp: ROUNDS}
