"""The Python misuse matrix (docs/reliability.md, "Bad input").

Wrong types, None, huge values, invalid topic names, use after close,
double close, close from another thread while a call blocks, and 8 threads
sharing one producer / consumer / admin client. Every case must end with
its documented error (TypeError / ValueError for what Python checks, the
gofka.exceptions class and error name otherwise), promptly: never a crash,
a hang, or success with bad input.

Each expectation is a tuple of accepted outcomes: exception classes, or
error names (GofkaError.name) such as "INVALID_TOPIC_EXCEPTION".
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import Any, Callable, Iterator, List, Tuple

import pytest

import gofka
from gofka import AdminClient, Consumer, GofkaError, Producer

pytestmark = pytest.mark.timeout(120, method="thread")

# Kafka topic names: 1-249 of [a-zA-Z0-9._-], not "." or "..". The
# documented error is MetadataError INVALID_TOPIC_EXCEPTION (a ValueError
# raised before any I/O is as good).
INVALID_TOPICS = ["bad topic!", "x" * 250, ".", "..", "a/b", "caf\u00e9", "t\u0001"]
INVALID_TOPIC = (ValueError, "INVALID_TOPIC_EXCEPTION")
BAD_ARG = (ValueError, "INVALID_ARGUMENT")
QUICK = 10.0  # seconds any misuse may take at most (no hang)


def check(fn: Callable[[], Any], accepted: Tuple[Any, ...], within: float = QUICK) -> BaseException:
    """Runs fn, which must raise one of accepted within ``within`` s."""
    start = time.monotonic()
    try:
        result = fn()
    except BaseException as exc:  # judged below
        took = time.monotonic() - start
        ok = any(
            (isinstance(a, type) and isinstance(exc, a)) or (isinstance(a, str) and getattr(exc, "name", None) == a)
            for a in accepted
        )
        assert ok, "expected one of %r, got %s: %s" % (accepted, type(exc).__name__, exc)
        if isinstance(exc, GofkaError) and isinstance(accepted[-1], str):
            assert isinstance(exc, GofkaError)
        assert took < within, "took %.1f s" % took
        return exc
    raise AssertionError("expected one of %r, but the call returned %r" % (accepted, result))


@pytest.fixture(scope="module")
def shared(brokers: str) -> Iterator[Tuple[Producer, Consumer, AdminClient, str]]:
    topic = "gofka-misuse-%s" % uuid.uuid4().hex[:12]
    p = Producer(brokers, timeout=10)
    p.send(topic, b"seed", partition=0)
    c = Consumer(brokers, group_id=None, topics=None, timeout=10)
    a = AdminClient(brokers, timeout=10)
    yield p, c, a, topic
    for x in (p, c, a):
        x.close()


def black_hole() -> Tuple[socket.socket, str]:
    """A listening socket nobody reads: connections succeed, requests never
    get an answer."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s, "127.0.0.1:%d" % s.getsockname()[1]


# ---------------------------------------------------------------- constructors

CTOR_CASES = [
    ({"brokers": None}, (TypeError,)),
    ({"brokers": 9092}, (TypeError,)),
    ({"brokers": b"localhost:9092"}, (TypeError,)),
    ({"brokers": ["localhost:9092"]}, (TypeError,)),
    ({"brokers": ""}, (ValueError,)),
    ({"brokers": "   "}, (ValueError,)),
    ({"brokers": "no-port"}, BAD_ARG),
    ({"brokers": "host:0"}, BAD_ARG),
    ({"brokers": "host:99999"}, BAD_ARG),
    ({"client_id": 5}, (TypeError,)),
    ({"client_id": None}, (TypeError,)),
    ({"timeout": None}, (TypeError,)),
    ({"timeout": "30"}, (TypeError,)),
    ({"timeout": True}, (TypeError,)),
    ({"timeout": 0}, (ValueError,)),
    ({"timeout": -1}, (ValueError,)),
    ({"timeout": float("nan")}, (ValueError,)),
    ({"timeout": float("inf")}, (ValueError,)),
]


