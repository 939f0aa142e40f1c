"""What Consumer and AsyncConsumer share: options and their validation
(ConsumerOptions), the packed formats, the exit hook, and ConsumerBase
(handle ownership and every method that does not wait).

The engine does the work in the background: fetchers per broker prefetch
records, group membership (joins, heartbeats, KIP-848 reconciliation) and
auto-commits run without Python's help. ``poll`` crosses into the library
once and gets one packed buffer (gofka.h, "messages" format) holding every
record and rebalance event of the call, which is unpacked here with
``struct.unpack_from``. Rebalance callbacks (``on_assign``, ``on_revoke``,
``on_lost``) run in the thread that polls, inside ``poll``, before its
messages are returned; never on a library thread.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import os
import struct
import sys
import threading
from ctypes import byref, c_int32, c_size_t, c_void_p
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from . import _layouts, _native, _stats
from ._client import (ConnectedFlag, HandleBase, OpenClients, check_choice, check_setting, check_setting_ms, check_time,
                      merge_config, validate_brokers, validate_client_id, validate_timeout)
from ._keywords import KeywordGroup
from ._ranges import CHOICES
from ._security import SECURITY_KEYWORDS, SecurityKeywords, SecurityOptions, client_security
from ._stats import STATS_KEYWORDS, StatsKeywords
from .exceptions import GofkaError
from .message import Message
from .message import speedups as _speedups

__all__ = ["ConsumerBase", "ConsumerOptions"]  # the public names are re-exported by consumer.py

#: seek() offset: the partition's earliest offset.
OFFSET_BEGINNING = -2
#: seek() offset: the partition's latest offset.
OFFSET_END = -1

# The accepted values are the engine's (core/choices.go, generated into
# _ranges.CHOICES; any case, as the properties).
#: Values of ``auto_offset_reset``.
AUTO_OFFSET_RESET = CHOICES["auto.offset.reset"].values
#: Values of ``group_protocol``.
GROUP_PROTOCOLS = CHOICES["group.protocol"].values
#: Assignors of ``partition_assignment_strategy`` (classic protocol).
ASSIGNMENT_STRATEGIES = CHOICES["partition.assignment.strategy"].values
#: Values of ``isolation_level``.
ISOLATION_LEVELS = CHOICES["isolation.level"].values

# Rebalance event kinds of the messages format.
_ASSIGNED, _REVOKED, _LOST = 1, 2, 3

_log = logging.getLogger("gofka.consumer")


class TopicPartition(NamedTuple):
    """A partition of a topic."""

    topic: str
    partition: int


class GroupMetadata(object):
    """A consumer's group membership at one moment (Consumer.group_metadata()),
    for Producer.send_offsets_to_transaction: the group coordinator refuses
    the offsets of a member that a rebalance replaced (KIP-447). Take it
    right before sending the offsets: it changes at every rebalance.
    Immutable; the attributes are for display: pass the object itself."""

    __slots__ = ("serialized", "group_id", "generation_id", "member_id", "group_instance_id")

    serialized: bytes  # what the library returned, passed back unchanged
    group_id: str
    generation_id: int  # -1 while the consumer is not a member
    member_id: str  # "" while the consumer is not a member
    group_instance_id: Optional[str]  # static membership's group.instance.id

    def __init__(self, serialized: bytes) -> None:
        """``serialized``: what gofka_consumer_group_metadata returned."""
        fields = json.loads(serialized.decode("utf-8"))
        for name, value in (("serialized", serialized), ("group_id", fields["group_id"]),
                            ("generation_id", fields["generation_id"]), ("member_id", fields["member_id"]),
                            ("group_instance_id", fields.get("group_instance_id"))):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("GroupMetadata is immutable")

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, GroupMetadata) and self.serialized == other.serialized

    def __hash__(self) -> int:
        return hash(self.serialized)

    def __repr__(self) -> str:
        return "GroupMetadata(group_id=%r, generation_id=%d, member_id=%r, group_instance_id=%r)" % (
            self.group_id, self.generation_id, self.member_id, self.group_instance_id)


class OffsetAndTimestamp(NamedTuple):
    """A result of offsets_for_times: an offset and its record's timestamp
    (seconds since the epoch)."""

    offset: int
    timestamp: float


# --------------------------------------------------------------------------
# Packed formats (gofka.h, "Consumer")
# --------------------------------------------------------------------------

_I32 = struct.Struct("<i")
_PAIR = struct.Struct("<ii")
_HEAD = struct.Struct(_layouts.POLL_HEADER_FORMAT)  # message, event, topic counts (gofka.h, messages format)
_gc_isenabled, _gc_disable, _gc_enable = gc.isenabled, gc.disable, gc.enable
_MSG = struct.Struct(_layouts.MESSAGE_HEAD_FORMAT)  # a message head (gofka.h, messages format)
_OFFSET_TAIL = struct.Struct("<iqq")
_TP_TAIL = struct.Struct("<i")


def as_topic_partition(item: Any, what: str = "partition") -> TopicPartition:
    """(topic, partition) / TopicPartition -> validated TopicPartition."""
    if isinstance(item, Message):
        return TopicPartition(item.topic, item.partition)
    try:
        topic, partition = item
    except (TypeError, ValueError):
        raise TypeError("%s must be a (topic, partition) pair, not %r" % (what, item)) from None
    if not isinstance(topic, str):
        raise TypeError("topic must be str, not %s" % type(topic).__name__)
    if not topic:
        raise ValueError("topic must not be empty")
    if isinstance(partition, bool) or not isinstance(partition, int):
        raise TypeError("partition must be int, not %s" % type(partition).__name__)
    if partition < 0 or partition > _native.INT32_MAX:
        raise ValueError("partition must be between 0 and %d, got %d" % (_native.INT32_MAX, partition))
    return TopicPartition(topic, partition)


def topic_partitions(items: Any, what: str = "partitions") -> List[TopicPartition]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError("%s must be a list of (topic, partition) pairs" % what)
    return [as_topic_partition(i) for i in items]


def pack_partitions(tps: Sequence[TopicPartition]) -> bytes:
    parts = [_I32.pack(len(tps))]
    for topic, partition in tps:
        tb = topic.encode("utf-8")
        parts.append(_I32.pack(len(tb)))
        parts.append(tb)
        parts.append(_TP_TAIL.pack(partition))
    return b"".join(parts)


def pack_offsets(entries: Sequence[Tuple[str, int, int, int]]) -> bytes:
    """(topic, partition, offset, timestamp_ms) entries -> offsets format."""
    parts = [_I32.pack(len(entries))]
    for topic, partition, offset, ts in entries:
        tb = topic.encode("utf-8")
        parts.append(_I32.pack(len(tb)))
        parts.append(tb)
        parts.append(_OFFSET_TAIL.pack(partition, offset, ts))
    return b"".join(parts)


def read_topic_entries(buf: bytes, tail: struct.Struct) -> Iterator[Tuple[str, Tuple[Any, ...]]]:
    """The entries of a gofka.h topic-entry buffer (int32 count, then per
    entry an int32-length UTF-8 topic followed by ``tail``): (topic, the
    unpacked tail) each. The one reader of the partitions, offsets and
    share ack results formats; an empty buffer has no entries."""
    if not buf:
        return
    (n,) = _I32.unpack_from(buf, 0)
    pos = 4
    for _ in range(n):
        (ln,) = _I32.unpack_from(buf, pos)
        pos += 4
        topic = buf[pos:pos + ln].decode("utf-8")
        pos += ln
        fields = tail.unpack_from(buf, pos)
        pos += tail.size
        yield topic, fields


def unpack_partitions(buf: bytes) -> List[TopicPartition]:
    """partitions format -> [TopicPartition]."""
    return [TopicPartition(topic, partition) for topic, (partition,) in read_topic_entries(buf, _TP_TAIL)]


def unpack_offsets(buf: bytes) -> List[Tuple[TopicPartition, int, int]]:
    """offsets format -> [(TopicPartition, offset, timestamp_ms)]."""
    return [(TopicPartition(topic, partition), offset, ts)
            for topic, (partition, offset, ts) in read_topic_entries(buf, _OFFSET_TAIL)]


def _parse_headers(buf: bytes, pos: int) -> Union[Dict[str, Optional[bytes]], List[Tuple[str, Optional[bytes]]]]:
    """A record's headers block: a dict, or when a key repeats the list of
    every (key, value) in order, which Message turns into ``header_list``
    and the dict (so nothing read is lost)."""
    (n,) = _I32.unpack_from(buf, pos)
    pos += 4
    pairs: List[Tuple[str, Optional[bytes]]] = []
    for _ in range(n):
        (kl,) = _I32.unpack_from(buf, pos)
        pos += 4
        key = buf[pos:pos + kl].decode("utf-8", "replace")
        pos += kl
        (vl,) = _I32.unpack_from(buf, pos)
        pos += 4
        if vl < 0:
            pairs.append((key, None))
        else:
            pairs.append((key, buf[pos:pos + vl]))
            pos += vl
    headers = dict(pairs)
    return headers if len(headers) == len(pairs) else pairs


Events = List[Tuple[int, List[TopicPartition]]]


def _events(raw: List[Tuple[int, List[Tuple[str, int]]]]) -> Events:
    return [(kind, [TopicPartition(t, p) for t, p in tps]) for kind, tps in raw]


def parse_poll(buf: bytes) -> Tuple[List[Message], Events]:
    """Decodes a messages buffer into Messages and rebalance events."""
    if _speedups is not None:
        msgs, raw = _speedups.parse_poll(buf)
        return msgs, _events(raw) if raw else []
    return parse_poll_py(buf)


# The sync poll's C fast path (gofka._speedups.consumer_poll); None
# without the speedups.
fast_consumer_poll: Optional[Callable[..., Any]] = _speedups.consumer_poll if _speedups is not None else None


def poll_native(owner: HandleBase, max_messages: int, wait_ms: int) -> Tuple[List[Message], Events]:
    """One gofka_consumer_poll of owner's consumer, waiting up to wait_ms
    (0: only what is already prefetched); raises the engine's error."""
    if fast_consumer_poll is not None:
        msgs, raw = fast_consumer_poll(owner._get(), max_messages, wait_ms)
        if msgs is None:  # raw: the failure's (code, name, message, broker, retriable)
            raise owner._failure_from_fields(*raw)
        return msgs, _events(raw) if raw else []
    out = c_void_p()
    length = c_size_t()
    count = c_int32()
    err = _native.new_error()
    code = _native.lib.gofka_consumer_poll(
        owner._get(), max_messages, wait_ms, byref(out), byref(length), byref(count), byref(err)
    )
    if code != _native.OK:
        if out.value:
            _native.lib.gofka_free(out.value)
        raise owner._failure(code, err)
    if not out.value:
        return [], []
    return parse_poll_py(_native.take_buffer(out, length))


