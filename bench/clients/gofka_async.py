"""Gofka asyncio API worker (gofka.AsyncProducer / gofka.AsyncConsumer, from
the repo). See common.py for the protocol.

Tuning, from Gofka's Python API docs ("Performance Tips": use AsyncProducer
with max_in_flight > 1 for concurrent sends, batching with linger_ms):
linger_ms=10 (0 where each send or wave of sends is awaited: send-sequential,
send-gather), batch_size=1 MiB, max_in_flight=5, and many send() calls in
flight at once (gathered in chunks of 2,500, up to 4 chunks outstanding),
with partition=None so that the engine's (sticky) partitioner spreads them.
send_batch mode sends batches of 10,000 values (partition=None: the engine
partitions per record), up to 4 batches in flight. Consumers use
poll(max_messages=N) with max_poll_records=N.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import os
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import gofka  # noqa: E402

GATHER = 2500
OUTSTANDING = 4
CHUNK = 10000


def _kwargs_for(cls, wanted):
    """The subset of wanted that cls's constructor accepts (the API is
    still growing; a parameter this build lacks is left out)."""
    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in wanted.items() if k in params}


def _producer_cls():
    if not hasattr(gofka, "AsyncProducer"):
        raise common.Unavailable("gofka.AsyncProducer not available in this build")
    return gofka.AsyncProducer


async def _producer(spec, **extra):
    cls = _producer_cls()
    wanted = dict(
        client_id="bench-gofka-async",
        timeout=int(spec.get("timeout", 300)),
        compression=None if spec.get("compression") in (None, "none") else spec["compression"],
        batch_size=1 << 20,
        linger_ms=10,
        max_in_flight=5,
        acks="all",
    )
    wanted.update(extra)
    p = cls(spec["brokers"], **_kwargs_for(cls, wanted))
    await p.connect()
    return p


async def _produce_send(spec, meter):
    # The same pattern as aiokafka_client.py's send: every record sent
    # without waiting for its acknowledgement (AsyncProducer.send queues the
    # record and returns its future at once), then flush and the last
    # future. The runner reads the topic back to verify count and checksum.
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = await _producer(spec)
    send = p.send
    try:
        meter.start()
        last = None
        for v in values:
            last = send(topic, v, None)
        await p.flush()
        if last is not None:
            await last  # raises if the final record failed
        meter.stop()
    finally:
        await p.close()
    return meter.result(count=count, bytes=count * size, checksum=expected)


async def _produce_send_batch(spec, meter):
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = await _producer(spec)
    acked = 0
    try:
        inflight = collections.deque()
        meter.start()
        for lo in range(0, count, CHUNK):
            inflight.append(asyncio.ensure_future(p.send_batch(topic, values[lo : lo + CHUNK], None)))
            if len(inflight) >= OUTSTANDING:
                acked += len(await inflight.popleft())
        while inflight:
            acked += len(await inflight.popleft())
        meter.stop()
    finally:
        await p.close()
    return meter.result(count=acked, bytes=count * size, checksum=expected)


async def _asyncio_floor(count):
    """Futures per second of the gather loop with no client: create one
    asyncio future per record, gather a wave of GATHER, resolve them,
    await the gather. Any client that gives one future per record pays at
    least this; the report prints it beside send-gather."""
    loop = asyncio.get_running_loop()
    create = loop.create_future
    t0 = time.perf_counter()
    for _ in range(0, count, GATHER):
        futs = [create() for _ in range(GATHER)]
        wave = asyncio.gather(*futs)
        for f in futs:
            f.set_result(None)
        await wave
    return count / (time.perf_counter() - t0)


async def _produce_send_gather(spec, meter):
    # What a user writes to know each record's outcome: one awaited future
    # per record, gathered GATHER at a time (the records of a gather are in
    # flight together; the next gather starts when all are acknowledged).
    # linger_ms=0 on both sides (the clients' default): every record of a
    # wave is in before a linger would end, so linger only delays each
    # wave's last batch (measured on Kafka 4.4: 141k msgs/s with
    # linger_ms=10, 330k with 0; aiokafka 35.6k and 34.1k).
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    floor = await _asyncio_floor(min(count, 200_000))  # before the producer exists: asyncio alone
    p = await _producer(spec, linger_ms=0)
    send = p.send
    acked = 0
    try:
        meter.start()
        for lo in range(0, count, GATHER):
            acked += len(await asyncio.gather(*[send(topic, v) for v in values[lo : lo + GATHER]]))
        meter.stop()
    finally:
        await p.close()
    return meter.result(count=acked, bytes=count * size, checksum=expected, asyncio_floor_msgs_s=floor)


async def _produce_send_sequential(spec, meter):
    # One record in flight at a time: each send awaited before the next
    # (a broker round trip per record), linger_ms=0 as in aiokafka_client.py.
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = await _producer(spec, linger_ms=0)
    send = p.send
    acked = 0
    try:
        meter.start()
        for v in values:
            await send(topic, v)
            acked += 1
        meter.stop()
    finally:
        await p.close()
    return meter.result(count=acked, bytes=count * size, checksum=expected)


def produce_send(spec, meter):
    return asyncio.run(_produce_send(spec, meter))


def produce_send_batch(spec, meter):
    _producer_cls()
    if not hasattr(gofka.AsyncProducer, "send_batch"):
        raise common.Unavailable("gofka.AsyncProducer.send_batch not available in this build")
    return asyncio.run(_produce_send_batch(spec, meter))


async def _consumer(spec, nmax):
    if not hasattr(gofka, "AsyncConsumer"):
        raise common.Unavailable("gofka.AsyncConsumer not available in this build")
    cls = gofka.AsyncConsumer
    wanted = dict(
        client_id="bench-gofka-async",
        auto_commit=False,
        auto_offset_reset="earliest",
        timeout=int(spec.get("timeout", 300)),
        max_poll_records=nmax,
    )
    c = cls(spec["brokers"], group_id=spec["group"], topics=[spec["topic"]], **_kwargs_for(cls, wanted))
    await c.connect()
    await c.subscribe()
    return c


async def _consume(spec, meter):
    count = spec["count"]
    nmax = spec.get("poll_max", 10000)
    meter.start()
    c = await _consumer(spec, nmax)
    got = nbytes = total = 0
    crc = zlib.crc32
    deadline = time.monotonic() + spec.get("timeout", 300)
    try:
        while got < count:
            msgs = await c.poll(max_messages=min(nmax, count - got))
            for m in msgs:
                v = m.value
                nbytes += len(v)
                total += crc(v)
            if msgs:
                got += len(msgs)
                meter.mark_first()
            if time.monotonic() > deadline:
                raise RuntimeError("timeout after %d of %d" % (got, count))
        meter.stop()
    finally:
        await c.close()
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


def consume(spec, meter):
    return asyncio.run(_consume(spec, meter))


async def _consume_iter(spec, meter, commit_each):
    """`async for m in consumer` (the documented consumer), optionally with
    `await consumer.commit(m)` per message (the documented at-least-once
    loop)."""
    count = spec["count"]
    meter.start()
    c = await _consumer(spec, spec.get("poll_max", 500))
    got = nbytes = total = 0
    crc = zlib.crc32
    try:
        async with asyncio.timeout(spec.get("timeout", 300)):
            async for m in c:
                v = m.value
                got += 1
                nbytes += len(v)
                total += crc(v)
                if commit_each:
                    await c.commit(m)
                if got == 1:
                    meter.mark_first()
                if got >= count:
                    break
        meter.stop()
        if commit_each:
            committed = await c.committed(c.assignment())
            total_committed = sum(off for off in committed.values() if off is not None and off >= 0)
            if total_committed != count:
                raise RuntimeError("committed offsets sum to %d, want %d" % (total_committed, count))
    finally:
        await c.close()
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


async def _latency_produce(spec, meter):
    p = await _producer(spec, linger_ms=0)
    topic = spec["topic"]
    try:

        async def send(v):
            await p.send(topic, v, 0)

        return await common.async_latency_produce_loop(spec, meter, send)
    finally:
        await p.close()


def latency_produce(spec, meter):
    _producer_cls()
    return asyncio.run(_latency_produce(spec, meter))


async def _latency_consume(spec, meter):
    meter.start()
    c = await _consumer(spec, 100)
    lc = common.LatencyConsumer(spec["count"])
    try:
        done = False
        while not done:
            msgs = await c.poll(max_messages=100)
            now = time.time_ns()
            for m in msgs:
                if lc.add(m.value, now):
                    done = True
        meter.stop()
    finally:
        await c.close()
    return meter.result(**lc.result())


def latency_consume(spec, meter):
    return asyncio.run(_latency_consume(spec, meter))


if __name__ == "__main__":
    common.main(
        {
            "produce/send": produce_send,
            "produce/send_batch": produce_send_batch,
            "consume/poll": consume,
            # The loops users write (bench/run.py PATTERN_CLIENTS).
            "produce/send-gather": lambda spec, meter: asyncio.run(_produce_send_gather(spec, meter)),
            "produce/send-sequential": lambda spec, meter: asyncio.run(_produce_send_sequential(spec, meter)),
            "consume/iter": lambda spec, meter: asyncio.run(_consume_iter(spec, meter, False)),
            "consume/iter-commit": lambda spec, meter: asyncio.run(_consume_iter(spec, meter, True)),
            "latency-produce/send": latency_produce,
            "latency-consume/poll": latency_consume,
        },
        "gofka",
    )
