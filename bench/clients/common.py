"""Shared helpers of the benchmark workers (one process per measured run).

Protocol with bench/run.py: the worker gets its run as one JSON object in
argv[1] and prints exactly one JSON result line on stdout as its last line
(libraries' logs go to stderr). A latency consumer also prints ``READY``
when it has seen the priming record; a latency producer waits for a line
on stdin before its timed section.

Run spec keys: scenario (produce | consume | latency-produce |
latency-consume), mode (the client's variant), brokers, topic, partitions,
count, size, compression, group, timeout (seconds), poll_max.

Result keys: ok, unavailable (reason, when the path is not in this build),
error, count, bytes, checksum, seconds (timed section), first_seconds
(consume: start of the timed section to the first record), cpu_seconds
(user+system CPU of the whole process during the timed section),
maxrss_kb (peak RSS of the process, VmHWM), latency_ms (percentiles), extra.

Payloads are the same deterministic pool as bench/gobench (makePool): value
j is its 8-byte big-endian index followed by letters from a SHA-512 counter
stream mapped onto 16 letters (about 2:1 compressible). The checksum of a
run is the sum of zlib.crc32 of every value, modulo 2**64: independent of
order, so partitions can interleave, but any lost, duplicated or damaged
record changes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import struct
import sys
import threading
import time
import traceback
import zlib
from typing import Any, Callable, Dict, List, Optional

ALPHABET = b"abcdefghijklmnop"
_TRANSLATE = bytes(ALPHABET[b & 15] for b in range(256))
MASK64 = (1 << 64) - 1


def pool_size(count: int, size: int) -> int:
    """About 16 MiB of distinct values (see makePool in gobench)."""
    p = 1
    while p * 2 * size <= 16 << 20:
        p *= 2
    return max(1, min(count, p))


def make_pool(count: int, size: int) -> List[bytes]:
    """The values 0..pool_size-1 (identical to gobench's makePool)."""
    if size < 16:
        raise ValueError("size must be at least 16")
    n = pool_size(count, size)
    body = size - 8
    need = n * body
    chunks = []
    have = 0
    k = 0
    sha = hashlib.sha512
    pack = struct.Struct(">Q").pack
    while have < need:
        # 64 digests per join keeps this at ~0.3 s for 16 MiB.
        block = b"".join(sha(b"gofka-bench" + pack(k + i)).digest() for i in range(64))
        k += 64
        chunks.append(block)
        have += len(block)
    stream = b"".join(chunks).translate(_TRANSLATE)
    return [pack(j) + stream[j * body : (j + 1) * body] for j in range(n)]


def expected_checksum(pool: List[bytes], count: int) -> int:
    """Checksum of records 0..count-1 of the pool."""
    n = len(pool)
    crc = zlib.crc32
    full, rest = divmod(count, n)
    total = 0
    if full:
        total = full * sum(crc(v) for v in pool)
    total += sum(crc(pool[j]) for j in range(rest))
    return total & MASK64


def make_values(count: int, size: int):
    """The list of the count values of a throughput run (references into
    the pool, built before the timed section so that every client iterates
    the same ready list) and their expected checksum."""
    pool = make_pool(count, size)
    n = len(pool)
    values = pool * (count // n) + pool[: count % n]
    return values, expected_checksum(pool, count)


def checksum_of(values) -> int:
    crc = zlib.crc32
    return sum(crc(v) for v in values) & MASK64


def latency_value(pool: List[bytes], seq: int, now_ns: int) -> bytes:
    """Value seq of a latency run: 8-byte seq, 8-byte send time (ns since
    the epoch, CLOCK_REALTIME, comparable across processes), filler."""
    v = pool[seq % len(pool)]
    return struct.pack(">QQ", seq, now_ns) + v[16:]


def percentiles(samples: List[float]) -> Optional[Dict[str, float]]:
    """Nearest-rank p50/p99/p99.9 plus max, mean and the sample count (ms)."""
    if not samples:
        return None
    s = sorted(samples)
    n = len(s)

    def at(q: float) -> float:
        i = int(q * n + 0.999999) - 1
        return s[max(0, min(n - 1, i))]

    return {
        "p50": at(0.50),
        "p99": at(0.99),
        "p99.9": at(0.999),
        "max": s[-1],
        "mean": sum(s) / n,
        "samples": float(n),
    }


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def maxrss_kb() -> int:
    """Peak RSS of this process in KiB: VmHWM of /proc/self/status.

    Not ru_maxrss: Linux carries ru_maxrss over execve, so a worker would
    report the runner's RSS at fork time whenever that is larger."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Meter:
    """Wall and process CPU time of the timed section."""

    def __init__(self) -> None:
        self.created = time.perf_counter()
        self.t0 = self.cpu0 = 0.0
        self.wall = self.cpu = 0.0
        self.first: Optional[float] = None

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.cpu0 = cpu_seconds()

    def mark_first(self) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.t0

    def stop(self) -> None:
        self.wall = time.perf_counter() - self.t0
        self.cpu = cpu_seconds() - self.cpu0

    def result(self, **kw: Any) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "ok": True,
            "seconds": self.wall,
            "cpu_seconds": self.cpu,
            "startup_seconds": self.t0 - self.created,
        }
        if self.first is not None:
            out["first_seconds"] = self.first
        out.update(kw)
        return out


class LatencyConsumer:
    """Collects end-to-end latencies of records 1..count; prints READY on
    stdout when the priming record 0 arrives."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.seen = set()
        self.samples: List[float] = []
        self.checksum = 0
        self.ready = False

    def add(self, v: bytes, now_ns: int) -> bool:
        """Records one value; True when the run is complete."""
        if len(v) < 16:
            return False
        seq, sent = struct.unpack_from(">QQ", v)
        self.checksum = (self.checksum + zlib.crc32(v)) & MASK64
        if seq in self.seen:
            return False
        self.seen.add(seq)
        if seq == 0:
            if not self.ready:
                self.ready = True
                sys.stdout.write("READY\n")
                sys.stdout.flush()
        else:
            self.samples.append((now_ns - sent) / 1e6)
        return len(self.samples) >= self.count

    def result(self) -> Dict[str, Any]:
        return {"count": len(self.seen), "checksum": self.checksum, "latency_ms": percentiles(self.samples)}


def wait_go() -> None:
    """Blocks until the runner writes a line on stdin (the consumer of a
    latency run is ready)."""
    if not sys.stdin.readline():
        raise RuntimeError("stdin closed before go")


def latency_produce_loop(spec: Dict[str, Any], meter: Meter, send: Callable[[bytes], None]) -> Dict[str, Any]:
    """Priming record 0, wait for go, then records 1..count one at a time,
    each timed from the call to its acknowledgement."""
    count, size = spec["count"], spec["size"]
    pool = make_pool(count + 1, size)
    v = latency_value(pool, 0, time.time_ns())
    send(v)
    total = zlib.crc32(v)
    wait_go()
    samples = []
    clock = time.perf_counter_ns
    meter.start()
    for seq in range(1, count + 1):
        t0 = clock()
        v = latency_value(pool, seq, time.time_ns())
        send(v)
        samples.append((clock() - t0) / 1e6)
        total += zlib.crc32(v)
    meter.stop()
    return meter.result(
        count=count + 1, bytes=(count + 1) * size, checksum=total & MASK64, latency_ms=percentiles(samples)
    )


async def async_latency_produce_loop(spec: Dict[str, Any], meter: Meter, send) -> Dict[str, Any]:
    """latency_produce_loop for asyncio clients: ``await send(value)``
    returns once the record is acknowledged."""
    import asyncio

    count, size = spec["count"], spec["size"]
    pool = make_pool(count + 1, size)
    v = latency_value(pool, 0, time.time_ns())
    await send(v)
    total = zlib.crc32(v)
    await asyncio.get_running_loop().run_in_executor(None, wait_go)
    samples = []
    clock = time.perf_counter_ns
    meter.start()
    for seq in range(1, count + 1):
        t0 = clock()
        v = latency_value(pool, seq, time.time_ns())
        await send(v)
        samples.append((clock() - t0) / 1e6)
        total += zlib.crc32(v)
    meter.stop()
    return meter.result(
        count=count + 1, bytes=(count + 1) * size, checksum=total & MASK64, latency_ms=percentiles(samples)
    )


def consume_together(spec: Dict[str, Any], meter: Meter, polls: List[Callable[[], List[bytes]]]) -> Dict[str, Any]:
    """The share scenario's loop: each poll function (one group member,
    returning the values of one poll, [] on its timeout) runs on a thread
    of its own until the members read spec["count"] records between them.
    The result has the count and checksum of everything read (a record
    read twice counts twice, so the runner's check fails), measured from
    the meter's start (the rate from the first record, as every consume
    run)."""
    count = spec["count"]
    lock = threading.Lock()
    totals = {"count": 0, "bytes": 0, "sum": 0}
    errors: List[BaseException] = []
    done = threading.Event()
    deadline = time.monotonic() + float(spec.get("timeout", 300))

    def member(poll: Callable[[], List[bytes]]) -> None:
        crc = zlib.crc32
        try:
            while not done.is_set():
                vals = poll()
                if not vals:
                    if time.monotonic() > deadline:
                        raise RuntimeError("timeout after %d of %d" % (totals["count"], count))
                    continue
                n, b, c = len(vals), 0, 0
                for v in vals:
                    b += len(v)
                    c += crc(v)
                with lock:
                    meter.mark_first()
                    totals["count"] += n
                    totals["bytes"] += b
                    totals["sum"] += c
                    if totals["count"] >= count:
                        done.set()
        except BaseException as e:  # reported below
            errors.append(e)
            done.set()

    threads = [threading.Thread(target=member, args=(p,), daemon=True) for p in polls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    meter.stop()
    if errors:
        raise errors[0]
    return meter.result(count=totals["count"], bytes=totals["bytes"], checksum=totals["sum"] & MASK64,
                        extra={"members": len(polls)})


def emit(result: Dict[str, Any]) -> None:
    result.setdefault("maxrss_kb", maxrss_kb())
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def unavailable(reason: str) -> None:
    emit({"ok": False, "unavailable": reason})


def main(runners: Dict[str, Callable[[Dict[str, Any], Meter], Dict[str, Any]]], client: str) -> None:
    """Runs the scenario/mode named in argv[1] and prints its result.

    runners maps "scenario/mode" to a function(spec, meter) returning the
    result dict, or raising Unavailable."""
    spec = json.loads(sys.argv[1])
    key = "%s/%s" % (spec["scenario"], spec.get("mode", ""))
    fn = runners.get(key)
    if fn is None:
        unavailable("%s %s not available in this build" % (client, key))
        return
    # A watchdog in the worker too (the runner also kills on timeout): a
    # hung client must never hang the harness.
    timer = threading.Timer(float(spec.get("timeout", 300)), _timeout_exit)
    timer.daemon = True
    timer.start()
    try:
        res = fn(spec, Meter())
    except Unavailable as e:
        unavailable(str(e))
        return
    except Exception as e:  # reported, not raised: the runner records it
        traceback.print_exc()
        emit({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
        sys.stdout.flush()
        os._exit(1)
    res.setdefault("client", client)
    res.setdefault("mode", spec.get("mode", ""))
    emit(res)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: some clients' background threads make it
    # slow, and nothing after the result line is measured.
    os._exit(0)


def _timeout_exit() -> None:
    emit({"ok": False, "error": "worker timeout"})
    os._exit(3)


class Unavailable(Exception):
    """The requested path does not exist in this build of the client."""
