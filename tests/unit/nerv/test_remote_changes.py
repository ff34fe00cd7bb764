"""Versions and deltas another process made, applied with `apply_remote`: observers are told
them marked remote, guards are not asked, and what the store already holds is ignored."""

from __future__ import annotations

from typing import Any

import pytest

from nerv_inner_universe.delta import Operation, Patch, Set, data_hash, diff
from nerv_inner_universe.nerv import (
    ConcurrencyConflictError,
    DeltaMetadata,
    ReplayError,
    StateProjector,
    TemporalStore,
    VersionedState,
)


def remote_version(
    version_id: str, data: Any, parent: str | None, timestamp: float = 1.0
) -> VersionedState:
    return VersionedState(
        version_id=version_id,
        data=data,
        parent_version_id=parent,
        timestamp=timestamp,
        change_description=f"by another process: {version_id}",
        data_hash=data_hash(data),
    )


def refusing_guard(*_args: object) -> None:
    raise AssertionError("a remote change must not be guarded: it is recorded already")


def test_a_remote_version_follows_the_head_and_is_told_as_remote() -> None:
    store = TemporalStore()
    head = store.commit({"a": 1})
    store.add_guard(refusing_guard)
    told: list[tuple[VersionedState, list[Operation]]] = []
    store.add_observer(lambda version, ops: told.append((version, ops)))
    remote = remote_version("r1", {"a": 2}, head)
    assert store.apply_remote(remote, [Set("/a", 2)])
    assert store.get_current_version_id() == "r1"
    assert store.get() == {"a": 2}
    assert store.get_version(head) == store.get_history()[0]
    [(version, ops)] = told
    assert version.remote
    assert (version.version_id, version.data, version.parent_version_id) == ("r1", {"a": 2}, head)
    assert ops == diff({"a": 1}, {"a": 2})
    assert store.get_version("r1").remote
    assert not store.get_version(head).remote


def test_a_commit_on_the_old_head_conflicts_naming_the_new_one() -> None:
    store = TemporalStore()
    head = store.commit({"a": 1})
    store.apply_remote(remote_version("r1", {"a": 2}, head), [Set("/a", 2)])
    with pytest.raises(ConcurrencyConflictError, match="'r1'") as caught:
        store.commit({"a": 3}, expected_parent=head)
    assert caught.value.current == "r1"
    retried = store.commit({"a": 3}, expected_parent=store.get_current_version_id())
    assert store.get_version(retried).parent_version_id == "r1"


def test_a_remote_root_may_come_whole() -> None:
    store = TemporalStore()
    assert store.apply_remote(remote_version("root", {"x": [1]}, None), [], whole=True)
    assert store.get() == {"x": [1]}
    assert store.get_history()[0].remote


def test_a_version_the_store_holds_is_ignored() -> None:
    store = TemporalStore()
    head = store.commit({"a": 1})
    told: list[object] = []
    store.add_observer(lambda *args: told.append(args))
    again = store.get_version(head)
    assert not store.apply_remote(again, [Set("", {"a": 1})], whole=False)
    assert told == []
    assert len(store.get_history()) == 1


def test_a_gap_or_a_wrong_hash_is_refused_and_changes_nothing() -> None:
    store = TemporalStore()
    head = store.commit({"a": 1})
    with pytest.raises(ReplayError, match="a version in between was missed"):
        store.apply_remote(remote_version("r2", {"a": 3}, "r1"), [Set("/a", 3)])
    wrong = remote_version("r1", {"a": 2}, head)
    with pytest.raises(ReplayError, match="does not hash"):
        store.apply_remote(wrong, [Set("/a", 5)])
    assert store.get_current_version_id() == head
    assert store.get() == {"a": 1}


def metadata(index: int, description: str = "remote") -> DeltaMetadata:
    return DeltaMetadata(description=description, timestamp=1.0, index=index)


def test_a_remote_delta_is_applied_and_told_as_remote() -> None:
    projector = StateProjector({})
    projector.apply_delta({"mine": 1})
    projector.add_guard(refusing_guard)
    told: list[tuple[int, DeltaMetadata, list[Operation] | None]] = []
    projector.add_observer(lambda index, _delta, meta, ops: told.append((index, meta, ops)))
    assert projector.apply_remote([Patch("", {"theirs": 2})], metadata(1)) == 1
    assert projector.get_current_state() == {"mine": 1, "theirs": 2}
    [(index, meta, ops)] = told
    assert (index, meta.index, meta.remote, meta.description) == (1, 1, True, "remote")
    assert ops == [Patch("", {"theirs": 2})]
    assert [m.remote for _, m in projector.get_delta_history()] == [False, True]
    assert projector.project(until=1) == {"mine": 1}


def test_a_remote_delta_numbered_like_a_local_one_takes_the_next_index() -> None:
    projector = StateProjector({})
    projector.apply_delta({"mine": 1})
    projector.apply_delta({"mine": 2})
    assert projector.apply_remote([Patch("", {"theirs": 1})], metadata(1)) == 2
    assert projector.apply_delta({"after": True}) == 3
    assert [index for index, _ in projector.get_delta_history()] == [0, 1, 2, 3]


def test_a_remote_delta_that_does_not_apply_is_a_no_op_as_in_replay() -> None:
    projector = StateProjector({"list": []})
    told: list[DeltaMetadata] = []
    projector.add_observer(lambda _index, _delta, meta, _ops: told.append(meta))
    assert projector.apply_remote([Set("/list/5/x", 1)], metadata(0)) == 0
    assert projector.get_current_state() == {"list": []}
    assert [index for index, _ in projector.get_delta_history()] == [0]
    assert [meta.remote for meta in told] == [True]
    replayed = StateProjector({"list": []})
    replayed.restore([(0, metadata(0), [Set("/list/5/x", 1)])])
    assert replayed.get_current_state() == projector.get_current_state()
    assert replayed.get_delta_history() == projector.get_delta_history()
