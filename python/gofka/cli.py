"""The ``gofka`` command (also ``python -m gofka``): produce, consume and
inspect Kafka from the shell, in the spirit of kcat.

Every subcommand documents itself (``gofka SUBCOMMAND --help``). Data goes
to stdout, everything else (progress, summaries, errors) to stderr, so the
output can be piped. Exit codes scripts can rely on:

====  =====================================================================
0     success
1     a Kafka or client error (the message names it, e.g. ``TIMED_OUT``)
2     a usage error (bad or missing arguments, no brokers given)
3     ``consume --count N``: fewer than N messages before ``--idle-timeout``
      or the end of the partitions (``--exit``)
4     ``lag --max-lag N``: the group's total lag is above N
130   interrupted (Ctrl-C or SIGTERM; a consumer still commits and leaves)
====  =====================================================================

Brokers come from ``-b/--brokers`` or the ``GOFKA_BROKERS`` environment
variable; ``gofka dev-cluster`` runs an in-process cluster to try things on.
The connection and output options (``-b``, ``--timeout``, ``-q``, ``-v``, ...)
may come before the command, as kcat users type them (``gofka -b
HOST:9092 topics``), or after it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sys
import time
from typing import Any, BinaryIO, Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

from ._ranges import CHOICES  # plain data: no native library is loaded

__all__ = [
    "main",
    "build_parser",
    "parse_args",
    "EXIT_OK",
    "EXIT_ERROR",
    "EXIT_USAGE",
    "EXIT_INCOMPLETE",
    "EXIT_LAG",
    "EXIT_INTERRUPTED",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_LAG = 4
EXIT_INTERRUPTED = 130

_MiB = 1024.0 * 1024.0


class UsageError(Exception):
    """A problem with the command line found after parsing (exit 2)."""


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that clients close cleanly."""


# --------------------------------------------------------------------------
# Progress and summaries
# --------------------------------------------------------------------------


class Progress(object):
    """Counts messages and bytes and shows the rate on stderr.

    The live line (redrawn at most 4 times a second) is shown when
    ``live`` is true (default: stderr is a terminal); the summary line at
    the end unless ``quiet``.
    """

    def __init__(self, verb: str, live: Optional[bool], quiet: bool, stream: Optional[TextIO] = None) -> None:
        self.verb = verb
        self.stream = stream if stream is not None else sys.stderr
        self.live = (not quiet) and (self.stream.isatty() if live is None else live)
        self.quiet = quiet
        self.messages = 0
        self.bytes = 0
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def add(self, messages: int, nbytes: int) -> None:
        self.messages += messages
        self.bytes += nbytes
        if self.live:
            now = time.monotonic()
            if now - self._last_draw >= 0.25:
                self._last_draw = now
                self._draw(now)

    def _rates(self, now: float) -> Tuple[float, float, float]:
        elapsed = max(now - self.start, 1e-9)
        return elapsed, self.messages / elapsed, self.bytes / _MiB / elapsed

    def _draw(self, now: float) -> None:
        elapsed, rate, mbps = self._rates(now)
        self.stream.write(
            "\r%s %d messages  %.1f MiB  %.0f msg/s  %.1f MiB/s  %.1f s\x1b[K"
            % (self.verb, self.messages, self.bytes / _MiB, rate, mbps, elapsed)
        )
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
        if not self.quiet:
            elapsed, rate, mbps = self._rates(time.monotonic())
            self.stream.write(
                "%s %d messages (%.2f MiB) in %.2f s: %.0f msg/s, %.2f MiB/s\n"
                % (self.verb, self.messages, self.bytes / _MiB, elapsed, rate, mbps)
            )
        self.stream.flush()


# --------------------------------------------------------------------------
# Common options
# --------------------------------------------------------------------------


def _client_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """client_id, timeout and the TLS/SASL options every client takes (as
    one SecuritySettings, ``security=``)."""
    from ._security import SecuritySettings

    kw: Dict[str, Any] = {"timeout": args.timeout}
    if args.client_id is not None:
        kw["client_id"] = args.client_id
    names = ("security_protocol", "ssl_cafile", "ssl_certfile", "ssl_keyfile", "sasl_mechanism", "sasl_username")
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    password = os.environ.get("GOFKA_SASL_PASSWORD")
    if password is not None:
        given["sasl_password"] = password
    kw["security"] = SecuritySettings(**given)
    return kw


def _brokers(args: argparse.Namespace) -> str:
    brokers = args.brokers or os.environ.get("GOFKA_BROKERS", "")
    if not brokers.strip():
        raise UsageError(
            "no brokers: pass -b HOST:PORT[,HOST:PORT...] or set GOFKA_BROKERS "
            "(`gofka dev-cluster` starts a local cluster to try things on)"
        )
    return brokers


