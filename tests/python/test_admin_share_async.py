"""AsyncAdminClient's share-group calls through the asyncio bridge (the
plans are AdminClient's: test_admin_share.py tests the arguments)."""

from __future__ import annotations

import os
import uuid

import pytest

import gofka
from gofka import AsyncAdminClient
from gofka.exceptions import GroupCoordinationError

from conftest import kafka_older_than

pytestmark = pytest.mark.asyncio


async def test_async_share_group_admin(brokers: str, topic: str) -> None:
    if kafka_older_than(4, 2):
        pytest.skip("Kafka %s has no share groups enabled (production ready in 4.2)" % os.environ["GOFKA_KAFKA_VERSION"])
    group = "gofka-py-share-async-%s" % uuid.uuid4().hex
    async with AsyncAdminClient(brokers, timeout=20) as admin:
        await admin.create_topic(topic, num_partitions=1, replication_factor=1)
        with gofka.Producer(brokers, timeout=15) as producer:
            for i in range(3):
                producer.send(topic, b"v%d" % i, partition=0)
        try:
            await admin.alter_share_group_offsets(group, {topic: {0: 1}})
            listed = {g["group_id"]: g for g in await admin.list_share_groups()}
            assert listed[group]["type"] == "share"
            d = await admin.describe_share_group(group)
            assert (d["group_id"], d["state"], d["members"]) == (group, "Empty", [])
            assert await admin.describe_share_groups([group]) == [d]
            offsets = await admin.list_share_group_offsets(group)
            assert {p: (o["start_offset"], o["lag"]) for p, o in offsets[topic].items()} == {0: (1, 2)}
            await admin.delete_share_group_offsets(group, [topic])
            with pytest.raises(GroupCoordinationError) as info:
                await admin.describe_share_group(group + "-missing")
            assert info.value.name == "GROUP_ID_NOT_FOUND"
        finally:
            await admin.delete_topic(topic)
