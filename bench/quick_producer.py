"""Quick producer check (not the bench harness): msgs/s of the Python
paths and the latency of one sync send at a time, on the dev cluster or on
GOFKA_BROKERS (nothing else runs, unlike the harness's latency scenario,
which has a consumer process on the same machine).

    PYTHONPATH=python python bench/quick_producer.py [--n 100000] [--size 100] [--sends 3000]
"""
import argparse
import asyncio
import os
import resource
import sys
import time
import uuid

import gofka


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(name, n, fn):
    c0, t0 = cpu(), time.perf_counter()
    fn()
    dt, dc = time.perf_counter() - t0, cpu() - c0
    print("%-34s %9.0f msgs/s  %6.3f s  cpu %5.2f us/msg" % (name, n / dt, dt, dc / n * 1e6))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--sends", type=int, default=3000, help="sequential Producer.send calls timed one by one")
    ap.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    ap.add_argument("--batch-size", type=int, default=None, help="batch_size (default: each class's)")
    ap.add_argument("--linger-ms", type=int, default=None, help="linger_ms (default: each class's)")
    a = ap.parse_args()
    brokers = os.environ.get("GOFKA_BROKERS")
    dc = None
    if not brokers:
        dc = gofka.DevCluster()
        brokers = dc.brokers
    value = b"x" * a.size
    values = [value] * a.n
    topic = lambda: "quick-%s" % uuid.uuid4().hex[:12]
    try:
        opts = {k: v for k, v in (("batch_size", a.batch_size), ("linger_ms", a.linger_ms)) if v is not None}
        with gofka.Producer(brokers, **opts) as p:
            t = topic()
            p.send(t, b"warm")
            measure("Producer.send_batch", a.n, lambda: p.send_batch(t, values))
            t = topic()
            p.send(t, b"warm")

            def produce_flush():
                for _ in range(a.n):
                    p.produce(t, value, partition=0)
                assert p.flush(60) == 0

            measure("Producer.produce()+flush()", a.n, produce_flush)
            done = [0]

            def cb(err, msg):
                done[0] += 1

            def produce_cb():
                for _ in range(a.n):
                    p.produce(t, value, partition=0, on_delivery=cb)
                assert p.flush(60) == 0

            measure("Producer.produce(cb)+flush()", a.n, produce_cb)
            t = topic()
            p.send(t, b"warm")
            lat = []
            for _ in range(a.sends):
                t0 = time.perf_counter()
                p.send(t, value)
                lat.append(time.perf_counter() - t0)
            lat.sort()
            if lat:
                print("%-34s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms" % (
                    "Producer.send one at a time", lat[len(lat) // 2] * 1e3, lat[len(lat) * 9 // 10] * 1e3,
                    lat[len(lat) * 99 // 100] * 1e3))

        async def run_async():
            async with gofka.AsyncProducer(brokers, **opts) as ap:
                t = topic()
                await ap.send(t, b"warm")
                c0, t0 = cpu(), time.perf_counter()
                await asyncio.gather(*[ap.send(t, value) for _ in range(a.n)])
                dt, dc_ = time.perf_counter() - t0, cpu() - c0
                print("%-34s %9.0f msgs/s  %6.3f s  cpu %5.2f us/msg" % ("AsyncProducer %d concurrent send" % a.n, a.n / dt, dt, dc_ / a.n * 1e6))
                c0, t0 = cpu(), time.perf_counter()
                await ap.send_batch(t, values)
                dt, dc_ = time.perf_counter() - t0, cpu() - c0
                print("%-34s %9.0f msgs/s  %6.3f s  cpu %5.2f us/msg" % ("AsyncProducer.send_batch", a.n / dt, dt, dc_ / a.n * 1e6))

        if a.loop == "uvloop":
            import uvloop
            loop = uvloop.new_event_loop()
        else:
            loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(run_async())
        finally:
            loop.close()
    finally:
        if dc is not None:
            dc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
