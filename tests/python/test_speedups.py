"""The optional C speedups (python/gofka/_speedups_src) against the pure-Python
decoder they replace: same Messages and events from the same buffers, a
clean ValueError (never a crash) on malformed ones, and the package working
end to end without them (GOFKA_NO_SPEEDUPS=1).

`make test` builds the speedups and sets GOFKA_REQUIRE_SPEEDUPS=1, so a
build that silently fell back to pure Python fails here.
"""

from __future__ import annotations

import copy
import ctypes
import gc
import os
import pickle
import random
import struct
import subprocess
import sys
import textwrap
import types
import weakref
from typing import List, Optional, Sequence, Tuple

import pytest

import gofka
from gofka import Message, _consumer_base, consumer, message

speedups = message.speedups
needs_speedups = pytest.mark.skipif(speedups is None, reason="gofka._speedups not built (no Python headers)")

Record = Tuple[str, int, int, int, Optional[bytes], Optional[bytes], Optional[Sequence[Tuple[bytes, Optional[bytes]]]]]


def pack_poll(records: Sequence[Record], events: Sequence[Tuple[int, Sequence[Tuple[str, int]]]] = ()) -> bytes:
    """The messages format of include/gofka.h, as capi/consumer.go packPoll
    writes it: header, topic table, events, message heads, data."""
    names: List[str] = []

    def index(t: str) -> int:
        if t not in names:
            names.append(t)
        return names.index(t)

    ev_parts = []
    for kind, tps in events:
        ev_parts.append(struct.pack("<ii", kind, len(tps)) + b"".join(struct.pack("<ii", index(t), p) for t, p in tps))
    for r in records:
        index(r[0])
    out = struct.pack("<iii", len(records), len(events), len(names))
    for t in names:
        raw = t.encode()
        out += struct.pack("<i", len(raw)) + raw
    out += b"".join(ev_parts)
    data_at = len(out) + 48 * len(records)
    heads = b""
    data = b""

    def span(field: Optional[bytes]) -> bytes:
        nonlocal data
        if field is None:
            return struct.pack("<ii", -1, -1)
        start = data_at + len(data)
        data += field
        return struct.pack("<ii", start, start + len(field))

    for topic, partition, offset, ts, key, value, headers in records:
        head = struct.pack("<iiqq", index(topic), partition, offset, ts) + span(key) + span(value)
        if not headers:
            head += struct.pack("<ii", -1, -1)
        else:
            block = struct.pack("<i", len(headers))
            for hk, hv in headers:
                block += struct.pack("<i", len(hk)) + hk
                block += struct.pack("<i", -1) if hv is None else struct.pack("<i", len(hv)) + hv
            head += span(block)
        heads += head
    return out + heads + data


def sample_records(rng: random.Random, n: int) -> List[Record]:
    topics = ["orders", "events-\u00e9", "t"]
    out: List[Record] = []
    for i in range(n):
        key = None if rng.random() < 0.3 else bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 12)))
        value = None if rng.random() < 0.1 else bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        headers = None
        if rng.random() < 0.4:
            headers = [("h\u00e9%d" % j).encode() for j in range(rng.randint(0, 3))]
            headers = [(k, None if rng.random() < 0.3 else b"v" * rng.randint(0, 5)) for k in headers]
        out.append((rng.choice(topics), rng.randint(0, 2**31 - 1), rng.randint(0, 2**62), rng.randint(-1, 2**42), key, value, headers))
    return out


def expected(records: Sequence[Record]) -> List[Message]:
    return [
        Message(t, p, o, v, None if not h else {k.decode(): hv for k, hv in h}, ts / 1000.0, k)
        for t, p, o, ts, k, v, h in records
    ]


def test_speedups_present_when_required() -> None:
    if os.environ.get("GOFKA_REQUIRE_SPEEDUPS") == "1":
        assert speedups is not None, "gofka._speedups did not load: `make build` needs Python's headers"
        assert Message.__mro__[1] is speedups.MessageFields


@pytest.mark.parametrize("seed", range(5))
def test_both_decoders_agree(seed: int) -> None:
    rng = random.Random(seed)
    records = sample_records(rng, rng.randint(0, 200))
    events = [(1, [("orders", 0), ("t", 5)]), (2, []), (3, [("new-topic", 7)])] if seed % 2 else []
    buf = pack_poll(records, events)
    want_events = [(k, [consumer.TopicPartition(t, p) for t, p in tps]) for k, tps in events]
    msgs, evs = _consumer_base.parse_poll_py(buf)
    assert msgs == expected(records)
    assert evs == want_events
    msgs2, evs2 = consumer.parse_poll(buf)
    assert msgs2 == msgs
    assert evs2 == want_events
    assert all(type(m) is Message for m in msgs2)


