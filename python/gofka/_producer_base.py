"""What Producer and AsyncProducer share: options and their validation
(ProducerOptions), argument conversion and packing, the exit hook that
closes producers the application did not close, and ProducerBase (the
constructor's common part, the native handle, the partitioner and the
partition-count cache, and what goes around each native call: batches
cut into calls and their results read, the transaction calls' arguments
and deadlines, closing and its reports). The two classes differ only in
how they wait.
"""

from __future__ import annotations

import abc
import array
import atexit
import logging
import os
import struct
import sys
import time
from ctypes import byref
from functools import partial
from typing import AbstractSet, Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _layouts, _native, _stats
from ._client import (ConnectedFlag, HandleBase, OpenClients, check_choice, check_setting, check_setting_ms, check_time,
                      choice_rule, merge_config, validate_brokers, validate_client_id, validate_timeout)
from ._consumer_base import GroupMetadata, as_topic_partition, pack_offsets
from ._keywords import KeywordGroup
from ._ranges import CHOICES
from ._security import SECURITY_KEYWORDS, SecurityKeywords, SecurityOptions, client_security
from ._stats import STATS_KEYWORDS, StatsKeywords
from .exceptions import GofkaError, TransactionFatalError, error_from_code
from .message import speedups as _speedups

__all__ = ["ProducerBase", "ProducerOptions", "COMPRESSION_TYPES", "DEFAULT_EXIT_TIMEOUT", "EXIT_TIMEOUT_ENV"]

_log = logging.getLogger("gofka.producer")

#: Valid values of ``compression`` (None means "none"): the engine's
#: (core/choices.go, generated into _ranges.CHOICES).
COMPRESSION_TYPES = CHOICES["compression.type"].values

_INT32_MAX = _native.INT32_MAX

#: Seconds an implicit close (at interpreter exit, or when an unclosed
#: producer is garbage-collected) waits for buffered records before it
#: fails the rest, unless ``exit_timeout`` or GOFKA_EXIT_TIMEOUT says
#: otherwise.
DEFAULT_EXIT_TIMEOUT = 5.0
#: Environment variable: the default of ``exit_timeout`` in seconds
#: (read when a producer is created).
EXIT_TIMEOUT_ENV = "GOFKA_EXIT_TIMEOUT"

_RETRY_ATTRS = ("max_retries", "initial_backoff_ms", "max_backoff_ms", "backoff_multiplier", "jitter")


