"""Exception hierarchy of Gofka.

Every error raised by the library is a :class:`GofkaError` (or a subclass)
carrying the numeric ``code``, the symbolic ``name``, whether the operation is
``retriable``, the ``broker`` involved (when known) and the ``description`` of
the code from the library's error table.

The class of an error is chosen from the *category* the library's error table
(``gofka_error_table()``) gives to its code; the mapping code -> class is never
written by hand on the Python side. Until the library is loaded (by the first
client), the same table generated from the Go sources into
``gofka/_error_table.py`` is used, so neither importing this module nor
building an error touches the library.

Arguments that Python can check itself (types, ranges) are validated before
any library call and raise the built-in :class:`TypeError` / :class:`ValueError`.
An invalid argument of a client's constructor raises a class that is both
that built-in and the client's Gofka class (``ProduceValueError`` is a
ProduceError and a ValueError, ...), code INVALID_ARGUMENT: code written
for either convention catches it.
"""

from __future__ import annotations

import builtins
import functools
import json
import threading
from typing import Any, Callable, Dict, Optional, Type, TypeVar, cast

__all__ = [
    "GofkaError",
    "ConnectionError",
    "ProduceError",
    "ConsumeError",
    "OffsetError",
    "GroupCoordinationError",
    "MetadataError",
    "AuthenticationError",
    "TransactionAbortableError",
    "TransactionFatalError",
    "ProduceValueError",
    "ProduceTypeError",
    "ConsumeValueError",
    "ConsumeTypeError",
    "MetadataValueError",
    "MetadataTypeError",
    "ForkError",
    "ErrorInfo",
    "error_from_code",
    "error_table",
    "class_for_category",
    "class_for_code",
]


