"""AsyncProducer.send, one future per record (issue 22, item 2): each
future gets its own record's offset or error, in send order per
partition; a future cancelled by its awaiter neither loses nor duplicates
its record; close resolves every send still pending; the C send path
hides pending futures from the cyclic GC and tracks them again once it
resolves them, so a reference cycle through a resolved future is
collected. Every test runs on the C speedups and on their pure-Python
twins (as with GOFKA_NO_SPEEDUPS=1), on the stock loop and on uvloop."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from typing import Any, Dict, List

import pytest
import uvloop  # tests/requirements.txt

import gofka
from conftest import Runner  # the run fixture (stock asyncio loop and uvloop)
from gofka import _bridge as _bridge_mod
from gofka import _producer_base as pb_mod
from gofka import async_producer as ap_mod



@pytest.fixture(params=["c", "python"])
def impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The C send path, or its pure-Python twin."""
    if request.param == "c":
        if ap_mod._speedups is None:
            pytest.skip("gofka._speedups is not built")
        return "c"
    monkeypatch.setattr(ap_mod, "_AsyncSends", ap_mod._PyAsyncSends)
    monkeypatch.setattr(ap_mod, "_speedups", None)
    monkeypatch.setattr(ap_mod, "_resolve_sends", None)
    monkeypatch.setattr(ap_mod, "_track_futures", None, raising=False)  # absent before the C path untracked
    monkeypatch.setattr(pb_mod, "chunk_records", pb_mod.chunk_records_py)  # ProducerBase._pending_chunks
    return "python"


def read_values(brokers: str, topic: str, partitions: int, n: int) -> Dict[int, List[bytes]]:
    """The values of the topic's partitions in offset order (n records in
    all; waits a little longer to see that there are no more)."""
    got: Dict[int, List[bytes]] = {p: [] for p in range(partitions)}
    count = 0
    with gofka.Consumer(brokers, None, None, timeout=20) as c:
        c.assign([(topic, p) for p in range(partitions)])
        end = time.monotonic() + 30
        while count < n:
            assert time.monotonic() < end, "read %d of %d records" % (count, n)
            for m in c.poll(500, timeout=0.5):
                got[m.partition].append(m.value)
                count += 1
        for m in c.poll(500, timeout=0.3):
            got[m.partition].append(m.value)
            count += 1
    assert count == n
    return got


def test_each_future_gets_its_records_offset_or_error(impl: str, run: Runner, brokers: str, topic: str) -> None:
    """Sends to two partitions interleaved, with records that fail in the
    same loop turn (too large; a partition that does not exist): every
    future resolves with its own record's outcome, offsets follow the
    send order per partition, and only the good records are written."""
    with gofka.AdminClient(brokers, timeout=15) as admin:
        admin.create_topic(topic, num_partitions=2)

    async def main() -> List[Any]:
        async with gofka.AsyncProducer(brokers, max_request_size=1 << 20) as producer:
            futs = []
            for i in range(3000):
                if i % 1000 == 500:
                    futs.append(producer.send(topic, b"x" * (2 << 20), partition=i % 2))  # too large
                elif i % 1000 == 700:
                    futs.append(producer.send(topic, b"nowhere", partition=7))
                else:
                    futs.append(producer.send(topic, b"%d" % i, partition=i % 2))
            return await asyncio.gather(*futs, return_exceptions=True)

    results = run(main())
    expected: Dict[int, List[bytes]] = {0: [], 1: []}
    for i, r in enumerate(results):
        if i % 1000 == 500:
            assert isinstance(r, gofka.ProduceError) and "MESSAGE_TOO_LARGE" in r.name, r
        elif i % 1000 == 700:
            assert isinstance(r, gofka.MetadataError) and r.name == "PARTITION_NOT_FOUND", r
        else:
            assert r == len(expected[i % 2]), (i, r)
            expected[i % 2].append(b"%d" % i)
    assert read_values(brokers, topic, 2, len(expected[0]) + len(expected[1])) == expected


def test_cancelled_future_neither_loses_nor_duplicates_its_record(impl: str, run: Runner, brokers: str,
                                                                  topic: str) -> None:
    """A future cancelled right after send (before its loop turn packs it)
    and one cancelled while its batch is in flight: their records are
    written once each, the other futures get their offsets."""

    async def main() -> List[Any]:
        async with gofka.AsyncProducer(brokers, linger_ms=50) as producer:
            futs = [producer.send(topic, b"%d" % i) for i in range(100)]
            futs[3].cancel()  # still in this turn's buffer
            await asyncio.sleep(0.01)  # packed and handed to the engine, lingering
            futs[60].cancel()
            out = await asyncio.gather(*futs, return_exceptions=True)
            assert await producer.send(topic, b"last") == 100
            return out

    results = run(main())
    for i, r in enumerate(results):
        if i in (3, 60):
            assert isinstance(r, asyncio.CancelledError)
        else:
            assert r == i
    assert read_values(brokers, topic, 1, 101)[0] == [b"%d" % i for i in range(100)] + [b"last"]


