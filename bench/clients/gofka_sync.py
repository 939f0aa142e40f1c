"""Gofka synchronous API worker (gofka.Producer / gofka.Consumer, from the
repo: PYTHONPATH=python). See common.py for the protocol.

Tuning, from Gofka's Python API docs: send_batch() crosses into the Go
engine once per batch and blocks until every record is acknowledged, and
"one producer may be shared by many threads; calls run in parallel with the
GIL released", so throughput runs use one thread per partition (up to 8),
each sending batches of 10,000 values to its partition. Consumers use
poll(max_messages=N) (max_poll_records=N), which returns one packed buffer
per call. Latency runs use send() per record and poll() on the consumer.
"""

from __future__ import annotations

import inspect
import os
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import gofka  # noqa: E402

CHUNK = 10000


def _producer(spec):
    p = gofka.Producer(
        spec["brokers"],
        client_id="bench-gofka-sync",
        timeout=int(spec.get("timeout", 300)),
        compression=spec.get("compression") or None,
        acks="all",
    )
    p.connect()
    return p


def produce_send_batch(spec, meter):
    if not hasattr(gofka.Producer, "send_batch"):
        raise common.Unavailable("gofka.Producer.send_batch not available in this build")
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    nparts = int(spec.get("partitions", 1))
    values, expected = common.make_values(count, size)
    p = _producer(spec)
    errors = []
    acked = [0] * nparts
    nthreads = min(nparts, 8)

    # Thread t sends chunks t, t+nthreads, ... round-robin over its
    # partitions t, t+nthreads, ... (one partition per thread up to 8).
    def worker(t):
        try:
            mine = list(range(t, nparts, nthreads))
            j = 0
            for k in range(t, (count + CHUNK - 1) // CHUNK, nthreads):
                offsets = p.send_batch(topic, values[k * CHUNK : (k + 1) * CHUNK], mine[j % len(mine)])
                acked[t] += len(offsets)
                j += 1
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
    meter.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    meter.stop()
    p.close()
    if errors:
        raise errors[0]
    return meter.result(count=sum(acked), bytes=count * size, checksum=expected, extra={"threads": nthreads, "chunk": CHUNK})


def _consumer(spec):
    if not hasattr(gofka, "Consumer"):
        raise common.Unavailable("gofka.Consumer not available in this build")
    kw = dict(
        client_id="bench-gofka-sync",
        auto_commit=False,
        auto_offset_reset="earliest",
        timeout=int(spec.get("timeout", 300)),
    )
    if "max_poll_records" in inspect.signature(gofka.Consumer.__init__).parameters:
        kw["max_poll_records"] = spec.get("poll_max", 10000)
    c = gofka.Consumer(spec["brokers"], group_id=spec["group"], topics=[spec["topic"]], **kw)
    c.connect()
    c.subscribe()
    return c


def consume_poll(spec, meter):
    count = spec["count"]
    nmax = spec.get("poll_max", 10000)
    meter.start()
    c = _consumer(spec)
    got = nbytes = total = 0
    crc = zlib.crc32
    deadline = time.monotonic() + spec.get("timeout", 300)
    while got < count:
        msgs = c.poll(max_messages=min(nmax, count - got))
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
    c.close()
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


def consume_commit(spec, meter):
    """The documented at-least-once loop: poll(poll_max), then per message
    process and commit(message) (returns once committed)."""
    count = spec["count"]
    nmax = spec.get("poll_max", 500)
    c = _consumer(spec)
    got = nbytes = total = 0
    crc = zlib.crc32
    deadline = time.monotonic() + spec.get("timeout", 300)
    meter.start()
    while got < count:
        for m in c.poll(max_messages=min(nmax, count - got)):
            v = m.value
            got += 1
            nbytes += len(v)
            total += crc(v)
            c.commit(m)
            meter.mark_first()
        if time.monotonic() > deadline:
            raise RuntimeError("timeout after %d of %d" % (got, count))
    meter.stop()
    committed = sum(off for off in c.committed(c.assignment()).values() if off is not None and off >= 0)
    c.close()
    if committed != count:
        raise RuntimeError("committed offsets sum to %d, want %d" % (committed, count))
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


def share_share(spec, meter):
    """spec["members"] ShareConsumers (implicit acknowledgement: each poll
    accepts the previous one's records), one thread each, in the share
    group the runner set to read from the earliest offset."""
    if not hasattr(gofka, "ShareConsumer"):
        raise common.Unavailable("gofka.ShareConsumer not available in this build")
    nmax = spec.get("poll_max", 10000)
    meter.start()
    members = []
    for i in range(int(spec.get("members", 1))):
        c = gofka.ShareConsumer(spec["brokers"], spec["group"], [spec["topic"]], client_id="bench-gofka-share-%d" % i,
                                timeout=int(spec.get("timeout", 300)), max_poll_records=nmax)
        c.subscribe()
        members.append(c)

    def poller(c):
        return lambda: [m.value for m in c.poll(max_messages=nmax, timeout=0.5)]

    try:
        return common.consume_together(spec, meter, [poller(c) for c in members])
    finally:
        for c in members:
            c.close()


def share_classic(spec, meter):
    """spec["members"] classic group consumers (no commits), one thread
    each, polling once the group has shared out every partition (one
    moving later would be read again from the start)."""
    nmax = spec.get("poll_max", 10000)
    parts = int(spec.get("partitions", 1))
    meter.start()
    members = [_consumer(spec) for _ in range(int(spec.get("members", 1)))]
    deadline = time.monotonic() + spec.get("timeout", 300)
    while True:
        sizes = [len(c.assignment()) for c in members]
        if sum(sizes) == parts and (min(sizes) > 0 or len(members) > parts):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("assignment never complete: %s of %d partitions" % (sizes, parts))
        time.sleep(0.05)

    def poller(c):
        return lambda: [m.value for m in c.poll(max_messages=nmax, timeout=0.5)]

    try:
        return common.consume_together(spec, meter, [poller(c) for c in members])
    finally:
        for c in members:
            c.close()


def latency_produce(spec, meter):
    p = _producer(spec)
    topic = spec["topic"]

    def send(v):
        p.send(topic, v, 0)

    res = common.latency_produce_loop(spec, meter, send)
    p.close()
    return res


def latency_consume(spec, meter):
    meter.start()
    c = _consumer(spec)
    lc = common.LatencyConsumer(spec["count"])
    done = False
    while not done:
        msgs = c.poll(max_messages=100)
        now = time.time_ns()
        for m in msgs:
            if lc.add(m.value, now):
                done = True
    meter.stop()
    c.close()
    return meter.result(**lc.result())


if __name__ == "__main__":
    common.main(
        {
            "produce/send_batch": produce_send_batch,
            "consume/poll": consume_poll,
            "consume/poll-commit": consume_commit,
            "share/share": share_share,
            "share/classic": share_classic,
            "latency-produce/send": latency_produce,
            "latency-consume/poll": latency_consume,
        },
        "gofka",
    )
