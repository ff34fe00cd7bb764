"""Keeps a runtime's TemporalStore and StateProjector live: the versions other processes commit
on its timeline (``state_version``) and the deltas they record on its stream
(``delta_record``) are applied here as they happen, marked remote.

Like the event `follower`, it starts, and starts again after each reconnect, by catching up
(`CatchUp`): the rows after the last one received are read with one-off queries split by `seq`
range until each answer fits ``max_message_bytes`` (`Reader.version_rows`,
`Reader.delta_rows`), then subscriptions cover only the rows after them (``seq >``), so no
subscription's answer grows with what was missed; a single row over the limit stops following
with an `OversizedRowError` (`StateFollower.error`). The tables are streamed rather than
cached (`TableCache.stream`), so memory does not grow with the history. The rows of one
message are handed on in ``seq`` order. A delivery thread of its own applies them,
because applying waits for a commit or a delta in progress, whose write needs the loop.

A version this process committed comes back too: the store holds it already and ignores it.
A delta this process recorded is recognised by its id (``claim_delta``): its row gives its log
position (``seq``) to the projector (`StateProjector.confirm`), and every other delta is
applied at its ``seq`` (`StateProjector.apply_remote`), so the projector's order is the log's.
That relies on the rows arriving in ``seq`` order: the module numbers ``seq`` in the
transaction that inserts the row, transactions are committed one at a time, and a
subscription delivers them in commit order. A remote delta whose operations do not fit
the state at its place is a no-op there, as replay makes it (the projector logs
``delta_not_applicable``). When the store
missed a version (a gap), or a commit of this process was refused because the timeline moved,
`catch_up` reads the versions after the store's head from the server and applies them.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any

from nerv_inner_universe.client import (
    DbConnection,
    EventContext,
    MessageTooLargeError,
    SubscriptionHandle,
)
from nerv_inner_universe.contract import Table
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import StateProjector, TemporalStore
from nerv_inner_universe.nerv.errors import ReplayError
from nerv_inner_universe.plugin import translate
from nerv_inner_universe.plugin.catch_up import CatchUp
from nerv_inner_universe.plugin.reader import Reader, quoted
from nerv_inner_universe.plugin.recent_events import Recent
from nerv_inner_universe.plugin.streams import delta_index

log = get_logger(__name__)

RECHECKED = 5_000
"""After a reconnect the catch-up starts this many ``seq`` back (a server that crashed may have
lost its last rows, and they come again under new numbers), and this many remote delta ids are
remembered, so a row handed over again is applied once. Versions need no memory: the store
knows its own."""

ReadVersionsAfter = Callable[[str | None], list[Any]]
"""``read(version_id)`` -> the ``state_version`` rows of the followed timeline after that
version (all for None), in ``seq`` order; raises the reader's errors."""


