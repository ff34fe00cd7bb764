"""`RecentEvents`: what this process recorded lately, in bounded memory.

Recording an event again with identical content is a no-op, with different content a conflict.
The module enforces both for every id ever stored; this window answers for recent ids without a
round trip, which an async writer needs to raise a conflict at once instead of at `flush`.
"""

from __future__ import annotations

import collections

from nerv_inner_universe.nerv.errors import RecordConflictError

Fingerprint = tuple[object, ...]


class RecentEvents:
    """The fingerprints of the last ``capacity`` event ids seen (least recently used first)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._fingerprints: collections.OrderedDict[str, Fingerprint] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._fingerprints)

    def admit(self, event_id: str, fingerprint: Fingerprint) -> bool:
        """True for an id not seen lately (now remembered); False for the same content again.
        Raises RecordConflictError for the same id with different content."""
        known = self._fingerprints.get(event_id)
        if known is not None:
            if known != fingerprint:
                raise RecordConflictError(
                    f"event {event_id!r} was recorded before with different content"
                )
            self._fingerprints.move_to_end(event_id)
            return False
        self.remember(event_id, fingerprint)
        return True

    def remember(self, event_id: str, fingerprint: Fingerprint) -> None:
        self._fingerprints[event_id] = fingerprint
        self._fingerprints.move_to_end(event_id)
        while len(self._fingerprints) > self._capacity:
            self._fingerprints.popitem(last=False)

    def forget(self, event_id: str) -> None:
        """For a write that failed: the id may be recorded again, with any content."""
        self._fingerprints.pop(event_id, None)
