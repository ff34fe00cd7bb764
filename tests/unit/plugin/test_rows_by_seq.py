"""`rows_by_seq`: a read too large for one message is split by `seq` range, in order, down to a
single `seq` (pure logic, over a fake table of sized rows)."""

from __future__ import annotations

import attrs
import pytest

from nerv_inner_universe.client import MessageTooLargeError
from nerv_inner_universe.contract import Table
from nerv_inner_universe.plugin.errors import IntegrityError, OversizedRowError
from nerv_inner_universe.plugin.reader import rows_by_seq


@attrs.frozen
class Row:
    seq: int
    size: int


@attrs.define
class FakeTable:
    """Rows of one table with gaps in their `seq` (other tables hold the rest of the log); an
    answer whose rows add up to more than ``limit`` fails as the client does. ``later``: rows
    written after the first `last_seq` call."""

    rows: list[Row]
    limit: int
    log_end: int
    later: list[Row] = attrs.field(factory=list)
    reads: list[tuple[int, int | None]] = attrs.field(factory=list)
    last_seq_calls: int = 0

    async def read(self, first: int, end: int | None) -> list[Row]:
        self.reads.append((first, end))
        found = [r for r in self.rows if r.seq >= first and (end is None or r.seq < end)]
        if sum(r.size for r in found) > self.limit:
            raise MessageTooLargeError(self.limit)
        return list(reversed(found))  # the server promises no order

    async def last_seq(self) -> int:
        self.last_seq_calls += 1
        end, self.log_end = self.log_end, max([self.log_end] + [r.seq for r in self.later])
        self.rows.extend(self.later)
        self.later = []
        return end


def gappy(count: int, size: int) -> list[Row]:
    """``count`` rows at every third `seq` from 2 on."""
    return [Row(2 + 3 * n, size) for n in range(count)]


async def test_rows_that_fit_are_one_read_without_asking_for_the_log_end() -> None:
    table = FakeTable(gappy(10, 10), limit=1_000, log_end=40)
    assert await rows_by_seq(Table.DELTA_RECORD, table.read, table.last_seq, 1) == gappy(10, 10)
    assert table.reads == [(1, None)]
    assert table.last_seq_calls == 0


async def test_a_large_read_is_split_in_seq_order_with_nothing_skipped_or_repeated() -> None:
    rows = [*gappy(40, 100), Row(200, 250), Row(201, 250), Row(300, 90)]
    table = FakeTable(list(rows), limit=300, log_end=310)
    read = await rows_by_seq(Table.STATE_VERSION, table.read, table.last_seq, 1)
    assert read == rows
    assert table.last_seq_calls == 1
    assert len(table.reads) > 10
    for first, end in table.reads:
        assert end is None or end > first


async def test_the_first_seq_is_kept() -> None:
    rows = gappy(40, 100)
    table = FakeTable(list(rows), limit=300, log_end=130)
    read = await rows_by_seq(Table.DELTA_RECORD, table.read, table.last_seq, 50)
    assert read == [r for r in rows if r.seq >= 50]
    assert all(first >= 50 for first, _ in table.reads)


async def test_rows_written_after_the_log_end_was_read_are_read_too() -> None:
    rows = gappy(20, 100)
    table = FakeTable(list(rows), limit=300, log_end=60, later=[Row(70, 100), Row(72, 100)])
    read = await rows_by_seq(Table.DELTA_RECORD, table.read, table.last_seq, 1)
    assert read == [*rows, Row(70, 100), Row(72, 100)]


async def test_a_single_row_over_the_limit_names_its_table_and_seq() -> None:
    table = FakeTable([Row(3, 10), Row(8, 500), Row(9, 10)], limit=300, log_end=12)
    with pytest.raises(OversizedRowError) as raised:
        await rows_by_seq(Table.DELTA_RECORD, table.read, table.last_seq, 1)
    assert (raised.value.table, raised.value.seq, raised.value.limit) == ("delta_record", 8, 300)
    assert str(raised.value).startswith("delta_record row seq=8 alone is larger")
    assert (8, 9) in table.reads


async def test_rows_past_the_end_of_the_log_are_an_integrity_error() -> None:
    table = FakeTable([Row(30, 500), Row(31, 500)], limit=300, log_end=12)
    with pytest.raises(IntegrityError, match="state_version holds rows from seq 13 on"):
        await rows_by_seq(Table.STATE_VERSION, table.read, table.last_seq, 1)
