"""Engine log lines reach logging.getLogger("gofka") (gofka/_log.py)."""

from __future__ import annotations

import logging
import struct
import threading
import time
from ctypes import byref, c_int32, c_void_p
from typing import Callable, List

import pytest

import gofka
from gofka import _log, _native


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []
        self.records_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.records_lock:
            self.records.append(record)

    def find(self, pred: Callable[[logging.LogRecord], bool]) -> List[logging.LogRecord]:
        with self.records_lock:
            return [r for r in self.records if pred(r)]


@pytest.fixture
def gofka_handler():
    logger = logging.getLogger("gofka")
    handler = ListHandler()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        _log.flush()  # hand the engine the restored configuration


def wait_for(handler: ListHandler, pred: Callable[[logging.LogRecord], bool], what: str) -> logging.LogRecord:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        _log.flush()
        found = handler.find(pred)
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no %s among %r" % (what, [(r.name, r.levelname, r.getMessage()) for r in handler.records]))


def test_connection_and_metadata_lines_at_their_levels(brokers: str, gofka_handler: ListHandler) -> None:
    first = brokers.split(",")[0]
    before = time.time()
    with gofka.Producer(brokers, client_id="log-test", timeout=15) as producer:
        producer.connect()
    rec = wait_for(
        gofka_handler,
        lambda r: r.name == "gofka.conn" and r.levelno == logging.INFO and ("connected to " + first) in r.getMessage(),
        "INFO connection line",
    )
    assert rec.gofka_subsystem == "conn"  # type: ignore[attr-defined]
    assert before - 1 <= rec.created <= time.time() + 1  # the engine's time, not the drain's
    assert rec.threadName == "gofka-log" or rec.threadName == threading.current_thread().name
    wait_for(gofka_handler, lambda r: r.name == "gofka.metadata" and r.levelno == logging.DEBUG, "DEBUG metadata line")


def test_failed_dial_is_a_warning(gofka_handler: ListHandler) -> None:
    gofka_handler.setLevel(logging.WARNING)
    with gofka.Producer("127.0.0.1:1", timeout=2) as producer:
        with pytest.raises(gofka.ConnectionError):
            producer.connect()
    rec = wait_for(
        gofka_handler, lambda r: r.levelno == logging.WARNING and "127.0.0.1:1" in r.getMessage(), "WARNING dial line"
    )
    assert rec.name == "gofka.conn"


def test_level_follows_the_logging_configuration() -> None:
    logger = logging.getLogger("gofka")
    handler = ListHandler()
    old = logger.level, logger.propagate
    try:
        # pytest's capture handlers sit on the root logger: cut them off
        logger.propagate = False
        logger.setLevel(logging.INFO)
        assert _log.wanted_level() == _log.LEVEL_OFF  # no handler anywhere
        logger.addHandler(handler)
        assert _log.wanted_level() == logging.INFO
        logging.getLogger("gofka.conn").setLevel(logging.DEBUG)
        assert _log.wanted_level() == logging.DEBUG  # a more verbose child counts
        logging.disable(logging.INFO)
        assert _log.wanted_level() == logging.INFO + 1
    finally:
        logging.disable(logging.NOTSET)
        logging.getLogger("gofka.conn").setLevel(logging.NOTSET)
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]
        _log.flush()


def test_nothing_is_logged_while_disabled() -> None:
    logger = logging.getLogger("gofka")
    old = logger.propagate
    logger.propagate = False
    try:
        _log.flush()  # engine level -> off
        with gofka.Producer("127.0.0.1:1", timeout=1) as producer:
            with pytest.raises(gofka.ConnectionError):
                producer.connect()
        assert _log.flush() == 0  # the engine kept nothing
    finally:
        logger.propagate = old
        _log.flush()


def test_parse_lines_and_truncated_buffers() -> None:
    def line(level: int, nanos: int, sub: bytes, msg: bytes) -> bytes:
        return struct.pack("<iqI", level, nanos, len(sub)) + sub + struct.pack("<I", len(msg)) + msg

    buf = line(20, 1_700_000_000_000_000_000, b"conn", b"hello") + line(40, 5, b"", "é".encode())
    assert _log.parse_lines(buf, 2) == [(20, 1_700_000_000_000_000_000, "conn", "hello"), (40, 5, "", "é")]
    with pytest.raises(ValueError):
        _log.parse_lines(buf + b"x", 2)
    with pytest.raises(struct.error):
        _log.parse_lines(buf[:10], 1)  # truncated inside the first line


def test_c_functions_reject_bad_arguments() -> None:
    with pytest.raises(gofka.GofkaError) as exc:
        _log.set_engine_level(101)
    assert exc.value.code == _native.ERR_INVALID_ARGUMENT
    with pytest.raises(gofka.GofkaError):
        _log.set_engine_level(-1)
    err = _native.new_error()
    count = c_int32()
    buf = c_void_p()
    drain = _native.lib.gofka_log_drain
    assert drain(0, 0, byref(buf), None, byref(count), byref(err)) == _native.ERR_INVALID_ARGUMENT
    assert drain(10, 0, None, None, byref(count), byref(err)) == _native.ERR_INVALID_ARGUMENT
    assert drain(10, 0, byref(buf), None, None, byref(err)) == _native.ERR_INVALID_ARGUMENT
