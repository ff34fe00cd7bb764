"""apply: each operation's effect, each error with its message, purity and atomicity."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest
from hypothesis import given

from nerv_inner_universe.delta import (
    JSON,
    MAX_DEPTH,
    ApplyError,
    Delete,
    IndexOutOfRangeError,
    Insert,
    InvalidOperationError,
    InvalidValueError,
    Operation,
    Patch,
    PathNotFoundError,
    Remove,
    Set,
    TypeMismatchError,
    apply,
    canonical_json,
    json_equal,
)
from tests.strategies import states_and_operations

STATE: dict[str, JSON] = {"a": {"b": 1}, "l": [10, 20, 30], "s": "text", "e": []}


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        (Set("", [1]), [1]),
        (Set("/a/b", 2.0), {**STATE, "a": {"b": 2.0}}),
        (Set("/a/c", None), {**STATE, "a": {"b": 1, "c": None}}),
        (Set("/new", {}), {**STATE, "new": {}}),
        (Set("/l/1", True), {**STATE, "l": [10, True, 30]}),
        (Set("/l/-", 40), {**STATE, "l": [10, 20, 30, 40]}),
        (Set("/e/-", 0), {**STATE, "e": [0]}),
        (Delete("/a/b"), {**STATE, "a": {}}),
        (Delete("/l/0"), {**STATE, "l": [20, 30]}),
        (Insert("/l", 5, 0), {**STATE, "l": [5, 10, 20, 30]}),
        (Insert("/l", 15, 1), {**STATE, "l": [10, 15, 20, 30]}),
        (Insert("/l", 35, 3), {**STATE, "l": [10, 20, 30, 35]}),
        (Insert("/l", 40), {**STATE, "l": [10, 20, 30, 40]}),
        (Insert("/e", "x", 0), {**STATE, "e": ["x"]}),
        (Remove("/l", 1), {**STATE, "l": [10, 30]}),
        (Patch("/a", {"b": None, "c": [1]}), {**STATE, "a": {"b": None, "c": [1]}}),
        (Patch("", {"s": 1}), {**STATE, "s": 1}),
    ],
)
def test_each_operation(op: Operation, expected: JSON) -> None:
    assert json_equal(apply(STATE, [op]), expected)


def test_keys_with_pointer_characters() -> None:
    state: JSON = {"a/b": {"~": [0]}, "": 1}
    assert apply(state, [Set("/a~1b/~0/0", 1), Delete("/")]) == {"a/b": {"~": [1]}}


def test_no_operations_give_an_equal_copy() -> None:
    result = apply(STATE, [])
    assert result == STATE
    assert result is not STATE


@pytest.mark.parametrize(
    ("op", "error", "path", "problem"),
    [
        (
            Set("/x/y", 1),
            PathNotFoundError,
            "/x",
            "the object at '' has no key 'x'; create it first (set) or fix the path",
        ),
        (
            Delete("/a/c"),
            PathNotFoundError,
            "/a/c",
            "the object at '/a' has no key 'c'; create it first (set) or fix the path",
        ),
        (
            Set("/l/x", 1),
            PathNotFoundError,
            "/l/x",
            "'x' is not an index into the list at '/l'; use 0, 1, ... (ASCII digits, no sign or "
            "leading zeros)",
        ),
        (
            Delete("/l/01"),
            PathNotFoundError,
            "/l/01",
            "'01' is not an index into the list at '/l'; use 0, 1, ... (ASCII digits, no sign or "
            "leading zeros)",
        ),
        (
            Set("/s/x", 1),
            TypeMismatchError,
            "/s",
            "'/s' is a string, so it has no member 'x'; set needs the parent to be an object "
            "or a list",
        ),
        (
            Delete("/s/x/y"),
            TypeMismatchError,
            "/s",
            "'/s' is a string, so it has no member 'x'",
        ),
        (Insert("/a", 1), TypeMismatchError, "/a", "'/a' is an object; insert needs a list there"),
        (Remove("/s", 0), TypeMismatchError, "/s", "'/s' is a string; remove needs a list there"),
        (Patch("/l", {}), TypeMismatchError, "/l", "'/l' is a list; patch needs an object there"),
        (
            Set("/l/3", 1),
            IndexOutOfRangeError,
            "/l",
            "index 3 is out of range for the list at '/l' (valid: 0..2)",
        ),
        (
            Delete("/l/-"),
            IndexOutOfRangeError,
            "/l",
            "'-' names the end of the list at '/l', not an item; use an index",
        ),
        (
            Set("/l/-/x", 1),
            IndexOutOfRangeError,
            "/l",
            "'-' names the end of the list at '/l', not an item; use an index",
        ),
        (
            Insert("/l", 1, 4),
            IndexOutOfRangeError,
            "/l",
            "index 4 is out of range for inserting into the list at '/l' with 3 items "
            "(valid: 0..3)",
        ),
        (
            Remove("/e", 0),
            IndexOutOfRangeError,
            "/e",
            "index 0 is out of range for the list at '/e' (the list is empty)",
        ),
    ],
)
def test_errors_name_the_operation_the_path_and_the_problem(
    op: Operation, error: type[ApplyError], path: str, problem: str
) -> None:
    with pytest.raises(error) as caught:
        apply(STATE, [Set("/ok", 1), op])
    assert caught.value.op == op
    assert caught.value.path == path
    assert caught.value.op_index == 1
    assert str(caught.value) == f"operation 1 ({op.OP} at {op.path!r}) failed: {problem}"


def test_errors_are_delta_errors_and_python_lookalikes() -> None:
    with pytest.raises(LookupError):
        apply({}, [Delete("/x")])
    with pytest.raises(IndexError):
        apply([], [Remove("", 0)])
    with pytest.raises(TypeError):
        apply(1, [Patch("", {})])


def test_a_failing_sequence_leaves_the_callers_state_untouched() -> None:
    state: JSON = {"l": [1, 2], "o": {"k": "v"}}
    before = copy.deepcopy(state)
    ops: list[Operation] = [
        Set("/o/k", "changed"),
        Remove("/l", 0),
        Insert("/l", 9),
        Delete("/o/k"),
        Patch("/o", {"z": 1}),
        Remove("/l", 5),
    ]
    with pytest.raises(IndexOutOfRangeError) as caught:
        apply(state, ops)
    assert caught.value.op_index == 5
    assert str(caught.value).startswith("operation 5 (remove at '/l') failed: index 5")
    assert state == before


def test_the_result_shares_nothing_with_the_state_or_the_operations() -> None:
    state: JSON = {"kept": {"deep": [1]}}
    op = Set("/new", {"v": [2]})
    result = cast(dict[str, Any], apply(state, [op]))
    result["kept"]["deep"].append(3)
    result["new"]["v"].append(3)
    assert state == {"kept": {"deep": [1]}}
    assert op.value == {"v": [2]}


def test_the_state_must_be_json() -> None:
    with pytest.raises(InvalidValueError) as caught:
        apply({"t": (1,)}, [])  # type: ignore[dict-item]
    assert str(caught.value).startswith("state is not valid JSON at '/t': tuple is not")


def test_only_operations_are_applied() -> None:
    with pytest.raises(InvalidOperationError) as caught:
        apply({}, [Set("/a", 1), {"op": "delete", "path": "/a"}])  # type: ignore[list-item]
    assert str(caught.value) == (
        "operation 1 is an object, not an operation; build a Set, Delete, Insert, Remove or "
        "Patch (from_dict turns a dict into one)"
    )


def test_a_result_nested_beyond_max_depth_is_refused() -> None:
    chain: JSON = []
    for _ in range(MAX_DEPTH - 1):
        chain = [chain]
    with pytest.raises(InvalidValueError) as caught:
        apply({"a": None}, [Set("/a", chain)])
    assert caught.value.path == "/a" + "/0" * (MAX_DEPTH - 1)
    assert str(caught.value).startswith("the result is not valid JSON at '/a/0/0")


@given(states_and_operations())
def test_apply_never_changes_its_inputs(case: tuple[JSON, list[Operation]]) -> None:
    state, ops = case
    state_text = canonical_json(state)
    op_texts = [repr(op) for op in ops]
    apply(state, ops)
    assert canonical_json(state) == state_text
    assert [repr(op) for op in ops] == op_texts
