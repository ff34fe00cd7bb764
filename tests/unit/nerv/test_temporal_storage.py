"""TemporalStore's compact storage: operations per version, a snapshot every N, exact rebuilds.

Exactness is checked with ``repr``, which (unlike ``==`` and ``json_equal``) sees dict key
order, the sign of zero and ``1`` vs ``1.0`` vs ``True``: a rebuilt state must be the very
state committed, not merely an equal one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerv_inner_universe.delta import JSON, Operation, apply, data_hash, json_equal
from nerv_inner_universe.nerv import ConcurrencyConflictError, ConfigError, TemporalStore
from nerv_inner_universe.nerv import temporal as temporal_module
from tests.strategies import json_keys, json_values

INTERVALS = [1, 2, 3, 50]


@attrs.frozen
class Commit:
    state: JSON
    on_current: bool  # pass the current version as expected_parent


@attrs.frozen
class Edit:
    """Set one key of the current state (a dict, or a new one); maybe reverse the key order."""

    key: str
    value: JSON
    reorder: bool


@attrs.frozen
class CommitOnStale:
    """Commit with an expected parent that is no longer current: must conflict."""

    pick: int


@attrs.frozen
class Revert:
    pick: int


@attrs.frozen
class Restore:
    """Continue on a fresh store restored from this one's history."""


Action = Commit | Edit | CommitOnStale | Revert | Restore


def actions() -> st.SearchStrategy[list[Action]]:
    return st.lists(
        st.one_of(
            st.builds(Commit, json_values(max_leaves=8), st.booleans()),
            st.builds(Edit, json_keys(), json_values(max_leaves=4), st.booleans()),
            st.builds(CommitOnStale, st.integers(0, 1000)),
            st.builds(Revert, st.integers(0, 1000)),
            st.builds(Restore),
        ),
        min_size=1,
        max_size=30,
    )


def edited(state: JSON, edit: Edit) -> JSON:
    result = dict(state) if isinstance(state, dict) else {}
    result[edit.key] = edit.value
    return dict(reversed(result.items())) if edit.reorder else result


def run(store: TemporalStore, script: Iterable[Action]) -> tuple[TemporalStore, dict[str, JSON]]:
    """Play ``script`` on ``store``; the store in use at the end and each version's state."""
    committed: dict[str, JSON] = {}
    ids: list[str] = []

    def commit(state: JSON, expected_parent: str | None = None) -> None:
        if expected_parent is None:
            version_id = store.commit(state)
        else:
            version_id = store.commit(state, expected_parent=expected_parent)
        ids.append(version_id)
        committed[version_id] = state

    for action in script:
        match action:
            case Commit(state, on_current):
                commit(state, store.get_current_version_id() if on_current else None)
            case Edit():
                commit(edited(store.get(), action))
            case CommitOnStale(pick) if len(ids) >= 2:
                with pytest.raises(ConcurrencyConflictError):
                    store.commit({"lost": True}, expected_parent=ids[pick % (len(ids) - 1)])
            case Revert(pick) if ids:
                target = ids[pick % len(ids)]
                ids.append(store.revert(target))
                committed[ids[-1]] = committed[target]
            case Restore():
                fresh = TemporalStore(store.snapshot_interval)
                fresh.restore(store.get_history())
                store = fresh
    return store, committed


@pytest.mark.parametrize("interval", INTERVALS)
@settings(max_examples=60)
@given(script=actions())
def test_every_version_reads_back_exactly_as_committed(interval: int, script: list[Action]) -> None:
    store, committed = run(TemporalStore(snapshot_interval=interval), script)
    history = store.get_history()
    assert [v.version_id for v in history] == list(committed)
    for version in history:
        expected = committed[version.version_id]
        assert repr(version.data) == repr(expected)
        assert version.data_hash == data_hash(expected)
        before = store.operation_lists_applied
        assert repr(store.get(version.version_id)) == repr(expected)
        assert repr(store.get_version(version.version_id).data) == repr(expected)
        assert store.operation_lists_applied - before <= 2 * (interval - 1)
    if history:
        assert repr(store.get()) == repr(committed[history[-1].version_id])
        assert repr(store.state_at(history[-1].timestamp + 1)) == repr(store.get())
        first, last = history[0].version_id, history[-1].version_id
        assert json_equal(apply(store.get(first), store.diff(first, last)), store.get(last))
        assert store.stored_snapshots >= math.ceil(len(history) / interval)


