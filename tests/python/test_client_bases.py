"""What the sync/async client pairs share through their common bases:
``config=`` on every Kafka client, ``use_ssl`` where the API contract
shows it positionally, and the package's own layering: no module imports
another module's private name (shared code lives in the ``_x`` base
modules both import, under names without an underscore). No broker
needed: constructors do no I/O."""

from __future__ import annotations

import ast
import inspect
import os
from typing import Any, Callable, Dict, List, Set

import pytest

import gofka
from gofka import _native

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
    """Closes a client without an event loop (the async ones included):
    the synchronous close every handle owner has for its finalizer
    (_client.Finalized._finalize)."""
    client._finalize()


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


def private_imports() -> List[str]:
    """``from .x import _name`` (or ``from gofka.x import _name``), x any
    module of the package, private ones included.

    The rule: a module's ``_name`` is its own. What two modules share is
    public in the module that defines it: the twins of a pair share their
    base module's plain names (``_producer_base.chunk_records_py``); that
    the base module is private (``_producer_base``) keeps those names out
    of the public API. Allowed: importing a private *module* (``from .
    import _native``, how modules reach the engine), a plain name under a
    private alias (``import AdminPlans as _Plans``: the alias is the
    importer's own), and ``__dunder__`` names."""
    out = []
    for fname in sorted(os.listdir(PACKAGE)):
        if not fname.endswith(".py"):
            continue
        with open(os.path.join(PACKAGE, fname), encoding="utf-8") as f:
            tree = ast.parse(f.read(), fname)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.module is None:
                continue  # ``from . import _native``: a module, not a name
            if node.level == 1:
                module = node.module
            elif node.level == 0 and node.module.startswith("gofka."):
                module = node.module[len("gofka."):]
            else:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    out.append("%s:%d imports %s from %s" % (fname, node.lineno, alias.name, module))
    return out


def test_no_module_imports_a_private_name_of_another() -> None:
    assert private_imports() == []


def test_the_import_check_sees_what_it_looks_for(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.py").write_text("from .b import _hidden, shown\nfrom ._c import _base_private, fine\n"
                                   "from gofka.b import _also\nfrom . import _c\nfrom ._c import Plans as _Plans\n"
                                   "from ._c import __version__\n")
    (tmp_path / "b.py").write_text("")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", str(tmp_path))
    assert private_imports() == ["a.py:1 imports _hidden from b", "a.py:2 imports _base_private from _c",
                                 "a.py:3 imports _also from b"]


def test_each_sync_async_pair_shares_one_base() -> None:
    from gofka._admin_base import AdminBase
    from gofka._client import HandleBase, HandleOwner
    from gofka._consumer_base import ConsumerBase
    from gofka._producer_base import ProducerBase
    from gofka._share_consumer_base import ShareConsumerBase

    for sync, asyncio_twin, base, once in (
        (gofka.Producer, gofka.AsyncProducer, ProducerBase,
         ("partitioner", "compression", "__repr__", "__del__", "_close_at_exit")),
        (gofka.Consumer, gofka.AsyncConsumer, ConsumerBase,
         ("assign", "assignment", "assigned_partitions", "seek", "pause", "resume", "subscribed", "__repr__",
          "_rewind", "__del__", "_close_implicitly")),
        (gofka.AdminClient, gofka.AsyncAdminClient, AdminBase, ("__repr__", "_start")),
        (gofka.ShareConsumer, gofka.AsyncShareConsumer, ShareConsumerBase,
         ("__init__", "subscribe", "acknowledge", "__repr__", "__del__", "_close_implicitly")),
    ):
        assert issubclass(sync, base) and issubclass(asyncio_twin, base)
        assert issubclass(sync, HandleOwner) and issubclass(asyncio_twin, HandleBase)
        for name in once:  # written once, in the base
            assert name not in vars(sync) and name not in vars(asyncio_twin), (sync, name)
    # the handle is HandleBase's, not a copy of it
    for cls in (gofka.AsyncAdminClient, gofka.ConnectionPool):
        assert "_get" not in vars(cls) and "closed" not in vars(cls), cls
    assert issubclass(gofka.ConnectionPool, HandleOwner)


