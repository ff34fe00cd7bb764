"""Working with the process that serves a ``db_path`` from another process: asking it for a
backup, and stopping it.

A consistent backup needs the server stopped for a moment. Only the process that runs it can
stop and restart it without its clients noticing more than a reconnect, so another process
(`inner-universe backup` while `inner-universe serve` runs) drops a request file into
``<db_path>/requests/``, sends SIGUSR1 and waits for the answer file; the serving controller
answers with `BackupRequests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs

from nerv_inner_universe.controller.backup import BackupManifest
from nerv_inner_universe.controller.durability import (
    DURABILITY_TIMEOUT,
    CheckpointTarget,
    checkpoint,
    sync_tree,
)
from nerv_inner_universe.controller.errors import (
    BackupError,
    ControllerError,
    DataDirLockedError,
    DurabilityError,
)
from nerv_inner_universe.controller.layout import DbLayout, read_json, write_json_atomic
from nerv_inner_universe.controller.pidfile import ControllerRecord, read_record, terminate
from nerv_inner_universe.controller.process import data_dir_locked
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

STOP_TIMEOUT = DURABILITY_TIMEOUT + 30.0
"""Seconds a serving process gets to stop before it is killed: its own stop's checkpoint may
take `DURABILITY_TIMEOUT`."""
REQUEST_SIGNAL = signal.SIGUSR1
REQUEST_POLL = 0.1
"""Seconds between two looks for the answer to a backup request."""
_REQUEST = ".request.json"
_ANSWER = ".answer.json"


@attrs.frozen
class BackupRequest:
    """A request file: ``request_id`` names it and its answer."""

    request_id: str
    destination: Path


def pending_requests(layout: DbLayout) -> list[BackupRequest]:
    """The readable requests under ``layout``; an unreadable one is answered with an error."""
    requests = []
    for path in sorted(layout.requests_dir.glob(f"*{_REQUEST}")):
        raw = read_json(path)
        request_id = path.name.removesuffix(_REQUEST)
        if isinstance(raw, dict) and isinstance(raw.get("destination"), str):
            requests.append(BackupRequest(request_id, Path(raw["destination"])))
        else:
            answer(layout, request_id, {"ok": False, "error": f"unreadable request {path}"})
    return requests


def answer(layout: DbLayout, request_id: str, result: dict[str, Any]) -> None:
    """Writes the answer file and removes the request."""
    write_json_atomic(layout.requests_dir / f"{request_id}{_ANSWER}", result)
    (layout.requests_dir / f"{request_id}{_REQUEST}").unlink(missing_ok=True)


async def request_backup(
    layout: DbLayout,
    record: ControllerRecord,
    destination: Path,
    *,
    timeout: float,  # noqa: ASYNC109 - it is also the message's
) -> BackupManifest:
    """Has the process of ``record`` take the backup, waiting up to ``timeout`` seconds
    without blocking the loop; raises BackupError with its reason if it does not."""
    request, reply = _post_request(layout, record, destination)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = read_json(reply)
            if isinstance(result, dict):
                if not result.get("ok"):
                    raise BackupError(str(result.get("error")))
                return BackupManifest.from_json(result.get("manifest"))
            if not record.controller_alive:
                raise BackupError(f"process {record.pid} exited before taking the backup")
            await asyncio.sleep(REQUEST_POLL)
        raise BackupError(f"process {record.pid} did not take the backup within {timeout:.0f} s")
    finally:
        request.unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            reply.unlink()


def _post_request(
    layout: DbLayout, record: ControllerRecord, destination: Path
) -> tuple[Path, Path]:
    """Writes a request file and signals the process of ``record``; returns the request's
    path and where its answer will be."""
    if not record.answers_requests:
        raise BackupError(
            f"process {record.pid} serves {layout.root} ({record.mode} mode) and takes no "
            "backup requests; stop it first (`inner-universe stop`), then back up"
        )
    request_id = secrets.token_hex(8)
    request = layout.requests_dir / f"{request_id}{_REQUEST}"
    write_json_atomic(request, {"destination": str(destination.absolute())})
    try:
        os.kill(record.pid, REQUEST_SIGNAL)
    except ProcessLookupError:
        request.unlink(missing_ok=True)
        raise BackupError(f"process {record.pid} exited before taking the backup") from None
    return request, layout.requests_dir / f"{request_id}{_ANSWER}"


class BackupRequests:
    """Answers other processes' backup requests (SIGUSR1) with ``take_backup``, on the
    running loop. `accept` and `close` run in the main thread (signal handlers live there)."""

    def __init__(
        self, layout: DbLayout, take_backup: Callable[[Path], Awaitable[BackupManifest]]
    ) -> None:
        self._layout = layout
        self._take_backup = take_backup
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = False

    def accept(self) -> None:
        """Installs the signal handler."""
        asyncio.get_running_loop().add_signal_handler(REQUEST_SIGNAL, self._on_signal)
        self.accepting = True

    def close(self) -> None:
        """Removes the signal handler; requests arriving later wait for their timeout."""
        if self.accepting:
            asyncio.get_running_loop().remove_signal_handler(REQUEST_SIGNAL)
            self.accepting = False

    def _on_signal(self) -> None:
        task = asyncio.create_task(self._answer_all())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_all(self) -> None:
        for request in pending_requests(self._layout):
            try:
                manifest = await self._take_backup(request.destination)
            except ControllerError as error:
                answer(self._layout, request.request_id, {"ok": False, "error": str(error)})
            else:
                answer(
                    self._layout, request.request_id, {"ok": True, "manifest": manifest.to_json()}
                )


def stop_serving(
    layout: DbLayout, target: CheckpointTarget | None, *, timeout: float
) -> ControllerRecord | None:
    """Stops the controller process serving ``layout`` and returns its record; None when
    nothing ran. Blocks while it waits.

    Whoever started that process (`inner-universe serve`, an application's own controller
    without a SIGTERM handler), its database ``target`` is first closed for writes and made
    durable here (`durability.checkpoint`, at most `DURABILITY_TIMEOUT` seconds); then the
    process gets SIGTERM (a controller stops its server durably once more: harmless) and
    SIGKILL after ``timeout`` seconds, its server likewise, and the data dir is fsynced.
    ``target`` None (no owner token: nothing was deployed) or an admin-mode process (it only
    reads) skips the checkpoint.

    Raises DataDirLockedError when a server no controller started holds the data dir;
    DurabilityError, after stopping it all the same, when a process had to be killed, the
    checkpoint failed, or the server had exited before the stop (a crash: what it
    acknowledged in its last half second may be lost)."""
    record = read_record(layout)
    failure = None
    running = record is not None and (record.controller_alive or record.server_alive)
    if record is not None and running and record.mode != "admin":
        failure = _close_durably(layout, record, target, timeout=min(timeout, DURABILITY_TIMEOUT))
    termination = terminate(record, timeout=timeout) if record is not None else None
    layout.pid_file.unlink(missing_ok=True)
    if termination is not None and termination.running:
        sync_tree(layout.data_dir)
    if termination is not None and termination.killed:
        raise DurabilityError(
            f"process(es) {', '.join(map(str, termination.killed))} did not stop within "
            f"{timeout:.0f} s and were killed; what the server acknowledged in its last half "
            "second may be lost"
        )
    if record is not None and failure is not None:
        raise DurabilityError(f"process {record.pid} was stopped, but {failure}")
    if record is not None and termination is not None and termination.running:
        return record
    if data_dir_locked(layout.data_dir):
        raise DataDirLockedError(
            f"a server not started by inner-universe holds {layout.data_dir}; stop it yourself "
            "(its pid is in spacetime.pid there)"
        )
    return None


def _close_durably(
    layout: DbLayout, record: ControllerRecord, target: CheckpointTarget | None, *, timeout: float
) -> str | None:
    """Closes ``target`` on the server of ``record`` and waits until it is on disk; what went
    wrong (to report once the process is stopped), None when all went well."""
    if target is None:
        return None
    if not record.server_alive:
        return (
            f"its server (pid {record.server_pid}) had exited before the stop (a crash; its "
            f"exit code is in the log of process {record.pid}): what it acknowledged in its "
            "last half second may be lost (a NERV writer's kept writes send it again)"
        )
    try:
        checkpoint(record.url, layout.data_dir, target, timeout=timeout, close=True)
    except DurabilityError as error:
        return (
            f"not durably: {error}; what the server acknowledged in its last half second may "
            "be lost"
        )
    return None
