from __future__ import annotations

import pytest

import gofka
from gofka.exceptions import GofkaError


def test_dev_cluster_fixture_brokers(dev_cluster: gofka.DevCluster) -> None:
    host, _, port = dev_cluster.brokers.partition(":")
    assert host == "127.0.0.1"
    assert 0 < int(port) < 65536
    assert not dev_cluster.closed


def test_multi_broker_cluster_round_trip(topic: str) -> None:
    with gofka.DevCluster(num_brokers=3) as cluster:
        addresses = cluster.brokers.split(",")
        assert len(addresses) == 3
        assert len(set(addresses)) == 3
        assert all(a.startswith("127.0.0.1:") for a in addresses)
        with gofka.Producer(cluster.brokers, timeout=15) as producer:
            assert producer.send(topic, b"x") == 0
            assert producer.send(topic, b"y") == 1
    assert cluster.closed
    cluster.close()  # idempotent


def test_dev_cluster_stops_on_close(topic: str) -> None:
    cluster = gofka.DevCluster()
    brokers = cluster.brokers
    cluster.close()
    with gofka.Producer(brokers, timeout=2) as producer:
        with pytest.raises(GofkaError):
            producer.send(topic, b"x")


def test_dev_cluster_validation() -> None:
    with pytest.raises(ValueError):
        gofka.DevCluster(num_brokers=0)
    with pytest.raises(ValueError):
        gofka.DevCluster(num_brokers=17)
    with pytest.raises(TypeError):
        gofka.DevCluster(num_brokers="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        gofka.DevCluster(port=70000)
