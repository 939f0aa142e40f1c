"""Fixtures of the Python tests.

``brokers`` is a real Apache Kafka when GOFKA_BROKERS is set (the Makefile
starts one), otherwise an in-process DevCluster shared by the session.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import tracemalloc
import uuid
from typing import Any, Awaitable, Callable, Iterator, List

import pytest
import uvloop  # tests/requirements.txt

# Make `import gofka` work without installing the package.
_PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "python"))
if _PYTHON_DIR not in sys.path:
    sys.path.insert(0, _PYTHON_DIR)

import gofka  # noqa: E402
from gofka import _native  # noqa: E402
from gofka._producer_base import ProducerBase  # noqa: E402

#: What the ``run`` fixture gives: runs a coroutine to completion.
Runner = Callable[[Awaitable[Any]], Any]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Runs a coroutine to completion on a fresh loop of each kind (the
    stock asyncio loop, uvloop), with a 120 s guard against hangs."""

    def runner(coro: Awaitable[Any]) -> Any:
        loop = uvloop.new_event_loop() if request.param == "uvloop" else asyncio.new_event_loop()
        try:
            return loop.run_until_complete(asyncio.wait_for(coro, 120))
        finally:
            loop.close()

    return runner


@pytest.fixture(scope="session")
def dev_cluster() -> Iterator[gofka.DevCluster]:
    """An in-process dev cluster, whatever GOFKA_BROKERS says."""
    with gofka.DevCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def brokers(request: pytest.FixtureRequest) -> str:
    """The bootstrap string of the cluster the tests run against."""
    env = os.environ.get("GOFKA_BROKERS")
    if env:
        return env
    cluster = request.getfixturevalue("dev_cluster")
    return cluster.brokers


class HeldWhileFull:
    """Wraps ProducerBase._produce_chunk (both producers hand every
    send_batch chunk to the library through it): the first try of chunk
    ``full_at`` answers QUEUE_FULL (buffer.memory full) without calling the
    library, so that the batch waits for room there, deterministically.
    Records the Python memory (tracemalloc, started by the caller) held
    then and on the retry after the wait, above ``base``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, full_at: int) -> None:
        self.full_at, self.calls, self.base = full_at, 0, 0
        self.held: List[int] = []
        real = ProducerBase._produce_chunk

        def produce_chunk(*args: object) -> int:
            self.calls += 1
            if self.calls in (self.full_at, self.full_at + 1):
                self.held.append(tracemalloc.get_traced_memory()[0] - self.base)
            if self.calls == self.full_at:
                return _native.ERR_QUEUE_FULL
            return real(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(ProducerBase, "_produce_chunk", staticmethod(produce_chunk))


@pytest.fixture
def topic() -> str:
    """A fresh topic name; the cluster auto-creates it on first produce."""
    return "gofka-py-%s" % uuid.uuid4().hex


@pytest.fixture
def producer(brokers: str) -> Iterator[gofka.Producer]:
    with gofka.Producer(brokers, timeout=15) as p:
        yield p


PUSH_THREAD = "gofka-producer-push"


class HeldPush:
    """Holds the producer's push thread between taking the records of
    ``produce_held`` from the Python buffer and handing them to the
    library, until ``release`` is set or another thread waits for that push
    (for its lock, as commit, abort and flush must); 30 s at most. Other
    pushes (records produced otherwise) go through unheld."""

    def __init__(self, p: gofka.Producer) -> None:
        self.p = p
        self.lock = p._push_lock  # the real one, under WatchedLock
        self.armed = False  # the push thread's next chunk is held
        self.taken = threading.Event()
        self.release = threading.Event()
        chunk = p._produce_chunk
        lock = self.lock
        held_push = self

        class WatchedLock:
            def __enter__(self) -> None:
                if threading.current_thread().name != PUSH_THREAD and held_push.taken.is_set():
                    held_push.release.set()  # waited for: let the push finish
                lock.acquire()

            def __exit__(self, *exc: Any) -> None:
                lock.release()

        def held(*args: Any) -> Any:
            if threading.current_thread().name == PUSH_THREAD and held_push.armed:
                held_push.armed = False
                held_push.taken.set()
                held_push.release.wait(30)
            return chunk(*args)

        p._push_lock = WatchedLock()  # type: ignore[assignment]
        p._produce_chunk = held  # type: ignore[method-assign,assignment]

    def produce_held(self, topic: str, prefix: bytes, n: int = 10) -> List[Any]:
        """produce()s n records (prefix + index, partition 0) and waits
        until the push thread holds them, all of them: the push lock is held
        meanwhile, so that the thread cannot take the first ones alone and
        leave the rest in the Python buffer (where the code under test
        would find them and push them itself). Returns the list that their
        delivery callbacks append their errors to (None for success)."""
        errors: List[Any] = []
        with self.lock:
            self.armed = True
            for i in range(n):
                self.p.produce(topic, prefix + b"%d" % i, partition=0,
                               on_delivery=lambda err, msg: errors.append(err))
        assert self.taken.wait(20), "the push thread never took the records"
        return errors


@pytest.fixture
def hold_push() -> Callable[[gofka.Producer], HeldPush]:
    """HeldPush, for tests of what must wait for records the push thread
    holds (commit, abort, flush)."""
    return HeldPush


def kafka_older_than(major: int, minor: int) -> bool:
    """True when the tests run against an Apache Kafka older than
    major.minor. scripts/run-compat.sh names the version it started in
    GOFKA_KAFKA_VERSION; without it the broker is the dev cluster or
    scripts/kafka.sh's default (the newest supported), never older."""
    v = os.environ.get("GOFKA_KAFKA_VERSION", "")
    if not v or not os.environ.get("GOFKA_BROKERS"):
        return False
    got = tuple(int(x) for x in v.split(".")[:2])
    return got < (major, minor)


@pytest.fixture
def kip848(brokers: str) -> None:
    """Skips a test of the KIP-848 consumer group protocol on a Kafka that
    has none (it is generally available from 4.0)."""
    if kafka_older_than(4, 0):
        pytest.skip("Kafka %s has no KIP-848 consumer protocol (GA in 4.0)" % os.environ["GOFKA_KAFKA_VERSION"])
