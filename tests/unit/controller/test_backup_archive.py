"""Backup archives without a server: what goes in, and every way a bad archive is refused."""

from __future__ import annotations

import io
import json
import re
import stat
import tarfile
from pathlib import Path

import pytest

from nerv_inner_universe.controller import RestoreError
from nerv_inner_universe.controller.backup import (
    MANIFEST,
    BackupManifest,
    backed_up_files,
    unpack_archive,
    write_archive,
)
from nerv_inner_universe.controller.layout import DbLayout, open_private, write_json_atomic
from nerv_inner_universe.controller.tables import Inventory

INVENTORY = Inventory("c200" + "0" * 60, {"entity": 2, "event_log": 5}, 6)


@pytest.fixture
def layout(tmp_path: Path) -> DbLayout:
    """A db_path shaped like a real one, with files a backup must leave out."""
    root = tmp_path / "db"
    files = {
        "data/config.toml": "x",
        "data/spacetime.pid": "123",
        "data/replicas/1/db.lock": "",
        "data/replicas/1/clog/0.stdb.log": "commit log",
        "data/cache/wasmtime/blob": "cache",
        "data/logs/spacetime-standalone.log": "log",
        "keys/id_ecdsa": "private key",
        "keys/id_ecdsa.pub": "public key",
        "owner.token": '{"token": "t"}',
        "deployment.json": "{}",
        "server.log": "server output",
        "controller.json": "{}",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "keys").chmod(0o700)
    (root / "keys" / "id_ecdsa").chmod(0o600)
    return DbLayout(root)


def archive_of(layout: DbLayout, tmp_path: Path) -> Path:
    destination = tmp_path / "backup.tar.gz"
    write_archive(
        layout, destination, database="inner-universe", inventory=INVENTORY, module_sha256="ab"
    )
    return destination


def test_the_archive_holds_data_keys_and_token_but_no_locks_caches_or_logs(
    layout: DbLayout, tmp_path: Path
) -> None:
    assert backed_up_files(layout.root) == [
        "data/config.toml",
        "data/replicas/1/clog/0.stdb.log",
        "keys/id_ecdsa",
        "keys/id_ecdsa.pub",
        "owner.token",
        "deployment.json",
    ]
    archive = archive_of(layout, tmp_path)
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == MANIFEST
    assert sorted(names[1:]) == sorted(backed_up_files(layout.root))


def test_unpacking_restores_every_file_and_private_modes(layout: DbLayout, tmp_path: Path) -> None:
    archive = archive_of(layout, tmp_path)
    staging = tmp_path / "staging"
    manifest = unpack_archive(archive, staging, database="inner-universe")
    assert manifest.row_counts == INVENTORY.row_counts
    assert manifest.log_position == 6
    assert manifest.module_sha256 == "ab"
    for name in manifest.files:
        assert (staging / name).read_bytes() == (layout.root / name).read_bytes()
    assert (staging / "keys").stat().st_mode & 0o777 == 0o700
    assert (staging / "keys" / "id_ecdsa").stat().st_mode & 0o777 == 0o600


