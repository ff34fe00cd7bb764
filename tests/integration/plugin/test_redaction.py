"""Replay honours redaction (issue 13, item 7): a runtime restarted after an admin redacted
an event, a version and a delta does not restore them; a re-send does not bring them back; a
poisoned version that made start fail can be redacted, and start works again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection
from nerv_inner_universe.nerv import ReplayError
from nerv_inner_universe.plugin import InnerUniverseRecorder, WriteRefusedError
from nerv_inner_universe.plugin.reader import Reader
from nerv_inner_universe.plugin.recovery import rebuild
from tests.integration.http_api import NONE, T0, Database, sha, some
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config
from tests.integration.plugin.test_stored import root_version


def test_a_restarted_runtime_replays_without_what_was_redacted(
    inner_universe: Database,
    runtimes: RuntimeFactory,
    recorder_for: Callable[..., InnerUniverseRecorder],
) -> None:
    config = nerv_config(inner_universe, events="sync")
    first = runtimes(config)
    bus, store, projector = first.event_bus, first.temporal_store, first.state_projector
    good = bus.publish("STEP", {"n": 1})
    bad = bus.publish("STEP", {"secret": "leaked"})
    later = bus.publish("STEP", {"n": 2})
    kept = store.commit({"plan": ["a"]}, "good plan")
    poisoned = store.commit({"plan": ["poison"]}, "poisoned plan")
    projector.apply_delta({"status": "ok"}, "fine")
    projector.apply_delta({"status": "poison"}, "bad")
    [bad_event] = [e for e in bus.get_history(limit=None) if e.id == bad]
    first.stop()

    db = inner_universe
    db.ok("redact_event", bad, "a secret in the data")
    db.ok("redact_state_version", poisoned, "poisoned plan")
    [bad_delta] = [  # the plugin's delta 1: `main:1.<writer>`
        row["delta_id"]
        for row in db.sql("SELECT delta_id FROM delta_record WHERE stream = 'main'")
        if str(row["delta_id"]).startswith("main:1.")
    ]
    db.ok("redact_delta", bad_delta, "poisoned status")

    second = runtimes(config)
    assert [e.id for e in reversed(second.event_bus.get_history(limit=None))] == [good, later]
    assert [v.version_id for v in second.temporal_store.get_history()] == [kept]
    assert second.temporal_store.get_current_version_id() == kept
    assert second.state_projector.get_current_state() == {"status": "ok"}
    history = second.state_projector.get_delta_history()
    assert [(index, m.description) for index, m in history] == [(0, "fine"), (1, "redacted")]

    # The runtime goes on past what was redacted: a new version on the head, a new delta index.
    second.temporal_store.commit({"plan": ["b"]}, "better plan")
    assert second.state_projector.apply_delta({"status": "done"}, "done") == 2
    # A re-send of the redacted event is refused, not stored again.
    with pytest.raises(WriteRefusedError, match="redacted: event "):
        recorder_for(db, events="sync", follow_remote=False).record_event(bad_event)
    second.stop()

    third = runtimes(config)
    assert [e.id for e in reversed(third.event_bus.get_history(limit=None))] == [good, later]
    descriptions = [v.change_description for v in third.temporal_store.get_history()]
    assert descriptions == ["good plan", "better plan"]
    assert third.state_projector.get_current_state() == {"status": "done"}
    third.stop()

    # `inner-universe replay` (recovery.rebuild) honours the same redactions.
    report = rebuild(recorder_for(db, follow_remote=False))
    assert report.events == 2
    [main] = [t for t in report.timelines if t.name == "main"]
    assert (main.versions, main.head_state) == (2, {"plan": ["b"]})
    [stream] = report.streams
    assert (stream.deltas, stream.state) == (3, {"status": "done"})


def test_a_poisoned_version_that_stopped_start_can_be_redacted(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = inner_universe
    config = nerv_config(db)
    # Another writer starts the runtime's timeline as a branch of a version elsewhere: the
    # recorded timeline is no chain from a root, and replay refuses it.
    db.ok("commit_state_version", "x1", "elsewhere", NONE, T0, "", sha("{}"), [], some("{}"))
    state = '{"plan":"hijacked"}'
    poison = ["p1", "main", some("x1"), T0, "", sha(state), [{"Set": {"path": "", "value": state}}]]
    db.ok("commit_state_version", *poison, NONE)
    with pytest.raises(ReplayError, match="'p1' has parent 'x1'"):
        runtimes(config)

    db.ok("redact_state_version", "p1", "another writer hijacked the timeline")
    runtime = runtimes(config)
    assert runtime.temporal_store.get_history() == []
    runtime.temporal_store.commit({"plan": "mine"}, "first")
    assert len(runtime.temporal_store.get_history()) == 1


def test_a_redacted_version_counts_as_stored(inner_universe: Database) -> None:
    """The writer re-sends only what the server lacks after a reconnect: a version an admin
    redacted meanwhile is not sent again (it would be refused)."""

    async def scenario() -> tuple[bool, bool]:
        version = root_version("v1")
        async with DbConnection(
            inner_universe.base_url, inner_universe.name, token=inner_universe.token
        ) as connection:
            reader = Reader(connection)
            await version.send(connection)
            await contract.redact_state_version(version_id="v1", reason="poison").send(connection)
            gone = await reader.stored(version)
            with pytest.raises(contract.ReducerRefusedError) as refused:
                await version.send(connection)
            return gone, refused.value.code is contract.ErrorCode.REDACTED

    assert asyncio.run(scenario()) == (True, True)