@pytest.mark.parametrize("kwargs,accepted", CTOR_CASES)
@pytest.mark.parametrize("cls", ["producer", "consumer", "admin"])
def test_constructor_bad_arguments(brokers: str, cls: str, kwargs: dict, accepted: tuple) -> None:
    args = {"brokers": brokers}
    args.update(kwargs)
    if cls == "consumer" and kwargs == {"client_id": None}:
        accepted = ()  # documented: None generates a unique client id
        Consumer(group_id="g", topics=["t"], **args).close()
        return
    if cls == "producer":
        check(lambda: Producer(**args), accepted)
    elif cls == "consumer":
        check(lambda: Consumer(group_id="g", topics=["t"], **args), accepted)
    else:
        check(lambda: AdminClient(**args), accepted)


@pytest.mark.parametrize(
    "kwargs,accepted",
    [
        ({"compression": "zip"}, (ValueError,)),
        ({"compression": 1}, (TypeError, ValueError)),
        ({"acks": 2}, (ValueError,)),
        ({"acks": "some"}, (ValueError,)),
        ({"acks": True}, (TypeError, ValueError)),
        ({"batch_size": -1}, (ValueError,)),
        ({"batch_size": "16k"}, (TypeError,)),
        ({"linger_ms": -5}, (ValueError,)),
        ({"max_in_flight": 0}, (ValueError,)),
        ({"buffer_memory": 2 ** 80}, (ValueError,)),
        ({"delivery_timeout_ms": -1}, (ValueError,)),
        ({"enable_idempotence": "yes"}, (TypeError,)),
    ],
)
def test_producer_bad_options(brokers: str, kwargs: dict, accepted: tuple) -> None:
    check(lambda: Producer(brokers, **kwargs), accepted)


@pytest.mark.parametrize(
    "kwargs,accepted",
    [
        ({"group_id": 5}, (TypeError,)),
        ({"topics": "t"}, (TypeError,)),
        ({"topics": []}, (ValueError,)),
        ({"topics": [5]}, (TypeError,)),
        ({"topics": [None]}, (TypeError,)),
        ({"auto_offset_reset": "middle"}, (ValueError,)),
        ({"auto_offset_reset": None}, (TypeError, ValueError)),
        ({"session_timeout": "30s"}, (TypeError,)),
        ({"session_timeout": -1}, (ValueError,)),
        ({"max_poll_records": 0}, (ValueError,)),
        ({"max_poll_records": 2 ** 40}, (ValueError,)),
        ({"group_protocol": "gossip"}, (ValueError,)),
        ({"auto_commit": "yes"}, (TypeError,)),
    ],
)
def test_consumer_bad_options(brokers: str, kwargs: dict, accepted: tuple) -> None:
    args = {"group_id": "g", "topics": ["t"]}
    args.update(kwargs)
    check(lambda: Consumer(brokers, **args), accepted)


# ---------------------------------------------------------------- producer calls

