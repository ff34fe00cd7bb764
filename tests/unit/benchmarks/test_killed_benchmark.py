"""Nothing the benchmark starts outlives it, even when it is killed by SIGKILL (which no cleanup
code sees): its private PostgreSQL, a scenario's child process."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import time
from multiprocessing.connection import Connection
from pathlib import Path

from rich.console import Console

from benchmarks.compare import in_child, postgres_server

DEADLINE_SECONDS = 120.0
"""Generous: initdb and the start on a loaded machine; each wait ends as soon as its condition
holds."""


def _serve(reply: Connection) -> None:
    with postgres_server(Console(quiet=True)):
        reply.send(os.getpid())
        signal.pause()  # until the test kills this process


def _postmaster_of(parent: int) -> int | None:
    found = subprocess.run(
        ["pgrep", "-P", str(parent), "-x", "postgres"], capture_output=True, text=True, check=False
    )
    pids = found.stdout.split()
    return int(pids[0]) if pids else None


def _data_dir(postmaster: int) -> Path:
    """The ``-D`` argument ``postmaster`` was started with."""
    argv = Path(f"/proc/{postmaster}/cmdline").read_bytes().split(b"\0")
    return Path(os.fsdecode(argv[argv.index(b"-D") + 1]))


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie no longer does: it is reaped by init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_postgres_stops_when_the_benchmark_is_killed() -> None:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_serve, args=(send,))
    child.start()
    try:
        assert receive.poll(DEADLINE_SECONDS), "PostgreSQL did not start"
        benchmark = receive.recv()
        postmaster = _postmaster_of(benchmark)
        assert postmaster is not None, "PostgreSQL is no child of the benchmark"
        data_dir = _data_dir(postmaster)
        os.kill(benchmark, signal.SIGKILL)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(postmaster), "PostgreSQL outlived the benchmark that started it"
        shutil.rmtree(data_dir.parent)  # what a killed benchmark cannot remove
    finally:
        child.kill()
        child.join()


def _report_pid_and_wait(pid_file: Path) -> None:
    pid_file.write_text(str(os.getpid()))
    signal.pause()


def _run_in_child(pid_file: Path) -> None:
    in_child(_report_pid_and_wait, pid_file)


def test_a_scenarios_child_dies_with_the_killed_benchmark(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    benchmark = multiprocessing.get_context("spawn").Process(target=_run_in_child, args=(pid_file,))
    benchmark.start()
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the scenario's child did not start"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert _alive(child)
        os.kill(benchmark.pid or 0, signal.SIGKILL)
        while _alive(child) and time.monotonic() < deadline + DEADLINE_SECONDS:
            time.sleep(0.05)
        assert not _alive(child), "the scenario's child outlived the benchmark"
    finally:
        benchmark.kill()
        benchmark.join()
