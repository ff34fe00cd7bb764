"""The module's tables (`spacetime/module/src/tables/`, one per file) and the names of the
variants clients read from them or send to `import_rows`."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from nerv_inner_universe.client import Variant


class Table(enum.StrEnum):
    """Every table of the module; the value is the name SQL and subscriptions use."""

    ENTITY = "entity"
    RELATION = "relation"
    STATE_VERSION = "state_version"
    TIMELINE = "timeline"
    """The head of each version timeline and how many versions passed since its last snapshot."""
    EVENT_LOG = "event_log"
    """Every change, in one total order numbered by the gap-free ``seq``."""
    LOG_PAGE = "log_page"
    """The page (``seq // LOG_PAGE_ROWS``) of every ``event_log`` row, written with the row:
    replay reads the log a page at a time by index (`plugin.reader`). Rows stored by a module
    from before this table have none."""
    DELTA_RECORD = "delta_record"
    DELTA_CHECKPOINT = "delta_checkpoint"
    """The projected state of each delta stream after its deltas up to a ``seq``, computed by
    the module every ``min(snapshot_interval, 64)`` recorded deltas within a byte budget
    (`rules/src/checkpoints.rs`): a projector restores at its head from it and the deltas
    after it. A stream has a row once a refresh applied one of its deltas."""
    DELTA_REFRESH_COUNTER = "delta_refresh_counter"
    """Private: the deltas recorded on each stream since its checkpoint's last refresh, the one
    value every ``record_delta`` changes (kept out of ``delta_checkpoint``'s row)."""
    CONFIG = "config"
    CLIENT_CONNECTION = "client_connection"
    """The connections open now: rows come and go without a log entry."""
    ADMIN = "admin"
    """Private: identities allowed to change admin-only config and any row."""
    LOG_SEQUENCE = "log_sequence"
    """Private: the next ``event_log.seq``; it moves with every change that writes a log row."""
    CHANGE_COUNTER = "change_counter"
    """Private: the calls of reducers that change the tables an import restores without a log
    row (``es_insert_events``, roles and stream grants, ``import_rows``). With
    ``log_sequence`` unchanged too, none of those tables changed; a stop's
    ``durability_marker`` and ``write_fence`` and ``client_connection`` are not counted."""
    IMPORT_STATE = "import_state"
    """Private: present while an `import_rows` import is open."""
    IMPORT_PROGRESS = "import_progress"
    """Private: when the open import's last batch committed (see
    `IMPORT_STALLED_AFTER_SECONDS`)."""
    DURABILITY_MARKER = "durability_marker"
    """Private: the marker the last `checkpoint` wrote (see `controller.durability`)."""
    ES_STORE = "es_store"
    """The last notification id of each `eventsourcing` store."""
    ES_STORED_EVENT = "es_stored_event"
    """Stored events of `eventsourcing` applications (`eventsourcing_module`)."""
    ES_TRACKING = "es_tracking"
    """The last notification id each downstream `eventsourcing` application processed."""
    STREAM_DELEGATE = "stream_delegate"
    """Who may append to whose timelines and delta streams (`grant_stream_access`)."""
    STREAM_OWNER = "stream_owner"
    """The owner of each timeline (``timeline:<name>``), delta stream (``deltas:<stream>``) and
    `eventsourcing` store (``es:<store>``); moved or cleared by an admin (`set_stream_owner`)."""
    WRITER = "writer"
    """Private: identities with the writer role (`grant_role`)."""
    WRITE_USAGE = "write_usage"
    """Private: what each identity wrote in its current write budget window."""
    WRITE_FENCE = "write_fence"
    """Private: present while a stop's `checkpoint` has closed the database for writes."""


IMPORT_STALLED_AFTER_SECONDS = 30
"""How long an open import may go without a batch and still count as under way: meanwhile
every other write is refused with ``unavailable`` (send it again once the import has
finished), after that with ``import_open`` (the import was refused or cut short, and the
database stays half-imported). Mirrors the module's ``STALLED_AFTER_MICROS``."""
LOG_PAGE_ROWS = 16_384
"""How many ``seq`` values one ``log_page`` page spans (`tables/log_page.rs` ``PAGE_ROWS``): page
``p`` holds ``p * LOG_PAGE_ROWS <= seq < (p + 1) * LOG_PAGE_ROWS``."""

CUSTOM_EVENT = "Custom"
"""The `EventData` variant of an event a client published (its data is JSON text); every
other variant is one of the module's own events (``ENTITY_CREATED``...)."""

MODULE_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "ENTITY_CREATED",
        "ENTITY_UPDATED",
        "ENTITY_DELETED",
        "RELATION_CREATED",
        "RELATION_UPDATED",
        "RELATION_DELETED",
        "STATE_VERSION_COMMITTED",
        "DELTA_RECORDED",
        "CLIENT_CONNECTED",
        "CLIENT_DISCONNECTED",
        "SYSTEM_INITIALIZED",
        "CONFIG_UPDATED",
        "EVENT_REDACTED",
        "VERSION_REDACTED",
        "DELTA_REDACTED",
        "CONFIG_KEY_REMOVED",
    }
)
"""The event types of the module's own events (`rules/src/namespaces.rs`): a client event
with one of them is refused (``invalid_argument``), so none can pass for the module's."""

