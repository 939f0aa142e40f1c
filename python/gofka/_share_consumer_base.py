"""What ShareConsumer and AsyncShareConsumer share: options and their
validation, the packed formats (gofka.h, "Share consumer"), and
ShareConsumerBase (handle ownership, subscribe and acknowledge, which never
wait, and the plans of the calls that do).

A share consumer is a member of a share group (KIP-932, Apache Kafka 4.2+;
docs/share-groups.md): the members read the same partitions together and
the broker hands each record to one member at a time. The engine
(core.ShareConsumer) makes every decision: the acknowledgement modes, what
a poll, commit or close sends. A poll's buffer is the consumer's messages
format followed by one int32 delivery count per message, decoded here with
the consumer's decoder (so ``Message.delivery_count`` is set).
"""

from __future__ import annotations

import atexit
import os
import struct
from ctypes import byref, c_int32, c_size_t, c_void_p
from typing import Any, Dict, List, Mapping, NamedTuple, Optional

from . import _native
from ._client import HandleBase, OpenClients, check_choice, check_setting, check_setting_ms, merge_config, validate_brokers, \
    validate_client_id, validate_timeout
from ._consumer_base import parse_poll, read_topic_entries
from ._keywords import KeywordGroup, Unpack, takes_keywords
from ._ranges import CHOICES
from ._security import SECURITY_KEYWORDS, SecurityKeywords, client_security
from .exceptions import ConsumeError, ConsumeValueError, GofkaError, argument_errors, error_from_code
from .message import Message

__all__ = ["AckResult", "ShareConsumerBase", "ACKNOWLEDGE_TYPES", "ACKNOWLEDGEMENT_MODES"]

#: acknowledge() types -> their code (gofka.h GOFKA_ACK_*).
ACKNOWLEDGE_TYPES = {"accept": 1, "release": 2, "reject": 3}
_TYPE_NAMES = {code: name for name, code in ACKNOWLEDGE_TYPES.items()}
#: Values of ``acknowledgement_mode`` (share.acknowledgement.mode).
ACKNOWLEDGEMENT_MODES = CHOICES["share.acknowledgement.mode"].values  # core/choices.go

_I32 = struct.Struct("<i")
_ACK_TAIL = struct.Struct("<iqii")  # partition, offset, type, code


class AckResult(NamedTuple):
    """The outcome of one acknowledgement, as the broker answered it
    (commit()'s result): ``error`` is None when it was applied, else the
    GofkaError (e.g. INVALID_RECORD_STATE when the record's lock had
    ended); the broker then delivers the record again."""

    topic: str
    partition: int
    offset: int
    type: str
    error: Optional[GofkaError]


def parse_share_poll(buf: bytes) -> List[Message]:
    """The Messages of a share messages buffer, delivery_count set."""
    msgs, _ = parse_poll(buf)
    base = len(buf) - 4 * len(msgs)
    for i, (count,) in enumerate(_I32.iter_unpack(buf[base:])):
        msgs[i].delivery_count = count
    return msgs


def parse_ack_results(buf: bytes) -> List[AckResult]:
    """The ack results format of gofka.h -> AckResults."""
    out = []
    for topic, (partition, offset, typ, code) in read_topic_entries(buf, _ACK_TAIL):
        err = None if code == _native.OK else error_from_code(code, "acknowledgement of %s/%d offset %d failed" % (
            topic, partition, offset))
        out.append(AckResult(topic, partition, offset, _TYPE_NAMES.get(typ, str(typ)), err))
    return out


def as_consume_error(exc: GofkaError) -> GofkaError:
    """An INVALID_ARGUMENT of the engine (a record acknowledged twice or
    not delivered, a poll refused in the explicit mode) as
    ConsumeValueError, the class of the consumers' argument errors (also a
    ValueError); others unchanged."""
    if exc.code == _native.ERR_INVALID_ARGUMENT and not isinstance(exc, ConsumeValueError):
        return ConsumeValueError(exc.message, exc.code, exc.name, exc.retriable, exc.broker, exc.description)
    return exc


