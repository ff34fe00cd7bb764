"""commit_state_version and record_delta against the real server."""

from __future__ import annotations

from typing import Any

from nerv_inner_universe import contract
from nerv_inner_universe.delta import JSON, canonical_json
from tests.integration.http_api import (
    NONE,
    T0,
    Database,
    delta_metadata,
    event_input,
    set_op,
    sha,
    some,
    ts,
)
from tests.integration.module.conftest import Refused


def root(db: Database, version_id: str = "v1", timeline: str = "main") -> None:
    db.ok(
        "commit_state_version",
        version_id,
        timeline,
        NONE,
        T0,
        "root",
        sha('{"n":1}'),
        [],
        some('{ "n": 1 }'),
    )


def test_commit_chain_moves_the_timeline_head(inner_universe: Database) -> None:
    db = inner_universe
    root(db)
    db.ok(
        "commit_state_version",
        "v2",
        "main",
        some("v1"),
        T0,
        "n=2",
        sha('{"n":2}'),
        [set_op("/n", "2")],
        NONE,
    )
    [head] = db.sql("SELECT * FROM timeline")
    assert (head["name"], head["head_version_id"], head["version_count"]) == ("main", "v2", 2)
    assert head["versions_since_snapshot"] == 1
    versions = {r["version_id"]: r for r in db.sql("SELECT * FROM state_version")}
    assert versions["v1"]["snapshot"] == [0, '{"n":1}']  # stored canonically
    assert versions["v2"]["operations"] == [[0, ["/n", "2"]]]
    assert versions["v1"]["seq"] < versions["v2"]["seq"]


