"""Python and the C ABI accept the same settings: for each (setting, bad
value) below, the Python keyword raises ValueError and the C ABI, given
the same value as a property, returns INVALID_ARGUMENT (core's property
table and record checks decide; Python's checks agree with them). Also the
valid spellings pass both. No broker is dialled: creation does no I/O and
the record check runs before any.
"""

from __future__ import annotations

import ctypes
from typing import Any, Dict

import pytest

import gofka
from gofka import _native

NOWHERE = "127.0.0.1:9"  # discard port: never dialled


def _c_producer(props: Dict[str, Any]) -> "tuple[int, int, str]":
    """gofka_producer_new over bootstrap.servers=NOWHERE plus props:
    (code, handle, message)."""
    config = dict({"bootstrap.servers": NOWHERE}, **props)
    handle = _native.gofka_handle_t()
    err = _native.new_error()
    code = _native.lib.gofka_producer_new(_native.encode_config(config), ctypes.byref(handle), ctypes.byref(err))
    message = str(_native.make_error(code, err)) if code else ""
    return code, handle.value, message


# (Python keyword, value, property, property text)
BAD_SETTINGS = [
    ("compression", "GZIP", "compression.type", "GZIP"),  # Kafka's validator is case-sensitive
    ("compression", "Lz4", "compression.type", "Lz4"),
    ("compression", "brotli", "compression.type", "brotli"),
    ("max_in_flight", 0, "max.in.flight.requests.per.connection", "0"),
    ("max_in_flight", 1001, "max.in.flight.requests.per.connection", "1001"),
    ("linger_ms", -1, "linger.ms", "-1"),
    ("acks", 2, "acks", "2"),
    ("acks", "ALL", "acks", "ALL"),
]


@pytest.mark.parametrize("kw,value,prop,text", BAD_SETTINGS, ids=["%s=%s" % (b[2], b[3]) for b in BAD_SETTINGS])
def test_python_and_c_refuse_the_same_setting(kw: str, value: Any, prop: str, text: str) -> None:
    extra: Dict[str, Any] = {"enable_idempotence": False} if kw == "max_in_flight" else {}
    with pytest.raises(ValueError):
        gofka.Producer(NOWHERE, **{kw: value}, **extra)
    props = {prop: text}
    if kw == "max_in_flight":
        props["enable.idempotence"] = "false"
    code, handle, message = _c_producer(props)
    if code == _native.OK:
        _native.lib.gofka_producer_close(handle, 0, ctypes.byref(_native.new_error()))
    assert code == _native.ERR_INVALID_ARGUMENT, (code, message)
    assert prop in message


