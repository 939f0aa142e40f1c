"""ShareConsumer and AsyncShareConsumer (KIP-932 share groups), on the dev
cluster or the Kafka of GOFKA_BROKERS (4.2+; older ones are skipped: share
groups are production ready, and enabled by default, from 4.2)."""

from __future__ import annotations

import asyncio
import os
import pickle
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

import gofka
from gofka.exceptions import ConsumeTypeError, ConsumeValueError, GofkaError

from conftest import kafka_older_than

DEADLINE = 60.0  # seconds any one wait for records may take before the test fails


@pytest.fixture
def share_topic(brokers: str) -> Tuple[str, str]:
    """A one-partition topic and a share group reading it from the earliest
    offset (a new share group starts at the latest)."""
    if kafka_older_than(4, 2):
        pytest.skip("Kafka %s has no share groups enabled (production ready in 4.2)" % os.environ["GOFKA_KAFKA_VERSION"])
    topic = "gofka-share-%s" % uuid.uuid4().hex
    group = "share-" + topic
    with gofka.AdminClient(brokers, timeout=15) as admin:
        admin.create_topics([gofka.NewTopic(topic, 1, 1)])
        admin.alter_configs("group", group, {"share.auto.offset.reset": "earliest"})
    return topic, group


def produce(brokers: str, topic: str, values: List[bytes]) -> None:
    """One batch per record, so that a share fetch can acquire any number."""
    with gofka.Producer(brokers, timeout=15) as p:
        for v in values:
            p.send(topic, v)
            p.flush()


def share(brokers: str, share_topic: Tuple[str, str], **kw: Any) -> gofka.ShareConsumer:
    topic, group = share_topic
    kw.setdefault("fetch_max_wait_ms", 200)
    return gofka.ShareConsumer(brokers, group, [topic], timeout=15, **kw)


def poll_until(c: gofka.ShareConsumer, each: Callable[[gofka.Message], None], done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():
        assert time.monotonic() < deadline, "timed out polling"
        for m in c.poll(10, 0.5):
            each(m)


# ---- sync ----------------------------------------------------------------------


def test_four_consumers_share_one_partition(brokers: str, share_topic: Tuple[str, str]) -> None:
    """Four members of one partition: each gets records, together they get
    every record, and none is delivered to two (each once, delivery count
    1)."""
    n = 100
    consumers = [share(brokers, share_topic, max_poll_records=5) for _ in range(4)]
    got: Dict[bytes, List[int]] = {}
    per = [0] * 4
    counts: List[Any] = []
    lock = threading.Lock()
    errors: List[BaseException] = []
    started = threading.Barrier(5)

    def work(i: int, c: gofka.ShareConsumer) -> None:
        try:
            c.subscribe()
            started.wait(15)
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                with lock:
                    if len(got) == n:
                        return
                msgs = c.poll(5, 0.5)
                with lock:
                    for m in msgs:
                        got.setdefault(m.value, []).append(i)
                        per[i] += 1
                        counts.append(m.delivery_count)
                if msgs:
                    time.sleep(0.02)  # "processing": lets the others take their turn
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(consumers)]
    for t in threads:
        t.start()
    started.wait(15)
    time.sleep(1.0)  # the members join (in the background) before the records arrive
    values = [b"v%d" % i for i in range(n)]
    produce(brokers, share_topic[0], values)
    for t in threads:
        t.join(DEADLINE + 30)
    for c in consumers:
        c.close()
    assert not errors, errors
    assert sorted(got) == sorted(values)
    assert all(len(who) == 1 for who in got.values()), {v: who for v, who in got.items() if len(who) > 1}
    assert set(counts) == {1}
    assert all(k > 0 for k in per), "a consumer got no record: %r" % per


