"""Nothing the benchmark starts outlives it, even when it is killed by SIGKILL (which no cleanup
code sees): its private PostgreSQL, a scenario's child process."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
from multiprocessing.connection import Connection
from pathlib import Path

from rich.console import Console

from benchmarks.compare import in_child, postgres_server
from tests.waiting import wait_for

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
        wait_for(
            lambda: not _alive(postmaster),
            "PostgreSQL to die with the benchmark that started it",
            DEADLINE_SECONDS,
        )
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
        wait_for(
            lambda: pid_file.exists() and bool(pid_file.read_text()),
            "the scenario's child to start",
            DEADLINE_SECONDS,
        )
        child = int(pid_file.read_text())
        assert _alive(child)
        os.kill(benchmark.pid or 0, signal.SIGKILL)
        wait_for(
            lambda: not _alive(child),
            "the scenario's child to die with the benchmark",
            DEADLINE_SECONDS,
        )
    finally:
        benchmark.kill()
        benchmark.join()
