"""Producer lifecycles (issue 19, items 1, 3, 7, 9): records survive the end
of the process and garbage collection, delivery callbacks may call back into
their producer, close(timeout) is one bound, and an AsyncProducer outlives
the loop it was used on.

Process lifecycles run in subprocesses (each with a timeout, so that a hang
fails the test); the records they send are counted on the cluster.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import gc
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections import Counter
from typing import Any, Dict, Iterator, List, Optional

import pytest

import gofka
from gofka import _native
from gofka import _producer_base as pb_mod
from gofka import async_producer as ap_mod
from gofka import producer as p_mod
from gofka.exceptions import GofkaError

_PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "python"))


def _child(code: str, *args: str, env: Optional[Dict[str, str]] = None, timeout: float = 60) -> Any:
    full_env = dict(os.environ, PYTHONPATH=_PYTHON_DIR)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=full_env, timeout=timeout)


def _count(brokers: str, topic: str) -> int:
    admin = gofka.AdminClient(brokers)
    try:
        return sum(admin.list_offsets(topic).values())
    finally:
        admin.close()


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A "broker" that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    conns: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield "127.0.0.1:%d" % srv.getsockname()[1]
    stop.set()
    t.join(2)
    for c in conns:
        c.close()
    srv.close()


@pytest.fixture(params=["c", "python"])
def impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The C speedups, or their pure-Python twins (as GOFKA_NO_SPEEDUPS=1)."""
    if request.param == "c":
        if p_mod._speedups is None:
            pytest.skip("gofka._speedups is not built")
        return "c"
    monkeypatch.setattr(p_mod, "PendingRecords", p_mod._PyPendingRecords)
    monkeypatch.setattr(p_mod, "serve_entry", p_mod._serve_entry_py)
    monkeypatch.setattr(p_mod, "ChunkRecords", p_mod._PyChunkRecords)
    monkeypatch.setattr(pb_mod, "chunk_records", pb_mod.chunk_records_py)  # both twins chunk there
    monkeypatch.setattr(p_mod, "fast_send_wait", None)
    monkeypatch.setattr(ap_mod, "_AsyncSends", ap_mod._PyAsyncSends)
    monkeypatch.setattr(ap_mod, "_speedups", None)
    monkeypatch.setattr(ap_mod, "_resolve_sends", None)
    return "python"


# -- item 1: exit and garbage collection without close ------------------------

_SYNC_EXIT = r"""
import gc, sys, gofka
brokers, topic, how = sys.argv[1:4]
p = gofka.Producer(brokers, timeout=10)
for i in range(1000):
    p.produce(topic, b"%d-" % i + bytes(10000))
if how == "sys_exit":
    sys.exit(3)
if how == "exception":
    raise RuntimeError("the script failed")
if how == "del":
    del p
if how == "cycle":
    p.me = p
    del p
    gc.collect()
"""

_ASYNC_EXIT = r"""
import asyncio, gc, sys, gofka
brokers, topic, how = sys.argv[1:4]

async def main():
    p = gofka.AsyncProducer(brokers, timeout=10)
    futs = [p.send(topic, b"%d-" % i + bytes(10000)) for i in range(1000)]
    await asyncio.sleep(0)
    return p, futs

if how == "loop_alive":
    loop = asyncio.new_event_loop()
    p, futs = loop.run_until_complete(main())
else:
    p, futs = asyncio.run(main())  # the loop is closed from here on
if how == "sys_exit":
    sys.exit(3)
if how == "exception":
    raise RuntimeError("the script failed")
if how == "del":
    del p, futs
if how == "cycle":
    p.me = p
    del p, futs
    gc.collect()
"""


