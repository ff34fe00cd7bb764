"""One WebSocket connection to the database, driven on a private loop thread: the
`eventsourcing` recorders are synchronous, the client is asyncio. The recorders one factory
makes share it."""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    ArgumentError,
    CallTimeoutError,
    DbConnection,
    EventContext,
    OutcomeUnknownError,
    QueryError,
    ReducerEvent,
    SpacetimeError,
)
from nerv_inner_universe.contract import (
    ErrorCode,
    EsEventInput,
    EsTrackingInput,
    ReducerCaller,
    ReducerRefusedError,
    Table,
)
from nerv_inner_universe.eventsourcing_module.settings import EsSettings
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.plugin.loop import LoopThread
from nerv_inner_universe.plugin.reader import quoted

T = TypeVar("T")

log = get_logger(__name__)

MAX_WINDOW = 5_000
"""Notification ids one query spans at most while looking for events of given topics."""
UNAVAILABLE_DELAYS = (0.05, 1.0)
"""Seconds before the first retry of a call refused with ``unavailable``, and the most between
retries (the delay doubles)."""


def translated(error: SpacetimeError) -> DatabaseError | InterfaceError:
    """The `eventsourcing` error (PEP 249 names) for a client error: ``integrity_error`` is
    `IntegrityError`, bad input `DataError`, a query the server refuses `ProgrammingError`,
    connection trouble (the outcome of a write may be unknown) and ``unavailable`` (a database
    closed for a stop, still closed after `Datastore.append` retried for ``call_timeout``)
    `OperationalError`, and so is any other refusal: ``rate_limited`` (the identity's write
    budget is used up; nothing was written, and its message says when the window resets),
    ``import_open`` (the database is half-imported) or ``permission_denied``."""
    if isinstance(error, ReducerRefusedError):
        if error.code is ErrorCode.INTEGRITY_ERROR:
            return IntegrityError(str(error))
        if error.code is ErrorCode.INVALID_ARGUMENT:
            return DataError(str(error))
        return OperationalError(str(error))
    if isinstance(error, ArgumentError):
        return DataError(str(error))
    if isinstance(error, QueryError):
        return ProgrammingError(str(error))
    return OperationalError(str(error))


def _shut_down(loop: LoopThread, connection: DbConnection, timeout: float) -> None:
    """Disconnects ``connection`` and stops ``loop`` (a datastore's `close`, or its finalizer:
    it names no datastore, so it does not keep one alive)."""
    if loop.in_loop():  # a garbage collection that ran on the loop thread
        loop.loop.create_task(connection.disconnect())
        return
    try:
        loop.run(connection.disconnect(), timeout=timeout)
    finally:
        loop.stop()


async def send_while_unavailable(
    call: contract.ReducerCall, connection: ReducerCaller, *, budget: float
) -> ReducerEvent:
    """Sends ``call``; while the module refuses it with ``unavailable`` (the database is closed
    while its server stops: nothing changed), again with a growing delay (`UNAVAILABLE_DELAYS`)
    for up to ``budget`` seconds, then the last refusal is raised. Other errors are raised at
    once: after connection trouble the outcome is unknown, and sending events the first call
    did record would be refused as taken positions."""
    deadline = time.monotonic() + budget
    delay, most = UNAVAILABLE_DELAYS
    while True:
        try:
            return await call.send(connection)
        except ReducerRefusedError as error:
            if not error.retryable or time.monotonic() + delay > deadline:
                raise
            log.info("write_unavailable_retry", reducer=call.reducer, delay=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, most)


