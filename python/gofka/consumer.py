"""Synchronous consumer.

The engine does the work in the background: fetchers per broker prefetch
records, group membership (joins, heartbeats, KIP-848 reconciliation) and
auto-commits run without Python's help. ``poll`` crosses into the library
once and gets one packed buffer (gofka.h, "messages" format) holding every
record and rebalance event of the call (unpacked by _consumer_base).
Rebalance callbacks (``on_assign``, ``on_revoke``, ``on_lost``) run in the
thread that polls, inside ``poll``, before its messages are returned;
never on a library thread. Options, handle and the methods that do not
wait are shared with AsyncConsumer (_consumer_base.ConsumerBase).
"""

from __future__ import annotations

import time
from ctypes import byref
from typing import Any, Dict, Iterable, List, Optional

from . import _native
from ._client import HandleOwner
from ._consumer_base import (  # noqa: F401  (the names of the original module stay importable from here)
    ASSIGNMENT_STRATEGIES,
    AUTO_OFFSET_RESET,
    CONSUMER_KEYWORDS,
    GROUP_PROTOCOLS,
    ISOLATION_LEVELS,
    OFFSET_BEGINNING,
    OFFSET_END,
    ConsumerBase,
    ConsumerKeywords,
    ConsumerOptions,
    Events,
    GroupMetadata,
    OffsetAndTimestamp,
    TopicPartition,
    check_max_messages,
    check_poll_timeout,
    commit_args,
    pack_offsets,
    parse_poll,
    poll_native,
    run_callbacks,
    own_revocation,
    unregister_open,
)
from ._keywords import Unpack, takes_keywords
from .exceptions import ConsumeError, GofkaError, argument_errors
from .message import Message

__all__ = [
    "Consumer",
    "TopicPartition",
    "GroupMetadata",
    "OffsetAndTimestamp",
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "AUTO_OFFSET_RESET",
    "GROUP_PROTOCOLS",
    "ASSIGNMENT_STRATEGIES",
    "ISOLATION_LEVELS",
]


