"""NERV values <-> the module's reducer arguments (`contract` types) and rows. JSON travels as
canonical text."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    Identity,
    Row,
    Timestamp,
    Variant,
    field,
    micros_from_seconds,
)
from nerv_inner_universe.delta import (
    JSON,
    Delete,
    Insert,
    Operation,
    Patch,
    Remove,
    Set,
    canonical_json,
    parse_canonical_json,
)
from nerv_inner_universe.nerv import DeltaMetadata, Event, VersionedState
from nerv_inner_universe.plugin.errors import PersistenceError, WriteRefusedError


def timestamp(seconds: float, what: str) -> Timestamp:
    """Epoch seconds as the server's Timestamp (rounded to whole microseconds). Raises
    WriteRefusedError naming ``what`` (``"event timestamp"``) outside the years 1 to 9999 UTC
    that the module accepts as an ``occurred_at``, ArgumentError (a ValueError) for NaN or
    infinity."""
    micros = micros_from_seconds(seconds)
    if not contract.MIN_OCCURRED_AT_MICROS <= micros <= contract.MAX_OCCURRED_AT_MICROS:
        raise WriteRefusedError(
            f"{what} {seconds!r} s since the Unix epoch is outside years 1 to 9999 UTC, the "
            "range the module accepts"
        )
    return Timestamp(micros)


def seconds(value: object) -> float:
    """A Timestamp read from the server as epoch seconds; PersistenceError for anything else."""
    if not isinstance(value, Timestamp):
        raise PersistenceError(f"expected a Timestamp from the server, got {value!r}")
    return value.seconds


def event_input(event: Event) -> contract.EventInput:
    """The module's `EventInput` for ``event``: the delta layer's InvalidValueError naming
    ``event data`` or ``event metadata`` for non-JSON (checked first), then `timestamp`'s
    errors."""
    data = canonical_json(event.data, "event data")
    metadata = canonical_json(event.metadata, "event metadata") if event.metadata else "{}"
    return contract.EventInput(
        event_id=event.id,
        event_type=event.type,
        source=event.source,
        occurred_at=timestamp(event.timestamp, "event timestamp"),
        data=data,
        metadata=metadata,
    )


def input_fingerprint(payload: contract.EventInput) -> tuple[object, ...]:
    """What makes two events with one id the same event (as the module compares them): type,
    source, microseconds, canonical data and metadata text of the event ``payload`` was made
    from (`event_input`)."""
    return (
        payload.event_type,
        payload.source,
        payload.occurred_at.micros_since_epoch,
        payload.data,
        payload.metadata,
    )


def operation(op: Operation) -> contract.DeltaOperation:
    """A delta-layer operation as the module's `DeltaOperation`."""
    match op:
        case Set(path=path, value=value):
            return contract.SetOperation(path, canonical_json(value))
        case Delete(path=path):
            return contract.DeleteOperation(path)
        case Insert(path=path, value=value, index=index):
            return contract.InsertOperation(path, index, canonical_json(value))
        case Remove(path=path, index=index):
            return contract.RemoveOperation(path, index)
        case Patch(path=path, patch=patch):
            return contract.PatchOperation(path, canonical_json(patch))
    raise PersistenceError(f"unknown operation {op!r}")


def operations(ops: Sequence[Operation]) -> list[contract.DeltaOperation]:
    """`operation` for each of ``ops``, in order."""
    return [operation(op) for op in ops]


def _json(text: object) -> JSON:
    """The value of JSON text the module stored (canonical: `parse_canonical_json`)."""
    if text == "{}":  # the usual metadata: nothing to parse
        return {}
    if not isinstance(text, str):
        raise PersistenceError(f"expected canonical JSON text from the server, got {text!r}")
    return parse_canonical_json(text)


def operation_from_row(value: object) -> Operation:
    """The inverse of `operation`, from a decoded `DeltaOperation`."""
    if not isinstance(value, Variant):
        raise PersistenceError(f"expected a DeltaOperation variant, got {value!r}")
    body = value.value
    path = str(field(body, "path"))
    match value.name:
        case contract.SetOperation.VARIANT:
            return Set(path, _json(field(body, "value")))
        case contract.DeleteOperation.VARIANT:
            return Delete(path)
        case contract.InsertOperation.VARIANT:
            index = field(body, "index")
            return Insert(path, _json(field(body, "value")), None if index is None else int(index))
        case contract.RemoveOperation.VARIANT:
            return Remove(path, int(field(body, "index")))
        case contract.PatchOperation.VARIANT:
            patch = _json(field(body, "patch"))
            if not isinstance(patch, dict):
                raise PersistenceError(f"a stored Patch at {path!r} is not an object")
            return Patch(path, patch)
    raise PersistenceError(f"unknown DeltaOperation variant {value.name!r}")


