"""Two and three runtimes on one database: each TemporalStore and StateProjector follows what
the others commit and apply, marked remote; a conflict is resolved by committing again; a late
joiner restores the same state; the plugin's internal timelines stay internal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from nerv_inner_universe.cli.replay_command import replay_command
from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.delta import Operation
from nerv_inner_universe.nerv import (
    ConcurrencyConflictError,
    DeltaMetadata,
    Nerv,
    VersionedState,
    hookimpl,
)
from nerv_inner_universe.plugin import InnerUniverseRecorder, ReservedNameError
from tests.integration.http_api import Database
from tests.integration.plugin.conftest import RuntimeFactory, nerv_config
from tests.integration.plugin.test_runtime_persistence import wait_for


def head(runtime: Nerv) -> str | None:
    return runtime.temporal_store.get_current_version_id()


def delta_count(runtime: Nerv) -> int:
    return len(runtime.state_projector.get_delta_history())


def told_versions(runtime: Nerv) -> list[VersionedState]:
    seen: list[VersionedState] = []
    runtime.temporal_store.add_observer(lambda version, _ops: seen.append(version))
    return seen


def told_deltas(runtime: Nerv) -> list[DeltaMetadata]:
    seen: list[DeltaMetadata] = []
    runtime.state_projector.add_observer(lambda _i, _d, metadata, _ops: seen.append(metadata))
    return seen


def test_alternating_commits_all_succeed_and_observers_see_remote_versions(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe)
    alice, bob = runtimes(config), runtimes(config)
    hooked: list[tuple[str, bool]] = []

    class Watcher:
        @hookimpl
        def nerv_version_committed(
            self, runtime: Nerv, timeline: str, version: VersionedState, operations: Any
        ) -> None:
            hooked.append((version.version_id, version.remote))

    alice.plugin_manager.register(Watcher())
    alice_told, bob_told = told_versions(alice), told_versions(bob)
    committed: list[str] = []
    for round_ in range(4):
        writer, reader = (alice, bob) if round_ % 2 == 0 else (bob, alice)
        committed.append(writer.temporal_store.commit({"round": round_}, f"round {round_}"))
        wait_for(lambda reader=reader: head(reader) == committed[-1])
    for runtime in (alice, bob):
        assert [v.version_id for v in runtime.temporal_store.get_history()] == committed
        assert runtime.temporal_store.get() == {"round": 3}
    assert [(v.version_id, v.remote) for v in alice_told] == [
        (version_id, n % 2 == 1) for n, version_id in enumerate(committed)
    ]
    assert [(v.version_id, v.remote) for v in bob_told] == [
        (version_id, n % 2 == 0) for n, version_id in enumerate(committed)
    ]
    assert hooked == [(v.version_id, v.remote) for v in alice_told]


def test_a_conflict_names_the_head_and_committing_again_succeeds(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe)
    alice, bob = runtimes(config), runtimes(config)
    base = alice.temporal_store.commit({"n": 0}, "base")
    wait_for(lambda: head(bob) == base)
    theirs = bob.temporal_store.commit({"n": 1, "by": "bob"}, "bob's")
    # Whether alice has seen bob's version yet or not, the commit on `base` conflicts, names
    # bob's version, and alice's store is at it when the error arrives.
    with pytest.raises(ConcurrencyConflictError, match=theirs) as caught:
        alice.temporal_store.commit({"n": 1, "by": "alice"}, "alice's", expected_parent=base)
    assert caught.value.current == theirs
    assert head(alice) == theirs
    assert alice.temporal_store.get() == {"n": 1, "by": "bob"}
    ours = alice.temporal_store.commit(
        {"n": 2}, "alice's again", expected_parent=alice.temporal_store.get_current_version_id()
    )
    wait_for(lambda: head(bob) == ours)
    assert [v.version_id for v in bob.temporal_store.get_history()] == [base, theirs, ours]


def commit_with_retry(runtime: Nerv, data: Any) -> int:
    """The README's recipe: on a conflict, the store has caught up; commit again. Returns how
    many attempts it took."""
    for attempt in range(1, 4):
        try:
            runtime.temporal_store.commit(data)
        except ConcurrencyConflictError:
            continue
        return attempt
    raise AssertionError(f"still conflicting after 3 attempts committing {data!r}")


def test_writers_that_do_not_wait_for_each_other_succeed_on_the_second_attempt_at_most(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe)
    alice, bob = runtimes(config), runtimes(config)
    attempts = [
        commit_with_retry(writer, {"step": step})
        for step in range(12)
        for writer in ([alice, bob][step % 2],)
    ]
    assert max(attempts) <= 2
    server = alice.recorder
    assert isinstance(server, InnerUniverseRecorder)
    stored = [v.data for v, _ in server.read_versions("main")]
    assert stored == [{"step": step} for step in range(12)]
    for runtime in (alice, bob):
        wait_for(lambda runtime=runtime: runtime.temporal_store.get() == {"step": 11})


def test_deltas_of_three_runtimes_do_not_collide_and_every_projector_sees_them(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe)
    alice, bob, carol = runtimes(config), runtimes(config), runtimes(config)
    alice_told = told_deltas(alice)
    everyone = (alice, bob, carol)
    # Nobody waits for anybody: each numbers its delta alike, and all are stored.
    for round_ in range(3):
        for name, runtime in zip(("alice", "bob", "carol"), everyone, strict=True):
            runtime.state_projector.apply_delta(
                {f"{name}{round_}": round_}, f"{name} {round_}", source=name
            )
    expected = {f"{name}{r}": r for name in ("alice", "bob", "carol") for r in range(3)}
    for runtime in everyone:
        wait_for(lambda runtime=runtime: runtime.state_projector.get_current_state() == expected)
        indexes = [index for index, _ in runtime.state_projector.get_delta_history()]
        assert indexes == sorted(set(indexes))
        assert len(indexes) == 9
    remote = [(m.source, m.remote) for m in alice_told]
    assert sorted(remote) == sorted(
        [("alice", False)] * 3 + [("bob", True)] * 3 + [("carol", True)] * 3
    )

    late = runtimes(config)
    assert late.state_projector.get_current_state() == expected
    assert len(late.state_projector.get_delta_history()) == 9


def test_a_late_joiner_restores_what_three_runtimes_did(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    config = nerv_config(inner_universe)
    everyone = [runtimes(config) for _ in range(3)]
    for step, runtime in enumerate(everyone * 2):
        assert commit_with_retry(runtime, {"step": step, "log": list(range(step))}) <= 2
        runtime.state_projector.apply_delta({f"k{step}": step})
    versions = everyone[0].recorder
    assert isinstance(versions, InnerUniverseRecorder)
    last = versions.read_versions("main")[-1][0]
    for runtime in everyone:
        wait_for(lambda runtime=runtime: head(runtime) == last.version_id)
        wait_for(lambda runtime=runtime: delta_count(runtime) == 6)
    late = runtimes(config)
    assert late.temporal_store.get_history() == everyone[0].temporal_store.get_history()
    for runtime in everyone:
        assert runtime.temporal_store.get_history() == late.temporal_store.get_history()
        assert runtime.state_projector.get_current_state() == (
            late.state_projector.get_current_state()
        )
    assert late.state_projector.get_current_state() == {f"k{n}": n for n in range(6)}


def test_internal_timelines_stay_internal(
    inner_universe: Database,
    runtimes: RuntimeFactory,
    recorder_for: Callable[..., InnerUniverseRecorder],
) -> None:
    runtime = runtimes(nerv_config(inner_universe))
    runtime.temporal_store.commit({"a": 1})
    runtime.state_projector.apply_delta({"b": 2})
    runtime.stop()
    recorder = recorder_for(inner_universe, follow_remote=False)
    assert recorder.timeline_names() == ["main"]
    with pytest.raises(ReservedNameError, match=r"'stream\.main' is reserved"):
        recorder.read_versions("stream.main")
    ops: list[Operation] = []
    header = runtime.temporal_store.get_version(
        runtime.temporal_store.get_current_version_id() or ""
    )
    with pytest.raises(ReservedNameError, match=r"'stream\.other' is reserved"):
        recorder.record_version("stream.other", header, ops)

    reserved = nerv_config(inner_universe)
    reserved["nerv"]["timeline"] = "stream.main"
    with pytest.raises(ConfigError, match=r"'stream\.main' is reserved"):
        runtimes(reserved)

    result = CliRunner().invoke(
        replay_command,
        ["--url", inner_universe.base_url, "--database", inner_universe.name],
        env={"INNER_UNIVERSE_TOKEN": inner_universe.token},
    )
    assert "stream.main" not in result.output
    assert "main" in result.output


def test_a_runtime_that_does_not_follow_catches_up_when_its_commit_is_refused(
    inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    alice = runtimes(nerv_config(inner_universe, follow_remote=False))
    bob = runtimes(nerv_config(inner_universe))
    base = alice.temporal_store.commit({"n": 0}, "base")
    wait_for(lambda: head(bob) == base)
    for n in range(1, 4):
        theirs = bob.temporal_store.commit({"n": n, "by": "bob"})
        assert head(alice) != theirs  # alice does not follow: only the refusal tells her
        with pytest.raises(ConcurrencyConflictError, match=f"its head is now '{theirs}'") as caught:
            alice.temporal_store.commit({"n": n, "by": "alice"})
        assert caught.value.current == theirs
        assert alice.temporal_store.get() == {"n": n, "by": "bob"}
        assert alice.temporal_store.get_history()[-1].remote
        ours = alice.temporal_store.commit({"n": n, "by": "alice"})
        wait_for(lambda ours=ours: head(bob) == ours)


def test_after_a_server_restart_remote_changes_still_arrive_once(
    isolated_inner_universe: Database, runtimes: RuntimeFactory
) -> None:
    db = isolated_inner_universe
    alice = runtimes(nerv_config(db, retry_for=120.0))
    bob = runtimes(nerv_config(db, retry_for=120.0))
    versions, deltas = told_versions(alice), told_deltas(alice)
    for n in range(3):
        bob.temporal_store.commit({"n": n})
        bob.state_projector.apply_delta({f"k{n}": n})
    wait_for(lambda: len(versions) == 3 and len(deltas) == 3)

    db.server.stop()
    db.server.start()
    for n in range(3, 6):
        assert commit_with_retry(bob, {"n": n}) == 1
        bob.state_projector.apply_delta({f"k{n}": n})
    wait_for(lambda: len(deltas) == 6 and head(alice) == head(bob), timeout=120.0)
    assert [v.data for v in versions] == [{"n": n} for n in range(6)]
    assert all(v.remote for v in versions)
    assert [m.remote for m in deltas] == [True] * 6
    assert alice.state_projector.get_current_state() == {f"k{n}": n for n in range(6)}
    assert len(alice.state_projector.get_delta_history()) == 6
