"""Keys choose the partition, and headers go as lists (issue 20, items 2, 4).

Every send path (Producer.send, send_string, send_batch, produce;
AsyncProducer.send, send_string, send_batch; the blocking C calls
gofka_producer_send / gofka_producer_send_batch) x {explicit partition,
key only, neither, custom partitioner (the Python producers; C has none)}, on a 6-partition topic, checking the
partition each record lands on (read back from the broker) against a
murmur2 reference computed here. Headers as (str, value) lists with
repeated keys round-trip through the broker on every path and come back in
``Message.header_list``.

The last test runs this file again in a subprocess with GOFKA_NO_SPEEDUPS=1
(against the same cluster), so both the C speedups and the pure-Python
paths are covered.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import struct
import subprocess
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import gofka
from gofka import Message, _native, message
from gofka.consumer import Consumer

PARTS = 6


# ---- murmur2 reference (Kafka's Utils.murmur2, written from its spec) ----

def murmur2(data: bytes) -> int:
    """32-bit MurmurHash2 with Kafka's seed, as a signed int32."""
    m, r = 0x5BD1E995, 24
    n = len(data)
    h = (0x9747B28C ^ n) & 0xFFFFFFFF
    i = 0
    while n - i >= 4:
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
        i += 4
    rest = n - i
    if rest == 3:
        h ^= data[i + 2] << 16
    if rest >= 2:
        h ^= data[i + 1] << 8
    if rest >= 1:
        h ^= data[i]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h >= 1 << 31 else h


def java_partition(key: bytes, n: int = PARTS) -> int:
    """toPositive(murmur2(key)) % n, as the Java client's default partitioner."""
    return (murmur2(key) & 0x7FFFFFFF) % n


def test_murmur2_reference_matches_java_vectors() -> None:
    # Java client UtilsTest.testMurmur2.
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for key, want in vectors.items():
        assert murmur2(key) == want, key


KEYS = [b"key-%d" % i for i in range(40)]
# Most of these keys hash away from partition 0 (the old bug sent them all there).
assert sum(1 for k in KEYS if java_partition(k) != 0) > 25


def custom(key: Optional[bytes], n: int, topic: str) -> int:
    """A custom partitioner that disagrees with murmur2."""
    return (java_partition(key, n) + 1) % n if key is not None else n - 1


def explicit_for(i: int, key: bytes) -> int:
    """An explicit partition that differs from where the key would go."""
    return (java_partition(key) + 1 + i % (PARTS - 1)) % PARTS


@pytest.fixture
def admin(brokers: str) -> Any:
    with gofka.AdminClient(brokers, timeout=20) as a:
        yield a


def new_topic(admin: Any) -> str:
    name = "gofka-kh-%s" % uuid.uuid4().hex[:12]
    admin.create_topic(name, num_partitions=PARTS)
    return name


def read_all(brokers: str, topic: str, n: int, parts: int = PARTS) -> List[Message]:
    """Every record of the topic (n of them), from all partitions."""
    got: List[Message] = []
    with Consumer(brokers, None, None, timeout=20) as c:
        c.assign([(topic, p) for p in range(parts)])
        end = time.monotonic() + 30
        while len(got) < n:
            assert time.monotonic() < end, "read %d of %d records" % (len(got), n)
            got += c.poll(500, timeout=0.5)
        got += c.poll(500, timeout=0.3)  # nothing more
    assert len(got) == n
    return got


def where(msgs: List[Message]) -> Dict[bytes, int]:
    out = {}
    for m in msgs:
        assert m.value not in out, "value sent twice: %r" % m.value
        out[m.value] = m.partition
    return out


# ---- the send paths, each sending (value, key, partition-or-DEFAULT) records ----

DEFAULT = object()  # "partition not passed"
Rec = Tuple[bytes, Optional[bytes], Any]


def _kw(part: Any) -> Dict[str, Any]:
    return {} if part is DEFAULT else {"partition": part}


def sync_send(brokers: str, topic: str, recs: List[Rec], partitioner: Any) -> None:
    with gofka.Producer(brokers, timeout=20, partitioner=partitioner) as p:
        for v, k, part in recs:
            p.send(topic, v, key=k, **_kw(part))


def sync_send_string(brokers: str, topic: str, recs: List[Rec], partitioner: Any) -> None:
    with gofka.Producer(brokers, timeout=20, partitioner=partitioner) as p:
        for v, k, part in recs:
            p.send_string(topic, v.decode(), key=None if k is None else k.decode(), **_kw(part))


