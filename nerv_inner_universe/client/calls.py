"""Reducer calls awaiting their outcome, matched to the server's reports.

A committed call comes back with its ``request_id``. A *failed* one does not: the 1.2.0
server reports a reducer error, and arguments it could not decode, with ``request_id`` 0
(verified), so such a report goes to the oldest call in flight to the same reducer, preferring
one with identical argument text (the server echoes the text it received).
"""

from __future__ import annotations

import asyncio

import attrs

from .events import ReducerEvent
from .protocol import RawValue


@attrs.define
class PendingCall:
    """A reducer call waiting for its outcome; ``args`` is the text sent, to match a failure
    report."""

    request_id: int
    reducer: str
    args: RawValue
    future: asyncio.Future[ReducerEvent]
    sent: bool = False
    """Handed to the socket: from then on the server may have received it."""


class PendingCalls:
    """The calls of one connection waiting for their outcome, in request order."""

    def __init__(self) -> None:
        self._calls: dict[int, PendingCall] = {}  # in request order

    def __len__(self) -> int:
        return len(self._calls)

    def sent(self) -> int:
        """How many calls were handed to the socket and await their outcome."""
        return sum(call.sent for call in self._calls.values())

    def add(self, call: PendingCall) -> None:
        """Registers ``call`` under its ``request_id``."""
        self._calls[call.request_id] = call

    def discard(self, request_id: int) -> None:
        """Forgets the call with ``request_id`` (answered, timed out or cancelled)."""
        self._calls.pop(request_id, None)

    def take(self, request_id: int, reducer: str, args: RawValue) -> PendingCall | None:
        """Removes and returns the call a report answers, or None when it answers none."""
        if request_id != 0:
            return self._calls.pop(request_id, None)
        fallback = None
        for call in self._calls.values():
            if call.sent and call.reducer == reducer:
                if call.args == args:
                    return self._calls.pop(call.request_id)
                fallback = fallback or call
        return self._calls.pop(fallback.request_id) if fallback is not None else None

    def drain(self) -> list[PendingCall]:
        """Removes and returns every pending call (the connection dropped)."""
        calls = list(self._calls.values())
        self._calls.clear()
        return calls
