"""AsyncAdminClient: every method through the asyncio bridge."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

import gofka
from gofka import AsyncAdminClient
from gofka.exceptions import GofkaError, GroupCoordinationError, MetadataError

pytestmark = pytest.mark.asyncio


async def _wait_for(coro_fn, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await coro_fn():
        assert time.monotonic() < deadline, "condition not met in %ss" % timeout
        await asyncio.sleep(0.05)


async def test_async_admin_every_method(brokers: str, topic: str) -> None:
    async with AsyncAdminClient(brokers, timeout=20) as admin:
        assert admin.client_id == "gofka-python-async-admin" and admin.use_ssl is False
        await admin.create_topic(topic, num_partitions=2, replication_factor=1, config={"retention.ms": "3600000"})
        try:
            assert topic in await admin.list_topics()
            assert not [t for t in await admin.list_topics() if t.startswith("__")]
            md = await admin.get_cluster_metadata([topic])
            assert [t["name"] for t in md["topics"]] == [topic]
            brokers_list = await admin.list_brokers()
            addrs = {b["addr"] for b in brokers_list}
            assert (await admin.describe_cluster())["brokers"] == brokers_list
            d = await admin.describe_topic(topic)
            assert len(d["partitions"]) == 2 and d["configs"]["retention.ms"] == "3600000"
            assert await admin.get_partition_count(topic) == 2
            leaders = await admin.get_topic_leaders(topic)
            assert sorted(leaders) == [0, 1] and set(leaders.values()) <= addrs

            await admin.create_partitions(topic, 3)
            assert await admin.get_partition_count(topic) == 3
            await admin.alter_configs("topic", topic, {"retention.ms": "60000"})

            async def altered() -> bool:
                c = await admin.describe_configs("topic", topic, ["retention.ms"])
                return c["retention.ms"]["value"] == "60000"

            await _wait_for(altered)

            with gofka.Producer(brokers, timeout=15) as producer:
                for i in range(5):
                    producer.send(topic, b"v%d" % i, partition=0)
            assert await admin.list_offsets(topic, [0]) == {0: 5}
            assert await admin.list_offsets(topic, [0], "earliest") == {0: 0}
            assert await admin.delete_records(topic, {0: 2}) == {0: 2}

            group = "gofka-py-agroup-%s" % uuid.uuid4().hex
            await admin.alter_consumer_group_offsets(group, {topic: {0: 3}})
            assert await admin.list_consumer_group_offsets(group) == {topic: {0: 3}}
            assert await admin.consumer_lag(group) == {topic: {0: {"committed_offset": 3, "log_end_offset": 5, "lag": 2}}}
            assert group in {g["group_id"] for g in await admin.list_consumer_groups()}
            assert (await admin.describe_consumer_group(group))["state"] == "Empty"
            assert (await admin.describe_consumer_groups([group]))[0]["group_id"] == group
            await admin.delete_consumer_group_offsets(group, topic)
            assert await admin.list_consumer_group_offsets(group) == {}
            # Kafka 3.x drops an empty group once its last offset is deleted
            # (4.x keeps it): commit again so the group exists on every version.
            await admin.alter_consumer_group_offsets(group, {topic: {0: 2}})
            await admin.delete_consumer_groups([group])
            with pytest.raises(GroupCoordinationError):
                await admin.describe_consumer_group(group)
            await admin.alter_consumer_group_offsets(group, {topic: {0: 1}})
            await admin.delete_consumer_group(group)

            t2 = topic + "-2"
            await admin.create_topics([gofka.NewTopic(t2, 1, 1)])
            await admin.delete_topics([t2])
            assert t2 not in await admin.list_topics()
        finally:
            await admin.delete_topic(topic)
        with pytest.raises(MetadataError) as info:
            await admin.describe_topic(topic)
        assert info.value.name == "UNKNOWN_TOPIC_OR_PARTITION"
        assert info.value.broker


async def test_async_admin_concurrent_calls(brokers: str) -> None:
    async with AsyncAdminClient(brokers, timeout=20) as admin:
        results = await asyncio.gather(*(admin.list_brokers() for _ in range(20)))
        assert all(r == results[0] for r in results)


async def test_async_admin_errors_and_close(brokers: str) -> None:
    admin = AsyncAdminClient("127.0.0.1:1", timeout=2, retry_policy=gofka.RetryPolicy(max_retries=0))
    with pytest.raises(gofka.ConnectionError):
        await admin.list_topics()
    with pytest.raises(ValueError):
        await admin.describe_topic("")
    await admin.close()
    await admin.close()
    assert admin.closed
    with pytest.raises(GofkaError) as info:
        await admin.list_topics()
    assert info.value.name == "CLIENT_CLOSED"
    with pytest.raises(gofka.ConnectionError):
        async with AsyncAdminClient("127.0.0.1:1", timeout=2, retry_policy=gofka.RetryPolicy(max_retries=0)):
            pass


async def test_use_ssl_is_honoured(brokers: str) -> None:
    # The test brokers speak plaintext: with use_ssl the client attempts a
    # TLS handshake, which fails; without it the same call works.
    one = brokers.split(",")[0]
    admin = AsyncAdminClient(one, timeout=1, use_ssl=True, retry_policy=gofka.RetryPolicy(max_retries=0))
    try:
        # (the TLS failure itself is checked on the pool, whose dial error
        # is not hidden behind the caller's deadline: test_pool.py)
        with pytest.raises(gofka.ConnectionError):
            await admin.list_brokers()
    finally:
        await admin.close()
    async with AsyncAdminClient(one, timeout=10, use_ssl=False) as plain:
        assert await plain.list_brokers()
