"""TemporalStore: commits, copies, history, diff, revert, state_at, concurrency, restore."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import pytest
from structlog.typing import EventDict

from nerv_inner_universe.delta import DeltaError, Operation, apply, data_hash
from nerv_inner_universe.nerv import (
    ConcurrencyConflictError,
    ReplayError,
    TemporalStore,
    UnknownVersionError,
    VersionedState,
)
from nerv_inner_universe.nerv import temporal as temporal_module


def test_an_empty_store_has_no_state() -> None:
    store = TemporalStore()
    assert store.get() is None
    assert store.get_current_version_id() is None
    assert store.get_history() == []


def test_commit_links_versions_and_hashes_them() -> None:
    store = TemporalStore()
    first = store.commit({"a": 1}, "first")
    second = store.commit({"a": 2})
    assert store.get_current_version_id() == second
    assert store.get() == {"a": 2}
    assert store.get(first) == {"a": 1}
    history = store.get_history()
    assert [v.version_id for v in history] == [first, second]
    assert [v.parent_version_id for v in history] == [None, first]
    assert [v.change_description for v in history] == ["first", ""]
    assert history[0].data_hash == data_hash({"a": 1})
    assert all(v.timestamp == round(v.timestamp, 6) for v in history)
    assert history[0].timestamp <= history[1].timestamp
    assert store.get_version(first) == history[0]


def test_history_cannot_be_changed_through_the_caller_or_what_it_reads() -> None:
    store = TemporalStore()
    data: dict[str, Any] = {"items": [1, 2]}
    version_id = store.commit(data)
    data["items"].append(3)
    read: list[Any] = [
        store.get(),
        store.get(version_id),
        store.get_history()[0].data,
        store.get_version(version_id).data,
    ]
    for copy in read:
        copy["items"].append(4)
    assert store.get() == {"items": [1, 2]}


def test_non_json_data_is_refused() -> None:
    store = TemporalStore()
    with pytest.raises(DeltaError):
        store.commit({"a": {1, 2}})  # type: ignore[dict-item]
    assert store.get_history() == []


def test_unknown_versions_are_named_in_the_error() -> None:
    store = TemporalStore()
    store.commit(1)
    for call in (store.get, store.get_version, lambda v: store.diff(v, v), store.revert):
        with pytest.raises(UnknownVersionError, match="nope"):
            call("nope")


def test_diff_gives_operations_between_two_versions() -> None:
    store = TemporalStore()
    a = store.commit({"x": 1, "list": [1]})
    b = store.commit({"x": 2, "y": None, "list": [1, 2]})
    assert apply(store.get(a), store.diff(a, b)) == store.get(b)
    assert store.diff(a, a) == []


def test_revert_commits_the_old_state_as_a_new_version() -> None:
    store = TemporalStore()
    a = store.commit({"v": 1})
    b = store.commit({"v": 2})
    c = store.revert(a)
    assert store.get() == {"v": 1}
    assert store.get_version(c).parent_version_id == b
    assert store.get_version(c).change_description == f"revert to {a}"
    d = store.revert(b, "back")
    assert store.get_version(d).change_description == "back"
    assert len(store.get_history()) == 4


def test_state_at_finds_the_version_current_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([10.0, 20.0, 15.0])
    monkeypatch.setattr(temporal_module, "now", lambda: next(clock))
    store = TemporalStore()
    store.commit("ten")
    store.commit("twenty")
    stepped_back = store.commit("clock stepped back")
    assert store.get_version(stepped_back).timestamp == 20.0
    assert store.state_at(10.0) == "ten"
    assert store.state_at(19.999) == "ten"
    assert store.state_at(25.0) == "clock stepped back"
    with pytest.raises(UnknownVersionError):
        store.state_at(9.0)


def test_expected_parent_gives_optimistic_concurrency() -> None:
    store = TemporalStore()
    assert store.commit({"n": 0}, expected_parent=None)
    read = store.get_current_version_id()
    store.commit({"n": 1}, expected_parent=read)
    with pytest.raises(ConcurrencyConflictError, match="expected version"):
        store.commit({"n": 2}, expected_parent=read)
    with pytest.raises(ConcurrencyConflictError):
        store.commit({"n": 2}, expected_parent=None)
    assert store.get() == {"n": 1}


def test_concurrent_commits_with_the_same_parent_let_exactly_one_win() -> None:
    store = TemporalStore()
    base = store.commit(0)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            store.commit(n, expected_parent=base)
            outcomes.append("won")
        except ConcurrencyConflictError:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    assert len(store.get_history()) == 2


def test_guards_and_observers_see_each_commit_with_its_operations() -> None:
    store = TemporalStore()
    seen: list[tuple[str, VersionedState, list[Operation]]] = []
    store.add_guard(lambda version, ops: seen.append(("guard", version, ops)))
    remove = store.add_observer(lambda version, ops: seen.append(("observer", version, ops)))
    store.commit({"a": 1})
    store.commit({"a": 1, "b": 2})
    remove()
    store.commit({})
    assert [kind for kind, _, _ in seen] == ["guard", "observer", "guard", "observer", "guard"]
    history = store.get_history()
    assert [v for kind, v, _ in seen if kind == "guard"] == history
    state = None
    for _, version, ops in seen[::2]:
        state = apply(state, ops)
        assert state == version.data


def test_a_guard_that_raises_vetoes_the_commit() -> None:
    store = TemporalStore()
    kept = store.commit(1)

    def refuse(version: VersionedState, operations: list[Operation]) -> None:
        raise ConcurrencyConflictError("someone else was first")

    store.add_guard(refuse)
    with pytest.raises(ConcurrencyConflictError):
        store.commit(2)
    assert store.get_current_version_id() == kept
    assert store.get() == 1


def test_an_observer_may_commit() -> None:
    store = TemporalStore()
    store.add_observer(lambda version, ops: version.data == 1 and store.commit(2))
    store.commit(1)
    assert [v.data for v in store.get_history()] == [1, 2]


def test_restore_replaces_history_without_telling_observers() -> None:
    source = TemporalStore()
    for n in range(3):
        source.commit({"n": n}, f"commit {n}")
    store = TemporalStore()
    store.commit("old")
    told: list[VersionedState] = []
    store.add_guard(lambda version, ops: told.append(version))
    store.add_observer(lambda version, ops: told.append(version))
    store.restore(source.get_history())
    assert told == []
    assert store.get_history() == source.get_history()
    assert store.get() == {"n": 2}
    store.restore([])
    assert store.get_history() == []


def test_restore_refuses_a_broken_chain_or_a_wrong_hash() -> None:
    source = TemporalStore()
    source.commit(1)
    source.commit(2)
    first, second = source.get_history()
    with pytest.raises(ReplayError, match="not a chain"):
        TemporalStore().restore([second])
    with pytest.raises(ReplayError, match="hash"):
        TemporalStore().restore([first, attrs.evolve(second, data=3)])


def test_a_failing_observer_neither_undoes_nor_fails_the_commit(logs: list[EventDict]) -> None:
    store = TemporalStore()
    told: list[str] = []

    def broken(version: VersionedState, operations: list[Operation]) -> None:
        raise RuntimeError("observer broke")

    store.add_observer(broken)
    store.add_observer(lambda version, ops: told.append(version.version_id))
    version_id = store.commit({"a": 1})
    assert told == [version_id] == [store.get_current_version_id()]
    [entry] = [e for e in logs if e["event"] == "commit_observer_failed"]
    assert (entry["version_id"], entry["level"]) == (version_id, "error")
