"""TLS and SASL options of every client: keyword arguments -> config keys.

Every client constructor (Producer, Consumer, AdminClient, the async
clients, ConnectionPool) takes the same keyword arguments, or one
:class:`SecuritySettings` as ``security=`` (gofka.SecuritySettings, which
validates them, once, in one place); :class:`SecurityOptions` turns the
settings into the engine's configuration keys (``security.protocol``,
``ssl.*``, ``sasl.*``; see docs/security.md) and refreshes OAUTHBEARER
tokens:

``use_ssl`` (False), ``ssl_cafile``, ``ssl_certfile``, ``ssl_keyfile``,
``ssl_password``, ``ssl_check_hostname`` (True), ``security_protocol``
(None: derived), ``sasl_mechanism`` (None, PLAIN, SCRAM-SHA-256,
SCRAM-SHA-512, OAUTHBEARER), ``sasl_username``, ``sasl_password``,
``sasl_oauth_token_provider``.

The protocol, when not given, is derived: SASL_SSL with ``use_ssl=True``
and a mechanism, SSL with ``use_ssl=True`` alone, PLAINTEXT otherwise. SASL
without TLS sends credentials over the network unencrypted (PLAIN: the
password itself), so it must be asked for explicitly with
``security_protocol="SASL_PLAINTEXT"``; a mechanism without ``use_ssl``
and without that is a ValueError.

OAUTHBEARER tokens come from ``sasl_oauth_token_provider``: a callable
returning the token (a ``str``, e.g. a JWT) or ``(token, expires_at)``
with ``expires_at`` in seconds since the epoch; an object with a
``token()`` method (kafka-python's / aiokafka's AbstractTokenProvider) is
accepted too, and a coroutine result is run to completion. The provider is
always called in a Python thread, never from the engine: once in the
constructor, and again by a daemon thread of the client ("gofka-oauth")
when 80% of the token's lifetime has passed (the lifetime comes from
``expires_at`` or from the JWT ``exp`` claim; a token with neither is
fetched once). The new token goes to the engine with
``gofka_oauth_token_set``; connections made later use it.

Secrets (passwords, tokens) never appear in reprs, error messages or log
lines: errors name the argument, not its value.
"""

from __future__ import annotations

import base64
import ctypes
import inspect
import json
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, TypedDict

from . import _native
from ._client import check_choice
from ._keywords import KeywordGroup
from ._ranges import CHOICES

__all__ = ["SecuritySettings", "SecurityOptions", "SECURITY_PROTOCOLS", "SASL_MECHANISMS"]

# The accepted values are the engine's (core/choices.go, generated into
# _ranges.CHOICES; any case, as the properties).
#: Values of ``security_protocol``.
SECURITY_PROTOCOLS = CHOICES["security.protocol"].values
#: Values of ``sasl_mechanism``.
SASL_MECHANISMS = CHOICES["sasl.mechanism"].values

_log = logging.getLogger("gofka.security")

#: Retry delay after a failed token refresh (seconds), capped by the
#: remaining lifetime.
_REFRESH_RETRY = 10.0
#: Refresh when this fraction of the lifetime has passed.
_REFRESH_AT = 0.8


class _Secret(str):
    """A str whose repr hides it (so a secret in a dict or a traceback's
    locals does not print)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[redacted]'"


def _path(value: Any, name: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError("%s must be a path (str or os.PathLike) or None, not %s" % (name, type(value).__name__))
    path = os.fspath(value)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise ValueError("%s must not be empty" % name)
    if "\n" in path or "\r" in path or "\0" in path:
        raise ValueError("%s must not contain newlines or NUL" % name)
    if path != path.strip():
        raise ValueError("%s must not start or end with whitespace" % name)
    return path


def _secret(value: Any, name: str) -> Optional[_Secret]:
    """Validates a password; errors never show the value."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("%s must be str or None, not %s" % (name, type(value).__name__))
    if not value:
        raise ValueError("%s must not be empty" % name)
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError("%s must not contain newlines or NUL characters" % name)
    if value != value.strip():
        # the engine's key=value configuration trims values
        raise ValueError("%s must not start or end with whitespace" % name)
    return _Secret(value)


