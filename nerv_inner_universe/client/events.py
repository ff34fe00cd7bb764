"""What a row callback is told about the change it sees."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable

import attrs

from .values import ConnectionId, Identity, TimeDuration, Timestamp


class EventKind(enum.Enum):
    """Why rows changed in the cache."""

    REDUCER = "reducer"
    """A committed reducer call changed the rows (``EventContext.reducer`` says which)."""
    SUBSCRIBE_APPLIED = "subscribe_applied"
    """The initial rows of a new subscription."""
    UNSUBSCRIBE_APPLIED = "unsubscribe_applied"
    """Rows no longer covered once a subscription ended."""
    RECONCILED = "reconciled"
    """After a reconnect: the changes that make the cache equal the server again."""
    SUBSCRIPTIONS_DROPPED = "subscriptions_dropped"
    """The server dropped every subscription after an error; the cache was emptied."""


class ReducerStatus(enum.Enum):
    """How a reducer call ended: committed, rolled back by an error, or out of energy."""

    COMMITTED = "committed"
    FAILED = "failed"
    OUT_OF_ENERGY = "out_of_energy"


@attrs.frozen
class ReducerEvent:
    """One reducer call as the server reported it; also what ``call_reducer`` returns."""

    reducer_name: str
    reducer_id: int
    caller_identity: Identity
    caller_connection_id: ConnectionId | None
    """None for calls without a connection (``init``, scheduled reducers)."""
    request_id: int
    status: ReducerStatus
    message: str | None
    """The reducer's error text when it failed."""
    timestamp: Timestamp
    energy_quanta_used: int
    duration: TimeDuration
    decode_args: Callable[[], tuple[object, ...] | None] = attrs.field(
        default=lambda: None, repr=False, eq=False
    )
    """Decodes the echoed arguments for `args` (called once, on first use)."""

    @functools.cached_property
    def args(self) -> tuple[object, ...] | None:
        """The arguments decoded with the reducer's parameters, on first use (most callers of
        their own reducers never look); None when the server echoed no usable args."""
        return self.decode_args()


@attrs.frozen
class EventContext:
    """What a row callback is told: why the rows changed and, for a reducer call, which one."""

    kind: EventKind
    reducer: ReducerEvent | None = None
