"""Exporting Gofka's client statistics to Prometheus (``prometheus_client``).

    pip install prometheus-client
    PYTHONPATH=python python examples/prometheus_stats.py [--port 8000] [--serve-seconds 60] [--once]

Starts the in-process dev cluster (unless GOFKA_BROKERS points at a real
cluster), produces and consumes some records, and serves the clients'
statistics at http://127.0.0.1:PORT/metrics (``--port 0`` picks a free
port; the address is printed). ``--once`` prints the metrics page instead
of serving it.

The exporter is a custom collector: every scrape calls ``stats()`` on each
registered client (a cheap, non-blocking snapshot, see docs/statistics.md)
and turns the dict into metric families, so the numbers are as fresh as the
scrape and nothing runs between scrapes. Counters of the engine become
Prometheus counters (``_total``), the rest gauges; per-broker metrics are
labelled ``client`` and ``broker``, per-partition ones ``client``,
``topic`` and ``partition``.
"""
import argparse
import contextlib
import os
import sys
import time
import uuid
from typing import Any, Dict, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import gofka

# Per-broker fields: (stats key, metric name, help, is a counter, scale).
BROKER_METRICS = [
    ("requests_sent", "gofka_broker_requests_sent", "Requests written to the broker.", True, 1),
    ("responses_received", "gofka_broker_responses_received", "Responses received from the broker.", True, 1),
    ("bytes_sent", "gofka_broker_sent_bytes", "Request bytes written.", True, 1),
    ("bytes_received", "gofka_broker_received_bytes", "Response bytes received.", True, 1),
    ("errors", "gofka_broker_errors", "Failed connections and dials.", True, 1),
    ("reconnects", "gofka_broker_reconnects", "Dials that replaced a closed connection.", True, 1),
    ("in_flight", "gofka_broker_in_flight_requests", "Requests awaiting their response.", False, 1),
    ("rtt_avg_us", "gofka_broker_rtt_avg_seconds", "Average round-trip time (latest 512).", False, 1e-6),
    ("rtt_p99_us", "gofka_broker_rtt_p99_seconds", "99th percentile round-trip time (latest 512).", False, 1e-6),
]
# Client-level fields by client type.
CLIENT_METRICS: Dict[str, Any] = {
    "producer": [
        ("records", "gofka_producer_records_sent", "Records written (retries count again).", True),
        ("acknowledged", "gofka_producer_records_acknowledged", "Records acknowledged.", True),
        ("failed", "gofka_producer_delivery_errors", "Records whose delivery failed.", True),
        ("retries", "gofka_producer_retries", "Batches resent.", True),
        ("buffer_bytes", "gofka_producer_buffer_bytes", "buffer.memory in use.", False),
        ("buffer_limit", "gofka_producer_buffer_limit_bytes", "buffer.memory.", False),
    ],
    "consumer": [
        ("fetched_records", "gofka_consumer_records_fetched", "Records fetched.", True),
        ("rebalances", "gofka_consumer_rebalances", "Assignment changes.", True),
        ("commits", "gofka_consumer_commits", "Partition offsets committed.", True),
        ("buffer_bytes", "gofka_consumer_buffer_bytes", "Prefetched bytes waiting to be polled.", False),
        ("buffer_limit", "gofka_consumer_buffer_limit_bytes", "queued.max.messages.kbytes, in bytes.", False),
    ],
    "admin": [],
}
PARTITION_METRICS: Dict[str, Any] = {
    "producer": [
        ("queued_records", "gofka_producer_partition_queued_records", "Records in the partition's queue.", False),
        ("records_sent", "gofka_producer_partition_records_sent", "Records written.", True),
        ("batches_sent", "gofka_producer_partition_batches_sent", "Batches written.", True),
    ],
    "consumer": [
        ("lag", "gofka_consumer_partition_lag", "High watermark - position (-1 unknown).", False),
        ("position", "gofka_consumer_partition_position", "Next offset to poll.", False),
        ("high_watermark", "gofka_consumer_partition_high_watermark", "High watermark of the last fetch.", False),
        ("prefetched_bytes", "gofka_consumer_partition_prefetched_bytes", "Bytes prefetched.", False),
    ],
    "admin": [],
}