def _text(value: Any, name: str) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("%s must be str or None, not %s" % (name, type(value).__name__))
    if not value or value != value.strip() or "\n" in value or "\r" in value or "\0" in value:
        raise ValueError("%s must be a non-empty string without surrounding whitespace or newlines, got %r" % (name, value))
    return value


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError("%s must be bool, not %s" % (name, type(value).__name__))
    return value


_B64TOKEN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/")


def _check_token(token: Any) -> _Secret:
    """RFC 6750 b64token syntax, as the engine requires; the error never
    shows the token."""
    if not isinstance(token, str):
        raise TypeError("sasl_oauth_token_provider must return a str token (or (token, expires_at)), not %s" % type(token).__name__)
    body = token.rstrip("=")
    if not body or any(c not in _B64TOKEN for c in body):
        raise ValueError(
            "sasl_oauth_token_provider returned a malformed token (a bearer token has letters, digits and -._~+/ then optional '=')"
        )
    return _Secret(token)


def _jwt_expiry(token: str) -> Optional[float]:
    """The ``exp`` claim of a JWT, or None."""
    parts = token.split(".")
    if len(parts) < 2:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
        exp = claims.get("exp") if isinstance(claims, dict) else None
        if isinstance(exp, (int, float)) and not isinstance(exp, bool):
            return float(exp)
    except (ValueError, UnicodeError, TypeError):
        pass
    return None


def _run_coroutine(coro: Any) -> Any:
    """Runs a coroutine to completion on a loop of its own, in a helper
    thread (the calling thread may be running an event loop already)."""
    box: Dict[str, Any] = {}

    def run() -> None:
        try:
            import asyncio  # only for a coroutine callback: import gofka does not import asyncio

            box["value"] = asyncio.run(_await(coro))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=run, name="gofka-oauth-provider", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def _await(aw: Any) -> Any:
    return await aw


#: The eleven TLS/SASL keyword arguments of every client constructor, with
#: their defaults (SecuritySettings' fields, in order).
SECURITY_ARGUMENTS: Tuple[Tuple[str, Any], ...] = (
    ("use_ssl", False),
    ("ssl_cafile", None),
    ("ssl_certfile", None),
    ("ssl_keyfile", None),
    ("ssl_password", None),
    ("ssl_check_hostname", True),
    ("security_protocol", None),
    ("sasl_mechanism", None),
    ("sasl_username", None),
    ("sasl_password", None),
    ("sasl_oauth_token_provider", None),
)


