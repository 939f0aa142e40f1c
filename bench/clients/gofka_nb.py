"""Gofka non-blocking produce path worker (gofka.Producer.produce / poll /
flush, from the repo). See common.py for the protocol.

Tuning, as for confluent-kafka, whose produce()/poll()/flush() contract this
path follows: produce() only enqueues into the Go engine's accumulator,
poll(0) every 1,024 records serves delivery reports, flush() waits for the
rest; linger_ms=10 where the constructor takes it. Latency runs use
produce() + flush() per record.
"""

from __future__ import annotations

import inspect
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import gofka  # noqa: E402


def _check():
    for name in ("produce", "poll", "flush"):
        if not hasattr(gofka.Producer, name):
            raise common.Unavailable("gofka.Producer.%s not available in this build" % name)


def _producer(spec, linger_ms, **extra):
    _check()
    params = inspect.signature(gofka.Producer.__init__).parameters
    kw = dict(extra,
        client_id="bench-gofka-nb",
        timeout=int(spec.get("timeout", 300)),
        compression=None if spec.get("compression") in (None, "none") else spec["compression"],
        acks="all",
    )
    if "linger_ms" in params:
        kw["linger_ms"] = linger_ms
    p = gofka.Producer(spec["brokers"], **kw)
    p.connect()
    return p


def produce(spec, meter, poll_mask=1023):
    """produce(on_delivery=cb) per record; poll(0) when i & poll_mask == 0
    (1023: every 1,024 records; 0: every record; None: never), then
    flush()."""
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    values, expected = common.make_values(count, size)
    p = _producer(spec, 10)
    params = inspect.signature(gofka.Producer.produce).parameters
    state = {"acked": 0, "err": None}

    def on_delivery(err, msg):
        if err is not None:
            if state["err"] is None:
                state["err"] = err
        else:
            state["acked"] += 1

    kw = {"on_delivery": on_delivery} if "on_delivery" in params else {}
    produce_ = p.produce
    poll = p.poll
    meter.start()
    # partition omitted: the engine's partitioner (sticky without a key).
    if poll_mask is None:
        for v in values:
            produce_(topic, v, **kw)
    else:
        for i, v in enumerate(values):
            produce_(topic, v, **kw)
            if i & poll_mask == 0:
                poll(0)
    left = p.flush(spec.get("timeout", 300))
    meter.stop()
    p.close()
    if left or state["err"] is not None:
        raise RuntimeError("flush left %r messages, first error %s" % (left, state["err"]))
    acked = state["acked"] if kw else count
    return meter.result(count=acked, bytes=count * size, checksum=expected)


def produce_txn(spec, meter):
    """Transactional produce, confluent.py's produce_txn loop:
    init_transactions() once, then per commit_every records
    begin_transaction(), produce(on_delivery=cb) each (poll(0) every 1,024
    records), commit_transaction() (which sends the records first)."""
    names = ("init_transactions", "begin_transaction", "commit_transaction")
    if not all(hasattr(gofka.Producer, n) for n in names):
        raise common.Unavailable("gofka.Producer transactions not available in this build")
    count, size, topic = spec["count"], spec["size"], spec["topic"]
    every = int(spec.get("commit_every") or 0)
    if every < 1:
        raise ValueError("commit_every must be at least 1")
    values, expected = common.make_values(count, size)
    p = _producer(spec, 10, transactional_id="bench-gofka-" + topic)
    timeout = spec.get("timeout", 300)
    p.init_transactions(timeout)
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
    for lo in range(0, count, every):
        p.begin_transaction()
        for i in range(lo, min(count, lo + every)):
            produce_(topic, values[i], on_delivery=on_delivery)
            if i & 1023 == 0:
                poll(0)
        p.commit_transaction(timeout)
    poll(0)  # callbacks of the last transaction's records
    meter.stop()
    p.close()
    if state["err"] is not None or state["acked"] != count:
        raise RuntimeError("%d of %d records acknowledged, first error %s" % (state["acked"], count, state["err"]))
    res = meter.result(count=state["acked"], bytes=count * size, checksum=expected)
    res["extra"] = {"commit_every": every, "transactions": (count + every - 1) // every}
    return res


def latency_produce(spec, meter):
    p = _producer(spec, 0)
    topic = spec["topic"]

    def send(v):
        p.produce(topic, v, partition=0)
        left = p.flush(30)
        if left:
            raise RuntimeError("flush left %r messages" % (left,))

    res = common.latency_produce_loop(spec, meter, send)
    p.close()
    return res


if __name__ == "__main__":
    common.main(
        {
            "produce/produce": produce,
            "produce/txn": produce_txn,
            # The loops users write (bench/run.py PATTERN_CLIENTS).
            "produce/produce-poll-each": lambda spec, meter: produce(spec, meter, 0),
            "produce/produce-no-poll": lambda spec, meter: produce(spec, meter, None),
            "latency-produce/produce": latency_produce,
        },
        "gofka",
    )
