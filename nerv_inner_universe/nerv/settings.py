"""The ``[nerv]`` table of the configuration, checked once so typos fail at startup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from nerv_inner_universe.config import fields, load, table_in
from nerv_inner_universe.nerv.temporal import DEFAULT_SNAPSHOT_INTERVAL

FunctionDeltaPolicy = Literal["refuse", "keep_local"]

SECTION = "nerv"
ENV_PREFIX = "NERV_"
"""``NERV_<KEY>`` overrides ``[nerv] <key>`` (``NERV_MAX_HISTORY=5000``)."""


@attrs.frozen
class NervSettings:
    """Runtime settings; sub-tables of ``[nerv]`` belong to plugins and are not checked here.

    ``plugins``: entry-point names (group ``"nerv"``) to load (``NERV_PLUGINS=a,b``).
    ``function_delta``: what a FunctionDelta does while persistence is on ("refuse" raises,
    "keep_local" applies it only here). ``timeline``/``stream``: the names the TemporalStore
    and the StateProjector are recorded under. ``max_history``: how many events the EventBus
    keeps. ``snapshot_interval``: how many versions the TemporalStore keeps in memory per whole
    snapshot (the others as operations from their parent), so reading an old version applies
    at most ``snapshot_interval - 1`` of them; 1 keeps every version whole. It is this
    process's memory layout only, independent of the recorder's own snapshot schedule.
    Constructing it directly checks every value too (`ConfigError`).
    """

    plugins: tuple[str, ...] = fields.names(
        (), expected='a list of entry-point names, e.g. ["inner_universe"]'
    )
    function_delta: FunctionDeltaPolicy = fields.choice("refuse", ("refuse", "keep_local"))
    timeline: str = fields.text("main")
    stream: str = fields.text("main")
    max_history: int = fields.integer(1000)
    snapshot_interval: int = fields.integer(DEFAULT_SNAPSHOT_INTERVAL)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], env: Mapping[str, str] | None = None
    ) -> NervSettings:
        """``config["nerv"]`` (absent: defaults), then ``NERV_<KEY>`` variables of ``env``
        (``os.environ`` when None); raises `ConfigError` naming a wrong key or value."""
        return load(
            cls,
            table_in(config, SECTION),
            section=SECTION,
            env_prefix=ENV_PREFIX,
            env=env,
            foreign_tables=True,
        )
