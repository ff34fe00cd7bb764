"""Replay tooling for recovery: rebuild everything Inner Universe holds, verify it, export it.

Every version of every timeline is rebuilt from snapshots and operations and checked against
its `data_hash`; every delta stream is applied to the projector's initial state in log order,
skipping (and listing) the deltas whose operations do not apply, as a runtime's replay does,
and the module's checkpoint of the stream (what a start restores from) must be the state,
count and next index of the deltas it results from.
The result says what is there and whether it is intact, and can be written out as JSON for
inspection or for seeding a fresh system.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import attrs

from nerv_inner_universe.controller.layout import open_private
from nerv_inner_universe.delta import JSON, canonical_json, json_equal
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import ProjectorCheckpoint, StateProjector
from nerv_inner_universe.plugin.errors import IntegrityError
from nerv_inner_universe.plugin.reader import DeltaStream, SkippedDelta
from nerv_inner_universe.plugin.recorder import InnerUniverseRecorder

log = get_logger(__name__)

Progress = Callable[[str], None]


@attrs.frozen
class TimelineReport:
    """A timeline as replay rebuilt it: version count, head and the head's state."""

    name: str
    versions: int
    head_version_id: str
    head_state: JSON


@attrs.frozen
class StreamReport:
    """A projector stream as replay rebuilt it: delta count (skipped ones included), its state,
    and the deltas skipped because their operations do not apply at their place in the log."""

    name: str
    deltas: int
    state: JSON
    skipped: list[SkippedDelta] = attrs.field(factory=list)


@attrs.frozen
class RecoveryReport:
    """What a replay restored: the number of events, every timeline and every stream."""

    events: int
    timelines: list[TimelineReport]
    streams: list[StreamReport]

    def to_json(self) -> str:
        """The report as canonical-JSON-compatible text (states included)."""
        return json.dumps(
            {
                "events": self.events,
                "timelines": {
                    t.name: {
                        "versions": t.versions,
                        "head_version_id": t.head_version_id,
                        "head_state": json.loads(canonical_json(t.head_state)),
                    }
                    for t in self.timelines
                },
                "streams": {
                    s.name: {
                        "deltas": s.deltas,
                        "state": json.loads(canonical_json(s.state)),
                        "skipped": [
                            {"delta_id": k.delta_id, "seq": k.seq, "error": k.error}
                            for k in s.skipped
                        ],
                    }
                    for s in self.streams
                },
            },
            indent=2,
            ensure_ascii=False,
        )


def rebuild(recorder: InnerUniverseRecorder, progress: Progress | None = None) -> RecoveryReport:
    """Reads and verifies everything; raises IntegrityError naming the first damaged version,
    or a stream whose module checkpoint is not what its deltas give. A delta whose operations
    do not apply is no damage: it is skipped (as a runtime's replay skips it) and listed in its
    `StreamReport`."""
    say = progress or (lambda message: log.info("recovery_progress", step=message))
    events = sum(1 for _ in recorder.replay_events())
    say(f"{events} published events read in log order")
    timelines = []
    for name in recorder.timeline_names():
        versions = recorder.read_versions(name)
        if versions:
            head = versions[-1][0]
            timelines.append(TimelineReport(name, len(versions), head.version_id, head.data))
            say(f"timeline {name}: {len(versions)} versions rebuilt, every hash verified")
    streams = []
    for name in recorder.stream_names():
        stream = recorder.read_delta_stream(name)
        count, skipped = len(stream.deltas), len(stream.skipped)
        streams.append(StreamReport(name, count, stream.state, stream.skipped))
        say(f"stream {name}: {count - skipped} deltas applied, {skipped} skipped")
        checkpoint = recorder.read_delta_checkpoint(name)
        if checkpoint is not None:
            _check_checkpoint(name, stream, checkpoint)
            say(f"stream {name}: its checkpoint after {checkpoint.deltas} deltas verified")
    return RecoveryReport(events, timelines, streams)


def _check_checkpoint(name: str, stream: DeltaStream, checkpoint: ProjectorCheckpoint) -> None:
    """IntegrityError unless ``checkpoint`` is what the first ``checkpoint.deltas`` deltas of
    ``stream`` give (state and next index)."""
    covered = stream.deltas[: checkpoint.deltas]
    projector = StateProjector({})
    projector.restore(covered)
    next_index = covered[-1][0] + 1 if covered else 0
    if (
        len(covered) != checkpoint.deltas
        or next_index != checkpoint.next_index
        or not json_equal(projector.get_current_state(), checkpoint.state)
    ):
        raise IntegrityError(
            f"stream {name!r}: the module's checkpoint after {checkpoint.deltas} deltas (next "
            f"index {checkpoint.next_index}) is not what those deltas give ({len(covered)} "
            f"deltas, next index {next_index}); a start would restore a wrong projector state"
        )


def export(report: RecoveryReport, path: Path) -> None:
    """Writes ``report`` as JSON to ``path`` (replacing the file), 0600: it holds the recorded
    events and states."""
    with open_private(path, "w") as out:
        out.write(report.to_json() + "\n")