def test_release_redelivers_and_reject_never(brokers: str, share_topic: Tuple[str, str]) -> None:
    """Explicit mode: a released record comes back with delivery_count + 1,
    a rejected or accepted one never; commit() reports each outcome."""
    topic = share_topic[0]
    with share(brokers, share_topic, acknowledgement_mode="explicit") as c:
        produce(brokers, topic, [b"v0", b"v1", b"v2", b"v3"])
        acks = {b"v0": "release", b"v1": "release", b"v2": "reject", b"v3": "accept"}
        first: Dict[bytes, gofka.Message] = {}

        def ack_first(m: gofka.Message) -> None:
            first[m.value] = m
            assert m.delivery_count == 1
            c.acknowledge(m, acks[m.value])

        poll_until(c, ack_first, lambda: len(first) == 4)
        results = c.commit()
        assert {(r.offset, r.type) for r in results} == {(first[v].offset, t) for v, t in acks.items()}
        assert all(r.error is None and r.topic == topic and r.partition == 0 for r in results)

        produce(brokers, topic, [b"v4"])  # a marker: what comes before it is what comes back
        again: Dict[bytes, gofka.Message] = {}

        def ack_again(m: gofka.Message) -> None:
            again[m.value] = m
            c.acknowledge(m, "accept")

        poll_until(c, ack_again, lambda: {b"v0", b"v1", b"v4"} <= set(again))
        assert again[b"v0"].delivery_count == 2 and again[b"v1"].delivery_count == 2
        assert again[b"v0"].offset == first[b"v0"].offset
        assert again[b"v4"].delivery_count == 1
        assert b"v2" not in again and b"v3" not in again

        produce(brokers, topic, [b"v5"])
        late: List[bytes] = []

        def ack_late(m: gofka.Message) -> None:
            late.append(m.value)
            c.acknowledge(m, "accept")

        poll_until(c, ack_late, lambda: b"v5" in late)
        assert late == [b"v5"], "a rejected or accepted record came back"
        assert all(r.error is None for r in c.commit())


def test_explicit_mode_rules(brokers: str, share_topic: Tuple[str, str]) -> None:
    """Explicit mode: poll refuses while a record is unacknowledged; a
    record is acknowledged once, and only one this consumer delivered;
    the implicit mode refuses acknowledge()."""
    produce(brokers, share_topic[0], [b"a", b"b"])
    with share(brokers, share_topic, acknowledgement_mode="explicit") as c:
        msgs: List[gofka.Message] = []
        poll_until(c, msgs.append, lambda: bool(msgs))
        with pytest.raises(ConsumeValueError, match="not acknowledged") as info:
            c.poll(10, 0.5)
        assert info.value.name == "INVALID_ARGUMENT"
        foreign = gofka.Message(msgs[0].topic, msgs[0].partition, msgs[0].offset + 1000, b"x")
        with pytest.raises(ConsumeValueError, match="not delivered"):
            c.acknowledge(foreign)
        for m in msgs:
            c.acknowledge(m, "accept")
        with pytest.raises(ConsumeValueError, match="already acknowledged"):
            c.acknowledge(msgs[0], "accept")
        c.poll(10, 0.3)  # everything acknowledged: runs
    with share(brokers, share_topic) as implicit:
        implicit.subscribe()
        with pytest.raises(ConsumeValueError, match="explicit"):
            implicit.acknowledge(msgs[0])


def test_close_releases_unacknowledged(brokers: str, share_topic: Tuple[str, str]) -> None:
    """Records a consumer holds unacknowledged when it closes go to the
    other members at once, delivery count + 1."""
    a = share(brokers, share_topic, acknowledgement_mode="explicit")
    b = share(brokers, share_topic, acknowledgement_mode="explicit")
    b.subscribe()
    produce(brokers, share_topic[0], [b"x", b"y", b"z"])
    held: Dict[int, Any] = {}
    poll_until(a, lambda m: held.__setitem__(m.offset, m.delivery_count), lambda: bool(held))
    a.close()
    back: Dict[int, Any] = {}

    def take(m: gofka.Message) -> None:
        back[m.offset] = m.delivery_count
        b.acknowledge(m)

    poll_until(b, take, lambda: set(held) <= set(back))
    b.close()
    assert all(back[off] >= 2 for off in held), (held, back)


def test_implicit_mode_accepts_on_next_poll(brokers: str, share_topic: Tuple[str, str]) -> None:
    """Implicit mode: the next poll (or close) accepts the previous poll's
    records, so a member joining later never sees them."""
    topic = share_topic[0]
    produce(brokers, topic, [b"p0", b"p1"])
    seen: List[bytes] = []
    with share(brokers, share_topic) as c:
        poll_until(c, lambda m: seen.append(m.value), lambda: len(seen) == 2)
        c.poll(1, 0.2)  # accepts p0, p1
    produce(brokers, topic, [b"marker"])
    later: List[bytes] = []
    with share(brokers, share_topic) as d:
        poll_until(d, lambda m: later.append(m.value), lambda: b"marker" in later)
    assert later == [b"marker"]