def parse_poll_py(buf: bytes) -> Tuple[List[Message], Events]:
    """parse_poll in Python: without the C speedups, and the reference
    their tests compare with."""
    n_msgs, n_events, n_topics = _HEAD.unpack_from(buf, 0)
    pos = _HEAD.size
    unpack_i32 = _I32.unpack_from
    topics = []
    for _ in range(n_topics):
        (ln,) = unpack_i32(buf, pos)
        pos += 4
        topics.append(buf[pos:pos + ln].decode("utf-8"))
        pos += ln
    events: Events = []
    for _ in range(n_events):
        kind, n = _PAIR.unpack_from(buf, pos)
        pos += 8
        tps = []
        for _ in range(n):
            ti, partition = _PAIR.unpack_from(buf, pos)
            pos += 8
            tps.append(TopicPartition(topics[ti], partition))
        events.append((kind, tps))
    if not n_msgs:
        return [], events
    # The heads are contiguous and hold absolute byte ranges: one C-level
    # iteration decodes them all and each field is one slice.
    heads = memoryview(buf)[pos:pos + n_msgs * _MSG.size]
    new = Message
    headers = _parse_headers
    # Thousands of new container objects (Messages, header dicts) in a row
    # would set off the cyclic garbage collector again and again (each run
    # also walking every older object); none of them can form a cycle, so
    # it is paused while they are built and runs at most once after.
    paused = _gc_isenabled()
    if paused:
        _gc_disable()
    try:
        msgs = [
            new(topics[ti], partition, offset, buf[vs:ve] if vs >= 0 else None,
                headers(buf, hs) if hs >= 0 else None, ts / 1000.0, buf[ks:ke] if ks >= 0 else None)
            for ti, partition, offset, ts, ks, ke, vs, ve, hs, he in _MSG.iter_unpack(heads)
        ]
    finally:
        if paused:
            _gc_enable()
    return msgs, events


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be int, not %s" % (name, type(value).__name__))
    if value < lo or value > hi:
        raise ValueError("%s must be between %d and %d, got %d" % (name, lo, hi, value))
    return value