class _Default(object):
    """Marks a keyword argument the caller did not pass."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<default>"


#: Default of ``partition`` where "not passed" differs from every value.
PARTITION_DEFAULT: Any = _Default()

#: What ``headers`` takes: a dict of str -> value, or a list of (str, value)
#: pairs (keys may repeat); a value is bytes-like, str (sent as UTF-8) or
#: None.
Headers = Union[Mapping[str, Any], Sequence[Tuple[str, Any]], None]


# --------------------------------------------------------------------------
# Options shared by Producer and AsyncProducer
# --------------------------------------------------------------------------


def retry_config(policy: Any) -> Dict[str, Any]:
    """Config keys of a retry policy: a gofka RetryPolicy, or any object
    with its attributes (max_retries, initial_backoff_ms, max_backoff_ms,
    backoff_multiplier, jitter)."""
    if policy is None:
        return {}
    to_config = getattr(policy, "to_config", None)
    if callable(to_config) and type(policy).__name__ == "RetryPolicy":
        return dict(to_config())
    missing = [a for a in _RETRY_ATTRS if not hasattr(policy, a)]
    if missing:
        raise TypeError(
            "retry_policy must be a gofka.RetryPolicy (or have its attributes); %s lacks %s"
            % (type(policy).__name__, ", ".join(missing))
        )
    retries = check_setting("retry_policy.max_retries", policy.max_retries, "retries")
    initial = check_setting_ms("retry_policy.initial_backoff_ms", policy.initial_backoff_ms, "retry.backoff.ms")
    maximum = check_setting_ms("retry_policy.max_backoff_ms", policy.max_backoff_ms, "retry.backoff.max.ms")
    if maximum < initial:
        raise ValueError("retry_policy.max_backoff_ms must not be below initial_backoff_ms")
    mult = policy.backoff_multiplier
    if isinstance(mult, bool) or not isinstance(mult, (int, float)) or not (1 <= mult < float("inf")):
        raise ValueError("retry_policy.backoff_multiplier must be a finite number >= 1, got %r" % (mult,))
    if not isinstance(policy.jitter, bool):
        raise TypeError("retry_policy.jitter must be bool")
    return {
        "retries": retries,
        "retry.backoff.ms": initial,
        "retry.backoff.max.ms": maximum,
        "retry.backoff.multiplier": repr(float(mult)),
        "retry.jitter": policy.jitter,
    }


#: The properties the Python side of a producer reads too (record size
#: checks, chunking, the compression and acks attributes): ``config=``
#: may not override them, their keyword argument sets them.
_PYTHON_READS = {"max.request.size": "max_request_size", "buffer.memory": "buffer_memory",
                 "compression.type": "compression", "acks": "acks"}


class ProducerOptions(object):
    """Validated producer options and the configuration they make."""

    def __init__(
        self,
        brokers: Any,
        client_id: Any,
        timeout: Any,
        *,
        compression: Any = None,
        compression_level: Any = None,
        acks: Any = "all",
        batch_size: Any = None,
        linger_ms: Any = None,
        max_in_flight: Any = None,
        enable_idempotence: Any = None,
        retry_policy: Any = None,
        delivery_timeout_ms: Any = None,
        buffer_memory: Any = None,
        max_request_size: Any = None,
        allow_auto_create_topics: Any = None,
        connection_pool: Any = None,
        transactional_id: Any = None,
        transaction_timeout_ms: Any = None,
        security: Optional[SecurityOptions] = None,
        config: Any = None,
    ) -> None:
        self.brokers = validate_brokers(brokers)
        self.client_id = validate_client_id(client_id)
        self.timeout = validate_timeout(timeout)
        # The Python spellings beyond the engine's (which CHOICES holds):
        # compression None is "none", acks also takes the ints -1, 0, 1.
        codec = "none" if compression is None else check_choice("compression", compression, "compression.type")
        if isinstance(acks, int) and not isinstance(acks, bool):
            acks_text = check_choice("acks", str(acks), "acks")
        elif isinstance(acks, str):
            acks_text = check_choice("acks", acks, "acks")
        else:
            raise ValueError("acks must be %s or the int -1, 0 or 1, got %r" % (choice_rule("acks"), acks))
        acks_all = acks_text == "all"
        if enable_idempotence is not None and not isinstance(enable_idempotence, bool):
            raise TypeError("enable_idempotence must be bool, not %s" % type(enable_idempotence).__name__)
        if enable_idempotence and not acks_all:
            raise ValueError("enable_idempotence=True needs acks='all' (acks is %r)" % (acks,))
        idempotent = acks_all and enable_idempotence is not False
        # The range every codec shares (-1..12); the codec's own (gzip 0..9,
        # snappy none) is the engine's check, a ValueError as well.
        if compression_level is not None:
            check_setting("compression_level", compression_level, "compression.level")
        if batch_size is not None:
            check_setting("batch_size", batch_size, "batch.size")
        # As given (the attributes of Producer / AsyncProducer show them so).
        self.linger_ms_arg, self.delivery_timeout_ms_arg = linger_ms, delivery_timeout_ms
        if linger_ms is not None:
            linger_ms = check_setting_ms("linger_ms", linger_ms, "linger.ms")
        if max_in_flight is not None:
            check_setting("max_in_flight", max_in_flight, "max.in.flight.requests.per.connection")
            if idempotent and max_in_flight > 5:
                raise ValueError(
                    "max_in_flight must be at most 5 with idempotence (the default with acks='all'); "
                    "pass enable_idempotence=False for more, got %d" % max_in_flight
                )
        if delivery_timeout_ms is not None:
            delivery_timeout_ms = check_setting_ms("delivery_timeout_ms", delivery_timeout_ms, "delivery.timeout.ms")
        if buffer_memory is not None:
            check_setting("buffer_memory", buffer_memory, "buffer.memory")
        if max_request_size is not None:
            check_setting("max_request_size", max_request_size, "max.request.size")
        if allow_auto_create_topics is not None and not isinstance(allow_auto_create_topics, bool):
            raise TypeError("allow_auto_create_topics must be bool")
        if transactional_id is not None:
            if not isinstance(transactional_id, str):
                raise TypeError("transactional_id must be str, not %s" % type(transactional_id).__name__)
            if not transactional_id:
                raise ValueError("transactional_id must not be empty (None = not transactional)")
            # Transactions are built on the idempotent producer.
            if not idempotent:
                raise ValueError("transactional_id needs acks='all' and enable_idempotence not False")
        if transaction_timeout_ms is not None:
            transaction_timeout_ms = check_setting_ms("transaction_timeout_ms", transaction_timeout_ms,
                                                      "transaction.timeout.ms")
        self.compression = compression
        self.compression_level = compression_level
        self.acks = acks
        self.batch_size = batch_size
        self.linger_ms = linger_ms
        self.max_in_flight = max_in_flight
        self.enable_idempotence = enable_idempotence
        self.retry_policy = retry_policy
        self.delivery_timeout_ms = delivery_timeout_ms
        self.buffer_memory = buffer_memory
        self.max_request_size = max_request_size
        self.allow_auto_create_topics = allow_auto_create_topics
        self.transactional_id = transactional_id
        self.transaction_timeout_ms = transaction_timeout_ms
        self.timeout_ms = max(1, _native.timeout_ms(self.timeout))
        cfg: Dict[str, Any] = {
            "bootstrap.servers": self.brokers,
            "client.id": self.client_id,
            "connect.timeout.ms": self.timeout_ms,
            "request.timeout.ms": self.timeout_ms,
            "compression.type": codec,
            "compression.level": compression_level,
            "acks": acks_text,
            "batch.size": batch_size,
            "linger.ms": linger_ms,
            "max.in.flight.requests.per.connection": max_in_flight,
            "enable.idempotence": enable_idempotence,
            "delivery.timeout.ms": delivery_timeout_ms,
            "buffer.memory": buffer_memory,
            "max.request.size": max_request_size,
            "allow.auto.create.topics": allow_auto_create_topics,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": transaction_timeout_ms,
        }
        if connection_pool is not None:
            from .pool import pool_config

            cfg["connection.pool"] = pool_config(connection_pool)
        # Held for the producer's life: a pool given inline
        # (``connection_pool=ConnectionPool()``) must not be collected, and
        # so closed, under the producer that uses it.
        self.connection_pool = connection_pool
        if security is not None:
            cfg.update(security.config())  # TLS / SASL keys (gofka._security)
        cfg.update(retry_config(retry_policy))
        merge_config(cfg, config, _PYTHON_READS)
        self.config = _native.encode_config(cfg)
        #: bytes one produce_batch call may carry (the engine refuses a batch
        #: larger than buffer.memory as a whole; stay well below), counted
        #: with REC_OVERHEAD per record.
        self.chunk_bytes = max(512, (buffer_memory or (32 << 20)) // 4)


#: The constructors' arguments that are keyword options of ProducerOptions.
_OPTION_KEYWORDS = ("compression", "compression_level", "acks", "batch_size", "linger_ms", "max_in_flight", "enable_idempotence",
                    "retry_policy", "delivery_timeout_ms", "buffer_memory", "max_request_size",
                    "allow_auto_create_topics", "connection_pool", "transactional_id", "transaction_timeout_ms",
                    "config")


class ProducerKeywords(SecurityKeywords, StatsKeywords, total=False):
    """The keyword-only arguments Producer and AsyncProducer share
    (documented on Producer), with the TLS/SASL and statistics ones:
    ``**keywords: Unpack[ProducerKeywords]`` in both constructors. Those
    whose default or type differs between the two (compression,
    batch_size, linger_ms, max_in_flight, partitioner, use_ssl: positional
    on AsyncProducer) stay in each signature. Defaults: PRODUCER_KEYWORDS."""

    acks: Union[str, int]
    compression_level: Optional[int]
    enable_idempotence: Optional[bool]
    retry_policy: Any
    delivery_timeout_ms: Optional[int]
    buffer_memory: Optional[int]
    max_request_size: Optional[int]
    allow_auto_create_topics: Optional[bool]
    connection_pool: Any
    transactional_id: Optional[str]
    transaction_timeout_ms: Optional[int]
    config: Optional[Dict[str, Any]]
    exit_timeout: Optional[float]


#: ProducerKeywords with their defaults (None unless named).
PRODUCER_KEYWORDS: KeywordGroup = KeywordGroup(ProducerKeywords, SECURITY_KEYWORDS, STATS_KEYWORDS, acks="all")


def options_from_arguments(arguments: Mapping[str, Any], security: SecurityOptions) -> ProducerOptions:
    """The options of a producer constructor's arguments (its ``locals()``:
    Producer and AsyncProducer take the same names)."""
    return ProducerOptions(arguments["brokers"], arguments["client_id"], arguments["timeout"], security=security,
                           **{name: arguments[name] for name in _OPTION_KEYWORDS})


def txn_offsets_arg(offsets: Any, group_metadata: Any) -> Tuple[bytes, bytes]:
    """(offsets format, group metadata) of send_offsets_to_transaction:
    ``offsets`` maps TopicPartition or (topic, partition) to the next
    offset to consume (message.offset + 1); ``group_metadata`` comes from
    the consumer's group_metadata()."""
    if not isinstance(offsets, Mapping):
        raise TypeError("offsets must be a dict of TopicPartition (or (topic, partition)) -> next offset, not %s"
                        % type(offsets).__name__)
    if not isinstance(group_metadata, GroupMetadata):
        raise TypeError("group_metadata must be what Consumer.group_metadata() returns, not %s"
                        % type(group_metadata).__name__)
    entries = []
    seen = set()
    for key, offset in offsets.items():
        tp = as_topic_partition(key, "offsets key")
        if tp in seen:
            raise ValueError("offsets: %s is listed twice" % (tp,))
        seen.add(tp)
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError("offset of %s must be int, not %s" % (tp, type(offset).__name__))
        if offset < 0 or offset > _native.INT64_MAX:
            raise ValueError("offset of %s must be a next offset to consume (>= 0), got %d" % (tp, offset))
        entries.append((tp.topic, tp.partition, offset, -1))
    return pack_offsets(entries), group_metadata.serialized


