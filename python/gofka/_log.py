"""The engine's log lines in Python's logging, under ``logging.getLogger("gofka")``.

The Go engine logs connection, metadata and consumer-group events into a
bounded buffer inside libgofka (gofka.h, "Engine log"); it never calls
Python. A daemon thread of this module ("gofka-log") drains that buffer and
re-emits each line through the logger ``gofka.<subsystem>`` (``gofka.conn``,
``gofka.metadata``, ``gofka.group``, ...) at the line's level (the engine
uses the numbers of this module: DEBUG 10, INFO 20, WARNING 30, ERROR 40),
with the record's ``created`` time set to when the engine logged it.

The thread drains only while the ``gofka`` logger (or one of its children)
would emit something: it has handlers somewhere up its hierarchy and an
enabled level. Otherwise it tells the engine to log nothing at all (lines
are then never even formatted) and only re-checks the logging
configuration once a second. Enabling is therefore just::

    import logging
    logging.basicConfig(level=logging.INFO)   # or a handler on "gofka"

The thread starts when the library is loaded (the first client or other
call that needs the engine, not ``import gofka``) and stops at interpreter
exit, after a last drain. In a process forked after that, the thread is
gone and the engine unusable: after_fork_in_child() resets this module so
that nothing here waits for the parent's thread or calls the engine.
"""

from __future__ import annotations

import atexit
import logging
import struct
import threading
from ctypes import byref, c_int32, c_size_t, c_void_p
from typing import Dict, List, Optional, Tuple

from . import _layouts, _native

__all__ = ["LOGGER_NAME", "LEVEL_OFF", "after_fork_in_child", "flush", "start", "stop", "sync_level", "parse_lines",
           "wanted_level"]

#: The root of the engine's loggers.
LOGGER_NAME = "gofka"
#: GOFKA_LOG_OFF: the engine logs nothing.
LEVEL_OFF = 100

_IDLE_CHECK_S = 1.0  # re-check of the logging configuration while disabled
_DRAIN_WAIT_MS = 200  # longest wait inside the library (bounds stop())
_MAX_LINES = 2000  # lines per drain call

_HEAD = struct.Struct(_layouts.LOG_HEAD_FORMAT)  # level, unix nanos, subsystem length
_LEN = struct.Struct("<I")


def parse_lines(buf: bytes, count: int) -> List[Tuple[int, int, str, str]]:
    """Decodes ``count`` lines of the log-lines format of gofka.h into
    ``(level, unix_nanos, subsystem, message)`` tuples."""
    out = []
    pos = 0
    for _ in range(count):
        level, nanos, n = _HEAD.unpack_from(buf, pos)
        pos += _HEAD.size
        subsystem = buf[pos:pos + n].decode("utf-8", "replace")
        pos += n
        (m,) = _LEN.unpack_from(buf, pos)
        pos += _LEN.size
        message = buf[pos:pos + m].decode("utf-8", "replace")
        pos += m
        out.append((level, nanos, subsystem, message))
    if pos != len(buf):
        raise ValueError("log lines: %d bytes left after %d lines" % (len(buf) - pos, count))
    return out


def wanted_level() -> int:
    """The lowest level some ``gofka`` logger would emit now, or LEVEL_OFF."""
    root = logging.getLogger(LOGGER_NAME)
    if root.disabled or not root.hasHandlers():
        return LEVEL_OFF
    level = root.getEffectiveLevel()
    prefix = LOGGER_NAME + "."
    for name, obj in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith(prefix) and isinstance(obj, logging.Logger) and obj.level and not obj.disabled:
            level = min(level, obj.getEffectiveLevel())
    disabled_up_to = logging.Logger.manager.disable  # logging.disable(...)
    if disabled_up_to:
        level = max(level, disabled_up_to + 1)
    return max(0, min(level, LEVEL_OFF))