def _check_callback(name: str, fn: Any) -> Any:
    if fn is not None and not callable(fn):
        raise TypeError("%s must be callable or None" % name)
    return fn


class ConsumerOptions(object):
    """Validated consumer arguments and the configuration they make; shared
    by Consumer and AsyncConsumer."""

    def __init__(
        self,
        brokers: Any,
        group_id: Any,
        topics: Any,
        client_id: Any,
        auto_commit: Any,
        auto_offset_reset: Any,
        session_timeout: Any,
        timeout: Any,
        *,
        max_poll_records: Any = 500,
        group_protocol: Any = "classic",
        partition_assignment_strategy: Any = None,
        group_remote_assignor: Any = None,
        group_instance_id: Any = None,
        isolation_level: Any = "read_uncommitted",
        max_poll_interval_ms: Any = 300000,
        heartbeat_interval_ms: Any = None,
        auto_commit_interval_ms: Any = 5000,
        pattern: Any = None,
        fetch_min_bytes: Any = None,
        fetch_max_bytes: Any = None,
        max_partition_fetch_bytes: Any = None,
        queued_max_messages_kbytes: Any = None,
        fetch_max_wait_ms: Any = None,
        metadata_max_age_ms: Any = None,
        client_rack: Any = None,
        on_assign: Any = None,
        on_revoke: Any = None,
        on_lost: Any = None,
        connection_pool: Any = None,
        security: Optional[SecurityOptions] = None,
        config: Any = None,
    ) -> None:
        self.brokers = validate_brokers(brokers)
        if group_id is not None:
            if not isinstance(group_id, str):
                raise TypeError("group_id must be str or None, not %s" % type(group_id).__name__)
            if not group_id:
                raise ValueError("group_id must not be empty (None means no group: assign() only)")
        self.group_id = group_id
        if pattern is not None:
            if not isinstance(pattern, str):
                raise TypeError("pattern must be str or None, not %s" % type(pattern).__name__)
            if not pattern:
                raise ValueError("pattern must not be empty")
            if topics is not None:
                raise ValueError("give topics or pattern, not both")
        self.pattern = pattern
        if topics is not None:
            if isinstance(topics, (str, bytes)) or not isinstance(topics, Iterable):
                raise TypeError("topics must be a list of topic names, not %s" % type(topics).__name__)
            topics = list(topics)
            if not topics:
                raise ValueError("topics must not be empty (None means no subscription: use assign())")
            for t in topics:
                if not isinstance(t, str):
                    raise TypeError("topic names must be str, not %s" % type(t).__name__)
                if not t or "\n" in t or "\0" in t:
                    raise ValueError("invalid topic name %r" % (t,))
        self.topics: Optional[List[str]] = topics
        if client_id is None:
            client_id = "gofka-python-consumer-%s" % os.urandom(6).hex()
        self.client_id = validate_client_id(client_id)
        if not isinstance(auto_commit, bool):
            raise TypeError("auto_commit must be bool, not %s" % type(auto_commit).__name__)
        self.auto_commit = auto_commit
        self.auto_offset_reset = auto_offset_reset = check_choice("auto_offset_reset", auto_offset_reset,
                                                                  "auto.offset.reset")
        self.session_timeout = session_timeout = check_setting_ms("session_timeout", session_timeout, "session.timeout.ms")
        self.timeout = validate_timeout(timeout)
        self.timeout_ms = max(1, _native.timeout_ms(self.timeout))
        self.max_poll_records = check_setting("max_poll_records", max_poll_records, "max.poll.records")
        group_protocol = check_choice("group_protocol", group_protocol, "group.protocol")
        strategy = None
        if partition_assignment_strategy is not None:
            strategy = check_choice("partition_assignment_strategy", partition_assignment_strategy,
                                    "partition.assignment.strategy")
            if group_protocol == "consumer":
                raise ValueError("partition_assignment_strategy applies to group_protocol='classic'; "
                                 "the consumer protocol assigns on the broker (group_remote_assignor)")
        if group_remote_assignor is not None:
            if not isinstance(group_remote_assignor, str) or not group_remote_assignor:
                raise TypeError("group_remote_assignor must be a non-empty str or None")
            if group_protocol != "consumer":
                raise ValueError("group_remote_assignor applies to group_protocol='consumer'")
        if group_instance_id is not None:
            if not isinstance(group_instance_id, str) or not group_instance_id:
                raise TypeError("group_instance_id must be a non-empty str or None")
            if group_id is None:
                raise ValueError("group_instance_id needs a group_id")
        isolation_level = check_choice("isolation_level", isolation_level, "isolation.level")
        max_poll_interval_ms = check_setting_ms("max_poll_interval_ms", max_poll_interval_ms, "max.poll.interval.ms")
        if heartbeat_interval_ms is not None:
            heartbeat_interval_ms = check_setting_ms("heartbeat_interval_ms", heartbeat_interval_ms, "heartbeat.interval.ms")
            if heartbeat_interval_ms >= session_timeout:
                raise ValueError("heartbeat_interval_ms must be lower than session_timeout")
        elif session_timeout <= 3000:
            heartbeat_interval_ms = max(1, session_timeout // 3)
        auto_commit_interval_ms = check_setting_ms("auto_commit_interval_ms", auto_commit_interval_ms, "auto.commit.interval.ms")
        for name, value, prop in (
            ("fetch_min_bytes", fetch_min_bytes, "fetch.min.bytes"),
            ("fetch_max_bytes", fetch_max_bytes, "fetch.max.bytes"),
            ("max_partition_fetch_bytes", max_partition_fetch_bytes, "max.partition.fetch.bytes"),
            ("queued_max_messages_kbytes", queued_max_messages_kbytes, "queued.max.messages.kbytes"),
        ):
            if value is not None:
                check_setting(name, value, prop)
        if fetch_max_wait_ms is not None:
            fetch_max_wait_ms = check_setting_ms("fetch_max_wait_ms", fetch_max_wait_ms, "fetch.max.wait.ms")
        if metadata_max_age_ms is not None:
            metadata_max_age_ms = check_setting_ms("metadata_max_age_ms", metadata_max_age_ms, "metadata.max.age.ms")
        if client_rack is not None and not isinstance(client_rack, str):
            raise TypeError("client_rack must be str or None")
        self.on_assign = _check_callback("on_assign", on_assign)
        self.on_revoke = _check_callback("on_revoke", on_revoke)
        self.on_lost = _check_callback("on_lost", on_lost)
        self.group_protocol = group_protocol
        self.isolation_level = isolation_level

        cfg: Dict[str, Any] = {
            "bootstrap.servers": self.brokers,
            "client.id": self.client_id,
            "connect.timeout.ms": self.timeout_ms,
            "request.timeout.ms": self.timeout_ms,
            "group.id": group_id,
            "group.instance.id": group_instance_id,
            "group.protocol": group_protocol,
            "group.remote.assignor": group_remote_assignor,
            "partition.assignment.strategy": strategy,
            "session.timeout.ms": session_timeout,
            "heartbeat.interval.ms": heartbeat_interval_ms,
            "max.poll.interval.ms": max_poll_interval_ms,
            "enable.auto.commit": auto_commit if group_id is not None else False,
            "auto.commit.interval.ms": auto_commit_interval_ms,
            "auto.offset.reset": auto_offset_reset,
            "isolation.level": isolation_level,
            "fetch.min.bytes": fetch_min_bytes,
            "fetch.max.bytes": fetch_max_bytes,
            "max.partition.fetch.bytes": max_partition_fetch_bytes,
            # The prefetch bound (KiB): records fetched ahead of poll.
            "queued.max.messages.kbytes": queued_max_messages_kbytes,
            "fetch.max.wait.ms": fetch_max_wait_ms,
            "metadata.max.age.ms": metadata_max_age_ms,
            "max.poll.records": self.max_poll_records,
            "client.rack": client_rack,
            # With on_revoke, revocations wait for the next poll so that the
            # callback can commit (gofka.h, "Rebalance events").
            "rebalance.callbacks": on_revoke is not None,
        }
        if connection_pool is not None:
            from .pool import pool_config

            cfg["connection.pool"] = pool_config(connection_pool)
        # Held for the consumer's life: a pool given inline
        # (``connection_pool=ConnectionPool()``) must not be collected, and
        # so closed, under the consumer that uses it.
        self.connection_pool = connection_pool
        if security is not None:
            cfg.update(security.config())  # TLS / SASL keys (gofka._security)
        merge_config(cfg, config)
        self.config = _native.encode_config(cfg)

    #: The constructors' arguments that are options, in ConsumerOptions'
    #: order (the first eight positional).
    POSITIONAL = ("brokers", "group_id", "topics", "client_id", "auto_commit", "auto_offset_reset",
                  "session_timeout", "timeout")
    KEYWORDS = ("max_poll_records", "group_protocol", "partition_assignment_strategy", "group_remote_assignor",
                "group_instance_id", "isolation_level", "max_poll_interval_ms", "heartbeat_interval_ms",
                "auto_commit_interval_ms", "pattern", "fetch_min_bytes", "fetch_max_bytes",
                "max_partition_fetch_bytes", "queued_max_messages_kbytes", "fetch_max_wait_ms",
                "metadata_max_age_ms", "client_rack", "on_assign", "on_revoke", "on_lost", "connection_pool", "config")

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any], security: SecurityOptions) -> "ConsumerOptions":
        """The options of a consumer constructor's arguments (its
        ``locals()``: Consumer and AsyncConsumer take the same names)."""
        return cls(*(arguments[name] for name in cls.POSITIONAL), security=security,
                   **{name: arguments[name] for name in cls.KEYWORDS})

    def subscription_args(self) -> Tuple[Optional[bytes], Optional[bytes]]:
        """(topics, pattern) arguments of gofka_consumer_subscribe."""
        if self.pattern is not None:
            return None, self.pattern.encode("utf-8")
        if self.topics is None:
            raise ValueError("this consumer has no topics or pattern to subscribe to (use assign())")
        if self.group_id is None:
            raise ValueError("subscribe() needs a group_id")
        return "\n".join(self.topics).encode("utf-8"), None