class ShareConsumerOptions(object):
    """Validated share consumer arguments and the configuration they make."""

    def __init__(self, arguments: Mapping[str, Any]) -> None:
        self.brokers = validate_brokers(arguments["brokers"])
        group_id = arguments["group_id"]
        if not isinstance(group_id, str):
            raise TypeError("group_id must be str, not %s" % type(group_id).__name__)
        if not group_id:
            raise ValueError("group_id must not be empty: a share consumer needs its share group")
        self.group_id = group_id
        self.topics = check_topics(arguments["topics"], none_ok=True)
        client_id = arguments["client_id"]
        if client_id is None:
            client_id = "gofka-python-share-consumer-%s" % os.urandom(6).hex()
        self.client_id = validate_client_id(client_id)
        self.timeout = validate_timeout(arguments["timeout"])
        self.timeout_ms = max(1, _native.timeout_ms(self.timeout))
        self.acknowledgement_mode = mode = check_choice("acknowledgement_mode", arguments["acknowledgement_mode"],
                                                        "share.acknowledgement.mode")
        self.max_poll_records = check_setting("max_poll_records", arguments["max_poll_records"], "max.poll.records")
        fetch_max_wait_ms = arguments["fetch_max_wait_ms"]
        if fetch_max_wait_ms is not None:
            fetch_max_wait_ms = check_setting_ms("fetch_max_wait_ms", fetch_max_wait_ms, "fetch.max.wait.ms")
        cfg: Dict[str, Any] = {
            "bootstrap.servers": self.brokers,
            "client.id": self.client_id,
            "connect.timeout.ms": self.timeout_ms,
            "request.timeout.ms": self.timeout_ms,
            "group.id": group_id,
            "share.acknowledgement.mode": mode,
            "max.poll.records": self.max_poll_records,
            "fetch.max.wait.ms": fetch_max_wait_ms,
        }
        cfg.update(arguments["_security"].config())  # TLS / SASL keys (gofka._security)
        # acknowledge() and the iterator follow the mode: it is set here only.
        merge_config(cfg, arguments["config"], {"share.acknowledgement.mode": "acknowledgement_mode",
                                                "group.id": "group_id"})
        self.config = _native.encode_config(cfg)


def check_topics(topics: Any, none_ok: bool = False) -> Optional[List[str]]:
    """A list of topic names (None when none_ok): TypeError/ValueError."""
    if topics is None and none_ok:
        return None
    if isinstance(topics, (str, bytes)) or not isinstance(topics, (list, tuple, set, frozenset)):
        raise TypeError("topics must be a list of topic names, not %s" % type(topics).__name__)
    names = list(topics)
    if not names:
        raise ValueError("topics must not be empty")
    for t in names:
        if not isinstance(t, str):
            raise TypeError("topic names must be str, not %s" % type(t).__name__)
        if not t or "\n" in t or "\0" in t:
            raise ValueError("invalid topic name %r" % (t,))
    return names


# Share consumers not closed yet: the exit hook closes those of this
# process (as for consumers, so that their records are released at once
# rather than when their locks end).
_open = OpenClients()


class ShareConsumerKeywords(SecurityKeywords, total=False):
    """The keyword-only arguments of ShareConsumer and AsyncShareConsumer
    (documented on ShareConsumer), with the TLS/SASL ones: ``**keywords:
    Unpack[ShareConsumerKeywords]`` in both constructors (``use_ssl``
    stays in the signatures, as in every client's). Defaults:
    SHARE_CONSUMER_KEYWORDS."""

    acknowledgement_mode: str
    max_poll_records: int
    fetch_max_wait_ms: Optional[int]
    config: Optional[Dict[str, Any]]


#: ShareConsumerKeywords with their defaults (None unless named).
SHARE_CONSUMER_KEYWORDS: KeywordGroup = KeywordGroup(
    ShareConsumerKeywords, SECURITY_KEYWORDS, acknowledgement_mode="implicit", max_poll_records=500)