def sync_send_batch(brokers: str, topic: str, recs: List[Rec], partitioner: Any) -> None:
    # One call per partition argument; keyed and unkeyed records mixed.
    with gofka.Producer(brokers, timeout=20, partitioner=partitioner) as p:
        for part in {id(r[2]): r[2] for r in recs}.values():
            group = [r for r in recs if r[2] is part]
            offs = p.send_batch(topic, [r[0] for r in group], keys=[r[1] for r in group], **_kw(part))
            assert len(offs) == len(group)


def sync_produce(brokers: str, topic: str, recs: List[Rec], partitioner: Any) -> None:
    reported: Dict[bytes, int] = {}

    def cb(err: Any, msg: Message) -> None:
        assert err is None, err
        reported[msg.value] = msg.partition

    with gofka.Producer(brokers, timeout=20, partitioner=partitioner) as p:
        for v, k, part in recs:
            p.produce(topic, v, key=k, on_delivery=cb, **_kw(part))
        assert p.flush(20) == 0
    assert len(reported) == len(recs)
    sync_produce.reported = reported  # type: ignore[attr-defined]


def _run_async(brokers: str, partitioner: Any, body: Callable[[gofka.AsyncProducer], Any]) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(brokers, timeout=20, partitioner=partitioner) as p:
            await asyncio.wait_for(body(p), 30)

    asyncio.run(main())


def async_send(brokers: str, topic: str, recs: List[Rec], partitioner: Any) -> None:
    async def body(p: gofka.AsyncProducer) -> None:
        await asyncio.gather(*(p.send(topic, v, key=k, **_kw(part)) for v, k, part in recs))

    _run_async(brokers, partitioner, body)


def async_send_string(brokers: str, topic: str, recs: List[Rec], partitioner: Any) -> None:
    async def body(p: gofka.AsyncProducer) -> None:
        await asyncio.gather(*(p.send_string(topic, v.decode(), key=None if k is None else k.decode(), **_kw(part))
                               for v, k, part in recs))

    _run_async(brokers, partitioner, body)


def async_send_batch(brokers: str, topic: str, recs: List[Rec], partitioner: Any) -> None:
    async def body(p: gofka.AsyncProducer) -> None:
        for part in {id(r[2]): r[2] for r in recs}.values():
            group = [r for r in recs if r[2] is part]
            offs = await p.send_batch(topic, [r[0] for r in group], keys=[r[1] for r in group], **_kw(part))
            assert len(offs) == len(group)

    _run_async(brokers, partitioner, body)


def c_send(brokers: str, topic: str, recs: List[Rec], partitioner: Any) -> None:
    """The blocking C calls: gofka_producer_send per record (partition -1
    when none is given: the C ABI's "partitioner") and
    gofka_producer_send_batch for the last record."""
    handle = gofka.Producer(brokers, timeout=20)
    try:
        h = handle._get()  # the native handle
        topic_b = topic.encode()
        for v, k, part in recs[:-1]:
            p = -1 if part is DEFAULT else part
            err = _native.new_error()
            off = ctypes.c_int64()
            _native.check(_native.lib.gofka_producer_send(
                h, topic_b, p, k, -1 if k is None else len(k), v, len(v), None, 0, -1, 20000,
                ctypes.byref(off), ctypes.byref(err)), err)
        v, k, part = recs[-1]
        packed = (struct.pack("<i", -1) if k is None else struct.pack("<i", len(k)) + k) \
            + struct.pack("<i", len(v)) + v + struct.pack("<qi", -1, 0)
        err = _native.new_error()
        offs = (ctypes.c_int64 * 1)()
        _native.check(_native.lib.gofka_producer_send_batch(
            h, topic_b, -1 if part is DEFAULT else part, packed, len(packed), 1, 20000, offs, ctypes.byref(err)), err)
    finally:
        handle.close()


SYNC_PATHS = [sync_send, sync_send_string, sync_send_batch, sync_produce]
ASYNC_PATHS = [async_send, async_send_string, async_send_batch]