SEND_CASES = [
    ("topic None", lambda p, t: p.send(None, b"v"), (TypeError,)),
    ("topic int", lambda p, t: p.send(5, b"v"), (TypeError,)),
    ("topic bytes", lambda p, t: p.send(t.encode(), b"v"), (TypeError,)),
    ("topic empty", lambda p, t: p.send("", b"v"), (ValueError,)),
    ("topic NUL", lambda p, t: p.send("a\0b", b"v"), (ValueError,)),
    ("message None", lambda p, t: p.send(t, None), (TypeError,)),
    ("message str", lambda p, t: p.send(t, "text"), (TypeError,)),
    ("message int", lambda p, t: p.send(t, 5), (TypeError,)),
    ("message list", lambda p, t: p.send(t, [b"v"]), (TypeError,)),
    ("partition str", lambda p, t: p.send(t, b"v", "0"), (TypeError,)),
    ("partition float", lambda p, t: p.send(t, b"v", 1.5), (TypeError,)),
    ("partition bool", lambda p, t: p.send(t, b"v", True), (TypeError,)),
    ("partition negative", lambda p, t: p.send(t, b"v", -5), (ValueError,)),
    ("partition 2**31", lambda p, t: p.send(t, b"v", 2 ** 31), (ValueError,)),
    ("partition 2**63", lambda p, t: p.send(t, b"v", 2 ** 63), (ValueError,)),
    ("partition missing", lambda p, t: p.send(t, b"v", 2 ** 31 - 1), (gofka.MetadataError,)),
    ("key str", lambda p, t: p.send(t, b"v", key="k"), (TypeError,)),
    ("key int", lambda p, t: p.send(t, b"v", key=5), (TypeError,)),
    ("headers bad pair", lambda p, t: p.send(t, b"v", headers=[("k", b"v", b"w")]), (TypeError,)),
    ("headers int key", lambda p, t: p.send(t, b"v", headers={1: b"v"}), (TypeError,)),
    ("headers int value", lambda p, t: p.send(t, b"v", headers={"k": 5}), (TypeError,)),
    ("timestamp str", lambda p, t: p.send(t, b"v", timestamp="now"), (TypeError,)),
    ("timestamp negative", lambda p, t: p.send(t, b"v", timestamp=-1), (ValueError,)),
    ("timestamp nan", lambda p, t: p.send(t, b"v", timestamp=float("nan")), (ValueError,)),
    ("timestamp huge", lambda p, t: p.send(t, b"v", timestamp=1e30), (ValueError,)),
    ("value 2 MiB", lambda p, t: p.send(t, b"x" * (2 << 20)), ("MESSAGE_TOO_LARGE_LOCAL", "MESSAGE_TOO_LARGE")),
    ("key 2 MiB", lambda p, t: p.send(t, b"v", key=b"k" * (2 << 20)), ("MESSAGE_TOO_LARGE_LOCAL", "MESSAGE_TOO_LARGE")),
    ("send_string bytes", lambda p, t: p.send_string(t, b"v"), (TypeError,)),
    ("send_string encoding", lambda p, t: p.send_string(t, "v", encoding="no-such-codec"), (LookupError,)),
    ("send_batch bytes", lambda p, t: p.send_batch(t, b"abc"), (TypeError,)),
    ("send_batch str", lambda p, t: p.send_batch(t, "abc"), (TypeError,)),
    ("send_batch int", lambda p, t: p.send_batch(t, 5), (TypeError,)),
    ("send_batch None item", lambda p, t: p.send_batch(t, [b"a", None]), (TypeError,)),
    ("send_batch str item", lambda p, t: p.send_batch(t, [b"a", "b"]), (TypeError,)),
    ("send_batch huge item", lambda p, t: p.send_batch(t, [b"a", b"x" * (2 << 20)]),
     ("MESSAGE_TOO_LARGE_LOCAL", "MESSAGE_TOO_LARGE")),
    ("produce value str", lambda p, t: p.produce(t, "text"), (TypeError,)),
    ("produce callback", lambda p, t: p.produce(t, b"v", on_delivery=5), (TypeError,)),
    ("flush timeout str", lambda p, t: p.flush("1"), (TypeError,)),
]


@pytest.mark.parametrize("name,call,accepted", SEND_CASES, ids=[c[0] for c in SEND_CASES])
def test_producer_bad_calls(shared: Any, name: str, call: Callable, accepted: tuple) -> None:
    p, _, _, topic = shared
    check(lambda: call(p, topic), accepted)
    # The producer still works after the bad call.
    assert p.send(topic, b"still-ok", partition=0) >= 0


