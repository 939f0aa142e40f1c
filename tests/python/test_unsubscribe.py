"""unsubscribe() is a revocation the application makes itself: ``on_revoke``
runs before the partitions go (so what it commits is committed), once, and
no second revocation follows on a later poll. Sync and async consumers."""

from __future__ import annotations

import asyncio
import uuid
from typing import Dict, List, Optional

import pytest

import gofka
from gofka import AsyncConsumer, Consumer, TopicPartition

pytestmark = pytest.mark.timeout(120)

FAST = dict(session_timeout=6000, heartbeat_interval_ms=300, timeout=20)


def new_topic(brokers: str, partitions: int, per_partition: int) -> str:
    name = "gofka-unsub-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(name, num_partitions=partitions)
    with gofka.Producer(brokers, timeout=20) as p:
        for part in range(partitions):
            p.send_batch(name, [b"v%d" % i for i in range(per_partition)], partition=part)
    return name


def committed(brokers: str, group: str, tps: List[TopicPartition]) -> Dict[TopicPartition, Optional[int]]:
    with Consumer(brokers, group, None, auto_commit=False, **FAST) as other:
        return other.committed(tps)


def test_commit_in_on_revoke_after_unsubscribe(brokers: str) -> None:
    topic = new_topic(brokers, 2, 4)
    group = "g-" + topic
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    revoked: List[List[TopicPartition]] = []
    seen_assigned: List[List[TopicPartition]] = []

    def on_revoke(parts: List[TopicPartition]) -> None:
        revoked.append(parts)
        seen_assigned.append(c.assignment())
        c.commit()

    c = Consumer(brokers, group, [topic], auto_commit=False, on_revoke=on_revoke, **FAST)
    try:
        c.subscribe()
        got: List[gofka.Message] = []
        for _ in range(200):
            got += c.poll(8, timeout=0.2)
            if len(got) == 8:
                break
        assert len(got) == 8
        c.unsubscribe()
        assert revoked == [tps]
        assert seen_assigned == [tps], "on_revoke ran after the partitions were gone"
        assert c.assignment() == []
        assert c.poll(1, timeout=0.3) == []
        assert revoked == [tps], "a second revocation followed unsubscribe()"
    finally:
        c.close()
    assert revoked == [tps], "close() after unsubscribe() revoked again"
    assert committed(brokers, group, tps) == {tps[0]: 4, tps[1]: 4}


def test_async_commit_in_on_revoke_after_unsubscribe(brokers: str) -> None:
    topic = new_topic(brokers, 2, 4)
    group = "g-" + topic
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    revoked: List[List[TopicPartition]] = []

    async def main() -> None:
        async def on_revoke(parts: List[TopicPartition]) -> None:
            revoked.append(parts)
            assert c.assignment() == tps, "on_revoke ran after the partitions were gone"
            await c.commit()

        c = AsyncConsumer(brokers, group, [topic], auto_commit=False, on_revoke=on_revoke, **FAST)
        async with c:
            await c.subscribe()
            got: List[gofka.Message] = []
            for _ in range(200):
                got += await c.poll(8, timeout=0.2)
                if len(got) == 8:
                    break
            assert len(got) == 8
            await c.unsubscribe()
            assert revoked == [tps]
            assert await c.poll(1, timeout=0.3) == []
        assert revoked == [tps]

    asyncio.run(main())
    assert committed(brokers, group, tps) == {tps[0]: 4, tps[1]: 4}
