"""Hostile input to the delta layer's public calls raises only the delta layer's errors.

Integers past CPython's 4,300-digit int/str limit, non-ASCII digits and values of any type
must end in a ``DeltaError`` subclass whose message stays short (no 5,000-digit number).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe.delta import (
    Delete,
    DeltaError,
    IndexOutOfRangeError,
    Insert,
    InvalidJSONError,
    InvalidOperationError,
    InvalidPathError,
    InvalidValueError,
    PathNotFoundError,
    Remove,
    Set,
    apply,
    canonical_json,
    data_hash,
    diff,
    from_dict,
    invert,
    join_path,
    parse_json,
    path_tokens,
    validate_json,
)

HUGE = 10**5000
DIGITS = "1" * 5000
MESSAGE_LIMIT = 400
"""No message here needs more characters; a printed 5,000-digit number would."""


def _raised(call: Callable[[], object], error: type[DeltaError]) -> DeltaError:
    with pytest.raises(error) as caught:
        call()
    assert len(str(caught.value)) < MESSAGE_LIMIT
    assert DIGITS[:100] not in str(caught.value)
    return caught.value


def test_an_integer_past_the_int_str_limit_is_an_invalid_value() -> None:
    error = _raised(lambda: validate_json({"n": [HUGE]}), InvalidValueError)
    assert isinstance(error, InvalidValueError)
    assert error.path == "/n/0"
    assert "outside the signed 64-bit range" in error.problem
    _raised(lambda: validate_json(-HUGE), InvalidValueError)
    _raised(lambda: canonical_json([HUGE]), InvalidValueError)
    _raised(lambda: data_hash({"a": HUGE}), InvalidValueError)
    _raised(lambda: validate_json({HUGE: 1}), InvalidValueError)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (DIGITS, ""),
        ("-" + DIGITS, ""),
        ('{"a": [0, ' + DIGITS + "]}", "/a/1"),
        ("12345678901234567890", ""),
    ],
)
def test_parse_json_rejects_long_integer_literals_by_their_digits(text: str, path: str) -> None:
    error = _raised(lambda: parse_json(text), InvalidValueError)
    assert isinstance(error, InvalidValueError)
    assert error.path == path
    assert "outside the signed 64-bit range" in error.problem


def test_parse_json_keeps_the_i64_limits() -> None:
    assert parse_json("[-9223372036854775808, 9223372036854775807]") == [-(2**63), 2**63 - 1]
    assert parse_json("-0") == 0


@pytest.mark.parametrize("text", [5, None, b"1", ["1"]])
def test_parse_json_needs_text(text: object) -> None:
    _raised(lambda: parse_json(text), InvalidJSONError)  # type: ignore[arg-type]


@pytest.mark.parametrize("index", [HUGE, 2**63, -1], ids=["10**5000", "2**63", "-1"])
def test_an_index_outside_i64_is_refused_when_the_operation_is_built(index: int) -> None:
    _raised(lambda: Insert("", 1, index), InvalidOperationError)
    _raised(lambda: Remove("", index), InvalidOperationError)
    _raised(
        lambda: from_dict({"op": "insert", "path": "", "value": 1, "index": index}),
        InvalidOperationError,
    )


def test_an_index_inside_i64_but_past_the_list_is_out_of_range() -> None:
    error = _raised(lambda: apply([1], [Insert("", 2, 2**63 - 1)]), IndexOutOfRangeError)
    assert isinstance(error, IndexOutOfRangeError)
    assert error.op_index == 0


@pytest.mark.parametrize(
    "op",
    [Set("/" + DIGITS, 1), Delete("/" + DIGITS), Set("/0/" + DIGITS, 1)],
    ids=["set", "delete", "nested"],
)
def test_a_path_token_of_5000_digits_is_out_of_range(op: Set | Delete) -> None:
    error = _raised(lambda: apply([[1]], [op]), IndexOutOfRangeError)
    assert isinstance(error, IndexOutOfRangeError)
    _raised(lambda: invert([op], [[1]]), IndexOutOfRangeError)


@pytest.mark.parametrize("token", ["\u00b2", "\u0662", "\uff11", "1\u0660", "+1", " 1"])
def test_only_ascii_digits_index_a_list(token: str) -> None:
    """``"²"`` passes ``str.isdigit`` and ``"٢"`` passes ``int``: neither is an index."""
    error = _raised(lambda: apply([1, 2, 3], [Set("/" + token, 0)]), PathNotFoundError)
    assert "is not an index" in str(error)
    assert apply({token: 1}, [Set("/" + token, 2)]) == {token: 2}


def test_join_path_refuses_what_is_no_token() -> None:
    _raised(lambda: join_path("", HUGE), InvalidPathError)
    _raised(lambda: join_path("", 1.5), InvalidPathError)  # type: ignore[arg-type]
    _raised(lambda: join_path(None, "a"), InvalidPathError)  # type: ignore[arg-type]
    assert join_path("/a", 2**63 - 1, "b/c") == "/a/9223372036854775807/b~1c"


def test_from_dict_names_huge_values_briefly() -> None:
    _raised(lambda: from_dict({"op": HUGE}), InvalidOperationError)
    _raised(lambda: from_dict({"op": "delete", "path": "/a", HUGE: 1}), InvalidOperationError)
    _raised(lambda: from_dict({"op": "set", "path": "", "value": [HUGE]}), InvalidOperationError)


def test_apply_needs_an_iterable_of_operations() -> None:
    _raised(lambda: apply({}, 5), InvalidOperationError)  # type: ignore[arg-type]
    _raised(lambda: invert(None, {}), InvalidOperationError)  # type: ignore[arg-type]


# --- any JSON-ish input: only DeltaError ---------------------------------------------------

huge_integers = st.sampled_from([4400, 5000]).map(lambda digits: 10**digits)
"""Past CPython's int/str limit (built by ``map``: hypothesis cannot ``repr`` such a bound)."""
_weird_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1]),
    huge_integers,
    st.floats(),
    st.sampled_from([math.nan, math.inf, -0.0]),
    st.text(max_size=8),
    st.sampled_from(["\ud800", "\u00b2", "\u0662", DIGITS, "/" + DIGITS, "~2", "-"]),
    st.binary(max_size=4),
    st.tuples(st.integers()),
)
jsonish = st.recursive(
    _weird_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=4) | st.integers() | huge_integers, children, max_size=3)
    ),
    max_leaves=8,
)
paths = st.sampled_from(
    ["", "/0", "/a", "/-", "/" + DIGITS, "/\u00b2", "/0/1", "a", "/~2"]
) | st.text(max_size=6)


