"""A hypothesis fuzz of every reducer against the real server (issue 13, item 9): valid calls
with one argument (or one field of it) replaced by a hostile value (ids in the module's
namespaces, long or odd text, malformed or NaN or deeply nested JSON, wrong types). Every call
is accepted, refused with a coded message, or rejected as mistyped by the server; a refusal
changes nothing; no reducer panics; and the database keeps accepting calls. CI-sized: a few
dozen examples."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerv_inner_universe.contract import Refusal
from tests.integration.http_api import Database, event_input
from tests.integration.module.test_access import fixtures, mutating_calls

HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "sys:1",
            "sys:999999",
            "SYS:2",
            "main:0",
            "stream.main.base",
            "a" * 129,
            "x" * 5000,
            "NaN",
            "Infinity",
            "1e400",
            '{"a":1,"a":2}',
            "[" * 200 + "]" * 200,
            "9" * 30,
            "\u0000",
            "\u00e9\U0001f600",
            "/a~2",
            "-1",
            "²",
        ]
    ),
    st.text(max_size=40),
)
HOSTILE = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a call's arguments that a hostile value can replace."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(paths(item, (*prefix, index)))
    return found


def replaced(args: list[Any], path: tuple[Any, ...], value: Any) -> list[Any]:
    result = copy.deepcopy(args)
    target: Any = result
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return result


CALLS = mutating_calls()


@st.composite
def hostile_calls(draw: st.DrawFn) -> tuple[str, list[Any]]:
    reducer = draw(st.sampled_from(sorted(CALLS)))
    args = CALLS[reducer]
    path = draw(st.sampled_from(paths(args)))
    return reducer, replaced(args, path, draw(HOSTILE))


def test_no_reducer_panics_or_half_writes(inner_universe: Database) -> None:
    db = inner_universe
    fixtures(db)
    seen: dict[int, int] = {}

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(hostile_calls())
    def call(hostile: tuple[str, list[Any]]) -> None:
        reducer, args = hostile
        before = db.snapshot()
        response = db.call(reducer, *args)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code in {200, 400, 530}, (reducer, args, response.text)
        if response.status_code == 530:
            assert Refusal.parse(response.text).code is not None, (reducer, response.text)
        if response.status_code != 200:
            assert db.snapshot() == before, (reducer, args, response.text)

    call()
    assert seen.get(530, 0) + seen.get(400, 0) > 0, seen
    db.ok("publish_event", event_input("still-working"))
