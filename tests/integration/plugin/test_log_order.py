"""Runtimes that apply conflicting deltas at the same moment converge to the log order: once
each has been told every ``delta_record`` row, every live projector's state is a fresh late
joiner's replayed state, and the state from applying the rows in ``seq`` order. Versions
already agree: the module's parent check serializes commits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from nerv_inner_universe.delta import ApplyError, Delete, apply
from nerv_inner_universe.nerv import DeltaMetadata, Nerv, OperationsDelta
from nerv_inner_universe.plugin import InnerUniverseRecorder
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config
from tests.integration.plugin.test_live_state import commit_with_retry
from tests.integration.plugin.test_runtime_persistence import wait_for

STREAM = "main"
"""The runtimes' default projector stream (the SQL below names it too)."""


def at_once(runtimes: list[Nerv], change: Callable[[Nerv, str], bool]) -> int:
    """Runs ``change(runtime, name)`` on every runtime in threads released by one barrier;
    returns how many returned True (recorded a change)."""
    barrier = threading.Barrier(len(runtimes))
    done: list[bool] = []
    errors: list[BaseException] = []

    def run(runtime: Nerv, name: str) -> None:
        try:
            barrier.wait(timeout=30)
            done.append(change(runtime, name))
        except BaseException as error:  # handed to the test thread
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(runtime, "ABC"[n])) for n, runtime in enumerate(runtimes)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(done) == len(runtimes)
    return sum(done)


def told_everything(runtime: Nerv, recorded: int) -> bool:
    """The runtime's projector holds every recorded delta and none awaits its log position."""
    projector = runtime.state_projector
    return len(projector.get_delta_history()) == recorded and projector.rebase_buffer == 0


def state_from_rows(runtime: Nerv, database: Database) -> Any:
    """The stream's ``delta_record`` rows applied in ``seq`` order (a row that does not fit
    the state at its place changes nothing), without a projector."""
    recorder = runtime.recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    seqs = [
        int(row["seq"])
        for row in database.sql("SELECT seq FROM delta_record WHERE stream = 'main'")
    ]
    state: Any = {}
    deltas = recorder.read_deltas(STREAM)
    assert len(deltas) == len(seqs)
    for _, _, operations in deltas:
        try:
            state = apply(state, operations)
        except ApplyError:
            continue
    return state


def assert_converged(
    everyone: list[Nerv], recorded: int, database: Database, runtimes: RuntimeFactory
) -> Any:
    for runtime in everyone:
        wait_for(lambda runtime=runtime: told_everything(runtime, recorded), timeout=60)
    late = runtimes(nerv_config(database))
    replayed = late.state_projector.get_current_state()
    assert replayed == state_from_rows(late, database)
    history = [index for index, _ in late.state_projector.get_delta_history()]
    assert len(history) == recorded
    for runtime in everyone:
        assert runtime.state_projector.get_current_state() == replayed
        assert [index for index, _ in runtime.state_projector.get_delta_history()] == history
    late.stop()
    return replayed


def set_k(rounds: list[int]) -> Callable[[Nerv, str], bool]:
    def change(runtime: Nerv, name: str) -> bool:
        runtime.state_projector.apply_delta({"k": f"{name}{rounds[-1]}"}, source=name)
        return True

    return change


def rebases(runtime: Nerv) -> list[DeltaMetadata]:
    seen: list[DeltaMetadata] = []
    runtime.state_projector.add_observer(
        lambda _i, _d, meta, _ops: seen.append(meta) if meta.rebased else None
    )
    return seen


def converge_on_one_key(
    count: int, rounds: int, inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    everyone = [runtimes(nerv_config(inner_universe)) for _ in range(count)]
    rebased = [rebases(runtime) for runtime in everyone]
    recorded = 0
    done_rounds: list[int] = []
    for round_ in range(rounds):
        done_rounds.append(round_)
        recorded += at_once(everyone, set_k(done_rounds))
        final = assert_converged(everyone, recorded, inner_universe, runtimes)
        assert final["k"].endswith(str(round_))
    # Each rebase told is a remote delta that went before one applied here: all were remote.
    assert all(meta.remote for seen in rebased for meta in seen)


def test_two_runtimes_setting_one_key_at_once_converge_to_the_log_order(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    converge_on_one_key(2, 8, inner_universe, runtimes)


def test_three_runtimes_setting_one_key_at_once_converge_to_the_log_order(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    converge_on_one_key(3, 6, inner_universe, runtimes)


def delete_k(runtime: Nerv, _name: str) -> bool:
    """Deletes ``k``; False when it is gone here already (refused locally, not recorded)."""
    try:
        runtime.state_projector.apply_delta(OperationsDelta([Delete("/k")]))
    except ApplyError:
        return False
    return True


def test_deleting_one_key_at_once_leaves_live_state_equal_to_replay(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    everyone = [runtimes(nerv_config(inner_universe)) for _ in range(3)]
    recorded = 0
    done_rounds: list[int] = []
    for round_ in range(4):
        done_rounds.append(round_)
        recorded += at_once(everyone, set_k(done_rounds))
        assert_converged(everyone, recorded, inner_universe, runtimes)
        recorded += at_once(everyone, delete_k)
        final = assert_converged(everyone, recorded, inner_universe, runtimes)
        assert "k" not in final


def test_versions_committed_at_once_agree_everywhere(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    everyone = [runtimes(nerv_config(inner_universe)) for _ in range(3)]

    def commit(runtime: Nerv, name: str) -> bool:
        return commit_with_retry(runtime, {"by": name, "n": rounds[-1]}) >= 1

    rounds: list[int] = []
    for round_ in range(4):
        rounds.append(round_)
        assert at_once(everyone, commit) == 3
    recorder = everyone[0].recorder
    assert isinstance(recorder, InnerUniverseRecorder)
    stored = recorder.read_versions("main")
    assert len(stored) == 12
    last = stored[-1][0].version_id
    for runtime in everyone:
        wait_for(lambda runtime=runtime: runtime.temporal_store.get_current_version_id() == last)
    late = runtimes(nerv_config(inner_universe))
    history = late.temporal_store.get_history()
    assert [version.version_id for version in history] == [v.version_id for v, _ in stored]
    for runtime in everyone:
        assert runtime.temporal_store.get_history() == history
        assert runtime.temporal_store.get() == late.temporal_store.get()
