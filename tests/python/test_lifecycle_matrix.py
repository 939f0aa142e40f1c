"""The lifecycle matrix (issue 19, item 15): the cells other files do not
cover, for consumers, admin clients (sync and async), ConnectionPool and
DevCluster, plus the producer cells of signals and of exiting inside a
delivery callback. docs/reliability.md ("Lifecycles") has the whole matrix,
naming the test of every cell.

"Nothing lost silently" is checked on the cluster, by a process of its
own: a consumer's progress is committed (or, where the contract says it is
not, a new member of the group reads the records again), the member left
the group, a producer's records are on the cluster or reported on stderr.
Process lifecycles run in child processes, each under a timeout (a hang
fails the test) and each exit within a bound (generous: these are hang
checks, not performance assertions).
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import gofka
from gofka import _native
from gofka.exceptions import GofkaError

pytestmark = pytest.mark.timeout(180)

_PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "python"))

# Group options that make joins and leaves quick on the dev cluster.
FAST: Dict[str, Any] = dict(session_timeout=6000, heartbeat_interval_ms=300, timeout=20)
N = 10  # records per partition of a consumer's topic

# The child's common start: argv, a FAST consumer factory, and a helper
# polling until n records came (bounded).
_PRELUDE = r"""
import asyncio, gc, os, signal, sys, threading, time
# Python's own Ctrl-C handler even when the test runner was started with
# SIGINT ignored (a background job of a shell without job control, nohup):
# Python then keeps SIG_IGN and a SIGINT case could not test anything.
signal.signal(signal.SIGINT, signal.default_int_handler)
import gofka
brokers, topic, group, how = sys.argv[1:5]
FAST = dict(session_timeout=6000, heartbeat_interval_ms=300, timeout=20)

def poll_n(c, n):
    got = []
    end = time.monotonic() + 30
    while len(got) < n and time.monotonic() < end:
        got += c.poll(n, timeout=0.5)
    assert len(got) == n, got
    return got

async def apoll_n(c, n):
    got = []
    end = time.monotonic() + 30
    while len(got) < n and time.monotonic() < end:
        got += await c.poll(n, timeout=0.5)
    assert len(got) == n, got
    return got
"""


def _child(code: str, *args: str, timeout: float = 60, env: Optional[Dict[str, str]] = None) -> Tuple[Any, float]:
    """Runs ``code`` (after _PRELUDE) in a child Python; returns the
    completed process and how long it took. A hang fails (timeout)."""
    full_env = dict(os.environ, PYTHONPATH=_PYTHON_DIR)
    full_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _PRELUDE + textwrap.dedent(code), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=full_env, timeout=timeout)
    return proc, time.monotonic() - start


def _out(proc: Any) -> str:
    return "rc=%s\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, proc.stdout.decode("utf-8", "replace"),
                                                proc.stderr.decode("utf-8", "replace")[-3000:])


def new_topic(brokers: str, partitions: int = 1, per_partition: int = N) -> str:
    name = "gofka-life-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(name, num_partitions=partitions)
    if per_partition:
        with gofka.Producer(brokers, timeout=20) as p:
            for part in range(partitions):
                p.send_batch(name, [b"v%d" % i for i in range(per_partition)], partition=part)
    return name


def committed(brokers: str, group: str, topic: str, partitions: int = 1) -> Dict[int, Optional[int]]:
    with gofka.Consumer(brokers, group, None, auto_commit=False, **FAST) as c:
        res = c.committed([(topic, p) for p in range(partitions)])
    return {tp.partition: off for tp, off in res.items()}


def members(brokers: str, group: str) -> int:
    """The members of ``group`` (0 also when the group never existed)."""
    with gofka.AdminClient(brokers, timeout=20) as admin:
        try:
            return len(admin.describe_consumer_group(group)["members"])
        except GofkaError as exc:
            if exc.name != "GROUP_ID_NOT_FOUND":
                raise
            return 0


def read_all(brokers: str, group: str, topic: str, expect: int) -> List[Optional[bytes]]:
    """What a new member of ``group`` reads (from the committed offsets)."""
    got: List[gofka.Message] = []
    with gofka.Consumer(brokers, group, [topic], auto_commit=False, **FAST) as c:
        end = time.monotonic() + 30
        while len(got) < expect and time.monotonic() < end:
            got += c.poll(expect, timeout=0.5)
        got += c.poll(expect, timeout=0.3)  # nothing more than expected
    return [m.value for m in got]


def count_records(brokers: str, topic: str) -> int:
    with gofka.AdminClient(brokers, timeout=20) as admin:
        return sum(admin.list_offsets(topic).values())


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A "broker" that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    yield "127.0.0.1:%d" % srv.getsockname()[1]
    srv.close()


# -- exit without close: consumers ---------------------------------------------
#
# Contract (Consumer docstring, docs/reliability.md): a consumer the
# program did not close is closed when the interpreter exits, within its
# ``timeout``: with auto-commit everything poll returned is committed, and
# the member leaves the group (no session timeout to wait for), without
# running rebalance callbacks. "held" keeps the consumer referenced from a
# module that outlives the script's globals (a registry, a daemon thread's
# closure): module teardown alone never finalizes it, the exit hook must.

_CONSUMER_EXIT = r"""
if how.startswith("async"):
    async def main():
        c = gofka.AsyncConsumer(brokers, group, [topic], **FAST)
        await apoll_n(c, 10)
        return c
    c = asyncio.run(main())  # the loop is closed from here on