@dataclass(frozen=True)
class SecuritySettings(object):
    """The TLS and SASL settings of a client, validated once.

    Every client constructor takes these as keyword arguments (use_ssl,
    ssl_cafile, ...: see the module docstring and docs/security.md) and
    builds this object from them; it also takes a ready one as
    ``security=SecuritySettings(...)`` (then the keyword arguments must
    keep their defaults: passing both is a ValueError). One object may
    serve many clients: it is immutable and holds no thread or token (the
    OAUTHBEARER provider is first called by each client's constructor).

    Validation and normalisation happen here and only here: paths become
    str, ``sasl_mechanism`` and ``security_protocol`` upper case (they are
    accepted in any case, as the properties; ``sasl_mechanism=""`` is None,
    as the property's empty value), and
    ``security_protocol`` None is replaced by the derived protocol (so
    ``SecuritySettings(use_ssl=True).security_protocol == "SSL"``).
    Passwords are kept as strs whose repr is redacted, and are left out of
    this object's repr.
    """

    use_ssl: bool = False
    ssl_cafile: Optional[str] = None
    ssl_certfile: Optional[str] = None
    ssl_keyfile: Optional[str] = None
    ssl_password: Optional[str] = field(default=None, repr=False)
    ssl_check_hostname: bool = True
    security_protocol: Optional[str] = None
    sasl_mechanism: Optional[str] = None
    sasl_username: Optional[str] = None
    sasl_password: Optional[str] = field(default=None, repr=False)
    sasl_oauth_token_provider: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)  # normalising a frozen instance

        use_ssl = _check_bool(self.use_ssl, "use_ssl")
        _check_bool(self.ssl_check_hostname, "ssl_check_hostname")
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            put(name, _path(getattr(self, name), name))
        put("ssl_password", _secret(self.ssl_password, "ssl_password"))
        put("sasl_username", _text(self.sasl_username, "sasl_username"))
        put("sasl_password", _secret(self.sasl_password, "sasl_password"))

        mech = self.sasl_mechanism
        if mech is not None:
            if not isinstance(mech, str):
                raise TypeError("sasl_mechanism must be str or None, not %s" % type(mech).__name__)
            mech = check_choice("sasl_mechanism", mech, "sasl.mechanism") or None  # "" = none, as None
            put("sasl_mechanism", mech)

        proto = self.security_protocol
        if proto is None:
            if mech is not None:
                if not use_ssl:
                    raise ValueError(
                        "sasl_mechanism=%r without TLS would send credentials unencrypted: pass use_ssl=True "
                        "(SASL_SSL), or security_protocol='SASL_PLAINTEXT' to do so on purpose" % mech
                    )
                proto = "SASL_SSL"
            else:
                proto = "SSL" if use_ssl else "PLAINTEXT"
        else:
            if not isinstance(proto, str):
                raise TypeError("security_protocol must be str or None, not %s" % type(proto).__name__)
            proto = check_choice("security_protocol", proto, "security.protocol")
            if use_ssl and proto in ("PLAINTEXT", "SASL_PLAINTEXT"):
                raise ValueError("use_ssl=True contradicts security_protocol=%r" % proto)
        put("security_protocol", proto)
        tls = proto in ("SSL", "SASL_SSL")
        sasl = proto in ("SASL_SSL", "SASL_PLAINTEXT")

        if not tls:
            for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_password"):
                if getattr(self, name) is not None:
                    raise ValueError("%s needs TLS: pass use_ssl=True (security_protocol is %s)" % (name, proto))
            if not self.ssl_check_hostname:
                raise ValueError("ssl_check_hostname=False needs TLS: pass use_ssl=True (security_protocol is %s)" % proto)
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError("ssl_keyfile needs ssl_certfile (the client certificate of mutual TLS)")
        if self.ssl_password is not None and self.ssl_certfile is None:
            raise ValueError("ssl_password decrypts the key of ssl_certfile/ssl_keyfile: pass those too")

        provider = self.token_provider()
        if not sasl:
            for name, value in (
                ("sasl_mechanism", mech),
                ("sasl_username", self.sasl_username),
                ("sasl_password", self.sasl_password),
                ("sasl_oauth_token_provider", provider),
            ):
                if value is not None:
                    raise ValueError("%s is given but security_protocol=%r uses no SASL" % (name, proto))
            return
        if mech is None:
            raise ValueError("security_protocol=%r needs sasl_mechanism (one of %s)" % (proto, ", ".join(SASL_MECHANISMS)))
        if mech == "OAUTHBEARER":
            if self.sasl_username is not None or self.sasl_password is not None:
                raise ValueError("OAUTHBEARER takes no sasl_username/sasl_password: pass sasl_oauth_token_provider")
            if provider is None:
                raise ValueError("sasl_mechanism='OAUTHBEARER' needs sasl_oauth_token_provider")
        else:
            if provider is not None:
                raise ValueError("sasl_oauth_token_provider is only used with sasl_mechanism='OAUTHBEARER'")
            if self.sasl_username is None or self.sasl_password is None:
                raise ValueError("sasl_mechanism=%r needs sasl_username and sasl_password" % mech)

    def token_provider(self) -> Optional[Callable[[], Any]]:
        """The OAUTHBEARER provider as a callable (an object with a
        ``token()`` method gives that method), or None. TypeError for
        anything else."""
        provider: Any = self.sasl_oauth_token_provider
        if provider is None:
            return None
        if callable(provider):
            return provider  # type: ignore[no-any-return]
        token_method = getattr(provider, "token", None)
        if not callable(token_method):
            raise TypeError(
                "sasl_oauth_token_provider must be a callable returning a token, or an object with a token() method"
            )
        return token_method  # type: ignore[no-any-return]

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> "SecuritySettings":
        """The settings of a client constructor's arguments (its
        ``locals()``): its ``security=`` object when given, else one built
        from the eleven keyword arguments. Both at once is a ValueError
        naming the keyword arguments that were passed (a value other than
        the default counts as passed)."""
        given = arguments.get("security")
        if given is None:
            return cls(**{name: arguments[name] for name, _ in SECURITY_ARGUMENTS})
        if not isinstance(given, cls):
            raise TypeError("security must be a gofka.SecuritySettings or None, not %s" % type(given).__name__)
        clash = [name for name, default in SECURITY_ARGUMENTS if arguments[name] is not default]
        if clash:
            raise ValueError(
                "pass TLS/SASL options either as security=SecuritySettings(...) or as keyword arguments, "
                "not both (security= and %s were given)" % ", ".join(clash)
            )
        return given