@pytest.mark.parametrize("topic", INVALID_TOPICS)
def test_invalid_topic_names(shared: Any, topic: str) -> None:
    """Every client reports an invalid topic name the same way, whatever
    the broker (the dev cluster accepts names Kafka refuses)."""
    p, c, a, _ = shared
    brokers = p.brokers
    calls = {
        "Producer.send": lambda: p.send(topic, b"v"),
        "Producer.send_batch": lambda: p.send_batch(topic, [b"v"]),
        "Producer.partition_count": lambda: p.partition_count(topic),
        "AdminClient.create_topic": lambda: a.create_topic(topic),
        "AdminClient.describe_topic": lambda: a.describe_topic(topic),
        "Consumer.assign": lambda: c.assign([(topic, 0)]),
        "Consumer.subscribe": lambda: Consumer(brokers, group_id="g", topics=[topic], timeout=10).subscribe(),
    }
    failures = []
    for name, call in calls.items():
        try:
            check(call, INVALID_TOPIC)
        except AssertionError as exc:
            failures.append("%s(%r): %s" % (name, topic, exc))
    c.assign([])
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- consumer calls

CONSUMER_CASES = [
    ("poll max 0", lambda c, t: c.poll(0), (ValueError,)),
    ("poll max negative", lambda c, t: c.poll(-1), (ValueError,)),
    ("poll max str", lambda c, t: c.poll("1"), (TypeError,)),
    ("poll max huge", lambda c, t: c.poll(2 ** 40), (ValueError,)),
    ("poll timeout negative", lambda c, t: c.poll(1, timeout=-1), (ValueError,)),
    ("poll timeout str", lambda c, t: c.poll(1, timeout="1"), (TypeError,)),
    ("poll timeout nan", lambda c, t: c.poll(1, timeout=float("nan")), (ValueError,)),
    ("assign str", lambda c, t: c.assign("t"), (TypeError,)),
    ("assign None", lambda c, t: c.assign(None), (TypeError,)),
    ("assign bad pair", lambda c, t: c.assign([(t,)]), (TypeError, ValueError)),
    ("assign negative", lambda c, t: c.assign([(t, -1)]), (ValueError,)),
    ("assign topic None", lambda c, t: c.assign([(None, 0)]), (TypeError,)),
    ("seek bad offset", lambda c, t: c.seek(t, 0, -5), (ValueError,)),
    ("seek not assigned", lambda c, t: c.seek(t + "-other", 0, 0), ("NOT_ASSIGNED",)),
    ("commit str", lambda c, t: c.commit("message"), (TypeError,)),
    ("commit without group", lambda c, t: c.commit(), ("INVALID_GROUP_ID",)),
    ("subscribe without topics", lambda c, t: c.subscribe(), (ValueError, "INVALID_ARGUMENT")),
    ("committed without group", lambda c, t: c.committed([(t, 0)]), ("INVALID_GROUP_ID",)),
    ("pause str", lambda c, t: c.pause("t"), (TypeError,)),
]


@pytest.mark.parametrize("name,call,accepted", CONSUMER_CASES, ids=[c[0] for c in CONSUMER_CASES])
def test_consumer_bad_calls(brokers: str, shared: Any, name: str, call: Callable, accepted: tuple) -> None:
    _, _, _, topic = shared
    with Consumer(brokers, group_id=None, topics=None, timeout=10) as c:
        c.assign([(topic, 0)])
        check(lambda: call(c, topic), accepted)
        c.assign([(topic, 0)])
        c.seek(topic, 0, gofka.OFFSET_BEGINNING)
        assert c.poll(1, timeout=10), "the consumer still works after the bad call"


# ---------------------------------------------------------------- admin calls