class StateFollower:
    """Applies other processes' versions of ``timeline`` to ``store`` and deltas of ``stream``
    to ``projector``, on a thread of its own; `stop` ends it.

    ``claim_delta(delta_id)`` is True for a delta this process recorded (then it is not applied
    again); ``read_versions_after`` is how `catch_up` reads the server.
    """

    def __init__(
        self,
        store: TemporalStore,
        timeline: str,
        projector: StateProjector,
        stream: str,
        *,
        claim_delta: Callable[[str], bool],
        read_versions_after: ReadVersionsAfter,
    ) -> None:
        self._store = store
        self._timeline = timeline
        self._projector = projector
        self._stream = stream
        self._claim_delta = claim_delta
        self._read_versions_after = read_versions_after
        self._inbox: queue.Queue[tuple[Table, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._deliver, name="nerv-iu-state", daemon=True)
        self._handle: SubscriptionHandle | None = None
        self._after: dict[Table, int] = {Table.STATE_VERSION: 0, Table.DELTA_RECORD: 0}
        self._first: dict[Table, int] = dict(self._after)
        self._arrived: list[tuple[Table, Any]] = []
        self._reader: Reader | None = None
        self._rewinds = 0
        """How often a drop moved the windows back (a catch-up under way starts again)."""
        self._catch_up = CatchUp(f"state of {timeline!r}", self._step)
        self._applied_deltas: Recent[str, None] = Recent(RECHECKED)
        self.versions_applied = 0
        """Remote versions applied to the store (by the subscription or by `catch_up`)."""
        self.deltas_applied = 0
        """Remote deltas applied to the projector."""

    @property
    def timeline(self) -> str:
        """The timeline the store is recorded as."""
        return self._timeline

    def head(self) -> str | None:
        """The store's current version id (None while it is empty)."""
        return self._store.get_current_version_id()

    @property
    def error(self) -> Exception | None:
        """Why following stopped for good (an `OversizedRowError`: a row alone over the
        message limit), or None while it goes on."""
        return self._catch_up.error

    async def start(
        self, connection: DbConnection, reader: Reader, version_seq: int, delta_seq: int
    ) -> None:
        """Follows the versions after ``version_seq`` and the deltas after ``delta_seq`` (what
        replay covered): returns once the rows committed since are read through ``reader``
        (no retries of its own: a reconnect's catch-up reads on) and later ones subscribed to.
        Raises what stops following for good (`OversizedRowError`), and
        SpacetimeConnectionError when the connection closed for good meanwhile."""
        self._after = {Table.STATE_VERSION: version_seq, Table.DELTA_RECORD: delta_seq}
        self._first = dict(self._after)
        self._reader = reader
        self._projector.follow_log_order()
        self._thread.start()
        for table in self._after:
            cache = connection.cache.table(table)
            cache.stream()
            cache.on_insert(functools.partial(self._arrive, table))
        connection.on_disconnect(self._dropped)
        await self._catch_up.start(connection)

    def _windows(self) -> tuple[str, str]:
        versions = self._after[Table.STATE_VERSION]
        deltas = self._after[Table.DELTA_RECORD]
        return (
            f"SELECT * FROM {Table.STATE_VERSION} "  # noqa: S608 - quoted, ints
            f"WHERE timeline = {quoted(self._timeline)} AND seq > {versions}",
            f"SELECT * FROM {Table.DELTA_RECORD} "  # noqa: S608 - quoted, ints
            f"WHERE stream = {quoted(self._stream)} AND seq > {deltas}",
        )

    async def _step(self, connection: DbConnection) -> bool:
        """Reads the versions and deltas after the last ones received and hands them on, then
        subscribes to the later ones (see `CatchUp`). False when a drop moved the windows
        back meanwhile, or ended the subscription once applied."""
        assert self._reader is not None  # set by start, before any catch-up
        rewinds = self._rewinds
        versions = await self._reader.version_rows(self._timeline, self._after[Table.STATE_VERSION])
        deltas = await self._reader.delta_rows(self._stream, self._after[Table.DELTA_RECORD])
        if self._rewinds != rewinds:
            return False
        self._hand_on_rows(
            [(Table.STATE_VERSION, row) for row in versions]
            + [(Table.DELTA_RECORD, row) for row in deltas]
        )
        handle = await connection.subscribe(self._windows(), renew=False)
        self._handle = handle
        return handle.is_active

    def _dropped(self, _connection: DbConnection, error: Exception | None) -> None:
        """The connection dropped, which ended the subscriptions: the catch-up after the
        reconnect starts `RECHECKED` ``seq`` before the last rows received (never before where
        following began), since a server that crashed may have lost its last rows. Not after
        a message over the client's limit (the server did not fail)."""
        self._handle = None
        if error is None or isinstance(error, MessageTooLargeError):
            return
        for table, after in self._after.items():
            self._after[table] = max(self._first[table], after - RECHECKED)
        self._rewinds += 1

    def _arrive(self, table: Table, _context: EventContext, row: Any) -> None:
        """On the loop: collect one message's rows; they are handed on, in ``seq`` order, once
        the message is done."""
        if not self._arrived:
            asyncio.get_running_loop().call_soon(self._hand_on)
        self._arrived.append((table, row))

    def _hand_on(self) -> None:
        arrived, self._arrived = self._arrived, []
        self._hand_on_rows(arrived)

    def _hand_on_rows(self, arrived: list[tuple[Table, Any]]) -> None:
        """Queues ``arrived`` for delivery in ``seq`` order, but for rows already handed on
        (a catch-up or a subscription overlapping what came before)."""
        for table, row in sorted(arrived, key=lambda item: int(item[1].seq)):
            seq = int(row.seq)
            if seq <= self._after[table]:
                continue  # a resubscription overlapping what was handed on
            self._after[table] = seq
            self._inbox.put((table, row))

    def _deliver(self) -> None:
        while (item := self._inbox.get()) is not None:
            table, row = item
            try:
                if table is Table.STATE_VERSION:
                    self._apply_version(row)
                else:
                    self._apply_delta(row)
            except Exception:  # user code (guards, observers) included: go on with the next
                log.exception("remote_change_not_applied", table=str(table), seq=int(row.seq))

    def _apply_version(self, row: Any) -> None:
        try:
            applied = self._apply_version_row(row)
        except ReplayError:  # the store missed a version: read what it lacks
            self.catch_up()
            return
        if applied:
            log.debug("remote_version", version_id=row.version_id, timeline=self._timeline)

    def _apply_version_row(self, row: Any) -> bool:
        whole, data = translate.version_snapshot(row)
        operations = [translate.operation_from_row(op) for op in row.operations]
        applied = self._store.apply_remote(
            translate.version_from_row(row, data), operations, whole=whole
        )
        self.versions_applied += int(applied)
        return applied

    def catch_up(self) -> None:
        """Reads the versions committed after the store's head and applies them, so the store
        is at the timeline's head as the server has it now (raises the reader's errors)."""
        for row in self._read_versions_after(self._store.get_current_version_id()):
            self._apply_version_row(row)

    def _apply_delta(self, row: Any) -> None:
        """A delta of this process confirms its log position (``seq``); another's is applied
        at its position, which may rebase the projector (`StateProjector.apply_remote`)."""
        delta_id = str(row.delta_id)
        if delta_id in self._applied_deltas:
            return
        index = delta_index(self._stream, delta_id, 0)
        if self._claim_delta(delta_id):
            self._projector.confirm(index, int(row.seq))
            return
        self._applied_deltas.set(delta_id, None)
        operations = [translate.operation_from_row(op) for op in row.operations]
        applied = self._projector.apply_remote(
            operations, translate.delta_metadata_from_row(row, index), position=int(row.seq)
        )
        self.deltas_applied += 1
        log.debug("remote_delta", delta_id=delta_id, stream=self._stream, index=applied)

    def stop(self) -> None:
        """Applies what is queued, then ends the delivery thread (waits up to 10 s); a
        catch-up under way stops at its next try."""
        self._catch_up.stop()
        self._inbox.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._projector.follow_log_order(enabled=False)
