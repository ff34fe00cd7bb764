"""Controllers on data dirs of their own, against the real server binary and module.

Starting a server takes well under a second, so each test gets its own ``db_path``; the build
of the machine (`machine`) is shared by the session.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from nerv_inner_universe.client import DbConnection, SpacetimeHttp, Timestamp
from nerv_inner_universe.client.sats_json import encode
from nerv_inner_universe.client.typed import TypeContext
from nerv_inner_universe.contract import (
    DeltaMetadata,
    EntityMetadata,
    EventInput,
    RelationMetadata,
    SetOperation,
    commit_state_version,
    create_entity,
    create_relation,
    publish_event,
    record_delta,
    update_config,
)
from nerv_inner_universe.controller import (
    InnerUniverseConfig,
    InnerUniverseController,
    free_port,
)
from nerv_inner_universe.controller.tables import read_table
from nerv_inner_universe.toolchain import SetupResult, build_module, paths
from nerv_inner_universe.toolchain.progress import LogReporter
from nerv_inner_universe.toolchain.wasm import ensure_wasm_toolchain

LIFECYCLE_EVENTS = ("CLIENT_CONNECTED", "CLIENT_DISCONNECTED")
Snapshot = dict[str, list[str]]
MakeController = Callable[..., InnerUniverseController]


@pytest.fixture(scope="session")
def incompatible_module() -> Path:
    """The module with a unique constraint added to `timeline.head_version_id`: a change the
    server cannot migrate automatically. Built once per module source (about 10 s), then
    cached like the module itself; its copy of the sources stays in the cache, one per
    checkout, so cargo's target dir for it is reused too."""
    original = paths.module_source_dir()
    source = paths.cache_root() / "module" / "incompatible" / paths.checkout_key(original)
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(original, source, ignore=shutil.ignore_patterns("target"))
    table = source / "module" / "src" / "tables" / "timeline.rs"
    column = "    pub head_version_id: String,"
    text = table.read_text()
    assert column in text, f"{table} changed; pick another column for this test"
    table.write_text(text.replace(column, f"    #[unique]\n{column}"))
    toolchain, _ = ensure_wasm_toolchain(LogReporter())
    return build_module(toolchain, LogReporter(), source)


@pytest.fixture
def config(tmp_path: Path) -> InnerUniverseConfig:
    return InnerUniverseConfig(db_path=tmp_path / "db", port=free_port(), snapshot_interval=7)


@pytest.fixture
async def make_controller(
    machine: SetupResult, config: InnerUniverseConfig
) -> AsyncIterator[MakeController]:
    """``make_controller(config=..., **kwargs)``: controllers that are stopped after the test."""
    made: list[InnerUniverseController] = []

    def make(cfg: InnerUniverseConfig | None = None, **kwargs: Any) -> InnerUniverseController:
        kwargs.setdefault("server_binary", machine.server_binary)
        kwargs.setdefault("module_wasm", machine.module_wasm)
        controller = InnerUniverseController(cfg or config, **kwargs)
        made.append(controller)
        return controller

    yield make
    for controller in reversed(made):
        await controller.stop()


