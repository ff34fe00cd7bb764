"""`InnerUniverseRecorder`: NERV's Recorder contract over the Inner Universe module.

Writes are reducer calls through one ordered queue (see `writer`); reads are one-off SQL
queries (see `reader`). Versions and deltas are stored before `record_*` returns, so a
conflict reaches the caller. Events are too with ``events = "sync"``; with ``"async"`` they are
queued, and a failure is raised by the next `flush` (and shown in `health`).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Sequence
from typing import Any

import attrs

from nerv_inner_universe.client import DbConnection, TokenStore
from nerv_inner_universe.delta import JSON, Operation, canonical_json, data_hash, validate_json
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import DeltaMetadata, Event, EventBus, VersionedState
from nerv_inner_universe.nerv.errors import RecordConflictError
from nerv_inner_universe.plugin import translate
from nerv_inner_universe.plugin.errors import PersistenceError
from nerv_inner_universe.plugin.follower import Follower
from nerv_inner_universe.plugin.loop import LoopThread
from nerv_inner_universe.plugin.reader import Reader, delta_id
from nerv_inner_universe.plugin.settings import PluginSettings
from nerv_inner_universe.plugin.writer import OrderedWriter, Write, WriterHealth

log = get_logger(__name__)

# The runtime's StateProjector starts from {}: every delta stream is anchored on a root version
# holding that state, because the module requires a delta's version to exist.
_STREAM_BASE_STATE: dict[str, Any] = {}  # never mutated


@attrs.frozen
class RecorderHealth:
    connected: bool
    writer: WriterHealth
    async_failures: int
    remote_events_delivered: int


class InnerUniverseRecorder:
    def __init__(self, settings: PluginSettings) -> None:
        self.settings = settings
        self._loop = LoopThread(f"nerv-iu-{settings.database}")
        token = settings.resolve_token()
        self._connection = DbConnection(
            settings.url,
            settings.database,
            token=token,
            token_store=None if token else TokenStore(),
            call_timeout=settings.call_timeout,
        )
        try:
            self._loop.run(self._connection.connect(), timeout=settings.call_timeout + 5)
        except BaseException:
            self._loop.stop()
            raise
        self._reader = Reader(self._connection)
        self._writer = OrderedWriter(
            self._connection,
            self._loop,
            queue_size=settings.queue_size,
            batch_size=settings.batch_size,
            retry_for=settings.retry_for,
        )
        self._lock = threading.Lock()
        self._known_events: dict[str, tuple[object, ...]] = {}
        self._anchored_streams: set[str] = set()
        self._since_snapshot: dict[str, int] = {}
        self._snapshot_interval: int | None = None
        self._async_failures: list[BaseException] = []
        self._last_replayed_seq = 0
        self._follower: Follower | None = None
        self._closed = False
        log.info("inner_universe_connected", url=settings.url, database=settings.database)

    # --- writes -------------------------------------------------------------------------

    def record_event(self, event: Event) -> None:
        validate_json(event.data, "event data")
        validate_json(dict(event.metadata), "event metadata")
        fingerprint = translate.event_fingerprint(event)
        with self._lock:
            known = self._known_events.get(event.id)
            if known == fingerprint:
                return
            if known is not None:
                raise RecordConflictError(
                    f"event {event.id!r} was recorded before with different content"
                )
            self._known_events[event.id] = fingerprint
        payload = translate.event_input(event)
        future = self._writer.submit(
            Write("publish_event", (payload,), f"event {event.id!r}", event=payload)
        )
        if self.settings.events == "sync":
            self._wait(future, forget=event.id)
        else:
            future.add_done_callback(lambda done: self._note_async(done, event.id))

    def record_version(
        self, timeline: str, version: VersionedState, operations: Sequence[Operation]
    ) -> None:
        snapshot = self._snapshot_due(timeline, version)
        try:
            self._commit(timeline, version, operations, snapshot)
        except PersistenceError as exc:
            if snapshot or "needs a snapshot" not in str(exc):
                raise
            snapshot = True  # another writer moved the snapshot schedule: include one
            self._commit(timeline, version, operations, snapshot)
        with self._lock:
            self._since_snapshot[timeline] = 0 if snapshot else self._since_snapshot[timeline] + 1

    def record_delta(
        self, stream: str, index: int, metadata: DeltaMetadata, operations: Sequence[Operation]
    ) -> None:
        base = self._anchor(stream)
        args = (
            delta_id(stream, index),
            stream,
            base,
            translate.timestamp(metadata.timestamp),
            translate.operations(operations),
            translate.delta_metadata_input(metadata),
        )
        self._wait(self._writer.submit(Write("record_delta", args, f"delta {args[0]!r}")))

    def _commit(
        self,
        timeline: str,
        version: VersionedState,
        operations: Sequence[Operation],
        snapshot: bool,
    ) -> None:
        args = (
            version.version_id,
            timeline,
            version.parent_version_id,
            translate.timestamp(version.timestamp),
            version.change_description,
            version.data_hash,
            translate.operations(operations),
            canonical_json(version.data) if snapshot else None,
        )
        what = f"version {version.version_id!r} of timeline {timeline!r}"
        self._wait(self._writer.submit(Write("commit_state_version", args, what)))

    def _snapshot_due(self, timeline: str, version: VersionedState) -> bool:
        """Mirrors the module's rule so that a snapshot is sent exactly when one is required."""
        if version.parent_version_id is None:
            return True
        with self._lock:
            cached = self._since_snapshot.get(timeline)
            interval = self._snapshot_interval
        if cached is None or interval is None:
            head = self._loop.run(self._reader.timeline(timeline))
            interval = self._loop.run(self._reader.snapshot_interval())
            cached = int(head.versions_since_snapshot) if head is not None else 0
            with self._lock:
                self._since_snapshot[timeline] = cached
                self._snapshot_interval = interval
        return cached + 1 >= interval

    def _anchor(self, stream: str) -> str:
        """The root version a stream's deltas hang on (committed once, idempotently)."""
        base = f"stream.{stream}.base"
        if stream in self._anchored_streams:
            return base
        version = VersionedState(
            version_id=base,
            data={},
            parent_version_id=None,
            timestamp=0.0,
            change_description=f"initial state of projector stream {stream!r}",
            data_hash=data_hash(_STREAM_BASE_STATE),
        )
        self._commit(f"stream.{stream}", version, [], snapshot=True)
        self._anchored_streams.add(stream)
        return base

    def _wait(self, future: concurrent.futures.Future[None], forget: str | None = None) -> None:
        try:
            future.result()
        except BaseException:
            if forget is not None:
                with self._lock:
                    self._known_events.pop(forget, None)
            raise

    def _note_async(self, future: concurrent.futures.Future[None], event_id: str) -> None:
        error = future.exception()
        if error is None:
            return
        with self._lock:
            self._known_events.pop(event_id, None)
            self._async_failures.append(error)
        log.error("event_write_failed", event_id=event_id, error=str(error))

    # --- reads --------------------------------------------------------------------------

    def read_events(self) -> list[Event]:
        self.flush()
        scan = self._loop.run(self._reader.events(self._replay_progress))
        with self._lock:
            for _, event in scan.events:
                self._known_events[event.id] = translate.event_fingerprint(event)
            self._last_replayed_seq = max(self._last_replayed_seq, scan.last_seq)
        log.info("events_read", count=len(scan.events), last_seq=scan.last_seq)
        return [event for _, event in scan.events]

    def _replay_progress(self, up_to_seq: int) -> None:
        log.info("replay_progress", events_scanned_up_to_seq=up_to_seq)

    def read_versions(self, timeline: str) -> list[tuple[VersionedState, list[Operation]]]:
        self.flush()
        return self._loop.run(self._reader.versions(timeline))

    def read_state(self, version_id: str) -> JSON:
        """One version's state, rebuilt from its nearest snapshot (at most
        `snapshot_interval` versions back) and the operations since, hash-checked."""
        self.flush()
        return self._loop.run(self._reader.state(version_id))

    def timeline_names(self) -> list[str]:
        return self._loop.run(self._reader.timeline_names())

    def stream_names(self) -> list[str]:
        return self._loop.run(self._reader.stream_names())

    def read_deltas(self, stream: str) -> list[tuple[int, DeltaMetadata, list[Operation]]]:
        self.flush()
        return self._loop.run(self._reader.deltas(stream))

    # --- lifecycle ----------------------------------------------------------------------

    def follow(self, bus: EventBus) -> None:
        """Starts re-publishing other processes' new events into ``bus``."""
        if self._follower is not None or not self.settings.follow_remote:
            return
        self._follower = Follower(bus, self._claim_remote)
        after = self._last_replayed_seq or self._loop.run(self._reader.last_seq())
        self._loop.run(self._follower.start(self._connection, after))

    def _claim_remote(self, event: Event) -> bool:
        """True once for an event id this process has not written, read or received."""
        with self._lock:
            if event.id in self._known_events:
                return False
            self._known_events[event.id] = translate.event_fingerprint(event)
            return True

    def flush(self) -> None:
        """Waits until every queued write is stored; raises what failed since the last flush."""
        self._writer.barrier().result()
        with self._lock:
            failures, self._async_failures = self._async_failures, []
        if failures:
            raise PersistenceError(
                f"{len(failures)} queued event write(s) failed, first: {failures[0]}"
            ) from failures[0]

    def health(self) -> RecorderHealth:
        with self._lock:
            failures = len(self._async_failures)
        return RecorderHealth(
            connected=self._connection.is_connected,
            writer=self._writer.health(),
            async_failures=failures,
            remote_events_delivered=self._follower.delivered if self._follower else 0,
        )

    def close(self) -> None:
        """Flushes, stops following and disconnects. Closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            if self._follower is not None:
                self._follower.stop()
            self._writer.stop()
            self._loop.run(self._connection.disconnect(), timeout=10)
            self._loop.stop()
            log.info("inner_universe_closed", database=self.settings.database)
