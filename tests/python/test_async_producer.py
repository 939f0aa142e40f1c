"""AsyncProducer on the stock asyncio loop and on uvloop."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, List, Optional

import pytest
import uvloop  # tests/requirements.txt

import gofka
from conftest import Runner  # the run fixture (stock asyncio loop and uvloop)
from gofka.exceptions import GofkaError



def end_offsets(brokers: str, topic: str) -> Dict[int, int]:
    with gofka.AdminClient(brokers, timeout=15) as admin:
        return dict(admin.list_offsets(topic))


def create_topic(brokers: str, topic: str, partitions: int) -> None:
    with gofka.AdminClient(brokers, timeout=15) as admin:
        admin.create_topic(topic, num_partitions=partitions)


def test_documented_constructor_defaults() -> None:
    p = gofka.AsyncProducer("127.0.0.1:1")
    try:
        assert p.client_id == "gofka-python-async-producer"
        assert (p.timeout, p.use_ssl, p.compression) == (30, False, None)
        assert (p.batch_size, p.linger_ms, p.max_in_flight, p.partitioner) == (16384, 0, 5, None)
        assert not p.closed
    finally:
        asyncio.new_event_loop().run_until_complete(p.close())
    assert p.closed


def test_constructor_validation() -> None:
    for kwargs, exc in (
        ({"compression": "brotli"}, ValueError),
        ({"batch_size": 0}, ValueError),
        ({"linger_ms": -1}, ValueError),
        ({"max_in_flight": 6}, ValueError),
        ({"partitioner": 5}, TypeError),
        ({"timeout": 0}, ValueError),
        ({"use_ssl": "yes"}, TypeError),
    ):
        with pytest.raises(exc):
            gofka.AsyncProducer("127.0.0.1:1", **kwargs)


def test_use_ssl_selects_tls() -> None:
    p = gofka.AsyncProducer("127.0.0.1:1", use_ssl=True)
    assert p.security_protocol == "SSL"
    asyncio.new_event_loop().run_until_complete(p.close())


def test_documented_example(run: Runner, brokers: str, topic: str) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(brokers=brokers, compression="gzip", linger_ms=100) as producer:
            assert await producer.send_string(topic, "message") == 0
            assert await producer.send(topic, b"bytes") == 1
            assert await producer.send_string(topic, "keyed", key="k", headers={"h": "v"}) == 2
            assert await producer.send_batch(topic, [b"a", b"b"]) == [3, 4]
            await producer.flush()
        assert producer.closed

    run(main())


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_every_codec(run: Runner, brokers: str, topic: str, codec: Optional[str]) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(brokers, compression=codec) as producer:
            payload = b"compressible " * 100
            assert await producer.send(topic, payload, key=b"k", headers={"c": str(codec)}) == 0
            assert await producer.send_batch(topic, [payload] * 20) == list(range(1, 21))

    run(main())


@pytest.mark.parametrize("buffer_memory,full_at,bound", [(1 << 20, 20, 1 << 20), (32 << 20, 2, 2 << 20)])
def test_send_batch_waiting_for_room_holds_one_chunk(run: Runner, brokers: str, topic: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     buffer_memory: int, full_at: int, bound: int) -> None:
    # As the sync test of the same name: the units of a send_batch waiting
    # their turn hold no joined values; the one waiting for room holds its
    # own; those the engine took hold nothing.
    import tracemalloc

    from conftest import HeldWhileFull

    values = [bytes([i]) * (64 << 10) for i in range(128)]
    held = HeldWhileFull(monkeypatch, full_at=full_at)

    async def main() -> List[int]:
        async with gofka.AsyncProducer(brokers, timeout=15, buffer_memory=buffer_memory) as producer:
            await producer.send(topic, b"first")  # connected, metadata known
            tracemalloc.start()
            try:
                held.base = tracemalloc.get_traced_memory()[0]
                return await producer.send_batch(topic, values, 0)
            finally:
                tracemalloc.stop()

    assert run(main()) == list(range(1, 129))
    assert len(held.held) == 2 and max(held.held) < bound, held.held
    assert held.calls > full_at + 1  # calls were made after the wait


def test_many_concurrent_sends_pipeline_in_order(run: Runner, brokers: str, topic: str) -> None:
    async def main() -> List[int]:
        async with gofka.AsyncProducer(brokers, batch_size=1 << 20) as producer:
            return await asyncio.gather(*[producer.send(topic, b"m%d" % i) for i in range(5000)])

    # Sends issued in order to one partition get offsets in that order.
    assert run(main()) == list(range(5000))


def test_loop_never_blocked(run: Runner, brokers: str, topic: str) -> None:
    async def main() -> float:
        async with gofka.AsyncProducer(brokers) as producer:
            gaps: List[float] = []
            done = asyncio.Event()

            async def heartbeat() -> None:
                last = time.monotonic()
                while not done.is_set():
                    await asyncio.sleep(0.001)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            hb = asyncio.ensure_future(heartbeat())
            await asyncio.gather(*[producer.send(topic, b"x" * 100) for _ in range(20000)])
            await producer.send_batch(topic, [b"y" * 100] * 20000)
            await producer.flush()
            done.set()
            await hb
            return max(gaps)

    # A hang guard, not a timing assertion: the loop kept turning throughout.
    assert run(main()) < 2.0


def test_partitioning(run: Runner, brokers: str, topic: str) -> None:
    create_topic(brokers, topic, 4)

    async def main() -> None:
        async with gofka.AsyncProducer(brokers) as producer:
            await producer.send(topic, b"default")  # no key, no partition: 0
            await producer.send(topic, b"keyed", key=b"foobar")  # murmur2 like Java
            await producer.send(topic, b"explicit", partition=3)

    run(main())
    foobar = (-790332482 & 0x7FFFFFFF) % 4
    expected = {0: 1, 1: 0, 2: 0, 3: 1}
    expected[foobar] += 1
    assert end_offsets(brokers, topic) == expected


def test_sticky_partitioner_with_partition_none(run: Runner, brokers: str, topic: str) -> None:
    create_topic(brokers, topic, 3)

    async def main() -> None:
        async with gofka.AsyncProducer(brokers, batch_size=1024) as producer:
            for _ in range(20):
                await asyncio.gather(*[producer.send(topic, b"x" * 100, partition=None) for _ in range(30)])
            await producer.send_batch(topic, [b"z" * 100] * 100, partition=None)

    run(main())
    ends = end_offsets(brokers, topic)
    assert sum(ends.values()) == 700
    assert sum(1 for v in ends.values() if v) >= 2


def test_custom_partitioner(run: Runner, brokers: str, topic: str) -> None:
    create_topic(brokers, topic, 3)
    calls: List[Any] = []

    def partitioner(key: Optional[bytes], n: int, t: str) -> int:
        calls.append((key, n, t, threading.get_ident()))
        return 2 if key == b"two" else 1

    async def main() -> None:
        async with gofka.AsyncProducer(brokers, partitioner=partitioner) as producer:
            await producer.send(topic, b"a", key=b"two")
            await producer.send(topic, b"b")  # no key: the partitioner still decides
            await producer.send(topic, b"c", partition=0)  # explicit wins
            await producer.send_batch(topic, [b"d", b"e"])  # one call per message
            me = threading.get_ident()
            assert all(c[3] == me for c in calls)  # in the loop's thread

    run(main())
    assert [c[:3] for c in calls] == [(b"two", 3, topic), (None, 3, topic), (None, 3, topic), (None, 3, topic)]
    assert end_offsets(brokers, topic) == {0: 1, 1: 3, 2: 1}


def test_custom_partitioner_errors_reach_caller(run: Runner, brokers: str, topic: str) -> None:
    def broken(key: Any, n: int, t: str) -> int:
        raise KeyError("nope")

    async def main() -> None:
        async with gofka.AsyncProducer(brokers, partitioner=broken) as producer:
            with pytest.raises(KeyError):
                await producer.send(topic, b"x")
        async with gofka.AsyncProducer(brokers, partitioner=lambda k, n, t: n) as producer:
            with pytest.raises(ValueError):
                await producer.send(topic, b"x")
        async with gofka.AsyncProducer(brokers, partitioner=lambda k, n, t: "0") as producer:
            with pytest.raises(TypeError):
                await producer.send(topic, b"x")

    run(main())


def test_send_batch_keys_headers_timestamps(run: Runner, brokers: str, topic: str) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(brokers) as producer:
            assert await producer.send_batch(topic, []) == []
            offs = await producer.send_batch(
                topic, [b"a", bytearray(b"b"), memoryview(b"c")], keys=[b"k", None, b"k3"],
                headers=[{"h": "1"}, None, {"h": b"3"}], timestamp=1_700_000_000,
            )
            assert offs == [0, 1, 2]
            assert await producer.send(topic, b"t", timestamp=1_700_000_001.25) == 3

    run(main())


def test_errors(run: Runner, brokers: str, topic: str) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(brokers) as producer:
            for args, kwargs, exc in (
                ((topic, "str"), {}, TypeError),
                ((topic, b"v"), {"key": "str"}, TypeError),
                ((topic, b"v"), {"partition": -5}, ValueError),
                ((topic, b"v"), {"headers": {1: b"x"}}, TypeError),
                ((5, b"v"), {}, TypeError),
            ):
                with pytest.raises(exc):
                    await producer.send(*args, **kwargs)
            with pytest.raises(TypeError):
                await producer.send_batch(topic, [b"ok", 5])  # type: ignore[list-item]
            with pytest.raises(TypeError):
                await producer.send_string(topic, b"bytes")  # type: ignore[arg-type]
            with pytest.raises(gofka.ProduceError) as info:
                await producer.send(topic, b"x" * (2 << 20))
            assert "MESSAGE_TOO_LARGE" in info.value.name
            n = await producer._partition_count(topic, topic.encode())
            with pytest.raises(gofka.MetadataError) as minfo:
                await producer.send(topic, b"x", partition=n)
            assert minfo.value.name == "PARTITION_NOT_FOUND"
            assert await producer.send(topic, b"ok") == 0  # nothing above was written
        async with gofka.AsyncProducer(brokers, allow_auto_create_topics=False) as producer:
            with pytest.raises(gofka.MetadataError) as minfo:
                await producer.send(topic + "-missing", b"x")
            assert minfo.value.name == "UNKNOWN_TOPIC_OR_PARTITION"

    run(main())


def test_send_after_close_and_double_close(run: Runner, brokers: str, topic: str) -> None:
    async def main() -> None:
        producer = gofka.AsyncProducer(brokers)
        await producer.connect()
        assert await producer.send(topic, b"x") == 0
        await producer.close()
        await producer.close()
        assert producer.closed
        for call in (lambda: producer.send(topic, b"y"), lambda: producer.send_batch(topic, [b"y"]),
                     lambda: producer.send_batch(topic, []), lambda: producer.send_batch(topic, [b"y"], keys=[b"k"]),
                     producer.connect, producer.flush):
            with pytest.raises(GofkaError) as info:
                await call()
            assert info.value.name == "CLIENT_CLOSED"

    run(main())


def test_close_flushes_pending_sends(run: Runner, brokers: str, topic: str) -> None:
    async def main() -> List[int]:
        producer = gofka.AsyncProducer(brokers, linger_ms=1000)
        tasks = [asyncio.ensure_future(producer.send(topic, b"x")) for _ in range(50)]
        await asyncio.sleep(0)
        await producer.close()
        return [await t for t in tasks]

    assert run(main()) == list(range(50))


def test_unreachable_broker_does_not_hang(run: Runner) -> None:
    async def main() -> None:
        producer = gofka.AsyncProducer("127.0.0.1:1", timeout=2, delivery_timeout_ms=500)
        with pytest.raises(gofka.ConnectionError):
            await producer.connect()
        with pytest.raises(gofka.ProduceError) as info:
            await producer.send("t", b"x")
        assert info.value.name == "DELIVERY_TIMEOUT"
        await producer.close()

    start = time.monotonic()
    run(main())
    assert time.monotonic() - start < 30


def test_used_from_two_loops_one_after_the_other(brokers: str, topic: str) -> None:
    producer = gofka.AsyncProducer(brokers)
    for expected in (0, 1):
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(producer.send(topic, b"x")) == expected
        finally:
            loop.close()
    asyncio.new_event_loop().run_until_complete(producer.close())


def test_large_records_through_a_small_buffer(run: Runner, brokers: str, topic: str) -> None:
    # Many concurrent sends whose total is far above buffer_memory: they
    # are split into batches that fit and wait for room in order.
    async def main() -> List[int]:
        async with gofka.AsyncProducer(brokers, batch_size=1 << 20, buffer_memory=1 << 20,
                                       max_request_size=1 << 20) as producer:
            return await asyncio.gather(*[producer.send(topic, b"%06d" % i + b"x" * 20000) for i in range(200)])

    assert run(main()) == list(range(200))


def test_send_batch_through_a_small_buffer(run: Runner, brokers: str, topic: str) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(brokers, buffer_memory=64 << 10, batch_size=8 << 10) as producer:
            values = [b"%05d" % i + b"x" * 295 for i in range(2000)]
            batch, singles = await asyncio.gather(
                producer.send_batch(topic, values, partition=0),
                asyncio.gather(*[producer.send(topic, v) for v in values[:500]]),
            )
            assert sorted(batch + list(singles)) == list(range(2500))
            assert batch == sorted(batch) and list(singles) == sorted(singles)
            with pytest.raises(gofka.MetadataError):
                await producer.send_batch(topic, [b"a"], partition=1000)
            with pytest.raises(TypeError):
                await producer.send_batch(topic, [b"a", None])  # type: ignore[list-item]

    run(main())


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_send_fast_path_serves_only_the_loop_running_here(brokers: str, topic: str, kind: str) -> None:
    """The C send path (gofka._speedups.AsyncSends) answers only for the
    loop it is bound to while that loop runs in the calling thread (asyncio
    loops: their _thread_id; uvloop: asyncio._get_running_loop()). A
    stopped loop, a second loop in the same thread and another thread take
    the Python path: the future belongs to the loop that awaits it, and a
    thread without a loop gets a coroutine."""
    def new_loop() -> asyncio.AbstractEventLoop:
        return uvloop.new_event_loop() if kind == "uvloop" else asyncio.new_event_loop()

    p = gofka.AsyncProducer(brokers, timeout=20)
    first, second = new_loop(), new_loop()
    try:
        async def send_here() -> int:
            fut = p.send(topic, b"v", partition=0)
            assert isinstance(fut, asyncio.Future) and fut.get_loop() is asyncio.get_running_loop()
            return await fut

        assert first.run_until_complete(send_here()) == 0
        # first is bound but stopped (not closed): second runs in this thread
        assert second.run_until_complete(send_here()) == 1
        other: List[Any] = []

        async def from_another_thread() -> None:
            t = threading.Thread(target=lambda: other.append(p.send(topic, b"t", partition=0)))
            t.start()
            t.join(10)

        second.run_until_complete(from_another_thread())
        assert len(other) == 1 and asyncio.iscoroutine(other[0]), other
        assert second.run_until_complete(other[0]) == 2
        assert first.run_until_complete(send_here()) == 3  # back to the first loop
        first.run_until_complete(p.close())
    finally:
        first.close()
        second.close()
