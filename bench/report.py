#!/usr/bin/env python3
"""Turns a raw result file of bench/run.py into docs/benchmarks.md and the
charts docs/bench-*.png (matplotlib, from bench/.venv).

Usage: bench/report.py bench/results/<timestamp>.json [--docs DIR]

Throughput (msgs/s, MB/s with MB = 10^6 bytes) is computed over the timed
section of each run; for consumers it starts at the first record (group
join and the first fetch are left out, they are in the raw file). "vs
confluent-kafka" is the median over rounds of the ratio to confluent-kafka
in the same round (the rounds interleave the clients, so each ratio
compares runs minutes apart at most); other columns are medians over the
rounds that passed verification.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
BASELINE = "confluent"
NA = "not available in this build"

SCENARIO_TITLES = {
    "produce": "1. Produce throughput",
    "consume": "2. Consume throughput",
    "latency": "3. Latency",
    "transactions": "4. Transactional produce",
    "share": "5. Share groups (KIP-932)",
}

# How each client is tuned (the worker docstrings say where from).
TUNING = [
    ("Gofka sync (`gofka_sync.py`)",
     "`Producer(compression=..., acks='all')`; `send_batch` of 10,000 values per call, one thread per partition "
     "(the API docs: calls release the GIL and run in parallel). Consumer: `poll(max_messages=10000)`, "
     "`auto_commit=False`."),
    ("Gofka async (`gofka_async.py`)",
     "`AsyncProducer(linger_ms=10, batch_size=1 MiB, max_in_flight=5)` (docs' performance tips); 2,500 `send(..., "
     "partition=None)` coroutines gathered per chunk (the engine's sticky partitioner), up to 4 chunks in flight; "
     "`send_batch` of 10,000 values, 4 in flight. `AsyncConsumer.poll(max_messages=10000)`. The patterns that "
     "await each send or wave (send-sequential, send-gather) use `linger_ms=0`, aiokafka too (docs/producer.md)."),
    ("Gofka non-blocking (`gofka_nb.py`)",
     "`Producer(linger_ms=10)`, `produce()` per record with an `on_delivery` callback and no partition (the "
     "engine's sticky partitioner), `poll(0)` every 1,024, `flush()` at the end: the confluent-kafka contract. "
     "Latency: `produce()+flush()`."),
    ("confluent-kafka (`confluent.py`)",
     "librdkafka's throughput advice: `linger.ms=10` (batch.size stays 1 MB), `queue.buffering.max.messages=1e6`, "
     "`produce()` with a delivery callback, `poll(0)` every 1,024, `flush()`. Consumer: `consume(num_messages=10000)`. "
     "Latency: `linger.ms=0`, `produce()+flush()`, consumer `poll()`."),
    ("aiokafka (`aiokafka_client.py`)",
     "`max_batch_size=128 KiB`, `linger_ms=10`; `await send()` per record then `flush()`; send_batch mode uses "
     "`create_batch/append/send_batch` round-robin over partitions. Consumer: `getmany(max_records=10000)`. "
     "Latency: `send_and_wait`."),
    ("kafka-python (`kafka_python.py`)",
     "`batch_size=128 KiB`, `linger_ms=10`, `send()` per record, `flush()`. Consumer: `poll(max_records=10000)`. "
     "Latency: `send().get()`."),
    ("Go: Gofka core (`gobench -client gofka`)",
     "`ProduceSync` with 10,000 records per call from 4 goroutines (partition -1: round-robin); `Produce`+`Flush` "
     "with `WithLinger(10ms)` when the build has it. Consumer `Poll(ctx, 10000)` in a group; the `FetchPartition` "
     "row reads each partition with its own goroutine and no group. zstd: gobench is built without "
     "`-tags gofka_czstd`, so it compresses with klauspost's pure-Go encoder (Go programs' default); the Python "
     "rows load the C library, which build.sh builds with libzstd (docs/producer.md)."),
    ("Go: franz-go (`gobench -client franz`)",
     "kgo defaults, which are its throughput settings (10 ms linger, 1 MB batches, idempotent acks=all); "
     "`Produce` with a promise, `Flush`; consumer `PollFetches` in a group. Latency: `ProducerLinger(0)`, `ProduceSync`."),
]


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_num(x, digits=0):
    if x is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(x)
    return "{:,.{d}f}".format(x, d=digits)


def fmt_ratio(x):
    return "-" if x is None else "%.2fx" % x


def rate(res):
    secs = res["seconds"] - (res.get("first_seconds") or 0.0)
    return res["count"] / secs if secs > 0 else None


def mbps(res):
    secs = res["seconds"] - (res.get("first_seconds") or 0.0)
    return res.get("bytes", 0) / secs / 1e6 if secs > 0 else None


def cpu_per_m(res):
    return res["cpu_seconds"] / res["count"] * 1e6 if res.get("count") else None


def rss_mib(res):
    return res.get("maxrss_kb", 0) / 1024.0


class Table:
    """Runs of one scenario config, grouped by client in first-seen order."""

    def __init__(self, scenario, config):
        self.scenario = scenario
        self.config = config
        self.clients = {}  # id -> {"family", "label", "runs": [entry]}

    def add(self, e):
        c = self.clients.setdefault(e["client"], {"family": e["family"], "label": e["label"], "runs": []})
        c["runs"].append(e)

    def ok_runs(self, cid):
        return [e for e in self.clients[cid]["runs"] if e["ok"]]

    def status(self, cid):
        runs = self.clients[cid]["runs"]
        ok = [e for e in runs if e["ok"]]
        if ok:
            return None
        for e in runs:
            if e["result"].get("unavailable"):
                return NA
        errs = [e["result"].get("error") or (e.get("verify") or {}).get("error") or "failed" for e in runs]
        return "failed: " + str(errs[0])[:160]

    def metric(self, cid, fn):
        return median([fn(e["result"]) for e in self.ok_runs(cid)])

    def ratio(self, cid, fn, baseline=BASELINE):
        """Median over rounds of fn(client)/fn(baseline) in the same round."""
        if baseline not in self.clients:
            return None
        base = {e["round"]: fn(e["result"]) for e in self.ok_runs(baseline)}
        rs = []
        for e in self.ok_runs(cid):
            b = base.get(e["round"])
            v = fn(e["result"])
            if b and v:
                rs.append(v / b)
        return median(rs)


def load_tables(doc):
    tables = {}
    order = []
    for e in doc["runs"]:
        key = (e["scenario"], e["config"]["name"])
        if key not in tables:
            tables[key] = Table(e["scenario"], e["config"])
            order.append(key)
        tables[key].add(e)
    return [tables[k] for k in order]


def e2e(res, q):
    lat = ((res.get("e2e") or {}).get("latency_ms")) or {}
    return lat.get(q)


def ack(res, q):
    return (res.get("latency_ms") or {}).get(q)


def inv_ack_p50(res):
    """1 / ack p50: so that latency ratios read like the others (> 1 =
    faster than the baseline)."""
    v = ack(res, "p50")
    return 1.0 / v if v else None


def config_title(t):
    c = t.config
    if t.scenario == "produce":
        comp = "no compression" if c["compression"] == "none" else c["compression"]
        return "%s values, %d partition%s, %s, acks=all (%s records per run)" % (
            size_name(c["size"]), c["partitions"], "" if c["partitions"] == 1 else "s", comp, fmt_num(c["count"]))
    if t.scenario == "transactions":
        return "%s values, %d partitions, a transaction committed every %s records (%s records per run)" % (
            size_name(c["size"]), c["partitions"], fmt_num(c["commit_every"]), fmt_num(c["count"]))
    if t.scenario == "consume":
        return "%s x %s values, %d partitions, pre-filled, read from the start" % (
            fmt_num(c["count"]), size_name(c["size"]), c["partitions"])
    if t.scenario == "share":
        return "%d consumer%s of one group (one process), %s x %s values, %d partitions, read from the start" % (
            c["members"], "" if c["members"] == 1 else "s", fmt_num(c["count"]), size_name(c["size"]), c["partitions"])
    return "one %s record at a time, acks=all, 1 partition (%s records per run)" % (size_name(c["size"]), fmt_num(c["count"]))


def size_name(n):
    return "1 KiB" if n == 1024 else "%d B" % n


def throughput_table(t):
    rows = [
        "| client | path | msgs/s | MB/s | CPU s / M msgs | peak RSS MiB | vs confluent-kafka | rounds ok |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for cid, c in t.clients.items():
        n_ok, n = len(t.ok_runs(cid)), len(c["runs"])
        st = t.status(cid)
        if st:
            rows.append("| %s | %s | %s | | | | | %d/%d |" % (c["family"], c["label"], st, n_ok, n))
            continue
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %d/%d |" % (
            c["family"], c["label"],
            fmt_num(t.metric(cid, rate)),
            fmt_num(t.metric(cid, mbps), 1),
            fmt_num(t.metric(cid, cpu_per_m), 2),
            fmt_num(t.metric(cid, rss_mib)),
            fmt_ratio(t.ratio(cid, rate)) if cid != BASELINE else "1.00x",
            n_ok, n))
    return rows


def latency_table(t):
    rows = [
        "| client | path | ack p50 ms | ack p99 ms | ack p99.9 ms | e2e p50 ms | e2e p99 ms | CPU s / M msgs | peak RSS MiB "
        "| speed vs confluent-kafka (ack p50) | rounds ok |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for cid, c in t.clients.items():
        n_ok, n = len(t.ok_runs(cid)), len(c["runs"])
        st = t.status(cid)
        if st:
            rows.append("| %s | %s | %s | | | | | | | | %d/%d |" % (c["family"], c["label"], st, n_ok, n))
            continue
        e2e_st = None
        oks = t.ok_runs(cid)
        if oks and all(not (e["result"].get("e2e") or {}).get("ok") for e in oks):
            e2e_res = oks[0]["result"].get("e2e") or {}
            e2e_st = "n/a (no consumer)" if e2e_res.get("unavailable") else "failed"
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |" % (
            c["family"], c["label"],
            fmt_num(t.metric(cid, lambda r: ack(r, "p50")), 2),
            fmt_num(t.metric(cid, lambda r: ack(r, "p99")), 2),
            fmt_num(t.metric(cid, lambda r: ack(r, "p99.9")), 2),
            e2e_st or fmt_num(t.metric(cid, lambda r: e2e(r, "p50")), 2),
            e2e_st or fmt_num(t.metric(cid, lambda r: e2e(r, "p99")), 2),
            fmt_num(t.metric(cid, cpu_per_m), 1),
            fmt_num(t.metric(cid, rss_mib)),
            fmt_ratio(t.ratio(cid, inv_ack_p50)) if cid != BASELINE else "1.00x",
            n_ok, n))
    return rows


def best(t, prefix_family, fn=rate, lower=False):
    """(client id, value) of the best available client of a family."""
    cands = [(cid, t.metric(cid, fn)) for cid, c in t.clients.items() if c["family"] == prefix_family]
    cands = [(cid, v) for cid, v in cands if v is not None]
    if not cands:
        return None, None
    return (min if lower else max)(cands, key=lambda x: x[1])


def cpu_us(res):
    """Client CPU microseconds per message."""
    return res["cpu_seconds"] / res["count"] * 1e6 if res.get("count") else None


def pattern_pair(t):
    """(Gofka client id, peer client id) of a pattern table (run.py
    PATTERNS: one Gofka loop beside one peer loop)."""
    ids = list(t.clients)
    gofka = [c for c in ids if t.clients[c]["family"] == "Gofka"]
    peers = [c for c in ids if t.clients[c]["family"] != "Gofka"]
    return (gofka[0] if gofka else None), (peers[0] if peers else None)


def patterns_table(tables):
    """One row per pattern: Gofka's loop against the peer's same loop."""
    rows = [
        "| what the user writes | Gofka | peer | Gofka msgs/s | peer msgs/s | **throughput ratio** | "
        "CPU us/msg Gofka / peer | **CPU ratio** | peak RSS MiB Gofka / peer | rounds ok |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for t in tables:
        g, p = pattern_pair(t)
        if g is None or p is None:
            continue
        gl, pl = t.clients[g]["label"], "%s `%s`" % (t.clients[p]["family"], t.clients[p]["label"])
        st = t.status(g) or t.status(p)
        n_ok = min(len(t.ok_runs(g)), len(t.ok_runs(p)))
        n = max(len(t.clients[g]["runs"]), len(t.clients[p]["runs"]))
        code = "`%s` (%s x %s)" % (t.config.get("code", t.config["name"]), fmt_num(t.config["count"]),
                                  size_name(t.config["size"]))
        if st:
            rows.append("| %s | `%s` | %s | %s | | | | | | %d/%d |" % (code, gl, pl, st, n_ok, n))
            continue
        # CPU ratio: peer CPU / Gofka CPU per message, per round (> 1 = Gofka cheaper).
        cpu_r = t.ratio(p, cpu_us, baseline=g)
        rows.append("| %s | `%s` | %s | %s | %s | **%s** | %s / %s | **%s** | %s / %s | %d/%d |" % (
            code, gl, pl,
            fmt_num(t.metric(g, rate)), fmt_num(t.metric(p, rate)),
            fmt_ratio(t.ratio(g, rate, baseline=p)),
            fmt_num(t.metric(g, cpu_us), 2), fmt_num(t.metric(p, cpu_us), 2), fmt_ratio(cpu_r),
            fmt_num(t.metric(g, rss_mib)), fmt_num(t.metric(p, rss_mib)), n_ok, n))
    return rows


def asyncio_floor_note(tables):
    """The ceiling of the send-gather loop: asyncio's own cost of one
    future per record (gofka_async.py measures it in the same process
    before its run), and how close Gofka's loop comes to it."""
    for t in tables:
        g, _ = pattern_pair(t)
        if g is None or t.status(g):
            continue
        floor = t.metric(g, lambda res: res.get("asyncio_floor_msgs_s"))
        if floor:
            return ("`%s`: asyncio alone, with no client (a future per record created, gathered in waves of "
                    "2,500 and resolved), runs this loop at %s futures/s in the same process; Gofka's loop "
                    "reaches %.0f%% of that ceiling." % (t.config["name"], fmt_num(floor),
                                                        100 * t.metric(g, rate) / floor))
    return None


