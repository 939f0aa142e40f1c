"""ConnectionPool: limits counted on the sockets themselves (the kernel's
/proc/net/tcp* matched against this process's fds), sharing between
clients, idle reaping, waiters and bad input."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from typing import Iterator, List, Set, Tuple

import pytest

import gofka
from gofka import ConnectionPool, PooledConnection
from gofka.exceptions import GofkaError


def _broker_addr(brokers: str) -> Tuple[str, int]:
    host, _, port = brokers.split(",")[0].rpartition(":")
    return host, int(port)


class _Proxy(object):
    """Forwards a fresh local port to the broker, so that the sockets a test
    opens are counted without noise from other clients in this process."""

    def __init__(self, target: Tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.addr = self.listener.getsockname()
        self.socks: List[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for s in self.socks:
                s.close()


_proxies: List[_Proxy] = []


def _addr(brokers: str) -> Tuple[str, int]:
    """A private address for the first broker (a proxy of this test)."""
    proxy = _Proxy(_broker_addr(brokers))
    _proxies.append(proxy)
    return proxy.addr


@pytest.fixture(autouse=True)
def _close_proxies() -> Iterator[None]:
    yield
    while _proxies:
        _proxies.pop().close()


def _socket_inodes() -> Set[str]:
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def established_to(port: int) -> int:
    """ESTABLISHED TCP sockets of this process whose remote port is `port`
    (the dev cluster runs in this process too: its server-side sockets
    have `port` as the local port and are not counted)."""
    inodes = _socket_inodes()
    seen = set()  # by inode: /proc/net/tcp read while sockets change can list one twice
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != "01" or fields[9] not in inodes:
                continue
            if int(fields[2].rsplit(":", 1)[1], 16) == port:
                seen.add(fields[9])
    return len(seen)


def _wait_for(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in %ss" % timeout
        time.sleep(0.02)


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    p = ConnectionPool(max_connections=3, max_idle_time=300, connection_timeout=20)
    yield p
    p.close()


def test_defaults_and_attributes() -> None:
    p = ConnectionPool()
    try:
        assert (p.max_connections, p.max_idle_time, p.connection_timeout, p.use_ssl) == (10, 300, 30, False)
        st = p.stats()
        assert st["limit"] == 10 and st["idle_ms"] == 300000 and st["open"] == 0
    finally:
        p.close()
    assert p.closed


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"max_connections": 0}, ValueError),
        ({"max_connections": -1}, ValueError),
        ({"max_connections": 2.5}, TypeError),
        ({"max_idle_time": 0}, ValueError),
        ({"max_idle_time": -1}, ValueError),
        ({"connection_timeout": 0}, ValueError),
        ({"connection_timeout": "30"}, TypeError),
        ({"use_ssl": "yes"}, TypeError),
    ],
)
def test_invalid_arguments(kwargs, exc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exc):
        ConnectionPool(**kwargs)


@pytest.mark.asyncio
async def test_limit_holds_under_concurrent_demand(brokers: str, pool: ConnectionPool) -> None:
    host, port = _addr(brokers)
    before = established_to(port)
    seen = []

    async def worker() -> None:
        conn = await pool.get_connection(host, port)
        seen.append(established_to(port) - before)
        versions = await conn.api_versions()
        assert "Metadata" in versions
        await asyncio.sleep(0.02)
        seen.append(established_to(port) - before)
        await pool.release_connection(host, port, conn)

    await asyncio.gather(*(worker() for _ in range(12)))
    assert len(seen) == 24
    assert max(seen) <= 3, seen  # counted on the sockets, not the pool
    assert max(seen) >= 1
    st = pool.stats()
    assert st["max_open"] <= 3
    assert st["waits"] > 0  # 12 callers over 3 slots waited instead of failing
    assert st["dials"] <= 3  # released connections were reused
    assert st["leased"] == 0


@pytest.mark.asyncio
async def test_waiter_times_out_after_connection_timeout(brokers: str) -> None:
    host, port = _addr(brokers)
    p = ConnectionPool(max_connections=1, connection_timeout=0.3)
    try:
        held = await p.get_connection(host, port)
        with pytest.raises(gofka.ConnectionError) as info:
            await p.get_connection(host, port)
        assert info.value.name == "TIMED_OUT"
        await p.release_connection(host, port, held)
        again = await p.get_connection(host, port)  # the slot is free again
        assert again.id != held.id
        await p.release_connection(host, port, again)
    finally:
        p.close()


@pytest.mark.asyncio
async def test_connection_object(brokers: str, pool: ConnectionPool) -> None:
    host, port = _addr(brokers)
    conn = await pool.get_connection(host, port)
    assert isinstance(conn, PooledConnection)
    assert (conn.host, conn.port) == (host, port)
    assert conn.broker.endswith(":%d" % port)
    assert "Produce" in conn.handshake_api_versions
    lo, hi = (await conn.api_versions())["Fetch"]
    assert 0 <= lo <= hi
    assert not conn.closed
    await pool.release_connection(host, port, conn)
    assert conn.closed
    with pytest.raises(ValueError):
        await conn.api_versions()
    # The idle connection is reused by the next lease.
    conn2 = await pool.get_connection(host, port)
    assert pool.stats()["dials"] == 1
    await conn2.close()  # discards it
    assert pool.stats()["open"] == 0


@pytest.mark.asyncio
async def test_release_errors(brokers: str, pool: ConnectionPool) -> None:
    host, port = _addr(brokers)
    other = ConnectionPool(max_connections=1)
    try:
        conn = await pool.get_connection(host, port)
        with pytest.raises(ValueError):
            await other.release_connection(host, port, conn)  # not that pool's
        with pytest.raises(ValueError):
            await pool.release_connection(host, port + 1, conn)  # wrong address
        with pytest.raises(ValueError):
            await pool.release_connection(host, port, object())  # type: ignore[arg-type]
        await pool.release_connection(host, port, conn)
        with pytest.raises(ValueError):
            await pool.release_connection(host, port, conn)  # twice
        with pytest.raises(TypeError):
            await pool.get_connection(host, str(port))  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await pool.get_connection("", port)
    finally:
        other.close()


@pytest.mark.asyncio
async def test_idle_connections_are_closed(brokers: str) -> None:
    host, port = _addr(brokers)
    p = ConnectionPool(max_connections=2, max_idle_time=0.2)
    try:
        before = established_to(port)
        conn = await p.get_connection(host, port)
        assert established_to(port) - before == 1
        await p.release_connection(host, port, conn)
        _wait_for(lambda: established_to(port) - before == 0)
        assert p.stats()["reaped"] >= 1 and p.stats()["open"] == 0
    finally:
        p.close()


@pytest.mark.asyncio
async def test_close_all_and_close(brokers: str) -> None:
    host, port = _addr(brokers)
    p = ConnectionPool(max_connections=2)
    before = established_to(port)
    conn = await p.get_connection(host, port)
    await p.close_all()
    assert conn.closed
    assert established_to(port) - before == 0
    await p.release_connection(host, port, await p.get_connection(host, port))  # still usable
    p.close()
    p.close()
    with pytest.raises(GofkaError) as info:
        await p.get_connection(host, port)
    assert info.value.name == "CLIENT_CLOSED"
    assert established_to(port) - before == 0


def test_clients_share_pool_connections(brokers: str) -> None:
    host, port = _addr(brokers)
    first = "%s:%d" % (host, port)
    before = established_to(port)
    with ConnectionPool(max_connections=1) as pool:
        admins = [gofka.AdminClient(first, client_id="a%d" % i, connection_pool=pool) for i in range(3)]
        try:
            for a in admins:
                assert a.list_brokers()
            # Three clients, one socket.
            assert established_to(port) - before == 1
            st = pool.stats()
            assert st["open"] == 1 and st["shared"] == 1 and st["dials"] == 1
            admins[0].close()
            assert admins[1].list_topics() is not None
            assert pool.stats()["dials"] == 1
        finally:
            for a in admins:
                a.close()

    # Without a pool each client has its own connection.
    before = established_to(port)
    a1 = gofka.AdminClient(first)
    a2 = gofka.AdminClient(first)
    try:
        a1.list_brokers()
        a2.list_brokers()
        assert established_to(port) - before == 2
    finally:
        a1.close()
        a2.close()


@pytest.mark.asyncio
async def test_async_client_shares_pool(brokers: str) -> None:
    host, port = _addr(brokers)
    first = "%s:%d" % (host, port)
    before = established_to(port)
    pool = ConnectionPool(max_connections=1)
    try:
        sync_admin = gofka.AdminClient(first, connection_pool=pool)
        async with gofka.AsyncAdminClient(first, connection_pool=pool) as async_admin:
            await asyncio.gather(*(async_admin.list_brokers() for _ in range(10)))
            sync_admin.list_brokers()
            assert established_to(port) - before == 1
        sync_admin.close()
    finally:
        pool.close()
    with pytest.raises(GofkaError):
        gofka.AdminClient(first, connection_pool=pool)  # closed pool


def test_closed_broker_port_is_a_connection_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    async def go() -> None:
        p = ConnectionPool(max_connections=1, connection_timeout=2)
        try:
            with pytest.raises(gofka.ConnectionError):
                await p.get_connection("127.0.0.1", port)
            assert p.stats()["open"] == 0  # the failed dial gave its slot back
        finally:
            p.close()

    asyncio.run(go())


@pytest.mark.asyncio
async def test_pool_use_ssl_is_honoured(brokers: str) -> None:
    host, port = _addr(brokers)
    p = ConnectionPool(max_connections=1, connection_timeout=1, use_ssl=True)
    try:
        with pytest.raises(gofka.ConnectionError) as info:
            await p.get_connection(host, port)
        assert "TLS handshake" in str(info.value)
        assert info.value.broker == "%s:%d" % (host, port)
    finally:
        p.close()


def test_closed_pool_fails_every_sync_client_kind(brokers: str, topic: str) -> None:
    """Issue 19 item 8: clients whose shared pool is closed under them fail
    with CLIENT_CLOSED at once (a producer used to get TIMED_OUT after its
    timeout, a consumer an empty poll forever)."""
    pool = ConnectionPool()
    producer = gofka.Producer(brokers, connection_pool=pool, timeout=20)
    consumer = gofka.Consumer(brokers, group_id=None, topics=None, connection_pool=pool,
                              auto_offset_reset="earliest")
    consumer.assign([gofka.TopicPartition(topic, 0)])
    admin = gofka.AdminClient(brokers, connection_pool=pool, timeout=20)
    try:
        producer.send(topic, b"warm")
        assert consumer.poll(timeout=20)
        admin.list_topics()
        pool.close()
        calls = {
            "producer": lambda: producer.send(topic, b"x"),
            "consumer": lambda: consumer.poll(timeout=15),
            "admin": lambda: admin.list_topics(),
        }
        for kind, call in calls.items():
            start = time.monotonic()
            with pytest.raises(GofkaError) as info:
                call()
            assert info.value.name == "CLIENT_CLOSED", (kind, info.value)
            assert time.monotonic() - start < 5, kind  # the timeouts in play are 15-20 s
    finally:
        producer.close()
        consumer.close()
        admin.close()


@pytest.mark.asyncio
async def test_closed_pool_fails_every_async_client_kind(brokers: str, topic: str) -> None:
    """Item 8 for AsyncProducer, AsyncConsumer and AsyncAdminClient."""
    pool = ConnectionPool()
    producer = gofka.AsyncProducer(brokers, connection_pool=pool, timeout=20)
    consumer = gofka.AsyncConsumer(brokers, group_id=None, topics=None, connection_pool=pool,
                                   auto_offset_reset="earliest")
    consumer.assign([gofka.TopicPartition(topic, 0)])
    admin = gofka.AsyncAdminClient(brokers, connection_pool=pool, timeout=20)
    try:
        await producer.send(topic, b"warm")
        assert await consumer.poll(timeout=20)
        await admin.list_topics()
        pool.close()
        calls = {
            "producer": lambda: producer.send(topic, b"x"),
            "consumer": lambda: consumer.poll(timeout=15),
            "admin": lambda: admin.list_topics(),
        }
        for kind, call in calls.items():
            start = time.monotonic()
            with pytest.raises(GofkaError) as info:
                await asyncio.wait_for(call(), 30)  # type: ignore[no-untyped-call]
            assert info.value.name == "CLIENT_CLOSED", (kind, info.value)
            assert time.monotonic() - start < 5, kind
    finally:
        await producer.close()
        await consumer.close()
        await admin.close()
