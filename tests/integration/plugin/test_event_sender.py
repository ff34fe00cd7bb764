"""What a delivered event knows of its log row (issue 13 item 2, issue 11 item 4): the identity
that wrote it (``Event.sender``, which the writer cannot choose, unlike ``source``) and its log
position (``Event.position``, the ``seq``), live from another process and on replay."""

from __future__ import annotations

from nerv_inner_universe.nerv import Event
from nerv_inner_universe.plugin import InnerUniverseRecorder
from tests.integration.client.conftest import eventually
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config


async def test_handlers_see_the_writing_identity_and_the_log_position(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = inner_universe
    alice_id, alice_token = db.mint_writer()
    alice = runtimes(nerv_config(db, events="sync", token=alice_token))
    bob = runtimes(nerv_config(db, events="sync"))
    received: list[Event] = []
    bob.event_bus.subscribe("CHAT", received.append)

    own = alice.event_bus.publish("CHAT", {"n": 0}, source="bob")  # a false claim
    alice.event_bus.publish("CHAT", {"n": 1}, source="alice")
    await eventually(lambda: len(received) == 2, within=30.0)

    rows = {
        row["event_id"]: row for row in db.sql("SELECT * FROM event_log WHERE event_type = 'CHAT'")
    }
    assert [event.source for event in received] == ["bob", "alice"]
    for event in received:
        assert event.sender == alice_id.removeprefix("0x")
        assert event.position == rows[event.id]["seq"]
    first, second = (event.position for event in received)
    assert first is not None
    assert second is not None
    assert first < second
    assert isinstance(alice.recorder, InnerUniverseRecorder)
    assert alice.recorder.identity == received[0].sender
    # The publisher's own copy was not read back: the store has not vouched for it.
    [mine] = [e for e in alice.event_bus.get_history("CHAT", limit=None) if e.id == own]
    assert (mine.sender, mine.position) == (None, None)

    carol = runtimes(nerv_config(db, events="sync"))
    replayed = list(reversed(carol.event_bus.get_history("CHAT", limit=None)))
    assert [e.id for e in replayed] == [e.id for e in received]
    assert [(e.sender, e.position, e.replayed) for e in replayed] == [
        (e.sender, e.position, True) for e in received
    ]
