"""invert: operations that take a state back to where it was."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given

from nerv_inner_universe.delta import (
    JSON,
    Delete,
    Insert,
    Operation,
    Patch,
    PathNotFoundError,
    Remove,
    Set,
    apply,
    invert,
    json_equal,
)
from tests.strategies import states_and_operations

STATE: JSON = {"a": {"b": 1}, "l": [10, 20]}


@pytest.mark.parametrize(
    ("op", "inverse"),
    [
        (Set("", None), [Set("", STATE)]),
        (Set("/a/b", 2), [Set("/a/b", 1)]),
        (Set("/a/c", 2), [Delete("/a/c")]),
        (Set("/l/0", 2), [Set("/l/0", 10)]),
        (Set("/l/-", 2), [Remove("/l", 2)]),
        (Delete("/a/b"), [Set("/a/b", 1)]),
        (Delete("/l/1"), [Insert("/l", 20, 1)]),
        (Insert("/l", 5, 0), [Remove("/l", 0)]),
        (Insert("/l", 5), [Remove("/l", 2)]),
        (Remove("/l", 0), [Insert("/l", 10, 0)]),
        (Patch("/a", {"b": 2, "c": 3}), [Delete("/a/c"), Patch("/a", {"b": 1})]),
        (Patch("/a", {"c": 3}), [Delete("/a/c")]),
    ],
)
def test_inverse_of_each_operation(op: Operation, inverse: list[Operation]) -> None:
    assert invert([op], STATE) == inverse
    assert json_equal(apply(apply(STATE, [op]), inverse), STATE)


def test_inverses_come_in_reverse_order() -> None:
    ops: list[Operation] = [Set("/x", 1), Set("/x", 2)]
    assert invert(ops, {}) == [Set("/x", 1), Delete("/x")]


def test_invert_reports_what_apply_would() -> None:
    with pytest.raises(PathNotFoundError) as caught:
        invert([Set("/a/b", 2), Delete("/missing")], STATE)
    assert caught.value.op_index == 1
    assert str(caught.value).startswith("operation 1 (delete at '/missing') failed")


def test_invert_never_changes_its_inputs() -> None:
    before = copy.deepcopy(STATE)
    invert([Set("/a/b", 2), Remove("/l", 0)], STATE)
    assert before == STATE


@given(states_and_operations())
def test_apply_then_invert_restores_the_state(case: tuple[JSON, list[Operation]]) -> None:
    state, ops = case
    assert json_equal(apply(apply(state, ops), invert(ops, state)), state)
