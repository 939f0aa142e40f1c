"""gofka.otel: producer and consumer spans, trace context through record
headers, metrics; read back with the OpenTelemetry SDK's in-memory
exporters (tests/requirements.txt)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import gofka
from gofka import otel
from gofka.exceptions import GofkaError

pytestmark = pytest.mark.timeout(120)


class Telemetry(object):
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self, name_prefix: str = "") -> List[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(name_prefix)]

    def metric(self, name: str) -> List[Tuple[Dict[str, Any], Any]]:
        """(attributes, value) of every data point of metric ``name``."""
        out: List[Tuple[Dict[str, Any], Any]] = []
        data = self.reader.get_metrics_data()
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    if m.name == name:
                        for p in m.data.data_points:
                            out.append((dict(p.attributes or {}), getattr(p, "value", None) or getattr(p, "count", None)))
        return out

    def total(self, name: str, **attrs: Any) -> Any:
        return sum(v for a, v in self.metric(name) if all(a.get(k) == x for k, x in attrs.items()))


@pytest.fixture
def tel() -> Iterator[Telemetry]:
    t = Telemetry()
    inst = otel.GofkaInstrumentor()
    inst.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    try:
        yield t
    finally:
        inst.uninstrument()


def new_topic(brokers: str, partitions: int = 1) -> str:
    name = "gofka-otel-%s" % uuid.uuid4().hex[:12]
    with gofka.AdminClient(brokers, timeout=20) as admin:
        admin.create_topic(name, num_partitions=partitions)
    return name


def read_all(brokers: str, topic: str, n: int) -> List[gofka.Message]:
    got: List[gofka.Message] = []
    with gofka.Consumer(brokers, None, None, timeout=20) as c:
        c.assign([(topic, 0)])
        end = time.monotonic() + 30
        while len(got) < n:
            assert time.monotonic() < end, "read %d of %d records" % (len(got), n)
            got += c.poll(500, timeout=0.5)
    return got


def span_id(span: ReadableSpan) -> Tuple[int, int]:
    ctx = span.get_span_context()
    assert ctx is not None
    return ctx.trace_id, ctx.span_id


def linked(span: ReadableSpan) -> List[Tuple[int, int]]:
    return [(link.context.trace_id, link.context.span_id) for link in span.links]


def test_sync_send_span_context_reaches_the_consumer(brokers: str, tel: Telemetry) -> None:
    topic = new_topic(brokers)
    user_headers = {"app": b"1"}
    with gofka.Producer(brokers, timeout=20) as p:
        p.send(topic, b"a", key=b"k1", headers=user_headers)
        p.send(topic, b"b", headers=[("app", b"2"), ("app", b"3")])
        p.send_string(topic, "c")
    assert user_headers == {"app": b"1"}, "the caller's headers must not change"
    sends = tel.spans("send ")
    assert [s.name for s in sends] == ["send %s" % topic] * 3
    for offset, s in enumerate(sends):
        assert s.kind == SpanKind.PRODUCER
        assert s.attributes is not None
        assert s.attributes["messaging.system"] == "kafka"
        assert s.attributes["messaging.destination.name"] == topic
        assert s.attributes["messaging.kafka.offset"] == offset
        assert s.status.status_code != StatusCode.ERROR
    assert sends[0].attributes is not None and sends[0].attributes["messaging.kafka.message.key"] == "k1"

    msgs = read_all(brokers, topic, 3)
    assert [m.value for m in msgs] == [b"a", b"b", b"c"]
    assert msgs[0].headers["app"] == b"1"
    assert [h for h in msgs[1].header_list if h[0] == "app"] == [("app", b"2"), ("app", b"3")]
    for m in msgs:
        assert "traceparent" in m.headers
    polls = tel.spans("poll ")
    assert polls and all(s.kind == SpanKind.CONSUMER for s in polls)
    links = [link for s in polls for link in linked(s)]
    assert sorted(links) == sorted(span_id(s) for s in sends)
    assert tel.total("messaging.client.sent.messages") == 3
    assert tel.total("gofka.client.sent.bytes") == 1 + 2 + 1 + 1  # values + the one key
    assert tel.total("messaging.client.consumed.messages", **{"messaging.destination.name": topic}) == 3
    assert tel.total("gofka.client.consumed.bytes", **{"messaging.destination.name": topic}) == 5


def test_send_batch_one_span_per_call(brokers: str, tel: Telemetry) -> None:
    topic = new_topic(brokers)
    with gofka.Producer(brokers, timeout=20) as p:
        p.send_batch(topic, [b"x%d" % i for i in range(10)], headers=[{"i": b"%d" % i} for i in range(10)])
    (span,) = tel.spans("send ")
    assert span.attributes is not None and span.attributes["messaging.batch.message_count"] == 10
    msgs = read_all(brokers, topic, 10)
    assert [m.headers["i"] for m in msgs] == [b"%d" % i for i in range(10)]
    assert tel.total("messaging.client.sent.messages") == 10
    poll_links = {link for s in tel.spans("poll ") for link in linked(s)}
    assert poll_links == {span_id(span)}


def test_produce_span_ends_with_the_delivery_report(brokers: str, tel: Telemetry) -> None:
    topic = new_topic(brokers)
    reports: List[Tuple[Any, int]] = []
    with gofka.Producer(brokers, timeout=20) as p:
        p.produce(topic, b"v0", on_delivery=lambda err, m: reports.append((err, m.offset)))
        p.produce(topic, b"v1", callback=lambda err, m: reports.append((err, m.offset)))
        p.produce(topic, b"v2")  # no callback of the user's: the span still ends
        assert tel.spans("send ") == [], "reports are served by flush, not produce"
        assert p.flush(20) == 0
        assert reports == [(None, 0), (None, 1)]
        sends = tel.spans("send ")
        assert len(sends) == 3
        assert sorted(s.attributes["messaging.kafka.offset"] for s in sends if s.attributes) == [0, 1, 2]
    assert tel.total("messaging.client.sent.messages") == 3


def test_failed_send_is_an_error_span_and_counted(tel: Telemetry) -> None:
    p = gofka.Producer("127.0.0.1:1", timeout=5)
    p.close()
    with pytest.raises(GofkaError) as info:
        p.send("t", b"v")
    (span,) = tel.spans("send ")
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None and span.attributes["error.type"] == info.value.name
    assert tel.total("messaging.client.sent.messages", **{"error.type": info.value.name}) == 1
    assert tel.total("gofka.client.sent.bytes") == 0


def test_async_send_and_async_for(brokers: str, tel: Telemetry) -> None:
    topic = new_topic(brokers)
    group = "otel-%s" % uuid.uuid4().hex[:8]

    async def main() -> List[gofka.Message]:
        async with gofka.AsyncProducer(brokers, timeout=20) as p:
            offsets = await asyncio.gather(*(p.send(topic, b"a%d" % i) for i in range(5)))
            assert sorted(offsets) == list(range(5))
            await p.send_batch(topic, [b"b0", b"b1"])
        got: List[gofka.Message] = []
        async with gofka.AsyncConsumer(brokers, group, [topic], auto_offset_reset="earliest", timeout=20) as c:
            async for m in c:
                got.append(m)
                if len(got) == 7:
                    break
        return got

    got = asyncio.run(asyncio.wait_for(main(), 90))
    sends = tel.spans("send ")
    assert len(sends) == 6  # five sends, one batch
    assert sorted(s.attributes.get("messaging.kafka.offset", -1) for s in sends if s.attributes)[1:] == [0, 1, 2, 3, 4]
    polls = tel.spans("poll ")
    assert len(polls) == 7  # one per record async for yielded
    send_ids = {span_id(s) for s in sends}
    for s in polls:
        assert len(s.links) == 1 and linked(s)[0] in send_ids
    assert {m.value for m in got} == {b"a0", b"a1", b"a2", b"a3", b"a4", b"b0", b"b1"}
    assert tel.total("messaging.client.sent.messages") == 7


def test_process_span_links_and_records_failure(brokers: str, tel: Telemetry) -> None:
    topic = new_topic(brokers)
    with gofka.Producer(brokers, timeout=20) as p:
        p.send(topic, b"x")
    (msg,) = read_all(brokers, topic, 1)
    (send,) = tel.spans("send ")
    with otel.process_span(msg) as span:
        assert span.is_recording()
    with pytest.raises(RuntimeError):
        with otel.process_span(msg):
            raise RuntimeError("handler failed")
    ok, failed = tel.spans("process ")
    assert linked(ok) == [span_id(send)] and ok.status.status_code != StatusCode.ERROR
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["error.type"] == "RuntimeError"
    assert tel.total("messaging.process.duration") == 2  # histogram: two data recorded


def test_consumer_lag_gauge(brokers: str, tel: Telemetry) -> None:
    topic = new_topic(brokers)
    with gofka.Producer(brokers, timeout=20) as p:
        p.send_batch(topic, [b"v%d" % i for i in range(30)], partition=0)
    group = "otel-lag-%s" % uuid.uuid4().hex[:8]
    with gofka.Consumer(brokers, group, [topic], auto_offset_reset="earliest", max_poll_records=10,
                        timeout=20) as c:
        got: List[gofka.Message] = []
        end = time.monotonic() + 30
        while len(got) < 10:
            assert time.monotonic() < end
            got += c.poll(10 - len(got), timeout=0.5)
        points: List[Tuple[Dict[str, Any], Any]] = []
        while time.monotonic() < end:  # the high watermark arrives with a fetch
            points = [(a, v) for a, v in tel.metric("gofka.consumer.lag")
                      if a.get("messaging.destination.name") == topic]
            if points and points[0][1] == 20:
                break
            time.sleep(0.1)
        assert points == [({"messaging.system": "kafka", "messaging.consumer.group.name": group,
                            "messaging.destination.name": topic, "messaging.destination.partition.id": "0"}, 20)]


def test_uninstrument_restores_the_originals(brokers: str) -> None:
    before = {name: getattr(gofka.Producer, name) for name in ("send", "send_batch", "produce", "send_string")}
    before_poll = gofka.Consumer.poll
    before_anext = gofka.AsyncConsumer.__anext__
    t = Telemetry()
    inst = otel.GofkaInstrumentor()
    inst.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    assert inst.is_instrumented
    inst.instrument()  # twice: no second layer
    assert gofka.Producer.send is not before["send"]
    inst.uninstrument()
    assert not inst.is_instrumented
    for name, fn in before.items():
        assert getattr(gofka.Producer, name) is fn
    assert gofka.Consumer.poll is before_poll and gofka.AsyncConsumer.__anext__ is before_anext
    topic = new_topic(brokers)
    with gofka.Producer(brokers, timeout=20) as p:
        p.send(topic, b"x")
    (msg,) = read_all(brokers, topic, 1)
    assert "traceparent" not in msg.headers
    assert t.spans() == []


def test_import_without_opentelemetry_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "try:\n    import gofka.otel\nexcept ImportError as e:\n    print('ERR', e)\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.join(os.path.dirname(__file__), "..", "..", "python"),
                                                    env.get("PYTHONPATH", "")] if p)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert "ERR" in out.stdout and "gofka[otel]" in out.stdout, out.stdout + out.stderr
