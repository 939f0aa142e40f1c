"""Interop: records written by Apache Kafka's own console producer, with
every codec, are read by the Gofka consumer (sync and async).

Needs a real Kafka and scripts/kafka.sh: it runs in the real-Kafka phase of
`make test` (scripts/run-tests.sh sets GOFKA_BROKERS and
GOFKA_KAFKA_SCRIPT). On the dev cluster phase there is no console producer,
so the module is skipped there and only there.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid

import pytest

import gofka

BROKERS = os.environ.get("GOFKA_BROKERS", "")
KAFKA_SCRIPT = os.environ.get("GOFKA_KAFKA_SCRIPT", "")

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not (BROKERS and KAFKA_SCRIPT),
                       reason="needs a real Kafka and its console producer (GOFKA_BROKERS, GOFKA_KAFKA_SCRIPT)"),
]

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def console_produce(topic: str, lines: str, *extra: str) -> None:
    out = subprocess.run([KAFKA_SCRIPT, "console-produce", topic, *extra], input=lines.encode(),
                         capture_output=True, timeout=180, check=False)
    assert out.returncode == 0, "console producer failed (%d): %s" % (out.returncode, out.stderr.decode()[-2000:])


def test_reads_console_producer_every_codec() -> None:
    topics = {}
    for codec in CODECS:
        topic = "gofka-interop-%s-%s" % (codec, uuid.uuid4().hex[:8])
        lines = "".join("k%d:%s-value-%d\n" % (i, codec, i) for i in range(100))
        console_produce(topic, lines, "--compression-codec", codec,
                        "--reader-property", "parse.key=true", "--reader-property", "key.separator=:")
        topics[codec] = topic
    for codec, topic in topics.items():
        with gofka.Consumer(BROKERS, "g-" + topic, [topic], timeout=20) as c:
            c.subscribe()
            got = []
            end = time.monotonic() + 30
            while len(got) < 100:
                assert time.monotonic() < end, "%s: got %d of 100" % (codec, len(got))
                got += c.poll(100, timeout=0.5)
        assert [m.value for m in got] == [("%s-value-%d" % (codec, i)).encode() for i in range(100)], codec
        assert [m.key for m in got] == [b"k%d" % i for i in range(100)], codec
        assert [m.offset for m in got] == list(range(100))

    async def read_async(topic: str) -> list:
        async with gofka.AsyncConsumer(BROKERS, "ga-" + topic, [topic], timeout=20) as c:
            await c.subscribe()
            got = []
            async for m in c:
                got.append(m.value)
                if len(got) == 100:
                    break
            return got

    got = asyncio.run(read_async(topics["zstd"]))
    assert got == [("zstd-value-%d" % i).encode() for i in range(100)]