class SecurityOptions(object):
    """The security settings of one client at run time.

    Built from a :class:`SecuritySettings` (or from its keyword arguments,
    which it validates); fetches the first OAUTHBEARER token. ``config()``
    gives the configuration keys; ``attach(owner)`` starts the OAUTHBEARER
    token refresh for the client once it has its handle; ``stop()`` ends it
    (HandleBase calls it on close). Owned by one client.
    """

    __slots__ = (
        "settings",
        "use_ssl",
        "security_protocol",
        "sasl_mechanism",
        "sasl_username",
        "ssl_cafile",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_check_hostname",
        "_ssl_password",
        "_sasl_password",
        "_provider",
        "_token",
        "_expires_at",
        "_stop",
        "_thread",
        "__weakref__",
    )

    def __init__(self, settings: Optional[SecuritySettings] = None, **keywords: Any) -> None:
        if settings is None:
            settings = SecuritySettings(**keywords)
        elif keywords:
            raise TypeError("SecurityOptions takes a SecuritySettings or its keyword arguments, not both")
        self.settings = settings
        self.use_ssl = settings.use_ssl
        self.ssl_check_hostname = settings.ssl_check_hostname
        self.ssl_cafile = settings.ssl_cafile
        self.ssl_certfile = settings.ssl_certfile
        self.ssl_keyfile = settings.ssl_keyfile
        self._ssl_password = settings.ssl_password
        self.sasl_username = settings.sasl_username
        self._sasl_password = settings.sasl_password
        self.sasl_mechanism = settings.sasl_mechanism
        self.security_protocol = settings.security_protocol
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._token: Optional[_Secret] = None
        self._expires_at: Optional[float] = None
        self._provider: Optional[Callable[[], Any]] = settings.token_provider()
        if settings.sasl_mechanism == "OAUTHBEARER":
            self._token, self._expires_at = self._fetch()

    def __repr__(self) -> str:
        parts = ["security_protocol=%r" % self.security_protocol]
        if self.sasl_mechanism:
            parts.append("sasl_mechanism=%r" % self.sasl_mechanism)
        if self.sasl_username:
            parts.append("sasl_username=%r" % self.sasl_username)
        return "<gofka SecurityOptions %s>" % " ".join(parts)

    def config(self) -> Dict[str, Any]:
        """The engine configuration keys (only those that differ from the
        defaults, so a plaintext client adds nothing)."""
        proto = self.security_protocol
        if proto == "PLAINTEXT":
            return {}
        out: Dict[str, Any] = {"security.protocol": proto}
        if proto in ("SSL", "SASL_SSL"):
            if self.ssl_cafile is not None:
                out["ssl.ca.location"] = self.ssl_cafile
            if self.ssl_certfile is not None:
                out["ssl.certificate.location"] = self.ssl_certfile
            if self.ssl_keyfile is not None:
                out["ssl.key.location"] = self.ssl_keyfile
            if self._ssl_password is not None:
                out["ssl.key.password"] = self._ssl_password
            if not self.ssl_check_hostname:
                out["ssl.endpoint.identification.algorithm"] = "none"
        if self.sasl_mechanism is not None:
            out["sasl.mechanism"] = self.sasl_mechanism
            if self.sasl_mechanism == "OAUTHBEARER":
                out["sasl.oauthbearer.token"] = self._token
            else:
                out["sasl.username"] = self.sasl_username
                out["sasl.password"] = self._sasl_password
        return out

    # -- OAUTHBEARER token refresh ------------------------------------------

    def _fetch(self) -> Tuple[_Secret, Optional[float]]:
        """Calls the provider (in this Python thread) and returns the
        checked token and its expiry (epoch seconds) if known."""
        assert self._provider is not None
        result = self._provider()
        if inspect.isawaitable(result):
            result = _run_coroutine(result)
        expires: Any = None
        if isinstance(result, tuple):
            if len(result) != 2:
                raise ValueError("sasl_oauth_token_provider must return a token or (token, expires_at)")
            result, expires = result
        token = _check_token(result)
        if expires is not None:
            if hasattr(expires, "timestamp") and callable(expires.timestamp):
                expires = expires.timestamp()  # datetime
            if isinstance(expires, bool) or not isinstance(expires, (int, float)):
                raise TypeError("the expires_at of sasl_oauth_token_provider must be seconds since the epoch (or a datetime)")
            expires = float(expires)
        else:
            expires = _jwt_expiry(token)
        return token, expires

    def attach(self, owner: Any) -> None:
        """Starts refreshing the token of ``owner`` (a HandleOwner with a
        handle) before it expires. No-op without a provider."""
        if self._provider is None or self._expires_at is None or self._thread is not None:
            return
        ref = weakref.ref(owner)
        t = threading.Thread(target=self._refresh_loop, args=(ref,), name="gofka-oauth", daemon=True)
        self._thread = t
        t.start()

    def stop(self) -> None:
        """Stops the refresh thread (the client is closing)."""
        self._stop.set()

    def _sleep(self, ref: "weakref.ReferenceType[Any]", seconds: float) -> bool:
        """Waits ``seconds``, in slices so that a client closed without
        stop() (or collected) ends the thread soon; False = stop."""
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                return True
            if self._stop.wait(min(left, 5.0)):
                return False
            owner = ref()
            if owner is None or not getattr(owner, "_handle", 0):
                return False

    def _refresh_loop(self, ref: "weakref.ReferenceType[Any]") -> None:
        issued = time.time()
        while True:
            expires = self._expires_at
            if expires is None:
                return  # the new token has no known expiry: nothing to schedule
            if not self._sleep(ref, issued + (expires - issued) * _REFRESH_AT - time.time()):
                return
            try:
                token, expires = self._fetch()
            except Exception as exc:  # the provider's message may hold anything: log its type only
                _log.warning("OAUTHBEARER token provider failed (%s); retrying", type(exc).__name__)
                remaining = (self._expires_at or 0) - time.time()
                if not self._sleep(ref, max(1.0, min(_REFRESH_RETRY, remaining / 2))):
                    return
                continue
            owner = ref()
            handle = getattr(owner, "_handle", 0) if owner is not None else 0
            if not handle:
                return
            err = _native.new_error()
            code = _native.lib.gofka_oauth_token_set(handle, str(token).encode("ascii"), ctypes.byref(err))
            del owner
            if code != _native.OK:
                _log.warning("setting the refreshed OAUTHBEARER token failed: %s", _native.make_error(code, err))
                if code == _native.ERR_INVALID_HANDLE:
                    return
            self._token, self._expires_at = token, expires
            issued = time.time()


