"""Resource leak checks (docs/reliability.md, "Resources").

Goroutines, live handles (gofka_debug_stats), file descriptors
(/proc/self/fd), the Go heap and the process RSS must stay flat over 1,000
create/use/close cycles of each client and over 1M records produced and
consumed. Thresholds are stated next to each check; they are absolute
bounds on growth (a leak of one goroutine, descriptor or handle per cycle
would exceed them many times over), not timings.

The clients talk to a cluster outside this process (GOFKA_BROKERS, or a
DevCluster started in a child process), so that the broker's own memory,
goroutines and sockets do not blur the figures.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any, Callable, Dict, Iterator

import pytest

import gofka
from gofka import _native

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self (Linux only)")

CYCLES = 1000
WARMUP = 50
RECORDS = 1_000_000
MiB = 1 << 20

# Growth allowed between the warmed-up baseline and the end. One leaked
# goroutine, descriptor or handle per cycle would show as +1000.
MAX_GOROUTINES = 5
MAX_FDS = 4
MAX_HANDLES = 0
MAX_HEAP = 16 * MiB  # live Go heap after a GC
MAX_RSS = 32 * MiB  # Python + Go + C, measured without forcing the OS to take memory back


def debug_stats(collect: bool = True) -> Dict[str, Any]:
    return json.loads(_native.call_returning_buffer(_native.lib.gofka_debug_stats, 1 if collect else 0))


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class Snapshot(object):
    def __init__(self, baseline: "Snapshot" = None) -> None:
        gc.collect()
        # Goroutines of closed clients end asynchronously: give them a
        # moment before judging.
        deadline = time.monotonic() + 5
        while True:
            st = debug_stats()
            if baseline is None or st["goroutines"] <= baseline.goroutines + MAX_GOROUTINES:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.goroutines = st["goroutines"]
        self.handles = st["handles"]
        self.handles_by_kind = st["handles_by_kind"]
        self.heap = st["heap_alloc_bytes"]
        self.fds = fds()
        self.rss = rss()

    def __repr__(self) -> str:
        return "goroutines=%d handles=%d fds=%d heap=%.1fMiB rss=%.1fMiB" % (
            self.goroutines, self.handles, self.fds, self.heap / MiB, self.rss / MiB)

    def assert_flat(self, base: "Snapshot", what: str) -> None:
        msg = "%s: %r -> %r" % (what, base, self)
        print(msg)
        assert self.handles - base.handles <= MAX_HANDLES, "live handles grew (%s) %s" % (self.handles_by_kind, msg)
        assert self.goroutines - base.goroutines <= MAX_GOROUTINES, "goroutines grew: " + msg
        assert self.fds - base.fds <= MAX_FDS, "file descriptors grew: " + msg
        assert self.heap - base.heap <= MAX_HEAP, "Go heap grew: " + msg
        assert self.rss - base.rss <= MAX_RSS, "RSS grew: " + msg


@pytest.fixture(scope="module")
def ext_brokers() -> Iterator[str]:
    """A cluster outside this process: $GOFKA_BROKERS, else a DevCluster in
    a child process (killed at the end)."""
    env = os.environ.get("GOFKA_BROKERS")
    if env:
        yield env
        return
    code = (
        "import sys; sys.path.insert(0, %r); import gofka; c = gofka.DevCluster(); "
        "print(c.brokers, flush=True); sys.stdin.read()" % os.path.dirname(os.path.dirname(gofka.__file__))
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = child.stdout.readline().decode().strip()
        assert line, "the dev cluster child did not start"
        yield line
    finally:
        child.kill()
        child.wait(10)


@pytest.fixture
def leak_topic(ext_brokers: str) -> str:
    name = "gofka-leak-%s" % uuid.uuid4().hex[:12]
    with gofka.Producer(ext_brokers, timeout=15) as p:
        p.send(name, b"seed", partition=0)
    return name


def cycles(n: int, one: Callable[[int], None]) -> None:
    for i in range(n):
        one(i)


def sync_cycle(kind: str, brokers: str, topic: str) -> Callable[[int], None]:
    """One create / use over the network / close cycle of a client."""
    if kind == "producer":
        def one(i: int) -> None:
            # Every cycle connects (bootstrap, ApiVersions, metadata); every
            # 10th also produces (a produce connection and its sender).
            p = gofka.Producer(brokers, timeout=15)
            try:
                p.connect()
                if i % 10 == 0:
                    p.send(topic, b"cycle", partition=0)
            finally:
                p.close()
    elif kind == "consumer":
        def one(i: int) -> None:
            # Every cycle fetches a record; every 10th has a group_id, so
            # assign() fetches committed offsets from the coordinator and
            # close() commits (auto_commit).
            group = "gofka-leak-g" if i % 10 == 0 else None
            c = gofka.Consumer(brokers, group_id=group, topics=None, timeout=15)
            try:
                c.assign([(topic, 0)])
                c.seek(topic, 0, gofka.OFFSET_BEGINNING)
                assert c.poll(max_messages=1, timeout=10), "no record polled"
            finally:
                c.close()
    elif kind == "admin":
        def one(i: int) -> None:
            a = gofka.AdminClient(brokers, timeout=15)
            try:
                assert topic in a.list_topics()
            finally:
                a.close()
    elif kind == "pool":
        def one(i: int) -> None:
            pool = gofka.ConnectionPool(max_connections=2)
            try:
                with gofka.AdminClient(brokers, timeout=15, connection_pool=pool) as a:
                    a.list_brokers()
            finally:
                pool.close()
    else:
        raise AssertionError(kind)
    return one


@pytest.mark.timeout(240, method="thread")
@pytest.mark.parametrize("kind", ["producer", "consumer", "admin", "pool"])
def test_create_close_cycles(ext_brokers: str, leak_topic: str, kind: str) -> None:
    one = sync_cycle(kind, ext_brokers, leak_topic)
    cycles(WARMUP, one)
    base = Snapshot()
    cycles(CYCLES, one)
    Snapshot(base).assert_flat(base, "%d %s cycles" % (CYCLES, kind))


@pytest.mark.timeout(240, method="thread")
@pytest.mark.parametrize("kind", ["async_producer", "async_consumer", "async_admin"])
def test_async_create_close_cycles(ext_brokers: str, leak_topic: str, kind: str) -> None:
    async def one() -> None:
        if kind == "async_producer":
            async with gofka.AsyncProducer(ext_brokers, timeout=15) as p:
                await p.send(leak_topic, b"cycle", partition=0)
        elif kind == "async_consumer":
            c = gofka.AsyncConsumer(ext_brokers, group_id=None, topics=None, timeout=15)
            try:
                c.assign([(leak_topic, 0)])
                assert await c.poll(max_messages=1, timeout=10), "no record polled"
            finally:
                await c.close()
        else:
            async with gofka.AsyncAdminClient(ext_brokers, timeout=15) as a:
                assert leak_topic in await a.list_topics()

    async def run(n: int) -> None:
        for _ in range(n):
            await one()

    asyncio.run(run(WARMUP))
    base = Snapshot()
    asyncio.run(run(CYCLES))
    Snapshot(base).assert_flat(base, "%d %s cycles" % (CYCLES, kind))


@pytest.mark.timeout(300, method="thread")
def test_million_records_flat(ext_brokers: str) -> None:
    """1M records of 100 bytes produced (send_batch, 20k per call) and
    consumed (poll, up to 10k per call) in step: after the first 200k the
    figures must stay flat up to 1M, and closing the clients gives every
    goroutine and handle back."""
    topic = "gofka-leak-1m-%s" % uuid.uuid4().hex[:12]
    before = Snapshot()
    producer = gofka.Producer(ext_brokers, timeout=30)
    consumer = gofka.Consumer(ext_brokers, group_id=None, topics=None, timeout=30)
    batch = [b"r" * 100] * 20_000
    step = len(batch)
    base = None
    got = 0
    try:
        producer.send(topic, b"first", partition=0)
        consumer.assign([(topic, 0)])
        while got < 1:
            got += len(consumer.poll(max_messages=10, timeout=10))
        sent = 0
        while sent < RECORDS:
            offsets = producer.send_batch(topic, batch, partition=0)
            assert len(offsets) == step
            sent += step
            deadline = time.monotonic() + 60
            while got < sent + 1:
                assert time.monotonic() < deadline, "consumed %d of %d" % (got - 1, sent)
                got += len(consumer.poll(max_messages=10_000, timeout=5))
            if sent == 200_000:
                base = Snapshot()
        assert got == RECORDS + 1
        Snapshot(base).assert_flat(base, "records 200k -> 1M")
    finally:
        producer.close()
        consumer.close()
    after = Snapshot(before)
    assert after.handles == before.handles, "handles after close: %r -> %r" % (before, after)
    assert after.goroutines - before.goroutines <= MAX_GOROUTINES, "goroutines after close: %r -> %r" % (before, after)
    assert after.fds - before.fds <= MAX_FDS, "file descriptors after close: %r -> %r" % (before, after)
