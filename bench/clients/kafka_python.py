"""kafka-python worker. See common.py for the protocol.

Tuning, from kafka-python's KafkaProducer/KafkaConsumer docs: send() is
asynchronous and batches per partition, so throughput comes from larger
batches plus a short linger (batch_size=128 KiB, linger_ms=10) and a final
flush(); the consumer uses poll(max_records=N) and iterates the returned
batches. Latency runs use linger_ms=0 and send().get() per record.
"""

from __future__ import annotations

import os
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer  # noqa: E402


def _producer(spec, **extra):
    comp = spec.get("compression") or "none"
    conf = dict(
        bootstrap_servers=spec["brokers"].split(","),
        client_id="bench-kafka-python",
        acks="all",
        compression_type=None if comp == "none" else comp,
        batch_size=131072,
        linger_ms=10,
    )
    conf.update(extra)
    return KafkaProducer(**conf)


def produce(spec, meter):
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = _producer(spec)
    if p.partitions_for(topic) is None:  # connect and load metadata before timing
        raise RuntimeError("no metadata for %s" % topic)
    send = p.send
    meter.start()
    last = None
    for v in values:
        last = send(topic, v)
    p.flush(timeout=spec.get("timeout", 300))
    meter.stop()
    if last is not None:
        last.get(timeout=1)  # raises if the final batch failed
    p.close(timeout=5)
    # Delivery of every record is checked by reading the topic back (run.py).
    return meter.result(count=count, bytes=count * size, checksum=expected)


def _consumer(spec, **extra):
    conf = dict(
        bootstrap_servers=spec["brokers"].split(","),
        client_id="bench-kafka-python",
        group_id=spec["group"],
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    conf.update(extra)
    return KafkaConsumer(spec["topic"], **conf)


def consume(spec, meter):
    count = spec["count"]
    nmax = spec.get("poll_max", 10000)
    c = _consumer(spec, max_poll_records=nmax)
    got = nbytes = total = 0
    crc = zlib.crc32
    deadline = time.monotonic() + spec.get("timeout", 300)
    meter.start()
    while got < count:
        batches = c.poll(timeout_ms=1000, max_records=min(nmax, count - got))
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
    c.close(autocommit=False)
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


def latency_produce(spec, meter):
    p = _producer(spec, linger_ms=0)
    topic = spec["topic"]
    p.partitions_for(topic)

    def send(v):
        p.send(topic, v, partition=0).get(timeout=30)

    res = common.latency_produce_loop(spec, meter, send)
    p.close(timeout=5)
    return res


def latency_consume(spec, meter):
    c = _consumer(spec)
    lc = common.LatencyConsumer(spec["count"])
    meter.start()
    done = False
    while not done:
        batches = c.poll(timeout_ms=1000, max_records=100)
        now = time.time_ns()
        for recs in batches.values():
            for r in recs:
                if lc.add(r.value, now):
                    done = True
    meter.stop()
    c.close(autocommit=False)
    return meter.result(**lc.result())


if __name__ == "__main__":
    common.main(
        {
            "produce/send": produce,
            "consume/poll": consume,
            "latency-produce/send": latency_produce,
            "latency-consume/poll": latency_consume,
        },
        "kafka-python",
    )