def records(tag: str, with_none_partition: bool = True) -> Tuple[List[Rec], Dict[bytes, Optional[int]]]:
    """The records of one run and where each must land (None: the sticky
    partitioner's choice, any partition)."""
    recs: List[Rec] = []
    want: Dict[bytes, Optional[int]] = {}
    for i, k in enumerate(KEYS):
        v = b"%s-keyed-%d" % (tag.encode(), i)
        recs.append((v, k, DEFAULT))
        want[v] = java_partition(k)
        v = b"%s-explicit-%d" % (tag.encode(), i)
        recs.append((v, k, explicit_for(i, k)))
        want[v] = explicit_for(i, k)
    # Unkeyed records between the keyed ones: send_batch then sends several
    # runs, which must keep the order on each partition.
    for i in range(5):
        v = b"%s-plain-%d" % (tag.encode(), i)
        recs.insert(16 * i + 3, (v, None, DEFAULT))
        want[v] = 0
    if with_none_partition:
        for i, k in enumerate(KEYS[:10]):
            v = b"%s-none-%d" % (tag.encode(), i)
            recs.append((v, k, None))  # None: the engine's partitioner
            want[v] = java_partition(k)
    return recs, want


def check(brokers: str, topic: str, recs: List[Rec], want: Dict[bytes, Optional[int]], ordered: bool = True) -> None:
    msgs = read_all(brokers, topic, len(recs))
    got = where(msgs)
    wrong = {v: (got[v], p) for v, p in want.items() if p is not None and got[v] != p}
    assert not wrong, "%d records misplaced (landed, expected): %r" % (len(wrong), sorted(wrong.items())[:5])
    if ordered:
        # Records sent without a partition keep their send order on each
        # partition (messages of a partition arrive in offset order).
        default = [v for v, _, part in recs if part is DEFAULT]
        for p in range(PARTS):
            landed = [m.value for m in msgs if m.partition == p and m.value in set(default)]
            assert landed == [v for v in default if got[v] == p], "partition %d out of order" % p


@pytest.mark.parametrize("send", SYNC_PATHS + ASYNC_PATHS, ids=lambda f: f.__name__)
def test_key_chooses_partition_explicit_wins(brokers: str, admin: Any, send: Callable[..., None]) -> None:
    topic = new_topic(admin)
    recs, want = records(send.__name__)
    if send is sync_produce:
        # produce() documents the sticky partitioner for records without a
        # key and partition (any partition, the same one the callback says).
        for v, k, part in recs:
            if k is None and part is DEFAULT:
                want[v] = None
    send(brokers, topic, recs, None)
    check(brokers, topic, recs, want)
    if send is sync_produce:
        reported = sync_produce.reported  # type: ignore[attr-defined]
        landed = where(read_all(brokers, topic, len(recs)))
        assert reported == landed


def test_c_abi_key_chooses_partition(brokers: str, admin: Any) -> None:
    topic = new_topic(admin)
    recs, want = records("c", with_none_partition=False)
    # The C ABI has no "not passed": -1 is the partitioner, so a record
    # without key and partition goes to the sticky partition.
    for v, k, part in recs:
        if k is None:
            want[v] = None
    recs.append((b"c-batch-keyed", b"foobar", DEFAULT))
    want[b"c-batch-keyed"] = java_partition(b"foobar")
    c_send(brokers, topic, recs, None)
    check(brokers, topic, recs, want)


@pytest.mark.parametrize("send", SYNC_PATHS + ASYNC_PATHS, ids=lambda f: f.__name__)
def test_custom_partitioner(brokers: str, admin: Any, send: Callable[..., None]) -> None:
    """A custom partitioner (Producer's or AsyncProducer's) decides when no
    partition is passed (keys or not); an explicit partition and None
    still win."""
    topic = new_topic(admin)
    recs, want = records(send.__name__)
    for v, k, part in recs:
        if part is DEFAULT:
            want[v] = custom(k, PARTS, topic)
    send(brokers, topic, recs, custom)
    # Async sends that wait for the partition count may be queued out of
    # order; the sync paths keep it.
    check(brokers, topic, recs, want, ordered=send not in ASYNC_PATHS)


# ---- headers as lists, repeated keys, every path ----

HEADERS = [("trace", b"1"), ("x", None), ("trace", "2"), ("empty", b""), ("trace", bytearray(b"3"))]
# What the broker gives back.
HEADERS_READ = [("trace", b"1"), ("x", None), ("trace", b"2"), ("empty", b""), ("trace", b"3")]


