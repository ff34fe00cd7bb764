"""NERV values <-> the module's reducer arguments and rows. JSON travels as canonical text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nerv_inner_universe.client import Timestamp, Variant
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
from nerv_inner_universe.nerv import DeltaMetadata, Event
from nerv_inner_universe.plugin.errors import PersistenceError


def timestamp(seconds: float) -> Timestamp:
    return Timestamp.from_seconds(seconds)


def seconds(value: object) -> float:
    if not isinstance(value, Timestamp):
        raise PersistenceError(f"expected a Timestamp from the server, got {value!r}")
    return value.seconds


def event_input(event: Event) -> dict[str, object]:
    """The module's `EventInput` for ``event`` (raises the delta layer's error for non-JSON)."""
    return {
        "event_id": event.id,
        "event_type": event.type,
        "source": event.source,
        "occurred_at": timestamp(event.timestamp),
        "data": canonical_json(event.data),
        "metadata": canonical_json(dict(event.metadata)),
    }


def event_fingerprint(event: Event) -> tuple[object, ...]:
    """What makes two events with one id the same event (as the module compares them)."""
    return (
        event.type,
        event.source,
        timestamp(event.timestamp),
        canonical_json(event.data),
        canonical_json(dict(event.metadata)),
    )


def operation(op: Operation) -> Variant:
    """A delta-layer operation as the module's `DeltaOperation`."""
    match op:
        case Set(path=path, value=value):
            return Variant("Set", {"path": path, "value": canonical_json(value)})
        case Delete(path=path):
            return Variant("Delete", {"path": path})
        case Insert(path=path, value=value, index=index):
            return Variant("Insert", {"path": path, "index": index, "value": canonical_json(value)})
        case Remove(path=path, index=index):
            return Variant("Remove", {"path": path, "index": index})
        case Patch(path=path, patch=patch):
            return Variant("Patch", {"path": path, "patch": canonical_json(patch)})
    raise PersistenceError(f"unknown operation {op!r}")


def operations(ops: Sequence[Operation]) -> list[Variant]:
    return [operation(op) for op in ops]


def _field(row: Any, name: str) -> Any:
    if isinstance(row, Mapping):
        return row[name]
    return getattr(row, name)


def _json(text: object) -> JSON:
    if not isinstance(text, str):
        raise PersistenceError(f"expected canonical JSON text from the server, got {text!r}")
    return parse_json(text)


def operation_from_row(value: object) -> Operation:
    """The inverse of `operation`, from a decoded `DeltaOperation`."""
    if not isinstance(value, Variant):
        raise PersistenceError(f"expected a DeltaOperation variant, got {value!r}")
    body = value.value
    path = str(_field(body, "path"))
    match value.name:
        case "Set":
            return Set(path, _json(_field(body, "value")))
        case "Delete":
            return Delete(path)
        case "Insert":
            index = _field(body, "index")
            return Insert(path, _json(_field(body, "value")), None if index is None else int(index))
        case "Remove":
            return Remove(path, int(_field(body, "index")))
        case "Patch":
            patch = _json(_field(body, "patch"))
            if not isinstance(patch, dict):
                raise PersistenceError(f"a stored Patch at {path!r} is not an object")
            return Patch(path, patch)
    raise PersistenceError(f"unknown DeltaOperation variant {value.name!r}")


def event_from_row(row: Any) -> Event | None:
    """The published event in an `event_log` row; None for the module's own events."""
    data = _field(row, "data")
    if not isinstance(data, Variant) or data.name != "Custom":
        return None
    metadata = _json(_field(row, "metadata"))
    if not isinstance(metadata, dict):
        raise PersistenceError(f"event {_field(row, 'event_id')!r} has non-object metadata")
    return Event(
        id=str(_field(row, "event_id")),
        type=str(_field(row, "event_type")),
        data=_json(data.value),
        timestamp=seconds(_field(row, "occurred_at")),
        source=_field(row, "source"),
        metadata=metadata,
    )


def delta_metadata_input(metadata: DeltaMetadata) -> dict[str, object]:
    return {
        "description": metadata.description,
        "author": metadata.source,
        "tags": list(metadata.tags),
        "parent_delta_id": None,
    }


def delta_metadata_from_row(row: Any, index: int) -> DeltaMetadata:
    stored = _field(row, "metadata")
    return DeltaMetadata(
        description=str(_field(stored, "description")),
        source=_field(stored, "author"),
        tags=tuple(_field(stored, "tags")),
        timestamp=seconds(_field(row, "occurred_at")),
        index=index,
    )
