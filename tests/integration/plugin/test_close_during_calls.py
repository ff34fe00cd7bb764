"""`InnerUniverseRecorder.close` from another thread, during or before a call: the call raises
the plugin's typed `RecorderClosedError` (a `PersistenceError`), never the client's errors.
Against the real server."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from nerv_inner_universe.nerv import Event, EventBus
from nerv_inner_universe.plugin import InnerUniverseRecorder, RecorderClosedError
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import wait_for

SMALLEST_LIMIT = 64 << 10
"""The smallest ``max_message_bytes``: the follower's catch-up reads many small pages."""


def test_calls_after_close_raise_recorder_closed(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    recorder = recorder_for(inner_universe)
    recorder.close()
    with pytest.raises(RecorderClosedError, match="is closed") as raised:
        recorder.follow(EventBus())
    assert raised.value.database == inner_universe.name
    with pytest.raises(RecorderClosedError):
        recorder.timeline_names()
    with pytest.raises(RecorderClosedError):
        recorder.read_versions("main")


@pytest.mark.parametrize("protocol", ["bsatn", "json"])
def test_close_from_another_thread_during_a_follow_catch_up_raises_a_typed_error(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder], protocol: str
) -> None:
    writer = recorder_for(inner_universe, events="async", follow_remote=False)
    writer.record_event(Event.create("FIRST", {}))
    writer.flush()
    reader = recorder_for(inner_universe, protocol=protocol, max_message_bytes=SMALLEST_LIMIT)
    assert len(reader.read_events()) == 1  # replay covers FIRST: follow catches up from there
    for n in range(5_000):
        writer.record_event(Event.create("LATER", {"n": n, "pad": "z" * 500}))
    writer.flush()

    bus = EventBus(max_history=0)
    delivering = threading.Event()
    bus.subscribe("*", lambda _event: delivering.set())
    outcome: list[BaseException | None] = []

    def follow() -> None:
        try:
            reader.follow(bus)
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    following = threading.Thread(target=follow, name="follow")
    following.start()
    wait_for(lambda: delivering.is_set() or not following.is_alive(), "the catch-up to begin")
    reader.close()
    following.join(30)
    assert not following.is_alive(), "follow() ends once the recorder is closed"
    # The catch-up either finished before the close (returned) or was cut short by it.
    (result,) = outcome
    assert result is None or isinstance(result, RecorderClosedError), repr(result)