def test_headers_round_trip_every_path(brokers: str, admin: Any) -> None:
    topic = new_topic(admin)
    per_record = [[("n", b"%d" % i), ("n", b"again")] for i in range(3)]
    delivered: List[Message] = []
    sent: Dict[bytes, List[Tuple[str, Optional[bytes]]]] = {}
    with gofka.Producer(brokers, timeout=20) as p:
        p.send(topic, b"send", partition=0, headers=HEADERS)
        p.send(topic, b"send-tuple", partition=1, headers=tuple(HEADERS))
        p.send_string(topic, "send_string", partition=2, headers=HEADERS)
        p.send_batch(topic, [b"batch-common-0", b"batch-common-1"], partition=3, headers=HEADERS)
        p.send_batch(topic, [b"batch-each-%d" % i for i in range(3)], partition=4, headers=per_record)
        p.send_batch(topic, [b"batch-keyed"], keys=[b"k"], headers=HEADERS)
        p.send(topic, b"dict", partition=5, headers={"a": b"1", "b": None})
        p.produce(topic, b"produce", partition=0, headers=HEADERS, on_delivery=lambda e, m: delivered.append(m))
        assert p.flush(20) == 0
    for v in (b"send", b"send-tuple", b"send_string", b"batch-common-0", b"batch-common-1", b"batch-keyed",
              b"produce"):
        sent[v] = HEADERS_READ
    for i in range(3):
        sent[b"batch-each-%d" % i] = per_record[i]
    sent[b"dict"] = [("a", b"1"), ("b", None)]

    async def main() -> None:
        async with gofka.AsyncProducer(brokers, timeout=20) as ap:
            await ap.send(topic, b"async-send", partition=1, headers=HEADERS)
            await ap.send_string(topic, "async-send_string", partition=2, headers=HEADERS)
            await ap.send_batch(topic, [b"async-batch-0", b"async-batch-1"], partition=3, headers=HEADERS)
            await ap.send_batch(topic, [b"async-batch-each-%d" % i for i in range(3)], partition=4,
                                headers=per_record)

    asyncio.run(asyncio.wait_for(main(), 60))
    for v in (b"async-send", b"async-send_string", b"async-batch-0", b"async-batch-1"):
        sent[v] = HEADERS_READ
    for i in range(3):
        sent[b"async-batch-each-%d" % i] = per_record[i]

    got = {m.value: m for m in read_all(brokers, topic, len(sent))}
    assert set(got) == set(sent)
    for v, hl in sent.items():
        m = got[v]
        assert m.header_list == hl, v
        assert m.headers == dict(hl), v  # the dict keeps a repeated key's last value
    # The produce() delivery report keeps them too.
    assert len(delivered) == 1 and delivered[0].header_list == HEADERS_READ
    assert delivered[0].headers == dict(HEADERS_READ)


@pytest.mark.parametrize("bad, words", [
    (5, "headers must be a dict or a list of (str, value) pairs, not int"),
    ("a=b", "headers must be a dict or a list of (str, value) pairs, not str"),
    ([("a", b"1", b"2")], "headers[0] must be a (str, value) pair, not 3 items"),
    ([b"ab"], "headers[0] must be a (str, value) pair, not bytes"),
    ([(b"a", b"1")], "header keys must be str, not bytes"),
    ([("a", 1)], "value must be bytes, str or None, not int"),
    ({"a": 1}, "value must be bytes, str or None, not int"),
])
def test_bad_header_shapes_raise_type_error(brokers: str, bad: Any, words: str) -> None:
    with gofka.Producer(brokers, timeout=5) as p:
        for call in (lambda: p.send("t", b"x", headers=bad),
                     lambda: p.send_string("t", "x", headers=bad),
                     lambda: p.send_batch("t", [b"x"], keys=[None], headers=bad),
                     lambda: p.produce("t", b"x", headers=bad)):
            with pytest.raises(TypeError) as exc:
                call()
            assert words in str(exc.value)

    async def main() -> None:
        ap = gofka.AsyncProducer(brokers, timeout=5)
        try:
            for coro in (lambda: ap.send("t", b"x", headers=bad), lambda: ap.send_string("t", "x", headers=bad),
                         lambda: ap.send_batch("t", [b"x"], headers=bad)):
                with pytest.raises(TypeError) as exc:
                    await coro()
                assert words in str(exc.value)
        finally:
            await ap.close()

    asyncio.run(main())


