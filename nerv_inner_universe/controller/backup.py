"""Backup archives: a ``.tar.gz`` of a ``db_path`` (data, keys, owner token, deployment record)
led by a ``manifest.json`` that lists every file with its sha256 and every table's row count.

Writing needs a data dir no server runs on (the controller arranges that); unpacking verifies
every file against the manifest and refuses anything else, into a staging folder, so a bad
archive never touches existing data.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
import zlib
from pathlib import Path
from typing import Any

import attrs

from nerv_inner_universe.controller.errors import RestoreError
from nerv_inner_universe.controller.layout import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, DbLayout
from nerv_inner_universe.controller.tables import Inventory
from nerv_inner_universe.toolchain.paths import SERVER_VERSION

FORMAT = "inner-universe-backup"
VERSION = 1
MANIFEST = "manifest.json"
_INCLUDED = ("data", "keys", "owner.token", "deployment.json")
_SKIPPED_DIRS = {("data", "cache"), ("data", "logs")}
"""Caches and the server's own logs: rebuilt or not needed to restore."""
_LOCK_FILES = {"spacetime.pid", "db.lock"}


@attrs.frozen
class FileEntry:
    sha256: str
    size: int


@attrs.frozen
class BackupManifest:
    database: str
    database_identity: str
    created_at: float
    module_sha256: str | None
    """sha256 of the module wasm deployed last (from ``deployment.json``), if known."""
    server_version: str
    log_position: int
    row_counts: dict[str, int]
    files: dict[str, FileEntry]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **attrs.asdict(self)}

    @classmethod
    def from_json(cls, raw: Any) -> BackupManifest:
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise RestoreError(f"{MANIFEST} is not an Inner Universe backup manifest")
        if raw.get("version") != VERSION:
            raise RestoreError(
                f"{MANIFEST} has format version {raw.get('version')!r}; this version of "
                f"inner-universe reads version {VERSION}"
            )
        try:
            return cls(
                database=str(raw["database"]),
                database_identity=str(raw["database_identity"]),
                created_at=float(raw["created_at"]),
                module_sha256=raw["module_sha256"],
                server_version=str(raw["server_version"]),
                log_position=_count(raw["log_position"]),
                row_counts={str(k): _count(v) for k, v in raw["row_counts"].items()},
                files={
                    str(name): FileEntry(str(entry["sha256"]), _count(entry["size"]))
                    for name, entry in raw["files"].items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise RestoreError(f"{MANIFEST} is incomplete or malformed ({error!r})") from None


def _count(value: object) -> int:
    """A JSON integer >= 0 as the manifest writes it (``int()`` would take ``"٢"`` as 2)."""
    if type(value) is not int or value < 0:
        raise ValueError(f"expected an integer >= 0, got {type(value).__name__}")
    return value


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def backed_up_files(root: Path) -> list[str]:
    """Paths relative to ``root`` of everything a restore needs, sorted."""
    found = []
    for top in _INCLUDED:
        start = root / top
        candidates = [start] if start.is_file() else sorted(start.rglob("*"))
        for path in candidates:
            relative = path.relative_to(root)
            if (
                path.is_file()
                and not path.is_symlink()
                and path.name not in _LOCK_FILES
                and relative.parts[:2] not in _SKIPPED_DIRS
            ):
                found.append(relative.as_posix())
    return found


def write_archive(
    layout: DbLayout,
    destination: Path,
    *,
    database: str,
    inventory: Inventory,
    module_sha256: str | None,
) -> BackupManifest:
    """Writes the archive (0600: it holds the keys and the owner token) via a temporary file,
    so ``destination`` is either the complete archive or untouched."""
    names = backed_up_files(layout.root)
    manifest = BackupManifest(
        database=database,
        database_identity=inventory.database_identity,
        created_at=time.time(),
        module_sha256=module_sha256,
        server_version=SERVER_VERSION,
        log_position=inventory.log_position,
        row_counts=inventory.row_counts,
        files={
            name: FileEntry(sha256_file(layout.root / name), (layout.root / name).stat().st_size)
            for name in names
        },
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                body = json.dumps(manifest.to_json(), indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime = len(body), int(manifest.created_at)
                info.mode = PRIVATE_FILE_MODE
                tar.addfile(info, io.BytesIO(body))
                for name in names:
                    tar.add(layout.root / name, arcname=name, recursive=False, filter=_private)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _private(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """Every member 0600: the archive holds the signing key, the owner token and the data."""
    member.mode = PRIVATE_FILE_MODE
    return member


def unpack_archive(archive: Path, staging: Path, *, database: str) -> BackupManifest:
    """Extracts ``archive`` into the new folder ``staging``, checking every file against the
    manifest; raises RestoreError (``staging`` may then hold a partial copy to delete)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise RestoreError(
                    f"{archive} does not start with {MANIFEST}: not an Inner Universe backup"
                )
            handle = tar.extractfile(first)
            if handle is None:
                raise RestoreError(f"{archive}: {MANIFEST} cannot be read")
            try:
                manifest = BackupManifest.from_json(json.load(handle))
            except ValueError as error:
                raise RestoreError(f"{archive}: {MANIFEST} is not JSON ({error})") from None
            if manifest.database != database:
                raise RestoreError(
                    f"{archive} holds database {manifest.database!r}, but the config names "
                    f"{database!r}; set `database = {manifest.database!r}` to restore it"
                )
            staging.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
            seen = _extract_members(tar, manifest, staging, archive)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise RestoreError(f"{archive} is not a readable .tar.gz archive ({error})") from None
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise RestoreError(f"{archive} lacks files its manifest lists: {', '.join(missing[:5])}")
    DbLayout(staging).secure_keys()
    return manifest


def _extract_members(
    tar: tarfile.TarFile, manifest: BackupManifest, staging: Path, archive: Path
) -> set[str]:
    seen: set[str] = set()
    for member in tar:
        if member.name == MANIFEST:
            continue
        entry = manifest.files.get(member.name)
        if entry is None or not member.isfile() or member.name in seen:
            raise RestoreError(f"{archive} holds {member.name!r}, which its manifest does not list")
        tar.extract(member, staging, filter="data")
        extracted = staging / member.name
        extracted.chmod(PRIVATE_FILE_MODE)  # whatever mode an older archive recorded
        if extracted.stat().st_size != entry.size or sha256_file(extracted) != entry.sha256:
            raise RestoreError(
                f"{archive} is corrupt: {member.name} does not match its checksum in {MANIFEST}"
            )
        seen.add(member.name)
    return seen