@needs_speedups
def test_parse_poll_takes_bytes_only() -> None:
    with pytest.raises(TypeError):
        speedups.parse_poll("not a buffer")
    with pytest.raises(TypeError):
        speedups.parse_poll(ctypes.addressof(ctypes.create_string_buffer(16)))


@needs_speedups
def test_malformed_buffers_raise_value_error() -> None:
    rng = random.Random(11)
    buf = pack_poll(sample_records(rng, 20), [(1, [("orders", 1)])])
    # Every truncation: every byte of the buffer belongs to a count, a head
    # or a field's range, so each one is refused.
    for n in range(len(buf)):
        with pytest.raises(ValueError):
            speedups.parse_poll(buf[:n])
    # Random corruption of header and head bytes (bounded count): decoding
    # either succeeds or raises ValueError / UnicodeDecodeError (a
    # ValueError); it never crashes or reads outside the buffer.
    heads_end = min(len(buf), 400 + 48 * 20)
    for _ in range(3000):
        b = bytearray(buf)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(heads_end)] = rng.getrandbits(8)
        try:
            msgs, _ = speedups.parse_poll(bytes(b))
        except ValueError:
            continue
        for m in msgs:
            assert m.value is None or len(m.value) <= len(buf)
    bad_count = struct.pack("<iii", 2**30, 0, 0)
    with pytest.raises(ValueError):
        speedups.parse_poll(bad_count)


@needs_speedups
def test_built_messages_behave_like_constructed_ones() -> None:
    buf = pack_poll([("t", 1, 5, 1500, None, b"v", None), ("t", 1, 6, 1500, b"k", b"w", [(b"a", b"1")])])
    (a, b), _ = speedups.parse_poll(buf)
    assert a.headers == {} and a.headers is a.headers
    a.headers["x"] = b"y"
    assert a.headers == {"x": b"y"} and b.headers == {"a": b"1"}
    a.value = b"changed"
    assert a == Message("t", 1, 5, b"changed", {"x": b"y"}, 1.5)
    assert pickle.loads(pickle.dumps(b)) == b
    assert copy.deepcopy(b) == b and copy.copy(b) == b
    assert repr(b) == repr(Message("t", 1, 6, b"w", {"a": b"1"}, 1.5, b"k"))
    with pytest.raises(AttributeError):
        del a.headers
    with pytest.raises(AttributeError):
        a.other = 1  # type: ignore[attr-defined]


@needs_speedups
def test_message_class_must_add_no_storage() -> None:
    class WithSlot(speedups.MessageFields):  # type: ignore[misc,name-defined]
        __slots__ = ("extra",)

    with pytest.raises(TypeError):
        speedups.set_message_class(WithSlot)
    with pytest.raises(TypeError):
        speedups.set_message_class(int)


