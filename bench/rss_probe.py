"""Where a worker's peak RSS goes: runs one bench worker in this process
with a sampler thread, and at the peak splits the RSS into the Go heap,
the client library's file pages and the rest (Python and C).

Usage (a worker and its spec, as run.py passes them; see clients/common.py):

    PYTHONPATH=python:bench/clients bench/.venv/bin/python bench/rss_probe.py \\
        bench/clients/gofka_nb.py '{"scenario": "produce", "mode": "produce-poll-each", ...}'

The worker's own output comes first; the last line is a JSON object:
peak_rss_kib, go_heap_kib, library_kib (with library_segments_kib, one per
mapping of the library file), other_kib.

How the split is made (/proc/self/smaps, Linux): the Go runtime reserves
its heap arenas at fixed hints starting at 0xc000000000, far below where
the kernel places the executable, the C heap and the shared libraries
(0x55..., 0x7f...), so anonymous mappings below 0x500000000000 are taken
for the Go heap (its arenas, stacks and runtime structures). Library
pages are the mappings of a file named like libgofka or librdkafka (the
peers' C library: confluent-kafka's wheel bundles it). The sampler reads
VmRSS every 20 ms and re-reads smaps whenever the RSS passed its peak, so
the split is that of the highest sample (it may miss a peak shorter than
20 ms). The sampling itself costs a little CPU; use it to analyse memory,
not to time anything."""

import json
import os
import runpy
import sys
import threading
import time

GO_HEAP_BELOW = 0x500000000000
LIBRARIES = ("libgofka", "librdkafka")


def vm_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def composition():
    """(go heap, library, library per mapping, other) in KiB, from smaps."""
    go = lib = other = 0
    segs = []
    kind = "other"
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(None, 6)
            if "-" in head[0] and ":" not in head[0]:  # a mapping's header line
                start = int(head[0].split("-", 1)[0], 16)
                path = head[5].strip() if len(head) > 5 else ""
                if any(name in os.path.basename(path) for name in LIBRARIES):
                    kind = "lib"
                elif path == "" and start < GO_HEAP_BELOW:
                    kind = "go"
                else:
                    kind = "other"
            elif line.startswith("Rss:"):
                kib = int(head[1])
                if kind == "go":
                    go += kib
                elif kind == "lib":
                    lib += kib
                    segs.append(kib)
                else:
                    other += kib
    return go, lib, segs, other


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    peak = {"peak_rss_kib": 0}
    lock = threading.Lock()

    def sample():
        while True:
            rss = vm_rss_kib()
            if rss > peak["peak_rss_kib"]:
                go, lib, segs, other = composition()
                with lock:
                    peak.update(peak_rss_kib=rss, go_heap_kib=go, library_kib=lib,
                                library_segments_kib=segs, other_kib=other)
            time.sleep(0.02)

    def report():
        with lock:
            line = json.dumps(peak)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    # The workers end with os._exit (common.main skips the interpreter's
    # teardown), so the report is printed on the way there.
    real_exit = os._exit

    def exit_after_report(code):
        report()
        real_exit(code)

    os._exit = exit_after_report
    threading.Thread(target=sample, name="rss-probe", daemon=True).start()
    worker = sys.argv[1]
    sys.argv = [worker, sys.argv[2]]
    try:
        runpy.run_path(worker, run_name="__main__")
    except SystemExit:
        pass
    report()


if __name__ == "__main__":
    main()
