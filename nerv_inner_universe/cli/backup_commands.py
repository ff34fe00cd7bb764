"""`inner-universe backup | restore | export | import`: copies that survive the machine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from nerv_inner_universe.cli.common import err, fail, out, run, with_config
from nerv_inner_universe.controller import (
    BackupManifest,
    ExportSummary,
    InnerUniverseConfig,
    InnerUniverseController,
)
from nerv_inner_universe.controller.importing import ImportSummary
from nerv_inner_universe.controller.pidfile import ControllerRecord


async def _backup(config: InnerUniverseConfig, file: Path) -> BackupManifest:
    def delegated(record: ControllerRecord) -> None:
        err.print(f"asking process {record.pid}, which serves {config.db_path}, for the backup")

    async with InnerUniverseController(config) as controller:
        return await controller.backup(file, on_delegated=delegated)


def _manifest_table(title: str, file: Path, manifest: BackupManifest) -> Table:
    table = Table(title=title, show_header=False)
    table.add_row("archive", str(file))
    table.add_row("database", f"{manifest.database} ({manifest.database_identity})")
    table.add_row("module sha256", manifest.module_sha256 or "unknown")
    table.add_row("log position", str(manifest.log_position))
    table.add_row("files", str(len(manifest.files)))
    for name, count in manifest.row_counts.items():
        table.add_row(f"rows {name}", str(count))
    return table


@click.command("backup")
@with_config
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")
def backup_command(config: InnerUniverseConfig, file: Path, overwrite: bool) -> None:
    """Write a consistent .tar.gz of the data, keys and owner token with a manifest. A running
    `serve` pauses its server for the copy and resumes it; clients reconnect. The archive
    holds the keys: keep it private."""
    if file.exists() and not overwrite:
        fail(f"{file} exists; pass --overwrite to replace it")
    manifest = run(_backup(config, file))
    out.print(_manifest_table("backup written", file, manifest))


@click.command("restore")
@with_config
@click.argument("file", type=click.Path(exists=True, path_type=Path, dir_okay=False))
@click.option(
    "--force",
    is_flag=True,
    help="Restore even though db_path holds data; that data is moved aside, not deleted.",
)
def restore_command(config: InnerUniverseConfig, file: Path, force: bool) -> None:
    """Restore a backup into db_path after verifying every file and row count. Refuses a
    corrupt or mismatched archive, and a non-empty db_path without --force; on refusal
    nothing changes."""
    result = run(InnerUniverseController(config).restore(file, force=force))
    out.print(_manifest_table("restored", file, result.manifest))
    if result.moved_aside is not None:
        err.print(f"the previous content of {config.db_path} is in {result.moved_aside}")


async def _export(config: InnerUniverseConfig, file: Path) -> ExportSummary:
    async with InnerUniverseController(config) as controller:
        await controller.start_admin_mode()
        with Progress(
            TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), console=err
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def advance(table: str, written: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = progress.add_task(table, total=total)
                progress.update(tasks[table], completed=written, total=total)

            return await controller.export(file, progress=advance)


@click.command("export")
@with_config
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def export_command(config: InnerUniverseConfig, file: Path) -> None:
    """Write every table to FILE as JSON Lines (a header, one row per line, an end line),
    consistent as of one point while the server keeps running."""
    summary = run(_export(config, file))
    _print_rows("exported", summary.path, ("log position", summary.log_position), summary.rows)


IMPORT_CUT_SHORT = (
    "the import was cut short: if it had begun, the database is half-imported and refuses "
    "writes (import_open); wipe it (`inner-universe deploy --wipe`) and import again, or "
    "import into a fresh data dir"
)


async def _import(config: InnerUniverseConfig, file: Path) -> ImportSummary:
    async with InnerUniverseController(config) as controller:
        await controller.start_admin_mode()
        with Progress(
            TextColumn("{task.description:<18}"), TextColumn("{task.completed} rows"), console=err
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def advance(table: str, imported: int) -> None:
                if table not in tasks:
                    tasks[table] = progress.add_task(table, total=None)
                progress.update(tasks[table], completed=imported)

            try:
                return await controller.import_export(file, progress=advance)
            except (asyncio.CancelledError, KeyboardInterrupt):  # Ctrl-C: say what it left
                err.print(IMPORT_CUT_SHORT)
                raise


@click.command("import")
@with_config
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def import_command(config: InnerUniverseConfig, file: Path) -> None:
    """Load an export FILE into a fresh database (deploy it first), every row exactly as
    exported. Refused, and nothing changed, if the database already holds data."""
    summary = run(_import(config, file))
    _print_rows("imported", summary.path, ("next log seq", summary.next_seq), summary.rows)


def _print_rows(title: str, file: Path, position: tuple[str, int], rows: dict[str, int]) -> None:
    """The summary of an export or import: the file, the log position, rows per table."""
    table = Table(title=title, show_header=False)
    table.add_row("file", str(file))
    table.add_row(position[0], str(position[1]))
    for name, count in rows.items():
        table.add_row(f"rows {name}", str(count))
    out.print(table)