# Kafka's COORDINATOR_NOT_AVAILABLE: what gofka_consumer_subscribe returns
# when the group was not joined before its deadline; the subscription
# stands and membership goes on in the background (gofka.h).
_ERR_COORDINATOR_NOT_AVAILABLE = 15


class SubscriptionState(object):
    """What the Python side knows of a consumer's subscription; shared by
    Consumer and AsyncConsumer.

    The constructor's ``topics`` (or ``pattern``) are the topics to
    subscribe to, so ``pending`` is True until the first poll subscribes
    implicitly, unless ``subscribe()``, ``assign()`` or ``unsubscribe()``
    came first (after ``unsubscribe()`` nothing is subscribed again
    implicitly). ``subscribed``: a subscription stands (from a subscribe,
    explicit or implicit, until unsubscribe). ``joined``: an explicit
    subscribe returned, i.e. the group was joined, so that another
    ``subscribe()`` returns at once instead of making the member rejoin.

    Thread-safety: the flags are plain attributes; ``lock`` makes the
    implicit subscribe happen once when several threads poll.
    """

    def __init__(self, opts: ConsumerOptions) -> None:
        self.lock = threading.Lock()
        self.pending = opts.topics is not None or opts.pattern is not None
        self.subscribed = False
        self.joined = False

    def explicit_done(self, error: Optional[GofkaError]) -> None:
        """Records the outcome of an explicit subscribe call: success, or
        ``error`` (a subscription not joined in time still stands)."""
        if error is None:
            self.pending, self.subscribed, self.joined = False, True, True
        elif error.code == _ERR_COORDINATOR_NOT_AVAILABLE:
            self.pending, self.subscribed = False, True

    def cleared(self) -> None:
        """unsubscribe(): no subscription, and none implicitly again."""
        self.pending = self.subscribed = self.joined = False

    def subscribe_if_pending(self, owner: HandleBase, opts: ConsumerOptions) -> None:
        """The implicit subscribe of the first poll: registers the
        subscription without waiting for the group (timeout 0, so it never
        blocks, also on an event loop); the poll then waits for records,
        which come once the group assigned partitions. Raises what
        subscribe() would (no group_id, closed, ...), again at each poll
        until it succeeds."""
        if not self.pending:
            return
        with self.lock:
            if not self.pending:
                return
            topics, pattern = opts.subscription_args()
            try:
                owner._call(_native.lib.gofka_consumer_subscribe, topics, pattern, 0)
            except GofkaError as exc:
                if exc.code != _ERR_COORDINATOR_NOT_AVAILABLE:
                    raise
            self.pending, self.subscribed = False, True


