"""`VersionCommitter`: commits TemporalStore versions with a full snapshot exactly when the
module requires one (`contract.snapshot_required`), so no version is refused for lack of one
and none carries one it does not need.

The schedule (versions since the last snapshot per timeline, and the interval) is read from
the module once and then followed locally. Another writer on the same timeline, or a changed
``snapshot_interval``, moves it: the module then refuses the version with
``snapshot_required``, and the committer sends it again with the snapshot and reads the
interval afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from nerv_inner_universe import contract
from nerv_inner_universe.delta import Operation, canonical_json
from nerv_inner_universe.nerv import VersionedState
from nerv_inner_universe.plugin import translate
from nerv_inner_universe.plugin.errors import SnapshotRequiredError

Submit = Callable[[contract.ReducerCall, str], None]
"""``submit(call, what)`` writes ``call`` and returns once it is stored; raises the writer's
errors (`SnapshotRequiredError` for ``snapshot_required``) naming ``what``."""
ReadSchedule = Callable[[str], tuple[int, int]]
"""``read_schedule(timeline)`` -> (versions since the timeline's last snapshot, 0 for a new
timeline; the module's ``snapshot_interval``)."""


class VersionCommitter:
    """Thread-safe; one per recorder."""

    def __init__(self, submit: Submit, read_schedule: ReadSchedule) -> None:
        self._submit = submit
        self._read_schedule = read_schedule
        self._lock = threading.Lock()
        self._since_snapshot: dict[str, int] = {}
        self._interval: int | None = None

    def record(
        self, timeline: str, version: VersionedState, operations: Sequence[Operation]
    ) -> None:
        """Commits ``version`` (with ``operations`` from its parent) on ``timeline``; raises
        what the writer raises (ConcurrencyConflictError when the head moved...)."""
        snapshot = self._snapshot_due(timeline, version)
        try:
            self.commit(timeline, version, operations, snapshot=snapshot)
        except SnapshotRequiredError:
            if snapshot:
                raise
            with self._lock:
                self._interval = None  # it may have changed: read it again next time
            snapshot = True
            self.commit(timeline, version, operations, snapshot=snapshot)
        with self._lock:
            self._since_snapshot[timeline] = (
                0 if snapshot else self._since_snapshot.get(timeline, 0) + 1
            )

    def commit(
        self,
        timeline: str,
        version: VersionedState,
        operations: Sequence[Operation],
        *,
        snapshot: bool,
    ) -> None:
        """One `commit_state_version` call, with the whole state when ``snapshot``."""
        call = self.call(timeline, version, operations, snapshot=snapshot)
        self._submit(call, f"version {version.version_id!r} of timeline {timeline!r}")

    @staticmethod
    def call(
        timeline: str,
        version: VersionedState,
        operations: Sequence[Operation],
        *,
        snapshot: bool,
    ) -> contract.ReducerCall:
        """The `commit_state_version` call of ``version``, with the whole state when
        ``snapshot``."""
        return contract.commit_state_version(
            version_id=version.version_id,
            timeline=timeline,
            parent_version_id=version.parent_version_id,
            occurred_at=translate.timestamp(version.timestamp, "version timestamp"),
            description=version.change_description,
            data_hash=version.data_hash,
            operations=translate.operations(operations),
            snapshot=canonical_json(version.data) if snapshot else None,
        )

    def _snapshot_due(self, timeline: str, version: VersionedState) -> bool:
        has_parent = version.parent_version_id is not None
        if not has_parent:
            return True
        with self._lock:
            since = self._since_snapshot.get(timeline)
            interval = self._interval
        if since is None or interval is None:
            read_since, interval = self._read_schedule(timeline)
            since = read_since
            with self._lock:
                self._since_snapshot[timeline] = since
                self._interval = interval
        return contract.snapshot_required(has_parent, since, interval)
