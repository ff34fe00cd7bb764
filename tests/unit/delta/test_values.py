"""validate_json and json_equal: the value model every other part of the layer relies on."""

from __future__ import annotations

import enum
import math
from collections import OrderedDict

import pytest
from hypothesis import given

from nerv_inner_universe.delta import JSON, MAX_DEPTH, InvalidValueError, json_equal, validate_json
from nerv_inner_universe.delta.values import I64_MAX, I64_MIN
from tests.strategies import deep_list, invalid_values, json_values, nested_values


class Color(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        I64_MIN,
        I64_MAX,
        -0.0,
        5e-324,
        1.7976931348623157e308,
        "",
        "\U0001f600\x00",
        [],
        {},
        {"": [{}, []], "a/b": {"~": None}},
        deep_list(MAX_DEPTH),
    ],
)
def test_accepts_json(value: JSON) -> None:
    validate_json(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"a": [1, math.nan]},
            "value is not valid JSON at '/a/1': float nan is not finite; "
            "JSON has no NaN or infinities",
        ),
        (
            [-math.inf],
            "value is not valid JSON at '/0': float -inf is not finite; "
            "JSON has no NaN or infinities",
        ),
        (
            {"n": 2**63},
            "value is not valid JSON at '/n': integer 9223372036854775808 is outside the "
            "signed 64-bit range",
        ),
        (
            [I64_MIN - 1],
            "value is not valid JSON at '/0': integer -9223372036854775809 is "
            "outside the signed 64-bit range",
        ),
        (
            {"a/b": {1: "x"}},
            "value is not valid JSON at '/a~1b': key 1 is an integer; object keys must be str",
        ),
        (
            (1, 2),
            "value is not valid JSON at '': tuple is not a JSON type; use None, bool, int, "
            "float, str, list or dict",
        ),
        (
            {"s": {1}},
            "value is not valid JSON at '/s': set is not a JSON type; use None, "
            "bool, int, float, str, list or dict",
        ),
        (
            [b"x"],
            "value is not valid JSON at '/0': bytes is not a JSON type; use None, bool, "
            "int, float, str, list or dict",
        ),
        (
            {"e": Color.RED},
            "value is not valid JSON at '/e': Color is not a JSON type; use None, bool, int, "
            "float, str, list or dict",
        ),
        (
            [OrderedDict()],
            "value is not valid JSON at '/0': OrderedDict is not a JSON type; use None, bool, "
            "int, float, str, list or dict",
        ),
        (
            ["\ud800"],
            "value is not valid JSON at '/0': string '\\ud800' holds a lone surrogate, which "
            "UTF-8 (and so JSON text) cannot carry",
        ),
        (
            {"\udfff": 1},
            "value is not valid JSON at '': key '\\udfff' holds a lone surrogate, which UTF-8 "
            "(and so JSON text) cannot carry",
        ),
    ],
)
def test_rejects_what_is_not_json_naming_the_path(value: object, message: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        validate_json(value)
    assert str(caught.value) == message


def test_rejects_nesting_beyond_max_depth_at_the_too_deep_container() -> None:
    with pytest.raises(InvalidValueError) as caught:
        validate_json(deep_list(MAX_DEPTH + 1), "state")
    assert caught.value.path == "/0" * MAX_DEPTH
    assert caught.value.problem == f"containers nest more than {MAX_DEPTH} deep"
    assert str(caught.value).startswith("state is not valid JSON at '/0/0/0")


def test_rejects_a_cycle_instead_of_recursing_forever() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(InvalidValueError, match="nest more than"):
        validate_json(cycle)


@given(json_values())
def test_generated_values_are_valid(value: JSON) -> None:
    validate_json(value)


@given(nested_values())
def test_chains_up_to_max_depth_are_valid(value: JSON) -> None:
    validate_json(value)


@given(invalid_values())
def test_generated_bad_values_are_rejected_at_their_path(case: tuple[object, str]) -> None:
    value, path = case
    with pytest.raises(InvalidValueError) as caught:
        validate_json(value)
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1, True),
        (True, 1, False),
        (0, False, False),
        (1, 1.0, False),
        (-0.0, 0.0, True),
        ("1", 1, False),
        (None, None, True),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),
        ({"a": 1}, {"a": 1, "b": None}, False),
        ([1, 2], [2, 1], False),
        ([1, [True]], [1, [1]], False),
        ({"a": [1.0]}, {"a": [1]}, False),
        ([], {}, False),
    ],
)
def test_json_equal_keeps_bool_int_and_float_apart(a: JSON, b: JSON, equal: bool) -> None:
    assert json_equal(a, b) is equal
    assert json_equal(b, a) is equal


@given(json_values())
def test_json_equal_is_reflexive(value: JSON) -> None:
    assert json_equal(value, value)
