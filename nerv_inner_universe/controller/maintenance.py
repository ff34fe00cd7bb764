"""Maintenance of the data on ``db_path``: consistent backups, verified restores and the
inventory both rely on, read from a server started on a private port.

The server serving ``db_path`` (if any) is the caller's to pause: `Maintenance.backup` takes
the pause as a context manager, so this file knows nothing of watchers or pid files.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path

import attrs
import structlog

from nerv_inner_universe.client import SpacetimeHttp
from nerv_inner_universe.controller.backup import BackupManifest, unpack_archive, write_archive
from nerv_inner_universe.controller.deployment import recorded_deployment
from nerv_inner_universe.controller.errors import RestoreError
from nerv_inner_universe.controller.layout import DbLayout
from nerv_inner_universe.controller.process import ServerProcess, data_dir_lock, free_port
from nerv_inner_universe.controller.tables import Inventory, take_inventory

Translate = Callable[[str], AbstractContextManager[None]]
"""``translate(action)``: a block turning the client's errors into the controller's."""


@attrs.frozen
class RestoreResult:
    """What `restore` did."""

    manifest: BackupManifest
    moved_aside: Path | None
    """Where the previous content of ``db_path`` went (``--force``), to delete when satisfied."""


@attrs.frozen
class Maintenance:
    """Backup and restore for ``database`` on the data under ``layout``."""

    layout: DbLayout
    database: str
    binary: Callable[[], Path]
    """The server binary (resolved when a private server is needed)."""
    server_log: Path
    timeout: float
    """Seconds for each HTTP request."""
    stop_timeout: float
    """Seconds a private server gets to stop before SIGKILL."""
    translate: Translate
    log: structlog.stdlib.BoundLogger

    async def backup(
        self, destination: Path, *, pause: AbstractAsyncContextManager[None]
    ) -> BackupManifest:
        """Writes a .tar.gz of ``db_path`` with a manifest. Consistent: inside ``pause`` (no
        server runs on the data), the rows are counted on a private port no client knows and
        the data dir stays locked against any server while it is copied. Raises BackupError,
        DataDirLockedError."""
        async with pause:
            inventory = await self.inspect(self.layout.root, self.server_log)
            deployed = recorded_deployment(self.layout)
            with data_dir_lock(self.layout.data_dir):
                manifest = await asyncio.to_thread(
                    write_archive,
                    self.layout,
                    destination,
                    database=self.database,
                    inventory=inventory,
                    module_sha256=deployed.module_sha256 if deployed else None,
                )
        self.log.info(
            "backup_written",
            path=str(destination),
            files=len(manifest.files),
            rows=manifest.row_counts,
            log_position=manifest.log_position,
        )
        return manifest

    async def restore(self, archive: Path, *, force: bool) -> RestoreResult:
        """Unpacks ``archive`` beside ``db_path``, verifies it (`verify`) and swaps it in;
        ``force`` moves a non-empty ``db_path`` aside. The caller makes sure no server runs
        on ``db_path``. Raises RestoreError; on refusal ``db_path`` is untouched."""
        root = self.layout.root
        if not self.layout.is_empty() and not force:
            raise RestoreError(
                f"{root} is not empty; restore never overwrites data unless asked: pass --force "
                "(force=True) to move the current content aside and restore; nothing changed"
            )
        staging = root.with_name(f".{root.name}.restore-{secrets.token_hex(4)}")
        try:
            manifest = await asyncio.to_thread(
                unpack_archive, archive, staging, database=self.database
            )
            await self.verify(archive, staging, manifest)
            moved_aside = self._swap_in(staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.log.info(
            "restored",
            archive=str(archive),
            rows=manifest.row_counts,
            moved_aside=str(moved_aside) if moved_aside else None,
        )
        return RestoreResult(manifest, moved_aside)

    async def verify(self, archive: Path, root: Path, manifest: BackupManifest) -> None:
        """The data unpacked at ``root`` must hold what ``manifest`` recorded, row count by
        row count, at the same log position; RestoreError otherwise."""
        restored = await self.inspect(root, root / "server.log")
        expected = Inventory(manifest.database_identity, manifest.row_counts, manifest.log_position)
        if restored != expected:
            raise RestoreError(
                f"{archive}: the restored database does not match its manifest (manifest "
                f"{attrs.asdict(expected)}, restored {attrs.asdict(restored)}); nothing changed"
            )

    async def inspect(self, root: Path, log_file: Path) -> Inventory:
        """The inventory of the data under ``root``, read from a server started on a private
        port (no client knows it, so nothing writes and its stop needs no checkpoint),
        stopped again afterwards."""
        process = ServerProcess(
            self.binary(), root, host="127.0.0.1", port=free_port(), log_file=log_file
        )
        await process.start_async()
        try:
            token = DbLayout(root).load_owner_token()
            async with SpacetimeHttp(process.base_url, token=token, timeout=self.timeout) as http:
                with self.translate(f"reading {root}"):
                    return await take_inventory(http, self.database)
        finally:
            await process.stop_async(timeout=self.stop_timeout)

    def _swap_in(self, staging: Path) -> Path | None:
        """Puts ``staging`` at ``db_path``; what was there goes aside (returned), and comes
        back if the swap fails."""
        root = self.layout.root
        moved_aside = None
        if not self.layout.is_empty():
            moved_aside = root.with_name(
                f"{root.name}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}"
            )
            root.rename(moved_aside)
        elif root.exists():
            root.rmdir()
        try:
            staging.rename(root)
        except OSError as error:
            if moved_aside is not None:
                moved_aside.rename(root)
            raise RestoreError(
                f"cannot move the restored data into {root} ({error}); it is as it was"
            ) from error
        return moved_aside
