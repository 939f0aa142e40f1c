"""TLS and SASL: keyword validation, secrets hygiene, OAUTHBEARER token
refresh, and real-broker tests against the secured listeners of
``KAFKA_SECURITY=1 scripts/kafka.sh up`` (its ``security.env`` exported).

Without that environment the broker tests are skipped, unless
GOFKA_REQUIRE_SECURITY=1 (the integration phase of scripts/run-tests.sh),
where a missing listener is a failure.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Dict, Iterator, List

import pytest

import gofka
from gofka import _security
from gofka.exceptions import AuthenticationError, GofkaError

SECURITY_KWARGS = (
    "use_ssl",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_password",
    "ssl_check_hostname",
    "security_protocol",
    "sasl_mechanism",
    "sasl_username",
    "sasl_password",
    "sasl_oauth_token_provider",
)

#: Every client class of the documented API that dials brokers.
CLIENT_CLASSES = ("Producer", "Consumer", "AdminClient", "AsyncProducer", "AsyncConsumer", "AsyncAdminClient", "ConnectionPool")

SECRET = "Tr0ub4dor-and-3-Secrets"
NOWHERE = "127.0.0.1:9"  # nothing listens there; constructors do no I/O


def unsecured_jwt(sub: str, exp: float) -> str:
    """A token for Kafka's unsecured OAUTHBEARER validator (tests only)."""

    def enc(obj: Dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return "%s.%s." % (enc({"alg": "none"}), enc({"sub": sub, "iat": int(time.time()), "exp": int(exp)}))


# --------------------------------------------------------------------------
# Keyword arguments (no broker needed)


@pytest.mark.parametrize("name", CLIENT_CLASSES)
def test_every_client_takes_the_security_keywords(name: str) -> None:
    cls = getattr(gofka, name, None)
    if cls is None:
        pytest.fail("gofka.%s does not exist" % name)
    params = inspect.signature(cls.__init__).parameters
    missing = [k for k in SECURITY_KWARGS if k not in params]
    assert not missing, "%s lacks %s" % (name, missing)
    for k in SECURITY_KWARGS:
        if k != "use_ssl":  # documented positionally on some async clients
            assert params[k].kind is inspect.Parameter.KEYWORD_ONLY, (name, k)
    assert params["use_ssl"].default is False
    assert params["ssl_check_hostname"].default is True


def test_protocol_derivation() -> None:
    S = _security.SecurityOptions
    assert S().config() == {}
    assert S(use_ssl=True).config() == {"security.protocol": "SSL"}
    c = S(use_ssl=True, sasl_mechanism="scram-sha-512", sasl_username="u", sasl_password="p")
    assert c.config()["security.protocol"] == "SASL_SSL"
    assert c.config()["sasl.mechanism"] == "SCRAM-SHA-512"
    c = S(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u", sasl_password="p")
    assert c.config()["security.protocol"] == "SASL_PLAINTEXT"
    c = S(security_protocol="SSL", ssl_cafile="/ca.pem", ssl_check_hostname=False)
    assert c.config() == {"security.protocol": "SSL", "ssl.ca.location": "/ca.pem", "ssl.endpoint.identification.algorithm": "none"}


@pytest.mark.parametrize(
    "kwargs, exc, text",
    [
        ({"sasl_mechanism": "GSSAPI", "use_ssl": True}, ValueError, "sasl_mechanism must be one of PLAIN, SCRAM-SHA-256"),
        ({"sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": SECRET}, ValueError, "SASL_PLAINTEXT"),
        ({"security_protocol": "TLS"}, ValueError, "security_protocol must be one of PLAINTEXT, SSL"),
        ({"use_ssl": True, "security_protocol": "PLAINTEXT"}, ValueError, "contradicts"),
        ({"ssl_cafile": "/ca.pem"}, ValueError, "needs TLS"),
        ({"ssl_check_hostname": False}, ValueError, "needs TLS"),
        ({"use_ssl": True, "ssl_keyfile": "/k.pem"}, ValueError, "ssl_certfile"),
        ({"use_ssl": True, "ssl_certfile": "/c.pem", "ssl_password": None, "sasl_username": "u"}, ValueError, "no SASL"),
        ({"use_ssl": True, "sasl_mechanism": "SCRAM-SHA-256", "sasl_username": "u"}, ValueError, "sasl_password"),
        ({"use_ssl": True, "sasl_mechanism": "OAUTHBEARER"}, ValueError, "sasl_oauth_token_provider"),
        ({"use_ssl": True, "sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": lambda: "t", "sasl_username": "u"}, ValueError, "OAUTHBEARER"),
        ({"security_protocol": "SASL_SSL"}, ValueError, "needs sasl_mechanism"),
        ({"use_ssl": 1}, TypeError, "use_ssl"),
        ({"use_ssl": True, "ssl_cafile": 3}, TypeError, "ssl_cafile"),
        ({"use_ssl": True, "sasl_mechanism": 5}, TypeError, "sasl_mechanism"),
        ({"use_ssl": True, "sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": SECRET + "\n"}, ValueError, "newlines"),
        ({"use_ssl": True, "sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": " " + SECRET}, ValueError, "whitespace"),
        ({"use_ssl": True, "sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": 42}, TypeError, "callable"),
        ({"use_ssl": True, "sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": lambda: "bad token " + SECRET}, ValueError, "malformed"),
    ],
)
def test_bad_security_keywords(kwargs: Dict[str, Any], exc: type, text: str) -> None:
    for cls in (gofka.Producer, gofka.AdminClient):
        with pytest.raises(exc) as info:
            cls(NOWHERE, **kwargs)
        assert text in str(info.value)
        assert SECRET not in str(info.value)
        assert SECRET not in repr(info.value)


def test_reprs_hide_secrets() -> None:
    provider = lambda: unsecured_jwt(SECRET, time.time() + 3600)  # noqa: E731
    clients = [
        gofka.Producer(NOWHERE, use_ssl=True, sasl_mechanism="PLAIN", sasl_username="u", sasl_password=SECRET),
        gofka.AdminClient(NOWHERE, use_ssl=True, sasl_mechanism="SCRAM-SHA-256", sasl_username="u", sasl_password=SECRET),
        gofka.AsyncAdminClient(NOWHERE, use_ssl=True, sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=provider),
        gofka.ConnectionPool(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="u", sasl_password=SECRET),
    ]
    token = provider()
    try:
        for c in clients:
            for text in (repr(c), str(c), repr(vars(c)) if hasattr(c, "__dict__") else "", repr(c._security)):
                assert SECRET not in text
                assert token.split(".")[1] not in text
    finally:
        for c in clients:
            if isinstance(c, gofka.AsyncAdminClient):
                c._finalize()
            else:
                c.close()


def test_missing_and_bad_files(tmp_path: Any) -> None:
    with pytest.raises(GofkaError) as info:
        gofka.Producer(NOWHERE, use_ssl=True, ssl_cafile=str(tmp_path / "missing.pem"))
    assert info.value.name == "INVALID_ARGUMENT"
    assert "missing.pem" in str(info.value)


def make_encrypted_key(tmp_path: Any, password: str) -> Dict[str, str]:
    key, cert, enc = (str(tmp_path / n) for n in ("k.pem", "c.pem", "enc.pem"))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=t"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", key, "-out", enc, "-passout", "pass:" + password],
        check=True,
        capture_output=True,
    )
    return {"cert": cert, "key": enc}


