"""`eventsourcing` applications survive export and import: their aggregates, snapshots,
notification logs and tracking come back identical, later writes continue the stores'
notification ids, and an export whose `es_*` rows break the module's rules is refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import attrs
import pytest
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol, event
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.system import ProcessApplication

from nerv_inner_universe.client import MAX_HTTP_BODY_BYTES
from nerv_inner_universe.contract import ErrorCode
from nerv_inner_universe.controller import (
    DataImportError,
    ImportRefusedError,
    InnerUniverseConfig,
)
from tests.integration.controller.conftest import (
    MakeController,
    Record,
    Snapshot,
    environment,
    fresh_importer,
    of,
    rewrite,
    snapshot,
)

ES_TABLES = ("es_store", "es_stored_event", "es_tracking")


class Dog(Aggregate):
    @event("Registered")
    def __init__(self, name: str) -> None:
        self.name = name
        self.tricks: list[str] = []

    @event("TrickAdded")
    def add_trick(self, trick: str) -> None:
        self.tricks.append(trick)


class Seen(Aggregate):
    """What the follower records for each event it processes."""

    @event("Seen")
    def __init__(self, dog_id: UUID, version: int) -> None:
        self.dog_id = dog_id
        self.version = version


class DogSchool(Application[UUID]):
    is_snapshotting_enabled = True

    def register(self, name: str, *tricks: str) -> UUID:
        dog = Dog(name)
        for trick in tricks:
            dog.add_trick(trick)
        self.save(dog)
        return dog.id

    def teach(self, dog_id: UUID, trick: str) -> None:
        dog: Dog = self.repository.get(dog_id)
        assert isinstance(dog, Dog)
        dog.add_trick(trick)
        self.save(dog)


class Watcher(ProcessApplication[UUID]):
    """Follows the school: each processed event is a `Seen` event plus a tracking record."""

    def policy(
        self, domain_event: DomainEventProtocol[UUID], processing_event: ProcessingEvent[UUID]
    ) -> None:
        processing_event.collect_events(
            Seen(domain_event.originator_id, domain_event.originator_version)
        )


@attrs.frozen
class Observed:
    """What the applications read back."""

    dogs: dict[UUID, tuple[int, list[str]]]
    snapshots: dict[UUID, list[StoredEvent]]
    school_log: list[Notification]
    watcher_log: list[Notification]
    tracking: int | None


def observe(school: DogSchool, watcher: Watcher, dog_ids: list[UUID]) -> Observed:
    assert school.snapshots is not None
    dogs: dict[UUID, tuple[int, list[str]]] = {}
    for dog_id in dog_ids:
        dog: Dog = school.repository.get(dog_id)
        assert isinstance(dog, Dog)
        dogs[dog_id] = (dog.version, list(dog.tricks))
    return Observed(
        dogs=dogs,
        snapshots={d: list(school.snapshots.recorder.select_events(d)) for d in dog_ids},
        school_log=list(school.recorder.select_notifications(start=1, limit=100)),
        watcher_log=list(watcher.recorder.select_notifications(start=1, limit=100)),
        tracking=watcher.recorder.max_tracking_id(school.name),
    )


def write_and_observe(env: dict[str, str]) -> tuple[list[UUID], Observed]:
    """Two dogs (five events), a snapshot, the watcher processing them, then one event more
    the watcher has not processed yet."""
    with DogSchool(env=env) as school, Watcher(env=env) as watcher:
        ada = school.register("Ada", "sit", "roll over")
        bob = school.register("Bob", "beg")
        school.take_snapshot(ada)
        watcher.follow(school.name, school.notification_log)
        watcher.pull_and_process(school.name)
        school.teach(bob, "fetch")
        return [ada, bob], observe(school, watcher, [ada, bob])


def read_then_continue(env: dict[str, str], dog_ids: list[UUID]) -> tuple[Observed, Observed]:
    """What the applications read, then what they read after writing and processing more."""
    with DogSchool(env=env) as school, Watcher(env=env) as watcher:
        before = observe(school, watcher, dog_ids)
        cy = school.register("Cy")
        watcher.follow(school.name, school.notification_log)
        watcher.pull_and_process(school.name)
        return before, observe(school, watcher, [*dog_ids, cy])


async def export_of_an_application(
    make_controller: MakeController, config: InnerUniverseConfig, destination: Path
) -> tuple[list[UUID], Observed]:
    source = make_controller()
    await source.start_deployment_mode()
    env = environment(source, config.database)
    written = await asyncio.to_thread(write_and_observe, env)
    await source.stop()
    exporter = make_controller()
    await exporter.start_admin_mode()
    await exporter.export(destination)
    await exporter.stop()
    return written


def without_row_ids(rows: list[str]) -> list[str]:
    kept = []
    for text in rows:
        row = json.loads(text)
        row.pop("row_id", None)
        kept.append(json.dumps(row, sort_keys=True))
    return sorted(kept)


async def test_an_eventsourcing_application_survives_export_and_import(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    dump = tmp_path / "dump.jsonl"
    dog_ids, exported_view = await export_of_an_application(make_controller, config, dump)
    assert [n.id for n in exported_view.school_log] == [1, 2, 3, 4, 5, 6]
    assert exported_view.tracking == 5
    assert [n.id for n in exported_view.watcher_log] == [1, 2, 3, 4, 5]
    ada, bob = dog_ids
    assert [e.originator_version for e in exported_view.snapshots[ada]] == [3]
    assert exported_view.snapshots[bob] == []

    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    summary = await importer.import_export(dump)
    assert summary.rows["es_stored_event"] == 6 + 1 + 5  # school, its snapshot, the watcher
    assert summary.rows["es_store"] == 3
    assert summary.rows["es_tracking"] == 1
    exporter = make_controller()
    await exporter.start_admin_mode()
    exported = await snapshot(exporter.http, config.database)
    await exporter.stop()
    imported = await snapshot(importer.http, config.database)
    for table in ES_TABLES:
        assert imported[table], f"no {table} rows were imported"
        assert without_row_ids(imported[table]) == without_row_ids(exported[table]), table
    await importer.stop()

    target = make_controller(importer.config)
    await target.start_deployment_mode()
    env = environment(target, config.database)
    read, continued = await asyncio.to_thread(read_then_continue, env, dog_ids)
    assert read == exported_view
    assert [n.id for n in continued.school_log] == [1, 2, 3, 4, 5, 6, 7]
    assert continued.school_log[:6] == exported_view.school_log
    assert continued.tracking == 7
    assert [n.id for n in continued.watcher_log] == [1, 2, 3, 4, 5, 6, 7]
    assert continued.watcher_log[:5] == exported_view.watcher_log


async def test_an_import_whose_eventsourcing_rows_break_the_rules_is_refused(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    dump = tmp_path / "dump.jsonl"
    await export_of_an_application(make_controller, config, dump)

    def school_events(records: list[Record]) -> list[Record]:
        heads = [r["row"] for r in of("es_store", records) if r["row"]["max_notification_id"] == 6]
        [school] = heads
        return [r for r in of("es_stored_event", records) if r["row"]["store"] == school["name"]]

    def position_twice(records: list[Record]) -> list[Record]:
        [first] = [e for e in school_events(records) if e["row"]["notification_id"] == 1]
        copy = json.loads(json.dumps(first))
        copy["row"]["notification_id"] = 7
        for head in of("es_store", records):
            if head["row"]["name"] == copy["row"]["store"]:
                head["row"]["max_notification_id"] = 7
        return [*records, copy]

    def notification_twice(records: list[Record]) -> list[Record]:
        events = school_events(records)
        first = next(e for e in events if e["row"]["notification_id"] == 1)
        second = next(e for e in events if e["row"]["notification_id"] == 2)
        second["row"]["notification_id"] = first["row"]["notification_id"]
        return records

    def gap(records: list[Record]) -> list[Record]:
        [second] = [e for e in school_events(records) if e["row"]["notification_id"] == 2]
        return [record for record in records if record is not second]

    def headless(records: list[Record]) -> list[Record]:
        return [r for r in records if r["table"] != "es_store"]

    def tracking_twice(records: list[Record]) -> list[Record]:
        [tracking] = of("es_tracking", records)
        return [*records, json.loads(json.dumps(tracking))]

    integrity = ErrorCode.INTEGRITY_ERROR
    cases = [
        (position_twice, r"stored event \(.*, version 1\) is imported twice", integrity),
        (notification_twice, "notification id 1 of store .* is imported twice", integrity),
        (gap, r"store .* has 5 events but its head says 6", integrity),
        (headless, "store .* has events but no es_store head", integrity),
        (tracking_twice, "es_tracking row of .* is imported twice", ErrorCode.ALREADY_EXISTS),
    ]
    finish_refused = (gap, headless)
    for number, (edit, message, code) in enumerate(cases):
        broken = tmp_path / f"{edit.__name__}.jsonl"
        rewrite(dump, broken, edit)
        importer = await fresh_importer(make_controller, config, tmp_path / f"fresh{number}")
        with pytest.raises(ImportRefusedError, match=f"{code}: {message}") as refused:
            await importer.import_export(broken)
        assert refused.value.code is code
        after = await snapshot(importer.http, config.database)
        # The refused call changed nothing: the import is still open and no log sequence was
        # set; a refused batch left none of its rows.
        assert after["import_state"], edit.__name__
        assert after["log_sequence"] == [], edit.__name__
        if edit is tracking_twice:
            assert after["es_tracking"] == []
        elif edit not in finish_refused:
            assert after["es_stored_event"] == [], edit.__name__
        await importer.stop()


async def test_an_import_that_holds_a_row_twice_is_refused(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """Inserting a row identical to a stored one is a no-op in SpacetimeDB, not a failure:
    the module still refuses it, whatever the table."""
    dump = tmp_path / "dump.jsonl"
    await export_of_an_application(make_controller, config, dump)
    for number, table in enumerate(("es_store", "stream_owner", "config", "event_log")):

        def twice(records: list[Record], table: str = table) -> list[Record]:
            return [*records, json.loads(json.dumps(of(table, records)[0]))]

        broken = tmp_path / f"{table}_twice.jsonl"
        rewrite(dump, broken, twice)
        importer = await fresh_importer(make_controller, config, tmp_path / f"fresh{number}")
        with pytest.raises(
            ImportRefusedError, match=f"{table} row .* is imported twice"
        ) as refused:
            await importer.import_export(broken)
        assert refused.value.code is ErrorCode.ALREADY_EXISTS
        after = await snapshot(importer.http, config.database)
        assert after["import_state"], table  # refused before Finish
        assert after["log_sequence"] == [], table
        await importer.stop()


async def test_an_import_with_a_malformed_row_names_its_line_and_changes_nothing(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """Every line is checked before the first call: a row that does not fit its table (a
    wrong type, a missing or extra field, bad hex, a number out of range) is DataImportError
    naming the file's line, the table and the column, even when it comes after thousands of
    good rows, and the database is as it was."""
    dump = tmp_path / "dump.jsonl"
    await export_of_an_application(make_controller, config, dump)

    def edit(
        table: str, change: Callable[[Record], object]
    ) -> Callable[[list[Record]], list[Record]]:
        def edited(records: list[Record]) -> list[Record]:
            change(of(table, records)[-1]["row"])
            return records

        return edited

    cases: list[tuple[str, Callable[[Record], object], str]] = [
        ("es_stored_event", lambda row: row.update(notification_id="1"), "expected an integer"),
        ("es_stored_event", lambda row: row.pop("topic"), "fields .* do not match"),
        ("es_stored_event", lambda row: row.update(extra=1), "fields .* do not match"),
        ("es_stored_event", lambda row: row.update(state="zz"), "is not hex-encoded bytes"),
        ("es_stored_event", lambda row: row.update(originator_version=1.5), "expected an integer"),
        ("es_tracking", lambda row: row.update(notification_id=-1), "-1 is out of range for U64"),
        ("es_tracking", lambda row: row.update(notification_id=2**64), "out of range for U64"),
        ("config", lambda row: row.update(value=None), "expected a string"),
    ]

    def data(state: Snapshot) -> Snapshot:  # an import first lifts the last stop's fence
        return {table: rows for table, rows in state.items() if table != "write_fence"}

    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    before = data(await snapshot(importer.http, config.database))
    for number, (table, change, problem) in enumerate(cases):
        broken = tmp_path / f"malformed{number}.jsonl"
        rewrite(dump, broken, edit(table, change))
        with pytest.raises(
            DataImportError, match=f"a {table} row does not fit: {table}.*{problem}"
        ) as raised:
            await importer.import_export(broken)
        assert not isinstance(raised.value, ImportRefusedError)  # no call was made
        where = str(raised.value).split(": ")[0]
        assert where.startswith(f"{broken}:"), where
        line = int(where.rsplit(":", 1)[1])
        assert json.loads(broken.read_text().splitlines()[line - 1])["table"] == table
        assert data(await snapshot(importer.http, config.database)) == before, number
    # The database is still fresh: the good file imports.
    summary = await importer.import_export(dump)
    assert summary.rows["es_stored_event"] == 12
    await importer.stop()


async def test_an_export_without_eventsourcing_tables_still_imports(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    dump = tmp_path / "dump.jsonl"
    await export_of_an_application(make_controller, config, dump)
    older = tmp_path / "older.jsonl"
    rewrite(dump, older, lambda records: [r for r in records if r["table"] not in ES_TABLES])
    header = json.loads(older.read_text().splitlines()[0])
    for table in ES_TABLES:  # as a module before these tables exported it
        del header["tables"][table]
    lines = older.read_text().splitlines()
    older.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")

    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    summary = await importer.import_export(older)
    assert all(table not in summary.rows for table in ES_TABLES)
    assert summary.rows["stream_owner"] >= 1
    imported = await snapshot(importer.http, config.database)
    assert all(imported[table] == [] for table in ES_TABLES)
    assert imported["import_state"] == []


def register_large_dogs(env: dict[str, str], count: int, name_bytes: int) -> list[UUID]:
    with DogSchool(env=env) as school:
        return [school.register(f"{n}" * name_bytes) for n in range(count)]


async def test_large_stored_events_import_in_calls_within_the_http_body_limit(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """Four events of about 400 kB (800 kB of hex each in the export) do not fit one 2 MiB
    call: the import sends them in several."""
    source = make_controller()
    await source.start_deployment_mode()
    env = environment(source, config.database)
    dog_ids = await asyncio.to_thread(register_large_dogs, env, 4, 400_000)
    await source.stop()
    exporter = make_controller()
    await exporter.start_admin_mode()
    await exporter.export(tmp_path / "dump.jsonl")
    await exporter.stop()
    assert (tmp_path / "dump.jsonl").stat().st_size > 3 * MAX_HTTP_BODY_BYTES // 2

    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    progress: list[tuple[str, int]] = []
    summary = await importer.import_export(
        tmp_path / "dump.jsonl", progress=lambda *update: progress.append(update)
    )
    assert summary.rows["es_stored_event"] == 4
    calls = [done for table, done in progress if table == "es_stored_event"]
    assert len(calls) >= 2, calls
    assert calls[-1] == 4
    await importer.stop()
    target = make_controller(importer.config)
    await target.start_deployment_mode()

    def names(env: dict[str, str]) -> list[str]:
        with DogSchool(env=env) as school:
            return [school.repository.get(dog_id).name for dog_id in dog_ids]

    names_read = await asyncio.to_thread(names, environment(target, config.database))
    assert names_read == [f"{n}" * 400_000 for n in range(4)]


async def test_a_row_too_large_for_one_http_call_is_refused_before_any_call(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """A row whose import call alone passes the server's HTTP body limit (here a stored event
    of 1.1 MB of state, 2.2 MB of hex; an event of backslashes within ``max_event_bytes``
    escapes the same way) cannot be imported over HTTP: the check before the first call says
    so, naming its line, and the database is as it was (earlier rows used to be stored
    first, leaving the import open)."""
    dump = tmp_path / "dump.jsonl"
    await export_of_an_application(make_controller, config, dump)
    large = tmp_path / "large.jsonl"

    def enlarged(records: list[Record]) -> list[Record]:
        of("es_stored_event", records)[-1]["row"]["state"] = "ab" * 1_100_000
        return records

    rewrite(dump, large, enlarged)
    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    before = await snapshot(importer.http, config.database)
    with pytest.raises(DataImportError, match="over the server's HTTP request limit") as raised:
        await importer.import_export(large)
    assert not isinstance(raised.value, ImportRefusedError)
    line = int(str(raised.value).split(": ")[0].rsplit(":", 1)[1])
    assert json.loads(large.read_text().splitlines()[line - 1])["table"] == "es_stored_event"
    after = await snapshot(importer.http, config.database)
    del before["write_fence"], after["write_fence"]  # an import first lifts the last stop's
    assert after == before
    await importer.stop()