else:
    c = gofka.Consumer(brokers, group, [topic], **FAST)
    poll_n(c, 10)
if how.endswith("held"):
    import gofka.message
    gofka.message._kept_by_the_application = c
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
if how.endswith("cycle"):
    c.me = c
if how.endswith("sys_exit"):
    sys.exit(3)
if how.endswith("exception"):
    raise RuntimeError("the script failed")
"""


@pytest.mark.parametrize("how", ["end", "sys_exit", "exception", "cycle", "held"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_consumer_exit_without_close_commits_and_leaves(brokers: str, kind: str, how: str) -> None:
    topic = new_topic(brokers)
    group = "g-" + topic
    proc, took = _child(_CONSUMER_EXIT, brokers, topic, group, kind + "_" + how)
    assert proc.returncode == {"sys_exit": 3, "exception": 1}.get(how, 0), _out(proc)
    assert took < 30, took  # close is bounded by timeout=20
    assert committed(brokers, group, topic) == {0: N}, _out(proc)
    assert members(brokers, group) == 0, _out(proc)


# -- garbage collection without close: consumers -------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_consumer_gc_without_close_commits_and_leaves(brokers: str, kind: str) -> None:
    """A consumer collected without close() is closed by its finalizer:
    what poll returned is committed (auto-commit) and the member leaves."""
    topic = new_topic(brokers)
    group = "g-" + topic
    if kind == "sync":
        c: Any = gofka.Consumer(brokers, group, [topic], **FAST)
        got: List[Any] = []
        while len(got) < N:
            got += c.poll(N, timeout=0.5)
    else:
        async def main() -> Any:
            c = gofka.AsyncConsumer(brokers, group, [topic], **FAST)
            got: List[Any] = []
            while len(got) < N:
                got += await c.poll(N, timeout=0.5)
            return c
        c = asyncio.run(main())
    c.me = c  # in a cycle: only the collector finds it
    del c
    gc.collect()
    assert committed(brokers, group, topic) == {0: N}
    assert members(brokers, group) == 0


def test_async_consumer_gc_keeps_unyielded_messages(brokers: str) -> None:
    """An AsyncConsumer iterated with ``async for`` holds the rest of a poll
    in its buffer; collected without close(), those messages were never
    seen by the application: they must not be committed (the next member
    reads them), as close() does."""
    topic = new_topic(brokers)
    group = "g-" + topic

    async def main() -> Any:
        c = gofka.AsyncConsumer(brokers, group, [topic], **FAST)
        async for m in c:
            assert m.offset == 0
            break
        return c

    c = asyncio.run(main())
    del c
    gc.collect()
    assert committed(brokers, group, topic) == {0: 1}
    assert read_all(brokers, group, topic, N - 1) == [b"v%d" % i for i in range(1, N)]


# -- exit inside a callback ----------------------------------------------------
#
# SystemExit raised by a rebalance callback propagates out of poll/close;
# the records of that poll were never returned, so they are given back
# (not committed: the next member reads them), and the process exits with
# the callback's status, promptly, with the member gone from the group.

_EXIT_IN_CALLBACK = r"""
def bye(tps):
    print("callback", tps, flush=True)
    if how.endswith("raise"):
        raise SystemExit(4)
    sys.exit(4)

cb = {"on_assign" if "on_assign" in how else "on_revoke": bye}
if how.startswith("async"):
    async def main():
        c = gofka.AsyncConsumer(brokers, group, [topic], **FAST, **cb)
        got = await apoll_n(c, 10) if "on_revoke" in cb else await c.poll(10, timeout=30)
        print("polled", len(got), flush=True)
        await c.close()
    asyncio.run(main())
else:
    c = gofka.Consumer(brokers, group, [topic], **FAST, **cb)
    got = poll_n(c, 10) if "on_revoke" in cb else c.poll(10, timeout=30)
    print("polled", len(got), flush=True)
    c.close()
