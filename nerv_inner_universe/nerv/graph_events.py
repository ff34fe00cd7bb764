"""Graph changes on the EventBus: the event types, their data shapes, and the middleware that
turns a published graph event into a `GraphStore` write.

Publishing one of `GRAPH_EVENT_TYPES` with a runtime that has a graph store is a *request*:
the middleware performs it through the store and drops the published event. What the backend
then stores comes back on every connected runtime's bus (this one's included) as the
backend's own event of that type, the *confirmation*, once per change, in log order. So a
change is seen once, whoever made it and however (store call, published request, another
process). Request shapes (``metadata`` and every field in it may be left out)::

    ENTITY_CREATED    {"entity_id"?: str, "entity_type": str,
                       "metadata"?: {"name"?: str, "description"?: str, "tags"?: [str],
                                     "properties"?: {str: JSON}}}
    ENTITY_UPDATED    the same, "entity_id" required: replaces type and metadata
    ENTITY_DELETED    {"entity_id": str}
    RELATION_CREATED  {"relation_id"?: str, "from_entity": str, "to_entity": str,
                       "relation_type": str,
                       "metadata"?: {"description"?: str, "strength"?: number 0..1,
                                     "bidirectional"?: bool, "tags"?: [str],
                                     "properties"?: {str: JSON}}}
    RELATION_UPDATED  the same, "relation_id" required (endpoints must be the stored ones)
    RELATION_DELETED  {"relation_id": str}

A missing id on a create is a fresh uuid4. A malformed request raises
`InvalidGraphArgumentError` from ``publish`` (nothing is written). The bus's guards are asked
before the write, as for any event: a guard that raises vetoes the request (nothing is written;
the guard's error reaches the publisher). A refused write raises or is reported as the store's
mode says (see `GraphStore`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from nerv_inner_universe.delta import JSON
from nerv_inner_universe.nerv.errors import InvalidGraphArgumentError
from nerv_inner_universe.nerv.events import Event, Middleware
from nerv_inner_universe.nerv.graph import Entity, GraphStore, Relation
from nerv_inner_universe.shown import shown

ENTITY_CREATED = "ENTITY_CREATED"
ENTITY_UPDATED = "ENTITY_UPDATED"
ENTITY_DELETED = "ENTITY_DELETED"
RELATION_CREATED = "RELATION_CREATED"
RELATION_UPDATED = "RELATION_UPDATED"
RELATION_DELETED = "RELATION_DELETED"

GRAPH_EVENT_TYPES = frozenset(
    {
        ENTITY_CREATED,
        ENTITY_UPDATED,
        ENTITY_DELETED,
        RELATION_CREATED,
        RELATION_UPDATED,
        RELATION_DELETED,
    }
)
"""The event types of graph changes (the module's names for them)."""

_ENTITY_METADATA = ("name", "description", "tags", "properties")
_RELATION_METADATA = ("description", "strength", "bidirectional", "tags", "properties")


def entity_metadata(entity: Entity) -> dict[str, JSON]:
    """``entity``'s metadata in the shape of the events' ``"metadata"``."""
    return {
        "name": entity.name,
        "description": entity.description,
        "tags": list(entity.tags),
        "properties": dict(entity.properties),
    }


def relation_metadata(relation: Relation) -> dict[str, JSON]:
    """``relation``'s metadata in the shape of the events' ``"metadata"``."""
    return {
        "description": relation.description,
        "strength": relation.strength,
        "bidirectional": relation.bidirectional,
        "tags": list(relation.tags),
        "properties": dict(relation.properties),
    }


def entity_data(entity: Entity) -> dict[str, JSON]:
    """The ``ENTITY_CREATED`` data for ``entity`` (request and confirmation alike)."""
    return {
        "entity_id": entity.id,
        "entity_type": entity.entity_type,
        "metadata": entity_metadata(entity),
    }


def relation_data(relation: Relation) -> dict[str, JSON]:
    """The ``RELATION_CREATED`` data for ``relation`` (request and confirmation alike)."""
    return {
        "relation_id": relation.id,
        "from_entity": relation.from_entity,
        "to_entity": relation.to_entity,
        "relation_type": relation.relation_type,
        "metadata": relation_metadata(relation),
    }


@attrs.frozen
class GraphRequest:
    """What a published graph event asks for: ``event_type`` with the entity or relation it
    carries, or the id it deletes."""

    event_type: str
    entity: Entity | None = None
    relation: Relation | None = None
    deleted_id: str | None = None

    def apply(self, store: GraphStore) -> None:
        """Performs the request through ``store`` (raising what the store raises)."""
        if self.entity is not None:
            if self.event_type == ENTITY_CREATED:
                store.create_entity(self.entity)
            else:
                store.update_entity(self.entity)
        elif self.relation is not None:
            if self.event_type == RELATION_CREATED:
                store.create_relation(self.relation)
            else:
                store.update_relation(self.relation)
        elif self.event_type == ENTITY_DELETED:
            assert self.deleted_id is not None  # graph_request sets one for every delete
            store.delete_entity(self.deleted_id)
        else:
            assert self.deleted_id is not None
            store.delete_relation(self.deleted_id)


def _fields(
    where: str, data: object, allowed: tuple[str, ...], required: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidGraphArgumentError(f"{where} must be a dict, not {shown(data)}")
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise InvalidGraphArgumentError(
            f"{where} has unknown field(s) {unknown}; the fields are {list(allowed)}"
        )
    missing = [name for name in required if name not in data]
    if missing:
        raise InvalidGraphArgumentError(f"{where} lacks {missing}")
    return dict(data)


def _metadata(kind: str, data: Mapping[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    metadata = data.get("metadata")
    if metadata is None:
        return {}
    return _fields(f"{kind} data metadata", metadata, allowed, ())


def _item(
    kind: str, data: object, id_key: str, names: tuple[str, ...], metadata: tuple[str, ...]
) -> dict[str, Any]:
    """The `Entity`/`Relation` fields of a create or update request (a create may leave the id
    out: a fresh one)."""
    creating = kind in (ENTITY_CREATED, RELATION_CREATED)
    given = _fields(
        f"{kind} data", data, (id_key, *names, "metadata"), names if creating else (id_key, *names)
    )
    fields = {name: given[name] for name in names}
    if id_key in given:
        fields["id"] = given[id_key]
    return fields | _metadata(kind, given, metadata)


def graph_request(event: Event) -> GraphRequest | None:
    """The request a published ``event`` makes; None when it is no graph event. A malformed
    one (a non-JSON property included) raises `InvalidGraphArgumentError`."""
    kind = event.type
    if kind not in GRAPH_EVENT_TYPES:
        return None
    if kind in (ENTITY_DELETED, RELATION_DELETED):
        key = "entity_id" if kind == ENTITY_DELETED else "relation_id"
        target = _fields(f"{kind} data", event.data, (key,), (key,))[key]
        if not isinstance(target, str) or not target:
            raise InvalidGraphArgumentError(
                f"{kind} data {key} must be a non-empty str, not {shown(target)}"
            )
        return GraphRequest(kind, deleted_id=target)
    if kind in (ENTITY_CREATED, ENTITY_UPDATED):
        fields = _item(kind, event.data, "entity_id", ("entity_type",), _ENTITY_METADATA)
        return GraphRequest(kind, entity=Entity(**fields))
    ends = ("from_entity", "to_entity", "relation_type")
    fields = _item(kind, event.data, "relation_id", ends, _RELATION_METADATA)
    return GraphRequest(kind, relation=Relation(**fields))


def graph_middleware(store: GraphStore, check_guards: Callable[[Event], object]) -> Middleware:
    """EventBus middleware that performs published graph events through ``store`` and drops
    them (the backend's confirmation takes their place); other events pass unchanged.

    ``check_guards(event)`` (the bus's `EventBus.check_guards`) is asked first: a guard that
    raises vetoes the request, nothing is written, and the error reaches the publisher."""

    def route(event: Event) -> Event | None:
        request = graph_request(event)
        if request is None:
            return event
        check_guards(event)
        request.apply(store)
        return None

    return route
