"""Memory and read time of the in-memory TemporalStore at different snapshot intervals.

Commits ``--versions`` versions of a ~10 KB state (145 rows; each version changes one row and
a counter) into a store per interval, then prints one row per interval: the memory the store
holds afterwards and the peak while committing (tracemalloc, in a traced build), the time per
commit, per ``get()`` of the current and of a random older version, and for ``get_history()``
(in an untraced build). Interval 1 keeps every version whole, as the store did before it
kept operations. No assertions: a measurement, not a test.

    .venv/bin/python benchmarks/temporal_store.py [--versions 5000] [--intervals 1 50]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
import tracemalloc

from nerv_inner_universe import log
from nerv_inner_universe.delta import JSON
from nerv_inner_universe.nerv import TemporalStore

ROWS = 145


def row(n: int) -> JSON:
    return {"id": n, "name": f"row {n:05d}", "score": n * 0.5, "tags": [n % 7, n % 11, "t"]}


def state(rows: list[JSON], n: int) -> JSON:
    return {"rows": rows, "n": n}


def build(interval: int, versions: int) -> tuple[TemporalStore, list[str], float]:
    """A store holding ``versions`` versions, their ids, and the seconds the commits took."""
    store = TemporalStore(snapshot_interval=interval)
    rows = [row(n) for n in range(ROWS)]
    ids: list[str] = []
    started = time.perf_counter()
    for n in range(versions):
        rows = list(rows)
        rows[n % ROWS] = row(n)
        ids.append(store.commit(state(rows, n)))
    return store, ids, time.perf_counter() - started


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.3f} ms"


def measure(interval: int, versions: int, reads: int) -> dict[str, str]:
    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    traced, _, _ = build(interval, versions)
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    snapshots = traced.stored_snapshots
    del traced
    gc.collect()

    store, ids, commit_seconds = build(interval, versions)
    started = time.perf_counter()
    for _ in range(reads):
        store.get()
    head_seconds = (time.perf_counter() - started) / reads
    picks = random.Random(interval).choices(ids[:-1], k=reads)  # noqa: S311 (not secret)
    before = store.operation_lists_applied
    started = time.perf_counter()
    for version_id in picks:
        store.get(version_id)
    old_seconds = (time.perf_counter() - started) / reads
    applied = (store.operation_lists_applied - before) / reads
    started = time.perf_counter()
    store.get_history()
    history_seconds = time.perf_counter() - started
    return {
        "interval": str(interval),
        "snapshots": f"{snapshots:,}",
        "held": mib(held - baseline),
        "peak": mib(peak - baseline),
        "commit": ms(commit_seconds / versions),
        "get() head": ms(head_seconds),
        "get(old)": ms(old_seconds),
        "lists/get(old)": f"{applied:.1f}",
        "get_history()": f"{history_seconds:,.2f} s",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--intervals", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--reads", type=int, default=500)
    args = parser.parse_args()
    log.configure("warning")
    size = len(json.dumps(state([row(n) for n in range(ROWS)], 0)))
    print(f"{args.versions:,} versions of a {size:,}-byte state (JSON), {args.reads} reads each")
    table = [measure(interval, args.versions, args.reads) for interval in args.intervals]
    columns = list(table[0])
    widths = {c: max(len(c), *(len(r[c]) for r in table)) for c in columns}
    print("  ".join(f"{c:>{widths[c]}}" for c in columns))
    for measured in table:
        print("  ".join(f"{measured[c]:>{widths[c]}}" for c in columns))


if __name__ == "__main__":
    main()
