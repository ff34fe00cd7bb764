"""Errors of the Inner Universe persistence backend (NERV's own errors are reused where the
Recorder contract names them: RecordConflictError, ConcurrencyConflictError,
UnknownVersionError)."""

from __future__ import annotations

from nerv_inner_universe.nerv.errors import NervError


class PersistenceError(NervError):
    """A write to Inner Universe failed for good, or the backend is unusable."""


class WriteRefusedError(PersistenceError):
    """The module refused a write (invalid input, no permission); retrying cannot help."""


class IntegrityError(PersistenceError):
    """Replayed data does not match its stored hash: the named version cannot be trusted."""


class SnapshotRequiredError(WriteRefusedError):
    """The module refused a version without a snapshot (``snapshot_required``): another
    writer or a config change moved the snapshot schedule. Sending the snapshot succeeds."""


class ReservedNameError(PersistenceError, ValueError):
    """A timeline name is reserved for the plugin's own bookkeeping (``stream.<s>``, where
    projector stream ``s`` is anchored); pick another name."""


class RateLimitedError(WriteRefusedError):
    """The module refused a write because the writing identity used up its write budget
    (``rate_limited``; the admin sets ``write_budget_*``). Nothing was written. The same write
    succeeds after ``resets_at`` (epoch seconds, server clock; None if the message lacked it).

    The writer does not wait and retry by itself: a window may last up to a day, and an ordered
    writer that waited would hold back every later write; whoever holds the write decides."""

    def __init__(self, message: str, resets_at: float | None) -> None:
        super().__init__(message)
        self.resets_at = resets_at


class OversizedRowError(PersistenceError):
    """One stored row (of `event_log`, `delta_record` or `state_version`: ``table``) is larger
    than the connection's message limit on its own, so replay cannot read it; ``seq`` names the
    row. Connect with a larger ``max_message_bytes``: neither replay nor a follower can read
    past it."""

    def __init__(self, table: str, seq: int, limit: int | None) -> None:
        super().__init__(
            f"{table} row seq={seq} alone is larger than the client's message limit of {limit} "
            "bytes (max_message_bytes): it cannot be read with this limit (replay and following "
            "stop there); raise max_message_bytes above its size"
        )
        self.table = table
        self.seq = seq
        self.limit = limit


class OversizedWriteError(WriteRefusedError):
    """A write (``what``: an event, version or delta) too large for the connection's message
    limit: the answer to it echoes it, and to a following connection its rows too, so its
    ``size`` (bytes of text, about: `writer.write_bytes`) may be at most ``budget``
    (`writer.write_budget` of ``max_message_bytes``); ``needed`` is the ``max_message_bytes``
    that would take it. Refused before anything was sent: nothing changed. Raise
    ``max_message_bytes``, or write less at once."""

    def __init__(self, what: str, size: int, budget: int, needed: int) -> None:
        super().__init__(
            f"{what} is about {size} bytes, over the {budget} bytes a write may carry: the "
            "answer to it echoes it (and to a following connection its rows too), and must fit "
            "the client's message limit (max_message_bytes); nothing was written: raise "
            f"max_message_bytes to at least {needed}, or write less at once"
        )
        self.what = what
        self.size = size
        self.budget = budget
        self.needed = needed


class RecorderClosedError(PersistenceError):
    """The recorder of ``database`` was closed (`InnerUniverseRecorder.close`, perhaps from
    another thread while this call was under way): nothing more is read or written through it.
    Start a new recorder (or runtime) to go on."""

    def __init__(self, database: str) -> None:
        super().__init__(
            f"the recorder of database {database!r} is closed (close() ran before or during this "
            "call): nothing more is read or written through it; start a new one to go on"
        )
        self.database = database
