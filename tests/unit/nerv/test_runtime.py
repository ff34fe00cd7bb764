"""The Nerv host: configuration, plugin loading, hooks, lifecycle and persistence policies."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from structlog.typing import EventDict

from nerv_inner_universe.delta import Operation, Patch, Remove
from nerv_inner_universe.nerv import (
    ConcurrencyConflictError,
    ConfigError,
    DeltaMetadata,
    DeltaTail,
    Event,
    InMemoryRecorder,
    LifecycleError,
    Nerv,
    NervSettings,
    NoOp,
    ProjectorCheckpoint,
    ReplayError,
    StateProjector,
    UnpersistableDeltaError,
    VersionedState,
    VersionTail,
    hookimpl,
)
from tests.unit.nerv import plugins
from tests.unit.nerv.plugins import HookLog, ProvidesRecorder


class SpyRecorder(InMemoryRecorder):
    """Counts flushes and closes, and can refuse the next version as a rival writer would."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0
        self.closes = 0
        self.refuse_next_version = False

    def record_version(
        self, timeline: str, version: VersionedState, operations: Sequence[Operation]
    ) -> None:
        if self.refuse_next_version:
            self.refuse_next_version = False
            raise ConcurrencyConflictError("another writer committed first")
        super().record_version(timeline, version, operations)

    def flush(self) -> None:
        self.flushes += 1

    def close(self) -> None:
        self.closes += 1


def persistent(recorder: InMemoryRecorder, config: dict[str, Any] | None = None) -> Nerv:
    return Nerv(config, plugins=[ProvidesRecorder(recorder)])


def test_a_runtime_without_plugins_works_in_memory() -> None:
    with Nerv() as runtime:
        assert runtime.settings == NervSettings()
        assert runtime.recorder is None
        runtime.event_bus.publish("A")
        runtime.temporal_store.commit({"a": 1})
        runtime.state_projector.apply_delta(lambda state: {**state, "fn": True})
        assert runtime.state_projector.get_current_state() == {"fn": True}


def test_changes_are_refused_before_start_and_after_stop() -> None:
    runtime = Nerv()
    changes: list[Callable[[], object]] = [
        lambda: runtime.event_bus.publish("A"),
        lambda: runtime.temporal_store.commit(1),
        lambda: runtime.state_projector.apply_delta({"a": 1}),
    ]
    for change in changes:
        with pytest.raises(LifecycleError, match="before start"):
            change()
    runtime.start()
    runtime.stop()
    for change in changes:
        with pytest.raises(LifecycleError, match="stopped"):
            change()
    assert runtime.event_bus.get_history() == []
    assert runtime.temporal_store.get_history() == []


def test_a_runtime_starts_once_and_stops_idempotently() -> None:
    runtime = Nerv()
    runtime.stop()
    runtime.start()
    with pytest.raises(LifecycleError, match="running"):
        runtime.start()
    runtime.stop()
    runtime.stop()
    with pytest.raises(LifecycleError, match="stopped"):
        runtime.start()


def test_the_runtime_projector_cannot_be_reset() -> None:
    with Nerv() as runtime, pytest.raises(UnpersistableDeltaError):
        runtime.state_projector.reset_to_initial()


def test_a_plugin_registered_later_is_configured_too() -> None:
    """`nerv_configure` is historic: registering after the runtime was built still configures
    the plugin, once, with the runtime's own arguments."""
    config = {"nerv": {"mine": {"key": 1}}}
    runtime = Nerv(config)
    late = HookLog()
    runtime.plugin_manager.register(late)
    assert late.calls == [("nerv_configure", {"runtime": runtime, "config": config})]
    with runtime:
        runtime.event_bus.publish("A", 1)
    assert late.names() == ["nerv_configure", "nerv_start", "nerv_event_published", "nerv_stop"]


def test_event_announcements_follow_the_plugins_registered_at_each_event() -> None:
    """With no plugin implementing `nerv_event_published` the call is skipped; one registered
    or unregistered while running is told of exactly the events published meanwhile."""
    with Nerv() as runtime:
        runtime.event_bus.publish("A", 1)
        late = HookLog()
        runtime.plugin_manager.register(late)
        told = runtime.event_bus.publish("B", 2)
        runtime.plugin_manager.unregister(late)
        runtime.event_bus.publish("C", 3)
    announced = [args["event"].id for name, args in late.calls if name == "nerv_event_published"]
    assert announced == [told]


