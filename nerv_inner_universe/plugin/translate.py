"""NERV values <-> the module's reducer arguments (`contract` types) and rows. JSON travels as
canonical text."""

from __future__ import annotations

import operator
from collections.abc import Sequence
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
    parse_json,
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
    """The module's `EventInput` for ``event`` (raises the delta layer's error for non-JSON)."""
    return contract.EventInput(
        event_id=event.id,
        event_type=event.type,
        source=event.source,
        occurred_at=timestamp(event.timestamp, "event timestamp"),
        data=canonical_json(event.data),
        metadata=canonical_json(dict(event.metadata)),
    )


def event_fingerprint(event: Event) -> tuple[object, ...]:
    """What makes two events with one id the same event (as the module compares them). Any
    finite timestamp, also one outside the range the module accepts now (a row stored by an
    older module): ArgumentError (a ValueError) only for NaN or infinity."""
    return (
        event.type,
        event.source,
        micros_from_seconds(event.timestamp),
        canonical_json(event.data),
        canonical_json(dict(event.metadata)),
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
    if text == "{}":  # the usual metadata: nothing to parse
        return {}
    if not isinstance(text, str):
        raise PersistenceError(f"expected canonical JSON text from the server, got {text!r}")
    return parse_json(text)


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
"""The `event_log` columns an event is read from, in the order `log_columns` gives them."""
LogColumns = tuple[Any, ...]
"""One `event_log` row's `LOG_COLUMNS` values, as decoded by the client."""
ROW_OVERHEAD = 200
"""Bytes a row's fixed-size columns and field names count for in `log_row_size`."""


def log_columns(rows: Sequence[Any]) -> list[LogColumns]:
    """The `LOG_COLUMNS` of each of ``rows`` (decoded `event_log` rows), in order. Rows that are
    client `Row`s of one shape (what a query answer holds) are read by position, in one C call
    per row; any other row by name (`field`). KeyError / AttributeError for a row without such
    a column."""
    if rows and type(rows[0]) is Row:
        names = rows[0].field_names
        if all(type(row) is Row and row.field_names is names for row in rows):
            pick = operator.itemgetter(*map(names.index, LOG_COLUMNS))
            return [pick(row.as_tuple()) for row in rows]
    return [tuple([field(row, name) for name in LOG_COLUMNS]) for row in rows]


def log_row_size(columns: LogColumns) -> int:
    """The bytes an `event_log` row counts for in a replay page: its text columns (ids, type,
    source, JSON data and metadata) and `ROW_OVERHEAD`."""
    _, event_id, event_type, source, _, _, data, metadata = columns
    value = data.value if isinstance(data, Variant) else None
    text = len(event_id) + len(event_type) + len(metadata) + len(source or "")
    return ROW_OVERHEAD + text + (len(value) if isinstance(value, str) else 0)


def event_from_columns(columns: LogColumns, replayed: bool = False) -> Event | None:
    """The published event in an `event_log` row's `LOG_COLUMNS`, with its writer's identity
    (hex) as ``sender``, its ``seq`` as ``position`` and ``replayed`` as given; None for the
    module's own events.
    PersistenceError for columns of the wrong kind (another schema, a damaged row);
    InvalidEventError when a value does not make an `Event`."""
    seq, event_id, event_type, source, occurred_at, sender, data, metadata_text = columns
    if not isinstance(data, Variant) or data.name != contract.CUSTOM_EVENT:
        return None
    metadata = _json(metadata_text)
    if not isinstance(metadata, dict):
        raise PersistenceError(f"event {event_id!r} has non-object metadata")
    return Event(
        id=str(event_id),
        type=str(event_type),
        data=_json(data.value),
        timestamp=seconds(occurred_at),
        source=source,
        metadata=metadata,
        sender=identity_hex(sender),
        position=int(seq),
        replayed=replayed,
    )


def event_from_row(row: Any) -> Event | None:
    """`event_from_columns` of one decoded `event_log` row (see `log_columns`)."""
    return event_from_columns(log_columns([row])[0])


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