def test_close_resolves_every_pending_send(impl: str, run: Runner, brokers: str, topic: str) -> None:
    """close() with sends still in this turn's buffer and in flight: each
    future has its offset once close returns (close flushes)."""

    async def main() -> List[int]:
        producer = gofka.AsyncProducer(brokers, linger_ms=200)
        await producer.connect()
        early = [producer.send(topic, b"a%d" % i) for i in range(3000)]  # 2,048 handed over at once
        await asyncio.sleep(0)
        late = [producer.send(topic, b"b%d" % i) for i in range(10)]  # still buffered
        await producer.close()
        futs = early + late
        assert all(f.done() for f in futs)
        return [f.result() for f in futs]

    assert run(main()) == list(range(3010))


def test_resolved_futures_are_tracked_by_the_gc_again(impl: str, run: Runner, brokers: str, topic: str) -> None:
    """The C path keeps pending futures out of the cyclic GC (collections
    triggered by allocations traversed every pending send); a resolved
    future, with a result or an error, or failed by close, is tracked
    again, so a reference cycle through it is collected."""

    async def main() -> None:
        async with gofka.AsyncProducer(brokers) as producer:
            assert await producer.send(topic, b"w") == 0  # the first send of a topic takes the Python path
            fut = producer.send(topic, b"x")
            bad = producer.send(topic, b"y", partition=9)
            if impl == "c":
                assert not gc.is_tracked(fut) and not gc.is_tracked(bad)
            assert await fut == 1
            with pytest.raises(gofka.MetadataError):
                await bad
            assert gc.is_tracked(fut) and gc.is_tracked(bad)
            cyc = producer.send(topic, b"z")
            cyc.me = cyc  # type: ignore[attr-defined]  # a cycle through the future
            ref = weakref.ref(cyc)
            await cyc
            del cyc
        gc.collect()
        assert ref() is None

        producer = gofka.AsyncProducer("127.0.0.1:1", timeout=1)
        # The first send binds the loop and caches the topic (Python
        # path): the C path takes the others.
        pending = [producer.send(topic, b"%d" % i) for i in range(10)]
        if impl == "c":
            assert not any(gc.is_tracked(f) for f in pending[1:])
        await producer.close(0)
        assert all(f.done() for f in pending)
        assert all(gc.is_tracked(f) for f in pending)
        for f in pending:
            assert isinstance(f.exception(), gofka.GofkaError)

    run(main())


def test_units_in_flight_hold_no_record_bytes(impl: str, run: Runner, brokers: str, topic: str) -> None:
    """Once the engine took a unit (it copies the records), the unit keeps
    only its futures: sends made faster than the loop turns no longer hold
    every value a second time until their results arrive."""

    async def main() -> List[int]:
        async with gofka.AsyncProducer(brokers, linger_ms=300, batch_size=1 << 20) as producer:
            futs = [producer.send(topic, b"%d" % i) for i in range(3000)]
            futs.append(producer.send(topic, b"keyed", key=b"k", partition=0))  # the packed (non-columnar) form
            await asyncio.sleep(0.05)  # packed and handed over; lingering in the engine
            units = list(producer._unit_of.values())
            assert units and sum(u.count for u in units) == 3001
            assert all(u.payload is None for u in units)  # neither packed records nor columnar values
            return await asyncio.gather(*futs)

    assert run(main()) == list(range(3001))


def test_a_run_of_sends_that_never_yields_gets_results_as_it_goes(impl: str, run: Runner, brokers: str,
                                                                  topic: str) -> None:
    """Sends made without yielding to the loop (a plain for loop of
    send()): each pack of 2,048 sends first delivers the results already
    on the queue, so the futures of completed records resolve (and units
    waiting for buffer.memory go out) before the loop next turns."""

    async def main() -> List[int]:
        async with gofka.AsyncProducer(brokers, buffer_memory=200 << 10, batch_size=64 << 10) as producer:
            futs = [producer.send(topic, b"%05d" % i + b"x" * 95) for i in range(2048)]  # packed at the 2,048th
            deadline = time.monotonic() + 20
            while not producer._unit_of and producer._waiting and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.5)  # blocks the loop: the engine completes the first records meanwhile
            futs += [producer.send(topic, b"%05d" % i + b"x" * 95) for i in range(2048, 4096)]
            assert any(f.done() for f in futs[:2048]), "no result delivered before the loop turned"
            assert all(not f.done() for f in futs[2048:])
            return await asyncio.gather(*futs)

    assert run(main()) == list(range(4096))
    assert read_values(brokers, topic, 1, 4096)[0] == [b"%05d" % i + b"x" * 95 for i in range(4096)]


