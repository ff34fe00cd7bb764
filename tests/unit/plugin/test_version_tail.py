"""How a start finds the versions to restore a timeline at its head (pure logic, over a reader
whose row reads are faked): walked back from the head by primary key to the nearest snapshot,
root or branch point, but never more than `WALK_BACK_LIMIT` rows one at a time; past that, the
timeline's rows are read in one query and the versions from the nearest snapshot on are
rebuilt."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import attrs
import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection
from nerv_inner_universe.delta import Operation
from nerv_inner_universe.nerv import VersionedState
from nerv_inner_universe.plugin import IntegrityError
from nerv_inner_universe.plugin.reader import WALK_BACK_LIMIT, Reader, tail_start


@attrs.frozen
class Row:
    version_id: str
    timeline: str
    parent_version_id: str | None
    snapshot: str | None


def chain(count: int, snapshots: set[int], timeline: str = "main") -> list[Row]:
    """``count`` versions ``v0 ..`` of ``timeline``, oldest first; ``v0`` is a root (a
    snapshot) and each in ``snapshots`` holds one too."""
    return [
        Row(
            f"v{n}",
            timeline,
            f"v{n - 1}" if n else None,
            "{}" if n == 0 or n in snapshots else None,
        )
        for n in range(count)
    ]


class FakeReader(Reader):
    """A reader whose row reads answer from ``rows`` and are counted."""

    def __init__(self, rows: list[Row]) -> None:
        super().__init__(cast(DbConnection, None))
        self.rows = rows
        self.key_reads = 0
        self.whole_reads = 0
        self.redacted_ids: set[str] = set()

    async def redacted(self, kind: contract.RedactedKind, target_id: str) -> bool:
        return kind is contract.RedactedKind.STATE_VERSION and target_id in self.redacted_ids

    async def timeline(self, name: str) -> Any | None:
        mine = [row for row in self.rows if row.timeline == name]
        return attrs.make_class("Head", ["head_version_id", "version_count"])(
            mine[-1].version_id, len(mine)
        )

    async def version_row(self, version_id: str) -> Any | None:
        self.key_reads += 1
        return next((row for row in self.rows if row.version_id == version_id), None)

    async def versions_after(self, timeline: str, version_id: str | None) -> list[Any]:
        assert version_id is None
        self.whole_reads += 1
        return [row for row in self.rows if row.timeline == timeline]

    async def _rebuilt(self, rows: list[Any]) -> list[tuple[VersionedState, list[Operation]]]:
        return [
            (VersionedState(row.version_id, {}, row.parent_version_id, 0.0, "", ""), [])
            for row in rows
        ]


def tail(rows: list[Row]) -> tuple[list[str], bool, FakeReader]:
    reader = FakeReader(rows)
    versions, complete = asyncio.run(reader.version_tail("main"))
    return [version.version_id for version, _ in versions], complete, reader


def test_a_near_snapshot_is_found_by_primary_key() -> None:
    ids, complete, reader = tail(chain(200, {150}))
    assert ids == [f"v{n}" for n in range(150, 200)]
    assert not complete
    assert (reader.key_reads, reader.whole_reads) == (50, 0)


@pytest.mark.parametrize("count", [1, WALK_BACK_LIMIT])
def test_a_root_within_the_limit_gives_the_whole_timeline_by_key(count: int) -> None:
    ids, complete, reader = tail(chain(count, set()))
    assert ids == [f"v{n}" for n in range(count)]
    assert complete
    assert reader.whole_reads == 0
    assert reader.key_reads == count


def test_past_the_limit_the_timeline_is_read_once_and_restored_from_its_last_snapshot() -> None:
    ids, complete, reader = tail(chain(1000, {10, 500}))
    assert ids == [f"v{n}" for n in range(500, 1000)]
    assert not complete
    assert (reader.key_reads, reader.whole_reads) == (WALK_BACK_LIMIT, 1)


@pytest.mark.parametrize("count", [WALK_BACK_LIMIT + 1, 3 * WALK_BACK_LIMIT])
def test_past_the_limit_without_a_later_snapshot_the_whole_timeline_is_restored(
    count: int,
) -> None:
    ids, complete, reader = tail(chain(count, set()))
    assert ids == [f"v{n}" for n in range(count)]
    assert complete
    assert (reader.key_reads, reader.whole_reads) == (WALK_BACK_LIMIT, 1)


def test_tail_start_is_the_last_snapshot_or_root() -> None:
    assert tail_start(chain(5, {3})) == 3
    assert tail_start(chain(5, {4})) == 4
    assert tail_start(chain(5, set())) == 0
    branched = [Row("b0", "side", "v9", None), Row("b1", "side", "b0", None)]
    assert tail_start(branched) == 0
    assert tail_start([*branched, Row("b2", "side", "b1", "{}")]) == 2
    assert tail_start([]) == 0


@pytest.mark.parametrize(
    ("redacted", "said"),
    [(True, "an admin redacted it since it was read"), (False, "an admin may have redacted it")],
)
def test_a_version_gone_from_its_timeline_says_why(redacted: bool, said: str) -> None:
    reader = FakeReader(chain(3, set()))
    if redacted:
        reader.redacted_ids.add("v7")
    with pytest.raises(IntegrityError, match=said):
        asyncio.run(reader.versions_before("main", "v7"))
