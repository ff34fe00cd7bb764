"""Making a stop lose nothing on a server that cannot flush on demand.

SpacetimeDB 1.2.0 acknowledges a transaction once it is committed in memory; a background task
writes it to the commit log (`spacetimedb-durability`, `imp/local.rs`) and fsyncs every
500 ms, its control database (sled: which databases exist) flushes every 50 ms, and SIGTERM
kills the server without draining either. So before a stop, `checkpoint`:

1. waits until the control database's files hold the database's record and its replica's
   (`DatabaseRecord`), which a restart needs to find the database at all;
2. notes where every replica's newest commit-log segment ends (`FileTail`) and commits a fresh
   random marker through the module's admin-only ``checkpoint`` reducer (`contract.checkpoint`);
   a stop's checkpoint also closes the database for writes in the same transaction, so every
   later change is refused with ``unavailable``: nothing is acknowledged after the marker;
3. waits until the marker's bytes appear in what the segments gained: transactions reach the
   commit log in commit order, so everything committed before the marker is in the file (the
   page cache, which outlives the process). Then the server may be killed.

A closed database stays closed in its commit log; `reopen` opens it again when the server
is started (`ServerProcess`), also after a stop that failed half-way.

`sync_tree` fsyncs the data dir once the server has exited, so a power loss after the stop
cannot take it either. Each wait polls the files with a deadline; none relies on a delay.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import httpx

from nerv_inner_universe import contract
from nerv_inner_universe.client import Identity
from nerv_inner_universe.controller.errors import DurabilityError
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

DURABILITY_TIMEOUT = 60.0
"""Seconds a checkpoint may take to reach the disk before the stop reports it. The writer
normally needs milliseconds; a minute covers a machine that is swapping or a slow disk."""
POLL_INTERVAL = 0.005

_SEGMENT_SUFFIX = ".stdb.log"
_LEADER_ON_NODE_0 = bytes(8) + b"\x01"
"""The end of a standalone replica record: ``node_id = 0`` (its only node), ``leader``."""


@attrs.frozen
class CheckpointTarget:
    """A database on the server and a token of one of its admins (its publisher's)."""

    database: str
    token: str = attrs.field(repr=False)


class FileTail:
    """Watches a set of files for bytes written after the watch began.

    ``files`` is called on every look, so files created later (a new commit-log segment) are
    read from their start. A needle that straddles the old end is found too: the read starts
    ``len(needle) - 1`` bytes before it (so a needle wholly before it is not).
    """

    def __init__(self, files: Callable[[], list[Path]]) -> None:
        self._files = files
        self._start = {path: _size(path) for path in files()}

    def contains(self, needle: bytes) -> bool:
        for path in self._files():
            start = max(0, self._start.get(path, 0) - (len(needle) - 1))
            with contextlib.suppress(FileNotFoundError), path.open("rb") as handle:
                handle.seek(start)
                if needle in handle.read():
                    return True
        return False

    def wait_for(self, needle: bytes, *, timeout: float, what: str) -> None:
        """Returns once ``needle`` was written; raises DurabilityError after ``timeout`` s."""
        _wait_until(
            lambda: self.contains(needle),
            timeout,
            f"{what} did not reach the disk within {timeout:.0f} s; the server may be "
            "overloaded or its disk full",
        )


def _wait_until(done: Callable[[], bool], timeout: float, failure: str) -> None:
    """Polls ``done`` every `POLL_INTERVAL` until it holds; DurabilityError(``failure``) once
    ``timeout`` seconds have passed without it."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise DurabilityError(failure)
        time.sleep(POLL_INTERVAL)


def commit_log_segments(data_dir: Path) -> list[Path]:
    """The newest commit-log segment of every replica under ``data_dir`` (older segments are
    sealed: nothing is appended to them)."""
    newest = []
    for clog in sorted((data_dir / "replicas").glob("*/clog")):
        segments = sorted(clog.glob(f"*{_SEGMENT_SUFFIX}"))
        newest.extend(segments[-1:])
    return newest


def control_db_files(data_dir: Path) -> list[Path]:
    return sorted(path for path in (data_dir / "control-db").rglob("*") if path.is_file())


def checkpoint(
    base_url: str, data_dir: Path, target: CheckpointTarget, *, timeout: float, close: bool
) -> None:
    """Returns once ``target.database`` survives a stop with everything it committed before
    this call: its record in the control database and its commit log on disk; at once when
    the server has no such database (nothing to keep). With ``close`` (a stop's), the database
    is closed for writes from the marker on, until `reopen`. Raises DurabilityError when the
    server cannot be asked, the module refuses the marker, or all this takes over ``timeout``
    seconds."""
    deadline = time.monotonic() + timeout
    tail = FileTail(lambda: commit_log_segments(data_dir))
    marker = secrets.token_hex(16)
    database_url = f"{base_url}/v1/database/{target.database}"
    with httpx.Client(headers={"Authorization": f"Bearer {target.token}"}, timeout=timeout) as http:
        what = f"checkpoint of {target.database!r}"
        info = _ask(http, what, "GET", database_url, missing_ok=True)
        if info.status_code == 404:
            log.debug("checkpoint_no_database", database=target.database)
            return
        call = contract.checkpoint(marker=marker, close=close)
        _ask(http, what, "POST", f"{database_url}/call/{call.reducer}", json=list(call.args))
    identities = info.json()
    record = DatabaseRecord(
        Identity.from_hex(identities["database_identity"]["__identity__"]).hex,
        Identity.from_hex(identities["owner_identity"]["__identity__"]).hex,
    )
    record.wait_for_new(data_dir, known=frozenset(), timeout=_left(deadline))
    tail.wait_for(
        marker.encode(), timeout=_left(deadline), what=f"the checkpoint of {target.database!r}"
    )
    log.debug("checkpoint_durable", database=target.database)


def reopen(base_url: str, target: CheckpointTarget, *, timeout: float) -> None:
    """Opens ``target.database`` for writes again (the module's admin-only ``reopen``), which
    a stop's checkpoint closed; a no-op for an open database, one the server does not have, or
    one whose module predates ``reopen`` (it cannot have been closed). Raises DurabilityError
    when the server cannot be asked or refuses within ``timeout`` seconds."""
    call = contract.reopen()
    url = f"{base_url}/v1/database/{target.database}/call/{call.reducer}"
    with httpx.Client(headers={"Authorization": f"Bearer {target.token}"}, timeout=timeout) as http:
        what = f"reopening {target.database!r} for writes"
        response = _ask(http, what, "POST", url, missing_ok=True, json=list(call.args))
    log.debug("reopened", database=target.database, found=response.status_code != 404)


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _ask(
    http: httpx.Client,
    what: str,
    method: str,
    url: str,
    *,
    missing_ok: bool = False,
    **options: Any,
) -> httpx.Response:
    try:
        response = http.request(method, url, **options)
    except httpx.HTTPError as error:
        raise DurabilityError(f"{what}: no answer ({error})") from error
    if response.status_code != 200 and not (missing_ok and response.status_code == 404):
        raise DurabilityError(
            f"{what} was refused ({response.status_code}): {response.text.strip()}"
        )
    return response


@attrs.frozen
class DatabaseRecord:
    """Finds a database's rows in the control database's files (sled's log, on disk).

    Both are BSATN (`spacetimedb-standalone` `control_db.rs`): the database record is
    ``id u64 | database identity | owner identity | ...`` with identities as little-endian
    u256, and the replica record, written after it, ``id u64 | database_id u64 | node_id u64 |
    leader bool`` (standalone's ``node_id`` is 0). Identities arrive as big-endian hex. sled's
    log keeps old versions too, so a database published again with ``clear`` is told apart by
    its new internal id.
    """

    database_identity: str
    owner_identity: str

    def ids(self, data_dir: Path) -> frozenset[bytes]:
        """The internal ids (u64, little-endian) of the records that have a replica record."""
        content = b"".join(_read(path) for path in control_db_files(data_dir))
        record = (
            bytes.fromhex(self.database_identity)[::-1] + bytes.fromhex(self.owner_identity)[::-1]
        )
        found = (match.start() for match in re.finditer(re.escape(record), content))
        ids = {content[at - 8 : at] for at in found if at >= 8}
        return frozenset(key for key in ids if key + _LEADER_ON_NODE_0 in content)

    def wait_for_new(self, data_dir: Path, *, known: frozenset[bytes], timeout: float) -> None:
        """Returns once a record not in ``known`` is on disk with its replica record, the two
        rows a restart needs to find the database. Raises DurabilityError after ``timeout``
        seconds."""
        _wait_until(
            lambda: bool(self.ids(data_dir) - known),
            timeout,
            f"the control database did not record database {self.database_identity} "
            f"within {timeout:.0f} s",
        )
        log.debug("database_record_durable", database_identity=self.database_identity)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def sync_tree(root: Path) -> None:
    """fsyncs every file and folder under ``root`` (a stopped server's data dir), so what the
    server wrote survives a power loss too."""
    for folder, _subfolders, files in os.walk(root):
        for name in files:
            _fsync(Path(folder, name), os.O_RDONLY)
        _fsync(Path(folder), os.O_RDONLY | os.O_DIRECTORY)


def _fsync(path: Path, flags: int) -> None:
    try:
        fd = os.open(path, flags)
    except OSError:  # vanished meanwhile, or a socket or fifo
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
