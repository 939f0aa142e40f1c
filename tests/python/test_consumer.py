"""The synchronous Consumer, on the dev cluster and on a real Kafka."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Dict, List, Set, Tuple

import pytest

import gofka
from gofka import Consumer, Message, TopicPartition
from gofka.exceptions import GofkaError, GroupCoordinationError, OffsetError

pytestmark = pytest.mark.timeout(240)

# Fast group settings for tests (the broker minimum session timeout is 6 s).
FAST = dict(session_timeout=6000, heartbeat_interval_ms=300, timeout=20)


def new_topic(brokers: str, partitions: int) -> str:
    name = "gofka-pyc-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(name, num_partitions=partitions)
    return name


def produce(brokers: str, topic: str, partitions: int, per_partition: int, tag: str) -> Dict[int, List[bytes]]:
    out: Dict[int, List[bytes]] = {}
    with gofka.Producer(brokers, timeout=20) as p:
        for part in range(partitions):
            values = [("%s-%d-%d" % (tag, part, i)).encode() for i in range(per_partition)]
            p.send_batch(topic, values, partition=part)
            out[part] = values
    return out


def poll_n(c: Consumer, n: int, deadline: float = 30.0, batch: int = 100) -> List[Message]:
    got: List[Message] = []
    end = time.monotonic() + deadline
    while len(got) < n:
        assert time.monotonic() < end, "got %d of %d messages" % (len(got), n)
        got += c.poll(min(batch, n - len(got)), timeout=0.5)
    return got


def wait_balanced(consumers: List[Consumer], partitions: int, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        assigns = [c.assignment() for c in consumers]
        flat = [tp for a in assigns for tp in a]
        sizes = [len(a) for a in assigns]
        last = assigns
        if len(flat) == partitions and len(set(flat)) == partitions and max(sizes) - min(sizes) <= 1:
            return
        for c in consumers:
            c.poll(1, timeout=0.05)  # keeps them polling; nothing is produced yet
    raise AssertionError("assignment not balanced: %r" % (last,))


# ---- argument checking ----


def test_bad_arguments(brokers: str) -> None:
    with pytest.raises(ValueError, match="auto_offset_reset"):
        Consumer(brokers, "g", ["t"], auto_offset_reset="sometimes")
    with pytest.raises(ValueError, match="topics must not be empty"):
        Consumer(brokers, "g", [])
    with pytest.raises(TypeError):
        Consumer(brokers, "g", "t")  # a str, not a list
    with pytest.raises(ValueError, match="not both"):
        Consumer(brokers, "g", ["t"], pattern="t.*")
    with pytest.raises(ValueError):
        Consumer(brokers, "g", ["t"], group_protocol="magic")
    with pytest.raises(ValueError):
        Consumer(brokers, "g", ["t"], partition_assignment_strategy="sticky")
    with pytest.raises(ValueError):
        Consumer(brokers, "g", ["t"], group_protocol="consumer", partition_assignment_strategy="range")
    with pytest.raises(ValueError):
        Consumer(brokers, None, ["t"], group_instance_id="i")
    with pytest.raises(ValueError):
        Consumer(brokers, "g", ["t"], isolation_level="serializable")
    with pytest.raises(ValueError):
        Consumer(brokers, "g", ["t"], session_timeout=6000, heartbeat_interval_ms=6000)
    with pytest.raises(TypeError):
        Consumer(brokers, "g", ["t"], on_revoke="not callable")
    with pytest.raises(ValueError):
        Consumer("", "g", ["t"])
    with Consumer(brokers, "g", ["t"]) as c:
        with pytest.raises(ValueError):
            c.poll(0)
        with pytest.raises(TypeError):
            c.poll(1.5)
        with pytest.raises(ValueError):
            c.poll(1, timeout=-1)
        with pytest.raises(TypeError):
            c.commit("not a message")
        with pytest.raises(TypeError):
            c.assign("t")
        with pytest.raises(ValueError):
            c.seek("t", 0, -5)
    with Consumer(brokers, None, None) as c:
        with pytest.raises(ValueError, match="subscribe"):
            c.subscribe()


def test_use_ssl_maps_to_security_protocol(brokers: str) -> None:
    c = Consumer(brokers, "g", ["t"], use_ssl=True)
    try:
        assert c.security_protocol == "SSL"
    finally:
        c.close()


def test_closed_consumer(brokers: str) -> None:
    c = Consumer(brokers, "g", ["t"])
    c.close()
    c.close()
    assert c.closed
    with pytest.raises(GofkaError) as exc:
        c.poll()
    assert exc.value.name == "CLIENT_CLOSED"


def test_unreachable_coordinator_is_a_group_error() -> None:
    c = Consumer("127.0.0.1:1", "g", ["t"], timeout=2)
    start = time.monotonic()
    try:
        with pytest.raises(GroupCoordinationError):
            c.subscribe()
        assert time.monotonic() - start < 10
    finally:
        c.close()


# ---- consuming ----


def test_subscribe_poll_commit_resume(brokers: str) -> None:
    topic = new_topic(brokers, 1)
    sent_at = time.time()
    with gofka.Producer(brokers, timeout=20) as p:
        for i in range(20):
            p.send(topic, b"value-%d" % i, key=b"key-%d" % i, headers={"n": str(i).encode(), "null": None})
    group = "g-" + topic
    c = Consumer(brokers, group, [topic], auto_commit=False, **FAST)
    c.subscribe()
    assert c.assignment() == [TopicPartition(topic, 0)]
    msgs = poll_n(c, 20)
    assert [m.offset for m in msgs] == list(range(20))
    for i, m in enumerate(msgs):
        assert isinstance(m, Message)
        assert m.topic == topic and m.partition == 0
        assert m.value == b"value-%d" % i and m.key == b"key-%d" % i
        assert m.headers == {"n": str(i).encode(), "null": None}
        assert abs(m.timestamp - sent_at) < 60
    assert c.position(topic, 0) == 20
    c.commit(msgs[4])
    assert c.committed([(topic, 0)]) == {TopicPartition(topic, 0): 5}
    c.commit()
    assert c.committed([(topic, 0)]) == {TopicPartition(topic, 0): 20}
    c.close()

    # A new member of the group resumes exactly at the committed offset.
    with Consumer(brokers, group, [topic], **FAST) as d:
        d.subscribe()
        assert d.poll(10, timeout=1) == []
        with gofka.Producer(brokers, timeout=20) as p:
            p.send(topic, b"more")
        m = poll_n(d, 1)[0]
        assert (m.offset, m.value) == (20, b"more")


def test_auto_commit_on_close(brokers: str) -> None:
    topic = new_topic(brokers, 1)
    produce(brokers, topic, 1, 10, "a")
    group = "g-" + topic
    with Consumer(brokers, group, [topic], **FAST) as c:
        c.subscribe()
        poll_n(c, 10)
    with Consumer(brokers, group, [topic], **FAST) as c:
        assert c.committed([(topic, 0)]) == {TopicPartition(topic, 0): 10}


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_three_consumers_share_a_topic(brokers: str, protocol: str, request: pytest.FixtureRequest) -> None:
    """Three members consume each message exactly once; one leaves and the
    others take over; a restarted member resumes at the commits."""
    if protocol == "consumer":
        request.getfixturevalue("kip848")
    topic = new_topic(brokers, 6)
    group = "g-" + topic
    opts = dict(FAST, auto_commit=False, group_protocol=protocol)
    cs = [Consumer(brokers, group, [topic], **opts) for _ in range(3)]
    try:
        for c in cs:
            c.subscribe()
        wait_balanced(cs, 6)
        owned = [set(c.assignment()) for c in cs]
        produce(brokers, topic, 6, 10, "one")
        seen: Dict[Tuple[int, int], int] = {}

        def drain(members: List[int], total: int) -> None:
            end = time.monotonic() + 60
            while len(seen) < total:
                assert time.monotonic() < end, "consumed %d of %d" % (len(seen), total)
                for i in members:
                    msgs = cs[i].poll(100, timeout=0.1)
                    for m in msgs:
                        key = (m.partition, m.offset)
                        assert key not in seen, "%r consumed twice" % (key,)
                        seen[key] = i
                    if msgs:
                        cs[i].commit()

        drain([0, 1, 2], 60)
        for (part, _), who in seen.items():
            assert TopicPartition(topic, part) in owned[who]

        # One leaves: the others take its partitions over.
        cs[2].close()
        wait_balanced(cs[:2], 6)
        produce(brokers, topic, 6, 10, "two")
        drain([0, 1], 120)
        for c in cs[:2]:
            c.close()

        with Consumer(brokers, group, [topic], **opts) as d:
            committed = d.committed([(topic, p) for p in range(6)])
            assert committed == {TopicPartition(topic, p): 20 for p in range(6)}
            d.subscribe()
            produce(brokers, topic, 6, 1, "three")
            got = poll_n(d, 6)
            assert sorted((m.partition, m.offset) for m in got) == [(p, 20) for p in range(6)]
    finally:
        for c in cs:
            c.close()


_CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
import gofka
c = gofka.Consumer(sys.argv[2], sys.argv[3], [sys.argv[4]], auto_commit=False, session_timeout=6000,
                   heartbeat_interval_ms=300, timeout=20)
c.subscribe()
print("joined", flush=True)
while True:
    msgs = c.poll(100, timeout=0.2)
    if msgs:
        for m in msgs:
            print("%d %d" % (m.partition, m.offset), flush=True)
        c.commit()
"""