LOG_COLUMNS = (
    "seq",
    "event_id",
    "event_type",
    "source",
    "occurred_at",
    "sender",
    "data",
    "metadata",
)
"""The `event_log` columns replay reads, in `LogEntry` order."""
ROW_OVERHEAD = 200
"""Bytes a row's fixed-size columns and field names count for in a `LogEntry`'s size."""

LogEntry = tuple[Any, ...]
"""What replay keeps of one `event_log` row, all plain values (ints, str, None), so that a page of
them holds no objects the garbage collector has to track (tracked objects that outlive a
page would make it scan the whole heap every page or so): ``(seq, size, event_id, event_type,
source, occurred_at, sender, data, metadata)`` with ``size`` the bytes the row counts for in a
replay page (its text columns and `ROW_OVERHEAD`), ``occurred_at`` in microseconds since the
epoch, ``sender`` in hex, ``data`` the JSON text of a published event or None for a module
event, ``metadata`` its JSON text."""


@functools.lru_cache(maxsize=16)
def _picker(names: tuple[str, ...]) -> Callable[[tuple[object, ...]], tuple[Any, ...]]:
    """The `LOG_COLUMNS` of a row with fields ``names``, by position (KeyError without one)."""
    try:
        return operator.itemgetter(*map(names.index, LOG_COLUMNS))
    except ValueError as error:
        raise KeyError(str(error)) from None


def log_entry(row: Any) -> LogEntry:
    """The `LogEntry` of one decoded `event_log` row (a client `Row` is read by position, any
    other row by name with `field`). PersistenceError for a column of the wrong kind (another
    schema, a damaged row); KeyError / AttributeError for a missing one."""
    if type(row) is Row:
        return _entry(_picker(row.field_names)(row.as_tuple()))
    return _entry(tuple([field(row, name) for name in LOG_COLUMNS]))


def log_entry_reader(names: tuple[str, ...]) -> Callable[[tuple[object, ...]], LogEntry]:
    """What makes the `LogEntry` of an `event_log` row given as its column values in the order
    of ``names`` (`DbConnection.one_off_query`'s ``columns``): no row object is built. Raises
    what `log_entry` raises (KeyError here for a missing column)."""
    pick = _picker(names)

    def read(values: tuple[object, ...]) -> LogEntry:
        return _entry(pick(values))

    return read


def _entry(columns: tuple[Any, ...]) -> LogEntry:
    """The `LogEntry` of an `event_log` row's `LOG_COLUMNS` values, in that order (see
    `log_entry`)."""
    seq, event_id, event_type, source, occurred_at, sender, data, metadata = columns
    if not isinstance(occurred_at, Timestamp):
        raise PersistenceError(f"expected a Timestamp from the server, got {occurred_at!r}")
    custom = isinstance(data, Variant) and data.name == contract.CUSTOM_EVENT
    text = data.value if custom else None
    if custom and type(text) is not str:
        raise PersistenceError(f"expected canonical JSON text from the server, got {text!r}")
    size = ROW_OVERHEAD + len(event_id) + len(event_type) + len(metadata) + len(source or "")
    return (
        seq,
        size + (len(text) if text is not None else 0),
        event_id,
        event_type,
        source,
        occurred_at.micros_since_epoch,
        _sender_hex(sender),
        text,
        _EMPTY_OBJECT if metadata == _EMPTY_OBJECT else metadata,  # one str for the usual {}
    )


_EMPTY_OBJECT = "{}"
_last_sender: tuple[object, str] = (None, "")
"""The last writer `_sender_hex` spelled, and its hex (the client decodes each writer's Identity
once and hands out that object again, so rows of one writer share one hex str)."""


def _sender_hex(sender: object) -> str:
    global _last_sender  # noqa: PLW0603 - a one-slot cache; one tuple, replaced whole
    last = _last_sender
    if sender is last[0]:
        return last[1]
    text = identity_hex(sender)
    _last_sender = (sender, text)
    return text


