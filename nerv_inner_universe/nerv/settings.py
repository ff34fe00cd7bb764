"""The ``[nerv]`` table of the configuration, checked once so typos fail at startup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

import attrs

from nerv_inner_universe.nerv.errors import ConfigError
from nerv_inner_universe.nerv.temporal import DEFAULT_SNAPSHOT_INTERVAL

FunctionDeltaPolicy = Literal["refuse", "keep_local"]


@attrs.frozen
class NervSettings:
    """Runtime settings; sub-tables of ``[nerv]`` belong to plugins and are not checked here.

    ``plugins``: entry-point names (group ``"nerv"``) to load. ``function_delta``: what a
    FunctionDelta does while persistence is on ("refuse" raises, "keep_local" applies it only
    here). ``timeline``/``stream``: the names the TemporalStore and the StateProjector are
    recorded under. ``max_history``: how many events the EventBus keeps.
    ``snapshot_interval``: how many versions the TemporalStore keeps in memory per whole
    snapshot (the others as operations from their parent), so reading an old version applies
    at most ``snapshot_interval - 1`` of them; 1 keeps every version whole. It is this
    process's memory layout only, independent of the recorder's own snapshot schedule.
    """

    plugins: tuple[str, ...] = ()
    function_delta: FunctionDeltaPolicy = "refuse"
    timeline: str = "main"
    stream: str = "main"
    max_history: int = 1000
    snapshot_interval: int = DEFAULT_SNAPSHOT_INTERVAL

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NervSettings:
        """Read ``config["nerv"]`` (absent: defaults); raise ConfigError on a wrong key or type."""
        table = config.get("nerv", {})
        if not isinstance(table, Mapping):
            raise ConfigError("[nerv] must be a table")
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(
            k for k, v in table.items() if k not in known and not isinstance(v, Mapping)
        )
        if unknown:
            raise ConfigError(f"unknown [nerv] keys {unknown}; known keys: {sorted(known)}")
        defaults = cls()
        plugins = table.get("plugins", [])
        if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
            raise ConfigError(
                '[nerv] plugins must be a list of entry-point names, e.g. ["inner_universe"]'
            )
        policy = table.get("function_delta", defaults.function_delta)
        if policy not in ("refuse", "keep_local"):
            raise ConfigError(f'[nerv] function_delta is {policy!r}; use "refuse" or "keep_local"')
        names = {key: table.get(key, getattr(defaults, key)) for key in ("timeline", "stream")}
        for key, name in names.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"[nerv] {key} is {name!r}; use a non-empty string")
        counts = {
            key: table.get(key, getattr(defaults, key))
            for key in ("max_history", "snapshot_interval")
        }
        for key, count in counts.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise ConfigError(f"[nerv] {key} is {count!r}; use a positive integer")
        return cls(
            plugins=tuple(plugins),
            function_delta=cast(FunctionDeltaPolicy, policy),
            **names,
            **counts,
        )
