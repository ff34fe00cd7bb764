"""The outcome of a committed reducer call, for fakes of the module."""

from __future__ import annotations

from nerv_inner_universe.client import (
    ConnectionId,
    Identity,
    ReducerEvent,
    TimeDuration,
    Timestamp,
)
from nerv_inner_universe.client.events import ReducerStatus


def committed(reducer: str) -> ReducerEvent:
    """A `ReducerEvent` saying ``reducer`` committed (every other field zero)."""
    return ReducerEvent(
        reducer_name=reducer,
        reducer_id=0,
        caller_identity=Identity(0),
        caller_connection_id=ConnectionId(0),
        request_id=0,
        status=ReducerStatus.COMMITTED,
        message=None,
        timestamp=Timestamp(0),
        energy_quanta_used=0,
        duration=TimeDuration(0),
    )
