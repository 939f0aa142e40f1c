"""Fixtures of the Python fault tests (run by scripts/run-faults.sh).

``fault_cluster`` drives the 3-node Kafka the script started: node i
listens on the i-th address of GOFKA_FAULT_BROKERS and is killed, frozen
and restarted through scripts/kafka.sh (GOFKA_KAFKA_SCRIPT). Every test
gets a healthy cluster and leaves one behind, even when it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from typing import Dict, Iterator, List

import pytest

_PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "python"))
if _PYTHON_DIR not in sys.path:
    sys.path.insert(0, _PYTHON_DIR)

import gofka  # noqa: E402


class FaultCluster(object):
    def __init__(self, brokers: List[str], script: str) -> None:
        self.brokers = brokers
        self.script = script

    @property
    def bootstrap(self) -> str:
        return ",".join(self.brokers)

    def kafka(self, *args: str, timeout: float = 150) -> str:
        out = subprocess.run(
            [self.script] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout
        )
        text = out.stdout.decode("utf-8", "replace")
        if out.returncode != 0:
            raise AssertionError("kafka.sh %s failed (%d):\n%s" % (" ".join(args), out.returncode, text))
        return text

    def signal(self, node: int, sig: str) -> None:
        self.kafka("kill", str(node), sig, timeout=60)

    def start(self, *nodes: int) -> None:
        """Starts nodes in parallel (a node can only become ready once a
        controller quorum runs)."""
        errors: List[BaseException] = []

        def run(n: int) -> None:
            try:
                self.kafka("start", str(n))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def states(self) -> Dict[int, str]:
        states = {}
        for line in self.kafka("status", timeout=30).splitlines():
            if not line.startswith("node "):
                continue
            node = int(line.split()[1].rstrip(":"))
            if "not running" in line:
                states[node] = "down"
            elif " state " in line:
                states[node] = line.rsplit(" state ", 1)[1].strip()
            else:
                states[node] = "running"
        return states

    def heal(self) -> None:
        states = self.states()
        down = [n for n in (1, 2, 3) if states.get(n, "down") == "down"]
        for n in (1, 2, 3):
            if states.get(n) in ("T", "t"):
                self.signal(n, "CONT")
        if down:
            self.start(*down)
        deadline = time.monotonic() + 90
        with gofka.AdminClient(self.bootstrap, timeout=10) as admin:
            while True:
                try:
                    if len(admin.list_brokers()) == 3:
                        return
                except gofka.GofkaError:
                    pass
                assert time.monotonic() < deadline, "the cluster did not come back with 3 brokers"
                time.sleep(0.5)

    def create_topic(self, partitions: int = 3) -> str:
        """A topic with replication factor 3 and min.insync.replicas=2,
        created through the public AdminClient API."""
        name = "faults-py-%s" % uuid.uuid4().hex[:12]
        with gofka.AdminClient(self.bootstrap, timeout=30) as admin:
            admin.create_topic(name, num_partitions=partitions, replication_factor=3,
                               config={"min.insync.replicas": "2"})
        self.wait_in_sync(name)
        return name

    def wait_in_sync(self, topic: str) -> None:
        """Waits until every node's metadata shows every partition of topic
        with a leader and three in-sync replicas (brokers learn of a new
        topic one after the other)."""
        deadline = time.monotonic() + 60
        for broker in self.brokers:
            with gofka.AdminClient(broker, timeout=10) as admin:
                while True:
                    try:
                        parts = admin.get_cluster_metadata([topic])["topics"][0]["partitions"]
                        if parts and all(p["leader"] >= 0 and len(p["isr"]) == 3 for p in parts):
                            break
                    except (gofka.GofkaError, LookupError):
                        pass
                    assert time.monotonic() < deadline, "topic %s not in sync on %s" % (topic, broker)
                    time.sleep(0.3)


@pytest.fixture(scope="session")
def _cluster() -> FaultCluster:
    brokers = os.environ.get("GOFKA_FAULT_BROKERS")
    script = os.environ.get("GOFKA_KAFKA_SCRIPT")
    if not brokers or not script:
        pytest.fail("GOFKA_FAULT_BROKERS and GOFKA_KAFKA_SCRIPT are not set: run scripts/run-faults.sh")
    nodes = brokers.split(",")
    assert len(nodes) == 3, "the fault tests need a 3-node cluster, got %r" % brokers
    return FaultCluster(nodes, script)


@pytest.fixture
def fault_cluster(_cluster: FaultCluster) -> Iterator[FaultCluster]:
    _cluster.heal()
    yield _cluster
    _cluster.heal()


@pytest.fixture
def report(request: pytest.FixtureRequest):
    """report(figures): logs the figures and appends them, with the test
    name, as one JSON line to $GOFKA_FAULT_REPORT."""
    import json

    def write(figures: Dict[str, object]) -> None:
        row = dict(figures)
        row["test"] = "python::" + request.node.name
        line = json.dumps(row, sort_keys=True)
        print("figures:", line)
        path = os.environ.get("GOFKA_FAULT_REPORT")
        if path:
            with open(path, "a") as f:
                f.write(line + "\n")

    return write