def test_message_header_list() -> None:
    m = Message("t", 0, 1, b"v", [("a", b"1"), ("a", b"2"), ("b", None)])
    assert m.headers == {"a": b"2", "b": None}
    assert m.header_list == [("a", b"1"), ("a", b"2"), ("b", None)]
    assert "('a', b'1'), ('a', b'2')" in repr(m)
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(m)).header_list == m.header_list
    assert copy.copy(m) == m
    assert m != Message("t", 0, 1, b"v", {"a": b"2", "b": None})
    # Without repeats the list follows the dict.
    d = Message("t", 0, 1, b"v", {"x": b"1"})
    assert d.header_list == [("x", b"1")]
    d.headers = {"y": None}
    assert d.header_list == [("y", None)]
    assert Message("t", 0, 1, b"v").header_list == []
    m.header_list = [("c", b"3")]
    assert m.headers == {"c": b"3"}
    m.headers = {"d": b"4"}
    assert m.header_list == [("d", b"4")]
    with pytest.raises(TypeError, match="header_list must be a list"):
        m.header_list = {"a": b"1"}  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"header_list\[0\] must be a \(str, bytes \| None\) tuple"):
        Message("t", 0, 1, b"v", [("a", b"1", 3)])  # type: ignore[list-item]


def test_same_without_speedups(brokers: str) -> None:
    """This file again, in pure Python (GOFKA_NO_SPEEDUPS=1), on the same
    cluster."""
    if os.environ.get("GOFKA_NO_SPEEDUPS", "") not in ("", "0"):
        pytest.skip("already running without the speedups")
    assert message.speedups is not None or os.environ.get("GOFKA_REQUIRE_SPEEDUPS") != "1"
    env = dict(os.environ, GOFKA_NO_SPEEDUPS="1", GOFKA_BROKERS=brokers)
    env.pop("GOFKA_REQUIRE_SPEEDUPS", None)
    mode = subprocess.run([sys.executable, "-c", "import gofka.message as m; print(m.speedups is None)"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert mode.stdout.strip() == "True", mode.stdout + mode.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", __file__,
         "-k", "not test_same_without_speedups"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout




@pytest.mark.parametrize("impl", ["c", "python"])
def test_chunks_keep_order_where_engine_and_explicit_partitions_meet(impl: str) -> None:
    """produce() and AsyncProducer.send group pending records per (topic,
    partition) into library calls; a record left to the engine (-1, e.g.
    keyed) may land on a partition that explicit records name, so the
    chunks, in order, must keep every such pair in send order."""
    import random

    from gofka import _producer_base

    if impl == "c" and message.speedups is None:
        pytest.skip("gofka._speedups not built")
    chunk = message.speedups.chunk_records if impl == "c" else _producer_base.chunk_records_py
    rng = random.Random(7)
    for _ in range(30):
        recs = [(rng.choice([b"a", b"b"]), rng.choice([-1, -1, 0, 1]), None, b"%d" % i, -1, b"", 50, None, "t", None)
                for i in range(rng.randint(1, 60))]
        out = [r for _, _, rs, _ in chunk(recs, rng.choice([100, 1 << 20])) for r in rs]
        assert sorted(out, key=lambda r: int(r[3])) == recs  # nothing lost or doubled
        for topic in (b"a", b"b"):
            for p in (0, 1):
                def sel(rs: List[Any]) -> List[Any]:
                    return [r[3] for r in rs if r[0] == topic and r[1] in (-1, p)]

                assert sel(out) == sel(recs), (topic, p)


def test_custom_partitioner_errors_and_replacement(brokers: str, admin: Any) -> None:
    topic = new_topic(admin)
    with pytest.raises(TypeError, match="partitioner must be callable"):
        gofka.Producer(brokers, partitioner=5)  # type: ignore[arg-type]
    with gofka.Producer(brokers, timeout=20, partitioner=lambda k, n, t: n) as p:
        with pytest.raises(ValueError, match="partitioner returned partition 6; topic .* has 6 partitions"):
            p.send(topic, b"x", key=b"k")
        with pytest.raises(ValueError, match="returned partition 6"):
            p.produce(topic, b"x")
        with pytest.raises(ValueError, match="returned partition 6"):
            p.send_batch(topic, [b"x"])
        p.partitioner = lambda k, n, t: "0"  # type: ignore[assignment,return-value]
        with pytest.raises(TypeError, match="it must return an int"):
            p.send(topic, b"x")
        assert "produce" not in vars(p)  # Producer.produce runs the partitioner
        p.partitioner = None  # back to murmur2 / 0, and produce's direct binding
        assert "produce" in vars(p)
        p.send(topic, b"keyed", key=b"foobar")
        p.produce(topic, b"produced", key=b"foobar")
        assert p.flush(20) == 0
    got = where(read_all(brokers, topic, 2))
    assert got == {b"keyed": java_partition(b"foobar"), b"produced": java_partition(b"foobar")}
