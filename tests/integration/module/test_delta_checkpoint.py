"""The module's delta checkpoints against the real server (issue 10): when a delta is recorded
after ``snapshot_interval`` others since the last refresh (``delta_refresh_counter``),
``record_delta`` first moves its stream's ``delta_checkpoint`` past at most twice that many
stored deltas, in ``seq`` order, as a StateProjector replays them (a delta that does not apply at
its place is a no-op); any other delta leaves the checkpoint row alone; a redaction inside the
checkpoint removes it."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.http_api import NONE, T0, Database, delta_metadata, set_op, sha, some
from tests.integration.module.conftest import Refused

INTERVAL = 3
ANCHOR = "stream.s.base"


def anchored(db: Database, interval: int = INTERVAL) -> None:
    db.ok("update_config", "snapshot_interval", str(interval), NONE)
    db.ok("commit_state_version", ANCHOR, "stream.s", NONE, T0, "", sha("{}"), [], some("{}"))


def record(db: Database, delta_id: str, operations: list[dict[str, Any]]) -> None:
    db.ok("record_delta", delta_id, "s", ANCHOR, T0, operations, delta_metadata())


def checkpoint(db: Database) -> dict[str, Any]:
    [row] = db.sql("SELECT * FROM delta_checkpoint WHERE stream = 's'")
    return row


def no_checkpoint(db: Database) -> bool:
    return db.sql("SELECT * FROM delta_checkpoint WHERE stream = 's'") == []


def recorded_since(db: Database) -> int:
    [row] = db.sql("SELECT * FROM delta_refresh_counter WHERE stream = 's'")
    return int(row["recorded_since"])


def seq_of(db: Database, delta_id: str) -> int:
    [row] = db.sql(f"SELECT seq FROM delta_record WHERE delta_id = '{delta_id}'")  # noqa: S608
    return int(row["seq"])


def stored(state: dict[str, Any]) -> str:
    """The checkpoint text of ``state``: compact JSON, its keys in their (insertion) order."""
    return json.dumps(state, separators=(",", ":"))


def canonical(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


def test_a_checkpoint_is_refreshed_every_interval_deltas_with_projector_semantics(
    inner_universe: Database,
) -> None:
    db = inner_universe
    anchored(db)
    record(db, "s:0.w", [set_op("/a", "1")])
    record(db, "s:1.w", [{"Delete": {"path": "/missing"}}])  # does not apply: a no-op
    record(db, "s:1.v", [set_op("/b", "[1]")])  # another writer numbered it alike: index 2
    assert no_checkpoint(db)
    assert recorded_since(db) == 3

    record(db, "other-form", [{"Patch": {"path": "", "patch": '{"c":2}'}}])  # index 3
    row = checkpoint(db)
    assert (row["seq"], row["delta_count"], row["noop_count"]) == (seq_of(db, "s:1.v"), 3, 1)
    assert (row["next_index"], recorded_since(db)) == (3, 1)
    assert row["state"] == '{"a":1,"b":[1]}'
    assert row["data_hash"] == sha(row["state"])

    record(db, "s:9.w", [set_op("/a", "2"), set_op("/b/5", "0")])  # 2nd step fails: a no-op
    record(db, "s:2.w", [{"Delete": {"path": "/a"}}])  # its index is raised to 10
    record(db, "s:11.w", [set_op("/d", "true")])
    row = checkpoint(db)
    assert (row["seq"], row["delta_count"], row["noop_count"]) == (seq_of(db, "s:2.w"), 6, 2)
    assert (row["next_index"], recorded_since(db)) == (11, 1)
    assert row["state"] == '{"b":[1],"c":2}'
    assert row["data_hash"] == sha(row["state"])


def test_a_redaction_inside_the_checkpoint_sends_it_back_and_refreshes_catch_up_bounded(
    inner_universe: Database,
) -> None:
    db = inner_universe
    anchored(db)
    for n in range(9):
        record(db, f"s:{n}.w", [set_op(f"/k{n}", str(n))])
    covered = checkpoint(db)
    assert (covered["seq"], covered["delta_count"]) == (seq_of(db, "s:5.w"), 6)
    for n in (8, 7, 6):  # after the checkpoint: it stays
        db.ok("redact_delta", f"s:{n}.w", "poison")
        assert checkpoint(db) == covered

    db.ok("redact_delta", "s:5.w", "poison")  # inside it
    assert no_checkpoint(db)
    assert recorded_since(db) == INTERVAL

    record(db, "s:9.w", [set_op("/k9", "9")])  # a refresh is due: it applies 2 * INTERVAL
    row = checkpoint(db)
    assert (row["seq"], row["delta_count"], row["next_index"]) == (seq_of(db, "s:5.w"), 6, 6)
    assert row["state"] == stored({f"k{n}": n for n in range(5)})  # s:5.w is empty now

    for n in range(10, 10 + INTERVAL):
        record(db, f"s:{n}.w", [set_op(f"/k{n}", str(n))])
    row = checkpoint(db)
    assert (row["seq"], row["delta_count"], row["noop_count"]) == (seq_of(db, "s:11.w"), 12, 0)
    assert row["next_index"] == 12
    assert row["state"] == stored({f"k{n}": n for n in range(12) if not 5 <= n <= 8})


def test_a_delta_that_does_not_refresh_writes_only_the_counter(inner_universe: Database) -> None:
    """The checkpoint row (its state text up to 256 KiB) is written only when a refresh moves
    it: the deltas between refreshes change the small counter row alone."""
    db = inner_universe
    anchored(db)
    for n in range(INTERVAL + 1):  # the last one refreshes past the first INTERVAL
        record(db, f"s:{n}.w", [set_op(f"/k{n}", str(n))])
    refreshed = checkpoint(db)
    assert refreshed["delta_count"] == INTERVAL
    for n in range(INTERVAL + 1, 2 * INTERVAL):
        record(db, f"s:{n}.w", [set_op(f"/k{n}", str(n))])
        assert checkpoint(db) == refreshed
        assert recorded_since(db) == n - INTERVAL + 1
    record(db, f"s:{2 * INTERVAL}.w", [set_op("/last", "0")])
    assert checkpoint(db)["delta_count"] == 2 * INTERVAL
    assert recorded_since(db) == 1


def test_a_refused_delta_changes_no_checkpoint(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    anchored(db, interval=1)
    record(db, "s:0.w", [set_op("/x", "1")])
    record(db, "s:1.w", [set_op("/x", "2")])
    refused(
        "record_delta",
        "s:2.w",
        "s",
        "ghost",
        T0,
        [set_op("/x", "3")],
        delta_metadata(),
        expect='not_found: state version "ghost"',
    )
    assert checkpoint(db)["state"] == '{"x":1}'


def test_a_checkpoint_keeps_the_key_order_a_replay_gives_and_hashes_the_canonical_form(
    inner_universe: Database,
) -> None:
    db = inner_universe
    anchored(db)
    record(db, "s:0.w", [set_op("/b", "1"), set_op("/a", "2")])
    record(db, "s:1.w", [{"Patch": {"path": "", "patch": '{"c":{"z":1,"y":2},"b":3}'}}])
    record(db, "s:2.w", [{"Delete": {"path": "/a"}}, set_op("/a", "4"), set_op("/c/x", "5")])
    record(db, "s:3.w", [set_op("/d", "6")])  # refreshes past the three before it
    # a patch is stored as canonical JSON: its members (and c's) arrive in sorted order
    expected = {"b": 3, "c": {"y": 2, "z": 1, "x": 5}, "a": 4}
    row = checkpoint(db)
    assert row["state"] == stored(expected)
    assert list(json.loads(row["state"])) == ["b", "c", "a"]
    assert list(json.loads(row["state"])["c"]) == ["y", "z", "x"]
    assert row["data_hash"] == sha(canonical(expected))


PATCH_KEYS = 500
WIDE = "v" * 40  # each Patch adds about 500 * 50 bytes of state


def wide_patch(n: int) -> list[dict[str, Any]]:
    members = {f"k{n}_{i}": WIDE for i in range(PATCH_KEYS)}
    return [{"Patch": {"path": "", "patch": canonical(members)}}]


def test_a_large_state_stream_stays_writable_and_its_refresh_stays_within_a_fixed_budget(
    inner_universe: Database,
) -> None:
    """The largest ``snapshot_interval`` (10,000) still refreshes every ``MAX_REFRESH_DELTAS`` (64)
    deltas, and a refresh stops before its state and the operations it applies pass
    ``MAX_REFRESH_BYTES`` (256 KiB): the checkpoint is left behind, every delta is stored."""
    db = inner_universe
    anchored(db, interval=10_000)
    for n in range(64):
        record(db, f"s:{n}.w", wide_patch(n))
    assert no_checkpoint(db)
    assert recorded_since(db) == 64

    record(db, "s:64.w", wide_patch(64))  # the refresh due after 64 deltas
    row = checkpoint(db)
    covered = int(row["delta_count"])
    assert 0 < covered < 64
    assert len(row["state"].encode()) <= 256 * 1024
    assert recorded_since(db) == 1
    expected: dict[str, Any] = {}
    for n in range(covered):
        expected.update(json.loads(wide_patch(n)[0]["Patch"]["patch"]))
    assert row["state"] == stored(expected)
    assert row["seq"] == seq_of(db, f"s:{covered - 1}.w")

    for n in range(65, 65 + 64):  # the next refresh cannot move past the budget: it stays
        record(db, f"s:{n}.w", wide_patch(n))
    assert checkpoint(db) == row
    assert recorded_since(db) == 1
    assert seq_of(db, "s:128.w") > seq_of(db, "s:127.w") > int(row["seq"])
