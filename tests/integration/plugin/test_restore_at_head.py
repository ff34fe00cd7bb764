"""A runtime restores its TemporalStore and its StateProjector at their heads (issue 10): the
versions since the timeline's nearest snapshot, and the deltas since the module's checkpoint of
the stream (`delta_checkpoint`), so the ``state_version`` and ``delta_record`` rows a start
reads are bounded by ``snapshot_interval``. The state, history and numbering are those of a
restore from every version and delta."""

from __future__ import annotations

from typing import Any

import pytest

from nerv_inner_universe.nerv import Nerv, StateProjector, TemporalStore
from nerv_inner_universe.plugin import InnerUniverseRecorder, IntegrityError, PersistenceError
from nerv_inner_universe.plugin.reader import WALK_BACK_LIMIT
from tests.integration.http_api import NONE, Database
from tests.integration.plugin.conftest import RowsRead, RuntimeFactory, nerv_config

INTERVAL = 5


def config(db: Database) -> dict[str, Any]:
    settings = nerv_config(db, events="sync")
    settings["nerv"]["snapshot_interval"] = INTERVAL
    return settings


def record_history(db: Database, runtimes: RuntimeFactory, count: int) -> None:
    """A runtime commits ``count`` versions and applies ``count`` deltas, then stops."""
    db.ok("update_config", "snapshot_interval", str(INTERVAL), NONE)
    first = runtimes(config(db))
    for n in range(count):
        first.temporal_store.commit({"n": n, "items": list(range(n % 4))}, f"v{n}")
        first.state_projector.apply_delta({f"k{n % 3}": n}, f"d{n}")
    first.stop()


def restarted_after_history(db: Database, runtimes: RuntimeFactory, count: int) -> Nerv:
    """A runtime started after `record_history` of ``count``."""
    record_history(db, runtimes, count)
    return runtimes(config(db))


def full_restore(runtime: Nerv) -> tuple[TemporalStore, StateProjector]:
    """What a start restored before: every version and every delta."""
    recorder = runtime.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    store, projector = TemporalStore(INTERVAL), StateProjector({})
    store.restore([version for version, _ in recorder.read_versions("main")])
    projector.restore(recorder.read_deltas("main"))
    return store, projector


@pytest.mark.parametrize("history", [23, 48])
def test_a_start_reads_a_bounded_version_tail_and_restores_what_a_full_restore_gives(
    inner_universe: Database, runtimes: RuntimeFactory, rows_read: RowsRead, history: int
) -> None:
    db = inner_universe
    record_history(db, runtimes, history)

    rows_read.rows.clear()
    restarted = runtimes(config(db))
    # Whatever the history: versions, the timeline row and the 3 versions from the last
    # snapshot on, and the head's row again when following begins; deltas, the checkpoint and
    # the deltas after it (a refresh is due every INTERVAL deltas: 3 here).
    assert rows_read.rows.get("timeline", 0) == 1
    assert rows_read.rows.get("state_version", 0) == 3 + 1
    assert rows_read.rows.get("delta_checkpoint", 0) == 1
    assert rows_read.rows.get("delta_record", 0) == 3
    store, projector = restarted.temporal_store, restarted.state_projector
    assert not store.fully_loaded
    assert not projector.fully_loaded
    full_store, full_projector = full_restore(restarted)
    last = {"n": history - 1, "items": list(range((history - 1) % 4))}
    assert store.get() == full_store.get() == last
    assert projector.get_current_state() == full_projector.get_current_state()
    assert projector.project(until=history - 2) == full_projector.project(until=history - 2)
    assert store.get_history() == full_store.get_history()
    assert projector.get_delta_history() == full_projector.get_delta_history()
    assert projector.project(until=4) == full_projector.project(until=4)
    assert projector.apply_delta({"next": True}) == history
    assert store.get(store.commit({"n": history}, "next")) == {"n": history}


def test_a_walk_back_past_its_limit_reads_the_timeline_once(
    inner_universe: Database, runtimes: RuntimeFactory, rows_read: RowsRead
) -> None:
    db = inner_universe
    interval, count = 3 * WALK_BACK_LIMIT, 2 * WALK_BACK_LIMIT
    db.ok("update_config", "snapshot_interval", str(interval), NONE)
    settings = nerv_config(db, events="sync")
    settings["nerv"]["snapshot_interval"] = interval
    first = runtimes(settings)
    for n in range(count):
        first.temporal_store.commit({"n": n}, f"v{n}")
    first.stop()

    rows_read.rows.clear()
    restarted = runtimes(settings)
    # WALK_BACK_LIMIT rows by primary key, then the timeline's rows in one query, and the
    # head's row again when following begins.
    assert rows_read.rows.get("state_version", 0) == WALK_BACK_LIMIT + count + 1
    store = restarted.temporal_store
    assert store.fully_loaded
    assert store.get() == {"n": count - 1}
    assert len(store.get_history()) == count


def test_older_versions_redacted_after_the_start_are_said_to_be_redacted(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = inner_universe
    restarted = restarted_after_history(db, runtimes, 2 * INTERVAL + 1)
    assert not restarted.temporal_store.fully_loaded
    rows = db.sql("SELECT version_id, seq FROM state_version WHERE timeline = 'main'")
    newest_first = sorted(rows, key=lambda row: -int(row["seq"]))
    for row in newest_first[: INTERVAL + 2]:  # from the head down, below the restored tail
        db.ok("redact_state_version", row["version_id"], "redacted below the restored tail")
    with pytest.raises(IntegrityError, match="an admin redacted it since it was read"):
        restarted.temporal_store.get_history()


def test_a_redacted_delta_is_restored_as_redacted(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = inner_universe
    record_history(db, runtimes, INTERVAL)
    rows = db.sql("SELECT delta_id, seq FROM delta_record WHERE stream = 'main'")
    last = max(rows, key=lambda row: int(row["seq"]))
    db.ok("redact_delta", last["delta_id"], "wrong value")

    restarted = runtimes(config(db))
    assert restarted.state_projector.get_current_state() == {"k0": 3, "k1": 1, "k2": 2}
    descriptions = [m.description for _, m in restarted.state_projector.get_delta_history()]
    assert descriptions == [*(f"d{n}" for n in range(INTERVAL - 1)), "redacted"]


def test_older_history_not_read_while_running_cannot_be_read_after_stop(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    restarted = restarted_after_history(inner_universe, runtimes, 2 * INTERVAL + 1)
    restarted.stop()
    assert restarted.temporal_store.get() == {"n": 2 * INTERVAL, "items": [0, 1]}
    with pytest.raises(PersistenceError, match="recorder is closed"):
        restarted.temporal_store.get_history()
    assert restarted.state_projector.get_current_state() == {"k0": 9, "k1": 10, "k2": 8}
    with pytest.raises(PersistenceError, match="recorder is closed"):
        restarted.state_projector.get_delta_history()
