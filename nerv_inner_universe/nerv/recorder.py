"""The narrow persistence interface of the NERV core, and an in-memory implementation.

Modelled on the recorders of the ``eventsourcing`` library: a backend stores three append-only
kinds of record and reads them back, nothing more. The runtime does the rest (write-ahead from
guards, replay on start), so a SpacetimeDB backend is a thin mapping onto reducer calls (writes)
and SQL reads.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import attrs

from nerv_inner_universe.delta import Operation, json_equal, validate_json
from nerv_inner_universe.nerv.arguments import require_int
from nerv_inner_universe.nerv.errors import (
    ConcurrencyConflictError,
    RecordConflictError,
    UnknownVersionError,
)
from nerv_inner_universe.nerv.events import Event
from nerv_inner_universe.nerv.projector import (
    DeltaMetadata,
    EarlierDeltas,
    NoOp,
    ProjectorCheckpoint,
)
from nerv_inner_universe.nerv.temporal import EarlierVersions, VersionedState


class Recorder(Protocol):
    """Stores events, state versions and deltas; reads them back in the order they were stored.

    Every ``record_*`` call returns only once the item is stored (or raises), so a later read
    sees it, and is idempotent: recording an item again with identical content does nothing,
    with different content raises RecordConflictError. Values that are not JSON are refused
    (the delta layer's error) before anything is stored. ``tests/recorder_contract.py`` is the
    executable form of this contract.
    """

    def record_event(self, event: Event) -> None:
        """Append ``event`` (keyed by ``event.id``) to the one total order of events."""
        ...

    def record_version(
        self, timeline: str, version: VersionedState, operations: Sequence[Operation]
    ) -> None:
        """Append ``version`` to ``timeline`` with the operations from its parent's state.

        Raises ConcurrencyConflictError if ``version.parent_version_id`` is not the timeline's head
        (another writer got there first).
        """
        ...

    def record_delta(
        self, stream: str, index: int, metadata: DeltaMetadata, operations: Sequence[Operation]
    ) -> None:
        """Append the delta ``index`` of projector ``stream`` (keyed by ``(stream, index)``)."""
        ...

    def read_events(self) -> list[Event]:
        """Every recorded event, in the order recorded (``replayed`` is False: it is no content)."""
        ...

    def replay_events(self) -> Iterator[Event]:
        """The events of `read_events` as a stream, each marked ``replayed``: what the runtime
        replays on start, as it is (an event not marked is marked by a copy,
        `Event.as_replayed`). A backend may read them a page at a time, so replay holds no more
        than a page."""
        ...

    def read_versions(self, timeline: str) -> list[tuple[VersionedState, list[Operation]]]:
        """``(version, operations)`` of ``timeline``, oldest first (none for a new timeline)."""
        ...

    def read_deltas(self, stream: str) -> list[tuple[int, DeltaMetadata, list[Operation]]]:
        """``(index, metadata, operations)`` of ``stream``, in the order recorded."""
        ...

    def flush(self) -> None:
        """Push out anything still buffered."""
        ...

    def close(self) -> None:
        """Release connections; the recorded data stays for the next recorder."""
        ...


@attrs.frozen
class VersionTail:
    """What a TemporalStore restores at its timeline's head from (`RestoringRecorder`)."""

    versions: list[VersionedState]
    """From the nearest version the backend holds whole at or before the head, to the head,
    oldest first (none for a new timeline)."""
    earlier: EarlierVersions | None
    """Reads the versions before ``versions`` (see `TemporalStore.restore`); None when
    ``versions`` hold the whole timeline."""


@attrs.frozen
class DeltaTail:
    """What a StateProjector restores at its stream's head from (`RestoringRecorder`)."""

    deltas: list[tuple[int, DeltaMetadata, list[Operation]]]
    """The deltas after ``checkpoint`` (every one without it), oldest first, with their
    operations as recorded, none applied (so one that does not apply still has them)."""
    checkpoint: ProjectorCheckpoint | None
    """The stream's state after its deltas up to a point, as the backend holds it."""
    earlier: EarlierDeltas | None
    """Reads the deltas ``checkpoint`` results from (see `StateProjector.restore`); None when
    ``deltas`` hold the whole stream."""


@runtime_checkable
class RestoringRecorder(Protocol):
    """What a `Recorder` may offer besides: the runtime restores its TemporalStore from
    `read_version_tail` (the versions since the nearest whole one; older versions are read
    when asked for) and its StateProjector from `read_delta_tail` (a checkpoint and the
    deltas since; older deltas are read when asked for), so that restoring them costs less
    than their history; it hands the deltas that did not apply to `report_noops`."""

    def read_version_tail(self, timeline: str) -> VersionTail:
        """The versions of ``timeline`` from the nearest whole one at or before its head."""
        ...

    def read_delta_tail(self, stream: str) -> DeltaTail:
        """The deltas of ``stream`` after its newest checkpoint, and that checkpoint."""
        ...

    def report_noops(self, stream: str, noops: Sequence[NoOp]) -> None:
        """The deltas of ``stream`` (from the last `read_delta_tail`) that did not apply when
        the projector was restored from them, oldest first."""
        ...


@runtime_checkable
class TailRecorder(Protocol):
    """What a `Recorder` may offer besides: when nothing but the runtime itself would see the
    replayed events (`EventBus.replay_observed` is False and no plugin implements
    ``nerv_event_published``), the runtime replays only the events the bus keeps something of
    (`EventBus.replay_window`) from `replay_event_tail`, so that a start costs what the bus
    keeps, not the length of the log, and leaves the bus as a whole replay would."""

    def replay_event_tail(self, count: int) -> Iterator[Event]:
        """The last events of `replay_events`, in its order and marked as it marks them: at
        least the last ``count`` (an int >= 0), all of them when there are fewer. What the
        recorder itself keeps from a replay (the point it follows other processes from, say)
        is as after `replay_events`. InvalidArgumentError for a bad ``count``."""
        ...


_VersionRecord = tuple[VersionedState, list[Operation]]
_DeltaRecord = tuple[int, DeltaMetadata, list[Operation]]


class InMemoryRecorder:
    """A Recorder that keeps everything in this process: for tests and for a runtime that
    should replay across restarts of its components but not of the process.

    It plays the database, not a connection to one: ``close`` keeps the data, so a second
    runtime given the same recorder replays what the first recorded.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._event_ids: dict[str, Event] = {}
        self._timelines: dict[str, list[_VersionRecord]] = {}
        self._versions: dict[str, tuple[str, _VersionRecord]] = {}
        self._streams: dict[str, dict[int, _DeltaRecord]] = {}

    def record_event(self, event: Event) -> None:
        """Append ``event`` unless it is already recorded identically."""
        validate_json(event.data)
        validate_json(event.metadata)
        stored = copy.deepcopy(attrs.evolve(event, replayed=False))
        with self._lock:
            existing = self._event_ids.get(event.id)
            if existing is not None:
                if not _same_event(existing, stored):
                    raise RecordConflictError(
                        f"event {event.id!r} was recorded before with different content; "
                        "give a new event a new id"
                    )
                return
            self._events.append(stored)
            self._event_ids[event.id] = stored

    def record_version(
        self, timeline: str, version: VersionedState, operations: Sequence[Operation]
    ) -> None:
        """Append ``version`` to ``timeline`` if its parent is the head (or it is recorded)."""
        validate_json(version.data)
        record = (copy.deepcopy(version), copy.deepcopy(list(operations)))
        with self._lock:
            existing = self._versions.get(version.version_id)
            if existing is not None:
                if existing != (timeline, record):
                    raise RecordConflictError(
                        f"version {version.version_id!r} was recorded before with different "
                        "content or on another timeline; give a new version a new id"
                    )
                return
            parent = version.parent_version_id
            if parent is not None and parent not in self._versions:
                raise UnknownVersionError(
                    f"parent version {parent!r} of {version.version_id!r} was never recorded"
                )
            history = self._timelines.get(timeline, [])
            head = history[-1][0].version_id if history else None
            if history and parent != head:
                raise ConcurrencyConflictError(
                    f"timeline {timeline!r} is at {head!r}, not at {parent!r}; reload and retry"
                )
            self._timelines[timeline] = [*history, record]
            self._versions[version.version_id] = (timeline, record)

    def record_delta(
        self, stream: str, index: int, metadata: DeltaMetadata, operations: Sequence[Operation]
    ) -> None:
        """Append delta ``index`` of ``stream`` unless it is already recorded identically."""
        record = (index, copy.deepcopy(metadata), copy.deepcopy(list(operations)))
        with self._lock:
            deltas = self._streams.setdefault(stream, {})
            existing = deltas.get(index)
            if existing is not None:
                if existing != record:
                    raise RecordConflictError(
                        f"delta {index} of stream {stream!r} was recorded before with different "
                        "content; deltas of a stream are append-only"
                    )
                return
            deltas[index] = record

    def read_events(self) -> list[Event]:
        """Copies of every event, in record order."""
        with self._lock:
            return copy.deepcopy(self._events)

    def replay_events(self) -> Iterator[Event]:
        """Copies of every event marked ``replayed``, in record order (this recorder holds them
        all anyway)."""
        return iter([event.as_replayed() for event in self.read_events()])

    def replay_event_tail(self, count: int) -> Iterator[Event]:
        """Copies of the last ``count`` events (an int >= 0, else InvalidArgumentError; all
        when there are fewer) marked ``replayed``, in record order."""
        require_int("count", count, minimum=0)
        with self._lock:
            tail = copy.deepcopy(self._events[max(0, len(self._events) - count) :])
        return iter([event.as_replayed() for event in tail])

    def read_versions(self, timeline: str) -> list[tuple[VersionedState, list[Operation]]]:
        """Copies of ``timeline``'s versions, oldest first."""
        with self._lock:
            return copy.deepcopy(self._timelines.get(timeline, []))

    def read_deltas(self, stream: str) -> list[tuple[int, DeltaMetadata, list[Operation]]]:
        """Copies of ``stream``'s deltas, in record order."""
        with self._lock:
            return copy.deepcopy(list(self._streams.get(stream, {}).values()))

    def flush(self) -> None:
        """Nothing is buffered: every record call stores at once."""

    def close(self) -> None:
        """Nothing to release; the data stays for the next runtime."""


def _same_event(a: Event, b: Event) -> bool:
    """Equal as stored: JSON values compare as JSON (``1`` is not ``true``)."""
    return (
        attrs.evolve(a, data=None, metadata={}) == attrs.evolve(b, data=None, metadata={})
        and json_equal(a.data, b.data)
        and json_equal(a.metadata, b.metadata)
    )