def rewrite(archive: Path, change: dict[str, bytes | None], extra: dict[str, bytes]) -> None:
    """Rebuilds ``archive`` with members replaced (None drops them) and extra ones added."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]  # type: ignore[union-attr]
    with tarfile.open(archive, "w:gz") as tar:
        for member, body in members:
            replaced = change.get(member.name, body)
            if replaced is None:
                continue
            member.size = len(replaced)
            tar.addfile(member, io.BytesIO(replaced))
        for name, body in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))


@pytest.mark.parametrize(
    ("change", "extra", "reason"),
    [
        ({"keys/id_ecdsa": b"other key"}, {}, "is corrupt: keys/id_ecdsa does not match"),
        ({"owner.token": None}, {}, "lacks files its manifest lists: owner.token"),
        ({}, {"../evil": b"x"}, "which its manifest does not list"),
        ({MANIFEST: b"not json"}, {}, "is not JSON"),
        ({MANIFEST: b'{"format": "other"}'}, {}, "is not an Inner Universe backup manifest"),
        (
            {MANIFEST: b'{"format": "inner-universe-backup", "version": 99}'},
            {},
            "format version 99",
        ),
        (
            {MANIFEST: b'{"format": "inner-universe-backup", "version": 1}'},
            {},
            "incomplete or malformed",
        ),
    ],
)
def test_tampered_archives_are_refused(
    layout: DbLayout,
    tmp_path: Path,
    change: dict[str, bytes | None],
    extra: dict[str, bytes],
    reason: str,
) -> None:
    archive = archive_of(layout, tmp_path)
    rewrite(archive, change, extra)
    with pytest.raises(RestoreError, match=re.escape(reason)):
        unpack_archive(archive, tmp_path / "staging", database="inner-universe")


def test_an_archive_of_another_database_is_refused_before_extracting(
    layout: DbLayout, tmp_path: Path
) -> None:
    archive = archive_of(layout, tmp_path)
    with pytest.raises(RestoreError, match="holds database 'inner-universe', but the config"):
        unpack_archive(archive, tmp_path / "staging", database="other-db")
    assert not (tmp_path / "staging").exists()


def test_what_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(RestoreError, match=r"not a readable \.tar\.gz"):
        unpack_archive(junk, tmp_path / "s1", database="inner-universe")
    plain = tmp_path / "plain.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        info = tarfile.TarInfo("data/x")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(RestoreError, match=r"does not start with manifest\.json"):
        unpack_archive(plain, tmp_path / "s2", database="inner-universe")


def test_a_manifest_round_trips_through_json(layout: DbLayout, tmp_path: Path) -> None:
    archive = archive_of(layout, tmp_path)
    with tarfile.open(archive) as tar:
        raw = json.load(tar.extractfile(MANIFEST))  # type: ignore[arg-type]
    manifest = BackupManifest.from_json(raw)
    assert BackupManifest.from_json(manifest.to_json()) == manifest


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_archive_member_is_0600_whatever_the_file_mode(
    layout: DbLayout, tmp_path: Path
) -> None:
    """The server 1.2.0 wrote its key 0644 when started without umask 077; the archive must
    not carry that mode."""
    layout.signing_key_file.chmod(0o644)
    (layout.root / "data" / "config.toml").chmod(0o664)
    archive = archive_of(layout, tmp_path)
    with tarfile.open(archive) as tar:
        modes = {member.name: member.mode for member in tar.getmembers()}
    assert modes["keys/id_ecdsa"] == 0o600
    assert set(modes.values()) == {0o600}


def test_unpacking_an_archive_with_wide_modes_makes_the_secrets_private(
    layout: DbLayout, tmp_path: Path
) -> None:
    """An archive written before members were 0600 (the key stored as 0644) restores 0600."""
    archive = archive_of(layout, tmp_path)
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(archive, "w:gz") as tar:
        for member, body in members:
            member.mode = 0o644
            tar.addfile(member, io.BytesIO(body))
    staging = tmp_path / "staging"
    manifest = unpack_archive(archive, staging, database="inner-universe")
    assert mode(staging) == 0o700
    assert mode(staging / "keys") == 0o700
    assert {name: mode(staging / name) for name in manifest.files} == dict.fromkeys(
        manifest.files, 0o600
    )


def test_secure_keys_repairs_wide_modes(layout: DbLayout) -> None:
    layout.keys_dir.chmod(0o755)
    layout.signing_key_file.chmod(0o644)
    layout.owner_token_file.chmod(0o644)
    layout.secure_keys()
    assert mode(layout.keys_dir) == 0o700
    assert mode(layout.signing_key_file) == 0o600
    assert mode(layout.owner_token_file) == 0o600
    assert mode(layout.public_key_file) == 0o644  # the public half may be read


def test_records_and_private_files_are_0600(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "record.json", {"database_identity": "c200"})
    assert mode(tmp_path / "record.json") == 0o600
    wide = tmp_path / "export.jsonl"
    wide.write_text("old")
    wide.chmod(0o644)
    with open_private(wide, "w") as out:
        assert mode(wide) == 0o600  # before anything is written
        out.write("new")
    assert wide.read_text() == "new"
    with open_private(tmp_path / "server.log", "ab") as sink:
        sink.write(b"line\n")
    assert mode(tmp_path / "server.log") == 0o600