print("not reached", flush=True)
"""


@pytest.mark.parametrize("how", ["on_assign_raise", "on_assign_exit", "on_revoke_raise", "on_revoke_exit"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_consumer_exit_inside_rebalance_callback(brokers: str, kind: str, how: str) -> None:
    topic = new_topic(brokers)
    group = "g-" + topic
    proc, took = _child(_EXIT_IN_CALLBACK, brokers, topic, group, kind + "_" + how)
    out = proc.stdout.decode()
    assert proc.returncode == 4, _out(proc)
    assert "callback" in out and "not reached" not in out, _out(proc)
    assert took < 30, took
    assert members(brokers, group) == 0, _out(proc)
    if how.startswith("on_assign"):
        # Nothing was returned to the application: nothing is committed and
        # the next member reads every record.
        assert "polled" not in out, _out(proc)
        assert committed(brokers, group, topic) in ({0: None}, {0: 0}), _out(proc)
        assert read_all(brokers, group, topic, N) == [b"v%d" % i for i in range(N)]
    else:
        # on_revoke runs in close(); a callback that exits does not keep
        # the consumer open: close still commits what poll returned.
        assert "polled 10" in out, _out(proc)
        assert committed(brokers, group, topic) == {0: N}, _out(proc)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_close_closes_when_on_revoke_raises(brokers: str, kind: str) -> None:
    """close() whose on_revoke raises: the exception propagates, and the
    consumer is closed all the same (commits what poll returned, leaves the
    group) instead of staying a member until it is collected."""
    topic = new_topic(brokers)
    group = "g-" + topic

    def on_revoke(tps: List[Any]) -> None:
        raise RuntimeError("on_revoke failed")

    async def main() -> Any:
        cls: Any = gofka.AsyncConsumer if kind == "async" else gofka.Consumer
        c = cls(brokers, group, [topic], on_revoke=on_revoke, **FAST)
        got: List[Any] = []
        end = time.monotonic() + 20
        while len(got) < N and time.monotonic() < end:
            got += (await c.poll(N, timeout=0.5)) if kind == "async" else c.poll(N, timeout=0.5)
        assert len(got) == N
        with pytest.raises(RuntimeError, match="on_revoke failed"):
            await c.close() if kind == "async" else c.close()
        return c

    c = asyncio.run(main())
    assert c.closed  # (c is still referenced: no finalizer did it)
    assert committed(brokers, group, topic) == {0: N}
    assert members(brokers, group) == 0


_EXIT_IN_DELIVERY = r"""
p = gofka.Producer(brokers, timeout=20)
seen = []
def on_delivery(err, msg):
    seen.append(msg)
    if len(seen) == 10:
        sys.exit(4)
for i in range(1000):
    p.produce(topic, b"%d" % i, on_delivery=on_delivery)
p.flush(20)
print("not reached", flush=True)
"""


def test_producer_exit_inside_delivery_callback(brokers: str, topic: str) -> None:
    """sys.exit in on_delivery ends flush() with SystemExit; the exit hook
    still delivers every record produced before (or reports them)."""
    proc, took = _child(_EXIT_IN_DELIVERY, brokers, topic, "-", "-")
    assert proc.returncode == 4, _out(proc)
    assert "not reached" not in proc.stdout.decode()
    assert took < 30, took
    assert count_records(brokers, topic) == 1000, _out(proc)


_EXIT_IN_DONE_CALLBACK = r"""
async def main():
    p = gofka.AsyncProducer(brokers, timeout=20)
    futs = [p.send(topic, b"%d" % i) for i in range(1000)]
    done = []
    def cb(f):
        done.append(f)
        if len(done) == 10:
            sys.exit(4)
    for f in futs:
        f.add_done_callback(cb)
    await asyncio.gather(*futs)
asyncio.run(main())
print("not reached", flush=True)
"""


def test_async_producer_exit_inside_done_callback(brokers: str, topic: str) -> None:
    """sys.exit in a send future's done callback ends the event loop with
    SystemExit; the exit hook still delivers every record sent before."""
    proc, took = _child(_EXIT_IN_DONE_CALLBACK, brokers, topic, "-", "-")
    assert proc.returncode == 4, _out(proc)
    assert "not reached" not in proc.stdout.decode()
    assert took < 30, took
    assert count_records(brokers, topic) == 1000, _out(proc)


# -- exit and GC without close: admin clients, pool, dev cluster ----------------

_OTHERS_EXIT = r"""
if how == "admin":
    a = gofka.AdminClient(brokers, timeout=20)
    print(len(a.list_topics()) > 0, flush=True)
elif how == "async_admin":
    async def main():
        a = gofka.AsyncAdminClient(brokers, timeout=20)
        print(len(await a.list_topics()) > 0, flush=True)
        return a
    a = asyncio.run(main())  # its loop is closed
