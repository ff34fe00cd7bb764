"""The durability signals read from the server's files: commit-log tails and control records."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from nerv_inner_universe.controller.durability import (
    DatabaseRecord,
    FileTail,
    commit_log_segments,
    sync_tree,
)
from nerv_inner_universe.controller.errors import DurabilityError

MARKER = b"0123456789abcdef0123456789abcdef"


def segment(data_dir: Path, replica: int, offset: int) -> Path:
    path = data_dir / "replicas" / str(replica) / "clog" / f"{offset:0>20}.stdb.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def test_only_bytes_written_after_the_watch_began_count(tmp_path: Path) -> None:
    log = segment(tmp_path, 1, 0)
    append(log, b"header" + MARKER)
    tail = FileTail(lambda: commit_log_segments(tmp_path))
    assert not tail.contains(MARKER), "an old marker must not confirm a new checkpoint"
    append(log, b"tx" + MARKER)
    assert tail.contains(MARKER)


def test_a_marker_straddling_the_old_end_is_found(tmp_path: Path) -> None:
    log = segment(tmp_path, 1, 0)
    append(log, b"commit" + MARKER[:10])
    tail = FileTail(lambda: commit_log_segments(tmp_path))
    append(log, MARKER[10:])
    assert tail.contains(MARKER)


def test_a_new_segment_and_a_new_replica_are_read_from_their_start(tmp_path: Path) -> None:
    append(segment(tmp_path, 1, 0), b"old")
    tail = FileTail(lambda: commit_log_segments(tmp_path))
    append(segment(tmp_path, 1, 100), MARKER)
    assert tail.contains(MARKER)
    other = tmp_path / "other"
    tail = FileTail(lambda: commit_log_segments(other))
    append(segment(other, 7, 0), MARKER)
    assert tail.contains(MARKER)


def test_only_the_newest_segment_of_each_replica_is_watched(tmp_path: Path) -> None:
    sealed = segment(tmp_path, 1, 0)
    newest = segment(tmp_path, 1, 50)
    other = segment(tmp_path, 2, 0)
    assert commit_log_segments(tmp_path) == [newest, other]
    assert sealed not in commit_log_segments(tmp_path)


def test_waiting_returns_when_the_marker_lands_and_fails_loudly_when_it_never_does(
    tmp_path: Path,
) -> None:
    log = segment(tmp_path, 1, 0)
    tail = FileTail(lambda: commit_log_segments(tmp_path))
    writer = threading.Thread(target=append, args=(log, MARKER))
    writer.start()
    tail.wait_for(MARKER, timeout=60, what="the marker")
    writer.join()
    with pytest.raises(DurabilityError, match="did not reach the disk within 0 s"):
        FileTail(lambda: commit_log_segments(tmp_path)).wait_for(
            MARKER, timeout=0, what="the marker"
        )


def control_db(data_dir: Path, *chunks: bytes) -> None:
    folder = data_dir / "control-db"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").write_bytes(b"".join(chunks))


DATABASE = "c2" + "11" * 31
OWNER = "c2" + "22" * 31


def database_row(internal_id: int) -> bytes:
    identities = bytes.fromhex(DATABASE)[::-1] + bytes.fromhex(OWNER)[::-1]
    return internal_id.to_bytes(8, "little") + identities + b"\x00" + bytes(32)


def replica_row(replica_id: int, internal_id: int) -> bytes:
    return replica_id.to_bytes(8, "little") + internal_id.to_bytes(8, "little") + bytes(8) + b"\x01"


def test_a_database_counts_once_its_record_and_replica_record_are_on_disk(
    tmp_path: Path,
) -> None:
    record = DatabaseRecord(DATABASE, OWNER)
    control_db(tmp_path, b"frame", database_row(5))
    assert record.ids(tmp_path) == frozenset(), "without its replica a restart cannot find it"
    control_db(tmp_path, b"frame", database_row(5), b"frame", replica_row(6, 5))
    assert record.ids(tmp_path) == {(5).to_bytes(8, "little")}
    assert DatabaseRecord(OWNER, DATABASE).ids(tmp_path) == frozenset()


def test_a_recreated_database_needs_its_new_record(tmp_path: Path) -> None:
    record = DatabaseRecord(DATABASE, OWNER)
    control_db(tmp_path, database_row(5), replica_row(6, 5))
    known = record.ids(tmp_path)
    with pytest.raises(DurabilityError, match="did not record database"):
        record.wait_for_new(tmp_path, known=known, timeout=0)
    control_db(tmp_path, database_row(5), replica_row(6, 5), database_row(9), replica_row(10, 9))
    record.wait_for_new(tmp_path, known=known, timeout=0)


def test_sync_tree_fsyncs_every_file_and_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = segment(tmp_path, 1, 0)
    control_db(tmp_path, b"x")
    synced: list[Path] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    sync_tree(tmp_path)
    assert {log, tmp_path / "control-db" / "db", log.parent, tmp_path} <= set(synced)
    synced.clear()
    sync_tree(tmp_path / "missing")
    assert synced == []
