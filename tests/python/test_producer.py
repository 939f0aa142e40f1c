from __future__ import annotations

import builtins
import threading
import time
from typing import List

import pytest

import gofka
from gofka.exceptions import ConnectionError as GofkaConnectionError
from gofka.exceptions import GofkaError


def test_send_returns_increasing_offsets(producer: gofka.Producer, topic: str) -> None:
    offsets = [producer.send(topic, b"message-%d" % i) for i in range(3)]
    assert offsets == [0, 1, 2]


def test_send_accepts_bytearray_and_memoryview(producer: gofka.Producer, topic: str) -> None:
    first = producer.send(topic, bytearray(b"abc"))
    second = producer.send(topic, memoryview(b"defgh")[1:3])
    third = producer.send(topic, b"")
    assert [first, second, third] == [0, 1, 2]


def test_send_string(producer: gofka.Producer, topic: str) -> None:
    assert producer.send_string(topic, "héllo") == 0
    assert producer.send_string(topic, "wörld", encoding="latin-1") == 1
    assert producer.send_string(topic, "keyed", key="k", headers={"h": "v"}) == 2


def test_send_string_rejects_bytes(producer: gofka.Producer, topic: str) -> None:
    with pytest.raises(TypeError):
        producer.send_string(topic, b"bytes")  # type: ignore[arg-type]


def test_send_batch_offsets_contiguous(producer: gofka.Producer, topic: str) -> None:
    first = producer.send(topic, b"before")
    offsets = producer.send_batch(topic, [b"m-%d" % i for i in range(100)])
    assert first == 0
    assert offsets == list(range(1, 101))
    # The batch is followed by the next offset.
    assert producer.send(topic, b"after") == 101


def test_large_send_batch_keeps_input_order(producer: gofka.Producer, topic: str) -> None:
    # ~5 MB: the engine must split it into several record batches, which
    # have to reach the partition in input order.
    values = [b"%08d" % i + b"x" * 100 for i in range(50000)]
    offsets = producer.send_batch(topic, values)
    assert offsets[0] == 0 and offsets[-1] == 49999
    assert offsets == list(range(50000))
    assert producer.send(topic, b"after") == 50000


def test_send_batch_empty_and_mixed_buffers(producer: gofka.Producer, topic: str) -> None:
    assert producer.send_batch(topic, []) == []
    assert producer.send_batch(topic, [b"a", bytearray(b"b"), memoryview(b"c"), b""]) == [0, 1, 2, 3]


