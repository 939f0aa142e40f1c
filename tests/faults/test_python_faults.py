"""Fault tests of the Python API against a real 3-node cluster (tests 4
and 5 of docs/reliability.md at the Python level; the Go tests in this
directory cover the engine under load). Run by scripts/run-faults.sh.

Every test has a hard timeout (pytest-timeout, thread method: it also ends
a call blocked inside the library) and bounds each call it makes.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

import gofka
from gofka import AdminClient, Consumer, GofkaError, Producer


def dead_addr() -> str:
    """A loopback address nothing listens on (connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    addr = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()
    return addr


def read(consumer: Consumer, n: int, within: float) -> List[gofka.Message]:
    """Polls until n messages arrived (or fails after ``within`` s)."""
    deadline = time.monotonic() + within
    got: List[gofka.Message] = []
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, "read %d of %d messages in %.0f s" % (len(got), n, within)
        got.extend(consumer.poll(max_messages=1000, timeout=min(1.0, left)))
    return got


def timed(fn: Callable[[], Any]) -> Tuple[Any, Optional[BaseException], float]:
    start = time.monotonic()
    try:
        return fn(), None, time.monotonic() - start
    except BaseException as exc:  # inspected by the caller
        return None, exc, time.monotonic() - start


@pytest.mark.timeout(240, method="thread")
@pytest.mark.parametrize("how", ["refused", "killed"])
def test_first_bootstrap_dead(fault_cluster: Any, report: Any, how: str) -> None:
    """Test 4: with the first bootstrap address dead, Producer, Consumer
    and AdminClient start through the others."""
    topic = fault_cluster.create_topic(partitions=1)
    brokers = fault_cluster.brokers
    if how == "refused":
        first = dead_addr()
    else:
        fault_cluster.signal(1, "KILL")
        first = brokers[0]
    bootstrap = ",".join([first, brokers[1], brokers[2]])
    figures: Dict[str, Any] = {"first": how}

    start = time.monotonic()
    with AdminClient(bootstrap, timeout=30) as admin:
        assert topic in admin.list_topics()
    figures["admin_first_call_ms"] = int((time.monotonic() - start) * 1000)

    values = [b"bootstrap-%d" % i for i in range(100)]
    start = time.monotonic()
    with Producer(bootstrap, timeout=30) as producer:
        offsets = producer.send_batch(topic, values)
    assert offsets == list(range(offsets[0], offsets[0] + 100))
    figures["producer_ms"] = int((time.monotonic() - start) * 1000)

    start = time.monotonic()
    with Consumer(bootstrap, group_id="g-" + topic, topics=[topic], auto_commit=False, timeout=30) as consumer:
        consumer.subscribe()
        got = read(consumer, 100, 60)
        consumer.commit()
    assert [m.value for m in got] == values
    figures["consumer_ms"] = int((time.monotonic() - start) * 1000)
    report(figures)


@pytest.mark.timeout(300, method="thread")
def test_all_brokers_down(fault_cluster: Any, report: Any) -> None:
    """Test 5: with every broker down, send/poll/commit/admin calls raise a
    documented, retriable gofka error within their timeout (or, for poll
    and flush, return empty-handed at their timeout); once the brokers are
    back, the same objects work again."""
    topic = fault_cluster.create_topic(partitions=3)
    bootstrap = fault_cluster.bootstrap
    timeout = 5
    margin = 2.0
    producer = Producer(bootstrap, timeout=timeout)
    consumer = Consumer(bootstrap, group_id="g-" + topic, topics=[topic], auto_commit=False, timeout=timeout,
                        session_timeout=10000, heartbeat_interval_ms=1000)
    admin = AdminClient(bootstrap, timeout=timeout)
    delivered: List[Tuple[Optional[GofkaError], Any]] = []
    figures: Dict[str, Any] = {}
    try:
        producer.send_batch(topic, [b"before-%d" % i for i in range(10)], partition=0)
        consumer.subscribe()
        last = read(consumer, 10, 60)[-1]
        consumer.commit(last)

        threads = [threading.Thread(target=fault_cluster.signal, args=(n, "KILL")) for n in (1, 2, 3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        down_at = time.monotonic()

        def expect_error(name: str, fn: Callable[[], Any], bound: float = timeout) -> None:
            _, exc, took = timed(fn)
            figures[name + "_ms"] = int(took * 1000)
            figures[name + "_error"] = getattr(exc, "name", repr(exc))
            assert isinstance(exc, GofkaError), "%s with every broker down: expected a GofkaError, got %r" % (name, exc)
            assert exc.retriable, "%s: %r is not retriable" % (name, exc)
            assert isinstance(exc, (gofka.ConnectionError, gofka.GroupCoordinationError)) or exc.name == "TIMED_OUT", \
                "%s: undocumented error %r" % (name, exc)
            assert took < bound + margin, "%s took %.1f s (timeout %s s)" % (name, took, bound)

        expect_error("send", lambda: producer.send(topic, b"during"))
        expect_error("send_batch", lambda: producer.send_batch(topic, [b"during-1", b"during-2"]))
        expect_error("admin_list_topics", lambda: admin.list_topics())
        expect_error("admin_describe_topic", lambda: admin.describe_topic(topic))
        expect_error("commit", lambda: consumer.commit(last))
        expect_error("new_producer_connect", lambda: Producer(bootstrap, timeout=3).connect(), bound=3)

        # produce() buffers; flush(timeout) returns what is still pending.
        producer.produce(topic, b"buffered", partition=1, on_delivery=lambda err, msg: delivered.append((err, msg)))
        left, exc, took = timed(lambda: producer.flush(2.0))
        figures["flush_ms"] = int(took * 1000)
        assert exc is None, "flush raised %r" % (exc,)
        assert left == 1 and took < 2.0 + margin

        # poll has nothing to return: empty-handed at its timeout.
        msgs, exc, took = timed(lambda: consumer.poll(max_messages=10, timeout=2.0))
        figures["poll_ms"] = int(took * 1000)
        if exc is not None:
            assert isinstance(exc, GofkaError) and exc.retriable, "poll raised %r" % (exc,)
        else:
            assert msgs == []
        assert took < 2.0 + margin

        fault_cluster.start(1, 2, 3)
        up_at = time.monotonic()
        figures["outage_ms"] = int((up_at - down_at) * 1000)

        def eventually(name: str, fn: Callable[[], Any], within: float = 90) -> Any:
            """Calls fn until it succeeds (a just-restarted cluster may
            still be electing leaders): the same object must recover."""
            attempts = 0
            start = time.monotonic()
            while True:
                attempts += 1
                try:
                    result = fn()
                    figures[name + "_recovery_ms"] = int((time.monotonic() - start) * 1000)
                    figures[name + "_attempts"] = attempts
                    return result
                except GofkaError as exc:
                    assert exc.retriable, "%s after recovery: %r" % (name, exc)
                    assert time.monotonic() - start < within, "%s did not recover in %s s: %r" % (name, within, exc)
                    time.sleep(0.5)

        assert topic in eventually("admin", lambda: admin.list_topics())
        eventually("send", lambda: producer.send(topic, b"after", partition=0))
        assert eventually("flush", lambda: producer.flush(30)) == 0
        assert len(delivered) == 1, "the buffered record's callback ran exactly once"
        assert delivered[0][0] is None, "the record buffered during the outage was delivered: %r" % (delivered[0][0],)
        values = [m.value for m in eventually("poll", lambda: read(consumer, 1, 60))]
        assert b"after" in values or b"during" in values or b"during-1" in values or b"buffered" in values
        eventually("commit", lambda: consumer.commit())
    finally:
        for client in (producer, consumer, admin):
            try:
                client.close()
            except GofkaError:
                pass
    report(figures)
