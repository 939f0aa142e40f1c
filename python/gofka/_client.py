"""Shared handle management for the classes that own a native handle."""

from __future__ import annotations

import abc
import inspect
import threading
import weakref
from ctypes import byref
from typing import Any, Awaitable, Callable, Dict, List, Optional, Protocol, TypeVar, Union

from . import _log, _native
from ._ranges import CHOICES, RANGES
from .exceptions import GofkaError, error_from_code


def validate_brokers(brokers: Any) -> str:
    if not isinstance(brokers, str):
        raise TypeError("brokers must be a str such as 'host:9092,host2:9092', not %s" % type(brokers).__name__)
    if not brokers.strip():
        raise ValueError("brokers must not be empty")
    return brokers


def validate_client_id(client_id: Any) -> str:
    if not isinstance(client_id, str):
        raise TypeError("client_id must be str, not %s" % type(client_id).__name__)
    return client_id


def merge_config(cfg: Dict[str, Any], config: Any, owned: Optional[Dict[str, str]] = None) -> None:
    """Adds a client's ``config=`` argument to the configuration ``cfg``
    its other arguments made: a dict of further Kafka property names to
    values (docs/configuration.md), e.g. ``{"client.rack": "a"}``; its
    keys win. None adds nothing; anything but a dict is a TypeError.

    ``owned`` maps the properties the Python side reads too (so that
    overriding them would make it disagree with the engine) to their
    keyword argument: such a key in ``config`` is a ValueError naming the
    keyword to use instead."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise TypeError("config must be a dict of Kafka property names to values")
    for key, keyword in (owned or {}).items():
        if key in config:
            raise ValueError("config key %r is set with the %s= argument: pass it there" % (key, keyword))
    cfg.update(config)


_T = TypeVar("_T")


async def maybe_await(value: Union[_T, Awaitable[_T]]) -> _T:
    """``value``, awaited when it is awaitable (a callback of the user's
    that may be a plain function or a coroutine function: retry.py,
    failover.py, AsyncConsumer's rebalance callbacks)."""
    if inspect.isawaitable(value):
        return await value
    return value


#: The longest time any argument may give, in milliseconds: the C ABI
#: carries times as int32 milliseconds (2,147,483,647 ms, about 24.8 days).
MAX_TIME_MS = 2 ** 31 - 1


def check_time(
    name: str,
    value: Any,
    *,
    unit: str = "s",
    positive: bool = False,
    minimum: Union[int, float] = 0,
    none_ok: bool = False,
    unbounded: bool = False,
) -> Optional[Union[int, float]]:
    """The one check of every time argument of the public API (timeouts,
    intervals, backoffs, in seconds when ``unit`` is "s", else in ms).

    The rule, the same for every such argument:

    * not an int or float (bool included) -> TypeError naming ``name``;
      None only where the argument documents a meaning for it
      (``none_ok``), and then None is returned;
    * NaN, a negative value, a value below ``minimum`` (in ``unit``), or 0
      when ``positive`` -> ValueError naming ``name``;
    * ``inf``: where None means "no bound" (``unbounded``) it means the
      same and None is returned; elsewhere ValueError;
    * a finite value above MAX_TIME_MS (2,147,483,647 ms, about 24.8 days:
      the C ABI's int32 milliseconds) -> ValueError; never clamped.

    Returns the value unchanged (an int in ms when unit is "ms" and the
    value is integral).
    """
    what = "seconds" if unit == "s" else "milliseconds"
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("%s must be a number of %s%s, not %s"
                        % (name, what, " or None" if none_ok else "", type(value).__name__))
    if value == float("inf") and unbounded:
        return None
    lo = "> 0" if positive else ">= %r" % (minimum,)
    if value != value or value < 0 or value < minimum or (positive and value == 0) or value == float("inf"):
        raise ValueError("%s must be a finite number of %s %s%s, got %r"
                         % (name, what, lo, " (or inf/None for no bound)" if unbounded else "", value))
    limit = MAX_TIME_MS / 1000 if unit == "s" else MAX_TIME_MS
    if value > limit:
        raise ValueError("%s must be at most %r %s (2**31-1 ms, the C ABI's int32 limit), got %r"
                         % (name, limit, what, value))
    if unit != "s" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def check_ms(name: str, value: Any, minimum: int = 0) -> int:
    """check_time of a duration in milliseconds, as the int number of ms
    (fractions are dropped) that goes into the configuration."""
    ms = check_time(name, value, unit="ms", minimum=minimum)
    assert ms is not None
    return int(ms)


def check_setting(name: str, value: Any, prop: str) -> int:
    """An int keyword argument ``name`` that sets the numeric property
    ``prop``: TypeError when it is not an int, ValueError outside the
    property's range. The range is the engine's (_ranges.RANGES, generated
    from core/validate.go), the one the property table and the Go options
    check too, so that every door accepts the same values."""
    lo, hi = RANGES[prop]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be int, not %s" % (name, type(value).__name__))
    if value < lo or value > hi:
        raise ValueError("%s must be between %d and %d (%s), got %d" % (name, lo, hi, prop, value))
    return value


def check_setting_ms(name: str, value: Any, prop: str) -> int:
    """check_setting of a duration property in milliseconds: the rule of
    every time argument (check_time: int or float, no NaN or inf) within
    the property's range; returns the int number of ms (fractions are
    dropped) that goes into the configuration."""
    lo, hi = RANGES[prop]
    ms = check_ms(name, value, lo)
    if ms > hi:
        raise ValueError("%s must be at most %d ms (%s), got %r" % (name, hi, prop, value))
    return ms


def choice_rule(prop: str) -> str:
    """The accepted values of the enumerated property ``prop`` in words,
    as the engine says them: "one of a, b, c (prop, any case)"."""
    choice = CHOICES[prop]
    accepted = list(choice.values) + [a for a in choice.aliases if a]
    case = "case-sensitive" if choice.case == "exact" else "any case"
    return "%s %s (%s, %s)" % ("a list of" if choice.is_list else "one of", ", ".join(accepted), prop, case)


def check_choice(name: str, value: Any, prop: str) -> str:
    """A str keyword argument ``name`` that sets the enumerated property
    ``prop``: TypeError when it is not a str, ValueError when it is not one
    of the property's accepted values; returns the canonical spelling that
    goes into the configuration ("" where an alias means "leave unset").

    The accepted values, their case rule and aliases are the engine's
    (_ranges.CHOICES, generated from core/choices.go), which the property
    table and the Go options check too, so that every door accepts the same
    values; like the property table, spaces around a value are ignored.
    For a list property (``is_list``) the value is a str of
    comma-separated values or a list of str, of at least one value; the
    result is the canonical spellings joined with commas."""
    choice = CHOICES[prop]

    def one(item: Any) -> str:
        if not isinstance(item, str):
            raise TypeError("%s must be %s, not %s" % (name, "a str or a list of str" if choice.is_list else "str",
                                                      type(item).__name__))
        key = item.strip()
        if choice.case == "lower":
            key = key.lower()
        elif choice.case == "upper":
            key = key.upper()
        if key in choice.aliases:
            return choice.aliases[key]
        if key in choice.values:
            return key
        raise ValueError("%s must be %s, got %r" % (name, choice_rule(prop), item))

    if not choice.is_list:
        return one(value)
    if isinstance(value, str):
        items: List[Any] = value.split(",")
    else:
        try:
            items = list(value)
        except TypeError:
            raise TypeError("%s must be a str or a list of str, not %s" % (name, type(value).__name__)) from None
    names = [one(item) for item in items if not (isinstance(item, str) and not item.strip())]
    if not names:
        raise ValueError("%s must be %s, got none" % (name, choice_rule(prop)))
    return ",".join(names)


def validate_timeout(timeout: Any) -> Union[int, float]:
    """A client's ``timeout`` argument (seconds, > 0, finite)."""
    checked = check_time("timeout", timeout, positive=True)
    assert checked is not None
    return checked


def closed_error(owner: Any, kind: str) -> GofkaError:
    """The error of a call on a client whose handle is 0: ForkError when the
    handle was dropped because this process was forked after creating it
    (``owner._forked_from``, set by _native's fork hook), else
    CLIENT_CLOSED ("<kind> is closed")."""
    if getattr(owner, "_forked_from", 0):
        return _native.fork_error("this %s was created before the fork, belongs to the parent and cannot be used "
                                  "in this process (nor can a new client)" % kind)
    return error_from_code(_native.ERR_CLIENT_CLOSED, "%s is closed" % kind)


class OpenClients(object):
    """The clients of one kind (producers, consumers) not closed yet, by
    id, held weakly, for an exit hook that closes those of this process.
    Only single dict operations touch it (atomic under the GIL; no lock,
    since a weakref callback run by the garbage collector may fire in a
    thread that would hold it)."""

    def __init__(self) -> None:
        self._refs: Dict[int, "weakref.ReferenceType[Any]"] = {}

    def add(self, client: Any) -> None:
        """Watches a new client (until it is closed or dies)."""
        key = id(client)
        refs = self._refs

        def forget(ref: "weakref.ReferenceType[Any]") -> None:  # the client died
            if refs.get(key) is ref:
                refs.pop(key, None)

        refs[key] = weakref.ref(client, forget)

    def discard(self, client: Any) -> None:
        """Stops watching a client (it is being closed)."""
        ref = self._refs.get(id(client))
        if ref is not None and ref() is client:
            self._refs.pop(id(client), None)

    def alive(self) -> List[Any]:
        """The clients watched now (a snapshot)."""
        out = []
        for ref in list(self._refs.copy().values()):
            c = ref()
            if c is not None:
                out.append(c)
        return out


_Owner = TypeVar("_Owner", bound="HandleOwner")


class _ClientState(Protocol):
    """What ConnectedFlag reads of the client it is mixed into."""

    _connected: bool

    @property
    def closed(self) -> bool: ...


class ConnectedFlag(object):
    """The ``connected`` attribute of every client, sync and asyncio (code
    written for the original Gofka client reads it). ``connect()`` sets
    ``_connected``; the client's own ``closed`` ends it."""

    _connected = False  # set by connect()

    @property
    def connected(self: _ClientState) -> bool:
        """True once ``connect()`` succeeded (``async with`` calls it on
        entry), until ``close()``. Operations also connect on demand without
        setting it: False means that connect() was not called (or failed),
        not that the client cannot work."""
        return self._connected and not self.closed


class HandleBase(object):
    """Owns one native handle: hands it out under a lock and destroys it once.

    What synchronous and asyncio clients share. It declares no ``close``:
    a synchronous client's close is a plain method (HandleOwner, which adds
    ``with``), an asyncio client's is a coroutine (AsyncHandleOwner, which
    adds ``async with``); one signature cannot serve both. Both get the
    one finalizer (Finalized, calling the class's synchronous
    ``_finalize``), and the objects whose close does not wait destroy their
    handle through _destroy_handle.

    Calls take the handle under the lock but run the C function outside it,
    so concurrent calls proceed in parallel (the library is thread-safe). A
    close that races with a call is safe: the library answers the call with
    INVALID_HANDLE / CLIENT_CLOSED, reported as CLIENT_CLOSED.

    In a child forked after the handle was created, the handle reads 0
    (_native.track): the object is closed there, close and finalizers do
    nothing, and calls raise ForkError.
    """

    _kind = "client"
    _forked_from = 0  # set on the instance by _native's fork hook

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handle = 0

    def _set_handle(self, handle: int) -> None:
        with self._lock:
            self._handle = handle
        _native.track(self)
        _log.sync_level()  # before any I/O: engine log lines follow logging's config

    @property
    def closed(self) -> bool:
        """True once close() was called (or construction failed)."""
        return self._handle == 0

    def _closed_error(self) -> GofkaError:
        return closed_error(self, self._kind)

    def _get(self) -> int:
        handle = self._handle
        if handle == 0:
            raise self._closed_error()
        return handle

    def _call(self, fn: Callable[..., int], *args: Any) -> None:
        """Calls ``fn(handle, *args, &err)`` and raises on failure."""
        handle = self._get()
        err = _native.new_error()
        code = fn(handle, *args, byref(err))
        if code != _native.OK:
            raise self._failure(code, err)

    def _call_returning_buffer(self, fn: Callable[..., int], *args: Any) -> bytes:
        handle = self._get()
        try:
            return _native.call_returning_buffer(fn, handle, *args)
        except GofkaError as exc:
            if self._closed_meanwhile(exc.code):
                raise self._closed_error() from None
            raise

    def _closed_meanwhile(self, code: int) -> bool:
        """Whether a call failed because another thread closed this object
        while it ran (then the caller raises _closed_error())."""
        return code == _native.ERR_INVALID_HANDLE and self._handle == 0

    def _failure(self, code: int, err: Optional[_native.gofka_error_t]) -> GofkaError:
        return self._closed_error() if self._closed_meanwhile(code) else _native.make_error(code, err)

    def _failure_from_fields(self, code: int, name: bytes, message: bytes, broker: bytes, retriable: int) -> GofkaError:
        """_failure of a call made from the C speedups, given the fields of
        its error struct."""
        if self._closed_meanwhile(code):
            return self._closed_error()
        return _native.error_from_fields(code, name, message, broker, retriable)

    def _take_handle(self) -> int:
        """Detaches the handle (0 if already closed); the caller destroys it."""
        with self._lock:
            handle, self._handle = self._handle, 0
        security = getattr(self, "_security", None)
        if security is not None:
            security.stop()  # ends the OAUTHBEARER token refresh (_security.py)
        reporter = getattr(self, "_stats_reporter", None)
        if reporter is not None:
            reporter.stop()  # ends the on_stats reports (_stats.py)
        return handle

    def _owned_bridges(self) -> List[Any]:
        """Hook: the asyncio bridges (_bridge.AsyncBridge) this object
        holds, detached from it, for _destroy_handle to close (default:
        none)."""
        return []

    def _destroy_handle(self, destroy: Callable[..., int], *args: Any, raise_errors: bool = True) -> None:
        """The close of an object whose engine needs no asyncio wait:
        detaches the handle (_take_handle: nothing when closed already, or
        in a child forked after creation), destroys it with
        ``destroy(handle, *args, &err)`` (a ``gofka_*_close``), then closes
        the bridges it holds (_owned_bridges), failing their pending
        operations with CLIENT_CLOSED, also when destroy failed. A failure
        of destroy is raised unless ``raise_errors`` is False (a finalizer,
        or a close made while another error propagates). Idempotent; safe
        from any thread."""
        handle = self._take_handle()
        try:
            if handle:
                err = _native.new_error()
                code = destroy(handle, *args, byref(err))
                if raise_errors:
                    _native.check(code, err)
        finally:
            for bridge in self._owned_bridges():
                try:
                    bridge.close()
                except Exception:  # a bridge of a closed loop: nothing left to fail
                    pass


class Finalized(HandleBase, metaclass=abc.ABCMeta):
    """The finalizer of every handle owner: an object dropped without
    close() is closed synchronously by ``_finalize`` (which may run in any
    thread, at any time, so its errors are swallowed here). In a child
    forked after creation the handle reads 0 and nothing happens. The
    hooks below are abstract: a class that lacks one cannot be
    instantiated (TypeError naming it)."""

    @abc.abstractmethod
    def _finalize(self) -> None:
        """Hook: the synchronous close of an unclosed object."""

    def __del__(self) -> None:
        try:
            if getattr(self, "_handle", 0):
                self._finalize()
        except Exception:
            pass


class HandleOwner(Finalized):
    """A synchronous client's handle: ``close()`` (the subclass's),
    ``with`` (closes on exit) and a finalizer that closes an object
    dropped without close() (with close(), unless the subclass's
    _finalize says otherwise)."""

    def __enter__(self: _Owner) -> _Owner:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @abc.abstractmethod
    def close(self) -> None:
        """Hook: the client's close."""

    def _finalize(self) -> None:
        self.close()


_AsyncOwner = TypeVar("_AsyncOwner", bound="AsyncHandleOwner")


class AsyncHandleOwner(Finalized):
    """An asyncio client's handle: ``async with`` connects on entry and
    closes on exit, and the finalizer (Finalized) closes an object dropped
    without close() synchronously (the subclass's _finalize: its loop may
    be gone). An entry whose connect fails closes the client before the
    error propagates, so that a failed ``async with`` leaves nothing open
    (the exit would not run)."""

    @abc.abstractmethod
    async def connect(self) -> None:
        """Hook: the client's connect."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Hook: the client's close."""

    async def __aenter__(self: _AsyncOwner) -> _AsyncOwner:
        try:
            await self.connect()
        except BaseException:
            try:
                await self.close()
            except Exception:  # the entry's error is the one to report
                pass
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()
