"""Throughput, replay time and memory of Inner Universe persistence, on a real server.

Starts its own spacetimedb-standalone on loopback (built by `inner-universe setup`), publishes
events through a NERV runtime with the plugin in each event mode, restarts the runtime to time
the replay, and prints one row per measurement.

    .venv/bin/python benchmarks/persistence.py [--events 5000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import httpx

from nerv_inner_universe import log
from nerv_inner_universe.controller import ServerProcess, free_port
from nerv_inner_universe.nerv import Nerv
from nerv_inner_universe.toolchain import setup


def publish_database(server: ServerProcess, wasm: Path, name: str) -> str:
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        token: str = http.post("/v1/identity").raise_for_status().json()["token"]
        http.put(
            f"/v1/database/{name}",
            content=wasm.read_bytes(),
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
    return token


def config(server: ServerProcess, name: str, token: str, events: str) -> dict[str, object]:
    section = {"url": server.base_url, "database": name, "token": token, "events": events}
    return {"nerv": {"plugins": ["inner_universe"], "inner_universe": section}}


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    log.configure("warning")
    machine = setup()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as root:
        server = ServerProcess(machine.server_binary, Path(root), port=free_port())
        server.start()
        try:
            for mode in ("async", "sync"):
                count = args.events if mode == "async" else max(args.events // 5, 1)
                name = f"bench-{mode}"
                token = publish_database(server, machine.module_wasm, name)
                runtime = Nerv(config(server, name, token, mode)).start()
                started = time.perf_counter()
                for n in range(count):
                    runtime.event_bus.publish("BENCH", {"n": n, "payload": "x" * 64})
                assert runtime.recorder is not None
                runtime.recorder.flush()
                seconds = time.perf_counter() - started
                runtime.stop()
                rows.append(
                    (f"publish {count} events, events={mode}", f"{count / seconds:,.0f} events/s")
                )
                started = time.perf_counter()
                replayed = Nerv(config(server, name, token, mode)).start()
                seconds = time.perf_counter() - started
                got = len(replayed.event_bus.get_history(limit=None))
                replayed.stop()
                rows.append((f"replay {count} events on start (history {got})", f"{seconds:.2f} s"))
        finally:
            server.stop()
    rows.append(("max RSS of this Python process", f"{max_rss_mib():.0f} MiB"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
