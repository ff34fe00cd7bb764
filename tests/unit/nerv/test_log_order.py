"""Live projectors converge to the log order: a delta applied here is tentative until its log
position is confirmed, a remote delta placed before it rebases, and once every projector has
been told the whole log each one's state and history are what a replay of the log gives.

The log here is a fake: a list whose positions are its indexes + 1, written ahead by each
projector's guard as a recorder does, and handed to every projector in log order, as the
server's subscription does."""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest

from nerv_inner_universe.delta import Delete, Insert, Operation, Patch, Set
from nerv_inner_universe.nerv import DeltaMetadata, OperationsDelta, StateProjector
from nerv_inner_universe.nerv.errors import InvalidArgumentError


@attrs.define
class FakeLog:
    """Recorded deltas ``(writer, index, operations)``; a row's position is its index + 1."""

    rows: list[tuple[str, int, list[Operation]]] = attrs.Factory(list)

    def replayed(self, initial: Any) -> StateProjector:
        """A fresh projector restored from the log, numbered as replay numbers it (the writer's
        index, raised past the one before when two writers numbered theirs alike)."""
        recorded: list[tuple[int, DeltaMetadata, list[Operation]]] = []
        for _, label, operations in self.rows:
            index = max(label, recorded[-1][0] + 1) if recorded else label
            recorded.append((index, DeltaMetadata(timestamp=1.0, index=index), operations))
        fresh = StateProjector(initial)
        fresh.restore(recorded)
        return fresh


class Process:
    """A projector whose guard records to the log and which is told the log in order."""

    def __init__(self, name: str, log: FakeLog, initial: Any) -> None:
        self.name = name
        self.log = log
        self.projector = StateProjector(initial)
        self.projector.follow_log_order()
        self.projector.add_guard(self._record)
        self.seen = 0

    def _record(
        self, index: int, _delta: object, _meta: DeltaMetadata, ops: list[Operation] | None
    ) -> None:
        assert ops is not None
        self.log.rows.append((self.name, index, ops))

    def behind(self) -> bool:
        return self.seen < len(self.log.rows)

    def receive(self) -> None:
        """The next log row: its own confirms a position, another's is applied at it."""
        writer, label, operations = self.log.rows[self.seen]
        self.seen += 1
        if writer == self.name:
            assert self.projector.confirm(label, self.seen)
        else:
            meta = DeltaMetadata(description=writer, timestamp=1.0, index=label)
            self.projector.apply_remote(operations, meta, position=self.seen)

    def catch_up(self) -> None:
        while self.behind():
            self.receive()


def assert_converged(processes: list[Process], log: FakeLog, initial: Any) -> None:
    for process in processes:
        process.catch_up()
    fresh = log.replayed(initial)
    for process in processes:
        assert process.projector.get_current_state() == fresh.get_current_state()
        live = [index for index, _ in process.projector.get_delta_history()]
        assert live == [index for index, _ in fresh.get_delta_history()]
        assert process.projector.rebase_buffer == 0


def test_two_projectors_applying_at_the_same_moment_end_in_log_order() -> None:
    log = FakeLog()
    a, b = Process("A", log, {}), Process("B", log, {})
    for round_ in range(5):
        a.projector.apply_delta({"k": f"A{round_}"})  # recorded first
        b.projector.apply_delta({"k": f"B{round_}"})  # applied before B hears of A's
        assert b.projector.rebase_buffer == 1
        a.catch_up()
        b.catch_up()
        assert a.projector.get_current_state() == {"k": f"B{round_}"}
        assert b.projector.get_current_state() == {"k": f"B{round_}"}
    assert_converged([a, b], log, {})
    assert log.replayed({}).get_current_state() == {"k": "B4"}