def test_hooks_are_called_with_what_happened() -> None:
    log = HookLog()
    config = {"nerv": {"timeline": "t", "stream": "s", "mine": {"key": 1}}}
    runtime = Nerv(config, plugins=[log])
    assert log.names() == ["nerv_configure"]
    assert log.calls[0][1] == {"runtime": runtime, "config": config}
    with runtime:
        event_id = runtime.event_bus.publish("A", 1)
        version_id = runtime.temporal_store.commit({"v": 1})
        runtime.state_projector.apply_delta({"p": 1}, "patch")
        runtime.state_projector.apply_delta(lambda state: state)
    assert log.names() == [
        "nerv_configure",
        "nerv_start",
        "nerv_event_published",
        "nerv_version_committed",
        "nerv_delta_applied",
        "nerv_delta_applied",
        "nerv_stop",
    ]
    args = dict(log.calls[2:6])
    assert args["nerv_event_published"]["event"].id == event_id
    committed = args["nerv_version_committed"]
    assert committed["timeline"] == "t"
    assert committed["version"].version_id == version_id
    patch_call, function_call = (c[1] for c in log.calls[4:6])
    assert (patch_call["stream"], patch_call["index"]) == ("s", 0)
    assert patch_call["metadata"].description == "patch"
    assert patch_call["ops"] == [Patch("", {"p": 1})]
    assert (function_call["index"], function_call["ops"]) == (1, None)


def test_the_first_recorder_offered_wins() -> None:
    first, second = InMemoryRecorder(), InMemoryRecorder()
    plugins_in_order = [ProvidesRecorder(second), ProvidesRecorder(first), ProvidesRecorder(None)]
    with Nerv(plugins=plugins_in_order) as runtime:
        assert runtime.recorder is first


def test_new_changes_are_written_to_the_recorder() -> None:
    recorder = InMemoryRecorder()
    with persistent(recorder, {"nerv": {"timeline": "t", "stream": "s"}}) as runtime:
        event_id = runtime.event_bus.publish("A", {"x": 1})
        runtime.temporal_store.commit({"v": 1})
        runtime.temporal_store.commit({"v": 2})
        runtime.state_projector.apply_delta({"p": 1})
    assert [e.id for e in recorder.read_events()] == [event_id]
    assert [v for v, _ in recorder.read_versions("t")] == runtime.temporal_store.get_history()
    assert [(i, ops) for i, _, ops in recorder.read_deltas("s")] == [(0, [Patch("", {"p": 1})])]


def test_a_write_the_recorder_refuses_changes_nothing() -> None:
    recorder = SpyRecorder()
    with persistent(recorder) as runtime:
        runtime.temporal_store.commit(1)
        recorder.refuse_next_version = True
        with pytest.raises(ConcurrencyConflictError):
            runtime.temporal_store.commit(2)
        assert runtime.temporal_store.get() == 1
        with pytest.raises(ValueError, match="JSON"):
            runtime.event_bus.publish("A", {1, 2})
        assert runtime.event_bus.get_history() == []


def test_a_function_delta_is_refused_by_default_while_persisting() -> None:
    recorder = InMemoryRecorder()
    with persistent(recorder) as runtime:
        projector = runtime.state_projector
        projector.apply_delta({"n": 1})
        with pytest.raises(UnpersistableDeltaError, match="keep_local"):
            projector.apply_delta(lambda state: {"n": 99}, "script")
        assert projector.get_current_state() == {"n": 1}
        assert projector.apply_delta({"n": 2}) == 1
    assert [i for i, _, _ in recorder.read_deltas("main")] == [0, 1]


def test_keep_local_applies_function_deltas_here_and_warns_once(logs: list[EventDict]) -> None:
    recorder = InMemoryRecorder()
    with persistent(recorder, {"nerv": {"function_delta": "keep_local"}}) as runtime:
        projector = runtime.state_projector
        projector.apply_delta(lambda state: {**state, "local": 1})
        projector.apply_delta(lambda state: {**state, "local": 2})
        projector.apply_delta({"shared": True})
        assert projector.get_current_state() == {"local": 2, "shared": True}
    warnings = [e for e in logs if e["event"] == "function_delta_not_persisted"]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    assert [i for i, _, _ in recorder.read_deltas("main")] == [2]