def test_pure_python_end_to_end(brokers: str, topic: str) -> None:
    """The package without its C half, on the same cluster: produce keyed
    records with headers and read them back."""
    script = textwrap.dedent(
        """
        import sys, gofka
        from gofka import message
        assert message.speedups is None
        assert gofka.Message.__mro__[1].__name__ == "_PyMessageFields"
        brokers, topic = sys.argv[1], sys.argv[2]
        admin = gofka.AdminClient(brokers=brokers)
        admin.create_topic(topic, num_partitions=1, replication_factor=1)
        admin.close()
        p = gofka.Producer(brokers=brokers)
        for i in range(50):
            p.send(topic, b"v%d" % i, 0, key=b"k%d" % i, headers={"n": str(i).encode()})
        p.close()
        c = gofka.Consumer(brokers, None, None, auto_offset_reset="earliest")
        c.assign([(topic, 0)])
        got = []
        while len(got) < 50:
            got += c.poll(max_messages=100, timeout=10)
        c.close()
        for i, m in enumerate(got):
            assert (m.offset, m.key, m.value, m.headers) == (i, b"k%d" % i, b"v%d" % i, {"n": str(i).encode()}), m
        print("ok", len(got))
        """
    )
    env = dict(os.environ, GOFKA_NO_SPEEDUPS="1", PYTHONPATH=os.pathsep.join(sys.path))
    res = subprocess.run([sys.executable, "-c", script, brokers, topic], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == "ok 50"


def test_gofka_exports_message() -> None:
    assert gofka.Message is Message


class _Owner(object):
    """What PendingRecords calls back into (Producer's methods)."""

    def __init__(self) -> None:
        self.woken = 0
        self.pushes = 0
        self.push_result = True

    def _wake_flusher(self) -> None:
        self.woken += 1

    def _push(self) -> bool:
        self.pushes += 1
        return self.push_result

    def _too_large(self, size: int) -> Exception:
        return gofka.ProduceError("too large %d" % size)

    def _queue_full(self) -> Exception:
        return gofka.ProduceError("queue full")

    def _closed_error(self) -> Exception:
        return gofka.GofkaError("closed")


_CB = print
_PRODUCE_CASES = [
    (("t", b"v"), {}),
    (("t", b"v"), {"on_delivery": _CB}),
    (("t", b"v", b"k", 3), {}),
    (("t", None, None, None), {}),
    (("t", b"v"), {"partition": -1, "callback": _CB}),
    (("t", bytearray(b"v")), {}),
    (("t", memoryview(b"mv"), b"k"), {}),
    (("t", b"v"), {"headers": {"a": b"1", "b": None, "c": "s"}}),
    (("t", b"v"), {"headers": {}}),
    (("t", b"v"), {"timestamp": 1700000000.5}),
    (("t", b"v", None, 2**31 - 1), {}),
    (("t", b"v", None, 2**31), {}),
    (("t", b"v", None, -2), {}),
    (("t", b"v", None, True), {}),
    (("t", b"v", None, 1.0), {}),
    (("t", "str value"), {}),
    (("t", b"v", "str key"), {}),
    ((b"bytes-topic", b"v"), {}),
    (("", b"v"), {}),
    (("a\0b", b"v"), {}),
    ((None, b"v"), {}),
    (("t", b"v"), {"on_delivery": _CB, "callback": _CB}),
    (("t", b"v"), {"on_delivery": 42}),
    (("t", b"v"), {"headers": [("a", b"1")]}),
    (("t", b"v"), {"headers": {1: b"x"}}),
    (("t", b"v"), {"timestamp": -1}),
    (("t", b"v"), {"timestamp": float("nan")}),
    (("t", b"v"), {"timestamp": "now"}),
    (("t", b"x" * 2000), {}),
]


def _outcome(cls: type, args: tuple, kwargs: dict) -> object:
    owner = _Owner()
    q = cls(owner, gofka.producer.normalize_record, gofka.producer.PARTITION_DEFAULT, 1000, 4)
    try:
        q.produce(*args, **kwargs)
    except Exception as e:  # the outcome compared is the exception itself
        return (type(e).__name__, str(e))
    recs = q.take()
    return (recs, q.produced, len(q), owner.woken)


@needs_speedups
@pytest.mark.parametrize("case", range(len(_PRODUCE_CASES)))
def test_produce_same_in_c_and_python(case: int) -> None:
    args, kwargs = _PRODUCE_CASES[case]
    c = _outcome(speedups.PendingRecords, args, kwargs)
    py = _outcome(gofka.producer._PyPendingRecords, args, kwargs)
    assert c == py


@pytest.mark.parametrize("impl", ["c", "py"])
def test_pending_records_push_close_and_wake(impl: str) -> None:
    if impl == "c" and speedups is None:
        pytest.skip("gofka._speedups not built")
    cls = speedups.PendingRecords if impl == "c" else gofka.producer._PyPendingRecords
    owner = _Owner()
    q = cls(owner, gofka.producer.normalize_record, gofka.producer.PARTITION_DEFAULT, 1000, 4)
    for i in range(4):
        q.produce("t", b"%d" % i)
    assert (len(q), q.produced, owner.woken, owner.pushes) == (4, 4, 1, 0)
    q.produce("t", b"4")  # 4 pending: pushes first (the fake keeps them)
    assert (len(q), q.produced, owner.pushes) == (5, 5, 1)
    owner.push_result = False
    with pytest.raises(gofka.ProduceError, match="queue full"):
        q.produce("t", b"5")
    assert q.produced == 5
    assert [r[3] for r in q.take()] == [b"0", b"1", b"2", b"3", b"4"]
    assert len(q) == 0
    q.closed = True
    with pytest.raises(gofka.GofkaError, match="closed"):
        q.produce("t", b"6")
    with pytest.raises(TypeError):
        q.produce()
    with pytest.raises(TypeError):
        q.produce("t", b"v", nope=1)
    with pytest.raises(TypeError):
        q.produce("t", b"v", topic="t")
    del owner
    q.closed = False
    with pytest.raises(RuntimeError, match="garbage-collected"):
        for _ in range(2):
            q.produce("t", b"v")  # the first one in an empty list wakes the (gone) owner


def _records(rng: random.Random, n: int) -> List[tuple]:
    out = []
    for i in range(n):
        topic = rng.choice(["a", "b"])
        key = None if rng.random() < 0.8 else b"k"
        ts = -1 if rng.random() < 0.9 else 1700000000000
        headers = None if rng.random() < 0.9 else {"h": "v", "n": None}
        hb = gofka._native.pack_headers(headers) if headers else b""
        value = None if rng.random() < 0.1 else b"v%d" % i
        size = rng.randint(100, 400)
        out.append((topic.encode(), rng.choice([-1, 0, 2]), key, value, ts, hb, size, None, topic, headers))
    return out


@needs_speedups
@pytest.mark.parametrize("seed", range(6))
def test_chunk_records_same_in_c_and_python(seed: int) -> None:
    rng = random.Random(seed)
    recs = _records(rng, rng.choice([0, 1, 7, 300]))
    limit = rng.choice([1, 500, 4000, 1 << 20])
    assert speedups.chunk_records(recs, limit) == gofka._producer_base.chunk_records_py(recs, limit)
    most = rng.choice([1, 3, 100])
    assert speedups.chunk_records(recs, limit, most) == gofka._producer_base.chunk_records_py(recs, limit, most)
    for bad in (0, -1):
        with pytest.raises(ValueError):
            speedups.chunk_records(recs, limit, bad)
        with pytest.raises(ValueError):
            gofka._producer_base.chunk_records_py(recs, limit, bad)


@needs_speedups
def test_serve_entry_same_in_c_and_python() -> None:
    rng = random.Random(3)
    base = _records(rng, 40)
    for impl in (speedups.serve_entry, gofka.producer._serve_entry_py):
        calls: List[tuple] = []

        def cb(err: object, msg: Message) -> None:
            calls.append((None if err is None else (type(err).__name__, str(err)), msg))
            if msg.value == b"v13":
                raise KeyError("from the callback")

        recs = [r[:7] + ((cb if i % 5 else None),) + r[8:] for i, r in enumerate(base)]
        results = [(0, 3, 100 + i) if i % 7 else (6, 3, -1, b"not leader\0127.0.0.1:9092") for i in range(40)]
        entry = [recs, results, 0, None]
        with pytest.raises(KeyError):
            impl(entry, 1234.5, gofka.producer._result_error, gofka.producer._headers_dict)
        assert entry[2] == 14  # the record of the raising callback counts as served
        impl(entry, 1234.5, gofka.producer._result_error, gofka.producer._headers_dict)
        assert entry[2] == 40
        failed = [recs[:3] + [r[:7] + (cb,) + r[8:] for r in recs[3:5]], None, 0, gofka.GofkaError("closed")]
        impl(failed, 99.0, gofka.producer._result_error, gofka.producer._headers_dict)
        if impl is speedups.serve_entry:
            c_calls = calls
        else:
            assert calls == c_calls
            assert len(calls) == 40 - 8 + 5 - 1
            assert any(c[0] is not None and "not leader" in c[0][1] for c in calls)
            assert any(m.headers == {"h": b"v", "n": None} for _, m in calls)
            assert all(m.timestamp in (1234.5, 99.0, 1700000000.0) for _, m in calls)



def test_serve_entry_with_raw_results() -> None:
    """A batch without failures keeps its results as the event's bytes."""
    rng = random.Random(5)
    base = _records(rng, 30)
    got = []
    for impl in (speedups.serve_entry, gofka.producer._serve_entry_py) if speedups else (gofka.producer._serve_entry_py,):
        calls: List[tuple] = []
        recs = [r[:7] + (lambda e, m: calls.append((e, m.partition, m.offset, m.value, m.key)),) + r[8:] for r in base]
        raw = b"".join(struct.pack("<iiq", 0, 4, 1000 + i) for i in range(30))
        entry = [recs, raw, 0, None]
        impl(entry, 1.0, gofka.producer._result_error, gofka.producer._headers_dict)
        assert entry[2] == 30
        assert calls == [(None, 4, 1000 + i, base[i][3], base[i][2]) for i in range(30)]
        got.append(calls)
        with pytest.raises(ValueError):
            impl([recs, raw[:-16], 0, None], 1.0, gofka.producer._result_error, gofka.producer._headers_dict)
    assert all(g == got[0] for g in got)


# AsyncProducer.send: the C fast path (AsyncSends.send) against the Python
# method it falls back to, case by case: the same record tuple or the same
# error.
_SEND_CASES = [
    (("t", b"v"), {}),
    (("t", b"v", None), {}),
    (("t", b"v", 3), {}),
    (("t", b"v", -1), {}),
    (("t", b"v"), {"key": b"k"}),
    (("t", None), {}),
    (("t", b"v", None, b"k"), {}),
    (("t", b"v"), {"partition": 2**31 - 1}),
    (("t", b"v"), {"partition": 2**31}),
    (("t", b"v"), {"partition": -2}),
    (("t", b"v"), {"partition": True}),
    (("t", b"v"), {"partition": 1.0}),
    (("t", bytearray(b"v")), {}),
    (("t", memoryview(b"mv")), {"key": bytearray(b"k")}),
    (("t", "str"), {}),
    (("t", b"v"), {"key": "k"}),
    (("t", b"v"), {"headers": {"a": b"1", "b": None}}),
    (("t", b"v"), {"headers": {}}),
    (("t", b"v"), {"timestamp": 1700000000.5}),
    (("t", b"v"), {"timestamp": "now"}),
    ((b"t", b"v"), {}),
    (("", b"v"), {}),
    ((None, b"v"), {}),
    (("t",), {}),
    (("t", b"v"), {"nope": 1}),
    (("t", b"v", 0, None, None, 1), {}),
]


def _send_outcome(fast: bool, args: tuple, kwargs: dict) -> object:
    import asyncio

    async def main() -> object:
        p = gofka.AsyncProducer("127.0.0.1:1")
        try:
            p.send("t", b"warm-up")  # binds the loop, caches the topic
            p._sends.take()
            send = p.send if fast else (lambda *a, **k: gofka.AsyncProducer.send(p, *a, **k))
            try:
                fut = send(*args, **kwargs)
            except Exception as e:  # the outcome compared is the exception itself
                return (type(e).__name__, str(e))
            recs = p._sends.take()
            assert [r[7] for r in recs] == [fut]
            return [r[:7] for r in recs]
        finally:
            await p.close(0)

    return asyncio.run(main())


@needs_speedups
@pytest.mark.parametrize("case", range(len(_SEND_CASES)))
def test_async_send_same_in_c_and_python(case: int) -> None:
    args, kwargs = _SEND_CASES[case]
    assert _send_outcome(True, args, kwargs) == _send_outcome(False, args, kwargs)


@needs_speedups
def test_async_send_fast_path_is_used_and_packs_early() -> None:
    import asyncio

    async def main() -> None:
        p = gofka.AsyncProducer("127.0.0.1:1")
        try:
            assert p.send.__self__ is p._sends  # the C method, not the Python one
            p.send("t", b"v")
            packed = []
            p._pack = lambda: packed.append(len(p._sends.take()))  # type: ignore[method-assign]
            for _ in range(2047):
                p.send("t", b"v")
            # The 2048th buffered send packs at once, without yielding.
            assert packed == [2048]
            # A subclass overriding send keeps its override.

            class Mine(gofka.AsyncProducer):
                def send(self, *a: object, **k: object) -> object:  # type: ignore[override]
                    return "mine"

            m = Mine("127.0.0.1:1")
            assert m.send("t", b"v") == "mine"
            await m.close(0)
        finally:
            p._sends.take()
            await p.close(0)

    asyncio.run(main())


def _sync_send_outcomes(p: gofka.Producer, topic: str) -> List[object]:
    """What Producer.send returns or raises for a set of calls: offsets
    relative to the first, exceptions by class, code and message."""
    calls = [
        ((topic, b"v"), {}),
        ((topic, b"v"), {"key": b"k", "headers": {"h": b"1", "n": None}, "timestamp": 1700000000.5}),
        ((topic, bytearray(b"v")), {"key": memoryview(b"k")}),
        ((topic, b"v", 7), {}),  # the topic has one partition
        ((topic, "v"), {}),
        ((topic, b"v"), {"key": "k"}),
        (("", b"v"), {}),
        ((topic + "\0", b"v"), {}),
        ((topic, b"v"), {"headers": {1: b"x"}}),
    ]
    out: List[object] = []
    base = None
    for args, kwargs in calls:
        try:
            off = p.send(*args, **kwargs)
        except Exception as e:  # the outcome compared is the exception itself
            out.append((type(e).__name__, getattr(e, "code", None), str(e).replace(topic, "<topic>")))
            continue
        base = off if base is None else base
        out.append(off - base)
    return out


@needs_speedups
def test_sync_send_same_with_and_without_fast_path(brokers: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Producer.send through _speedups.send_wait and through ctypes: same
    offsets, same exceptions."""
    import uuid

    from gofka import producer as producer_mod

    assert producer_mod.fast_send_wait is speedups.send_wait
    got = {}
    with gofka.AdminClient(brokers) as admin, gofka.Producer(brokers, timeout=15) as p:
        for fast in (True, False):
            t = "gofka-py-fast-%s" % uuid.uuid4().hex
            admin.create_topic(t, 1, 1)
            with monkeypatch.context() as m:
                if not fast:
                    m.setattr(producer_mod, "fast_send_wait", None)
                got[fast] = _sync_send_outcomes(p, t)
    assert got[True] == got[False]
    assert got[True][:3] == [0, 1, 2]


@needs_speedups
def test_send_wait_drops_other_tokens_and_slices(brokers: str, topic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """send_wait returns its own record's offset, dropping the events of
    earlier sends that gave up waiting on the same queue; a send whose first
    wait slice ends first finishes in Python with the right offset."""
    from gofka import _native
    from gofka._bridge import EventQueue

    with gofka.Producer(brokers, timeout=15) as p:
        first = p.send(topic, b"a")
        q = EventQueue()
        try:
            err = _native.new_error()
            # An earlier send that gave up: its event will reach the queue first.
            rc = _native.lib.gofka_producer_produce(p._get(), q.handle, 1001, topic.encode(), 0, None, -1,
                                                    b"b", 1, None, 0, -1, ctypes.byref(err))
            assert rc == 0
            off = speedups.send_wait(p._get(), q.handle, 1002, topic.encode(), 0, None, b"c", b"", -1, 15000)
            assert off == first + 2
            assert q.drain(16, 0) == []  # the stale event was taken, not left behind
        finally:
            q.close()
        monkeypatch.setattr(_native, "SLICE_MS", 0)
        assert [p.send(topic, b"d"), p.send(topic, b"e")] == [first + 3, first + 4]


def _sync_poll_outcome(brokers: str, topic: str) -> List[object]:
    """Everything Consumer.poll gives for a topic of records with and
    without keys, headers and values, then what a bad call and a poll after
    close raise."""
    out: List[object] = []
    with gofka.Consumer(brokers, None, None, auto_offset_reset="earliest", timeout=15) as c:
        c.assign([(topic, 0)])
        while len(out) < 6:
            msgs = c.poll(max_messages=4, timeout=10)
            assert msgs, "the records were produced before the poll"
            out.extend((m.offset, m.key, m.value, m.headers, m.timestamp, m.topic, m.partition) for m in msgs)
        assert c.poll(max_messages=4, timeout=0.2) == []
        with pytest.raises(ValueError):
            c.poll(max_messages=0)
    with pytest.raises(gofka.exceptions.GofkaError) as info:
        c.poll()
    out.append((type(info.value).__name__, str(info.value)))
    return out


@needs_speedups
def test_sync_poll_same_with_and_without_fast_path(brokers: str, topic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Consumer.poll through _speedups.consumer_poll and through ctypes:
    the same messages, the same exceptions. The switch is made where
    poll_native reads it (_consumer_base), and the ctypes run is seen to
    decode in Python (patching a re-exported copy in gofka.consumer once
    left both runs on the fast path)."""
    assert _consumer_base.fast_consumer_poll is speedups.consumer_poll
    with gofka.Producer(brokers, timeout=15) as p:
        p.send(topic, b"plain", timestamp=1700000000.25)
        p.send(topic, b"keyed", key=b"k", timestamp=1700000000.5)
        p.send(topic, b"", headers={"h": b"1", "n": None}, timestamp=1700000001)
        for i in range(3):
            p.send(topic, b"v%d" % i, key=b"%d" % i, timestamp=1700000002)
    decoded_in_python: List[int] = []
    parse_poll_py = _consumer_base.parse_poll_py

    def counting_parse(buf: bytes) -> object:
        decoded_in_python.append(len(buf))
        return parse_poll_py(buf)

    monkeypatch.setattr(_consumer_base, "parse_poll_py", counting_parse)
    fast = _sync_poll_outcome(brokers, topic)
    assert decoded_in_python == []
    monkeypatch.setattr(_consumer_base, "fast_consumer_poll", None)
    slow = _sync_poll_outcome(brokers, topic)
    assert decoded_in_python, "the ctypes path was not taken"
    assert fast == slow
    assert [o[2] for o in fast[:6]] == [b"plain", b"keyed", b"", b"v0", b"v1", b"v2"]
    assert fast[2][3] == {"h": b"1", "n": None}


@needs_speedups
def test_consumer_poll_reports_library_failures(brokers: str) -> None:
    """consumer_poll hands back the library's error fields instead of
    raising: a bad argument, a handle that is not a consumer's."""
    from gofka import _native

    with gofka.Consumer(brokers, None, None, timeout=15) as c:
        msgs, fields = speedups.consumer_poll(c._get(), 0, 0)
        assert msgs is None
        assert fields[0] == _native.ERR_INVALID_ARGUMENT
        assert b"max_messages" in fields[2]
        assert speedups.consumer_poll(c._get(), 5, 0) == ([], [])
    msgs, fields = speedups.consumer_poll(0, 1, 0)
    assert msgs is None and fields[0] == _native.ERR_INVALID_HANDLE


class _CbOwner(object):
    def cb(self, err: object, msg: object) -> None:
        pass


class _EqCounting(object):
    """A callable whose __eq__ is Python code (and records its calls)."""

    calls = 0

    def __call__(self, *args: object) -> None:
        pass

    def __eq__(self, other: object) -> bool:
        _EqCounting.calls += 1
        return True

    __hash__ = object.__hash__


@pytest.mark.parametrize("impl", ["c", "py"])
def test_callback_slots_run_no_user_code(impl: str) -> None:
    """Choosing a slot compares bound methods by identity of instance and
    function: a user __eq__ (Python code that could produce while the slot
    table is being updated) never runs; methods of equal-comparing but
    distinct functions get slots of their own."""
    if impl == "c" and speedups is None:
        pytest.skip("gofka._speedups not built")
    cls = speedups.PendingRecords if impl == "c" else gofka.producer._PyPendingRecords
    owner = _Owner()
    q = cls(owner, gofka.producer.normalize_record, gofka.producer.PARTITION_DEFAULT, 1000, 100)
    o = _CbOwner()
    f1, f2 = _EqCounting(), _EqCounting()
    _EqCounting.calls = 0
    q.produce("t", b"v", on_delivery=types.MethodType(f1, o))
    q.produce("t", b"v", on_delivery=types.MethodType(f1, o))  # same instance and function: shared
    q.produce("t", b"v", on_delivery=types.MethodType(f2, o))  # f2 == f1, but another object
    assert [r[7] for r in q.take()] == [0, 0, 1]
    assert _EqCounting.calls == 0


@pytest.mark.parametrize("impl", ["c", "py"])
def test_pending_records_callback_slots(impl: str) -> None:
    """Record tuples hold the slot of their callback (item 7), not the
    callback: consecutive records with one callback (or bound methods of
    one instance, a new object per access) share a slot; take_callback
    returns it once per record, frees the slot at the last, and refuses a
    slot no pending record holds. The common tuple is not GC-tracked."""
    if impl == "c" and speedups is None:
        pytest.skip("gofka._speedups not built")
    cls = speedups.PendingRecords if impl == "c" else gofka.producer._PyPendingRecords
    owner = _Owner()  # (held weakly by q)
    q = cls(owner, gofka.producer.normalize_record, gofka.producer.PARTITION_DEFAULT, 1000, 100)
    o = _CbOwner()
    for _ in range(3):
        q.produce("t", b"v", on_delivery=o.cb)
    q.produce("t", b"v", on_delivery=print)
    q.produce("t", b"v")
    q.produce("t", b"v", callback=o.cb)
    recs = q.take()
    assert [r[7] for r in recs] == [0, 0, 0, 1, None, 2]  # (not consecutive: a slot of its own)
    gc.collect()  # (the pure-Python tuples are untracked at a collection)
    assert not any(gc.is_tracked(r) for r in recs)
    assert [q.take_callback(0) == o.cb for _ in range(3)] == [True] * 3
    with pytest.raises(ValueError):
        q.take_callback(0)  # its three records served: the slot is free
    assert q.take_callback(2) == o.cb
    assert q.take_callback(1) is print
    with pytest.raises(ValueError):
        q.take_callback(7)
    q.produce("t", b"v", on_delivery=len)  # reuses a freed slot
    assert q.take()[0][7] in (0, 1, 2)


def _chunk_types() -> List[type]:
    return [gofka.producer._PyChunkRecords] + ([speedups.ChunkRecords] if speedups is not None else [])


@pytest.mark.parametrize("seed", range(8))
def test_chunk_records_keep_what_callbacks_read(seed: int) -> None:
    """ChunkRecords (C and pure Python): chunk[i] is record i's tuple with
    items 5 and 6 (headers_b, size) dropped, or only its count when no
    record has a callback; the same in both."""
    rng = random.Random(seed)
    recs = _records(rng, rng.choice([0, 1, 5, 200]))
    cbs = [print, len, None]
    mode = seed % 4  # 0: one callback; 1: mixed; 2: none; 3: one slot above 256 (a new int per record)
    for i, r in enumerate(recs):
        cb = {0: print, 1: rng.choice(cbs), 2: None, 3: int("1000")}[mode]
        recs[i] = r[:7] + (cb,) + r[8:]
    kept = [r[:5] + (None, None) + r[7:] for r in recs]
    for typ in _chunk_types():
        c = typ(b"t", 3, recs)
        assert len(c) == len(recs)
        got = [c[i] for i in range(len(c))]
        if mode == 2 or not recs:
            assert got == [(b"t", 3, None, None, None, None, None, None, None, None)] * len(recs)
        else:
            assert got == [(b"t", 3) + k[2:] for k in kept]
            assert all(g[3] is r[3] for g, r in zip(got, recs))  # the objects produce() was given
        with pytest.raises(IndexError):
            c[len(recs)]
    c = gofka.producer._PyChunkRecords(b"t", 3, recs)
    if recs and mode != 2:
        assert c.per_record[5] == (mode == 1 and len({r[7] for r in recs}) > 1)  # equal slots share


@pytest.mark.parametrize("chunk_type", ["c", "python"])
def test_serve_entry_reads_chunk_records(chunk_type: str) -> None:
    """Both serve_entry twins serve a ChunkRecords of either twin as they
    serve the list of its record tuples: the same calls, the same
    messages, failures included."""
    if chunk_type == "c" and speedups is None:
        pytest.skip("gofka._speedups is not built")
    typ = speedups.ChunkRecords if chunk_type == "c" else gofka.producer._PyChunkRecords
    base = _records(random.Random(11), 30)
    impls = [gofka.producer._serve_entry_py] + ([speedups.serve_entry] if speedups is not None else [])
    outcomes = []
    for impl in impls:
        for form in ("list", "chunk"):
            calls: List[tuple] = []

            def cb(err: object, msg: Message) -> None:
                calls.append((None if err is None else str(err), msg.topic, msg.partition, msg.offset, msg.value,
                              msg.key, msg.headers, msg.timestamp))

            recs = [(b"a", 2) + r[2:7] + ((cb if i % 4 else None),) + r[8:] for i, r in enumerate(base)]
            results = [(0, 2, 50 + i) if i % 6 else (6, 2, -1, b"not leader\0b:1") for i in range(30)]
            raw = b"".join(struct.pack("<iiq", 0, 2, 900 + i) for i in range(30))
            for res in (results, raw, None):
                held = recs if form == "list" else typ(b"a", 2, recs)
                entry = [held, res, 0, gofka.GofkaError("closed") if res is None else None]
                impl(entry, 77.0, gofka.producer._result_error, gofka.producer._headers_dict)
                assert entry[2] == 30
            outcomes.append(calls)
    assert len(outcomes[0]) == 3 * 22
    assert all(o == outcomes[0] for o in outcomes)


@needs_speedups
def test_chunk_records_tracked_only_when_they_can_be_in_a_cycle() -> None:
    """A chunk of bytes, str, int and None is untracked by the cyclic GC
    (nothing to traverse at each collection); one holding headers (a
    container) stays tracked, so that a cycle through them is collected."""
    plain = (b"t", 3, None, b"v", -1, b"", 101, 0, "t", None)
    assert not gc.is_tracked(speedups.ChunkRecords(b"t", 3, [plain] * 3))
    mixed = [plain, plain[:3] + (b"w",) + plain[4:]]  # a per-record value list, untracked as well
    assert not gc.is_tracked(speedups.ChunkRecords(b"t", 3, mixed))
    class Headers(dict):  # (a dict subclass takes a weak reference)
        pass

    headers = Headers(k=b"v")
    c = speedups.ChunkRecords(b"t", 3, [plain[:9] + (headers,)] * 2)
    assert gc.is_tracked(c)
    headers["chunk"] = c  # a cycle: headers -> chunk -> headers
    ref = weakref.ref(headers)
    del c, headers
    gc.collect()
    assert ref() is None
