"""fork(): never a hang, never lost or duplicated data (issue 19, items 5, 2).

The Go runtime starts threads when libgofka is loaded, and they do not
survive fork(). So ``import gofka`` must not load it; a child forked before
the engine started can use gofka normally; a child forked after it gets
gofka.ForkError (naming the fix) from its first call, and every finalizer of
what it inherited returns without touching the engine.

Each scenario runs in a script of its own, in a fresh interpreter and its
own session (process group), so that the forks never involve this pytest
process (which runs the dev cluster); the script runs every forked child
under a deadline and reports ``hang`` instead of waiting forever, and the
script itself runs under a timeout after which its whole group is killed.
The scripts reach the cluster of the ``brokers`` fixture through the
environment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any, Dict, List

import pytest

import gofka

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT_TIMEOUT = float(os.environ.get("FORK_TEST_SCRIPT_TIMEOUT", "240"))  # a whole script (children: CHILD_TIMEOUT)

# Imported by every script: in_child() runs a function in a forked child
# and returns what happened there.
PRELUDE = r'''
import asyncio, json, os, sys, time
BROKERS = os.environ["FORK_TEST_BROKERS"]
TOPIC = os.environ["FORK_TEST_TOPIC"]
CHILD_TIMEOUT = float(os.environ.get("FORK_TEST_CHILD_TIMEOUT", "60"))  # shorter to check old code fails

def outcome_of(fn):
    try:
        value = fn()
    except BaseException as exc:
        return {"outcome": "error", "type": type(exc).__name__, "message": str(exc),
                "classes": [c.__name__ for c in type(exc).__mro__]}
    return {"outcome": "ok", "value": value}

def in_child(fn, exit_code=0):
    """Forks; the child runs fn(), reports the outcome through a pipe and
    leaves with os._exit(exit_code) (test_child_exit_* covers the other
    ways out). Returns the outcome plus the child's exit code, or outcome
    "hang" (child killed) when it does not exit within CHILD_TIMEOUT."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out = outcome_of(fn)
        os.write(w, json.dumps(out, default=repr).encode())
        os.close(w)
        os._exit(exit_code)
    os.close(w)
    deadline = time.monotonic() + CHILD_TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(r)
            return {"outcome": "hang"}
        time.sleep(0.02)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    out = json.loads(data.decode()) if data else {"outcome": "no report"}
    out["exit"] = os.waitstatus_to_exitcode(status)
    return out

def report(**kw):
    print("RESULT " + json.dumps(kw, default=repr), flush=True)
'''


def run_script(tmp_path: Any, brokers: str, topic: str, body: str, classes: bool = False) -> Dict[str, Any]:
    """Runs PRELUDE (+ CLASSES) + body as a script file (multiprocessing's
    spawn needs a file) and returns the dict its report() printed."""
    path = os.path.join(str(tmp_path), "fork_scenario.py")
    with open(path, "w") as f:
        f.write(PRELUDE + "\n" + (CLASSES if classes else "") + "\n" + textwrap.dedent(body))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    env["FORK_TEST_BROKERS"] = brokers
    env["FORK_TEST_TOPIC"] = topic
    proc = subprocess.Popen([sys.executable, path], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the script and every child it forked
        stdout, stderr = proc.communicate()
        pytest.fail("the scenario hung (killed after %ss)\nstdout: %s\nstderr: %s" % (SCRIPT_TIMEOUT, stdout, stderr))
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and len(lines) == 1, "script failed (%s)\nstdout: %s\nstderr: %s" % (
        proc.returncode, stdout, stderr)
    result: Dict[str, Any] = json.loads(lines[0][len("RESULT "):])
    result["_stderr"] = stderr
    return result


def assert_fork_error(out: Dict[str, Any]) -> None:
    """The clear error: gofka.ForkError naming both fixes."""
    assert out["outcome"] == "error", out
    assert out["type"] == "ForkError", out
    assert "GofkaError" in out["classes"] and "RuntimeError" in out["classes"], out
    assert "after the fork" in out["message"] and "'spawn' or 'forkserver'" in out["message"], out


def assert_ok(out: Dict[str, Any]) -> None:
    assert out["outcome"] == "ok", out
    assert out["exit"] == 0, out


# How each class is created (in the script) and used (a call doing I/O).
# CREATE_<kind>() returns a new object; USE_<kind>(obj) uses it and returns
# something JSON-serializable.
CLASSES = r'''
import gofka