def test_wrong_key_password_is_an_authentication_error(tmp_path: Any) -> None:
    files = make_encrypted_key(tmp_path, SECRET)
    p = gofka.Producer(NOWHERE, use_ssl=True, ssl_certfile=files["cert"], ssl_keyfile=files["key"], ssl_password=SECRET)
    p.close()
    with pytest.raises(AuthenticationError) as info:
        gofka.Producer(NOWHERE, use_ssl=True, ssl_certfile=files["cert"], ssl_keyfile=files["key"], ssl_password="not-" + SECRET)
    assert info.value.name == "AUTHENTICATION_LOCAL"
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


def test_jwt_expiry() -> None:
    assert _security._jwt_expiry(unsecured_jwt("a", 1234567890)) == 1234567890.0
    assert _security._jwt_expiry("opaque-token") is None
    assert _security._jwt_expiry("a.!!!.c") is None


def test_oauth_provider_runs_in_python_threads_and_refreshes() -> None:
    calls: List[str] = []
    done = threading.Event()

    def provider() -> Any:
        calls.append(threading.current_thread().name)
        if len(calls) >= 3:
            done.set()
        # a short-lived token: refreshed after 80% of 1 s
        return unsecured_jwt("alice", time.time() + 60), time.time() + 1.0

    admin = gofka.AdminClient(NOWHERE, use_ssl=True, sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=provider)
    try:
        assert calls == [threading.current_thread().name]  # at construction, in the caller's thread
        assert done.wait(20), calls
        assert calls[1] == "gofka-oauth" and calls[2] == "gofka-oauth"
    finally:
        admin.close()
    n = len(calls)
    time.sleep(1.5)
    assert len(calls) == n, "the refresh thread stops with the client"


