"""The follower's ordering and its recheck after a reconnect, with rows made by hand (the
real-server tests cover the subscription itself)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from nerv_inner_universe.client import (
    EventContext,
    EventKind,
    Identity,
    Row,
    SpacetimeConnectionError,
    Timestamp,
    Variant,
)
from nerv_inner_universe.delta import InvalidJSONError
from nerv_inner_universe.nerv import Event, EventBus
from nerv_inner_universe.plugin.follower import Follower

CTX = EventContext(EventKind.REDUCER)
LOST = SpacetimeConnectionError("connection lost: no close frame received or sent")
WRITER = Identity(0xC200AB)


def row(seq: int, event_id: str) -> Row:
    return Row(
        event_id=event_id,
        seq=seq,
        event_type="TICK",
        source=None,
        occurred_at=Timestamp(1_700_000_000_000_000),
        data=Variant("Custom", "{}"),
        metadata="{}",
        sender=WRITER,
    )


def follower(own: set[str] | None = None) -> tuple[Follower, EventBus]:
    bus = EventBus()
    mine = own or set()
    return Follower(bus, lambda event_id: event_id not in mine), bus


def delivered(follower: Follower, bus: EventBus) -> list[str]:
    follower.stop()  # delivers what is queued, then ends the thread
    return [event.id for event in reversed(bus.get_history(limit=None))]


def feed(follower: Follower, *rows: Any) -> None:
    follower._on_inserts(CTX, rows)


def test_rows_out_of_order_go_out_in_log_order_and_own_events_stay_home() -> None:
    follow, bus = follower(own={"mine"})
    follow._thread.start()
    feed(follow, row(3, "c"), row(1, "a"), row(4, "mine"), row(2, "b"))
    assert follow.next_seq == 5
    assert delivered(follow, bus) == ["a", "b", "c"]
    events = reversed(bus.get_history(limit=None))
    assert [(e.sender, e.position) for e in events] == [(WRITER.hex, n) for n in (1, 2, 3)]


def test_after_a_crash_the_rows_a_restarted_server_reuses_seqs_for_are_delivered() -> None:
    follow, bus = follower()
    follow._thread.start()
    feed(follow, row(1, "a"), row(2, "lost-1"), row(3, "lost-2"))
    follow._dropped(None, LOST)  # type: ignore[arg-type]
    assert follow.next_seq == 1, "the next catch-up rechecks what it saw"
    # The restarted server lost seq 2 and 3; another process's new events took them, and the
    # lost ones came back (re-sent by their writer) under new numbers.
    feed(follow, row(1, "a"), row(2, "new-1"), row(3, "new-2"), row(4, "lost-1"), row(5, "x"))
    assert delivered(follow, bus) == ["a", "lost-1", "lost-2", "new-1", "new-2", "x"]


def test_a_plain_reconnect_delivers_nothing_twice() -> None:
    follow, bus = follower()
    follow._thread.start()
    feed(follow, row(1, "a"), row(2, "b"))
    follow._dropped(None, LOST)  # type: ignore[arg-type]
    feed(follow, row(2, "b"), row(1, "a"), row(3, "c"))
    assert delivered(follow, bus) == ["a", "b", "c"]


def test_delivered_events_are_recorded_copies() -> None:
    follow, bus = follower()
    follow._thread.start()
    feed(follow, row(1, "a"))
    follow.stop()
    [event] = bus.get_history(limit=None)
    assert isinstance(event, Event)
    assert event.replayed


def test_a_tombstone_is_not_delivered_but_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    admin = Identity.from_hex("ab" * 32)
    tombstone = Variant(
        "Redacted",
        Row(
            kind=Variant("Event"),
            target_id="a",
            reason="poisoned",
            redacted_by=admin,
            content_hash="0" * 64,
        ),
    )
    audit = changed(row(2, "sys:2"), event_type="EVENT_REDACTED", source="a", data=tombstone)
    follow, bus = follower()
    follow._thread.start()
    with caplog.at_level(logging.WARNING, logger="nerv_inner_universe.plugin.follower"):
        feed(follow, row(1, "a"), audit, row(3, "b"))
    assert delivered(follow, bus) == ["a", "b"], "a live runtime keeps what it received"
    [warning] = [r for r in caplog.records if "redacted" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    for part in ("kind=Event", "target_id=a", "reason=poisoned", admin.hex):
        assert part in warning.getMessage(), part


def changed(base: Row, **changes: Any) -> Row:
    """``base`` with ``changes``."""
    return Row(**{**dict(base), **changes})


def test_own_rows_are_recognised_by_id_before_they_are_translated() -> None:
    own = Row(**{**row(1, "mine"), "metadata": "not JSON"})
    remote = Row(**{**row(2, "theirs"), "metadata": "not JSON"})
    unit, bus = follower({"mine"})
    feed(unit, own)  # never parsed: it is this process's own
    with pytest.raises(InvalidJSONError, match="not valid JSON"):
        feed(unit, remote)
    assert delivered(unit, bus) == []


def test_a_guard_refusing_a_delivered_event_is_counted_and_delivery_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    follow, bus = follower()

    def refuse_b(event: Event) -> None:
        if event.id == "b":
            raise PermissionError("not b")

    bus.add_guard(refuse_b)
    follow._thread.start()
    with caplog.at_level(logging.WARNING):
        feed(follow, row(1, "a"), row(2, "b"), row(3, "c"))
        assert delivered(follow, bus) == ["a", "c"]
    assert (follow.delivered, follow.refused) == (2, 1)
    warning = next(r for r in caplog.records if "remote_event_refused" in r.getMessage())
    assert "event_id=b" in warning.getMessage()
    assert "PermissionError: not b" in warning.getMessage()


class KeyColumnsOnly(Row):
    """A row whose columns but ``seq`` and ``event_id`` must not be read (a `LazyRow` would
    decode them)."""

    def __getitem__(self, name: str) -> object:
        assert name in ("seq", "event_id"), f"read column {name!r} of this process's own row"
        return super().__getitem__(name)


def test_own_rows_are_told_by_seq_and_id_alone() -> None:
    follow, bus = follower(own={"mine"})
    follow._thread.start()
    feed(follow, KeyColumnsOnly(**row(1, "mine")), row(2, "theirs"))
    assert delivered(follow, bus) == ["theirs"]
