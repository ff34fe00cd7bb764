"""A start with nothing listening replays only the events its bus keeps something of
(`TailRecorder`): when the runtime takes that path, and that the bus ends up as after a whole
replay (with `InMemoryRecorder`; the plugin's recorder is tested against the real server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from nerv_inner_universe.nerv import (
    Event,
    EventBus,
    InMemoryRecorder,
    Nerv,
    Remove,
    TailRecorder,
    hookimpl,
)
from nerv_inner_universe.nerv.errors import InvalidArgumentError
from tests.unit.nerv.plugins import HookLog, ProvidesRecorder

WINDOW = EventBus().replay_window


class SpyRecorder(InMemoryRecorder):
    """Notes which of the two replays the runtime asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def replay_events(self) -> Iterator[Event]:
        self.asked.append("all")
        return super().replay_events()

    def replay_event_tail(self, count: int) -> Iterator[Event]:
        self.asked.append(f"tail {count}")
        return super().replay_event_tail(count)


def filled(count: int) -> SpyRecorder:
    recorder = SpyRecorder()
    for n in range(count):
        recorder.record_event(Event.create("T", {"n": n}, source="s", metadata={"m": n}))
    return recorder


Prepare = Callable[[Nerv], object] | None
"""What a test does to a runtime before it starts (subscribe, say)."""


def prepared(recorder: InMemoryRecorder, *plugins: object, prepare: Prepare = None) -> Nerv:
    """A runtime on ``recorder`` (not started: ``with`` starts it)."""
    runtime = Nerv(plugins=[ProvidesRecorder(recorder), *plugins])
    if prepare is not None:
        prepare(runtime)
    return runtime


def kept(runtime: Nerv) -> tuple[list[tuple[Event, bool, str | None, int | None]], list[str]]:
    """The bus's history (with the fields equality leaves out) and the ids it remembers."""
    history = [
        (e, e.replayed, e.sender, e.position) for e in runtime.event_bus.get_history(limit=None)
    ]
    return history, list(runtime.event_bus._seen)


def ignore(_event: Event) -> None:
    """A handler that does nothing."""


def same(event: Event) -> Event:
    return event


def test_the_window_is_what_the_bus_remembers() -> None:
    assert EventBus(max_history=10, dedupe_window=50).replay_window == 50
    assert EventBus(max_history=80, dedupe_window=50).replay_window == 80
    assert WINDOW == 10_000


def test_what_counts_as_observing_a_replay() -> None:
    bus = EventBus()
    assert not bus.replay_observed()
    bus.add_middleware(same)  # skipped for replayed events
    assert not bus.replay_observed()
    subscriptions: list[Callable[[], Remove]] = [
        lambda: bus.subscribe("T", ignore),
        lambda: bus.subscribe("*", ignore),
        lambda: bus.add_guard(ignore),
        lambda: bus.add_observer(ignore),
    ]
    for subscribe in subscriptions:
        remove = subscribe()
        assert bus.replay_observed()
        remove()
        assert not bus.replay_observed()
    bus.add_guard(ignore)
    bus.add_observer(same)
    assert bus.replay_observed(own=(ignore,))
    assert not bus.replay_observed(own=(ignore, same))


@pytest.mark.parametrize(
    ("prepare", "plugins", "asked"),
    [
        (None, (), f"tail {WINDOW}"),
        (lambda r: r.event_bus.add_middleware(same), (), f"tail {WINDOW}"),
        (lambda r: r.event_bus.subscribe("T", ignore), (), "all"),
        (lambda r: r.event_bus.subscribe("OTHER", ignore), (), "all"),
        (lambda r: r.event_bus.subscribe("*", ignore), (), "all"),
        (lambda r: r.event_bus.add_observer(ignore), (), "all"),
        (lambda r: r.event_bus.add_guard(ignore), (), "all"),
        (None, (HookLog(),), "all"),
    ],
    ids=[
        "nothing",
        "middleware",
        "subscriber",
        "other-type",
        "wildcard",
        "observer",
        "guard",
        "hook",
    ],
)
def test_the_runtime_reads_the_tail_only_when_nothing_would_see_the_rest(
    prepare: Callable[[Nerv], object] | None, plugins: tuple[object, ...], asked: str
) -> None:
    recorder = filled(3)
    with prepared(recorder, *plugins, prepare=prepare) as runtime:
        assert recorder.asked == [asked]
        assert len(runtime.event_bus.get_history(limit=None)) == 3


class SubscribesWhenAskedForTheRecorder:
    """A plugin that subscribes while the runtime asks for a recorder (before replay)."""

    def __init__(self) -> None:
        self.received: list[Event] = []

    @hookimpl
    def nerv_recorder(self, runtime: Nerv) -> None:
        runtime.event_bus.subscribe("T", self.received.append)


def test_a_subscriber_a_plugin_adds_before_replay_gets_every_event() -> None:
    recorder = filled(WINDOW + 5)
    plugin = SubscribesWhenAskedForTheRecorder()
    with prepared(recorder, plugin):
        assert recorder.asked == ["all"]
        assert len(plugin.received) == WINDOW + 5


@pytest.mark.parametrize("count", [0, 7, WINDOW, WINDOW + 1, WINDOW + 123])
def test_a_tail_start_keeps_what_a_whole_replay_keeps(count: int) -> None:
    recorder = filled(count)
    with prepared(recorder) as tail:
        assert recorder.asked == [f"tail {WINDOW}"]
        with prepared(recorder, prepare=lambda r: r.event_bus.subscribe("*", ignore)) as full:
            assert recorder.asked[-1] == "all"
            assert kept(tail) == kept(full)
    history, seen = kept(tail)
    assert len(history) == min(count, tail.settings.max_history)
    assert len(seen) == min(count, WINDOW)
    assert all(replayed for _, replayed, _, _ in history)


def test_the_in_memory_tail_is_the_last_events_marked_replayed() -> None:
    recorder = filled(5)
    assert isinstance(recorder, TailRecorder)
    everything = recorder.read_events()
    assert list(recorder.replay_event_tail(0)) == []
    assert list(recorder.replay_event_tail(2)) == [e.as_replayed() for e in everything[-2:]]
    assert list(recorder.replay_event_tail(9)) == [e.as_replayed() for e in everything]
    assert all(e.replayed for e in recorder.replay_event_tail(9))
    with pytest.raises(InvalidArgumentError, match="count"):
        recorder.replay_event_tail(-1)
