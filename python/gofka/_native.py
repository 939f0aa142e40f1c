"""Low-level ctypes bindings of libgofka (C ABI in include/gofka.h).

Private module: the public classes wrap it. It loads the library, declares
the signature of every function of gofka.h, checks the ABI version and holds
the helpers that translate between Python values and the C conventions
(error structs, library-owned buffers, configuration strings, packed headers
and records).

The library is loaded with :class:`ctypes.CDLL`, so the GIL is released while
a call runs: blocking calls do not stall other Python threads.

Library lookup: the ``GOFKA_LIBRARY`` environment variable (a path) wins;
otherwise ``libgofka.so`` next to this file.

Loading is lazy and fork-aware (docs/architecture.md, "fork()"). Loading the
Go c-shared library starts the Go runtime and its threads, which do not
survive ``fork()``: in a child forked after that, a call into the engine
may hang, or half work on the parent's objects. So ``import gofka`` loads nothing; :data:`lib` loads the library
on the first access to one of its functions (the first client, DevCluster,
``library_version()``...). After a fork, in the child of a process that had
loaded it, every function of :data:`lib` raises
:class:`gofka.exceptions.ForkError` instead of entering the engine, except
the release functions (``gofka_*_close``, ``gofka_free``), which do nothing:
the child only drops what it inherited, the parent still owns it. Objects
that hold engine handles register with :func:`track`; in such a child their
handle is set to 0 (so their close and finalizers return at once) and
``_forked_from`` to the parent's pid (so their use raises ForkError).
Only forks made through ``os.fork()`` (multiprocessing, Celery, gunicorn...)
are seen: they run the hooks of ``os.register_at_fork``.
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
import time
import weakref
from ctypes import (
    POINTER,
    Structure,
    byref,
    c_char,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint64,
    c_void_p,
)
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

# The client-local error codes (gofka.h: GOFKA_OK, GOFKA_ERR_*), generated
# with the header from wire/errors.go into _error_table (make docs); the
# "as" form re-exports them, other modules use them as _native.ERR_*.
from ._error_table import (
    OK as OK,
    ERR_LOCAL_UNKNOWN as ERR_LOCAL_UNKNOWN,
    ERR_INVALID_ARGUMENT as ERR_INVALID_ARGUMENT,
    ERR_INVALID_HANDLE as ERR_INVALID_HANDLE,
    ERR_CLIENT_CLOSED as ERR_CLIENT_CLOSED,
    ERR_TIMED_OUT as ERR_TIMED_OUT,
    ERR_CONNECTION_FAILED as ERR_CONNECTION_FAILED,
    ERR_NO_BROKERS as ERR_NO_BROKERS,
    ERR_UNSUPPORTED_VERSION_LOCAL as ERR_UNSUPPORTED_VERSION_LOCAL,
    ERR_CORRUPT_RESPONSE as ERR_CORRUPT_RESPONSE,
    ERR_QUEUE_FULL as ERR_QUEUE_FULL,
    ERR_MESSAGE_TOO_LARGE_LOCAL as ERR_MESSAGE_TOO_LARGE_LOCAL,
    ERR_DELIVERY_TIMEOUT as ERR_DELIVERY_TIMEOUT,
    ERR_PARTITION_NOT_FOUND as ERR_PARTITION_NOT_FOUND,
    ERR_AUTHENTICATION_LOCAL as ERR_AUTHENTICATION_LOCAL,
    ERR_INTERRUPTED as ERR_INTERRUPTED,
    ERR_NO_OFFSET as ERR_NO_OFFSET,
    ERR_NOT_ASSIGNED as ERR_NOT_ASSIGNED,
    ERR_TLS_FAILED as ERR_TLS_FAILED,
    ERR_ALL_BROKERS_DOWN as ERR_ALL_BROKERS_DOWN,
    ERR_TXN_ABORTABLE as ERR_TXN_ABORTABLE,
    ERR_TXN_FATAL as ERR_TXN_FATAL,
)
from ._limits import check_config_string
from .exceptions import ForkError, GofkaError

#: The ABI version (GOFKA_ABI_VERSION) these bindings were written for.
ABI_VERSION = 1

INT32_MAX = 2 ** 31 - 1
INT64_MAX = 2 ** 63 - 1

#: Blocking calls wait in slices of this many ms, so that Ctrl-C
#: (KeyboardInterrupt, raised between slices) is honoured promptly; the
#: operation itself keeps going.
SLICE_MS = 200


def slice_ms(deadline: Optional[float]) -> int:
    """The next wait slice in ms: SLICE_MS, less what is left before
    ``deadline`` (a time.monotonic() value; None: no deadline)."""
    if deadline is None:
        return SLICE_MS
    return max(0, min(SLICE_MS, int((deadline - time.monotonic()) * 1000)))


LIBRARY_ENV = "GOFKA_LIBRARY"
LIBRARY_NAME = "libgofka.so"


class gofka_error_t(Structure):
    """struct gofka_error (gofka.h), 1024 bytes."""

    _fields_ = [
        ("code", c_int32),
        ("retriable", c_int32),
        ("name", c_char * 64),
        ("message", c_char * 824),
        ("broker", c_char * 128),
    ]


gofka_handle_t = c_uint64

_p_error = POINTER(gofka_error_t)
_p_handle = POINTER(gofka_handle_t)
_p_buffer = POINTER(c_void_p)  # char ** / uint8_t ** out-parameters
_p_size = POINTER(c_size_t)
_p_int64 = POINTER(c_int64)
# const char * / const uint8_t * inputs: c_char_p passes a bytes object's own
# buffer (no copy) and None as NULL; lengths are always passed separately.
_bytes_in = c_char_p

# Argument runs several functions share.
_RECORD_ARGS = [  # one record (gofka_producer_send, _produce, _produce_wait)
    c_char_p,  # topic
    c_int32,  # partition (-1 = partitioner)
    _bytes_in,  # key
    c_int64,  # key_len
    _bytes_in,  # value
    c_int64,  # value_len
    _bytes_in,  # headers
    c_size_t,  # headers_len
    c_int64,  # timestamp_ms
]
_BUFFER_OUT = [_p_buffer, _p_size, POINTER(c_int32)]  # buf_out, len_out, count_out

# name -> (restype, argtypes), one entry per function of gofka.h, in order.
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    # Library
    "gofka_version": (c_char_p, []),
    "gofka_abi_version": (c_int32, []),
    "gofka_free": (None, [c_void_p]),
    "gofka_error_table": (c_int32, [_p_buffer, _p_size, _p_error]),
    # Diagnostics (capi/debug.go)
    "gofka_debug_stats": (c_int32, [c_int32, _p_buffer, _p_size, _p_error]),
    # Engine log (gofka/_log.py)
    "gofka_log_set_level": (c_int32, [c_int32, _p_error]),
    "gofka_log_drain": (
        c_int32,
        [c_int32, c_int32, *_BUFFER_OUT, _p_error],
    ),
    # Producer
    "gofka_producer_new": (c_int32, [c_char_p, _p_handle, _p_error]),
    "gofka_producer_connect": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_producer_send": (
        c_int32,
        [gofka_handle_t, *_RECORD_ARGS, c_int32, _p_int64, _p_error],  # producer, ..., timeout_ms, offset_out
    ),
    "gofka_producer_send_batch": (
        c_int32,
        [
            gofka_handle_t,  # producer
            c_char_p,  # topic
            c_int32,  # partition
            _bytes_in,  # records
            c_size_t,  # records_len
            c_int32,  # count
            c_int32,  # timeout_ms
            _p_int64,  # offsets_out
            _p_error,
        ],
    ),
    "gofka_producer_produce": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, *_RECORD_ARGS, _p_error],  # producer, queue (0 = no event), token
    ),
    "gofka_producer_produce_wait": (
        c_int32,
        # producer, queue, token, the record, max_events, timeout_ms, the events
        [gofka_handle_t, gofka_handle_t, c_uint64, *_RECORD_ARGS, c_int32, c_int32, *_BUFFER_OUT, _p_error],
    ),
    "gofka_producer_produce_batch": (
        c_int32,
        [
            gofka_handle_t,  # producer
            gofka_handle_t,  # queue (0 = no event)
            c_uint64,  # token
            c_char_p,  # topic
            c_int32,  # partition (-1 = partitioner)
            _bytes_in,  # records
            c_size_t,  # records_len
            c_int32,  # count
            _p_error,
        ],
    ),
    "gofka_producer_produce_values": (
        c_int32,
        [
            gofka_handle_t,  # producer
            gofka_handle_t,  # queue (0 = no event)
            c_uint64,  # token
            c_char_p,  # topic
            c_int32,  # partition (-1 = partitioner)
            c_void_p,  # lengths (int32 per record, -1 = null)
            _bytes_in,  # values, back to back
            c_size_t,  # values_len
            c_int32,  # count
            _p_error,
        ],
    ),
    "gofka_producer_flush": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_producer_partition_count": (
        c_int32,
        [gofka_handle_t, c_char_p, c_int32, POINTER(c_int32), _p_error],
    ),
    "gofka_producer_close": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    # Transactions
    "gofka_producer_init_transactions": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_producer_begin_transaction": (c_int32, [gofka_handle_t, _p_error]),
    "gofka_producer_commit_transaction": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_producer_abort_transaction": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_producer_send_offsets_to_transaction": (
        c_int32,
        [gofka_handle_t, _bytes_in, c_size_t, c_char_p, c_int32, _p_error],
    ),
    "gofka_consumer_group_metadata": (c_int32, [gofka_handle_t, _p_buffer, _p_size, _p_error]),
    # Consumer
    "gofka_consumer_new": (c_int32, [c_char_p, _p_handle, _p_error]),
    "gofka_consumer_connect": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_consumer_connect_async": (c_int32, [gofka_handle_t, gofka_handle_t, c_uint64, c_int32, _p_error]),
    "gofka_consumer_subscribe": (c_int32, [gofka_handle_t, c_char_p, c_char_p, c_int32, _p_error]),
    "gofka_consumer_subscribe_async": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, c_char_p, c_char_p, c_int32, _p_error],
    ),
    "gofka_consumer_unsubscribe": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_consumer_unsubscribe_async": (c_int32, [gofka_handle_t, gofka_handle_t, c_uint64, c_int32, _p_error]),
    "gofka_consumer_poll": (
        c_int32,
        [gofka_handle_t, c_int32, c_int32, *_BUFFER_OUT, _p_error],
    ),
    "gofka_consumer_poll_async": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, c_int32, c_int32, _p_error],
    ),
    "gofka_consumer_commit": (
        c_int32,
        [gofka_handle_t, _bytes_in, c_size_t, c_int32, c_int32, _p_error],
    ),
    "gofka_consumer_commit_async": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, _bytes_in, c_size_t, c_int32, c_int32, _p_error],
    ),
    "gofka_consumer_assign": (c_int32, [gofka_handle_t, _bytes_in, c_size_t, _p_error]),
    "gofka_consumer_assignment": (c_int32, [gofka_handle_t, _p_buffer, _p_size, _p_error]),
    "gofka_consumer_seek": (c_int32, [gofka_handle_t, _bytes_in, c_size_t, _p_error]),
    "gofka_consumer_position": (
        c_int32,
        [gofka_handle_t, _bytes_in, c_size_t, c_int32, _p_buffer, _p_size, _p_error],
    ),
    "gofka_consumer_committed": (
        c_int32,
        [gofka_handle_t, _bytes_in, c_size_t, c_int32, _p_buffer, _p_size, _p_error],
    ),
    "gofka_consumer_committed_async": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, _bytes_in, c_size_t, c_int32, _p_error],
    ),
    "gofka_consumer_pause": (c_int32, [gofka_handle_t, _bytes_in, c_size_t, _p_error]),
    "gofka_consumer_resume": (c_int32, [gofka_handle_t, _bytes_in, c_size_t, _p_error]),
    "gofka_consumer_offsets_for_times": (
        c_int32,
        [gofka_handle_t, _bytes_in, c_size_t, c_int32, _p_buffer, _p_size, _p_error],
    ),
    "gofka_consumer_offsets_for_times_async": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, _bytes_in, c_size_t, c_int32, _p_error],
    ),
    "gofka_consumer_close": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_consumer_close_async": (c_int32, [gofka_handle_t, gofka_handle_t, c_uint64, c_int32, _p_error]),
    # Share consumer
    "gofka_share_consumer_new": (c_int32, [c_char_p, _p_handle, _p_error]),
    "gofka_share_consumer_subscribe": (c_int32, [gofka_handle_t, c_char_p, _p_error]),
    "gofka_share_consumer_poll": (c_int32, [gofka_handle_t, c_int32, c_int32, *_BUFFER_OUT, _p_error]),
    "gofka_share_consumer_poll_async": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, c_int32, c_int32, _p_error],
    ),
    "gofka_share_consumer_acknowledge": (c_int32, [gofka_handle_t, c_char_p, c_int32, c_int64, c_int32, _p_error]),
    "gofka_share_consumer_commit": (c_int32, [gofka_handle_t, c_int32, _p_buffer, _p_size, _p_error]),
    "gofka_share_consumer_commit_async": (c_int32, [gofka_handle_t, gofka_handle_t, c_uint64, c_int32, _p_error]),
    "gofka_share_consumer_close": (c_int32, [gofka_handle_t, c_int32, _p_error]),
    "gofka_share_consumer_close_async": (c_int32, [gofka_handle_t, gofka_handle_t, c_uint64, c_int32, _p_error]),
    # Admin
    "gofka_admin_new": (c_int32, [c_char_p, _p_handle, _p_error]),
    "gofka_admin_list_topics": (
        c_int32,
        [gofka_handle_t, c_int32, c_int32, _p_buffer, _p_size, _p_error],
    ),
    "gofka_admin_call": (
        c_int32,
        [gofka_handle_t, c_char_p, c_char_p, c_int32, _p_buffer, _p_size, _p_error],
    ),
    "gofka_admin_call_async": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, c_char_p, c_char_p, c_int32, _p_error],
    ),
    "gofka_admin_close": (c_int32, [gofka_handle_t, _p_error]),
    # Statistics (gofka/_stats.py)
    "gofka_producer_stats": (c_int32, [gofka_handle_t, _p_buffer, _p_size, _p_error]),
    "gofka_consumer_stats": (c_int32, [gofka_handle_t, _p_buffer, _p_size, _p_error]),
    "gofka_admin_stats": (c_int32, [gofka_handle_t, _p_buffer, _p_size, _p_error]),
    # Connection pools
    "gofka_pool_new": (c_int32, [c_char_p, _p_handle, _p_error]),
    "gofka_pool_id": (c_int32, [gofka_handle_t, POINTER(c_uint64), _p_error]),
    "gofka_pool_call": (
        c_int32,
        [gofka_handle_t, c_char_p, c_char_p, c_int32, _p_buffer, _p_size, _p_error],
    ),
    "gofka_pool_call_async": (
        c_int32,
        [gofka_handle_t, gofka_handle_t, c_uint64, c_char_p, c_char_p, c_int32, _p_error],
    ),
    "gofka_pool_close": (c_int32, [gofka_handle_t, _p_error]),
    # Security
    "gofka_oauth_token_set": (c_int32, [gofka_handle_t, c_char_p, _p_error]),
    # Event queues
    "gofka_queue_new": (c_int32, [_p_handle, _p_error]),
    "gofka_queue_fd": (c_int32, [gofka_handle_t, POINTER(c_int32), _p_error]),
    "gofka_queue_ready_flag": (c_int32, [gofka_handle_t, _p_buffer, _p_error]),  # const int32_t **
    "gofka_queue_drain": (
        c_int32,
        [gofka_handle_t, c_int32, c_int32, *_BUFFER_OUT, _p_error],
    ),
    "gofka_queue_close": (c_int32, [gofka_handle_t, _p_error]),
    # Dev cluster
    "gofka_devcluster_new": (c_int32, [c_int32, c_int32, _p_handle, _p_error]),
    "gofka_devcluster_brokers": (c_int32, [gofka_handle_t, _p_buffer, _p_size, _p_error]),
    "gofka_devcluster_close": (c_int32, [gofka_handle_t, _p_error]),
}


def library_path() -> str:
    """The path the library is (or would be) loaded from."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return override
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY_NAME)


