"""Producer.produce / poll / flush: the confluent-kafka-style non-blocking
path, with delivery callbacks served in the polling thread."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections import deque
from typing import Any, Deque, List, Optional, Tuple

import pytest

import gofka
from gofka.exceptions import GofkaError


class Recorder(object):
    """A delivery callback that records (err, message, thread)."""

    def __init__(self) -> None:
        self.calls: List[Tuple[Optional[GofkaError], gofka.Message, int]] = []

    def __call__(self, err: Optional[GofkaError], msg: gofka.Message) -> None:
        self.calls.append((err, msg, threading.get_ident()))

    def errors(self) -> List[GofkaError]:
        return [e for e, _, _ in self.calls if e is not None]


def test_produce_flush_delivers_in_order_in_caller_thread(producer: gofka.Producer, topic: str) -> None:
    rec = Recorder()
    for i in range(2000):
        producer.produce(topic, b"v%d" % i, key=b"k", partition=0, on_delivery=rec,
                         headers={"i": str(i)}, timestamp=1_700_000_000 + i)
    assert producer.flush(30) == 0
    assert len(producer) == 0
    assert len(rec.calls) == 2000
    assert rec.errors() == []
    me = threading.get_ident()
    for i, (err, msg, tid) in enumerate(rec.calls):
        assert tid == me
        assert (msg.topic, msg.partition, msg.offset) == (topic, 0, i)
        assert msg.value == b"v%d" % i and msg.key == b"k"
        assert msg.headers == {"i": str(i).encode()}
        assert msg.timestamp == 1_700_000_000 + i
    # The blocking path continues after them.
    assert producer.send(topic, b"after") == 2000


def test_produce_without_callback_is_counted(producer: gofka.Producer, topic: str) -> None:
    for _ in range(500):
        producer.produce(topic, b"x", partition=0)
    assert len(producer) <= 500
    assert producer.flush(30) == 0
    assert len(producer) == 0
    assert producer.send(topic, b"after") == 500


def test_poll_serves_results(producer: gofka.Producer, topic: str) -> None:
    assert producer.poll(0) == 0
    rec = Recorder()
    producer.produce(topic, b"one", partition=0, callback=rec)  # confluent's alias
    served = 0
    deadline = time.monotonic() + 20
    while served == 0 and time.monotonic() < deadline:
        served += producer.poll(0.1)
    assert served == 1
    assert rec.calls[0][0] is None and rec.calls[0][1].offset == 0
    start = time.monotonic()
    assert producer.poll(0.05) == 0
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("speedups", [True, False], ids=["speedups", "pure-python"])
def test_poll_zero_alone_serves_every_result(brokers: str, topic: str, speedups: bool) -> None:
    """The confluent-kafka loop: produce() then poll(0), nothing that
    waits. poll(0) leaves pending records to the flusher thread and skips
    the library when nothing is due, so every record must still be handed
    over and every callback served by poll(0) calls alone."""
    rec = Recorder()
    with gofka.Producer(brokers, timeout=20, linger_ms=5) as p:
        if not speedups:
            # the Python-level produce and poll (the C fast paths are instance attributes)
            p.__dict__.pop("produce", None)
            p.__dict__.pop("poll", None)
        for i in range(300):
            p.produce(topic, b"v%d" % i, partition=0, on_delivery=rec)
            p.poll(0)
        deadline = time.monotonic() + 30
        while len(rec.calls) < 300 and time.monotonic() < deadline:
            p.poll(0)
        assert len(rec.calls) == 300, "poll(0) alone served %d of 300" % len(rec.calls)
        assert rec.errors() == []
        assert [m.offset for _, m, _ in rec.calls] == list(range(300))
        assert p.poll(0) == 0


POLL_ARGUMENTS = [
    ((0,), {}), ((0.0,), {}), ((-0.0,), {}), ((), {"timeout": 0}), ((), {"timeout": 0.0}),
    ((False,), {}), ((True,), {}), ((-1,), {}), ((float("nan"),), {}), (("0",), {}), ((b"0",), {}),
    ((0.001,), {}), ((1 << 80,), {}), ((0, 1), {}), ((), {"timeout": 0, "other": 1}), ((), {"tmo": 0}),
]


def _outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except Exception as exc:  # the type and message are compared
        return ("error", type(exc).__name__, str(exc))


@pytest.mark.parametrize("closed", [False, True], ids=["open", "closed"])
def test_poll_fast_path_answers_as_the_method(brokers: str, topic: str, closed: bool) -> None:
    """With the C speedups, Producer.poll is an IdlePoll that answers
    poll(0) itself when nothing is due: for every argument (good or bad),
    open or closed, it returns or raises what the Python method does."""
    p = gofka.Producer(brokers, timeout=20)
    try:
        if gofka.message.speedups is not None:
            assert type(p.__dict__["poll"]).__name__ == "IdlePoll"
        p.produce(topic, b"v", partition=0)
        assert p.flush(20) == 0
        if closed:
            p.close()
        for args, kwargs in POLL_ARGUMENTS:
            if args and isinstance(args[0], float) and args[0] == 0.001:
                continue  # waits: compared below without the error text
            got = _outcome(lambda: p.poll(*args, **kwargs))
            want = _outcome(lambda: gofka.Producer.poll(p, *args, **kwargs))
            assert got == want, (args, kwargs)
        assert p.poll(0.001) == gofka.Producer.poll(p, 0.001) == 0
    finally:
        p.close()


def test_idle_poll_asks_the_ready_flag_not_the_fd() -> None:
    """IdlePoll (the C poll(0)) asks the queue's ready flag, one memory
    load, instead of poll(2) on its fd (a system call per poll(0) of a
    produce loop, ~0.45 us): with a flag set, a readable fd alone no longer
    reaches the Python method, and a nonzero flag does; without a flag
    (0) the fd decides, as before; fd -1 (no queue, closed, forked) and a
    non-empty backlog always reach the method."""
    speedups = gofka.message.speedups
    if speedups is None:
        pytest.skip("gofka._speedups is not built")
    calls: List[Any] = []

    def method(owner: Any, *args: Any, **kwargs: Any) -> int:
        calls.append((args, kwargs))
        return 7

    class Owner(object):
        pass

    owner = Owner()
    backlog: Deque[Any] = deque()
    poll = speedups.IdlePoll(owner, method, backlog)
    word = ctypes.c_int32(0)
    r, w = os.pipe()
    try:
        assert poll(0) == 7  # fd -1: the method
        poll.fd = r
        assert poll(0) == 0 and len(calls) == 1  # fd not readable, no flag
        os.write(w, b"x")
        assert poll(0) == 7 and len(calls) == 2  # fd readable, no flag
        poll.flag = ctypes.addressof(word)
        assert poll(0) == 0 and poll(0.0) == 0 and poll(timeout=0) == 0  # flag 0: the readable fd is not asked
        assert len(calls) == 2
        word.value = 1
        assert poll(0) == 7 and len(calls) == 3
        word.value = 0
        backlog.append(object())
        assert poll(0) == 7 and len(calls) == 4  # results drained, not served
        backlog.clear()
        assert poll(0.5) == 7 and calls[-1] == ((0.5,), {})  # not poll(0): the method
        poll.fd = -1
        assert poll(0) == 7 and len(calls) == 6  # the flag is read only while fd >= 0
        # Nor once the owner is gone (its queue, which owns the flag, may
        # be freed with it): the call reaches the method's path, which
        # raises.
        poll.fd = r
        del owner
        with pytest.raises(RuntimeError, match="garbage-collected"):
            poll(0)
        assert len(calls) == 6
    finally:
        os.close(r)
        os.close(w)


def test_poll_each_loop_reaches_python_only_when_results_are_due(brokers: str, topic: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """produce(v, on_delivery=cb); poll(0) per record: poll(0) reaches the
    Python method (and the library) only when results wait, i.e. about
    once per completion event (one per pushed chunk), not per record, from
    the first produce() on: the event queue exists from then (before, every
    poll(0) went to the method until the flusher thread's first push). And
    the ready flag the C side reads is the queue's, nonzero exactly while
    events wait."""
    if gofka.message.speedups is None:
        pytest.skip("gofka._speedups is not built: every poll runs in Python")
    idle: List[Optional[float]] = []
    served: List[int] = []
    method = gofka.Producer.poll

    def counting_poll(self: gofka.Producer, timeout: Optional[float] = None) -> int:
        n = method(self, timeout)
        if n:
            served.append(n)
        else:
            idle.append(timeout)
        return n

    monkeypatch.setattr(gofka.Producer, "poll", counting_poll)
    n = 20000
    rec = Recorder()
    with gofka.Producer(brokers, timeout=20) as p:
        p.produce(topic, b"first", partition=0, on_delivery=rec)
        # The queue exists from the first produce() on (not from the
        # flusher thread's first push).
        assert p._queue is not None and p._idle_poll.fd == p._queue.fd
        flag = ctypes.c_int32.from_address(p._queue.ready_flag())
        assert p._idle_poll.flag == ctypes.addressof(flag)
        for i in range(n):
            p.produce(topic, b"v%d" % i, partition=0, on_delivery=rec)
            p.poll(0)
        # Only calls that found results due reached the method (and the
        # library): none came back empty-handed (the flag is set while
        # events wait, and only this thread drains the queue), and they
        # were about one per completion event, far fewer than records.
        assert idle == []
        assert len(served) <= n // 100
        assert p.flush(30) == 0
        assert len(rec.calls) == n + 1 and rec.errors() == []
        assert flag.value == 0  # everything served: no event waits
        p.produce(topic, b"last", partition=0, on_delivery=rec)
        deadline = time.monotonic() + 20
        while flag.value == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert flag.value == 1  # its event waits
        assert p.poll(0) == 1 and flag.value == 0
        assert rec.calls[-1][1].value == b"last"


def test_poll_override_in_a_subclass_is_called(brokers: str, topic: str) -> None:
    calls: List[Any] = []

    class Mine(gofka.Producer):
        def poll(self, timeout: Optional[float] = None) -> int:
            calls.append(timeout)
            return super().poll(timeout)

    with Mine(brokers, timeout=20) as p:
        p.produce(topic, b"v", partition=0)
        assert p.flush(20) == 0
        assert p.poll(0) == 0
    assert 0 in calls


def test_partitioner_default_keyed_and_sticky(brokers: str, topic: str) -> None:
    with gofka.AdminClient(brokers, timeout=15) as admin:
        admin.create_topic(topic, num_partitions=4)
    with gofka.Producer(brokers, timeout=15, batch_size=2048) as producer:
        rec = Recorder()
        for key, want in ((b"foobar", (-790332482 & 0x7FFFFFFF) % 4), (b"abc", 479470107 % 4)):
            producer.produce(topic, b"v", key=key, on_delivery=rec)
            producer.flush(15)
            assert rec.calls[-1][1].partition == want
        for _ in range(400):
            producer.produce(topic, b"x" * 100, partition=None, on_delivery=rec)
        assert producer.flush(30) == 0
        assert rec.errors() == []
        assert len({m.partition for _, m, _ in rec.calls[2:]}) >= 2


def test_callback_errors_reach_the_callback(producer: gofka.Producer, topic: str) -> None:
    producer.send(topic, b"x")
    n = producer.partition_count(topic)
    rec = Recorder()
    producer.produce(topic, b"bad", partition=n, on_delivery=rec)
    producer.produce(topic, b"good", partition=0, on_delivery=rec)
    assert producer.flush(30) == 0
    by_value = {m.value: (e, m) for e, m, _ in rec.calls}
    err, msg = by_value[b"bad"]
    assert isinstance(err, gofka.MetadataError) and err.name == "PARTITION_NOT_FOUND"
    assert msg.offset == -1
    err, msg = by_value[b"good"]
    assert err is None and msg.offset == 1


def test_callback_exception_propagates_and_keeps_the_rest(producer: gofka.Producer, topic: str) -> None:
    seen: List[int] = []

    def cb(err: Any, msg: gofka.Message) -> None:
        seen.append(msg.offset)
        if msg.offset == 0:
            raise RuntimeError("boom")

    for _ in range(3):
        producer.produce(topic, b"x", partition=0, on_delivery=cb)
    with pytest.raises(RuntimeError):
        producer.flush(30)
    assert producer.flush(30) == 0
    assert seen == [0, 1, 2]


def test_delivery_timeout_reaches_callback() -> None:
    with gofka.Producer("127.0.0.1:1", timeout=10, delivery_timeout_ms=300) as producer:
        rec = Recorder()
        producer.produce("t", b"x", on_delivery=rec)
        assert producer.flush(8) == 0
        (err, msg, _), = rec.calls
        assert isinstance(err, gofka.ProduceError) and err.name == "DELIVERY_TIMEOUT"
        assert msg.value == b"x" and msg.offset == -1


def test_close_serves_remaining_callbacks() -> None:
    rec = Recorder()
    producer = gofka.Producer("127.0.0.1:1", timeout=1)
    producer.produce("t", b"x", on_delivery=rec)
    producer.close()  # the record cannot be delivered: its callback still runs
    assert len(rec.calls) == 1
    assert rec.calls[0][0] is not None
    with pytest.raises(GofkaError) as info:
        producer.produce("t", b"y")
    assert info.value.name == "CLIENT_CLOSED"
    assert producer.poll(0) == 0
    assert producer.flush(0) == 0


def test_close_flushes_lingering_records(brokers: str, topic: str) -> None:
    rec = Recorder()
    producer = gofka.Producer(brokers, timeout=15, linger_ms=2000)
    for _ in range(100):
        producer.produce(topic, b"x", partition=0, on_delivery=rec)
    producer.close()
    assert len(rec.calls) == 100
    assert rec.errors() == []
    assert [m.offset for _, m, _ in rec.calls] == list(range(100))


@pytest.mark.parametrize("keyed", [False, True], ids=["values", "packed"])
def test_lingering_records_keep_their_bytes_while_later_chunks_arrive(brokers: str, topic: str,
                                                                       keyed: bool) -> None:
    """The library copies each handed-over chunk of records into memory it
    reuses once every record of that chunk is settled (capi/produce_slab.go).
    Chunks still lingering in the engine when later chunks arrive must keep
    their bytes: every record reads back as produced. Both hand-over
    formats: plain values (produce_values) and packed records with keys
    (produce_batch)."""
    rec = Recorder()
    sent: List[bytes] = []
    with gofka.Producer(brokers, timeout=20, linger_ms=300) as producer:
        for wave in range(8):
            values = [b"%d-%d-" % (wave, i) + bytes([65 + wave]) * (20 + i % 90) for i in range(500)]
            for v in values:
                producer.produce(topic, v, key=v[:3] if keyed else None, partition=0, on_delivery=rec)
            producer.poll(0.01)  # a waiting poll hands this wave over itself: it lingers
            sent += values
        producer.flush()
    assert rec.errors() == []
    got: List[bytes] = []
    with gofka.Consumer(brokers, None, None, timeout=20) as c:
        c.assign([(topic, 0)])
        end = time.monotonic() + 30
        while len(got) < len(sent):
            assert time.monotonic() < end, "read %d of %d records" % (len(got), len(sent))
            got += [m.value for m in c.poll(1000, timeout=0.5)]
    assert got == sent


def test_produce_argument_errors(producer: gofka.Producer, topic: str) -> None:
    for kwargs, exc in (
        ({"value": "str"}, TypeError),
        ({"value": b"v", "key": "str"}, TypeError),
        ({"value": b"v", "partition": "0"}, TypeError),
        ({"value": b"v", "partition": -2}, ValueError),
        ({"value": b"v", "on_delivery": 5}, TypeError),
        ({"value": b"v", "headers": [("a", b"b", b"c")]}, TypeError),
        ({"value": b"v", "timestamp": -1}, ValueError),
        ({"value": b"v", "on_delivery": print, "callback": print}, TypeError),
    ):
        with pytest.raises(exc):
            producer.produce(topic, **kwargs)
    with pytest.raises(TypeError):
        producer.produce(5, b"v")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        producer.produce("", b"v")
    assert producer.flush(10) == 0
    assert producer.send(topic, b"ok") == 0  # nothing above was sent


def test_tombstone_and_bytes_like(producer: gofka.Producer, topic: str) -> None:
    rec = Recorder()
    producer.produce(topic, None, key=b"k", partition=0, on_delivery=rec)
    producer.produce(topic, bytearray(b"ba"), key=memoryview(b"mv"), partition=0, on_delivery=rec)
    assert producer.flush(30) == 0
    assert [(m.value, m.key, m.offset) for _, m, _ in rec.calls] == [(None, b"k", 0), (b"ba", b"mv", 1)]


def test_many_threads_produce(producer: gofka.Producer, topic: str) -> None:
    rec = Recorder()
    errors: List[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(300):
                producer.produce(topic, b"%d-%d" % (n, i), partition=0, on_delivery=rec)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert producer.flush(30) == 0
    assert len(rec.calls) == 1800 and rec.errors() == []
    assert sorted(m.offset for _, m, _ in rec.calls) == list(range(1800))
    # Each thread's records keep their order.
    last = {}
    for _, m, _ in sorted(rec.calls, key=lambda c: c[1].offset):
        n, i = map(int, m.value.split(b"-"))
        assert last.get(n, -1) == i - 1
        last[n] = i


def test_queue_full_waits_then_succeeds(brokers: str, topic: str) -> None:
    # A buffer far smaller than what is produced: produce waits for room.
    with gofka.Producer(brokers, timeout=15, buffer_memory=64 << 10, batch_size=8 << 10) as producer:
        rec = Recorder()
        for i in range(3000):
            producer.produce(topic, b"x" * 200, partition=0, on_delivery=rec)
            if i % 500 == 0:
                producer.poll(0)
        assert producer.flush(30) == 0
        assert rec.errors() == []
        assert sorted(m.offset for _, m, _ in rec.calls) == list(range(3000))


@pytest.mark.parametrize("with_callback", [True, False], ids=["callback", "no-callback"])
@pytest.mark.parametrize("impl", ["c", "python"])
def test_buffered_records_hold_few_python_bytes(brokers: str, topic: str, monkeypatch: pytest.MonkeyPatch,
                                                impl: str, with_callback: bool) -> None:
    """Issue 22 (memory): a record the library took keeps, until its result
    is served, only what its callback needs: with one callback and no key,
    headers or timestamp, its value's reference in its chunk's column (8
    B); without a callback, nothing. Its record tuple and list slot used
    to stay until then (117 B per record here), ~10 MB of Python memory
    for the ~86,000 records of a full buffer.memory of 100 B records."""
    import gc
    import tracemalloc

    from gofka import _producer_base as pb_mod
    from gofka import producer as p_mod

    if impl == "c":
        if p_mod._speedups is None:
            pytest.skip("gofka._speedups is not built")
    else:
        monkeypatch.setattr(p_mod, "PendingRecords", p_mod._PyPendingRecords)
        monkeypatch.setattr(p_mod, "ChunkRecords", p_mod._PyChunkRecords)
        monkeypatch.setattr(p_mod, "serve_entry", p_mod._serve_entry_py)
        monkeypatch.setattr(pb_mod, "chunk_records", pb_mod.chunk_records_py)
    n = 20000
    values = [b"%03d" % i + b"x" * 97 for i in range(100)]  # shared: the caller's, not held per record
    rec = Recorder()
    with gofka.Producer(brokers, timeout=20) as p:
        p.produce(topic, b"first", partition=0)
        assert p.flush(20) == 0  # connected, metadata known, event queue and push thread made
        gc.collect()
        tracemalloc.start()
        try:
            # CPython keeps up to 2,000 freed tuples of each small size for
            # reuse: fill that free list with traced tuples before the base
            # is taken, so that record tuples freed after the hand-over and
            # kept there are not counted as held.
            spare = [tuple([i] * 10) for i in range(3000)]
            del spare
            base = tracemalloc.get_traced_memory()[0]
            for i in range(n):
                p.produce(topic, values[i % 100], partition=0, on_delivery=rec if with_callback else None)
            p._push()  # every record handed over; no result served (no poll yet)
            held = tracemalloc.get_traced_memory()[0] - base
            waiting = sum(len(r) for r in list(p._batches.values()))
        finally:
            tracemalloc.stop()
        assert waiting == n
        assert p.flush(30) == 0
    # Before: 117 B per record either way; now ~8.5 and ~0.5.
    assert held / n < (16 if with_callback else 4), held / n
    if with_callback:
        assert rec.errors() == []
        assert [m.offset for _, m, _ in rec.calls] == list(range(1, n + 1))
        assert [m.value for _, m, _ in rec.calls] == [values[i % 100] for i in range(n)]
        assert all(m.topic == topic and m.partition == 0 and m.key is None and m.headers == {}
                   for _, m, _ in rec.calls)


def test_poll_serves_many_results_without_holding_them_all_at_once(brokers: str, topic: str) -> None:
    """Issue 22 (memory): records produced without a poll have their
    results waiting in the event queue, one event per handed-over chunk
    (16 B per record). One poll still serves every result due, but takes
    them 64 events at a time: taking them all at once held every result
    three times over (the library's buffer, its bytes copy, the per-event
    slices): 33.6 B per record at this poll's peak, now 5.5."""
    import gc
    import tracemalloc

    from gofka import _native

    served = [0]

    def count(err: Optional[GofkaError], msg: gofka.Message) -> None:
        served[0] += err is None

    n, per_push = 40000, 100
    with gofka.Producer(brokers, timeout=20) as p:
        p.produce(topic, b"first", partition=0)
        assert p.flush(20) == 0
        served[0] = 0
        for i in range(n):
            p.produce(topic, b"v", partition=0, on_delivery=count)
            if i % per_push == per_push - 1:
                p._push()  # one chunk, one event, per 100 records
        err = _native.new_error()
        # Every result arrives in the queue; nothing served (no poll).
        assert _native.lib.gofka_producer_flush(p._handle, 20000, ctypes.byref(err)) == _native.OK
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            got = p.poll(0)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert got == n and served[0] == n
        assert len(p) == 0
    assert peak / n < 16, peak / n
