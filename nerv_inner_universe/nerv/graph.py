"""Entities and relations: the typed graph NERV code reads and writes, and its local view.

`Entity` and `Relation` carry the Inner Universe metadata (``EntityMetadata`` and
``RelationMetadata`` of the upstream notes) as plain fields; ``properties`` are JSON objects.
A `GraphStore` (provided by a plugin, ``runtime.graph_store``) writes them and answers reads
from a local `GraphView` that the backend keeps equal to what it holds. A refused write raises
a `GraphError` whose ``code`` is the backend's stable code (``not_found``, ``in_use``, ...).
"""

from __future__ import annotations

import copy
import math
import threading
import uuid
from collections.abc import Iterable
from typing import Literal, Protocol, TypeVar

import attrs

from nerv_inner_universe.delta import JSON
from nerv_inner_universe.nerv.arguments import json_object, require_str, str_tuple
from nerv_inner_universe.nerv.errors import (
    GraphAlreadyExistsError,
    GraphError,
    GraphInUseError,
    GraphNotFoundError,
    GraphPermissionError,
    InvalidGraphArgumentError,
)
from nerv_inner_universe.nerv.perspective import PerspectiveAware
from nerv_inner_universe.shown import shown

Direction = Literal["out", "in", "both"]
"""Which relations of an entity: those it starts (``out``), ends (``in``), or either."""

_DIRECTIONS = ("out", "in", "both")


_ERRORS: dict[str, type[GraphError]] = {
    cls.CODE: cls
    for cls in (
        GraphNotFoundError,
        GraphAlreadyExistsError,
        GraphInUseError,
        GraphPermissionError,
        InvalidGraphArgumentError,
    )
    if cls.CODE is not None
}


def graph_error(code: str | None, message: str) -> GraphError:
    """The `GraphError` subclass for ``code`` (a plain GraphError carrying the code for the
    others, e.g. ``resource_exhausted``)."""
    kind = _ERRORS.get(code) if code is not None else None
    return kind(message) if kind is not None else GraphError(message, code)


def _fresh_id() -> str:
    return str(uuid.uuid4())