def new_consumer_handle(options: ConsumerOptions) -> int:
    handle = _native.gofka_handle_t()
    err = _native.new_error()
    _native.check(_native.lib.gofka_consumer_new(options.config, byref(handle), byref(err)), err)
    return handle.value


def check_max_messages(max_messages: Any) -> int:
    return _check_int("max_messages", max_messages, 1, _native.INT32_MAX)


def check_poll_timeout(timeout: Any) -> Optional[float]:
    """poll's ``timeout``: seconds >= 0; None or inf = until a message
    arrives (the one rule of _client.check_time)."""
    checked = check_time("timeout", timeout, none_ok=True, unbounded=True)
    return None if checked is None else float(checked)


def commit_args(message: Any) -> Tuple[Optional[bytes], int]:
    """(offsets buffer, all flag) of gofka_consumer_commit for commit()."""
    if message is None:
        return None, 1
    if not isinstance(message, Message):
        raise TypeError("message must be a gofka.Message or None, not %s" % type(message).__name__)
    tp = as_topic_partition((message.topic, message.partition), "message")
    return pack_offsets([(tp.topic, tp.partition, message.offset + 1, -1)]), 0


def times_args(timestamps: Any) -> Tuple[List[TopicPartition], bytes]:
    if not isinstance(timestamps, dict):
        raise TypeError("timestamps must be a dict of (topic, partition) -> seconds since the epoch")
    tps = []
    entries = []
    for key, ts in timestamps.items():
        tp = as_topic_partition(key)
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or ts != ts or ts < 0:
            raise ValueError("timestamp of %s must be a non-negative number of seconds, got %r" % (tp, ts))
        tps.append(tp)
        entries.append((tp.topic, tp.partition, -1, int(round(ts * 1000))))
    return tps, pack_offsets(entries)


