"""Re-publishes the events other processes write into the local EventBus: once each, in log
order, in constant memory, and after a reconnect without fetching the log again.

Following starts, and starts again after each reconnect, by catching up: the `event_log` rows
from the next one due are read in pages bounded by bytes (`Reader.row_pages`, each about a
quarter of ``max_message_bytes`` and at most `reader.PAGE_BYTES`, halved when one is over
it), then a subscription covers the rows after the last one read. Its first answer holds only
what was written in between, so no answer grows with what was missed: a follower whose rows
together exceed the message limit keeps following (it never resubscribes to a window over the
limit, which dropped the connection on every reconnect). The subscription is not renewed by
the client (``renew=False``): a drop ends it, and the catch-up after the reconnect makes the
next one (`CatchUp`).
A single row over the limit cannot be read at all: following stops for good with an
`OversizedRowError` (`Follower.error`), which the recorder's ``health`` shows and its next
``flush`` raises. The table is streamed, not cached (`TableCache.stream`), so memory does not
grow with the log; the subscription's rows are `LazyRow`s, handed over a message at a time
(`TableCache.on_inserts`), so this process's own events coming back cost the decoding of two
columns (``event_id``, ``seq``), not of the whole row, and no callback call each. Rows may
arrive out of `seq` order (a batch); `seq` is gap-free, so each waits in a reorder buffer until
its predecessors are in, and events leave in log order.

The module's graph events (``ENTITY_CREATED``...) are delivered whoever wrote them, this
process included (see `nerv.graph_events`). A delivery thread publishes them into the bus, as
recorded copies (``replayed=True``: the runtime does not record them again), because handlers
may publish in turn, which needs the writer, which must not be entered from its own loop.

A delivered event the bus refuses (a guard raises) is logged as a warning
(``remote_event_refused``) and counted (`Follower.refused`); delivery goes on with the next.

A redaction's tombstone is a module event, so it is not delivered; it is logged as a warning
(``redacted``): what the runtime already holds stays until a restart replays without it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from nerv_inner_universe.client import (
    DbConnection,
    EventContext,
    MessageTooLargeError,
    SubscriptionHandle,
)
from nerv_inner_universe.contract import Table
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import Event, EventBus
from nerv_inner_universe.plugin import translate
from nerv_inner_universe.plugin.catch_up import CatchUp
from nerv_inner_universe.plugin.graph_translate import graph_event_from_row
from nerv_inner_universe.plugin.reader import Reader
from nerv_inner_universe.plugin.recent_events import Recent

log = get_logger(__name__)

RECHECKED = 5_000
"""Rows checked again after a reconnect (more than a crash can lose at this client's pace: the
server's last half second), and remote event ids remembered so that one re-sent after a crash
is not delivered twice. A reconnect reads at most this many rows again (in pages bounded by
bytes), at any history length."""


def _warn_redacted(tombstone: translate.Tombstone) -> None:
    """An admin redacted something: a running runtime keeps what it delivered or restored
    before (an EventBus cannot take an event back); replay after a restart leaves it out."""
    log.warning(
        "redacted",
        kind=str(tombstone.kind),
        target_id=tombstone.target_id,
        reason=tombstone.reason,
        redacted_by=tombstone.redacted_by.hex,
        hint="this runtime may still hold it in memory; restart it to replay without it",
    )


class Follower:
    """Delivers the events other processes write into ``bus``, in log order, on a thread of
    its own; `stop` ends it."""

    def __init__(self, bus: EventBus, is_remote: Callable[[str], bool]) -> None:
        """``is_remote(event_id)`` tells the events of other processes from this one's echoes:
        False only for a client event this process published (never a module event's
        ``sys:<seq>``); asked first, before a row's data is read: most rows are this process's
        own."""
        self._bus = bus
        self._is_remote = is_remote
        self._inbox: queue.Queue[Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._deliver, name="nerv-iu-follow", daemon=True)
        self._handle: SubscriptionHandle | None = None
        self._reader: Reader | None = None
        self._catch_up = CatchUp("events", self._step)
        self._rewinds = 0
        """How often a drop moved `next_seq` back (a catch-up under way starts again there)."""
        self._next_seq = 1
        self._first_seq = 1
        self._waiting: dict[int, Any] = {}
        self._seen: Recent[int, str] = Recent(RECHECKED)
        """``seq`` -> ``event_id`` of the last `RECHECKED` rows handed on."""
        self._delivered_ids: Recent[str, None] = Recent(RECHECKED)
        """The ids of the last `RECHECKED` remote events published into the bus."""
        self.delivered = 0
        """Remote events published into the bus."""
        self.refused = 0
        """Delivered events the bus refused (a guard raised): logged, counted, passed over."""
        self.received = 0
        """`event_log` rows received, repeats after a reconnect included."""

    @property
    def next_seq(self) -> int:
        """The `seq` of the next row the stream will hand on (every earlier one was)."""
        return self._next_seq

    @property
    def waiting(self) -> int:
        """Rows received ahead of a predecessor that has not arrived yet."""
        return len(self._waiting)

    @property
    def error(self) -> Exception | None:
        """Why following stopped for good (an `OversizedRowError`: a row alone over the
        message limit), or None while it goes on."""
        return self._catch_up.error

    async def start(self, connection: DbConnection, reader: Reader, after_seq: int) -> None:
        """Follows the rows after ``after_seq`` (what replay already covered): returns once the
        rows written since are read through ``reader`` (`Reader.row_pages`, no retries of its
        own: connection trouble is met by reading on from where it stopped once reconnected)
        and the rows after them are subscribed to. Raises what stops following for good
        (`OversizedRowError` for a row alone over the message limit, a QueryError), and
        SpacetimeConnectionError when the connection closed for good meanwhile."""
        self._next_seq = self._first_seq = after_seq + 1
        self._reader = reader
        self._thread.start()
        table = connection.cache.table(Table.EVENT_LOG)
        table.stream(lazy=True)  # most rows are our own: read three columns of those
        table.on_inserts(self._on_inserts)
        connection.on_disconnect(self._dropped)
        await self._catch_up.start(connection)

    def _window(self) -> str:
        return f"SELECT * FROM {Table.EVENT_LOG} WHERE seq >= {self._next_seq}"  # noqa: S608

    async def _step(self, connection: DbConnection) -> bool:
        """Reads the rows from `next_seq` on in pages and hands them on, then subscribes to the
        rows after the last one (see `CatchUp`). False when a drop moved `next_seq` back
        meanwhile, or ended the subscription once applied."""
        assert self._reader is not None  # set by start, before any catch-up
        rewinds = self._rewinds
        pages = self._reader.row_pages(self._next_seq - 1)
        try:
            async for page in pages:
                if self._rewinds != rewinds:
                    return False
                for row in page:
                    self._on_row(row)
        finally:
            await pages.aclose()
        if self._rewinds != rewinds:
            return False
        handle = await connection.subscribe(self._window(), renew=False)
        self._handle = handle
        return handle.is_active

    def _dropped(self, _connection: DbConnection, error: Exception | None) -> None:
        """The connection dropped, which ended the subscription. The server may have crashed
        and lost its last rows, and a restarted server hands their ``seq`` to new rows: so the
        catch-up after the reconnect starts `RECHECKED` rows back, and each of those rows is
        handed on again unless it is the row seen at that ``seq`` before. Not after a message
        over the client's limit (the server did not fail): the catch-up goes on from where it
        got to, with smaller pages."""
        self._handle = None
        self._waiting.clear()
        if error is None or isinstance(error, MessageTooLargeError):
            return
        self._next_seq = max(self._first_seq, self._next_seq - len(self._seen))
        self._rewinds += 1

    def _on_inserts(self, _context: EventContext, rows: Sequence[Any]) -> None:
        """The rows one message added (one call a message, not a row: most are our own)."""
        for row in rows:
            self._on_row(row)

    def _on_row(self, row: Any) -> None:
        """One `event_log` row, from the subscription or a catch-up page."""
        self.received += 1
        seq = int(row["seq"])
        if seq != self._next_seq or self._waiting:
            self._reorder(seq, row)
            return
        self._next_seq = seq + 1  # the next one due, nothing waiting: the usual case
        self._hand_on(seq, row)

    def _reorder(self, seq: int, row: Any) -> None:
        """A row that is not simply the next one due: passed over when handed on already (a
        resubscription overlaps the stream), else it waits until its predecessors are in."""
        if seq < self._next_seq:
            return
        self._waiting[seq] = row
        while (ready := self._waiting.pop(self._next_seq, None)) is not None:
            self._next_seq += 1
            self._hand_on(self._next_seq - 1, ready)

    def _hand_on(self, seq: int, row: Any) -> None:
        event_id = str(row["event_id"])
        if self._seen.get(seq) == event_id:  # rechecked after a reconnect: still the same row
            return
        self._seen.set(seq, event_id)
        if not self._is_remote(event_id):
            # Our own (most rows): a client event, never a tombstone or graph event, which are
            # module events named `sys:<seq>` (`event_id` is the table's primary key), so its
            # other columns are not decoded.
            return
        if (tombstone := translate.tombstone_from_row(row)) is not None:
            _warn_redacted(tombstone)
            return
        graph_event = graph_event_from_row(row)
        if graph_event is not None:  # every process's, this one's too: the bus gets it only here
            self._inbox.put(graph_event)
            return
        if event_id in self._delivered_ids:
            return  # an event lost and re-sent under a new seq
        event = translate.event_from_row(row)
        if event is None:
            return  # an audit row
        self._delivered_ids.set(event.id, None)
        self._inbox.put(attrs.evolve(event, replayed=True))

    def _deliver(self) -> None:
        while (event := self._inbox.get()) is not None:
            try:
                self._bus.publish_event(event)
            except Exception as error:  # a guard's veto must not end delivery for all the rest
                self.refused += 1
                log.warning(
                    "remote_event_refused",
                    event_id=event.id,
                    event_type=event.type,
                    error=f"{type(error).__name__}: {error}",
                    hint="a bus guard raised on a delivered event; it is not in this bus",
                )
                continue
            self.delivered += 1
            log.debug("remote_event", event_id=event.id, event_type=event.type)

    def stop(self) -> None:
        """Delivers what is queued, then ends the delivery thread (waits up to 10 s); a
        catch-up under way stops at its next try."""
        self._catch_up.stop()
        self._inbox.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=10)
