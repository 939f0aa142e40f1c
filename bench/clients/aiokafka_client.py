"""aiokafka worker (asyncio, default event loop). See common.py.

Tuning, from aiokafka's producer/consumer docs: ``await send()`` only
enqueues into the accumulator and returns a delivery future, so a producer
awaits send() per record and flush()es at the end; batches grow with
max_batch_size (128 KiB here) and linger_ms=10. send_batch mode builds
batches itself (create_batch / append / send_batch, the docs' "direct
batch" API) and spreads them round-robin over the partitions. Consumers use
getmany(max_records=N). Latency runs use send_and_wait with linger_ms=0.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402


def _producer(spec, **extra):
    comp = spec.get("compression") or "none"
    conf = dict(
        bootstrap_servers=spec["brokers"],
        client_id="bench-aiokafka",
        acks="all",
        compression_type=None if comp == "none" else comp,
        max_batch_size=131072,
        linger_ms=10,
        request_timeout_ms=int(spec.get("timeout", 300) * 1000),
    )
    conf.update(extra)
    return AIOKafkaProducer(**conf)


async def _produce(spec, meter, batch_mode):
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = _producer(spec)
    await p.start()
    try:
        parts = sorted(await p.partitions_for(topic))
        meter.start()
        if batch_mode:
            futs = []
            batch = p.create_batch()
            k = 0
            for v in values:
                if batch.append(key=None, value=v, timestamp=None) is None:
                    batch.close()
                    futs.append(await p.send_batch(batch, topic, partition=parts[k % len(parts)]))
                    k += 1
                    batch = p.create_batch()
                    batch.append(key=None, value=v, timestamp=None)
            if batch.record_count():
                batch.close()
                futs.append(await p.send_batch(batch, topic, partition=parts[k % len(parts)]))
            await asyncio.gather(*futs)
        else:
            send = p.send
            last = None
            for v in values:
                last = await send(topic, v)
            await p.flush()
            if last is not None:
                await last  # raises if the final batch failed
        meter.stop()
    finally:
        await p.stop()
    return meter.result(count=count, bytes=count * size, checksum=expected)


async def _produce_send_gather(spec, meter, gather=2500):
    # One awaited outcome per record (send_and_wait), gathered `gather` at
    # a time: the same loop as gofka_async.py's send-gather, linger_ms=0
    # as there (aiokafka's default).
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = _producer(spec, linger_ms=0)
    await p.start()
    acked = 0
    try:
        await p.partitions_for(topic)
        send = p.send_and_wait
        meter.start()
        for lo in range(0, count, gather):
            acked += len(await asyncio.gather(*[send(topic, v) for v in values[lo : lo + gather]]))
        meter.stop()
    finally:
        await p.stop()
    return meter.result(count=acked, bytes=count * size, checksum=expected)


async def _produce_send_sequential(spec, meter):
    # One record in flight at a time (send_and_wait each), linger_ms=0: the
    # same loop as gofka_async.py's send-sequential.
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = _producer(spec, linger_ms=0)
    await p.start()
    acked = 0
    try:
        await p.partitions_for(topic)
        send = p.send_and_wait
        meter.start()
        for v in values:
            await send(topic, v)
            acked += 1
        meter.stop()
    finally:
        await p.stop()
    return meter.result(count=acked, bytes=count * size, checksum=expected)


def produce_send(spec, meter):
    return asyncio.run(_produce(spec, meter, False))


def produce_send_batch(spec, meter):
    return asyncio.run(_produce(spec, meter, True))


def _consumer(spec, **extra):
    conf = dict(
        bootstrap_servers=spec["brokers"],
        client_id="bench-aiokafka",
        group_id=spec["group"],
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    conf.update(extra)
    return AIOKafkaConsumer(spec["topic"], **conf)


async def _consume(spec, meter):
    count = spec["count"]
    nmax = spec.get("poll_max", 10000)
    c = _consumer(spec)
    got = nbytes = total = 0
    crc = zlib.crc32
    deadline = time.monotonic() + spec.get("timeout", 300)
    meter.start()
    await c.start()
    try:
        while got < count:
            batches = await c.getmany(timeout_ms=1000, max_records=min(nmax, count - got))
            for recs in batches.values():
                for r in recs:
                    v = r.value
                    nbytes += len(v)
                    total += crc(v)
                got += len(recs)
            if batches:
                meter.mark_first()
            if time.monotonic() > deadline:
                raise RuntimeError("timeout after %d of %d" % (got, count))
        meter.stop()
    finally:
        await c.stop()
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


def consume(spec, meter):
    return asyncio.run(_consume(spec, meter))


async def _consume_iter(spec, meter, commit_each):
    """`async for msg in consumer`, optionally with `await
    consumer.commit()` per message (aiokafka's at-least-once example)."""
    count = spec["count"]
    c = _consumer(spec)
    got = nbytes = total = 0
    crc = zlib.crc32
    meter.start()
    await c.start()
    try:
        async with asyncio.timeout(spec.get("timeout", 300)):
            async for r in c:
                v = r.value
                got += 1
                nbytes += len(v)
                total += crc(v)
                if commit_each:
                    await c.commit()
                if got == 1:
                    meter.mark_first()
                if got >= count:
                    break
        meter.stop()
        if commit_each:
            committed = 0
            for tp in c.assignment():
                off = await c.committed(tp)
                committed += off if off is not None and off >= 0 else 0
            if committed != count:
                raise RuntimeError("committed offsets sum to %d, want %d" % (committed, count))
    finally:
        await c.stop()
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


async def _latency_produce(spec, meter):
    p = _producer(spec, linger_ms=0)
    await p.start()
    topic = spec["topic"]
    try:
        await p.partitions_for(topic)

        async def send(v):
            await p.send_and_wait(topic, v, partition=0)

        return await common.async_latency_produce_loop(spec, meter, send)
    finally:
        await p.stop()


def latency_produce(spec, meter):
    return asyncio.run(_latency_produce(spec, meter))


async def _latency_consume(spec, meter):
    c = _consumer(spec)
    lc = common.LatencyConsumer(spec["count"])
    meter.start()
    await c.start()
    try:
        done = False
        while not done:
            batches = await c.getmany(timeout_ms=1000, max_records=100)
            now = time.time_ns()
            for recs in batches.values():
                for r in recs:
                    if lc.add(r.value, now):
                        done = True
        meter.stop()
    finally:
        await c.stop()
    return meter.result(**lc.result())


def latency_consume(spec, meter):
    return asyncio.run(_latency_consume(spec, meter))


if __name__ == "__main__":
    common.main(
        {
            "produce/send": produce_send,
            "produce/send_batch": produce_send_batch,
            "consume/getmany": consume,
            # The loops users write (bench/run.py PATTERN_CLIENTS).
            "produce/send-gather": lambda spec, meter: asyncio.run(_produce_send_gather(spec, meter)),
            "produce/send-sequential": lambda spec, meter: asyncio.run(_produce_send_sequential(spec, meter)),
            "consume/iter": lambda spec, meter: asyncio.run(_consume_iter(spec, meter, False)),
            "consume/iter-commit": lambda spec, meter: asyncio.run(_consume_iter(spec, meter, True)),
            "latency-produce/send_and_wait": latency_produce,
            "latency-consume/getmany": latency_consume,
        },
        "aiokafka",
    )
