"""to_dict / from_dict: one tagged shape, strict on the way in."""

from __future__ import annotations

import pytest
from hypothesis import given

from nerv_inner_universe.delta import (
    JSON,
    Delete,
    Insert,
    InvalidOperationError,
    Operation,
    Patch,
    Remove,
    Set,
    canonical_json,
    from_dict,
    parse_json,
    to_dict,
)
from tests.strategies import states_and_operations


@pytest.mark.parametrize(
    ("op", "shape"),
    [
        (Set("/a", [1.0]), {"op": "set", "path": "/a", "value": [1.0]}),
        (Delete("/a"), {"op": "delete", "path": "/a"}),
        (Insert("/l", "x"), {"op": "insert", "path": "/l", "value": "x", "index": None}),
        (Insert("/l", "x", 2), {"op": "insert", "path": "/l", "value": "x", "index": 2}),
        (Remove("/l", 0), {"op": "remove", "path": "/l", "index": 0}),
        (Patch("", {"k": None}), {"op": "patch", "path": "", "patch": {"k": None}}),
    ],
)
def test_each_operation_has_one_tagged_shape(op: Operation, shape: dict[str, JSON]) -> None:
    assert to_dict(op) == shape
    assert from_dict(shape) == op


def test_to_dict_returns_copies() -> None:
    op = Set("/a", {"k": [1]})
    shape = to_dict(op)
    shape["value"] = None
    assert op.value == {"k": [1]}


def test_insert_index_may_be_left_out() -> None:
    assert from_dict({"op": "insert", "path": "/l", "value": 1}) == Insert("/l", 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "an operation dict is needed, not a list"),
        (
            {"op": "move", "path": "/a"},
            "'op' is 'move'; it must be one of 'set', 'delete', 'insert', 'remove', 'patch'",
        ),
        (
            {"path": "/a"},
            "'op' is None; it must be one of 'set', 'delete', 'insert', 'remove', 'patch'",
        ),
        (
            {"op": "set", "path": "/a"},
            "a set operation has the keys op, path, value; missing: ['value'], unknown: []",
        ),
        (
            {"op": "delete", "path": "/a", "value": 1},
            "a delete operation has the keys op, path; missing: [], unknown: ['value']",
        ),
        (
            {"op": "remove", "path": "/a", "index": -1},
            "invalid remove operation: index must be an int in 0..2**63-1 (a JSON integer), not -1",
        ),
        (
            {"op": "set", "path": "a", "value": 1},
            "invalid set operation: path 'a' is not an RFC 6901 JSON Pointer (Location must "
            "start with /); write '' for the whole document, '/key/0' for members, '~0' for "
            "'~' and '~1' for '/' inside a key",
        ),
        (
            {"op": "patch", "path": "", "patch": {"k": float("nan")}},
            "invalid patch operation: patch is not valid JSON at '/k': float nan is not "
            "finite; JSON has no NaN or infinities",
        ),
    ],
)
def test_from_dict_rejects_malformed_input(data: object, message: str) -> None:
    with pytest.raises(InvalidOperationError) as caught:
        from_dict(data)
    assert str(caught.value) == message


@given(states_and_operations())
def test_operations_survive_canonical_json(case: tuple[JSON, list[Operation]]) -> None:
    _, ops = case
    for op in ops:
        assert from_dict(parse_json(canonical_json(to_dict(op)))) == op
