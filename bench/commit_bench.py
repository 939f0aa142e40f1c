"""Commit per message (issue 22, item 3): how long a commit call takes.

    PYTHONPATH=python python bench/commit_bench.py [brokers]

Without brokers (argument or GOFKA_BROKERS) it starts an in-process
DevCluster. It produces 2,000 messages over 4 partitions, polls them all
with auto-commit off, then times, for the async and the sync consumer:

- seq: one caller committing each message in turn (``await
  consumer.commit(m)`` / ``consumer.commit(m)``);
- x16: 16 asyncio tasks (or threads) committing their share of the
  messages at once (task k commits messages k, k+16, ...).

It prints microseconds per commit call and calls per second. A measuring
tool, not a test: numbers depend on the machine and the broker.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from typing import Any, Callable, List, Optional

import gofka
from gofka import AsyncConsumer, Consumer, Message, TopicPartition

N, PARTITIONS, TASKS = 2000, 4, 16
OPTS: Any = dict(session_timeout=6000, heartbeat_interval_ms=300, timeout=30)


def setup(brokers: str) -> str:
    topic = "commit-bench-%s" % uuid.uuid4().hex[:8]
    with gofka.AdminClient(brokers, timeout=30) as admin:
        admin.create_topic(topic, num_partitions=PARTITIONS)
    with gofka.Producer(brokers, timeout=30) as p:
        for part in range(PARTITIONS):
            p.send_batch(topic, [b"x" * 100] * (N // PARTITIONS), partition=part)
    return topic


def report(label: str, calls: int, seconds: float) -> None:
    print("%-10s %5d calls  %8.1f us/call  %9.0f calls/s" % (label, calls, seconds / calls * 1e6, calls / seconds),
          flush=True)


async def run_async(brokers: str, topic: str) -> None:
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    async with AsyncConsumer(brokers, "cb-a-" + topic, None, auto_commit=False, **OPTS) as c:
        c.assign(tps)
        msgs: List[Message] = []
        while len(msgs) < N:
            msgs += await c.poll(N, timeout=1.0)
        t0 = time.perf_counter()
        for m in msgs:
            await c.commit(m)
        report("async seq", len(msgs), time.perf_counter() - t0)

        async def task(k: int) -> None:
            for m in msgs[k::TASKS]:
                await c.commit(m)

        t0 = time.perf_counter()
        await asyncio.gather(*(task(k) for k in range(TASKS)))
        report("async x16", len(msgs), time.perf_counter() - t0)


def run_sync(brokers: str, topic: str) -> None:
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    with Consumer(brokers, "cb-s-" + topic, None, auto_commit=False, **OPTS) as c:
        c.assign(tps)
        msgs: List[Message] = []
        while len(msgs) < N:
            msgs += c.poll(N, timeout=1.0)
        t0 = time.perf_counter()
        for m in msgs:
            c.commit(m)
        report("sync seq", len(msgs), time.perf_counter() - t0)

        def worker(k: int) -> Callable[[], None]:
            def run() -> None:
                for m in msgs[k::TASKS]:
                    c.commit(m)
            return run

        threads = [threading.Thread(target=worker(k)) for k in range(TASKS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report("sync x16", len(msgs), time.perf_counter() - t0)


def main(argv: List[str]) -> None:
    brokers: Optional[str] = argv[1] if len(argv) > 1 else os.environ.get("GOFKA_BROKERS")
    cluster = None
    if not brokers:
        cluster = gofka.DevCluster()
        brokers = cluster.brokers
    try:
        topic = setup(brokers)
        asyncio.run(run_async(brokers, topic))
        run_sync(brokers, topic)
    finally:
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    main(sys.argv)
