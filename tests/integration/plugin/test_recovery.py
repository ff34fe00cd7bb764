"""Replay tooling: rebuild and verify everything; damaged history is named, not trusted."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nerv_inner_universe.plugin import InnerUniverseRecorder, IntegrityError
from nerv_inner_universe.plugin.recovery import rebuild
from tests.integration.http_api import NONE, Database
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config


def test_rebuild_reports_every_timeline_and_stream(
    inner_universe: Database,
    runtimes: RuntimeFactory,
    recorder_for: Callable[..., InnerUniverseRecorder],
) -> None:
    runtime = runtimes(nerv_config(inner_universe))
    runtime.event_bus.publish("HELLO", {"to": "world"})
    runtime.temporal_store.commit({"a": 1}, "one")
    last = runtime.temporal_store.commit({"a": 2, "b": [1, 2]}, "two")
    runtime.state_projector.apply_delta({"status": "ok"})
    runtime.stop()

    report = rebuild(recorder_for(inner_universe, follow_remote=False))
    assert report.events == 1
    [main] = report.timelines  # the projector stream's anchor timeline is internal
    assert (main.versions, main.head_version_id, main.head_state) == (
        2,
        last,
        {"a": 2, "b": [1, 2]},
    )
    [stream] = report.streams
    assert (stream.name, stream.deltas, stream.state) == ("main", 1, {"status": "ok"})
    assert '"head_state": {\n        "a": 2' in report.to_json()


def test_rebuild_verifies_each_streams_checkpoint(
    inner_universe: Database,
    runtimes: RuntimeFactory,
    recorder_for: Callable[..., InnerUniverseRecorder],
) -> None:
    inner_universe.ok("update_config", "snapshot_interval", "3", NONE)
    runtime = runtimes(nerv_config(inner_universe))
    for n in range(8):
        runtime.state_projector.apply_delta({f"k{n % 3}": n})
    runtime.stop()

    said: list[str] = []
    report = rebuild(recorder_for(inner_universe, follow_remote=False), said.append)
    [stream] = report.streams
    assert (stream.deltas, stream.state) == (8, {"k0": 6, "k1": 7, "k2": 5})
    assert "stream main: its checkpoint after 6 deltas verified" in said


def test_a_damaged_version_is_named(
    inner_universe: Database,
    runtimes: RuntimeFactory,
    recorder_for: Callable[..., InnerUniverseRecorder],
) -> None:
    runtime = runtimes(nerv_config(inner_universe))
    runtime.temporal_store.commit({"a": 1}, "one")
    second = runtime.temporal_store.commit({"a": 2}, "two")
    runtime.stop()
    # The owner may write SQL directly, bypassing the reducers: simulate a damaged row.
    inner_universe.sql(
        f"UPDATE state_version SET data_hash = '{'0' * 64}' WHERE version_id = '{second}'"  # noqa: S608
    )
    with pytest.raises(IntegrityError, match=f"version '{second}': the rebuilt state hashes to"):
        rebuild(recorder_for(inner_universe, follow_remote=False))