def test_stop_flushes_and_closes_the_recorder_even_if_a_plugin_fails() -> None:
    recorder = SpyRecorder()

    class FailsOnStop:
        @hookimpl
        def nerv_stop(self, runtime: Nerv) -> None:
            raise RuntimeError("plugin broke")

    runtime = Nerv(plugins=[ProvidesRecorder(recorder), FailsOnStop()]).start()
    with pytest.raises(RuntimeError, match="plugin broke"):
        runtime.stop()
    assert (recorder.flushes, recorder.closes) == (1, 1)


def test_a_failed_replay_closes_the_recorder_and_does_not_start() -> None:
    recorder = SpyRecorder()
    with persistent(recorder) as runtime:
        runtime.temporal_store.commit(1)
    [(version, ops)] = recorder.read_versions("main")
    corrupt = SpyRecorder()
    corrupt.record_version("main", attrs.evolve(version, data=2), ops)
    second = persistent(corrupt)
    with pytest.raises(ReplayError):
        second.start()
    assert corrupt.closes == 1
    assert second.recorder is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([], "^nerv: must be a table"),
        ({"plugin": ["x"]}, r"^nerv.plugin: is not a setting \(did you mean plugins\?\)"),
        ({"colour": "red"}, "^nerv.colour: is not a setting; known keys: plugins, function_delta"),
        ({"plugins": "x"}, "^nerv.plugins: must be a list of entry-point names"),
        ({"plugins": [""]}, "^nerv.plugins: must be a list of entry-point names"),
        ({"plugins": [3]}, "^nerv.plugins: must be a list of entry-point names"),
        ({"function_delta": "drop"}, "^nerv.function_delta: must be 'refuse' or 'keep_local'"),
        ({"function_delta": False}, "^nerv.function_delta: must be 'refuse' or 'keep_local'"),
        ({"timeline": ""}, "^nerv.timeline: must be a non-empty string"),
        ({"stream": 3}, "^nerv.stream: must be a non-empty string"),
        ({"max_history": 0}, "^nerv.max_history: must be an integer from 1 to"),
        ({"max_history": True}, "^nerv.max_history: must be an integer from 1 to"),
        ({"max_history": "false"}, "^nerv.max_history: must be an integer from 1 to"),
        ({"max_history": 2**40}, "^nerv.max_history: must be an integer from 1 to 2147483647"),
    ],
)
def test_bad_settings_are_refused(table: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Nerv({"nerv": table})


def test_variables_override_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NERV_MAX_HISTORY", "7")
    monkeypatch.setenv("NERV_FUNCTION_DELTA", "keep_local")
    monkeypatch.setenv("NERV_INNER_UNIVERSE_URL", "a plugin's variable, not ours")
    runtime = Nerv({"nerv": {"max_history": 2, "timeline": "t"}})
    assert runtime.settings == NervSettings(
        max_history=7, function_delta="keep_local", timeline="t"
    )
    env = {"NERV_PLUGINS": " a, b ,"}
    assert NervSettings.from_config({}, env=env).plugins == ("a", "b")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NERV_MAX_HISTORY", "many", "must be an integer from 1 to 2147483647, got 'many'"),
        ("NERV_MAX_HISTORY", "0", "must be an integer from 1 to 2147483647, got 0"),
        ("NERV_FUNCTION_DELTA", "false", "must be 'refuse' or 'keep_local', got 'false'"),
        ("NERV_TIMELINE", "", "must be a non-empty string, got ''"),
        ("NERV_MAX_HISTROY", "5", "is not a setting; did you mean NERV_MAX_HISTORY?"),
    ],
)
def test_bad_variables_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        NervSettings.from_config({"nerv": {}}, env={name: value})
    assert (caught.value.key, caught.value.reason) == (name, message)


def test_settings_are_read_and_plugin_tables_are_left_alone() -> None:
    config = {
        "nerv": {
            "function_delta": "keep_local",
            "timeline": "t",
            "stream": "s",
            "max_history": 2,
            "some_plugin": {"anything": [1]},
        }
    }
    runtime = Nerv(config)
    assert runtime.settings == NervSettings(
        function_delta="keep_local", timeline="t", stream="s", max_history=2
    )
    assert runtime.config is config


