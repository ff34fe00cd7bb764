"""StateProjector and its deltas: apply, projections, history, guards, observers, restore."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.typing import EventDict

from nerv_inner_universe.delta import JSON, Delete, Operation, Patch, Remove, Set, apply
from nerv_inner_universe.nerv import (
    Delta,
    DeltaMetadata,
    FunctionDelta,
    InvalidDeltaError,
    OperationsDelta,
    PatchDelta,
    StateProjector,
    UnknownNameError,
    UnpersistableDeltaError,
)
from nerv_inner_universe.nerv import projector as projector_module

Told = tuple[str, int, Delta, DeltaMetadata, "list[Operation] | None"]


def metadata_at(index: int) -> DeltaMetadata:
    return DeltaMetadata(timestamp=1.0, index=index)


def test_dicts_are_shallow_patches_and_functions_are_function_deltas() -> None:
    projector = StateProjector({"a": {"x": 1}, "b": 1})
    assert projector.apply_delta({"a": {"y": 2}}, "patch", source="me", tags=["t"]) == 0
    assert projector.apply_delta(lambda s: {**s, "c": s["b"] + 1}) == 1
    assert projector.get_current_state() == {"a": {"y": 2}, "b": 1, "c": 2}


def test_delta_objects_are_applied_as_given() -> None:
    projector = StateProjector({"list": [1]})
    projector.apply_delta(OperationsDelta([Set("/list/0", 5), Set("/n", None)]))
    projector.apply_delta(PatchDelta({"p": True}))
    assert projector.get_current_state() == {"list": [5], "n": None, "p": True}


def test_a_function_that_edits_in_place_does_not_change_history() -> None:
    projector = StateProjector({"n": 0})

    def bump(state: dict[str, int]) -> dict[str, int]:
        state["n"] += 1
        return state

    projector.apply_delta(bump)
    projector.apply_delta(bump)
    assert projector.get_current_state() == {"n": 2}
    assert projector.project(until=1) == {"n": 1}


def test_state_handed_in_or_out_is_copied() -> None:
    initial: dict[str, Any] = {"list": [1]}
    patch: dict[str, Any] = {"more": [2]}
    projector = StateProjector(initial)
    projector.apply_delta(patch)
    initial["list"].append(9)
    patch["more"].append(9)
    projector.get_current_state()["list"].append(9)
    projector.project()["more"].append(9)
    assert projector.get_current_state() == {"list": [1], "more": [2]}
    assert projector.project(until=0) == {"list": [1]}


def test_bad_deltas_are_refused_and_change_nothing() -> None:
    projector = StateProjector([1, 2])
    with pytest.raises(InvalidDeltaError, match="dict state"):
        projector.apply_delta({"a": 1})
    with pytest.raises(InvalidDeltaError, match="cannot apply"):
        projector.apply_delta(42)  # type: ignore[arg-type]
    assert projector.get_current_state() == [1, 2]
    assert projector.get_delta_history() == []


def test_projections_and_until() -> None:
    projector = StateProjector({"n": 0})
    for n in range(1, 4):
        projector.apply_delta({"n": n})
    projector.add_projection("double", lambda state: state["n"] * 2)
    assert projector.project() == {"n": 3}
    assert projector.project("double") == 6
    assert projector.project("double", until=0) == 0
    assert projector.project("double", until=2) == 4
    assert projector.project(until=99) == {"n": 3}
    with pytest.raises(UnknownNameError, match=r"'missing'.*double"):
        projector.project("missing")


def test_delta_history_keeps_metadata_and_filters_by_any_tag() -> None:
    projector = StateProjector({})
    projector.apply_delta({"a": 1}, "one", source="s1", tags=["x"])
    projector.apply_delta({"b": 1}, "two", tags=("y", "z"))
    projector.apply_delta({"c": 1}, "three")
    history = projector.get_delta_history()
    assert [index for index, _ in history] == [0, 1, 2]
    first = history[0][1]
    assert (first.description, first.source, first.tags, first.index) == ("one", "s1", ("x",), 0)
    assert first.timestamp == round(first.timestamp, 6)
    assert [i for i, _ in projector.get_delta_history(with_tags=["z", "x"])] == [0, 1]
    assert projector.get_delta_history(with_tags=[]) == []


def test_reset_to_initial_forgets_deltas() -> None:
    projector = StateProjector({"n": 0})
    projector.apply_delta({"n": 1})
    projector.reset_to_initial()
    assert projector.get_current_state() == {"n": 0}
    assert projector.get_delta_history() == []
    assert projector.apply_delta({"n": 2}) == 0


def test_a_guarded_projector_refuses_reset() -> None:
    projector = StateProjector({"n": 0})
    projector.add_guard(lambda index, delta, metadata, operations: None)
    projector.apply_delta({"n": 1})
    with pytest.raises(UnpersistableDeltaError, match="reset_to_initial"):
        projector.reset_to_initial()
    assert projector.get_current_state() == {"n": 1}


def test_guards_and_observers_are_told_the_delta_as_operations() -> None:
    projector = StateProjector({})
    told: list[Told] = []
    projector.add_guard(lambda i, d, m, ops: told.append(("guard", i, d, m, ops)))
    remove = projector.add_observer(lambda i, d, m, ops: told.append(("observer", i, d, m, ops)))
    projector.apply_delta({"a": 1}, "patch")
    fn = FunctionDelta(lambda state: state)
    projector.apply_delta(fn)
    operations = [Set("/b", 2)]
    projector.apply_delta(OperationsDelta(operations))
    remove()
    projector.apply_delta({})
    assert [t[0] for t in told] == ["guard", "observer"] * 3 + ["guard"]
    assert told[0][1:3] == (0, PatchDelta({"a": 1}))
    assert told[0][3].description == "patch"
    assert told[0][4] == [Patch("", {"a": 1})]
    assert told[2][1:] == (1, fn, told[2][3], None)
    assert told[4][4] == operations


def test_a_guard_that_raises_vetoes_the_delta() -> None:
    projector = StateProjector({"n": 0})

    def refuse(
        index: int, delta: Delta, metadata: DeltaMetadata, ops: list[Operation] | None
    ) -> None:
        if ops is None:
            raise UnpersistableDeltaError("no functions")

    projector.add_guard(refuse)
    with pytest.raises(UnpersistableDeltaError):
        projector.apply_delta(lambda state: {"n": 99})
    assert projector.get_current_state() == {"n": 0}
    assert projector.apply_delta({"n": 1}) == 0


def test_an_observer_may_apply_a_delta() -> None:
    projector = StateProjector({"n": 0})
    projector.add_observer(lambda i, d, m, ops: i == 0 and projector.apply_delta({"echo": True}))
    projector.apply_delta({"n": 1})
    assert projector.get_current_state() == {"n": 1, "echo": True}
    assert [i for i, _ in projector.get_delta_history()] == [0, 1]


def test_restore_rebuilds_state_and_history_without_telling_anyone() -> None:
    source = StateProjector({"n": 0})
    recorded: list[tuple[int, DeltaMetadata, list[Operation]]] = []

    def record(
        index: int, delta: Delta, metadata: DeltaMetadata, ops: list[Operation] | None
    ) -> None:
        if ops is not None:
            recorded.append((index, metadata, ops))

    source.add_observer(record)
    source.apply_delta({"n": 1}, "patch", tags=["t"])
    source.apply_delta(lambda state: {**state, "local": True})
    source.apply_delta(OperationsDelta([Set("/m", [1])]))

    projector = StateProjector({"n": 0})
    told: list[int] = []
    projector.add_guard(lambda i, d, m, ops: told.append(i))
    projector.add_observer(lambda i, d, m, ops: told.append(i))
    projector.restore(recorded)
    assert told == []
    assert projector.get_current_state() == {"n": 1, "m": [1]}
    assert projector.get_delta_history() == [(0, recorded[0][1]), (2, recorded[1][1])]
    assert projector.project(until=1) == {"n": 1}
    assert projector.apply_delta({"later": 1}) == 3
    projector.restore([])
    assert projector.get_current_state() == {"n": 0}
    assert projector.apply_delta({}) == 0


def test_a_failing_observer_neither_undoes_nor_fails_the_delta(logs: list[EventDict]) -> None:
    projector = StateProjector({})

    def broken(
        index: int, delta: Delta, metadata: DeltaMetadata, ops: list[Operation] | None
    ) -> None:
        raise RuntimeError("observer broke")

    projector.add_observer(broken)
    assert projector.apply_delta({"a": 1}) == 0
    assert projector.get_current_state() == {"a": 1}
    [entry] = [e for e in logs if e["event"] == "delta_observer_failed"]
    assert (entry["index"], entry["level"]) == (0, "error")


def test_restore_reports_the_deltas_that_did_not_apply_and_applies_each_once(
    monkeypatch: pytest.MonkeyPatch, logs: list[EventDict]
) -> None:
    applied: list[list[Operation]] = []

    def counting(state: JSON, operations: list[Operation]) -> JSON:
        applied.append(list(operations))
        return apply(state, operations)

    monkeypatch.setattr(projector_module, "apply", counting)
    recorded: list[tuple[int, DeltaMetadata, list[Operation]]] = [
        (0, metadata_at(0), [Set("/list", [])]),
        (1, metadata_at(1), [Remove("/list", 3)]),
        (4, metadata_at(4), [Set("/x", 1)]),
        (5, metadata_at(5), [Delete("/nope")]),
    ]
    projector = StateProjector({})
    noops = projector.restore(recorded)
    assert [noop.index for noop in noops] == [1, 5]
    assert "remove" in noops[0].error
    assert projector.get_current_state() == {"list": [], "x": 1}
    assert [index for index, _ in projector.get_delta_history()] == [0, 1, 4, 5]
    assert applied == [ops for _, _, ops in recorded]
    assert not [e for e in logs if e["event"] == "delta_not_applicable"]  # the caller reports