def share_headline(t):
    """Gofka's share consumers beside its classic group consumers (same
    language) and beside confluent-kafka's share consumer."""
    parts = []
    for family, share, classic in (("Gofka", "gofka-sync.share", "gofka-sync.classic"),
                                   ("Go: Gofka core", "go-gofka.share", "go-gofka.classic")):
        if share not in t.clients or t.status(share):
            continue
        p = "%s `%s` %s msgs/s" % ("Python" if family == "Gofka" else "Go", t.clients[share]["label"],
                                   fmt_num(t.metric(share, rate)))
        if classic in t.clients and not t.status(classic):
            p += " = %s the classic group" % fmt_ratio(t.ratio(share, rate, baseline=classic))
        if family == "Gofka" and BASELINE in t.clients and not t.status(BASELINE):
            p += ", **%s** confluent-kafka's share consumer" % fmt_ratio(t.ratio(share, rate))
        parts.append(p)
    return "; ".join(parts) or "no Gofka share consumer result"


def headline(tables):
    lines = []
    worst = []
    pats = [t for t in tables if t.scenario == "pattern"]
    if pats:
        parts = []
        for t in pats:
            g, p = pattern_pair(t)
            if g is None or p is None:
                continue
            r = t.ratio(g, rate, baseline=p)
            parts.append("%s %s %s" % (t.config["name"], fmt_ratio(r) if r is not None else "n/a",
                                       t.clients[p]["family"]))
        lines.append("- **The loops users write** (throughput vs the peer writing the same loop): " + "; ".join(parts))
    for t in tables:
        if t.scenario == "pattern":
            continue
        if t.scenario == "share":
            lines.append("- **Share groups, %d consumer%s**: %s" % (
                t.config["members"], "" if t.config["members"] == 1 else "s", share_headline(t)))
            continue
        if t.scenario == "latency":
            cid, v = best(t, "Gofka", lambda r: ack(r, "p50"), lower=True)
            gcid, gv = best(t, "Go: Gofka core", lambda r: ack(r, "p50"), lower=True)
            fr = t.metric("go-franz", lambda r: ack(r, "p50")) if "go-franz" in t.clients else None
            base = t.metric(BASELINE, lambda r: ack(r, "p50")) if BASELINE in t.clients else None
            parts = []
            if cid and base:
                parts.append("Python: Gofka `%s` ack p50 %.2f ms vs confluent-kafka %.2f ms (**%s** as fast)" % (
                    t.clients[cid]["label"], v, base, fmt_ratio(t.ratio(cid, inv_ack_p50))))
            if gcid and fr:
                parts.append("Go: Gofka core %.2f ms vs franz-go %.2f ms" % (gv, fr))
            ecid, ev = best(t, "Gofka", lambda r: e2e(r, "p50"), lower=True)
            ebase = t.metric(BASELINE, lambda r: e2e(r, "p50")) if BASELINE in t.clients else None
            if ecid and ebase:
                parts.append("end-to-end p50: Gofka `%s` %.2f ms vs confluent-kafka %.2f ms" % (
                    t.clients[ecid]["label"], ev, ebase))
            lines.append("- **Latency** (produce-to-ack p50): " + ("; ".join(parts) or "no Gofka result"))
            continue
        name = "%s %s" % (t.scenario.capitalize(), t.config["name"])
        if t.scenario == "transactions":
            # Gofka's Python path and Go engine, each against confluent-kafka.
            parts = []
            for fam, what in (("Gofka", "Python"), ("Go: Gofka core", "Go: Gofka core")):
                c, v = best(t, fam)
                r = t.ratio(c, rate) if c else None
                if r is not None:
                    parts.append("%s %s msgs/s = **%s** confluent-kafka" % (what, fmt_num(v), fmt_ratio(r)))
            lines.append("- **%s**: %s" % (name, "; ".join(parts) or "no result"))
            continue
        cid, v = best(t, "Gofka")
        parts = []
        if cid:
            r = t.ratio(cid, rate)
            parts.append("best Gofka Python path `%s` %s msgs/s = **%s** confluent-kafka" % (
                t.clients[cid]["label"], fmt_num(v), fmt_ratio(r)))
            if r is not None:
                worst.append((r, name, t.clients[cid]["label"]))
            slow = [(t.ratio(c, rate), t.clients[c]["label"]) for c, cc in t.clients.items()
                    if cc["family"] == "Gofka" and c != cid and t.ratio(c, rate) is not None]
            for r2, lab in slow:
                worst.append((r2, name, lab))
        else:
            parts.append("no Gofka Python path in this build")
        gcid, gv = best(t, "Go: Gofka core")
        fr = t.metric("go-franz", rate) if "go-franz" in t.clients else None
        if gcid and fr:
            parts.append("Go: Gofka core `%s` = **%s** franz-go" % (
                t.clients[gcid]["label"], fmt_ratio(t.ratio(gcid, rate, baseline="go-franz"))))
        lines.append("- **%s**: %s" % (name, "; ".join(parts)))
    if worst:
        worst.sort()
        r, name, lab = worst[0]
        lines.append("- **Slowest Gofka Python spot**: %s, `%s` at %s confluent-kafka." % (name, lab, fmt_ratio(r)))
    return lines


