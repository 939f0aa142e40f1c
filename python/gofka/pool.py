"""Connection pool shared by clients, backed by the engine's own pool.

A :class:`ConnectionPool` is a pool of the Go engine (``core.Pool``): give it
to clients (``connection_pool=pool``) and they share its broker connections,
one per broker whatever the number of clients; the pool never holds more
than ``max_connections`` open sockets, closes connections idle for
``max_idle_time`` and makes callers wait (up to ``connection_timeout``) when
every connection is busy.

You can also lease a connection yourself::

    pool = ConnectionPool(max_connections=10)
    conn = await pool.get_connection("localhost", 9092)
    versions = await conn.api_versions()      # a real request on that socket
    await pool.release_connection("localhost", 9092, conn)
    await pool.close_all()
"""

from __future__ import annotations

import ctypes
import json
import weakref
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from . import _native
from ._bridge import AsyncBridge, running_loop
from ._client import HandleOwner, check_setting, check_time
from ._keywords import Unpack, takes_keywords
from ._security import SECURITY_KEYWORDS, SecurityKeywords, client_security
from .exceptions import GofkaError

if TYPE_CHECKING:
    import asyncio  # imported where a loop is used: the sync clients do not need it

__all__ = ["ConnectionPool", "PooledConnection"]


class PooledConnection(object):
    """A broker connection leased from a :class:`ConnectionPool`.

    Attributes:
        host, port: the broker it is connected to.
        broker: ``"host:port"``.
        id: the lease id within the pool.
        handshake_api_versions: ``{api_name: (min, max)}`` the broker
            announced when the connection was opened.

    It stays the caller's until released (``release_connection`` or
    ``close()``).
    """

    __slots__ = ("host", "port", "broker", "id", "handshake_api_versions", "_pool", "_released", "__weakref__")

    def __init__(self, pool: "ConnectionPool", host: str, port: int, info: Dict[str, Any]) -> None:
        self._pool = pool
        self.host = host
        self.port = port
        self.broker = str(info["addr"])
        self.id = int(info["conn"])
        self.handshake_api_versions = {str(k): (int(v[0]), int(v[1])) for k, v in info["api_versions"].items()}
        self._released = False

    def __repr__(self) -> str:
        return "<gofka.PooledConnection %s id=%d%s>" % (self.broker, self.id, " closed" if self.closed else "")

    @property
    def closed(self) -> bool:
        """True when released, closed by the pool (close_all, idle reaping)
        or failed."""
        if self._released:
            return True
        try:
            info = self._pool._pool_call("conn_info", {"conn": self.id})
        except GofkaError:
            return True
        return bool(info["closed"])

    async def api_versions(self) -> Dict[str, Tuple[int, int]]:
        """Sends an ApiVersions request on this connection and returns the
        broker's ``{api_name: (min_version, max_version)}``."""
        if self._released:
            raise ValueError("this connection was released to its pool")
        res = await self._pool._call_async("api_versions", {"conn": self.id})
        return {str(k): (int(v[0]), int(v[1])) for k, v in res.items()}

    async def close(self) -> None:
        """Closes the connection and returns its slot to the pool."""
        await self._pool.release_connection(self.host, self.port, self, discard=True)


