"""A follower whose rows together exceed its ``max_message_bytes`` keeps following through a
reconnect, and a single row over the limit stops following with a typed error instead of a
silent reconnect loop. Against a real server of the test's own (restarted to force the
reconnect).

Before the fix, the follower resubscribed after each reconnect to the last 5,000 rows it had
seen: over the limit, the server's answer dropped the connection, which reconnected and
resubscribed to the same rows, for ever, with nothing surfaced to the user."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nerv_inner_universe.nerv import Event, EventBus
from nerv_inner_universe.plugin import InnerUniverseRecorder, OversizedRowError
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config, wait_for

SMALLEST_LIMIT = 64 << 10
"""The smallest ``max_message_bytes`` the settings accept."""
PAD = "q" * 2_000
"""Each event's data: 100 of them are about three times `SMALLEST_LIMIT`."""
FOLLOWS = {"max_message_bytes": SMALLEST_LIMIT, "events": "sync", "retry_for": 30.0}
"""The follower's settings (retry_for: a loop would fail its writes, not hang them)."""


def delivered(bus: EventBus) -> list[str]:
    """The ids of the events on ``bus``, oldest first."""
    return [event.id for event in reversed(bus.get_history(limit=None))]


def following(
    db: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> tuple[InnerUniverseRecorder, InnerUniverseRecorder, EventBus]:
    """A writer with the default limit, and a recorder with the smallest following its
    events into the bus returned."""
    writer = recorder_for(db, events="sync")
    follower = recorder_for(db, **FOLLOWS)
    bus = EventBus()
    follower.follow(bus)
    return writer, follower, bus


def test_a_follower_keeps_following_through_a_reconnect_when_its_rows_exceed_the_limit(
    isolated_inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    db = isolated_inner_universe
    writer, follower, bus = following(db, recorder_for)
    before = [Event.create("SIZED", {"n": n, "pad": PAD}) for n in range(100)]
    for event in before:
        writer.record_event(event)
    wait_for(lambda: len(delivered(bus)) >= len(before), "the events before the restart")

    db.server.restart()  # both connections drop; the follower's catch-up covers 200 KB
    after = [Event.create("SIZED", {"n": n, "pad": "small"}) for n in range(100, 105)]
    for event in after:
        writer.record_event(event)  # retried by the writer until the server is back

    ids = [event.id for event in before + after]
    wait_for(lambda: len(delivered(bus)) >= len(ids), "the events after the restart", 60.0)
    assert delivered(bus) == ids, "each once, in log order"
    health = follower.health()
    assert health.connected
    assert health.follow_error is None
    # The rechecked rows were read again after the reconnect, in pages within the limit.
    assert health.log_rows_followed >= len(ids) + len(before)
    mine = Event.create("FROM_FOLLOWER", {"ok": True})
    follower.record_event(mine)  # its writes go through: the connection does not loop
    follower.flush()
    assert writer.read_events()[-1].id == mine.id


def test_a_row_alone_over_the_limit_stops_following_with_a_typed_error(
    isolated_inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    writer, follower, bus = following(isolated_inner_universe, recorder_for)
    small = Event.create("SIZED", {"pad": "small"})
    writer.record_event(small)
    wait_for(lambda: delivered(bus) == [small.id], "the small event")

    huge = Event.create("SIZED", {"pad": "h" * (2 * SMALLEST_LIMIT)})
    writer.record_event(huge)  # its row reaches the follower in a message over its limit
    wait_for(lambda: follower.health().follow_error is not None, "the follow error", 60.0)

    health = follower.health()
    assert health.follow_error is not None
    assert "OversizedRowError" in health.follow_error
    assert f"{SMALLEST_LIMIT} bytes (max_message_bytes)" in health.follow_error
    with pytest.raises(OversizedRowError, match="raise max_message_bytes") as raised:
        follower.flush()
    assert raised.value.table == "event_log"
    assert raised.value.seq == writer.read_events()[-1].position
    follower.flush()  # raised once; following has stopped, the recorder still works
    wait_for(lambda: follower.health().connected, "the follower's connection")
    mine = Event.create("FROM_FOLLOWER", {"ok": True})
    follower.record_event(mine)
    assert [event.id for event in writer.read_events()] == [small.id, huge.id, mine.id]
    assert delivered(bus) == [small.id]


def test_a_followed_store_keeps_following_through_a_reconnect_when_its_rows_exceed_the_limit(
    isolated_inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = isolated_inner_universe
    alice = runtimes(nerv_config(db))
    bob = runtimes(nerv_config(db, max_message_bytes=SMALLEST_LIMIT, retry_for=30.0))
    for n in range(60):  # each version's operations hold about 2 KB: 120 KB in all
        alice.temporal_store.commit({"n": n, "pad": f"{n}{PAD}"}, f"version {n}")
    last = alice.temporal_store.get_current_version_id()
    wait_for(lambda: bob.temporal_store.get_current_version_id() == last, "bob at alice's head")

    db.server.restart()  # bob's catch-up after the reconnect covers the 60 versions
    alice.temporal_store.commit({"n": 60, "pad": "small"}, "after the restart")
    last = alice.temporal_store.get_current_version_id()
    wait_for(
        lambda: bob.temporal_store.get_current_version_id() == last,
        "bob at alice's head after the restart",
        60.0,
    )
    assert bob.temporal_store.get() == {"n": 60, "pad": "small"}
    assert [v.version_id for v in bob.temporal_store.get_history()] == [
        v.version_id for v in alice.temporal_store.get_history()
    ]
