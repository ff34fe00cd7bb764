"""The data of a projector stream's snapshot version, and decoding the deltas after it."""

from __future__ import annotations

import pytest

from nerv_inner_universe.client import Row, Timestamp, Variant
from nerv_inner_universe.delta import JSON
from nerv_inner_universe.plugin import streams
from nerv_inner_universe.plugin.reader import decode_deltas


def test_snapshot_data_reads_back() -> None:
    data = streams.snapshot_data({"a": [1]}, 42, 7)
    assert streams.parse_snapshot(data) == ({"a": [1]}, 42, 7)
    assert streams.snapshot_version("main", 42) == "stream.main.at.42"


@pytest.mark.parametrize(
    "data",
    [
        {},  # the anchor
        {"through_seq": 1, "next_index": 0},
        {"through_seq": 1, "next_index": 0, "state": {}, "extra": 1},
        {"through_seq": 0, "next_index": 0, "state": {}},
        {"through_seq": 1, "next_index": -1, "state": {}},
        {"through_seq": True, "next_index": 0, "state": {}},
        {"through_seq": 1.0, "next_index": 0, "state": {}},
        [1, 2],
    ],
)
def test_other_data_is_no_snapshot(data: JSON) -> None:
    assert streams.parse_snapshot(data) is None


def test_the_deltas_after_a_snapshot_are_numbered_from_its_next_index() -> None:
    def row(seq: int, stored_id: str) -> Row:
        return Row(
            delta_id=stored_id,
            seq=seq,
            operations=[Variant("Set", Row(path="/x", value=str(seq)))],
            metadata=Row(description="", author=None, tags=[], parent_delta_id=None),
            occurred_at=Timestamp(1_700_000_000_000_000),
        )

    decoded = decode_deltas("main", [row(30, "handmade"), row(31, "main:3.w")], first_index=12)
    assert [index for index, _, _ in decoded.deltas] == [12, 13]
    assert decoded.stored == {12: ("handmade", 30), 13: ("main:3.w", 31)}
