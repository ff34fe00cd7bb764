"""Reads what was recorded, for replay: events in `seq` order in pages bounded by bytes,
versions with their states rebuilt from snapshots and operations (each checked against its
`data_hash`), deltas; a read of versions or deltas too large for one message is split by `seq`
range (`rows_by_seq`)."""

from __future__ import annotations

import enum
import functools
import operator
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, MessageTooLargeError, QueryResult
from nerv_inner_universe.contract import Table
from nerv_inner_universe.delta import JSON, DeltaError, Operation, apply, data_hash, parse_json
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import (
    DeltaMetadata,
    Event,
    NoOp,
    ProjectorCheckpoint,
    StateProjector,
    VersionedState,
)
from nerv_inner_universe.nerv.errors import UnknownVersionError
from nerv_inner_universe.plugin import translate
from nerv_inner_universe.plugin.errors import IntegrityError, OversizedRowError
from nerv_inner_universe.plugin.retrying import retried
from nerv_inner_universe.plugin.streams import delta_index

log = get_logger(__name__)

PAGE_BYTES = 6 << 20
"""The decoded text one `event_log` page aims at (a `translate.LogEntry`'s size: ids, type, source,
data, metadata and `translate.ROW_OVERHEAD` per row). The wire form is larger by its JSON
escaping (in the worst case a few times), far below the client's default message limit of
256 MiB."""
MAX_PAGE_ROWS = contract.LOG_PAGE_ROWS
"""The most rows one page asks for, however small they are: one ``log_page`` page, which the
server finds by index (`log_rows_query`), so a page costs it the same whatever the log's
length. Larger pages would cost the client more memory (two pages are held, one delivered
while the next is read, besides the message they came in: about 70 MiB with pages of 16,000
small events)."""
FIRST_PAGE_ROWS = 100
"""The rows of the first page; each later page at most doubles."""


