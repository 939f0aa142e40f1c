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
from typing import TYPE_CHECKING, Any

from .message import Message
from .producer import Producer
from .consumer import OFFSET_BEGINNING, OFFSET_END, Consumer, GroupMetadata, OffsetAndTimestamp, TopicPartition
from .share_consumer import AckResult, ShareConsumer
from .admin import AdminClient, NewTopic
from .pool import ConnectionPool, PooledConnection
from .retry import RetryPolicy, retry_with_backoff
from .failover import BrokerFailoverManager
from .devcluster import DevCluster
from ._security import SecuritySettings

# The asyncio clients are imported on first use (module __getattr__ below):
# asyncio and the ssl module it brings cost a process about 10 MiB of RSS,
# which a program using only the blocking clients need not pay.
_ASYNC_CLIENTS = {
    "AsyncProducer": "async_producer",
    "AsyncConsumer": "async_consumer",
    "AsyncShareConsumer": "async_share_consumer",
    "AsyncAdminClient": "async_admin",
}

if TYPE_CHECKING:
    from .async_admin import AsyncAdminClient
    from .async_consumer import AsyncConsumer
    from .async_producer import AsyncProducer
    from .async_share_consumer import AsyncShareConsumer
else:
    # Defined for the interpreter only: a type checker sees the imports
    # above, and no catch-all that would hide a misspelt gofka.Name.

    def __getattr__(name: str) -> Any:
        module = _ASYNC_CLIENTS.get(name)
        if module is None:
            raise AttributeError("module %r has no attribute %r" % (__name__, name))
        import importlib

        cls = getattr(importlib.import_module("." + module, __name__), name)
        globals()[name] = cls  # later lookups skip this function
        return cls

    def __dir__() -> "list[str]":
        return sorted(set(globals()) | set(_ASYNC_CLIENTS))


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
