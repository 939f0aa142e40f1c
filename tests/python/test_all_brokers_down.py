"""Issue 19 item 11: with every broker unreachable, a send says so and
that nothing was written (ALL_BROKERS_DOWN, a retriable ConnectionError),
instead of TIMED_OUT "(the records may still be written)"; a consumer
whose cluster is gone raises ALL_BROKERS_DOWN from poll once no broker has
been reachable for its connection timeout (once per outage), instead of
returning [] forever."""

from __future__ import annotations

import time

import pytest

import gofka
from gofka.exceptions import ConnectionError as GofkaConnectionError

DEAD = ",".join("127.0.%d.%d:1" % (i // 250, i % 250 + 1) for i in range(1000))


@pytest.mark.parametrize("brokers", [DEAD, "gofka-no-such-host.invalid:9092"], ids=["1000-dead", "unresolvable"])
def test_send_with_no_reachable_broker(brokers: str) -> None:
    with gofka.Producer(brokers, timeout=20) as producer:
        start = time.monotonic()
        with pytest.raises(GofkaConnectionError) as info:
            producer.send("t", b"v")
        assert info.value.name == "ALL_BROKERS_DOWN", info.value
        assert "nothing was written" in str(info.value)
        assert info.value.retriable
        assert time.monotonic() - start < 15  # well before timeout=20


@pytest.mark.asyncio
async def test_async_send_with_no_reachable_broker() -> None:
    producer = gofka.AsyncProducer(DEAD, timeout=20)
    try:
        with pytest.raises(GofkaConnectionError) as info:
            await producer.send("t", b"v")
        assert info.value.name == "ALL_BROKERS_DOWN", info.value
        assert len(str(info.value)) < 2000  # a summary, not 1,000 dial errors
    finally:
        await producer.close()


def test_consumer_raises_when_its_cluster_is_gone(topic: str) -> None:
    cluster = gofka.DevCluster()
    try:
        with gofka.Producer(cluster.brokers, timeout=10) as producer:
            producer.send(topic, b"v", partition=0)
        consumer = gofka.Consumer(cluster.brokers, group_id=None, topics=None, timeout=1,
                                  auto_offset_reset="earliest")
        consumer.assign([gofka.TopicPartition(topic, 0)])
        assert len(consumer.poll(timeout=10)) == 1
        cluster.close()
        start = time.monotonic()
        with pytest.raises(GofkaConnectionError) as info:
            while time.monotonic() - start < 30:
                consumer.poll(timeout=0.5)
        assert info.value.name == "ALL_BROKERS_DOWN", info.value
        assert consumer.poll(timeout=0.5) == []  # reported once per outage
        consumer.close()
    finally:
        cluster.close()
