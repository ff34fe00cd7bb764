"""Backup, restore and export against the real server: identical rows, or a refusal that
changes nothing."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import attrs
import pytest

from nerv_inner_universe.contract import create_entity
from nerv_inner_universe.controller import (
    InnerUniverseConfig,
    InnerUniverseController,
    RestoreError,
    ServerAlreadyRunningError,
)
from nerv_inner_universe.controller.backup import MANIFEST
from tests.integration.controller.conftest import (
    MakeController,
    Snapshot,
    assert_kept,
    entity_metadata,
    populate,
    snapshot,
)


async def rows_of(make_controller: MakeController, config: InnerUniverseConfig) -> Snapshot:
    """Every row, read from a server no client knows (nothing connects, nothing changes)."""
    reader = make_controller(config)
    await reader.start_admin_mode()
    try:
        return await snapshot(reader.http, config.database)
    finally:
        await reader.stop()


async def deployed_with_data(make_controller: MakeController) -> InnerUniverseController:
    controller = make_controller()
    await populate(await controller.start_deployment_mode())
    await controller.stop()
    return controller


async def test_backup_wipe_restore_gives_identical_rows(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    await deployed_with_data(make_controller)
    before = await rows_of(make_controller, config)
    archive = tmp_path / "backup.tar.gz"
    manifest = await make_controller().backup(archive)
    assert manifest.row_counts == {table: len(rows) for table, rows in before.items()}
    assert manifest.module_sha256 is not None
    assert archive.stat().st_mode & 0o777 == 0o600

    wiper = make_controller()
    await wiper.start_deployment_mode(wipe=True)
    await wiper.stop()
    assert (await rows_of(make_controller, config))["entity"] == []

    result = await make_controller().restore(archive, force=True)
    assert result.moved_aside is not None
    assert result.moved_aside.is_dir(), "the replaced data is kept aside, not deleted"
    assert await rows_of(make_controller, config) == before

    server = make_controller()
    client = await server.start_server_mode(tables=("entity",))
    assert len(client.cache.table("entity")) == 2, "the restored owner token still works"


async def test_a_backup_of_a_running_server_pauses_it_and_clients_reconnect(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    await deployed_with_data(make_controller)
    serving = make_controller()
    client = await serving.start_server_mode(tables=("entity",))
    assert serving.process is not None
    url = serving.url
    manifest = await serving.backup(tmp_path / "live.tar.gz")
    assert manifest.row_counts["entity"] == 2
    assert serving.process.running()
    assert serving.url == url, "resumed on the same address"
    await create_entity(entity_id="e9", entity_type="agent", metadata=entity_metadata(None)).send(
        client
    )
    assert (await serving.row_counts())["entity"] == 3

    other = make_controller()
    with pytest.raises(ServerAlreadyRunningError, match="take the backup through it"):
        await other.backup(tmp_path / "refused.tar.gz")
    assert not (tmp_path / "refused.tar.gz").exists()


def tampered(archive: Path, destination: Path) -> Path:
    """A copy whose manifest claims one more entity; every file checksum still matches."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    with tarfile.open(destination, "w:gz") as tar:
        for member, body in members:
            if member.name == MANIFEST:
                manifest = json.loads(body)
                manifest["row_counts"]["entity"] += 1
                lie = json.dumps(manifest).encode()
                member.size = len(lie)
                tar.addfile(member, io.BytesIO(lie))
            else:
                tar.addfile(member, io.BytesIO(body))
    return destination


async def test_refused_restores_leave_the_data_untouched(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    await deployed_with_data(make_controller)
    archive = tmp_path / "backup.tar.gz"
    await make_controller().backup(archive)
    rows = await rows_of(make_controller, config)

    with pytest.raises(RestoreError, match="is not empty; restore never overwrites data"):
        await make_controller().restore(archive)

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(RestoreError, match="not a readable"):
        await make_controller().restore(truncated, force=True)

    lying = tampered(archive, tmp_path / "lying.tar.gz")
    with pytest.raises(RestoreError, match="does not match its manifest"):
        await make_controller().restore(lying, force=True)

    other_name = attrs.evolve(config, database="another-db")
    with pytest.raises(RestoreError, match="holds database 'inner-universe'"):
        await make_controller(other_name).restore(archive, force=True)

    running = make_controller()
    await running.start_server_mode(tables=())
    with pytest.raises(RestoreError, match="stop it first"):
        await make_controller().restore(archive, force=True)
    await running.stop()

    leftovers = sorted(p.name for p in config.db_path.parent.iterdir() if p.name != "db")
    assert leftovers == ["backup.tar.gz", "lying.tar.gz", "truncated.tar.gz"]
    assert_kept(rows, await rows_of(make_controller, config))  # the running one connected


async def test_restore_into_an_empty_db_path(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    await deployed_with_data(make_controller)
    rows = await rows_of(make_controller, config)
    archive = tmp_path / "backup.tar.gz"
    await make_controller().backup(archive)
    elsewhere = attrs.evolve(config, db_path=tmp_path / "new-home" / "db")
    result = await make_controller(elsewhere).restore(archive)
    assert result.moved_aside is None
    assert await rows_of(make_controller, elsewhere) == rows


async def test_export_writes_every_row_of_every_table_while_serving(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    await deployed_with_data(make_controller)
    serving = make_controller()
    await serving.start_server_mode(tables=("entity",))
    exporter = make_controller()
    await exporter.start_admin_mode()
    assert exporter.process is None, "export reads the running server"
    progress: list[tuple[str, int, int]] = []
    summary = await exporter.export(
        tmp_path / "dump.jsonl", progress=lambda *update: progress.append(update)
    )
    current = await snapshot(exporter.http, config.database)

    lines = [json.loads(line) for line in (tmp_path / "dump.jsonl").read_text().splitlines()]
    header, body, end = lines[0], lines[1:-1], lines[-1]
    assert header["format"] == "inner-universe-export"
    assert header["database"] == config.database
    assert header["log_position"] == summary.log_position
    assert header["tables"]["entity"]["primary_key"] == ["id"]
    assert end == {"end": {"rows": summary.rows}}
    exported: Snapshot = {table: [] for table in current}
    for line in body:
        exported[line["table"]].append(json.dumps(line["row"], sort_keys=True))
    assert {table: sorted(rows) for table, rows in exported.items()} == current
    assert summary.rows["entity"] == 2
    assert ("entity", 2, 2) in progress
    assert_kept(current, await snapshot(exporter.http, config.database))