def test_commit_refusals(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    root(db)
    refused(
        "commit_state_version",
        "v2",
        "main",
        some("ghost"),
        T0,
        "",
        sha("1"),
        [],
        NONE,
        expect='not_found: parent state version "ghost" does not exist',
    )
    refused(
        "commit_state_version",
        "v2",
        "main",
        NONE,
        T0,
        "",
        sha("1"),
        [],
        some("1"),
        expect='conflict: timeline "main" is at "v1", not at "<none>"',
    )
    refused(
        "commit_state_version",
        "v0",
        "side",
        NONE,
        T0,
        "",
        sha("1"),
        [],
        NONE,
        expect='snapshot_required: version "v0" needs a snapshot',
    )
    refused(
        "commit_state_version",
        "v0",
        "side",
        NONE,
        T0,
        "",
        sha("2"),
        [],
        some("1"),
        expect="integrity_error: snapshot hashes to",
    )
    refused(
        "commit_state_version",
        "v2",
        "main",
        some("v1"),
        T0,
        "",
        "ABC",
        [],
        NONE,
        expect='data_hash "ABC" is not a SHA-256 digest',
    )
    refused(
        "commit_state_version",
        "v2",
        "main",
        some("v1"),
        T0,
        "",
        sha("1"),
        [set_op("n", "2")],
        NONE,
        expect='operations[0].path "n" is not a JSON Pointer',
    )
    refused(
        "commit_state_version",
        "v2",
        "main",
        some("v1"),
        T0,
        "",
        sha("1"),
        [{"Delete": {"path": ""}}],
        NONE,
        expect="Delete cannot remove the whole document",
    )
    refused(
        "commit_state_version",
        "v1",
        "main",
        NONE,
        T0,
        "other",
        sha('{"n":1}'),
        [],
        some('{"n":1}'),
        expect='already_exists: state version "v1"',
    )


def test_concurrent_commits_on_one_parent_one_wins(inner_universe: Database) -> None:
    db = inner_universe
    root(db)
    db.ok(
        "commit_state_version", "a", "main", some("v1"), T0, "", sha("1"), [set_op("", "1")], NONE
    )
    message = db.fails(
        "commit_state_version", "b", "main", some("v1"), T0, "", sha("2"), [set_op("", "2")], NONE
    )
    assert message.startswith('conflict: timeline "main" is at "a", not at "v1"')


def test_snapshot_interval_is_enforced(inner_universe: Database) -> None:
    """With interval 3, a snapshot is stored at least every third version: v1 (root, snapshot),
    v2 and v3 without, v4 must carry one."""
    db = inner_universe
    db.ok("update_config", "snapshot_interval", "3", NONE)
    root(db)
    ops = [set_op("/n", "2")]
    n2 = sha('{"n":2}')
    db.ok("commit_state_version", "v2", "main", some("v1"), T0, "", n2, ops, NONE)
    db.ok("commit_state_version", "v3", "main", some("v2"), T0, "", n2, ops, NONE)
    message = db.fails("commit_state_version", "v4", "main", some("v3"), T0, "", n2, ops, NONE)
    assert 'snapshot_required: version "v4" needs a snapshot' in message
    assert "snapshot_interval = 3" in message
    db.ok("commit_state_version", "v4", "main", some("v3"), T0, "", n2, ops, some('{"n":2}'))
    [head] = db.sql("SELECT * FROM timeline")
    assert head["versions_since_snapshot"] == 0


def test_branching_a_new_timeline_from_an_existing_version(inner_universe: Database) -> None:
    db = inner_universe
    root(db)
    db.ok(
        "commit_state_version",
        "b1",
        "experiment",
        some("v1"),
        T0,
        "",
        sha("1"),
        [set_op("", "1")],
        NONE,
    )
    heads = {r["name"]: r["head_version_id"] for r in db.sql("SELECT * FROM timeline")}
    assert heads == {"main": "v1", "experiment": "b1"}


def test_record_delta(inner_universe: Database, refused: Refused) -> None:
    db = inner_universe
    root(db)
    patch = [{"Patch": {"path": "", "patch": '{"b": 2, "a": 1}'}}]
    db.ok("record_delta", "d1", "projector", "v1", T0, patch, delta_metadata("first", ["t"]))
    db.ok("record_delta", "d1", "projector", "v1", T0, patch, delta_metadata("first", ["t"]))
    [row] = db.sql("SELECT * FROM delta_record")
    assert row["operations"] == [[4, ["", '{"a":1,"b":2}']]]
    assert row["stream"] == "projector"
    [event] = db.sql("SELECT * FROM event_log WHERE event_type = 'DELTA_RECORDED'")
    assert event["data"][1] == ["d1", "projector", "v1", 1]
    refused(
        "record_delta",
        "d2",
        "projector",
        "ghost",
        T0,
        patch,
        delta_metadata(),
        expect='not_found: state version "ghost" does not exist',
    )
    refused(
        "record_delta",
        "d1",
        "projector",
        "v1",
        T0,
        [],
        delta_metadata("changed"),
        expect='already_exists: delta "d1"',
    )
    refused(
        "record_delta",
        "d2",
        "projector",
        "v1",
        T0,
        [{"Patch": {"path": "", "patch": "[]"}}],
        delta_metadata(),
        expect="operations[0].patch must be a JSON object",
    )
    refused(
        "record_delta",
        "d2",
        "projector",
        "v1",
        T0,
        [{"Insert": {"path": "/a~2", "index": NONE, "value": "1"}}],
        delta_metadata(),
        expect="'~' must be followed by '0' or '1'",
    )
    refused(
        "record_delta",
        "d2",
        "",
        "v1",
        T0,
        patch,
        delta_metadata(),
        expect="stream must not be empty",
    )


def test_times_outside_years_1_to_9999_are_refused_everywhere(
    inner_universe: Database, refused: Refused
) -> None:
    """Such a time once bricked every replay: readers convert it to a date (issue 13)."""
    db = inner_universe
    root(db)
    first, last = contract.MIN_OCCURRED_AT_MICROS, contract.MAX_OCCURRED_AT_MICROS
    for micros in (first - 1, last + 1, -(2**63), 2**63 - 1):
        event = {**event_input("ev-far"), "occurred_at": ts(micros)}
        expect = f"invalid_argument: event.occurred_at is {micros} microseconds"
        refused("publish_event", event, expect=expect)
        expect = f"invalid_argument: events[1].occurred_at is {micros} microseconds"
        refused("publish_events", [event_input("ev-ok"), event], expect=expect)
        expect = f"invalid_argument: occurred_at is {micros} microseconds since the Unix epoch"
        refused(
            "commit_state_version",
            "v-far",
            "main",
            some("v1"),
            ts(micros),
            "",
            sha('{"n":1}'),
            [],
            NONE,
            expect=expect,
        )
        refused(
            "record_delta",
            "d-far",
            "projector",
            "v1",
            ts(micros),
            [set_op("/n", "2")],
            delta_metadata("d"),
            expect=expect,
        )
    for micros in (first, last):
        event = {**event_input(f"ev-{micros}"), "occurred_at": ts(micros)}
        db.ok("publish_event", event)
        db.ok(
            "record_delta",
            f"d{micros}",
            "projector",
            "v1",
            ts(micros),
            [set_op("/n", "2")],
            delta_metadata("d"),
        )
    stored = db.sql("SELECT * FROM event_log WHERE event_type = 'AGENT_STEP'")
    assert sorted(row["occurred_at"][0] for row in stored) == [first, last]


def test_versions_of_many_operations_on_a_wide_object_commit(inner_universe: Database) -> None:
    """A state such as a registry keyed by id, grown by the most operations one call takes
    (10,000, `MAX_OPERATIONS` in `rules/src/limits.rs`) per version, then trimmed: deletes
    from its front, replacements and new members. The module rebuilds each version from the
    last snapshot (here the root), through every version since, as Python applies the same
    operations (the data hash checks it). Each operation finds its member through the object's
    index; when members were found by a scan, the sixth version (60,000 operations on an
    object growing to 60,000 members) ran out of energy, and the fifth took seconds."""
    db = inner_universe
    state: dict[str, JSON] = {}
    db.ok("commit_state_version", "v0", "main", NONE, T0, "root", sha("{}"), [], some("{}"))
    for version in range(1, 7):
        added = [f"k{version}_{i:05d}" for i in range(10_000)]
        state.update(dict.fromkeys(added, version))
        operations = [set_op(f"/{key}", str(version)) for key in added]
        commit(db, version, canonical_json(state), operations)
    deleted = list(state)[:4_000]
    replaced = list(state)[30_000:33_000]
    new = [f"n{i:05d}" for i in range(3_000)]
    for key in deleted:
        del state[key]
    state.update(dict.fromkeys(replaced + new, -1))
    operations = [{"Delete": {"path": f"/{key}"}} for key in deleted]
    operations += [set_op(f"/{key}", "-1") for key in replaced + new]
    assert len(operations) == 10_000
    commit(db, 7, canonical_json(state), operations)
    [head] = db.sql("SELECT * FROM timeline")
    assert (head["head_version_id"], head["version_count"]) == ("v7", 8)


def commit(db: Database, version: int, state: str, operations: list[dict[str, Any]]) -> None:
    """Commits ``v<version>`` on ``main``, a child of the one before, without a snapshot."""
    db.ok(
        "commit_state_version",
        f"v{version}",
        "main",
        some(f"v{version - 1}"),
        T0,
        f"version {version}",
        sha(state),
        operations,
        NONE,
    )
