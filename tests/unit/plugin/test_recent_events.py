"""The recorder's bounded memory of recently recorded events."""

from __future__ import annotations

import pytest

from nerv_inner_universe.nerv.errors import RecordConflictError
from nerv_inner_universe.plugin.recent_events import RecentEvents


def test_a_repeat_is_a_no_op_and_different_content_conflicts() -> None:
    recent = RecentEvents(capacity=10)
    assert recent.admit("e1", ("A", 1))
    assert not recent.admit("e1", ("A", 1))
    with pytest.raises(RecordConflictError, match="'e1' was recorded before"):
        recent.admit("e1", ("A", 2))
    assert len(recent) == 1


def test_the_least_recently_used_id_is_forgotten_first() -> None:
    recent = RecentEvents(capacity=2)
    recent.admit("old", ("A",))
    recent.admit("kept", ("A",))
    assert not recent.admit("old", ("A",)), "used again: now the most recent"
    recent.admit("new", ("A",))
    assert len(recent) == 2
    assert not recent.admit("old", ("A",))
    assert recent.admit("kept", ("B",)), "evicted: the module answers for it now"


def test_a_forgotten_id_may_be_recorded_again_with_any_content() -> None:
    recent = RecentEvents(capacity=10)
    recent.admit("e1", ("A",))
    recent.forget("e1")
    assert recent.admit("e1", ("B",))
    recent.forget("never-seen")
    assert len(recent) == 1