def new_producer_handle(options: ProducerOptions) -> int:
    handle = _native.gofka_handle_t()
    err = _native.new_error()
    _native.check(_native.lib.gofka_producer_new(options.config, byref(handle), byref(err)), err)
    return handle.value


# --------------------------------------------------------------------------
# Argument conversion and packing
# --------------------------------------------------------------------------


def resolve_partition(partition: Any, default: int) -> int:
    """partition argument -> int32 for the library: PARTITION_DEFAULT gives
    ``default``; None (or -1) asks the engine's partitioner."""
    if partition is PARTITION_DEFAULT:
        return default
    if partition is None:
        return -1
    if isinstance(partition, bool) or not isinstance(partition, int):
        raise TypeError("partition must be int or None, not %s" % type(partition).__name__)
    if partition == -1:
        return -1
    if partition < 0 or partition > _INT32_MAX:
        raise ValueError("partition must be >= 0 (or None / -1 for the partitioner), got %d" % partition)
    return partition


def default_partition(key: Optional[bytes]) -> int:
    """The partition of a send that passed none (and has no custom
    partitioner): -1, the engine's murmur2 of the key as the Java client
    places it, for a keyed record; 0, the documented default, without a
    key."""
    return 0 if key is None else -1


def partition_runs(partition: Any, keys: Sequence[Optional[bytes]],
                   choose: Optional[Callable[[Optional[bytes]], int]] = None) -> List[Tuple[int, int, int]]:
    """(partition, start, end) runs of a batch's records: one run with the
    explicit (or None / -1) partition; without one, consecutive records
    that share choose(key) (a custom partitioner) or else
    default_partition(key), so that each run is one library call and
    records keep their order."""
    if partition is not PARTITION_DEFAULT:
        return [(resolve_partition(partition, 0), 0, len(keys))]
    parts = [(choose or default_partition)(k) for k in keys]
    runs: List[Tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(parts) + 1):
        if i == len(parts) or parts[i] != parts[start]:
            runs.append((parts[start], start, i))
            start = i
    return runs


#: Seconds a topic's partition count stays cached for a custom partitioner.
PARTITION_COUNT_TTL = 30.0


def check_custom_partition(p: Any, n: int, topic: str) -> int:
    """A custom partitioner's answer, checked: an int in [0, n)."""
    if isinstance(p, bool) or not isinstance(p, int):
        raise TypeError("partitioner returned %r; it must return an int" % (p,))
    if p < 0 or p >= n:
        raise ValueError("partitioner returned partition %d; topic %s has %d partitions" % (p, topic, n))
    return p


def optional_value(value: Any, what: str) -> Optional[bytes]:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be bytes, bytearray, memoryview or None, not %s" % (what, type(value).__name__))


#: A chunk's records as the library takes them: packed (gofka.h records
#: format) or columnar ((int32 lengths, values joined): values-only records).
ChunkPayload = Union[bytes, Tuple[Any, Any]]
#: One library call of send_batch: (partition, the records' positions in
#: the input, the function that builds its payload). The payload is built
#: only when the chunk is handed to the library (see BATCH_CHUNK_BYTES).
BatchChunk = Tuple[int, Sequence[int], Callable[[], ChunkPayload]]

#: Bytes per record on top of key and value when estimating what a batch
#: takes in buffer.memory: at least the engine's own accounting (36 for a
#: record without key and headers; headers are counted twice their packed
#: size).
REC_OVERHEAD = 40

_I32 = struct.Struct("<i").pack
_NULL = _I32(-1)
_TAIL = struct.Struct("<qi").pack
_TAIL_NOW = _TAIL(-1, 0)
#: One record's result in a batch event (gofka.h: code, partition, offset).
BATCH_RESULT: struct.Struct = struct.Struct(_layouts.BATCH_RESULT_FORMAT)
# A result without its code: skip to partition, then the fields from
# partition on (one struct character per field, after the "<").
RESULT_PARTITION_OFFSET = struct.Struct(
    "<%dx" % _layouts.BATCH_RESULT_PARTITION_OFFSET + _layouts.BATCH_RESULT_FORMAT[2:]
)
#: A little-endian uint32 (the message lengths of batch events).
U32 = struct.Struct("<I")


def pack_record_list(records: Sequence[Tuple[Optional[bytes], Optional[bytes], int, bytes]]) -> bytes:
    """Packs (key, value, timestamp_ms, packed_headers) tuples, validated,
    in the records format of gofka.h."""
    parts: List[bytes] = []
    append = parts.append
    for key, value, ts, headers in records:
        if key is None:
            kpart = _NULL
        else:
            kpart = _I32(len(key)) + key
        if value is None:
            append(kpart + _NULL)
        else:
            append(kpart + _I32(len(value)))
            append(value)
        if headers:
            append(_TAIL(ts, len(headers)))
            append(headers)
        elif ts == -1:
            append(_TAIL_NOW)
        else:
            append(_TAIL(ts, 0))
    return b"".join(parts)


