"""A runtime's StateProjector restored at its head from the module's checkpoint of its stream
(issue 10), against the real server: the module applies deltas as the projector does (a delta
that does not apply is a no-op), with several writers on one stream, redactions, and the
deltas before the checkpoint read only when a read needs them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from nerv_inner_universe.delta import Delete, Insert, Operation, Patch, Remove, Set, canonical_json
from nerv_inner_universe.nerv import (
    DeltaMetadata,
    Nerv,
    OperationsDelta,
    ReplayError,
    StateProjector,
)
from nerv_inner_universe.plugin import InnerUniverseRecorder
from tests.integration.http_api import NONE, Database
from tests.integration.plugin.conftest import RowsRead, RuntimeFactory, nerv_config
from tests.integration.plugin.test_restore_at_head import INTERVAL, config

DEEP: dict[str, Any] = {}
_level = DEEP
for _ in range(120):
    _level["d"] = {}
    _level = _level["d"]
"""An object 121 levels deep: set 10 levels down, the state would nest deeper than allowed."""

SHARED_CASES: list[list[Operation]] = [
    [Set("/a", {"b": [1, 2, 3]}), Set("/n", 1)],
    [Remove("/a/b", 9)],  # out of range: a no-op
    [Insert("/a/b", "first", 0), Remove("/a/b", 3)],
    [Delete("/missing")],  # a no-op
    [Patch("/a", {"c": None, "d": 1.5})],
    [Patch("/n", {"x": 1})],  # a patch of a number: a no-op
    [Set("/a/b/-", {"é": "ü"}), Delete("/n")],
    [Insert("/a/c", 1)],  # an insert into null: a no-op
    [Set("/x/y/z", 1)],  # a missing parent: a no-op
    [Set("/p", {"q": {"r": {"s": {"t": {"u": {"v": {"w": {"x": {}}}}}}}}})],
    [Set("/p/q/r/s/t/u/v/w/x/deep", DEEP)],  # nests deeper than MAX_DEPTH: a no-op
    [Set("", {"whole": [True, False, None]})],
    [Set("/whole/1", 0.25), Patch("", {"more": "text"})],
]


def recorder_of(runtime: Nerv) -> InnerUniverseRecorder:
    recorder = runtime.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    return recorder


def checkpoint_row(db: Database) -> dict[str, Any]:
    [row] = db.sql("SELECT * FROM delta_checkpoint WHERE stream = 'main'")
    return row


def replayed(runtime: Nerv, count: int | None = None) -> StateProjector:
    """A projector restored from every delta of the stream (the first ``count`` of them)."""
    deltas = recorder_of(runtime).read_recorded_deltas("main")
    projector = StateProjector({})
    projector.restore(deltas if count is None else deltas[:count])
    return projector


def test_the_module_applies_deltas_as_the_projector_does(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = inner_universe
    db.ok("update_config", "snapshot_interval", "2", NONE)
    first = runtimes(config(db))
    recorder = recorder_of(first)
    for index, operations in enumerate(SHARED_CASES):
        recorder.record_delta("main", index, DeltaMetadata(timestamp=1.0, index=index), operations)
    recorder.flush()
    row = checkpoint_row(db)
    assert row["delta_count"] == len(SHARED_CASES) - 1  # the last one awaits the next refresh
    projector = StateProjector({})
    noops = projector.restore(recorder.read_recorded_deltas("main")[: row["delta_count"]])
    assert noops, "the cases include deltas that do not apply"
    assert row["noop_count"] == len(noops)
    assert row["next_index"] == len(SHARED_CASES) - 1
    state = projector.get_current_state()
    assert row["state"] == json.dumps(state, separators=(",", ":"), ensure_ascii=False)
    assert list(json.loads(row["state"])) == list(state)
    assert row["data_hash"] == hashlib.sha256(canonical_json(state).encode()).hexdigest()


def writer_config(db: Database) -> dict[str, Any]:
    """A runtime that does not follow the others: its state is its own until it restarts."""
    settings = nerv_config(db, events="sync", follow_remote=False)
    settings["nerv"]["snapshot_interval"] = INTERVAL
    return settings


def two_writers(db: Database, runtimes: RuntimeFactory, rounds: int) -> None:
    """Two runtimes apply deltas to one stream in turns, numbering theirs alike; the second
    removes a list item after the first replaced the list with null: in the log, a no-op."""
    db.ok("update_config", "snapshot_interval", str(INTERVAL), NONE)
    first = runtimes(writer_config(db))
    first.state_projector.apply_delta({"list": [0]}, "list")
    second = runtimes(writer_config(db))
    for n in range(rounds):
        first.state_projector.apply_delta({f"a{n % 3}": n}, f"a{n}")
        second.state_projector.apply_delta({f"b{n % 2}": n}, f"b{n}")
    first.state_projector.apply_delta({"list": None}, "no list")
    second.state_projector.apply_delta(OperationsDelta([Remove("/list", 0)]), "stale remove")
    second.state_projector.apply_delta({"last": True}, "last")
    first.stop()
    second.stop()


def written_by_two(
    db: Database, runtimes: RuntimeFactory
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`two_writers` of ``2 * INTERVAL`` rounds; the stream's deltas (``delta_id``, ``seq``),
    newest first, and its checkpoint row."""
    two_writers(db, runtimes, 2 * INTERVAL)
    rows = db.sql("SELECT delta_id, seq FROM delta_record WHERE stream = 'main'")
    return sorted(rows, key=lambda row: -int(row["seq"])), checkpoint_row(db)


