"""A stop loses nothing the server acknowledged, and a database survives a stop right after
its publish (issue 9). SpacetimeDB 1.2.0 acknowledges before its commit-log write and dies on
SIGTERM. Without the checkpoint, a database published just before the stop was lost in 8 of
20 stops on a loaded machine (the publish test fails reliably then); acknowledged events were
lost in about 1 stop in 80 (so the event test catches that regression only now and then)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from nerv_inner_universe.client import ReconnectPolicy, Timestamp
from nerv_inner_universe.controller import (
    DurabilityError,
    InnerUniverseConfig,
    ServerProcess,
    free_port,
)
from nerv_inner_universe.toolchain import SetupResult
from tests.integration.client.conftest import connect
from tests.integration.conftest import publish
from tests.integration.controller.conftest import MakeController
from tests.integration.http_api import Database

ROUNDS = 6
EVENTS_PER_ROUND = 400


def event(event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "TICK",
        "source": "test",
        "occurred_at": Timestamp(1_700_000_000_000_000),
        "data": "{}",
        "metadata": "{}",
    }


async def test_a_stop_right_after_the_last_acknowledgement_loses_nothing(
    isolated_inner_universe: Database,
) -> None:
    db = isolated_inner_universe
    acknowledged: list[str] = []
    for round_number in range(ROUNDS):
        ids = [f"r{round_number}-{n}" for n in range(EVENTS_PER_ROUND)]
        async with connect(db, reconnect=ReconnectPolicy(enabled=False)) as conn:
            await asyncio.gather(*(conn.call_reducer("publish_event", event(i)) for i in ids))
            acknowledged += ids
            await asyncio.to_thread(db.server.stop)  # the moment the last answer arrived
        await db.server.start_async()
        stored = {
            row["event_id"] for row in db.sql("SELECT * FROM event_log WHERE event_type = 'TICK'")
        }
        lost = [i for i in acknowledged if i not in stored]
        assert not lost, f"round {round_number}: {len(lost)} acknowledged events lost"


async def test_a_fresh_deployment_survives_an_immediate_stop(
    make_controller: MakeController, config: InnerUniverseConfig
) -> None:
    for attempt in range(3):
        fresh = attrs.evolve(config, db_path=config.db_path / str(attempt), port=free_port())
        deployer = make_controller(fresh)
        await deployer.start_deployment_mode()
        first = deployer.deployment
        await deployer.stop()
        again = make_controller(fresh)
        await again.start_deployment_mode()
        assert again.deployment is not None
        assert first is not None
        assert again.deployment.op == "updated", f"attempt {attempt}: the database was lost"
        assert again.deployment.database_identity == first.database_identity
        await again.stop()


def test_databases_published_right_before_a_stop_survive_it(
    private_server: ServerProcess, machine: SetupResult
) -> None:
    names = []
    for _ in range(ROUNDS):
        names.append(publish(private_server, machine.module_wasm).name)
        private_server.stop()  # at once: the publish was just answered
        private_server.start()
        with httpx.Client(base_url=private_server.base_url, timeout=30) as http:
            missing = [n for n in names if http.get(f"/v1/database/{n}").status_code != 200]
        assert not missing, f"lost after a stop: {missing}"


def test_an_in_memory_server_stops_without_waiting_for_a_disk(
    machine: SetupResult, tmp_path: Path
) -> None:
    root = tmp_path / "mem"
    server = ServerProcess(machine.server_binary, root, port=free_port(), in_memory=True)
    server.start()
    publish(server, machine.module_wasm)  # registered: a stop would checkpoint it
    assert not list(root.rglob("*.stdb.log")), "no commit log: a marker could never show up"
    server.make_durable(timeout=0)  # nothing to wait for, so no DurabilityError
    assert server.stop() is not None


def test_a_stop_that_cannot_confirm_durability_stops_the_server_and_says_so(
    machine: SetupResult, tmp_path: Path
) -> None:
    server = ServerProcess(
        machine.server_binary, tmp_path / "frozen", port=free_port(), durability_timeout=1.0
    )
    server.start()
    publish(server, machine.module_wasm)
    pid = server.pid
    assert pid is not None
    os.killpg(pid, signal.SIGSTOP)  # it answers nothing now, the checkpoint included
    with pytest.raises(DurabilityError, match="stopped, but not durably"):
        server.stop()
    assert not server.running(), "a stop never leaves the server running"


def test_a_registered_database_that_does_not_exist_needs_no_checkpoint(
    private_server: ServerProcess,
) -> None:
    with httpx.Client(base_url=private_server.base_url, timeout=30) as http:
        token = http.post("/v1/identity").raise_for_status().json()["token"]
    private_server.register_database("never-published", token)
    private_server.make_durable(timeout=5.0)  # nothing to keep: returns, raises nothing
    assert private_server.stop() is not None
