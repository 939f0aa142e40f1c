"""What code written for the original Gofka Python client relies on:
``connected`` on every client and ``subscribed`` on consumers,
``compression`` on producers, invalid constructor arguments raising the
client's Gofka exception while staying TypeError/ValueError, and
retry_with_backoff retrying gofka's ConnectionError. (The broker form of
BrokerFailoverManager is tested in test_failover.py.)"""

from __future__ import annotations

import asyncio
import pickle
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Tuple, Type

import pytest

import gofka
from gofka import AdminClient, AsyncAdminClient, AsyncConsumer, AsyncProducer, Consumer, Producer
from gofka.exceptions import (
    ConnectionError,
    ConsumeError,
    ConsumeTypeError,
    ConsumeValueError,
    GofkaError,
    MetadataError,
    MetadataTypeError,
    MetadataValueError,
    ProduceError,
    ProduceTypeError,
    ProduceValueError,
)
from gofka.retry import RetryPolicy, retry_with_backoff

pytestmark = pytest.mark.timeout(120)


def run(coro: Awaitable[Any]) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, 60))
    finally:
        loop.close()


def group() -> str:
    return "g-compat-%s" % uuid.uuid4().hex[:12]


# Every client class, how to build it (extra arguments) and the Gofka class
# of its invalid-argument errors.
CLIENTS: List[Tuple[type, Callable[[str], Dict[str, Any]], Type[GofkaError]]] = [
    (Producer, lambda b: {}, ProduceError),
    (AsyncProducer, lambda b: {}, ProduceError),
    (Consumer, lambda b: {"group_id": group(), "topics": ["t-compat"]}, ConsumeError),
    (AsyncConsumer, lambda b: {"group_id": group(), "topics": ["t-compat"]}, ConsumeError),
    (AdminClient, lambda b: {}, MetadataError),
    (AsyncAdminClient, lambda b: {}, MetadataError),
]
IDS = [c[0].__name__ for c in CLIENTS]


def test_every_client_class_is_listed() -> None:
    listed = {c[0] for c in CLIENTS}
    public = {getattr(gofka, n) for n in gofka.__all__ if isinstance(getattr(gofka, n), type)}
    clients = {c for c in public if hasattr(c, "connect") and hasattr(c, "close") and c is not gofka.DevCluster}
    assert clients == listed


def _close(client: Any) -> None:
    result = client.close()
    if asyncio.iscoroutine(result):
        run(result)


@pytest.mark.parametrize("cls,extra,_err", CLIENTS, ids=IDS)
def test_connected_before_connect_after_and_after_close(brokers: str, cls: type, extra: Any, _err: Any) -> None:
    client = cls(brokers=brokers, **extra(brokers))
    try:
        assert client.connected is False
        result = client.connect()
        if asyncio.iscoroutine(result):
            run(result)
        assert client.connected is True
    finally:
        _close(client)
    assert client.connected is False


@pytest.mark.parametrize("cls,extra,_err", [c for c in CLIENTS if c[0].__name__.startswith("Async")],
                         ids=[i for i in IDS if i.startswith("Async")])
def test_async_with_is_connected(brokers: str, cls: type, extra: Any, _err: Any) -> None:
    async def main() -> Any:
        async with cls(brokers=brokers, **extra(brokers)) as client:
            assert client.connected is True
        return client

    assert run(main()).connected is False


def test_connect_failure_leaves_connected_false() -> None:
    p = Producer("127.0.0.1:1", timeout=1)
    try:
        with pytest.raises(GofkaError):
            p.connect()
        assert p.connected is False
    finally:
        p.close()


def test_consumers_subscribed(brokers: str) -> None:
    topic = "gofka-compat-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(topic, num_partitions=1)
    # auto_commit=False: see test_implicit_subscribe.test_async_assign_first_and_unsubscribe
    c = Consumer(brokers, group(), [topic], session_timeout=6000, heartbeat_interval_ms=300, timeout=20,
                 auto_commit=False)
    assert c.subscribed is False
    c.subscribe()
    assert c.subscribed is True
    assert c.assigned_partitions == c.assignment() == [gofka.TopicPartition(topic, 0)]
    c.unsubscribe()
    assert c.subscribed is False
    c.close()

    async def main() -> None:
        async with AsyncConsumer(brokers, group(), [topic], session_timeout=6000, heartbeat_interval_ms=300,
                                 timeout=20) as ac:
            assert ac.subscribed is False
            await ac.subscribe()
            assert ac.subscribed is True
            assert ac.assigned_partitions == [gofka.TopicPartition(topic, 0)]
        assert ac.subscribed is False  # closed

    run(main())


