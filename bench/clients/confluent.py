"""confluent-kafka (librdkafka) worker. See common.py for the protocol.

Tuning, from librdkafka's CONFIGURATION.md / INTRODUCTION.md ("High
throughput") and Confluent's "Optimize for throughput" guide: larger
batches and a linger (linger.ms=10; librdkafka already batches up to
batch.size=1,000,000 bytes / 10,000 messages), a local queue large enough
never to block produce() (queue.buffering.max.messages=1,000,000), poll()
to serve delivery callbacks, flush() at the end. Consumers use consume(
num_messages=N), which crosses into librdkafka once per batch.
Latency runs use linger.ms=0, and poll() on the consumer side.
"""

from __future__ import annotations

import os
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from confluent_kafka import Consumer, KafkaError, Producer  # noqa: E402


def _producer(spec, **extra):
    conf = {
        "bootstrap.servers": spec["brokers"],
        "client.id": "bench-confluent",
        "acks": "all",
        "compression.type": spec.get("compression") or "none",
        "linger.ms": 10,
        "queue.buffering.max.messages": 1000000,
        "queue.buffering.max.kbytes": 1048576,
    }
    conf.update(extra)
    return Producer(conf)


def produce(spec, meter, poll_mask=1023):
    """produce(on_delivery=cb) per record; poll(0) when i & poll_mask == 0
    (1023: every 1,024 records; 0: every record; None: never, as a user
    who relies on flush() writes it), then flush()."""
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = _producer(spec)
    p.list_topics(topic, timeout=30)  # connect and load metadata before timing
    state = {"acked": 0, "err": None}

    def on_delivery(err, msg):
        if err is not None:
            if state["err"] is None:
                state["err"] = err
        else:
            state["acked"] += 1

    produce_ = p.produce
    poll = p.poll
    meter.start()
    for i, v in enumerate(values):
        try:
            produce_(topic, v, on_delivery=on_delivery)
        except BufferError:
            poll(0.05)
            produce_(topic, v, on_delivery=on_delivery)
        if poll_mask is not None and i & poll_mask == 0:
            poll(0)
    left = p.flush(spec.get("timeout", 300))
    meter.stop()
    if left or state["err"] is not None:
        raise RuntimeError("flush left %d messages, first error %s" % (left, state["err"]))
    return meter.result(count=state["acked"], bytes=count * size, checksum=expected)


