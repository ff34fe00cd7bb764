"""NERV's `Entity`/`Relation` <-> the module's metadata arguments and rows, and the module's
graph events (`event_log` rows) as NERV events. Properties travel as canonical JSON text."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from nerv_inner_universe import contract
from nerv_inner_universe.client import Identity, Variant, field
from nerv_inner_universe.delta import JSON, canonical_json, parse_json
from nerv_inner_universe.nerv import Event
from nerv_inner_universe.nerv.graph import Entity, Relation
from nerv_inner_universe.nerv.graph_events import (
    ENTITY_CREATED,
    ENTITY_DELETED,
    ENTITY_UPDATED,
    RELATION_CREATED,
    RELATION_DELETED,
    RELATION_UPDATED,
    entity_data,
    relation_data,
)
from nerv_inner_universe.plugin.errors import PersistenceError
from nerv_inner_universe.plugin.translate import identity_hex, seconds


def entity_metadata_input(entity: Entity) -> contract.EntityMetadata:
    """The module's `EntityMetadata` for ``entity``."""
    return contract.EntityMetadata(
        name=entity.name,
        description=entity.description,
        tags=entity.tags,
        properties=canonical_json(entity.properties),
    )


def f32(value: float) -> float:
    """``value`` rounded to the nearest 32-bit float, as the module stores a strength (so what
    is sent compares equal to what is read back)."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def relation_metadata_input(relation: Relation) -> contract.RelationMetadata:
    """The module's `RelationMetadata` for ``relation``."""
    return contract.RelationMetadata(
        description=relation.description,
        strength=f32(relation.strength),
        bidirectional=relation.bidirectional,
        tags=relation.tags,
        properties=canonical_json(relation.properties),
    )


def _properties(metadata: Any, what: str) -> dict[str, JSON]:
    text = field(metadata, "properties")
    parsed = parse_json(text) if isinstance(text, str) else None
    if not isinstance(parsed, dict):
        raise PersistenceError(f"{what} has properties that are no JSON object text: {text!r}")
    return parsed


def _owner(row: Mapping[str, Any]) -> str | None:
    owner = row.get("owner")
    return owner.hex if isinstance(owner, Identity) else None


def _stamp(row: Mapping[str, Any], name: str) -> float | None:
    return seconds(row[name]) if name in row else None


def entity_from_row(row: Mapping[str, Any]) -> Entity:
    """An `entity` row (or an `EntityCreated` payload: no timestamps, no owner) as an
    `Entity`; PersistenceError when its properties are not a JSON object."""
    entity_id = str(row["id"] if "id" in row else row["entity_id"])
    metadata = field(row, "metadata")
    return Entity(
        id=entity_id,
        entity_type=str(field(row, "entity_type")),
        name=field(metadata, "name"),
        description=field(metadata, "description"),
        tags=tuple(field(metadata, "tags")),
        properties=_properties(metadata, f"entity {entity_id!r}"),
        created_at=_stamp(row, "created_at"),
        updated_at=_stamp(row, "updated_at"),
        owner=_owner(row),
    )


def relation_from_row(row: Mapping[str, Any]) -> Relation:
    """A `relation` row (or a `RelationCreated` payload) as a `Relation`, as
    `entity_from_row`."""
    relation_id = str(row["id"] if "id" in row else row["relation_id"])
    metadata = field(row, "metadata")
    return Relation(
        id=relation_id,
        from_entity=str(field(row, "from_entity")),
        to_entity=str(field(row, "to_entity")),
        relation_type=str(field(row, "relation_type")),
        description=field(metadata, "description"),
        strength=float(field(metadata, "strength")),
        bidirectional=bool(field(metadata, "bidirectional")),
        tags=tuple(field(metadata, "tags")),
        properties=_properties(metadata, f"relation {relation_id!r}"),
        created_at=_stamp(row, "created_at"),
        updated_at=_stamp(row, "updated_at"),
        owner=_owner(row),
    )


_VARIANT_TYPES = {
    "EntityCreated": ENTITY_CREATED,
    "EntityUpdated": ENTITY_UPDATED,
    "EntityDeleted": ENTITY_DELETED,
    "RelationCreated": RELATION_CREATED,
    "RelationUpdated": RELATION_UPDATED,
    "RelationDeleted": RELATION_DELETED,
}
"""The module's `EventData` variants of graph changes -> their event types."""


def _graph_data(event_type: str, body: Mapping[str, Any]) -> dict[str, JSON]:
    if event_type == ENTITY_CREATED:
        return entity_data(entity_from_row(body))
    if event_type == RELATION_CREATED:
        return relation_data(relation_from_row(body))
    return {name: _plain(value) for name, value in body.items()}


def _plain(value: object) -> JSON:
    """A payload field (str or a list of str) as JSON."""
    if isinstance(value, tuple | list):
        return [str(item) for item in value]
    return str(value)


def graph_event_from_row(row: Any) -> Event | None:
    """The module's graph event in an `event_log` row as a recorded NERV event (``replayed``,
    so it is not recorded again): id ``sys:<seq>``, the module's event type, ``source`` the
    entity or relation id, ``timestamp`` the commit time, ``sender`` the writer's identity
    (hex), ``position`` the row's ``seq``. Data: ``ENTITY_CREATED`` and
    ``RELATION_CREATED`` as `entity_data`/`relation_data`; ``*_UPDATED``
    ``{"entity_id"|"relation_id", "changed_fields": [str]}``; ``ENTITY_DELETED``
    ``{"entity_id", "entity_type"}``; ``RELATION_DELETED`` ``{"relation_id", "from_entity",
    "to_entity", "relation_type"}``. None for any other row."""
    data = field(row, "data")
    if not isinstance(data, Variant):
        return None
    event_type = _VARIANT_TYPES.get(data.name)
    if event_type is None or not isinstance(data.value, Mapping):
        return None
    metadata = parse_json(str(field(row, "metadata")))
    return Event(
        id=str(field(row, "event_id")),
        type=event_type,
        data=_graph_data(event_type, data.value),
        timestamp=seconds(field(row, "timestamp")),
        source=field(row, "source"),
        metadata=metadata if isinstance(metadata, dict) else {},
        replayed=True,
        sender=identity_hex(field(row, "sender")),
        position=int(field(row, "seq")),
    )