@pytest.mark.parametrize("value", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_python_and_c_accept_lower_case_codecs(value: str) -> None:
    gofka.Producer(NOWHERE, compression=value).close(timeout=0)
    code, handle, message = _c_producer({"compression.type": value})
    assert code == _native.OK, message
    _native.lib.gofka_producer_close(handle, 0, ctypes.byref(_native.new_error()))


@pytest.mark.parametrize("ts_ms", [-5, -2, -(2 ** 63)])
def test_negative_timestamp_is_refused_by_python_and_c(ts_ms: int) -> None:
    with gofka.Producer(NOWHERE) as p:
        with pytest.raises(ValueError):
            p.produce("t", b"v", timestamp=ts_ms / 1000)
        err = _native.new_error()
        value = b"v"
        code = _native.lib.gofka_producer_produce(
            p._get(), 0, 0, b"t", 0, None, -1, value, len(value), None, 0, ts_ms, ctypes.byref(err))
        assert code == _native.ERR_INVALID_ARGUMENT, _native.make_error(code, err)
        assert "timestamp" in str(_native.make_error(code, err))


# --------------------------------------------------------------------------
# Every numeric setting: one range (the engine's table, core/validate.go,
# which python/gofka/_ranges.py is generated from) for the Python keyword,
# the C property and (core/validate_test.go) the Go option.
# --------------------------------------------------------------------------

from gofka._ranges import RANGES  # noqa: E402


def _c_new(kind: str, props: Dict[str, Any]) -> "tuple[int, str]":
    """gofka_<kind>_new over bootstrap.servers=NOWHERE plus props, closed
    again at once: (code, message)."""
    config = dict({"bootstrap.servers": NOWHERE}, **props)
    handle = _native.gofka_handle_t()
    err = _native.new_error()
    new = getattr(_native.lib, "gofka_%s_new" % kind)
    code = new(_native.encode_config(config), ctypes.byref(handle), ctypes.byref(err))
    message = str(_native.make_error(code, err)) if code else ""
    if code == _native.OK:
        getattr(_native.lib, "gofka_%s_close" % kind)(handle.value, 0, ctypes.byref(_native.new_error()))
    return code, message


def _producer(**kw: Any) -> None:
    gofka.Producer(NOWHERE, **kw).close(timeout=0)


def _consumer(**kw: Any) -> None:
    # no group, no topics: nothing to join or commit on close
    gofka.Consumer(NOWHERE, None, None, auto_commit=False, **kw).close()


def _retry(**kw: Any) -> None:
    _producer(retry_policy=gofka.RetryPolicy(**kw))


# property -> (C client kind, Python door: value -> None or raises,
#              the other properties the value needs on the C side).
# The other settings a value needs are set on both sides alike (a
# maximum backoff not below the initial one, a heartbeat below the session
# timeout, idempotence off for more than 5 in flight).
PY_DOORS: Dict[str, "tuple[str, Any, Any]"] = {
    "batch.size": ("producer", lambda v: _producer(batch_size=v), None),
    # zstd takes the whole range; narrower codecs are the engine's check
    # (test_producer.py: test_compression_level_outside_the_codec_range).
    "compression.level": ("producer", lambda v: _producer(compression_level=v, compression="zstd"),
                          lambda v: {"compression.type": "zstd"}),
    "linger.ms": ("producer", lambda v: _producer(linger_ms=v), None),
    "max.in.flight.requests.per.connection": (
        "producer", lambda v: _producer(max_in_flight=v, enable_idempotence=False),
        lambda v: {"enable.idempotence": "false"}),
    "buffer.memory": ("producer", lambda v: _producer(buffer_memory=v), None),
    "delivery.timeout.ms": ("producer", lambda v: _producer(delivery_timeout_ms=v), None),
    "max.request.size": ("producer", lambda v: _producer(max_request_size=v), None),
    "retries": ("producer", lambda v: _retry(max_retries=v), None),
    "retry.backoff.ms": (
        "producer", lambda v: _retry(initial_backoff_ms=v, max_backoff_ms=max(v, 30000)),
        # the companion stays in its own range: the engine applies
        # properties in key order and would report it first
        lambda v: {"retry.backoff.max.ms": min(max(v, 30000), 2 ** 31 - 1)}),
    "retry.backoff.max.ms": (
        "producer", lambda v: _retry(initial_backoff_ms=0, max_backoff_ms=v),
        lambda v: {"retry.backoff.ms": 0}),
    "session.timeout.ms": (
        "consumer", lambda v: _consumer(session_timeout=v, heartbeat_interval_ms=max(v - 1, 1)),
        lambda v: {"heartbeat.interval.ms": max(v - 1, 1)}),
    "heartbeat.interval.ms": (
        "consumer", lambda v: _consumer(heartbeat_interval_ms=v, session_timeout=min(max(v + 1, 45000), 2 ** 31 - 1)),
        lambda v: {"session.timeout.ms": min(max(v + 1, 45000), 2 ** 31 - 1)}),
    "max.poll.interval.ms": ("consumer", lambda v: _consumer(max_poll_interval_ms=v), None),
    "auto.commit.interval.ms": ("consumer", lambda v: _consumer(auto_commit_interval_ms=v), None),
    "fetch.min.bytes": ("consumer", lambda v: _consumer(fetch_min_bytes=v), None),
    "fetch.max.bytes": ("consumer", lambda v: _consumer(fetch_max_bytes=v), None),
    "max.partition.fetch.bytes": ("consumer", lambda v: _consumer(max_partition_fetch_bytes=v), None),
    "queued.max.messages.kbytes": ("consumer", lambda v: _consumer(queued_max_messages_kbytes=v), None),
    "fetch.max.wait.ms": ("consumer", lambda v: _consumer(fetch_max_wait_ms=v), None),
    "metadata.max.age.ms": ("consumer", lambda v: _consumer(metadata_max_age_ms=v), None),
    "max.poll.records": ("consumer", lambda v: _consumer(max_poll_records=v), None),
}

# The numeric settings no Python keyword sets as such, and why.
NOT_PYTHON_KEYWORDS = {
    "connect.timeout.ms": "set from the client's timeout (seconds, check_time)",
    "request.timeout.ms": "set from the client's timeout (seconds, check_time)",
    "socket.connection.setup.timeout.ms": "engine default only (config= passes it through to the engine)",
    "reconnect.backoff.ms": "engine default only (config= passes it through to the engine)",
    "reconnect.backoff.max.ms": "engine default only (config= passes it through to the engine)",
    "connections.max": "ConnectionPool(max_connections): the range's maximum, and >= 1 (no 'no limit')",
    "connections.max.idle.ms": "ConnectionPool(max_idle_time), in seconds (check_time)",
    "transaction.timeout.ms": "Go only until the Python transactional producer exists (docs/transactions.md)",
}

# Bounds a rule relating two settings refuses whatever else is set: no
# heartbeat below 1 ms under a 1 ms session, no session timeout above the
# largest heartbeat.
UNUSABLE_BOUNDS = {("session.timeout.ms", 1), ("heartbeat.interval.ms", 2 ** 31 - 1)}


def test_every_numeric_setting_is_covered() -> None:
    assert sorted(set(PY_DOORS) | set(NOT_PYTHON_KEYWORDS)) == sorted(RANGES)
    assert not set(PY_DOORS) & set(NOT_PYTHON_KEYWORDS)


def _boundary_cases() -> "list[tuple[str, int]]":
    cases = []
    for prop in sorted(PY_DOORS):
        lo, hi = RANGES[prop]
        cases += [(prop, v) for v in (lo - 1, lo, hi, hi + 1) if (prop, v) not in UNUSABLE_BOUNDS]
    return cases


@pytest.mark.parametrize("prop,value", _boundary_cases(), ids=["%s=%d" % c for c in _boundary_cases()])
def test_python_and_c_accept_the_same_range(prop: str, value: int) -> None:
    """Each numeric setting's Python keyword and C property accept exactly
    the values of its range (below and at the minimum, at and above the
    maximum); a refusal names the setting."""
    kind, py_door, needs = PY_DOORS[prop]
    lo, hi = RANGES[prop]
    inside = lo <= value <= hi
    if inside:
        py_door(value)
    else:
        with pytest.raises(ValueError):
            py_door(value)
    props = {prop: str(value)}
    if needs is not None:
        props.update({k: str(v) for k, v in needs(value).items()})
    code, message = _c_new(kind, props)
    if inside:
        assert code == _native.OK, message
    else:
        assert code == _native.ERR_INVALID_ARGUMENT, (code, message)
        assert prop in message


# --------------------------------------------------------------------------
# Every enumerated setting: one row (the engine's table, core/choices.go,
# which CHOICES in python/gofka/_ranges.py is generated from) for the
# Python keyword, the C property and (core/choices_test.go) the Go option.
# --------------------------------------------------------------------------

from gofka._ranges import CHOICES  # noqa: E402


def _share_consumer(**kw: Any) -> None:
    gofka.ShareConsumer(NOWHERE, "g", None, **kw).close()


def _sasl_python(v: str) -> Dict[str, Any]:
    """The Python keywords a sasl_mechanism value needs (a SASL protocol
    and the mechanism's credentials); none for the empty "no mechanism"."""
    if not v:
        return {}
    kw: Dict[str, Any] = {"security_protocol": "SASL_PLAINTEXT"}
    if v.upper() == "OAUTHBEARER":
        kw["sasl_oauth_token_provider"] = lambda: "tok"
    elif v.upper() in CHOICES["sasl.mechanism"].values:
        kw.update(sasl_username="u", sasl_password="p")
    else:  # a wrong value: what a right one would need, so only the name decides
        kw.update(sasl_username="u", sasl_password="p")
    return kw


def _sasl_props(v: str) -> Dict[str, str]:
    if not v:
        return {}
    props = {"security.protocol": "SASL_PLAINTEXT"}
    if v.upper() == "OAUTHBEARER":
        props["sasl.oauthbearer.token"] = "tok"
    else:
        props.update({"sasl.username": "u", "sasl.password": "p"})
    return props


def _sasl_protocol_python(v: str) -> Dict[str, Any]:
    if v.upper().startswith("SASL_"):
        return {"sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": "p"}
    return {}


def _sasl_protocol_props(v: str) -> Dict[str, str]:
    if v.upper().startswith("SASL_"):
        return {"sasl.mechanism": "PLAIN", "sasl.username": "u", "sasl.password": "p"}
    return {}


# property -> (C client kind, Python keyword, Python door: (value, the
# other keywords) -> None or raises, the other keywords the value needs,
# the other properties it needs on the C side).
CHOICE_DOORS: Dict[str, "tuple[str, str, Any, Any, Any]"] = {
    "acks": ("producer", "acks", _producer, None, None),
    "compression.type": ("producer", "compression", _producer, None, None),
    "auto.offset.reset": ("consumer", "auto_offset_reset", _consumer, None, None),
    "isolation.level": ("consumer", "isolation_level", _consumer, None, None),
    "group.protocol": ("consumer", "group_protocol", _consumer, None, None),
    "partition.assignment.strategy": ("consumer", "partition_assignment_strategy", _consumer, None, None),
    "share.acknowledgement.mode": ("share_consumer", "acknowledgement_mode", _share_consumer, None,
                                   lambda v: {"group.id": "g"}),
    "security.protocol": ("producer", "security_protocol", _producer, _sasl_protocol_python, _sasl_protocol_props),
    "sasl.mechanism": ("producer", "sasl_mechanism", _producer, _sasl_python, _sasl_props),
}

# The enumerated settings no Python keyword sets as such, and why.
NOT_PYTHON_CHOICES = {
    "ssl.endpoint.identification.algorithm": "set from ssl_check_hostname (bool): True is https, False none",
}


def test_every_enumerated_setting_is_covered() -> None:
    assert sorted(set(CHOICE_DOORS) | set(NOT_PYTHON_CHOICES)) == sorted(CHOICES)
    assert not set(CHOICE_DOORS) & set(NOT_PYTHON_CHOICES)


def _choice_cases() -> "list[tuple[str, str, bool]]":
    """(property, value, accepted): every accepted spelling (canonical,
    aliases, another case where any case goes, a list of them), and wrong
    ones (misspelled; another case where the case matters)."""
    cases = []
    for prop in sorted(CHOICE_DOORS):
        c = CHOICES[prop]
        good = list(c.values) + list(c.aliases)
        if c.case != "exact":
            good += [v[:1].upper() + v[1:].lower() for v in c.values]
            good += [" %s " % c.values[0]]  # spaces around are ignored, as by the property table
        if c.is_list:
            good.append(", ".join(c.values))
        bad = ["bogus", c.values[0] + "x"]
        if c.case == "exact":
            bad += [v.upper() for v in c.values if v.upper() != v]
        if c.is_list:
            bad += [c.values[0] + ",bogus", " , "]
        cases += [(prop, v, True) for v in good] + [(prop, v, False) for v in bad]
    return cases


@pytest.mark.parametrize("prop,value,accepted", _choice_cases(),
                         ids=["%s=%r" % (c[0], c[1]) for c in _choice_cases()])
def test_python_and_c_accept_the_same_choices(prop: str, value: str, accepted: bool) -> None:
    """Each enumerated setting's Python keyword and C property accept
    exactly the values of its row; a refusal names the keyword (Python) or
    the property (C) and lists the accepted values."""
    kind, kw, py_door, py_needs, c_needs = CHOICE_DOORS[prop]
    c = CHOICES[prop]
    listed = ", ".join(list(c.values) + [a for a in c.aliases if a])
    extra = py_needs(value) if py_needs is not None else {}
    if accepted:
        py_door(**{kw: value}, **extra)
    else:
        with pytest.raises(ValueError) as info:
            py_door(**{kw: value}, **extra)
        assert kw in str(info.value) and listed in str(info.value), info.value
    props = {prop: value}
    if c_needs is not None:
        props.update(c_needs(value))
    code, message = _c_new(kind, props)
    if accepted:
        assert code == _native.OK, message
    else:
        assert code == _native.ERR_INVALID_ARGUMENT, (code, message)
        assert prop in message and listed in message, message


@pytest.mark.parametrize("value,accepted", [(-1, True), (0, True), (1, True), (2, False), (True, False), (1.0, False)])
def test_acks_ints_are_the_python_alias_of_their_text(value: Any, accepted: bool) -> None:
    """acks also takes the ints -1, 0 and 1 (the API's aliases of "-1",
    "0", "1"); no other int, no bool or float."""
    if accepted:
        _producer(acks=value)
        code, message = _c_new("producer", {"acks": str(value)})
        assert code == _native.OK, message
    else:
        with pytest.raises(ValueError, match="acks must be one of all, 0, 1, -1"):
            _producer(acks=value)


def test_python_case_rule_gives_the_canonical_spelling() -> None:
    """Where any case goes, the engine is given the canonical spelling (as
    its property parser makes it): the Python attributes show it too."""
    c = gofka.Consumer(NOWHERE, None, None, auto_commit=False, auto_offset_reset="EARLIEST",
                       isolation_level="Read_Committed", partition_assignment_strategy=[" Range", "ROUNDROBIN"])
    try:
        assert c.auto_offset_reset == "earliest"
    finally:
        c.close()
    from gofka._security import SecuritySettings
    s = SecuritySettings(security_protocol="sasl_plaintext", sasl_mechanism="scram-sha-256",
                         sasl_username="u", sasl_password="p")
    assert (s.security_protocol, s.sasl_mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-256")
    assert SecuritySettings(sasl_mechanism="").sasl_mechanism is None
