"""TemporalStore: a linear history of JSON states, each version immutable once committed.

Storage is compact: each version keeps the operations from its parent (the ones guards and
observers are told), and only a root and every ``snapshot_interval``-th version keep a whole
copy of their state. Reading an older version rebuilds it from the nearest snapshot at or
before it, so a read applies at most ``snapshot_interval - 1`` operation lists while memory
grows with the changes rather than with ``versions x state size``. The current (head) state
is kept whole, so ``get()`` and ``commit()`` cost O(state) however long the history is.
"""

from __future__ import annotations

import bisect
import copy
import enum
import itertools
import threading
import uuid
from collections.abc import Callable, Sequence

import attrs

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.delta import (
    JSON,
    Operation,
    Set,
    apply,
    data_hash,
    diff,
    validate_json,
)
from nerv_inner_universe.nerv.arguments import require_callable, require_seconds, require_str
from nerv_inner_universe.nerv.callbacks import CallbackList, Remove, call_isolated
from nerv_inner_universe.nerv.clock import now
from nerv_inner_universe.nerv.errors import (
    ConcurrencyConflictError,
    ReplayError,
    UnknownVersionError,
)
from nerv_inner_universe.shown import shown

DEFAULT_SNAPSHOT_INTERVAL = 50
"""Versions per whole snapshot unless told otherwise (the server's default, too)."""


@attrs.frozen
class VersionedState:
    """One committed state. ``data_hash`` (sha256 of its canonical JSON) lets a backend store
    only the operations from the parent and still prove it rebuilt the same state.

    ``remote`` is True for a version another process committed and this store learnt of
    through `TemporalStore.apply_remote` (observers are told it once, marked so); replayed
    and locally committed versions have False. It is where a version came from, not part of
    its content, so equality ignores it.
    """

    version_id: str
    data: JSON
    parent_version_id: str | None
    timestamp: float
    change_description: str
    data_hash: str
    remote: bool = attrs.field(default=False, eq=False, kw_only=True)


CommitCallback = Callable[[VersionedState, list[Operation]], object]
"""Told ``(version, operations)``: the new version and the operations from its parent to it."""

EarlierVersions = Callable[[], Sequence[VersionedState]]
"""``earlier()`` -> the versions before a restored store's first one, oldest first, from the
timeline's root to that version's parent (see `TemporalStore.restore`); raises what the
backend raises."""


class _Head(enum.Enum):
    CURRENT = enum.auto()


@attrs.frozen(eq=False)
class _Stored:
    """What the store keeps of one version: its header (``data`` is None there; the data is
    rebuilt) and either a whole ``snapshot`` or the ``operations`` from its parent.

    ``operations`` is None exactly for snapshots. ``since_snapshot`` counts the versions back
    to the nearest snapshot (0 for a snapshot), which is also how many operation lists a read
    of this version applies. Nothing here is ever changed after it is stored.
    """

    header: VersionedState
    snapshot: JSON
    operations: tuple[Operation, ...] | None
    since_snapshot: int


def _detached(version: VersionedState) -> VersionedState:
    """A copy whose data the caller may change without changing history."""
    return attrs.evolve(version, data=copy.deepcopy(version.data))


def _identical(a: JSON, b: JSON) -> bool:
    """Equal in every detail a caller can see, which ``json_equal`` (and so ``diff``) forgives:
    dict key order and the sign of zero. The repr of plain JSON data keeps both, and tells
    ``1``, ``1.0`` and ``True`` apart."""
    return repr(a) == repr(b)


def _rebuilt(
    header: VersionedState, start: JSON, steps: Sequence[_Stored]
) -> tuple[VersionedState, JSON]:
    """``header`` and a fresh copy of ``start`` with each step's operations applied, in one
    ``apply`` so the state is copied once however many steps there are."""
    if not steps:
        return header, copy.deepcopy(start)
    chained = itertools.chain.from_iterable(s.operations or () for s in steps)
    return header, apply(start, chained)  # a fresh copy: shares nothing with start