def CREATE_Producer():
    return gofka.Producer(BROKERS, timeout=20)

def USE_Producer(p):
    return p.send(TOPIC, b"use")

def CREATE_AsyncProducer():
    return gofka.AsyncProducer(BROKERS, timeout=20)

def USE_AsyncProducer(p):
    async def go():
        return await p.send(TOPIC, b"use-async")
    return asyncio.run(go())

def CREATE_Consumer():
    return gofka.Consumer(BROKERS, None, None, timeout=20)

def USE_Consumer(c):
    c.assign([gofka.TopicPartition(TOPIC, 0)])
    c.seek(TOPIC, 0, gofka.OFFSET_BEGINNING)  # a second use reads the seed again
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        msgs = c.poll(10, timeout=0.5)
        if msgs:
            return msgs[0].value.decode()
    return None

def CREATE_AsyncConsumer():
    return gofka.AsyncConsumer(BROKERS, None, None, timeout=20)

def USE_AsyncConsumer(c):
    async def go():
        c.assign([gofka.TopicPartition(TOPIC, 0)])
        c.seek(TOPIC, 0, gofka.OFFSET_BEGINNING)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msgs = await c.poll(10, timeout=0.5)
            if msgs:
                return msgs[0].value.decode()
        return None
    return asyncio.run(go())

def CREATE_AsyncAdminClient():
    return gofka.AsyncAdminClient(BROKERS, timeout=20)

def USE_AsyncAdminClient(a):
    async def go():
        return TOPIC in await a.list_topics()
    return asyncio.run(go())

def CREATE_AdminClient():
    return gofka.AdminClient(BROKERS, timeout=20)

def USE_AdminClient(a):
    return TOPIC in a.list_topics()

def CREATE_ConnectionPool():
    return gofka.ConnectionPool(max_connections=4)

def USE_ConnectionPool(pool):
    # a producer sharing the pool: its connections are the pool's
    with gofka.Producer(BROKERS, timeout=20, connection_pool=pool) as p:
        p.send(TOPIC, b"use-pool")
    return pool.stats()["dials"] > 0

def CREATE_DevCluster():
    return gofka.DevCluster()

def USE_DevCluster(cluster):
    with gofka.Producer(cluster.brokers, timeout=20) as p:
        return p.send("fork-devcluster-%d" % time.monotonic_ns(), b"use")  # a new topic: offset 0

def CLOSE(obj):
    """close(), awaited for the async classes."""
    r = obj.close()
    if asyncio.iscoroutine(r):
        asyncio.run(r)