def _stats_kwargs(args: argparse.Namespace) -> Dict[str, Any]:
    """stats_interval_ms and on_stats of --stats SECONDS (none without it):
    the client's report thread prints a per-partition summary on stderr."""
    if args.stats is None:
        return {}
    from ._cli_stats import StatsPrinter

    return {"stats_interval_ms": max(1, int(args.stats * 1000)), "on_stats": StatsPrinter(sys.stderr)}


def _key_value(text: str, what: str) -> Tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError("%s %r is not NAME=VALUE" % (what, text))
    return key, value


def _unescape(text: str) -> bytes:
    """Delimiters may be given with backslash escapes: '\\n', '\\t', '\\0'."""
    return text.encode("utf-8").decode("unicode_escape").encode("latin-1")


def _dump_json(obj: Any, out: TextIO) -> None:
    json.dump(obj, out, indent=2, sort_keys=True, default=str)
    out.write("\n")


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str], out: TextIO) -> None:
    cells = [[str(c) for c in header]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for r in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")


# --------------------------------------------------------------------------
# produce
# --------------------------------------------------------------------------


def _split_stream(stream: BinaryIO, delimiter: bytes) -> Iterator[bytes]:
    """Values of a byte stream separated by delimiter; a final value without
    a trailing delimiter counts, an empty tail does not."""
    if delimiter == b"\n":
        for line in stream:
            yield line[:-1] if line.endswith(b"\n") else line
        return
    pending = b""
    while True:
        chunk = stream.read(1 << 16)
        if not chunk:
            break
        pending += chunk
        parts = pending.split(delimiter)
        pending = parts.pop()
        for p in parts:
            yield p
    if pending:
        yield pending


def _open_input(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError("cannot read %s: %s" % (path, exc.strerror or exc))


def _values(args: argparse.Namespace) -> Iterator[bytes]:
    delimiter = _unescape(args.delimiter)
    if not delimiter:
        raise UsageError("--delimiter must not be empty")
    if not args.files:
        for v in _split_stream(sys.stdin.buffer, delimiter):
            yield v
        return
    for path in args.files:
        f = _open_input(path)
        try:
            if args.lines:
                for v in _split_stream(f, delimiter):
                    yield v
            else:
                yield f.read()
        finally:
            if f is not sys.stdin.buffer:
                f.close()


def cmd_produce(args: argparse.Namespace) -> int:
    from .producer import Producer

    if args.key is not None and args.key_delimiter is not None:
        raise UsageError("use either --key or --key-delimiter")
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    headers: Optional[Dict[str, str]] = None
    if args.header:
        headers = dict(_key_value(h, "header") for h in args.header)
    key_delim = _unescape(args.key_delimiter) if args.key_delimiter is not None else None
    if key_delim == b"":
        raise UsageError("--key-delimiter must not be empty")
    const_key = args.key.encode("utf-8") if args.key is not None else None
    brokers = _brokers(args)
    progress = Progress("produced", args.progress, args.quiet)
    kw = _client_kwargs(args)
    kw.setdefault("client_id", "gofka-cli")
    kw.update(_stats_kwargs(args))
    with Producer(brokers, compression=args.compression, acks=args.acks, **kw) as producer:
        values: List[bytes] = []
        keys: List[Optional[bytes]] = []
        size = 0

        def flush() -> None:
            if not values:
                return
            use_keys = keys if (const_key is not None or key_delim is not None) else None
            producer.send_batch(args.topic, values, partition=args.partition, keys=use_keys, headers=headers)
            progress.add(len(values), size)
            del values[:]
            del keys[:]

        for value in _values(args):
            key = const_key
            if key_delim is not None:
                k, sep, rest = value.partition(key_delim)
                if sep:
                    key, value = k, rest
            values.append(value)
            keys.append(key)
            size += len(value) + (len(key) if key else 0)
            if len(values) >= args.batch or size >= (1 << 20):
                flush()
                size = 0
        flush()
    progress.finish()
    return EXIT_OK


# --------------------------------------------------------------------------
# consume
# --------------------------------------------------------------------------


def _parse_offset(text: str) -> Tuple[str, int]:
    t = text.strip().lower()
    if t in ("beginning", "earliest", "begin"):
        return "beginning", 0
    if t in ("end", "latest"):
        return "end", 0
    if t == "stored":
        return "stored", 0
    try:
        n = int(t)
    except ValueError:
        raise argparse.ArgumentTypeError("offset must be beginning, end, stored, N or -N, not %r" % text)
    return ("relative", -n) if n < 0 else ("absolute", n)


class _Formatter(object):
    """Writes one message to stdout in the chosen form."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.out = sys.stdout.buffer
        self.delimiter = _unescape(args.delimiter)
        self.fmt = args.format
        self.json = args.json

    @staticmethod
    def _text(data: Optional[bytes]) -> Optional[str]:
        return None if data is None else data.decode("utf-8", "backslashreplace")

    def fields(self, m: Any) -> Dict[str, Any]:
        headers = {k: self._text(v) for k, v in (m.headers or {}).items()}
        return {
            "topic": m.topic,
            "partition": m.partition,
            "offset": m.offset,
            "timestamp": m.timestamp,
            "key": self._text(m.key),
            "value": self._text(m.value),
            "headers": headers,
            # None but for a share group's records (consume --share-group).
            "delivery_count": m.delivery_count,
        }

    def write(self, m: Any) -> int:
        if self.json:
            f = self.fields(m)
            if f["delivery_count"] is None:
                del f["delivery_count"]  # a classic consumer's record: the object stays as it was
            data = json.dumps(f, sort_keys=True).encode("utf-8") + b"\n"
        elif self.fmt is not None:
            f = self.fields(m)
            f["key"] = "" if f["key"] is None else f["key"]
            f["value"] = "" if f["value"] is None else f["value"]
            data = self.fmt.format(**f).encode("utf-8") + b"\n"
        else:
            data = (m.value or b"") + self.delimiter
        self.out.write(data)
        return len(m.value or b"") + len(m.key or b"")


def _partitions_of(admin: Any, topics: Sequence[str], wanted: Optional[List[int]]) -> List[Tuple[str, int]]:
    tps = []
    for t in topics:
        count = admin.get_partition_count(t)
        parts = list(range(count)) if wanted is None else wanted
        for p in parts:
            if not 0 <= p < count:
                raise UsageError("topic %s has %d partitions; there is no partition %d" % (t, count, p))
            tps.append((t, p))
    return tps


def cmd_consume(args: argparse.Namespace) -> int:
    from .admin import AdminClient
    from .consumer import OFFSET_BEGINNING, OFFSET_END, Consumer

    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    if args.json and args.format is not None:
        raise UsageError("use either --json or --format")
    if args.share_group is not None:
        return _consume_share(args)
    if args.group is not None and args.partition:
        raise UsageError("--partition reads partitions directly: it cannot be combined with --group")
    mode, n = args.offset if args.offset is not None else (("stored", 0) if args.group else ("beginning", 0))
    if mode == "stored" and args.group is None:
        raise UsageError("--offset stored needs --group")
    brokers = _brokers(args)
    kw = _client_kwargs(args)
    out = _Formatter(args)
    progress = Progress("consumed", args.progress, args.quiet)
    with AdminClient(brokers, **kw) as admin, Consumer(
        brokers,
        args.group,
        list(args.topics) if args.group else None,
        auto_commit=args.commit,
        auto_offset_reset=args.reset or "earliest",
        **kw,
        **_stats_kwargs(args),
    ) as consumer:
        if args.group is not None:
            consumer.subscribe()
            tps = [(tp.topic, tp.partition) for tp in consumer.assignment()]
        else:
            tps = _partitions_of(admin, args.topics, args.partition or None)
            consumer.assign(tps)
        if mode != "stored":
            for t, p in tps:
                if mode == "beginning":
                    consumer.seek(t, p, OFFSET_BEGINNING)
                elif mode == "end":
                    consumer.seek(t, p, OFFSET_END)
                elif mode == "absolute":
                    consumer.seek(t, p, n)
                else:  # relative to the end, not before the beginning
                    end = admin.list_offsets(t, [p], "latest")[p]
                    start = admin.list_offsets(t, [p], "earliest")[p]
                    consumer.seek(t, p, max(start, end - n))
        remaining: Dict[Tuple[str, int], int] = {}
        if args.exit:
            by_topic: Dict[str, List[int]] = {}
            for t, p in tps:
                by_topic.setdefault(t, []).append(p)
            for t, ps in by_topic.items():
                for p, end in admin.list_offsets(t, ps, "latest").items():
                    if consumer.position(t, p) < end:
                        remaining[(t, p)] = end
        received, exhausted = _print_messages(consumer, args, out, progress, remaining if args.exit else None)
    if args.count is not None and received < args.count and exhausted:
        sys.stderr.write("gofka: %d of %d messages consumed before %s\n" % (
            received, args.count, "the end of the partitions" if args.exit else "the idle timeout"))
        return EXIT_INCOMPLETE
    return EXIT_OK


def _print_messages(consumer: Any, args: argparse.Namespace, out: "_Formatter", progress: "Progress",
                    remaining: Optional[Dict[Tuple[str, int], int]]) -> Tuple[int, bool]:
    """The printing loop of consume (a Consumer or a ShareConsumer): polls
    only as many as are still to print (--count), stops at the idle timeout
    and, given ``remaining`` (--exit: partition -> end offset), once every
    partition reached its end. Returns (messages printed, whether it
    stopped for lack of messages rather than reaching --count)."""
    received = 0
    last_message = time.monotonic()
    try:
        while args.count is None or received < args.count:
            if remaining is not None and not remaining:
                return received, True
            want = 500 if args.count is None else min(500, args.count - received)
            msgs = consumer.poll(max_messages=want, timeout=0.2)
            now = time.monotonic()
            if not msgs:
                if args.idle_timeout is not None and now - last_message >= args.idle_timeout:
                    return received, True
                continue
            last_message = now
            nbytes = 0
            for m in msgs:
                nbytes += out.write(m)
                if remaining is not None:
                    stop = remaining.get((m.topic, m.partition))
                    if stop is not None and m.offset + 1 >= stop:
                        del remaining[(m.topic, m.partition)]
            out.out.flush()
            received += len(msgs)
            progress.add(len(msgs), nbytes)
        return received, False
    finally:
        try:
            out.out.flush()
        except BrokenPipeError:
            pass
        progress.finish()


def _consume_share(args: argparse.Namespace) -> int:
    """consume --share-group: a member of the share group (KIP-932) in the
    implicit acknowledgement mode, so every message printed is accepted
    (by the next poll, or close); it polls only as many as it still
    prints, so none is accepted unprinted. Where a new group starts is the
    group's share.auto.offset.reset (latest unless set)."""
    from .share_consumer import ShareConsumer

    clash = [flag for flag, given in (
        ("--group", args.group is not None), ("--partition", bool(args.partition)),
        ("--offset", args.offset is not None), ("--exit", args.exit), ("--no-commit", not args.commit),
        ("--stats", args.stats is not None), ("--reset", args.reset is not None),
    ) if given]
    if clash:
        raise UsageError("--share-group cannot be combined with %s (the share group decides what is read; "
                         "a new group starts at its share.auto.offset.reset)" % ", ".join(clash))
    out = _Formatter(args)
    progress = Progress("consumed", args.progress, args.quiet)
    with ShareConsumer(_brokers(args), args.share_group, list(args.topics), **_client_kwargs(args)) as consumer:
        received, exhausted = _print_messages(consumer, args, out, progress, None)
    if args.count is not None and received < args.count and exhausted:
        sys.stderr.write("gofka: %d of %d messages consumed before the idle timeout\n" % (received, args.count))
        return EXIT_INCOMPLETE
    return EXIT_OK


# --------------------------------------------------------------------------
# topics, groups, lag
# --------------------------------------------------------------------------


def cmd_topics(args: argparse.Namespace) -> int:
    from .admin import AdminClient

    action = args.action or "list"
    with AdminClient(_brokers(args), **_client_kwargs(args)) as admin:
        if action == "list":
            names = admin.list_topics(include_internal=args.internal)
            if args.json:
                _dump_json(names, sys.stdout)
            else:
                for name in names:
                    sys.stdout.write(name + "\n")
        elif action == "describe":
            for topic in args.names:
                d = admin.describe_topic(topic)
                if args.json:
                    _dump_json(d, sys.stdout)
                    continue
                sys.stdout.write("topic %s  id %s  partitions %d%s\n" % (
                    d["name"], d.get("topic_id"), len(d["partitions"]), "  (internal)" if d.get("internal") else ""))
                _table(
                    [(p["partition"], p.get("leader"), p.get("leader_addr"), ",".join(map(str, p.get("replicas", []))),
                      ",".join(map(str, p.get("isr", [])))) for p in d["partitions"]],
                    ("PARTITION", "LEADER", "LEADER_ADDR", "REPLICAS", "ISR"),
                    sys.stdout,
                )
                configs = d.get("configs") or {}
                if configs:
                    sys.stdout.write("configs: %s\n" % ", ".join(
                        "%s=%s" % (k, v.get("value") if isinstance(v, dict) else v) for k, v in sorted(configs.items())))
        elif action == "create":
            config = dict(_key_value(c, "config") for c in (args.config or []))
            for topic in args.names:
                admin.create_topic(topic, num_partitions=args.partitions, replication_factor=args.replication_factor,
                                   config=config or None)
                if not args.quiet:
                    sys.stderr.write("created topic %s (%d partitions)\n" % (topic, args.partitions))
        elif action == "delete":
            admin.delete_topics(list(args.names))
            if not args.quiet:
                sys.stderr.write("deleted %s\n" % ", ".join(args.names))
    return EXIT_OK


def cmd_groups(args: argparse.Namespace) -> int:
    from .admin import AdminClient

    action = args.action or "list"
    with AdminClient(_brokers(args), **_client_kwargs(args)) as admin:
        if action == "list":
            groups = admin.list_consumer_groups()
            if args.json:
                _dump_json(groups, sys.stdout)
            else:
                _table([(g["group_id"], g.get("state"), g.get("type"), g.get("protocol_type")) for g in groups],
                       ("GROUP", "STATE", "TYPE", "PROTOCOL_TYPE"), sys.stdout)
        elif action == "describe":
            for group in args.names:
                d = admin.describe_consumer_group(group)
                # A share group has no committed offsets but a start offset
                # (and lag) per partition: shown with the group.
                starts: Optional[List[Dict[str, Any]]] = None
                if d.get("type") == "share":
                    offsets = admin.list_share_group_offsets(group)
                    starts = [{"topic": t, "partition": p, "start_offset": o["start_offset"], "lag": o["lag"]}
                              for t in sorted(offsets) for p, o in sorted(offsets[t].items())]
                if args.json:
                    _dump_json(d if starts is None else dict(d, start_offsets=starts), sys.stdout)
                    continue
                coord = d.get("coordinator") or {}
                sys.stdout.write("group %s  state %s  type %s  protocol %s  coordinator %s\n" % (
                    d["group_id"], d.get("state"), d.get("type"), d.get("protocol") or "-", coord.get("addr", "-")))
                rows = []
                for m in d.get("members", []):
                    assigned = ", ".join("%s/%s" % (t, ",".join(map(str, ps)))
                                         for t, ps in sorted((m.get("assignment") or {}).items()))
                    rows.append((m.get("member_id"), m.get("client_id"), m.get("client_host"), assigned or "-"))
                _table(rows, ("MEMBER", "CLIENT_ID", "HOST", "ASSIGNMENT"), sys.stdout)
                if starts is not None:
                    _table([(r["topic"], r["partition"], r["start_offset"], None if r["lag"] < 0 else r["lag"]) for r in starts],
                           ("TOPIC", "PARTITION", "START_OFFSET", "LAG"), sys.stdout)
        elif action == "delete":
            admin.delete_consumer_groups(list(args.names))
            if not args.quiet:
                sys.stderr.write("deleted %s\n" % ", ".join(args.names))
    return EXIT_OK


def cmd_lag(args: argparse.Namespace) -> int:
    from .admin import AdminClient

    if args.watch is not None:
        if args.max_lag is not None:
            raise UsageError("--max-lag checks the lag once: it cannot be combined with --watch")
        from ._cli_stats import watch

        with AdminClient(_brokers(args), **_client_kwargs(args)) as admin:
            def render() -> List[str]:
                buf = io.StringIO()
                _lag_report(args, admin.consumer_lag(args.group), buf, compact=True)
                return buf.getvalue().splitlines()

            watch(render, args.watch, sys.stdout)
        return EXIT_OK  # not reached: watch ends by an interruption
    with AdminClient(_brokers(args), **_client_kwargs(args)) as admin:
        lag = admin.consumer_lag(args.group)
    total = _lag_report(args, lag, sys.stdout)
    if args.max_lag is not None and total > args.max_lag:
        sys.stderr.write("gofka: group %s lags %d messages behind, more than --max-lag %d\n" % (
            args.group, total, args.max_lag))
        return EXIT_LAG
    return EXIT_OK


def _lag_report(args: argparse.Namespace, lag: Dict[str, Dict[int, Dict[str, int]]], out: TextIO,
                compact: bool = False) -> int:
    """Writes the lag table (or, with -J, its JSON; one line with
    ``compact``) and returns the total lag."""
    rows = []
    total = 0
    for topic in sorted(lag):
        for partition in sorted(lag[topic]):
            r = lag[topic][partition]
            rows.append((topic, partition, r["committed_offset"], r["log_end_offset"], r["lag"]))
            total += r["lag"]
    if args.json:
        report = {"group": args.group, "total_lag": total, "partitions": [
            {"topic": t, "partition": p, "committed_offset": c, "log_end_offset": e, "lag": lg}
            for t, p, c, e, lg in rows]}
        if compact:
            out.write(json.dumps(report, sort_keys=True, default=str) + "\n")
        else:
            _dump_json(report, out)
    else:
        _table(rows, ("TOPIC", "PARTITION", "COMMITTED", "LOG_END", "LAG"), out)
        out.write("total lag %d\n" % total)
    return total


# --------------------------------------------------------------------------
# dev-cluster
# --------------------------------------------------------------------------


def cmd_dev_cluster(args: argparse.Namespace) -> int:
    from .devcluster import DevCluster

    with DevCluster(num_brokers=args.num_brokers, port=args.port) as cluster:
        if args.env:
            sys.stdout.write("export GOFKA_BROKERS=%s\n" % cluster.brokers)
        else:
            sys.stdout.write(cluster.brokers + "\n")
        sys.stdout.flush()
        if not args.quiet:
            sys.stderr.write("gofka: dev cluster of %d broker(s) running at %s; Ctrl-C stops it\n" % (
                args.num_brokers, cluster.brokers))
            sys.stderr.flush()
        try:
            while True:
                time.sleep(3600)
        except (KeyboardInterrupt, Interrupted):
            pass
    return EXIT_OK


# --------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------

_EPILOG = """\
exit codes: 0 success; 1 Kafka or client error; 2 usage error;
3 consume --count not reached before --idle-timeout or --exit;
4 lag above --max-lag; 130 interrupted.

Brokers: -b/--brokers or GOFKA_BROKERS. SASL password: GOFKA_SASL_PASSWORD.
Engine log lines go to stderr with -v (INFO) or -vv (DEBUG).

examples:
  gofka dev-cluster --env                     # in another shell: eval its output
  seq 1000000 | gofka produce numbers         # one message per line, with a progress line
  gofka produce -k id-1 -H source=cli events event.json   # one file = one message
  gofka consume numbers -o beginning -e       # everything there is now, then exit
  gofka consume events -g my-app -c 10        # 10 messages as group my-app (committed)
  gofka consume events -o -5 -f '{partition}:{offset} {key}={value}'
  gofka topics create orders -p 6 && gofka topics describe orders
  gofka lag my-app --max-lag 1000 || alert
"""


# The common options given before the command are parsed by the main parser
# into attributes with this prefix (a subparser's defaults would overwrite
# attributes of the same name) and moved onto the command's own by
# parse_args. Filled by _add_common: dest -> option names / default.
_BEFORE = "before_command_"
_COMMON_FLAGS: Dict[str, str] = {}
_COMMON_DEFAULTS: Dict[str, Any] = {}


def _add_common(p: argparse.ArgumentParser, before_command: bool = False) -> None:
    """The connection and output options of the commands; with
    before_command, the same options for the main parser (before the
    command)."""

    def add(group: Any, *flags: str, **kw: Any) -> None:
        dest = kw.pop("dest", None) or flags[-1].lstrip("-").replace("-", "_")
        _COMMON_FLAGS[dest] = "/".join(flags)
        if before_command:
            kw["default"] = argparse.SUPPRESS
            if kw.get("action") is None and "choices" not in kw:
                kw.setdefault("metavar", dest.upper())
            dest = _BEFORE + dest
        else:
            _COMMON_DEFAULTS[dest] = kw.get("default", 0 if kw.get("action") == "count" else
                                            False if kw.get("action") == "store_true" else None)
        group.add_argument(*flags, dest=dest, **kw)

    g = p.add_argument_group("connection" + (" (also after the command)" if before_command else ""))
    add(g, "-b", "--brokers", metavar="HOST:PORT,...",
        help="bootstrap brokers (default: $GOFKA_BROKERS)")
    add(g, "--client-id", help="client id sent to the brokers (default: the client's own)")
    add(g, "--timeout", type=float, default=30.0, metavar="SECONDS",
        help="connection and request timeout in seconds (default: 30)")
    # The values are the engine's (core/choices.go via _ranges.CHOICES).
    add(g, "--security-protocol", choices=list(CHOICES["security.protocol"].values),
        help="security protocol (default: PLAINTEXT, or SSL when --ssl-cafile is given)")
    add(g, "--ssl-cafile", metavar="PEM", help="CA certificates to verify the brokers with")
    add(g, "--ssl-certfile", metavar="PEM", help="client certificate (mutual TLS)")
    add(g, "--ssl-keyfile", metavar="PEM", help="client private key (mutual TLS)")
    # Not OAUTHBEARER: the command line has no token provider to give.
    add(g, "--sasl-mechanism", choices=[m for m in CHOICES["sasl.mechanism"].values if m != "OAUTHBEARER"],
        help="SASL mechanism (password from $GOFKA_SASL_PASSWORD)")
    add(g, "--sasl-username", metavar="USER", help="SASL user name")
    o = p.add_argument_group("output" + (" (also after the command)" if before_command else ""))
    add(o, "-q", "--quiet", action="store_true", help="no progress and no summary on stderr")
    add(o, "-v", "--verbose", action="count", default=0,
        help="engine log lines on stderr: -v INFO, -vv DEBUG")


def _progress_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_const", const=True, default=None,
                   help="show the live progress line (default: when stderr is a terminal)")
    g.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                   help="never show the live progress line")


