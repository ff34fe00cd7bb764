"""`Outbox`: published events kept in a local SQLite file until the server has them durably.

With ``events = "outbox"`` a publish returns once its event is committed to this file (WAL,
``synchronous=FULL``: the commit is fsynced), so it survives the NERV process dying. The
recorder sends it through the ordered writer as in ``"async"`` mode and deletes it once the
writer no longer keeps it (its ``durability_window`` passed on a connection that stayed up).
A recorder starting on the same file first sends again, in order, every event still in it
(a no-op for those the server already has).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from nerv_inner_universe.client import Timestamp
from nerv_inner_universe.contract import EventInput
from nerv_inner_universe.plugin.errors import PersistenceError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    database TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    source TEXT,
    occurred_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    UNIQUE (database, event_id)
)
"""


_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _make_private(path: Path) -> None:
    """Creates ``path`` 0600 (its folder 0700) before SQLite opens it: SQLite creates its side
    files with the database file's mode, so they are private too."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, *(path.with_name(path.name + suffix) for suffix in _SQLITE_SIDE_FILES)):
        if file.exists() and stat.S_IMODE(file.stat().st_mode) != 0o600:
            file.chmod(0o600)


class Outbox:
    """The events of ``database`` not yet known to be durable on the server, in the SQLite file
    at ``path`` (created with its directory when missing; one file may serve several
    databases). The file and SQLite's ``-wal``/``-shm``/``-journal`` files beside it are 0600
    (made so when an older version left them wider), a folder created here 0700: they hold
    unsent event data. Thread-safe. Raises PersistenceError when the file cannot be used or a
    row cannot be stored (nothing of that call is then committed)."""

    def __init__(self, path: Path, database: str) -> None:
        self.path = path
        self.database = database
        self._lock = threading.Lock()
        try:
            _make_private(path)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise PersistenceError(f"the event outbox {path} cannot be used: {error}") from error

    def add(self, event: EventInput) -> None:
        """Stores ``event`` (fsynced before it returns); the same id again changes nothing."""
        row = (
            self.database,
            event.event_id,
            event.event_type,
            event.source,
            event.occurred_at.micros_since_epoch,
            event.data,
            event.metadata,
        )
        self._run(
            "INSERT OR IGNORE INTO outbox (database, event_id, event_type, source, occurred_at, "
            "data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row],
        )

    def remove(self, event_ids: Iterable[str]) -> None:
        """Deletes these events (one transaction); ids not in the outbox are ignored."""
        rows = [(self.database, event_id) for event_id in event_ids]
        if rows:
            self._run("DELETE FROM outbox WHERE database = ? AND event_id = ?", rows)

    def pending(self) -> list[EventInput]:
        """Every event still in the outbox for this database, in publishing order."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT event_id, event_type, source, occurred_at, data, metadata FROM outbox "
                    "WHERE database = ? ORDER BY position",
                    (self.database,),
                ).fetchall()
            except sqlite3.Error as error:
                raise PersistenceError(f"reading the event outbox {self.path}: {error}") from error
        return [
            EventInput(
                event_id=event_id,
                event_type=event_type,
                source=source,
                occurred_at=Timestamp(occurred_at),
                data=data,
                metadata=metadata,
            )
            for event_id, event_type, source, occurred_at, data, metadata in rows
        ]

    def close(self) -> None:
        """Closes the file (what it holds stays for the next recorder)."""
        with self._lock:
            self._db.close()

    def _run(self, statement: str, rows: Sequence[tuple[object, ...]]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(statement, rows)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except (sqlite3.Error, ValueError, OverflowError) as error:
                # ValueError: a text SQLite cannot bind (UnicodeEncodeError), OverflowError: an
                # int over 64 bits; nothing was committed either way
                raise PersistenceError(
                    f"writing the event outbox {self.path}: {type(error).__name__}: {error}"
                ) from error
