"""The Gofka demo: `make demo`.

Starts the in-process dev cluster (unless GOFKA_BROKERS points at a real
cluster), produces messages with the synchronous Producer, prints their
offsets, and lists the cluster's topics with the AdminClient.
"""
import contextlib
import os
import sys
import time

import gofka
from gofka import AdminClient, DevCluster, Producer


def main() -> int:
    brokers = os.environ.get("GOFKA_BROKERS")
    with contextlib.ExitStack() as stack:
        if brokers:
            print(f"using the cluster at {brokers}")
        else:
            cluster = stack.enter_context(DevCluster(num_brokers=1))
            brokers = cluster.brokers
            print(f"started the in-process dev cluster at {brokers}")

        topic = "gofka-demo"
        with Producer(brokers=brokers, client_id="gofka-demo") as producer:
            producer.connect()
            for i in range(5):
                offset = producer.send(topic, f"message {i}".encode())
                print(f"sent 'message {i}' to {topic}[0] at offset {offset}")
            offset = producer.send_string(topic, "hello from gofka")
            print(f"sent a string at offset {offset}")

            values = [b"x" * 100] * 10_000
            start = time.perf_counter()
            offsets = producer.send_batch(topic, values)
            elapsed = time.perf_counter() - start
            print(f"sent a batch of {len(offsets)} messages (offsets {offsets[0]}..{offsets[-1]}) "
                  f"in {elapsed * 1000:.1f} ms")

        with AdminClient(brokers=brokers) as admin:
            print(f"topics: {admin.list_topics()}")
    print(f"gofka {gofka.__version__}: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