def item(n: int) -> dict[str, JSON]:
    return {"id": n, "name": f"item {n}", "tags": [n % 3, n % 5]}


def states(count: int) -> list[JSON]:
    """``count`` states, each one small change from the one before (never a whole rewrite)."""
    state: dict[str, JSON] = {"items": [item(n) for n in range(5)], "n": 0}
    result: list[JSON] = []
    for n in range(count):
        items = list(state["items"])  # type: ignore[arg-type]
        items[n % 5] = item(n)
        state = {"items": items, "n": n}
        result.append(state)
    return result


@pytest.mark.parametrize("interval", [1, 2, 3, 7, 50])
def test_a_snapshot_every_interval_bounds_what_a_read_applies(
    interval: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """K versions keep ceil(K / N) snapshots; reading one N-1 versions past its snapshot
    applies N-1 operation lists (in one ``apply``, so the state is copied once)."""
    count = 40
    store = TemporalStore(snapshot_interval=interval)
    ids = [store.commit(state) for state in states(count)]
    assert store.stored_snapshots == math.ceil(count / interval)
    applies: list[list[Operation]] = []

    def counting_apply(state: JSON, ops: Iterable[Operation]) -> JSON:
        applies.append(list(ops))
        return apply(state, applies[-1])

    monkeypatch.setattr(temporal_module, "apply", counting_apply)
    for position, (version_id, state) in enumerate(zip(ids, states(count), strict=True)):
        before, calls = store.operation_lists_applied, len(applies)
        assert store.get(version_id) == state
        applied = store.operation_lists_applied - before
        if position == count - 1:
            assert applied == 0  # the head is kept whole
        else:
            assert applied == position % interval <= interval - 1
        assert len(applies) - calls == (1 if applied else 0)


def test_many_versions_of_a_large_state_keep_few_whole_copies() -> None:
    """2,000 versions of a ~10 KB state at the default interval keep 40 whole copies."""
    store = TemporalStore()
    assert store.snapshot_interval == 50
    rows: list[JSON] = [{"id": n, "text": f"{n:04d}" * 125} for n in range(20)]
    assert len(json.dumps({"rows": rows, "n": 0})) >= 10_000
    ids: list[str] = []
    for n in range(2000):
        rows = list(rows)
        rows[n % 20] = {"id": n, "text": f"{n:04d}" * 125}
        ids.append(store.commit({"rows": rows, "n": n}))
    assert store.stored_snapshots == 40
    old = store.get(ids[1049])
    assert isinstance(old, dict)
    assert old["n"] == 1049
    assert old["rows"][9] == {"id": 1049, "text": "1049" * 125}  # type: ignore[index]
    assert old["rows"][10] == {"id": 1030, "text": "1030" * 125}  # type: ignore[index]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # diff sees no change; key order did change
        ({"x": 0.0}, {"x": -0.0}),  # equal in JSON, yet a different float
        ({"a": 1}, [1]),  # a whole rewrite is as big as a snapshot
    ],
)
def test_versions_operations_cannot_rebuild_exactly_are_kept_whole(
    first: JSON, second: JSON
) -> None:
    store = TemporalStore(snapshot_interval=10)
    store.commit(first)
    version_id = store.commit(second)
    store.commit("later")  # so that second is no longer the head
    assert store.stored_snapshots == 3
    assert repr(store.get(version_id)) == repr(second)


def test_restore_stores_recorded_versions_compactly() -> None:
    source = TemporalStore(snapshot_interval=1)
    for state in states(10):
        source.commit(state)
    assert source.stored_snapshots == 10
    store = TemporalStore(snapshot_interval=4)
    store.restore(source.get_history())
    assert store.stored_snapshots == 3
    assert store.get_history() == source.get_history()
    store.restore([])
    assert (store.stored_snapshots, store.get(), store.get_history()) == (0, None, [])


@pytest.mark.parametrize("interval", [0, -1, True, 1.5, "50"])
def test_the_snapshot_interval_must_be_a_positive_integer(interval: object) -> None:
    with pytest.raises(ConfigError, match="snapshot_interval"):
        TemporalStore(snapshot_interval=interval)  # type: ignore[arg-type]