def times_result(buf: bytes) -> Dict[TopicPartition, Optional[OffsetAndTimestamp]]:
    out: Dict[TopicPartition, Optional[OffsetAndTimestamp]] = {}
    for tp, offset, ts in unpack_offsets(buf):
        out[tp] = None if offset < 0 else OffsetAndTimestamp(offset, ts / 1000.0)
    return out


def committed_result(buf: bytes) -> Dict[TopicPartition, Optional[int]]:
    return {tp: (None if offset < 0 else offset) for tp, offset, _ in unpack_offsets(buf)}


def first_offsets(msgs: Iterable[Message]) -> bytes:
    """The offsets format of the first message of each partition of
    ``msgs`` (b"" when there is none): where to seek back to, or what to
    commit, when they were not handed to the application."""
    first: Dict[TopicPartition, int] = {}
    for m in msgs:
        tp = TopicPartition(m.topic, m.partition)
        if tp not in first:
            first[tp] = m.offset
    if not first:
        return b""
    return pack_offsets([(tp.topic, tp.partition, off, -1) for tp, off in first.items()])


def check_seek_offset(offset: Any) -> int:
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError("offset must be int, not %s" % type(offset).__name__)
    if offset < OFFSET_BEGINNING or offset > _native.INT64_MAX:
        raise ValueError("offset must be >= 0, OFFSET_BEGINNING (-2) or OFFSET_END (-1), got %d" % offset)
    return offset


# --------------------------------------------------------------------------
# Consumers the application did not close
# --------------------------------------------------------------------------

# Every consumer (sync and async) not closed yet: the exit hook closes
# those of this process.
_open = OpenClients()
#: Puts a new consumer (with ``_pid`` and ``_close_implicitly(why)``) under
#: the exit hook's watch; unregister_open ends it.
register_open = _open.add
unregister_open = _open.discard


def close_implicitly(consumer: Any, why: str) -> None:
    """Closes a consumer the application did not close (exit hook, garbage
    collection): with auto-commit it commits what poll returned, then
    leaves the group, within the consumer's ``timeout``; no rebalance
    callback runs (this may be any thread, at any time). Only in the
    process that created it (a forked child must not touch its parent's
    engine). A failed close is reported on the ``gofka.consumer`` logger
    (and stderr), since nobody else can hear of it."""
    if getattr(consumer, "_pid", None) != os.getpid() or not getattr(consumer, "_handle", 0):
        return
    handle = consumer._take_handle()
    unregister_open(consumer)
    if not handle:
        return
    err = _native.new_error()
    code = _native.lib.gofka_consumer_close(handle, consumer._timeout_ms, byref(err))
    if code != _native.OK:
        msg = "gofka: consumer %s: close failed (what it polled may not be committed): %s" % (
            why, _native.make_error(code, err))
        try:
            if _log.hasHandlers():  # else logging's last resort writes to stderr
                sys.stderr.write(msg + "\n")
                sys.stderr.flush()
        except Exception:
            pass
        _log.warning("%s", msg)


def _close_at_exit() -> None:
    """The atexit hook: closes every consumer this process created and did
    not close (see close_implicitly). Without it a consumer still
    referenced at exit (a module global outliving the script's, a daemon
    thread) would never commit its last polls nor leave its group: the
    group would wait a session timeout for it."""
    for c in _open.alive():
        try:
            c._close_implicitly("open at interpreter exit")
        except BaseException:  # one consumer must not keep the others open
            _log.exception("closing %r at exit failed", c)


atexit.register(_close_at_exit)


def own_revocation(consumer: Any, opts: ConsumerOptions) -> List[TopicPartition]:
    """The partitions to hand ``on_revoke`` when the application revokes
    them itself (unsubscribe, close), Consumer and AsyncConsumer alike: the
    current assignment when there is an ``on_revoke``, else none."""
    if opts.on_revoke is None:
        return []
    try:
        current: List[TopicPartition] = consumer.assignment()
    except GofkaError:
        return []
    return current


def run_callbacks(opts: ConsumerOptions, events: Events) -> List[Any]:
    """Calls the rebalance callbacks of events, in order; returns their
    results (the async consumer awaits the awaitable ones)."""
    results = []
    for kind, tps in events:
        fn = callback_of(opts, kind)
        if fn is not None:
            results.append(fn(list(tps)))
    return results


def callback_of(opts: ConsumerOptions, kind: int) -> Optional[Callable[[List[TopicPartition]], Any]]:
    """The rebalance callback of an event kind (lost partitions go to
    ``on_lost``, else to ``on_revoke``), or None."""
    if kind == _ASSIGNED:
        fn: Optional[Callable[[List[TopicPartition]], Any]] = opts.on_assign
    elif kind == _REVOKED:
        fn = opts.on_revoke
    else:
        fn = opts.on_lost if opts.on_lost is not None else opts.on_revoke
    return fn