# -- SCRAM credential administration (AdminClient / AsyncAdminClient) --------

_SCRAM = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def _scram_mechanism(value: Any, where: str) -> str:
    if not isinstance(value, str) or value.upper() not in _SCRAM:
        raise ValueError("%s: mechanism must be 'SCRAM-SHA-256' or 'SCRAM-SHA-512', got %r" % (where, value))
    return value.upper()


def _scram_user(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("%s: user must be a non-empty str" % where)
    return value


def _entries(value: Any, name: str) -> List[Any]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)):
        raise TypeError("%s must be a list of dicts" % name)
    try:
        return list(value)
    except TypeError:
        raise TypeError("%s must be a list of dicts, not %s" % (name, type(value).__name__)) from None


def describe_user_scram_credentials_plan(users: Any = None) -> Tuple[str, Dict[str, Any], Callable[[Any], Dict[str, List[Dict[str, Any]]]]]:
    """The admin plan of describe_user_scram_credentials: ``users`` None
    (every user with credentials) or a list of names. The result is
    ``{user: [{"mechanism": str, "iterations": int}]}``."""
    names = None
    if users is not None:
        if isinstance(users, str):
            raise TypeError("users must be a list of user names, not a str")
        names = [_scram_user(u, "users") for u in users]

    def conv(result: Any) -> Dict[str, Any]:
        return {str(u): [{"mechanism": c["mechanism"], "iterations": int(c["iterations"])} for c in infos] for u, infos in result.items()}

    return "describe_user_scram_credentials", {"users": names}, conv