def is_header_set(headers: Any) -> bool:
    """Whether a send_batch ``headers`` argument is one set of headers for
    every message (None, a dict, or a list of (str, value) pairs, an empty
    list included) rather than a list of sets, one per message (a non-empty
    list whose items are all None, dicts or lists of pairs)."""
    if headers is None or isinstance(headers, Mapping):
        return True
    if not isinstance(headers, (list, tuple)):
        return False  # per_record / pack_headers report the type

    def one_set(h: Any) -> bool:
        return h is None or isinstance(h, Mapping) or (
            isinstance(h, (list, tuple)) and all(isinstance(p, (list, tuple)) for p in h))

    return not (headers and all(one_set(h) for h in headers))


def check_messages(messages: Any) -> None:
    """send_batch's ``messages``: a list of values. A single value, a dict
    (whose keys iteration would send) or a set (no order to match keys,
    headers, timestamps or the returned offsets) is a TypeError."""
    if isinstance(messages, (bytes, bytearray, memoryview, str)):
        raise TypeError("messages must be a list of bytes, not a single %s" % type(messages).__name__)
    if isinstance(messages, (Mapping, AbstractSet)):
        raise TypeError("messages must be a list of bytes, not %s" % type(messages).__name__)


def batch_records(
    messages: Any,
    keys: Any,
    headers: Any,
    timestamp: Any,
) -> List[Tuple[Optional[bytes], Optional[bytes], int, bytes]]:
    """Validates send_batch arguments: a list of values, optional parallel
    keys, headers (one set for all, see is_header_set, or a list of sets,
    one per message) and timestamp (one for all or a list). A per-record
    argument must be a sequence (list, tuple) with one item per message: a
    dict, a set or another unordered or one-shot collection is a TypeError
    naming the argument (a dict's keys or a set's order would silently pair
    the wrong items)."""
    check_messages(messages)
    try:
        values = list(messages)
    except TypeError:
        raise TypeError("messages must be a list of bytes, not %s" % type(messages).__name__) from None
    n = len(values)
    if n > _INT32_MAX:
        raise ValueError("too many messages in one batch")
    for i, v in enumerate(values):
        if not isinstance(v, bytes):
            if isinstance(v, (bytearray, memoryview)):
                values[i] = bytes(v)
            else:
                raise TypeError("messages[%d] must be bytes, bytearray or memoryview, not %s" % (i, type(v).__name__))

    def per_record(arg: Any, name: str, one_for_all: Tuple[type, ...]) -> Optional[List[Any]]:
        if arg is None or isinstance(arg, one_for_all + (bytes, str)):
            return None  # one value for every record (checked by its packer)
        if not isinstance(arg, Sequence):
            if isinstance(arg, Iterable):
                raise TypeError("%s must be one value for all messages or a list (one per message), not %s"
                                % (name, type(arg).__name__))
            return None  # e.g. a datetime: one value, checked by its packer
        items = list(arg)
        if len(items) != n:
            raise ValueError("%s has %d items for %d messages" % (name, len(items), n))
        return items

    key_list: List[Optional[bytes]]
    if keys is None:
        key_list = [None] * n
    else:
        if isinstance(keys, (bytes, bytearray, memoryview, str)):
            raise TypeError("keys must be a list of bytes (one per message), not a single %s" % type(keys).__name__)
        if not isinstance(keys, Sequence):
            raise TypeError("keys must be a list of keys (one per message), not %s" % type(keys).__name__)
        key_list = list(keys)
        if len(key_list) != n:
            raise ValueError("keys has %d items for %d messages" % (len(key_list), n))
        key_list = [optional_value(k, "keys[%d]" % i) for i, k in enumerate(key_list)]
    header_list = per_record(None if is_header_set(headers) else headers, "headers", (Mapping,))
    common_headers = _native.pack_headers(headers) if header_list is None else b""
    ts_list = per_record(timestamp, "timestamp", (int, float))
    common_ts = _native.timestamp_ms(timestamp) if ts_list is None else -1
    out = []
    for i in range(n):
        h = common_headers if header_list is None else _native.pack_headers(header_list[i])
        ts = common_ts if ts_list is None else _native.timestamp_ms(ts_list[i])
        out.append((key_list[i], values[i], ts, h))
    return out


def parse_batch_results(payload: bytes, count: int) -> Tuple[List[int], List[int], List[Tuple[int, GofkaError]]]:
    """Decodes a gofka_producer_produce_batch event payload into partitions,
    offsets and (index, error) for the failed records."""
    size = BATCH_RESULT.size * count
    partitions: List[int] = []
    offsets: List[int] = []
    failed_idx: List[Tuple[int, int]] = []
    pos = 0
    for i, (code, part, off) in enumerate(BATCH_RESULT.iter_unpack(payload[:size])):
        partitions.append(part)
        offsets.append(off)
        if code:
            failed_idx.append((i, code))
    failures: List[Tuple[int, GofkaError]] = []
    pos = size
    for i, code in failed_idx:
        (n,) = U32.unpack_from(payload, pos)
        pos += 4
        raw = payload[pos:pos + n]
        pos += n
        message, _, broker = raw.partition(b"\0")
        failures.append((i, error_from_code(code, message.decode("utf-8", "replace"),
                                            broker=broker.decode("utf-8", "replace") or None)))
    return partitions, offsets, failures


def batch_offsets(payload: bytes, count: int) -> Optional[List[int]]:
    """The offsets of a batch event whose records all succeeded (the payload
    is then exactly the results), read at C speed; None when some failed."""
    if len(payload) != BATCH_RESULT.size * count:
        return None
    return memoryview(payload).cast("q")[1::2].tolist()


def value_lengths(values: List[Any]) -> Optional[Any]:
    """The int32 lengths of ``values`` when every one is a byte string
    (exactly bytes: immutable, so that a chunk joined later sends what the
    caller passed), at C speed; else None (the caller then takes the
    general path, which converts bytearray / memoryview values and reports
    bad ones precisely)."""
    # Both at C speed, and through lists: about 40% faster than a set of
    # types and array.array("i", map(len, values)) (10,000 values: ~0.4 ms
    # against ~0.6 ms, as much as the old join of the whole batch cost).
    if list(map(type, values)).count(bytes) != len(values):
        return None
    try:
        return array.array("i", list(map(len, values)))
    except OverflowError:  # a value of 2 GiB or more: the general path reports it
        return None