# --------------------------------------------------------------------------
# ConsumerBase
# --------------------------------------------------------------------------


class ConsumerKeywords(SecurityKeywords, StatsKeywords, total=False):
    """The keyword-only arguments Consumer and AsyncConsumer share
    (documented on Consumer), with the TLS/SASL and statistics ones:
    ``**keywords: Unpack[ConsumerKeywords]`` in both constructors.
    ``max_poll_records`` and ``use_ssl`` (positional on AsyncConsumer)
    stay in each signature. Defaults: CONSUMER_KEYWORDS."""

    group_protocol: str
    partition_assignment_strategy: Any
    group_remote_assignor: Optional[str]
    group_instance_id: Optional[str]
    isolation_level: str
    max_poll_interval_ms: int
    heartbeat_interval_ms: Optional[int]
    auto_commit_interval_ms: int
    pattern: Optional[str]
    fetch_min_bytes: Optional[int]
    fetch_max_bytes: Optional[int]
    max_partition_fetch_bytes: Optional[int]
    queued_max_messages_kbytes: Optional[int]
    fetch_max_wait_ms: Optional[int]
    metadata_max_age_ms: Optional[int]
    client_rack: Optional[str]
    on_assign: Optional[Callable[[List[TopicPartition]], Any]]
    on_revoke: Optional[Callable[[List[TopicPartition]], Any]]
    on_lost: Optional[Callable[[List[TopicPartition]], Any]]
    connection_pool: Any
    config: Optional[Dict[str, Any]]


#: ConsumerKeywords with their defaults (None unless named).
CONSUMER_KEYWORDS: KeywordGroup = KeywordGroup(
    ConsumerKeywords, SECURITY_KEYWORDS, STATS_KEYWORDS, group_protocol="classic", isolation_level="read_uncommitted",
    max_poll_interval_ms=300000, auto_commit_interval_ms=5000)


