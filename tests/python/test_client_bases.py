"""What the sync/async client pairs share through their common bases:
``config=`` on every Kafka client, ``use_ssl`` where the API contract
shows it positionally, and the package's own layering: no module imports
a private name of a sibling public module (shared code lives in the
``_x`` modules both import). No broker needed: constructors do no I/O."""

from __future__ import annotations

import inspect
import os
from typing import Any, Callable, Dict, List

import pytest

import gofka

NOWHERE = "127.0.0.1:9"  # nothing listens there; constructors do no I/O
PACKAGE = os.path.dirname(os.path.abspath(gofka.__file__))

#: name -> a factory of that Kafka client with extra keyword arguments.
CLIENTS: Dict[str, Callable[..., Any]] = {
    "Producer": lambda **kw: gofka.Producer(NOWHERE, **kw),
    "AsyncProducer": lambda **kw: gofka.AsyncProducer(NOWHERE, **kw),
    "Consumer": lambda **kw: gofka.Consumer(NOWHERE, "g", ["t"], **kw),
    "AsyncConsumer": lambda **kw: gofka.AsyncConsumer(NOWHERE, "g", ["t"], **kw),
    "AdminClient": lambda **kw: gofka.AdminClient(NOWHERE, **kw),
    "AsyncAdminClient": lambda **kw: gofka.AsyncAdminClient(NOWHERE, **kw),
}


def release(client: Any) -> None:
    """Closes a client without an event loop (the async ones included)."""
    if isinstance(client, gofka.AsyncAdminClient):
        client._close_now()
    elif isinstance(client, gofka.AsyncProducer):
        client._close_sync(0.0, quiet=True)
    elif isinstance(client, gofka.AsyncConsumer):
        client._close_implicitly("test")
    else:
        client.close()


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_every_client_takes_config(name: str) -> None:
    params = inspect.signature(getattr(gofka, name).__init__).parameters
    assert params["config"].default is None
    # the properties reach the engine: a good one is taken, an unknown one refused by it
    release(CLIENTS[name](config={"metadata.max.age.ms": 60000}))
    with pytest.raises(ValueError) as info:
        CLIENTS[name](config={"no.such.key": "1"})
    assert "no.such.key" in str(info.value)
    with pytest.raises(TypeError) as tinfo:
        CLIENTS[name](config="metadata.max.age.ms=1")
    assert "config must be a dict" in str(tinfo.value)


@pytest.mark.parametrize("name", ["Producer", "AsyncProducer"])
def test_producer_config_cannot_override_what_python_reads(name: str) -> None:
    for key, keyword in (("max.request.size", "max_request_size"), ("buffer.memory", "buffer_memory"),
                         ("compression.type", "compression"), ("acks", "acks")):
        with pytest.raises(ValueError) as info:
            CLIENTS[name](config={key: "1"})
        assert key in str(info.value) and keyword + "=" in str(info.value)


def test_connection_pool_says_why_it_takes_no_config() -> None:
    assert "config" not in inspect.signature(gofka.ConnectionPool.__init__).parameters
    assert "takes no ``config=``" in (gofka.ConnectionPool.__doc__ or "")


@pytest.mark.parametrize("cls", [gofka.AdminClient, gofka.AsyncAdminClient])
def test_admin_clients_take_use_ssl_positionally(cls: Any) -> None:
    # the API contract shows AsyncAdminClient(brokers, client_id, timeout, use_ssl): both admins agree
    params = list(inspect.signature(cls.__init__).parameters.values())
    assert [p.name for p in params[1:5]] == ["brokers", "client_id", "timeout", "use_ssl"]
    assert params[4].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and params[4].default is False
    client = cls(NOWHERE, "cid", 5, True)
    try:
        assert client.use_ssl is True and client.security_protocol == "SSL"
        assert client._security.config() == {"security.protocol": "SSL"}
    finally:
        release(client)