class ShareConsumerBase(HandleBase):
    """What ShareConsumer and AsyncShareConsumer share: the options, the
    handle, subscribe() and acknowledge() (neither waits), and the close
    of a consumer the application did not close. Thread-safety: as
    HandleBase; polls, commits and close run one at a time in the engine,
    acknowledge() alongside them."""

    _kind = "share consumer"
    _public_name = "ShareConsumer"

    @takes_keywords(SHARE_CONSUMER_KEYWORDS)
    @argument_errors(ConsumeError)  # invalid arguments: ConsumeValueError / ConsumeTypeError
    def __init__(
        self,
        brokers: str,
        group_id: str,
        topics: Optional[List[str]] = None,
        client_id: Optional[str] = None,
        timeout: float = 30,
        *,
        use_ssl: bool = False,
        **keywords: Unpack[ShareConsumerKeywords],
    ) -> None:
        """The constructor of both share consumers (the twins take the same
        arguments: see ShareConsumer)."""
        self._init_own_state()
        # the arguments with every keyword of the group (defaults filled in)
        arguments = SHARE_CONSUMER_KEYWORDS.arguments(self._public_name, locals(), keywords)
        super().__init__()
        self._security = security = client_security(arguments)
        opts = ShareConsumerOptions(dict(arguments, _security=security))
        self._opts = opts
        self.brokers = opts.brokers
        self.group_id = opts.group_id
        self.topics = opts.topics
        self.client_id = opts.client_id
        self.timeout = opts.timeout
        self.acknowledgement_mode = opts.acknowledgement_mode
        self.max_poll_records = opts.max_poll_records
        self._timeout_ms = opts.timeout_ms
        self._subscribed = False
        self._pid = os.getpid()
        handle = _native.gofka_handle_t()
        err = _native.new_error()
        _native.check(_native.lib.gofka_share_consumer_new(opts.config, byref(handle), byref(err)), err)
        self._set_handle(handle.value)
        _open.add(self)
        security.attach(self)

    def _init_own_state(self) -> None:
        """Hook: a subclass sets up its own attributes here, first thing in
        the constructor (before anything can fail). None by default."""

    def __repr__(self) -> str:
        return "<gofka.%s brokers=%r group_id=%r topics=%r%s>" % (
            self._public_name, self.brokers, self.group_id, self.topics, " closed" if self.closed else "")

    @property
    def subscribed(self) -> bool:
        """True from subscribe() (or the first poll's implicit one) to close."""
        return self._subscribed and not self.closed

    def subscribe(self, topics: Optional[List[str]] = None) -> None:
        """Sets the topics read (``topics``, else the constructor's),
        replacing the previous subscription, and starts the membership,
        which runs in the background until close(). Never blocks: records
        come once the group is joined (a poll waits for them). The first
        poll subscribes to the constructor's topics by itself."""
        names = check_topics(topics, none_ok=True)
        if names is None:
            names = self.topics
        if names is None:
            self._get()  # a closed consumer raises CLIENT_CLOSED first
            raise ValueError("no topics: pass topics to subscribe() or to the constructor")
        self._call(_native.lib.gofka_share_consumer_subscribe, "\n".join(names).encode("utf-8"))
        self.topics = names
        self._subscribed = True

    def _subscribe_if_needed(self) -> None:
        if not self._subscribed and self.topics is not None:
            self.subscribe()

    def acknowledge(self, message: Message, type: str = "accept") -> None:
        """Acknowledges ``message``, a record a poll returned, in the
        explicit mode: ``"accept"`` (processed: never delivered again),
        ``"release"`` (delivered again, to any member, with
        ``delivery_count`` + 1) or ``"reject"`` (archived, never delivered
        again). Queued, sent with the next poll, commit() or close();
        never blocks. A message acknowledged twice, one this consumer did
        not deliver, or the implicit mode raise ConsumeValueError
        (INVALID_ARGUMENT); after close, CLIENT_CLOSED. A non-Message or
        an unknown type: TypeError / ValueError."""
        if not isinstance(message, Message):
            raise TypeError("message must be a gofka.Message, not %s" % type_name(message))
        if not isinstance(type, str):
            raise TypeError("type must be str, not %s" % type_name(type))
        code = ACKNOWLEDGE_TYPES.get(type)
        if code is None:
            raise ValueError("type must be one of %s, got %r" % (", ".join(ACKNOWLEDGE_TYPES), type))
        if not isinstance(message.topic, str) or isinstance(message.partition, bool) or \
                not isinstance(message.partition, int) or not isinstance(message.offset, int):
            raise TypeError("message must have a str topic and int partition and offset")
        if not 0 <= message.partition <= _native.INT32_MAX or not 0 <= message.offset <= _native.INT64_MAX:
            raise ValueError("message partition/offset out of range")
        try:
            self._call(_native.lib.gofka_share_consumer_acknowledge, message.topic.encode("utf-8"),
                       message.partition, message.offset, code)
        except GofkaError as exc:
            raise as_consume_error(exc) from None

    # -- the calls that wait --------------------------------------------------

    def _poll_native(self, max_messages: int, wait_ms: int) -> List[Message]:
        """One blocking gofka_share_consumer_poll of up to wait_ms."""
        out = c_void_p()
        length = c_size_t()
        count = c_int32()
        err = _native.new_error()
        code = _native.lib.gofka_share_consumer_poll(self._get(), max_messages, wait_ms, byref(out), byref(length),
                                                     byref(count), byref(err))
        if code != _native.OK:
            if out.value:
                _native.lib.gofka_free(out.value)
            raise as_consume_error(self._failure(code, err))
        if not out.value:
            return []
        return parse_share_poll(_native.take_buffer(out, length))

    # -- closing ------------------------------------------------------------------

    def _detach(self) -> int:
        """Takes the handle for close (0 when closed already)."""
        handle = self._take_handle()
        _open.discard(self)
        return handle

    def _close_implicitly(self) -> None:
        """Closes a consumer the application did not close (exit hook,
        garbage collection), synchronously, within ``timeout``: the engine
        settles what was polled (implicit mode: accepted; explicit mode:
        the unacknowledged released). Only in the process that created it.
        A failure is only logged: nobody else can hear of it."""
        if getattr(self, "_pid", None) != os.getpid() or not getattr(self, "_handle", 0):
            return
        handle = self._detach()
        if handle:
            err = _native.new_error()
            _native.lib.gofka_share_consumer_close(handle, self._timeout_ms, byref(err))

    def _finalize(self) -> None:
        # The finalizer's close (_client.Finalized, which ShareConsumer
        # gets from HandleOwner and AsyncShareConsumer directly).
        self._close_implicitly()


def type_name(value: Any) -> str:
    return type(value).__name__


def close_open_share_consumers() -> None:
    """The exit hook: closes the share consumers of this process."""
    for c in _open.alive():
        try:
            c._close_implicitly()
        except BaseException:
            pass


atexit.register(close_open_share_consumers)