'''

KINDS = ["Producer", "AsyncProducer", "Consumer", "AsyncConsumer", "AdminClient", "AsyncAdminClient",
         "ConnectionPool", "DevCluster"]
# What USE_<kind> returns when it works.
EXPECTED_USE = {
    "Producer": int,
    "AsyncProducer": int,
    "Consumer": "seed",
    "AsyncConsumer": "seed",
    "AdminClient": True,
    "AsyncAdminClient": True,
    "ConnectionPool": True,
    "DevCluster": 0,
}


def check_use(kind: str, value: Any) -> None:
    expected = EXPECTED_USE[kind]
    if expected is int:
        assert isinstance(value, int) and value >= 0, (kind, value)
    else:
        assert value == expected, (kind, value)


@pytest.fixture
def seeded_topic(brokers: str, topic: str) -> str:
    """A topic whose partition 0 starts with the record b"seed"."""
    with gofka.Producer(brokers, timeout=20) as p:
        assert p.send(topic, b"seed", partition=0) == 0
    return topic


def test_import_starts_no_thread_and_loads_nothing(tmp_path: Any, brokers: str, topic: str) -> None:
    # The Go runtime's threads appear only with the first engine call.
    res = run_script(tmp_path, brokers, topic, r'''
        threads_before = len(os.listdir("/proc/self/task"))
        import gofka
        from gofka import _native
        r = gofka.RetryPolicy(max_retries=1)
        e = gofka.GofkaError("pure")
        after_import = len(os.listdir("/proc/self/task"))
        loaded_after_import = _native.loaded()
        gofka.library_version()
        report(before=threads_before, after_import=after_import, loaded_after_import=loaded_after_import,
               after_load=len(os.listdir("/proc/self/task")), loaded=_native.loaded())
    ''')
    assert res["after_import"] == res["before"] == 1, res
    assert res["loaded_after_import"] is False
    assert res["loaded"] is True and res["after_load"] > 1, res


@pytest.mark.parametrize("kind", KINDS)
def test_fork_before_any_client_child_works(tmp_path: Any, brokers: str, seeded_topic: str, kind: str) -> None:
    # The parent imported gofka and started no engine: the child creates
    # and uses its own client, and so does the parent after the child.
    res = run_script(tmp_path, brokers, seeded_topic, r'''
        def child():
            obj = CREATE_%(kind)s()
            try:
                return USE_%(kind)s(obj)
            finally:
                CLOSE(obj)
        out = in_child(child)
        obj = CREATE_%(kind)s()
        parent_after = USE_%(kind)s(obj)
        CLOSE(obj)
        report(child=out, parent_after=parent_after)
    ''' % {"kind": kind}, classes=True)
    assert_ok(res["child"])
    check_use(kind, res["child"]["value"])
    check_use(kind, res["parent_after"])


@pytest.mark.parametrize("kind", KINDS)
def test_fork_after_client_inherited_and_new_raise_fork_error(
        tmp_path: Any, brokers: str, seeded_topic: str, kind: str) -> None:
    # The parent created (and used) a client, so its engine runs: in the
    # child the inherited client and a new one raise ForkError at the first
    # call; close and the context-manager exit are silent; the parent's
    # client keeps working.
    res = run_script(tmp_path, brokers, seeded_topic, r'''
        obj = CREATE_%(kind)s()
        USE_%(kind)s(obj)
        inherited = in_child(lambda: USE_%(kind)s(obj), exit_code=3)
        new = in_child(lambda: USE_%(kind)s(CREATE_%(kind)s()), exit_code=4)
        def close_twice():
            CLOSE(obj)
            CLOSE(obj)
            return obj.closed
        closed = in_child(close_twice)
        def context_exit():
            if hasattr(obj, "__aenter__"):
                async def go():
                    async with obj:
                        pass
                asyncio.run(go())
            else:
                with obj:
                    pass
            return "exited"
        ctx = in_child(context_exit)
        parent_after = USE_%(kind)s(obj)
        CLOSE(obj)
        report(inherited=inherited, new=new, closed=closed, ctx=ctx, parent_after=parent_after)
    ''' % {"kind": kind}, classes=True)
    assert_fork_error(res["inherited"])
    assert res["inherited"]["exit"] == 3
    # the object's own error ("this producer was created before the fork")
    # or, from calls that fetch their library function first, the engine's
    # ("the clients created before the fork")
    assert "created before the fork" in res["inherited"]["message"], res["inherited"]
    assert_fork_error(res["new"])
    assert res["new"]["exit"] == 4
    assert_ok(res["closed"])
    assert res["closed"]["value"] is True  # the child's copy reads closed
    if kind in ("AsyncProducer", "AsyncConsumer", "AsyncAdminClient"):
        # async with connects first: that is a use, hence ForkError
        assert_fork_error(res["ctx"])
    else:
        assert_ok(res["ctx"])
    check_use(kind, res["parent_after"])


@pytest.mark.parametrize("exit_via", ["sys.exit", "normal", "exception"])
def test_child_exit_with_inherited_clients_is_prompt(tmp_path: Any, brokers: str, seeded_topic: str,
                                                     exit_via: str) -> None:
    # The parent holds one of every class, with produce() records in
    # flight and an atexit handler closing them; the child exits through
    # sys.exit, the end of the script or an uncaught exception raised in a
    # with block: every finalizer runs there, none may call the engine or
    # wait, and the parent then delivers its own records.
    res = run_script(tmp_path, brokers, seeded_topic, r'''
        import atexit
        objs = {k: globals()["CREATE_" + k]() for k in %(kinds)r}
        objs["Consumer"].assign([gofka.TopicPartition(TOPIC, 0)])
        p = objs["Producer"]
        delivered = []
        for i in range(200):
            p.produce(TOPIC, b"pending-%%d" %% i, on_delivery=lambda err, msg: delivered.append(err))
        atexit.register(lambda: [CLOSE(o) for o in objs.values()])
        exit_via = %(exit_via)r
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            if exit_via == "sys.exit":
                sys.exit(7)
            if exit_via == "exception":
                with p:
                    raise RuntimeError("child fails inside with producer")
            # "normal": fall through to the end of the script
        else:
            deadline = start + CHILD_TIMEOUT
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    code = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    code = "hang"
                    break
                time.sleep(0.02)
            child_seconds = time.monotonic() - start
            left = p.flush(30)
            report(code=code, child_seconds=child_seconds, left=left,
                   delivered=len(delivered), errors=sum(1 for e in delivered if e is not None))
            for o in objs.values():
                CLOSE(o)
    ''' % {"kinds": KINDS, "exit_via": exit_via}, classes=True)
    expected = {"sys.exit": 7, "normal": 0, "exception": 1}[exit_via]
    assert res["code"] == expected, res
    assert res["left"] == 0 and res["delivered"] == 200 and res["errors"] == 0, res
    stderr = res["_stderr"]
    assert "Exception ignored" not in stderr, stderr  # no finalizer failed
    if exit_via == "exception":
        assert stderr.count("Traceback") == 1 and "RuntimeError: child fails inside with producer" in stderr, stderr
    else:
        assert "Traceback" not in stderr, stderr


def test_idempotent_producer_child_cannot_steal_parent_sequence(tmp_path: Any, brokers: str, topic: str) -> None:
    # Item 2: with the default idempotence, a child sending through the
    # inherited producer reused the parent's producer id and sequence, and
    # the broker then dropped the parent's next record as a duplicate (its
    # send() returned the child's offset). Now the child's send raises
    # ForkError, its exit code tells the parent, and the parent's records
    # all get distinct offsets and are all read back.
    res = run_script(tmp_path, brokers, topic, r'''
        import gofka
        p = gofka.Producer(BROKERS, timeout=20)
        offsets = [p.send(TOPIC, b"parent-0", partition=0)]
        def child_send():
            try:
                p.send(TOPIC, b"child", partition=0)
            except gofka.ForkError:
                os._exit(42)  # the parent learns it through the exit code
            return "sent"
        out = in_child(child_send)
        for i in range(1, 4):
            offsets.append(p.send(TOPIC, b"parent-%d" % i, partition=0))
        p.close()
        c = gofka.Consumer(BROKERS, None, None, timeout=20)
        c.assign([gofka.TopicPartition(TOPIC, 0)])
        values = []
        deadline = time.monotonic() + 30
        while len(values) < 4 and time.monotonic() < deadline:
            values += [(m.offset, m.value.decode()) for m in c.poll(100, timeout=0.5)]
        c.close()
        report(child=out, offsets=offsets, values=values)
    ''')
    assert res["child"].get("exit") == 42 and res["child"]["outcome"] == "no report", res["child"]
    assert res["offsets"] == [0, 1, 2, 3], res
    assert res["values"] == [[0, "parent-0"], [1, "parent-1"], [2, "parent-2"], [3, "parent-3"]], res


def test_grandchild_of_an_engine_process_raises_fork_error(tmp_path: Any, brokers: str, topic: str) -> None:
    # The parent never started the engine; its child does, then forks: the
    # grandchild is refused (and names the child as the engine's process).
    res = run_script(tmp_path, brokers, topic, r'''
        import gofka
        def child():
            with gofka.Producer(BROKERS, timeout=20) as p:
                p.send(TOPIC, b"child")
                grand = in_child(lambda: gofka.Producer(BROKERS).send(TOPIC, b"grandchild"))
                again = in_child(lambda: in_child(lambda: gofka.library_version()))
                return {"pid": os.getpid(), "grand": grand, "great": again}
        out = in_child(child)
        report(child=out)
    ''')
    child = res["child"]
    assert_ok(child)
    assert_fork_error(child["value"]["grand"])
    assert "from process %d " % child["value"]["pid"] in child["value"]["grand"]["message"]
    great = child["value"]["great"]
    assert_ok(great)
    assert_fork_error(great["value"])


@pytest.mark.parametrize("method,engine_in_parent,works", [
    ("fork", False, True),
    ("fork", True, False),
    ("forkserver", True, True),
    ("spawn", True, True),
])
def test_multiprocessing_pool_workers_produce(tmp_path: Any, brokers: str, topic: str, method: str,
                                             engine_in_parent: bool, works: bool) -> None:
    # A multiprocessing.Pool whose workers produce records: works with the
    # spawn and forkserver start methods, and with fork when the parent
    # imported gofka but started no engine; ForkError (sent back to the
    # parent) when the parent's engine ran before the workers were forked.
    res = run_script(tmp_path, brokers, topic, r'''
        import multiprocessing
        import gofka

        def produce(i):
            with gofka.Producer(BROKERS, timeout=20) as p:
                return p.send(TOPIC, b"worker-%%d" %% i, partition=0)

        if __name__ == "__main__":
            holder = None
            if %(engine)r:
                holder = gofka.Producer(BROKERS, timeout=20)
                holder.send(TOPIC, b"parent", partition=0)
            ctx = multiprocessing.get_context(%(method)r)
            with ctx.Pool(2) as pool:
                out = outcome_of(lambda: sorted(pool.map_async(produce, range(6)).get(timeout=CHILD_TIMEOUT)))
            if holder is not None:
                out["parent_after"] = holder.send(TOPIC, b"parent-after", partition=0)
                holder.close()
            report(out=out)
    ''' % {"method": method, "engine": engine_in_parent})
    out = res["out"]
    if works:
        first = 1 if engine_in_parent else 0
        assert out["outcome"] == "ok" and out["value"] == list(range(first, first + 6)), out
        if engine_in_parent:
            assert out["parent_after"] == 7, out
    else:
        out["exit"] = 0
        assert_fork_error(out)
        assert out["parent_after"] == 1, out  # nothing was written by the workers


def test_speedups_refuse_the_library_in_a_forked_child(tmp_path: Any, brokers: str, topic: str) -> None:
    # The C fast paths call libgofka through addresses bound at load: in a
    # child forked after it they are unbound, so even a direct call fails
    # instead of entering the engine.
    from gofka.message import speedups

    if speedups is None:
        pytest.skip("the C speedups are not in use (GOFKA_NO_SPEEDUPS=1 or not built)")
    res = run_script(tmp_path, brokers, topic, r'''
        import gofka
        from gofka.message import speedups
        with gofka.Producer(BROKERS, timeout=20) as p:
            p.send(TOPIC, b"parent")
            send = in_child(lambda: speedups.send_wait(1, 1, 1, b"t", 0, None, b"v", b"", -1, 10))
            poll = in_child(lambda: speedups.consumer_poll(1, 1, 0))
            report(send=send, poll=poll)
    ''')
    for out in (res["send"], res["poll"]):
        assert out["outcome"] == "error" and out["type"] == "RuntimeError", out
        assert "libgofka is not bound" in out["message"], out


def test_forked_child_builds_errors_from_codes_without_the_engine(tmp_path: Any, brokers: str, topic: str) -> None:
    # The error table is read when the library loads, so a child forked
    # later still maps codes to classes (e.g. BrokerFailoverManager's
    # NO_BROKERS) instead of needing the engine it cannot use.
    res = run_script(tmp_path, brokers, topic, r'''
        import gofka
        from gofka.exceptions import error_from_code
        gofka.library_version()  # loads the library, nothing else
        def build():
            e = error_from_code(-106, "every broker failed")
            return [type(e).__name__, e.name, e.retriable]
        report(child=in_child(build))
    ''')
    assert_ok(res["child"])
    assert res["child"]["value"] == ["ConnectionError", "NO_BROKERS_AVAILABLE", True], res


def test_inherited_producer_poll_raises_fork_error_on_every_path(tmp_path: Any, brokers: str, topic: str) -> None:
    # poll(0) with nothing due is answered without the library (in C when
    # the speedups are built, gofka._speedups.IdlePoll): in a forked child
    # every form of it must still raise ForkError, not report "nothing due"
    # from the parent's inherited event queue.
    res = run_script(tmp_path, brokers, topic, r'''
        p = gofka.Producer(BROKERS, timeout=20)
        p.produce(TOPIC, b"before-fork", partition=0)
        assert p.flush(20) == 0 and p.poll(0) == 0  # the event queue exists, nothing is due
        forms = {"poll(0)": lambda: p.poll(0), "poll(0.0)": lambda: p.poll(0.0),
                 "poll(timeout=0)": lambda: p.poll(timeout=0), "poll(0.01)": lambda: p.poll(0.01),
                 "flush(0)": lambda: p.flush(0)}
        out = {name: in_child(fn, exit_code=5) for name, fn in forms.items()}
        out["parent"] = outcome_of(lambda: p.poll(0))
        p.close()
        report(**out)
    ''', classes=True)
    assert res.pop("parent") == {"outcome": "ok", "value": 0}
    for name, out in res.items():
        if name.startswith("_"):
            continue
        assert_fork_error(dict(out, form=name))
        assert out["exit"] == 5, (name, out)
