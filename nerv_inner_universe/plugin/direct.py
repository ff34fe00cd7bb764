"""`DirectLane`: the connection a write whose caller waits is sent on, from the caller's own
thread.

A sync publish through the writer's loop costs two thread hops besides the call; sent on the
publishing thread over a `BlockingConnection` of its own (no subscriptions, so its answers
carry no rows), it costs the call. `OrderedWriter.write` decides when a write may take the lane
(the writer idle, so one total order holds) and what happens when the lane fails (the write
goes through the queue: writes are idempotent by id); the lane only holds the connection:
opened on first use and again after a drop (not before ``reopen_after`` seconds since the last
failed attempt), given up for the recorder's life when the module refuses it (its
``max_connections``: the lane is a second ``client_connection`` row).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from nerv_inner_universe.client import (
    ConnectionRefusedByModuleError,
    ReducerEvent,
    SpacetimeConnectionError,
)
from nerv_inner_universe.contract import ReducerCall
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

REOPEN_AFTER = 1.0
"""Seconds after a failed attempt to open the lane before the next one (meanwhile writes take
the queue, and do not each wait for a connection that cannot be made)."""


class LaneConnection(Protocol):
    """What the lane needs of its connection: `BlockingConnection`'s calls."""

    @property
    def is_connected(self) -> bool:
        """True while open."""
        ...

    def connect(self) -> None:
        """Opens it; SpacetimeConnectionError (ConnectionRefusedByModuleError) when it
        cannot."""

    def call_reducer(self, reducer: str, *args: object) -> ReducerEvent:
        """Calls ``reducer`` and waits for its outcome on this thread."""
        ...

    def close(self) -> None:
        """Closes it for good, from any thread."""


class DirectLane:
    """Sends a reducer call on the calling thread over its own connection, made by
    ``open_connection()`` (not connected yet) when first needed. One caller at a time
    (`OrderedWriter` sees to it); `close` may come from any thread."""

    def __init__(
        self,
        open_connection: Callable[[], LaneConnection],
        *,
        reopen_after: float = REOPEN_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open_connection = open_connection
        self._reopen_after = reopen_after
        self._clock = clock
        self._connection: LaneConnection | None = None
        self._retry_at = 0.0
        self._refused = False
        self._closed = False
        self._lock = threading.Lock()
        """Guards ``_connection`` against `close` from another thread."""

    @property
    def usable(self) -> bool:
        """False once closed or refused by the module (for good), or while waiting to try
        opening again."""
        return not (self._closed or self._refused) and (
            self._connection is not None or self._clock() >= self._retry_at
        )

    def send(self, call: ReducerCall) -> None:
        """Sends ``call`` and waits for its outcome. Raises SpacetimeConnectionError with
        nothing sent when the lane cannot be opened (or is closed), and what
        `ReducerCall.send_blocking` raises otherwise (ReducerRefusedError, OutcomeUnknownError
        after which the connection is opened again on the next use...)."""
        connection = self._connection
        if connection is None or not connection.is_connected:  # a failed call dropped it
            connection = self._open()
        call.send_blocking(connection)

    def close(self) -> None:
        """Closes the lane for good; a call waiting for its answer fails at once
        (OutcomeUnknownError)."""
        with self._lock:
            self._closed = True
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _open(self) -> LaneConnection:
        if not self.usable:
            raise SpacetimeConnectionError("the direct connection is not to be had now")
        try:
            connection = self._open_connection()
            connection.connect()
        except ConnectionRefusedByModuleError as refused:
            self._refused = True
            log.warning("direct_connection_refused", reason=refused.reason, error=str(refused))
            raise
        except SpacetimeConnectionError:
            self._retry_at = self._clock() + self._reopen_after
            raise
        with self._lock:
            if self._closed:
                connection.close()
                raise SpacetimeConnectionError("the direct connection was closed")
            self._connection = connection
        return connection
