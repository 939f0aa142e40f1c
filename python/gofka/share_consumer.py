"""Synchronous share consumer (KIP-932 share groups, "queues for Kafka";
docs/share-groups.md).

The members of a share group read the same partitions together: the broker
hands each record to one member at a time under an acquisition lock, and
each record is acknowledged on its own (accept, release, reject). Options,
handle, subscribe() and acknowledge() are shared with AsyncShareConsumer
(_share_consumer_base.ShareConsumerBase).
"""

from __future__ import annotations

import time
from ctypes import byref, c_size_t, c_void_p
from typing import Callable, Iterator, List, Optional

from . import _native
from ._client import HandleOwner
from ._consumer_base import check_max_messages, check_poll_timeout
from ._share_consumer_base import AckResult, ShareConsumerBase, parse_ack_results
from .exceptions import GofkaError
from .message import Message

__all__ = ["ShareConsumer", "AckResult"]


class ShareConsumer(ShareConsumerBase, HandleOwner):
    """A member of a share group.

    Arguments:
        brokers: "host:port[,host:port...]".
        group_id: the share group (required).
        topics: the topics read (the first poll subscribes to them), or
            None to call subscribe(topics) yourself.
        client_id: default "gofka-python-share-consumer-<random>".
        timeout: seconds bounding connects, requests, commit() and close().
        acknowledgement_mode: ``"implicit"`` (default: the next poll,
            commit() or close() accepts every record of the previous poll;
            acknowledge() is refused) or ``"explicit"`` (acknowledge every
            record; a poll while one of the previous poll is unacknowledged
            raises ConsumeValueError). Property share.acknowledgement.mode.
        max_poll_records: the engine's max.poll.records (default 500).
        fetch_max_wait_ms: how long a share fetch waits on the broker.
        config: further Kafka properties (docs/configuration.md).
        TLS/SASL: the keywords of every client, or ``security=``.

    Where a new group starts is the group's ``share.auto.offset.reset``
    (latest by default; set it with AdminClient to read what is there).
    ``with`` closes on exit. Iterating (``for message in consumer``) polls
    and yields the messages one by one until close(). Thread-safe: polls,
    commits and close run one at a time; acknowledge() from any thread.
    """

    def poll(self, max_messages: int = 1, timeout: Optional[float] = 1.0) -> List[Message]:
        """Returns up to ``max_messages`` records, waiting up to
        ``timeout`` seconds (None: until some arrive) for them; ``[]`` on
        timeout. Each has ``delivery_count`` (1 the first time). Records
        already acquired come first (the engine fetches ahead: a poll that
        empties its buffer sends the next share fetch before returning).
        The queued acknowledgements (implicit mode: the previous poll's
        records, accepted) go with the next share fetch, or alone while
        records are buffered. The wait is sliced so that Ctrl-C
        interrupts it; records acquired meanwhile stay for the next poll.
        The first poll subscribes to ``topics``."""
        max_messages = check_max_messages(max_messages)
        timeout = check_poll_timeout(timeout)
        self._subscribe_if_needed()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            msgs = self._poll_native(max_messages, _native.slice_ms(deadline))
            if msgs or (deadline is not None and time.monotonic() >= deadline):
                return msgs

    def __iter__(self) -> Iterator[Message]:
        """Yields messages one by one (polled ``max_poll_records`` at a
        time in the explicit mode; one at a time in the implicit mode,
        since a poll accepts every message of the previous one) until
        close()."""
        batch = self.max_poll_records if self.acknowledgement_mode == "explicit" else 1
        while not self.closed:
            try:
                msgs = self.poll(batch, None)
            except GofkaError as exc:
                if self.closed and exc.code in (_native.ERR_CLIENT_CLOSED, _native.ERR_INVALID_HANDLE):
                    return
                raise
            yield from msgs

    def commit(self) -> List[AckResult]:
        """Sends the queued acknowledgements now (implicit mode: after
        accepting the last poll's records) and returns their outcomes,
        waiting up to ``timeout``. TIMED_OUT when the brokers do not answer
        in time (what was sent is still applied by the broker)."""
        out = c_void_p()
        length = c_size_t()
        err = _native.new_error()
        code = _native.lib.gofka_share_consumer_commit(self._get(), self._timeout_ms, byref(out), byref(length),
                                                       byref(err))
        if code != _native.OK:
            raise self._failure(code, err)
        return parse_ack_results(_native.take_buffer(out, length))

    def close(self) -> None:
        """Sends the queued acknowledgements (implicit mode: accepting the
        last poll's records; explicit mode: releasing those not
        acknowledged, so that other members get them at once), closes the
        share sessions and leaves the group, within ``timeout``.
        Idempotent."""
        handle = self._detach()
        if handle:
            err = _native.new_error()
            _native.check(_native.lib.gofka_share_consumer_close(handle, self._timeout_ms, byref(err)), err)
