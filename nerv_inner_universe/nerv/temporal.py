"""TemporalStore: a linear history of JSON states, each version immutable once committed."""

from __future__ import annotations

import bisect
import copy
import enum
import threading
import uuid
from collections.abc import Callable, Sequence

import attrs

from nerv_inner_universe.delta import JSON, Operation, Set, data_hash, diff, validate_json
from nerv_inner_universe.nerv.callbacks import CallbackList, Remove, call_isolated
from nerv_inner_universe.nerv.clock import now
from nerv_inner_universe.nerv.errors import ConcurrencyConflict, ReplayError, UnknownVersionError


@attrs.frozen
class VersionedState:
    """One committed state. ``data_hash`` (sha256 of its canonical JSON) lets a backend store
    only the operations from the parent and still prove it rebuilt the same state."""

    version_id: str
    data: JSON
    parent_version_id: str | None
    timestamp: float
    change_description: str
    data_hash: str


CommitCallback = Callable[[VersionedState, list[Operation]], object]
"""Told ``(version, operations)``: the new version and the operations from its parent to it."""


class _Head(enum.Enum):
    CURRENT = enum.auto()


def _operations_to(parent: VersionedState | None, version: VersionedState) -> list[Operation]:
    """The delta operations that turn ``parent``'s state into ``version``'s.

    A root version has no parent: its operations set the whole document.
    """
    if parent is None:
        return [Set("", version.data)]
    return diff(parent.data, version.data)


def _detached(version: VersionedState) -> VersionedState:
    """A copy whose data the caller may change without changing history."""
    return attrs.evolve(version, data=copy.deepcopy(version.data))


class TemporalStore:
    """Versions of a JSON state, oldest first, each child of the one before.

    Commits happen one at a time: guards see each new version before it becomes current and may
    veto it by raising (the host writes ahead to its recorder there); observers see it after.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Re-entrant so an observer may commit; its version then follows the one it observed.
        self._sequence = threading.RLock()
        self._versions: list[VersionedState] = []
        self._by_id: dict[str, VersionedState] = {}
        self._guards: CallbackList[CommitCallback] = CallbackList()
        self._observers: CallbackList[CommitCallback] = CallbackList()

    def add_guard(self, guard: CommitCallback) -> Remove:
        """Call ``guard(version, operations)`` before a version becomes current.

        Raising vetoes the commit (and propagates). A guard must not commit to this store.
        """
        return self._guards.add(guard)

    def add_observer(self, observer: CommitCallback) -> Remove:
        """Call ``observer(version, operations)`` after each commit, in commit order.

        An observer's error is logged, never raised: the commit has happened.
        """
        return self._observers.add(observer)

    def commit(
        self,
        data: JSON,
        description: str = "",
        *,
        expected_parent: str | _Head | None = _Head.CURRENT,
    ) -> str:
        """Commit a deep copy of ``data`` as the new current version and return its id.

        Pass ``expected_parent`` (the version id you read, or None for an empty store) for
        optimistic concurrency: if another commit got there first, ConcurrencyConflict is raised.
        """
        validate_json(data)
        snapshot = copy.deepcopy(data)
        digest = data_hash(snapshot)
        with self._sequence:
            parent = self._head()
            parent_id = None if parent is None else parent.version_id
            if expected_parent is not _Head.CURRENT and expected_parent != parent_id:
                raise ConcurrencyConflict(
                    f"expected version {expected_parent!r} to be current, but it is "
                    f"{parent_id!r}; read the current state again and retry"
                )
            version = VersionedState(
                version_id=str(uuid.uuid4()),
                data=snapshot,
                parent_version_id=parent_id,
                # Never before the parent, so state_at can bisect even if the clock stepped back.
                timestamp=max(now(), 0.0 if parent is None else parent.timestamp),
                change_description=description,
                data_hash=digest,
            )
            told = _detached(version)
            operations = _operations_to(parent, told)
            for guard in self._guards:
                guard(told, operations)
            with self._lock:
                self._versions.append(version)
                self._by_id[version.version_id] = version
            for observer in self._observers:
                call_isolated(
                    "commit_observer_failed", observer, told, operations, version_id=told.version_id
                )
        return version.version_id

    def restore(self, history: Sequence[VersionedState]) -> None:
        """Replace the history with recorded versions (oldest first) without telling anyone.

        Used by replay: the versions were guarded and observed when first committed. Checks the
        parent chain and every data hash, so a backend that rebuilt a state wrongly is caught.
        """
        previous: str | None = None
        for version in history:
            if version.parent_version_id != previous:
                raise ReplayError(
                    f"version {version.version_id!r} has parent {version.parent_version_id!r}, "
                    f"but follows {previous!r}; the recorded timeline is not a chain"
                )
            if data_hash(version.data) != version.data_hash:
                raise ReplayError(
                    f"version {version.version_id!r} does not hash to its data_hash; "
                    "the backend rebuilt a different state than was committed"
                )
            previous = version.version_id
        restored = [_detached(v) for v in history]
        with self._sequence, self._lock:
            self._versions = restored
            self._by_id = {v.version_id: v for v in restored}

    def get(self, version_id: str | None = None) -> JSON:
        """A deep copy of a version's data (default: the current one; None if nothing committed)."""
        if version_id is None:
            head = self._head()
            return None if head is None else copy.deepcopy(head.data)
        return copy.deepcopy(self._find(version_id).data)

    def get_version(self, version_id: str) -> VersionedState:
        """The version ``version_id`` (a copy)."""
        return _detached(self._find(version_id))

    def get_current_version_id(self) -> str | None:
        """The current version's id, or None before the first commit."""
        head = self._head()
        return None if head is None else head.version_id

    def get_history(self) -> list[VersionedState]:
        """Every version, oldest first (copies)."""
        with self._lock:
            versions = list(self._versions)
        return [_detached(v) for v in versions]

    def diff(self, version_a: str, version_b: str) -> list[Operation]:
        """The delta operations that turn ``version_a``'s state into ``version_b``'s."""
        return diff(self._find(version_a).data, self._find(version_b).data)

    def revert(self, version_id: str, description: str | None = None) -> str:
        """Commit ``version_id``'s state again as a new version (history is never rewritten)."""
        return self.commit(self.get(version_id), description or f"revert to {version_id}")

    def state_at(self, timestamp: float) -> JSON:
        """A deep copy of the state that was current at ``timestamp`` (epoch seconds)."""
        with self._lock:
            position = bisect.bisect_right(self._versions, timestamp, key=lambda v: v.timestamp)
            if position == 0:
                raise UnknownVersionError(
                    f"no version was committed at or before {timestamp}; the first is later "
                    "or the store is empty"
                )
            return copy.deepcopy(self._versions[position - 1].data)

    def _head(self) -> VersionedState | None:
        with self._lock:
            return self._versions[-1] if self._versions else None

    def _find(self, version_id: str) -> VersionedState:
        with self._lock:
            version = self._by_id.get(version_id)
        if version is None:
            raise UnknownVersionError(
                f"no version {version_id!r} in this store; list ids with get_history()"
            )
        return version
