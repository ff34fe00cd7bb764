"""`VersionCommitter` against a fake of the module's snapshot rule: a snapshot goes with exactly
the versions that need one, and a ``snapshot_required`` refusal (the schedule moved under the
committer) is answered by sending the version again with its snapshot."""

from __future__ import annotations

import pytest

from nerv_inner_universe import contract
from nerv_inner_universe.delta import JSON, Set, data_hash
from nerv_inner_universe.nerv import VersionedState
from nerv_inner_universe.plugin.errors import SnapshotRequiredError, WriteRefusedError
from nerv_inner_universe.plugin.versions import VersionCommitter


class FakeModule:
    """Keeps each timeline's head and count since its last snapshot, and refuses like the
    module: ``snapshot_required`` for a version without a snapshot when one is due."""

    def __init__(self, interval: int) -> None:
        self.interval = interval
        self.heads: dict[str, tuple[str, int]] = {}
        self.calls: list[contract.ReducerCall] = []
        self.schedule_reads = 0
        self.refuse_with: WriteRefusedError | None = None
        """Raised for every call when set."""

    def submit(self, call: contract.ReducerCall, what: str) -> None:
        self.calls.append(call)
        if self.refuse_with is not None:
            raise self.refuse_with
        timeline = str(call.argument("timeline"))
        parent = call.argument("parent_version_id")
        has_snapshot = call.argument("snapshot") is not None
        _, since = self.heads.get(timeline, ("", 0))
        if not has_snapshot and contract.snapshot_required(
            parent is not None, since, self.interval
        ):
            raise SnapshotRequiredError(f"{what}: snapshot_required: needs a snapshot")
        self.heads[timeline] = (str(call.argument("version_id")), 0 if has_snapshot else since + 1)

    def read_schedule(self, timeline: str) -> tuple[int, int]:
        self.schedule_reads += 1
        return self.heads.get(timeline, ("", 0))[1], self.interval

    def snapshots(self) -> list[bool]:
        """For each call so far: did it carry a snapshot?"""
        return [call.argument("snapshot") is not None for call in self.calls]


def version(n: int) -> VersionedState:
    data: JSON = {"n": n}
    return VersionedState(
        version_id=f"v{n}",
        data=data,
        parent_version_id=f"v{n - 1}" if n > 1 else None,
        timestamp=float(n),
        change_description=f"state {n}",
        data_hash=data_hash(data),
    )


def record(committer: VersionCommitter, n: int) -> None:
    committer.record("main", version(n), [] if n == 1 else [Set("/n", n)])


def test_snapshots_go_exactly_with_the_versions_that_need_one() -> None:
    module = FakeModule(interval=3)
    committer = VersionCommitter(module.submit, module.read_schedule)
    for n in range(1, 9):
        record(committer, n)
    # root, then every third version: no call was refused, none was sent twice
    assert module.snapshots() == [True, False, False, True, False, False, True, False]
    assert [call.argument("version_id") for call in module.calls] == [f"v{n}" for n in range(1, 9)]
    assert module.schedule_reads == 1, "the schedule is read once, then followed"


def test_a_schedule_moved_by_another_writer_is_answered_with_the_snapshot() -> None:
    module = FakeModule(interval=3)
    mine = VersionCommitter(module.submit, module.read_schedule)
    other = VersionCommitter(module.submit, module.read_schedule)
    record(mine, 1)
    record(mine, 2)  # mine now believes one version passed since the snapshot
    record(other, 3)  # ... but another writer adds one more
    calls_before = len(module.calls)
    record(mine, 4)  # refused without a snapshot, then sent with it
    retried = module.calls[calls_before:]
    assert [call.argument("version_id") for call in retried] == ["v4", "v4"]
    assert [call.argument("snapshot") is not None for call in retried] == [False, True]
    assert module.heads["main"] == ("v4", 0)
    record(mine, 5)
    assert module.calls[-1].argument("snapshot") is None, "the schedule restarts after it"


def test_a_changed_interval_is_read_again_after_a_refusal() -> None:
    module = FakeModule(interval=50)
    committer = VersionCommitter(module.submit, module.read_schedule)
    record(committer, 1)
    record(committer, 2)
    module.interval = 2  # `update_config snapshot_interval 2` by someone else
    record(committer, 3)  # refused, sent again with the snapshot; the interval is re-read
    reads = module.schedule_reads
    record(committer, 4)
    record(committer, 5)
    assert module.schedule_reads == reads + 1
    assert module.snapshots()[-3:] == [True, False, True], "no refusal under the new interval"


def test_a_refusal_of_a_version_with_its_snapshot_is_not_retried() -> None:
    module = FakeModule(interval=3)
    committer = VersionCommitter(module.submit, module.read_schedule)
    module.refuse_with = SnapshotRequiredError("v1: snapshot_required: as if the rule changed")
    with pytest.raises(SnapshotRequiredError):
        record(committer, 1)  # a root version: sent with its snapshot the first time
    assert len(module.calls) == 1


def test_other_refusals_are_not_retried() -> None:
    module = FakeModule(interval=3)
    committer = VersionCommitter(module.submit, module.read_schedule)
    record(committer, 1)
    module.refuse_with = WriteRefusedError("v2: invalid_argument: description is too long")
    with pytest.raises(WriteRefusedError, match="invalid_argument") as refused:
        record(committer, 2)
    assert not isinstance(refused.value, SnapshotRequiredError)
    assert len(module.calls) == 2
