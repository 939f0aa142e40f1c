"""Interop of transactions: what the Go engine's transactional producer
writes (committed and aborted transactions) is read correctly by
confluent-kafka (librdkafka) and, on a real Kafka, by Kafka's own console
consumer with --isolation-level read_committed; and Gofka's read_committed
consumer reads confluent-kafka's transactions correctly.

Gofka's side of the writing is the Go engine's transactional producer
itself (core, under every front door), through tests/python/txnwriter, a
small Go program this module builds. Each writer writes to partition 0, in
order: a committed transaction c-0..c-4, an aborted one a-0..a-4 (sent,
then aborted), a committed one c-5..c-9 and a committed "end". Runs on the
dev cluster and on GOFKA_BROKERS (the console consumer only there).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from typing import Iterator, List

import confluent_kafka
import pytest

import gofka

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KAFKA_SCRIPT = os.environ.get("GOFKA_KAFKA_SCRIPT", "")

pytestmark = pytest.mark.timeout(300)

COMMITTED = [b"c-%d" % i for i in range(10)] + [b"end"]
EVERYTHING = [b"c-%d" % i for i in range(5)] + [b"a-%d" % i for i in range(5)] + COMMITTED[5:]


@pytest.fixture(scope="module")
def txnwriter(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/python/txnwriter, built for this run."""
    path = str(tmp_path_factory.mktemp("txnwriter") / "txnwriter")
    out = subprocess.run(["go", "build", "-o", path, "./tests/python/txnwriter"], cwd=ROOT,
                         capture_output=True, timeout=300, check=False)
    assert out.returncode == 0, "go build failed: %s" % out.stderr.decode()[-2000:]
    return path


@pytest.fixture
def txn_topic(brokers: str, txnwriter: str) -> Iterator[str]:
    """A fresh topic holding the transactions of txnwriter (Gofka)."""
    topic = "gofka-txn-interop-%s" % uuid.uuid4().hex[:12]
    out = subprocess.run([txnwriter, "-brokers", brokers, "-topic", topic, "-timeout", "90s"],
                         capture_output=True, timeout=120, check=False)
    assert out.returncode == 0 and out.stdout.decode().strip() == "ok", (
        "txnwriter failed (%d): %s %s" % (out.returncode, out.stdout.decode(), out.stderr.decode()[-2000:]))
    yield topic


def confluent_read(brokers: str, topic: str, isolation: str) -> List[bytes]:
    """Partition 0 of topic from the start, through b"end", with
    confluent-kafka at the given isolation level."""
    c = confluent_kafka.Consumer({"bootstrap.servers": brokers, "group.id": "g-" + topic,
                                  "enable.auto.commit": False, "isolation.level": isolation})
    try:
        c.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
        got: List[bytes] = []
        deadline = time.monotonic() + 60
        while not got or got[-1] != b"end":
            assert time.monotonic() < deadline, "confluent-kafka (%s) read only %r" % (isolation, got)
            m = c.poll(0.5)
            if m is None:
                continue
            assert m.error() is None, m.error()
            got.append(m.value())
        return got
    finally:
        c.close()


def gofka_read(brokers: str, topic: str, isolation: str) -> List[bytes]:
    """The topic from the start, through b"end", with a gofka.Consumer at
    the given isolation level (a group of its own)."""
    with gofka.Consumer(brokers, "g-%s-%s" % (topic, isolation), [topic], timeout=20,
                        isolation_level=isolation) as c:
        c.subscribe()
        got: List[bytes] = []
        deadline = time.monotonic() + 60
        while not got or got[-1] != b"end":
            assert time.monotonic() < deadline, "gofka (%s) read only %r" % (isolation, got)
            got += [m.value for m in c.poll(100, timeout=0.5)]
        return got


def test_gofka_transactions_read_by_confluent_kafka(brokers: str, txn_topic: str) -> None:
    assert confluent_read(brokers, txn_topic, "read_committed") == COMMITTED
    assert confluent_read(brokers, txn_topic, "read_uncommitted") == EVERYTHING


@pytest.mark.skipif(not (os.environ.get("GOFKA_BROKERS") and KAFKA_SCRIPT),
                    reason="Kafka's console consumer needs a real Kafka (GOFKA_BROKERS, GOFKA_KAFKA_SCRIPT)")
def test_gofka_transactions_read_by_kafka_console_consumer(txn_topic: str) -> None:
    def console(isolation: str, count: int) -> List[bytes]:
        out = subprocess.run(
            [KAFKA_SCRIPT, "console-consume", txn_topic, str(count), "--partition", "0",
             "--isolation-level", isolation],
            env=dict(os.environ, KAFKA_CONSUME_TIMEOUT_MS="30000"), capture_output=True, timeout=180, check=False)
        assert out.returncode == 0, "console consumer failed (%d): %s" % (out.returncode, out.stderr.decode()[-2000:])
        return out.stdout.splitlines()

    assert console("read_committed", len(COMMITTED)) == COMMITTED
    assert console("read_uncommitted", len(EVERYTHING)) == EVERYTHING


def test_confluent_kafka_transactions_read_by_gofka(brokers: str) -> None:
    topic = "gofka-txn-interop-cf-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers) as admin:
        admin.create_topic(topic, num_partitions=1)
    p = confluent_kafka.Producer({"bootstrap.servers": brokers, "transactional.id": "cf-" + topic})
    p.init_transactions(30)
    for values, commit in (([b"c-%d" % i for i in range(5)], True), ([b"a-%d" % i for i in range(5)], False),
                           ([b"c-%d" % i for i in range(5, 10)], True), ([b"end"], True)):
        p.begin_transaction()
        for v in values:
            p.produce(topic, v, partition=0)
        # Sent and acknowledged before the transaction ends, so the
        # aborted records are in the log (behind an abort marker).
        assert p.flush(30) == 0
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
    assert gofka_read(brokers, topic, "read_committed") == COMMITTED
    assert gofka_read(brokers, topic, "read_uncommitted") == EVERYTHING
