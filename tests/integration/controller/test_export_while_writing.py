"""An export taken while clients write is consistent as of one point or fails: writes that
leave no `event_log` row (`eventsourcing` stores and tracking, roles) are seen too. The write
lands between two tables' reads through the export's ``after_table`` hook, so which tables it
tears is fixed, not raced."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import Identity
from nerv_inner_universe.contract import Role
from nerv_inner_universe.controller import (
    ExportError,
    InnerUniverseConfig,
    InnerUniverseController,
)
from nerv_inner_universe.controller.export import export_jsonl
from tests.integration.controller.conftest import MakeController, environment, fresh_importer
from tests.integration.controller.test_import_eventsourcing import (
    DogSchool,
    Observed,
    Watcher,
    read_then_continue,
    write_and_observe,
)

NEW_WRITER = Identity.from_hex(f"{7:064x}")


def process_the_rest(env: dict[str, str]) -> int | None:
    """The watcher processes the school's events it has not processed yet (one call of
    `es_insert_events` per event: its own events and its tracking record); its position."""
    with DogSchool(env=env) as school, Watcher(env=env) as watcher:
        watcher.follow(school.name, school.notification_log)
        watcher.pull_and_process(school.name)
        return watcher.recorder.max_tracking_id(school.name)


def register_a_dog(env: dict[str, str]) -> UUID:
    """An `Application` write: one `es_insert_events` call, the school's store only."""
    with DogSchool(env=env) as school:
        return school.register("Dee")


async def grant_a_writer(source: InnerUniverseController, database: str) -> None:
    """A role grant: changes `writer` and writes no `event_log` row."""
    call = contract.grant_role(identity=NEW_WRITER, role=Role.WRITER)
    await call.send_http(source.http, database)


async def started_with_an_application(
    make_controller: MakeController, config: InnerUniverseConfig
) -> tuple[InnerUniverseController, dict[str, str], list[UUID], Observed]:
    """A running source whose watcher has one school event left to process."""
    source = make_controller()
    await source.start_deployment_mode()
    env = environment(source, config.database)
    dog_ids, observed = await asyncio.to_thread(write_and_observe, env)
    assert observed.tracking == 5
    assert [n.id for n in observed.school_log] == [1, 2, 3, 4, 5, 6]
    return source, env, dog_ids, observed


@pytest.mark.parametrize(
    ("between", "write"),
    [
        ("es_store", "process"),  # the watcher's head read before its new events
        ("es_stored_event", "process"),  # its tracking read after its events: one ahead
        ("es_store", "register"),  # the school's head read before its new event
        ("admin", "grant"),  # a writer granted after `admin` and before `writer` is read
    ],
)
async def test_a_write_between_two_tables_makes_the_export_start_over(
    make_controller: MakeController,
    config: InnerUniverseConfig,
    tmp_path: Path,
    between: str,
    write: str,
) -> None:
    source, env, dog_ids, _ = await started_with_an_application(make_controller, config)
    written: list[str] = []

    async def after_table(table: str) -> None:
        if table != between or written:
            return
        written.append(table)
        if write == "process":
            assert await asyncio.to_thread(process_the_rest, env) == 6
        elif write == "register":
            await asyncio.to_thread(register_a_dog, env)
        else:
            await grant_a_writer(source, config.database)

    dump = tmp_path / "dump.jsonl"
    summary = await export_jsonl(source.http, config.database, dump, after_table=after_table)
    assert written == [between]
    assert summary.attempts == 2  # the first read saw the write land: it started over
    await source.stop()

    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    imported = await importer.import_export(dump)
    await importer.stop()
    assert imported.rows.get("writer", 0) == summary.rows["writer"]
    target = make_controller(importer.config)
    await target.start_deployment_mode()
    read, continued = await asyncio.to_thread(
        read_then_continue, environment(target, config.database), dog_ids
    )
    school_events = 7 if write == "register" else 6
    processed = 6 if write == "process" else 5
    assert [n.id for n in read.school_log] == list(range(1, school_events + 1))
    assert read.tracking == processed
    assert [n.id for n in read.watcher_log] == list(range(1, processed + 1))
    # Cy's registration, then the watcher processes every school event, none skipped.
    assert continued.tracking == school_events + 1
    assert [n.id for n in continued.watcher_log] == list(range(1, school_events + 2))
    assert (NEW_WRITER.hex in dump.read_text()) == (write == "grant")
    await target.stop()


async def test_an_export_fails_when_every_attempt_sees_a_write(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    source, env, _, _ = await started_with_an_application(make_controller, config)
    registered: list[UUID] = []

    async def after_table(table: str) -> None:
        if table == "es_store":
            registered.append(await asyncio.to_thread(register_a_dog, env))

    dump = tmp_path / "dump.jsonl"
    with pytest.raises(ExportError, match="changed during each of 2 export attempts"):
        await export_jsonl(source.http, config.database, dump, attempts=2, after_table=after_table)
    assert len(registered) == 2
    assert not dump.exists()
