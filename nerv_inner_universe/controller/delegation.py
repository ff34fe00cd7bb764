"""Asking the process that serves a ``db_path`` to take a backup.

A consistent backup needs the server stopped for a moment. Only the process that runs it can
stop and restart it without its clients noticing more than a reconnect, so another process
(`inner-universe backup` while `inner-universe serve` runs) drops a request file into
``<db_path>/requests/``, sends SIGUSR1 and waits for the answer file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import attrs

from nerv_inner_universe.controller.backup import BackupManifest
from nerv_inner_universe.controller.errors import BackupError
from nerv_inner_universe.controller.layout import DbLayout, read_json, write_json_atomic
from nerv_inner_universe.controller.pidfile import ControllerRecord

REQUEST_SIGNAL = signal.SIGUSR1
_REQUEST = ".request.json"
_ANSWER = ".answer.json"


@attrs.frozen
class BackupRequest:
    request_id: str
    destination: Path


def pending_requests(layout: DbLayout) -> list[BackupRequest]:
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
    write_json_atomic(layout.requests_dir / f"{request_id}{_ANSWER}", result)
    (layout.requests_dir / f"{request_id}{_REQUEST}").unlink(missing_ok=True)


def request_backup(
    layout: DbLayout, record: ControllerRecord, destination: Path, *, timeout: float
) -> BackupManifest:
    """Has the serving process take the backup; raises BackupError with its reason if not."""
    if not record.answers_requests:
        raise BackupError(
            f"process {record.pid} serves {layout.root} ({record.mode} mode) and takes no "
            "backup requests; stop it first (`inner-universe stop`), then back up"
        )
    request_id = secrets.token_hex(8)
    request = layout.requests_dir / f"{request_id}{_REQUEST}"
    reply = layout.requests_dir / f"{request_id}{_ANSWER}"
    write_json_atomic(request, {"destination": str(destination.absolute())})
    try:
        os.kill(record.pid, REQUEST_SIGNAL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = read_json(reply)
            if isinstance(result, dict):
                if not result.get("ok"):
                    raise BackupError(str(result.get("error")))
                return BackupManifest.from_json(result.get("manifest"))
            if not record.controller_alive:
                raise BackupError(f"process {record.pid} exited before taking the backup")
            time.sleep(0.1)
        raise BackupError(f"process {record.pid} did not take the backup within {timeout:.0f} s")
    finally:
        request.unlink(missing_ok=True)
        with contextlib.suppress(FileNotFoundError):
            reply.unlink()
