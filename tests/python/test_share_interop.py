"""Interop: a Gofka ShareConsumer and Apache Kafka's own console share
consumer (kafka-console-share-consumer.sh's class) as members of one share
group: together they get every record Gofka produced, none twice (no one
releases, and each accepts at once, well within the acquisition lock).

Needs a real Kafka 4.2+ and scripts/kafka.sh: it runs in the real-Kafka
phase of `make test` (scripts/run-tests.sh sets GOFKA_BROKERS and
GOFKA_KAFKA_SCRIPT). On the dev cluster phase there is no console share
consumer, so the module is skipped there and only there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from typing import Dict, List

import pytest

import gofka

from conftest import kafka_older_than

BROKERS = os.environ.get("GOFKA_BROKERS", "")
KAFKA_SCRIPT = os.environ.get("GOFKA_KAFKA_SCRIPT", "")
DEADLINE = 120.0  # seconds: the JVM's start, the join and the consumption

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not (BROKERS and KAFKA_SCRIPT),
                       reason="needs a real Kafka and its console share consumer (GOFKA_BROKERS, GOFKA_KAFKA_SCRIPT)"),
]


def members(admin: gofka.AdminClient, group: str) -> int:
    try:
        return len(admin.describe_share_group(group)["members"])
    except gofka.exceptions.GroupCoordinationError:
        return 0  # not there yet (GROUP_ID_NOT_FOUND)


def wait_members(admin: gofka.AdminClient, group: str, n: int, console: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + DEADLINE
    while members(admin, group) < n:
        assert console.poll() is None, "the console share consumer exited (%s)" % console.returncode
        assert time.monotonic() < deadline, "the share group did not reach %d members" % n
        time.sleep(0.2)


def test_gofka_and_console_share_consumer_split_the_records() -> None:
    if kafka_older_than(4, 2):
        pytest.skip("Kafka %s has no share groups enabled (production ready in 4.2)" % os.environ["GOFKA_KAFKA_VERSION"])
    topic = "gofka-share-interop-%s" % uuid.uuid4().hex
    group = "share-" + topic
    values = ["m%04d" % i for i in range(300)]
    with gofka.AdminClient(BROKERS, timeout=15) as admin:
        admin.create_topics([gofka.NewTopic(topic, 3, 1)])
        admin.alter_configs("group", group, {"share.auto.offset.reset": "earliest"})

        # The console member first (its JVM takes seconds to start), then
        # Gofka's; the records once both are in the group, so both get some.
        console = subprocess.Popen([KAFKA_SCRIPT, "console-share-consume", topic, group, "--timeout-ms", "15000"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        by_console: List[str] = []
        err: List[bytes] = []

        def read_console() -> None:
            assert console.stdout is not None and console.stderr is not None
            for line in console.stdout:
                by_console.append(line.decode().rstrip("\n"))
            err.append(console.stderr.read())

        reader = threading.Thread(target=read_console, daemon=True)
        reader.start()
        by_gofka: List[str] = []
        try:
            wait_members(admin, group, 1, console)
            with gofka.ShareConsumer(BROKERS, group, [topic], timeout=15, acknowledgement_mode="explicit",
                                     max_poll_records=20, fetch_max_wait_ms=200) as consumer:
                consumer.subscribe([topic])
                wait_members(admin, group, 2, console)
                with gofka.Producer(BROKERS, timeout=15) as producer:
                    for i, v in enumerate(values):
                        producer.send(topic, v.encode(), partition=i % 3)
                        if i % 10 == 9:
                            producer.flush()  # batches of 10 records
                deadline = time.monotonic() + DEADLINE
                while len(by_gofka) + len(by_console) < len(values):
                    assert time.monotonic() < deadline, "got %d + %d of %d records" % (
                        len(by_gofka), len(by_console), len(values))
                    for m in consumer.poll(20, 0.3):
                        by_gofka.append((m.value or b"").decode())
                        consumer.acknowledge(m, "accept")
                    consumer.commit()
            # The console member exits once 15 s pass without a record:
            # anything delivered twice would show up by then.
            console.wait(timeout=60)
            reader.join(30)
        finally:
            if console.poll() is None:
                os.killpg(console.pid, signal.SIGKILL)
                console.wait(timeout=30)
    assert console.returncode == 0, "console share consumer failed (%s): %s" % (
        console.returncode, b"".join(err).decode()[-2000:])
    counts: Dict[str, int] = {}
    for v in by_gofka + by_console:
        counts[v] = counts.get(v, 0) + 1
    assert sorted(counts) == values, "missing: %s" % sorted(set(values) - set(counts))
    assert [v for v, n in counts.items() if n > 1] == [], "delivered twice"
    assert by_gofka and by_console, "one member got all %d records (gofka %d, console %d)" % (
        len(values), len(by_gofka), len(by_console))
    print("gofka %d records, console share consumer %d" % (len(by_gofka), len(by_console)))