def test_oauth_provider_forms() -> None:
    class KafkaPythonStyle(object):
        def token(self) -> str:
            return unsecured_jwt("bob", time.time() + 3600)

    async def coroutine_provider() -> str:
        await asyncio.sleep(0)
        return unsecured_jwt("carol", time.time() + 3600)

    for provider in (KafkaPythonStyle(), coroutine_provider, lambda: (unsecured_jwt("d", 0), 4102444800)):
        s = _security.SecurityOptions(use_ssl=True, sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=provider)
        assert s.config()["sasl.oauthbearer.token"].count(".") == 2

    def failing() -> str:
        raise RuntimeError("idp down " + SECRET)

    with pytest.raises(RuntimeError):
        _security.SecurityOptions(use_ssl=True, sasl_mechanism="OAUTHBEARER", sasl_oauth_token_provider=failing)


def test_scram_admin_arguments() -> None:
    admin = gofka.AdminClient(NOWHERE)
    try:
        for ups, dels, exc in [
            ([{"user": "u", "mechanism": "SCRAM-SHA-1", "password": SECRET}], None, ValueError),
            ([{"user": "u", "mechanism": "SCRAM-SHA-256", "password": SECRET, "iterations": 10}], None, ValueError),
            ([{"user": "u", "mechanism": "SCRAM-SHA-256", "password": SECRET, "pasword": "x"}], None, ValueError),
            ([{"user": "", "mechanism": "SCRAM-SHA-256", "password": SECRET}], None, TypeError),
            (None, [{"user": "u"}], ValueError),
            (None, None, ValueError),
            ("u", None, TypeError),
        ]:
            with pytest.raises(exc) as info:
                admin.alter_user_scram_credentials(ups, dels)
            assert SECRET not in str(info.value)
        with pytest.raises(TypeError):
            admin.describe_user_scram_credentials("alice")
    finally:
        admin.close()


# --------------------------------------------------------------------------
# Against the secured listeners of a real Kafka

ENV_KEYS = (
    "GOFKA_SSL_BROKERS",
    "GOFKA_MTLS_BROKERS",
    "GOFKA_SASL_SSL_BROKERS",
    "GOFKA_SASL_PLAINTEXT_BROKERS",
    "GOFKA_EXPIRED_CERT_BROKERS",
    "GOFKA_BADHOST_CERT_BROKERS",
    "GOFKA_TEST_CA",
    "GOFKA_TEST_OTHER_CA",
    "GOFKA_TEST_CLIENT_CERT",
    "GOFKA_TEST_CLIENT_KEY",
    "GOFKA_TEST_CLIENT_KEY_ENCRYPTED",
    "GOFKA_TEST_CLIENT_KEY_PASSWORD",
    "GOFKA_TEST_STRANGER_CERT",
    "GOFKA_TEST_STRANGER_KEY",
    "GOFKA_TEST_PLAIN_USER",
    "GOFKA_TEST_PLAIN_PASSWORD",
    "GOFKA_TEST_SCRAM_USER",
    "GOFKA_TEST_SCRAM_PASSWORD",
)


@pytest.fixture(scope="session")
def sec() -> Dict[str, str]:
    env = {k: os.environ.get(k, "") for k in ENV_KEYS}
    missing = [k for k, v in env.items() if not v]
    if missing:
        if os.environ.get("GOFKA_REQUIRE_SECURITY") == "1":
            pytest.fail("GOFKA_REQUIRE_SECURITY=1 but %s unset: source $KAFKA_WORKDIR/security.env of KAFKA_SECURITY=1 scripts/kafka.sh up" % ", ".join(missing))
        pytest.skip("no secured Kafka (KAFKA_SECURITY=1 scripts/kafka.sh up, then source its security.env)")
    return env