def columnar(values: List[Any]) -> Optional[Tuple[Any, bytes]]:
    """(int32 lengths, values joined) of bytes-like values for
    gofka_producer_produce_values, built at C speed; None when a value is
    not a plain byte string (the caller then takes the general path, which
    also reports bad values precisely)."""
    try:
        lengths = array.array("i", map(len, values))
        blob = b"".join(values)
    except (TypeError, OverflowError):
        return None
    if len(blob) != sum(lengths):  # e.g. a memoryview of non-byte items
        return None
    return lengths, blob


#: Most bytes (counting REC_OVERHEAD per record) one library call of
#: send_batch carries: 1 MiB, or ProducerOptions.chunk_bytes (a quarter of
#: buffer_memory) when that is smaller. A chunk's payload is built only
#: when it is handed to the library (which copies it) and dropped as soon
#: as the library took it, so a call holds one chunk of joined values at a
#: time: with the whole batch joined up front, 8 threads each sending
#: 10,000 x 1 KiB held 80 MB of Python blobs on top of the engine's copy.
#: The size trades memory for CPU. The engine frees a call's copy of the
#: values only once all of that call's records are settled (smaller calls:
#: less held), but each call also starts new record batches on the wire
#: (one partition, linger_ms=0: ~2 produce requests per call). Measured on
#: Kafka 4.4, old and new alternated: 8 threads x 10,000 x 100 B peaked
#: at ~137 MB with 256 KiB calls, ~150 MB with 1 MiB and 8 MiB; one
#: thread sending 10,000 x 1 KiB per call to one partition took 1.36 us of
#: CPU per record with 8 MiB calls, 1.37 with 1 MiB, 1.60 with 256 KiB
#: (747 requests per 100 MB instead of 120; 1 MiB: 232).
BATCH_CHUNK_BYTES = 1 << 20


