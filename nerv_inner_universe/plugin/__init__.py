"""Inner Universe as NERV's persistence backend: the pluggy hook implementations.

Enabled by configuration, no code change: name the entry point in Atlas's TOML::

    [nerv]
    plugins = ["inner_universe"]

    [nerv.inner_universe]
    url = "http://127.0.0.1:3000"
    database = "inner-universe"
    token_file = "./inner_universe_db/owner.token"

The runtime asks for a recorder (`nerv_recorder`), replays it, and then writes every published
event, committed version and applied delta through it; `nerv_start` begins following events
that other processes write. ``runtime.graph_store`` (`nerv_graph_store`) writes entities and
relations through the same recorder, and every graph change reaches the bus as the module's
event (see `InnerUniverseGraph` and `nerv.graph_events`).
"""

from __future__ import annotations

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.contract import name_problem
from nerv_inner_universe.nerv import Nerv, hookimpl
from nerv_inner_universe.plugin.errors import (
    IntegrityError,
    OversizedRowError,
    OversizedWriteError,
    PersistenceError,
    RateLimitedError,
    RecorderClosedError,
    ReservedNameError,
    SnapshotRequiredError,
    WriteRefusedError,
)
from nerv_inner_universe.plugin.graph import InnerUniverseGraph
from nerv_inner_universe.plugin.recorder import InnerUniverseRecorder, RecorderHealth
from nerv_inner_universe.plugin.settings import PluginSettings
from nerv_inner_universe.plugin.streams import (
    ANCHOR_PREFIX,
    is_internal_timeline,
    stream_name_problem,
)


@hookimpl
def nerv_recorder(runtime: Nerv) -> InnerUniverseRecorder:
    """One recorder per runtime, configured from ``[nerv.inner_universe]``; `ConfigError` for
    a ``[nerv] timeline`` or ``stream`` the module cannot store (see
    `contract.name_problem` and `streams.stream_name_problem`), or a timeline reserved
    for the plugin's stream anchors (``stream.<s>``). Checked before connecting."""
    timeline = runtime.settings.timeline
    for key, problem in (
        ("nerv.timeline", name_problem(timeline)),
        ("nerv.stream", stream_name_problem(runtime.settings.stream)),
    ):
        if problem is not None:
            raise ConfigError(key, problem)
    if is_internal_timeline(timeline):
        raise ConfigError(
            "nerv.timeline",
            f"{timeline!r} is reserved: timelines starting with {ANCHOR_PREFIX!r} hold the "
            "anchors of projector streams; name the TemporalStore's timeline otherwise",
        )
    return InnerUniverseRecorder(PluginSettings.from_config(runtime.config))


@hookimpl
def nerv_graph_store(runtime: Nerv) -> InnerUniverseGraph | None:
    """The recorder's entity and relation store (`InnerUniverseRecorder.graph`)."""
    if isinstance(runtime.recorder, InnerUniverseRecorder):
        return runtime.recorder.graph()
    return None


@hookimpl
def nerv_start(runtime: Nerv) -> None:
    """After replay: re-publish the events, and apply the versions and deltas, that other
    processes write from now on."""
    if isinstance(runtime.recorder, InnerUniverseRecorder):
        runtime.recorder.follow(runtime.event_bus)
        runtime.recorder.follow_state(
            runtime.temporal_store,
            runtime.settings.timeline,
            runtime.state_projector,
            runtime.settings.stream,
        )


__all__ = [
    "InnerUniverseGraph",
    "InnerUniverseRecorder",
    "IntegrityError",
    "OversizedRowError",
    "OversizedWriteError",
    "PersistenceError",
    "PluginSettings",
    "RateLimitedError",
    "RecorderClosedError",
    "RecorderHealth",
    "ReservedNameError",
    "SnapshotRequiredError",
    "WriteRefusedError",
    "nerv_graph_store",
    "nerv_recorder",
    "nerv_start",
]
