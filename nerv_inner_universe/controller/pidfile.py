"""The record of the controller serving a ``db_path``: how `status`, `stop` and `backup` in
another process find it.

A pid alone is not enough (pids are reused), so each pid is stored with its start time from
``/proc/<pid>/stat``; a record whose controller is gone is stale and ignored.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import attrs

from nerv_inner_universe.controller.layout import DbLayout, read_attrs, write_json_atomic
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot; None if it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may contain spaces
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_alive(pid: int | None, started: int | None) -> bool:
    return pid is not None and started is not None and process_start(pid) == started


@attrs.frozen
class ControllerRecord:
    pid: int
    pid_started: int
    server_pid: int | None
    server_started: int | None
    url: str
    database: str
    mode: str
    """``deployment``, ``server`` or ``admin`` (a short-lived private server)."""
    started_at: float
    answers_requests: bool = False
    """Whether the controller takes backup requests from other processes (see `delegation`)."""

    @classmethod
    def for_this_process(
        cls,
        *,
        server_pid: int | None,
        url: str,
        database: str,
        mode: str,
        answers_requests: bool,
    ) -> ControllerRecord:
        pid = os.getpid()
        return cls(
            pid=pid,
            pid_started=process_start(pid) or 0,
            server_pid=server_pid,
            server_started=process_start(server_pid) if server_pid is not None else None,
            url=url,
            database=database,
            mode=mode,
            started_at=time.time(),
            answers_requests=answers_requests,
        )

    @property
    def controller_alive(self) -> bool:
        return is_alive(self.pid, self.pid_started)

    @property
    def server_alive(self) -> bool:
        return is_alive(self.server_pid, self.server_started)

    @property
    def is_this_process(self) -> bool:
        return self.pid == os.getpid()


def write_record(layout: DbLayout, record: ControllerRecord) -> None:
    write_json_atomic(layout.pid_file, attrs.asdict(record))


def read_record(layout: DbLayout) -> ControllerRecord | None:
    """The record as written, alive or not; None if there is none (or it is torn)."""
    return read_attrs(layout.pid_file, ControllerRecord)


def live_record(layout: DbLayout) -> ControllerRecord | None:
    """The record of a controller that still runs; a stale record is removed."""
    record = read_record(layout)
    if record is None:
        return None
    if record.controller_alive:
        return record
    if not record.server_alive:
        log.info("stale_pid_file_removed", path=str(layout.pid_file), pid=record.pid)
        layout.pid_file.unlink(missing_ok=True)
    return None


def remove_record(layout: DbLayout, server_pid: int | None) -> None:
    """Removes the record of the server ``server_pid`` run by this process (never another
    controller's)."""
    record = read_record(layout)
    if record is not None and record.is_this_process and record.server_pid == server_pid:
        layout.pid_file.unlink(missing_ok=True)


@attrs.frozen
class Termination:
    running: bool
    """Something was running."""
    killed: tuple[int, ...] = ()
    """Pids that ignored SIGTERM for ``timeout`` seconds and were SIGKILLed."""


def terminate(record: ControllerRecord, *, timeout: float) -> Termination:
    """SIGTERM the controller (it stops its server cleanly), SIGKILL it after ``timeout``, then
    make sure its server is gone too. Says whether anything ran and what had to be killed."""
    running = False
    killed = []
    for pid, started in (
        (record.pid, record.pid_started),
        (record.server_pid, record.server_started),
    ):
        if pid is None or not is_alive(pid, started):
            continue
        running = True
        log.info("terminating", pid=pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while is_alive(pid, started) and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_alive(pid, started):
            log.warning("killing", pid=pid, after_seconds=timeout)
            killed.append(pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while is_alive(pid, started):
                time.sleep(0.05)
    return Termination(running, tuple(killed))