IMPORTED_TABLES: dict[Table, str] = {
    Table.CONFIG: "Config",
    Table.ADMIN: "Admin",
    Table.ENTITY: "Entity",
    Table.RELATION: "Relation",
    Table.STATE_VERSION: "StateVersion",
    Table.TIMELINE: "Timeline",
    Table.DELTA_RECORD: "DeltaRecord",
    Table.EVENT_LOG: "EventLog",
    Table.WRITER: "Writer",
    Table.STREAM_OWNER: "StreamOwner",
    Table.STREAM_DELEGATE: "StreamDelegate",
    Table.ES_STORE: "EsStore",
    Table.ES_STORED_EVENT: "EsStoredEvent",
    Table.ES_TRACKING: "EsTracking",
}
"""Table -> its `ImportBatch` variant: the tables `import_rows` restores row by row. The
`eventsourcing` stores (``es_*``) keep every value but ``row_id`` (renumbered by the table's
sequence); an imported store's events must keep the rules `es_insert_events` keeps (one event
per position, notification ids 1, 2, 3... up to the store's head, one tracking row per
application), or the import is refused (``integrity_error``, ``already_exists``)."""
NOT_IMPORTED = frozenset(
    {
        Table.CHANGE_COUNTER,
        Table.CLIENT_CONNECTION,
        Table.DELTA_CHECKPOINT,
        Table.DELTA_REFRESH_COUNTER,
        Table.DURABILITY_MARKER,
        Table.IMPORT_PROGRESS,
        Table.IMPORT_STATE,
        Table.LOG_PAGE,
        Table.LOG_SEQUENCE,
        Table.WRITE_USAGE,
        Table.WRITE_FENCE,
    }
)
"""Live connections and bookkeeping: `import_rows` rebuilds these itself (``Finish`` sets the
log sequence, each imported ``event_log`` row gets its ``log_page`` row); a delta checkpoint
and its refresh counter start afresh and catch up as the stream's next deltas are recorded;
write budget windows and the change counter start afresh; a stop's durability marker and
write fence belong to the server they were written on."""


def import_begin() -> Variant:
    """`ImportBatch::Begin`: opens an import; refused unless the database is fresh."""
    return Variant("Begin")


def import_batch(table: Table, rows: Sequence[object]) -> Variant:
    """The `ImportBatch` variant carrying ``rows`` of ``table`` (one of `IMPORTED_TABLES`,
    rows decoded with the table's row type). Raises KeyError for a table not imported."""
    return Variant(IMPORTED_TABLES[table], list(rows))


def import_finish(next_seq: int) -> Variant:
    """`ImportBatch::Finish`: checks every reference, the gap-free log and that each
    `eventsourcing` store's head counts its events (``integrity_error``), sets the next
    ``seq`` (the exported ``log_sequence.next_seq``) and closes the import."""
    return Variant("Finish", next_seq)
