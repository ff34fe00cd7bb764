"""`InnerUniverseRecorder`: NERV's Recorder contract over the Inner Universe module.

Writes are reducer calls through one ordered queue (see `writer`); reads are one-off SQL
queries (see `reader`). Versions and deltas are stored before `record_*` returns, so a
conflict reaches the caller. Events are too with ``events = "sync"``; with ``"async"`` they are
queued, and a failure is raised by the next `flush` (and shown in `health`); with ``"outbox"``
they are first committed to a local SQLite outbox (see `outbox`), then queued as with
``"async"``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Generator, Iterator, Sequence
from typing import Any, TypeVar

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    BlockingConnection,
    BsatnCodec,
    DbConnection,
    JsonCodec,
    ReconnectPolicy,
    SpacetimeConnectionError,
    TokenStore,
)
from nerv_inner_universe.delta import JSON, Operation, data_hash
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import (
    DeltaMetadata,
    DeltaTail,
    Event,
    EventBus,
    NoOp,
    ProjectorCheckpoint,
    Relation,
    StateProjector,
    TemporalStore,
    VersionedState,
    VersionTail,
)
from nerv_inner_universe.nerv.arguments import require_int
from nerv_inner_universe.nerv.errors import ConcurrencyConflictError
from nerv_inner_universe.plugin import streams, translate
from nerv_inner_universe.plugin.direct import DirectLane
from nerv_inner_universe.plugin.errors import (
    PersistenceError,
    RecorderClosedError,
    ReservedNameError,
    WriteRefusedError,
)
from nerv_inner_universe.plugin.follower import Follower
from nerv_inner_universe.plugin.graph import InnerUniverseGraph, graph_write_stored
from nerv_inner_universe.plugin.graph_translate import relation_from_row
from nerv_inner_universe.plugin.loop import LoopThread
from nerv_inner_universe.plugin.outbox import Outbox
from nerv_inner_universe.plugin.reader import (
    PAGE_BYTES,
    DecodedDeltas,
    DeltaStream,
    EventPage,
    Reader,
    decode_deltas,
    deltas_from_rows,
)
from nerv_inner_universe.plugin.recent_events import RecentEvents
from nerv_inner_universe.plugin.remote_state import StateFollower
from nerv_inner_universe.plugin.retrying import retried
from nerv_inner_universe.plugin.settings import PluginSettings
from nerv_inner_universe.plugin.versions import VersionCommitter
from nerv_inner_universe.plugin.writer import OrderedWriter, Write, WriterHealth, write_budget

log = get_logger(__name__)

DISCONNECT_TIMEOUT = 10.0
"""Seconds `InnerUniverseRecorder.close` waits for the server to end the connection."""

T = TypeVar("T")

RECONNECT = ReconnectPolicy(max_delay=1.0)
"""A dropped connection is retried at least every second (the client's default waits up to 10 s),
so writing resumes within about a second of the server being back."""

RECENT_EVENTS = 10_000
"""Event ids whose content the recorder remembers (about 2 MiB): a repeat or a conflict among
them is answered at once; older ids are answered by the module."""

# The runtime's StateProjector starts from {}: every delta stream is anchored on a root version
# holding that state, because the module requires a delta's version to exist.
_STREAM_BASE_STATE: dict[str, Any] = {}  # never mutated


@attrs.frozen
class RecorderHealth:
    """What `InnerUniverseRecorder.health` reports: whether the connection is up now, the
    writer's counts, ``async_failures`` (queued event and graph writes that failed since the
    last `flush` returned or raised: a raising flush has reported them, so it starts again at
    0), and how many events of other processes were re-published into the bus."""

    connected: bool
    writer: WriterHealth
    async_failures: int
    remote_events_delivered: int
    remote_events_refused: int
    """Events of other processes (or graph confirmations) the local bus refused (a guard
    raised): each logged as ``remote_event_refused`` and passed over; delivery goes on."""
    log_rows_followed: int
    """`event_log` rows the follower received (repeats after a reconnect included)."""
    follow_error: str | None = None
    """Why following other processes' events, or a followed store's versions and deltas,
    stopped for good (``"<type>: <message>"``, e.g. an `OversizedRowError`: one row alone
    over ``max_message_bytes``, naming the row and the setting to raise; ``"; "`` between
    two), or None while following goes on; the next `InnerUniverseRecorder.flush` raises
    each once."""


def stream_anchor(stream: str) -> VersionedState:
    """The root version projector ``stream``'s deltas hang on (`streams.anchor_version`, on
    timeline `streams.anchor_timeline`): the empty object, committed with a snapshot."""
    return VersionedState(
        version_id=streams.anchor_version(stream),
        data={},
        parent_version_id=None,
        timestamp=0.0,
        change_description=f"initial state of projector stream {stream!r}",
        data_hash=data_hash(_STREAM_BASE_STATE),
    )


def delta_call(
    stream: str,
    index: int,
    writer: str,
    metadata: DeltaMetadata,
    operations: Sequence[Operation],
) -> contract.ReducerCall:
    """The ``record_delta`` call that stores delta ``index`` of projector ``stream`` as
    ``writer`` (a recorder's tag, `streams.delta_id`) on the stream's `stream_anchor`.
    ArgumentError (the client's) for what cannot be encoded."""
    return contract.record_delta(
        delta_id=streams.delta_id(stream, index, writer),
        stream=stream,
        state_version_id=streams.anchor_version(stream),
        occurred_at=translate.timestamp(metadata.timestamp, "delta timestamp"),
        operations=translate.operations(operations),
        metadata=translate.delta_metadata_input(metadata),
    )


class InnerUniverseRecorder:
    """NERV's Recorder over one Inner Universe database; connects on construction and must be
    `close`d. Connecting and every read retry connection trouble for ``retry_for`` seconds,
    then raise PersistenceError (chained from the client's error); the client's other errors
    (a refused token, say) are raised as they are."""

    def __init__(self, settings: PluginSettings) -> None:
        self.settings = settings
        token = settings.resolve_token()
        self._outbox = (
            Outbox(settings.outbox_path, settings.database) if settings.events == "outbox" else None
        )
        self._loop = LoopThread(f"nerv-iu-{settings.database}")
        self._connection = DbConnection(
            settings.url,
            settings.database,
            token=token,
            token_store=None if token else TokenStore(),
            reconnect=RECONNECT,
            call_timeout=settings.call_timeout,
            max_message_bytes=settings.max_message_bytes,
            codec=BsatnCodec if settings.protocol == "bsatn" else JsonCodec,
        )
        try:
            self._loop.run(
                retried(
                    self._connection.connect,
                    f"connecting to {settings.database!r} at {settings.url}",
                    retry_for=settings.retry_for,
                ),
                timeout=settings.retry_for + settings.call_timeout + 5,
            )
        except BaseException:
            self._loop.stop()
            if self._outbox is not None:
                self._outbox.close()
            raise
        self._reader = Reader(self._connection, retry_for=settings.retry_for)
        self._writer_reader = Reader(self._connection)
        """For the writer's check of what is stored: it handles connection trouble itself."""
        self._follow_reader = Reader(
            self._connection, page_bytes=min(PAGE_BYTES, settings.max_message_bytes // 4)
        )
        """For the followers' catch-ups (they handle connection trouble themselves): its
        pages fit a quarter of the largest message this connection takes (a page over it
        would drop the connection and be asked for again, halved), and replay's page size
        at most."""
        self._direct = (
            DirectLane(self._direct_connection)
            if settings.events == "sync" and settings.direct_writes
            else None
        )
        """With ``events = "sync"``: the connection sync publishes are sent on from the
        publishing thread (`OrderedWriter.write`)."""
        self._writer = OrderedWriter(
            self._connection,
            self._loop,
            queue_size=settings.queue_size,
            batch_size=settings.batch_size,
            batch_bytes=write_budget(settings.max_message_bytes),
            retry_for=settings.retry_for,
            durability_window=settings.durability_window,
            durability_retain=settings.durability_retain,
            durability_retain_bytes=settings.durability_retain_bytes,
            on_durable=self._outbox_durable if self._outbox is not None else None,
            stored=self._stored,
            on_failure=self._queued_event_failed,
            direct=self._direct,
        )
        # Both run on the loop: a drop may have lost acknowledged writes; send them again.
        self._connection.on_disconnect(lambda _conn, _error: self._writer.connection_lost())
        self._connection.on_connect(lambda _conn, _identity, _token: self._writer.connection_back())
        self._versions = VersionCommitter(self._store, self._read_schedule)
        self._lock = threading.Lock()
        self._recent = RecentEvents(RECENT_EVENTS)
        self._unseen_own: set[str] = set()
        """Ids this process wrote while following, not yet back from the followed log."""
        self._anchored_streams: set[str] = set()
        self._async_failures: list[BaseException] = []
        self._last_replayed_seq = 0
        self._follower: Follower | None = None
        self._follow_errors_raised: list[Exception] = []
        """The followers' errors a `flush` raised already (each is raised once)."""
        self._writer_tag = uuid.uuid4().hex[: streams.WRITER_TAG_LENGTH]
        """Makes this recorder's delta ids its own (`streams.delta_id`)."""
        self._delta_seqs: dict[str, int] = {}
        """The ``seq`` of the last delta replay read, per stream."""
        self._decoded: dict[str, DecodedDeltas] = {}
        """The deltas `read_delta_tail` read, per stream, until `report_noops`."""
        self._state_follower: StateFollower | None = None
        self._graph: InnerUniverseGraph | None = None
        self._closed = False
        self._closing = threading.Lock()
        """Held while `close` tells whether it is the first (``_closed`` set under it)."""
        self._close_ended = threading.Event()
        """Set when the first `close` has ended (flushed, or failed to, and disconnected)."""
        self._close_error: BaseException | None = None
        """What the first `close` raised, for a `close` that waited for it."""
        self._resend_outbox()
        log.info("inner_universe_connected", url=settings.url, database=settings.database)

    def _direct_connection(self) -> BlockingConnection:
        """A connection for the `DirectLane` (not open yet): as the main one's identity, with
        its schema and settings."""
        schema = self._connection.schema
        if schema is None:  # connected in __init__, so the schema is known
            raise PersistenceError("the connection has no module schema yet")
        settings = self.settings
        return BlockingConnection(
            settings.url,
            settings.database,
            schema,
            token=self._connection.token,
            call_timeout=settings.call_timeout,
            max_message_bytes=settings.max_message_bytes,
            codec=BsatnCodec if settings.protocol == "bsatn" else JsonCodec,
        )

    def _resend_outbox(self) -> None:
        """Queues, before anything else, the events a previous process left in the outbox."""
        if self._outbox is None:
            return
        left = self._outbox.pending()
        if left:
            log.warning("outbox_resending", events=len(left), outbox=str(self._outbox.path))
        for payload in left:
            self._writer.queue(_event_write(payload, waited=False))

    async def _stored(self, write: Write) -> bool:
        call = write.call
        if call is None:
            return False
        graph = await graph_write_stored(self._connection, call)
        return graph if graph is not None else await self._writer_reader.stored(call)

    def _outbox_durable(self, writes: list[Write]) -> None:
        assert self._outbox is not None  # only registered with an outbox
        self._outbox.remove(write.event.event_id for write in writes if write.event is not None)

    # --- writes -------------------------------------------------------------------------

    def record_event(self, event: Event) -> None:
        """Stores ``event`` (waits for it with ``events = 'sync'``); RecordConflictError when its id
        was recorded with other content."""
        payload = translate.event_input(event)  # first: a refused event is not remembered
        # Async: no future per event, a failure comes to _queued_event_failed.
        write = _event_write(payload, waited=self.settings.events == "sync")
        self._writer.refuse_oversized(write)
        fingerprint = translate.input_fingerprint(payload)
        with self._lock:
            if not self._recent.admit(event.id, fingerprint):
                return
            if self._follower is not None:
                self._unseen_own.add(event.id)
        committed = False
        try:
            with self._closing_told():
                if self._outbox is not None:
                    self._outbox.add(payload)
                    committed = True  # accepted: a later start sends it if this one cannot
                if write.future is None:
                    self._writer.queue(write)
                else:
                    self._writer.write(write)  # on this thread when the writer is idle
        except BaseException:  # any failure before it is accepted releases the id
            if not committed:
                self._forget_event(event.id)
            raise

    def record_version(
        self, timeline: str, version: VersionedState, operations: Sequence[Operation]
    ) -> None:
        """Stores ``version`` of ``timeline`` with the operations from its parent, and a snapshot
        when one is due.

        ConcurrencyConflictError when the timeline's head moved (another process committed):
        its ``current`` names the head, and a store this recorder follows (`follow_state`) has
        caught up with it before the error is raised, so committing again succeeds.
        ReservedNameError for a timeline reserved for the plugin (``stream.<s>``).
        """
        self._refuse_reserved(timeline)
        try:
            self._versions.record(timeline, version, operations)
        except ConcurrencyConflictError as conflict:
            raise self._moved_on(timeline, version.parent_version_id) from conflict

    def _moved_on(self, timeline: str, parent: str | None) -> ConcurrencyConflictError:
        """The error for a commit on ``parent`` refused because ``timeline`` moved on, after
        the followed store (if it is this timeline) caught up."""
        follower = self._state_follower
        if follower is not None and follower.timeline == timeline:
            follower.catch_up()
            head = follower.head()
            retry = "the TemporalStore has caught up with it: read its state again, commit anew"
        else:
            row = self._run(self._reader.timeline(timeline))
            head = None if row is None else str(row.head_version_id)
            retry = "read that version's state (read_versions) and commit on it"
        return ConcurrencyConflictError(
            f"timeline {timeline!r} moved on: another writer committed, its head is now "
            f"{head!r}, not {parent!r}; {retry}",
            current=head,
        )

    @staticmethod
    def _refuse_reserved(timeline: str) -> None:
        if streams.is_internal_timeline(timeline):
            raise ReservedNameError(
                f"timeline {timeline!r} is reserved: names starting with "
                f"{streams.ANCHOR_PREFIX!r} hold the anchors of projector streams; "
                "use another timeline name"
            )

    def record_delta(
        self, stream: str, index: int, metadata: DeltaMetadata, operations: Sequence[Operation]
    ) -> None:
        """Stores delta ``index`` of projector ``stream`` on the stream's root version, under an
        id of this recorder's own (another process's delta ``index`` is another delta)."""
        self._anchor(stream)
        call = delta_call(stream, index, self._writer_tag, metadata, operations)
        self._store(call, f"delta {streams.delta_id(stream, index, self._writer_tag)!r}")

    def _store(self, call: contract.ReducerCall, what: str) -> None:
        """Writes ``call`` through the ordered queue and waits until it is stored."""
        with self._closing_told():
            self._writer.submit(Write(call, what)).result()

    @contextlib.contextmanager
    def _closing_told(self) -> Iterator[None]:
        """Around a write: RecorderClosedError when `close` has begun, before the write, and
        in place of the PersistenceError of a write that ended while `close` ran (chained from
        it: its ``__cause__`` says how it ended: cut short, or failed while close flushed)."""
        if self._closed:
            raise RecorderClosedError(self.settings.database)
        try:
            yield
        except PersistenceError as error:
            if self._closed and not isinstance(error, RecorderClosedError):
                raise RecorderClosedError(self.settings.database) from error
            raise

    def _read_schedule(self, timeline: str) -> tuple[int, int]:
        head = self._run(self._reader.timeline(timeline))
        interval = self._run(self._reader.snapshot_interval())
        return (int(head.versions_since_snapshot) if head is not None else 0), interval

    def _anchor(self, stream: str) -> None:
        """Commits the root version a stream's deltas hang on (once, idempotently)."""
        if stream in self._anchored_streams:
            return
        self._versions.commit(
            streams.anchor_timeline(stream), stream_anchor(stream), [], snapshot=True
        )
        self._anchored_streams.add(stream)

    def _queued_event_failed(self, write: Write, error: BaseException) -> None:
        """A queued event could not be written (called on the loop): forgotten, so it may be
        recorded again; raised by the next `flush`."""
        assert write.event is not None  # only events are queued without a future
        event_id = write.event.event_id
        if self._outbox is not None and isinstance(error, WriteRefusedError):
            # Refused (rate limits too): reported failed, so never written by a later start.
            # Connection trouble past retry_for keeps it: the next start sends it again.
            self._outbox.remove([event_id])
        self._forget_event(event_id)
        with self._lock:
            self._async_failures.append(error)
        log.error("event_write_failed", event_id=event_id, error=str(error))

    def graph(self) -> InnerUniverseGraph:
        """The entity and relation store over this recorder's connection and writer, in the
        ``events`` mode (made, and its view filled from the server, on the first call); the
        failures of its queued writes are raised by `flush` like those of queued events."""
        if self._graph is None:
            graph = InnerUniverseGraph(
                self._writer,
                wait=self.settings.events == "sync",
                on_failure=self._note_failure,
                stored_relation=self._stored_relation,
                closing_told=self._closing_told,
            )
            self._run(graph.follow(self._connection))
            self._graph = graph
        return self._graph

    def _stored_relation(self, relation_id: str) -> Relation | None:
        row = self._run(self._reader.relation_row(relation_id))
        return None if row is None else relation_from_row(row)

    def _note_failure(self, error: BaseException) -> None:
        with self._lock:
            self._async_failures.append(error)
        log.error("graph_write_failed", error=str(error))

    # --- reads --------------------------------------------------------------------------

    def read_events(self) -> list[Event]:
        """Every published event in log order (after a flush); the module's own events are left
        out. Holds them all: replay uses `replay_events`."""
        return list(self._events(replayed=False))

    def replay_events(self) -> Generator[Event, None, None]:
        """`read_events` as a stream of events marked ``replayed``, read a page of about
        `reader.PAGE_BYTES` at a time (after a flush): the next page is read while this one is
        delivered, so at most two are held. OversizedRowError when one row alone is over the
        connection's message limit."""
        return self._events(replayed=True)

    def replay_event_tail(self, count: int) -> Generator[Event, None, None]:
        """The events of `replay_events` from the ``max(count, RECENT_EVENTS)``-th last on
        (all when there are fewer; ``count`` an int >= 0, else InvalidArgumentError), read as
        it reads them: what a runtime replays when nothing but itself would see the events
        (`TailRecorder`). Where they begin is found by reading the log backwards from its
        last ``seq`` (`Reader.tail_seq`: a few dozen lookups by ``seq``, then pages bounded by
        bytes as replay's), so the rows read are those events and the module's own events
        among them, not the whole log. Afterwards the recorder remembers the same recent
        events and follows other processes from the same ``seq`` as after `replay_events`.
        OversizedRowError as for `replay_events`, for a row among those read."""
        require_int("count", count, minimum=0)
        return self._events(replayed=True, tail=max(count, RECENT_EVENTS))

    def _events(self, replayed: bool, tail: int | None = None) -> Generator[Event, None, None]:
        """The published events of the log (the last ``tail`` or more of them, see
        `replay_event_tail`), a page at a time."""
        self.flush()
        after = 0 if tail is None else self._run(self._reader.tail_seq(tail)) - 1
        pages = self._reader.event_pages(after, replayed=replayed)
        recent: collections.deque[translate.LogEntry] = collections.deque(maxlen=RECENT_EVENTS)
        remember = recent.append
        count, last_seq = 0, after
        coming = self._loop.submit(_next(pages))
        try:
            while (page := self._settled(coming)) is not None:
                coming = self._loop.submit(_next(pages))
                for entry, event in page.published():
                    remember(entry)
                    count += 1
                    yield event
                last_seq = page.last_seq
                self._replay_progress(last_seq)
        finally:
            concurrent.futures.wait([coming])  # a generator cannot close while it reads
            if not self._closed:  # else close() cancelled the reads and stopped the loop
                self._loop.run(pages.aclose())
        with self._lock:
            for entry in recent:  # the stored canonical text: no event's JSON encoded again
                self._recent.remember(entry[2], translate.entry_fingerprint(entry))
            self._last_replayed_seq = max(self._last_replayed_seq, last_seq)
        log.info("events_read", count=count, first_seq=after + 1, last_seq=last_seq)

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        """Runs ``work`` on the loop and waits for it; errors as `_settled` raises them."""
        if self._closed:
            work.close()
            raise RecorderClosedError(self.settings.database)
        return self._settled(self._loop.submit(work))

    def _settled(self, future: concurrent.futures.Future[T]) -> T:
        """``future``'s result. Connection trouble the work did not handle itself (a read whose
        retries ran out raises PersistenceError already; a follower's catch-up does not retry)
        is raised as PersistenceError chained from the client's error, and as
        RecorderClosedError when `close` ran meanwhile (it cancels what is under way)."""
        try:
            return future.result()
        except concurrent.futures.CancelledError as error:
            if self._closed:
                raise RecorderClosedError(self.settings.database) from error
            raise
        except SpacetimeConnectionError as error:
            if self._closed:
                raise RecorderClosedError(self.settings.database) from error
            raise PersistenceError(
                f"the connection to {self.settings.database!r} failed: {error}"
            ) from error

    def _replay_progress(self, up_to_seq: int) -> None:
        log.info("replay_progress", events_scanned_up_to_seq=up_to_seq)

    def read_versions(self, timeline: str) -> list[tuple[VersionedState, list[Operation]]]:
        """The versions of ``timeline``, oldest first, each with its operations from the parent and
        its rebuilt state; IntegrityError when a hash does not match, ReservedNameError for a
        timeline reserved for the plugin."""
        self._refuse_reserved(timeline)
        self.flush()
        return self._run(self._reader.versions(timeline))

    def read_version_tail(self, timeline: str) -> VersionTail:
        """The versions of ``timeline`` from the nearest one holding a snapshot at or before
        its head, to the head (`Reader.version_tail`: at most about ``snapshot_interval``
        versions, read by primary key), each state rebuilt and hash-checked; ``earlier``
        reads the versions before them (the whole timeline: a query of its rows) when a
        TemporalStore first needs one. What a runtime restores its TemporalStore from.
        ReservedNameError for a timeline reserved for the plugin, IntegrityError as for
        `read_versions`."""
        self._refuse_reserved(timeline)
        self.flush()
        tail, complete = self._run(self._reader.version_tail(timeline))
        versions = [version for version, _ in tail]
        if complete:
            return VersionTail(versions, None)
        first = versions[0].version_id

        def earlier() -> list[VersionedState]:
            self._require_open(f"the versions of timeline {timeline!r} before {first!r}")
            rows = self._run(self._reader.versions_before(timeline, first))
            log.info("earlier_versions_read", timeline=timeline, count=len(rows))
            return [version for version, _ in rows]

        return VersionTail(versions, earlier)

    def read_state(self, version_id: str) -> JSON:
        """One version's state, rebuilt from its nearest snapshot (at most
        `snapshot_interval` versions back) and the operations since, hash-checked."""
        self.flush()
        return self._run(self._reader.state(version_id))

    def timeline_names(self) -> list[str]:
        """The names of every stored version timeline, sorted; the plugin's own (the anchors of
        projector streams, ``stream.<s>``) are left out."""
        names = self._run(self._reader.timeline_names())
        return [name for name in names if not streams.is_internal_timeline(name)]

    def stream_names(self) -> list[str]:
        """The names of every projector stream with stored deltas, sorted."""
        return self._run(self._reader.stream_names())

    def read_deltas(self, stream: str) -> list[tuple[int, DeltaMetadata, list[Operation]]]:
        """The deltas of ``stream`` in recording (``seq``) order: (index, metadata, operations);
        a delta whose operations do not apply at its place has none (see `read_delta_stream`)."""
        return self.read_delta_stream(stream).deltas

    def read_delta_stream(self, stream: str) -> DeltaStream:
        """``stream`` replayed from ``{}`` (a runtime's projector's initial state) in ``seq``
        order, whatever its delta ids' form; a delta whose operations do not apply there is
        skipped, with one ``delta_skipped`` warning (see `reader.deltas_from_rows`)."""
        return deltas_from_rows(stream, self._delta_rows(stream), dict(_STREAM_BASE_STATE))

    def read_recorded_deltas(self, stream: str) -> list[tuple[int, DeltaMetadata, list[Operation]]]:
        """The deltas of ``stream`` in ``seq`` order, decoded and not applied (see
        `reader.decode_deltas`), each to be applied once; hand the ones that did not apply to
        `report_noops`."""
        return self._decode_for_restore(stream, self._delta_rows(stream)).deltas

    def read_delta_checkpoint(self, stream: str) -> ProjectorCheckpoint | None:
        """The module's checkpoint of ``stream`` (``delta_checkpoint``, its state
        hash-checked), or None while it has none. IntegrityError when damaged."""
        self.flush()
        found = self._run(self._reader.delta_checkpoint(stream))
        return None if found is None else found.checkpoint

    def read_delta_tail(self, stream: str) -> DeltaTail:
        """What a runtime restores its projector from: the module's checkpoint of ``stream``
        (``delta_checkpoint``, refreshed every ``min(snapshot_interval, 64)`` deltas while its
        state fits the module's 256 KiB refresh budget: its state hash-checked, its keys in
        replay order) and the deltas after it, decoded and not applied (about that many,
        however long the stream; all after the checkpoint for a state past the budget);
        ``earlier`` reads the deltas the checkpoint results from (the stream's rows, in one
        query) when the projector first needs them. Without a checkpoint, every delta
        (`read_recorded_deltas`). Hand the ones that did not apply to `report_noops`.
        IntegrityError for a damaged checkpoint."""
        self.flush()
        found = self._run(self._reader.delta_checkpoint(stream))
        if found is None:
            return DeltaTail(self.read_recorded_deltas(stream), None, None)
        rows = self._delta_rows(stream, after_seq=found.seq)
        decoded = self._decode_for_restore(stream, rows, found.checkpoint.next_index)

        def earlier() -> list[tuple[int, DeltaMetadata, list[Operation]]]:
            self._require_open(f"the deltas of stream {stream!r} up to its checkpoint")
            rows = self._run(self._reader.delta_rows(stream))
            before = [row for row in rows if int(row.seq) <= found.seq]
            log.info("earlier_deltas_read", stream=stream, count=len(before))
            return decode_deltas(stream, before).deltas

        return DeltaTail(decoded.deltas, found.checkpoint, earlier)

    def _decode_for_restore(
        self, stream: str, rows: list[Any], first_index: int = 0
    ) -> DecodedDeltas:
        """``rows`` decoded (`reader.decode_deltas`) and kept for `report_noops`."""
        decoded = decode_deltas(stream, rows, first_index)
        with self._lock:
            self._decoded[stream] = decoded
        return decoded

    def _require_open(self, what: str) -> None:
        """PersistenceError when the recorder is closed: ``what`` can no longer be read."""
        if self._closed:
            raise PersistenceError(
                f"cannot read {what}: the recorder is closed (the runtime stopped before they "
                "were first needed); read them while it runs, or start a runtime again"
            )

    def report_noops(self, stream: str, noops: Sequence[NoOp]) -> None:
        """Warns once (``delta_skipped``, naming its ``delta_id`` and ``seq``) for each delta
        of the last `read_delta_tail` of ``stream`` that did not apply (``noops``) or
        could not be decoded."""
        with self._lock:
            decoded = self._decoded.pop(stream, None)
        if decoded is not None:
            decoded.skipped(noops)

    def _delta_rows(self, stream: str, after_seq: int = 0) -> list[Any]:
        """``stream``'s ``delta_record`` rows after ``after_seq`` in ``seq`` order (after a
        flush); the last ``seq`` (``after_seq`` when none) is where following its deltas
        begins."""
        self.flush()
        rows = self._run(self._reader.delta_rows(stream, after_seq))
        with self._lock:
            self._delta_seqs[stream] = int(rows[-1].seq) if rows else after_seq
        return rows

    # --- lifecycle ----------------------------------------------------------------------

    def follow(self, bus: EventBus) -> None:
        """Starts re-publishing other processes' new events into ``bus``: returns once the
        events written since replay are delivered and the later ones subscribed to (see
        `follower`). OversizedRowError when one stored event alone is over
        ``max_message_bytes``; a later one stops following and is raised by `flush`."""
        if self._follower is not None or not self.settings.follow_remote:
            return
        self._follower = Follower(bus, self._claim_remote)
        after = self._last_replayed_seq or self._run(self._follow_reader.last_seq())
        self._run(self._follower.start(self._connection, self._follow_reader, after))

    def follow_state(
        self, store: TemporalStore, timeline: str, projector: StateProjector, stream: str
    ) -> None:
        """Keeps ``store`` (recorded as ``timeline``) and ``projector`` (as ``stream``) up to
        date with what other processes record there, from what replay read on (with
        ``follow_remote``); a refused commit makes ``store`` catch up either way. Call once,
        after replay."""
        if self._state_follower is not None:
            return
        follower = StateFollower(
            store,
            timeline,
            projector,
            stream,
            claim_delta=lambda delta_id: delta_id.endswith(f".{self._writer_tag}"),
            read_versions_after=lambda version_id: self._run(
                self._reader.versions_after(timeline, version_id)
            ),
        )
        self._state_follower = follower
        if not self.settings.follow_remote:
            return
        head = store.get_current_version_id()
        row = None if head is None else self._run(self._reader.version_row(head))
        with self._lock:
            delta_seq = self._delta_seqs.get(stream)
        if delta_seq is None:
            rows = self._run(self._reader.delta_rows(stream))
            delta_seq = int(rows[-1].seq) if rows else 0
        version_seq = 0 if row is None else int(row.seq)
        self._run(follower.start(self._connection, self._follow_reader, version_seq, delta_seq))

    def _claim_remote(self, event_id: str) -> bool:
        """True for an event another process wrote; False for this one's own coming back.
        Called on the loop for every followed row, without ``_lock``: an id is added before
        its write is queued, so before its row can come back, and ``set.remove`` is atomic."""
        try:
            self._unseen_own.remove(event_id)
        except KeyError:
            return True
        return False

    def _forget_event(self, event_id: str) -> None:
        with self._lock:
            self._recent.forget(event_id)
            self._unseen_own.discard(event_id)

    def flush(self) -> None:
        """Waits until every queued write is stored; raises what failed since the last flush
        (PersistenceError), else, once, what stopped following other processes' changes
        (`RecorderHealth.follow_error`, e.g. an OversizedRowError); RecorderClosedError once
        the recorder is closed (or closing)."""
        if self._closed:
            raise RecorderClosedError(self.settings.database)
        self._flushed(last=False)

    def _flushed(self, *, last: bool) -> None:
        """`flush` without its check; with ``last`` (`close`), the writer takes nothing after
        it."""
        self._writer.barrier(last=last).result()
        with self._lock:
            failures, self._async_failures = self._async_failures, []
        if failures:
            raise PersistenceError(
                f"{len(failures)} queued write(s) failed, first: {failures[0]}"
            ) from failures[0]
        for error in self._follow_errors():
            if error not in self._follow_errors_raised:
                self._follow_errors_raised.append(error)
                raise error

    def _follow_errors(self) -> list[Exception]:
        """What stopped the followers (of events, of a store's state) for good."""
        followers = (self._follower, self._state_follower)
        return [f.error for f in followers if f is not None and f.error is not None]

    @property
    def identity(self) -> str:
        """The identity this recorder writes as, in hex: the ``Event.sender`` other processes
        (and a replay) see on the events this process publishes."""
        identity = self._connection.identity
        if identity is None:  # connected in __init__, so the server has named it
            raise PersistenceError("the connection has no identity yet")
        return identity.hex

    def health(self) -> RecorderHealth:
        """Connection state, writer counts and failures, without waiting for anything."""
        with self._lock:
            failures = len(self._async_failures)
        return RecorderHealth(
            connected=self._connection.is_connected,
            writer=self._writer.health(),
            async_failures=failures,
            remote_events_delivered=self._follower.delivered if self._follower else 0,
            remote_events_refused=self._follower.refused if self._follower else 0,
            log_rows_followed=self._follower.received if self._follower else 0,
            follow_error="; ".join(map(_described, self._follow_errors())) or None,
        )

    def close(self) -> None:
        """Flushes, stops following and disconnects (waiting `DISCONNECT_TIMEOUT` seconds at
        most for the server to end the connection: one that answers nothing is dropped, with a
        ``disconnect_timed_out`` warning). Raises what `flush` raises, after disconnecting all
        the same. A `close` that begins while another is under way (another thread) waits
        for it to end and raises RecorderClosedError if it raised (its error as
        ``__cause__``), so no caller returns before the recorder is closed; once closed,
        closing again does nothing. From when it begins, every call (from another thread)
        raises RecorderClosedError, and so does a call under way that fails: its write cut
        short, or failed while close flushed (the error's ``__cause__`` says which); a write
        under way when it begins is still flushed."""
        with self._closing:
            first, self._closed = not self._closed, True  # calls it cuts short say so
        if first:
            try:
                self._close()
            except BaseException as error:
                self._close_error = error
                raise
            finally:
                self._close_ended.set()
        elif not self._close_ended.is_set():
            self._close_ended.wait()
            if self._close_error is not None:
                raise RecorderClosedError(self.settings.database) from self._close_error

    def _close(self) -> None:
        """`close`'s work, done once: the last flush, then everything stopped."""
        try:
            self._flushed(last=True)
        finally:
            if self._direct is not None:
                self._direct.close()  # a publisher waiting on it falls back, and is told
            if self._follower is not None:
                self._follower.stop()
            if self._state_follower is not None:
                self._state_follower.stop()
            self._writer.stop()
            try:
                self._loop.run(self._connection.disconnect(), timeout=DISCONNECT_TIMEOUT)
            except TimeoutError:  # a server that answers nothing: stopping the loop drops it
                log.warning(
                    "disconnect_timed_out",
                    database=self.settings.database,
                    seconds=DISCONNECT_TIMEOUT,
                )
            self._loop.stop()
            if self._outbox is not None:
                self._outbox.close()
            log.info("inner_universe_closed", database=self.settings.database)


def _described(error: BaseException) -> str:
    """``error`` as ``"<type>: <message>"``."""
    return f"{type(error).__name__}: {error}"


def _event_write(payload: contract.EventInput, *, waited: bool) -> Write:
    """The write of one event, with a future when someone ``waited`` for it."""
    return Write.of_event(payload, concurrent.futures.Future() if waited else None)


async def _next(pages: AsyncIterator[EventPage]) -> EventPage | None:
    """The next page, or None after the last (a coroutine, for `LoopThread.run`)."""
    return await anext(pages, None)