def _open() -> ctypes.CDLL:
    """dlopen()s the library (this starts the Go runtime) and declares the
    signature of every function; ImportError when it is missing or of
    another ABI version."""
    path = library_path()
    if not os.path.exists(path):
        where = (
            "%s=%s" % (LIBRARY_ENV, path)
            if os.environ.get(LIBRARY_ENV)
            else "next to the gofka package (%s)" % path
        )
        raise ImportError(
            "gofka: the native library %s was not found %s; build it with build.sh "
            "or point %s at it" % (LIBRARY_NAME, where, LIBRARY_ENV)
        )
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise ImportError("gofka: cannot load the native library %s: %s" % (path, exc)) from exc
    missing = [name for name in SIGNATURES if not hasattr(lib, name)]
    if missing:
        raise ImportError(
            "gofka: the native library %s lacks the functions %s; it does not match "
            "these bindings" % (path, ", ".join(missing))
        )
    for name, (restype, argtypes) in SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    version = lib.gofka_abi_version()
    if version != ABI_VERSION:
        raise ImportError(
            "gofka: the native library %s has ABI version %d but these Python bindings "
            "were written for ABI version %d; install matching versions of the package "
            "and the library" % (path, version, ABI_VERSION)
        )
    return lib


path = library_path()

# Loading state. _load_lock (reentrant: the hooks that run on load may
# access lib) serializes loading and is held across os.fork() so that a
# child never sees a half-done load. _loaded_pid: the process that loaded
# the library (0: not loaded). _forked_from: in a child forked after the
# library was loaded, the pid of the process that loaded it (0 otherwise);
# once set it never clears (grandchildren keep it).
_load_lock = threading.RLock()
_cdll: Optional[ctypes.CDLL] = None
_loaded_pid = 0
_forked_from = 0