def charts(tables, docs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"Gofka": "#1f77b4", "Go: Gofka core": "#17becf", "confluent-kafka": "#d62728",
              "aiokafka": "#2ca02c", "kafka-python": "#9467bd", "Go: franz-go": "#ff7f0e"}
    written = []

    def bars(scenarios, fn, xlabel, fname, title):
        ts = [t for t in tables if t.scenario in scenarios]
        if not ts:
            return
        fig, axes = plt.subplots(len(ts), 1, figsize=(10, 0.45 * sum(len(t.clients) for t in ts) + 1.2 * len(ts)),
                                 squeeze=False)
        for ax, t in zip(axes[:, 0], ts):
            names, vals, cols = [], [], []
            for cid, c in t.clients.items():
                v = t.metric(cid, fn)
                names.append("%s: %s" % (c["family"], c["label"]) + ("" if v is not None else " (n/a)"))
                vals.append(v or 0)
                cols.append(colors.get(c["family"], "grey"))
            y = range(len(names))
            ax.barh(list(y), vals, color=cols)
            ax.set_yticks(list(y))
            ax.set_yticklabels(names, fontsize=7)
            ax.invert_yaxis()
            ax.set_title("%s: %s%s" % (title, t.scenario + " " if len(scenarios) > 1 else "", t.config["name"]), fontsize=9)
            ax.set_xlabel(xlabel, fontsize=8)
            ax.tick_params(axis="x", labelsize=7)
            for yi, v in zip(y, vals):
                if v:
                    ax.text(v, yi, " " + (fmt_num(v) if v >= 100 else fmt_num(v, 2)), va="center", fontsize=6)
        fig.tight_layout()
        path = os.path.join(docs, fname)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    bars(("produce",), rate, "messages / s (median)", "bench-produce.png", "Produce")
    bars(("consume",), rate, "messages / s (median, from the first record)", "bench-consume.png", "Consume")
    latency_chart(tables, docs, colors, written)
    # Cost: CPU seconds per million messages, every throughput config.
    bars(("produce", "consume"), cpu_per_m, "client CPU seconds per million messages (median)", "bench-cost.png",
         "CPU cost")
    return written


