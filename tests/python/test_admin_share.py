"""AdminClient's share-group calls (KIP-932) against the cluster of the
`brokers` fixture: list_share_groups, describe_share_groups,
list/alter/delete_share_group_offsets, the generic group calls on share
groups, and their errors.

The share group is made by alter_share_group_offsets, which creates an
empty share group holding the offsets (the share consumer is not needed).
Members, and NON_EMPTY_GROUP, are covered by the Go tests
(core/admin_share_test.go), which run share consumers.
"""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

import gofka
from gofka import AdminClient
from gofka.exceptions import GofkaError, GroupCoordinationError

from conftest import kafka_older_than


@pytest.fixture
def admin(brokers: str) -> Iterator[AdminClient]:
    if kafka_older_than(4, 2):
        pytest.skip("Kafka %s has no share groups enabled (production ready in 4.2)" % os.environ["GOFKA_KAFKA_VERSION"])
    with AdminClient(brokers, timeout=20) as a:
        yield a


@pytest.fixture
def share_topic(admin: AdminClient, brokers: str, topic: str) -> Iterator[str]:
    """A two-partition topic with five records in partition 0."""
    admin.create_topic(topic, num_partitions=2, replication_factor=1)
    with gofka.Producer(brokers, timeout=15) as producer:
        for i in range(5):
            producer.send(topic, b"v%d" % i, partition=0)
    yield topic
    try:
        admin.delete_topic(topic)
    except GofkaError:
        pass


def test_share_group_offsets_and_listing(admin: AdminClient, share_topic: str) -> None:
    group = "gofka-py-share-%s" % uuid.uuid4().hex
    admin.alter_share_group_offsets(group, {share_topic: {0: 2}})

    listed = {g["group_id"]: g for g in admin.list_share_groups()}
    assert listed[group] == {"group_id": group, "protocol_type": "share", "state": "Empty", "type": "share"}
    assert all(g["type"] == "share" for g in listed.values())
    assert {g["group_id"]: g["type"] for g in admin.list_consumer_groups()}[group] == "share"

    d = admin.describe_share_group(group)
    assert d["group_id"] == group and d["state"] == "Empty" and d["members"] == []
    assert set(d) == {"group_id", "state", "group_epoch", "assignment_epoch", "assignor", "coordinator", "members"}
    assert d["coordinator"]["addr"] in {b["addr"] for b in admin.list_brokers()}
    assert admin.describe_share_groups([group]) == [d]
    generic = admin.describe_consumer_group(group)
    assert (generic["type"], generic["protocol_type"], generic["state"]) == ("share", "share", "Empty")

    offsets = admin.list_share_group_offsets(group)
    assert list(offsets) == [share_topic] and list(offsets[share_topic]) == [0]
    p0 = offsets[share_topic][0]
    assert (p0["start_offset"], p0["lag"]) == (2, 3)  # records 2, 3 and 4 are still to deliver
    # A partition without state: no start offset, no lag.
    p1 = admin.list_share_group_offsets(group, [(share_topic, 1)])[share_topic][1]
    assert (p1["start_offset"], p1["lag"]) == (-1, -1)
    admin.alter_share_group_offsets(group, {share_topic: {0: 4, 1: 0}})
    both = admin.list_share_group_offsets(group, {share_topic: [0, 1]})[share_topic]
    assert {p: (o["start_offset"], o["lag"]) for p, o in both.items()} == {0: (4, 1), 1: (0, 0)}

    admin.delete_share_group_offsets(group, [share_topic])
    try:
        assert admin.list_share_group_offsets(group) == {}
    except GroupCoordinationError as e:  # the group may go with its last state
        assert e.name == "GROUP_ID_NOT_FOUND"

    # A whole share group is deleted as any group.
    admin.alter_share_group_offsets(group, {share_topic: {0: 0}})
    admin.delete_consumer_groups([group])
    assert group not in {g["group_id"] for g in admin.list_share_groups()}
    with pytest.raises(GroupCoordinationError) as info:
        admin.describe_share_group(group)
    assert info.value.name == "GROUP_ID_NOT_FOUND"


def test_share_group_errors(admin: AdminClient, share_topic: str) -> None:
    missing = "gofka-py-share-missing-%s" % uuid.uuid4().hex
    with pytest.raises(GroupCoordinationError) as info:
        admin.describe_share_groups([missing])
    assert info.value.name == "GROUP_ID_NOT_FOUND"
    with pytest.raises(GroupCoordinationError) as info:
        admin.delete_share_group_offsets(missing, [share_topic])
    assert info.value.name == "GROUP_ID_NOT_FOUND"

    # A consumer group's id is not a share group's.
    cgroup = "gofka-py-cg-%s" % uuid.uuid4().hex
    admin.alter_consumer_group_offsets(cgroup, {share_topic: {0: 1}})
    with pytest.raises(GroupCoordinationError) as info:
        admin.describe_share_group(cgroup)
    assert info.value.name == "GROUP_ID_NOT_FOUND"
    assert cgroup not in {g["group_id"] for g in admin.list_share_groups()}
    admin.delete_consumer_group(cgroup)


def test_share_group_bad_arguments(admin: AdminClient) -> None:
    with pytest.raises(TypeError):
        admin.describe_share_groups("g")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        admin.describe_share_groups([])
    with pytest.raises(TypeError):
        admin.describe_share_group(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        admin.describe_share_group("")
    with pytest.raises(ValueError):
        admin.alter_share_group_offsets("g", {})
    with pytest.raises(ValueError):
        admin.alter_share_group_offsets("g", {"t": {0: -1}})
    with pytest.raises(TypeError):
        admin.alter_share_group_offsets("g", {"t": {"0": 1}})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        admin.delete_share_group_offsets("g", "t")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        admin.delete_share_group_offsets("g", [])
    with pytest.raises(ValueError):
        admin.delete_share_group_offsets("g", [""])
    with pytest.raises(TypeError):
        admin.list_share_group_offsets("g", "t")
    with pytest.raises(ValueError):
        admin.list_share_group_offsets("g", [("t", -1)])
