"""A bootstrap address that is not a Kafka listener: an HTTP server, or an
SSL listener reached in plaintext. Every client fails with an error that
says what answered, within its timeout (a plaintext client on an SSL
listener read the TLS alert as a 352 MB frame and waited for it until the
request timed out, saying only TIMED_OUT)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any, Callable, Iterator, List

import pytest

import gofka
from gofka.exceptions import GofkaError

# What a peer sends back to the client's first request (ApiVersions).
ANSWERS = {
    # A TLS alert record (fatal, protocol_version), as a TLS listener
    # answers bytes that are not a ClientHello.
    "tls": (bytes([21, 3, 3, 0, 2, 2, 70]), "answered with TLS: its listener expects security.protocol SSL or SASL_SSL"),
    "http": (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
             'answered with text beginning "HTTP": it does not speak the Kafka protocol'),
}


@pytest.fixture(params=sorted(ANSWERS))
def peer(request: Any) -> Iterator[tuple]:
    """(address, expected text): a loopback listener answering each
    connection's first bytes with ANSWERS[param], then holding it open."""
    answer, text = ANSWERS[request.param]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    conns: List[socket.socket] = []

    def one(c: socket.socket) -> None:
        try:
            if c.recv(4096):
                c.sendall(answer)
                while c.recv(4096):
                    pass
        except OSError:
            pass
        finally:
            c.close()

    def serve() -> None:
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            conns.append(c)
            threading.Thread(target=one, args=(c,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield "127.0.0.1:%d" % srv.getsockname()[1], text
    srv.close()
    for c in conns:
        try:
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _producer_send(addr: str) -> None:
    with gofka.Producer(addr, timeout=2) as p:
        p.send("t", b"v")


def _consumer_subscribe(addr: str) -> None:
    with gofka.Consumer(addr, "g", ["t"], timeout=2) as c:
        c.subscribe()


def _admin_list(addr: str) -> None:
    with gofka.AdminClient(addr, timeout=2) as a:
        a.list_topics()


def _async_producer_send(addr: str) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(addr, timeout=2) as p:
            await p.send("t", b"v")

    asyncio.run(main())


def _async_consumer_subscribe(addr: str) -> None:
    async def main() -> None:
        async with gofka.AsyncConsumer(addr, "g", ["t"], timeout=2) as c:
            await c.subscribe()

    asyncio.run(main())


CALLS = [_producer_send, _consumer_subscribe, _admin_list, _async_producer_send, _async_consumer_subscribe]


@pytest.mark.parametrize("call", CALLS, ids=[c.__name__.strip("_") for c in CALLS])
def test_every_client_says_what_answered(peer: tuple, call: Callable[[str], None]) -> None:
    addr, text = peer
    start = time.monotonic()
    with pytest.raises(GofkaError) as info:
        call(addr)
    elapsed = time.monotonic() - start
    assert text in str(info.value), str(info.value)
    assert addr in str(info.value)
    # Bounded by the client's timeout (2 s) plus closing: a hang fails here.
    assert elapsed < 15, "%s took %.1fs with timeout=2" % (call.__name__, elapsed)