def test_two_writers_restore_at_the_head_what_every_delta_gives(
    inner_universe: Database, runtimes: RuntimeFactory, rows_read: RowsRead
) -> None:
    db = inner_universe
    two_writers(db, runtimes, 3 * INTERVAL)

    rows_read.rows.clear()
    restarted = runtimes(config(db))
    checkpoint = checkpoint_row(db)
    assert 1 <= rows_read.rows.get("delta_record", 0) <= INTERVAL
    assert rows_read.rows.get("delta_record", 0) + checkpoint["delta_count"] == 6 * INTERVAL + 4
    projector = restarted.state_projector
    assert not projector.fully_loaded
    whole = replayed(restarted)
    assert projector.get_current_state() == whole.get_current_state()
    assert projector.get_current_state()["last"] is True
    [noop] = StateProjector({}).restore(recorder_of(restarted).read_recorded_deltas("main"))
    assert "remove" in noop.error  # the stale remove
    assert projector.project(until=5) == whole.project(until=5)
    assert projector.fully_loaded
    assert projector.get_delta_history() == whole.get_delta_history()
    assert projector.apply_delta({"next": 1}) == whole.apply_delta({"next": 1})


def test_a_redaction_after_the_checkpoint_is_restored_from_it(
    inner_universe: Database, runtimes: RuntimeFactory, rows_read: RowsRead
) -> None:
    db = inner_universe
    newest_first, checkpoint = written_by_two(db, runtimes)
    after = [row for row in newest_first if int(row["seq"]) > checkpoint["seq"]]
    for row in after:
        db.ok("redact_delta", row["delta_id"], "after the checkpoint")
    assert checkpoint_row(db) == checkpoint

    rows_read.rows.clear()
    restarted = runtimes(config(db))
    assert rows_read.rows.get("delta_record", 0) == len(after)
    whole = replayed(restarted)
    assert restarted.state_projector.get_current_state() == whole.get_current_state()
    assert "last" not in whole.get_current_state()
    history = restarted.state_projector.get_delta_history()
    assert [metadata.description for _, metadata in history][-len(after) :] == ["redacted"] * len(
        after
    )


def test_a_redaction_inside_the_checkpoint_sends_the_start_back_to_every_delta(
    inner_universe: Database, runtimes: RuntimeFactory, rows_read: RowsRead
) -> None:
    db = inner_universe
    newest_first, checkpoint = written_by_two(db, runtimes)
    for row in newest_first:
        db.ok("redact_delta", row["delta_id"], "down into the checkpoint")
        if int(row["seq"]) <= checkpoint["seq"]:
            break
    assert db.sql("SELECT * FROM delta_checkpoint WHERE stream = 'main'") == []

    rows_read.rows.clear()
    restarted = runtimes(config(db))
    assert rows_read.rows.get("delta_record", 0) == len(newest_first)
    assert restarted.state_projector.fully_loaded
    whole = replayed(restarted)
    assert restarted.state_projector.get_current_state() == whole.get_current_state()
    assert restarted.state_projector.get_delta_history() == whole.get_delta_history()


def test_deltas_redacted_inside_the_checkpoint_after_the_start_are_a_replay_error(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = inner_universe
    newest_first, checkpoint = written_by_two(db, runtimes)
    restarted = runtimes(config(db))
    state = restarted.state_projector.get_current_state()
    for row in newest_first:
        db.ok("redact_delta", row["delta_id"], "down into the checkpoint, after the start")
        if int(row["seq"]) <= checkpoint["seq"]:
            break
    with pytest.raises(ReplayError, match="was one redacted since it was read"):
        restarted.state_projector.get_delta_history()
    assert restarted.state_projector.get_current_state() == state  # what the start restored


def key_order(value: Any) -> Any:
    """``value`` with every object's keys listed in their order, nested objects too."""
    if isinstance(value, dict):
        return [(key, key_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [key_order(item) for item in value]
    return value


def test_a_state_restored_at_the_head_keeps_the_key_order_of_a_full_replay(
    inner_universe: Database, runtimes: RuntimeFactory, rows_read: RowsRead
) -> None:
    db = inner_universe
    db.ok("update_config", "snapshot_interval", "1", NONE)
    settings = writer_config(db)
    settings["nerv"]["snapshot_interval"] = 1
    live = runtimes(settings)
    live.state_projector.apply_delta({"b": 1, "n": {"y": 2, "z": 1}})  # sent canonical
    live.state_projector.apply_delta({"a": 2})
    live.state_projector.apply_delta(OperationsDelta([Set("/n/x", 3), Delete("/b"), Set("/b", 4)]))
    live.state_projector.apply_delta({"c": 3})
    state = live.state_projector.get_current_state()
    live.stop()
    assert key_order(state) == [("n", [("y", 2), ("z", 1), ("x", 3)]), ("a", 2), ("b", 4), ("c", 3)]

    rows_read.rows.clear()
    restarted = runtimes(settings)
    assert checkpoint_row(db)["delta_count"] == 3  # the start restored at the head
    assert rows_read.rows.get("delta_record", 0) == 1
    restored = restarted.state_projector.get_current_state()
    assert key_order(restored) == key_order(replayed(restarted).get_current_state())
    assert key_order(restored) == key_order(state)