_LOCK_TYPE = type(threading.Lock())

# Functions that only release something (a handle, a buffer): no-ops in a
# forked child, which drops what it inherited instead of calling the engine.
_RELEASE = frozenset(name for name in SIGNATURES if name.endswith("_close") or name == "gofka_free")

# Objects holding an engine handle (see track()); weak, so never kept alive.
_owners: "weakref.WeakSet[Any]" = weakref.WeakSet()


def _released(*args: Any) -> int:
    """A release function in a forked child: drops, returns GOFKA_OK."""
    return OK


def fork_error(what: str = "neither the clients created before the fork (they belong to that process) nor new "
                             "ones nor any other call that needs libgofka can work in this process") -> ForkError:
    """The error of a use of the engine in a process forked after its parent
    (pid ``_forked_from``) had started it; ``what`` says what cannot work."""
    return ForkError(
        "gofka: this process was forked from process %d (or from a child of it) after that process had "
        "started the Gofka engine (libgofka), whose threads do not survive fork(): %s. "
        "Fix: create gofka clients only after the fork (start no client, DevCluster or engine call "
        "in the parent before forking, e.g. none at import time of a preloaded gunicorn app or a "
        "Celery module), or use the 'spawn' or 'forkserver' start method of multiprocessing."
        % (_forked_from, what),
        name="FORKED_PROCESS",
    )