ADMIN_CASES = [
    ("list_topics flag str", lambda a, t: a.list_topics(include_internal="yes"), (TypeError,)),
    ("describe None", lambda a, t: a.describe_topic(None), (TypeError,)),
    ("describe empty", lambda a, t: a.describe_topic(""), (ValueError,)),
    ("describe missing", lambda a, t: a.describe_topic("gofka-missing-" + uuid.uuid4().hex), ("UNKNOWN_TOPIC_OR_PARTITION",)),
    ("create None", lambda a, t: a.create_topic(None), (TypeError,)),
    ("create partitions str", lambda a, t: a.create_topic(t + "-n", num_partitions="3"), (TypeError,)),
    ("create partitions 0", lambda a, t: a.create_topic(t + "-n", num_partitions=0), (ValueError,)),
    ("create partitions negative", lambda a, t: a.create_topic(t + "-n", num_partitions=-5), (ValueError,)),
    ("create partitions 2**40", lambda a, t: a.create_topic(t + "-n", num_partitions=2 ** 40), (ValueError,)),
    ("create rf 0", lambda a, t: a.create_topic(t + "-n", replication_factor=0), (ValueError,)),
    ("create rf 2**20", lambda a, t: a.create_topic(t + "-n", replication_factor=2 ** 20), (ValueError,)),
    ("create config list", lambda a, t: a.create_topic(t + "-n", config=["a=b"]), (TypeError,)),
    ("create config int key", lambda a, t: a.create_topic(t + "-n", config={1: "x"}), (TypeError, ValueError)),
    ("create exists", lambda a, t: a.create_topic(t), ("TOPIC_ALREADY_EXISTS",)),
    ("partition count None", lambda a, t: a.get_partition_count(None), (TypeError,)),
]


@pytest.mark.parametrize("name,call,accepted", ADMIN_CASES, ids=[c[0] for c in ADMIN_CASES])
def test_admin_bad_calls(shared: Any, name: str, call: Callable, accepted: tuple) -> None:
    _, _, a, topic = shared
    check(lambda: call(a, topic), accepted)
    assert topic in a.list_topics(), "the admin client still works after the bad call"


# ---------------------------------------------------------------- lifecycle

def make_client(kind: str, brokers: str, topic: str) -> Any:
    if kind == "producer":
        return Producer(brokers, timeout=10)
    if kind == "consumer":
        c = Consumer(brokers, group_id=None, topics=None, timeout=10)
        c.assign([(topic, 0)])
        return c
    return AdminClient(brokers, timeout=10)


def use(kind: str, client: Any, topic: str) -> Any:
    if kind == "producer":
        return client.send(topic, b"v", partition=0)
    if kind == "consumer":
        return client.poll(1, timeout=0.5)
    return client.list_topics()


@pytest.mark.parametrize("kind", ["producer", "consumer", "admin"])
def test_use_after_close_and_double_close(brokers: str, shared: Any, kind: str) -> None:
    topic = shared[3]
    client = make_client(kind, brokers, topic)
    use(kind, client, topic)
    client.close()
    assert client.closed
    client.close()  # idempotent
    client.close()
    exc = check(lambda: use(kind, client, topic), ("CLIENT_CLOSED",))
    assert isinstance(exc, GofkaError) and not exc.retriable
    with make_client(kind, brokers, topic) as again:
        use(kind, again, topic)
    check(lambda: use(kind, again, topic), ("CLIENT_CLOSED",))


@pytest.mark.parametrize("kind", ["producer", "consumer", "admin"])
def test_close_from_another_thread_while_blocked(brokers: str, shared: Any, kind: str) -> None:
    """A call blocked in the library (a send or admin call to a broker that
    never answers, a poll without timeout on an empty partition) ends
    promptly when another thread closes the client: it returns or raises
    CLIENT_CLOSED; nothing crashes or hangs."""
    topic = shared[3]
    hole = None
    if kind == "consumer":
        client = Consumer(brokers, group_id=None, topics=None, timeout=10)
        client.assign([(topic, 0)])
        client.seek(topic, 0, gofka.OFFSET_END)
        call: Callable[[], Any] = lambda: client.poll(10, timeout=None)
    else:
        sock, hole = black_hole()
        # timeout 3 s: close() may wait that long for the send in flight.
        if kind == "producer":
            client = Producer(hole, timeout=3)
            call = lambda: client.send(topic, b"never")
        else:
            client = AdminClient(hole, timeout=3)
            call = lambda: client.list_topics()
    outcome: List[Any] = []

    def run() -> None:
        start = time.monotonic()
        try:
            outcome.append(("returned", call()))
        except BaseException as exc:
            outcome.append(("raised", exc))
        outcome.append(time.monotonic() - start)

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    closed_at = time.monotonic()
    client.close()
    close_took = time.monotonic() - closed_at
    t.join(15)
    assert not t.is_alive(), "the blocked %s call did not end after close()" % kind
    kind_of, value = outcome[0]
    if kind_of == "raised":
        assert isinstance(value, GofkaError) and value.name in ("CLIENT_CLOSED", "TIMED_OUT"), repr(value)
    ended_after_close = outcome[1] - 0.5
    assert close_took < 5 and ended_after_close < 5, "close %.1f s, call ended %.1f s after close" % (
        close_took, ended_after_close)


