"""Share groups under faults (issue 24): the records of a share consumer
that dies or hangs come back to the other members, and a record delivered
``share.delivery.count.limit`` times is archived.

Each test runs with a 1-2 s acquisition lock and a delivery limit of 2 so
that it takes seconds:

- on the dev cluster (kfake reads the lock duration, its sweep interval
  and the delivery limit from broker configs only: ``group.share.*``) a
  private DevCluster per test, so that the broker configs it sets touch no
  other test;
- on the Kafka of GOFKA_BROKERS (4.2+) the group configs
  ``share.record.lock.duration.ms`` (2 s, which scripts/kafka.sh allows by
  lowering ``group.share.min.record.lock.duration.ms``; 15 s, the default
  floor, on another broker) and ``share.delivery.count.limit`` (2, Kafka's
  floor).

The consumer that dies is a child process (``python -c CHILD``) that
acquires records in the explicit mode, never acknowledges them, reports
them on stdout and waits to be killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import gofka
from gofka.exceptions import GofkaError

from conftest import kafka_older_than

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEADLINE = 60.0  # seconds any one wait may take before the test fails
CHILD_TIMEOUT = 60.0  # seconds the child may take to report its records

pytestmark = pytest.mark.timeout(240)

# The consumer that dies: joins the group, acquires up to N records with
# one poll (explicit mode: they stay acquired, unacknowledged), prints
# them as one JSON line and sleeps until killed (at most 10 minutes, so
# that a child the test failed to kill does not live on).
CHILD = r"""
import json, sys, time
import gofka
brokers, group, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = gofka.ShareConsumer(brokers, group, [topic], timeout=15, acknowledgement_mode="explicit",
                        max_poll_records=n, fetch_max_wait_ms=200)
deadline = time.monotonic() + 50
got = []
while not got and time.monotonic() < deadline:
    got = c.poll(n, 0.5)
print(json.dumps([[m.offset, m.delivery_count, m.value.decode()] for m in got]), flush=True)
time.sleep(600)
"""


class ShareCluster:
    """Where a test runs: the bootstrap string, a fresh topic (one
    partition) and its share group, reading from the earliest offset, with
    a short acquisition lock and a delivery limit of 2."""

    def __init__(self, brokers: str, topic: str, group: str) -> None:
        self.brokers = brokers
        self.topic = topic
        self.group = group

    def produce(self, values: List[bytes]) -> None:
        """One batch per record, so that a share fetch can acquire any
        number of them."""
        with gofka.Producer(self.brokers, timeout=15) as p:
            for v in values:
                p.send(self.topic, v)
                p.flush()

    def consumer(self, **kw: Any) -> gofka.ShareConsumer:
        kw.setdefault("fetch_max_wait_ms", 200)
        kw.setdefault("acknowledgement_mode", "explicit")
        return gofka.ShareConsumer(self.brokers, self.group, [self.topic], timeout=15, **kw)

    def start_child(self, n: int) -> Tuple["subprocess.Popen[str]", List[List[Any]]]:
        """Starts the consumer that dies and returns it with the records
        it acquired ([offset, delivery_count, value] each)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.join(ROOT, "python")
        proc = subprocess.Popen([sys.executable, "-c", CHILD, self.brokers, self.group, self.topic, str(n)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, start_new_session=True)
        line: List[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline() if proc.stdout else ""))
        reader.daemon = True
        reader.start()
        reader.join(CHILD_TIMEOUT)
        if not line or not line[0].strip():
            kill(proc)
            _, err = proc.communicate(timeout=30)
            pytest.fail("the child consumer reported nothing within %ss: %s" % (CHILD_TIMEOUT, err[-2000:]))
        got: List[List[Any]] = json.loads(line[0])
        if not got:
            kill(proc)
            pytest.fail("the child consumer acquired no record")
        return proc, got