def kwargs_for(sec: Dict[str, str], kind: str) -> Dict[str, Any]:
    tls = {"use_ssl": True, "ssl_cafile": sec["GOFKA_TEST_CA"]}
    plain = {"sasl_username": sec["GOFKA_TEST_PLAIN_USER"], "sasl_password": sec["GOFKA_TEST_PLAIN_PASSWORD"]}
    scram = {"sasl_username": sec["GOFKA_TEST_SCRAM_USER"], "sasl_password": sec["GOFKA_TEST_SCRAM_PASSWORD"]}
    return {
        "ssl": dict(tls, brokers=sec["GOFKA_SSL_BROKERS"]),
        "mtls": dict(tls, brokers=sec["GOFKA_MTLS_BROKERS"], ssl_certfile=sec["GOFKA_TEST_CLIENT_CERT"], ssl_keyfile=sec["GOFKA_TEST_CLIENT_KEY"]),
        "mtls-encrypted-key": dict(
            tls,
            brokers=sec["GOFKA_MTLS_BROKERS"],
            ssl_certfile=sec["GOFKA_TEST_CLIENT_CERT"],
            ssl_keyfile=sec["GOFKA_TEST_CLIENT_KEY_ENCRYPTED"],
            ssl_password=sec["GOFKA_TEST_CLIENT_KEY_PASSWORD"],
        ),
        "sasl-plain": dict(tls, brokers=sec["GOFKA_SASL_SSL_BROKERS"], sasl_mechanism="PLAIN", **plain),
        "sasl-scram-256": dict(tls, brokers=sec["GOFKA_SASL_SSL_BROKERS"], sasl_mechanism="SCRAM-SHA-256", **scram),
        "sasl-scram-512": dict(tls, brokers=sec["GOFKA_SASL_SSL_BROKERS"], sasl_mechanism="SCRAM-SHA-512", **scram),
        "sasl-oauthbearer": dict(
            tls,
            brokers=sec["GOFKA_SASL_SSL_BROKERS"],
            sasl_mechanism="OAUTHBEARER",
            sasl_oauth_token_provider=lambda: unsecured_jwt("gofka-py", time.time() + 3600),
        ),
        "sasl-plaintext-scram-512": dict(
            brokers=sec["GOFKA_SASL_PLAINTEXT_BROKERS"], security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512", **scram
        ),
    }[kind]


SECURED_KINDS = ["ssl", "mtls", "mtls-encrypted-key", "sasl-plain", "sasl-scram-256", "sasl-scram-512", "sasl-oauthbearer", "sasl-plaintext-scram-512"]


@pytest.mark.parametrize("kind", SECURED_KINDS)
def test_produce_and_consume_secured(sec: Dict[str, str], kind: str) -> None:
    kw = kwargs_for(sec, kind)
    brokers = kw.pop("brokers")
    topic = "gofka-sec-%s" % uuid.uuid4().hex
    with gofka.Producer(brokers, timeout=20, **kw) as producer:
        offsets = [producer.send(topic, b"secured-%d" % i) for i in range(3)]
    assert offsets == [0, 1, 2]
    with gofka.AdminClient(brokers, timeout=20, **kw) as admin:
        assert admin.list_offsets(topic, [0], "latest") == {0: 3}
    consumer_cls = getattr(gofka, "Consumer", None)
    assert consumer_cls is not None, "gofka.Consumer is missing"
    consumer = consumer_cls(brokers, "gofka-sec-group-" + uuid.uuid4().hex, [topic], timeout=20, **kw)
    try:
        consumer.subscribe()
        got: List[bytes] = []
        deadline = time.monotonic() + 60
        while len(got) < 3 and time.monotonic() < deadline:
            got.extend(m.value for m in consumer.poll(10))
        assert got == [b"secured-0", b"secured-1", b"secured-2"]
    finally:
        consumer.close()


def test_async_admin_and_pool_secured(sec: Dict[str, str]) -> None:
    kw = kwargs_for(sec, "sasl-scram-512")
    brokers = kw.pop("brokers")

    async def run() -> None:
        async with gofka.AsyncAdminClient(brokers, timeout=20, **kw) as admin:
            assert [b["port"] for b in await admin.list_brokers()] == [int(brokers.rsplit(":", 1)[1])]

    asyncio.run(run())
    with gofka.ConnectionPool(connection_timeout=20, **kw) as pool:
        with gofka.AdminClient(brokers, timeout=20, connection_pool=pool) as admin:
            assert admin.list_brokers()
        # a client must not bring conflicting settings of its own
        with pytest.raises(GofkaError) as info:
            gofka.AdminClient(brokers, connection_pool=pool, use_ssl=True, ssl_cafile=sec["GOFKA_TEST_CA"])
        assert "connection pool" in str(info.value)


