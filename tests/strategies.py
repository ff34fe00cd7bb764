"""Hypothesis strategies for JSON states and delta operations, shared by every test suite.

Values cover what breaks encoders and diffs: unicode (astral planes, control characters, keys
like ``"/"``, ``"~1"``, ``"-"`` and ``"0"`` that need pointer escaping), empty containers, chains
nested up to ``MAX_DEPTH``, the i64 limits, and finite floats including ``-0.0``, subnormals and
the largest exponents. Sizes stay small so suites run quickly on slow machines.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from nerv_inner_universe.delta import (
    JSON,
    MAX_DEPTH,
    Delete,
    Insert,
    Operation,
    Patch,
    Remove,
    Set,
    apply,
    join_path,
    path_tokens,
)
from nerv_inner_universe.delta.values import I64_MAX, I64_MIN

POINTER_KEYS = ("", "-", "0", "01", "/", "~", "~0", "~1", "a/b", "a~b", "\u00e9", "\U0001f600")
"""Keys that a careless pointer implementation escapes, parses or indexes wrongly."""


def json_text() -> st.SearchStrategy[str]:
    """Unicode strings JSON can carry: every code point but lone surrogates."""
    return st.text(st.characters(codec="utf-8"), max_size=12)


def json_keys() -> st.SearchStrategy[str]:
    """Object keys, often ones with pointer meaning."""
    return st.sampled_from(POINTER_KEYS) | json_text()


def json_integers() -> st.SearchStrategy[int]:
    """Signed 64-bit integers, with the limits and the 2**53 float boundary drawn often."""
    edges = (I64_MIN, I64_MIN + 1, -(2**53) - 1, -1, 0, 1, 2**53 + 1, I64_MAX - 1, I64_MAX)
    return st.sampled_from(edges) | st.integers(I64_MIN, I64_MAX)


def json_floats() -> st.SearchStrategy[float]:
    """Finite floats, with ``-0.0``, whole numbers, subnormals and extreme exponents."""
    edges = (-0.0, 0.0, 1.0, -1.0, 0.1, 1e20, 1e21, 1e-7, 5e-324, 2.0**63, 1.7976931348623157e308)
    return st.sampled_from(edges) | st.floats(allow_nan=False, allow_infinity=False)


def json_scalars() -> st.SearchStrategy[JSON]:
    """``None``, booleans, integers, floats and strings."""
    return st.none() | st.booleans() | json_integers() | json_floats() | json_text()


def json_values(max_leaves: int = 12, max_depth: int = MAX_DEPTH) -> st.SearchStrategy[JSON]:
    """Any JSON value nesting at most ``max_depth`` containers deep.

    Mostly small trees (three draws in four), otherwise a single chain that may reach
    ``max_depth``, which is where recursion and path-building bugs show.
    """
    trees = st.recursive(
        json_scalars(),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(json_keys(), children, max_size=4)
        ),
        max_leaves=max_leaves,
    ).filter(lambda value: depth(value) <= max_depth)
    return st.one_of(trees, trees, trees, nested_values(max_depth))


def json_objects(max_leaves: int = 12) -> st.SearchStrategy[dict[str, JSON]]:
    """JSON objects (the shape of NERV states, properties and patches)."""
    return st.dictionaries(json_keys(), json_values(max_leaves, MAX_DEPTH - 1), max_size=5)


@st.composite
def nested_values(draw: st.DrawFn, max_depth: int = MAX_DEPTH) -> JSON:
    """A scalar wrapped in a chain of up to ``max_depth`` lists and objects."""
    value: JSON = draw(json_scalars())
    for wrap_in_list in draw(st.lists(st.booleans(), max_size=max_depth)):
        value = [value] if wrap_in_list else {draw(json_keys()): value}
    return value


def deep_list(levels: int) -> JSON:
    """An empty list inside ``levels - 1`` more lists: ``levels`` containers deep."""
    value: JSON = []
    for _ in range(levels - 1):
        value = [value]
    return value


def depth(value: JSON) -> int:
    """How many containers nest in ``value`` (0 for a scalar, 1 for ``[]``)."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


class Unrepresentable:
    """An object that is not JSON, for rejection tests."""