def forked_from() -> int:
    """The pid of the parent whose engine this forked process inherited
    (and cannot use), or 0 when the engine is usable (or not loaded)."""
    return _forked_from


def loaded() -> bool:
    """Whether this process has loaded libgofka (and started its runtime)."""
    return _cdll is not None


def load() -> ctypes.CDLL:
    """Loads the library once per process (thread-safe) and returns it.
    Raises ForkError in a child forked after its parent had loaded it, and
    ImportError when the library is missing or does not match."""
    global _cdll, _loaded_pid
    with _load_lock:
        if _forked_from:
            raise fork_error()
        cdll = _cdll
        if cdll is None:
            cdll = _open()
            # The C speedups call four functions without ctypes: bound
            # before any other thread can get a function (and a handle).
            from .message import bind_library

            bind_library(cdll)
            _cdll, _loaded_pid = cdll, os.getpid()
            # Later accesses find the functions here, skipping __getattr__.
            lib.__dict__.update((name, getattr(cdll, name)) for name in SIGNATURES)
            # The error table now, while no fork can happen: a child forked
            # later builds errors without the engine (install_table takes
            # no lock, so this cannot deadlock with error_table()).
            from .exceptions import install_table

            install_table(error_table_json())
            # Engine log lines -> logging.getLogger("gofka") (gofka/_log.py).
            from . import _log

            _log.start()
    return cdll


