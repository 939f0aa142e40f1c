"""AdminClient against the cluster of the `brokers` fixture (dev cluster or
real Kafka): every method, its return shape and its errors."""

from __future__ import annotations

import builtins
import os
import time
import uuid
from typing import Callable, Iterator

import pytest

import gofka
from gofka import AdminClient, NewTopic
from gofka.exceptions import GofkaError, GroupCoordinationError, MetadataError


def _wait_for(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    """Polls cond (hang guard only: brokers apply config changes
    asynchronously)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in %ss" % timeout
        time.sleep(0.05)


@pytest.fixture
def admin(brokers: str) -> Iterator[AdminClient]:
    with AdminClient(brokers, timeout=20) as a:
        yield a


@pytest.fixture
def created_topic(admin: AdminClient, topic: str) -> Iterator[str]:
    admin.create_topic(topic, num_partitions=3, replication_factor=1, config={"retention.ms": 3600000})
    yield topic
    try:
        admin.delete_topic(topic)
    except GofkaError:
        pass


def test_list_topics_contains_produced_topic(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, timeout=15) as producer:
        producer.send(topic, b"create me")
    with gofka.AdminClient(brokers, timeout=15) as admin:
        topics = admin.list_topics()
    assert isinstance(topics, list)
    assert all(isinstance(name, str) for name in topics)
    assert topic in topics
    assert topics == sorted(topics)


def test_internal_topics_hidden_unless_asked(admin: AdminClient, created_topic: str) -> None:
    # Committing offsets makes sure __consumer_offsets exists.
    admin.alter_consumer_group_offsets("gofka-int-%s" % uuid.uuid4().hex, {created_topic: {0: 0}})
    topics = admin.list_topics()
    assert created_topic in topics
    assert [name for name in topics if name.startswith("__")] == []
    internal = {t["name"] for t in admin.get_cluster_metadata()["topics"] if t["internal"]}
    everything = admin.list_topics(include_internal=True)
    assert set(topics) | internal == set(everything)
    assert not internal & set(topics)
    if os.environ.get("GOFKA_BROKERS"):  # real Kafka has __consumer_offsets by now (the dev cluster hides it)
        assert "__consumer_offsets" in internal


def test_cluster_metadata_shape(admin: AdminClient, created_topic: str) -> None:
    md = admin.get_cluster_metadata()
    assert set(md) >= {"cluster_id", "controller_id", "controller", "brokers", "topics"}
    assert md["brokers"] and md["brokers"] == sorted(md["brokers"], key=lambda b: b["id"])
    addrs = {b["addr"] for b in md["brokers"]}
    for b in md["brokers"]:
        assert set(b) >= {"id", "host", "port", "rack", "addr"}
        assert isinstance(b["id"], int) and isinstance(b["port"], int) and b["host"]
        assert b["addr"] == "%s:%d" % (b["host"], b["port"])
    if md["controller"] is not None:
        assert md["controller"]["id"] == md["controller_id"]
    names = [t["name"] for t in md["topics"]]
    assert created_topic in names
    t = md["topics"][names.index(created_topic)]
    assert t["error"] is None and t["internal"] is False
    assert [p["partition"] for p in t["partitions"]] == [0, 1, 2]
    for p in t["partitions"]:
        assert p["id"] == p["partition"]  # key of the earlier pure-Python client
        assert p["leader_addr"] in addrs
        assert p["replicas"] == [p["leader"]]
        assert p["leader"] in p["isr"]
        assert p["error"] is None

    # Only the asked topics; a missing one is listed with its error and
    # not created.
    missing = created_topic + "-missing"
    md = admin.get_cluster_metadata(topics=[created_topic, missing])
    assert sorted(t["name"] for t in md["topics"]) == sorted([created_topic, missing])
    by_name = {t["name"]: t for t in md["topics"]}
    assert by_name[missing]["error"] == "UNKNOWN_TOPIC_OR_PARTITION"
    assert missing not in admin.list_topics()


def test_list_brokers_and_describe_cluster(admin: AdminClient) -> None:
    brokers = admin.list_brokers()
    assert brokers
    assert [b["id"] for b in brokers] == sorted(b["id"] for b in brokers)
    for b in brokers:
        assert set(b) == {"id", "host", "port", "rack", "addr"}
        assert b["rack"] is None or isinstance(b["rack"], str)
    cluster = admin.describe_cluster()
    assert [b["id"] for b in cluster["brokers"]] == [b["id"] for b in brokers]
    assert isinstance(cluster["cluster_id"], str) and cluster["cluster_id"]


def test_describe_topic_count_and_leaders(admin: AdminClient, created_topic: str) -> None:
    d = admin.describe_topic(created_topic)
    assert d["name"] == created_topic
    assert len(d["partitions"]) == 3
    assert d["configs"]["retention.ms"] == "3600000"
    assert d["config_entries"]["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    assert d["config_entries"]["retention.ms"]["is_default"] is False
    addrs = {b["addr"] for b in admin.list_brokers()}
    assert admin.get_partition_count(created_topic) == 3
    leaders = admin.get_topic_leaders(created_topic)
    assert sorted(leaders) == [0, 1, 2]
    assert set(leaders.values()) <= addrs
    assert leaders == d["leaders"]


def test_describe_unknown_topic_is_metadata_error(admin: AdminClient, topic: str) -> None:
    with pytest.raises(MetadataError) as info:
        admin.describe_topic(topic)
    e = info.value
    assert e.name == "UNKNOWN_TOPIC_OR_PARTITION" and e.code == 3
    assert e.broker and ":" in e.broker  # the broker that answered
    with pytest.raises(MetadataError):
        admin.get_partition_count(topic)
    with pytest.raises(MetadataError):
        admin.get_topic_leaders(topic)
    assert topic not in admin.list_topics()  # asking did not create it


def test_create_delete_topics_and_partitions(admin: AdminClient, topic: str) -> None:
    t2 = topic + "-b"
    t3 = topic + "-c"
    admin.create_topics([NewTopic(topic, 2, 1), {"name": t2, "num_partitions": 1, "config": {"cleanup.policy": "compact"}}, t3])
    try:
        names = admin.list_topics()
        assert {topic, t2, t3} <= set(names)
        assert admin.describe_topic(t2)["configs"]["cleanup.policy"] == "compact"
        with pytest.raises(MetadataError) as info:
            admin.create_topic(topic)
        assert info.value.name == "TOPIC_ALREADY_EXISTS"

        admin.create_partitions(topic, 4)
        assert admin.get_partition_count(topic) == 4
        admin.create_partitions({topic: 5, t2: 2})
        assert admin.get_partition_count(topic) == 5
        assert admin.get_partition_count(t2) == 2
        with pytest.raises(GofkaError) as info:
            admin.create_partitions(topic, 2)
        assert info.value.name == "INVALID_PARTITIONS"
        admin.create_topics([topic + "-v"], validate_only=True)
        assert topic + "-v" not in admin.list_topics()
    finally:
        admin.delete_topics([t2, t3])
        admin.delete_topic(topic)
    names = admin.list_topics()
    assert not {topic, t2, t3} & set(names)
    with pytest.raises(MetadataError) as info:
        admin.delete_topic(topic)
    assert info.value.name == "UNKNOWN_TOPIC_OR_PARTITION"


def test_describe_and_alter_configs(admin: AdminClient, created_topic: str) -> None:
    cfg = admin.describe_configs("topic", created_topic)
    assert cfg["retention.ms"]["value"] == "3600000"
    assert set(cfg["retention.ms"]) == {"value", "source", "is_default", "read_only", "sensitive"}
    assert cfg["cleanup.policy"]["is_default"] is True
    only = admin.describe_configs("topic", created_topic, keys=["retention.ms"])
    assert list(only) == ["retention.ms"]

    admin.alter_configs("topic", created_topic, {"retention.ms": 7200000, "cleanup.policy": "compact"})
    _wait_for(
        lambda: admin.describe_configs("topic", created_topic, ["retention.ms"])["retention.ms"]["value"] == "7200000"
        and admin.describe_configs("topic", created_topic, ["cleanup.policy"])["cleanup.policy"]["value"] == "compact"
    )
    admin.alter_configs("topic", created_topic, {"cleanup.policy": None})  # back to the default
    _wait_for(lambda: admin.describe_configs("topic", created_topic, ["cleanup.policy"])["cleanup.policy"]["is_default"])
    assert admin.describe_topic(created_topic)["configs"]["retention.ms"] == "7200000"

    broker_id = admin.list_brokers()[0]["id"]
    bcfg = admin.describe_configs("broker", broker_id)
    assert bcfg and all(isinstance(k, str) for k in bcfg)

    with pytest.raises(ValueError):
        admin.describe_configs("table", created_topic)
    with pytest.raises(ValueError):
        admin.alter_configs("topic", created_topic, {})
    with pytest.raises(ValueError):
        admin.alter_configs("topic", created_topic, {"retention.ms": ("multiply", "2")})


def test_offsets_records_groups_and_lag(admin: AdminClient, brokers: str, created_topic: str) -> None:
    base = time.time() - 3600
    with gofka.Producer(brokers, timeout=15) as producer:
        for i in range(10):
            producer.send(created_topic, b"v%d" % i, partition=0, timestamp=base + 60 * i)
        producer.send(created_topic, b"x", partition=1)

    assert admin.list_offsets(created_topic) == {0: 10, 1: 1, 2: 0}
    assert admin.list_offsets(created_topic, [0], "earliest") == {0: 0}
    assert admin.list_offsets(created_topic, [0], offset_spec=base + 60 * 4 + 1) == {0: 5}
    assert admin.list_offsets(created_topic, [0], offset_spec=time.time() + 3600) == {0: -1}
    assert admin.list_offsets(created_topic, [1], "max_timestamp") == {1: 0}
    with pytest.raises(ValueError):
        admin.list_offsets(created_topic, offset_spec="newest")
    with pytest.raises(GofkaError) as info:
        admin.list_offsets(created_topic, [9])
    assert info.value.name == "PARTITION_NOT_FOUND"

    assert admin.delete_records(created_topic, {0: 3}) == {0: 3}
    assert admin.list_offsets(created_topic, [0], "earliest") == {0: 3}

    group = "gofka-py-group-%s" % uuid.uuid4().hex
    admin.alter_consumer_group_offsets(group, {created_topic: {0: 4, 1: 1}})
    assert admin.list_consumer_group_offsets(group) == {created_topic: {0: 4, 1: 1}}
    assert admin.list_consumer_group_offsets(group, [(created_topic, 1)]) == {created_topic: {1: 1}}
    assert admin.list_consumer_group_offsets(group, {created_topic: [0]}) == {created_topic: {0: 4}}

    lag = admin.consumer_lag(group)
    assert lag == {
        created_topic: {
            0: {"committed_offset": 4, "log_end_offset": 10, "lag": 6},
            1: {"committed_offset": 1, "log_end_offset": 1, "lag": 0},
        }
    }

    listed = {g["group_id"]: g for g in admin.list_consumer_groups()}
    assert group in listed
    assert set(listed[group]) == {"group_id", "protocol_type", "state", "type"}
    desc = admin.describe_consumer_group(group)
    assert desc["group_id"] == group
    assert desc["state"] == "Empty"
    assert desc["members"] == []
    assert desc["coordinator"]["addr"] in {b["addr"] for b in admin.list_brokers()}
    assert admin.describe_consumer_groups([group])[0]["state"] == "Empty"
    with pytest.raises(GroupCoordinationError) as ginfo:
        admin.describe_consumer_group(group + "-none")
    assert ginfo.value.name == "GROUP_ID_NOT_FOUND"

    admin.delete_consumer_group_offsets(group, created_topic, [1])
    assert admin.list_consumer_group_offsets(group) == {created_topic: {0: 4}}
    admin.delete_consumer_groups([group])
    with pytest.raises(GroupCoordinationError):
        admin.describe_consumer_group(group)
    group2 = group + "-2"
    admin.alter_consumer_group_offsets(group2, {created_topic: {2: 0}})
    admin.delete_consumer_group(group2)
    assert group2 not in {g["group_id"] for g in admin.list_consumer_groups()}


def test_bad_arguments(admin: AdminClient) -> None:
    with pytest.raises(TypeError):
        admin.describe_topic(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        admin.describe_topic("")
    with pytest.raises(ValueError):
        admin.create_topic("t", num_partitions=0)
    with pytest.raises(TypeError):
        admin.create_topics("t")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        admin.create_partitions("t")
    with pytest.raises(ValueError):
        admin.alter_consumer_group_offsets("g", {})
    with pytest.raises(ValueError):
        admin.delete_records("t", {})
    with pytest.raises(TypeError):
        admin.list_consumer_group_offsets("g", partitions=[("t",)])


def test_admin_defaults_and_validation() -> None:
    admin = gofka.AdminClient("127.0.0.1:1")
    try:
        assert admin.client_id == "gofka-python-admin"
        assert admin.timeout == 30
        assert admin.brokers == "127.0.0.1:1"
        assert admin.retry_policy is None and admin.connection_pool is None and admin.use_ssl is False
    finally:
        admin.close()
    with pytest.raises(TypeError):
        gofka.AdminClient(["127.0.0.1:9092"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        gofka.AdminClient("  ")
    with pytest.raises(ValueError):
        gofka.AdminClient("127.0.0.1:1", timeout=0)
    with pytest.raises(TypeError):
        gofka.AdminClient("127.0.0.1:1", retry_policy={"max_retries": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gofka.AdminClient("127.0.0.1:1", connection_pool=object())


def test_admin_close_idempotent_and_use_after_close(brokers: str) -> None:
    admin = gofka.AdminClient(brokers, timeout=15)
    admin.close()
    admin.close()
    assert admin.closed
    with pytest.raises(GofkaError) as info:
        admin.list_topics()
    assert info.value.name == "CLIENT_CLOSED"


def test_admin_unreachable_broker() -> None:
    policy = gofka.RetryPolicy(max_retries=0)
    with gofka.AdminClient("127.0.0.1:1", timeout=2, retry_policy=policy) as admin:
        start = time.monotonic()
        with pytest.raises(gofka.ConnectionError) as info:
            admin.list_topics()
        assert time.monotonic() - start < 10  # hang guard
        assert isinstance(info.value, builtins.ConnectionError)
        with pytest.raises(gofka.ConnectionError):
            admin.connect()


def test_admin_fails_over_to_live_bootstrap_broker(brokers: str) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()  # nothing listens there: connection refused
    live = brokers.split(",")[0]
    with gofka.AdminClient("%s,%s" % (dead, live), timeout=15) as admin:
        admin.connect()
        assert admin.list_brokers()


def test_engine_uses_retry_policy() -> None:
    # Each attempt tries both bootstrap brokers; the policy says 2 retries.
    policy = gofka.RetryPolicy(max_retries=2, initial_backoff_ms=10, max_backoff_ms=20, jitter=False)
    with gofka.AdminClient("127.0.0.1:1,127.0.0.1:2", timeout=5, retry_policy=policy) as admin:
        with pytest.raises(gofka.ConnectionError) as info:
            admin.list_brokers()
    assert info.value.name == "NO_BROKERS_AVAILABLE"
    assert "gave up after 3 attempts" in str(info.value)
    assert "127.0.0.1:1" in str(info.value) and "127.0.0.1:2" in str(info.value)
    with gofka.AdminClient("127.0.0.1:1", timeout=5, retry_policy=gofka.RetryPolicy(max_retries=0)) as admin:
        with pytest.raises(gofka.ConnectionError) as info:
            admin.list_brokers()
    assert "attempts" not in str(info.value)


def test_c_list_topics_entry_point_still_works(admin: AdminClient, created_topic: str) -> None:
    # gofka_admin_list_topics predates the generic gofka_admin_call.
    import json

    from gofka import _native

    raw = admin._call_returning_buffer(_native.lib.gofka_admin_list_topics, 0, 10000)
    assert created_topic in json.loads(raw.decode())
    assert json.loads(raw.decode()) == admin.list_topics()


def test_generic_call_rejects_bad_operations(admin: AdminClient) -> None:
    from gofka import _native

    for op, args in ((b"no_such_op", b"{}"), (b"list_topics", b'{"bogus": 1}'), (b"list_topics", b"{not json")):
        with pytest.raises(GofkaError) as info:
            admin._call_returning_buffer(_native.lib.gofka_admin_call, op, args, 1000)
        assert info.value.name == "INVALID_ARGUMENT"