# ---------------------------------------------------------------- 8 threads

THREADS = 8


def run_threads(fn: Callable[[int], Any]) -> List[Any]:
    results: List[Any] = [None] * THREADS
    errors: List[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def body(i: int) -> None:
        try:
            barrier.wait(10)
            results[i] = fn(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread is still running after 60 s"
    assert not errors, "errors in threads: %r" % errors[:3]
    return results


def test_eight_threads_share_a_producer(brokers: str) -> None:
    topic = "gofka-threads-%s" % uuid.uuid4().hex[:12]
    with Producer(brokers, timeout=15) as p:
        p.send(topic, b"seed", partition=0)
        delivered: List[Any] = []

        def work(i: int) -> List[int]:
            offsets = []
            for j in range(50):
                offsets.append(p.send(topic, b"t%d-%d" % (i, j), partition=0))
            offsets.extend(p.send_batch(topic, [b"b%d-%d" % (i, j) for j in range(50)], partition=0))
            for j in range(50):
                p.produce(topic, b"p%d-%d" % (i, j), partition=0, on_delivery=lambda err, m: delivered.append(err))
            p.flush(15)
            return offsets

        results = run_threads(work)
        p.flush(15)
        offsets = [o for r in results for o in r]
        assert len(offsets) == len(set(offsets)) == THREADS * 100, "offsets are unique"
        assert len(delivered) == THREADS * 50 and all(e is None for e in delivered)


def test_eight_threads_share_a_consumer(brokers: str) -> None:
    topic = "gofka-threads-%s" % uuid.uuid4().hex[:12]
    total = 2000
    with Producer(brokers, timeout=15) as p:
        p.send_batch(topic, [b"r%d" % i for i in range(total)], partition=0)
    with Consumer(brokers, group_id=None, topics=None, timeout=15) as c:
        c.assign([(topic, 0)])
        seen: List[int] = []
        lock = threading.Lock()

        def work(i: int) -> None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with lock:
                    if len(seen) >= total:
                        return
                for m in c.poll(37, timeout=0.5):
                    with lock:
                        seen.append(m.offset)

        run_threads(work)
        assert sorted(seen) == list(range(total)), "every record exactly once across the threads"


def test_eight_threads_share_an_admin(brokers: str, shared: Any) -> None:
    topic = shared[3]
    with AdminClient(brokers, timeout=15) as a:
        def work(i: int) -> None:
            for _ in range(10):
                assert topic in a.list_topics()
                assert a.describe_topic(topic)["name"] == topic
                assert a.list_brokers()

        run_threads(work)


@pytest.mark.parametrize("kind", ["producer", "consumer", "admin"])
def test_eight_threads_while_one_closes(brokers: str, shared: Any, kind: str) -> None:
    """Seven threads use a client while the eighth closes it: every call
    succeeds or raises CLIENT_CLOSED; nothing crashes or hangs."""
    topic = shared[3]
    client = make_client(kind, brokers, topic)
    bad: List[BaseException] = []

    def work(i: int) -> None:
        if i == 0:
            time.sleep(0.2)
            client.close()
            return
        for _ in range(200):
            try:
                use(kind, client, topic)
            except GofkaError as exc:
                if exc.name != "CLIENT_CLOSED":
                    bad.append(exc)
                return

    run_threads(work)
    assert not bad, "unexpected errors: %r" % bad[:3]
    assert client.closed
