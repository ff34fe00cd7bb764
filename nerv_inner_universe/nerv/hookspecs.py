"""The pluggy hooks a NERV host calls (project name ``"nerv"``).

A plugin is any object or module with ``@hookimpl`` functions named like these; it may
implement only some of them and may leave out trailing arguments it does not need. The host
is a :class:`~nerv_inner_universe.nerv.runtime.Nerv`; plugins reach the EventBus,
TemporalStore and StateProjector through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

from nerv_inner_universe.delta import Operation
from nerv_inner_universe.nerv.events import Event
from nerv_inner_universe.nerv.graph import GraphStore
from nerv_inner_universe.nerv.projector import DeltaMetadata
from nerv_inner_universe.nerv.recorder import Recorder
from nerv_inner_universe.nerv.temporal import VersionedState

if TYPE_CHECKING:
    from nerv_inner_universe.nerv.runtime import Nerv

PROJECT = "nerv"
"""The pluggy project name, which is also the entry-point group plugins are found in."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(historic=True)
def nerv_configure(runtime: Nerv, config: Mapping[str, Any]) -> None:
    """Read settings, once, while the runtime is being built.

    Historic: a plugin registered later (``runtime.plugin_manager.register(plugin)``) is
    configured as it registers, with the same arguments.

    ``config`` is the whole configuration document; a plugin reads its own table, e.g.
    ``config["nerv"]["inner_universe"]`` for ``[nerv.inner_universe]`` in TOML.
    """


@hookspec(firstresult=True)
def nerv_recorder(runtime: Nerv) -> Recorder | None:
    """Return the persistence backend, or None to leave it to another plugin.

    Called once by ``start()``; the first non-None answer wins. The runtime replays from it and
    then writes every new event, version and delta to it; plugins need not do either.
    """


@hookspec(firstresult=True)
def nerv_graph_store(runtime: Nerv) -> GraphStore | None:
    """Return the entity and relation store, or None to leave it to another plugin.

    Called once by ``start()`` after the recorder (``runtime.recorder``) is set; the first
    non-None answer becomes ``runtime.graph_store``, and graph events published on the bus
    become its writes (`nerv_inner_universe.nerv.graph_events`).
    """


@hookspec
def nerv_start(runtime: Nerv) -> None:
    """The runtime has started: the history is replayed and new changes are being recorded."""


@hookspec
def nerv_event_published(runtime: Nerv, event: Event) -> None:
    """The EventBus accepted ``event`` (already recorded; ``event.replayed`` marks a replay)."""


@hookspec
def nerv_version_committed(
    runtime: Nerv, timeline: str, version: VersionedState, operations: list[Operation]
) -> None:
    """The TemporalStore committed ``version`` on ``timeline`` (already recorded).

    ``operations`` turn the parent version's state into this one. ``version.remote`` is True
    for a version another process committed, which the store learnt of from the recorder.
    """


@hookspec
def nerv_delta_applied(
    runtime: Nerv,
    stream: str,
    index: int,
    metadata: DeltaMetadata,
    operations: list[Operation] | None,
) -> None:
    """The StateProjector of ``stream`` applied delta ``index`` (already recorded, if it could be).

    ``operations`` is None for a FunctionDelta, which has none and is never recorded.
    ``metadata.remote`` is True for a delta another process recorded; ``metadata.rebased`` is
    True when it went before deltas applied here (they were applied again after it, in log
    order, and are not told again): read the state then for the rebased result.
    """


@hookspec
def nerv_stop(runtime: Nerv) -> None:
    """The runtime is stopping; the recorder is flushed and closed after this returns."""