def alter_user_scram_credentials_plan(upsertions: Any = None, deletions: Any = None) -> Tuple[str, Dict[str, Any], Callable[[Any], None]]:
    """The admin plan of alter_user_scram_credentials.

    ``upsertions``: dicts ``{"user", "mechanism", "password", "iterations"
    (optional, default 4096), "salt" (optional bytes, default random)}``;
    ``deletions``: dicts ``{"user", "mechanism"}``. Errors never show a
    password."""
    ups = []
    for i, u in enumerate(_entries(upsertions, "upsertions")):
        where = "upsertions[%d]" % i
        if not isinstance(u, Mapping):
            raise TypeError("%s must be a dict, not %s" % (where, type(u).__name__))
        unknown = set(u) - {"user", "mechanism", "password", "iterations", "salt"}
        if unknown:
            raise ValueError("%s: unknown keys %s" % (where, ", ".join(sorted(map(str, unknown)))))
        password = u.get("password")
        if not isinstance(password, str) or not password:
            raise TypeError("%s: password must be a non-empty str" % where)
        iterations = u.get("iterations", 0)
        if isinstance(iterations, bool) or not isinstance(iterations, int):
            raise TypeError("%s: iterations must be int" % where)
        if iterations and not 4096 <= iterations <= 16384:
            raise ValueError("%s: iterations must be 4096..16384, got %d" % (where, iterations))
        salt = u.get("salt")
        if salt is not None:
            if not isinstance(salt, (bytes, bytearray, memoryview)) or not bytes(salt):
                raise TypeError("%s: salt must be non-empty bytes or None" % where)
            salt = base64.b64encode(bytes(salt)).decode("ascii")
        ups.append(
            {
                "user": _scram_user(u.get("user"), where),
                "mechanism": _scram_mechanism(u.get("mechanism"), where),
                "password": _Secret(password),
                "iterations": iterations,
                "salt": salt,
            }
        )
    dels = []
    for i, d in enumerate(_entries(deletions, "deletions")):
        where = "deletions[%d]" % i
        if not isinstance(d, Mapping):
            raise TypeError("%s must be a dict, not %s" % (where, type(d).__name__))
        unknown = set(d) - {"user", "mechanism"}
        if unknown:
            raise ValueError("%s: unknown keys %s" % (where, ", ".join(sorted(map(str, unknown)))))
        dels.append({"user": _scram_user(d.get("user"), where), "mechanism": _scram_mechanism(d.get("mechanism"), where)})
    if not ups and not dels:
        raise ValueError("give at least one upsertion or deletion")
    return "alter_user_scram_credentials", {"upsertions": ups, "deletions": dels}, lambda _: None


def client_security(arguments: Mapping[str, Any]) -> SecurityOptions:
    """The SecurityOptions of a client constructor, from its ``locals()``
    (``security=`` or the eleven keyword arguments: see
    SecuritySettings.from_arguments)."""
    return SecurityOptions(SecuritySettings.from_arguments(arguments))


class SecurityKeywords(TypedDict, total=False):
    """The TLS/SASL keywords every client constructor takes after
    ``use_ssl`` (which each constructor spells, some positionally), and
    ``security=``: declared here once, part of each client kind's keyword
    group (gofka._keywords), so mypy checks their names and types in user
    code. Defaults: SECURITY_KEYWORDS (SECURITY_ARGUMENTS', None for
    security)."""

    ssl_cafile: Optional[str]
    ssl_certfile: Optional[str]
    ssl_keyfile: Optional[str]
    ssl_password: Optional[str]
    ssl_check_hostname: bool
    security_protocol: Optional[str]
    sasl_mechanism: Optional[str]
    sasl_username: Optional[str]
    sasl_password: Optional[str]
    sasl_oauth_token_provider: Optional[Callable[[], Any]]
    security: Optional[SecuritySettings]


#: SecurityKeywords with their defaults, in the order of the signatures.
SECURITY_KEYWORDS: KeywordGroup = KeywordGroup(SecurityKeywords, **dict(SECURITY_ARGUMENTS[1:]))
