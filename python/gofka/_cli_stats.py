"""The statistics of the ``gofka`` command line: ``produce`` / ``consume
--stats SECONDS`` (a per-partition summary on stderr at that interval) and
``lag GROUP --watch`` (the lag table refreshed in place)."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

#: The longest --stats / --watch interval: the C ABI's int32 milliseconds.
MAX_INTERVAL_S = (2 ** 31 - 1) / 1000.0


def interval(text: str) -> float:
    """argparse type of --stats and --watch: seconds, > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number of seconds" % text)
    if not 0 < v <= MAX_INTERVAL_S:  # also refuses NaN
        raise argparse.ArgumentTypeError("must be > 0 and at most %g seconds, got %r" % (MAX_INTERVAL_S, text))
    return v


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> List[str]:
    cells = [[str(c) for c in header]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]


def _ms(us: int, samples: int) -> Optional[str]:
    return "%.2f" % (us / 1000.0) if samples else None


class StatsPrinter(object):
    """The ``on_stats`` of ``--stats``: writes a per-partition summary of
    each report to ``stream`` (stderr): the rate since the previous report
    (records sent by a producer, since the start for its first report;
    records polled by a consumer), the queue depth or the lag, and the
    round-trip time to the partition's leader ("-" before any timed
    request).

    Called in the client's report thread; ``lock`` serialises its writes
    with the progress line's.
    """

    def __init__(self, stream: TextIO, lock: Optional[threading.Lock] = None) -> None:
        self.stream = stream
        self.lock = lock or threading.Lock()
        self.prev: Optional[Dict[str, Any]] = None
        self.start_ms = int(time.time() * 1000)

    def lines(self, s: Dict[str, Any]) -> List[str]:
        """The summary of snapshot ``s`` (rates against the previous one)."""
        prev = self.prev
        dt = max((s["ts_ms"] - (prev["ts_ms"] if prev else self.start_ms)) / 1000.0, 1e-3)
        before: Dict[Tuple[str, int], Dict[str, Any]] = {}
        if prev is not None:
            before = {(p["topic"], p["partition"]): p for p in prev["partitions"]}
        rtt = {b["node_id"]: b for b in s["brokers"] if b["node_id"] >= 0}
        rows: List[Tuple[Any, ...]] = []
        for p in s["partitions"]:
            was = before.get((p["topic"], p["partition"]))
            b = rtt.get(p["leader"])
            avg = _ms(b["rtt_avg_us"], b["rtt_samples"]) if b else None
            p99 = _ms(b["rtt_p99_us"], b["rtt_samples"]) if b else None
            if s["type"] == "producer":
                done = p["records_sent"] - (was["records_sent"] if was else 0)
                rows.append((p["topic"], p["partition"], "%.0f" % (done / dt), p["queued_records"], avg, p99))
            else:
                # Records polled since the previous report; "-" until the
                # position was known at two reports in a row.
                rate = None
                if was is not None and was["position"] >= 0 and p["position"] >= 0:
                    rate = "%.0f" % (max(p["position"] - was["position"], 0) / dt)
                lag = p["lag"] if p["lag"] >= 0 else None
                rows.append((p["topic"], p["partition"], rate, lag, avg, p99))
        if s["type"] == "producer":
            head = ("TOPIC", "PARTITION", "RECORDS/S", "QUEUED", "RTT_MS", "RTT_P99_MS")
            title = "gofka stats: %d records sent, %d acknowledged, %d failed, buffer %d/%d bytes" % (
                s["records"], s["acknowledged"], s["failed"], s["buffer_bytes"], s["buffer_limit"])
        else:
            head = ("TOPIC", "PARTITION", "RECORDS/S", "LAG", "RTT_MS", "RTT_P99_MS")
            title = "gofka stats: %d records fetched, %d rebalances, prefetched %d/%d bytes" % (
                s["fetched_records"], s["rebalances"], s["buffer_bytes"], s["buffer_limit"])
        self.prev = s
        return [title] + _table(rows, head)

    def __call__(self, s: Dict[str, Any]) -> None:
        text = "\n".join(self.lines(s)) + "\n"
        with self.lock:
            self.stream.write("\r\x1b[K" + text if self.stream.isatty() else text)
            self.stream.flush()


def watch(render: Callable[[], List[str]], every: float, out: TextIO,
          sleep: Callable[[float], None] = time.sleep) -> None:
    """Shows ``render()`` every ``every`` seconds until interrupted
    (Ctrl-C, SIGTERM). On a terminal each refresh replaces the previous one
    in place (cursor up, clear to the end); otherwise each is written after
    the previous one, headed by the time, so that a log keeps them all."""
    drawn = 0
    while True:
        lines = render()
        if out.isatty():
            if drawn:
                out.write("\x1b[%dF\x1b[J" % drawn)  # back to the first line drawn, clear below
        else:
            out.write("# %s\n" % time.strftime("%Y-%m-%d %H:%M:%S"))
        out.write("\n".join(lines) + "\n")
        out.flush()
        drawn = len(lines)
        sleep(every)