class ConnectionPool(HandleOwner):
    """A pool of broker connections shared by clients.

    Args:
        max_connections: upper bound on open connections (sockets) of the
            pool at any moment, all brokers together (>= 1).
        max_idle_time: seconds after which an unused connection is closed
            (> 0).
        connection_timeout: seconds to dial a broker, and the longest a
            caller waits for a free slot when every connection is busy (> 0).
        use_ssl: dial brokers over TLS (security.protocol=SSL).
        client_id: client id of the connection handshakes (keyword only).
        ssl_cafile, ssl_certfile, ssl_keyfile, ssl_password,
        ssl_check_hostname, security_protocol, sasl_mechanism, sasl_username,
        sasl_password, sasl_oauth_token_provider: TLS and SASL of the pool's
            connections (keyword only; docs/security.md). Clients sharing
            the pool connect with these, not with their own.
        security: the same TLS/SASL options as one :class:`gofka.SecuritySettings`
            (keyword; instead of those keywords, not with them).

    The pool takes no ``config=``: it is not a Kafka client, and its only
    engine settings are the limits above and TLS/SASL (the clients that
    share it keep their own property maps).

    Creating the pool does no network I/O. Pass it to clients as
    ``connection_pool=pool``; keep it open while they use it. ``close()``
    (or ``async with``) releases it. A pool created before ``os.fork()``
    belongs to the parent: in the child it reads closed, its close does
    nothing and its use raises gofka.ForkError.
    """

    _kind = "connection pool"

    @takes_keywords(SECURITY_KEYWORDS)
    def __init__(
        self,
        max_connections: int = 10,
        max_idle_time: float = 300,
        connection_timeout: float = 30,
        use_ssl: bool = False,
        *,
        client_id: str = "gofka-python-pool",
        **keywords: Unpack[SecurityKeywords],
    ) -> None:
        super().__init__()
        self._leased: Dict[int, PooledConnection] = {}
        # connections.max's range (the engine's table), without its 0 = no
        # limit: a ConnectionPool is there to bound the connections.
        check_setting("max_connections", max_connections, "connections.max")
        if max_connections < 1:
            raise ValueError("max_connections must be >= 1, got %d" % max_connections)
        check_time("max_idle_time", max_idle_time, positive=True)
        check_time("connection_timeout", connection_timeout, positive=True)
        # TLS / SASL keywords -> config keys (gofka._security); the pool
        # dials every connection of the clients that share it with them.
        arguments = SECURITY_KEYWORDS.arguments("ConnectionPool", locals(), keywords)
        self._security = client_security(arguments)  # security= or the TLS/SASL keywords
        self.security_protocol = self._security.security_protocol
        if not isinstance(client_id, str):
            raise TypeError("client_id must be str, not %s" % type(client_id).__name__)
        self.max_connections = max_connections
        self.max_idle_time = max_idle_time
        self.connection_timeout = connection_timeout
        self.use_ssl = self._security.use_ssl
        self.client_id = client_id
        self._timeout_ms = max(1, _native.timeout_ms(connection_timeout))
        config: Dict[str, Any] = {
            "client.id": client_id,
            "connections.max": max_connections,
            "connections.max.idle.ms": max(1, _native.timeout_ms(max_idle_time)),
            "connect.timeout.ms": self._timeout_ms,
        }
        config.update(self._security.config())
        handle = _native.gofka_handle_t()
        err = _native.new_error()
        _native.check(_native.lib.gofka_pool_new(_native.encode_config(config), ctypes.byref(handle), ctypes.byref(err)), err)
        self._set_handle(handle.value)  # dropped in a forked child: close does nothing there, use raises ForkError
        self._security.attach(self)
        pid = ctypes.c_uint64()
        _native.check(_native.lib.gofka_pool_id(self._handle, ctypes.byref(pid), ctypes.byref(err)), err)
        self.id = pid.value
        self._bridges: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncBridge]" = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return "<gofka.ConnectionPool max_connections=%d%s>" % (self.max_connections, " closed" if self.closed else "")

    def _pool_call(self, op: str, args: Optional[Dict[str, Any]] = None) -> Any:
        """One synchronous pool operation (gofka_pool_call): its JSON result."""
        raw = _native.call_returning_buffer(
            _native.lib.gofka_pool_call, self._get(), op.encode(), json.dumps(args or {}).encode(), self._timeout_ms
        )
        return json.loads(raw.decode("utf-8"))

    def _bridge(self) -> AsyncBridge:
        loop = running_loop()
        bridge = self._bridges.get(loop)
        if bridge is None:
            bridge = AsyncBridge(loop)
            self._bridges[loop] = bridge
        return bridge

    async def _call_async(self, op: str, args: Dict[str, Any]) -> Any:
        handle = self._get()
        payload = json.dumps(args).encode()

        def start(queue: int, token: int) -> None:
            err = _native.new_error()
            code = _native.lib.gofka_pool_call_async(
                handle, queue, token, op.encode(), payload, self._timeout_ms, ctypes.byref(err)
            )
            _native.check(code, err)

        ev = await self._bridge().submit(start)
        return json.loads(ev.payload.decode("utf-8"))

    def config_value(self) -> str:
        """The value of the ``connection.pool`` property that makes a client
        share this pool (what ``connection_pool=pool`` passes)."""
        self._get()
        return str(self.id)

    @staticmethod
    def _check_host_port(host: Any, port: Any) -> Tuple[str, int]:
        if not isinstance(host, str):
            raise TypeError("host must be str, not %s" % type(host).__name__)
        if not host.strip():
            raise ValueError("host must not be empty")
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError("port must be int, not %s" % type(port).__name__)
        if not 0 < port < 65536:
            raise ValueError("port must be in 1..65535, got %d" % port)
        return host, port

    async def get_connection(self, host: str, port: int) -> PooledConnection:
        """Leases a connection to host:port: an idle pooled one, or a new
        one. When the pool is full it closes an idle connection to make room
        or waits, up to ``connection_timeout``, for one to be released
        (then gofka.ConnectionError, TIMED_OUT)."""
        host, port = self._check_host_port(host, port)
        info = await self._call_async("get", {"host": host, "port": port})
        conn = PooledConnection(self, host, port, info)
        with self._lock:
            self._leased[conn.id] = conn
        return conn

    async def release_connection(self, host: str, port: int, conn: PooledConnection, discard: bool = False) -> None:
        """Returns a leased connection to the pool (``discard=True`` closes
        it instead). A connection this pool did not lease, one leased for
        another host/port, or one already released is ValueError."""
        host, port = self._check_host_port(host, port)
        if not isinstance(conn, PooledConnection):
            raise ValueError("%r is not a connection of this pool" % (conn,))
        with self._lock:
            owned = conn._pool is self and self._leased.get(conn.id) is conn
            if owned and (conn.host, conn.port) != (host, port):
                raise ValueError("connection %r was leased for %s:%d, not %s:%d" % (conn, conn.host, conn.port, host, port))
            if not owned:
                raise ValueError("%r is not leased from this pool (released already, or another pool's)" % (conn,))
            del self._leased[conn.id]
            conn._released = True
        self._pool_call("release", {"conn": conn.id, "discard": bool(discard)})

    async def close_all(self) -> None:
        """Closes every connection of the pool, leased ones included (their
        holders see them closed). The pool stays usable."""
        if self.closed:
            return
        with self._lock:
            for c in self._leased.values():
                c._released = True
            self._leased.clear()
        self._pool_call("close_all")

    def stats(self) -> Dict[str, Any]:
        """The engine pool's counters: open, leased, shared, idle, dials,
        reaped, evicted, waits, max_open, limit, idle_ms, addresses."""
        stats: Dict[str, Any] = self._pool_call("stats")  # a JSON object
        return stats

    def _owned_bridges(self) -> List[AsyncBridge]:
        bridges = getattr(self, "_bridges", None)  # absent when __init__ failed early
        if bridges is None:
            return []
        out = list(bridges.values())
        bridges.clear()
        return out

    def close(self) -> None:
        """Closes every connection and releases the pool. Clients still
        using it fail with CLIENT_CLOSED; pending get_connection calls
        with CLIENT_CLOSED too. Idempotent, from any thread or loop; ``with``
        and the finalizer close it the same way (_client.HandleOwner)."""
        with self._lock:
            for c in self._leased.values():
                c._released = True
            self._leased.clear()
        self._destroy_handle(_native.lib.gofka_pool_close)  # also ends the OAUTHBEARER refresh

    # The pool is not a client: ``async with`` does not connect (there is
    # nothing to reach before a get_connection), so it is not an
    # AsyncHandleOwner; its close does not wait, and serves ``async with``
    # as it serves ``with``.
    async def __aenter__(self) -> "ConnectionPool":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()


def pool_config(pool: Any) -> Optional[str]:
    """Validates a clients' ``connection_pool=`` argument and returns the
    ``connection.pool`` configuration value (None for no pool)."""
    if pool is None:
        return None
    if not isinstance(pool, ConnectionPool):
        raise TypeError("connection_pool must be a gofka.ConnectionPool, not %s" % type(pool).__name__)
    return pool.config_value()
