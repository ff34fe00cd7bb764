"""Export then import into a fresh database gives identical rows (issue 4)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError

from nerv_inner_universe.client import Identity, Timestamp
from nerv_inner_universe.contract import (
    IMPORT_STALLED_AFTER_SECONDS,
    LOG_PAGE_ROWS,
    ErrorCode,
    EventInput,
    RedactedKind,
    ReducerCall,
    ReducerRefusedError,
    Table,
    create_entity,
    import_batch,
    import_begin,
    import_finish,
    import_rows,
    publish_event,
    reopen,
    set_stream_owner,
    update_config,
)
from nerv_inner_universe.controller import (
    ControllerError,
    DataImportError,
    ExportError,
    ImportRefusedError,
    InnerUniverseConfig,
    InnerUniverseController,
    RedactionRefusedError,
    free_port,
)
from nerv_inner_universe.nerv import Event, Nerv
from nerv_inner_universe.plugin import InnerUniverseRecorder, PersistenceError
from nerv_inner_universe.plugin.outbox import Outbox
from tests.integration.controller.conftest import (
    MakeController,
    Record,
    entity_metadata,
    environment,
    fresh_importer,
    of,
    populate,
    rewrite,
    snapshot,
)
from tests.waiting import wait_for

# Not imported, by design: live connections, the import marker, the stop's durability marker
# and write fence; `admin` keeps the importer.
LIVE_TABLES = (
    "client_connection",
    "import_state",
    "import_progress",
    "durability_marker",
    "write_fence",
)
# Every HTTP call (the import's own, too) connects and disconnects around itself; those
# lifecycle rows and the counter they advance come after what was imported.
LIFECYCLE = ("CLIENT_CONNECTED", "CLIENT_DISCONNECTED")


def log_rows(rows: list[str], below_seq: int | None = None) -> list[str]:
    kept = []
    for text in rows:
        row = json.loads(text)
        if below_seq is None and row["event_type"] in LIFECYCLE:
            continue
        if below_seq is not None and row["seq"] >= below_seq:
            continue
        kept.append(text)
    return kept


async def test_export_then_import_into_a_fresh_database_gives_identical_rows(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    source = make_controller()
    await populate(await source.start_deployment_mode())
    # Redactions and their tombstones are rows like any other: they survive the trip.
    await source.redact(RedactedKind.EVENT, "ev1", "poisoned")
    await source.redact(RedactedKind.DELTA, "d1", "poisoned")
    with pytest.raises(RedactionRefusedError, match="redacted: ") as refused:
        await source.redact(RedactedKind.EVENT, "ev1", "again")
    assert refused.value.code is ErrorCode.REDACTED
    await source.stop()
    exporter = make_controller()
    await exporter.start_admin_mode()
    await exporter.export(tmp_path / "dump.jsonl")
    exported = await snapshot(exporter.http, config.database)
    await exporter.stop()

    fresh = attrs.evolve(config, db_path=tmp_path / "fresh", port=free_port())
    target = make_controller(fresh)
    await target.start_deployment_mode()
    await target.stop()
    importer = make_controller(fresh)
    await importer.start_admin_mode()
    progress: list[tuple[str, int]] = []
    summary = await importer.import_export(
        tmp_path / "dump.jsonl", progress=lambda *update: progress.append(update)
    )
    imported = await snapshot(importer.http, config.database)

    [sequence] = [json.loads(row) for row in exported["log_sequence"]]
    assert summary.next_seq == sequence["next_seq"]
    assert log_rows(imported["event_log"], below_seq=summary.next_seq) == exported["event_log"]
    for table in exported:
        if table in (*LIVE_TABLES, "event_log", "log_page", "log_sequence"):
            continue
        if table == "admin":
            assert set(exported[table]) <= set(imported[table])
            continue
        if table in ("delta_checkpoint", "delta_refresh_counter"):  # start afresh, not imported
            assert exported[table]
            assert imported[table] == []
            continue
        if table == "change_counter":  # not imported: it counts the import's own calls
            [counter] = [json.loads(row) for row in imported[table]]
            assert counter["changes"] == len(progress) + 2  # the batches, Begin and Finish
            continue
        assert imported[table] == exported[table], f"{table} differs after import"
    pages = {row["seq"]: row["page"] for row in map(json.loads, imported["log_page"])}
    seqs = sorted(json.loads(row)["seq"] for row in imported["event_log"])
    assert sorted(pages) == seqs  # every imported row (and every one since) has its page row
    assert all(page == seq // LOG_PAGE_ROWS for seq, page in pages.items())
    assert summary.rows["entity"] == 2
    assert sum("EVENT_REDACTED" in row for row in imported["event_log"]) == 2  # row and tombstone
    assert ("event_log", summary.rows["event_log"]) in progress


async def test_import_refuses_a_database_that_holds_data(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    source = make_controller()
    await populate(await source.start_deployment_mode())
    # Redactions and their tombstones are rows like any other: they survive the trip.
    await source.redact(RedactedKind.EVENT, "ev1", "poisoned")
    await source.redact(RedactedKind.DELTA, "d1", "poisoned")
    with pytest.raises(RedactionRefusedError, match="redacted: ") as refused:
        await source.redact(RedactedKind.EVENT, "ev1", "again")
    assert refused.value.code is ErrorCode.REDACTED
    await source.stop()
    controller = make_controller()
    await controller.start_admin_mode()
    await controller.export(tmp_path / "dump.jsonl")
    before = await snapshot(controller.http, config.database)
    with pytest.raises(ControllerError, match="import needs a fresh database"):
        await controller.import_export(tmp_path / "dump.jsonl")
    after = await snapshot(controller.http, config.database)
    assert log_rows(after["event_log"]) == log_rows(before["event_log"])
    unchanged = (*LIVE_TABLES, "event_log", "log_sequence")
    assert {t: r for t, r in after.items() if t not in unchanged} == {
        t: r for t, r in before.items() if t not in unchanged
    }


async def test_import_refuses_a_truncated_export(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    controller = make_controller()
    await controller.start_deployment_mode()
    await controller.stop()
    admin = make_controller()
    await admin.start_admin_mode()
    await admin.export(tmp_path / "dump.jsonl")
    lines = (tmp_path / "dump.jsonl").read_text().splitlines()
    (tmp_path / "cut.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ControllerError, match="truncated"):
        await admin.import_export(tmp_path / "cut.jsonl")


Edit = Callable[[dict[str, Any]], None]
"""Breaks one exported row in place."""


def set_field(name: str, value: object) -> Edit:
    def edit(row: dict[str, Any]) -> None:
        row[name] = value

    return edit


def nul_in(name: str) -> Edit:
    """A NUL in a text field (an optional one's ``{"some": text}`` too)."""

    def edit(row: dict[str, Any]) -> None:
        text = json.dumps(row[name])
        row[name] = json.loads(text[:-2] + "\\u0000" + text[-2:])

    return edit


def breaking(
    table: str, which: tuple[str, str], edit: Edit
) -> Callable[[list[Record]], list[Record]]:
    """An export's records with ``edit`` applied to the ``table`` row whose field
    ``which[0]`` holds ``which[1]``."""
    field, value = which

    def broken(records: list[Record]) -> list[Record]:
        [row] = [r["row"] for r in of(table, records) if r["row"][field] == value]
        edit(row)
        return records

    return broken


# (table, which row (its key field, value), the edit, the module's message)
BROKEN_ROWS: list[tuple[str, tuple[str, str], Edit, str]] = [
    ("config", ("key", "app.theme"), set_field("key", "App.theme"), 'config key "App.theme"'),
    ("config", ("key", "app.theme"), nul_in("description"), "config.description contains a NUL"),
    ("entity", ("id", "e1"), set_field("entity_type", " "), "entity.entity_type must not be"),
    ("entity", ("id", "e2"), set_field("id", "e 2"), "entity.id \"e 2\" contains ' '"),
    (
        "relation",
        ("id", "r1"),
        set_field("from_entity", "e/1"),
        "relation.from_entity \"e/1\" contains '/'",
    ),
    (
        "state_version",
        ("version_id", "v1"),
        set_field("data_hash", "ABC"),
        'state_version.data_hash "ABC" is not a SHA-256 digest',
    ),
    ("timeline", ("name", "main"), set_field("name", ""), "timeline.name must not be empty"),
    ("stream_owner", ("key", "deltas:s"), set_field("key", "s"), 'key "s" names no stream'),
    ("event_log", ("event_id", "ev1"), set_field("event_id", "ev 1"), "event_log.event_id"),
    (
        "event_log",
        ("event_id", "ev1"),
        set_field("event_type", " "),
        "event_log.event_type must not be empty",
    ),
    (
        "event_log",
        ("event_id", "ev1"),
        set_field("metadata", "[]"),
        "event_log.metadata must be a JSON object",
    ),
    ("event_log", ("event_id", "ev1"), nul_in("source"), "event_log.source contains a NUL"),
]


async def exported(make_controller: MakeController, to: Path) -> None:
    """`populate`'s rows, exported to ``to``."""
    source = make_controller()
    await populate(await source.start_deployment_mode())
    await source.stop()
    exporter = make_controller()
    await exporter.start_admin_mode()
    await exporter.export(to)
    await exporter.stop()


def owner_rows(state: dict[str, list[str]]) -> dict[str, str]:
    """``stream_owner`` rows of a `snapshot`: key -> owner identity (hex)."""
    rows = (json.loads(row) for row in state["stream_owner"])
    return {row["key"]: row["owner"]["__identity__"] for row in rows}


async def test_an_import_refuses_a_row_the_reducer_that_writes_its_table_would_refuse(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """An imported row passes the checks the reducer that writes its table has made since the
    first module (ids, names, text, hashes, config keys, metadata an object): a config row under
    a key `update_config` refuses could never be changed, and an event a replay cannot read
    would make every start fail. The refused batch leaves none of its rows; the import stays
    open. (Rules added later are not applied: `test_cli` imports an event whose time an older
    module stored out of today's range.)"""
    await exported(make_controller, tmp_path / "dump.jsonl")
    for number, (table, (field, value), edit, message) in enumerate(BROKEN_ROWS):
        case = f"{table} {value}: {message}"
        broken = breaking(table, (field, value), edit)
        rewrite(tmp_path / "dump.jsonl", tmp_path / f"broken{number}.jsonl", broken)
        importer = await fresh_importer(make_controller, config, tmp_path / f"fresh{number}")
        code = ErrorCode.INVALID_ARGUMENT
        with pytest.raises(ImportRefusedError, match=f"{code}: {message}") as refused:
            await importer.import_export(tmp_path / f"broken{number}.jsonl")
        assert refused.value.code is code, case
        assert "import again into a fresh data dir" in str(refused.value), case
        after = await snapshot(importer.http, config.database)
        assert after["import_state"], case  # refused before Finish
        assert after["log_sequence"] == [], case
        kept = [json.loads(row) for row in after[table]]
        assert not [row for row in kept if row.get(field) == value], case  # nothing of its batch
        await importer.stop()


async def test_an_older_modules_anchor_owner_row_imports_and_can_be_cleared(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """Modules before anchor timelines went with their delta streams stored a
    `timeline:stream.<s>` owner row: an export holding one imports, and the row can be cleared
    (giving it an owner is still refused)."""
    await exported(make_controller, tmp_path / "dump.jsonl")

    def with_anchor_owner(records: list[Record]) -> list[Record]:
        [deltas] = [r for r in of("stream_owner", records) if r["row"]["key"] == "deltas:s"]
        anchor = json.loads(json.dumps(deltas))
        anchor["row"]["key"] = "timeline:stream.s"
        return [*records, anchor]

    rewrite(tmp_path / "dump.jsonl", tmp_path / "older.jsonl", with_anchor_owner)
    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    await importer.import_export(tmp_path / "older.jsonl")
    owners = owner_rows(await snapshot(importer.http, config.database))
    anchor = "timeline:stream.s"
    assert owners[anchor] == owners["deltas:s"]
    owner = Identity.from_hex(owners[anchor].removeprefix("0x"))
    with pytest.raises(ReducerRefusedError, match='belongs to the owner of "deltas:s"') as given:
        await set_stream_owner(key=anchor, owner=owner).send_http(importer.http, config.database)
    assert given.value.code is ErrorCode.INVALID_ARGUMENT
    await set_stream_owner(key=anchor, owner=None).send_http(importer.http, config.database)
    after = owner_rows(await snapshot(importer.http, config.database))
    assert after == {key: who for key, who in owners.items() if key != anchor}
    await importer.stop()


async def cycle_export(make_controller: MakeController, tmp_path: Path) -> None:
    """`exported`'s rows in ``tmp_path / "dump.jsonl"``, and the same with version "v1" naming
    itself as its parent in ``tmp_path / "cycle.jsonl"`` (which an import refuses at its end)."""
    await exported(make_controller, tmp_path / "dump.jsonl")
    own_parent = set_field("parent_version_id", {"some": "v1"})
    cycle = breaking("state_version", ("version_id", "v1"), own_parent)
    rewrite(tmp_path / "dump.jsonl", tmp_path / "cycle.jsonl", cycle)


async def test_an_import_whose_versions_would_form_a_cycle_is_refused(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """A parent is committed before its child (a lower log seq): an edited export whose version
    names itself, or a later version, as its parent is refused at the end, before the log
    sequence is set (a cycle would make every walk back through the timeline endless)."""
    await cycle_export(make_controller, tmp_path)
    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    message = r'state version "v1" \(seq \d+\) names parent "v1" committed after it'
    with pytest.raises(ImportRefusedError, match=message) as refused:
        await importer.import_export(tmp_path / "cycle.jsonl")
    assert refused.value.code is ErrorCode.INTEGRITY_ERROR
    assert "import again into a fresh data dir" in str(refused.value)
    after = await snapshot(importer.http, config.database)
    assert after["import_state"]
    assert after["log_sequence"] == []
    await importer.stop()


async def test_an_import_whose_timeline_head_is_another_timelines_version_is_refused(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """A timeline's head is a version of that timeline (a commit makes it so, a redaction moves
    it only to a parent on the same timeline): an edited export whose head belongs to another
    timeline, on which every later commit would be refused as a conflict, is refused."""
    await exported(make_controller, tmp_path / "dump.jsonl")
    moved = breaking("state_version", ("version_id", "v1"), set_field("timeline", "other"))
    rewrite(tmp_path / "dump.jsonl", tmp_path / "moved.jsonl", moved)
    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    message = 'timeline "main" has head "v1", a version of timeline "other"'
    with pytest.raises(ImportRefusedError, match=message) as refused:
        await importer.import_export(tmp_path / "moved.jsonl")
    assert refused.value.code is ErrorCode.INTEGRITY_ERROR
    after = await snapshot(importer.http, config.database)
    assert after["import_state"]
    assert after["log_sequence"] == []
    await importer.stop()


async def test_a_half_imported_database_refuses_every_other_write(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """An import refused or cut short stays open, the batches before in place: every other
    write, an admin's too, is refused and changes nothing (it would meet the half-imported
    rows, or the log sequence the import has not set yet). For `IMPORT_STALLED_AFTER_SECONDS`
    after its last batch the import may still be under way, so the refusal is the retryable
    ``unavailable``; then it is `import_open`, which is final and says what to do: a NERV
    write (sync, async, outbox: the outbox keeps it) and an `eventsourcing` save fail with it
    at once, though their retry budgets are far longer. (An import refused at its end, as
    `test_an_import_whose_versions_would_form_a_cycle_is_refused` makes one, stays open the
    same way; its versions would make a NERV start fail, so this one is cut short after its
    first batch.)"""
    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    first_batch = import_rows(batch=import_batch(Table.ENTITY, []))
    for call in (reopen(), import_rows(batch=import_begin()), first_batch):
        await call.send_http(importer.http, config.database)  # admin mode leaves it closed
    before = await snapshot(importer.http, config.database)
    at = Timestamp(1_700_000_000_000_000)
    writes = [
        publish_event(
            event=EventInput(
                event_id="late", event_type="AGENT_STEP", source=None, occurred_at=at, data="{}"
            )
        ),
        update_config(key="app.late", value='"x"', description=None),
        create_entity(entity_id="late", entity_type="thing", metadata=entity_metadata(None)),
    ]
    await refused_until_stalled(importer, config.database, writes[0])
    for call in writes:
        with pytest.raises(ReducerRefusedError) as refused:
            await call.send_http(importer.http, config.database)
        assert refused.value.code is ErrorCode.IMPORT_OPEN, call
        assert not refused.value.retryable
        assert "an import opened by" in str(refused.value)
        assert "Import into a fresh data dir, or wipe this one" in str(refused.value)
    for events in ("sync", "async", "outbox"):
        outbox = tmp_path / f"{events}-outbox.sqlite"
        await asyncio.to_thread(
            nerv_publish_fails_at_once, importer, config.database, events, outbox
        )
        if events == "outbox":
            pending = Outbox(outbox, config.database).pending()
            assert [event.event_id for event in pending] == ["late"]  # a later start sends it
    await asyncio.to_thread(eventsourcing_save_fails_at_once, importer, config.database)
    with pytest.raises(ExportError, match="has an import open, so rows may be missing"):
        await importer.export(tmp_path / "half.jsonl")
    assert not (tmp_path / "half.jsonl").exists()
    after = await snapshot(importer.http, config.database)
    live = ("client_connection",)
    assert {t: rows for t, rows in after.items() if t not in live} == {
        t: rows for t, rows in before.items() if t not in live
    }
    await importer.stop()


async def test_an_export_holding_an_open_imports_marker_is_refused(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """An export of a half-imported database (an older version wrote one without a word)
    misses rows: its import is refused before the first call, naming the line."""
    await exported(make_controller, tmp_path / "dump.jsonl")
    marker = {"table": "import_state", "row": {"id": 0}}

    def with_marker(records: list[Record]) -> list[Record]:
        return [*records, marker]

    rewrite(tmp_path / "dump.jsonl", tmp_path / "half.jsonl", with_marker)
    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    with pytest.raises(DataImportError, match="half-imported database, so rows may be missing"):
        await importer.import_export(tmp_path / "half.jsonl")
    assert not (await snapshot(importer.http, config.database))["import_state"]
    await importer.stop()


async def refused_until_stalled(
    importer: InnerUniverseController, database: str, call: ReducerCall
) -> None:
    """Sends ``call`` until the module refuses it with `import_open`: until then (the import
    may still be under way) it is refused with the retryable ``unavailable`` saying so."""
    deadline = time.monotonic() + IMPORT_STALLED_AFTER_SECONDS + 120
    while True:
        with pytest.raises(ReducerRefusedError) as refused:
            await call.send_http(importer.http, database)
        if refused.value.code is ErrorCode.IMPORT_OPEN:
            return
        assert refused.value.code is ErrorCode.UNAVAILABLE, refused.value
        assert refused.value.retryable
        assert "is under way" in str(refused.value)
        assert time.monotonic() < deadline, "the open import never counted as stalled"
        await asyncio.sleep(0.5)


async def test_a_write_during_an_import_under_way_waits_for_it(
    make_controller: MakeController, config: InnerUniverseConfig, tmp_path: Path
) -> None:
    """While an import is under way a NERV write is refused with the retryable
    ``unavailable``: the writer sends it again, and it is stored once the import has
    finished."""
    importer = await fresh_importer(make_controller, config, tmp_path / "fresh")
    await reopen().send_http(importer.http, config.database)  # admin mode leaves it closed
    runtime = nerv_runtime(importer, config.database, events="sync")
    try:
        recorder = runtime.recorder
        assert isinstance(recorder, InnerUniverseRecorder)
        await import_rows(batch=import_begin()).send_http(importer.http, config.database)
        event = Event("during", "AGENT_STEP", {"during": True}, 1.7e9)
        publishing = asyncio.create_task(asyncio.to_thread(runtime.event_bus.publish_event, event))
        await asyncio.to_thread(
            wait_for, lambda: recorder.health().writer.retries > 0, "the write refused and retried"
        )
        assert not publishing.done()
        await import_rows(batch=import_finish(1)).send_http(importer.http, config.database)
        await publishing
        assert [e.id for e in recorder.read_events()] == ["during"]
    finally:
        await asyncio.to_thread(runtime.stop)
    await importer.stop()


def nerv_runtime(importer: InnerUniverseController, database: str, **settings: object) -> Nerv:
    """A started NERV runtime on the database ``importer`` serves, as its owner, with the plugin
    (not following other writers) and ``settings``."""
    assert importer.url is not None
    section = {
        "url": importer.url,
        "database": database,
        "token": importer.http.token,
        "follow_remote": False,
        **settings,
    }
    return Nerv({"nerv": {"plugins": ["inner_universe"], "inner_universe": section}}).start()


def nerv_publish_fails_at_once(
    importer: InnerUniverseController, database: str, events: str, outbox: Path
) -> None:
    """A NERV runtime starts on the half-imported database (replaying what is there), and its
    publish (``events = "sync"``) or next flush fails with the `import_open` refusal, not
    retried (``retry_for`` is far longer than the test's budget)."""
    runtime = nerv_runtime(
        importer, database, events=events, outbox_path=str(outbox), retry_for=3600.0
    )
    try:
        recorder = runtime.recorder
        assert isinstance(recorder, InnerUniverseRecorder)

        def publish_then_flush() -> None:
            runtime.event_bus.publish_event(Event("late", "AGENT_STEP", {"late": True}, 1.7e9))
            recorder.flush()

        with pytest.raises(PersistenceError, match="import_open: ") as failed:
            publish_then_flush()
        cause = failed.value.__cause__
        while cause is not None and not isinstance(cause, ReducerRefusedError):
            cause = cause.__cause__
        assert isinstance(cause, ReducerRefusedError)
        assert cause.code is ErrorCode.IMPORT_OPEN
    finally:
        runtime.stop()


class Ledger(Application[UUID]):
    """An `eventsourcing` application of one aggregate type."""


class Entry(Aggregate):
    """One aggregate, enough to make a save."""


def eventsourcing_save_fails_at_once(importer: InnerUniverseController, database: str) -> None:
    """An `eventsourcing` save fails with `OperationalError` naming `import_open` (the module's
    ``call_timeout`` is far longer than the test's budget)."""
    env = {**environment(importer, database), "SPACETIMEDB_CALL_TIMEOUT": "3600"}
    with Ledger(env=env) as ledger, pytest.raises(OperationalError, match="import_open: "):
        ledger.save(Entry())