@pytest.mark.parametrize("how", ["end", "sys_exit", "exception", "del", "cycle", "loop_alive"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_exit_without_close_delivers_everything(brokers: str, topic: str, kind: str, how: str) -> None:
    if kind == "sync" and how == "loop_alive":
        pytest.skip("no event loop in the sync producer")
    proc = _child(_SYNC_EXIT if kind == "sync" else _ASYNC_EXIT, brokers, topic, how)
    expected_rc = {"sys_exit": 3, "exception": 1}.get(how, 0)
    assert proc.returncode == expected_rc, proc.stderr.decode()
    assert _count(brokers, topic) == 1000, proc.stderr.decode()


_CYCLE_THROUGH_CALLBACK = r"""
import gc, sys, gofka
brokers, topic = sys.argv[1:3]
served = []
class App:
    def __init__(self):
        self.p = gofka.Producer(brokers, timeout=10)
    def on_delivery(self, err, msg):
        served.append(err)
app = App()
for i in range(1000):
    app.p.produce(topic, b"%d" % i, on_delivery=app.on_delivery)
del app  # app -> producer -> its records -> app.on_delivery -> app: a cycle
gc.collect()
print("served=%d errors=%d" % (len(served), sum(e is not None for e in served)), file=sys.stderr)
"""


def test_producer_collected_in_a_cycle_through_its_callbacks(brokers: str, topic: str) -> None:
    """A producer dropped without close() in a reference cycle that runs
    through its delivery callbacks: the garbage collector's close delivers
    every record and serves every callback before gc.collect() returns. (Its
    flush called poll through the instance's C fast path, which holds the
    producer weakly: the collector had cleared that reference, and the
    close raised RuntimeError and served nothing.)"""
    proc = _child(_CYCLE_THROUGH_CALLBACK, brokers, topic)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "served=1000 errors=0" in err, err
    assert "Traceback" not in err, err
    assert _count(brokers, topic) == 1000, err


class _Owner:
    """Passes its bound method as the callback (a new object per access)."""

    def __init__(self) -> None:
        self.seen: List[Any] = []

    def on_delivery(self, err: Any, msg: Any) -> None:
        self.seen.append((err, msg.value))


@pytest.mark.parametrize("cb_kind", ["function", "bound method", "one per record"])
def test_pending_records_are_not_tracked_by_the_gc(brokers: str, topic: str, impl: str, cb_kind: str) -> None:
    """The record tuples a producer holds until their callbacks are served
    are not tracked by the cyclic GC (each collection traversed all of
    them: issue 22): 100,000 pending records add far fewer than 100,000
    tracked objects. The callbacks travel apart from the tuples (a table
    the GC does see) and still run exactly once each, in order, records
    without a callback mixed in."""
    n = 100_000
    owner = _Owner()
    seen: List[Any] = owner.seen
    def cb(err: Any, msg: Any) -> None:
        seen.append((err, msg.value))

    p = gofka.Producer(brokers, timeout=30)
    try:
        # Warm up (the topic's metadata, the queue, the flusher thread).
        p.produce(topic, b"warm")
        p.flush(30)
        gc.collect()
        before = len(gc.get_objects())
        for i in range(n):
            if i % 10 == 9:
                p.produce(topic, b"%d" % i)  # no callback
            elif cb_kind == "function":
                p.produce(topic, b"%d" % i, on_delivery=cb)
            elif cb_kind == "bound method":
                p.produce(topic, b"%d" % i, on_delivery=owner.on_delivery)
            else:
                p.produce(topic, b"%d" % i, on_delivery=functools.partial(cb))
        gc.collect()
        grown = len(gc.get_objects()) - before
        # (one per record: the 90,000 partials are tracked themselves)
        limit = n // 10 if cb_kind != "one per record" else n
        assert grown < limit, grown
        assert seen == []  # still pending: nothing served before flush
        assert p.flush(60) == 0
        # Served callbacks are released (the table keeps none).
        ref = weakref.ref(cb)
        del cb
        gc.collect()
        assert ref() is None
    finally:
        p.close()
    want = [(None, b"%d" % i) for i in range(n) if i % 10 != 9]
    assert seen == want


_UNDELIVERABLE = r"""
import atexit, sys, time
errors = []
start = []
# Registered before gofka's hook, so it runs after it (atexit is LIFO).
atexit.register(lambda: print("callbacks=%d elapsed=%.2f" % (len(errors), time.monotonic() - start[0]),
                              file=sys.stderr))
import asyncio, gofka
brokers, kind = sys.argv[1:3]
kw = {} if "env" in kind else {"exit_timeout": 1}
if kind.startswith("sync"):
    p = gofka.Producer(brokers, timeout=30, **kw)
    for i in range(100):
        p.produce("t", b"v", on_delivery=lambda e, m: errors.append(e))
else:
    async def main():
        p = gofka.AsyncProducer(brokers, timeout=30, **kw)
        futs = [p.send("t", b"v") for i in range(100)]
        for f in futs:
            f.add_done_callback(lambda f: errors.append(f.exception()))
        await asyncio.sleep(0.1)
        return p
    loop = asyncio.new_event_loop()
    p = loop.run_until_complete(main())
start.append(time.monotonic())
if kind.endswith("del"):
    import gc
    if kind.startswith("async"):
        loop.close()  # (a live loop watching its queue keeps it reachable)
    del p
    gc.collect()
    print("collected", file=sys.stderr)
"""


@pytest.mark.parametrize("kind", ["sync", "sync-env", "sync-del", "async", "async-env", "async-del"])
def test_exit_reports_what_it_could_not_deliver(blackhole: str, kind: str) -> None:
    proc = _child(_UNDELIVERABLE, blackhole, kind, env={"GOFKA_EXIT_TIMEOUT": "1"})
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    if kind.endswith("del"):  # reported by the garbage collector's close, before the script ends
        assert "garbage-collected without close() with 100 record(s) not delivered within 1s" in err, err
        assert err.index("not delivered") < err.index("collected\n"), err
    else:
        assert "open at interpreter exit with 100 record(s) not delivered within 1s" in err, err
    assert "CLIENT_CLOSED" in err
    if kind.startswith("sync"):
        # Every callback ran (with the close's error) before the script ended.
        assert "callbacks=100 " in err, err
    elapsed = float(err.rsplit("elapsed=", 1)[1].split()[0])
    assert elapsed < 4.0, err  # bound 1 s (not a perf assertion: 4x slack)


_FAILING = r"""
import asyncio, sys, gofka
brokers, topic, kind = sys.argv[1:4]
if kind == "sync":
    p = gofka.Producer(brokers, timeout=10, allow_auto_create_topics=False)
    for i in range(50):
        p.produce(topic, b"v")  # no callback: only the exit report tells
else:
    async def main():
        p = gofka.AsyncProducer(brokers, timeout=10, allow_auto_create_topics=False)
        return p, [p.send(topic, b"v") for i in range(50)]
    p, futs = asyncio.run(main())
"""


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_exit_reports_records_that_failed_unheard(brokers: str, topic: str, kind: str) -> None:
    """Records that fail during the exit close with nobody to tell (no
    callback, no awaiter) are reported too."""
    proc = _child(_FAILING, brokers, topic, kind, env={"GOFKA_EXIT_TIMEOUT": "20"})
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "50 record(s) failed, first error:" in err, err
    assert "UNKNOWN_TOPIC_OR_PARTITION" in err, err


_FORK = r"""
import asyncio, os, sys, time, gofka
brokers, topic, kind = sys.argv[1:4]
if kind == "sync":
    p = gofka.Producer(brokers, timeout=10)
    p.send(topic, b"before fork")
else:
    p = gofka.AsyncProducer(brokers, timeout=10)
    # (A loop alive across fork shares its epoll instance with the child,
    # whose exit then unregisters the parent's fds: asyncio's limit.)
    asyncio.run(p.send(topic, b"before fork"))
pid = os.fork()
if pid == 0:
    # The child ends normally with the parent's producer open: its exit
    # hook and finalizers must leave the parent's engine alone (touching
    # it from here would hang).
    sys.exit(0)
deadline = time.monotonic() + 20
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        print("child hung", file=sys.stderr)
        sys.exit(5)
    time.sleep(0.05)
print("child status", status, file=sys.stderr)
if kind == "sync":
    p.send(topic, b"after fork")
    p.close()
else:
    asyncio.run(p.send(topic, b"after fork"))
    asyncio.run(p.close())
sys.exit(0 if status == 0 else 6)
"""


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_forked_child_exit_leaves_parent_engine_alone(brokers: str, topic: str, kind: str) -> None:
    proc = _child(_FORK, brokers, topic, kind)
    assert proc.returncode == 0, proc.stderr.decode()
    assert _count(brokers, topic) == 2


@pytest.mark.parametrize("cls", [gofka.Producer, gofka.AsyncProducer])
def test_exit_timeout_option(brokers: str, cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOFKA_EXIT_TIMEOUT", raising=False)
    assert cls(brokers, exit_timeout=0).exit_timeout == 0
    assert cls(brokers).exit_timeout == p_mod.DEFAULT_EXIT_TIMEOUT == 5.0
    for bad in ("1", True, [1]):
        with pytest.raises(TypeError):
            cls(brokers, exit_timeout=bad)
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            cls(brokers, exit_timeout=bad)
    monkeypatch.setenv("GOFKA_EXIT_TIMEOUT", "2.5")
    assert cls(brokers).exit_timeout == 2.5
    assert cls(brokers, exit_timeout=7).exit_timeout == 7
    monkeypatch.setenv("GOFKA_EXIT_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="GOFKA_EXIT_TIMEOUT"):
        cls(brokers)


# -- item 3: delivery callbacks that call back into their producer ---------------


@pytest.mark.parametrize("action", ["poll", "flush", "close", "close_in_close", "produce", "send"])
def test_reentrant_delivery_callback(brokers: str, topic: str, impl: str, action: str) -> None:
    p = gofka.Producer(brokers, timeout=15)
    calls: Counter = Counter()
    errors: List[Any] = []
    again: List[bytes] = []

    def cb(err: Any, msg: Any) -> None:
        calls[msg.value] += 1
        if err is not None:
            errors.append(err)
        if calls[msg.value] == 1 and msg.value.endswith(b"7"):
            if action == "poll":
                assert p.poll(0) == 0  # serves nothing re-entrantly
            elif action == "flush":
                p.flush(5)
            elif action in ("close", "close_in_close"):
                p.close()
                assert p.closed
            elif action == "produce" and not msg.value.startswith(b"again"):
                v = b"again-" + msg.value
                again.append(v)
                p.produce(topic, v, on_delivery=cb)
            elif action == "send":
                p.send(topic, b"sent from a callback")

    values = [b"v-%d" % i for i in range(300)]
    for v in values:
        try:
            p.produce(topic, v, on_delivery=cb)
        except GofkaError as exc:  # closed by a callback (action "close")
            assert action == "close" and exc.code == _native.ERR_CLIENT_CLOSED
            calls[v] += 1
    if action != "close_in_close":  # else: the callbacks run in close, and call it again
        assert p.flush(15) == 0
    p.close()
    assert p.closed
    assert len(p) == 0
    # Every callback ran exactly once, and nothing raised an internal error.
    assert set(calls) == set(values) | set(again)
    assert set(calls.values()) == {1}
    if not action.startswith("close"):
        assert errors == []
    else:
        assert all(e.code == _native.ERR_CLIENT_CLOSED for e in errors)


def test_reentrant_flush_waits_for_records_the_push_thread_holds(brokers: str, topic: str, hold_push: Any) -> None:
    # flush from a delivery callback hands buffered records over and
    # waits for their results. Records the push thread had taken from the
    # Python buffer but not handed over yet are buffered too: flush used
    # to see an empty buffer, find nothing outstanding in the library and
    # return at once (as commit_transaction did, the exactly-once race).
    p = gofka.Producer(brokers, timeout=15)
    try:
        p.produce(topic, b"first")
        assert p.flush(15) == 0  # the topic's metadata and the push thread exist
        held = hold_push(p)
        seen: Dict[str, Any] = {}

        def cb(err: Any, msg: Any) -> None:
            held.produce_held(topic, b"held-")
            p.flush(15)  # re-entrant: waits for the results, serves nothing
            seen["acked"] = p.stats()["acknowledged"]

        p.produce(topic, b"trigger", on_delivery=cb)
        assert p.flush(15) == 0
        assert seen["acked"] == 12, seen  # first, trigger and the 10 held ones
    finally:
        p.close()


@pytest.mark.parametrize("action", ["send", "flush", "close"])
def test_reentrant_async_done_callbacks(brokers: str, topic: str, impl: str, action: str) -> None:
    async def main() -> None:
        p = gofka.AsyncProducer(brokers, timeout=15)
        ran: Counter = Counter()
        tasks: List[Any] = []
        extra: List[Any] = []

        def done(i: int) -> Any:
            def cb(f: Any) -> None:
                ran[i] += 1
                if i % 7 == 0:
                    if action == "send":
                        extra.append(p.send(topic, b"from a callback"))
                    elif action == "flush":
                        tasks.append(asyncio.ensure_future(p.flush(5)))
                    else:
                        tasks.append(asyncio.ensure_future(p.close()))
            return cb

        futs = []
        for i in range(300):
            try:
                f = p.send(topic, b"v-%d" % i)
            except GofkaError as exc:
                assert action == "close" and exc.code == _native.ERR_CLIENT_CLOSED
                ran[i] += 1
                continue
            f.add_done_callback(done(i))
            futs.append(f)
            if i % 50 == 0:
                await asyncio.sleep(0.01)
        await asyncio.wait(futs, timeout=15)
        await asyncio.gather(*tasks)
        if extra:
            await asyncio.gather(*extra)
        await p.close()
        await asyncio.sleep(0)
        assert all(f.done() for f in futs)
        assert set(ran) == set(range(300)) and set(ran.values()) == {1}
        for f in futs:
            if f.exception() is not None:
                assert action == "close" and f.exception().code == _native.ERR_CLIENT_CLOSED

    asyncio.run(main())


# -- item 7: close(timeout) is one bound --------------------------------------------


def test_close_timeout_bounds_the_whole_call(blackhole: str) -> None:
    for close_arg in (None, 2):
        p = gofka.Producer(blackhole, timeout=2 if close_arg is None else 30)
        errors: List[Any] = []
        for i in range(50):
            p.produce("t", b"v", on_delivery=lambda e, m: errors.append(e))
        p.flush(0.2)  # the records are in the engine, the queue exists
        t0 = time.monotonic()
        if close_arg is None:
            p.close()
        else:
            p.close(timeout=close_arg)
        elapsed = time.monotonic() - t0
        assert elapsed < 3.5, elapsed  # 2 s bound, with slack (not a perf assertion)
        # What could not be delivered failed its callbacks, clearly.
        assert len(errors) == 50 and len(p) == 0
        assert {e.code for e in errors} == {_native.ERR_CLIENT_CLOSED}


def test_close_timeout_bounds_pushes_waiting_for_buffer_room(blackhole: str) -> None:
    """buffer_memory full (nothing can be delivered): the push thread waits
    for room (up to ``timeout``, 30 s here); close(timeout=2) still ends
    within its bound, and every callback runs with an error."""
    p = gofka.Producer(blackhole, timeout=30, buffer_memory=65536)
    errors: List[Any] = []
    for i in range(1000):
        p.produce("t", b"%d-" % i + bytes(200), on_delivery=lambda e, m: errors.append(e))
    time.sleep(0.3)  # the push thread is now waiting for room
    t0 = time.monotonic()
    p.close(timeout=2)
    elapsed = time.monotonic() - t0
    assert elapsed < 3.5, elapsed
    assert len(errors) == 1000 and len(p) == 0
    assert {e.code for e in errors} <= {_native.ERR_CLIENT_CLOSED, _native.ERR_QUEUE_FULL}


def test_push_waiting_for_buffer_room_copies_nothing_per_retry(blackhole: str) -> None:
    """buffer_memory full: the push thread retries the refused chunk every
    2 ms (up to ``timeout``); the library answers QUEUE_FULL before copying
    the chunk (core Producer.ValuesRoom), so the retries allocate nothing.
    Each retry copied the whole chunk before (here ~330 records, ~85 KiB
    per retry, tens of MiB a second of garbage that the Go heap grew
    with). Measured with the library's cumulative allocation counter.
    3,000 records stay below the count at which produce() pushes itself
    (the push thread does it all, produce() never waits)."""
    p = gofka.Producer(blackhole, timeout=30, buffer_memory=256 << 10)
    try:
        for _ in range(3000):  # a few hundred fit in 256 KiB, the rest wait
            p.produce("t", bytes(100))
        time.sleep(0.3)  # the push thread is now retrying
        before = json.loads(_native.call_returning_buffer(_native.lib.gofka_debug_stats, 0))["total_alloc_bytes"]
        time.sleep(1.0)
        after = json.loads(_native.call_returning_buffer(_native.lib.gofka_debug_stats, 0))["total_alloc_bytes"]
        # Background work (metadata retries, timers) allocates a little.
        assert after - before < 4 << 20, "%d bytes allocated in 1 s of retries" % (after - before)
    finally:
        p.close(timeout=1)


def test_async_close_timeout_bounds_the_whole_call(blackhole: str) -> None:
    async def main() -> None:
        p = gofka.AsyncProducer(blackhole, timeout=30)
        futs = [p.send("t", b"v") for _ in range(50)]
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        await p.close(timeout=1)
        elapsed = time.monotonic() - t0
        assert elapsed < 1.8, elapsed  # 1 s bound, with slack (not a perf assertion)
        await asyncio.sleep(0)
        assert all(f.done() for f in futs)
        assert {f.exception().code for f in futs} == {_native.ERR_CLIENT_CLOSED}

    asyncio.run(main())


def test_close_timeout_validated(brokers: str) -> None:
    p = gofka.Producer(brokers)
    with pytest.raises(TypeError):
        p.close(timeout="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        p.close(timeout=-1)
    assert not p.closed
    p.close(timeout=0)
    assert p.closed


def test_c_close_fails_undelivered_records_before_returning(blackhole: str) -> None:
    """gofka_producer_close (gofka.h): flushes up to timeout_ms in all, then
    posts CLIENT_CLOSED events for what is left before it returns
    GOFKA_ERR_TIMED_OUT."""
    from gofka._bridge import EventQueue

    opts = pb_mod.ProducerOptions(blackhole, "c-close", 30)
    handle = pb_mod.new_producer_handle(opts)
    q = EventQueue()
    err = _native.new_error()
    for token in range(1, 11):
        rc = _native.lib.gofka_producer_produce(handle, q.handle, token, b"t", 0, None, -1, b"v", 1, None, 0, -1,
                                                ctypes.byref(err))
        assert rc == _native.OK
    t0 = time.monotonic()
    rc = _native.lib.gofka_producer_close(handle, 1000, ctypes.byref(err))
    elapsed = time.monotonic() - t0
    assert rc == _native.ERR_TIMED_OUT
    assert elapsed < 2.5, elapsed  # 1 s bound for flush and close together
    events = q.drain(100, 0)  # posted before close returned: no wait
    assert sorted(ev.token for ev in events) == list(range(1, 11))
    assert {ev.code for ev in events} == {_native.ERR_CLIENT_CLOSED}
    q.close()


# -- item 9: a loop closed with sends pending ------------------------------------------


@pytest.mark.parametrize("then", ["flush", "close", "close_alive_loop"])
def test_async_producer_outlives_its_loop(brokers: str, impl: str, then: str) -> None:
    topic = "gofka-py-%s" % uuid.uuid4().hex
    # linger_ms keeps the sends pending in the engine when the first loop
    # stops (results are delivered as soon as the loop reads them, so a
    # fast broker could otherwise answer within that loop's last turn).
    p = gofka.AsyncProducer(brokers, timeout=15, linger_ms=500)

    async def send() -> List[Any]:
        futs = [p.send(topic, b"v-%d" % i) for i in range(200)]
        await asyncio.sleep(0)
        return futs

    first = asyncio.new_event_loop()
    futs = first.run_until_complete(send())
    assert not all(f.done() for f in futs)
    if then != "close_alive_loop":
        first.close()  # with sends pending

    async def finish() -> None:
        if then == "flush":
            first_send = p.send(topic, b"on the new loop")  # before anything else touched the producer
            await p.flush(10)
            assert (await first_send) >= 0
        await p.close(timeout=10)

    asyncio.run(finish())
    assert p.closed
    assert all(f.done() for f in futs)
    assert [f.exception() for f in futs] == [None] * 200
    assert _count(brokers, topic) == 200 + (then == "flush")
    if then == "close_alive_loop":
        first.close()
