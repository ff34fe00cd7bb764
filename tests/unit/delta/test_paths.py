"""RFC 6901 pointers: parsing, escaping and the errors for malformed ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nerv_inner_universe.delta import InvalidPathError, join_path, path_tokens
from tests.strategies import json_keys


@pytest.mark.parametrize(
    ("path", "tokens"),
    [
        ("", []),
        ("/", [""]),
        ("/a/0", ["a", "0"]),
        ("/a~1b/~0c", ["a/b", "~c"]),
        ("/~01", ["~1"]),
        ("/ /-", [" ", "-"]),
    ],
)
def test_tokens_are_unescaped(path: str, tokens: list[str]) -> None:
    assert path_tokens(path) == tokens


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("a", "Location must start with /"),
        ("/a~2", "Found invalid escape ~2"),
        ("/a~", "Found invalid escape ~"),
    ],
)
def test_malformed_pointers_are_rejected(path: str, reason: str) -> None:
    with pytest.raises(InvalidPathError) as caught:
        path_tokens(path)
    assert str(caught.value) == (
        f"path {path!r} is not an RFC 6901 JSON Pointer ({reason}); write '' for the whole "
        "document, '/key/0' for members, '~0' for '~' and '~1' for '/' inside a key"
    )


def test_a_path_must_be_a_string() -> None:
    with pytest.raises(InvalidPathError, match="a path must be a str, not list"):
        path_tokens(["a"])  # type: ignore[arg-type]


def test_join_escapes_keys_and_writes_indices() -> None:
    assert join_path("", "a/b", 0, "~") == "/a~1b/0/~0"
    assert join_path("/x") == "/x"


@given(st.lists(json_keys(), max_size=5))
def test_join_then_tokens_round_trips(tokens: list[str]) -> None:
    assert path_tokens(join_path("", *tokens)) == tokens
