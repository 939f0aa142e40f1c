"""Synchronous admin client."""

from __future__ import annotations

import json
from ctypes import byref
from typing import List

from . import _native
from ._client import HandleOwner, validate_brokers, validate_client_id, validate_timeout

__all__ = ["AdminClient"]


class AdminClient(HandleOwner):
    """Cluster administration (topics, brokers, metadata).

    Args:
        brokers: comma-separated bootstrap brokers.
        client_id: client identifier sent to the brokers.
        timeout: connection and request timeout in seconds.

    The native client is created in the constructor, without network I/O;
    each method connects on demand.
    """

    _kind = "admin client"

    def __init__(self, brokers: str, client_id: str = "gofka-python-admin", timeout: int = 30) -> None:
        super().__init__()
        self.brokers = validate_brokers(brokers)
        self.client_id = validate_client_id(client_id)
        self.timeout = validate_timeout(timeout)
        self._timeout_ms = max(1, _native.timeout_ms(self.timeout))
        config = _native.encode_config(
            {
                "bootstrap.servers": self.brokers,
                "client.id": self.client_id,
                "connect.timeout.ms": self._timeout_ms,
                "request.timeout.ms": self._timeout_ms,
            }
        )
        handle = _native.gofka_handle_t()
        err = _native.new_error()
        _native.check(_native.lib.gofka_admin_new(config, byref(handle), byref(err)), err)
        self._set_handle(handle.value)

    def __repr__(self) -> str:
        return "<gofka.AdminClient brokers=%r%s>" % (self.brokers, " closed" if self.closed else "")

    def list_topics(self) -> List[str]:
        """The names of the cluster's topics, sorted, internal topics excluded."""
        raw = self._call_returning_buffer(_native.lib.gofka_admin_list_topics, 0, self._timeout_ms)
        return [str(name) for name in json.loads(raw.decode("utf-8"))]

    def close(self) -> None:
        """Closes the client. Idempotent."""
        handle = self._take_handle()
        if handle:
            err = _native.new_error()
            _native.check(_native.lib.gofka_admin_close(handle, byref(err)), err)