def value_runs(lengths: Any, limit: int) -> List[Tuple[int, int]]:
    """Splits values of these ``lengths`` (in order) into [start, end)
    runs of at most ``limit`` bytes counting REC_OVERHEAD per record (a run
    holds at least one record, even a larger one). Runs are sized from the
    values' average and checked (and shrunk) with slice sums, at C speed
    rather than a Python loop per record; with uneven sizes a run may come
    out shorter than it could be, never longer."""
    n = len(lengths)
    total = sum(lengths) + REC_OVERHEAD * n
    if total <= limit:
        return [(0, n)] if n else []
    per = max(1, limit * n // total)  # records per run at the average size
    out: List[Tuple[int, int]] = []
    start = 0
    while start < n:
        k = min(per, n - start)
        size = sum(lengths[start:start + k]) + REC_OVERHEAD * k
        if 2 * size <= limit and start + k < n:
            # Smaller values than the average here: try a longer run once.
            k = min(n - start, max(k + 1, k * limit // max(size, 1)))
            size = sum(lengths[start:start + k]) + REC_OVERHEAD * k
        while size > limit and k > 1:
            k = max(1, min(k - 1, k * limit // size))
            size = sum(lengths[start:start + k]) + REC_OVERHEAD * k
        out.append((start, start + k))
        start += k
    return out


def values_payload(values: List[bytes], lengths: Any, start: int, end: int) -> Tuple[Any, bytes]:
    """The columnar payload (lengths, values joined) of ``values[start:end]``
    (byte strings; ``lengths`` those of all ``values``)."""
    if start == 0 and end == len(values):
        return lengths, b"".join(values)
    return lengths[start:end], b"".join(values[start:end])


def records_payload(recs: List[Any], idxs: Sequence[int]) -> bytes:
    """The records at positions ``idxs`` of ``recs`` (as batch_records makes
    them), packed in the records format of gofka.h."""
    return pack_record_list([recs[i] for i in idxs])


def produce_values(handle: int, queue: int, token: int, topic: bytes, partition: int,
                   lengths: Any, blob: bytes, err: Any) -> int:
    """gofka_producer_produce_values on columnar values."""
    code: int = _native.lib.gofka_producer_produce_values(
        handle, queue, token, topic, partition, lengths.buffer_info()[0] if len(lengths) else None,
        blob, len(blob), len(lengths), byref(err))
    return code


# --------------------------------------------------------------------------
# Implicit close: at interpreter exit and on garbage collection
# --------------------------------------------------------------------------


def exit_timeout_option(value: Any) -> float:
    """``exit_timeout`` (seconds, >= 0; None = GOFKA_EXIT_TIMEOUT or
    DEFAULT_EXIT_TIMEOUT) -> float."""
    if value is None:
        env = os.environ.get(EXIT_TIMEOUT_ENV, "").strip()
        if not env:
            return DEFAULT_EXIT_TIMEOUT
        try:
            value = float(env)
        except ValueError:
            raise ValueError("%s must be a number of seconds, got %r" % (EXIT_TIMEOUT_ENV, env)) from None
        what = EXIT_TIMEOUT_ENV
    else:
        what = "exit_timeout"
    # None means "the default" here, not "no bound": inf is a ValueError.
    return float(check_time(what, value) or 0)


# Every producer (sync and async) not closed yet: the exit hook closes
# those of this process.
_open = OpenClients()
#: Puts a new producer (with ``_pid``, ``exit_timeout`` and
#: ``_close_at_exit(deadline)``) under the exit hook's watch;
#: unregister_open ends it.
register_open = _open.add
unregister_open = _open.discard


def report_undelivered(kind: str, count: int, why: str, bound: float) -> None:
    """Says that ``count`` records could not be delivered, on stderr and
    through the ``gofka.producer`` logger (once on stderr: without
    handlers, logging's last resort already writes there)."""
    msg = "gofka: %s %s with %d record(s) not delivered within %gs; they failed with CLIENT_CLOSED" % (
        kind, why, count, bound)
    try:
        if _log.hasHandlers():
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
    except Exception:  # stderr closed: the logger still has it
        pass
    _log.warning("%s", msg)


def report_failed(kind: str, why: str, count: int, first: Any) -> None:
    """Says that ``count`` records failed with an error nobody was told of
    (no callback / no awaiter), on stderr and the logger (see
    report_undelivered)."""
    msg = "gofka: %s %s: %d record(s) failed, first error: %s" % (kind, why, count, first)
    try:
        if _log.hasHandlers():
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
    except Exception:
        pass
    _log.warning("%s", msg)


def _close_at_exit() -> None:
    """The atexit hook: closes every producer this process created and did
    not close, each waiting at most its ``exit_timeout`` (counted from the
    start of the hook, so N producers take at most the largest bound).
    Producers inherited through fork() are left alone: their engine lives
    in the parent (touching it from the child would hang)."""
    pid = os.getpid()
    start = time.monotonic()
    for p in _open.alive():
        if getattr(p, "_pid", None) != pid:
            continue
        try:
            p._close_at_exit(start + p.exit_timeout)
        except BaseException:  # one producer must not keep the others open
            _log.exception("closing %r at exit failed", p)


atexit.register(_close_at_exit)


def chunk_records_py(pend: List[Any], limit: int,
                     max_records: int = sys.maxsize) -> List[Tuple[bytes, int, List[Any], Optional[List[Any]]]]:
    """Groups records (topic_b, partition, key, value, timestamp_ms,
    packed headers, size, ...) by (topic, partition) in order of first
    appearance (a new set of groups wherever the records switch between
    partition -1 and explicit partitions, so that records meeting on one
    partition keep their order) and splits each group where its records' sizes pass
    ``limit`` or their count ``max_records`` (a chunk holds at least one
    record). Returns (topic_b, partition, records, values) per chunk;
    values is the list of the records' values when no record of the chunk
    has a key, a timestamp or headers (the columnar path), else None."""
    if max_records < 1:
        raise ValueError("chunk_records: max_records must be positive")
    groups: Dict[Tuple[bytes, int, int], List[Any]] = {}
    # Records the engine places (-1) and records with an explicit partition
    # may meet on one partition: a new epoch at each switch between the two
    # keeps their order (groups go out in order of first appearance).
    epoch, prev_auto = 0, None
    for rec in pend:
        is_auto = rec[1] == -1
        if prev_auto is not None and is_auto != prev_auto:
            epoch += 1
        prev_auto = is_auto
        g = groups.get((rec[0], rec[1], epoch))
        if g is None:
            groups[(rec[0], rec[1], epoch)] = [rec]
        else:
            g.append(rec)
    out: List[Tuple[bytes, int, List[Any], Optional[List[Any]]]] = []
    for (topic_b, part, _), recs in groups.items():
        start, size = 0, 0
        bounds = []
        for i, rec in enumerate(recs):
            if i > start and (size + rec[6] > limit or i - start >= max_records):
                bounds.append((start, i))
                start, size = i, 0
            size += rec[6]
        bounds.append((start, len(recs)))
        for a, b in bounds:
            chunk = recs[a:b] if (a, b) != (0, len(recs)) else recs
            simple = all(r[2] is None and r[4] == -1 and not r[5] for r in chunk)
            out.append((topic_b, part, chunk, [r[3] for r in chunk] if simple else None))
    return out


chunk_records: Callable[..., List[Any]] = (
    _speedups.chunk_records if _speedups is not None else chunk_records_py)


def pack_pending(recs: List[Any]) -> bytes:
    """Packs pending produce() records in the records format of gofka.h."""
    parts: List[bytes] = []
    append = parts.append
    for r in recs:
        key, value, ts, headers = r[2], r[3], r[4], r[5]
        if key is None and value is not None:
            append(_NULL_KEY_VALUE_LEN(-1, len(value)))
            append(value)
        else:
            append(_NULL if key is None else _I32(len(key)) + key)
            if value is None:
                append(_NULL)
            else:
                append(_I32(len(value)))
                append(value)
        if headers:
            append(_TAIL(ts, len(headers)))
            append(headers)
        elif ts == -1:
            append(_TAIL_NOW)
        else:
            append(_TAIL(ts, 0))
    return b"".join(parts)


_NULL_KEY_VALUE_LEN = struct.Struct("<ii").pack


def compression(owner: Any) -> Optional[str]:
    """The codec given to the constructor (None: no compression), which
    every batch is compressed with. Read-only: it is fixed when the native
    producer is created, so assigning it raises AttributeError instead of
    being silently ignored."""
    codec: Optional[str] = owner._opts.compression
    return codec


#: ``compression`` of Producer and AsyncProducer (both hold ProducerOptions).
compression_property = property(compression)


# --------------------------------------------------------------------------
# ProducerBase
# --------------------------------------------------------------------------


class ProducerBase(HandleBase, ConnectedFlag, metaclass=abc.ABCMeta):
    """What Producer and AsyncProducer share: the options (ProducerOptions,
    validated once) and the attributes they show, the native handle (made
    by ``_open_handle`` once the subclass set up its state), the custom
    partitioner and its partition-count cache, ``compression``, the repr,
    and the shaping of arguments and results around the native calls
    (chunks of send_batch and of produce()/send(), their results, the
    transaction calls' arguments and deadlines, closing the engine and
    reporting what an implicit close leaves unheard). The subclasses
    differ in how they wait: Producer blocks its thread, AsyncProducer
    awaits on the event loop. Thread-safety: as HandleBase; the
    partition-count cache takes single dict operations (atomic under the
    GIL); the batch and chunk helpers touch only their arguments.
    """

    _kind = "producer"
    _public_name = "Producer"  # for repr

    def __init__(self, arguments: Mapping[str, Any]) -> None:
        """``arguments``: the subclass constructor's ``locals()`` (its
        options, ``exit_timeout``, ``partitioner`` and TLS/SASL keywords or
        ``security=``, validated here)."""
        super().__init__()
        self._pid = os.getpid()  # the process whose engine this is (fork: see _close_at_exit)
        self._security = security = client_security(arguments)
        self._on_stats = arguments.get("on_stats")
        self._stats_every = _stats.check_stats_options(arguments.get("stats_interval_ms", 0), self._on_stats)
        opts = options_from_arguments(arguments, security)
        self.exit_timeout = exit_timeout_option(arguments["exit_timeout"])
        partitioner = arguments["partitioner"]
        if partitioner is not None and not callable(partitioner):
            raise TypeError("partitioner must be callable, not %s" % type(partitioner).__name__)
        self._partitioner: Optional[Callable[[Optional[bytes], int, str], int]] = partitioner
        self._counts: Dict[str, Tuple[int, float]] = {}  # topic -> (partitions, when), for the partitioner
        self._opts = opts
        self.brokers = opts.brokers
        self.client_id = opts.client_id
        self.timeout = opts.timeout
        self.acks = opts.acks
        self.compression_level = opts.compression_level
        self.batch_size = opts.batch_size
        self.linger_ms = opts.linger_ms_arg
        self.max_in_flight = opts.max_in_flight
        self.enable_idempotence = opts.enable_idempotence
        self.retry_policy = opts.retry_policy
        self.delivery_timeout_ms = opts.delivery_timeout_ms_arg
        self.buffer_memory = opts.buffer_memory
        self.use_ssl = security.use_ssl
        self.security_protocol = security.security_protocol
        self._timeout_ms = opts.timeout_ms

    def _open_handle(self) -> None:
        """Creates the native producer (no I/O), starts the OAUTHBEARER
        refresh and puts the producer under the exit hook's watch: the
        last step of a constructor."""
        self._set_handle(new_producer_handle(self._opts))
        self._security.attach(self)
        register_open(self)
        self._stats_reporter = _stats.start_reporter(self, self._stats_every, self._on_stats, "producer")

    def stats(self) -> Dict[str, Any]:
        """A snapshot of the producer's statistics as a dict: counters,
        buffer use, per broker and per partition; fields in
        docs/statistics.md. Plain, also on AsyncProducer (not a coroutine):
        it never waits on the network, so it does not block an event loop.
        Raises GofkaError CLIENT_CLOSED once closed. The constructor
        keywords ``stats_interval_ms`` and ``on_stats`` report it
        periodically (see gofka._stats)."""
        return _stats.snapshot(self, _native.lib.gofka_producer_stats)

    @abc.abstractmethod
    def _implicit_close(self, why: str, deadline: float) -> None:
        """Closes a producer the application did not close by ``deadline``
        (time.monotonic()), reporting what was not delivered: Producer
        and AsyncProducer each close in their own way (an abstract method,
        so that a subclass without it cannot be made)."""

    def _close_at_exit(self, deadline: float) -> None:
        """The exit hook's close (see _close_at_exit of this module)."""
        self._implicit_close("open at interpreter exit", deadline)

    def _finalize(self) -> None:
        # The finalizer's close (_client.Finalized, which Producer and
        # AsyncProducer get from HandleOwner / AsyncHandleOwner). Unlike
        # the other clients' (a plain close), deliberately: it flushes
        # within exit_timeout rather than the close timeout, reports what
        # was not delivered (nobody can await it any more), and only in
        # the process that created the producer (a forked child must not
        # touch the parent's engine).
        if getattr(self, "_pid", None) != os.getpid() or not getattr(self, "_handle", 0):
            return
        self._implicit_close("garbage-collected without close()", time.monotonic() + self.exit_timeout)

    def __repr__(self) -> str:
        return "<gofka.%s brokers=%r client_id=%r%s>" % (
            self._public_name, self.brokers, self.client_id, " closed" if self.closed else "")

    compression = compression_property

    @property
    def partitioner(self) -> Optional[Callable[[Optional[bytes], int, str], int]]:
        """The custom partitioner, or None (may be replaced)."""
        return self._partitioner

    @partitioner.setter
    def partitioner(self, fn: Optional[Callable[[Optional[bytes], int, str], int]]) -> None:
        if fn is not None and not callable(fn):
            raise TypeError("partitioner must be callable, not %s" % type(fn).__name__)
        self._partitioner = fn
        self._partitioner_changed()

    def _partitioner_changed(self) -> None:
        """Hook: the subclass rebinds its fast send path."""

    def _cached_partition_count(self, topic: str) -> Optional[int]:
        """The partition count of ``topic`` read less than
        PARTITION_COUNT_TTL seconds ago, else None (then the subclass reads
        it, waiting its way, and calls _remember_partition_count)."""
        cached = self._counts.get(topic)
        if cached is not None and time.monotonic() - cached[1] < PARTITION_COUNT_TTL:
            return cached[0]
        return None

    def _remember_partition_count(self, topic: str, count: int, when: float) -> None:
        if len(self._counts) < 10000 or topic in self._counts:  # bounded: topics may be many
            self._counts[topic] = (count, when)

    def _custom_partition_of(self, topic: str, key: Optional[bytes], count: int) -> int:
        """The custom partitioner's (checked) partition of a record."""
        fn = self._partitioner
        assert fn is not None
        return check_custom_partition(fn(key, count, topic), count, topic)

    # -- around the native calls: what both twins send and read, each
    # waiting its own way (Producer blocks, AsyncProducer awaits) ----------

    @staticmethod
    def _produce_chunk(handle: int, queue: int, token: int, topic_b: bytes, partition: int, count: int,
                       payload: ChunkPayload, err: Any) -> int:
        """Hands one chunk of ``count`` records to the engine (its event
        goes to ``queue`` with ``token``): ``payload`` columnar (lengths,
        blob) through gofka_producer_produce_values, else the packed
        records through gofka_producer_produce_batch. The library's return
        code (ERR_QUEUE_FULL: no buffer room now, the caller waits its way
        and retries)."""
        if type(payload) is tuple:
            return produce_values(handle, queue, token, topic_b, partition, payload[0], payload[1], err)
        code: int = _native.lib.gofka_producer_produce_batch(
            handle, queue, token, topic_b, partition, payload, len(payload), count, byref(err))
        return code

    @staticmethod
    def _pending_chunks(pend: List[Any], limit: int,
                        max_records: int = sys.maxsize) -> Iterator[Tuple[bytes, int, List[Any], ChunkPayload]]:
        """The records of produce() / send() (as chunk_records takes them)
        cut into library calls of at most ``limit`` bytes and
        ``max_records`` records: (topic_b, partition, records, payload) per
        chunk, payload columnar where every record is a plain value, else
        packed (gofka.h records format). A generator: a chunk is packed
        when the caller is ready to send it."""
        for topic_b, part, recs, values in chunk_records(pend, limit, max_records):
            col = None if values is None else columnar(values)  # None for a null value
            yield topic_b, part, recs, (pack_pending(recs) if col is None else col)

    def _batch_plan(self, messages: Any, partition: Any, keys: Any, headers: Any,
                    timestamp: Any) -> Tuple[List[BatchChunk], Optional[List[Any]]]:
        """send_batch's arguments, validated and cut into library calls of
        at most ``chunk_bytes``: (chunks, None), each chunk (partition,
        input positions, payload), in order. With a custom partitioner to
        run (``partition`` not passed): ([], records); the caller then
        asks the partitioner for each record's partition, waiting its way
        for the partition count, and calls _batch_chunks_by_partition.
        A closed producer raises CLIENT_CLOSED, even for an empty batch."""
        self._get()
        if keys is None and headers is None and timestamp is None and (
                partition is not PARTITION_DEFAULT or self._partitioner is None):
            check_messages(messages)
            try:
                values: List[Any] = list(messages)
            except TypeError:
                raise TypeError("messages must be a list of bytes, not %s" % type(messages).__name__) from None
            if not values:
                return [], None
            lengths = value_lengths(values)
            if lengths is not None:  # plain byte strings: columnar, no packing
                if len(values) > _INT32_MAX:
                    raise ValueError("too many messages in one batch")
                part = 0 if partition is PARTITION_DEFAULT else resolve_partition(partition, 0)
                return [(part, range(a, b), partial(values_payload, values, lengths, a, b))
                        for a, b in value_runs(lengths, self._batch_chunk_bytes())], None
            messages = values  # batch_records converts or reports each value by its position
        recs = batch_records(messages, keys, headers, timestamp)
        if partition is PARTITION_DEFAULT and self._partitioner is not None:
            return [], recs
        chunks: List[BatchChunk] = []
        for run_part, lo, hi in partition_runs(partition, [r[0] for r in recs]):
            self._cut_records(recs, range(lo, hi), run_part, chunks)
        return chunks, None

    def _batch_chunk_bytes(self) -> int:
        """The most bytes of one send_batch library call (BATCH_CHUNK_BYTES,
        or chunk_bytes when buffer_memory is small)."""
        return min(self._opts.chunk_bytes, BATCH_CHUNK_BYTES)

    def _batch_chunks_by_partition(self, recs: List[Any], parts: List[int]) -> List[BatchChunk]:
        """send_batch's records with the partitions a custom partitioner
        chose (one per record), grouped by partition in order of first
        appearance (each keeps its records' order) and cut into chunks."""
        by_part: Dict[int, List[int]] = {}
        for i, p in enumerate(parts):
            idxs = by_part.get(p)
            if idxs is None:
                by_part[p] = [i]
            else:
                idxs.append(i)
        chunks: List[BatchChunk] = []
        for p, idxs in by_part.items():
            self._cut_records(recs, idxs, p, chunks)
        return chunks

    def _cut_records(self, recs: List[Any], idxs: Sequence[int], partition: int, out: List[BatchChunk]) -> None:
        """Appends to ``out`` the records at ``idxs`` (in that order) in
        chunks that stay within the bytes buffer.memory takes at once."""
        limit = self._batch_chunk_bytes()
        start, size = 0, 0
        for j, i in enumerate(idxs):
            rk, rv, _, rh = recs[i]
            n = REC_OVERHEAD + (len(rk) if rk else 0) + (len(rv) if rv else 0) + 2 * len(rh)
            if j > start and size + n > limit:
                piece = idxs[start:j]
                out.append((partition, piece, partial(records_payload, recs, piece)))
                start, size = j, 0
            size += n
        if start < len(idxs):
            piece = idxs[start:]
            out.append((partition, piece, partial(records_payload, recs, piece)))

    @staticmethod
    def _place_offsets(offsets: List[int], idxs: Sequence[int], payload: bytes) -> None:
        """Stores the offsets of one send_batch chunk's event (its records
        at input positions ``idxs``) into ``offsets``; raises the first
        failed record's error."""
        count = len(idxs)
        offs = batch_offsets(payload, count)
        if offs is None:
            _, offs, failures = parse_batch_results(payload, count)
            if failures:
                raise failures[0][1]
        if type(idxs) is range:
            offsets[idxs.start:idxs.stop] = offs
        else:
            for j, i in enumerate(idxs):
                offsets[i] = offs[j]

    @staticmethod
    def _batch_results(payload: bytes, count: int) -> Tuple[List[int], List[Tuple[int, GofkaError]]]:
        """The offsets of a batch event of ``count`` records, and (index,
        error) of its failed records (see parse_batch_results)."""
        _, offsets, failures = parse_batch_results(payload, count)
        return offsets, failures

    # Transactions: the arguments and deadlines of the calls (the twins
    # make the calls, each waiting its way).

    @staticmethod
    def _txn_deadline(timeout: Any) -> Optional[float]:
        """The time.monotonic() deadline of a transactional call's
        ``timeout`` (seconds; None = no deadline of its own: the engine
        bounds it by delivery.timeout.ms)."""
        checked = check_time("timeout", timeout, none_ok=True)
        return None if checked is None else time.monotonic() + checked

    @staticmethod
    def _txn_ms(deadline: Optional[float]) -> int:
        """The timeout_ms of a transactional C call made now: what is left
        until ``deadline``, -1 (delivery.timeout.ms) without one."""
        if deadline is None:
            return -1
        return _native.timeout_ms(max(0.0, deadline - time.monotonic()))

    @staticmethod
    def _send_offsets_args(offsets: Any, group_metadata: Any, timeout: Any) -> Tuple[bytes, int, bytes, int]:
        """The arguments of gofka_producer_send_offsets_to_transaction
        after the handle (see txn_offsets_arg), the timeout counted from
        now."""
        buf, md = txn_offsets_arg(offsets, group_metadata)
        return buf, len(buf), md, ProducerBase._txn_ms(ProducerBase._txn_deadline(timeout))

    @staticmethod
    def _aborts_after(exc: BaseException) -> bool:
        """Whether ``transaction()`` aborts after its block raised ``exc``:
        always, except after a TransactionFatalError (the producer can only
        be closed: an abort would fail the same way and hide nothing)."""
        return not isinstance(exc, TransactionFatalError)

    # Closing.

    def _release_handle(self) -> int:
        """Detaches the handle (ending the OAUTHBEARER refresh and the
        statistics reports) and ends the exit hook's watch; 0 when closed
        already. The caller closes the engine (_close_engine)."""
        handle = self._take_handle()
        if handle:
            unregister_open(self)
        return handle

    @staticmethod
    def _close_engine(handle: int, deadline: float) -> Tuple[int, Any]:
        """gofka_producer_close, waiting until ``deadline``
        (time.monotonic()) at most; its code and error. Blocks: the async
        producer runs it in an executor."""
        err = _native.new_error()
        ms = min(_INT32_MAX, max(0, int((deadline - time.monotonic()) * 1000)))
        code: int = _native.lib.gofka_producer_close(handle, ms, byref(err))
        return code, err

    _report_kind = "producer"  # how report_failed / report_undelivered name it

    def _report_unheard(self, why: str, failed: int, first: Any, undelivered: int) -> None:
        """Reports what an implicit close (exit hook, garbage collection)
        leaves nobody to tell: ``failed`` records that failed with an
        error (the first is ``first``) and ``undelivered`` records that
        had no result within exit_timeout."""
        if failed:
            report_failed(self._report_kind, why, failed, first)
        if undelivered:
            report_undelivered(self._report_kind, undelivered, why, self.exit_timeout)
