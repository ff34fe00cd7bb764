"""The state follower's delivery thread outlives an error while applying a remote change (rows
made by hand; the real-server tests cover the subscriptions)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from nerv_inner_universe.client import Row, Timestamp, Variant
from nerv_inner_universe.contract import Table
from nerv_inner_universe.delta import Operation, Set
from nerv_inner_universe.nerv import DeltaMetadata, LogState, StateProjector, TemporalStore
from nerv_inner_universe.plugin.remote_state import Snapshots, StateFollower


class FailsOnce(StateProjector):
    """A projector that raises what user code might (not a NervError) after applying its first
    remote delta (so the deltas stay in order whatever the projector's ordering rules)."""

    def __init__(self) -> None:
        super().__init__({})
        self.failed = False

    def apply_remote(
        self,
        operations: Sequence[Operation],
        metadata: DeltaMetadata,
        position: int | None = None,
    ) -> int:
        index = super().apply_remote(operations, metadata, position)
        if not self.failed:
            self.failed = True
            raise RuntimeError("user code broke")
        return index


def delta_row(seq: int, index: int) -> Row:
    return Row(
        delta_id=f"main:{index}.other",
        seq=seq,
        operations=[],
        metadata=Row(description=f"delta {index}", author=None, tags=[]),
        occurred_at=Timestamp(1_700_000_000_000_000),
    )


def test_an_error_applying_one_remote_delta_does_not_end_delivery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    projector = FailsOnce()
    follower = StateFollower(
        TemporalStore(),
        "main",
        projector,
        "main",
        claim_delta=lambda _delta_id: False,
        read_versions_after=lambda _version_id: [],
    )
    follower._thread.start()
    with caplog.at_level(logging.ERROR):
        for seq in (1, 2):
            follower._inbox.put((Table.DELTA_RECORD, delta_row(seq, seq - 1)))
        follower.stop()  # applies what is queued, then ends the thread
    assert projector.failed
    assert follower.deltas_applied == 1
    assert [(i, m.description) for i, m in projector.get_delta_history()] == [
        (0, "delta 0"),
        (1, "delta 1"),
    ]
    assert any("remote_change_not_applied" in r.getMessage() for r in caplog.records)


def set_row(seq: int, index: int, key: str, writer: str = "other") -> Row:
    value = Variant("Set", Row(path=f"/{key}", value=str(seq)))
    return Row(
        delta_id=f"main:{index}.{writer}",
        seq=seq,
        operations=[value],
        metadata=Row(description="", author=None, tags=[]),
        occurred_at=Timestamp(1_700_000_000_000_000),
    )


def test_a_snapshot_is_written_every_interval_deltas_with_the_log_state() -> None:
    projector = StateProjector({})
    projector.restore([], position=0)
    written: list[LogState] = []
    follower = StateFollower(
        TemporalStore(),
        "main",
        projector,
        "main",
        claim_delta=lambda delta_id: delta_id.endswith(".mine"),
        read_versions_after=lambda _version_id: [],
        snapshots=Snapshots(every=3, write=written.append, since=1),
    )
    follower._projector.follow_log_order()
    follower._thread.start()
    own = projector.apply_delta({"own": 1})  # tentative until its row comes back at seq 4
    for seq, index, key, writer in [(2, 0, "a", "other"), (4, own, "own", "mine")]:
        follower._inbox.put((Table.DELTA_RECORD, set_row(seq, index, key, writer)))
    for seq in range(5, 9):
        follower._inbox.put((Table.DELTA_RECORD, set_row(seq, seq, f"k{seq}")))
    follower.stop()
    assert [(p.position, p.next_index) for p in written] == [(4, 2), (7, 8)]
    assert written[0].state == {"a": 2, "own": 1}
    assert written[1].state == {"a": 2, "own": 1, "k5": 5, "k6": 6, "k7": 7}


def test_no_snapshot_once_the_projector_holds_a_delta_the_log_does_not() -> None:
    projector = StateProjector({})
    projector.restore([], position=0)
    projector.apply_delta(lambda state: {**state, "local": True})  # never recorded
    written: list[LogState] = []
    snapshots = Snapshots(every=1, write=written.append)
    projector.follow_log_order()
    projector.apply_remote([Set("/a", 1)], DeltaMetadata(timestamp=1.0, index=1), position=3)
    snapshots.delta_followed(projector)
    assert projector.log_state() is None
    assert written == []