def test_iteration_and_delivery_count_attribute(brokers: str, share_topic: Tuple[str, str], topic: str) -> None:
    """``for m in consumer`` yields share messages (delivery_count set);
    a classic consumer's messages have delivery_count None; pickling keeps
    it."""
    produce(brokers, share_topic[0], [b"i0", b"i1"])
    out: List[gofka.Message] = []
    with share(brokers, share_topic, acknowledgement_mode="explicit") as c:
        for m in c:
            out.append(m)
            c.acknowledge(m)
            if len(out) == 2:
                break
    assert [m.value for m in out] == [b"i0", b"i1"]
    assert [m.delivery_count for m in out] == [1, 1]
    assert "delivery_count=1" in repr(out[0])
    copy = pickle.loads(pickle.dumps(out[0]))
    assert copy == out[0] and copy.delivery_count == 1
    produce(brokers, topic, [b"classic"])
    with gofka.Consumer(brokers, None, None, timeout=15) as classic:
        classic.assign([(topic, 0)])
        deadline = time.monotonic() + DEADLINE
        msgs: List[gofka.Message] = []
        while not msgs and time.monotonic() < deadline:
            msgs = classic.poll(1, 0.5)
    assert msgs and msgs[0].delivery_count is None
    assert gofka.Message("t", 0, 0, b"").delivery_count is None


# ---- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, exc", [
    ({"group_id": None}, TypeError),
    ({"group_id": ""}, ValueError),
    ({"topics": "t"}, TypeError),
    ({"topics": []}, ValueError),
    ({"topics": ["a\nb"]}, ValueError),
    ({"acknowledgement_mode": "manual"}, ValueError),
    ({"acknowledgement_mode": 1}, TypeError),
    ({"max_poll_records": 0}, ValueError),
    ({"config": {"share.acknowledgement.mode": "explicit"}}, ValueError),
    ({"config": "x"}, TypeError),
])
def test_constructor_bad_input(brokers: str, kwargs: Dict[str, Any], exc: type) -> None:
    args: Dict[str, Any] = {"brokers": brokers, "group_id": "g", "topics": ["t"]}
    args.update(kwargs)
    for cls in (gofka.ShareConsumer, gofka.AsyncShareConsumer):
        with pytest.raises(exc) as info:
            cls(**args)
        assert isinstance(info.value, (ConsumeValueError, ConsumeTypeError))


