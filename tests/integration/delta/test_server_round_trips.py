"""Issue 6 through the real server: the module's canonical JSON and hash equal Python's for
every value; states rebuilt from snapshots and operations match at every version; one parent,
two concurrent commits, one winner."""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerv_inner_universe.contract import ReducerRefusedError
from nerv_inner_universe.delta import JSON, canonical_json, data_hash, diff, json_equal
from nerv_inner_universe.nerv import TemporalStore
from nerv_inner_universe.nerv.errors import ConcurrencyConflictError
from nerv_inner_universe.plugin import InnerUniverseRecorder
from tests.integration.http_api import NONE, Database, event_input, some, ts
from tests.strategies import json_values

server_examples = settings(
    max_examples=30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@server_examples
@given(values=st.lists(json_values(), min_size=1, max_size=20))
def test_module_canonical_text_equals_python(inner_universe: Database, values: list[JSON]) -> None:
    """Every value variant (unicode, empty containers, deep nesting, i64 limits, floats):
    the text the Rust module stores is byte for byte the text Python computes."""
    events = [
        event_input(f"v-{uuid.uuid4().hex}-{i}", data=canonical_json(v))
        for i, v in enumerate(values)
    ]
    inner_universe.ok("publish_events", events)
    stored = {
        row["event_id"]: row["data"][1]
        for row in inner_universe.sql("SELECT * FROM event_log WHERE event_type = 'AGENT_STEP'")
    }
    for event, value in zip(events, values, strict=True):
        assert stored[str(event["event_id"])] == canonical_json(value)


@server_examples
@given(value=json_values())
def test_module_hash_equals_python(inner_universe: Database, value: JSON) -> None:
    """The module recomputes a snapshot's SHA-256 and refuses a mismatch, so acceptance
    proves the Rust and Python hashes agree."""
    version_id = f"h-{uuid.uuid4().hex}"
    timeline = f"t-{version_id}"
    inner_universe.ok(
        "commit_state_version",
        version_id,
        timeline,
        NONE,
        ts(0),
        "",
        data_hash(value),
        [],
        some(canonical_json(value)),
    )


@pytest.fixture
def small_snapshot_interval(inner_universe: Database) -> Database:
    inner_universe.ok("update_config", "snapshot_interval", "3", NONE)
    return inner_universe


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(states=st.lists(json_values(), min_size=1, max_size=8))
def test_versions_rebuild_exactly_at_every_version(
    small_snapshot_interval: Database,
    recorder_for: Callable[..., InnerUniverseRecorder],
    states: list[JSON],
) -> None:
    """Recorded as operations from the parent, with a snapshot every third version: reading
    back reproduces each state and its data_hash."""
    recorder = recorder_for(small_snapshot_interval)
    store = TemporalStore()
    timeline = f"tl-{uuid.uuid4().hex}"
    store.add_guard(lambda version, ops: recorder.record_version(timeline, version, ops))
    ids = [store.commit(state, f"state {i}") for i, state in enumerate(states)]
    read = recorder.read_versions(timeline)
    assert [v.version_id for v, _ in read] == ids
    for (version, operations), state in zip(read, states, strict=True):
        assert json_equal(version.data, state)
        assert version.data_hash == data_hash(state)
        assert json_equal(recorder.read_state(version.version_id), state)
        if version.parent_version_id is not None:
            parent = store.get(version.parent_version_id)
            assert operations == diff(parent, state)


def test_concurrent_commits_on_one_parent_one_wins(
    inner_universe: Database, recorder_for: Callable[..., InnerUniverseRecorder]
) -> None:
    writers = [TemporalStore(), TemporalStore()]
    recorders = [recorder_for(inner_universe), recorder_for(inner_universe)]
    for store, recorder in zip(writers, recorders, strict=True):
        store.add_guard(functools.partial(recorder.record_version, "shared"))
    root = writers[0].commit({"n": 0}, "root")
    writers[1].restore(writers[0].get_history())
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def commit(store: TemporalStore, n: int) -> None:
        start.wait()
        try:
            store.commit({"n": n}, f"writer {n}", expected_parent=root)
            outcomes.append("won")
        except ConcurrencyConflictError as exc:
            refusal = refusal_in(exc)
            outcomes.append(str(refusal.code) if refusal is not None else repr(exc))

    threads = [threading.Thread(target=commit, args=(s, n)) for n, s in enumerate(writers, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "won"]  # the module's error code, and one winner
    heads = inner_universe.sql("SELECT * FROM timeline")
    assert [h["version_count"] for h in heads if h["name"] == "shared"] == [2]


def refusal_in(error: BaseException) -> ReducerRefusedError | None:
    """The module's refusal in ``error``'s chain of causes."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ReducerRefusedError):
        cause = cause.__cause__
    return cause
