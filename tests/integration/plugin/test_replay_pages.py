"""Replay reads `event_log` in pages bounded by bytes, against the real server: events of mixed
sizes up to `max_event_bytes` come back in log order across page boundaries, nothing skipped or
repeated; a page over the client's message limit is read again smaller; a single row over it
fails with OversizedRowError naming its `seq`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import attrs
import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, MessageTooLargeError, Timestamp
from nerv_inner_universe.nerv import Event, Nerv
from nerv_inner_universe.plugin import InnerUniverseRecorder, OversizedRowError
from nerv_inner_universe.plugin.reader import EventPage, Reader
from nerv_inner_universe.toolchain import SetupResult
from tests.integration.conftest import publish
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import nerv_config

MAX_EVENT_BYTES = 1024 * 1024
"""The module's default `max_event_bytes` (data and metadata together)."""
NEAR_MAX = MAX_EVENT_BYTES - 64
"""Data bytes of the largest events here: a JSON string just under the limit."""
EVENT_TYPE = "replay.page"


def sized(event_id: str, size: int) -> contract.EventInput:
    """An event whose data is a JSON string of ``size`` bytes (quotes included)."""
    return contract.EventInput(
        event_id=event_id,
        event_type=EVENT_TYPE,
        source=None,
        occurred_at=Timestamp(1_700_000_000_000_000),
        data='"' + "x" * (size - 2) + '"',
    )


def mixed_sizes() -> list[contract.EventInput]:
    """240 events: mostly small, every tenth about 40 kB, every fiftieth near the limit."""
    events = []
    for n in range(240):
        size = NEAR_MAX if n % 50 == 7 else 40_000 if n % 10 == 3 else 10 + n % 90
        events.append(sized(f"e{n:03}", size))
    return events


async def write(db: Database, events: Sequence[contract.EventInput]) -> None:
    """Publishes ``events`` in order: runs of small ones in one call, large ones alone."""
    async with DbConnection(db.base_url, db.name, token=db.token, call_timeout=120) as conn:
        run: list[contract.EventInput] = []
        for event in events:
            if len(event.data) < 1_000:
                run.append(event)
                continue
            if run:
                await contract.publish_events(events=run).send(conn)
                run = []
            await contract.publish_event(event=event).send(conn)
        if run:
            await contract.publish_events(events=run).send(conn)


async def pages(
    db: Database, page_bytes: int, max_message_bytes: int
) -> tuple[list[EventPage], list[BaseException]]:
    """Every page replay reads, and why the connection dropped meanwhile."""
    drops: list[BaseException] = []
    async with DbConnection(
        db.base_url, db.name, token=db.token, max_message_bytes=max_message_bytes
    ) as conn:
        conn.on_disconnect(lambda _conn, error: drops.append(error) if error else None)
        return [page async for page in Reader(conn, page_bytes).event_pages()], drops


@attrs.frozen
class MixedLog:
    db: Database
    ids: list[str]


@pytest.fixture(scope="module")
def mixed_log(server: object, machine: SetupResult) -> MixedLog:
    """One database holding `mixed_sizes` (written once: about 6 MiB)."""
    db = publish(server, machine.module_wasm)  # type: ignore[arg-type]
    events = mixed_sizes()
    asyncio.run(write(db, events))
    return MixedLog(db, [event.event_id for event in events])


def replayed_ids(read: list[EventPage]) -> list[str]:
    return [event.id for page in read for _, event in page.events()]


def assert_contiguous(read: list[EventPage]) -> None:
    """Pages follow each other in `seq` order, every event inside its page's range."""
    seqs = [seq for page in read for seq, _ in page.events()]
    assert seqs == sorted(set(seqs))
    lasts = [page.last_seq for page in read]
    assert lasts == sorted(set(lasts))
    previous = 0
    for page in read:
        assert all(previous < seq <= page.last_seq for seq, _ in page.events())
        previous = page.last_seq


def test_small_pages_keep_log_order_across_every_boundary(mixed_log: MixedLog) -> None:
    read, drops = asyncio.run(pages(mixed_log.db, page_bytes=64 << 10, max_message_bytes=256 << 20))
    assert replayed_ids(read) == mixed_log.ids
    assert_contiguous(read)
    assert drops == []
    assert len(read) > 20  # boundaries everywhere
    holding_big = [
        i for i, page in enumerate(read) if any(len(e.data) > 1_000_000 for _, e in page.events())
    ]
    assert len(holding_big) >= 3
    for i in holding_big:  # its mean row grew: the next page asks for fewer rows
        assert len(read[i + 1].entries) < len(read[i].entries) or len(read[i].entries) == 1
    big = next(event for page in read for _, event in page.events() if event.id == "e057")
    assert big.data == "x" * (NEAR_MAX - 2)


def test_a_page_over_the_message_limit_is_read_again_smaller(mixed_log: MixedLog) -> None:
    limit = 3 * MAX_EVENT_BYTES  # two events near the limit fit in a message, four do not
    read, drops = asyncio.run(pages(mixed_log.db, page_bytes=64 << 20, max_message_bytes=limit))
    assert replayed_ids(read) == mixed_log.ids
    assert_contiguous(read)
    assert drops
    assert all(isinstance(error, MessageTooLargeError) for error in drops)


def test_a_row_alone_over_the_message_limit_names_its_seq(inner_universe: Database) -> None:
    events = [sized(f"s{n}", 20) for n in range(5)] + [sized("big", NEAR_MAX), sized("after", 20)]
    asyncio.run(write(inner_universe, events))

    async def scenario() -> tuple[list[str], OversizedRowError, int]:
        db = inner_universe
        async with DbConnection(db.base_url, db.name, token=db.token) as conn:
            (found,) = await conn.one_off_query("SELECT * FROM event_log WHERE event_id = 'big'")
            big_seq = int(found.rows[0].seq)
        read: list[str] = []
        async with DbConnection(
            db.base_url, db.name, token=db.token, max_message_bytes=512 * 1024
        ) as conn:
            try:
                async for page in Reader(conn).event_pages():
                    read.extend(event.id for _, event in page.events())
            except OversizedRowError as error:
                return read, error, big_seq
        raise AssertionError(f"replay read {read} and raised no OversizedRowError")

    read, error, big_seq = asyncio.run(scenario())
    assert read == [f"s{n}" for n in range(5)]
    assert error.seq == big_seq
    assert error.limit == 512 * 1024
    assert f"seq={big_seq}" in str(error)


def test_a_runtime_replays_the_mixed_log_in_order_into_its_bus(mixed_log: MixedLog) -> None:
    runtime = Nerv(nerv_config(mixed_log.db, follow_remote=False))
    seen: list[Event] = []
    runtime.event_bus.subscribe(EVENT_TYPE, seen.append)
    runtime.start()
    try:
        assert [event.id for event in seen] == mixed_log.ids
        assert all(event.replayed for event in seen)
        history = runtime.event_bus.get_history(limit=None)
        assert len(history) == min(len(seen), runtime.settings.max_history)
    finally:
        runtime.stop()


def test_a_replay_stream_left_early_closes_cleanly(
    mixed_log: MixedLog, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    recorder = recorder_for(mixed_log.db, follow_remote=False)
    stream = recorder.replay_events()
    assert next(stream).id == mixed_log.ids[0]  # the next page is being read meanwhile
    stream.close()
    assert [event.id for event in recorder.replay_events()] == mixed_log.ids