def _family(name: str, doc: str, counter: bool, labels: Any) -> Metric:
    if counter:
        return CounterMetricFamily(name, doc, labels=labels)
    return GaugeMetricFamily(name, doc, labels=labels)


class GofkaStatsCollector(Collector):
    """Collects ``stats()`` of the named clients at each scrape."""

    def __init__(self, clients: Mapping[str, Any]) -> None:
        self.clients = dict(clients)

    def collect(self) -> Iterator[Metric]:
        snaps = {name: c.stats() for name, c in self.clients.items() if not c.closed}
        families: Dict[str, Metric] = {}

        def add(name: str, doc: str, counter: bool, labels: Dict[str, str], value: float) -> None:
            fam = families.get(name)
            if fam is None:
                fam = families[name] = _family(name, doc, counter, list(labels))
            fam.add_metric(list(labels.values()), value)

        for client, s in snaps.items():
            for b in s["brokers"]:
                labels = {"client": client, "broker": b["address"]}
                add("gofka_broker_up", "1 while the client has a live connection to the broker.", False, labels,
                    1.0 if b["state"] == "up" else 0.0)
                for key, name, doc, counter, scale in BROKER_METRICS:
                    add(name, doc, counter, labels, b[key] * scale)
            for key, name, doc, counter in CLIENT_METRICS[s["type"]]:
                add(name, doc, counter, {"client": client}, s[key])
            if s["type"] == "consumer" and s["last_commit_ms"]:
                add("gofka_consumer_last_commit_timestamp_seconds", "When a commit last succeeded.", False,
                    {"client": client}, s["last_commit_ms"] / 1000.0)
            for p in s.get("partitions", []):
                labels = {"client": client, "topic": p["topic"], "partition": str(p["partition"])}
                for key, name, doc, counter in PARTITION_METRICS[s["type"]]:
                    add(name, doc, counter, labels, p[key])
        return iter(families.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8000, help="HTTP port of /metrics (0 = any free port)")
    ap.add_argument("--serve-seconds", type=float, default=60.0, help="how long to serve before exiting")
    ap.add_argument("--once", action="store_true", help="print the metrics page and exit")
    ap.add_argument("--records", type=int, default=100, help="records to produce (and consume)")
    args = ap.parse_args()

    brokers = os.environ.get("GOFKA_BROKERS")
    with contextlib.ExitStack() as stack:
        if not brokers:
            brokers = stack.enter_context(gofka.DevCluster(num_brokers=1)).brokers
        topic = "gofka-prometheus-%s" % uuid.uuid4().hex[:8]
        producer = stack.enter_context(gofka.Producer(brokers, client_id="example-producer"))
        producer.send_batch(topic, [b"record %d" % i for i in range(args.records)], partition=0)
        consumer = stack.enter_context(gofka.Consumer(brokers, "example-group-" + topic, [topic],
                                                      client_id="example-consumer"))
        got, deadline = 0, time.monotonic() + 30
        while got < args.records // 2 and time.monotonic() < deadline:
            got += len(consumer.poll(args.records // 2 - got, timeout=0.5))
        consumer.commit()  # half consumed: the lag shows the other half

        registry = CollectorRegistry()
        registry.register(GofkaStatsCollector({"producer": producer, "consumer": consumer}))
        if args.once:
            sys.stdout.write(generate_latest(registry).decode())
            return 0
        server, _ = start_http_server(args.port, addr="127.0.0.1", registry=registry)
        print("serving http://127.0.0.1:%d/metrics for %gs" % (server.server_port, args.serve_seconds), flush=True)
        try:
            time.sleep(args.serve_seconds)
        except KeyboardInterrupt:
            pass
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