def produce_txn(spec, meter):
    """Transactional produce (the same loop as gobench's produce/txn):
    init_transactions() once, then per commit_every records
    begin_transaction(), produce(on_delivery=cb) each (poll(0) every 1,024
    records to serve callbacks), commit_transaction() (which flushes)."""
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    every = int(spec.get("commit_every") or 0)
    if every < 1:
        raise ValueError("commit_every must be at least 1")
    values, expected = common.make_values(count, size)
    p = _producer(spec, **{"transactional.id": "bench-confluent-" + topic})
    p.list_topics(topic, timeout=30)
    p.init_transactions(30)
    state = {"acked": 0, "err": None}

    def on_delivery(err, msg):
        if err is not None:
            if state["err"] is None:
                state["err"] = err
        else:
            state["acked"] += 1

    produce_ = p.produce
    poll = p.poll
    timeout = spec.get("timeout", 300)
    meter.start()
    for lo in range(0, count, every):
        p.begin_transaction()
        for i in range(lo, min(count, lo + every)):
            v = values[i]
            try:
                produce_(topic, v, on_delivery=on_delivery)
            except BufferError:
                poll(0.05)
                produce_(topic, v, on_delivery=on_delivery)
            if i & 1023 == 0:
                poll(0)
        p.commit_transaction(timeout)
    poll(0)  # callbacks of the last transaction's records
    meter.stop()
    if state["err"] is not None or state["acked"] != count:
        raise RuntimeError("%d of %d records acknowledged, first error %s" % (state["acked"], count, state["err"]))
    res = meter.result(count=state["acked"], bytes=count * size, checksum=expected)
    res["extra"] = {"commit_every": every, "transactions": (count + every - 1) // every}
    return res


def _consumer(spec, **extra):
    conf = {
        "bootstrap.servers": spec["brokers"],
        "client.id": "bench-confluent",
        "group.id": spec["group"],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    conf.update(extra)
    c = Consumer(conf)
    c.subscribe([spec["topic"]])
    return c


def consume(spec, meter):
    count = spec["count"]
    nmax = spec.get("poll_max", 10000)
    c = _consumer(spec)
    got = nbytes = total = 0
    crc = zlib.crc32
    deadline = time.monotonic() + spec.get("timeout", 300)
    meter.start()
    while got < count:
        msgs = c.consume(num_messages=min(nmax, count - got), timeout=1.0)
        for m in msgs:
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(str(m.error()))
            v = m.value()
            got += 1
            nbytes += len(v)
            total += crc(v)
        if msgs:
            meter.mark_first()
        if time.monotonic() > deadline:
            raise RuntimeError("timeout after %d of %d" % (got, count))
    meter.stop()
    c.close()
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


def consume_commit(spec, meter):
    """The documented at-least-once loop: consume(poll_max), then per
    message process and commit(message, asynchronous=False)."""
    count = spec["count"]
    nmax = spec.get("poll_max", 500)
    c = _consumer(spec)
    got = nbytes = total = 0
    crc = zlib.crc32
    deadline = time.monotonic() + spec.get("timeout", 300)
    meter.start()
    while got < count:
        for m in c.consume(num_messages=min(nmax, count - got), timeout=1.0):
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(str(m.error()))
            v = m.value()
            got += 1
            nbytes += len(v)
            total += crc(v)
            c.commit(message=m, asynchronous=False)
            meter.mark_first()
        if time.monotonic() > deadline:
            raise RuntimeError("timeout after %d of %d" % (got, count))
    meter.stop()
    committed = sum(tp.offset for tp in c.committed(c.assignment(), timeout=30) if tp.offset >= 0)
    c.close()
    if committed != count:
        raise RuntimeError("committed offsets sum to %d, want %d" % (committed, count))
    return meter.result(count=got, bytes=nbytes, checksum=total & common.MASK64)


def share(spec, meter):
    """spec["members"] ShareConsumers (confluent-kafka 2.16+, implicit
    acknowledgement), one thread each (one instance per thread, as its
    docs require), in the share group the runner set to read from the
    earliest offset."""
    try:
        from confluent_kafka import ShareConsumer
    except ImportError:
        raise common.Unavailable("confluent_kafka.ShareConsumer not in this version") from None
    meter.start()
    members = []
    for i in range(int(spec.get("members", 1))):
        c = ShareConsumer({"bootstrap.servers": spec["brokers"], "group.id": spec["group"],
                           "client.id": "bench-confluent-share-%d" % i})
        c.subscribe([spec["topic"]])
        members.append(c)

    def poller(c):
        def poll():
            vals = []
            for m in c.poll(timeout=0.5) or ():
                if m.error() is not None:
                    raise RuntimeError(str(m.error()))
                vals.append(m.value())
            return vals
        return poll

    try:
        return common.consume_together(spec, meter, [poller(c) for c in members])
    finally:
        for c in members:
            c.close()


def latency_produce(spec, meter):
    p = _producer(spec, **{"linger.ms": 0})
    p.list_topics(spec["topic"], timeout=30)
    topic = spec["topic"]
    errs = []

    def on_delivery(err, msg):
        if err is not None:
            errs.append(err)

    def send(v):
        p.produce(topic, v, partition=0, on_delivery=on_delivery)
        if p.flush(30) or errs:
            raise RuntimeError("delivery failed: %s" % (errs[:1],))

    return common.latency_produce_loop(spec, meter, send)


def latency_consume(spec, meter):
    c = _consumer(spec)
    lc = common.LatencyConsumer(spec["count"])
    meter.start()
    done = False
    while not done:
        # poll() returns as soon as one message is there; consume(n) waits
        # for n messages or its timeout, which is wrong for latency.
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            done = lc.add(m.value(), time.time_ns())
    meter.stop()
    c.close()
    return meter.result(**lc.result())


if __name__ == "__main__":
    common.main(
        {
            "produce/produce": produce,
            "produce/txn": produce_txn,
            "consume/consume": consume,
            # The loops users write (bench/run.py PATTERN_CLIENTS).
            "produce/produce-poll-each": lambda spec, meter: produce(spec, meter, 0),
            "produce/produce-no-poll": lambda spec, meter: produce(spec, meter, None),
            "consume/consume-commit": consume_commit,
            "share/share": share,
            "latency-produce/produce": latency_produce,
            "latency-consume/consume": latency_consume,
        },
        "confluent-kafka",
    )