def test_a_rebase_tells_the_remote_delta_once_with_the_rebased_state() -> None:
    log = FakeLog()
    a, b = Process("A", log, {"list": []}), Process("B", log, {"list": []})
    told: list[tuple[int, DeltaMetadata, Any]] = []
    b.projector.add_observer(
        lambda index, _d, meta, _ops: told.append((index, meta, b.projector.get_current_state()))
    )
    a.projector.apply_delta(OperationsDelta([Insert("/list", "a")]))
    b.projector.apply_delta(OperationsDelta([Insert("/list", "b1")]))
    b.projector.apply_delta(OperationsDelta([Insert("/list", "b2")]))
    assert b.projector.get_current_state() == {"list": ["b1", "b2"]}
    b.receive()  # A's delta is first in the log: before both of B's
    assert b.projector.get_current_state() == {"list": ["a", "b1", "b2"]}
    assert [(index, meta.remote, meta.rebased) for index, meta, _ in told] == [
        (0, False, False),
        (1, False, False),
        (0, True, True),
    ]
    assert told[-1][2] == {"list": ["a", "b1", "b2"]}
    assert [index for index, _ in b.projector.get_delta_history()] == [0, 1, 2]
    assert b.projector.rebase_buffer == 2  # the remote one is settled: it is first in the log
    b.catch_up()
    assert b.projector.rebase_buffer == 0
    assert b.projector.project(until=1) == {"list": ["a"]}
    assert_converged([a, b], log, {"list": []})


def test_a_remote_delta_after_every_confirmed_one_is_no_rebase() -> None:
    log = FakeLog()
    a, b = Process("A", log, {}), Process("B", log, {})
    told: list[DeltaMetadata] = []
    b.projector.add_observer(lambda _i, _d, meta, _ops: told.append(meta))
    b.projector.apply_delta({"b": 1})
    a.projector.apply_delta({"a": 1})
    b.catch_up()
    assert [(meta.remote, meta.rebased) for meta in told] == [(False, False), (True, False)]
    assert b.projector.get_current_state() == {"a": 1, "b": 1}
    assert_converged([a, b], log, {})


def test_a_delete_of_a_key_another_process_deleted_first_is_a_no_op_live_and_replayed() -> None:
    log = FakeLog()
    a, b = Process("A", log, {"k": 1}), Process("B", log, {"k": 1})
    a.projector.apply_delta(OperationsDelta([Delete("/k")]))
    b.projector.apply_delta(OperationsDelta([Delete("/k")]))
    b.projector.apply_delta(OperationsDelta([Set("/after", True)]))
    assert_converged([a, b], log, {"k": 1})
    assert b.projector.get_current_state() == {"after": True}
    assert len(b.projector.get_delta_history()) == 3


def test_without_log_order_nothing_waits_and_turning_it_off_settles() -> None:
    projector = StateProjector({})
    projector.apply_delta({"a": 1})
    assert projector.rebase_buffer == 0
    projector.follow_log_order()
    projector.apply_delta({"b": 1})
    projector.apply_delta(lambda state: {**state, "local": True})  # never recorded
    assert projector.rebase_buffer == 2
    assert not projector.confirm(7, 1)
    projector.follow_log_order(enabled=False)
    assert projector.rebase_buffer == 0
    assert projector.get_current_state() == {"a": 1, "b": 1, "local": True}


def test_a_function_delta_stays_where_it_was_applied() -> None:
    log = FakeLog()
    a = Process("A", log, {})
    b = StateProjector({})
    b.follow_log_order()
    b.apply_delta(lambda state: {**state, "seen": sorted(state)})
    assert b.rebase_buffer == 0  # nothing tentative before it
    a.projector.apply_delta({"a": 1})
    b.apply_remote([Patch("", {"a": 1})], DeltaMetadata(timestamp=1.0, index=0), position=1)
    assert b.get_current_state() == {"seen": [], "a": 1}


def test_confirm_checks_its_arguments() -> None:
    projector = StateProjector({})
    with pytest.raises(InvalidArgumentError):
        projector.confirm("0", 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        projector.confirm(0, None)  # type: ignore[arg-type]


OPERATIONS: list[list[Operation]] = [
    [Patch("", {"k": "x"})],
    [Patch("", {"k": "y"})],
    [Delete("/k")],
    [Insert("/list", "i")],
    [Insert("/list", "j", 0)],
    [Delete("/list/0")],
]


@pytest.mark.parametrize("writers", [2, 3])
@pytest.mark.parametrize("seed", range(40))
def test_any_interleaving_converges_to_the_replayed_log(writers: int, seed: int) -> None:
    rng = random.Random(seed)
    initial = {"k": "start", "list": []}
    log = FakeLog()
    processes = [Process(name, log, initial) for name in "ABC"[:writers]]
    for _ in range(60):
        process = rng.choice(processes)
        if process.behind() and rng.random() < 0.5:
            process.receive()
            continue
        try:
            process.projector.apply_delta(OperationsDelta(rng.choice(OPERATIONS)))
        except LookupError:  # does not fit this state here: refused, never recorded
            continue
    assert len(log.rows) > 10
    assert_converged(processes, log, initial)
