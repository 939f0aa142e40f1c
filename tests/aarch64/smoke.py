"""Smoke suite of an installed gofka wheel, run by tests/aarch64/test_aarch64.py
with the aarch64 CPython of a Debian sysroot under qemu-user (it runs on
any CPython 3.8+ with gofka installed; it imports nothing from the
repository). Usage: python -I smoke.py EXPECTED_MACHINE

Checks, on the in-process dev cluster the installed library starts:
- the package, libgofka.so and the C speedups load from site-packages, on
  the expected architecture;
- 10,000 records per codec (none, gzip, snappy, lz4, zstd) with keys and
  headers are produced and consumed back byte for byte, in order;
- a consumer group of two members splits a 4-partition topic, reads every
  record, commits, and the admin API sees the group's committed offsets;
- admin calls (create, describe, list topics);
- the async API (AsyncProducer, AsyncConsumer, AsyncAdminClient).
Prints one JSON line with what it ran last; any failure raises (exit 1).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from typing import Dict, List, Optional, Tuple

import gofka
import gofka.message
from gofka import (AdminClient, AsyncAdminClient, AsyncConsumer, AsyncProducer, Consumer, DevCluster, Message,
                   Producer, TopicPartition)
from gofka.producer import COMPRESSION_TYPES

RECORDS = 10000
# A bound on each wait for records: far above what the dev cluster needs
# even under emulation, so that a hang fails instead of blocking.
WAIT = 120.0


def check_install(machine: str) -> Dict[str, object]:
    here = os.path.dirname(gofka.__file__)
    assert "site-packages" in here, here
    assert platform.machine() == machine, platform.machine()
    assert gofka.library_version() == gofka.__version__, (gofka.library_version(), gofka.__version__)
    speedups = gofka.message.speedups
    assert speedups is not None, "gofka._speedups did not load"
    assert speedups.__file__ is not None and speedups.__file__.startswith(here), speedups.__file__
    assert issubclass(Message, speedups.MessageFields)
    return {"machine": platform.machine(), "python": "%d.%d" % sys.version_info[:2], "file": gofka.__file__}


def consume(consumer: Consumer, count: int) -> List[Message]:
    """count messages from consumer, failing after WAIT seconds without one."""
    got: List[Message] = []
    last = time.monotonic()
    while len(got) < count:
        batch = consumer.poll(max_messages=1000, timeout=1.0)
        if batch:
            got += batch
            last = time.monotonic()
        assert time.monotonic() - last < WAIT, "no record for %.0fs after %d of %d" % (WAIT, len(got), count)
    return got


def codecs(brokers: str) -> Dict[str, int]:
    """Every codec: RECORDS keyed records with headers, produced in batches
    and one by one, consumed back in order with the same bytes."""
    done = {}
    for codec in COMPRESSION_TYPES:
        topic = "smoke-codec-" + codec
        values = [("%s-%d-" % (codec, i)).encode() * (1 + i % 7) for i in range(RECORDS)]
        keys = [b"k%d" % (i % 100) for i in range(RECORDS)]
        with Producer(brokers=brokers, compression=codec, linger_ms=5) as producer:
            half = RECORDS // 2
            offsets = producer.send_batch(topic, values[:half], partition=0, keys=keys[:half],
                                          headers={"codec": codec.encode(), "n": None})
            assert offsets == list(range(half)), (codec, offsets[:3], offsets[-3:])
            failed: List[object] = []
            for i in range(half, RECORDS):  # the buffered path: produce, then flush
                producer.produce(topic, values[i], key=keys[i], partition=0,
                                 headers={"codec": codec.encode(), "n": None},
                                 on_delivery=lambda err, msg: failed.append(err) if err is not None else None)
            assert producer.flush(timeout=WAIT) == 0, codec
            assert not failed, (codec, failed[:3])
        with Consumer(brokers, None, None) as consumer:
            consumer.assign([TopicPartition(topic, 0)])
            got = consume(consumer, RECORDS)
        assert len(got) == RECORDS, (codec, len(got))
        for i, m in enumerate(got):
            if m.offset != i or m.value != values[i] or m.key != keys[i] or m.headers != {"codec": codec.encode(),
                                                                                          "n": None}:
                raise AssertionError("codec %s record %d: %r" % (codec, i, m))
        done[codec] = len(got)
    return done


def group_and_admin(brokers: str) -> Dict[str, object]:
    """Admin calls, then a two-member group on a 4-partition topic that
    reads every record once and commits; the admin API sees the commits."""
    topic, group = "smoke-group", "smoke-group-g"
    with AdminClient(brokers=brokers) as admin:
        admin.create_topic(topic, num_partitions=4)
        assert topic in admin.list_topics()
        assert admin.get_partition_count(topic) == 4
        described = admin.describe_topic(topic)
        assert len(described["partitions"]) == 4, described
    per_partition = 250
    with Producer(brokers=brokers) as producer:
        for p in range(4):
            producer.send_batch(topic, [b"p%d-%d" % (p, i) for i in range(per_partition)], partition=p)
    # A member that joins moves partitions: the new owner reads them again
    # from the group's committed offset (none yet here), so a record may
    # come twice (at-least-once); each must come, with its value.
    seen: Dict[Tuple[int, int], bytes] = {}
    again = 0
    a = Consumer(brokers, group, [topic], auto_commit=False)
    b = Consumer(brokers, group, [topic], auto_commit=False)
    try:
        a.subscribe()
        b.subscribe()
        def caught_up(c: Consumer) -> bool:
            return all(c.position(tp.topic, tp.partition) == per_partition for tp in c.assignment())

        # Until every record came and each member's position is at the end
        # of its partitions (a partition that moved may be read again).
        deadline = time.monotonic() + WAIT
        while len(seen) < 4 * per_partition or not (caught_up(a) and caught_up(b)):
            assert time.monotonic() < deadline, "the group read %d of %d records" % (len(seen), 4 * per_partition)
            for c in (a, b):
                for m in c.poll(max_messages=500, timeout=0.2):
                    if (m.partition, m.offset) in seen:
                        again += 1
                        assert seen[(m.partition, m.offset)] == m.value, m
                    seen[(m.partition, m.offset)] = m.value or b""
        split = (sorted(tp.partition for tp in a.assignment()), sorted(tp.partition for tp in b.assignment()))
        assert sorted(split[0] + split[1]) == [0, 1, 2, 3] and split[0] and split[1], split
        a.commit()
        b.commit()
    finally:
        a.close()
        b.close()
    for (p, off), value in seen.items():
        assert value == b"p%d-%d" % (p, off), (p, off, value)
    with AdminClient(brokers=brokers) as admin:
        offsets = admin.list_consumer_group_offsets(group)
    assert offsets == {topic: {p: per_partition for p in range(4)}}, offsets
    return {"records": len(seen), "read_again": again, "split": split}


async def async_api(brokers: str) -> Dict[str, int]:
    topic = "smoke-async"
    count = 2000
    async with AsyncAdminClient(brokers=brokers) as admin:
        await admin.create_topic(topic, num_partitions=1)
    async with AsyncProducer(brokers=brokers, compression="lz4") as producer:
        offsets = await producer.send_batch(topic, [b"a%d" % i for i in range(count)], partition=0)
        assert offsets == list(range(count)), offsets[:3]
        last = await producer.send(topic, b"last", partition=0)
        assert last == count, last
    async with AsyncConsumer(brokers, "smoke-async-g", [topic]) as consumer:
        await consumer.subscribe()
        values: List[Optional[bytes]] = []
        deadline = time.monotonic() + WAIT
        while len(values) < count + 1:
            assert time.monotonic() < deadline, "async consumer read %d of %d" % (len(values), count + 1)
            values += [m.value for m in await consumer.poll(max_messages=1000, timeout=1.0)]
    assert values == [b"a%d" % i for i in range(count)] + [b"last"], values[:3]
    return {"records": len(values)}


def main() -> None:
    machine = sys.argv[1]
    report: Dict[str, object] = {"install": check_install(machine)}
    with DevCluster() as cluster:
        report["codecs"] = codecs(cluster.brokers)
        report["group"] = group_and_admin(cluster.brokers)
        report["async"] = asyncio.run(async_api(cluster.brokers))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