@pytest.mark.parametrize("cls", [Producer, AsyncProducer])
def test_producers_compression(cls: type) -> None:
    assert cls(brokers="localhost:9092").compression is None
    assert cls(brokers="localhost:9092", compression="gzip").compression == "gzip"


# Invalid arguments of each constructor: (kwargs, built-in class).
BAD: Dict[type, List[Tuple[Dict[str, Any], Type[Exception]]]] = {
    Producer: [({"compression": "invalid"}, ValueError), ({"batch_size": "big"}, TypeError)],
    AsyncProducer: [({"compression": "invalid"}, ValueError), ({"linger_ms": "soon"}, TypeError)],
    Consumer: [({"auto_offset_reset": "sometimes"}, ValueError), ({"auto_commit": "yes"}, TypeError),
               ({"config": {"no.such.key": "x"}}, ValueError)],  # refused by the library itself
    AsyncConsumer: [({"max_poll_records": 0}, ValueError), ({"session_timeout": "long"}, TypeError)],
    AdminClient: [({"timeout": -1}, ValueError), ({"client_id": 5}, TypeError)],
    AsyncAdminClient: [({"timeout": 0}, ValueError), ({"client_id": b"x"}, TypeError)],
}


EXACT: Dict[Type[GofkaError], Dict[Type[Exception], type]] = {
    ProduceError: {ValueError: ProduceValueError, TypeError: ProduceTypeError},
    ConsumeError: {ValueError: ConsumeValueError, TypeError: ConsumeTypeError},
    MetadataError: {ValueError: MetadataValueError, TypeError: MetadataTypeError},
}


@pytest.mark.parametrize("cls,extra,err", CLIENTS, ids=IDS)
def test_invalid_constructor_argument_is_both_gofka_and_builtin(cls: type, extra: Any, err: Type[GofkaError]) -> None:
    assert set(BAD) == {c[0] for c in CLIENTS}
    for kwargs, builtin in BAD[cls] + [({"brokers": 9092}, TypeError), ({"brokers": ""}, ValueError)]:
        args = dict(brokers="localhost:9092", **extra("localhost:9092"))
        args.update(kwargs)
        with pytest.raises(err) as info:
            cls(**args)
        exc = info.value
        assert isinstance(exc, builtin), (kwargs, type(exc).__mro__)
        assert type(exc) is EXACT[err][builtin], kwargs
        assert exc.code == -101 and exc.name == "INVALID_ARGUMENT" and not exc.retriable
        assert str(exc) and "INVALID_ARGUMENT (-101)" not in str(exc)  # reads like the plain built-in
        again = pickle.loads(pickle.dumps(exc))
        assert type(again) is type(exc) and again.code == exc.code and str(again) == str(exc)


def test_connection_error_is_retriable_unless_its_code_says_otherwise() -> None:
    assert ConnectionError("down").retriable is True
    assert ConnectionError("down", code=-105).retriable is True  # CONNECTION_FAILED
    assert ConnectionError("bad bytes", code=-108).retriable is False  # CORRUPT_RESPONSE
    assert ConnectionError("down", retriable=False).retriable is False


def test_retry_with_backoff_retries_gofka_connection_error() -> None:
    calls: List[int] = []

    async def fail_twice() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("Transient error")
        return "success"

    async def no_sleep(_: float) -> None:
        return None

    policy = RetryPolicy(max_retries=3, initial_backoff_ms=10, jitter=False)
    assert run(retry_with_backoff(fail_twice, policy=policy, sleep=no_sleep)) == "success"
    assert len(calls) == 3

    async def always() -> None:
        calls.append(1)
        raise ConnectionError("Always fails")

    del calls[:]
    with pytest.raises(ConnectionError):
        run(retry_with_backoff(always, policy=RetryPolicy(max_retries=2, initial_backoff_ms=10), sleep=no_sleep))
    assert len(calls) == 3

    async def corrupt() -> None:
        calls.append(1)
        raise ConnectionError("bad bytes", code=-108)  # its code says: not retriable

    del calls[:]
    with pytest.raises(ConnectionError):
        run(retry_with_backoff(corrupt, policy=policy, sleep=no_sleep))
    assert len(calls) == 1


@pytest.mark.parametrize("cls", [Producer, AsyncProducer])
def test_compression_is_read_only(cls: type) -> None:
    """The codec is fixed when the native producer is created: assigning
    it later would be silently ignored, so it is refused."""
    p = cls(brokers="localhost:9092", compression="lz4")
    with pytest.raises(AttributeError):
        p.compression = "gzip"
    assert p.compression == "lz4"
