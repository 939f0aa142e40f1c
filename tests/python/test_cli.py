"""The gofka command line (python -m gofka) against the test cluster
(GOFKA_BROKERS or the session's dev cluster): a few runs as real
subprocesses, most in-process through cli.main (same code, faster)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import uuid
from typing import Dict, List, Optional

import pytest

from gofka import cli

from conftest import kafka_older_than

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SUBCOMMANDS = ["produce", "consume", "topics", "groups", "lag", "dev-cluster"]


def run(
    args: List[str],
    brokers: Optional[str] = None,
    stdin: bytes = b"",
    timeout: float = 90,
    cwd: Optional[str] = None,
) -> "subprocess.CompletedProcess[bytes]":
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("GOFKA_BROKERS", None)
    if brokers is not None:
        env["GOFKA_BROKERS"] = brokers
    return subprocess.run(
        [sys.executable, "-m", "gofka"] + args,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        timeout=timeout,
        cwd=cwd or ROOT,
    )


class Result(object):
    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


@pytest.fixture
def gofka_cmd(capfdbinary: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """Runs cli.main in this process with stdin, GOFKA_BROKERS and captured
    stdout/stderr; returns a Result like a subprocess."""

    def call(args: List[str], brokers: Optional[str] = None, stdin: bytes = b"") -> Result:
        capfdbinary.readouterr()
        if brokers is None:
            monkeypatch.delenv("GOFKA_BROKERS", raising=False)
        else:
            monkeypatch.setenv("GOFKA_BROKERS", brokers)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        try:
            code = cli.main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = capfdbinary.readouterr()
        return Result(code, out, err)

    return call


def ok(proc: "Result | subprocess.CompletedProcess[bytes]") -> str:
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


@pytest.fixture
def group() -> str:
    return "gofka-cli-%s" % uuid.uuid4().hex


def test_help_documents_every_subcommand(gofka_cmd) -> None:
    out = ok(run(["--help"]))  # the real `python -m gofka`
    for name in SUBCOMMANDS:
        assert name in out
    assert "exit codes" in out
    for name in SUBCOMMANDS:
        sub = ok(gofka_cmd([name, "--help"]))
        assert sub.startswith("usage: gofka " + name)
        assert "--help" in sub
    assert "--key-delimiter" in ok(gofka_cmd(["produce", "--help"]))
    assert "--idle-timeout" in ok(gofka_cmd(["consume", "--help"]))
    assert ok(gofka_cmd(["--version"])).strip().startswith("gofka ")


def test_usage_errors_exit_2(gofka_cmd, tmp_path: "os.PathLike[str]") -> None:
    run = gofka_cmd
    proc = run(["topics"], brokers=None)
    assert proc.returncode == cli.EXIT_USAGE
    assert b"GOFKA_BROKERS" in proc.stderr
    assert run(["consume"]).returncode == cli.EXIT_USAGE  # no topic
    assert run(["frobnicate"]).returncode == cli.EXIT_USAGE
    assert run(["produce", "t", "--no-such-flag"], brokers="127.0.0.1:9").returncode == cli.EXIT_USAGE
    proc = run(["produce", "t", os.path.join(str(tmp_path), "missing.bin")], brokers="127.0.0.1:9")
    assert proc.returncode == cli.EXIT_USAGE and b"missing.bin" in proc.stderr
    proc = run(["consume", "t", "-o", "sometime"], brokers="127.0.0.1:9")
    assert proc.returncode == cli.EXIT_USAGE


def test_unreachable_cluster_exits_1(gofka_cmd) -> None:
    proc = gofka_cmd(["topics", "--timeout", "2"], brokers="127.0.0.1:1")
    assert proc.returncode == cli.EXIT_ERROR
    assert b"127.0.0.1:1" in proc.stderr


def test_produce_lines_then_consume_to_the_end(brokers: str, topic: str) -> None:
    lines = [("line %d" % i).encode() for i in range(2500)] + [b"", b"last"]
    proc = run(["produce", topic, "--batch", "1000"], brokers, stdin=b"\n".join(lines) + b"\n")
    ok(proc)
    assert b"produced 2502 messages" in proc.stderr  # the summary with the rate
    assert b"msg/s" in proc.stderr
    proc = run(["consume", topic, "-e", "--no-progress"], brokers)
    assert ok(proc).split("\n")[:-1] == [v.decode() for v in lines]
    assert b"consumed 2502 messages" in proc.stderr
    # -N: the last two; --format
    out = ok(run(["consume", topic, "-o", "-2", "-e", "-q", "-f", "{offset}={value}"], brokers))
    assert out.splitlines() == ["2500=", "2501=last"]


def test_keys_headers_files_and_json(gofka_cmd, brokers: str, topic: str, tmp_path: "os.PathLike[str]") -> None:
    run = gofka_cmd
    ok(run(["produce", topic, "-K", ":", "-H", "source=cli", "-H", "n=1", "-p", "0", "-q"], brokers,
           stdin=b"k1:v1\nk2:v:2\nnokey\n"))
    a = os.path.join(str(tmp_path), "a.bin")
    b = os.path.join(str(tmp_path), "b.txt")
    with open(a, "wb") as f:
        f.write(b"\x00binary\nfile\xff")
    with open(b, "wb") as f:
        f.write(b"x\ny\n")
    ok(run(["produce", topic, a, "-k", "file", "-p", "0", "-q"], brokers))  # one file = one message
    ok(run(["produce", topic, b, "--lines", "-p", "0", "-q"], brokers))  # one line = one message
    out = ok(run(["consume", topic, "-e", "-J", "-q"], brokers))
    msgs = [json.loads(line) for line in out.splitlines()]
    assert [(m["key"], m["value"]) for m in msgs] == [
        ("k1", "v1"), ("k2", "v:2"), (None, "nokey"), ("file", "\x00binary\nfile\\xff"), (None, "x"), (None, "y"),
    ]
    assert msgs[0]["headers"] == {"source": "cli", "n": "1"}
    assert [m["offset"] for m in msgs] == list(range(6))
    # raw output keeps binary values byte for byte
    raw = run(["consume", topic, "-o", "3", "-c", "1", "-q"], brokers)
    assert raw.returncode == 0 and raw.stdout == b"\x00binary\nfile\xff\n"


def test_group_consume_commits_and_lag(gofka_cmd, brokers: str, topic: str, group: str) -> None:
    run = gofka_cmd
    ok(run(["produce", topic, "-q"], brokers, stdin=b"a\nb\nc\nd\n"))
    proc = run(["consume", topic, "-g", group, "-c", "3", "--no-progress"], brokers)
    assert ok(proc).splitlines() == ["a", "b", "c"]
    out = ok(run(["lag", group, "-J"], brokers))
    lag = json.loads(out)
    assert lag["total_lag"] == 1
    assert lag["partitions"] == [
        {"topic": topic, "partition": 0, "committed_offset": 3, "log_end_offset": 4, "lag": 1}
    ]
    assert run(["lag", group, "--max-lag", "0", "-q"], brokers).returncode == cli.EXIT_LAG
    assert run(["lag", group, "--max-lag", "1", "-q"], brokers).returncode == cli.EXIT_OK
    # the group resumes where it committed
    assert ok(run(["consume", topic, "-g", group, "-c", "1", "-q"], brokers)) == "d\n"
    groups = json.loads(ok(run(["groups", "list", "-J"], brokers)))
    assert group in [g["group_id"] for g in groups]
    desc = json.loads(ok(run(["groups", "describe", group, "-J"], brokers)))
    assert desc["group_id"] == group
    assert group in ok(run(["groups", "describe", group], brokers))


def test_groups_list_and_describe_share_group(gofka_cmd, brokers: str, topic: str) -> None:
    """A share group (made empty, holding a start offset, by
    alter_share_group_offsets) is listed with its type and described: the
    generic describe plus its start offset and lag per partition."""
    from gofka import AdminClient

    if kafka_older_than(4, 2):
        pytest.skip("Kafka %s has no share groups enabled (production ready in 4.2)" % os.environ["GOFKA_KAFKA_VERSION"])

    run = gofka_cmd
    ok(run(["produce", topic, "-q"], brokers, stdin=b"a\nb\nc\n"))
    group = "gofka-cli-share-%s" % uuid.uuid4().hex
    with AdminClient(brokers, timeout=20) as admin:
        admin.alter_share_group_offsets(group, {topic: {0: 1}})
    groups = {g["group_id"]: g for g in json.loads(ok(run(["groups", "list", "-J"], brokers)))}
    assert groups[group]["type"] == "share"
    table = [line.split() for line in ok(run(["groups"], brokers)).splitlines()]
    assert [group, "Empty", "share", "share"] in table
    desc = json.loads(ok(run(["groups", "describe", group, "-J"], brokers)))
    assert (desc["group_id"], desc["type"], desc["state"], desc["members"]) == (group, "share", "Empty", [])
    assert desc["start_offsets"] == [{"topic": topic, "partition": 0, "start_offset": 1, "lag": 2}]
    text = ok(run(["groups", "describe", group], brokers)).splitlines()
    assert text[0].startswith("group %s  state Empty  type share" % group)
    assert [topic, "0", "1", "2"] in [line.split() for line in text]
    ok(run(["groups", "delete", group, "-q"], brokers))
    assert group not in ok(run(["groups"], brokers))


def test_count_not_reached_exits_3(gofka_cmd, brokers: str, topic: str) -> None:
    run = gofka_cmd
    ok(run(["produce", topic, "-q"], brokers, stdin=b"only\n"))
    proc = run(["consume", topic, "-c", "5", "--idle-timeout", "1", "-q"], brokers)
    assert proc.returncode == cli.EXIT_INCOMPLETE
    assert proc.stdout == b"only\n"
    assert b"1 of 5" in proc.stderr
    proc = run(["consume", topic, "-c", "5", "-e", "-q"], brokers)
    assert proc.returncode == cli.EXIT_INCOMPLETE


def test_topics_admin(gofka_cmd, brokers: str, topic: str) -> None:
    run = gofka_cmd
    ok(run(["topics", "create", topic, "-P", "3", "-C", "retention.ms=3600000", "-q"], brokers))
    assert topic in ok(run(["topics"], brokers)).splitlines()
    assert topic in json.loads(ok(run(["topics", "list", "-J"], brokers)))
    desc = json.loads(ok(run(["topics", "describe", topic, "-J"], brokers)))
    assert len(desc["partitions"]) == 3
    text = ok(run(["topics", "describe", topic], brokers))
    assert "partitions 3" in text and "retention.ms=3600000" in text
    proc = run(["topics", "create", topic, "-q"], brokers)
    assert proc.returncode == cli.EXIT_ERROR and b"TOPIC_ALREADY_EXISTS" in proc.stderr
    ok(run(["topics", "delete", topic, "-q"], brokers))
    assert topic not in ok(run(["topics"], brokers)).splitlines()


def test_dev_cluster_runs_until_sigterm() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gofka", "dev-cluster", "--env", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("export GOFKA_BROKERS=127.0.0.1:")
        brokers = line.strip().split("=", 1)[1]
        ok(run(["produce", "dev-topic", "-q"], brokers, stdin=b"hello\n"))
        assert ok(run(["consume", "dev-topic", "-e", "-q"], brokers)) == "hello\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == cli.EXIT_OK
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_engine_log_lines_with_verbose(brokers: str) -> None:
    proc = run(["topics", "-v"], brokers)  # a subprocess: -v configures logging for good
    ok(proc)
    assert b"INFO gofka.conn: connected to" in proc.stderr


def test_parse_offset() -> None:
    assert cli._parse_offset("beginning") == ("beginning", 0)
    assert cli._parse_offset("END") == ("end", 0)
    assert cli._parse_offset("42") == ("absolute", 42)
    assert cli._parse_offset("-7") == ("relative", 7)
    with pytest.raises(Exception):
        cli._parse_offset("x")


# The positional arguments each command needs, to parse its command line.
COMMAND_ARGS = {"produce": ["t"], "consume": ["t"], "topics": [], "groups": [], "lag": ["g"], "dev-cluster": []}
# Common options and the value each takes (None: a flag).
COMMON_OPTIONS = [("-b", "h1:1,h2:2", "brokers"), ("--brokers", "h3:3", "brokers"), ("--client-id", "me", "client_id"),
                  ("--timeout", "7.5", "timeout"), ("--security-protocol", "SSL", "security_protocol"),
                  ("--ssl-cafile", "ca.pem", "ssl_cafile"), ("--sasl-mechanism", "PLAIN", "sasl_mechanism"),
                  ("--sasl-username", "u", "sasl_username"), ("-q", None, "quiet"), ("-v", None, "verbose")]


def test_command_args_cover_every_command() -> None:
    subparsers = [a for a in cli.build_parser()._actions if isinstance(a, cli.argparse._SubParsersAction)]
    assert set(COMMAND_ARGS) == set(subparsers[0].choices) == set(SUBCOMMANDS)


@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
def test_common_options_before_or_after_the_command(command: str) -> None:
    """`gofka -b HOST topics` (kcat's order) parses as `gofka topics -b
    HOST`, for every command and every connection/output option it has."""
    parser = cli.build_parser()
    sub = [a for a in parser._actions if isinstance(a, cli.argparse._SubParsersAction)][0].choices[command]
    takes = {a.dest for a in sub._actions}
    checked = 0
    for flag, value, dest in COMMON_OPTIONS:
        opt = [flag] + ([value] if value is not None else [])
        if dest not in takes:  # dev-cluster has no connection options: a usage error, not ignored
            with pytest.raises(SystemExit) as info:
                cli.parse_args(opt + [command] + COMMAND_ARGS[command])
            assert info.value.code == cli.EXIT_USAGE
            continue
        before = cli.parse_args(opt + [command] + COMMAND_ARGS[command])
        after = cli.parse_args([command] + COMMAND_ARGS[command] + opt)
        assert vars(before) == vars(after)
        expected = {"quiet": True, "verbose": 1, "timeout": 7.5}.get(dest, value)
        assert getattr(before, dest) == expected
        assert not [k for k in vars(before) if k.startswith("before_command")]
        checked += 1
    assert checked >= 2


def test_options_on_both_sides_of_the_command() -> None:
    args = cli.parse_args(["-v", "-b", "h:1", "topics", "-vv", "-b", "h:1"])
    assert args.verbose == 3 and args.brokers == "h:1"
    with pytest.raises(SystemExit) as info:
        cli.parse_args(["-b", "h:1", "topics", "-b", "h:2"])
    assert info.value.code == cli.EXIT_USAGE


def test_brokers_before_the_command_end_to_end(brokers: str, group: str) -> None:
    """The issue's command line, as a real subprocess."""
    topic = "gofka-cli-before-%s" % uuid.uuid4().hex[:12]
    ok(run(["-b", brokers, "produce", topic, "-q"], stdin=b"one\ntwo\n"))
    assert ok(run(["--brokers", brokers, "-q", "consume", topic, "-e"])) == "one\ntwo\n"
    assert topic in ok(run(["-b", brokers, "topics"]))


def test_client_argument_error_is_a_usage_error(gofka_cmd, brokers: str) -> None:
    """A client's argument errors are also Gofka errors now (e.g.
    ConsumeValueError): still exit 2, not 1."""
    proc = gofka_cmd(["consume", "t", "--timeout", "-1", "-e"], brokers=brokers)
    assert proc.returncode == cli.EXIT_USAGE, proc.stderr
    assert b"timeout" in proc.stderr


def test_consume_share_group(gofka_cmd, brokers: str, topic: str, group: str) -> None:
    """consume --share-group: two runs of one share group share the records
    (what the first printed is accepted, so the second gets the rest);
    --json carries delivery_count; flags that a share group decides are
    usage errors."""
    from conftest import kafka_older_than

    if kafka_older_than(4, 2):
        pytest.skip("Kafka %s has no share groups enabled" % os.environ["GOFKA_KAFKA_VERSION"])
    import gofka

    run = gofka_cmd
    with gofka.AdminClient(brokers, timeout=15) as admin:
        admin.create_topics([gofka.NewTopic(topic, 1, 1)])
        admin.alter_configs("group", group, {"share.auto.offset.reset": "earliest"})
    ok(run(["produce", topic, "-q"], brokers, stdin=b"a\nb\nc\nd\n"))
    first = ok(run(["consume", topic, "--share-group", group, "-c", "2", "-q"], brokers))
    assert first == "a\nb\n"
    rest = ok(run(["consume", topic, "--share-group", group, "-c", "2", "-J", "-q"], brokers))
    msgs = [json.loads(line) for line in rest.splitlines()]
    assert [m["value"] for m in msgs] == ["c", "d"]
    # 1, or more where the broker counts the first run's acquiring them
    # (it may have taken more than it printed, and released them at close)
    assert all(isinstance(m["delivery_count"], int) and m["delivery_count"] >= 1 for m in msgs)
    proc = run(["consume", topic, "--share-group", group, "-c", "1", "--idle-timeout", "1", "-q"], brokers)
    assert proc.returncode == cli.EXIT_INCOMPLETE and proc.stdout == b""
    for extra in (["-g", "x"], ["-o", "beginning"], ["-e"], ["--no-commit"], ["-p", "0"], ["--reset", "earliest"]):
        proc = run(["consume", topic, "--share-group", group] + extra, brokers)
        assert proc.returncode == cli.EXIT_USAGE and b"--share-group cannot be combined" in proc.stderr, extra
    # a classic consumer's JSON has no delivery_count
    classic = json.loads(ok(run(["consume", topic, "-c", "1", "-J", "-q"], brokers)))
    assert "delivery_count" not in classic and classic["value"] == "a"