class _Library(object):
    """libgofka's functions as attributes: ``lib.gofka_version()``.

    The first access to a function loads the library (load()), which then
    stores every function in this object's ``__dict__``, so that later
    accesses are plain attribute lookups. In a forked child (see the module
    docstring) the stored functions are dropped again: accesses come back
    here and get a no-op (release functions) or ForkError.
    """

    def __getattr__(self, name: str) -> Any:
        if name not in SIGNATURES:
            raise AttributeError("libgofka has no function %r" % name)
        if _forked_from:
            if name in _RELEASE:
                return _released
            raise fork_error()
        load()
        return self.__dict__[name]


#: The library's functions (loaded on first access; thread-safe).
lib: Any = _Library()


def track(owner: Any) -> None:
    """Registers an object that holds an engine handle in ``owner._handle``
    (call it once the handle is set): in a child forked from this process,
    its ``_handle`` becomes 0, its ``_lock`` (if any) a new unlocked Lock
    and ``_forked_from`` the parent's pid, then its
    ``_after_fork_in_child()`` method, if it has one, is called. Its close
    and finalizers then return without calling the engine; its use must
    raise ``fork_error(...)`` when ``_forked_from`` is set."""
    _owners.add(owner)


def _before_fork() -> None:
    _load_lock.acquire()  # no fork in the middle of a load