class ConsumerBase(HandleBase, ConnectedFlag):
    """What Consumer and AsyncConsumer share: the options (ConsumerOptions,
    validated once), the handle and its release when the application does
    not close it (exit hook, finalizer), and every method that does not
    wait (assign, assignment, seek, pause, resume). The methods that wait
    are written per class on a shared "plan" (``_*_plan``: the arguments of
    the library call and the conversion of its result): the synchronous
    consumer calls the blocking function, the asyncio one awaits its
    ``_async`` twin. Thread-safety: as HandleBase (calls run in parallel,
    the library is thread-safe).

    Subclasses that buffer messages (AsyncConsumer's iterator) override
    ``_drop_buffer`` and ``_forget_buffered``.
    """

    _kind = "consumer"
    _public_name = "Consumer"  # for repr

    def __init__(self, arguments: Mapping[str, Any]) -> None:
        """``arguments``: the subclass constructor's ``locals()`` (its
        options and TLS/SASL keywords or ``security=``, validated here)."""
        super().__init__()
        self._security = security = client_security(arguments)
        on_stats = arguments.get("on_stats")
        stats_every = _stats.check_stats_options(arguments.get("stats_interval_ms", 0), on_stats)
        opts = ConsumerOptions.from_arguments(arguments, security)
        self._opts = opts
        self._sub = SubscriptionState(opts)
        self.brokers = opts.brokers
        self.group_id = opts.group_id
        self.topics = opts.topics
        self.client_id = opts.client_id
        self.auto_commit = opts.auto_commit
        self.auto_offset_reset = opts.auto_offset_reset
        self.session_timeout = opts.session_timeout
        self.timeout = opts.timeout
        self.use_ssl = security.use_ssl
        self.security_protocol = security.security_protocol
        self._timeout_ms = opts.timeout_ms
        self._pid = os.getpid()  # the process whose engine this is (fork: see close_implicitly)
        self._set_handle(new_consumer_handle(opts))
        register_open(self)  # the exit hook closes it if the application does not
        security.attach(self)
        self._stats_reporter = _stats.start_reporter(self, stats_every, on_stats, "consumer")

    def stats(self) -> Dict[str, Any]:
        """A snapshot of the consumer's statistics as a dict: counters,
        prefetch buffer use, per broker and per assigned partition
        (position, high watermark, lag); fields in docs/statistics.md.
        Plain, also on AsyncConsumer (not a coroutine): it never waits on
        the network, so it does not block an event loop. Raises GofkaError
        CLIENT_CLOSED once closed. The constructor keywords
        ``stats_interval_ms`` and ``on_stats`` report it periodically (see
        gofka._stats)."""
        return _stats.snapshot(self, _native.lib.gofka_consumer_stats)

    def __repr__(self) -> str:
        return "<gofka.%s brokers=%r group_id=%r topics=%r%s>" % (
            self._public_name, self.brokers, self.group_id,
            self.topics if self._opts.pattern is None else self._opts.pattern,
            " closed" if self.closed else "",
        )

    @property
    def subscribed(self) -> bool:
        """True from ``subscribe()`` (or the implicit subscribe of the first
        ``poll()`` / iteration) until ``unsubscribe()`` or ``close()``: the
        consumer is a member of its group, or joining it, for
        ``topics``/``pattern``."""
        return self._sub.subscribed and not self.closed

    # -- hooks of a consumer that buffers messages (AsyncConsumer) -----------

    def _drop_buffer(self) -> None:
        """Gives back messages polled but not handed out yet (none here)."""

    def _forget_buffered(self, tp: TopicPartition) -> None:
        """Drops buffered messages of ``tp`` (a seek moved it; none here)."""

    def _rewind(self, msgs: Iterable[Message]) -> None:
        """Seeks the partitions of msgs back to their first message, so that
        messages the application never saw are read again, not lost."""
        buf = first_offsets(msgs)
        if buf:
            try:
                self._call(_native.lib.gofka_consumer_seek, buf, len(buf))
            except GofkaError:
                pass  # revoked meanwhile: the new owner reads them

    # -- methods that do not wait ----------------------------------------------

    def assign(self, partitions: Iterable[Any]) -> None:
        """Consumes the given (topic, partition) pairs, outside any group
        (an empty list unassigns). They start at the committed offset when
        there is a group_id, else at ``auto_offset_reset``. An assign()
        before the first poll means no implicit subscribe. Never blocks."""
        tps = topic_partitions(partitions)
        buf = pack_partitions(tps)
        self._sub.pending = False
        self._drop_buffer()
        self._call(_native.lib.gofka_consumer_assign, buf, len(buf))

    def assignment(self) -> List[TopicPartition]:
        """The partitions currently assigned, sorted."""
        return unpack_partitions(self._call_returning_buffer(_native.lib.gofka_consumer_assignment))

    @property
    def assigned_partitions(self) -> List[TopicPartition]:
        """``assignment()`` under the name of the original Gofka client."""
        return self.assignment()

    def seek(self, topic: str, partition: int, offset: int) -> None:
        """Makes the next message of an assigned partition the one at
        ``offset`` (or OFFSET_BEGINNING / OFFSET_END). Raises
        GroupCoordinationError (NOT_ASSIGNED) for a partition not assigned.
        Never blocks."""
        tp = as_topic_partition((topic, partition))
        off = check_seek_offset(offset)
        self._forget_buffered(tp)
        buf = pack_offsets([(tp.topic, tp.partition, off, -1)])
        self._call(_native.lib.gofka_consumer_seek, buf, len(buf))

    def pause(self, partitions: Iterable[Any]) -> None:
        """Stops fetching and returning the partitions until resume()."""
        buf = pack_partitions(topic_partitions(partitions))
        self._call(_native.lib.gofka_consumer_pause, buf, len(buf))

    def resume(self, partitions: Iterable[Any]) -> None:
        """Undoes pause()."""
        buf = pack_partitions(topic_partitions(partitions))
        self._call(_native.lib.gofka_consumer_resume, buf, len(buf))

    # -- plans of the methods that wait: (library call arguments, conversion) --

    def _subscribe_plan(self) -> Optional[Tuple[Any, ...]]:
        """The arguments of the subscribe call, or None when the group was
        joined already (then nothing is to be done; a closed consumer
        raises here)."""
        topics, pattern = self._opts.subscription_args()
        if self._sub.joined:
            self._get()  # raises on a closed consumer
            return None
        return topics, pattern, self._timeout_ms

    def _position_plan(self, topic: str, partition: int) -> Tuple[Tuple[Any, ...], Callable[[bytes], int]]:
        buf = pack_partitions([as_topic_partition((topic, partition))])
        return (buf, len(buf), self._timeout_ms), lambda res: unpack_offsets(res)[0][1]

    def group_metadata(self) -> GroupMetadata:
        """The consumer's group membership now (group id, generation,
        member id, group.instance.id), to pass to a transactional
        producer's ``send_offsets_to_transaction``. Plain, also on
        AsyncConsumer: it never waits. Raises GofkaError INVALID_ARGUMENT
        for a consumer without ``group_id``, CLIENT_CLOSED once closed."""
        return GroupMetadata(self._call_returning_buffer(_native.lib.gofka_consumer_group_metadata))

    def _committed_plan(self, partitions: Iterable[Any]) -> Tuple[Tuple[Any, ...], Callable[[bytes], Dict[TopicPartition, Optional[int]]]]:
        buf = pack_partitions(topic_partitions(partitions))
        return (buf, len(buf), self._timeout_ms), committed_result

    def _times_plan(self, timestamps: Dict[Any, float]) -> Tuple[Tuple[Any, ...], Callable[[bytes], Dict[TopicPartition, Optional[OffsetAndTimestamp]]]]:
        _, buf = times_args(timestamps)
        return (buf, len(buf), self._timeout_ms), times_result

    # -- closing -----------------------------------------------------------------

    def _close_implicitly(self, why: str) -> None:
        """The exit hook's and the finalizer's close (synchronous, no
        callback: see close_implicitly). Buffered messages are given back
        first, so that they are not committed unseen."""
        if getattr(self, "_pid", None) == os.getpid() and getattr(self, "_handle", 0):
            self._drop_buffer()
        close_implicitly(self, why)

    def _finalize(self) -> None:
        # The finalizer's close (_client.Finalized, which Consumer and
        # AsyncConsumer get from HandleOwner / AsyncHandleOwner):
        # garbage-collected without close(), it closes without running any
        # callback (this may be any thread, at any time), deliberately
        # unlike close().
        self._close_implicitly("garbage-collected without close()")
