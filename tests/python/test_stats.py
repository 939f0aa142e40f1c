"""Statistics on every client: stats() snapshots and the on_stats reports
(gofka/_stats.py, docs/statistics.md)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Callable, Dict, List

import pytest

import gofka
from gofka.exceptions import GofkaError

BROKER_KEYS = {
    "address", "node_id", "state", "connections", "in_flight", "rtt_avg_us", "rtt_p99_us", "rtt_samples",
    "requests_sent", "bytes_sent", "responses_received", "bytes_received", "errors", "connects",
    "connect_failures", "reconnects", "disconnects",
}
PRODUCER_PART_KEYS = {
    "topic", "partition", "leader", "queued_records", "queued_bytes", "queued_batches", "in_flight_batches",
    "batches_sent", "records_sent", "bytes_sent", "retries",
}
CONSUMER_PART_KEYS = {
    "topic", "partition", "leader", "fetch_position", "position", "committed", "high_watermark", "lag",
    "prefetched_records", "prefetched_bytes", "paused",
}


def _check_brokers(stats: Dict[str, Any]) -> None:
    assert stats["brokers"], stats
    for b in stats["brokers"]:
        assert set(b) == BROKER_KEYS
        assert b["state"] in ("up", "connecting", "down")
    assert any(b["state"] == "up" and b["rtt_samples"] > 0 and b["rtt_avg_us"] > 0 for b in stats["brokers"])


def _wait(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met within %ss" % timeout
        time.sleep(0.02)


def test_producer_stats(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, client_id="stats-p", timeout=15) as p:
        s = p.stats()
        assert s["type"] == "producer" and s["client_id"] == "stats-p"
        assert s["records"] == 0 and s["partitions"] == [] and s["buffer_limit"] > 0
        for i in range(10):
            p.send(topic, b"v%d" % i, partition=0)
        s = p.stats()
        # records counts a resent batch again (a fresh topic's first batch
        # can be refused and retried on a real broker): exact without retries
        assert s["records"] >= 10 and (s["retries"] > 0 or s["records"] == 10)
        assert s["acknowledged"] == 10 and s["failed"] == 0
        _wait(lambda: p.stats()["buffered_records"] == 0)  # drops just after the results (flush waits for it)
        _wait(lambda: p.stats()["buffer_bytes"] == 0)  # buffer.memory is given back just after the results
        [part] = s["partitions"]
        assert set(part) == PRODUCER_PART_KEYS
        assert part["topic"] == topic and part["partition"] == 0
        assert part["records_sent"] >= 10 and (part["retries"] > 0 or part["records_sent"] == 10)
        assert part["batches_sent"] >= 1 and part["queued_records"] == 0
        _check_brokers(s)
    with pytest.raises(GofkaError) as exc:
        p.stats()
    assert exc.value.name == "CLIENT_CLOSED"


def test_consumer_stats_lag(brokers: str, topic: str) -> None:
    n, m = 20, 8
    with gofka.Producer(brokers, timeout=15) as p:
        for i in range(n):
            p.send(topic, b"v%d" % i, partition=0)
    c = gofka.Consumer(brokers, "stats-" + topic, [topic], client_id="stats-c", auto_commit=False, timeout=15)
    try:
        got: List[Any] = []
        deadline = time.monotonic() + 20
        while len(got) < m:
            assert time.monotonic() < deadline
            got += c.poll(m - len(got), timeout=0.5)

        def hw_known() -> bool:
            parts = c.stats()["partitions"]
            return len(parts) == 1 and parts[0]["high_watermark"] == n

        _wait(hw_known)
        s = c.stats()
        assert s["type"] == "consumer" and s["client_id"] == "stats-c" and s["group_id"] == "stats-" + topic
        [part] = s["partitions"]
        assert set(part) == CONSUMER_PART_KEYS
        assert part["position"] == m and part["lag"] == n - m and part["prefetched_records"] == n - m
        assert part["committed"] == -1
        assert s["rebalances"] >= 1 and s["last_commit_ms"] == 0
        # fetched_records counts what was buffered: a second rebalance (a
        # loaded machine can make the first join take two rounds) drops the
        # buffer and fetches the partition again.
        assert s["fetched_records"] == n or (s["rebalances"] > 1 and s["fetched_records"] % n == 0), s
        assert s["buffer_bytes"] > 0 and s["buffer_limit"] > 0
        _check_brokers(s)
        before = int(time.time() * 1000)
        c.commit()
        s = c.stats()
        assert s["commits"] == 1 and s["last_commit_ms"] >= before - 1000
        assert s["partitions"][0]["committed"] == m
    finally:
        c.close()
    with pytest.raises(GofkaError):
        c.stats()


def test_admin_stats(brokers: str) -> None:
    with gofka.AdminClient(brokers, client_id="stats-a", timeout=15) as a:
        s = a.stats()
        assert s["type"] == "admin" and s["client_id"] == "stats-a" and s["brokers"] == []
        a.list_topics()
        s = a.stats()
        assert set(s) == {"type", "client_id", "ts_ms", "brokers"}
        _check_brokers(s)


def test_async_clients_stats(brokers: str, topic: str) -> None:
    async def main() -> None:
        async with gofka.AsyncProducer(brokers, timeout=15) as p:
            await p.send(topic, b"x", partition=0)
            s = p.stats()  # synchronous, on the loop
            assert s["type"] == "producer" and s["acknowledged"] == 1
            assert s["records"] >= 1 and (s["retries"] > 0 or s["records"] == 1)
            assert s["partitions"][0]["records_sent"] == s["records"]
        with pytest.raises(GofkaError):
            p.stats()
        c = gofka.AsyncConsumer(brokers, "stats-a-" + topic, [topic], timeout=15)
        try:
            await c.connect()
            got: List[Any] = []
            deadline = time.monotonic() + 20
            while not got:
                assert time.monotonic() < deadline
                got += await c.poll(10, timeout=0.5)
            s = c.stats()
            assert s["type"] == "consumer" and s["fetched_records"] == 1
            assert s["partitions"][0]["position"] == 1
        finally:
            await c.close()
        async with gofka.AsyncAdminClient(brokers, timeout=15) as a:
            await a.list_topics()
            s = a.stats()
            assert s["type"] == "admin"
            _check_brokers(s)

    asyncio.run(main())


class _Reports(object):
    """Collects on_stats calls and the thread each ran in."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.threads: List[threading.Thread] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()

    def __call__(self, stats: Dict[str, Any]) -> None:
        with self.lock:
            self.calls.append(stats)
            self.threads.append(threading.current_thread())
            if len(self.calls) <= self.fail_first:
                raise RuntimeError("callback failure %d" % len(self.calls))

    def count(self) -> int:
        with self.lock:
            return len(self.calls)


