"""`Outbox`: events survive closing the file, come back in publishing order, per database."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nerv_inner_universe.client import Timestamp
from nerv_inner_universe.contract import EventInput
from nerv_inner_universe.plugin.errors import PersistenceError
from nerv_inner_universe.plugin.outbox import Outbox


def event(event_id: str) -> EventInput:
    return EventInput(
        event_id=event_id,
        event_type="tested",
        source="me",
        occurred_at=Timestamp(1_700_000_000_000_000),
        data='{"n":1}',
        metadata='{"k":"v"}',
    )


def test_events_outlive_the_file_being_closed_in_order(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "outbox.sqlite"
    first = Outbox(path, "db")
    for event_id in ["c", "a", "b"]:
        first.add(event(event_id))
    first.add(event("a"))  # again: nothing changes
    first.remove(["a", "unknown"])
    first.close()

    again = Outbox(path, "db")
    assert again.pending() == [event("c"), event("b")]
    assert Outbox(path, "other").pending() == []
    again.close()


def test_an_unusable_file_is_a_persistence_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(PersistenceError, match="cannot be used"):
        Outbox(tmp_path / "a-file" / "outbox.sqlite", "db")


def test_the_outbox_and_its_sqlite_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "outbox.sqlite"
    box = Outbox(path, "db")
    box.add(event("a"))  # the WAL file exists while the connection is open
    files = [path, path.with_name("outbox.sqlite-wal"), path.with_name("outbox.sqlite-shm")]
    assert all(file.exists() for file in files)
    assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
    assert mode(path.parent) == 0o700
    box.close()


def test_an_outbox_an_older_version_left_readable_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    Outbox(path, "db").close()
    side = path.with_name("outbox.sqlite-journal")
    side.write_bytes(b"")
    for file in (path, side):
        file.chmod(0o644)
    box = Outbox(path, "db")
    assert (mode(path), mode(side)) == (0o600, 0o600)
    assert box.pending() == []
    box.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