class Consumer(ConsumerBase, HandleOwner):
    """A synchronous Kafka consumer.

    Args:
        brokers: comma-separated bootstrap brokers.
        group_id: consumer group id; None for a consumer that only uses
            ``assign()`` (it cannot subscribe or commit).
        topics: topics to subscribe to; None with ``pattern`` or for
            ``assign()``. An empty list is a ValueError. The first
            ``poll()`` subscribes to them (or to ``pattern``) when neither
            ``subscribe()`` nor ``assign()`` was called before (nor
            ``unsubscribe()``); ``subscribe()`` first instead waits for the
            group's first assignment. Without a group_id that poll raises
            ValueError, as subscribe() does: use ``assign()``.
        client_id: client identifier (a unique one is generated if None).
        auto_commit: commit automatically: every ``auto_commit_interval_ms``
            the positions of the records returned by all but the latest
            ``poll`` (at-least-once), again before partitions are revoked,
            and everything returned on ``close``.
        auto_offset_reset: where a partition without a committed offset (or
            with an out-of-range one) starts: "earliest", "latest" or "none"
            (``poll`` then raises OffsetError (NO_OFFSET /
            OFFSET_OUT_OF_RANGE) until you ``seek`` it).
        session_timeout: group session timeout in ms (classic protocol).
        timeout: connection and request timeout in seconds; also bounds
            ``subscribe``, ``commit`` and ``close``.

    Invalid arguments raise ConsumeValueError / ConsumeTypeError (a
    ConsumeError that is also a ValueError / TypeError).

    Keyword-only options: ``group_protocol`` ("classic" or "consumer", the
    KIP-848 protocol of Kafka 4), ``partition_assignment_strategy``
    ("cooperative-sticky" (default), "range", "roundrobin" or a list,
    classic only), ``group_remote_assignor`` (consumer protocol),
    ``group_instance_id`` (static membership), ``isolation_level``
    ("read_uncommitted" or "read_committed"), ``max_poll_interval_ms``,
    ``heartbeat_interval_ms``, ``auto_commit_interval_ms``, ``pattern`` (a
    regular expression subscribing to every matching topic),
    ``fetch_min_bytes``, ``fetch_max_bytes``, ``max_partition_fetch_bytes``,
    ``queued_max_messages_kbytes`` (the bound, in KiB, of the records
    fetched ahead of ``poll``; default 4096, see docs/configuration.md),
    ``fetch_max_wait_ms``, ``max_poll_records``, ``metadata_max_age_ms``,
    ``client_rack``. The names of the enumerated options (and of
    ``auto_offset_reset``) are those of their Kafka property, in any case
    (the attributes show the lower-case spelling), as docs/configuration.md
    lists them. ``on_assign`` / ``on_revoke`` / ``on_lost`` (called
    with a list of TopicPartition, in the polling thread, inside ``poll``;
    with ``on_revoke`` the group waits for your next ``poll`` before it
    takes the partitions, so the callback may commit; lost partitions go to
    ``on_lost``, else to ``on_revoke``), ``connection_pool``, the TLS/SASL
    options of :class:`gofka.Producer` (``use_ssl`` etc., or ``security``, a
    :class:`gofka.SecuritySettings`), and ``config``
    (a dict of further Kafka property names, e.g. ``{"client.rack": "a"}``).

    Committing a message of a partition no longer assigned (a rebalance
    took it) raises GroupCoordinationError (NOT_ASSIGNED) and commits
    nothing, since the new owner's progress must not be overwritten.

    Statistics: ``stats()`` returns a snapshot dict (docs/statistics.md).
    With the keywords ``stats_interval_ms`` (default 0 = off) and
    ``on_stats``, the client calls ``on_stats(stats_dict)`` every interval
    in a daemon thread of its own; see gofka._stats.
    """

    @takes_keywords(CONSUMER_KEYWORDS)
    @argument_errors(ConsumeError)  # invalid arguments: ConsumeValueError / ConsumeTypeError
    def __init__(
        self,
        brokers: str,
        group_id: Optional[str],
        topics: Optional[List[str]],
        client_id: Optional[str] = None,
        auto_commit: bool = True,
        auto_offset_reset: str = "earliest",
        session_timeout: int = 30000,
        timeout: int = 30,
        *,
        max_poll_records: int = 500,
        use_ssl: bool = False,
        **keywords: Unpack[ConsumerKeywords],
    ) -> None:
        # the constructor's arguments with the keywords it shares with AsyncConsumer (defaults filled in)
        arguments = CONSUMER_KEYWORDS.arguments("Consumer", locals(), keywords)
        super().__init__(arguments)  # options, security= or the TLS/SASL keywords, statistics: ConsumerBase

    def connect(self) -> None:
        """Connects to the cluster now (optional). Raises ConnectionError
        when no broker answers within ``timeout``."""
        self._call(_native.lib.gofka_consumer_connect, self._timeout_ms)
        self._connected = True


    def subscribe(self) -> None:
        """Joins the consumer group subscribed to ``topics`` (or
        ``pattern``) and returns once the first assignment arrived. Raises
        GroupCoordinationError when the group cannot be joined within
        ``timeout`` (membership keeps being retried in the background). A
        topic that does not exist yet is assigned once it is created
        (within a heartbeat interval or so). Calling it again once joined
        returns at once (after the implicit subscribe of a poll it waits
        for the group). Optional: the first ``poll()`` subscribes by
        itself."""
        args = self._subscribe_plan()
        if args is None:
            return
        try:
            self._call(_native.lib.gofka_consumer_subscribe, *args)
        except GofkaError as exc:
            self._sub.explicit_done(exc)
            raise
        self._sub.explicit_done(None)

    def unsubscribe(self) -> None:
        """Leaves the group (revoking every partition, committing first with
        auto-commit); ``subscribe()`` or ``assign()`` may follow (polls do
        not subscribe again by themselves). With ``on_revoke`` it is first
        called with the current assignment, in this thread, while the
        partitions are still assigned (so a ``commit()`` there commits them);
        no revocation follows on a later ``poll``."""
        self._run_revoke_callback()
        self._sub.cleared()
        self._call(_native.lib.gofka_consumer_unsubscribe, self._timeout_ms)

    def _run_revoke_callback(self) -> None:
        """Calls ``on_revoke`` for the revocation the application makes
        itself (unsubscribe, close); see own_revocation."""
        current = own_revocation(self, self._opts)
        if current:
            self._opts.on_revoke(current)

    def poll(self, max_messages: int = 1, timeout: Optional[float] = 1.0) -> List[Message]:
        """Returns up to ``max_messages`` messages, waiting up to ``timeout``
        seconds (None: until one arrives) for the first; ``[]`` on timeout.

        Rebalance callbacks of the events that came with the messages run
        first, in this thread. Errors the engine met since the last poll
        (e.g. OffsetError NO_OFFSET) are raised once; among them
        ConnectionError ALL_BROKERS_DOWN, once per outage, when no broker
        has been reachable for ``connect.timeout.ms`` (30 s by default; the
        consumer keeps trying, and later polls return records once a broker
        is back). The first poll of a
        consumer given ``topics`` (or ``pattern``) subscribes to them when
        neither ``subscribe()`` nor ``assign()`` came first; its records
        come once the group assigned partitions (within ``timeout``, or a
        later poll).
        """
        max_messages = check_max_messages(max_messages)
        timeout = check_poll_timeout(timeout)
        self._sub.subscribe_if_pending(self, self._opts)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            msgs, events = poll_native(self, max_messages, _native.slice_ms(deadline))
            if events:
                msgs = self._dispatch(events, msgs)
            if msgs:
                return msgs
            if deadline is not None and time.monotonic() >= deadline:
                return []

    def _dispatch(self, events: Events, msgs: List[Message]) -> List[Message]:
        """Runs the rebalance callbacks of events and returns the messages
        to hand out: none when messages came with the events. Those are
        given back first (their partitions sought back to them; a later
        poll reads them again): a callback may close the consumer, commit
        or poll, and none of that may count messages the application was
        not given (a close inside on_assign committed them, and the poll
        then returned them on a closed consumer)."""
        if msgs:
            self._rewind(msgs)
        run_callbacks(self._opts, events)
        return []

    def commit(self, message: Optional[Message] = None) -> None:
        """Commits ``message.offset + 1`` for the message's partition, or
        (no message) the position after the last message polled of every
        assigned partition. Blocks until the coordinator accepts (up to
        ``timeout``). A message of a partition no longer assigned raises
        GroupCoordinationError (NOT_ASSIGNED).

        Safe to call from several threads: calls made while a commit is
        in flight share the next request (per partition the latest call's
        offset wins); each returns once its offsets are committed, or
        raises the error of its own partitions. A TIMED_OUT error means
        the offsets may still be committed (docs/api.md, "Commits")."""
        buf, all_flag = commit_args(message)
        self._call(_native.lib.gofka_consumer_commit, buf, len(buf) if buf else 0, all_flag, self._timeout_ms)

    def position(self, topic: str, partition: int) -> int:
        """The offset of the next message poll returns for an assigned
        partition (waits up to ``timeout`` while it is looked up)."""
        args, convert = self._position_plan(topic, partition)
        return convert(self._call_returning_buffer(_native.lib.gofka_consumer_position, *args))

    def committed(self, partitions: Iterable[Any]) -> Dict[TopicPartition, Optional[int]]:
        """The group's committed offsets (None where nothing is committed)."""
        args, convert = self._committed_plan(partitions)
        return convert(self._call_returning_buffer(_native.lib.gofka_consumer_committed, *args))

    def offsets_for_times(self, timestamps: Dict[Any, float]) -> Dict[TopicPartition, Optional[OffsetAndTimestamp]]:
        """For each (topic, partition) -> time (seconds since the epoch), the
        earliest offset whose record timestamp is at or after it, with that
        timestamp; None when no record is that recent."""
        args, convert = self._times_plan(timestamps)
        return convert(self._call_returning_buffer(_native.lib.gofka_consumer_offsets_for_times, *args))

    def close(self) -> None:
        """Commits what was polled (with auto-commit), leaves the group and
        closes the connections. With ``on_revoke`` it is first called with
        the current assignment, in this thread; if it raises, the consumer
        is closed all the same and its exception propagates. Idempotent.

        A consumer never closed is closed when it is garbage-collected or,
        at the latest, when the interpreter exits (atexit), within
        ``timeout``, the same way but without rebalance callbacks; a
        failure there (e.g. the commit could not be made) is logged on the
        ``gofka.consumer`` logger and stderr. Nothing is committed when
        the process is killed (SIGKILL, SIGTERM without a handler, a
        crash): the group then revokes the member after its session
        timeout, and the next owner reads from the last commit."""
        if self.closed:
            return
        try:
            self._run_revoke_callback()
        finally:
            # Also when on_revoke raised (even SystemExit): the consumer
            # is closed, and what poll returned committed, either way.
            handle = self._take_handle()
            unregister_open(self)
            if handle:
                err = _native.new_error()
                _native.check(_native.lib.gofka_consumer_close(handle, self._timeout_ms, byref(err)), err)
