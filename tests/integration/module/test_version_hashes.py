"""A version's ``data_hash`` is verified when it is stored, snapshot or not (issue 13, item 4):
the module rebuilds the parent's state from its nearest snapshot, applies the version's
operations and compares the hash. Against the real server."""

from __future__ import annotations

from typing import Any

from tests.integration.http_api import NONE, T0, Database, set_op, sha, some
from tests.integration.module.conftest import Refused


def commit(
    db: Database,
    version_id: str,
    parent: str | None,
    state: str,
    ops: list[dict[str, Any]],
    *,
    snapshot: bool = False,
    timeline: str = "main",
) -> None:
    """Commits ``version_id`` whose canonical state is ``state``."""
    db.ok(
        "commit_state_version",
        version_id,
        timeline,
        some(parent) if parent else NONE,
        T0,
        "",
        sha(state),
        ops,
        some(state) if snapshot else NONE,
    )


def test_operations_that_do_not_give_the_hash_are_refused(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    commit(db, "v1", None, '{"n":1}', [], snapshot=True)
    commit(db, "v2", "v1", '{"n":2}', [set_op("/n", "2")])
    commit(db, "v3", "v2", '{"l":[],"n":2}', [set_op("/l", "[]")])
    declared, actual = sha('{"n":3}'), sha('{"l":[],"n":3}')
    refused(
        "commit_state_version",
        "v4",
        "main",
        some("v3"),
        T0,
        "",
        declared,
        [set_op("/n", "3")],
        NONE,
        expect='integrity_error: version "v4": its parent\'s state with its operations hashes to '
        f"{actual}, not to the declared data_hash {declared}",
    )
    commit(db, "v4", "v3", '{"l":[7],"n":3}', [set_op("/n", "3"), set_op("/l/-", "7")])
    [head] = db.sql("SELECT * FROM timeline")
    assert head["head_version_id"] == "v4"


def test_operations_that_do_not_fit_the_parent_are_refused(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    commit(db, "v1", None, '{"n":1}', [], snapshot=True)
    for ops, problem in (
        ([{"Delete": {"path": "/missing"}}], 'operation 0 at "/missing": no key "missing"'),
        (
            [set_op("/n/x", "1")],
            'operation 0 at "/n/x": the parent is integer, not an object or a list',
        ),
        (
            [{"Remove": {"path": "", "index": 0}}],
            'operation 0 at "": the target is object, not a list',
        ),
    ):
        refused(
            "commit_state_version",
            "v2",
            "main",
            some("v1"),
            T0,
            "",
            sha("{}"),
            ops,
            NONE,
            expect=f'integrity_error: version "v2" {problem}',
        )


def test_a_snapshot_must_agree_with_the_operations(
    inner_universe: Database, refused: Refused
) -> None:
    db = inner_universe
    commit(db, "v1", None, '{"n":1}', [], snapshot=True)
    refused(
        "commit_state_version",
        "v2",
        "main",
        some("v1"),
        T0,
        "",
        sha('{"n":5}'),
        [set_op("/n", "2")],
        some('{"n":5}'),
        expect='integrity_error: version "v2": its parent\'s state with its operations hashes',
    )
    commit(db, "v2", "v1", '{"n":5}', [set_op("/n", "5")], snapshot=True)


def test_a_branch_rebuilds_its_parent_across_timelines(inner_universe: Database) -> None:
    """The rebuild follows parents into another timeline, back to the nearest snapshot."""
    db = inner_universe
    commit(db, "v1", None, "[]", [], snapshot=True)
    commit(db, "v2", "v1", "[1]", [{"Insert": {"path": "", "index": NONE, "value": "1"}}])
    commit(db, "v3", "v2", "[0,1]", [{"Insert": {"path": "", "index": some(0), "value": "0"}}])
    commit(db, "b1", "v2", "[1,2]", [set_op("/-", "2")], timeline="side")
    commit(db, "b2", "b1", "[2]", [{"Remove": {"path": "", "index": 0}}], timeline="side")
    heads = {r["name"]: r["head_version_id"] for r in db.sql("SELECT * FROM timeline")}
    assert heads == {"main": "v3", "side": "b2"}
