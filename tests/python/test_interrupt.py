"""Ctrl-C (SIGINT) interrupts a blocking call within 500 ms.

Each case runs in a child Python process (signals go to the main thread of
a process of its own, and a KeyboardInterrupt must not reach pytest): the
child starts a blocking call, a timer thread sends SIGINT to the process
0.5 s later, and the child reports how long after the signal the call gave
up with KeyboardInterrupt. The child then closes its clients and exits;
the test fails on a crash, a hang or a late interruption.

"Blocked" means: a consumer polling an empty partition without a timeout,
and a producer whose only broker accepts TCP connections but never answers
(a listening socket nobody reads) sending, flushing, or an admin call.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import gofka

LIMIT = 0.5  # seconds from SIGINT to KeyboardInterrupt

_PRELUDE = textwrap.dedent(
    """
    import asyncio, os, signal, socket, sys, threading, time
    # Python's own Ctrl-C handler even when the test runner was started
    # with SIGINT ignored (a background job of a shell without job
    # control, nohup), which Python would otherwise keep.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, %(pydir)r)
    import gofka

    BROKERS = %(brokers)r
    TOPIC = %(topic)r

    def black_hole():
        # Accepts connections (the kernel completes the handshake) and never
        # answers: every request to it blocks until its timeout.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        return s, "127.0.0.1:%%d" %% s.getsockname()[1]

    sent = []
    def interrupt_later():
        def fire():
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)
        threading.Timer(0.5, fire).start()

    def run(call):
        interrupt_later()
        start = time.monotonic()
        try:
            call()
        except KeyboardInterrupt:
            print("INTERRUPTED %%.3f" %% (time.monotonic() - sent[0]), flush=True)
        else:
            print("RETURNED %%.3f" %% (time.monotonic() - start), flush=True)
    """
)

CASES = {
    "consumer_poll": """
        c = gofka.Consumer(BROKERS, group_id=None, topics=None, timeout=30)
        c.assign([(TOPIC, 0)])
        c.seek(TOPIC, 0, gofka.OFFSET_END)
        run(lambda: c.poll(max_messages=10, timeout=None))
        c.close()
    """,
    "consumer_poll_group": """
        c = gofka.Consumer(BROKERS, group_id="interrupt-" + TOPIC, topics=[TOPIC], auto_offset_reset="latest", timeout=30)
        c.subscribe()
        run(lambda: c.poll(max_messages=10, timeout=None))
        c.close()
    """,
    "producer_send": """
        s, hole = black_hole()
        p = gofka.Producer(hole, timeout=2)
        run(lambda: p.send(TOPIC, b"never"))
        p.close()
    """,
    "producer_send_batch": """
        s, hole = black_hole()
        p = gofka.Producer(hole, timeout=2)
        run(lambda: p.send_batch(TOPIC, [b"never"] * 10))
        p.close()
    """,
    "producer_flush": """
        s, hole = black_hole()
        p = gofka.Producer(hole, timeout=2)
        p.produce(TOPIC, b"never")
        run(lambda: p.flush(60))
        p.close()
    """,
    "admin_list_topics": """
        s, hole = black_hole()
        a = gofka.AdminClient(hole, timeout=2)
        run(lambda: a.list_topics())
        a.close()
    """,
    "async_consumer_poll": """
        async def main():
            c = gofka.AsyncConsumer(BROKERS, group_id=None, topics=None, timeout=30)
            c.assign([(TOPIC, 0)])
            c.seek(TOPIC, 0, gofka.OFFSET_END)
            try:
                await c.poll(max_messages=10, timeout=None)
            finally:
                await c.close()
        run(lambda: asyncio.run(main()))
    """,
}


@pytest.fixture(scope="module")
def interrupt_topic(brokers: str) -> str:
    import uuid

    name = "gofka-interrupt-%s" % uuid.uuid4().hex[:12]
    with gofka.Producer(brokers, timeout=15) as p:
        p.send(name, b"seed", partition=0)
    return name


@pytest.mark.timeout(120, method="thread")
@pytest.mark.parametrize("case", sorted(CASES))
def test_sigint_interrupts_blocking_call(brokers: str, interrupt_topic: str, case: str) -> None:
    pydir = os.path.dirname(os.path.dirname(gofka.__file__))
    code = _PRELUDE % {"pydir": pydir, "brokers": brokers, "topic": interrupt_topic} + textwrap.dedent(CASES[case])
    proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=90)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, "child exited with %d\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, out, err[-3000:])
    lines = [l for l in out.splitlines() if l.startswith(("INTERRUPTED", "RETURNED"))]
    assert lines, "no result from the child\nstdout:\n%s\nstderr:\n%s" % (out, err[-3000:])
    kind, seconds = lines[0].split()
    assert kind == "INTERRUPTED", "%s returned after %s s instead of raising KeyboardInterrupt" % (case, seconds)
    assert float(seconds) < LIMIT, "%s: KeyboardInterrupt came %s s after SIGINT (limit %s s)" % (case, seconds, LIMIT)
