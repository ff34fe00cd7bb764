"""The follower's catch-up: the rows it missed are read in pages, then only the rows after them
are subscribed to, so no subscription's answer grows with what was missed (the real-server
test `tests/integration/plugin/test_follow_message_limit.py` covers the server's side). The
connection and the reader are fakes: this is the pure logic of what is asked for when."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest

from nerv_inner_universe.client import (
    MessageTooLargeError,
    Row,
    SpacetimeConnectionError,
)
from nerv_inner_universe.nerv import EventBus, StateProjector
from nerv_inner_universe.plugin.errors import OversizedRowError
from nerv_inner_universe.plugin.follower import Follower
from tests.unit.plugin.test_follower import row as log_row
from tests.unit.plugin.test_remote_state import delta_row, following_main

LIMIT = 64 << 10


def row(seq: int) -> Row:
    return log_row(seq, f"e{seq}")


def seq_of(each: Row) -> int:
    seq = each["seq"]
    assert isinstance(seq, int)
    return seq


class FakeHandle:
    def __init__(self) -> None:
        self.is_active = True


class FakeTable:
    def stream(self, lazy: bool = False) -> None:
        self.lazy = lazy

    def on_insert(self, callback: Callable[..., None]) -> None:
        self.inserted = callback

    def on_inserts(self, callback: Callable[..., None]) -> None:
        self.inserted_rows = callback


class FakeCache:
    def __init__(self) -> None:
        self.tables: dict[str, FakeTable] = {}

    def table(self, name: str) -> FakeTable:
        return self.tables.setdefault(name, FakeTable())


class FakeConnection:
    """Subscriptions as asked for; ``refuse`` makes the next ones fail as given."""

    def __init__(self) -> None:
        self.cache = FakeCache()
        self.subscribed: list[tuple[object, bool]] = []
        self.refuse: list[Exception] = []
        self.is_closed = False
        self.dropped: Callable[[Any, Exception | None], None] | None = None

    def on_disconnect(self, callback: Callable[[Any, Exception | None], None]) -> None:
        self.dropped = callback

    def on_connect(self, _callback: Callable[..., None]) -> None:
        pass

    async def subscribe(self, query: object, *, renew: bool = True) -> FakeHandle:
        self.subscribed.append((query, renew))
        if self.refuse:
            raise self.refuse.pop(0)
        return FakeHandle()


class FakeReader:
    """The log ``rows`` in pages of ``per_page``; ``fail`` maps a page number (counted over
    every read) to what reading it raises, after ``before_failing()`` ran."""

    def __init__(self, rows: list[Row], per_page: int) -> None:
        self.rows = rows
        self.per_page = per_page
        self.fail: dict[int, Exception] = {}
        self.before_failing: Callable[[], None] = lambda: None
        self.pages_read = 0
        self.reads_after: list[int] = []

    async def row_pages(self, after_seq: int) -> AsyncGenerator[list[Row], None]:
        self.reads_after.append(after_seq)
        rest = [each for each in self.rows if seq_of(each) > after_seq]
        while rest:
            self.pages_read += 1
            failure = self.fail.pop(self.pages_read, None)
            if failure is not None:
                self.before_failing()
                raise failure
            page, rest = rest[: self.per_page], rest[self.per_page :]
            yield page


def started(
    reader: FakeReader, connection: FakeConnection, after_seq: int
) -> tuple[Follower, EventBus]:
    bus = EventBus()
    follow = Follower(bus, lambda _event_id: True)
    fake_reader: Any = reader  # the follower needs only `Reader.row_pages`
    asyncio.run(follow.start(connection, fake_reader, after_seq))  # type: ignore[arg-type]
    return follow, bus


def delivered(follow: Follower, bus: EventBus) -> list[str]:
    follow.stop()
    return [event.id for event in reversed(bus.get_history(limit=None))]


def test_what_was_missed_is_read_in_pages_and_only_later_rows_are_subscribed_to() -> None:
    reader, connection = FakeReader([row(n) for n in range(1, 8)], per_page=3), FakeConnection()
    follow, bus = started(reader, connection, after_seq=2)
    assert reader.reads_after == [2]
    assert reader.pages_read == 2
    assert connection.subscribed == [("SELECT * FROM event_log WHERE seq >= 8", False)]
    assert delivered(follow, bus) == ["e3", "e4", "e5", "e6", "e7"]


def test_a_subscription_over_the_limit_is_followed_by_a_catch_up_from_where_it_got() -> None:
    """Rows written between the last page and the subscription made its answer too large:
    the next try reads them in pages and subscribes after them; nothing is asked twice."""
    reader, connection = FakeReader([row(n) for n in range(1, 4)], per_page=2), FakeConnection()
    connection.refuse = [MessageTooLargeError(LIMIT)]
    original = connection.subscribe

    async def grows(query: object, *, renew: bool = True) -> FakeHandle:
        reader.rows.extend(row(n) for n in range(4, 10) if n > len(reader.rows))
        return await original(query, renew=renew)

    connection.subscribe = grows  # type: ignore[method-assign]
    follow, bus = started(reader, connection, after_seq=0)
    assert reader.reads_after == [0, 3], "the second catch-up starts after the rows read"
    assert [query for query, _ in connection.subscribed] == [
        "SELECT * FROM event_log WHERE seq >= 4",
        "SELECT * FROM event_log WHERE seq >= 10",
    ]
    assert delivered(follow, bus) == [f"e{n}" for n in range(1, 10)]


def test_a_message_over_the_limit_does_not_move_the_catch_up_back() -> None:
    reader, connection = FakeReader([row(n) for n in range(1, 6)], per_page=5), FakeConnection()
    follow, _bus = started(reader, connection, after_seq=0)
    assert follow.next_seq == 6
    follow._dropped(connection, MessageTooLargeError(LIMIT))  # type: ignore[arg-type]
    assert follow.next_seq == 6, "the server did not fail: nothing to recheck"
    follow._dropped(connection, SpacetimeConnectionError("connection lost"))  # type: ignore[arg-type]
    assert follow.next_seq == 1, "a server that failed may have lost rows: recheck them"
    follow.stop()


def test_a_drop_during_the_catch_up_reads_on_from_the_recheck_point_once() -> None:
    """A lost connection while reading pages: the catch-up starts again where the drop moved
    `next_seq` (the recheck), and every event is delivered once."""
    reader, connection = FakeReader([row(n) for n in range(1, 10)], per_page=2), FakeConnection()
    reader.fail[3] = SpacetimeConnectionError("the connection closed; query again")

    def drop() -> None:  # the client runs the drop's callbacks before the read fails
        assert connection.dropped is not None
        connection.dropped(connection, SpacetimeConnectionError("connection lost"))

    reader.before_failing = drop
    follow, bus = started(reader, connection, after_seq=0)
    assert reader.reads_after == [0, 0], "after the drop, from the rechecked rows on"
    assert connection.subscribed == [("SELECT * FROM event_log WHERE seq >= 10", False)]
    assert delivered(follow, bus) == [f"e{n}" for n in range(1, 10)]


def test_a_row_alone_over_the_limit_stops_following_with_a_typed_error() -> None:
    reader, connection = FakeReader([row(n) for n in range(1, 4)], per_page=1), FakeConnection()
    reader.fail[2] = OversizedRowError("event_log", 2, LIMIT)
    with pytest.raises(OversizedRowError, match=r"seq=2 .* raise max_message_bytes") as raised:
        started(reader, connection, after_seq=0)
    assert connection.subscribed == [], "nothing over the limit is subscribed to"
    assert "65536 bytes" in str(raised.value)


class FakeStateReader:
    """No versions; the deltas ``deltas`` (`rows_by_seq` splits what does not fit)."""

    def __init__(self, deltas: list[Row]) -> None:
        self.deltas = deltas
        self.reads: list[tuple[str, int]] = []

    async def version_rows(self, _timeline: str, after_seq: int) -> list[Row]:
        self.reads.append(("versions", after_seq))
        return []

    async def delta_rows(self, _stream: str, after_seq: int) -> list[Row]:
        self.reads.append(("deltas", after_seq))
        return [each for each in self.deltas if seq_of(each) > after_seq]


def test_the_state_follower_reads_what_it_missed_then_subscribes_after_it() -> None:
    projector = StateProjector({})
    follow = following_main(projector)
    reader = FakeStateReader([delta_row(4, 0), delta_row(9, 1)])
    connection = FakeConnection()
    fake_reader: Any = reader  # the follower needs only version_rows and delta_rows
    asyncio.run(follow.start(connection, fake_reader, 2, 3))  # type: ignore[arg-type]
    assert reader.reads == [("versions", 2), ("deltas", 3)]
    assert connection.subscribed == [
        (
            (
                "SELECT * FROM state_version WHERE timeline = 'main' AND seq > 2",
                "SELECT * FROM delta_record WHERE stream = 'main' AND seq > 9",
            ),
            False,
        )
    ]
    follow._dropped(connection, MessageTooLargeError(LIMIT))  # type: ignore[arg-type]
    assert follow._windows()[1].endswith("seq > 9"), "no recheck: the server did not fail"
    follow._dropped(connection, SpacetimeConnectionError("lost"))  # type: ignore[arg-type]
    assert follow._windows()[1].endswith("seq > 3"), "recheck, never before the start"
    follow.stop()
    assert [m.description for _, m in projector.get_delta_history()] == ["delta 0", "delta 1"]