@pytest.mark.parametrize("interval", [0, -3, True, "50", 2.5])
def test_a_bad_snapshot_interval_is_refused(interval: object) -> None:
    with pytest.raises(ConfigError, match=r"^nerv.snapshot_interval: must be an integer from 1"):
        Nerv({"nerv": {"snapshot_interval": interval}})


def test_the_snapshot_interval_reaches_the_temporal_store() -> None:
    assert Nerv().temporal_store.snapshot_interval == NervSettings().snapshot_interval == 50
    runtime = Nerv({"nerv": {"snapshot_interval": 7}})
    assert runtime.settings.snapshot_interval == 7
    assert runtime.temporal_store.snapshot_interval == 7


def fake_distribution(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """Make ``importlib.metadata`` see one installed distribution with one "nerv" entry point."""

    @attrs.frozen
    class Distribution:
        entry_points: list[importlib.metadata.EntryPoint]

    entry_point = importlib.metadata.EntryPoint(name=name, value=value, group="nerv")
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: [Distribution([entry_point])])


def test_plugins_named_in_config_are_loaded_from_entry_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_distribution(monkeypatch, "hook_log", "tests.unit.nerv.plugins:entry_point_plugin")
    plugins.entry_point_plugin.calls.clear()
    runtime = Nerv({"nerv": {"plugins": ["hook_log"]}})
    assert runtime.plugin_manager.get_plugin("hook_log") is plugins.entry_point_plugin
    assert plugins.entry_point_plugin.names() == ["nerv_configure"]


def test_entry_points_not_named_in_config_are_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distribution(monkeypatch, "hook_log", "tests.unit.nerv.plugins:entry_point_plugin")
    runtime = Nerv()
    assert runtime.plugin_manager.get_plugin("hook_log") is None


def test_a_named_plugin_that_is_not_installed_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_distribution(monkeypatch, "hook_log", "tests.unit.nerv.plugins:entry_point_plugin")
    with pytest.raises(ConfigError, match=r"^nerv.plugins: names 'missing'"):
        Nerv({"nerv": {"plugins": ["missing"]}})


def test_from_toml_reads_nerv_and_plugin_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(monkeypatch, "hook_log", "tests.unit.nerv.plugins:entry_point_plugin")
    plugins.entry_point_plugin.calls.clear()
    path = tmp_path / "nerv.toml"
    path.write_text(
        '[nerv]\nplugins = ["hook_log"]\ntimeline = "t"\n\n[nerv.hook_log]\nlevel = 3\n',
        encoding="utf-8",
    )
    runtime = Nerv.from_toml(path)
    assert runtime.settings.timeline == "t"
    [(_, configure)] = plugins.entry_point_plugin.calls
    assert configure["config"]["nerv"]["hook_log"] == {"level": 3}


