"""Replay reads `event_log` a ``log_page`` page at a time by index, against the real server:
on a database the module kept since it was published every page comes from the index; on one
published by a module from before the ``log_page`` table and upgraded in place (automigration
adds the table, the old rows get no page row), the old rows are read by `seq` range and the
new ones by index, every event exactly once and in log order; a redacted event keeps its page.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, Timestamp
from nerv_inner_universe.controller import ServerProcess
from nerv_inner_universe.plugin.reader import Reader
from nerv_inner_universe.toolchain import SetupResult, setup
from tests.integration.conftest import publish
from tests.integration.http_api import Database

SPACETIME = Path(__file__).resolve().parents[3] / "spacetime"
BEFORE_LOG_PAGE = """//! The module as it was before the `log_page` table: no table, nothing filed.
use inner_universe_rules::RuleResult;
use spacetimedb::ReducerContext;

pub fn record_page(_ctx: &ReducerContext, _seq: u64) -> RuleResult {
    Ok(())
}

pub fn clear_pages(_ctx: &ReducerContext) {}
"""
"""`tables/log_page.rs` of a module from before the table: `journal` and `import` call these
two, and nothing declares the table."""
BATCH = 500
OLD_EVENTS = contract.LOG_PAGE_ROWS + 1_500
"""Written before the upgrade: more than one page, so the upgrade lands inside page 1."""
NEW_EVENTS = contract.LOG_PAGE_ROWS + 1_000
"""Written after it: the rest of page 1, all of page 2 and some of page 3."""


@pytest.fixture(scope="module")
def wasm_without_log_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module built from this checkout's sources with the ``log_page`` table taken out
    (`BEFORE_LOG_PAGE`): a module as published before the table existed (built once; the
    build is cached by source content)."""
    source = tmp_path_factory.mktemp("before-log-page") / "spacetime"
    shutil.copytree(SPACETIME, source, ignore=shutil.ignore_patterns("target"))
    (source / "module" / "src" / "tables" / "log_page.rs").write_text(BEFORE_LOG_PAGE)
    return setup(module_source=source).module_wasm


def upgrade(db: Database, wasm: Path) -> None:
    """Publishes ``wasm`` over ``db`` in place (no clear): SpacetimeDB migrates its tables."""
    with httpx.Client(base_url=db.base_url, timeout=120) as http:
        response = http.put(
            f"/v1/database/{db.name}",
            content=wasm.read_bytes(),
            headers={"Authorization": f"Bearer {db.token}"},
        )
        response.raise_for_status()
        assert response.json()["Success"]["op"] == "updated"


def event(n: int) -> contract.EventInput:
    return contract.EventInput(
        event_id=f"e{n:06}",
        event_type="replay.log_page",
        source=None,
        occurred_at=Timestamp(1_700_000_000_000_000),
        data=f'{{"n":{n}}}',
    )


async def write(db: Database, first: int, count: int) -> None:
    """Publishes events ``first`` .. ``first + count - 1`` in batches, in order."""
    async with DbConnection(db.base_url, db.name, token=db.token, call_timeout=120) as conn:
        for low in range(first, first + count, BATCH):
            batch = [event(n) for n in range(low, min(low + BATCH, first + count))]
            await contract.publish_events(events=batch).send(conn)


async def replay(db: Database, after_seq: int = 0) -> tuple[list[tuple[int, str]], Reader]:
    """Every published event after ``after_seq`` as (seq, id), in the order replay gives them,
    and the reader that read them."""
    async with DbConnection(db.base_url, db.name, token=db.token, call_timeout=120) as conn:
        reader = Reader(conn)
        read = [
            (seq, e.id) async for page in reader.event_pages(after_seq) for seq, e in page.events()
        ]
        return read, reader


def tables(db: Database) -> set[str]:
    """The names of ``db``'s tables, as its schema gives them."""
    with httpx.Client(base_url=db.base_url, timeout=30) as http:
        response = http.get(f"/v1/database/{db.name}/schema", params={"version": 9})
        response.raise_for_status()
    return {table["name"] for table in response.json()["tables"]}


def log_pages(db: Database) -> dict[int, int]:
    """``log_page`` as seq -> page."""
    return {int(row["seq"]): int(row["page"]) for row in db.sql("SELECT * FROM log_page")}


def assert_in_log_order(read: list[tuple[int, str]], ids: list[str]) -> None:
    assert [event_id for _, event_id in read] == ids  # each once, in publishing order
    seqs = [seq for seq, _ in read]
    assert seqs == sorted(set(seqs))


def test_every_page_of_a_new_database_comes_from_the_index(
    server: ServerProcess, machine: SetupResult
) -> None:
    db = publish(server, machine.module_wasm)
    asyncio.run(write(db, 0, NEW_EVENTS))
    read, reader = asyncio.run(replay(db))
    assert_in_log_order(read, [event(n).event_id for n in range(NEW_EVENTS)])
    assert reader.range_reads == 0
    pages = log_pages(db)
    last = max(seq for seq, _ in read)
    assert sorted(pages) == list(range(1, last + 1))  # every row, module events included
    assert all(page == seq // contract.LOG_PAGE_ROWS for seq, page in pages.items())


def test_replay_after_an_upgrade_from_a_module_without_log_page(
    server: ServerProcess, wasm_without_log_page: Path, machine: SetupResult
) -> None:
    db = publish(server, wasm_without_log_page)
    asyncio.run(write(db, 0, OLD_EVENTS))
    assert "log_page" not in tables(db)
    upgrade(db, machine.module_wasm)
    assert "log_page" in tables(db)
    assert log_pages(db) == {}  # automigration adds the table empty
    asyncio.run(write(db, OLD_EVENTS, NEW_EVENTS))
    ids = [event(n).event_id for n in range(OLD_EVENTS + NEW_EVENTS)]

    read, reader = asyncio.run(replay(db))
    assert_in_log_order(read, ids)
    assert reader.range_reads > 0  # the rows from before the upgrade
    first_new = dict((event_id, seq) for seq, event_id in read)[event(OLD_EVENTS).event_id]
    assert min(log_pages(db)) <= first_new

    after, reader = asyncio.run(replay(db, first_new - 1))
    assert_in_log_order(after, ids[OLD_EVENTS:])
    assert reader.range_reads == 0  # what the new module wrote is all indexed

    redacted = ids[OLD_EVENTS + 10]
    db.ok("redact_event", redacted, "gone")  # the row changes in place, its page row stays
    read, _ = asyncio.run(replay(db))
    assert_in_log_order(read, [event_id for event_id in ids if event_id != redacted])
    after, reader = asyncio.run(replay(db, first_new - 1))
    assert_in_log_order(after, [event_id for event_id in ids[OLD_EVENTS:] if event_id != redacted])
    assert reader.range_reads == 0