@attrs.define
class PageSizer:
    """How many `event_log` rows the next page asks for: about `PAGE_BYTES` at the mean row size
    of the last page, at most double the last page and at most `MAX_PAGE_ROWS`; halved when a page
    did not fit in one message."""

    rows: int = FIRST_PAGE_ROWS
    budget: int = PAGE_BYTES
    most: int = MAX_PAGE_ROWS

    def fitted(self, rows: int, size: int) -> None:
        """A page of ``rows`` rows (>= 1) and ``size`` bytes was read: size the next one."""
        per_row = max(1, size // rows)
        self.rows = max(1, min(self.most, 2 * self.rows, self.budget // per_row))

    def shrink(self) -> bool:
        """A page did not fit in one message: halve it. False when it already was one row."""
        if self.rows == 1:
            return False
        self.rows //= 2
        return True


def page_end(start: int, rows: int) -> int:
    """Where a read of ``rows`` rows from `seq` ``start`` stops (exclusive): at most ``rows``
    on, and never past the end of ``start``'s ``log_page`` page, so one page's index answers
    it."""
    page_rows = contract.LOG_PAGE_ROWS
    return min(start + rows, (start // page_rows + 1) * page_rows)


def page_start(end: int, rows: int) -> int:
    """Where a read of ``rows`` rows ending before `seq` ``end`` (> 1) starts: at most
    ``rows`` back, never before the ``log_page`` page of ``end - 1`` (so one page's index
    answers it) and never before `seq` 1."""
    page_rows = contract.LOG_PAGE_ROWS
    return max(1, end - rows, (end - 1) // page_rows * page_rows)


def log_rows_query(start: int, end: int) -> str:
    """The SQL for the `event_log` rows with ``start <= seq < end`` (within one ``log_page``
    page, see `page_end`) through that page's index: SpacetimeDB 1.2 plans it as an index scan
    of ``log_page`` on ``page`` joined by index to `event_log` on ``seq``, whereas it answers a
    ``seq`` range on `event_log` by scanning the whole table."""
    page = start // contract.LOG_PAGE_ROWS
    return (
        f"SELECT {Table.EVENT_LOG}.* FROM {Table.LOG_PAGE} JOIN {Table.EVENT_LOG}"  # noqa: S608
        f" ON {Table.LOG_PAGE}.seq = {Table.EVENT_LOG}.seq"
        f" WHERE {Table.LOG_PAGE}.page = {page}"
        f" AND {Table.LOG_PAGE}.seq >= {start} AND {Table.LOG_PAGE}.seq < {end}"
    )


class PageRead(enum.Enum):
    """What the rows the ``log_page`` index gave for a read from `seq` ``start`` mean
    (`indexed_read`)."""

    WHOLE = "whole"
    """They are every row from ``start`` on, without a gap: the read is done (when there are
    fewer than asked, the log ends there for now, which the next read checks)."""
    EMPTY = "empty"
    """None: either the log ends before ``start`` or its rows there have no ``log_page`` row
    (stored by a module from before the table); one row read by ``seq`` tells which."""
    INCOMPLETE = "incomplete"
    """They do not start at ``start`` or have gaps: some rows have no ``log_page`` row; the
    range is read from `event_log` itself."""


def indexed_read(start: int, seqs: Sequence[int]) -> PageRead:
    """What the sorted ``seqs`` the ``log_page`` index gave for a read from ``start`` mean (see
    `PageRead`): the log's `seq` is gap-free and its rows are never deleted, so a page whose
    index rows are all there gives ``start, start + 1, ...``."""
    if not seqs:
        return PageRead.EMPTY
    if seqs[0] == start and seqs[-1] == start + len(seqs) - 1:
        return PageRead.WHOLE
    return PageRead.INCOMPLETE


SeqRangeRead = Callable[[int, int | None], Awaitable[list[Any]]]
"""``read(first, end)``: the rows with ``first <= seq < end`` (no upper bound for None)."""


async def rows_by_seq(
    table: Table, read: SeqRangeRead, last_seq: Callable[[], Awaitable[int]], first: int
) -> list[Any]:
    """The rows ``read`` gives for ``seq >= first``, in `seq` order, asked for in one message
    when they fit. An answer over the client's message limit (MessageTooLargeError) is asked
    for again as the two halves of its `seq` range, each in turn and split again as needed; an
    open range is first closed at ``last_seq() + 1`` (the rows written since are read after).
    The `seq` is the log's, shared by every table, so a range may hold few or no rows of
    ``table``. OversizedRowError naming ``table`` and the `seq` when a single `seq` is over the
    limit; IntegrityError when rows lie past the log's last `seq` (a damaged log)."""
    return await _split(table, read, last_seq, first, None)


async def _split(
    table: Table,
    read: SeqRangeRead,
    last_seq: Callable[[], Awaitable[int]],
    first: int,
    end: int | None,
) -> list[Any]:
    try:
        rows = await read(first, end)
    except MessageTooLargeError as error:
        if end is not None and end - first <= 1:
            raise OversizedRowError(str(table), first, error.limit) from error
        log.warning("read_split", table=str(table), first_seq=first, end_seq=end)
        if end is None:
            top = await last_seq() + 1
            if top <= first:
                raise IntegrityError(
                    f"{table} holds rows from seq {first} on, but the event_log ends before it"
                ) from error
            halves = [(first, top), (top, None)]
        else:
            middle = (first + end) // 2
            halves = [(first, middle), (middle, end)]
        return [
            row for low, high in halves for row in await _split(table, read, last_seq, low, high)
        ]
    return sorted(rows, key=lambda r: int(r.seq))


_seq_of = operator.itemgetter(0)
"""A `translate.LogEntry`'s `seq`."""
_size_of = operator.itemgetter(1)
"""A `translate.LogEntry`'s size in a page."""
_data_of = operator.itemgetter(7)
"""A `translate.LogEntry`'s data: None for a row that publishes no event (the module's own, or
one an admin redacted; see `translate.event_from_entry`)."""


def _sized_row(row: Any) -> tuple[int, int, Any]:
    """An `event_log` row with its `seq` and its size in a page before it (see `_log_pages`)."""
    entry = translate.log_entry(row)
    return entry[0], entry[1], row


class _LogEntries(enum.Enum):
    """The one `RowReading` that makes `event_log` rows `translate.LogEntry`s."""

    LOG_ENTRIES = "log_entries"


LOG_ENTRIES = _LogEntries.LOG_ENTRIES
"""`event_log` rows as their `translate.LogEntry`, made from each row's column values as the
client decodes them (`translate.log_entry_reader`, `DbConnection.one_off_query`'s
``columns``): no row object is built for a replayed row."""

RowReading = Callable[[Any], Any] | _LogEntries | None
"""What a read makes of each decoded row: the row itself (None), ``each(row)`` (a function,
`DbConnection.one_off_query`'s ``each``), or `LOG_ENTRIES`."""


WALK_BACK_LIMIT = 64
"""The most ``state_version`` rows `Reader.version_tail` reads one at a time by primary key
(a round trip each) before it reads the timeline's rows in one query instead: with the
admin's ``snapshot_interval`` up to 10,000, a walk to the nearest snapshot could otherwise
cost that many round trips."""


def tail_start(rows: Sequence[Any]) -> int:
    """The index in ``rows`` (a timeline's ``state_version`` rows, oldest first) of the last
    one holding a snapshot or without a parent (a root): the versions from there on rebuild
    without the ones before. 0 when there is none (the first row's parent is on the timeline
    it branched from)."""
    for at in range(len(rows) - 1, 0, -1):
        if rows[at].snapshot is not None or rows[at].parent_version_id is None:
            return at
    return 0


@attrs.frozen
class CheckpointRow:
    """A projector stream's checkpoint as the module keeps it, and the ``seq`` of the last
    delta it results from (the deltas after it are read from there)."""

    checkpoint: ProjectorCheckpoint
    seq: int


@attrs.frozen
class EventPage:
    """One page of the log: its rows as `translate.LogEntry`s (plain values), the last ``seq`` it
    covered, and whether its events are marked ``replayed``."""

    entries: list[translate.LogEntry]
    last_seq: int
    replayed: bool = False

    def events(self) -> Iterator[tuple[int, Event]]:
        """The page's published events with their ``seq``, in log order (see `published`)."""
        for entry, event in self.published():
            yield entry[0], event

    def published(self) -> Iterator[tuple[translate.LogEntry, Event]]:
        """The page's published events with their entries, in log order (the module's own
        events are left out), each built as it is taken: an event the caller lets go of is
        freed young (see `translate.LogEntry`). Raises what `translate.event_from_entry`
        raises."""
        event_from_entry = translate.event_from_entry
        replayed = self.replayed
        for entry in self.entries:
            event = event_from_entry(entry, replayed)
            if event is not None:
                yield entry, event


def quoted(text: str) -> str:
    """A SQL string literal (ids and names are validated by the module, this is belt and braces)."""
    return "'" + text.replace("'", "''") + "'"


_ROW_OF: dict[str, tuple[Table, str, str | None, contract.RedactedKind]] = {
    "publish_event": (Table.EVENT_LOG, "event_id", "event", contract.RedactedKind.EVENT),
    "commit_state_version": (
        Table.STATE_VERSION,
        "version_id",
        None,
        contract.RedactedKind.STATE_VERSION,
    ),
    "record_delta": (Table.DELTA_RECORD, "delta_id", None, contract.RedactedKind.DELTA),
}
"""reducer -> (table, key column, the argument holding the key when it is not the column, what
redacting that row is)."""


class Reader:
    """One-off SQL queries over ``connection``; every method raises the client's errors
    (SpacetimeConnectionError, QueryError) and PersistenceError for rows it cannot read.
    With ``retry_for``, a query meeting connection trouble is asked again for up to that
    many seconds, then PersistenceError is raised instead (`retrying.retried`)."""

    def __init__(
        self, connection: DbConnection, page_bytes: int = PAGE_BYTES, retry_for: float | None = None
    ) -> None:
        """``page_bytes``: what one `event_log` page aims at (see `PAGE_BYTES`)."""
        self._connection = connection
        self._page_bytes = page_bytes
        self._retry_for = retry_for
        self.range_reads = 0
        """How many `event_log` reads fell back to a `seq` range (`log_rows`)."""

    async def _query(self, query: str, what: str, each: RowReading = None) -> list[QueryResult]:
        """``query``'s results (with ``each``, what it makes of each row, see `RowReading`),
        asked again on connection trouble with ``retry_for``; ``what`` names the read in the
        error then."""
        if each is LOG_ENTRIES:
            ask = functools.partial(
                self._connection.one_off_query, query, columns=translate.log_entry_reader
            )
        else:
            ask = functools.partial(self._connection.one_off_query, query, each=each)
        if self._retry_for is None:
            return await ask()
        return await retried(ask, what, retry_for=self._retry_for)

    async def _select(self, table: Table, where: str = "", each: RowReading = None) -> list[Any]:
        """The rows of ``table`` for which ``where`` (SQL, values `quoted`) holds (with ``each``,
        what it makes of each row, see `RowReading`)."""
        query = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")  # noqa: S608
        results = await self._query(query, f"reading {table}", each)
        return [row for result in results for row in result.rows]

    async def _select_by_seq(self, table: Table, where: str, after_seq: int = 0) -> list[Any]:
        """The rows of ``table`` with `seq` after ``after_seq`` for which ``where`` (SQL, or "")
        holds, in `seq` order, in as many messages as their size needs (`rows_by_seq`)."""

        async def read(first: int, end: int | None) -> list[Any]:
            bounds = [f"seq >= {first}"] + ([] if end is None else [f"seq < {end}"])
            return await self._select(table, " AND ".join(([where] if where else []) + bounds))

        return await rows_by_seq(table, read, self.last_seq, int(after_seq) + 1)

    async def _log_pages(
        self, after_seq: int = 0, each: RowReading = LOG_ENTRIES
    ) -> AsyncIterator[list[Any]]:
        """`event_log` rows after ``after_seq`` as ``each`` makes them (`RowReading`: by default
        their `translate.LogEntry`; any tuple with the `seq` first and the row's size second), in
        `seq` order, a page at a time (`_sized_page`): the `seq` is gap-free, so an empty page
        is the end."""
        sizer = PageSizer(budget=self._page_bytes)
        start = after_seq + 1
        while page := await self._sized_page(sizer, start, each):
            yield page
            start = int(page[-1][0]) + 1

    async def _log_pages_before(self, end: int) -> AsyncIterator[list[translate.LogEntry]]:
        """The `event_log` rows before `seq` ``end`` (at most the log's last `seq` + 1) as
        `translate.LogEntry`s, newest page first (each page in `seq` order), down to `seq` 1,
        each page sized as `_log_pages` sizes them. IntegrityError when the log has no row
        just before a page (a gap, which the module rules out)."""
        sizer = PageSizer(budget=self._page_bytes)
        while end > 1:
            page = await self._sized_page(sizer, end, LOG_ENTRIES, before=True)
            if not page or int(page[-1][0]) != end - 1:
                raise IntegrityError(f"event_log has no row with seq {end - 1}: the log has a gap")
            yield page
            end = int(page[0][0])

    async def _sized_page(
        self, sizer: PageSizer, seq: int, each: RowReading, *, before: bool = False
    ) -> list[Any]:
        """The `event_log` rows from `seq` ``seq`` on (``before``: the ones before it), as many
        as ``sizer`` says (about ``page_bytes``, see `PageSizer`) and within one ``log_page``
        page (`page_end`, `page_start`, `log_rows`), then sizes the next page by them. A page
        over the client's message limit is asked for again with half the rows;
        OversizedRowError when one row alone is over it."""
        while True:
            rows = sizer.rows
            start, end = (page_start(seq, rows), seq) if before else (seq, page_end(seq, rows))
            try:
                page = await self.log_rows(start, end, each)
            except MessageTooLargeError as error:
                log.warning("replay_page_too_large", first_seq=start, rows=rows)
                if not sizer.shrink():
                    raise OversizedRowError(str(Table.EVENT_LOG), start, error.limit) from error
                continue
            if page:
                sizer.fitted(len(page), sum(map(_size_of, page)))
            return page

    async def log_rows(self, start: int, end: int, each: RowReading = LOG_ENTRIES) -> list[Any]:
        """The `event_log` rows with ``start <= seq < end`` (``end`` at most `page_end`) as
        ``each`` makes them (`RowReading`: by default their `translate.LogEntry`; a tuple with
        the `seq` first), in `seq` order, read through the ``log_page`` index
        (`log_rows_query`); when the index lacks some of them (rows stored before the module
        had it, see `indexed_read`), read by `seq` range instead, which the server answers by
        scanning the log (counted in `range_reads`). Raises what `_select` raises."""
        query = log_rows_query(start, end)
        rows = [
            row
            for result in await self._query(query, "reading event_log", each)
            for row in result.rows
        ]
        rows.sort(key=_seq_of)
        verdict = indexed_read(start, [int(row[0]) for row in rows])
        if verdict is PageRead.WHOLE:
            return rows
        if verdict is PageRead.EMPTY and not await self._select(Table.EVENT_LOG, f"seq = {start}"):
            return []  # the log ends before start
        self.range_reads += 1
        log.debug("replay_page_by_range", first_seq=start, end_seq=end, index=verdict.value)
        rows = await self._select(Table.EVENT_LOG, f"seq >= {start} AND seq < {end}", each)
        rows.sort(key=_seq_of)
        return rows

    async def row_pages(self, after_seq: int = 0) -> AsyncGenerator[list[Any], None]:
        """The `event_log` rows after ``after_seq`` as the client decoded them, in `seq` order,
        a page at a time, as `_log_pages` reads them (each page about ``page_bytes``, asked
        for again smaller when over the message limit; OversizedRowError for one row alone
        over it): for a follower catching up without a subscription whose first answer would
        hold them all."""
        async for page in self._log_pages(after_seq, _sized_row):
            yield [row for _, _, row in page]

    async def event_pages(
        self, after_seq: int = 0, replayed: bool = False
    ) -> AsyncGenerator[EventPage, None]:
        """The published events after ``after_seq``, in log order, a page at a time (see
        `_log_pages`), marked ``replayed`` as asked: nothing but the current page is held."""
        async for page in self._log_pages(after_seq):
            yield EventPage(page, int(page[-1][0]), replayed)

    async def last_seq(self) -> int:
        """The highest `seq` in the log (0 when empty), found by looking rows up by `seq`
        (`holds_seq`): the log is gap-free from 1, so the rows are there up to it and not
        after; the steps double until one is missing, then the gap is halved, about
        ``2 * log2(seq)`` lookups in all (40 for a million rows), whatever the rows' size."""
        present, missing = 0, 1
        while await self.holds_seq(missing):
            present, missing = missing, 2 * missing
        while missing - present > 1:
            middle = (present + missing) // 2
            if await self.holds_seq(middle):
                present = middle
            else:
                missing = middle
        return present

    async def holds_seq(self, seq: int) -> bool:
        """Whether the log has a row with `seq` ``seq``: its ``log_page`` row (looked up by
        primary key), or else (a row stored by a module from before that table) the row
        itself (by its unique `seq`)."""
        if await self._select(Table.LOG_PAGE, f"seq = {int(seq)}"):
            return True
        return bool(await self._select(Table.EVENT_LOG, f"seq = {int(seq)}"))

    async def tail_seq(self, published: int) -> int:
        """Where replay may begin to deliver the log's last ``published`` published events (an
        int >= 0; the module's own events and redacted ones publish none, see
        `translate.event_from_entry`): the `seq` of the earliest of them; 1 when the log has
        no more rows than ``published``; the last `seq` + 1 for 0. Reads the log backwards
        from its last `seq` (`last_seq`) a page at a time, each bounded by bytes as replay's
        (`_sized_page`), holding one page: the rows read are those from that `seq` on and at
        most a page more, not the whole log (unless it holds fewer such events: then all of
        it, and the `seq` is that of its first published event, or the last `seq` + 1 when
        there is none)."""
        end = earliest = await self.last_seq() + 1
        left = published
        if left == 0:
            return end
        if end <= published:  # no more rows than events asked for: all are read
            return 1
        async for page in self._log_pages_before(end):
            for entry in reversed(page):
                if _data_of(entry) is not None:
                    earliest = int(entry[0])
                    left -= 1
                    if left == 0:
                        return earliest
        return earliest

    async def stored(self, call: contract.ReducerCall) -> bool:
        """Whether the row ``call`` writes (an event, a version or a delta, by its id) exists
        now, or did until an admin redacted it (sending it again would be refused); False for
        other reducers (nothing to look up)."""
        where = _ROW_OF.get(call.reducer)
        if where is None:
            return False
        table, column, key, kind = where
        value = call.argument(column if key is None else key)
        if key is not None:  # publish_event: the id is inside the EventInput
            assert isinstance(value, contract.EventInput)
            value = value.event_id
        rows = await self._select(table, f"{column} = {quoted(str(value))}")  # a unique index
        return bool(rows) or await self.redacted(kind, str(value))

    async def redacted(self, kind: contract.RedactedKind, target_id: str) -> bool:
        """Whether an admin redacted ``kind`` ``target_id`` (its tombstone is in the log)."""
        rows = await self._select(Table.EVENT_LOG, f"event_type = {quoted(kind.event_type)}")
        return any(
            (tombstone := translate.tombstone_from_row(row)) is not None
            and tombstone.target_id == target_id
            for row in rows
        )

    async def relation_row(self, relation_id: str) -> Any | None:
        """The ``relation`` row of ``relation_id``, or None."""
        rows = await self._select(Table.RELATION, f"id = {quoted(relation_id)}")
        return rows[0] if rows else None

    async def version_row(self, version_id: str) -> Any | None:
        """The ``state_version`` row of ``version_id``, or None."""
        rows = await self._select(Table.STATE_VERSION, f"version_id = {quoted(version_id)}")
        return rows[0] if rows else None

    async def versions(self, timeline: str) -> list[tuple[VersionedState, list[Operation]]]:
        """The timeline's versions, oldest first, each state rebuilt and hash-checked."""
        return await self._rebuilt(await self.versions_after(timeline, None))

    async def _rebuilt(self, rows: list[Any]) -> list[tuple[VersionedState, list[Operation]]]:
        """``state_version`` rows (a chain, oldest first) as versions with their operations,
        each state rebuilt and hash-checked (see `_state`)."""
        states: dict[str, JSON] = {}
        result: list[tuple[VersionedState, list[Operation]]] = []
        for row in rows:
            operations = [translate.operation_from_row(op) for op in row.operations]
            state = await self._state(row, operations, states)
            result.append((translate.version_from_row(row, state), operations))
        return result

    async def versions_before(
        self, timeline: str, version_id: str
    ) -> list[tuple[VersionedState, list[Operation]]]:
        """The versions of ``timeline`` committed before ``version_id``, as `versions` gives
        them (the whole timeline's rows are read, the states before it rebuilt)."""
        rows = await self.versions_after(timeline, None)
        ids = [str(row.version_id) for row in rows]
        if version_id not in ids:
            why = (
                "an admin redacted it since it was read (the timeline now ends before it)"
                if await self.redacted(contract.RedactedKind.STATE_VERSION, version_id)
                else "an admin may have redacted it since it was read, or the database was "
                "restored from a backup"
            )
            raise IntegrityError(
                f"version {version_id!r} is no longer on timeline {timeline!r}: {why}; start "
                "the runtime again to restore the timeline as it is now"
            )
        return await self._rebuilt(rows[: ids.index(version_id)])

    async def version_tail(
        self, timeline: str
    ) -> tuple[list[tuple[VersionedState, list[Operation]]], bool]:
        """The last versions of ``timeline``, oldest first, as `versions` gives them, and
        whether they are all of its versions: from its head back to the nearest version that
        holds a snapshot, the timeline's root, or the first version of a timeline that branched
        from another. Read one row at a time by primary key (an index lookup), so the reads
        are bounded by the versions since the last snapshot (at most about
        ``snapshot_interval``), not by the timeline's length; after `WALK_BACK_LIMIT` such
        reads without reaching one, the timeline's rows are read in one query instead (as a
        full restore does) and the versions from the nearest one on are rebuilt
        (`tail_start`). IntegrityError when a version names a parent that is missing."""
        head = await self.timeline(timeline)
        if head is None:
            return [], True
        count = int(head.version_count)
        rows: list[Any] = []
        version_id: str | None = str(head.head_version_id)
        while version_id is not None and len(rows) < count:
            if len(rows) == WALK_BACK_LIMIT:
                whole = await self.versions_after(timeline, None)
                start = tail_start(whole)
                log.info("version_tail_read_whole", timeline=timeline, rows=len(whole))
                return await self._rebuilt(whole[start:]), start == 0
            row = await self.version_row(version_id)
            if row is None:
                raise IntegrityError(
                    f"timeline {timeline!r} names version {version_id!r}, which is missing"
                )
            if row.timeline != timeline:
                count = len(rows)  # the timeline branched from this version: all are read
                break
            rows.append(row)
            if row.snapshot is not None:
                break
            version_id = row.parent_version_id
        rows.reverse()
        complete = len(rows) == count or rows[0].parent_version_id is None
        return await self._rebuilt(rows), complete

    async def state(self, version_id: str) -> JSON:
        """One version's state, rebuilt and hash-checked; UnknownVersionError when there is no such
        version."""
        row = await self.version_row(version_id)
        if row is None:
            raise UnknownVersionError(f"state version {version_id!r} does not exist")
        operations = [translate.operation_from_row(op) for op in row.operations]
        return await self._state(row, operations, {})

    async def _state(self, row: Any, operations: list[Operation], known: dict[str, JSON]) -> JSON:
        """A version's state: its snapshot, or its parent's state with its operations applied
        (a parent on another timeline is read on demand)."""
        if row.snapshot is not None:
            state = parse_json(row.snapshot)
        else:
            parent_id = row.parent_version_id
            if parent_id is None:
                raise IntegrityError(f"version {row.version_id!r} has neither snapshot nor parent")
            if parent_id not in known:
                parent = await self.version_row(parent_id)
                if parent is None:
                    raise IntegrityError(
                        f"version {row.version_id!r} names parent {parent_id!r}, which is missing"
                    )
                parent_ops = [translate.operation_from_row(op) for op in parent.operations]
                await self._state(parent, parent_ops, known)
            state = apply(known[parent_id], operations)
        actual = data_hash(state)
        if actual != row.data_hash:
            raise IntegrityError(
                f"version {row.version_id!r}: the rebuilt state hashes to {actual}, "
                f"but {row.data_hash} was stored; the history is damaged at this version"
            )
        known[row.version_id] = state
        return state

    async def delta_rows(self, stream: str, after_seq: int = 0) -> list[Any]:
        """The ``delta_record`` rows of projector ``stream`` after ``after_seq``, in recording
        (``seq``) order, read in as many messages as their size needs (`rows_by_seq`)."""
        return await self._select_by_seq(
            Table.DELTA_RECORD, f"stream = {quoted(stream)}", after_seq
        )

    async def delta_checkpoint(self, stream: str) -> CheckpointRow | None:
        """The module's checkpoint of projector ``stream`` (``delta_checkpoint``), its state
        hash-checked, or None when it has none (no refresh applied a delta yet, or a redaction
        inside it removed it). IntegrityError when its state does not hash to its stored
        ``data_hash``."""
        rows = await self._select(Table.DELTA_CHECKPOINT, f"stream = {quoted(stream)}")
        if not rows:
            return None
        row = rows[0]
        state = parse_json(row.state)
        actual = data_hash(state)
        if actual != row.data_hash:
            raise IntegrityError(
                f"the checkpoint of delta stream {stream!r} hashes to {actual}, but "
                f"{row.data_hash} was stored; the checkpoint is damaged"
            )
        return CheckpointRow(
            ProjectorCheckpoint(
                state, int(row.next_index), int(row.delta_count), int(row.noop_count)
            ),
            int(row.seq),
        )

    async def versions_after(self, timeline: str, version_id: str | None) -> list[Any]:
        """The ``state_version`` rows of ``timeline`` committed after ``version_id`` (all of
        them for None), in commit (``seq``) order, read in as many messages as their size needs
        (`rows_by_seq`); UnknownVersionError when ``version_id`` does not exist."""
        after = 0
        if version_id is not None:
            row = await self.version_row(version_id)
            if row is None:
                raise UnknownVersionError(f"state version {version_id!r} does not exist")
            after = int(row.seq)
        return await self.version_rows(timeline, after)

    async def version_rows(self, timeline: str, after_seq: int) -> list[Any]:
        """The ``state_version`` rows of ``timeline`` with `seq` after ``after_seq``, in
        commit (``seq``) order, read in as many messages as their size needs
        (`rows_by_seq`)."""
        return await self._select_by_seq(
            Table.STATE_VERSION, f"timeline = {quoted(timeline)}", after_seq
        )

    async def timeline(self, name: str) -> Any | None:
        """The ``timeline`` row (head and snapshot count) of ``name``, or None."""
        rows = await self._select(Table.TIMELINE, f"name = {quoted(name)}")
        return rows[0] if rows else None

    async def timeline_names(self) -> list[str]:
        """The names of every version timeline, sorted."""
        return sorted(str(row.name) for row in await self._select(Table.TIMELINE))

    async def stream_names(self) -> list[str]:
        """The names of every projector stream with deltas, sorted."""
        rows = await self._select_by_seq(Table.DELTA_RECORD, "")
        return sorted({str(row.stream) for row in rows})

    async def snapshot_interval(self) -> int:
        """The interval the module applies (its default when the row is missing or bad)."""
        key = quoted(contract.SNAPSHOT_INTERVAL_KEY)
        rows = await self._select(Table.CONFIG, f"key = {key}")
        return contract.parse_interval(str(rows[0].value) if rows else None)


@attrs.frozen
class SkippedDelta:
    """A recorded delta whose operations do not apply to the stream's state at its place in
    the log (a remove of a key that is not there, a result nested deeper than ``MAX_DEPTH``):
    its id, stream, ``seq`` and the delta layer's error text."""

    delta_id: str
    stream: str
    seq: int
    error: str

    def warn(self) -> None:
        """Logs the one warning a delta skipped by replay gets (``delta_skipped``); live, the
        projector makes it a no-op at its place (``delta_not_applicable``)."""
        log.warning(
            "delta_skipped",
            delta_id=self.delta_id,
            stream=self.stream,
            seq=self.seq,
            error=self.error,
            hint="its operations do not apply at its place in the log; it changes nothing",
        )


@attrs.frozen
class DeltaStream:
    """A projector stream read from its ``delta_record`` rows in log (``seq``) order.

    ``deltas``: every delta as ``(index, metadata, operations)``, a skipped one with no
    operations (it holds its place and its index, and changes nothing); ``skipped``: the
    skipped ones; ``state``: the state after all of them.
    """

    deltas: list[tuple[int, DeltaMetadata, list[Operation]]]
    skipped: list[SkippedDelta]
    state: JSON


@attrs.frozen
class DecodedDeltas:
    """A projector stream's ``delta_record`` rows decoded, in log (``seq``) order, none
    applied: ``deltas`` as `StateProjector.restore` takes them (a delta whose operations
    cannot be decoded has none), ``undecodable`` those, and where each delta is stored
    (``stored``: index -> (delta_id, seq)), to report the ones that do not apply
    (`skipped`)."""

    stream: str
    deltas: list[tuple[int, DeltaMetadata, list[Operation]]]
    undecodable: list[SkippedDelta]
    stored: dict[int, tuple[str, int]]

    def skipped(self, noops: Sequence[NoOp]) -> list[SkippedDelta]:
        """The deltas that did not apply (``noops``, from restoring ``deltas``) or could not be
        decoded, in log order, each warned once (`SkippedDelta.warn`)."""
        skipped = [*self.undecodable]
        for noop in noops:
            delta_id, seq = self.stored[noop.index]
            skipped.append(SkippedDelta(delta_id, self.stream, seq, noop.error))
        skipped.sort(key=lambda skip: skip.seq)
        for skip in skipped:
            skip.warn()
        return skipped


def decode_deltas(stream: str, rows: list[Any], first_index: int = 0) -> DecodedDeltas:
    """``delta_record`` rows of ``stream`` (in ``seq`` order) decoded, not applied. Each
    delta's index is `streams.delta_index`'s (from ``first_index``, a checkpoint's
    ``next_index`` for the rows after it), so indexes rise along the log whatever the ids'
    form. PersistenceError only for a row this plugin cannot decode at all (another schema)."""
    deltas: list[tuple[int, DeltaMetadata, list[Operation]]] = []
    undecodable: list[SkippedDelta] = []
    stored: dict[int, tuple[str, int]] = {}
    for row in rows:
        delta_id, seq = str(row.delta_id), int(row.seq)
        index = delta_index(stream, delta_id, deltas[-1][0] + 1 if deltas else first_index)
        metadata = translate.delta_metadata_from_row(row, index)
        try:
            operations = [translate.operation_from_row(op) for op in row.operations]
        except DeltaError as error:
            undecodable.append(SkippedDelta(delta_id, stream, seq, str(error)))
            operations = []
        deltas.append((index, metadata, operations))
        stored[index] = (delta_id, seq)
    return DecodedDeltas(stream, deltas, undecodable, stored)


def deltas_from_rows(stream: str, rows: list[Any], initial: JSON) -> DeltaStream:
    """``delta_record`` rows of ``stream`` (in ``seq`` order, see `decode_deltas`) applied
    once, in that order, to ``initial`` (the state the projector starts from; left
    unchanged) by a `StateProjector`. A delta whose operations raise the delta layer's error
    at its place is skipped (`SkippedDelta`, warned once): no stored delta stops a replay."""
    decoded = decode_deltas(stream, rows)
    projector = StateProjector(initial)
    skipped = decoded.skipped(projector.restore(decoded.deltas))
    empty = {skip.seq for skip in skipped}
    deltas = [
        (index, metadata, [] if decoded.stored[index][1] in empty else operations)
        for index, metadata, operations in decoded.deltas
    ]
    return DeltaStream(deltas, skipped, projector.get_current_state())
