"""Queued events go in batches the connection's replies fit: with the smallest
``max_message_bytes`` and the default ``batch_size``, a batch's reply (which echoes its events
and, to a follower, their rows) would be several times over the limit, and the connection
would drop on every batch. Against the real server."""

from __future__ import annotations

from collections.abc import Callable

from nerv_inner_universe.nerv import Event
from nerv_inner_universe.plugin import InnerUniverseRecorder
from tests.integration.http_api import Database

SMALLEST_LIMIT = 64 << 10
"""The smallest ``max_message_bytes`` the settings accept."""


def test_queued_events_fit_the_smallest_message_limit(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    # retry_for: a reply over the limit drops the connection on every try; fail, do not hang
    settings = {"max_message_bytes": SMALLEST_LIMIT, "events": "async", "retry_for": 30.0}
    writer = recorder_for(inner_universe, **settings)
    reader = recorder_for(inner_universe, **settings)  # follows: it gets every batch's rows
    events = [Event.create("SIZED", {"n": n, "text": "x" * 450}) for n in range(1_500)]
    for event in events:
        writer.record_event(event)
    writer.flush()  # raises what failed

    assert writer.health().writer.retries == 0  # no reply was over the limit
    assert [event.id for event in reader.read_events()] == [event.id for event in events]