def set_engine_level(level: int) -> None:
    """gofka_log_set_level: the lowest level the engine formats and keeps."""
    err = _native.new_error()
    _native.check(_native.lib.gofka_log_set_level(level, byref(err)), err)


class _Pump(object):
    """The drain thread and what it last told the engine."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._level_lock = threading.Lock()
        self._engine_level = LEVEL_OFF
        self._loggers: Dict[str, logging.Logger] = {}

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="gofka-log", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        with self._lock:
            thread = self._thread
            self._thread = None
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        try:
            # a last drain, only if someone still listens (otherwise logging's
            # last-resort handler would print the lines to stderr)
            if self._engine_level < LEVEL_OFF and wanted_level() < LEVEL_OFF:
                self.drain(0)
            self._set_level(LEVEL_OFF)
        except Exception:  # interpreter shutting down: nothing left to report to
            pass

    def _set_level(self, level: int) -> None:
        with self._level_lock:
            if level != self._engine_level:
                set_engine_level(level)
                self._engine_level = level

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                level = wanted_level()
                self._set_level(level)
                if level >= LEVEL_OFF:
                    self._stop.wait(_IDLE_CHECK_S)
                    continue
                self.drain(_DRAIN_WAIT_MS)
            except Exception:  # never let the pump die on a bad handler
                logging.getLogger(LOGGER_NAME).exception("gofka: forwarding engine log lines failed")
                self._stop.wait(_IDLE_CHECK_S)

    def drain(self, wait_ms: int) -> int:
        """Takes the buffered lines (waiting up to wait_ms for the first)
        and emits them; returns how many."""
        buf = c_void_p()
        length = c_size_t()
        count = c_int32()
        err = _native.new_error()
        _native.check(
            _native.lib.gofka_log_drain(_MAX_LINES, wait_ms, byref(buf), byref(length), byref(count), byref(err)),
            err,
        )
        if count.value == 0:
            return 0
        data = _native.take_buffer(buf, length)
        for level, nanos, subsystem, message in parse_lines(data, count.value):
            self._emit(level, nanos, subsystem, message)
        return count.value

    def _emit(self, level: int, nanos: int, subsystem: str, message: str) -> None:
        logger = self._loggers.get(subsystem)
        if logger is None:
            name = LOGGER_NAME + "." + subsystem if subsystem else LOGGER_NAME
            logger = self._loggers[subsystem] = logging.getLogger(name)
        if not logger.isEnabledFor(level):
            return
        record = logger.makeRecord(
            logger.name, level, "libgofka", 0, message, (), None, func=None,
            extra={"gofka_subsystem": subsystem},
        )
        created = nanos / 1e9
        record.created = created
        record.msecs = (created - int(created)) * 1000
        record.relativeCreated = (created - logging._startTime) * 1000  # type: ignore[attr-defined]
        logger.handle(record)


_pump = _Pump()


def start() -> None:
    """Starts the drain thread (idempotent; done when the library is
    loaded, _native.load)."""
    _pump.start()


def after_fork_in_child() -> None:
    """In a child forked after the library was loaded (_native): forgets
    the parent's drain thread and locks (a thread of the parent may have
    held them) and marks the engine as logging nothing, so that stop() at
    exit neither waits nor calls the engine."""
    global _pump
    _pump = _Pump()


def stop() -> None:
    """Stops the drain thread after a last drain and turns engine logging
    off. Registered with atexit."""
    _pump.stop()


def sync_level() -> None:
    """Applies the current logging configuration to the engine now (the
    thread does so too, within a second). Called when a client is created,
    so that its first connection is logged as configured."""
    try:
        _pump._set_level(wanted_level())
    except Exception:  # logging must never break a client
        pass


def flush() -> int:
    """Drains the lines buffered now into logging, in the calling thread,
    without waiting; returns how many were taken. Applies the current
    logging configuration to the engine first."""
    _pump._set_level(wanted_level())
    return _pump.drain(0)


atexit.register(stop)