def test_results_are_delivered_as_the_loop_reads_them(impl: str, run: Runner, brokers: str, topic: str) -> None:
    """The producer's bridge delivers a unit when it reads its event (the
    loop's reader callback), not from a done callback one loop turn later:
    a sequential ``await send()`` waits one turn less per record."""

    async def main() -> None:
        async with gofka.AsyncProducer(brokers) as producer:
            assert await producer.send(topic, b"first") == 0
            for i in range(1, 4):
                fut = producer.send(topic, b"%d" % i)
                await asyncio.sleep(0)  # packed and handed to the engine
                time.sleep(0.3)  # blocks the loop: the result reaches the queue meanwhile
                bridge = producer._bridge
                assert bridge is not None
                bridge._on_readable()  # what the loop's reader callback does
                assert fut.done()
                assert fut.result() == i

    run(main())


@pytest.mark.parametrize("how", ["send", "send_batch"])
def test_sequential_sends_keep_the_queue_watched(impl: str, how: str, run: Runner, brokers: str, topic: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """One awaited send after another (``await send()``, ``await
    send_batch()``): the loop keeps watching the completion queue between
    them rather than stopping and watching again (two epoll_ctl calls,
    ~10 us) per call, although each next call starts its unit a callback
    or two after its awaiter wakes (the pack; the gather). Every call gets
    its offset, and once nothing is pending the queue is no longer
    watched. The same property for commits: test_commit_coalescing.py."""
    stops = [0]
    stop_if_idle = _bridge_mod.AsyncBridge._stop_if_idle

    def counting_stop_if_idle(self: Any, *args: Any) -> None:
        watched = self._reading
        stop_if_idle(self, *args)
        stops[0] += watched and not self._reading

    monkeypatch.setattr(_bridge_mod.AsyncBridge, "_stop_if_idle", counting_stop_if_idle)
    rounds = 20

    async def main() -> None:
        async with gofka.AsyncProducer(brokers) as producer:
            await producer.send(topic, b"warm-up")  # connected, the topic's metadata known
            await asyncio.sleep(0.05)
            stops[0] = 0
            for i in range(rounds):
                if how == "send":
                    assert await producer.send(topic, b"%d" % i) == 1 + i
                else:
                    assert await producer.send_batch(topic, [b"%d" % i]) == [1 + i]
            assert stops[0] == 0, "the queue was unwatched %d times in %d sequential calls" % (stops[0], rounds)
            for _ in range(3):
                await asyncio.sleep(0)
            bridge = producer._bridge
            assert bridge is not None and bridge.pending == 0 and not bridge._reading
            assert stops[0] == 1

    run(main())


def test_a_run_of_sends_that_never_yields_frees_what_completed(impl: str, run: Runner, brokers: str,
                                                               topic: str) -> None:
    """Futures the caller dropped (fire and forget, flush at the end) are
    freed once their results are delivered within the run, not held by
    callbacks waiting in the loop's queue until the run ends (peak memory
    of a long run of sends)."""

    async def main() -> None:
        async with gofka.AsyncProducer(brokers) as producer:
            assert await producer.send(topic, b"first") == 0
            refs = [weakref.ref(producer.send(topic, b"%d" % i)) for i in range(2048)]  # packed at the 2,048th
            time.sleep(0.5)  # blocks the loop: the engine completes them meanwhile
            last = producer.send(topic, b"next")
            for i in range(2047):
                producer.send(topic, b"%d" % i)  # the 2,048th packs, delivering what completed first
            alive = sum(r() is not None for r in refs)
            assert alive == 0, "%d futures of delivered sends still alive" % alive
            await producer.flush()
            assert await last == 2049

    run(main())


def test_send_futures_come_from_the_loops_create_future(impl: str, brokers: str, topic: str) -> None:
    """On a stock loop the C path makes asyncio.Future(loop=loop) itself
    (what BaseEventLoop.create_future does); a loop that overrides
    create_future, in its class or on the instance, gets its own futures."""

    class Marking(asyncio.SelectorEventLoop):
        def create_future(self) -> "asyncio.Future[Any]":
            fut = super().create_future()
            fut.mark = "class"  # type: ignore[attr-defined]
            return fut

    async def sends() -> List[Any]:
        async with gofka.AsyncProducer(brokers) as producer:
            futs = [producer.send(topic, b"%d" % i) for i in range(3)]  # the first binds the loop
            await asyncio.gather(*futs)
            return [(getattr(f, "mark", None), type(f)) for f in futs]

    stock = asyncio.new_event_loop()
    try:
        assert [m for m, _ in stock.run_until_complete(sends())] == [None] * 3
    finally:
        stock.close()
    marking = Marking()
    try:
        assert [m for m, _ in marking.run_until_complete(sends())] == ["class"] * 3
    finally:
        marking.close()
    instance = asyncio.new_event_loop()
    stock_create = instance.create_future

    def create() -> "asyncio.Future[Any]":
        fut = stock_create()
        fut.mark = "instance"  # type: ignore[attr-defined]
        return fut

    instance.create_future = create  # type: ignore[method-assign]
    try:
        assert [m for m, _ in instance.run_until_complete(sends())] == ["instance"] * 3
    finally:
        instance.close()