def _after_fork_in_parent() -> None:
    _load_lock.release()


def _after_fork_in_child() -> None:
    global _load_lock, _forked_from
    # The lock was held by the forking thread (_before_fork); the child
    # starts with a fresh one.
    _load_lock = threading.RLock()
    if _cdll is None:
        return  # no engine inherited: the child loads its own on first use
    if not _forked_from:
        _forked_from = _loaded_pid
    lib.__dict__.clear()
    from .message import speedups

    if speedups is not None:
        speedups.unbind_library()
    from . import _log

    _log.after_fork_in_child()
    for owner in list(_owners):
        try:
            owner._handle = 0
            if isinstance(owner.__dict__.get("_lock"), _LOCK_TYPE):
                owner._lock = threading.Lock()  # a thread of the parent may have held it
            owner._forked_from = _forked_from
            extra = getattr(owner, "_after_fork_in_child", None)
            if extra is not None:
                extra()  # what else the class must forget (e.g. Producer: produce() refuses)
        except Exception:  # pragma: no cover - defensive: the hook must never fail the fork
            pass
    _owners.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


# --------------------------------------------------------------------------
# Errors and buffers
# --------------------------------------------------------------------------


def new_error() -> gofka_error_t:
    """A fresh error struct for one call (thread-safe: never shared)."""
    return gofka_error_t()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def make_error(code: int, err: Optional[gofka_error_t]) -> GofkaError:
    """The exception for a non-zero return code and its filled error struct."""
    from .exceptions import error_from_code

    if err is not None and err.code == code:
        return error_from_fields(code, err.name, err.message, err.broker, err.retriable)
    return error_from_code(code, "")


def error_from_fields(code: int, name: bytes, message: bytes, broker: bytes, retriable: int) -> GofkaError:
    """The exception for a failed call from its error struct's fields."""
    from .exceptions import error_from_code

    return error_from_code(code, _decode(message), name=_decode(name) or None, retriable=bool(retriable),
                           broker=_decode(broker) or None)


def check(code: int, err: Optional[gofka_error_t] = None) -> None:
    """Raises the GofkaError subclass for ``code`` unless it is 0."""
    if code != OK:
        raise make_error(code, err)