def test_async_consumers_share_their_calls_and_cancel_safe_poll() -> None:
    """The bridge calls and the poll that keeps a cancelled poll's records
    are written once (AsyncConsumerCalls); each consumer gives only its
    hooks."""
    from gofka._async_poll import AsyncConsumerCalls

    for cls in (gofka.AsyncConsumer, gofka.AsyncShareConsumer):
        assert issubclass(cls, AsyncConsumerCalls)
        for name in ("_submit", "_get_bridge", "_poll_once", "_keep_late"):
            assert name not in vars(cls), (cls, name)
            assert getattr(cls, name) is getattr(AsyncConsumerCalls, name), (cls, name)
        for hook in ("_poll_function", "_took", "_keep"):
            assert hook in vars(cls), (cls, hook)


@pytest.mark.parametrize("base,hooks", [
    ("Finalized", {"_finalize"}),
    ("HandleOwner", {"close"}),
    ("AsyncHandleOwner", {"_finalize", "connect", "close"}),
])
def test_a_handle_owner_lacking_a_hook_cannot_be_made(base: str, hooks: Set[str]) -> None:
    """The hooks of the handle-owner bases are abstract: a class lacking
    one fails at construction, naming it, instead of at its first close or
    in its finalizer (where the error would be swallowed)."""
    from gofka import _client

    cls = getattr(_client, base)
    assert set(cls.__abstractmethods__) == hooks
    with pytest.raises(TypeError) as exc:
        type("Lacking", (cls,), {})()
    for hook in hooks:
        assert hook in str(exc.value)
    for client in (gofka.Producer, gofka.Consumer, gofka.AdminClient, gofka.ConnectionPool, gofka.AsyncProducer,
                   gofka.AsyncConsumer, gofka.AsyncAdminClient, gofka.ShareConsumer, gofka.AsyncShareConsumer):
        assert not getattr(client, "__abstractmethods__", None), client


#: Defaults in which the API contract has a twin differ (the client id
#: names the client; the asyncio producer leaves batching to the engine).
TWIN_DEFAULTS_DIFFER = {
    "Producer": {"client_id", "batch_size", "linger_ms", "max_in_flight"},
    "AdminClient": {"client_id"},
}


@pytest.mark.parametrize("sync_name,async_name", [
    ("Producer", "AsyncProducer"), ("Consumer", "AsyncConsumer"),
    ("AdminClient", "AsyncAdminClient"), ("ShareConsumer", "AsyncShareConsumer"),
])
def test_sync_async_twins_take_the_same_keywords(sync_name: str, async_name: str) -> None:
    sync = inspect.signature(getattr(gofka, sync_name).__init__).parameters
    twin = inspect.signature(getattr(gofka, async_name).__init__).parameters
    assert sorted(sync) == sorted(twin)  # the order (what is positional) is the contract's
    differ = TWIN_DEFAULTS_DIFFER.get(sync_name, set())
    for name in sync:
        if name not in differ:
            assert sync[name].default == twin[name].default, name


def test_pool_closes_as_every_handle_owner() -> None:
    with gofka.ConnectionPool() as pool:
        assert not pool.closed
    assert pool.closed
    pool.close()  # idempotent
    with pytest.raises(gofka.GofkaError) as info:
        pool.stats()
    assert info.value.code == _native.ERR_CLIENT_CLOSED
    assert "connection pool is closed" in str(info.value)


def test_async_clients_stay_on_one_loop_while_busy() -> None:
    # AsyncConsumer and AsyncAdminClient share this rule (_bridge.bridge_of_loop)
    import asyncio

    from gofka._bridge import bridge_of_loop

    class Owner(object):
        _public_name = "AsyncThing"

    async def on_loop(current: Any) -> Any:
        return bridge_of_loop(Owner(), current)

    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        bridge = first.run_until_complete(on_loop(None))
        assert first.run_until_complete(on_loop(bridge)) is bridge  # same loop: the same bridge
        busy = first.run_until_complete(on_loop(None))
        busy.adopt(7)  # an operation in flight on the first loop
        with pytest.raises(RuntimeError) as info:
            second.run_until_complete(on_loop(busy))
        assert "AsyncThing is in use on another event loop" in str(info.value)
        moved = second.run_until_complete(on_loop(bridge))  # idle: moves to the new loop
        assert moved is not bridge and moved.loop is second
        for b in (busy, moved):
            b.detach()
            b.close()
    finally:
        first.close()
        second.close()
