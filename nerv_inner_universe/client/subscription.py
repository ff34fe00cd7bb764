"""A set of subscribed queries, applied and removed as one (``SubscribeMulti``)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable

from .errors import QueryError


class SubscriptionState(enum.Enum):
    """Where a subscription set is in its life."""

    PENDING = "pending"
    """Sent (or to be sent once reconnected); rows not yet received."""
    ACTIVE = "active"
    ENDING = "ending"
    """``unsubscribe()`` was called; waiting for the server to confirm."""
    ENDED = "ended"
    FAILED = "failed"


class SubscriptionHandle:
    """Returned by ``DbConnection.subscribe``; survives reconnects (it is subscribed again),
    unless made with ``renew=False``: then a dropped connection ends it."""

    def __init__(
        self,
        queries: tuple[str, ...],
        unsubscribe: Callable[[SubscriptionHandle], Awaitable[None]],
        *,
        renew: bool = True,
    ) -> None:
        self.queries = queries
        self.renew = renew
        """Whether a reconnect subscribes it again (False: the connection's drop ends it)."""
        self.state = SubscriptionState.PENDING
        self.error: QueryError | None = None
        self.query_id = 0
        """The server-side id in the current connection (0: not sent yet); a reconnect
        assigns a new one."""
        loop = asyncio.get_running_loop()
        self.applied: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()
        self._unsubscribe = unsubscribe

    @property
    def is_active(self) -> bool:
        """True once the server applied the set and until it ends."""
        return self.state is SubscriptionState.ACTIVE

    def update_queries(self, queries: str | tuple[str, ...]) -> None:
        """The queries to send when the connection is re-established, instead of the current
        ones: a window that moves with what was already received, so a reconnect does not
        fetch it all again. The subscription on the live connection is unchanged."""
        self.queries = (queries,) if isinstance(queries, str) else queries

    async def unsubscribe(self) -> None:
        """Ends the subscription; returns once its rows have left the cache."""
        await self._unsubscribe(self)

    def mark_applied(self) -> None:
        """The server applied the set: ``subscribe()`` may return."""
        if self.state is SubscriptionState.PENDING:
            self.state = SubscriptionState.ACTIVE
        if not self.applied.done():
            self.applied.set_result(None)

    def finish(self, error: Exception | None = None) -> None:
        """Ends the handle for good. A QueryError marks it FAILED; a ``subscribe()`` still
        waiting for the rows gets ``error``, an ``unsubscribe()`` simply returns."""
        if isinstance(error, QueryError):
            self.state, self.error = SubscriptionState.FAILED, error
        else:
            self.state = SubscriptionState.ENDED
        if not self.applied.done():
            if error is None:
                self.applied.set_result(None)
            else:
                self.applied.set_exception(error)
                self.applied.exception()  # marks it retrieved: nobody may be waiting
        if not self.ended.done():
            self.ended.set_result(None)

    def __repr__(self) -> str:
        return f"SubscriptionHandle({self.queries!r}, state={self.state.value})"