def kill(proc: "subprocess.Popen[str]") -> None:
    """SIGKILL to the child's process group (it is its leader)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def share_cluster() -> Iterator[ShareCluster]:
    topic = "gofka-share-fault-%s" % uuid.uuid4().hex
    group = "share-" + topic
    env = os.environ.get("GOFKA_BROKERS")
    if env:
        if kafka_older_than(4, 2):
            pytest.skip("Kafka %s has no share groups enabled (production ready in 4.2)"
                        % os.environ["GOFKA_KAFKA_VERSION"])
        with gofka.AdminClient(env, timeout=15) as admin:
            admin.create_topics([gofka.NewTopic(topic, 1, 1)])
            admin.alter_configs("group", group, {"share.auto.offset.reset": "earliest",
                                                 "share.delivery.count.limit": "2"})
            try:
                admin.alter_configs("group", group, {"share.record.lock.duration.ms": "2000"})
            except GofkaError as e:
                if e.name != "INVALID_CONFIG":
                    raise
                # A broker with the default floor (15 s).
                admin.alter_configs("group", group, {"share.record.lock.duration.ms": "15000"})
        yield ShareCluster(env, topic, group)
        return
    with gofka.DevCluster() as cluster, gofka.AdminClient(cluster.brokers, timeout=15) as admin:
        admin.create_topics([gofka.NewTopic(topic, 1, 1)])
        admin.alter_configs("group", group, {"share.auto.offset.reset": "earliest"})
        # A 1 s lock, looked for every 100 ms (kfake's default 5 s).
        admin.alter_configs("broker", "", {"group.share.record.lock.duration.ms": "1000",
                                           "share.record.lock.sweep.interval.ms": "100",
                                           "group.share.delivery.count.limit": "2"})
        yield ShareCluster(cluster.brokers, topic, group)


def consume_all(consumers: List[gofka.ShareConsumer], want: int,
                hold: Optional[threading.Event] = None) -> Dict[str, List[int]]:
    """Polls with every consumer (one thread each), accepting each record,
    until ``want`` distinct values arrived; returns value -> the delivery
    counts it was seen with (one entry per delivery: more than one is a
    duplicate)."""
    seen: Dict[str, List[int]] = {}
    lock = threading.Lock()
    errors: List[BaseException] = []
    stop = threading.Event()

    def work(c: gofka.ShareConsumer) -> None:
        try:
            while not stop.is_set():
                for m in c.poll(10, 0.3):
                    with lock:
                        seen.setdefault((m.value or b"").decode(), []).append(m.delivery_count or 0)
                    c.acknowledge(m, "accept")
                c.commit()
        except BaseException as e:  # reported by the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,)) for c in consumers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + DEADLINE
    try:
        while time.monotonic() < deadline and not errors:
            with lock:
                if len(seen) >= want:
                    break
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert len(seen) >= want, "got %d of %d records: %s" % (len(seen), want, sorted(seen))
    return seen


def settled(state: Dict[str, int]) -> bool:
    """True when the group has nothing left to deliver in a partition of
    two records: its start offset is past both (the dev cluster) or its lag
    is 0 (Kafka 4.2+, whose persisted start offset may lag behind: it
    reports the lag, KIP-1226, records not yet acknowledged or archived)."""
    return state.get("start_offset") == 2 or state.get("lag") == 0


@pytest.mark.parametrize("how", ["SIGKILL", "SIGSTOP"])
def test_records_of_a_dead_consumer_come_back(share_cluster: ShareCluster, how: str) -> None:
    """A member holds 5 of 20 records unacknowledged and is killed
    (SIGKILL: its connections close, and the broker releases what its
    share session held) or frozen (SIGSTOP: its connections stay open, so
    only the acquisition lock's end frees its records). Either way the two
    other members get all 20, each once: the dead member's 5 with delivery
    count 2, the others with 1, except those its poll fetched ahead (up to
    5 more, acquired but never returned: also count 2)."""
    values = [b"r%02d" % i for i in range(20)]
    share_cluster.produce(values)
    proc, held = share_cluster.start_child(5)
    try:
        assert len(held) <= 5 and all(count == 1 for _, count, _ in held), held
        os.killpg(proc.pid, getattr(signal, how))
        a, b = share_cluster.consumer(), share_cluster.consumer()
        try:
            seen = consume_all([a, b], len(values))
        finally:
            a.close()
            b.close()
    finally:
        kill(proc)
        proc.communicate(timeout=30)
    held_values = {v for _, _, v in held}
    assert set(seen) == {v.decode() for v in values}
    ahead = []
    for v, counts in sorted(seen.items()):
        if v in held_values:
            assert counts == [2], (v, counts, "held by the dead member: %s" % held)
        else:
            assert counts in ([1], [2]), (v, counts)
            if counts == [2]:
                ahead.append(v)
    # The fetch ahead asks for one poll's worth (max_poll_records=5).
    assert len(ahead) <= 5, (ahead, "held by the dead member: %s" % held)


def test_lock_expiring_delivery_limit_times_archives(share_cluster: ShareCluster) -> None:
    """A record whose acquisition lock ends without an acknowledgement
    twice (the delivery limit) is archived: no member gets it again, and
    the group's start offset moves past it once the next record is
    accepted."""
    share_cluster.produce([b"poison"])
    first, second, third = share_cluster.consumer(), share_cluster.consumer(), share_cluster.consumer()
    try:
        got: List[gofka.Message] = []
        deadline = time.monotonic() + DEADLINE
        for holder, count in ((first, 1), (second, 2)):
            # Held unacknowledged by holder: its lock ends, and the next
            # member gets it with the next delivery count.
            got = []
            while not got:
                assert time.monotonic() < deadline, "the record did not come (delivery %d)" % count
                got = holder.poll(10, 0.3)
            assert [(m.value, m.delivery_count) for m in got] == [(b"poison", count)]
        share_cluster.produce([b"next"])
        seen = consume_all([third], 1)
        assert seen == {"next": [1]}, seen
        with gofka.AdminClient(share_cluster.brokers, timeout=15) as admin:
            while True:
                offsets = admin.list_share_group_offsets(share_cluster.group)
                if settled(offsets.get(share_cluster.topic, {}).get(0, {})):
                    break
                assert time.monotonic() < deadline, "start offset %s, not past the archived record" % offsets
                time.sleep(0.2)
        # Nothing more for anyone (the poison record never again).
        assert third.poll(10, 1.0) == []
    finally:
        for c in (first, second, third):
            c.close()


def test_release_delivery_limit_times_archives(share_cluster: ShareCluster) -> None:
    """A record released at its last allowed delivery is archived, not
    delivered again (explicit release, no lock expiry involved)."""
    share_cluster.produce([b"bad", b"good"])
    c = share_cluster.consumer()
    try:
        deliveries: List[Tuple[str, int]] = []
        deadline = time.monotonic() + DEADLINE
        while ("good", 1) not in deliveries or len([d for d in deliveries if d[0] == "bad"]) < 2:
            assert time.monotonic() < deadline, deliveries
            for m in c.poll(10, 0.3):
                deliveries.append(((m.value or b"").decode(), m.delivery_count or 0))
                c.acknowledge(m, "release" if m.value == b"bad" else "accept")
            c.commit()
        assert sorted(d for d in deliveries if d[0] == "bad") == [("bad", 1), ("bad", 2)]
        with gofka.AdminClient(share_cluster.brokers, timeout=15) as admin:
            while True:
                offsets = admin.list_share_group_offsets(share_cluster.group)
                if settled(offsets.get(share_cluster.topic, {}).get(0, {})):
                    break
                assert time.monotonic() < deadline, "start offset %s, not past the archived record" % offsets
                time.sleep(0.2)
        assert c.poll(10, 1.0) == []
    finally:
        c.close()