def invalid_leaves() -> st.SearchStrategy[object]:
    """Items that are not JSON values, each alone enough to make a value invalid."""
    return st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.integers(max_value=I64_MIN - 1),
        st.integers(min_value=I64_MAX + 1),
        st.builds(tuple, st.lists(json_scalars(), max_size=2)),
        st.builds(set, st.lists(st.integers(), max_size=2)),
        st.binary(max_size=3),
        st.builds(Unrepresentable),
        st.sampled_from(["\ud800", "a\udfff"]),
    )


@st.composite
def invalid_values(draw: st.DrawFn) -> tuple[object, str]:
    """A value with exactly one invalid item, and the pointer ``validate_json`` must report.

    The bad item is an invalid leaf, or a non-str key (reported at its object).
    """
    bad_key = draw(st.booleans())
    value: object = (
        {draw(st.sampled_from([1, None, 2.5, (1,)])): draw(json_scalars())}
        if bad_key
        else draw(invalid_leaves())
    )
    tokens: list[str] = []
    for in_list in draw(st.lists(st.booleans(), max_size=5)):
        siblings = draw(st.lists(json_scalars(), max_size=3))
        if in_list:
            position = draw(st.integers(0, len(siblings)))
            value = [*siblings[:position], value, *siblings[position:]]
            tokens.insert(0, str(position))
        else:
            key = draw(json_keys())
            value = {**{draw(json_keys()): item for item in siblings}, key: value}
            tokens.insert(0, key)
    return value, join_path("", *tokens)


def _paths(value: JSON, path: str = "") -> list[tuple[str, JSON]]:
    """Every (pointer, value) pair inside ``value``, the root first."""
    found = [(path, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, join_path(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, join_path(path, index))
    return found


@st.composite
def operation_for(draw: st.DrawFn, state: JSON) -> Operation:
    """One operation that applies cleanly to ``state``, aimed at paths that exist in it."""
    nodes = _paths(state)
    members = [path for path, _ in nodes if path]
    lists = [(path, node) for path, node in nodes if isinstance(node, list)]
    filled = [(path, node) for path, node in lists if node]
    objects = [(path, node) for path, node in nodes if isinstance(node, dict)]
    kinds = ["set", "delete" if members else "set", "insert" if lists else "set"]
    kinds += ["remove"] * bool(filled) + ["patch"] * bool(objects)
    match draw(st.sampled_from(kinds)):
        case "set":
            path = draw(_set_paths(nodes))
            return Set(path, draw(_values_at(path)))
        case "delete":
            return Delete(draw(st.sampled_from(members)))
        case "insert":
            path, items = draw(st.sampled_from(lists))
            index = draw(st.none() | st.integers(0, len(items)))
            return Insert(path, draw(_values_at(path, 1)), index)
        case "remove":
            path, items = draw(st.sampled_from(filled))
            return Remove(path, draw(st.integers(0, len(items) - 1)))
        case _:
            path, obj = draw(st.sampled_from(objects))
            keys = st.sampled_from(sorted(obj)) | json_keys() if obj else json_keys()
            return Patch(path, draw(st.dictionaries(keys, _values_at(path, 1), max_size=3)))


def _set_paths(nodes: list[tuple[str, JSON]]) -> st.SearchStrategy[str]:
    """Paths ``Set`` accepts: any existing node, a list's ``-`` (append), a new object key."""
    options = [st.sampled_from([path for path, _ in nodes])]
    appends = [join_path(path, "-") for path, node in nodes if isinstance(node, list)]
    if appends:
        options.append(st.sampled_from(appends))
    objects = [path for path, node in nodes if isinstance(node, dict)]
    if objects:
        options.append(st.builds(join_path, st.sampled_from(objects), json_keys()))
    return st.one_of(options)


def _values_at(path: str, below: int = 0) -> st.SearchStrategy[JSON]:
    """Small values that fit ``below`` levels under ``path`` without passing ``MAX_DEPTH``."""
    return json_values(max_leaves=4, max_depth=MAX_DEPTH - len(path_tokens(path)) - below)


@st.composite
def states_and_operations(
    draw: st.DrawFn, max_ops: int = 6, states: st.SearchStrategy[JSON] | None = None
) -> tuple[JSON, list[Operation]]:
    """A state and a sequence of operations each valid against the state its forerunners left."""
    state = draw(json_objects() if states is None else states)
    ops: list[Operation] = []
    current = state
    for _ in range(draw(st.integers(0, max_ops))):
        op = draw(operation_for(current))
        ops.append(op)
        current = apply(current, [op])
    return state, ops
