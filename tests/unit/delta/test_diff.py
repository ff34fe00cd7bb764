"""diff: small, exact, and blind to none of JSON's kinds."""

from __future__ import annotations

import pytest
from hypothesis import given

from nerv_inner_universe.delta import (
    JSON,
    Delete,
    Insert,
    InvalidValueError,
    Operation,
    Remove,
    Set,
    apply,
    diff,
    json_equal,
)
from tests.strategies import json_values, states_and_operations


@pytest.mark.parametrize(
    ("a", "b", "ops"),
    [
        ({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}, []),
        ({"a": 1}, {"a": True}, [Set("/a", True)]),
        ({"a": 1}, {"a": 1.0}, [Set("/a", 1.0)]),
        ([0.0], [False], [Set("/0", False)]),
        ({"a": 1, "b": 2}, {"b": 3, "c": 4}, [Delete("/a"), Set("/b", 3), Set("/c", 4)]),
        ({"x/y": {"~": 1}}, {"x/y": {"~": 2}}, [Set("/x~1y/~0", 2)]),
        ([1, 2, 3], [0, 1, 2, 3], [Insert("", 0, 0)]),
        ([1, 2, 3], [1, 3], [Remove("", 1)]),
        ([1, 2, 3], [1, 2, 3, 4, 5], [Insert("", 4, 3), Insert("", 5, 4)]),
        ([1, 2, 3, 4], [1, 4], [Remove("", 1), Remove("", 1)]),
        ([1, {"k": 1}, 3], [1, {"k": 2}, 9, 3], [Set("/1/k", 2), Insert("", 9, 2)]),
        ([1, 2], [2, 1], [Set("/0", 2), Set("/1", 1)]),
        ([1, [2]], [1, {"0": 2}], [Set("/1", {"0": 2})]),
        ({"a": 1}, [1], [Set("", [1])]),
        (1, 2, [Set("", 2)]),
    ],
)
def test_diff_examples(a: JSON, b: JSON, ops: list[Operation]) -> None:
    assert diff(a, b) == ops
    assert json_equal(apply(a, ops), b)


def test_both_sides_must_be_json() -> None:
    with pytest.raises(InvalidValueError, match=r"^b is not valid JSON at '/0'"):
        diff([], [{1, 2}])  # type: ignore[list-item]


@given(json_values(), json_values())
def test_apply_diff_gives_the_target(a: JSON, b: JSON) -> None:
    assert json_equal(apply(a, diff(a, b)), b)


@given(states_and_operations())
def test_apply_diff_gives_the_target_for_nearby_states(
    case: tuple[JSON, list[Operation]],
) -> None:
    a, ops = case
    b = apply(a, ops)
    assert json_equal(apply(a, diff(a, b)), b)
    assert diff(b, b) == []
