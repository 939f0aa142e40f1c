"""gofka.SecuritySettings: the one validated object of the TLS/SASL
options. Every client builds it from its keyword arguments or takes it as
``security=``; both ways configure the client alike, passing both is a
clear error, and the options are validated once per client (no broker
needed: constructors do no I/O)."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Dict, Iterator, List

import pytest

import gofka
from gofka import _security
from gofka.exceptions import GofkaError

NOWHERE = "127.0.0.1:9"  # nothing listens there; constructors do no I/O
SECRET = "Tr0ub4dor-and-3-Secrets"

#: name -> a factory of that client with extra keyword arguments.
FACTORIES: Dict[str, Callable[..., Any]] = {
    "Producer": lambda **kw: gofka.Producer(NOWHERE, **kw),
    "AsyncProducer": lambda **kw: gofka.AsyncProducer(NOWHERE, **kw),
    "Consumer": lambda **kw: gofka.Consumer(NOWHERE, "g", ["t"], **kw),
    "AsyncConsumer": lambda **kw: gofka.AsyncConsumer(NOWHERE, "g", ["t"], **kw),
    "AdminClient": lambda **kw: gofka.AdminClient(NOWHERE, **kw),
    "AsyncAdminClient": lambda **kw: gofka.AsyncAdminClient(NOWHERE, **kw),
    "ConnectionPool": lambda **kw: gofka.ConnectionPool(**kw),
}

#: The same TLS/SASL configuration, as keyword arguments.
TLS_SASL = {"use_ssl": True, "ssl_check_hostname": False, "sasl_mechanism": "scram-sha-256",
            "sasl_username": "u", "sasl_password": SECRET}


def release(client: Any) -> None:
    """Closes a client without an event loop (the async ones included):
    the synchronous close every handle owner has for its finalizer
    (_client.Finalized._finalize)."""
    client._finalize()


@pytest.fixture
def made() -> Iterator[List[Any]]:
    clients: List[Any] = []
    yield clients
    for c in clients:
        release(c)


def test_settings_validate_and_normalise() -> None:
    s = gofka.SecuritySettings(**TLS_SASL)
    assert s.security_protocol == "SASL_SSL"  # derived, stored
    assert s.sasl_mechanism == "SCRAM-SHA-256"  # upper-cased
    assert dataclasses.is_dataclass(s)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.use_ssl = False  # type: ignore[misc]
    assert SECRET not in repr(s) and SECRET not in str(s)
    # normalised settings are equal to the ones that spelled it out
    assert s == gofka.SecuritySettings(**dict(TLS_SASL, security_protocol="sasl_ssl"))
    assert gofka.SecuritySettings().security_protocol == "PLAINTEXT"
    for kwargs, exc, text in [
        ({"use_ssl": 1}, TypeError, "use_ssl"),
        ({"ssl_cafile": "/ca.pem"}, ValueError, "needs TLS"),
        ({"sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": SECRET}, ValueError, "SASL_PLAINTEXT"),
        ({"use_ssl": True, "sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": 42}, TypeError, "callable"),
        ({"use_ssl": True, "sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": SECRET + "\n"}, ValueError, "newlines"),
    ]:
        with pytest.raises(exc) as info:
            gofka.SecuritySettings(**kwargs)
        assert text in str(info.value)
        assert SECRET not in str(info.value)


def test_the_settings_fields_are_the_security_keywords() -> None:
    fields = [(f.name, f.default) for f in dataclasses.fields(gofka.SecuritySettings)]
    assert fields == list(_security.SECURITY_ARGUMENTS)
    for name, cls in FACTORIES.items():
        params = inspect.signature(getattr(gofka, name).__init__).parameters
        assert params["security"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params["security"].default is None, name
        for field, default in _security.SECURITY_ARGUMENTS:
            assert params[field].default == default, (name, field)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_keywords_and_security_object_are_equivalent(name: str, made: List[Any]) -> None:
    by_keywords = FACTORIES[name](**TLS_SASL)
    made.append(by_keywords)
    settings = gofka.SecuritySettings(**TLS_SASL)
    by_object = FACTORIES[name](security=settings)
    made.append(by_object)
    assert by_object._security.settings is settings
    assert by_keywords._security.settings == settings
    assert by_keywords._security.config() == by_object._security.config()
    assert by_keywords._security.config()["security.protocol"] == "SASL_SSL"
    for attr in ("use_ssl", "security_protocol"):
        assert getattr(by_keywords, attr) == getattr(by_object, attr) == getattr(settings, attr), attr
    plain = FACTORIES[name]()
    made.append(plain)
    assert plain._security.settings == gofka.SecuritySettings()
    assert plain._security.config() == {}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_security_object_and_keywords_together_is_an_error(name: str, made: List[Any]) -> None:
    settings = gofka.SecuritySettings(use_ssl=True)
    for extra in ({"use_ssl": True}, {"ssl_check_hostname": False}, {"sasl_username": "u"}):
        with pytest.raises(ValueError) as info:
            FACTORIES[name](security=settings, **extra)
        text = str(info.value)
        assert "not both" in text and list(extra)[0] in text
    # keywords left at their defaults are no conflict
    made.append(FACTORIES[name](security=settings, use_ssl=False, ssl_check_hostname=True))
    assert made[-1]._security.settings is settings
    with pytest.raises(TypeError) as info:
        FACTORIES[name](security={"use_ssl": True})
    assert "SecuritySettings" in str(info.value)


def test_validated_once_per_client(monkeypatch: pytest.MonkeyPatch, made: List[Any]) -> None:
    calls: List[int] = []
    original = gofka.SecuritySettings.__post_init__

    def counting(self: Any) -> None:
        calls.append(1)
        original(self)

    monkeypatch.setattr(gofka.SecuritySettings, "__post_init__", counting)
    for name, factory in sorted(FACTORIES.items()):
        del calls[:]
        made.append(factory(**TLS_SASL))
        assert len(calls) == 1, name
    shared = gofka.SecuritySettings(**TLS_SASL)
    del calls[:]
    for name, factory in sorted(FACTORIES.items()):
        made.append(factory(security=shared))
    assert calls == [], "a SecuritySettings given as security= is not validated again"


def test_bad_settings_keep_each_clients_error_class() -> None:
    # the constructors' argument errors stay their family's (ProduceValueError, ...)
    for name, factory in FACTORIES.items():
        with pytest.raises(ValueError) as info:
            factory(ssl_cafile="/ca.pem")
        assert "needs TLS" in str(info.value)
        if name != "ConnectionPool":
            assert isinstance(info.value, GofkaError), name


#: Every client constructor that takes the TLS/SASL keywords.
ALL_CLIENTS: Dict[str, Callable[..., Any]] = dict(
    FACTORIES,
    ShareConsumer=lambda **kw: gofka.ShareConsumer(NOWHERE, "g", ["t"], **kw),
    AsyncShareConsumer=lambda **kw: gofka.AsyncShareConsumer(NOWHERE, "g", ["t"], **kw),
)


class Captured(Exception):
    """Stops a constructor where it builds its SecuritySettings."""


@pytest.mark.parametrize("name", sorted(ALL_CLIENTS))
def test_every_client_passes_every_security_keyword_on(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each keyword of the one table (SECURITY_ARGUMENTS and security=)
    reaches the client's settings as given, and each one not given as its
    default: no client forgets or drops one."""
    seen: List[Dict[str, Any]] = []

    def capture(cls: Any, arguments: Any) -> Any:
        seen.append(dict(arguments))
        raise Captured()

    monkeypatch.setattr(_security.SecuritySettings, "from_arguments", classmethod(capture))
    table = list(_security.SECURITY_ARGUMENTS) + [("security", None)]
    assert [n for n, _ in _security.SECURITY_KEYWORDS.defaults] == [n for n, _ in table[1:]]
    params = inspect.signature(getattr(gofka, name)).parameters
    for field, default in table:
        assert params[field].default is default, field
        if field != "use_ssl":
            assert params[field].kind is inspect.Parameter.KEYWORD_ONLY, field
    with pytest.raises(Captured):
        ALL_CLIENTS[name]()
    assert {f: seen[-1][f] for f, _ in table} == dict(table)
    for field, default in table:
        marker = object()
        with pytest.raises(Captured):
            ALL_CLIENTS[name](**{field: marker})
        assert {f: seen[-1][f] for f, _ in table} == dict(table, **{field: marker}), field


@pytest.mark.parametrize("name", sorted(ALL_CLIENTS))
def test_every_client_refuses_an_unknown_keyword(name: str) -> None:
    for wrong in ("use_sll", "ssl_ca_file", "securty", "sasl_user"):
        with pytest.raises(TypeError) as info:
            ALL_CLIENTS[name](**{wrong: "x"})
        assert "'%s'" % wrong in str(info.value), (name, wrong)