def test_send_batch_type_errors(producer: gofka.Producer, topic: str) -> None:
    with pytest.raises(TypeError):
        producer.send_batch(topic, [b"ok", "not bytes"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        producer.send_batch(topic, b"single")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        producer.send_batch(topic, [b"x"], partition=-2)
    with pytest.raises(TypeError):
        producer.send_batch(topic, [b"x"], keys=b"k")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        producer.send_batch(topic, [b"x", b"y"], keys=[b"k"])


def test_key_headers_and_timestamp_accepted(producer: gofka.Producer, topic: str) -> None:
    offsets = [
        producer.send(topic, b"v0", key=b"k0"),
        producer.send(topic, b"v1", key=b"", headers={"a": b"1", "b": "two", "c": None}),
        producer.send(topic, b"v2", headers={}),
        producer.send(topic, b"v3", key=bytearray(b"k3"), timestamp=time.time()),
        producer.send(topic, b"v4", headers={"ünïcode": b"\x00\xff"}, timestamp=1_700_000_000.5),
    ]
    assert offsets == [0, 1, 2, 3, 4]


def test_bad_headers_and_key(producer: gofka.Producer, topic: str) -> None:
    with pytest.raises(TypeError):
        producer.send(topic, b"v", headers={1: b"x"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        producer.send(topic, b"v", headers={"k": 5})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        producer.send(topic, b"v", headers=[("k",)])  # type: ignore[list-item]  # a pair list is fine, a 1-tuple is not
    with pytest.raises(TypeError):
        producer.send(topic, b"v", key="str key")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        producer.send(topic, b"v", timestamp=-5)


@pytest.mark.parametrize("codec", [None, "none", "gzip", "snappy", "lz4", "zstd"])
def test_every_compression_codec(brokers: str, topic: str, codec: str) -> None:
    with gofka.Producer(brokers, timeout=15, compression=codec) as producer:
        assert producer.compression == codec
        payload = b"compressible payload " * 200
        assert producer.send(topic, payload, key=b"k", headers={"codec": str(codec)}) == 0
        assert producer.send_batch(topic, [payload] * 10) == list(range(1, 11))


@pytest.mark.parametrize("codec,low,high", [("gzip", 1, 9), ("lz4", 0, 9), ("zstd", 1, 12)])
def test_compression_level_changes_the_bytes_sent(brokers: str, topic: str, codec: str, low: int, high: int) -> None:
    """compression_level reaches the codec: the same compressible records
    take fewer batch bytes at the higher level, and read back intact."""
    values = [b"record %06d of a compressible value, level test " % i + b"abc" * (i % 7) for i in range(5000)]
    sent = {}
    for level in (low, high):
        with gofka.Producer(brokers, timeout=15, compression=codec, compression_level=level) as producer:
            assert producer.compression_level == level
            producer.send_batch(topic, values, partition=0)
            sent[level] = sum(p["bytes_sent"] for p in producer.stats()["partitions"])
    assert sent[high] < sent[low], sent
    got: List[bytes] = []
    with gofka.Consumer(brokers, None, None, timeout=20) as c:
        c.assign([(topic, 0)])
        end = time.monotonic() + 30
        while len(got) < 2 * len(values):
            assert time.monotonic() < end, "read %d of %d records" % (len(got), 2 * len(values))
            got += [m.value for m in c.poll(1000, timeout=0.5)]
    assert got == values + values


@pytest.mark.parametrize("codec,level", [("gzip", 10), ("snappy", 1), ("none", 13), ("zstd", -2)])
def test_compression_level_outside_the_codec_range(codec: str, level: int) -> None:
    """A level outside compression.level's range (-1..12) is Python's
    ValueError; one inside it that the codec does not take (gzip 10,
    snappy 1) is the engine's, a ValueError too, naming the setting."""
    with pytest.raises(ValueError) as info:
        gofka.Producer("127.0.0.1:1", compression=codec, compression_level=level)
    assert "compression" in str(info.value) and str(level) in str(info.value), info.value


@pytest.mark.parametrize("acks", ["all", -1, 1, "1"])
def test_acks_values(brokers: str, topic: str, acks: object) -> None:
    with gofka.Producer(brokers, timeout=15, acks=acks) as producer:  # type: ignore[arg-type]
        assert producer.acks == acks
        assert producer.send(topic, b"x") == 0


def test_acks_zero_returns_minus_one(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, timeout=15, acks=0) as producer:
        assert producer.send(topic, b"fire and forget") == -1


def test_constructor_stores_attributes() -> None:
    p = gofka.Producer("127.0.0.1:1", client_id="me", timeout=7, compression="gzip", acks=1)
    try:
        assert (p.brokers, p.client_id, p.timeout, p.compression, p.acks) == ("127.0.0.1:1", "me", 7, "gzip", 1)
        assert not p.closed
    finally:
        p.close()
    defaults = gofka.Producer("127.0.0.1:1")
    try:
        assert defaults.client_id == "gofka-python-producer"
        assert defaults.timeout == 30
        assert defaults.compression is None
        assert defaults.acks == "all"
    finally:
        defaults.close()


def test_constructor_validation() -> None:
    with pytest.raises(TypeError):
        gofka.Producer(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        gofka.Producer("")
    with pytest.raises(TypeError):
        gofka.Producer("127.0.0.1:1", client_id=3)  # type: ignore[arg-type]
    for bad_timeout in (0, -1):
        with pytest.raises(ValueError):
            gofka.Producer("127.0.0.1:1", timeout=bad_timeout)
    with pytest.raises(TypeError):
        gofka.Producer("127.0.0.1:1", timeout="30")  # type: ignore[arg-type]
    with pytest.raises(ValueError) as info:
        gofka.Producer("127.0.0.1:1", compression="brotli")
    for name in ("gzip", "snappy", "lz4", "zstd"):
        assert name in str(info.value)
    with pytest.raises(ValueError):
        gofka.Producer("127.0.0.1:1", acks="some")
    with pytest.raises(ValueError):
        gofka.Producer("127.0.0.1:1", client_id="bad\nid")


def test_argument_types(producer: gofka.Producer, topic: str) -> None:
    with pytest.raises(TypeError):
        producer.send(topic, "not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        producer.send(topic, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        producer.send(123, b"x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        producer.send("", b"x")
    with pytest.raises(ValueError):
        producer.send(topic, b"x", partition=-2)
    with pytest.raises(TypeError):
        producer.send(topic, b"x", partition="0")  # type: ignore[arg-type]
    # Nothing above reached the broker: the first real send gets offset 0.
    assert producer.send(topic, b"x") == 0


def test_context_manager_closes(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, timeout=15) as producer:
        assert not producer.closed
        assert producer.send(topic, b"x") == 0
    assert producer.closed


def test_use_after_close_raises_client_closed(brokers: str, topic: str) -> None:
    producer = gofka.Producer(brokers, timeout=15)
    assert producer.send(topic, b"x") == 0
    producer.close()
    for call in (
        lambda: producer.send(topic, b"y"),
        lambda: producer.send_string(topic, "y"),
        lambda: producer.send_batch(topic, [b"y"]),
        lambda: producer.send_batch(topic, []),  # nothing to send: closed all the same
        lambda: producer.send_batch(topic, [b"y"], keys=[b"k"]),
        producer.connect,
    ):
        with pytest.raises(GofkaError) as info:
            call()
        assert info.value.name == "CLIENT_CLOSED"
        assert info.value.code == -103


def test_double_close(brokers: str) -> None:
    producer = gofka.Producer(brokers, timeout=15)
    producer.close()
    producer.close()
    assert producer.closed
    with producer:
        pass
    assert producer.closed


def test_close_without_connecting() -> None:
    producer = gofka.Producer("127.0.0.1:1", timeout=2)
    producer.close()
    assert producer.closed


def test_connect(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, timeout=15) as producer:
        producer.connect()
        producer.connect()  # no-op when connected
        assert producer.send(topic, b"x") == 0


def test_unreachable_broker_raises_connection_error() -> None:
    producer = gofka.Producer("127.0.0.1:1", timeout=2)
    try:
        for call in (producer.connect, lambda: producer.send("t", b"x")):
            start = time.monotonic()
            with pytest.raises(GofkaConnectionError) as info:
                call()
            elapsed = time.monotonic() - start
            assert elapsed < 10, "call blocked %.1fs with timeout=2" % elapsed
            assert isinstance(info.value, builtins.ConnectionError)
            assert isinstance(info.value, GofkaError)
            assert info.value.code < 0
            assert info.value.name
    finally:
        producer.close()


def test_threads_share_one_producer(producer: gofka.Producer, topic: str) -> None:
    results: List[int] = []
    errors: List[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(50):
                offset = producer.send(topic, b"t%d-%d" % (n, i))
                with lock:
                    results.append(offset)
        except BaseException as exc:  # pragma: no cover - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(results) == 400
    assert sorted(results) == list(range(400))


def test_close_while_other_threads_send(brokers: str, topic: str) -> None:
    producer = gofka.Producer(brokers, timeout=15)
    producer.send(topic, b"warm up")
    outcomes: List[object] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                producer.send(topic, b"x")
            except GofkaError as exc:
                with lock:
                    outcomes.append(exc)
                return
        with lock:
            outcomes.append("stopped")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    producer.close()
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert len(outcomes) == 4
    for outcome in outcomes:
        if isinstance(outcome, GofkaError):
            assert outcome.name == "CLIENT_CLOSED", repr(outcome)
        else:
            assert outcome == "stopped"


def test_repr(brokers: str) -> None:
    producer = gofka.Producer(brokers, client_id="repr-test")
    assert "repr-test" in repr(producer)
    producer.close()
    assert "closed" in repr(producer)


# ---- partitioning, options and errors (the engine behind send) ----

# Java client vectors (UtilsTest.testMurmur2): murmur2(key) values; the
# default partitioner takes (murmur2 & 0x7fffffff) % partitions.
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"abc": 479470107,
}


def java_partition(key: bytes, n: int) -> int:
    return (JAVA_MURMUR2[key] & 0x7FFFFFFF) % n


@pytest.fixture
def admin(brokers: str):
    with gofka.AdminClient(brokers, timeout=15) as a:
        yield a


def end_offsets(admin, topic: str) -> dict:
    return {p: o for p, o in admin.list_offsets(topic).items()}


def test_keyed_send_lands_on_java_partition(brokers: str, admin, topic: str) -> None:
    admin.create_topic(topic, num_partitions=7)
    with gofka.Producer(brokers, timeout=15) as producer:
        for key in JAVA_MURMUR2:
            producer.send(topic, b"v", partition=None, key=key)
            producer.send(topic, b"v2", partition=None, key=key)
    expected = {p: 0 for p in range(7)}
    for key in JAVA_MURMUR2:
        expected[java_partition(key, 7)] += 2
    assert end_offsets(admin, topic) == expected


def test_send_batch_keys_headers_timestamps(producer: gofka.Producer, topic: str) -> None:
    offsets = producer.send_batch(
        topic,
        [b"a", b"b", b"c"],
        keys=[b"k1", None, bytearray(b"k3")],
        headers={"h": "v"},
        timestamp=[1_700_000_000.0, None, 1_700_000_001.5],
    )
    assert offsets == [0, 1, 2]
    assert producer.send_batch(topic, [b"d"], headers=[{"x": None}], timestamp=1_700_000_002) == [3]


def test_send_batch_partitioner_spreads(brokers: str, admin, topic: str) -> None:
    admin.create_topic(topic, num_partitions=3)
    with gofka.Producer(brokers, timeout=15, batch_size=1024) as producer:
        offsets = producer.send_batch(topic, [b"x" * 100] * 300, partition=None)
        assert len(offsets) == 300
        keyed = producer.send_batch(topic, [b"k"] * 5, partition=None, keys=[b"foobar"] * 5)
        assert keyed == sorted(keyed)
    ends = end_offsets(admin, topic)
    assert sum(ends.values()) == 305
    assert sum(1 for v in ends.values() if v) >= 2  # sticky: moved between partitions


def test_partition_out_of_range_is_metadata_error(producer: gofka.Producer, topic: str) -> None:
    producer.send(topic, b"x")
    n = producer.partition_count(topic)
    with pytest.raises(gofka.MetadataError) as info:
        producer.send(topic, b"x", partition=n)
    assert info.value.name == "PARTITION_NOT_FOUND"
    assert producer.send(topic, b"y") == 1


def test_unknown_topic_without_auto_creation(brokers: str, topic: str) -> None:
    with gofka.Producer(brokers, timeout=15, allow_auto_create_topics=False) as producer:
        start = time.monotonic()
        with pytest.raises(gofka.MetadataError) as info:
            producer.send(topic, b"x")
        assert info.value.name == "UNKNOWN_TOPIC_OR_PARTITION"
        assert time.monotonic() - start < 14  # failed, did not wait out the timeout
        with pytest.raises(gofka.MetadataError):
            producer.partition_count(topic)


def test_record_too_large(brokers: str, topic: str) -> None:
    big = b"x" * (2 << 20)
    with gofka.Producer(brokers, timeout=15) as producer:
        with pytest.raises(gofka.ProduceError) as info:
            producer.send(topic, big)
        assert "MESSAGE_TOO_LARGE" in info.value.name
        with pytest.raises(gofka.ProduceError):
            producer.produce(topic, big)
        assert producer.send(topic, b"small") == 0
    # Past the client's limit, the broker refuses it (max.message.bytes).
    with gofka.Producer(brokers, timeout=15, max_request_size=8 << 20) as producer:
        with pytest.raises(gofka.ProduceError) as info:
            producer.send(topic, big)
        assert info.value.name == "MESSAGE_TOO_LARGE"
        assert producer.send(topic, b"after") == 1


def test_producer_options(brokers: str, topic: str) -> None:
    policy = gofka.RetryPolicy(max_retries=5, initial_backoff_ms=10, max_backoff_ms=200)
    with gofka.Producer(
        brokers, timeout=15, batch_size=4096, linger_ms=5, max_in_flight=3, enable_idempotence=True,
        retry_policy=policy, delivery_timeout_ms=60000, buffer_memory=1 << 20, compression="lz4",
    ) as producer:
        assert (producer.batch_size, producer.linger_ms, producer.max_in_flight) == (4096, 5, 3)
        assert producer.retry_policy is policy
        assert producer.send_batch(topic, [b"m"] * 2000) == list(range(2000))

    class DuckPolicy(object):  # any object with RetryPolicy's attributes
        max_retries, initial_backoff_ms, max_backoff_ms, backoff_multiplier, jitter = 2, 5, 50, 1.5, False

    with gofka.Producer(brokers, timeout=15, retry_policy=DuckPolicy(), acks=1, max_in_flight=10,
                        enable_idempotence=False) as producer:
        assert producer.send(topic, b"x") == 2000


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"batch_size": 0}, ValueError),
        ({"batch_size": "1"}, TypeError),
        ({"linger_ms": -1}, ValueError),
        ({"max_in_flight": 6}, ValueError),  # idempotence allows at most 5
        ({"max_in_flight": 0}, ValueError),
        ({"enable_idempotence": True, "acks": 1}, ValueError),
        ({"enable_idempotence": "yes"}, TypeError),
        ({"delivery_timeout_ms": 0}, ValueError),
        ({"buffer_memory": 10}, ValueError),
        ({"retry_policy": object()}, TypeError),
        ({"allow_auto_create_topics": "no"}, TypeError),
        ({"compression": "brotli"}, ValueError),
    ],
)
def test_producer_option_validation(kwargs: dict, exc: type) -> None:
    with pytest.raises(exc):
        gofka.Producer("127.0.0.1:1", **kwargs)


def test_acks_one_without_idempotence_allows_more_in_flight() -> None:
    gofka.Producer("127.0.0.1:1", acks=1, max_in_flight=10).close()
    gofka.Producer("127.0.0.1:1", enable_idempotence=False, max_in_flight=10).close()


def test_delivery_timeout_fails_send() -> None:
    with gofka.Producer("127.0.0.1:1", timeout=10, delivery_timeout_ms=300) as producer:
        start = time.monotonic()
        with pytest.raises(gofka.ProduceError) as info:
            producer.send("t", b"x")
        assert info.value.name == "DELIVERY_TIMEOUT"
        assert time.monotonic() - start < 9


def test_partition_count(producer: gofka.Producer, brokers: str, admin, topic: str) -> None:
    admin.create_topic(topic, num_partitions=5)
    assert producer.partition_count(topic) == 5
    with pytest.raises(TypeError):
        producer.partition_count(5)  # type: ignore[arg-type]


def test_value_runs_split_and_reassemble() -> None:
    import array

    from gofka._producer_base import REC_OVERHEAD, columnar, value_lengths, value_runs, values_payload

    values = [b"%d" % i * (i % 7) for i in range(500)]
    lengths = value_lengths(values)
    assert lengths is not None and list(lengths) == [len(v) for v in values]
    runs = value_runs(lengths, 300)
    assert len(runs) > 5
    # Consecutive runs covering every value once, each within the limit
    # (or a single record), and their payloads reassemble the values.
    assert runs[0][0] == 0 and runs[-1][1] == 500
    assert all(a < b and b == c for (a, b), (c, _) in zip(runs, runs[1:] + [(500, 0)]))
    pieces = [values_payload(values, lengths, a, b) for a, b in runs]
    assert b"".join(blob for _, blob in pieces) == b"".join(values)
    assert [l for ls, _ in pieces for l in ls] == list(lengths)
    for ls, blob in pieces:
        assert len(blob) == sum(ls)
        assert len(blob) + REC_OVERHEAD * len(ls) <= 300 or len(ls) == 1
    # Uneven sizes (a run of small values, then large ones, then one larger
    # than the limit): still within the limit, and not one record per run
    # where many fit.
    uneven = [b"s"] * 400 + [b"L" * 120] * 50 + [b"H" * 1000] + [b"s"] * 10
    ul = value_lengths(uneven)
    runs = value_runs(ul, 300)
    assert [i for a, b in runs for i in range(a, b)] == list(range(len(uneven)))
    for a, b in runs:
        assert sum(ul[a:b]) + REC_OVERHEAD * (b - a) <= 300 or b - a == 1
    greedy, size = 1, 0  # runs of the exact greedy split
    for l in ul:
        if size and size + l + REC_OVERHEAD > 300:
            greedy, size = greedy + 1, 0
        size += l + REC_OVERHEAD
    assert len(runs) <= greedy * 3 // 2
    assert value_runs(ul, 1 << 20) == [(0, len(uneven))]
    # Only exact byte strings take the columnar path (the general path
    # converts bytearray / memoryview values and reports bad ones).
    assert value_lengths([b"a", None]) is None and value_lengths([b"a", "s"]) is None
    assert value_lengths([b"a", bytearray(b"b")]) is None
    assert columnar([b"a", None]) is None and columnar([b"a", "s"]) is None
    assert columnar([bytearray(b"ab"), memoryview(b"cd")]) == (array.array("i", [2, 2]), b"abcd")


@pytest.mark.parametrize("buffer_memory,full_at,bound", [(1 << 20, 20, 1 << 20), (32 << 20, 2, 2 << 20)])
def test_send_batch_waiting_for_room_holds_one_chunk(brokers: str, topic: str, monkeypatch: pytest.MonkeyPatch,
                                                     buffer_memory: int, full_at: int, bound: int) -> None:
    # 8 MiB of values in library calls of at most 256 KiB (a quarter of a
    # 1 MiB buffer_memory) or 1 MiB (the default buffer): while the batch
    # waits for buffer room at call ``full_at``, it holds that call's
    # joined values, not the whole batch joined (what 8 threads sending
    # 10 MB batches each used to hold on top of the engine's copy), nor
    # the payloads of the calls already made or still to come.
    import tracemalloc

    from conftest import HeldWhileFull

    values = [bytes([i]) * (64 << 10) for i in range(128)]
    held = HeldWhileFull(monkeypatch, full_at=full_at)
    with gofka.Producer(brokers, timeout=15, buffer_memory=buffer_memory) as producer:
        producer.send(topic, b"first")  # connected, metadata known
        tracemalloc.start()
        try:
            held.base = tracemalloc.get_traced_memory()[0]
            offsets = producer.send_batch(topic, values, 0)
        finally:
            tracemalloc.stop()
    assert offsets == list(range(1, 129))
    assert len(held.held) == 2 and max(held.held) < bound, held.held
    assert held.calls > full_at + 1  # calls were made after the wait


def test_send_batch_through_a_small_buffer(brokers: str, topic: str) -> None:
    # 2000 x 300 B through a 64 KiB buffer: several library calls, each
    # waiting for room, offsets still in input order.
    with gofka.Producer(brokers, timeout=15, buffer_memory=64 << 10, batch_size=8 << 10) as producer:
        values = [b"%05d" % i + b"x" * 295 for i in range(2000)]
        assert producer.send_batch(topic, values) == list(range(2000))
        keyed = producer.send_batch(topic, values[:300], keys=[b"k"] * 300)
        assert keyed == list(range(2000, 2300))
    # The pieces of the one joined blob arrived as the values sent.
    got: List[bytes] = []
    with gofka.Consumer(brokers, None, None, timeout=20) as c:
        c.assign([(topic, 0)])
        end = time.monotonic() + 30
        while len(got) < 2300:
            assert time.monotonic() < end, "read %d of 2300 records" % len(got)
            got += [m.value for m in c.poll(500, timeout=0.5)]
    assert got == values + values[:300]


def test_send_batch_failure_and_null_values(producer: gofka.Producer, topic: str) -> None:
    producer.send(topic, b"x")
    n = producer.partition_count(topic)
    with pytest.raises(gofka.MetadataError) as info:
        producer.send_batch(topic, [b"a", b"b"], partition=n)
    assert info.value.name == "PARTITION_NOT_FOUND"
    with pytest.raises(TypeError):
        producer.send_batch(topic, [b"a", None])  # type: ignore[list-item]
    assert producer.send_batch(topic, [b"c"]) == [1]