def test_from_toml_reports_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file: it does not exist"):
        Nerv.from_toml(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[nerv\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Nerv.from_toml(bad)


def test_replayed_events_reach_the_event_hook_before_start() -> None:
    recorder = InMemoryRecorder()
    with persistent(recorder) as runtime:
        runtime.event_bus.publish("A")
    log = HookLog()
    Nerv(plugins=[ProvidesRecorder(recorder), log]).start()
    assert log.names() == ["nerv_configure", "nerv_event_published", "nerv_start"]
    event: Event = log.calls[1][1]["event"]
    assert event.replayed


def test_a_failing_hook_is_logged_and_the_change_stands() -> None:
    recorder = InMemoryRecorder()

    class FailsOnEvents:
        @hookimpl
        def nerv_event_published(self, runtime: Nerv, event: Event) -> None:
            raise RuntimeError("plugin broke")

    with Nerv(plugins=[ProvidesRecorder(recorder), FailsOnEvents()]) as runtime:
        event_id = runtime.event_bus.publish("A")
        [failure] = runtime.event_bus.errors
    assert failure.event.id == event_id
    assert "_announce_event" in failure.handler
    assert [e.id for e in recorder.read_events()] == [event_id]


class HeadRecorder(InMemoryRecorder):
    """A RestoringRecorder over the in-memory one: the version tail is the last ``tail``
    versions and the delta tail the last ``tail`` deltas after a checkpoint of the others;
    counts the loads of the earlier ones and keeps the no-ops it is told."""

    def __init__(self, tail: int) -> None:
        super().__init__()
        self.tail = tail
        self.loads = 0
        self.delta_loads = 0
        self.noops: list[tuple[str, list[NoOp]]] = []

    def read_version_tail(self, timeline: str) -> VersionTail:
        versions = [version for version, _ in self.read_versions(timeline)]
        cut = max(0, len(versions) - self.tail)

        def earlier() -> list[VersionedState]:
            self.loads += 1
            return versions[:cut]

        return VersionTail(versions[cut:], earlier if cut else None)

    def read_delta_tail(self, stream: str) -> DeltaTail:
        deltas = self.read_deltas(stream)
        cut = max(0, len(deltas) - self.tail)
        if not cut:
            return DeltaTail(deltas, None, None)
        reference = StateProjector({})
        noops = reference.restore(deltas[:cut])
        checkpoint = ProjectorCheckpoint(
            reference.get_current_state(), deltas[cut - 1][0] + 1, cut, len(noops)
        )

        def earlier() -> list[tuple[int, DeltaMetadata, list[Operation]]]:
            self.delta_loads += 1
            return deltas[:cut]

        return DeltaTail(deltas[cut:], checkpoint, earlier)

    def report_noops(self, stream: str, noops: Sequence[NoOp]) -> None:
        self.noops.append((stream, list(noops)))


def test_a_restoring_recorder_restores_at_the_head_and_is_told_the_no_ops(
    logs: list[EventDict],
) -> None:
    recorder = HeadRecorder(tail=2)
    with persistent(recorder) as runtime:
        for n in range(5):
            runtime.temporal_store.commit({"n": n})
        runtime.state_projector.apply_delta({"list": []})
        full = runtime.temporal_store.get_history()
    recorder.record_delta("main", 1, DeltaMetadata(timestamp=1.0, index=1), [Remove("/list", 2)])
    with persistent(recorder) as restarted:
        store = restarted.temporal_store
        assert store.get() == {"n": 4}
        assert recorder.loads == 0
        assert store.get_history() == full
        assert recorder.loads == 1
        assert restarted.state_projector.get_current_state() == {"list": []}
    first_start, (stream, [noop]) = recorder.noops
    assert first_start == ("main", [])
    assert (stream, noop.index) == ("main", 1)
    assert not [e for e in logs if e["event"] == "delta_not_applicable"]


def test_a_restoring_recorder_restores_the_projector_from_its_checkpoint(
    logs: list[EventDict],
) -> None:
    recorder = HeadRecorder(tail=1)
    with persistent(recorder) as runtime:
        for n in range(6):
            runtime.state_projector.apply_delta({"n": n, "list": []})
    for index in (6, 8):  # one before the checkpoint, one after: no-ops
        metadata = DeltaMetadata(timestamp=1.0, index=index)
        recorder.record_delta("main", index, metadata, [Remove("/list", 2)])
    with persistent(recorder) as restarted:
        projector = restarted.state_projector
        assert projector.get_current_state() == {"n": 5, "list": []}
        assert recorder.delta_loads == 0
        assert projector.apply_delta({"n": 9}) == 9
        assert [index for index, _ in projector.get_delta_history()] == [0, 1, 2, 3, 4, 5, 6, 8, 9]
        assert recorder.delta_loads == 1
    [(stream, [noop])] = recorder.noops[1:]  # the first start had no checkpoint yet
    assert (stream, noop.index) == ("main", 8)
    [replayed] = [e for e in logs if e["event"] == "nerv_replayed" and e["kind"] == "deltas"][-1:]
    assert (replayed["count"], replayed["checkpoint_deltas"], replayed["checkpoint_noops"]) == (
        1,
        7,
        1,
    )


def test_a_plain_recorder_gets_the_no_ops_logged(logs: list[EventDict]) -> None:
    recorder = InMemoryRecorder()
    recorder.record_delta("main", 0, DeltaMetadata(timestamp=1.0, index=0), [Remove("/l", 2)])
    with persistent(recorder) as runtime:
        assert runtime.state_projector.get_current_state() == {}
    [entry] = [e for e in logs if e["event"] == "delta_not_applicable"]
    assert (entry["index"], entry["level"]) == (0, "warning")
