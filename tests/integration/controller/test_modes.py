"""Deployment mode and server mode on one data dir, against the real server."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import attrs
import pytest

from nerv_inner_universe.contract import create_entity
from nerv_inner_universe.controller import (
    ControllerError,
    InnerUniverseConfig,
    ModuleUpdateRejectedError,
    TableHandlers,
)
from nerv_inner_universe.controller.layout import read_json
from nerv_inner_universe.controller.pidfile import process_start, read_record
from tests.integration.controller.conftest import (
    MakeController,
    assert_kept,
    entity_metadata,
    gone,
    populate,
    snapshot,
)


async def test_deploy_then_server_mode_on_the_same_data_keeps_every_row(
    make_controller: MakeController, config: InnerUniverseConfig
) -> None:
    deployer = make_controller()
    client = await deployer.start_deployment_mode()
    await populate(client)
    deployed_identity = client.identity
    before = await snapshot(deployer.http, config.database)
    await deployer.stop()

    seen: dict[str, list[Any]] = {"entity": [], "event_log": []}

    def collect(table: str) -> TableHandlers:
        return TableHandlers(on_insert=lambda ctx, row: seen[table].append(row))

    server = make_controller()
    client = await server.start_server_mode(
        handlers={"entity": collect("entity"), "event_log": collect("event_log")}
    )
    assert client.identity == deployed_identity, "the owner token was kept with the data"
    after = await snapshot(server.http, config.database)
    assert_kept(before, after)
    assert sorted(row.id for row in seen["entity"]) == ["e1", "e2"], "existing rows as inserts"
    assert len(seen["event_log"]) == len(after["event_log"])

    await create_entity(entity_id="e3", entity_type="agent", metadata=entity_metadata(None)).send(
        client
    )
    assert "e3" in {row.id for row in seen["entity"]}, "new rows reach the handler"


async def test_deploy_keeps_owner_and_config_with_the_data_and_updates_in_place(
    make_controller: MakeController, config: InnerUniverseConfig
) -> None:
    first = make_controller()
    await first.start_deployment_mode()
    assert first.deployment is not None
    assert first.deployment.op == "created"
    token_file = first.layout.owner_token_file
    assert token_file == config.db_path / "owner.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    rows = (await first.sql("SELECT * FROM config"))[0].rows
    values = {row["key"]: row["value"] for row in rows}
    assert values["snapshot_interval"] == "7"
    assert values["max_connections"] == "100"
    assert values["timeout"] == "30.0"
    assert values["auth_required"] == "true"
    await first.stop()

    changed = attrs.evolve(config, max_connections=5, auth_required=False)
    second = make_controller(changed)
    await second.start_deployment_mode()
    assert second.deployment is not None
    assert second.deployment.op == "updated"
    assert second.deployment.database_identity == first.deployment.database_identity
    recorded = read_json(second.layout.deployment_file)
    assert recorded == attrs.asdict(second.deployment)
    rows = (await second.sql("SELECT * FROM config"))[0].rows
    values = {row["key"]: row["value"] for row in rows}
    assert (values["max_connections"], values["auth_required"]) == ("5", "false")


async def test_stop_leaves_no_process_and_no_record(
    make_controller: MakeController, config: InnerUniverseConfig
) -> None:
    controller = make_controller()
    await controller.start_deployment_mode()
    assert controller.process is not None
    pid = controller.process.pid
    assert pid is not None
    record = read_record(controller.layout)
    assert record is not None
    assert record.server_pid == pid
    assert record.pid == os.getpid()
    assert process_start(pid) is not None
    await controller.stop()
    assert gone(pid)
    assert read_record(controller.layout) is None
    assert controller.mode is None
    await controller.stop()  # twice is fine


async def test_a_second_controller_attaches_to_the_running_one(
    make_controller: MakeController,
) -> None:
    serving = make_controller()
    await serving.start_deployment_mode()
    attached = make_controller()
    client = await attached.start_server_mode(tables=("entity",))
    assert attached.process is None, "no second server was spawned"
    assert attached.url == serving.url
    assert client.is_connected
    await attached.stop()
    assert serving.process is not None
    assert serving.process.running(), "stopping an attached controller leaves the server alone"


async def test_an_update_the_server_refuses_names_the_change_and_the_wipe_option(
    make_controller: MakeController, config: InnerUniverseConfig, incompatible_module: Path
) -> None:
    deployer = make_controller()
    await populate(await deployer.start_deployment_mode())
    before = await snapshot(deployer.http, config.database)
    await deployer.stop()

    refused = make_controller(module_wasm=incompatible_module)
    with pytest.raises(ModuleUpdateRejectedError) as caught:
        await refused.start_deployment_mode()
    message = str(caught.value)
    assert "Database update rejected" in message
    assert "unique constraint" in message
    assert "--wipe" in message
    assert "DELETES ALL ITS DATA" in message
    assert refused.mode is None, "a failed start stops what it started"

    checker = make_controller()
    await checker.start_admin_mode()
    assert_kept(before, await snapshot(checker.http, config.database))
    await checker.stop()

    wiper = make_controller(module_wasm=incompatible_module)
    await wiper.start_deployment_mode(wipe=True)
    counts = await wiper.row_counts()
    assert counts["entity"] == 0, "wipe replaced the database"
    rows = await wiper.sql("SELECT * FROM event_log")
    types = {row["event_type"] for row in rows[0].rows}
    assert "SYSTEM_INITIALIZED" in types
    assert "AGENT_STEP" not in types, "the old log went with the wipe"


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM event_log WHERE seq = 2",
        "UPDATE config SET value = '-9' WHERE key = 'snapshot_interval'",
        "INSERT INTO config (key, value) VALUES ('x', '1')",
        "SELECT * FROM config; DELETE FROM event_log",
        "-- a comment\nDELETE FROM event_log",
    ],
)
async def test_sql_runs_queries_only_and_a_write_changes_nothing(
    make_controller: MakeController, config: InnerUniverseConfig, statement: str
) -> None:
    controller = make_controller()
    await controller.start_deployment_mode()
    before = await snapshot(controller.http, config.database)
    with pytest.raises(ControllerError, match="sql runs one SELECT only"):
        await controller.sql(statement)
    assert await snapshot(controller.http, config.database) == before
    assert (await controller.sql("/* ok */ select count(*) as n from config"))[0].rows