def take_buffer(ptr: Union[c_void_p, int, None], length: Union[c_size_t, int]) -> bytes:
    """Copies a library-allocated buffer into bytes, then frees it."""
    address = ptr.value if isinstance(ptr, c_void_p) else ptr
    n = length.value if isinstance(length, c_size_t) else int(length)
    if not address:
        return b""
    try:
        return ctypes.string_at(address, n)
    finally:
        lib.gofka_free(address)


def version() -> str:
    """The library version string (gofka_version())."""
    raw = lib.gofka_version()
    return raw.decode("ascii", "replace") if raw is not None else ""


def abi_version() -> int:
    return int(lib.gofka_abi_version())


def error_table_json() -> str:
    """The JSON error table (gofka_error_table())."""
    out = c_void_p()
    length = c_size_t()
    err = new_error()
    check(lib.gofka_error_table(byref(out), byref(length), byref(err)), err)
    return take_buffer(out, length).decode("utf-8")


def call_returning_buffer(fn: Any, *args: Any) -> bytes:
    """Calls a function whose last three parameters are (char **out,
    size_t *len_out, gofka_error_t *err) and returns the buffer's bytes."""
    out = c_void_p()
    length = c_size_t()
    err = new_error()
    code = fn(*args, byref(out), byref(length), byref(err))
    if code != OK:
        if out.value:  # defensive: never leak a buffer returned with an error
            lib.gofka_free(out.value)
        raise make_error(code, err)
    return take_buffer(out, length)


# --------------------------------------------------------------------------
# Argument conversion
# --------------------------------------------------------------------------


def timeout_ms(seconds: Union[int, float]) -> int:
    """Seconds -> int32 milliseconds (clamped, never negative)."""
    ms = int(seconds * 1000)
    if ms < 0:
        return 0
    return ms if ms < INT32_MAX else INT32_MAX


def encode_config(config: Mapping[str, Any]) -> bytes:
    """Encodes a configuration mapping as the ``key=value\\n`` string of the C
    API. None values are skipped; booleans become ``true``/``false``."""
    lines = []
    for key, value in config.items():
        if not isinstance(key, str):
            raise TypeError("configuration keys must be str, got %s" % type(key).__name__)
        if not key or key != key.strip():
            raise ValueError("invalid configuration key %r" % key)
        if "=" in key or "\n" in key or "\r" in key or "\0" in key or key.startswith("#"):
            raise ValueError("invalid configuration key %r" % key)
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        if "\n" in text or "\r" in text or "\0" in text:
            raise ValueError("configuration value of %r must not contain newlines or NUL" % key)
        check_config_string(key, text)  # Kafka STRING lengths (_limits.py)
        lines.append("%s=%s" % (key, text))
    return "\n".join(lines).encode("utf-8")


BytesLike = Union[bytes, bytearray, memoryview]


