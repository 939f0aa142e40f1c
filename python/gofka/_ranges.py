"""The ranges of the numeric settings: generated from the engine's table
(core/validate.go, `core.Ranges()`) by `go run ./core/cmd/configdoc -python >
python/gofka/_ranges.py` (make docs); do not edit by hand.

The Python keyword arguments that set these properties are checked against
this table, as the property table and the Go options are, so that the three
doors accept the same values (tests/python/test_setting_agreement.py).
"""

from typing import Dict, Tuple

#: property -> (minimum, maximum), inclusive, in the property's unit
#: (milliseconds for the keys ending in ".ms").
RANGES: Dict[str, Tuple[int, int]] = {
    "auto.commit.interval.ms": (1, 2147483647),
    "batch.size": (1, 1073741824),
    "buffer.memory": (1024, 1099511627776),
    "connect.timeout.ms": (1, 2147483647),
    "connections.max": (0, 2147483647),
    "connections.max.idle.ms": (0, 2147483647),
    "delivery.timeout.ms": (1, 2147483647),
    "fetch.max.bytes": (1024, 2147483647),
    "fetch.max.wait.ms": (0, 2147483647),
    "fetch.min.bytes": (1, 2147483647),
    "heartbeat.interval.ms": (1, 2147483647),
    "linger.ms": (0, 2147483647),
    "max.in.flight.requests.per.connection": (1, 1000),
    "max.partition.fetch.bytes": (1, 2147483647),
    "max.poll.interval.ms": (1, 2147483647),
    "max.poll.records": (1, 2147483647),
    "max.request.size": (64, 1073741824),
    "metadata.max.age.ms": (0, 2147483647),
    "queued.max.messages.kbytes": (1, 2097151),
    "reconnect.backoff.max.ms": (0, 2147483647),
    "reconnect.backoff.ms": (0, 2147483647),
    "request.timeout.ms": (1, 2147483647),
    "retries": (0, 2147483647),
    "retry.backoff.max.ms": (0, 2147483647),
    "retry.backoff.ms": (0, 2147483647),
    "session.timeout.ms": (1, 2147483647),
    "socket.connection.setup.timeout.ms": (0, 2147483647),
    "transaction.timeout.ms": (1, 2147483647),
}
