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
that other processes write.
"""

from __future__ import annotations

from nerv_inner_universe.nerv import Nerv, hookimpl
from nerv_inner_universe.plugin.errors import (
    IntegrityError,
    OversizedRowError,
    PersistenceError,
    SnapshotRequiredError,
    WriteRefusedError,
)
from nerv_inner_universe.plugin.recorder import InnerUniverseRecorder, RecorderHealth
from nerv_inner_universe.plugin.settings import PluginSettings


@hookimpl
def nerv_recorder(runtime: Nerv) -> InnerUniverseRecorder:
    """One recorder per runtime, configured from ``[nerv.inner_universe]``."""
    return InnerUniverseRecorder(PluginSettings.from_config(runtime.config))


@hookimpl
def nerv_start(runtime: Nerv) -> None:
    """After replay: re-publish events that other processes write from now on."""
    if isinstance(runtime.recorder, InnerUniverseRecorder):
        runtime.recorder.follow(runtime.event_bus)


__all__ = [
    "InnerUniverseRecorder",
    "IntegrityError",
    "OversizedRowError",
    "PersistenceError",
    "PluginSettings",
    "RecorderHealth",
    "SnapshotRequiredError",
    "WriteRefusedError",
    "nerv_recorder",
    "nerv_start",
]
