"""StateProjector restored at its head: from a checkpoint and the deltas after it, the deltas
the checkpoint results from loaded once, when a read first needs them; every read gives what a
projector restored from every delta gives."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from nerv_inner_universe.delta import (
    Operation,
    Patch,
    Remove,
    Set,
    canonical_json,
    data_hash,
    parse_json,
)
from nerv_inner_universe.nerv import DeltaMetadata, ProjectorCheckpoint, ReplayError, StateProjector
from nerv_inner_universe.nerv.errors import InvalidArgumentError

Recorded = tuple[int, DeltaMetadata, list[Operation]]


class Earlier:
    """A loader of the deltas before a checkpoint, counting its calls."""

    def __init__(self, deltas: Sequence[Recorded]) -> None:
        self.deltas = list(deltas)
        self.calls = 0

    def __call__(self) -> list[Recorded]:
        self.calls += 1
        return list(self.deltas)


def recorded(count: int) -> list[Recorded]:
    """``count`` deltas with gaps in their indexes; every 4th does not apply (a no-op)."""
    deltas: list[Recorded] = []
    for n in range(count):
        index = 2 * n
        ops: list[Operation] = (
            [Remove("/items", 99)] if n % 4 == 3 else [Patch("", {f"k{n % 3}": n, "items": [n]})]
        )
        metadata = DeltaMetadata(timestamp=1.0 + n, index=index, tags=[f"t{n % 2}"])
        deltas.append((index, metadata, ops))
    return deltas


def full(deltas: Sequence[Recorded]) -> StateProjector:
    projector = StateProjector({})
    projector.restore(deltas)
    return projector


def at_head(deltas: Sequence[Recorded], cut: int) -> tuple[StateProjector, Earlier, list[int]]:
    """A projector restored from a checkpoint after ``deltas[:cut]`` and the rest; the
    indexes of the no-ops ``restore`` returned."""
    reference = full(deltas[:cut])
    before = reference.restore(deltas[:cut])
    checkpoint = ProjectorCheckpoint(
        reference.get_current_state(), deltas[cut - 1][0] + 1, cut, len(before)
    )
    earlier = Earlier(deltas[:cut])
    projector = StateProjector({})
    noops = projector.restore(deltas[cut:], checkpoint=checkpoint, earlier=earlier)
    return projector, earlier, [noop.index for noop in noops]


def test_the_head_needs_no_earlier_delta_and_reports_the_no_ops_after_the_checkpoint() -> None:
    deltas = recorded(20)
    projector, earlier, noops = at_head(deltas, 12)
    whole = full(deltas)
    assert projector.get_current_state() == whole.get_current_state()
    assert noops == [2 * n for n in (15, 19)]  # the ones before the checkpoint are counted only
    assert projector.project(until=23) == whole.project(until=23)  # the checkpoint's state
    assert projector.project(until=31) == whole.project(until=31)
    assert projector.apply_delta({"next": True}) == whole.apply_delta({"next": True}) == 39
    assert projector.get_current_state() == whole.get_current_state()
    assert (earlier.calls, projector.fully_loaded) == (0, False)


@pytest.mark.parametrize("until", [0, 1, 7, 21, 22])
def test_a_state_before_the_checkpoint_loads_the_earlier_deltas_once(until: int) -> None:
    deltas = recorded(20)
    projector, earlier, _ = at_head(deltas, 12)
    whole = full(deltas)
    assert projector.project(until=until) == whole.project(until=until)
    assert projector.project(until=until + 1) == whole.project(until=until + 1)
    assert (earlier.calls, projector.fully_loaded) == (1, True)
    assert projector.get_delta_history() == whole.get_delta_history()
    assert earlier.calls == 1


def test_the_delta_history_loads_the_earlier_deltas() -> None:
    deltas = recorded(9)
    projector, earlier, _ = at_head(deltas, 5)
    assert projector.get_delta_history(with_tags=["t1"]) == full(deltas).get_delta_history(
        with_tags=["t1"]
    )
    assert earlier.calls == 1


def test_a_checkpoint_at_the_head_numbers_the_next_delta_after_it() -> None:
    deltas = recorded(6)
    projector, earlier, noops = at_head(deltas, 6)
    assert noops == []
    assert projector.get_current_state() == full(deltas).get_current_state()
    assert projector.apply_delta({"next": 1}) == 11
    assert earlier.calls == 0


def test_a_remote_delta_before_a_tentative_one_is_numbered_after_the_checkpoint() -> None:
    deltas = recorded(6)
    projector, _, _ = at_head(deltas, 6)
    projector.follow_log_order()
    projector.apply_delta({"mine": 1})
    told = projector.apply_remote([Set("/theirs", 2)], DeltaMetadata(timestamp=9.0, index=3))
    assert told == 11  # its own index is taken by the checkpoint's deltas
    assert [index for index, _ in projector.get_delta_history()][-2:] == [11, 12]
    assert projector.get_current_state()["theirs"] == 2


def test_earlier_deltas_that_do_not_give_the_checkpoint_are_a_replay_error() -> None:
    deltas = recorded(8)
    projector, earlier, _ = at_head(deltas, 5)
    earlier.deltas[0] = (0, deltas[0][1], [Set("/other", 1)])
    with pytest.raises(ReplayError, match="do not give its state"):
        projector.get_delta_history()
    projector, earlier, _ = at_head(deltas, 5)
    del earlier.deltas[2]  # a no-op: the state is the same, the count is not
    with pytest.raises(ReplayError, match="the 4 deltas before the checkpoint"):
        projector.project(until=0)


def test_a_checkpoint_of_deltas_needs_a_reader_of_them() -> None:
    projector = StateProjector({})
    with pytest.raises(InvalidArgumentError, match="needs `earlier`"):
        projector.restore([], checkpoint=ProjectorCheckpoint({"a": 1}, 1, 1))
    projector.restore([], checkpoint=ProjectorCheckpoint({}, 0, 0))
    assert (projector.fully_loaded, projector.get_delta_history()) == (True, [])


@pytest.mark.parametrize("field", ["next_index", "deltas", "noops"])
def test_a_checkpoint_count_is_an_int_of_at_least_zero(field: str) -> None:
    counts: dict[str, object] = {"next_index": 0, "deltas": 0, "noops": 0, field: -1}
    with pytest.raises(InvalidArgumentError, match=field):
        ProjectorCheckpoint({}, **counts)  # type: ignore[arg-type]


def test_a_checkpoint_keeps_its_own_copy_of_the_state() -> None:
    state = {"items": [1]}
    checkpoint = ProjectorCheckpoint(state, 1, 1)
    state["items"].append(2)
    assert checkpoint.state == {"items": [1]}
    projector = StateProjector({})
    projector.restore([], checkpoint=checkpoint, earlier=Earlier([]))
    assert projector.get_current_state() == {"items": [1]}


def test_a_checkpoint_in_replay_key_order_restores_that_order_and_hashes_canonical() -> None:
    """The module stores a checkpoint's state with its keys in the order the deltas gave them;
    parsed, it hashes as its canonical form and restores what a full replay gives, key order
    (nested too) included."""
    meta = [DeltaMetadata(timestamp=1.0, index=n) for n in range(3)]
    deltas: list[Recorded] = [
        (0, meta[0], [Patch("", {"b": 1, "n": {"z": 1}})]),
        (1, meta[1], [Set("/a", 2), Set("/n/y", 2)]),
        (2, meta[2], [Set("/c", 3)]),
    ]
    stored = '{"b":1,"n":{"z":1,"y":2},"a":2}'  # what the module writes after two deltas
    state = parse_json(stored)
    assert data_hash(state) == hashlib.sha256(canonical_json(state).encode()).hexdigest()
    assert canonical_json(state) == '{"a":2,"b":1,"n":{"y":2,"z":1}}'
    projector = StateProjector({})
    checkpoint = ProjectorCheckpoint(state, 2, 2, 0)
    projector.restore(deltas[2:], checkpoint=checkpoint, earlier=Earlier(deltas[:2]))
    whole = full(deltas).get_current_state()
    restored = projector.get_current_state()
    assert list(restored) == list(whole) == ["b", "n", "a", "c"]
    assert list(restored["n"]) == list(whole["n"]) == ["z", "y"]