def _make(kind: str, brokers: str, topic: str, **kw: Any) -> Any:
    if kind == "producer":
        return gofka.Producer(brokers, timeout=15, **kw)
    if kind == "consumer":
        return gofka.Consumer(brokers, None, [topic], timeout=15, **kw)
    if kind == "admin":
        return gofka.AdminClient(brokers, timeout=15, **kw)
    if kind == "async_producer":
        return gofka.AsyncProducer(brokers, timeout=15, **kw)
    if kind == "async_consumer":
        return gofka.AsyncConsumer(brokers, None, [topic], timeout=15, **kw)
    return gofka.AsyncAdminClient(brokers, timeout=15, **kw)


def _close(client: Any) -> None:
    if asyncio.iscoroutinefunction(client.close):
        asyncio.run(client.close())
    else:
        client.close()


KINDS = ["producer", "consumer", "admin", "async_producer", "async_consumer", "async_admin"]
TYPES = {"producer": "producer", "consumer": "consumer", "admin": "admin",
         "async_producer": "producer", "async_consumer": "consumer", "async_admin": "admin"}


@pytest.mark.parametrize("kind", KINDS)
def test_on_stats_reports_periodically_in_a_python_thread(kind: str, brokers: str, topic: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    reports = _Reports(fail_first=2)
    caplog.set_level(logging.ERROR)
    client = _make(kind, brokers, topic, stats_interval_ms=20, on_stats=reports)
    try:
        _wait(lambda: reports.count() >= 5)
    finally:
        _close(client)
    with reports.lock:
        calls, threads = list(reports.calls), list(reports.threads)
    # Each report is a full snapshot of this client kind.
    assert all(c["type"] == TYPES[kind] for c in calls)
    # Every call ran in one Python thread of the client, the reporter:
    # not the main thread, not a foreign (Go) thread seen as a dummy.
    assert len({id(t) for t in threads}) == 1
    t = threads[0]
    assert t is client._stats_reporter.thread
    assert t is not threading.main_thread()
    assert not isinstance(t, threading._DummyThread)  # type: ignore[attr-defined]
    assert t.name == "gofka-stats-" + TYPES[kind] and t.daemon
    # The first two calls raised: logged on the client's logger, and the
    # reports went on.
    failures = [r for r in caplog.records if "on_stats callback raised" in r.getMessage()]
    assert len(failures) >= 2
    assert {r.name for r in failures} == {"gofka." + TYPES[kind]}
    assert len(calls) >= 5
    # After close: the thread ends and no report starts.
    t.join(5)
    assert not t.is_alive()
    n = reports.count()
    time.sleep(0.2)  # ten intervals
    assert reports.count() == n


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("interval, on_stats, error", [
    (-1, print, ValueError),
    (float("nan"), print, ValueError),
    (float("inf"), print, ValueError),
    (2 ** 31, print, ValueError),
    ("100", print, TypeError),
    (True, print, TypeError),
    (None, print, TypeError),
    (100, None, ValueError),  # an interval with nobody to report to
    (0, print, ValueError),  # a callback that would never be called
    (100, "not callable", TypeError),
])
def test_bad_stats_options(kind: str, interval: Any, on_stats: Any, error: type, brokers: str, topic: str) -> None:
    with pytest.raises(error) as exc:
        _make(kind, brokers, topic, stats_interval_ms=interval, on_stats=on_stats)
    assert "stats_interval_ms" in str(exc.value) or "on_stats" in str(exc.value)


def test_no_reporter_thread_by_default(brokers: str) -> None:
    before = {t.name for t in threading.enumerate()}
    with gofka.Producer(brokers, timeout=15) as p:
        assert p._stats_reporter is None
        assert not any(t.name.startswith("gofka-stats") for t in threading.enumerate()
                       if t.name not in before)


def test_reporter_holds_no_strong_reference(brokers: str) -> None:
    """An unclosed client with reports is still collected (its finalizer
    closes it), and the thread ends."""
    import gc
    import weakref

    reports = _Reports()
    a = gofka.AdminClient(brokers, timeout=15, stats_interval_ms=10, on_stats=reports)
    ref = weakref.ref(a)
    thread = a._stats_reporter.thread
    _wait(lambda: reports.count() >= 1)
    del a
    gc.collect()
    _wait(lambda: ref() is None, timeout=5)
    thread.join(5)
    assert not thread.is_alive()
