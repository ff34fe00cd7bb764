"""TemporalStore restored at its head: from the last versions only, the older ones loaded once,
when a read first needs them; every read gives what a store restored from the whole history
gives."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from nerv_inner_universe.nerv import ReplayError, TemporalStore, UnknownVersionError, VersionedState


class Earlier:
    """A loader of the versions before a tail, counting its calls."""

    def __init__(self, versions: list[VersionedState]) -> None:
        self.versions = versions
        self.calls = 0

    def __call__(self) -> list[VersionedState]:
        self.calls += 1
        return list(self.versions)


def history(count: int, interval: int = 5) -> list[VersionedState]:
    source = TemporalStore(interval)
    for n in range(count):
        source.commit({"n": n, "items": list(range(n % 7))}, f"commit {n}")
    return source.get_history()


def at_head(versions: list[VersionedState], cut: int) -> tuple[TemporalStore, Earlier]:
    earlier = Earlier(versions[:cut])
    store = TemporalStore(5)
    store.restore(versions[cut:], earlier=earlier)
    return store, earlier


def test_the_head_needs_no_older_version() -> None:
    versions = history(30)
    store, earlier = at_head(versions, 25)
    assert store.get() == versions[-1].data
    assert store.get_current_version_id() == versions[-1].version_id
    assert store.get(versions[26].version_id) == versions[26].data
    assert store.state_at(versions[27].timestamp) == versions[27].data
    new = store.commit({"n": "next"}, "after restore")
    assert store.get_version(new).parent_version_id == versions[-1].version_id
    assert (earlier.calls, store.fully_loaded) == (0, False)


@pytest.mark.parametrize(
    "read",
    [
        lambda store, old: store.get(old.version_id),
        lambda store, old: store.get_version(old.version_id).data,
        lambda store, old: store.diff(old.version_id, store.get_current_version_id()),
        lambda store, old: (store.revert(old.version_id), store.get())[1],
        lambda store, old: store.state_at(old.timestamp),
        lambda store, _old: store.get_history(),
    ],
    ids=["get", "get_version", "diff", "revert", "state_at", "get_history"],
)
def test_an_older_version_is_loaded_once_and_reads_as_in_a_full_restore(
    read: Callable[[TemporalStore, VersionedState], object],
) -> None:
    versions = history(30)
    full = TemporalStore(5)
    full.restore(versions)
    store, earlier = at_head(versions, 25)
    old = versions[3]
    assert read(store, old) == read(full, old)
    assert earlier.calls == 1
    assert store.fully_loaded
    restored, reference = store.get_history(), full.get_history()
    assert restored[:30] == reference[:30] == versions
    assert [v.data for v in restored] == [v.data for v in reference]
    assert store.get(versions[0].version_id) == versions[0].data
    assert earlier.calls == 1


def test_an_unknown_id_loads_then_is_unknown() -> None:
    store, earlier = at_head(history(12), 10)
    with pytest.raises(UnknownVersionError):
        store.get("nope")
    assert earlier.calls == 1
    with pytest.raises(UnknownVersionError):
        store.get("nope")
    assert earlier.calls == 1


def test_older_versions_are_checked_when_loaded() -> None:
    versions = history(12)
    broken = TemporalStore(5)
    broken.restore(versions[8:], earlier=Earlier(versions[:6]))
    with pytest.raises(ReplayError, match="end at"):
        broken.get_history()
    lying = TemporalStore(5)
    lying.restore(
        versions[8:], earlier=Earlier([*versions[:7], attrs.evolve(versions[7], data={"n": -1})])
    )
    with pytest.raises(ReplayError, match="hash"):
        lying.get(versions[0].version_id)
    assert lying.get() == versions[-1].data  # the head is unaffected


def test_a_loader_that_fails_fails_the_read_and_is_asked_again() -> None:
    versions = history(12)
    calls = 0

    def flaky() -> list[VersionedState]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("backend down")
        return versions[:9]

    store = TemporalStore(5)
    store.restore(versions[9:], earlier=flaky)
    with pytest.raises(OSError, match="backend down"):
        store.get_history()
    assert store.get_history() == versions


def test_a_tail_from_the_root_needs_no_loader() -> None:
    versions = history(4)
    earlier = Earlier([])
    store = TemporalStore(5)
    store.restore(versions, earlier=earlier)
    assert store.fully_loaded
    assert store.get_history() == versions
    assert earlier.calls == 0


def test_restored_snapshots_stay_at_most_an_interval_apart() -> None:
    versions = history(40)
    store, _ = at_head(versions, 23)
    assert store.stored_snapshots == 4  # the tail's first version is kept whole
    store.get_history()
    for version in versions:
        before = store.operation_lists_applied
        assert store.get(version.version_id) == version.data
        assert store.operation_lists_applied - before < store.snapshot_interval
