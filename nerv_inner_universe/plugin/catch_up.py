"""`CatchUp`: keeps a follower subscribed through reconnects without a subscription whose
answer grows with what was missed.

A follower's subscription is made with ``renew=False``: a drop ends it. After each (re)connect
the follower's ``step`` reads what it missed with one-off queries bounded by the message limit
(pages, or `seq` ranges split until they fit), then subscribes to the rows after the last one
read, whose first answer holds only what was written in between. A reconnect never asks again
for a window over ``max_message_bytes`` (which dropped the connection on every reconnect, for
ever); a single row over it stops following for good, with the error kept for the recorder's
``health`` and ``flush``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from nerv_inner_universe.client import DbConnection, Identity, SpacetimeConnectionError
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

Step = Callable[[DbConnection], Awaitable[bool]]
"""``step(connection)``: reads what was missed and subscribes after it; False when it must be
tried again (a drop moved the follower back meanwhile, or cut a read or the subscription).
Raises what stops following for good."""


class CatchUp:
    """Runs ``step`` until it returns True: at `start`, and again after every reconnect (one
    run at a time; one under way reads on over the new connection). ``what`` names the
    follower in logs."""

    def __init__(self, what: str, step: Step) -> None:
        self._what = what
        self._step = step
        self._task: asyncio.Task[Any] | None = None
        self._stopped = False
        self.error: Exception | None = None
        """Why following stopped for good (an `OversizedRowError`: a row alone over the
        message limit; a QueryError), or None while it goes on."""

    async def start(self, connection: DbConnection) -> None:
        """Runs ``step`` to its end and keeps running it after every reconnect. Raises what
        stops following for good (also kept as `error`), and SpacetimeConnectionError when the
        connection closed for good meanwhile."""
        connection.on_connect(self._reconnected)
        self._task = asyncio.current_task()
        await self._run(connection)

    def stop(self) -> None:
        """A run under way ends at its next try; reconnects start none."""
        self._stopped = True

    async def _run(self, connection: DbConnection) -> None:
        try:
            while not self._stopped and not await self._try(connection):
                log.info("follow_catch_up_again", follower=self._what)
        except SpacetimeConnectionError:
            raise  # closed for good: nothing left to follow
        except Exception as error:
            self.error = error
            log.exception(
                "follow_stopped",
                follower=self._what,
                error=f"{type(error).__name__}: {error}",
                hint="other processes' changes are no longer applied here",
            )
            raise

    async def _try(self, connection: DbConnection) -> bool:
        try:
            return await self._step(connection)
        except SpacetimeConnectionError as error:
            if connection.is_closed:
                raise
            log.info("follow_interrupted", follower=self._what, error=str(error))
            return False  # the next try's first read waits for the reconnect

    def _reconnected(self, connection: DbConnection, _identity: Identity, _token: str) -> None:
        if self._stopped or self.error is not None:
            return
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.get_running_loop().create_task(self._run_quietly(connection))

    async def _run_quietly(self, connection: DbConnection) -> None:
        """`_run` after a reconnect: what stops it is kept (`error`) and logged, not raised
        (the loop has nobody to raise it to)."""
        with contextlib.suppress(Exception):
            await self._run(connection)