def latency_chart(tables, docs, colors, written):
    """Per client: produce-to-ack p50 / p99 / p99.9 and end-to-end p50 / p99
    (medians over rounds), one group of bars per client."""
    import matplotlib.pyplot as plt

    ts = [t for t in tables if t.scenario == "latency"]
    if not ts:
        return
    series = [
        ("ack p50", lambda r: ack(r, "p50"), 1.0),
        ("ack p99", lambda r: ack(r, "p99"), 0.75),
        ("ack p99.9", lambda r: ack(r, "p99.9"), 0.5),
        ("e2e p50", lambda r: e2e(r, "p50"), 1.0),
        ("e2e p99", lambda r: e2e(r, "p99"), 0.5),
    ]
    for t in ts:
        cids = list(t.clients)
        fig, ax = plt.subplots(figsize=(10, 0.75 * len(cids) + 1.5))
        h = 0.8 / len(series)
        for k, (name, fn, alpha) in enumerate(series):
            ys, vals, cols = [], [], []
            for i, cid in enumerate(cids):
                v = t.metric(cid, fn)
                ys.append(i + (k - (len(series) - 1) / 2.0) * h)
                vals.append(v or 0)
                cols.append(colors.get(t.clients[cid]["family"], "grey"))
            hatch = "//" if name.startswith("e2e") else None
            ax.barh(ys, vals, height=h, color=cols, alpha=alpha, hatch=hatch, edgecolor="black", linewidth=0.3)
            for y, v in zip(ys, vals):
                if v:
                    ax.text(v, y, " %s %.2f" % (name, v), va="center", fontsize=5)
        ax.set_yticks(range(len(cids)))
        ax.set_yticklabels(["%s: %s" % (t.clients[c]["family"], t.clients[c]["label"])
                            + ("" if t.metric(c, lambda r: ack(r, "p50")) is not None else " (n/a)") for c in cids],
                           fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("ms (median over rounds); plain bars: produce-to-ack, hatched: end-to-end", fontsize=8)
        ax.set_title("Latency: %s" % t.config["name"], fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        fig.tight_layout()
        path = os.path.join(docs, "bench-latency.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
        break  # one latency configuration


def render(doc, results_rel, chart_files):
    meta = doc["meta"]
    m = meta["machine"]
    v = meta["versions"]
    tables = load_tables(doc)
    la0, la1 = m.get("loadavg_start", [0])[0], (meta.get("loadavg_end") or [0])[0]
    # Only the start counts: during and at the end of a run the harness's
    # own broker and client keep up to every core busy.
    loaded = la0 > (m.get("cores") or 1)
    L = []
    L.append("# Gofka benchmarks")
    L.append("")
    L.append("Generated by `%s` (`bench/run.py%s`) from `%s`. Do not edit by hand: `make bench` rewrites this file "
             "and the charts next to it." % ("make bench-quick" if meta["mode"] == "quick" else "make bench",
                                              " --quick" if meta["mode"] == "quick" else "", results_rel))
    L.append("")
    L.append("Run %s, %s mode, %d rounds, %s to %s, %.0f s in all." % (
        meta["run_id"], meta["mode"], meta["rounds"], meta["started"], meta.get("finished", "?"),
        meta.get("elapsed_seconds") or 0))
    L.append("")
    if loaded:
        L.append("> **The machine was loaded during this run** (load average %.1f at the start, %.1f at the end, on %s "
                 "cores; the harness's own broker and client account for up to one per core): other work was running "
                 "beside it. Absolute numbers are only indicative; the "
                 "ratios compare clients run side by side, interleaved, against the same broker, and are the part to "
                 "read. Rerun `make bench` on a quiet machine for numbers to quote." % (la0, la1, m.get("cores")))
        L.append("")
    if meta["mode"] == "quick":
        L.append("> Quick mode: small message counts and a subset of the scenario matrix; the full matrix is `make bench`.")
        L.append("")
    L.append("## Headline")
    L.append("")
    L.append("Ratios are medians over rounds of the ratio to the baseline in the same round (> 1 = faster).")
    L.append("")
    L.extend(headline(tables))
    L.append("")
    pats = [t for t in tables if t.scenario == "pattern"]
    if pats:
        L.append("## The loops users write")
        L.append("")
        note = source_note(pats, "patterns")
        if note:
            L.append(note)
            L.append("")
        L.append("Each row is one loop as a user writes it (the API docs' examples, the peers' own examples), "
                 "Gofka's beside the peer's, run interleaved against the same broker: %s values, %d partitions, "
                 "no compression, acks=all. Throughput ratio = Gofka / peer; CPU ratio = peer CPU per message / "
                 "Gofka's (both > 1 = Gofka better); medians over rounds of the same-round ratios. The consume and "
                 "commit loops read a pre-filled topic as a new group; the commit loops check afterwards that the "
                 "committed offsets cover every record." % (
                     size_name(pats[0].config["size"]), pats[0].config["partitions"]))
        L.append("")
        L.extend(patterns_table(pats))
        L.append("")
        floor = asyncio_floor_note(pats)
        if floor:
            L.append(floor)
            L.append("")
    L.append("## Machine and versions")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| CPU | %s, %s cores, %s GiB |" % (m.get("cpu_model", "?"), m.get("cores"), m.get("mem_gib", "?")))
    L.append("| OS | %s |" % m.get("platform"))
    L.append("| load average (start / end) | %.1f / %.1f |" % (la0, la1))
    L.append("| Kafka | Apache Kafka %s, 1 KRaft node on 127.0.0.1 (scripts/kafka.sh), %s |" % (v.get("kafka"), v.get("java", "")))
    gp = meta.get("gofka_paths", {}).get("python", {})
    L.append("| Gofka | %s (library %s), commit %s%s |" % (gp.get("version", "?"), gp.get("library_version", "?"),
                                                          v.get("gofka_commit", "?"), " + local changes" if v.get("gofka_dirty") else ""))
    L.append("| confluent-kafka | %s (librdkafka %s) |" % (v.get("confluent-kafka"), v.get("librdkafka")))
    L.append("| aiokafka | %s |" % v.get("aiokafka"))
    L.append("| kafka-python | %s |" % v.get("kafka-python"))
    L.append("| franz-go | %s |" % v.get("franz-go"))
    L.append("| Go / Python | %s / %s |" % (v.get("go", "").replace("go version ", ""), m.get("python")))
    L.append("")
    for scen in ("produce", "consume", "latency", "transactions", "share"):
        ts = [t for t in tables if t.scenario == scen]
        if not ts:
            continue
        L.append("## %s" % SCENARIO_TITLES[scen])
        L.append("")
        note = source_note(ts)
        if note:
            L.append(note)
            L.append("")
        if scen == "share":
            L.append("N consumers of one new group (a thread or goroutine each, one process) read a pre-filled "
                     "topic together until they have every record: a share group (implicit acknowledgement, the "
                     "group set to `share.auto.offset.reset=earliest`) beside a classic group (no commits, reading "
                     "once every partition is assigned). Count and checksum must match exactly, so a record "
                     "delivered twice fails the run. The ratio column compares with confluent-kafka's "
                     "`ShareConsumer` (librdkafka's KIP-932 consumer).")
            L.append("")
        for t in ts:
            L.append("### %s" % config_title(t))
            L.append("")
            L.extend(latency_table(t) if scen == "latency" else throughput_table(t))
            L.append("")
    L.append("## 6. Cost")
    L.append("")
    L.append("Every table above has the client's CPU seconds per million messages (user + system time of the whole "
             "client process, all threads, from `getrusage(RUSAGE_SELF)` around the timed section) and its peak RSS "
             "(VmHWM from `/proc/self/status`, whole process life; not `ru_maxrss`, which Linux carries over `exec` from the parent). Throughput workers hold their payload list (up to 16 MiB of "
             "distinct values plus one reference per record) in memory, the same for every client of a language. "
             "`bench-cost.png` puts the CPU cost of every throughput configuration side by side.")
    L.append("")
    if chart_files:
        L.append("## Charts")
        L.append("")
        for p in chart_files:
            L.append("![%s](%s)" % (os.path.basename(p), os.path.basename(p)))
            L.append("")
    missing = [k for k, ok in gp.items() if ok is False]
    gm = meta.get("go_tags_missing") or {}
    if missing or gm:
        L.append("## Gofka paths not in this build")
        L.append("")
        L.append("Rows marked \"%s\" are paths the harness measures as soon as they exist (it checks the Python "
                 "package with `hasattr` and compiles the Go peer with each optional build tag):" % NA)
        L.append("")
        for k in missing:
            L.append("- Python: `gofka.%s`" % k)
        for tag, why in gm.items():
            L.append("- Go (`-tags %s`): `%s`" % (tag, why))
        L.append("")
    L.append("## Method")
    L.append("")
    L.append("- `bench/run.py` starts its own Apache Kafka with `scripts/kafka.sh` (port 9592, workdir `.kafka-bench/`, "
             "both changeable) and always stops it at the end, also on errors and Ctrl-C. Everything runs on loopback.")
    L.append("- Peers come from PyPI into `bench/.venv` (`bench/requirements.txt`, pinned); Gofka is the repo's "
             "(`python/gofka` with the `libgofka.so` of `./build.sh`, copied at the start so that one run measures one "
             "build); the Go peer is `bench/gobench`, one program with `-client gofka|franz`, built with the repo's "
             "`core`.")
    L.append("- Each measured run is its own process (`bench/clients/*.py` or `gobench`) with a hard timeout; "
             "it gets its scenario as JSON and prints one JSON result (count, checksum, seconds, CPU seconds, peak RSS).")
    if meta.get("warmup"):
        L.append("- Before the first measured run the harness wrote and read back %d records (%.0f s, unmeasured), so "
                 "that the broker's JIT has compiled its produce and fetch paths before any client is timed."
                 % (meta["warmup"]["records"], meta["warmup"]["seconds"]))
    L.append("- Clients are interleaved for %d rounds per configuration, the order rotating each round (A B C, B C A, "
             "C A B, ...); tables show medians. Every "
             "produce run writes to a fresh topic (created before, deleted after); consumers of a configuration share "
             "one pre-filled topic, each in a fresh consumer group." % meta["rounds"])
    L.append("- Verification: payloads come from a deterministic pool (an 8-byte index plus SHA-512-derived letters, "
             "about 2:1 compressible). The checksum is the sum of CRC-32 of every value. After each produce run the "
             "topic is read back (franz-go) and must hold exactly the records sent, with the expected checksum; "
             "each consumer must return exactly the pre-filled count with the expected checksum; each latency "
             "consumer must see what its producer sent. A run that fails verification does not count.")
    L.append("- Produce time runs from the first send to the last acknowledgement (flush). Consume time runs "
             "from the first record to the last (group join is in the raw file as `first_seconds`). Latency: "
             "produce-to-ack is the time of one blocking send with nothing else in flight (linger 0); end-to-end is "
             "measured by a consumer process of the same client library, from the send timestamp carried in the "
             "record to its delivery by poll (same machine, same clock).")
    L.append("- CPU seconds per million messages come from `getrusage` in the client process; peak RSS from VmHWM.")
    L.append("- Idempotence is left at each client's default: on for Gofka core, franz-go and kafka-python 3.x, "
             "off for confluent-kafka and aiokafka (it adds an InitProducerId request at start and sequence numbers "
             "per batch).")
    L.append("- The broker is `scripts/kafka.sh`'s single KRaft node (2 network / 4 I/O threads, 256-768 MiB heap, "
             "RF 1): small on purpose, it is the same for every client, and the ratios are what is compared.")
    L.append("")
    L.append("### How each client is tuned")
    L.append("")
    L.append("Every client runs with acks=all and the scenario's compression, tuned for throughput the way its own "
             "documentation advises:")
    L.append("")
    for who, how in TUNING:
        L.append("- **%s**: %s" % (who, how))
    L.append("")
    L.append("## Running it")
    L.append("")
    L.append("```sh")
    L.append("make bench-quick   # < 5 min: a subset, small counts, 3 rounds")
    L.append("make bench         # the full matrix (30+ min)")
    L.append("bench/run.py --help  # --only produce,consume,latency,patterns, --clients ids, --rounds N, --port, --brokers")
    L.append("bench/report.py bench/results/<run>.json  # regenerate this page from a raw file")
    L.append("```")
    L.append("")
    return "\n".join(L)


def add_scenarios(doc, path):
    """Adds to doc the runs of path's scenarios that doc has none of, each
    marked with where it comes from (render prints it above the section)."""
    with open(path) as f:
        other = json.load(f)
    om = other["meta"]
    source = {"run_id": om["run_id"], "results": os.path.relpath(os.path.abspath(path), ROOT),
              "commit": om["versions"].get("gofka_commit", "?"), "started": om["started"],
              "loadavg": (om["machine"].get("loadavg_start") or [0])[0], "cores": om["machine"].get("cores"),
              "rounds": om["rounds"], "argv": om.get("argv") or []}
    have = {e["scenario"] for e in doc["runs"]}
    doc["runs"].extend(dict(e, source=source) for e in other["runs"] if e["scenario"] not in have)


def source_note(ts, only=None):
    """The line saying which run a section's tables come from, or None
    when they come from the page's main run (only: the --only name of the
    scenario when it is not the tables' own)."""
    first = next(iter(ts[0].clients.values()))["runs"][0]
    src = first.get("source")
    if not src:
        return None
    how = "`bench/run.py %s`" % " ".join(src["argv"]) if src.get("argv") else "a full `make bench`"
    return ("> This section comes from another run: %s (`%s`, commit %s, %s, %d rounds, load average %.1f at its "
            "start on %s cores), run with %s (`bench/run.py --only %s` runs this section alone); the page's other "
            "sections come from the run named at the top." % (src["run_id"], src["results"], src["commit"],
                                                              src["started"], src["rounds"], src["loadavg"],
                                                              src["cores"], how, only or ts[0].scenario))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="bench/results/<timestamp>.json")
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs"), help="output directory (default docs/)")
    ap.add_argument("--no-charts", action="store_true")
    ap.add_argument("--also", action="append", default=[], metavar="RESULTS",
                    help="another run's raw file: its scenarios that the main run lacks are added, each section "
                         "saying which run it comes from (e.g. a scenario run alone with --only)")
    args = ap.parse_args()
    with open(args.results) as f:
        doc = json.load(f)
    for path in args.also:
        add_scenarios(doc, path)
    os.makedirs(args.docs, exist_ok=True)
    tables = load_tables(doc)
    chart_files = [] if args.no_charts else charts(tables, args.docs)
    rel = os.path.relpath(os.path.abspath(args.results), ROOT)
    md = render(doc, rel, chart_files)
    out = os.path.join(args.docs, "benchmarks.md")
    with open(out, "w") as f:
        f.write(md)
    sys.stderr.write("wrote %s and %d charts\n" % (os.path.relpath(out, ROOT), len(chart_files)))


if __name__ == "__main__":
    main()