def gone(pid: int) -> bool:
    """No process has this pid (checked with signal 0: nothing is sent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def entity_metadata(name: str | None) -> EntityMetadata:
    return EntityMetadata(name=name, tags=("t",), properties='{"k":[1,2.5]}')


async def populate(client: DbConnection, prefix: str = "") -> None:
    """One row or more in every table the reducers write."""
    at = Timestamp(1_700_000_000_123_456)
    state = '{"a":1}'
    calls = [
        create_entity(
            entity_id=f"{prefix}e1", entity_type="agent", metadata=entity_metadata("Ada")
        ),
        create_entity(entity_id=f"{prefix}e2", entity_type="tool", metadata=entity_metadata(None)),
        create_relation(
            relation_id=f"{prefix}r1",
            from_entity=f"{prefix}e1",
            to_entity=f"{prefix}e2",
            relation_type="uses",
            metadata=RelationMetadata(description="uses", strength=0.5),
        ),
        commit_state_version(
            version_id=f"{prefix}v1",
            timeline=f"{prefix}main",
            parent_version_id=None,
            occurred_at=at,
            description="root",
            data_hash=hashlib.sha256(state.encode()).hexdigest(),
            operations=[],
            snapshot=state,
        ),
        # with a snapshot interval of 1, the second delta on "t" refreshes its checkpoint
        update_config(key="snapshot_interval", value="1", description=None),
        *(
            record_delta(
                delta_id=f"{prefix}{delta_id}",
                stream=stream,
                state_version_id=f"{prefix}v1",
                occurred_at=at,
                operations=[SetOperation(path, "2")],
                metadata=DeltaMetadata(description="d", author="me"),
            )
            for delta_id, stream, path in (("d1", "s", "/a"), ("d2", "t", "/t"), ("d3", "t", "/t"))
        ),
        publish_event(
            event=EventInput(
                event_id=f"{prefix}ev1",
                event_type="AGENT_STEP",
                source="test",
                occurred_at=at,
                data='{"x":"y"}',
            )
        ),
        update_config(key="app.theme", value='"dark"', description="a custom key"),
    ]
    for call in calls:
        await call.send(client)


async def snapshot(http: SpacetimeHttp, database: str) -> Snapshot:
    """Every table's rows as sorted SATS-JSON text (read over SQL: changes nothing)."""
    schema = await http.schema(database, refresh=True)
    state = {}
    for name in sorted(schema.tables):
        result = await read_table(http, database, name)
        state[name] = sorted(
            json.dumps(encode(result.schema, row, TypeContext()), sort_keys=True)
            for row in result.rows
        )
    return state


def assert_kept(before: Snapshot, after: Snapshot) -> None:
    """``after`` holds every row of ``before``; the only new rows are those that connecting
    makes (its connection row, CLIENT_* events, the log counter) and the marker and write fence
    a stop's checkpoint writes."""
    assert before.keys() == after.keys()
    for table, rows in before.items():
        if table in ("client_connection", "log_sequence", "durability_marker", "write_fence"):
            continue
        if table == "event_log":
            assert set(rows) <= set(after[table]), "an event_log row was lost"
            extra = [json.loads(r) for r in set(after[table]) - set(rows)]
            assert all(r["event_type"] in LIFECYCLE_EVENTS for r in extra), extra
            continue
        assert after[table] == rows, f"{table} changed"


# --- editing an export and importing it into a fresh database ------------------------------

Record = dict[str, Any]
"""One line of an export (``{"table": ..., "row": ...}``), as JSON."""


def environment(controller: InnerUniverseController, database: str) -> dict[str, str]:
    """An application's environment for the database ``controller`` serves, as its owner."""
    assert controller.url is not None
    assert controller.http.token is not None
    return {
        "PERSISTENCE_MODULE": "nerv_inner_universe.eventsourcing_module",
        "SPACETIMEDB_URL": controller.url,
        "SPACETIMEDB_DATABASE": database,
        "SPACETIMEDB_TOKEN": controller.http.token,
    }


async def fresh_importer(
    make_controller: MakeController, config: InnerUniverseConfig, path: Path
) -> InnerUniverseController:
    """A freshly deployed database on a data dir of its own, started for an import."""
    fresh = attrs.evolve(config, db_path=path, port=free_port())
    target = make_controller(fresh)
    await target.start_deployment_mode()
    await target.stop()
    importer = make_controller(fresh)
    await importer.start_admin_mode()
    return importer


def rewrite(source: Path, destination: Path, edit: Callable[[list[Record]], list[Record]]) -> None:
    """``source`` with its row records edited and the end line's counts made to match."""
    header, *records, _ = (json.loads(line) for line in source.read_text().splitlines())
    records = edit(records)
    counts: dict[str, int] = {}
    for record in records:
        counts[record["table"]] = counts.get(record["table"], 0) + 1
    lines = [header, *records, {"end": {"rows": counts}}]
    destination.write_text("".join(json.dumps(line) + "\n" for line in lines))


def of(table: str, records: list[Record]) -> list[Record]:
    return [record for record in records if record["table"] == table]
