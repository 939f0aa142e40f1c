"""In-process Kafka-compatible dev cluster (for demos and tests)."""

from __future__ import annotations

from ctypes import byref

from . import _native
from ._client import HandleOwner

__all__ = ["DevCluster"]


class DevCluster(HandleOwner):
    """An in-memory Kafka-compatible cluster on 127.0.0.1, run by the library
    inside this process. Not for production data: everything is in memory and
    lost on close. Topics are created automatically on first use.

    The cluster starts in the constructor, so ``brokers`` is usable at once;
    use it as a context manager (or call ``close()``) to stop it::

        with DevCluster(num_brokers=3) as cluster:
            with Producer(cluster.brokers) as producer:
                producer.send("demo", b"hello")

    Args:
        num_brokers: number of brokers, 1..16.
        port: 0 picks free ports; otherwise brokers listen on ``port``,
            ``port + 1``, ...

    Attributes:
        brokers: the bootstrap string ``"127.0.0.1:p1,127.0.0.1:p2,..."``.
    """

    _kind = "dev cluster"

    def __init__(self, num_brokers: int = 1, port: int = 0) -> None:
        super().__init__()
        if isinstance(num_brokers, bool) or not isinstance(num_brokers, int):
            raise TypeError("num_brokers must be int, not %s" % type(num_brokers).__name__)
        if not 1 <= num_brokers <= 16:
            raise ValueError("num_brokers must be between 1 and 16, got %d" % num_brokers)
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError("port must be int, not %s" % type(port).__name__)
        if not 0 <= port <= 65535 or (port and port + num_brokers - 1 > 65535):
            raise ValueError("port must be 0 or a port such that port+num_brokers-1 <= 65535, got %d" % port)
        self.num_brokers = num_brokers
        self.port = port
        handle = _native.gofka_handle_t()
        err = _native.new_error()
        _native.check(_native.lib.gofka_devcluster_new(num_brokers, port, byref(handle), byref(err)), err)
        self._set_handle(handle.value)
        try:
            self.brokers = self._call_returning_buffer(_native.lib.gofka_devcluster_brokers).decode("utf-8")
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return "<gofka.DevCluster brokers=%r%s>" % (getattr(self, "brokers", None), " closed" if self.closed else "")

    def close(self) -> None:
        """Stops the cluster. Idempotent."""
        handle = self._take_handle()
        if handle:
            err = _native.new_error()
            _native.check(_native.lib.gofka_devcluster_close(handle, byref(err)), err)