def as_bytes(value: Any, what: str) -> bytes:
    """bytes / bytearray / memoryview -> bytes, else TypeError."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be bytes, bytearray or memoryview, not %s" % (what, type(value).__name__))


def as_optional_bytes(value: Any, what: str) -> Optional[bytes]:
    return None if value is None else as_bytes(value, what)


def encode_topic(topic: Any) -> bytes:
    if not isinstance(topic, str):
        raise TypeError("topic must be str, not %s" % type(topic).__name__)
    if not topic:
        raise ValueError("topic must not be empty")
    if "\0" in topic:
        raise ValueError("topic must not contain NUL characters")
    return topic.encode("utf-8")


def check_partition(partition: Any) -> int:
    if isinstance(partition, bool) or not isinstance(partition, int):
        raise TypeError("partition must be int, not %s" % type(partition).__name__)
    if partition < 0 or partition > INT32_MAX:
        raise ValueError("partition must be between 0 and %d, got %d" % (INT32_MAX, partition))
    return partition


def timestamp_ms(timestamp: Any) -> int:
    """Optional seconds since the epoch -> ms (-1 = now)."""
    if timestamp is None:
        return -1
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        raise TypeError("timestamp must be a number of seconds, not %s" % type(timestamp).__name__)
    if timestamp != timestamp or timestamp < 0:  # NaN or negative
        raise ValueError("timestamp must be a non-negative number of seconds, got %r" % (timestamp,))
    ms = int(round(timestamp * 1000))
    if ms > INT64_MAX:
        raise ValueError("timestamp out of range: %r" % (timestamp,))
    return ms


_I32 = struct.Struct("<i")
_I32_pack = _I32.pack
_NULL_LEN = _I32_pack(-1)


def header_items(headers: Any) -> List[Tuple[str, Any]]:
    """The (key, value) pairs of a headers argument, in order: a Mapping
    (str -> value) or a list / tuple of (str, value) pairs, the form
    confluent-kafka, aiokafka and kafka-python take, where a key may repeat.
    Raises TypeError naming what is wrong; values are checked by
    pack_headers."""
    if isinstance(headers, Mapping):
        return list(headers.items())
    if not isinstance(headers, (list, tuple)):
        raise TypeError(
            "headers must be a dict or a list of (str, value) pairs, not %s" % type(headers).__name__)
    items = []
    for i, pair in enumerate(headers):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(
                "headers[%d] must be a (str, value) pair, not %s" % (
                    i, type(pair).__name__ if not isinstance(pair, (tuple, list)) else "%d items" % len(pair)))
        items.append((pair[0], pair[1]))
    return items


def pack_headers(headers: Any) -> bytes:
    """Packs headers (a Mapping str -> bytes-like / str / None, or a list of
    (str, bytes-like / str / None) pairs, keys may repeat) in the headers
    format of gofka.h; b"" when there are none."""
    if headers is None:
        return b""
    items = header_items(headers)
    if not items:
        return b""
    parts = [_I32_pack(len(items))]
    append = parts.append
    for key, value in items:
        if not isinstance(key, str):
            raise TypeError("header keys must be str, not %s" % type(key).__name__)
        kb = key.encode("utf-8")
        append(_I32_pack(len(kb)))
        append(kb)
        if value is None:
            append(_NULL_LEN)
            continue
        if isinstance(value, str):
            vb = value.encode("utf-8")
        elif isinstance(value, (bytes, bytearray, memoryview)):
            vb = bytes(value)
        else:
            raise TypeError(
                "header %r: value must be bytes, str or None, not %s" % (key, type(value).__name__)
            )
        append(_I32_pack(len(vb)))
        append(vb)
    return b"".join(parts)


_REC_TAIL_NOW_NO_HEADERS = struct.pack("<qi", -1, 0)
_REC_TAIL = struct.Struct("<qi").pack


def pack_values(values: Sequence[Any]) -> bytes:
    """Packs values (no key, timestamp now, no headers) in the records format
    of gofka.h, building one bytes object for the whole batch."""
    parts: List[bytes] = []
    append = parts.append
    for i, value in enumerate(values):
        if isinstance(value, bytes):
            vb = value
        elif isinstance(value, (bytearray, memoryview)):
            vb = bytes(value)
        else:
            raise TypeError(
                "messages[%d] must be bytes, bytearray or memoryview, not %s" % (i, type(value).__name__)
            )
        # key_len -1 (null key), value_len, value, timestamp -1, headers_len 0
        append(_NULL_LEN + _I32_pack(len(vb)))
        append(vb)
        append(_REC_TAIL_NOW_NO_HEADERS)
    return b"".join(parts)


def pack_records(records: Iterable[Tuple[Optional[bytes], Optional[bytes], int, bytes]]) -> bytes:
    """Packs (key, value, timestamp_ms, packed_headers) tuples, already
    validated, in the records format of gofka.h."""
    parts: List[bytes] = []
    append = parts.append
    for key, value, ts, headers in records:
        if key is None:
            append(_NULL_LEN)
        else:
            append(_I32_pack(len(key)))
            append(key)
        if value is None:
            append(_NULL_LEN)
        else:
            append(_I32_pack(len(value)))
            append(value)
        append(_REC_TAIL(ts, len(headers)))
        if headers:
            append(headers)
    return b"".join(parts)
