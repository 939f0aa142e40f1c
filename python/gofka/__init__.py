"""Gofka: a Kafka client for Python backed by the Go engine libgofka.

Quick start::

    from gofka import Producer

    with Producer(brokers="localhost:9092") as producer:
        offset = producer.send("my-topic", b"hello")
"""

from __future__ import annotations

__version__ = "0.2.0"

from .exceptions import (
    AuthenticationError,
    ConnectionError,
    ConsumeError,
    ForkError,
    GofkaError,
    GroupCoordinationError,
    MetadataError,
    OffsetError,
    ProduceError,
    TransactionAbortableError,
    TransactionFatalError,
)
from .message import Message
from .producer import Producer
from .async_producer import AsyncProducer
from .consumer import OFFSET_BEGINNING, OFFSET_END, Consumer, GroupMetadata, OffsetAndTimestamp, TopicPartition
from .async_consumer import AsyncConsumer
from .share_consumer import AckResult, ShareConsumer
from .async_share_consumer import AsyncShareConsumer
from .admin import AdminClient, NewTopic
from .async_admin import AsyncAdminClient
from .pool import ConnectionPool, PooledConnection
from .retry import RetryPolicy, retry_with_backoff
from .failover import BrokerFailoverManager
from .devcluster import DevCluster
from ._security import SecuritySettings

# Importing gofka does not load libgofka: the engine (and the thread that
# forwards its log lines, gofka/_log.py) starts with the first client or
# other call that needs it, so that a process may fork after the import
# (multiprocessing, Celery, gunicorn; docs/architecture.md, "fork()").

__all__ = [
    "__version__",
    "Producer",
    "AsyncProducer",
    "Consumer",
    "AsyncConsumer",
    "ShareConsumer",
    "AsyncShareConsumer",
    "AckResult",
    "TopicPartition",
    "GroupMetadata",
    "OffsetAndTimestamp",
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "AdminClient",
    "AsyncAdminClient",
    "NewTopic",
    "ConnectionPool",
    "SecuritySettings",
    "PooledConnection",
    "RetryPolicy",
    "retry_with_backoff",
    "BrokerFailoverManager",
    "DevCluster",
    "Message",
    "GofkaError",
    "ConnectionError",
    "ProduceError",
    "ConsumeError",
    "OffsetError",
    "GroupCoordinationError",
    "MetadataError",
    "AuthenticationError",
    "TransactionAbortableError",
    "TransactionFatalError",
    "ForkError",
]


def library_version() -> str:
    """The version of libgofka (gofka_version()); loads the library."""
    from . import _native

    return _native.version()