class Datastore:
    """The connection to ``settings.database`` and what the recorders ask of it. `run` raises
    the `eventsourcing` errors (`translated`); a closed datastore raises `InterfaceError`."""

    def __init__(self, settings: EsSettings) -> None:
        self.settings = settings
        self._loop = LoopThread(f"inner-universe-es-{settings.database}")
        self._connection = DbConnection(
            settings.url,
            settings.database,
            token=settings.token,
            call_timeout=settings.call_timeout,
        )
        self._issued: dict[int, int] = {}
        """request id of this connection's call -> the store's last notification id after it."""
        self._watched: dict[str, asyncio.Future[None]] = {}
        self._listeners: dict[str, set[threading.Event]] = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(
            self, _shut_down, self._loop, self._connection, settings.call_timeout
        )
        """Closes the connection once nothing holds this datastore (its factory and every
        recorder it made gone), or at exit; the loop holds it only weakly. Not alive once the
        datastore is closed."""
        try:
            self.run(self._open())
        except BaseException:
            self._finalizer.detach()
            self._loop.stop()
            raise

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Runs ``coro`` on the loop thread and waits for it."""
        if not self._finalizer.alive:  # closed
            coro.close()
            raise InterfaceError(f"the datastore of {self.settings.database!r} is closed")
        try:
            return self._loop.run(coro)
        except SpacetimeError as error:
            raise translated(error) from error

    def close(self) -> None:
        """Disconnects and stops the loop thread; idempotent. The recorders using this
        datastore raise `InterfaceError` from then on."""
        self._finalizer()

    async def _open(self) -> None:
        await self._connection.connect()
        heads = self._connection.cache.table(Table.ES_STORE)
        on_head = weakref.WeakMethod(self._on_head)  # the loop must not keep this alive

        def moved(ctx: EventContext, row: Any) -> None:
            if (method := on_head()) is not None:
                method(ctx, row)

        heads.on_insert(moved)
        heads.on_update(lambda ctx, _old, row: moved(ctx, row))

    def _on_head(self, ctx: EventContext, row: Any) -> None:
        """A store's head moved: remember the ids of this connection's own call, wake the
        store's subscriptions."""
        call = ctx.reducer
        if call is not None and call.caller_connection_id == self._connection.connection_id:
            self._issued[call.request_id] = int(row.max_notification_id)
        with self._lock:
            listeners = list(self._listeners.get(str(row.name), ()))
        for listener in listeners:
            listener.set()

    async def _watch(self, store: str) -> None:
        """Subscribes to ``store``'s `es_store` row, once (its updates carry the new ids)."""
        task = self._watched.get(store)
        if task is None:
            query = f"SELECT * FROM {Table.ES_STORE} WHERE name = {quoted(store)}"  # noqa: S608
            task = self._watched[store] = asyncio.ensure_future(self._subscribe(query))
        try:
            await asyncio.shield(task)
        except SpacetimeError:
            self._watched.pop(store, None)  # the next call tries again
            raise

    async def _subscribe(self, query: str) -> None:
        await self._connection.subscribe(query)

    def listen(self, store: str, listener: threading.Event) -> None:
        """Sets ``listener`` whenever events are recorded in ``store``, by anyone."""
        self.run(self._watch(store))
        with self._lock:
            self._listeners.setdefault(store, set()).add(listener)

    def unlisten(self, store: str, listener: threading.Event) -> None:
        """Stops setting ``listener``."""
        with self._lock:
            self._listeners.get(store, set()).discard(listener)

    async def append(
        self, store: str, events: Sequence[EsEventInput], tracking: EsTrackingInput | None
    ) -> list[int]:
        """Calls `es_insert_events`; returns the notification ids the events were given.

        When the call's outcome is unknown (the connection dropped while it was in flight, a
        server stop or crash; or no answer within ``call_timeout``), what is stored decides,
        read once the connection is back: the call's events (or its tracking record) stored as
        sent were its own, and their ids are returned. Else, after a drop, the call is sent
        again within ``call_timeout`` (one transaction: nothing of it was stored), and a
        refusal of that one as positions taken (``integrity_error``) is checked the same way
        (the first may have run late); after a timeout the error is raised (the call may still
        run)."""
        if events:
            await self._watch(store)
        call = contract.es_insert_events(store=store, events=events, tracking=tracking)
        deadline = time.monotonic() + self.settings.call_timeout
        unknown = False
        while True:
            try:
                outcome = await send_while_unavailable(
                    call, self._connection, budget=max(deadline - time.monotonic(), 0.0)
                )
                break
            except OutcomeUnknownError as error:
                unknown = True
                stored = await self._stored_or_raise(error, store, events, tracking)
                if stored is not None:
                    return stored
                if isinstance(error, CallTimeoutError) or time.monotonic() >= deadline:
                    raise
                log.info("write_outcome_unknown_resend", reducer=call.reducer, store=store)
            except ReducerRefusedError as error:
                if unknown and error.code is ErrorCode.INTEGRITY_ERROR:
                    stored = await self._stored_or_raise(error, store, events, tracking)
                    if stored is not None:
                        return stored
                raise
        if not events:
            return []
        last = self._issued.pop(outcome.request_id, None)
        if last is None:  # the head's update did not come with the outcome (a resync)
            first = events[0]
            [row] = await self.select(
                Table.ES_STORED_EVENT,
                f"store = {quoted(store)} AND originator_id = {quoted(first.originator_id)} "
                f"AND originator_version = {first.originator_version}",
            )
            last = int(row.notification_id) + len(events) - 1
        return list(range(last - len(events) + 1, last + 1))

    async def _stored_or_raise(
        self,
        error: SpacetimeError,
        store: str,
        events: Sequence[EsEventInput],
        tracking: EsTrackingInput | None,
    ) -> list[int] | None:
        """`_stored_as_sent`; when that read fails too (the server still does not answer),
        ``error``, the call's own, is raised (caused by the read's)."""
        try:
            return await self._stored_as_sent(store, events, tracking)
        except SpacetimeError as unread:
            raise error from unread

    async def _stored_as_sent(
        self, store: str, events: Sequence[EsEventInput], tracking: EsTrackingInput | None
    ) -> list[int] | None:
        """The notification ids of ``events`` when ``store`` holds them exactly as given, in
        one run of ids (an `es_insert_events` call's own; ``[]`` without events, when the
        tracking record is at ``tracking`` or past it); None when it does not."""
        if not events:
            if tracking is None:
                return None
            rows = await self.select(
                Table.ES_TRACKING,
                f"store = {quoted(tracking.store)} "
                f"AND application_name = {quoted(tracking.application_name)}",
            )
            reached = any(int(row.notification_id) >= tracking.notification_id for row in rows)
            return [] if reached else None
        first = events[0]
        found = await self.select(
            Table.ES_STORED_EVENT,
            f"store = {quoted(store)} AND originator_id = {quoted(first.originator_id)} "
            f"AND originator_version = {first.originator_version}",
        )
        if not found:
            return None
        low = int(found[0].notification_id)
        ids = list(range(low, low + len(events)))
        rows = sorted(
            await self.select(
                Table.ES_STORED_EVENT,
                f"store = {quoted(store)} AND notification_id >= {low} "
                f"AND notification_id <= {ids[-1]}",
            ),
            key=lambda row: int(row.notification_id),
        )
        stored = [
            (str(r.originator_id), int(r.originator_version), str(r.topic), bytes(r.state))
            for r in rows
        ]
        sent = [(e.originator_id, e.originator_version, e.topic, bytes(e.state)) for e in events]
        return ids if stored == sent else None

    async def select(self, table: Table, where: str) -> list[Any]:
        """The rows of ``table`` for which ``where`` (SQL, values `quoted`) holds."""
        results = await self._connection.one_off_query(f"SELECT * FROM {table} WHERE {where}")  # noqa: S608
        return [row for result in results for row in result.rows]

    async def head(self, store: str) -> int:
        """``store``'s last notification id; 0 when it has no events."""
        rows = await self.select(Table.ES_STORE, f"name = {quoted(store)}")
        return int(rows[0].max_notification_id) if rows else 0

    async def notifications(
        self, store: str, low: int, limit: int, stop: int | None, topics: Sequence[str]
    ) -> list[Any]:
        """Up to ``limit`` `es_stored_event` rows of ``store`` from notification id ``low`` up
        to ``stop`` (inclusive; None: no bound), of ``topics`` (empty: any), in id order.

        Ids are gap-free, so without topics one query over ``limit`` ids answers; with topics,
        windows that double in size (up to `MAX_WINDOW` ids) are scanned up to the head."""
        if limit <= 0:
            return []
        where = f"store = {quoted(store)}"
        if topics:
            where += " AND (" + " OR ".join(f"topic = {quoted(t)}" for t in topics) + ")"
            high = await self.head(store)
        else:
            high = low + limit - 1
        if stop is not None:
            high = min(high, stop)
        found: list[Any] = []
        window = limit
        while low <= high and len(found) < limit:
            top = min(high, low + window - 1)
            rows = await self.select(
                Table.ES_STORED_EVENT,
                f"{where} AND notification_id >= {low} AND notification_id <= {top}",
            )
            found.extend(sorted(rows, key=lambda row: int(row.notification_id)))
            low = top + 1
            window = min(window * 2, MAX_WINDOW)
        return found[:limit]
