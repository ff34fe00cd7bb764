"""Reading a projector stream from its ``delta_record`` rows (made by hand here; the real-server
tests cover the rows themselves): log order, ids of any form, and deltas whose operations do not
apply, which are skipped with one warning instead of stopping the replay."""

from __future__ import annotations

import logging

import pytest

from nerv_inner_universe.client import Row, Timestamp, Variant
from nerv_inner_universe.delta import JSON, MAX_DEPTH, Set, apply
from nerv_inner_universe.plugin.reader import deltas_from_rows
from nerv_inner_universe.plugin.streams import delta_id


def row(seq: int, stored_id: str, *operations: Variant, description: str = "") -> Row:
    return Row(
        delta_id=stored_id,
        seq=seq,
        stream="s",
        state_version_id="stream.s.base",
        occurred_at=Timestamp(1_700_000_000_000_000 + seq),
        operations=list(operations),
        metadata=Row(description=description, author=None, tags=[], parent_delta_id=None),
    )


def set_(path: str, value: str) -> Variant:
    return Variant("Set", Row(path=path, value=value))


def remove(path: str, index: int) -> Variant:
    return Variant("Remove", Row(path=path, index=index))


def insert(path: str, value: str, index: int | None) -> Variant:
    return Variant("Insert", Row(path=path, value=value, index=index))


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def test_deltas_are_applied_in_log_order_whatever_their_ids() -> None:
    rows = [
        row(3, delta_id("s", 0, "w1"), set_("/x", "1")),
        row(5, "s:1x", set_("/x", "2"), description="foreign"),
        row(8, "d-uuid", set_("/y", "[]")),
        row(9, delta_id("s", 1, "w2"), insert("/y", '"z"', None)),
    ]
    stream = deltas_from_rows("s", rows, {})
    assert stream.state == {"x": 2, "y": ["z"]}
    assert stream.skipped == []
    assert [index for index, _, _ in stream.deltas] == [0, 1, 2, 3]
    assert [m.index for _, m, _ in stream.deltas] == [0, 1, 2, 3]
    assert stream.deltas[1][1].description == "foreign"
    assert stream.deltas[1][2] == [Set("/x", 2)]


def test_indexes_continue_past_every_stored_delta() -> None:
    rows = [
        row(1, delta_id("s", 7, "w1"), set_("/a", "1")),
        row(2, "s:oops", set_("/b", "1")),
        row(3, delta_id("s", 2, "w2"), set_("/c", "1")),
    ]
    stream = deltas_from_rows("s", rows, {})
    assert [index for index, _, _ in stream.deltas] == [7, 8, 9]


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (remove("/nope", 3), "remove at '/nope'"),
        (insert("/list", "1", 4294967295), "4294967295"),
        (set_("/deep", nested(MAX_DEPTH)), f"more than {MAX_DEPTH} deep"),
    ],
)
def test_a_delta_that_does_not_apply_is_skipped_once_and_holds_its_place(
    bad: Variant, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        row(2, delta_id("s", 0, "w1"), set_("/list", "[]")),
        row(4, "s:1.zzz", bad),
        row(6, delta_id("s", 1, "w1"), set_("/after", "true")),
    ]
    with caplog.at_level(logging.WARNING, logger="nerv_inner_universe.plugin.reader"):
        stream = deltas_from_rows("s", rows, {})
    assert stream.state == {"list": [], "after": True}
    [skip] = stream.skipped
    assert (skip.delta_id, skip.stream, skip.seq) == ("s:1.zzz", "s", 4)
    assert error in skip.error
    assert [(index, ops) for index, _, ops in stream.deltas][1:] == [
        (1, []),
        (2, [Set("/after", True)]),
    ]
    [warning] = [r for r in caplog.records if "delta_skipped" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    for part in ("delta_id=s:1.zzz", "seq=4", "stream=s", "error="):
        assert part in warning.getMessage()


def test_the_deltas_returned_rebuild_the_state_they_report() -> None:
    """What a runtime restores from (the deltas, skipped ones empty) gives the reported state."""
    rows = [
        row(1, "x", set_("/n", "[1,2]")),
        row(2, "y", remove("/n", 5)),
        row(3, "z", remove("/n", 0)),
        row(4, "w", remove("/gone", 0)),
    ]
    stream = deltas_from_rows("s", rows, {})
    state: JSON = {}
    for _, _, operations in stream.deltas:
        state = apply(state, operations)
    assert state == stream.state == {"n": [2]}
    assert [k.delta_id for k in stream.skipped] == ["y", "w"]


def test_the_initial_state_is_left_alone() -> None:
    initial: JSON = {"keep": 1}
    stream = deltas_from_rows("s", [row(1, "a", set_("/keep", "2"))], initial)
    assert initial == {"keep": 1}
    assert stream.state == {"keep": 2}


def test_no_rows_is_the_initial_state() -> None:
    stream = deltas_from_rows("s", [], {})
    assert (stream.deltas, stream.skipped, stream.state) == ([], [], {})
