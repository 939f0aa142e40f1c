"""A peer that is not a Kafka broker (it answers every request frame with
garbage, or with frames for correlation ids nobody asked for) gets a
prompt error that names the protocol violation, on every client kind: never
a bare timeout, never a hang, never "records may still be written"."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading
import time
from typing import Callable, Iterator

import pytest

import gofka
from gofka.exceptions import GofkaError

pytestmark = pytest.mark.timeout(120)


def _serve(conn: socket.socket, mode: str) -> None:
    try:
        while True:
            head = conn.recv(4, socket.MSG_WAITALL)
            if len(head) < 4:
                return
            (size,) = struct.unpack(">i", head)
            body = conn.recv(size, socket.MSG_WAITALL)
            if mode == "garbage":  # the right correlation id, then noise
                payload = body[4:8] + os.urandom(37)
            else:  # an id that no request carries
                payload = struct.pack(">i", 0x7FFF0000) + os.urandom(37)
            conn.sendall(struct.pack(">i", len(payload)) + payload)
    except OSError:
        pass
    finally:
        conn.close()


@pytest.fixture(params=["garbage", "unknown-id"])
def hostile(request: pytest.FixtureRequest) -> Iterator[str]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=_serve, args=(conn, request.param), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield "127.0.0.1:%d" % srv.getsockname()[1]
    stop.set()
    srv.close()


def check(call: Callable[[], object], bound: float) -> None:
    t0 = time.monotonic()
    with pytest.raises(GofkaError) as exc:
        call()
    took = time.monotonic() - t0
    assert "CORRUPT_RESPONSE" in str(exc.value), str(exc.value)
    assert "may still be written" not in str(exc.value)
    assert took < bound, "took %.1fs" % took


def test_producer_send(hostile: str) -> None:
    with gofka.Producer(hostile, timeout=10) as p:
        check(lambda: p.send("t", b"x"), 9)


def test_admin(hostile: str) -> None:
    with gofka.AdminClient(hostile, timeout=10) as a:
        check(a.list_topics, 9)


def test_async_producer_send(hostile: str) -> None:
    async def main() -> None:
        p = gofka.AsyncProducer(hostile, timeout=10)
        try:
            await p.send("t", b"x")
        finally:
            await p.close()

    check(lambda: asyncio.run(main()), 9)


def test_async_producer_connect(hostile: str) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(hostile, timeout=10):
            pass

    check(lambda: asyncio.run(main()), 9)


def test_consumer_subscribe(hostile: str) -> None:
    # A group join retries until its timeout (a coordinator may come back),
    # then names the last failure.
    with gofka.Consumer(hostile, "g", ["t"], timeout=3) as c:
        check(c.subscribe, 8)