elif how == "pool":
    # Records of a producer on a pool nobody closed are delivered at exit.
    pool = gofka.ConnectionPool(max_connections=4)
    p = gofka.Producer(brokers, timeout=20, connection_pool=pool)
    for i in range(1000):
        p.produce(topic, b"%d" % i)
    print(True, flush=True)
elif how == "devcluster":
    # A cluster of this process, nobody closes it nor its producer: the
    # producer's exit hook delivers into it before it stops. An atexit
    # hook registered before gofka's runs after them and counts.
    import atexit
    cluster = gofka.DevCluster()
    def count():
        with gofka.AdminClient(cluster.brokers, timeout=20) as a:
            print("count", sum(a.list_offsets("local").values()), flush=True)
    p = gofka.Producer(cluster.brokers, timeout=20)
    for i in range(1000):
        p.produce("local", b"%d" % i)
    import gofka._producer_base
    atexit.unregister(gofka._producer_base._close_at_exit)
    atexit.register(count)
    atexit.register(gofka._producer_base._close_at_exit)
    print(True, flush=True)
"""


@pytest.mark.parametrize("how", ["admin", "async_admin", "pool", "devcluster"])
def test_exit_without_close_others(brokers: str, topic: str, how: str) -> None:
    proc, took = _child(_OTHERS_EXIT, brokers, topic, "-", how)
    out = proc.stdout.decode()
    assert proc.returncode == 0, _out(proc)
    assert out.startswith("True"), _out(proc)
    assert took < 30, took
    if how == "pool":
        assert count_records(brokers, topic) == 1000, _out(proc)
    if how == "devcluster":
        assert "count 1000" in out, _out(proc)


def _handle_released(close_fn: Any, handle: int) -> bool:
    """Whether the library no longer knows ``handle`` (closing it again
    answers INVALID_HANDLE)."""
    err = _native.new_error()
    return close_fn(handle, ctypes.byref(err)) == _native.ERR_INVALID_HANDLE


@pytest.mark.parametrize("kind", ["admin", "async_admin", "pool", "devcluster"])
def test_gc_without_close_releases_the_handle(brokers: str, kind: str) -> None:
    """Collected without close(): the finalizer releases the native handle
    (connections, goroutines, the dev cluster's listeners)."""
    obj: Any
    if kind == "admin":
        obj = gofka.AdminClient(brokers, timeout=20)
        obj.list_topics()
        close_fn = _native.lib.gofka_admin_close
    elif kind == "async_admin":
        async def main() -> Any:
            a = gofka.AsyncAdminClient(brokers, timeout=20)
            await a.list_topics()
            return a
        obj = asyncio.run(main())
        close_fn = _native.lib.gofka_admin_close
    elif kind == "pool":
        obj = gofka.ConnectionPool()
        close_fn = _native.lib.gofka_pool_close
    else:
        obj = gofka.DevCluster()
        addr = obj.brokers.split(",")[0].rsplit(":", 1)
        close_fn = _native.lib.gofka_devcluster_close
    handle = obj._handle
    assert handle
    obj.me = obj  # in a cycle
    del obj
    gc.collect()
    assert _handle_released(close_fn, handle)
    if kind == "devcluster":  # and its port is free again
        with pytest.raises(OSError):
            socket.create_connection((addr[0], int(addr[1])), timeout=2).close()


def test_consumer_keeps_its_pool_alive(brokers: str) -> None:
    """A pool given inline (``connection_pool=ConnectionPool()``) lives as
    long as the consumer, admin client or producer (sync and async) that
    uses it: collecting it must not close it under the client (its calls
    would fail with CLIENT_CLOSED)."""
    topic = new_topic(brokers)
    with gofka.Consumer(brokers, None, None, connection_pool=gofka.ConnectionPool(), **FAST) as c:
        gc.collect()
        c.assign([(topic, 0)])
        got: List[Any] = []
        end = time.monotonic() + 20
        while len(got) < N and time.monotonic() < end:
            got += c.poll(N, timeout=0.5)
        assert len(got) == N
    with gofka.AdminClient(brokers, connection_pool=gofka.ConnectionPool(), timeout=20) as a:
        gc.collect()
        assert topic in a.list_topics()
    with gofka.Producer(brokers, connection_pool=gofka.ConnectionPool(), timeout=20) as p:
        gc.collect()
        assert p.send(topic, b"after-gc", partition=0) == N

    async def run_async() -> int:
        async with gofka.AsyncProducer(brokers, connection_pool=gofka.ConnectionPool(), timeout=20) as ap:
            gc.collect()
            return await ap.send(topic, b"after-gc-async", partition=0)

    assert asyncio.run(run_async()) == N + 1


# -- signals during blocking calls ---------------------------------------------
#
# SIGINT: tests/python/test_interrupt.py (KeyboardInterrupt within 0.5 s).
# SIGTERM with Python's default disposition kills the process at once (no
# atexit, no finally): nothing in the process can run, so an application
# that must not lose buffered records installs a handler; with one that
# raises SystemExit, the blocking call is interrupted and the exit hooks
# deliver (or report) what was buffered.

_SIGNALLED = r"""
target = sys.argv[5]
if how == "handler":
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))
def kill_later():
    time.sleep(0.5)
    print("signalled %.6f" % time.time(), flush=True)
    os.kill(os.getpid(), signal.SIGTERM if how != "sigint" else signal.SIGINT)
threading.Thread(target=kill_later, daemon=True).start()
if target == "consumer_poll":
    c = gofka.Consumer(brokers, None, None, **FAST)
    c.assign([(topic, 0)])
    c.seek(topic, 0, gofka.OFFSET_END)
    c.poll(10, timeout=None)
elif target == "async_consumer_poll":
    async def main():
        c = gofka.AsyncConsumer(brokers, None, None, **FAST)
        c.assign([(topic, 0)])
        c.seek(topic, 0, gofka.OFFSET_END)
        await c.poll(10, timeout=None)
    asyncio.run(main())
elif target == "admin_call":
    a = gofka.AdminClient(sys.argv[6], timeout=30)
    a.list_topics()
elif target == "producer_flush":
    # 1000 records buffered for a broker that never answers: the exit
    # hook reports them (GOFKA_EXIT_TIMEOUT=1).
    p = gofka.Producer(sys.argv[6], timeout=30)
    for i in range(1000):
        p.produce(topic, b"%d" % i)
    p.flush(60)
elif target == "async_admin_call":
    async def main():
        a = gofka.AsyncAdminClient(sys.argv[6], timeout=30)
        await a.list_topics()
    asyncio.run(main())
elif target == "async_producer_flush":
    # The asynchronous twin of producer_flush: the exit hook reports.
    async def main():
        p = gofka.AsyncProducer(sys.argv[6], timeout=30)
        futs = [p.send(topic, b"%d" % i) for i in range(1000)]
        await p.flush(60)
    asyncio.run(main())
elif target == "producer_buffered":
    # 1000 records lingering in the producer while the main thread blocks
    # in a consumer poll: the exit hook delivers them.
    p = gofka.Producer(brokers, timeout=20, linger_ms=60000)
    for i in range(1000):
        p.produce(topic, b"%d" % i)
    c = gofka.Consumer(brokers, None, None, **FAST)
    c.assign([(topic, 0)])
    c.seek(topic, 0, gofka.OFFSET_END)
    c.poll(10, timeout=None)
print("not reached", flush=True)
"""


_TARGETS = ["consumer_poll", "async_consumer_poll", "admin_call", "async_admin_call", "producer_flush",
            "async_producer_flush", "producer_buffered"]


# (SIGINT interrupting the consumer and the sync admin calls: test_interrupt.py.)
@pytest.mark.parametrize("how,target", [(h, t) for h in ("default", "handler") for t in _TARGETS]
                         + [("sigint", t) for t in ("async_admin_call", "producer_flush", "async_producer_flush",
                                                    "producer_buffered")])
def test_signal_during_blocking_call(brokers: str, blackhole: str, how: str, target: str) -> None:
    topic = new_topic(brokers, per_partition=0)
    proc, _ = _child(_SIGNALLED, brokers, topic, "-", how, target, blackhole, env={"GOFKA_EXIT_TIMEOUT": "1"})
    ended = time.time()
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "signalled" in out and "not reached" not in out, _out(proc)
    after_signal = ended - float(out.split("signalled ", 1)[1].split()[0])
    if how == "default":
        # Killed by the kernel: nothing runs; the status says so.
        assert proc.returncode == -signal.SIGTERM, _out(proc)
        assert after_signal < 5, after_signal
        return
    if how == "handler":
        assert proc.returncode == 143, _out(proc)
    else:  # an uncaught KeyboardInterrupt ends Python with SIGINT's status
        assert proc.returncode == -signal.SIGINT and "KeyboardInterrupt" in err, _out(proc)
    # Interrupted at once; closes and the exit hook take at most their
    # bounds (consumer timeout=20 on a live cluster is quick; producer
    # GOFKA_EXIT_TIMEOUT=1 against the black hole).
    assert after_signal < 10, after_signal
    if target.endswith("producer_flush"):
        assert "open at interpreter exit with 1000 record(s) not delivered within 1s" in err, _out(proc)
    if target == "producer_buffered":
        assert count_records(brokers, topic) == 1000, _out(proc)


# -- re-entrant consumer callbacks -----------------------------------------------


@pytest.mark.parametrize("action", ["poll", "commit", "close", "assign", "unsubscribe"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_reentrant_on_assign(brokers: str, kind: str, action: str) -> None:
    """on_assign calling back into its consumer: poll (the nested poll gets
    the records, the outer one none), commit, close (the outer poll raises
    CLIENT_CLOSED, nothing it fetched is committed), assign (a clear
    INVALID_ARGUMENT: subscribed), unsubscribe. No hang, no crash, and
    every record is either returned to the application or left to the
    next member of the group."""
    topic = new_topic(brokers)
    group = "g-" + topic
    seen: List[bytes] = []
    cb_errors: List[GofkaError] = []
    outer_error: List[GofkaError] = []
    c: Any = None  # the consumer, once main() made it

    async def act(c: Any) -> None:
        if action == "poll":
            seen.extend(m.value for m in ((await c.poll(N, timeout=5)) if kind == "async" else c.poll(N, timeout=5)))
        elif action == "commit":
            await c.commit() if kind == "async" else c.commit()
        elif action == "close":
            await c.close() if kind == "async" else c.close()
        elif action == "assign":
            c.assign([(topic, 0)])
        else:
            await c.unsubscribe() if kind == "async" else c.unsubscribe()

    def on_assign(tps: List[Any]) -> Any:
        async def run() -> None:
            try:
                await act(c)
            except GofkaError as exc:
                cb_errors.append(exc)
        if kind == "async":
            return run()
        coro = run()
        try:
            coro.send(None)  # the sync calls never suspend
        except StopIteration:
            pass
        return None

    async def main() -> None:
        nonlocal c
        cls: Any = gofka.AsyncConsumer if kind == "async" else gofka.Consumer
        c = cls(brokers, group, [topic], on_assign=on_assign, **FAST)
        end = time.monotonic() + 20
        try:
            while len(seen) < N and time.monotonic() < end and not c.closed:
                if action == "unsubscribe" and not c.subscribed and c.assignment() == []:
                    break
                got = (await c.poll(N, timeout=0.5)) if kind == "async" else c.poll(N, timeout=0.5)
                seen.extend(m.value for m in got)
        except GofkaError as exc:
            outer_error.append(exc)
        if kind == "async":
            await c.close()
        else:
            c.close()

    asyncio.run(main())
    assert members(brokers, group) == 0
    if action == "assign":
        assert [e.code for e in cb_errors] == [_native.ERR_INVALID_ARGUMENT], cb_errors
    else:
        assert cb_errors == [], cb_errors
    if action == "close":
        assert [e.code for e in outer_error] == [_native.ERR_CLIENT_CLOSED], outer_error
    else:
        assert outer_error == [], outer_error
    if action in ("poll", "commit", "assign"):
        assert sorted(seen) == sorted(b"v%d" % i for i in range(N))
        assert committed(brokers, group, topic) == {0: N}
    else:
        # Nothing returned: nothing committed, the next member reads all.
        assert seen == []
        assert committed(brokers, group, topic) in ({0: None}, {0: 0})
        assert read_all(brokers, group, topic, N) == [b"v%d" % i for i in range(N)]


@pytest.mark.parametrize("action", ["close", "commit"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_messages_arriving_with_the_assignment(brokers: str, kind: str, action: str, monkeypatch: Any) -> None:
    """The engine may hand out the assignment event and the first records
    in one poll (timing: test_reentrant_on_assign failed in CI that way).
    Forced here: the poll layer holds the event back until records
    arrive. An on_assign that closes the consumer must then get no record
    returned on the closed consumer and none committed (the next member
    reads them all); one that commits loses nothing either (every record is
    returned once, all committed at the end)."""
    topic = new_topic(brokers)
    group = "g-" + topic
    module: Any = gofka.async_consumer if kind == "async" else gofka.consumer
    held: List[Any] = []
    together: List[int] = []

    def join(msgs: List[Any], events: List[Any]) -> Any:
        if events and not msgs:
            held.extend(events)  # held back until records come
            return [], []
        if msgs and held:
            events = held + list(events)
            del held[:]
        if msgs and events:
            # Forced, or the engine's own timing: both count.
            together.append(len(msgs))
        return msgs, events

    real_poll, real_parse = module.poll_native, getattr(module, "parse_poll", None)
    monkeypatch.setattr(module, "poll_native", lambda *a: join(*real_poll(*a)))
    if real_parse is not None:
        monkeypatch.setattr(module, "parse_poll", lambda *a: join(*real_parse(*a)))
    seen: List[bytes] = []
    outer_error: List[GofkaError] = []
    c: Any = None

    def on_assign(tps: List[Any]) -> Any:
        if action == "close":
            return c.close()  # a coroutine for the async consumer (awaited by it)
        return c.commit()

    async def main() -> None:
        nonlocal c
        cls: Any = gofka.AsyncConsumer if kind == "async" else gofka.Consumer
        c = cls(brokers, group, [topic], on_assign=on_assign, auto_commit=False, **FAST)
        end = time.monotonic() + 20
        try:
            while len(seen) < N and time.monotonic() < end and not c.closed:
                got = (await c.poll(N, timeout=0.5)) if kind == "async" else c.poll(N, timeout=0.5)
                seen.extend(m.value for m in got)
        except GofkaError as exc:
            outer_error.append(exc)
        if not c.closed:
            await c.commit() if kind == "async" else c.commit()
        await c.close() if kind == "async" else c.close()

    asyncio.run(main())
    assert together, "the records never came with the assignment (the forcing did not work)"
    if action == "close":
        assert [e.code for e in outer_error] == [_native.ERR_CLIENT_CLOSED], (outer_error, seen)
        assert seen == []
        assert committed(brokers, group, topic) in ({0: None}, {0: 0})
        assert read_all(brokers, group, topic, N) == [b"v%d" % i for i in range(N)]
    else:
        assert outer_error == []
        assert sorted(seen) == sorted(b"v%d" % i for i in range(N))
        assert committed(brokers, group, topic) == {0: N}


# -- a closed event loop -------------------------------------------------------


@pytest.mark.parametrize("kind", ["consumer", "admin"])
def test_async_client_outlives_its_loop(brokers: str, kind: str) -> None:
    """Used on a loop that is then closed, an AsyncConsumer / AsyncAdminClient
    is still usable and closable from another loop (no hang; the consumer's
    close commits what it returned and leaves the group)."""
    topic = new_topic(brokers)
    group = "g-" + topic
    client: Any = (gofka.AsyncConsumer(brokers, group, [topic], **FAST) if kind == "consumer"
                   else gofka.AsyncAdminClient(brokers, timeout=20))

    async def use() -> int:
        if kind == "consumer":
            got: List[Any] = []
            while len(got) < N:
                got += await client.poll(N, timeout=0.5)
            return len(got)
        return len(await client.list_topics())

    first = asyncio.new_event_loop()
    assert first.run_until_complete(use()) > 0
    first.close()

    async def again() -> None:
        if kind == "consumer":
            assert await client.poll(1, timeout=0.3) == []
        else:
            assert topic in await client.list_topics()
        await asyncio.wait_for(client.close(), 30)

    t0 = time.monotonic()
    asyncio.run(again())
    assert time.monotonic() - t0 < 30
    assert client.closed
    if kind == "consumer":
        assert committed(brokers, group, topic) == {0: N}
        assert members(brokers, group) == 0


def test_pool_outlives_its_loop(brokers: str) -> None:
    """A ConnectionPool whose async calls ran on a loop that is then closed
    serves another loop, and a client on it keeps working; close() after
    that ends at once."""
    host, port = brokers.split(",")[0].rsplit(":", 1)
    pool = gofka.ConnectionPool(max_connections=2)

    async def lease() -> None:
        conn = await pool.get_connection(host, int(port))
        assert await conn.api_versions()
        await pool.release_connection(host, int(port), conn)

    first = asyncio.new_event_loop()
    first.run_until_complete(lease())
    first.close()
    asyncio.run(asyncio.wait_for(lease(), 30))
    with gofka.AdminClient(brokers, connection_pool=pool, timeout=20) as a:
        assert a.list_topics() is not None
    t0 = time.monotonic()
    pool.close()
    assert time.monotonic() - t0 < 5
    assert pool.closed


# -- a closed pool, a vanished cluster ------------------------------------------


def test_consumer_on_closed_pool_fails_clearly(brokers: str) -> None:
    """Closing a pool under a consumer: poll, commit and committed fail with
    CLIENT_CLOSED at once, close() too (the commit of what was polled could
    not be made: said, not hidden) and leaves the consumer closed; the next
    member of the group reads what was not committed. Nothing hangs."""
    topic = new_topic(brokers)
    group = "g-" + topic
    pool = gofka.ConnectionPool()
    c = gofka.Consumer(brokers, group, None, connection_pool=pool, **FAST)
    c.assign([(topic, 0)])
    got: List[Any] = []
    end = time.monotonic() + 20
    while len(got) < N and time.monotonic() < end:
        got += c.poll(N, timeout=0.5)
    assert len(got) == N
    pool.close()
    t0 = time.monotonic()
    for call in (lambda: c.poll(1, timeout=2), c.commit, lambda: c.committed([(topic, 0)]), c.close):
        with pytest.raises(GofkaError) as exc:
            call()
        assert exc.value.name == "CLIENT_CLOSED", exc.value
    assert time.monotonic() - t0 < 5
    assert c.closed
    assert read_all(brokers, group, topic, N) == [b"v%d" % i for i in range(N)]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_consumer_close_bounded_when_cluster_vanished(kind: str) -> None:
    """The cluster vanishes (its dev cluster closes) under a consumer that
    polled: close() (commit, leave) ends within its timeout with or without
    an error; it never hangs."""
    cluster = gofka.DevCluster()
    try:
        topic = new_topic(cluster.brokers)
        opts = dict(FAST, timeout=3)
        if kind == "sync":
            c: Any = gofka.Consumer(cluster.brokers, "g-" + topic, [topic], **opts)
            got: List[Any] = []
            while len(got) < N:
                got += c.poll(N, timeout=0.5)
        else:
            c = gofka.AsyncConsumer(cluster.brokers, "g-" + topic, [topic], **opts)

            async def poll() -> None:
                got: List[Any] = []
                while len(got) < N:
                    got += await c.poll(N, timeout=0.5)
            asyncio.run(poll())
    finally:
        cluster.close()
    t0 = time.monotonic()
    with pytest.raises(GofkaError) as exc:  # the commit of what was polled failed: said, not hidden
        if kind == "sync":
            c.close()
        else:
            asyncio.run(c.close())
    assert exc.value.name == "COORDINATOR_NOT_AVAILABLE", exc.value
    assert time.monotonic() - t0 < 3 * 3 + 2  # bound: timeout=3 s, with slack (a hang check)
    assert c.closed


_VANISHED_AT_EXIT = r"""
cluster = gofka.DevCluster()
with gofka.Producer(cluster.brokers, timeout=20) as p:
    p.send_batch("t", [b"v"] * 10, partition=0)
if how == "sync":
    c = gofka.Consumer(cluster.brokers, "g", ["t"], **dict(FAST, timeout=2))
    poll_n(c, 10)
else:
    async def main():
        c = gofka.AsyncConsumer(cluster.brokers, "g", ["t"], **dict(FAST, timeout=2))
        await apoll_n(c, 10)
        return c
    c = asyncio.run(main())
cluster.close()
if sys.argv[5] == "gc":
    del c
    gc.collect()
    print("collected", flush=True)
"""


@pytest.mark.parametrize("when", ["exit", "gc"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_implicit_close_reports_failed_commit(kind: str, when: str) -> None:
    """A consumer the program did not close, whose cluster vanished: the
    exit hook's / finalizer's close cannot commit what poll returned; it
    says so on stderr (the gofka.consumer logger) within its timeout."""
    proc, took = _child(_VANISHED_AT_EXIT, "-", "-", "-", kind, when)
    err = proc.stderr.decode()
    assert proc.returncode == 0, _out(proc)
    why = "open at interpreter exit" if when == "exit" else "garbage-collected without close()"
    assert "gofka: consumer %s: close failed" % why in err, _out(proc)
    assert "COORDINATOR_NOT_AVAILABLE" in err, _out(proc)
    assert took < 20, took  # timeout=2 s, with slack (a hang check)


# -- a failed ``async with`` entry ----------------------------------------------


@pytest.mark.parametrize("kind", ["async_producer", "async_admin", "async_consumer"])
def test_failed_async_with_entry_leaves_nothing_open(kind: str) -> None:
    """``async with`` connects on entry; when that fails, the exit does not
    run, so the entry itself closes the client (every async client alike,
    _client.AsyncHandleOwner): the native handle is released and the
    connect error propagates, within a bound (a hang check)."""
    nowhere = "127.0.0.1:1"  # nothing listens: connect fails at once
    client: Any
    if kind == "async_producer":
        client = gofka.AsyncProducer(nowhere, timeout=2)
        close_fn = lambda h, e: _native.lib.gofka_producer_close(h, 0, e)  # noqa: E731
    elif kind == "async_admin":
        client = gofka.AsyncAdminClient(nowhere, timeout=2, retry_policy=gofka.RetryPolicy(max_retries=0))
        close_fn = _native.lib.gofka_admin_close
    else:
        client = gofka.AsyncConsumer(nowhere, "g", ["t"], timeout=2)
        close_fn = lambda h, e: _native.lib.gofka_consumer_close(h, 0, e)  # noqa: E731
    handle = client._handle

    async def enter() -> None:
        async with client:
            pass

    t0 = time.monotonic()
    with pytest.raises(gofka.ConnectionError):
        asyncio.run(enter())
    assert time.monotonic() - t0 < 30
    assert client.closed
    assert _handle_released(close_fn, handle)
