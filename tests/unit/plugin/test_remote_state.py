"""The state follower's delivery thread outlives an error while applying a remote change (rows
made by hand; the real-server tests cover the subscriptions)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from nerv_inner_universe.client import Row, Timestamp
from nerv_inner_universe.contract import Table
from nerv_inner_universe.delta import Operation
from nerv_inner_universe.nerv import DeltaMetadata, StateProjector, TemporalStore
from nerv_inner_universe.plugin.remote_state import StateFollower


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


def following_main(projector: StateProjector) -> StateFollower:
    """A follower of timeline and stream ``main`` into a fresh store and ``projector``, which
    claims no delta as its own and finds no versions to catch up with."""
    return StateFollower(
        TemporalStore(),
        "main",
        projector,
        "main",
        claim_delta=lambda _delta_id: False,
        read_versions_after=lambda _version_id: [],
    )


def test_an_error_applying_one_remote_delta_does_not_end_delivery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    projector = FailsOnce()
    follower = following_main(projector)
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
