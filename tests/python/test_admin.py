from __future__ import annotations

import pytest

import gofka
from gofka.exceptions import GofkaError


def test_list_topics_contains_produced_topic(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, timeout=15) as producer:
        producer.send(topic, b"create me")
    with gofka.AdminClient(brokers, timeout=15) as admin:
        topics = admin.list_topics()
    assert isinstance(topics, list)
    assert all(isinstance(name, str) for name in topics)
    assert topic in topics
    assert topics == sorted(topics)


def test_internal_topics_not_listed(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, timeout=15) as producer:
        producer.send(topic, b"x")
    with gofka.AdminClient(brokers, timeout=15) as admin:
        topics = admin.list_topics()
    assert topic in topics
    assert [name for name in topics if name.startswith("__")] == []


def test_admin_defaults_and_validation() -> None:
    admin = gofka.AdminClient("127.0.0.1:1")
    try:
        assert admin.client_id == "gofka-python-admin"
        assert admin.timeout == 30
        assert admin.brokers == "127.0.0.1:1"
    finally:
        admin.close()
    with pytest.raises(TypeError):
        gofka.AdminClient(["127.0.0.1:9092"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        gofka.AdminClient("  ")
    with pytest.raises(ValueError):
        gofka.AdminClient("127.0.0.1:1", timeout=0)


def test_admin_close_idempotent_and_use_after_close(brokers: str) -> None:
    admin = gofka.AdminClient(brokers, timeout=15)
    admin.close()
    admin.close()
    assert admin.closed
    with pytest.raises(GofkaError) as info:
        admin.list_topics()
    assert info.value.name == "CLIENT_CLOSED"


def test_admin_unreachable_broker() -> None:
    import builtins
    import time

    with gofka.AdminClient("127.0.0.1:1", timeout=2) as admin:
        start = time.monotonic()
        with pytest.raises(gofka.ConnectionError) as info:
            admin.list_topics()
        assert time.monotonic() - start < 10
        assert isinstance(info.value, builtins.ConnectionError)