def _failure_cases(sec: Dict[str, str]) -> Dict[str, Any]:
    ca, other = sec["GOFKA_TEST_CA"], sec["GOFKA_TEST_OTHER_CA"]
    return {
        "wrong CA": (sec["GOFKA_SSL_BROKERS"], {"use_ssl": True, "ssl_cafile": other}, "TLS_FAILED"),
        "system CA store": (sec["GOFKA_SSL_BROKERS"], {"use_ssl": True}, "TLS_FAILED"),
        "hostname mismatch": (sec["GOFKA_BADHOST_CERT_BROKERS"], {"use_ssl": True, "ssl_cafile": ca}, "TLS_FAILED"),
        "expired certificate": (sec["GOFKA_EXPIRED_CERT_BROKERS"], {"use_ssl": True, "ssl_cafile": ca}, "TLS_FAILED"),
        "mTLS without certificate": (sec["GOFKA_MTLS_BROKERS"], {"use_ssl": True, "ssl_cafile": ca}, "TLS_FAILED"),
        "mTLS with an untrusted certificate": (
            sec["GOFKA_MTLS_BROKERS"],
            {"use_ssl": True, "ssl_cafile": ca, "ssl_certfile": sec["GOFKA_TEST_STRANGER_CERT"], "ssl_keyfile": sec["GOFKA_TEST_STRANGER_KEY"]},
            "TLS_FAILED",
        ),
        "wrong PLAIN password": (
            sec["GOFKA_SASL_SSL_BROKERS"],
            {"use_ssl": True, "ssl_cafile": ca, "sasl_mechanism": "PLAIN", "sasl_username": sec["GOFKA_TEST_PLAIN_USER"], "sasl_password": SECRET},
            "SASL_AUTHENTICATION_FAILED",
        ),
        "wrong SCRAM-SHA-256 password": (
            sec["GOFKA_SASL_SSL_BROKERS"],
            {"use_ssl": True, "ssl_cafile": ca, "sasl_mechanism": "SCRAM-SHA-256", "sasl_username": sec["GOFKA_TEST_SCRAM_USER"], "sasl_password": SECRET},
            "SASL_AUTHENTICATION_FAILED",
        ),
        "wrong SCRAM-SHA-512 password over SASL_PLAINTEXT": (
            sec["GOFKA_SASL_PLAINTEXT_BROKERS"],
            {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": sec["GOFKA_TEST_SCRAM_USER"], "sasl_password": SECRET},
            "SASL_AUTHENTICATION_FAILED",
        ),
        "expired OAUTHBEARER token": (
            sec["GOFKA_SASL_SSL_BROKERS"],
            {"use_ssl": True, "ssl_cafile": ca, "sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": lambda: unsecured_jwt(SECRET, time.time() - 60)},
            "SASL_AUTHENTICATION_FAILED",
        ),
        "SASL on a listener without SASL": (
            sec["GOFKA_SSL_BROKERS"],
            {"use_ssl": True, "ssl_cafile": ca, "sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": SECRET},
            "ILLEGAL_SASL_STATE",
        ),
    }


FAILURES = [
    "wrong CA",
    "system CA store",
    "hostname mismatch",
    "expired certificate",
    "mTLS without certificate",
    "mTLS with an untrusted certificate",
    "wrong PLAIN password",
    "wrong SCRAM-SHA-256 password",
    "wrong SCRAM-SHA-512 password over SASL_PLAINTEXT",
    "expired OAUTHBEARER token",
    "SASL on a listener without SASL",
]


@pytest.mark.parametrize("case", FAILURES)
def test_security_failures_are_clear_authentication_errors(sec: Dict[str, str], case: str) -> None:
    brokers, kw, name = _failure_cases(sec)[case]
    timeout = 20
    for make, act in (
        (lambda: gofka.Producer(brokers, timeout=timeout, **kw), lambda c: c.send("gofka-sec-fail", b"x")),
        (lambda: gofka.AdminClient(brokers, timeout=timeout, **kw), lambda c: c.list_topics()),
    ):
        client = make()
        try:
            start = time.monotonic()
            with pytest.raises(AuthenticationError) as info:
                act(client)
            # A hang guard, not a timing assertion: an auth failure must
            # not be retried until the timeout.
            assert time.monotonic() - start < timeout / 2
            err = info.value
            assert err.name == name, str(err)
            assert not err.retriable
            for text in (str(err), repr(err), repr(client)):
                assert SECRET not in text
                assert sec["GOFKA_TEST_PLAIN_PASSWORD"] not in text
                assert sec["GOFKA_TEST_SCRAM_PASSWORD"] not in text
        finally:
            client.close()


class CountingProxy(object):
    """Forwards TCP connections to a target and counts them."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.count = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            try:
                u = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def test_no_retry_storm(sec: Dict[str, str]) -> None:
    proxy = CountingProxy(sec["GOFKA_SASL_SSL_BROKERS"].split(",")[0])
    try:
        kw = {"use_ssl": True, "ssl_cafile": sec["GOFKA_TEST_CA"], "ssl_check_hostname": False, "sasl_mechanism": "SCRAM-SHA-512",
              "sasl_username": sec["GOFKA_TEST_SCRAM_USER"], "sasl_password": SECRET}
        with gofka.Producer(proxy.addr, timeout=20, **kw) as producer:
            for _ in range(20):
                with pytest.raises(AuthenticationError):
                    producer.send("gofka-sec-storm", b"x")
        # 20 failed sends, within the 1 s hold of the first failure: one
        # login attempt (a slow machine may need a second one).
        assert 1 <= proxy.count <= 3, proxy.count
    finally:
        proxy.close()


def test_admin_scram_users(sec: Dict[str, str]) -> None:
    kw = kwargs_for(sec, "sasl-scram-256")
    brokers = kw.pop("brokers")
    user, password = "gofka-py-%s" % uuid.uuid4().hex[:12], "Py-" + uuid.uuid4().hex
    with gofka.AdminClient(brokers, timeout=20, **kw) as admin:
        admin.alter_user_scram_credentials(
            [
                {"user": user, "mechanism": "SCRAM-SHA-512", "password": password, "iterations": 8192},
                {"user": user, "mechanism": "SCRAM-SHA-256", "password": password},
            ]
        )
        assert admin.describe_user_scram_credentials([user]) == {
            user: [{"mechanism": "SCRAM-SHA-256", "iterations": 4096}, {"mechanism": "SCRAM-SHA-512", "iterations": 8192}]
        }
        assert user in admin.describe_user_scram_credentials()
        login = dict(kw, sasl_mechanism="SCRAM-SHA-512", sasl_username=user, sasl_password=password)
        with gofka.Producer(brokers, timeout=20, **login) as producer:
            assert producer.send("gofka-sec-scram-" + uuid.uuid4().hex, b"x") == 0
        admin.alter_user_scram_credentials(
            deletions=[{"user": user, "mechanism": "SCRAM-SHA-512"}, {"user": user, "mechanism": "SCRAM-SHA-256"}]
        )
        with pytest.raises(GofkaError) as info:
            admin.describe_user_scram_credentials([user])
        assert info.value.name == "RESOURCE_NOT_FOUND"
        with gofka.Producer(brokers, timeout=20, **login) as producer:
            with pytest.raises(AuthenticationError):
                producer.send("gofka-sec-scram", b"x")


_LOG_SCRIPT = r"""
import logging, sys, time
sys.path.insert(0, sys.argv[1])
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
import gofka
from gofka import _log
brokers, ca, user, secret = sys.argv[2:6]
for mech in ("PLAIN", "SCRAM-SHA-256"):
    p = gofka.Producer(brokers, timeout=10, use_ssl=True, ssl_cafile=ca, sasl_mechanism=mech, sasl_username=user, sasl_password=secret)
    print(repr(p))
    try:
        p.send("gofka-sec-log", b"x")
    except Exception as e:
        print(repr(e), str(e))
        import traceback; traceback.print_exc()
    p.close()
_log.flush()
"""


def test_no_secret_in_logs(sec: Dict[str, str]) -> None:
    """Engine log lines at DEBUG, errors, reprs and tracebacks of failed
    logins never show the password."""
    pydir = os.path.dirname(os.path.dirname(os.path.abspath(gofka.__file__)))
    out = subprocess.run(
        [sys.executable, "-c", _LOG_SCRIPT, pydir, sec["GOFKA_SASL_SSL_BROKERS"], sec["GOFKA_TEST_CA"], sec["GOFKA_TEST_PLAIN_USER"], SECRET],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = out.stdout + out.stderr
    assert "SASL_AUTHENTICATION_FAILED" in text, text[-2000:]
    assert SECRET not in text
