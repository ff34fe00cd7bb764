"""A start whose EventBus has nobody listening reads only the log's tail (issue 10), against the
real server: on the same database, a runtime with nothing listening (it replays
`InnerUniverseRecorder.replay_event_tail`) and one with a subscriber (every event,
`replay_events`) end up with the same history, the same remembered ids, the same recent
fingerprints and the same follow position, whatever the log holds before the tail: the module's
own events between published ones, redacted events, other writers' events, fewer events than
the window, none at all, rows too large for a page."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, Timestamp
from nerv_inner_universe.nerv import Event, EventBus, Nerv
from nerv_inner_universe.plugin import InnerUniverseRecorder, OversizedRowError
from nerv_inner_universe.plugin.reader import Reader
from nerv_inner_universe.plugin.recorder import RECENT_EVENTS
from tests.integration.http_api import NONE, Database
from tests.integration.plugin.conftest import nerv_config, wait_for
from tests.integration.plugin.test_replay_pages import MAX_EVENT_BYTES, NEAR_MAX, sized, write

WINDOW = max(EventBus().replay_window, RECENT_EVENTS)
"""The published events a start at the tail reads at least (10,000 by default)."""
EVENT_TYPE = "tail.event"

Kept = tuple[list[tuple[Any, ...]], list[str], list[tuple[str, object]], int]
"""What a start leaves behind of the events it replayed: the bus's history (every field, the
ones equality leaves out too), the ids it remembers (in order), the recorder's recent
fingerprints (in order) and the `seq` it follows other processes from."""


def event_input(event_id: str) -> contract.EventInput:
    return contract.EventInput(
        event_id=event_id,
        event_type=EVENT_TYPE,
        source="tail",
        occurred_at=Timestamp(1_700_000_000_000_000),
        data=f'{{"id":"{event_id}"}}',
        metadata='{"k":1}',
    )


async def publish_all(db: Database, ids: Sequence[str], token: str | None = None) -> None:
    """Publishes ``ids`` in order, 500 to a call, as ``token``'s identity (the owner's)."""
    async with DbConnection(db.base_url, db.name, token=token or db.token) as conn:
        for at in range(0, len(ids), 500):
            batch = [event_input(event_id) for event_id in ids[at : at + 500]]
            await contract.publish_events(events=batch).send(conn)


def module_events(db: Database, key: str, count: int) -> None:
    """``count`` of the module's own events (config changes): rows that publish no event."""
    for n in range(count):
        db.ok("update_config", f"app.{key}", str(n), NONE)


def kept(runtime: Nerv) -> Kept:
    recorder = runtime.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    history: list[tuple[Any, ...]] = [
        (e.id, e.type, e.data, e.timestamp, e.source, e.metadata, e.replayed, e.sender, e.position)
        for e in runtime.event_bus.get_history(limit=None)
    ]
    seen = list(runtime.event_bus._seen)
    recent: list[tuple[str, object]] = list(recorder._recent._fingerprints._items.items())
    return history, seen, recent, recorder._last_replayed_seq


