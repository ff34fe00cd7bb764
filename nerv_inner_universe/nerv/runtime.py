"""The NERV host: builds the components, loads plugins, and persists through a Recorder."""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import pluggy

from nerv_inner_universe.config import ConfigError, read_toml
from nerv_inner_universe.delta import Operation
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import hookspecs
from nerv_inner_universe.nerv.errors import LifecycleError, UnpersistableDeltaError
from nerv_inner_universe.nerv.events import Event, EventBus
from nerv_inner_universe.nerv.graph import GraphStore
from nerv_inner_universe.nerv.graph_events import GRAPH_EVENT_TYPES, graph_middleware
from nerv_inner_universe.nerv.projector import Delta, DeltaMetadata, StateProjector
from nerv_inner_universe.nerv.recorder import DeltaTail, Recorder, RestoringRecorder, TailRecorder
from nerv_inner_universe.nerv.settings import NervSettings
from nerv_inner_universe.nerv.temporal import TemporalStore, VersionedState

log = get_logger(__name__)


class _Phase(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class Nerv:
    """An EventBus, a TemporalStore and a StateProjector, wired to pluggy hooks.

    Plugins come from the ``"nerv"`` entry-point group (only those named in ``[nerv] plugins``)
    and from ``plugins``. If one provides a Recorder (``nerv_recorder``), ``start()`` replays
    what it holds (every event into the EventBus while anything but the runtime would see them:
    a subscriber, a guard, an observer, a ``nerv_event_published`` implementation; else, from a
    `TailRecorder`, only the last `EventBus.replay_window` events, which leaves the bus the
    same) and from then on every new event, version and delta is written to it *before*
    it takes effect, so a write that fails (e.g. a ConcurrencyConflictError from another writer)
    changes nothing here. Changes are refused before ``start()`` (replay would lose them) and
    after ``stop()`` (nothing would record them). The projector starts from ``{}`` (so that
    its recorded deltas alone rebuild it) and cannot be reset, since a recorded stream only
    grows.
    """

    def __init__(
        self, config: Mapping[str, Any] | None = None, plugins: Iterable[object] = ()
    ) -> None:
        self.config: Mapping[str, Any] = config or {}
        self.settings = NervSettings.from_config(self.config)
        self.event_bus = EventBus(max_history=self.settings.max_history)
        self.temporal_store = TemporalStore(self.settings.snapshot_interval)
        self.state_projector = StateProjector({})
        self.plugin_manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.plugin_manager.add_hookspecs(hookspecs)
        self._event_published = self.plugin_manager.hook.nerv_event_published
        """The hook's caller, looked up once (it stays the same as plugins come and go)."""
        for name in self.settings.plugins:
            self._load_entry_point(name)
        for plugin in plugins:
            self.plugin_manager.register(plugin)
        self._phase = _Phase.NEW
        self._recorder: Recorder | None = None
        self._graph_store: GraphStore | None = None
        self._warned_function_delta = False
        self._wire()
        self.hook.nerv_configure.call_historic(kwargs={"runtime": self, "config": self.config})

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], plugins: Iterable[object] = ()) -> Nerv:
        """A runtime configured from a TOML file (``[nerv]`` and the plugins' tables); a file
        that is missing, unreadable or not TOML raises `ConfigError`."""
        return cls(read_toml(Path(path)), plugins)

    @property
    def hook(self) -> pluggy.HookRelay:
        """Call hooks: ``runtime.hook.nerv_start(runtime=runtime)``."""
        return self.plugin_manager.hook

    @property
    def recorder(self) -> Recorder | None:
        """The persistence backend while running, if a plugin provided one."""
        return self._recorder

    @property
    def graph_store(self) -> GraphStore:
        """The entity and relation store a plugin provides (``nerv_graph_store``); while
        running only. LifecycleError before ``start()`` or when no plugin provides one."""
        if self._graph_store is None:
            raise LifecycleError(
                "no graph store: start() the runtime with a plugin that provides one "
                "(e.g. inner_universe)"
            )
        return self._graph_store

    def start(self) -> Nerv:
        """Ask plugins for a recorder, replay it, then call ``nerv_start``."""
        if self._phase is not _Phase.NEW:
            raise LifecycleError(f"the runtime is {self._phase.value}; a runtime starts once")
        recorder: Recorder | None = self.hook.nerv_recorder(runtime=self)
        if recorder is not None:
            try:
                self._replay(recorder)
            except BaseException:
                recorder.close()
                raise
        self._recorder = recorder
        self._phase = _Phase.RUNNING
        self._graph_store = self.hook.nerv_graph_store(runtime=self)
        if self._graph_store is not None:
            self.event_bus.add_middleware(
                graph_middleware(self._graph_store, self.event_bus.check_guards)
            )
        log.info("nerv_started", persistent=recorder is not None)
        self.hook.nerv_start(runtime=self)
        return self

    def stop(self) -> None:
        """Call ``nerv_stop``, then flush and close the recorder. Stopping again does nothing."""
        if self._phase is not _Phase.RUNNING:
            return
        try:
            self.hook.nerv_stop(runtime=self)
        finally:
            self._phase = _Phase.STOPPED
            if self._recorder is not None:
                try:
                    self._recorder.flush()
                finally:
                    self._recorder.close()
            log.info("nerv_stopped")

    def __enter__(self) -> Nerv:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _load_entry_point(self, name: str) -> None:
        if not self.plugin_manager.load_setuptools_entrypoints(hookspecs.PROJECT, name=name):
            raise ConfigError(
                "nerv.plugins",
                f"names {name!r}, but no installed distribution has an entry point {name!r} in "
                f"group {hookspecs.PROJECT!r}; install it or remove the name",
            )

    def _wire(self) -> None:
        """Guards write ahead to the recorder (a repeated event id too, so the recorder can
        refuse other content under it); observers turn accepted changes into hooks."""
        self.event_bus.add_guard(self._guard_event)
        self.event_bus.add_repeat_check(self._guard_event)
        self.event_bus.add_observer(self._announce_event)
        self.temporal_store.add_guard(self._guard_version)
        self.temporal_store.add_observer(self._announce_version)
        self.state_projector.add_guard(self._guard_delta)
        self.state_projector.add_observer(self._announce_delta)

    def _replay(self, recorder: Recorder) -> None:
        timeline, stream = self.settings.timeline, self.settings.stream
        if isinstance(recorder, RestoringRecorder):
            tail = recorder.read_version_tail(timeline)
            self.temporal_store.restore(tail.versions, earlier=tail.earlier)
            count = len(tail.versions)
            deltas = recorder.read_delta_tail(stream)
        else:
            versions = [version for version, _ in recorder.read_versions(timeline)]
            self.temporal_store.restore(versions)
            count = len(versions)
            deltas = DeltaTail(recorder.read_deltas(stream), None, None)
        log.info("nerv_replayed", kind="versions", count=count, timeline=timeline)
        noops = self.state_projector.restore(
            deltas.deltas, checkpoint=deltas.checkpoint, earlier=deltas.earlier
        )
        if isinstance(recorder, RestoringRecorder):
            recorder.report_noops(stream, noops)
        else:
            for noop in noops:
                log.warning("delta_not_applicable", index=noop.index, error=noop.error)
        checkpoint = deltas.checkpoint
        log.info(
            "nerv_replayed",
            kind="deltas",
            count=len(deltas.deltas),
            stream=stream,
            checkpoint_deltas=0 if checkpoint is None else checkpoint.deltas,
            checkpoint_noops=0 if checkpoint is None else checkpoint.noops,
        )
        events: Iterator[Event]
        if isinstance(recorder, TailRecorder) and not self._replay_observed():
            events = recorder.replay_event_tail(self.event_bus.replay_window)
            at_head = True
        else:
            events, at_head = recorder.replay_events(), False
        count = self.event_bus.replay(events)
        log.info("nerv_replayed", kind="events", count=count, tail_only=at_head)

    def _replay_observed(self) -> bool:
        """Whether anything would see the events replay publishes: what `EventBus.replay_observed`
        counts besides this runtime's guard (it passes replayed events over) and observer
        (it only calls ``nerv_event_published``), or an implementation of that hook. When
        nothing would, replay publishes only the events the bus keeps something of
        (`TailRecorder`): the bus ends up the same, and no one can tell the rest was skipped."""
        own = (self._guard_event, self._announce_event)
        announced = self._event_published.get_hookimpls()
        return self.event_bus.replay_observed(own) or bool(announced)

    def _require_running(self, change: str) -> None:
        if self._phase is _Phase.NEW:
            raise LifecycleError(
                f"cannot {change} before start(): replay would lose it; start the runtime "
                "(or use it as a context manager) first"
            )
        if self._phase is _Phase.STOPPED:
            raise LifecycleError(f"cannot {change}: the runtime is stopped and records nothing")

    def _guard_event(self, event: Event) -> None:
        if event.replayed:
            return
        self._require_running("publish an event")
        if self._recorder is not None and not self._is_graph_request(event):
            self._recorder.record_event(event)

    def _is_graph_request(self, event: Event) -> bool:
        """A graph request is not recorded as an event: the store performs it and the backend
        records its own confirmation (`graph_events`)."""
        return self._graph_store is not None and event.type in GRAPH_EVENT_TYPES

    def _guard_version(self, version: VersionedState, operations: list[Operation]) -> None:
        self._require_running("commit a version")
        if self._recorder is not None:
            self._recorder.record_version(self.settings.timeline, version, operations)

    def _guard_delta(
        self, index: int, delta: Delta, metadata: DeltaMetadata, operations: list[Operation] | None
    ) -> None:
        self._require_running("apply a delta")
        if self._recorder is None:
            return
        if operations is not None:
            self._recorder.record_delta(self.settings.stream, index, metadata, operations)
        elif self.settings.function_delta == "refuse":
            raise UnpersistableDeltaError(
                f"delta {index} ({type(delta).__name__} {metadata.description!r}) cannot be "
                "persisted: it is code, not data; express it as a dict patch or an "
                'OperationsDelta, or set [nerv] function_delta = "keep_local" to apply it here only'
            )
        elif not self._warned_function_delta:
            self._warned_function_delta = True
            log.warning(
                "function_delta_not_persisted",
                stream=self.settings.stream,
                index=index,
                hint="FunctionDeltas exist only in this process; replay will not have them",
            )

    def _announce_event(self, event: Event) -> None:
        announce = self._event_published  # replay announces every event
        if announce.get_hookimpls():  # else skip pluggy's call
            announce(runtime=self, event=event)

    def _announce_version(self, version: VersionedState, operations: list[Operation]) -> None:
        self.hook.nerv_version_committed(
            runtime=self, timeline=self.settings.timeline, version=version, operations=operations
        )

    def _announce_delta(
        self, index: int, delta: Delta, metadata: DeltaMetadata, operations: list[Operation] | None
    ) -> None:
        self.hook.nerv_delta_applied(
            runtime=self,
            stream=self.settings.stream,
            index=index,
            metadata=metadata,
            operations=operations,
        )