def _text(_instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    require_str(attribute.name, value, non_empty=True, error=InvalidGraphArgumentError)


def _optional_text(
    _instance: object, attribute: attrs.Attribute[str | None], value: object
) -> None:
    require_str(attribute.name, value, optional=True, error=InvalidGraphArgumentError)


def _tags(value: object) -> tuple[str, ...]:
    return str_tuple("tags", value, error=InvalidGraphArgumentError)


def _properties(value: object) -> dict[str, JSON]:
    return json_object(
        "properties", {} if value is None else value, error=InvalidGraphArgumentError
    )


def _strength(_instance: object, _attribute: attrs.Attribute[float], value: object) -> None:
    if type(value) not in (int, float) or not 0.0 <= value <= 1.0:  # type: ignore[operator]
        raise InvalidGraphArgumentError(
            f"strength must be a number from 0.0 to 1.0, not {shown(value)}"
        )


def _flag(_instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if type(value) is not bool:
        raise InvalidGraphArgumentError(f"{attribute.name} must be a bool, not {shown(value)}")


def _seconds(_instance: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    if value is not None and (type(value) not in (int, float) or not math.isfinite(value)):  # type: ignore[arg-type]
        raise InvalidGraphArgumentError(
            f"{attribute.name} must be epoch seconds or None, not {shown(value)}"
        )


@attrs.frozen(kw_only=True)
class Entity:
    """A node of the graph. ``id`` defaults to a fresh uuid4; ``entity_type`` is a non-empty
    name; ``properties`` a dict of str to JSON values (copied). ``created_at`` and
    ``updated_at`` (epoch seconds) and ``owner`` (the backend's id of the creator, text) are
    filled in by the backend: values given on a write are ignored. A malformed field raises
    `InvalidGraphArgumentError` naming it (a non-JSON property too: naming ``properties`` and
    the path, chained from the delta layer's ``InvalidValueError``)."""

    entity_type: str = attrs.field(validator=_text)
    id: str = attrs.field(factory=_fresh_id, validator=_text)
    name: str | None = attrs.field(default=None, validator=_optional_text)
    description: str | None = attrs.field(default=None, validator=_optional_text)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    properties: dict[str, JSON] = attrs.field(factory=dict, converter=_properties)
    created_at: float | None = attrs.field(default=None, validator=_seconds)
    updated_at: float | None = attrs.field(default=None, validator=_seconds)
    owner: str | None = attrs.field(default=None, validator=_optional_text)


@attrs.frozen(kw_only=True)
class Relation:
    """A directed edge ``from_entity`` -> ``to_entity`` (both must exist when it is created;
    they never change). ``strength`` is a number from 0.0 to 1.0 (default 1.0, stored as a
    32-bit float); ``bidirectional`` marks an edge meant both ways (it is still stored, and
    listed by `GraphView.relations`, in its one direction). Other fields as `Entity`."""

    from_entity: str = attrs.field(validator=_text)
    to_entity: str = attrs.field(validator=_text)
    relation_type: str = attrs.field(validator=_text)
    id: str = attrs.field(factory=_fresh_id, validator=_text)
    description: str | None = attrs.field(default=None, validator=_optional_text)
    strength: float = attrs.field(default=1.0, validator=_strength)
    bidirectional: bool = attrs.field(default=False, validator=_flag)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    properties: dict[str, JSON] = attrs.field(factory=dict, converter=_properties)
    created_at: float | None = attrs.field(default=None, validator=_seconds)
    updated_at: float | None = attrs.field(default=None, validator=_seconds)
    owner: str | None = attrs.field(default=None, validator=_optional_text)


def _require_direction(direction: object) -> None:
    if direction not in _DIRECTIONS:
        raise InvalidGraphArgumentError(
            f"direction must be one of {_DIRECTIONS}, not {shown(direction)}"
        )


class GraphView:
    """The graph as this process knows it: entities and relations by id, indexed by type and by
    endpoint. Thread-safe. Reads hand out copies: an `Entity` or `Relation` is frozen and its
    ``properties`` are a fresh deep copy, so what a reader does with one changes nothing in the
    view. The backend calls the ``put_*``/``drop_*`` methods as the rows it follows change;
    readers call the rest.

    Memory is proportional to the current graph (rows that exist now), never to its history.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entities: dict[str, Entity] = {}
        self._relations: dict[str, Relation] = {}
        self._by_type: dict[str, dict[str, None]] = {}
        self._outgoing: dict[str, dict[str, None]] = {}
        self._incoming: dict[str, dict[str, None]] = {}
        self._perspectives: dict[str, PerspectiveAware[list[Entity]]] = {}

    # --- the backend's side ---------------------------------------------------------------

    def put_entity(self, entity: Entity) -> None:
        """Adds ``entity`` or replaces the one with its id."""
        with self._lock:
            old = self._entities.get(entity.id)
            if old is not None:
                _unindex(self._by_type, old.entity_type, old.id)
            self._entities[entity.id] = entity
            self._by_type.setdefault(entity.entity_type, {})[entity.id] = None
            touched = {entity.entity_type} | ({old.entity_type} if old is not None else set())
        self._refresh(touched)

    def drop_entity(self, entity_id: str) -> None:
        """Forgets the entity ``entity_id`` (nothing when it is unknown)."""
        with self._lock:
            old = self._entities.pop(entity_id, None)
            if old is None:
                return
            _unindex(self._by_type, old.entity_type, entity_id)
        self._refresh({old.entity_type})

    def put_relation(self, relation: Relation) -> None:
        """Adds ``relation`` or replaces the one with its id."""
        with self._lock:
            self._forget_relation(relation.id)
            self._relations[relation.id] = relation
            self._outgoing.setdefault(relation.from_entity, {})[relation.id] = None
            self._incoming.setdefault(relation.to_entity, {})[relation.id] = None

    def drop_relation(self, relation_id: str) -> None:
        """Forgets the relation ``relation_id`` (nothing when it is unknown)."""
        with self._lock:
            self._forget_relation(relation_id)

    def _forget_relation(self, relation_id: str) -> None:
        old = self._relations.pop(relation_id, None)
        if old is not None:
            _unindex(self._outgoing, old.from_entity, relation_id)
            _unindex(self._incoming, old.to_entity, relation_id)

    def _refresh(self, entity_types: Iterable[str]) -> None:
        for entity_type in entity_types:
            with self._lock:
                perspective = self._perspectives.get(entity_type)
            if perspective is not None:
                perspective.update_data(self.find_entities(entity_type))

    # --- readers ------------------------------------------------------------------------

    def get_entity(self, entity_id: str) -> Entity | None:
        """A copy of the entity ``entity_id``, or None."""
        require_str("entity_id", entity_id, error=InvalidGraphArgumentError)
        with self._lock:
            entity = self._entities.get(entity_id)
        return None if entity is None else _copy(entity)

    def get_relation(self, relation_id: str) -> Relation | None:
        """A copy of the relation ``relation_id``, or None."""
        require_str("relation_id", relation_id, error=InvalidGraphArgumentError)
        with self._lock:
            relation = self._relations.get(relation_id)
        return None if relation is None else _copy(relation)

    def find_entities(self, entity_type: str) -> list[Entity]:
        """Copies of the entities of ``entity_type`` (a non-empty str, else
        `InvalidGraphArgumentError`), oldest first (by ``created_at``, then id)."""
        require_str("entity_type", entity_type, non_empty=True, error=InvalidGraphArgumentError)
        with self._lock:
            found = [self._entities[i] for i in self._by_type.get(entity_type, {})]
        return [_copy(e) for e in sorted(found, key=lambda e: (e.created_at or 0.0, e.id))]

    def relations(
        self, entity_id: str, direction: Direction = "both", relation_type: str | None = None
    ) -> list[Relation]:
        """Copies of the relations ``entity_id`` starts (``"out"``), ends (``"in"``) or either
        (``"both"``), optionally only those of ``relation_type``; oldest first. A bad
        direction raises `InvalidGraphArgumentError`."""
        require_str("entity_id", entity_id, error=InvalidGraphArgumentError)
        require_str("relation_type", relation_type, optional=True, error=InvalidGraphArgumentError)
        _require_direction(direction)
        with self._lock:
            ids: dict[str, None] = {}
            if direction in ("out", "both"):
                ids.update(self._outgoing.get(entity_id, {}))
            if direction in ("in", "both"):
                ids.update(self._incoming.get(entity_id, {}))
            found = [self._relations[i] for i in ids]
        return [
            _copy(r)
            for r in sorted(
                (r for r in found if relation_type is None or r.relation_type == relation_type),
                key=lambda r: (r.created_at or 0.0, r.id),
            )
        ]

    def neighbours(
        self, entity_id: str, direction: Direction = "both", relation_type: str | None = None
    ) -> list[Entity]:
        """The entities at the other end of `relations` (each once, in relation order; an
        endpoint not in the view is left out)."""
        found: dict[str, Entity] = {}
        for relation in self.relations(entity_id, direction, relation_type):
            other = (
                relation.to_entity if relation.from_entity == entity_id else relation.from_entity
            )
            entity = self.get_entity(other)
            if entity is not None:
                found.setdefault(other, entity)
        return list(found.values())

    def perspectives(self, entity_type: str) -> PerspectiveAware[list[Entity]]:
        """A `PerspectiveAware` over the entities of ``entity_type`` (as `find_entities`),
        kept current: its data is replaced whenever one of them changes. The same object for
        every call with one type; add perspectives to it (``add_perspective``)."""
        require_str("entity_type", entity_type, non_empty=True, error=InvalidGraphArgumentError)
        with self._lock:
            perspective = self._perspectives.get(entity_type)
            if perspective is None:
                perspective = self._perspectives[entity_type] = PerspectiveAware([])
        perspective.update_data(self.find_entities(entity_type))
        return perspective

    def clear(self) -> None:
        """Forgets everything (perspectives stay, now empty)."""
        with self._lock:
            types = list(self._by_type)
            self._entities.clear()
            self._relations.clear()
            self._by_type.clear()
            self._outgoing.clear()
            self._incoming.clear()
        self._refresh(types)


_Item = TypeVar("_Item", Entity, Relation)


def _copy(item: _Item) -> _Item:
    """``item`` with a deep copy of its properties (what the view hands out)."""
    return attrs.evolve(item, properties=copy.deepcopy(item.properties))


def _unindex(index: dict[str, dict[str, None]], key: str, item: str) -> None:
    members = index.get(key)
    if members is not None:
        members.pop(item, None)
        if not members:
            del index[key]


class GraphStore(Protocol):
    """Writes entities and relations to a backend; reads answer from its local `GraphView`.

    Writes go in order with the runtime's other writes. Whether a write waits is the
    backend's mode: a waiting write raises a `GraphError` when refused (``GraphNotFoundError``
    for a missing entity, relation or endpoint; ``GraphAlreadyExistsError`` for an id taken with
    other content; ``GraphInUseError`` for deleting an entity relations still reference;
    ``GraphPermissionError``; ``InvalidGraphArgumentError``); a queued one reports the refusal
    later (the backend says where). Creating the same id with identical content again does
    nothing; so does an update that changes nothing.
    """

    @property
    def view(self) -> GraphView:
        """The local view the reads come from."""
        ...

    def create_entity(self, entity: Entity) -> str:
        """Stores ``entity``; returns its id."""
        ...

    def update_entity(self, entity: Entity) -> None:
        """Replaces the type and metadata of the entity with ``entity.id``."""
        ...

    def delete_entity(self, entity_id: str) -> None:
        """Deletes an entity no relation references."""
        ...

    def create_relation(self, relation: Relation) -> str:
        """Stores ``relation`` (both endpoints must exist); returns its id."""
        ...

    def update_relation(self, relation: Relation) -> None:
        """Replaces the type and metadata of the relation with ``relation.id`` (its endpoints
        must be the stored ones)."""
        ...

    def delete_relation(self, relation_id: str) -> None:
        """Deletes a relation."""
        ...
