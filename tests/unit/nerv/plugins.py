"""Plugins for the runtime tests: one that records every hook call, one that provides a recorder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nerv_inner_universe.delta import Operation
from nerv_inner_universe.nerv import (
    DeltaMetadata,
    Event,
    Nerv,
    Recorder,
    VersionedState,
    hookimpl,
)


class HookLog:
    """Implements every hook and keeps ``(hook name, arguments)`` in call order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def names(self) -> list[str]:
        """The hooks called so far, in order."""
        return [name for name, _ in self.calls]

    @hookimpl
    def nerv_configure(self, runtime: Nerv, config: Mapping[str, Any]) -> None:
        self.calls.append(("nerv_configure", {"runtime": runtime, "config": config}))

    @hookimpl
    def nerv_start(self, runtime: Nerv) -> None:
        self.calls.append(("nerv_start", {"runtime": runtime}))

    @hookimpl
    def nerv_event_published(self, runtime: Nerv, event: Event) -> None:
        self.calls.append(("nerv_event_published", {"event": event}))

    @hookimpl
    def nerv_version_committed(
        self, runtime: Nerv, timeline: str, version: VersionedState, operations: list[Operation]
    ) -> None:
        self.calls.append(
            (
                "nerv_version_committed",
                {"timeline": timeline, "version": version, "ops": operations},
            )
        )

    @hookimpl
    def nerv_delta_applied(
        self,
        runtime: Nerv,
        stream: str,
        index: int,
        metadata: DeltaMetadata,
        operations: list[Operation] | None,
    ) -> None:
        self.calls.append(
            (
                "nerv_delta_applied",
                {"stream": stream, "index": index, "metadata": metadata, "ops": operations},
            )
        )

    @hookimpl
    def nerv_stop(self, runtime: Nerv) -> None:
        self.calls.append(("nerv_stop", {"runtime": runtime}))


class ProvidesRecorder:
    """Hands the runtime a given recorder, as a persistence plugin would."""

    def __init__(self, recorder: Recorder | None) -> None:
        self.recorder = recorder

    @hookimpl
    def nerv_recorder(self, runtime: Nerv) -> Recorder | None:
        return self.recorder


entry_point_plugin = HookLog()
"""Loaded through a (faked) entry point named ``hook_log`` in the tests."""