def _only_delta_errors(call: Callable[[], object]) -> None:
    error: DeltaError | None = None
    try:
        call()
    except DeltaError as caught:
        error = caught
    assert error is None or len(str(error)) < MESSAGE_LIMIT


@given(jsonish, jsonish)
def test_values_and_states_raise_only_delta_errors(a: object, b: object) -> None:
    _only_delta_errors(lambda: validate_json(a))
    _only_delta_errors(lambda: canonical_json(a))  # type: ignore[arg-type]
    _only_delta_errors(lambda: data_hash(a))  # type: ignore[arg-type]
    _only_delta_errors(lambda: diff(a, b))  # type: ignore[arg-type]
    _only_delta_errors(lambda: from_dict(a))
    _only_delta_errors(lambda: parse_json(a))  # type: ignore[arg-type]
    _only_delta_errors(lambda: path_tokens(a))  # type: ignore[arg-type]


@given(jsonish, paths, jsonish, jsonish)
def test_operations_raise_only_delta_errors(
    state: object, path: str, value: object, index: object
) -> None:
    for kind in ("set", "delete", "insert", "remove", "patch"):
        fields = {"set": ("value",), "insert": ("value", "index"), "remove": ("index",)}
        data: dict[object, object] = {"op": kind, "path": path}
        data.update({name: {"value": value, "index": index}[name] for name in fields.get(kind, ())})
        if kind == "patch":
            data["patch"] = value
        try:
            op = from_dict(data)
        except DeltaError:
            continue
        _only_delta_errors(lambda op=op: apply(state, [op]))  # type: ignore[arg-type,misc]
        _only_delta_errors(lambda op=op: invert([op], state))  # type: ignore[arg-type,misc]


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_a_delta_error(text: str) -> None:
    _only_delta_errors(lambda: parse_json(text))
