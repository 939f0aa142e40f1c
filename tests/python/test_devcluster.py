from __future__ import annotations

import pytest

import gofka
from gofka.exceptions import GofkaError


def test_dev_cluster_fixture_brokers(dev_cluster: gofka.DevCluster) -> None:
    host, _, port = dev_cluster.brokers.partition(":")
    assert host == "127.0.0.1"
    assert 0 < int(port) < 65536
    assert not dev_cluster.closed


def test_multi_broker_cluster_round_trip(topic: str) -> None:
    with gofka.DevCluster(num_brokers=3) as cluster:
        addresses = cluster.brokers.split(",")
        assert len(addresses) == 3
        assert len(set(addresses)) == 3
        assert all(a.startswith("127.0.0.1:") for a in addresses)
        with gofka.Producer(cluster.brokers, timeout=15) as producer:
            assert producer.send(topic, b"x") == 0
            assert producer.send(topic, b"y") == 1
    assert cluster.closed
    cluster.close()  # idempotent


def test_dev_cluster_stops_on_close(topic: str) -> None:
    cluster = gofka.DevCluster()
    brokers = cluster.brokers
    cluster.close()
    with gofka.Producer(brokers, timeout=2) as producer:
        with pytest.raises(GofkaError):
            producer.send(topic, b"x")


def test_dev_cluster_validation() -> None:
    with pytest.raises(ValueError):
        gofka.DevCluster(num_brokers=0)
    with pytest.raises(ValueError):
        gofka.DevCluster(num_brokers=17)
    with pytest.raises(TypeError):
        gofka.DevCluster(num_brokers="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        gofka.DevCluster(port=70000)


_HOSTILE_PEER = r"""
import socket, struct, sys
import gofka
from gofka.exceptions import GofkaError

def frame(key, version, body=b""):
    b = struct.pack(">hhih", key, version, 7, 4) + b"fuzz" + body
    return struct.pack(">i", len(b)) + b

def send(addr, data):
    host, _, port = addr.partition(":")
    s = socket.create_connection((host, int(port)), timeout=5)
    s.settimeout(5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    except OSError:
        pass
    finally:
        s.close()

with gofka.DevCluster() as cluster:
    addr = cluster.brokers
    for data in (frame(9999, 0), frame(3, 99, b"\0\0\0\0"), struct.pack(">I", 0x7fffffff) + b"abc",
                 struct.pack(">I", 0xffffffff), frame(0, 3, b"\xff" * 12), frame(3, 1, b"\0\0\0\0")[:-2]):
        send(addr, data)
    admin = gofka.AdminClient(addr, timeout=10)
    admin.create_topics([gofka.NewTopic("t", 1)])
    try:
        admin.create_partitions("t", 2**31 - 1)
    except GofkaError as e:
        print("refused:", e.name)
    with gofka.Producer(addr, timeout=10) as p:
        p.send("t", b"still alive")
    admin.close()
print("survived")
"""


def test_dev_cluster_host_survives_hostile_peer() -> None:
    """Issue 19 item 6: bytes a peer sends to a DevCluster port (an unknown
    API key, a bad version, a huge length) or an absurd partition count
    cost at most that peer's connection or request, never the host process
    (it used to abort with exit 134, or grow memory without bound)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.pop("GOFKA_BROKERS", None)
    proc = subprocess.run([sys.executable, "-c", _HOSTILE_PEER], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused: INVALID_PARTITIONS" in proc.stdout
    assert proc.stdout.rstrip().endswith("survived")