class GofkaError(Exception):
    """Base class of every Gofka error.

    Attributes:
        code: the numeric error code (Kafka protocol codes are >= -1, codes
            raised by the client itself are <= -100; 0 only for errors that do
            not come from the library).
        name: symbolic name, e.g. ``"NOT_LEADER_OR_FOLLOWER"``.
        retriable: True when retrying the same operation may succeed.
        broker: the broker involved (``"host:port"``) when known, else None.
        description: the description of ``code`` from the error table.
        message: the detail message of this particular occurrence.
    """

    def __init__(
        self,
        message: str = "",
        code: int = 0,
        name: str = "",
        retriable: bool = False,
        broker: Optional[str] = None,
        description: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.name = name
        self.retriable = retriable
        self.broker = broker
        self.description = description

    def __str__(self) -> str:
        detail = self.message or self.description
        if not self.name:
            return detail
        head = "%s (%d)" % (self.name, self.code)
        if detail.startswith(self.name):
            # the library's messages usually start with the name already
            detail = detail[len(self.name) :].lstrip(":. ")
        return "%s: %s" % (head, detail) if detail else head

    def __repr__(self) -> str:
        return "%s(code=%d, name=%r, retriable=%r, message=%r)" % (
            type(self).__name__,
            self.code,
            self.name,
            self.retriable,
            self.message,
        )

    def __reduce__(self) -> Any:
        # Keep every attribute when pickled (e.g. across multiprocessing).
        return (
            type(self),
            (self.message, self.code, self.name, self.retriable, self.broker, self.description),
        )


class ConnectionError(GofkaError, builtins.ConnectionError):
    """The client could not reach or talk to a broker.

    Connection errors are retriable unless a code says otherwise:
    ``retriable`` defaults to True when no ``code`` is given (as when an
    application raises ``ConnectionError("...")`` itself), else to the
    error table's flag of the code (True for a code the table lacks).
    """

    def __init__(
        self,
        message: str = "",
        code: int = 0,
        name: str = "",
        retriable: Optional[bool] = None,
        broker: Optional[str] = None,
        description: str = "",
    ) -> None:
        if retriable is None:
            info = error_table().get(code) if code else None
            retriable = True if info is None else info.retriable
        super().__init__(message, code, name, retriable, broker, description)


class ProduceError(GofkaError):
    """A record could not be produced."""


class ConsumeError(GofkaError):
    """Records could not be fetched."""


class OffsetError(GofkaError):
    """Offsets could not be fetched, committed or are out of range."""


class GroupCoordinationError(GofkaError):
    """Consumer group coordination (join, sync, heartbeat) failed."""


class MetadataError(GofkaError):
    """Cluster or topic metadata is missing or could not be fetched."""


class AuthenticationError(GofkaError):
    """Authentication or authorization failed."""


class TransactionAbortableError(ProduceError):
    """The transaction cannot commit (a record, a partition or the group
    offsets were refused, e.g. a rebalance fenced the consumer member, or
    the coordinator aborted a transaction that outlived
    ``transaction_timeout_ms``): call ``abort_transaction()``, rewind the
    input, and go on with a new transaction. Code TXN_ABORTABLE; the
    message names the cause. Until the abort, sends and commit raise it
    again. A record refused with INVALID_PRODUCER_EPOCH is abortable as in
    the Java client (KIP-588): the partition leader cannot tell a timed-out
    transaction from a newer producer's takeover; the coordinator tells
    them apart at the abort, which raises TransactionFatalError when the
    producer was fenced."""


class TransactionFatalError(ProduceError):
    """The transactional producer can do nothing more: a newer producer
    with the same ``transactional_id`` fenced it (PRODUCER_FENCED, or
    INVALID_PRODUCER_EPOCH from the coordinator), or it is not authorized. Every call but
    ``close()`` raises it again: close the producer (and usually stop this
    instance). Code TXN_FATAL; the message names the cause."""


# Code of the argument errors below (INVALID_ARGUMENT, wire/errors.go).
_INVALID_ARGUMENT = -101


class _ArgumentError(GofkaError):
    """Base of the argument errors of client constructors: they print as
    the bare message, like the TypeError/ValueError they also are."""

    def __str__(self) -> str:
        return self.message or GofkaError.__str__(self)


class ProduceValueError(ProduceError, _ArgumentError, ValueError):
    """A producer was given an invalid argument value (a ValueError too)."""


class ProduceTypeError(ProduceError, _ArgumentError, TypeError):
    """A producer was given an argument of the wrong type (a TypeError too)."""


class ConsumeValueError(ConsumeError, _ArgumentError, ValueError):
    """A consumer was given an invalid argument value (a ValueError too)."""


class ConsumeTypeError(ConsumeError, _ArgumentError, TypeError):
    """A consumer was given an argument of the wrong type (a TypeError too)."""


class MetadataValueError(MetadataError, _ArgumentError, ValueError):
    """An admin client was given an invalid argument value (a ValueError
    too)."""


class MetadataTypeError(MetadataError, _ArgumentError, TypeError):
    """An admin client was given an argument of the wrong type (a TypeError
    too)."""


# The client's Gofka class -> its (ValueError, TypeError) classes.
_ARGUMENT_CLASSES: Dict[Type[GofkaError], Any] = {
    ProduceError: (ProduceValueError, ProduceTypeError),
    ConsumeError: (ConsumeValueError, ConsumeTypeError),
    MetadataError: (MetadataValueError, MetadataTypeError),
}

_F = TypeVar("_F", bound=Callable[..., Any])


def argument_errors(client_error: Type[GofkaError]) -> Callable[[_F], _F]:
    """Decorates a client's ``__init__``: a TypeError or ValueError it
    raises (an invalid argument) is raised again as the matching class of
    ``client_error`` (ProduceError, ConsumeError or MetadataError) that is
    also that built-in, with the same message and traceback, code
    INVALID_ARGUMENT; as is a plain GofkaError INVALID_ARGUMENT of the
    library (a configuration it refused), which becomes the ValueError
    kind. Other exceptions pass unchanged."""
    value_cls, type_cls = _ARGUMENT_CLASSES[client_error]

    def decorate(init: _F) -> _F:
        @functools.wraps(init)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return init(*args, **kwargs)
            except client_error:
                raise
            except (TypeError, ValueError, GofkaError) as exc:
                if isinstance(exc, TypeError):
                    cls = type_cls
                elif isinstance(exc, ValueError) or type(exc) is GofkaError and exc.code == _INVALID_ARGUMENT:
                    cls = value_cls
                else:
                    raise
                if isinstance(exc, GofkaError):
                    new = cls(exc.message, exc.code, exc.name, exc.retriable, exc.broker, exc.description)
                else:
                    new = cls(str(exc), _INVALID_ARGUMENT, "INVALID_ARGUMENT")
                raise new.with_traceback(exc.__traceback__) from None

        return cast(_F, wrapper)

    return decorate


class ForkError(GofkaError, RuntimeError):
    """This process was forked after its parent had started the engine
    (libgofka), whose threads do not survive ``fork()``: neither the clients
    inherited from the parent nor new ones can work here. Raised by the
    first call that needs the engine, never by a finalizer (an inherited
    client's ``close`` in the child only drops its handle). The fix: create
    clients after the fork, or use the ``spawn`` / ``forkserver`` start
    method of multiprocessing. ``code`` is 0 (the library never sees the
    call), ``name`` ``FORKED_PROCESS``; not retriable."""


_CATEGORY_CLASSES: Dict[str, Type[GofkaError]] = {
    "connection": ConnectionError,
    "produce": ProduceError,
    "consume": ConsumeError,
    "offset": OffsetError,
    "group": GroupCoordinationError,
    "metadata": MetadataError,
    "auth": AuthenticationError,
    "transaction_abortable": TransactionAbortableError,
    "transaction_fatal": TransactionFatalError,
    "generic": GofkaError,
}


def class_for_category(category: str) -> Type[GofkaError]:
    """The exception class used for an error-table category (GofkaError for
    ``generic`` and any category this version of the bindings does not know)."""
    return _CATEGORY_CLASSES.get(category, GofkaError)


class ErrorInfo(object):
    """One row of the library's error table."""

    __slots__ = ("code", "name", "retriable", "category", "description")

    def __init__(self, code: int, name: str, retriable: bool, category: str, description: str) -> None:
        self.code = code
        self.name = name
        self.retriable = retriable
        self.category = category
        self.description = description

    def __repr__(self) -> str:
        return "ErrorInfo(code=%d, name=%r, retriable=%r, category=%r)" % (
            self.code,
            self.name,
            self.retriable,
            self.category,
        )


_table: Optional[Dict[int, ErrorInfo]] = None
_table_lock = threading.Lock()


def _parse_table(text: str) -> Dict[int, ErrorInfo]:
    loaded: Dict[int, ErrorInfo] = {}
    for row in json.loads(text):
        info = ErrorInfo(
            int(row["code"]),
            str(row["name"]),
            bool(row["retriable"]),
            str(row.get("category", "generic")),
            str(row.get("description", "")),
        )
        loaded[info.code] = info
    return loaded


def install_table(text: str) -> None:
    """Keeps the JSON error table that _native.load read right after loading
    the library, under its load lock (so a process forked later has it and
    builds errors without the engine). Takes no lock: racing with
    error_table() at worst parses the same table twice."""
    global _table
    if _table is None:
        _table = _parse_table(text)


_generated: Optional[Dict[int, ErrorInfo]] = None


def error_table() -> Dict[int, ErrorInfo]:
    """The library's error table, keyed by code: read from the library when
    it loads; until then (a process that has created no client yet) the
    same table generated into gofka/_error_table.py, so that building an
    error never starts the engine (docs/architecture.md, "fork()")."""
    global _table, _generated
    table = _table
    if table is not None:
        return table
    from . import _native

    if not _native.loaded() or _native.forked_from():
        generated = _generated
        if generated is None:
            from ._error_table import TABLE_JSON

            generated = _generated = _parse_table(TABLE_JSON)
        return generated
    with _table_lock:
        if _table is None:  # loaded by another thread, which is installing it now
            _table = _parse_table(_native.error_table_json())
        return _table


def class_for_code(code: int) -> Type[GofkaError]:
    """The exception class raised for an error code: the class of its
    category in the error table (docs/errors.md lists every code with its
    class); GofkaError for a code the table does not know."""
    info = error_table().get(code)
    return GofkaError if info is None else class_for_category(info.category)


def error_from_code(
    code: int,
    message: str = "",
    name: Optional[str] = None,
    retriable: Optional[bool] = None,
    broker: Optional[str] = None,
) -> GofkaError:
    """Builds (does not raise) the exception for a library error code.

    The class comes from the code's category in the error table; ``name`` and
    ``retriable`` default to the table's values (a code missing from the table
    gives a plain GofkaError named ``UNKNOWN_ERROR_<code>``, not retriable).
    """
    info = error_table().get(code)
    if info is None:
        cls: Type[GofkaError] = GofkaError
        default_name = "UNKNOWN_ERROR_%d" % code
        default_retriable = False
        description = ""
    else:
        cls = class_for_category(info.category)
        default_name = info.name
        default_retriable = info.retriable
        description = info.description
    return cls(
        message,
        code=code,
        name=name or default_name,
        retriable=default_retriable if retriable is None else bool(retriable),
        broker=broker,
        description=description,
    )
