"""How replay reads a stretch of `event_log` (pure logic, over a fake connection answering the
reader's SQL): through the ``log_page`` index when it holds every row asked for, by `seq` range
when it lacks some (rows stored before the module had the table), and never past a page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from nerv_inner_universe.client import Identity, QueryResult, Timestamp, Variant
from nerv_inner_universe.contract import LOG_PAGE_ROWS
from nerv_inner_universe.plugin.reader import (
    PageRead,
    Reader,
    indexed_read,
    log_rows_query,
    page_end,
    page_start,
)

SENDER = Identity.from_hex("ab" * 32)


def log_row(seq: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "event_id": f"e{seq}",
        "event_type": "t",
        "source": None,
        "occurred_at": Timestamp(1_700_000_000_000_000),
        "sender": SENDER,
        "data": Variant("Custom", f'{{"n":{seq}}}'),
        "metadata": "{}",
    }


@attrs.define
class FakeLog:
    """An `event_log` of rows ``1 .. last`` of which ``indexed`` have a ``log_page`` row; it
    answers the three queries the reader sends (index page, one `seq`, `seq` range) and keeps
    each query it was sent."""

    last: int
    indexed: set[int]
    queries: list[str] = attrs.field(factory=list)

    async def one_off_query(
        self,
        query: str,
        *,
        each: Callable[[Any], Any] | None = None,
        columns: Callable[[tuple[str, ...]], Callable[[tuple[object, ...]], Any]] | None = None,
    ) -> list[QueryResult]:
        self.queries.append(query)
        seqs = range(1, self.last + 1)
        if joined := re.fullmatch(
            r"SELECT event_log\.\* FROM log_page JOIN event_log ON log_page\.seq = event_log\.seq"
            r" WHERE log_page\.page = (\d+) AND log_page\.seq >= (\d+) AND log_page\.seq < (\d+)",
            query,
        ):
            page, low, high = map(int, joined.groups())
            found = [
                s
                for s in seqs
                if s in self.indexed and s // LOG_PAGE_ROWS == page and low <= s < high
            ]
        elif one := re.fullmatch(r"SELECT \* FROM event_log WHERE seq = (\d+)", query):
            found = [s for s in seqs if s == int(one.group(1))]
        elif span := re.fullmatch(
            r"SELECT \* FROM event_log WHERE seq >= (\d+) AND seq < (\d+)", query
        ):
            low, high = map(int, span.groups())
            found = [s for s in seqs if low <= s < high]
        else:
            raise AssertionError(f"unexpected query {query!r}")
        rows = [log_row(s) for s in reversed(found)]  # the server promises no order
        if columns is not None:  # as the client does: each row's values in column order
            read = columns(tuple(log_row(1)))
            return [QueryResult("event_log", tuple(read(tuple(row.values())) for row in rows))]
        return [QueryResult("event_log", tuple(rows if each is None else map(each, rows)))]


def reader_over(log: FakeLog) -> Reader:
    return Reader(log)  # type: ignore[arg-type]  # the fake answers what a Reader asks


async def read(log: FakeLog, start: int, end: int) -> tuple[list[int], Reader]:
    reader = reader_over(log)
    return [int(entry[0]) for entry in await reader.log_rows(start, end)], reader


def test_a_read_stops_at_its_rows_or_at_the_end_of_its_page() -> None:
    assert page_end(1, 100) == 101
    assert page_end(1, 10 * LOG_PAGE_ROWS) == LOG_PAGE_ROWS
    assert page_end(LOG_PAGE_ROWS - 5, 100) == LOG_PAGE_ROWS
    assert page_end(LOG_PAGE_ROWS, 100) == LOG_PAGE_ROWS + 100


def test_a_read_backwards_starts_at_its_rows_or_at_the_start_of_its_page() -> None:
    assert page_start(101, 100) == 1
    assert page_start(50, 100) == 1  # never before seq 1
    assert page_start(LOG_PAGE_ROWS, 100) == LOG_PAGE_ROWS - 100
    assert page_start(LOG_PAGE_ROWS + 5, 100) == LOG_PAGE_ROWS
    assert page_start(3 * LOG_PAGE_ROWS, 10 * LOG_PAGE_ROWS) == 2 * LOG_PAGE_ROWS


def test_the_query_names_the_page_and_the_seq_bounds() -> None:
    query = log_rows_query(2 * LOG_PAGE_ROWS + 7, 2 * LOG_PAGE_ROWS + 9)
    assert f"log_page.page = 2 AND log_page.seq >= {2 * LOG_PAGE_ROWS + 7}" in query
    assert query.endswith(f"log_page.seq < {2 * LOG_PAGE_ROWS + 9}")
    assert query.startswith("SELECT event_log.* FROM log_page JOIN event_log")


@pytest.mark.parametrize(
    ("seqs", "verdict"),
    [
        ([5, 6, 7], PageRead.WHOLE),
        ([5], PageRead.WHOLE),
        ([], PageRead.EMPTY),
        ([6, 7], PageRead.INCOMPLETE),  # the first rows lack their page row
        ([5, 7], PageRead.INCOMPLETE),  # a gap
    ],
)
def test_what_the_index_rows_mean(seqs: list[int], verdict: PageRead) -> None:
    assert indexed_read(5, seqs) is verdict


async def test_an_indexed_stretch_is_read_once_through_the_index() -> None:
    log = FakeLog(last=300, indexed=set(range(1, 301)))
    seqs, reader = await read(log, 11, 111)
    assert seqs == list(range(11, 111))
    assert reader.range_reads == 0
    assert len(log.queries) == 1


async def test_rows_without_page_rows_are_read_by_range() -> None:
    log = FakeLog(last=300, indexed=set(range(150, 301)))  # upgraded at seq 150
    seqs, reader = await read(log, 100, 200)
    assert seqs == list(range(100, 200))
    assert reader.range_reads == 1
    seqs, reader = await read(log, 1, 100)  # nothing indexed: one row tells it is not the end
    assert seqs == list(range(1, 100))
    assert reader.range_reads == 1


async def test_past_the_end_of_the_log_the_read_is_empty_without_a_range_scan() -> None:
    log = FakeLog(last=300, indexed=set(range(1, 301)))
    seqs, reader = await read(log, 301, 400)
    assert seqs == []
    assert reader.range_reads == 0
    assert not any("seq >= 301 AND seq < 400" in q and "log_page" not in q for q in log.queries)


async def test_a_replay_over_an_upgraded_log_gives_every_row_once_in_order() -> None:
    last = 2 * LOG_PAGE_ROWS + 500
    log = FakeLog(last=last, indexed=set(range(LOG_PAGE_ROWS + 100, last + 1)))
    reader = reader_over(log)
    seqs = [int(entry[0]) async for page in reader.event_pages() for entry in page.entries]
    assert seqs == list(range(1, last + 1))
    assert reader.range_reads > 0
    ranged = [q for q in log.queries if "log_page" not in q and "seq >= " in q]
    assert all(int(re.findall(r"seq >= (\d+)", q)[0]) < LOG_PAGE_ROWS + 100 for q in ranged)
    indexed = [int(first) for q in log.queries for first in re.findall(r"page.seq >= (\d+)", q)]
    assert max(indexed) > LOG_PAGE_ROWS + 100  # the rest came through the index
