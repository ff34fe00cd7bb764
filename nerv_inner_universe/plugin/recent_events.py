"""`RecentEvents`: what this process recorded lately, in bounded memory.

Recording an event again with identical content is a no-op, with different content a conflict.
The module enforces both for every id ever stored; this window answers for recent ids without a
round trip, which an async writer needs to raise a conflict at once instead of at `flush`.
"""

from __future__ import annotations

import collections
from typing import Generic, TypeVar

from nerv_inner_universe.nerv.errors import RecordConflictError

Fingerprint = tuple[object, ...]
K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """The last ``capacity`` keys set, with their values: setting a key makes it the most
    recent, and past ``capacity`` the least recent one is forgotten."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: collections.OrderedDict[K, V] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def set(self, key: K, value: V) -> None:
        items = self._items
        if key in items:  # a new key is the most recent already (runs for every event)
            items.move_to_end(key)
        items[key] = value
        if len(items) > self._capacity:  # one key more at most: one set adds one
            items.popitem(last=False)

    def forget(self, key: K) -> None:
        self._items.pop(key, None)


class RecentEvents:
    """The fingerprints of the last ``capacity`` event ids seen (least recently used first)."""

    def __init__(self, capacity: int) -> None:
        self._fingerprints: Recent[str, Fingerprint] = Recent(capacity)

    def __len__(self) -> int:
        return len(self._fingerprints)

    def admit(self, event_id: str, fingerprint: Fingerprint) -> bool:
        """True for an id not seen lately (now remembered); False for the same content again.
        Raises RecordConflictError for the same id with different content."""
        known = self._fingerprints.get(event_id)
        if known is not None and known != fingerprint:
            raise RecordConflictError(
                f"event {event_id!r} was recorded before with different content"
            )
        self._fingerprints.set(event_id, fingerprint)
        return known is None

    def remember(self, event_id: str, fingerprint: Fingerprint) -> None:
        self._fingerprints.set(event_id, fingerprint)

    def forget(self, event_id: str) -> None:
        """For a write that failed: the id may be recorded again, with any content."""
        self._fingerprints.forget(event_id)