def test_method_bad_input(brokers: str, share_topic: Tuple[str, str]) -> None:
    c = share(brokers, share_topic, acknowledgement_mode="explicit")
    m = gofka.Message(share_topic[0], 0, 0, b"")
    with pytest.raises(TypeError):
        c.acknowledge("not a message")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="accept, release, reject"):
        c.acknowledge(m, "ok")
    with pytest.raises(TypeError):
        c.acknowledge(m, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        c.poll(0)
    with pytest.raises(TypeError):
        c.poll("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        c.poll(1, -1)
    with pytest.raises(TypeError):
        c.subscribe("t")  # type: ignore[arg-type]
    no_topics = gofka.ShareConsumer(brokers, share_topic[1], None, timeout=5)
    with pytest.raises(ValueError, match="no topics"):
        no_topics.subscribe()
    with pytest.raises(GofkaError, match="subscribe"):
        no_topics.poll(1, 0.1)  # never subscribed: the engine refuses
    no_topics.close()
    c.close()
    c.close()  # idempotent
    for call in (lambda: c.poll(1, 0.1), c.commit, lambda: c.acknowledge(m), c.subscribe):
        with pytest.raises(GofkaError) as info:
            call()
        assert info.value.name == "CLIENT_CLOSED"


# ---- async -------------------------------------------------------------------------


def ashare(brokers: str, share_topic: Tuple[str, str], **kw: Any) -> gofka.AsyncShareConsumer:
    topic, group = share_topic
    kw.setdefault("fetch_max_wait_ms", 200)
    return gofka.AsyncShareConsumer(brokers, group, [topic], timeout=15, **kw)


async def apoll_until(c: gofka.AsyncShareConsumer, each: Callable[[gofka.Message], None],
                      done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():
        assert time.monotonic() < deadline, "timed out polling"
        for m in await c.poll(10, 0.5):
            each(m)


def test_async_four_consumers_share_one_partition(brokers: str, share_topic: Tuple[str, str]) -> None:
    n = 60

    async def main() -> Tuple[Dict[bytes, List[int]], List[int], List[Any]]:
        consumers = [ashare(brokers, share_topic, max_poll_records=5) for _ in range(4)]
        for c in consumers:
            c.subscribe()
        got: Dict[bytes, List[int]] = {}
        per = [0] * 4
        counts: List[Any] = []

        async def work(i: int, c: gofka.AsyncShareConsumer) -> None:
            deadline = time.monotonic() + DEADLINE
            while len(got) < n and time.monotonic() < deadline:
                msgs = await c.poll(5, 0.5)
                for m in msgs:
                    got.setdefault(m.value, []).append(i)
                    per[i] += 1
                    counts.append(m.delivery_count)
                if msgs:
                    await asyncio.sleep(0.02)

        tasks = [asyncio.ensure_future(work(i, c)) for i, c in enumerate(consumers)]
        await asyncio.sleep(1.0)  # the members join in the background
        await asyncio.get_running_loop().run_in_executor(
            None, produce, brokers, share_topic[0], [b"a%d" % i for i in range(n)])
        await asyncio.gather(*tasks)
        for c in consumers:
            await c.close()
        return got, per, counts

    got, per, counts = asyncio.run(main())
    assert sorted(got) == sorted(b"a%d" % i for i in range(n))
    assert all(len(who) == 1 for who in got.values())
    assert set(counts) == {1}
    assert all(k > 0 for k in per), per


def test_async_release_reject_and_rules(brokers: str, share_topic: Tuple[str, str]) -> None:
    topic = share_topic[0]

    async def main() -> None:
        async with ashare(brokers, share_topic, acknowledgement_mode="explicit") as c:
            await asyncio.get_running_loop().run_in_executor(None, produce, brokers, topic, [b"r0", b"r1", b"r2"])
            acks = {b"r0": "release", b"r1": "reject", b"r2": "accept"}
            first: Dict[bytes, gofka.Message] = {}
            await apoll_until(c, lambda m: first.__setitem__(m.value, m), lambda: len(first) == 3)
            with pytest.raises(ConsumeValueError, match="not acknowledged"):
                await c.poll(10, 0.3)
            for v, t in acks.items():
                c.acknowledge(first[v], t)
            with pytest.raises(ConsumeValueError, match="already acknowledged"):
                c.acknowledge(first[b"r0"])
            results = await c.commit()
            assert {(r.offset, r.type) for r in results} == {(first[v].offset, t) for v, t in acks.items()}
            assert all(r.error is None for r in results)
            await asyncio.get_running_loop().run_in_executor(None, produce, brokers, topic, [b"r3"])
            again: Dict[bytes, gofka.Message] = {}

            def take(m: gofka.Message) -> None:
                again[m.value] = m
                c.acknowledge(m)

            await apoll_until(c, take, lambda: {b"r0", b"r3"} <= set(again))
            assert again[b"r0"].delivery_count == 2
            assert b"r1" not in again and b"r2" not in again
        assert c.closed
        with pytest.raises(GofkaError) as info:
            await c.poll(1, 0.1)
        assert info.value.name == "CLIENT_CLOSED"

    asyncio.run(main())


def test_async_iteration_and_close_releases(brokers: str, share_topic: Tuple[str, str]) -> None:
    """``async for`` yields messages; what an explicit-mode consumer holds
    unacknowledged at close (yielded or not) goes to the others."""
    topic = share_topic[0]

    async def main() -> None:
        a = ashare(brokers, share_topic, acknowledgement_mode="explicit")
        b = ashare(brokers, share_topic, acknowledgement_mode="explicit")
        b.subscribe()
        await asyncio.get_running_loop().run_in_executor(None, produce, brokers, topic, [b"x0", b"x1", b"x2"])
        held: Dict[int, Any] = {}
        async for m in a:
            held[m.offset] = m.delivery_count
            break
        await a.close()
        back: Dict[int, Any] = {}

        def take(m: gofka.Message) -> None:
            back[m.offset] = m.delivery_count
            b.acknowledge(m)

        await apoll_until(b, take, lambda: set(held) <= set(back))
        await b.close()
        assert held and all(back[off] >= 2 for off in held), (held, back)

    asyncio.run(main())


def test_async_cancelled_poll_keeps_its_records(brokers: str, share_topic: Tuple[str, str]) -> None:
    """A poll cancelled while the engine waits keeps what it took for the
    next poll (explicit mode: without them the next poll could not even
    run)."""
    topic = share_topic[0]

    async def main() -> List[bytes]:
        async with ashare(brokers, share_topic, acknowledgement_mode="explicit") as c:
            c.subscribe()
            task = asyncio.ensure_future(c.poll(10, None))
            await asyncio.sleep(0.3)  # the poll waits in the engine (up to 5 s a round)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The engine's poll goes on and takes the record: the next poll
            # must return it, not lose it (explicit mode: nor refuse to run).
            await asyncio.get_running_loop().run_in_executor(None, produce, brokers, topic, [b"c0"])
            got: List[bytes] = []

            def take(m: gofka.Message) -> None:
                got.append(m.value)
                c.acknowledge(m)

            await apoll_until(c, take, lambda: b"c0" in got)
            return got

    assert asyncio.run(main()) == [b"c0"]


# ---- docs/share-groups.md ----------------------------------------------------------


def guide_namespace() -> Dict[str, Any]:
    """The definitions of the Python blocks of docs/share-groups.md."""
    import re

    path = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "share-groups.md")
    with open(path, encoding="utf-8") as f:
        found = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    ns: Dict[str, Any] = {}
    for src in found:
        exec(compile(src, "share-groups.md", "exec"), ns)
    return ns


@pytest.fixture
def jobs_topic(brokers: str) -> Iterator[Tuple[str, str]]:
    """The guide's names: topic "jobs", share group "workers". They are
    fixed, so each test gets a fresh dev cluster of its own (also when
    GOFKA_BROKERS names a real Kafka)."""
    with gofka.DevCluster() as dc:
        with gofka.AdminClient(dc.brokers, timeout=15) as admin:
            admin.create_topics([gofka.NewTopic("jobs", 1, 1)])
            admin.alter_configs("group", "workers", {"share.auto.offset.reset": "earliest"})
        yield dc.brokers, "jobs"


def test_guide_thread_pool(jobs_topic: Tuple[str, str]) -> None:
    """The guide's thread worker: a pool of 4 processes every job once; a
    job that fails is retried (release) and rejected at its third try."""
    brokers, topic = jobs_topic
    worker = guide_namespace()["worker"]
    done: Dict[bytes, int] = {}
    tries: Dict[bytes, int] = {}
    lock = threading.Lock()

    def process(m: gofka.Message) -> None:
        with lock:
            tries[m.value] = tries.get(m.value, 0) + 1
            if m.value == b"bad":
                raise RuntimeError("cannot process")
            done[m.value] = done.get(m.value, 0) + 1

    stop = threading.Event()
    pool = [threading.Thread(target=worker, args=(brokers, stop, process)) for _ in range(4)]
    for t in pool:
        t.start()
    jobs = [b"job%d" % i for i in range(30)] + [b"bad"]
    produce(brokers, topic, jobs)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        with lock:
            if len(done) == 30 and tries.get(b"bad") == 3:
                break
        time.sleep(0.05)
    stop.set()
    for t in pool:
        t.join(30)
    assert done == {j: 1 for j in jobs if j != b"bad"}
    assert tries[b"bad"] == 3, "released twice, rejected at the third delivery"


def test_guide_asyncio_pool(jobs_topic: Tuple[str, str]) -> None:
    brokers, topic = jobs_topic
    async_worker = guide_namespace()["async_worker"]
    done: Dict[bytes, int] = {}

    async def main() -> None:
        stop = asyncio.Event()

        async def process(m: gofka.Message) -> None:
            done[m.value] = done.get(m.value, 0) + 1

        pool = asyncio.gather(*(async_worker(brokers, stop, process) for _ in range(4)))
        await asyncio.get_running_loop().run_in_executor(None, produce, brokers, topic, [b"a%d" % i for i in range(20)])
        deadline = time.monotonic() + DEADLINE
        while len(done) < 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await pool

    asyncio.run(main())
    assert done == {b"a%d" % i: 1 for i in range(20)}