def _check_chain(history: Sequence[VersionedState], first_parent: str | None) -> None:
    """ReplayError unless ``history`` is a chain whose first version's parent is
    ``first_parent`` (None: a root) and each version's data hashes to its ``data_hash``."""
    previous = first_parent
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


def _replaces_whole(operations: Sequence[Operation]) -> bool:
    """Whether the operations just set the whole document (as big as a snapshot, so keep one)."""
    return len(operations) == 1 and isinstance(operations[0], Set) and operations[0].path == ""


class TemporalStore:
    """Versions of a JSON state, oldest first, each child of the one before.

    Commits happen one at a time: guards see each new version before it becomes current and may
    veto it by raising (the host writes ahead to its recorder there); observers see it after.

    ``snapshot_interval`` (>= 1) bounds the cost of reading an old version: a whole copy is kept
    for the root and whenever ``snapshot_interval`` versions have passed since the last one,
    so a read applies at most ``snapshot_interval - 1`` operation lists, and K versions keep
    about ``ceil(K / snapshot_interval)`` whole copies. 1 keeps every version whole. A version
    whose operations would not rebuild it exactly (dict key order or ``-0.0``, which ``diff``
    rightly ignores) or that replaces the whole document is kept whole as well.
    """

    def __init__(self, snapshot_interval: int = DEFAULT_SNAPSHOT_INTERVAL) -> None:
        if (
            not isinstance(snapshot_interval, int)
            or isinstance(snapshot_interval, bool)
            or snapshot_interval < 1
        ):
            raise ConfigError(
                "snapshot_interval",
                f"must be a positive integer (1 keeps every version whole, larger values trade "
                f"read time for memory), got {shown(snapshot_interval)}",
            )
        self._snapshot_interval = snapshot_interval
        self._lock = threading.Lock()
        # Re-entrant so an observer may commit; its version then follows the one it observed.
        self._sequence = threading.RLock()
        self._versions: list[_Stored] = []
        self._positions: dict[str, int] = {}
        self._head_data: JSON = None
        self._snapshots = 0
        self._lists_applied = 0
        self._earlier: EarlierVersions | None = None
        self._loading = threading.Lock()
        self._guards: CallbackList[CommitCallback] = CallbackList()
        self._observers: CallbackList[CommitCallback] = CallbackList()

    @property
    def snapshot_interval(self) -> int:
        """Versions per whole snapshot (see the class docstring)."""
        return self._snapshot_interval

    @property
    def stored_snapshots(self) -> int:
        """How many versions are kept as whole copies (read-only; the rest are operations)."""
        with self._lock:
            return self._snapshots

    @property
    def operation_lists_applied(self) -> int:
        """How many per-version operation lists reads have applied to rebuild states so far.

        A diagnostic that never resets: reading a version ``k`` versions past its snapshot adds
        ``k`` (at most ``snapshot_interval - 1``); ``get_history()`` adds one per non-snapshot
        version; reading the current version adds nothing.
        """
        with self._lock:
            return self._lists_applied

    def add_guard(self, guard: CommitCallback) -> Remove:
        """Call ``guard(version, operations)`` before a version becomes current.

        Raising vetoes the commit (and propagates). A guard must not commit to this store.
        """
        require_callable("guard", guard)
        return self._guards.add(guard)

    def add_observer(self, observer: CommitCallback) -> Remove:
        """Call ``observer(version, operations)`` after each commit, in commit order.

        An observer's error is logged, never raised: the commit has happened.
        """
        require_callable("observer", observer)
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
        optimistic concurrency: if another commit got there first, ConcurrencyConflictError is
        raised.
        ``description`` is a str and ``expected_parent`` a str or None, else
        ``InvalidArgumentError``; ``data`` that is not JSON raises the delta layer's
        ``InvalidValueError``.
        """
        require_str("description", description)
        if expected_parent is not _Head.CURRENT:
            require_str("expected_parent", expected_parent, optional=True)
        validate_json(data)
        snapshot = copy.deepcopy(data)
        digest = data_hash(snapshot)
        with self._sequence:
            with self._lock:
                parent = self._versions[-1] if self._versions else None
                parent_data = self._head_data
            parent_id = None if parent is None else parent.header.version_id
            if expected_parent is not _Head.CURRENT and expected_parent != parent_id:
                raise ConcurrencyConflictError(
                    f"expected version {expected_parent!r} to be current, but it is "
                    f"{parent_id!r}; read the current state again and retry",
                    current=parent_id,
                )
            version = VersionedState(
                version_id=str(uuid.uuid4()),
                data=snapshot,
                parent_version_id=parent_id,
                # Never before the parent, so state_at can bisect even if the clock stepped back.
                timestamp=max(now(), 0.0 if parent is None else parent.header.timestamp),
                change_description=description,
                data_hash=digest,
            )
            told = _detached(version)
            # A root has no parent: its operations set the whole document.
            operations: list[Operation] = (
                [Set("", told.data)] if parent is None else diff(parent_data, told.data)
            )
            # Stored before any guard runs, so nothing a callback does to its arguments sticks.
            stored = self._stored(parent, parent_data, version, operations)
            for guard in self._guards:
                guard(told, operations)
            self._append(stored, snapshot, told, operations)
        return version.version_id

    def apply_remote(
        self, version: VersionedState, operations: Sequence[Operation], *, whole: bool = False
    ) -> bool:
        """Append a version another process committed, without guards (it is recorded already);
        observers are told it with ``remote=True``. Returns False, changing nothing, for a
        version this store holds already (its own commit coming back, or a repeat).

        The state is ``version.data`` when ``whole``, else ``operations`` applied to the
        current state; either way it must hash to ``version.data_hash``, and the version's
        parent must be the current version, else ``ReplayError`` (the store missed a version:
        reload it with ``restore``). Thread-safe; waits for a commit in progress.
        """
        with self._sequence:
            with self._lock:
                known = version.version_id in self._positions
                parent = self._versions[-1] if self._versions else None
                parent_data = self._head_data
            if known:
                return False
            parent_id = None if parent is None else parent.header.version_id
            if version.parent_version_id != parent_id:
                raise ReplayError(
                    f"remote version {version.version_id!r} has parent "
                    f"{version.parent_version_id!r}, but this store is at {parent_id!r}; "
                    "a version in between was missed"
                )
            data = copy.deepcopy(version.data) if whole else apply(parent_data, operations)
            if data_hash(data) != version.data_hash:
                raise ReplayError(
                    f"remote version {version.version_id!r} does not hash to its data_hash; "
                    "its operations do not lead from this store's current state to it"
                )
            header = attrs.evolve(version, data=data, remote=True)
            told = _detached(header)
            told_operations: list[Operation] = (
                [Set("", told.data)] if parent is None else diff(parent_data, told.data)
            )
            stored = self._stored(parent, parent_data, header, told_operations)
            self._append(stored, data, told, told_operations)
        return True

    def _append(
        self, stored: _Stored, data: JSON, told: VersionedState, operations: list[Operation]
    ) -> None:
        """Make ``stored`` (whose state is ``data``) the current version, then tell the
        observers (call with ``_sequence`` held)."""
        with self._lock:
            self._positions[stored.header.version_id] = len(self._versions)
            self._versions.append(stored)
            self._head_data = data
            self._snapshots += int(stored.operations is None)
        for observer in self._observers:
            call_isolated(
                "commit_observer_failed", observer, told, operations, version_id=told.version_id
            )

    def restore(
        self, history: Sequence[VersionedState], *, earlier: EarlierVersions | None = None
    ) -> None:
        """Replace the history with recorded versions (oldest first) without telling anyone.

        Used by replay: the versions were guarded and observed when first committed. Checks the
        parent chain and every data hash, so a backend that rebuilt a state wrongly is caught
        (ReplayError). The versions are then kept as compactly as committed ones (operations
        from the parent, a snapshot when due).

        With ``earlier``, ``history`` may be the timeline's last versions only (at its head,
        from a version the backend holds whole): the first one's parent is then the last of
        ``earlier()``, which is called once, only when a read needs a version before them
        (``get``/``get_version``/``diff``/``revert`` of an older id, ``get_history``,
        ``state_at`` before the first). Its versions are checked as above (a chain from a
        root, hashes) when they are loaded, and a read that loads them raises what
        ``earlier`` raises, or ReplayError. Restoring at the head so costs the versions since
        the nearest snapshot, however long the history is.
        """
        first_parent = history[0].parent_version_id if history and earlier is not None else None
        _check_chain(history, first_parent)
        restored, head_data = self._compact(history)
        with self._sequence, self._lock:
            self._versions = restored
            self._positions = {s.header.version_id: n for n, s in enumerate(restored)}
            self._head_data = head_data
            self._snapshots = sum(s.operations is None for s in restored)
            self._earlier = earlier if first_parent is not None else None

    @property
    def fully_loaded(self) -> bool:
        """False while versions before the restored ones wait to be loaded (see `restore`)."""
        with self._lock:
            return self._earlier is None

    def _compact(self, history: Sequence[VersionedState]) -> tuple[list[_Stored], JSON]:
        """``history`` (checked) kept as committed versions are, and the last one's data."""
        restored: list[_Stored] = []
        head_data: JSON = None
        for version in history:
            data = copy.deepcopy(version.data)
            parent = restored[-1] if restored else None
            operations = [] if parent is None else diff(head_data, data)
            restored.append(self._stored(parent, head_data, version, operations))
            head_data = data
        return restored, head_data

    def _load_earlier(self) -> None:
        """Load the versions before the restored ones, if `restore` was given ``earlier`` and
        they are not loaded yet (never with ``_lock`` held: it reads the backend)."""
        with self._loading:
            with self._lock:
                earlier = self._earlier
            if earlier is None:
                return
            versions = list(earlier())
            _check_chain(versions, None)
            prefix, _ = self._compact(versions)
            with self._lock:
                if self._earlier is not earlier:
                    return  # restored again meanwhile
                expected = self._versions[0].header.parent_version_id
                last = prefix[-1].header.version_id if prefix else None
                if last != expected:
                    raise ReplayError(
                        f"version {self._versions[0].header.version_id!r} has parent "
                        f"{expected!r}, but the versions before it end at {last!r}; the "
                        "recorded timeline is not a chain"
                    )
                self._versions = prefix + self._versions
                self._positions = {s.header.version_id: n for n, s in enumerate(self._versions)}
                self._snapshots += sum(s.operations is None for s in prefix)
                self._earlier = None

    def get(self, version_id: str | None = None) -> JSON:
        """A deep copy of a version's data (default: the current one; None if nothing committed)."""
        require_str("version_id", version_id, optional=True)
        if version_id is None:
            with self._lock:
                head_data = self._head_data
            return copy.deepcopy(head_data)
        return self._read(version_id)[1]

    def get_version(self, version_id: str) -> VersionedState:
        """The version ``version_id`` (a copy)."""
        header, data = self._read(version_id)
        return attrs.evolve(header, data=data)

    def get_current_version_id(self) -> str | None:
        """The current version's id, or None before the first commit."""
        with self._lock:
            return self._versions[-1].header.version_id if self._versions else None

    def get_history(self) -> list[VersionedState]:
        """Every version, oldest first (copies).

        Rebuilt in one pass, each state from the one before it: one operation list per
        version, never a walk back to a snapshot. Loads the versions before a restore's first
        one (see `restore`).
        """
        self._load_earlier()
        with self._lock:
            versions = list(self._versions)
            self._lists_applied += sum(s.operations is not None for s in versions)
        history: list[VersionedState] = []
        data: JSON = None
        for stored in versions:
            if stored.operations is None:
                data = copy.deepcopy(stored.snapshot)
            else:
                data = apply(data, stored.operations)  # a fresh copy: shares nothing with data
            history.append(attrs.evolve(stored.header, data=data))
        return history

    def diff(self, version_a: str, version_b: str) -> list[Operation]:
        """The delta operations that turn ``version_a``'s state into ``version_b``'s."""
        require_str("version_a", version_a)
        require_str("version_b", version_b)
        return diff(self._read(version_a)[1], self._read(version_b)[1])

    def revert(self, version_id: str, description: str | None = None) -> str:
        """Commit ``version_id``'s state again as a new version (history is never rewritten)."""
        require_str("description", description, optional=True)
        return self.commit(self.get(version_id), description or f"revert to {version_id}")

    def state_at(self, timestamp: float) -> JSON:
        """A deep copy of the state that was current at ``timestamp`` (epoch seconds)."""
        require_seconds("timestamp", timestamp)
        plan = self._plan_at(timestamp)
        if plan is None and not self.fully_loaded:
            self._load_earlier()
            plan = self._plan_at(timestamp)
        if plan is None:
            raise UnknownVersionError(
                f"no version was committed at or before {timestamp}; the first is later "
                "or the store is empty"
            )
        return _rebuilt(*plan)[1]

    def _plan_at(self, timestamp: float) -> tuple[VersionedState, JSON, list[_Stored]] | None:
        """How to rebuild the last version committed at or before ``timestamp``, if loaded."""
        with self._lock:
            position = bisect.bisect_right(
                self._versions, timestamp, key=lambda s: s.header.timestamp
            )
            return self._plan(position - 1) if position else None

    def _stored(
        self,
        parent: _Stored | None,
        parent_data: JSON,
        version: VersionedState,
        operations: Sequence[Operation],
    ) -> _Stored:
        """How to keep ``version`` (whose ``data`` is private to the store) after ``parent``.

        Operations are kept when a snapshot is not due, they are not the whole document, and
        they rebuild the data exactly from the parent's; otherwise the data is kept whole.
        """
        header = attrs.evolve(version, data=None)
        since = 0 if parent is None else parent.since_snapshot + 1
        if 0 < since < self._snapshot_interval and not _replaces_whole(operations):
            kept = tuple(copy.deepcopy(list(operations)))
            if _identical(apply(parent_data, kept), version.data):
                return _Stored(header, None, kept, since)
        return _Stored(header, version.data, None, 0)

    def _read(self, version_id: str) -> tuple[VersionedState, JSON]:
        """The header of version ``version_id`` and a fresh copy of its data."""
        require_str("version_id", version_id)
        plan = self._plan_of(version_id)
        if plan is None and not self.fully_loaded:
            self._load_earlier()
            plan = self._plan_of(version_id)
        if plan is None:
            raise UnknownVersionError(
                f"no version {version_id!r} in this store; list ids with get_history()"
            )
        return _rebuilt(*plan)

    def _plan_of(self, version_id: str) -> tuple[VersionedState, JSON, list[_Stored]] | None:
        """How to rebuild version ``version_id``, if loaded."""
        with self._lock:
            position = self._positions.get(version_id)
            return None if position is None else self._plan(position)

    def _plan(self, position: int) -> tuple[VersionedState, JSON, list[_Stored]]:
        """How to rebuild the version at ``position`` (call with the lock held): its header,
        the whole state to start from, and the versions whose operations to apply to it.

        The current version is kept whole; any other starts from its nearest snapshot (found
        by ``since_snapshot``, at most ``snapshot_interval - 1`` versions back).
        """
        stored = self._versions[position]
        if position == len(self._versions) - 1:
            return stored.header, self._head_data, []
        base = position - stored.since_snapshot
        steps = self._versions[base + 1 : position + 1]
        self._lists_applied += len(steps)
        return stored.header, self._versions[base].snapshot, steps