def refused(*_args: object) -> Iterator[Event]:
    raise AssertionError("this start was to read the log the other way")


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The `event_log` rows each `Reader.log_rows` call read (every read of log rows)."""
    counts: list[int] = []
    original = Reader.log_rows

    async def counted(self: Reader, start: int, end: int, *args: Any) -> list[Any]:
        rows = await original(self, start, end, *args)
        counts.append(len(rows))
        return rows

    monkeypatch.setattr(Reader, "log_rows", counted)
    return counts


Starter = Callable[..., tuple[Nerv, list[Event]]]


@pytest.fixture
def start(monkeypatch: pytest.MonkeyPatch) -> Iterator[Starter]:
    """Starts a runtime on a database, ``listening`` (a subscriber of every event: the whole
    log is replayed) or not (only the tail is); the read the start must not use raises.
    Returns the runtime and what its subscriber received; stops the runtimes afterwards."""
    started: list[Nerv] = []

    def starter(db: Database, *, listening: bool, **settings: Any) -> tuple[Nerv, list[Event]]:
        runtime = Nerv(nerv_config(db, **{"follow_remote": False, **settings}))
        received: list[Event] = []
        if listening:
            runtime.event_bus.subscribe("*", received.append)
        unused = "replay_event_tail" if listening else "replay_events"
        with monkeypatch.context() as patch:
            patch.setattr(InnerUniverseRecorder, unused, refused)
            runtime.start()
        started.append(runtime)
        return runtime, received

    yield starter
    for runtime in started:
        runtime.stop()


def assert_same_starts(
    db: Database, start: Starter, expected: list[str], **settings: Any
) -> tuple[Nerv, Nerv]:
    """Starts a runtime with nothing listening, then one with a subscriber, on ``db``; asserts
    the second received the ``expected`` events (ids, in log order) and both kept the same.
    Returns both."""
    tail, _ = start(db, listening=False, **settings)
    full, received = start(db, listening=True, **settings)
    assert [event.id for event in received] == expected
    assert all(event.replayed for event in received)
    assert kept(tail) == kept(full)
    return tail, full


def last_log_seq(db: Database) -> int:
    return max((int(row["seq"]) for row in db.sql("SELECT * FROM event_log")), default=0)


def test_a_long_log_is_read_at_its_tail_and_leaves_what_a_full_replay_leaves(
    inner_universe: Database, start: Starter, rows_read: list[int]
) -> None:
    db = inner_universe
    alice_id, alice_token = db.mint_writer()
    ids = [f"t{n:05}" for n in range(3 * WINDOW + 3_000)]
    chunk = WINDOW // 4
    for at in range(0, len(ids), chunk):  # the module's own rows between every chunk
        writer = alice_token if (at // chunk) % 3 == 1 else None  # another process's chunks
        asyncio.run(publish_all(db, ids[at : at + chunk], writer))
        module_events(db, f"k{at}", 2)
    # Redacted: one at the window's edge, one inside, one long before it.
    for event_id in (ids[-WINDOW], ids[-5], ids[-WINDOW - 1_000]):
        db.ok("redact_event", event_id, "redacted for the test")
    module_events(db, "last", 3)  # the log ends with rows that publish nothing
    expected = [i for i in ids if i not in {ids[-WINDOW], ids[-5], ids[-WINDOW - 1_000]}]

    tail, _ = start(db, listening=False)
    tail_rows = sum(rows_read)
    rows_read.clear()
    full, received = start(db, listening=True)
    full_rows = sum(rows_read)

    assert [event.id for event in received] == expected  # the full replay delivers every one
    assert kept(tail) == kept(full)
    history, seen, recent, last_seq = kept(tail)
    assert [entry[0] for entry in reversed(history)] == expected[-tail.settings.max_history :]
    assert seen == expected[-EventBus().replay_window :]
    assert [event_id for event_id, _ in recent] == expected[-RECENT_EVENTS:]
    assert last_seq == last_log_seq(db)
    assert tail.recorder is not None
    owner = tail.recorder.identity  # type: ignore[attr-defined]
    assert {entry[7] for entry in history} == {owner, alice_id.removeprefix("0x")}
    assert full_rows >= len(ids)
    assert tail_rows <= 3 * WINDOW < full_rows  # bounded by the window, not by the log

    # Both refuse an id they remember, and accept one from before the window.
    remembered = attrs.evolve(full.event_bus.get_history(limit=1)[0])  # a copy: same id
    older = Event(id=ids[0], type=EVENT_TYPE, data=None, timestamp=0.0, replayed=True)
    for runtime in (tail, full):
        bus = runtime.event_bus
        bus.publish_event(remembered)
        assert bus.get_history(limit=1)[0] is not remembered
        bus.publish_event(older)
        assert bus.get_history(limit=1)[0] is older


def test_fewer_events_than_the_window_with_redactions_and_module_rows(
    inner_universe: Database, start: Starter
) -> None:
    db = inner_universe
    _, bob_token = db.mint_writer()
    module_events(db, "first", 2)
    asyncio.run(publish_all(db, [f"a{n}" for n in range(40)]))
    module_events(db, "between", 2)
    asyncio.run(publish_all(db, [f"b{n}" for n in range(40)], bob_token))
    db.ok("redact_event", "a0", "the first one")
    db.ok("redact_event", "b39", "the last one")
    expected = [f"a{n}" for n in range(1, 40)] + [f"b{n}" for n in range(39)]
    tail, _ = assert_same_starts(db, start, expected)
    history, _, _, last_seq = kept(tail)
    assert len(history) == 78
    assert history[0][0] == "b38"
    assert last_seq == last_log_seq(db)


def test_an_empty_log_and_one_of_module_rows_only(inner_universe: Database, start: Starter) -> None:
    db = inner_universe
    tail, _ = assert_same_starts(db, start, [])
    assert kept(tail)[:3] == ([], [], [])
    module_events(db, "only", 4)
    tail, _ = assert_same_starts(db, start, [])
    history, seen, recent, last_seq = kept(tail)
    assert (history, seen, recent) == ([], [], [])
    assert last_seq == last_log_seq(db) > 0


def test_a_tail_start_follows_other_processes_from_where_a_full_one_does(
    inner_universe: Database, start: Starter
) -> None:
    db = inner_universe
    asyncio.run(publish_all(db, [f"f{n}" for n in range(30)]))
    module_events(db, "end", 2)
    tail, _ = assert_same_starts(db, start, [f"f{n}" for n in range(30)], follow_remote=True)
    asyncio.run(publish_all(db, ["later"]))
    wait_for(lambda: tail.event_bus.get_history(limit=1)[0].id == "later", "the later event")
    ids = [event.id for event in tail.event_bus.get_history(limit=None)]
    assert ids == ["later", *(f"f{n}" for n in reversed(range(30)))]  # nothing twice


def test_pages_over_the_message_limit_are_read_again_smaller(
    inner_universe: Database, start: Starter
) -> None:
    db = inner_universe
    before = [f"p{n:05}" for n in range(WINDOW)]  # the tail is read backwards, not the log
    asyncio.run(publish_all(db, before))
    events = [sized(f"s{n}", 20) for n in range(30)]
    events += [sized(f"big{n}", NEAR_MAX) for n in range(6)] + [sized("after", 20)]
    asyncio.run(write(db, events))
    limit = 3 * MAX_EVENT_BYTES  # two events near the limit fit in a message, four do not
    ids = [event.event_id for event in events]
    tail, _ = assert_same_starts(db, start, before + ids, max_message_bytes=limit)
    history = tail.event_bus.get_history(limit=None)
    assert [event.id for event in reversed(history)][-len(ids) :] == ids


def test_a_row_alone_over_the_message_limit_stops_both_starts_alike(
    inner_universe: Database, start: Starter
) -> None:
    db = inner_universe
    asyncio.run(publish_all(db, [f"p{n:05}" for n in range(WINDOW)]))
    asyncio.run(write(db, [sized("small", 20), sized("big", NEAR_MAX), sized("after", 20)]))
    for listening in (False, True):
        with pytest.raises(OversizedRowError, match="event_log"):
            start(db, listening=listening, max_message_bytes=512 * 1024)
