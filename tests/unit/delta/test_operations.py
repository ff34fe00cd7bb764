"""Operations check themselves when built, own their values, and compare by canonical value."""

from __future__ import annotations

import math

import pytest

from nerv_inner_universe.delta import (
    JSON,
    Delete,
    Insert,
    InvalidOperationError,
    InvalidPathError,
    InvalidValueError,
    Patch,
    Remove,
    Set,
)


def test_paths_must_be_pointers() -> None:
    with pytest.raises(InvalidPathError, match=r"path 'a' is not an RFC 6901 JSON Pointer"):
        Set("a", 1)
    with pytest.raises(InvalidPathError, match=r"path '/~2' is not an RFC 6901"):
        Remove("/~2", 0)


def test_delete_refuses_the_root() -> None:
    with pytest.raises(InvalidPathError) as caught:
        Delete("")
    assert str(caught.value) == (
        "delete needs a member path; the whole document cannot be deleted (set '' instead)"
    )


@pytest.mark.parametrize("index", [-1, True, "0", 1.0])
def test_indices_are_non_negative_ints(index: object) -> None:
    with pytest.raises(InvalidOperationError) as caught:
        Remove("/l", index)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"index must be an int in 0..2**63-1 (a JSON integer), not {index!r}"
    )
    with pytest.raises(InvalidOperationError):
        Insert("/l", 1, index)  # type: ignore[arg-type]


def test_values_must_be_json() -> None:
    with pytest.raises(InvalidValueError) as caught:
        Set("/a", {"x": [math.inf]})
    assert str(caught.value) == (
        "value is not valid JSON at '/x/0': float inf is not finite; JSON has no NaN or infinities"
    )
    with pytest.raises(InvalidValueError, match="tuple is not a JSON type"):
        Insert("/l", (1,))  # type: ignore[arg-type]


def test_a_patch_is_an_object_of_json_values() -> None:
    with pytest.raises(InvalidValueError) as caught:
        Patch("", [1])  # type: ignore[arg-type]
    assert str(caught.value) == (
        "patch is not valid JSON at '': it is a list; a patch is an object of keys to set"
    )
    with pytest.raises(InvalidValueError, match=r"patch is not valid JSON at '/k'"):
        Patch("", {"k": math.nan})


def test_operations_keep_their_own_copy_of_values() -> None:
    value: dict[str, JSON] = {"a": [1]}
    patch: dict[str, JSON] = {"k": [1]}
    op, patch_op = Set("/x", value), Patch("", patch)
    value["a"] = 2
    patch["k"] = 2
    assert op.value == {"a": [1]}
    assert patch_op.patch == {"k": [1]}


def test_insert_appends_by_default() -> None:
    assert Insert("/l", 1).index is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Set("/a", 1), Set("/a", 1.0)),
        (Set("/a", 1), Set("/a", True)),
        (Set("/a", [0]), Set("/a", [False])),
        (Patch("", {"k": 1}), Patch("", {"k": 1.0})),
        (Insert("/l", 1), Insert("/l", 1, 0)),
    ],
)
def test_values_compare_by_kind_not_by_python_equality(a: object, b: object) -> None:
    assert a != b


def test_equal_operations_are_equal_and_hash_alike() -> None:
    a = Set("/a", {"x": 1, "y": [2.5]})
    b = Set("/a", {"y": [2.5], "x": 1})
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b, Delete("/a"), Delete("/a")}) == 2