def _non_negative_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text)
    if not v >= 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def _stats_interval(text: str) -> float:
    from ._cli_stats import interval

    return interval(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``gofka`` command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="gofka",
        description="Produce, consume and inspect Kafka from the shell (Gofka %s)." % __version__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="gofka %s" % __version__)
    _add_common(parser, before_command=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "produce", help="send messages: lines of stdin, or files",
        description="Send messages to TOPIC: each line of standard input (or of --delimiter-separated "
                    "chunks) is one message; with FILEs, each file is one message (or, with --lines, "
                    "each of its lines). Messages are sent in batches of --batch, each acknowledged "
                    "before the next. A summary with the throughput is printed on stderr.")
    p.add_argument("topic", help="topic to produce to")
    p.add_argument("files", nargs="*", metavar="FILE", help="files to send ('-' = stdin); default: stdin, line by line")
    p.add_argument("-l", "--lines", action="store_true", help="send each line of the FILEs as one message")
    p.add_argument("-D", "--delimiter", default="\\n",
                   help="message delimiter of line input, backslash escapes allowed (default: \\n)")
    p.add_argument("-k", "--key", help="the key of every message")
    p.add_argument("-K", "--key-delimiter", metavar="DELIM",
                   help="split each message at the first DELIM into key and value (kcat -K)")
    p.add_argument("-H", "--header", action="append", metavar="NAME=VALUE", help="add a header (repeatable)")
    p.add_argument("-p", "--partition", type=int, default=None,
                   help="partition to send to (default: the partitioner: by key hash, else spread)")
    p.add_argument("-z", "--compression", choices=list(CHOICES["compression.type"].values), default=None,
                   help="compression codec (default: none)")
    p.add_argument("--acks", choices=list(CHOICES["acks"].values), default="all", help="acknowledgements (default: all)")
    p.add_argument("--stats", type=_stats_interval, metavar="SECONDS",
                   help="print a per-partition summary (records/s, queue, round-trip time) on stderr every SECONDS")
    p.add_argument("--batch", type=int, default=10000, metavar="N",
                   help="messages per batch (default: 10000; a batch also ends at 1 MiB)")
    _progress_flags(p)
    _add_common(p)
    p.set_defaults(func=cmd_produce)

    p = sub.add_parser(
        "consume", help="print messages of topics",
        description="Print the messages of TOPICs to stdout: the value followed by --delimiter, or "
                    "--format / --json. Without --group it reads every partition (or --partition) "
                    "directly from --offset (default: beginning). With --group it joins the consumer "
                    "group, starts at the committed offsets (else --reset) and commits what it printed. "
                    "It runs until Ctrl-C, --count, --exit or --idle-timeout.")
    p.add_argument("topics", nargs="+", metavar="TOPIC", help="topics to read")
    p.add_argument("-g", "--group", help="consumer group to join (offsets are committed)")
    p.add_argument("--share-group", metavar="NAME",
                   help="read as a member of share group NAME (KIP-932, Kafka 4.2+): the members share the "
                        "records, each printed record is accepted; a new group starts at its "
                        "share.auto.offset.reset (latest unless set); not with --group, --partition, "
                        "--offset, --reset, --exit, --no-commit, --stats")
    p.add_argument("-p", "--partition", type=int, action="append", metavar="N",
                   help="read only this partition (repeatable; not with --group)")
    p.add_argument("-o", "--offset", type=_parse_offset, default=None, metavar="OFFSET",
                   help="beginning, end, stored (the group's), N (absolute) or -N (N before the end); "
                        "default: beginning, or stored with --group")
    p.add_argument("--reset", choices=["earliest", "latest"], default=None,
                   help="where a group without a committed offset starts (default: earliest)")
    p.add_argument("--no-commit", dest="commit", action="store_false",
                   help="with --group: do not commit offsets")
    p.add_argument("-c", "--count", type=int, metavar="N", help="exit after N messages")
    p.add_argument("-e", "--exit", action="store_true",
                   help="exit once every partition is read up to its end as of the start")
    p.add_argument("--stats", type=_stats_interval, metavar="SECONDS",
                   help="print a per-partition summary (records/s, lag, round-trip time) on stderr every SECONDS")
    p.add_argument("--idle-timeout", type=_non_negative_float, metavar="SECONDS",
                   help="exit after SECONDS without a message")
    p.add_argument("-f", "--format", metavar="FMT",
                   help="Python format string with {topic} {partition} {offset} {timestamp} {key} {value} "
                        "{headers} {delivery_count} (--share-group; else None); a newline follows each message")
    p.add_argument("-J", "--json", action="store_true",
                   help="one JSON object per message (key, value and headers as UTF-8 text; "
                        "delivery_count with --share-group)")
    p.add_argument("-D", "--delimiter", default="\\n", help="written after each raw value (default: \\n)")
    _progress_flags(p)
    _add_common(p)
    p.set_defaults(func=cmd_consume)

    p = sub.add_parser("topics", help="list, describe, create and delete topics",
                       description="Topic administration. ACTION defaults to list.")
    p.add_argument("action", nargs="?", choices=["list", "describe", "create", "delete"], help="default: list")
    p.add_argument("names", nargs="*", metavar="TOPIC", help="topics (describe, create, delete)")
    p.add_argument("--internal", action="store_true", help="list: include internal topics")
    p.add_argument("-P", "--partitions", type=int, default=1, help="create: number of partitions (default: 1)")
    p.add_argument("-r", "--replication-factor", type=int, default=1, help="create: replication factor (default: 1)")
    p.add_argument("-C", "--config", action="append", metavar="NAME=VALUE",
                   help="create: topic configuration (repeatable), e.g. retention.ms=60000")
    p.add_argument("-J", "--json", action="store_true", help="JSON output")
    _add_common(p)
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("groups", help="list, describe and delete consumer and share groups",
                       description="Group administration: consumer groups (classic and KIP-848) and share "
                                   "groups (KIP-932; describe also shows their start offset and lag per "
                                   "partition). ACTION defaults to list.")
    p.add_argument("action", nargs="?", choices=["list", "describe", "delete"], help="default: list")
    p.add_argument("names", nargs="*", metavar="GROUP", help="groups (describe, delete)")
    p.add_argument("-J", "--json", action="store_true", help="JSON output")
    _add_common(p)
    p.set_defaults(func=cmd_groups)

    p = sub.add_parser("lag", help="show a consumer group's lag per partition",
                       description="Committed offset, log end offset and lag of every partition GROUP has "
                                   "committed, and the total. With --max-lag N the exit code is 4 when the "
                                   "total lag is above N.")
    p.add_argument("group", help="consumer group")
    p.add_argument("--max-lag", type=int, metavar="N", help="exit with 4 when the total lag is above N")
    p.add_argument("-w", "--watch", type=_stats_interval, nargs="?", const=2.0, metavar="SECONDS",
                   help="refresh the table every SECONDS (default 2) until Ctrl-C, in place on a terminal")
    p.add_argument("-J", "--json", action="store_true", help="JSON output")
    _add_common(p)
    p.set_defaults(func=cmd_lag)

    p = sub.add_parser("dev-cluster", help="run an in-process Kafka-compatible cluster until Ctrl-C",
                       description="Start Gofka's in-memory dev cluster on 127.0.0.1 and print its bootstrap "
                                   "string (with --env: an export line for GOFKA_BROKERS), then run until "
                                   "Ctrl-C or SIGTERM. Topics are created on first use. Not for real data.")
    p.add_argument("-n", "--num-brokers", type=int, default=1, help="number of brokers, 1..16 (default: 1)")
    p.add_argument("--port", type=int, default=0, help="first port (default: 0 = free ports)")
    p.add_argument("--env", action="store_true", help="print `export GOFKA_BROKERS=...`")
    o = p.add_argument_group("output")
    o.add_argument("-q", "--quiet", action="store_true", help="no message on stderr")
    o.add_argument("-v", "--verbose", action="count", default=0, help="engine log lines on stderr")
    p.set_defaults(func=cmd_dev_cluster)
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parses a ``gofka`` command line (default: sys.argv[1:]); exits with
    EXIT_USAGE on a usage error. The connection and output options may come
    before the command or after it; given on both sides, ``-v`` counts add
    up and other options must agree."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for key in sorted(k for k in vars(args) if k.startswith(_BEFORE)):
        value = getattr(args, key)
        delattr(args, key)
        dest = key[len(_BEFORE):]
        if not hasattr(args, dest):  # e.g. -b before dev-cluster
            parser.error("%s does not apply to the %s command" % (_COMMON_FLAGS[dest], args.command))
        after = getattr(args, dest)
        if dest == "verbose":
            setattr(args, dest, value + after)
        elif after == _COMMON_DEFAULTS[dest] or after == value:
            setattr(args, dest, value)
        else:
            parser.error("%s is given before and after the command, with different values" % _COMMON_FLAGS[dest])
    return args


def _setup_logging(verbose: int) -> None:
    if verbose <= 0:
        return
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("gofka")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line ``argv`` (default: sys.argv[1:]) and returns
    the exit code."""
    parser = build_parser()
    args = parse_args(argv)
    _setup_logging(getattr(args, "verbose", 0))
    from .exceptions import GofkaError

    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        pass
    try:
        return int(args.func(args))
    except UsageError as exc:
        parser.exit(EXIT_USAGE, "gofka %s: error: %s\n" % (args.command, exc))
    except (TypeError, ValueError) as exc:  # rejected by the client's argument checks
        # (before GofkaError: a client's argument error is both, e.g. ProduceValueError)
        sys.stderr.write("gofka %s: error: %s\n" % (args.command, exc))
        return EXIT_USAGE
    except GofkaError as exc:
        sys.stderr.write("gofka %s: %s\n" % (args.command, exc))
        return EXIT_ERROR
    except (KeyboardInterrupt, Interrupted):
        sys.stderr.write("\ngofka: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_OK
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return EXIT_ERROR  # not reached: parser.exit raises SystemExit


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