def test_dead_member_partitions_are_taken_over(brokers: str, tmp_path) -> None:
    """A member killed with SIGKILL (no commit, no leave): after its session
    expires the survivor reads on from the dead member's commits."""
    topic = new_topic(brokers, 4)
    group = "g-" + topic
    script = tmp_path / "member.py"
    script.write_text(_CHILD)
    python_dir = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "python"))
    child = subprocess.Popen([sys.executable, str(script), python_dir, brokers, group, topic],
                             stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert child.stdout.readline().strip() == "joined"
        survivor = Consumer(brokers, group, [topic], auto_commit=False, **FAST)
        survivor.subscribe()
        wait_balanced_with_child(survivor, 4)
        mine = set(survivor.assignment())
        produce(brokers, topic, 4, 5, "x")
        child_seen: Set[Tuple[int, int]] = set()
        seen: Set[Tuple[int, int]] = set()
        while len(seen) + len(child_seen) < 20:
            for m in survivor.poll(100, timeout=0.2):
                seen.add((m.partition, m.offset))
            survivor.commit()
            while len(seen) + len(child_seen) < 20 and len(child_seen) < 20 - 5 * len(mine):
                line = child.stdout.readline().split()
                child_seen.add((int(line[0]), int(line[1])))
        time.sleep(0.5)  # the child commits after printing its batch
        child.send_signal(signal.SIGKILL)
        child.wait()
        produce(brokers, topic, 4, 5, "y")
        # The survivor takes everything over and reads only what the dead
        # member had not committed: the new records.
        end = time.monotonic() + 90
        while len(seen) < 40 - len(child_seen):
            assert time.monotonic() < end, "survivor read %d" % len(seen)
            for m in survivor.poll(100, timeout=0.3):
                key = (m.partition, m.offset)
                assert key not in seen and key not in child_seen, "%r consumed twice" % (key,)
                seen.add(key)
        assert len(survivor.assignment()) == 4
        survivor.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def wait_balanced_with_child(c: Consumer, partitions: int) -> None:
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if len(c.assignment()) == partitions // 2:
            return
        c.poll(1, timeout=0.1)
    raise AssertionError("survivor has %r" % (c.assignment(),))


@pytest.mark.parametrize("codec", [None, "gzip", "snappy", "lz4", "zstd"])
def test_reads_every_codec(brokers: str, codec: str) -> None:
    topic = new_topic(brokers, 1)
    with gofka.Producer(brokers, compression=codec, timeout=20) as p:
        p.send_batch(topic, [b"v%d" % i for i in range(50)], partition=0)
    with Consumer(brokers, None, None, **FAST) as c:
        c.assign([(topic, 0)])
        msgs = poll_n(c, 50)
    assert [m.value for m in msgs] == [b"v%d" % i for i in range(50)]


def test_offset_reset_policies(brokers: str) -> None:
    topic = new_topic(brokers, 1)
    produce(brokers, topic, 1, 5, "old")
    with Consumer(brokers, "g-none-" + topic, [topic], auto_offset_reset="none", **FAST) as c:
        c.subscribe()
        with pytest.raises(OffsetError) as exc:
            end = time.monotonic() + 20
            while time.monotonic() < end:
                c.poll(1, timeout=0.5)
        assert exc.value.name == "NO_OFFSET"
        c.seek(topic, 0, 3)
        assert [m.value for m in poll_n(c, 2)] == [b"old-0-3", b"old-0-4"]
    with Consumer(brokers, "g-latest-" + topic, [topic], auto_offset_reset="latest", **FAST) as c:
        c.subscribe()
        assert c.position(topic, 0) == 5
        produce(brokers, topic, 1, 1, "new")
        assert poll_n(c, 1)[0].value == b"new-0-0"


def test_assign_seek_pause_resume_offsets_for_times(brokers: str) -> None:
    topic = new_topic(brokers, 2)
    base = time.time() - 3600
    with gofka.Producer(brokers, timeout=20) as p:
        for i in range(10):
            for part in range(2):
                p.send(topic, b"%d" % i, partition=part, timestamp=base + i)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    with Consumer(brokers, "g-" + topic, None, auto_commit=False, **FAST) as c:
        c.assign([tp0, (topic, 1)])
        assert c.assignment() == [tp0, tp1]
        res = c.offsets_for_times({tp0: base + 4.5, tp1: base + 7200})
        assert res[tp0].offset == 5 and abs(res[tp0].timestamp - (base + 5)) < 0.01
        assert res[tp1] is None
        c.pause([tp1])
        msgs = poll_n(c, 10)
        assert {m.partition for m in msgs} == {0}
        assert c.poll(10, timeout=0.3) == []
        c.resume([tp1])
        assert {m.partition for m in poll_n(c, 10)} == {1}
        c.seek(topic, 0, 7)
        assert c.position(topic, 0) == 7
        m = poll_n(c, 1)[0]
        assert (m.partition, m.offset) == (0, 7)
        c.seek(topic, 0, gofka.OFFSET_BEGINNING)
        assert poll_n(c, 1)[0].offset == 0
        c.seek(topic, 1, gofka.OFFSET_END)
        assert c.position(topic, 1) == 10
        c.commit(m)
        assert c.committed([tp0, tp1]) == {tp0: 8, tp1: None}
        # Partitions not assigned.
        with pytest.raises(GroupCoordinationError) as exc:
            c.commit(Message(topic, 5, 1, b""))
        assert exc.value.name == "NOT_ASSIGNED"
        with pytest.raises(GroupCoordinationError):
            c.seek(topic, 5, 0)
        c.assign([])
        assert c.assignment() == []


def test_rebalance_callbacks_run_in_the_polling_thread(brokers: str) -> None:
    topic = new_topic(brokers, 2)
    calls: List[Tuple[str, List[TopicPartition], int]] = []
    group = "g-" + topic
    main = threading.get_ident()

    def on_revoke(tps: List[TopicPartition]) -> None:
        calls.append(("revoke", tps, threading.get_ident()))
        a.commit()  # allowed: the partitions are still ours until the next poll

    a = Consumer(brokers, group, [topic], auto_commit=False,
                 on_assign=lambda tps: calls.append(("assign", tps, threading.get_ident())),
                 on_revoke=on_revoke, **FAST)
    try:
        a.subscribe()
        assert a.poll(1, timeout=0.5) == []
        assert calls[0][:2] == ("assign", [TopicPartition(topic, 0), TopicPartition(topic, 1)])
        produce(brokers, topic, 2, 3, "x")
        got = poll_n(a, 6)
        b = Consumer(brokers, group, [topic], auto_commit=False, **FAST)
        done = threading.Event()
        threading.Thread(target=lambda: (b.subscribe(), done.set()), daemon=True).start()
        end = time.monotonic() + 60
        while not any(c[0] == "revoke" for c in calls) or not done.is_set():
            assert time.monotonic() < end, calls
            a.poll(1, timeout=0.1)
        assert all(c[2] == main for c in calls)
        assert len(a.assignment()) == 1
        # The revoked partition was committed in the callback: b starts there.
        wait_balanced([a, b], 2)
        gone = [tp for tp in (TopicPartition(topic, 0), TopicPartition(topic, 1)) if tp not in a.assignment()][0]
        assert b.committed([gone]) == {gone: 3}
        assert len(got) == 6
        b.close()
    finally:
        a.close()
    assert calls[-1][0] == "revoke"  # close() hands the rest back


def test_pattern_subscription(brokers: str) -> None:
    t1, t2 = new_topic(brokers, 1), new_topic(brokers, 1)
    produce(brokers, t1, 1, 1, "a")
    produce(brokers, t2, 1, 1, "b")
    pattern = "%s|%s" % (t1, t2)
    with Consumer(brokers, "g-" + t1, None, pattern=pattern, **FAST) as c:
        c.subscribe()
        got = sorted(m.value for m in poll_n(c, 2))
    assert got == [b"a-0-0", b"b-0-0"]


def test_poll_is_interruptible(brokers: str) -> None:
    topic = new_topic(brokers, 1)

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        with Consumer(brokers, None, None, **FAST) as c:
            c.assign([(topic, 0)])
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            start = time.monotonic()
            with pytest.raises(Interrupted):
                c.poll(1, timeout=None)
            assert time.monotonic() - start < 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
