"""The ranges of the numeric settings and the accepted values of the
enumerated ones: generated from the engine's tables (core/validate.go,
`core.Ranges()`; core/choices.go, `core.Choices()`) by `go run ./core/cmd/configdoc
-python > python/gofka/_ranges.py` (make docs); do not edit by hand.

The Python keyword arguments that set these properties are checked against
these tables, as the property table and the Go options are, so that the
three doors accept the same values (tests/python/test_setting_agreement.py).
"""

from typing import Dict, NamedTuple, Tuple

#: property -> (minimum, maximum), inclusive, in the property's unit
#: (milliseconds for the keys ending in ".ms").
RANGES: Dict[str, Tuple[int, int]] = {
    "auto.commit.interval.ms": (1, 2147483647),
    "batch.size": (1, 1073741824),
    "buffer.memory": (1024, 1099511627776),
    "compression.level": (-1, 12),
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


class Choice(NamedTuple):
    """The accepted values of one enumerated setting."""

    #: the canonical spellings (what the engine is given)
    values: Tuple[str, ...]
    #: other accepted spellings -> canonical spelling ("" = leave unset)
    aliases: Dict[str, str]
    #: "exact" (case-sensitive), "lower" or "upper" (any case, the
    #: canonical spelling in that case)
    case: str
    #: a comma-separated list (a Python list or str) of at least one value
    is_list: bool


#: property -> its accepted values (core/choices.go, `core.Choices()`).
CHOICES: Dict[str, Choice] = {
    "acks": Choice(("all", "0", "1"), {"-1": "all"}, "exact", False),
    "auto.offset.reset": Choice(("earliest", "latest", "none"), {}, "lower", False),
    "compression.type": Choice(("none", "gzip", "snappy", "lz4", "zstd"), {}, "exact", False),
    "group.protocol": Choice(("classic", "consumer"), {}, "lower", False),
    "isolation.level": Choice(("read_uncommitted", "read_committed"), {}, "lower", False),
    "partition.assignment.strategy": Choice(("range", "roundrobin", "cooperative-sticky"), {}, "lower", True),
    "sasl.mechanism": Choice(("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"), {"": ""}, "upper", False),
    "security.protocol": Choice(("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), {}, "upper", False),
    "share.acknowledgement.mode": Choice(("implicit", "explicit"), {}, "lower", False),
    "ssl.endpoint.identification.algorithm": Choice(("https", "none"), {"": "none"}, "lower", False),
}