def event_from_entry(entry: LogEntry, replayed: bool = False) -> Event | None:
    """The published event of a `LogEntry`, with its writer's identity (hex) as ``sender``, its
    ``seq`` as ``position`` and ``replayed`` as given; None for the module's own events.
    PersistenceError for JSON text that is not an object where one belongs; the delta layer's
    error for text that is not JSON; InvalidEventError when a value does not make an `Event`."""
    seq, _, event_id, event_type, source, micros, sender, data, metadata_text = entry
    if data is None:
        return None
    metadata = _json(metadata_text)
    if type(metadata) is not dict:
        raise PersistenceError(f"event {event_id!r} has non-object metadata")
    return Event.read_back(
        event_id,
        event_type,
        _json(data),
        micros / 1_000_000,
        source,
        metadata,
        sender,
        seq,
        replayed,
    )


def entry_fingerprint(entry: LogEntry) -> tuple[object, ...]:
    """`input_fingerprint` of the event a published `LogEntry` makes (`event_from_entry`), were
    it published again, from the row's own text (the module stores data and metadata as
    canonical JSON, which `canonical_json` writes byte for byte alike): no event is built and
    no JSON encoded again. Its microseconds are the event's float seconds' (which differ
    from the stored ones by a few beyond 2**53 µs, past the year 2255). Any stored time,
    also one outside the range the module accepts now (a row stored by an older module)."""
    _, _, _, event_type, source, micros, _, data, metadata = entry
    return (event_type, source, micros_from_seconds(micros / 1_000_000), data, metadata)


def event_from_row(row: Any) -> Event | None:
    """`event_from_entry` of one decoded `event_log` row (see `log_entry`)."""
    return event_from_entry(log_entry(row))


@attrs.frozen
class Tombstone:
    """A redaction as the log records it (see `contract.redaction`)."""

    kind: contract.RedactedKind
    target_id: str
    reason: str
    redacted_by: Identity
    content_hash: str


def tombstone_from_row(row: Any) -> Tombstone | None:
    """The tombstone in an `event_log` row; None for any other row."""
    data = field(row, "data")
    if not isinstance(data, Variant) or data.name != contract.REDACTED_EVENT:
        return None
    body = data.value
    kind = field(body, "kind")
    redacted_by = field(body, "redacted_by")
    if not isinstance(kind, Variant) or not isinstance(redacted_by, Identity):
        raise PersistenceError(f"event {field(row, 'event_id')!r} holds a malformed tombstone")
    return Tombstone(
        kind=contract.RedactedKind(kind.name),
        target_id=str(field(body, "target_id")),
        reason=str(field(body, "reason")),
        redacted_by=redacted_by,
        content_hash=str(field(body, "content_hash")),
    )


def identity_hex(value: object) -> str:
    """An `Identity` column as 64 hex digits; `PersistenceError` for anything else."""
    if not isinstance(value, Identity):
        raise PersistenceError(f"expected an Identity from the server, got {value!r}")
    return value.hex


def delta_metadata_input(metadata: DeltaMetadata) -> contract.DeltaMetadata:
    """The module's `DeltaMetadata` for a projector delta (``source`` becomes ``author``)."""
    return contract.DeltaMetadata(
        description=metadata.description,
        author=metadata.source,
        tags=tuple(metadata.tags),
    )


def delta_metadata_from_row(row: Any, index: int) -> DeltaMetadata:
    """A `delta_record` row's metadata as the projector's DeltaMetadata of delta ``index``."""
    stored = field(row, "metadata")
    return DeltaMetadata(
        description=str(field(stored, "description")),
        source=field(stored, "author"),
        tags=tuple(field(stored, "tags")),
        timestamp=seconds(field(row, "occurred_at")),
        index=index,
    )


def version_from_row(row: Any, data: JSON) -> VersionedState:
    """A ``state_version`` row's header as a VersionedState holding ``data`` (its state, which
    the row alone holds only when it carries a snapshot)."""
    return VersionedState(
        version_id=str(field(row, "version_id")),
        data=data,
        parent_version_id=field(row, "parent_version_id"),
        timestamp=seconds(field(row, "occurred_at")),
        change_description=str(field(row, "description")),
        data_hash=str(field(row, "data_hash")),
    )


def version_snapshot(row: Any) -> tuple[bool, JSON]:
    """Whether a ``state_version`` row carries its whole state, and that state (None if not)."""
    snapshot = field(row, "snapshot")
    return (False, None) if snapshot is None else (True, _json(snapshot))
