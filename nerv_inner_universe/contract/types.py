"""The module's argument types (`spacetime/module/src/types.rs`) as attrs classes.

Field names and order are the Rust ones, so an instance encodes as the module's type as it is
(the client encodes an attrs instance by field name). JSON-valued fields (``properties``,
``value``, ``patch``, ``data``, ``metadata``) are JSON *text*: SATS 1.2.0 cannot store a
recursive type, so the module parses the text, refuses what is not JSON (``invalid_argument``)
and stores its canonical re-encoding. Times are the client's `Timestamp` (microseconds since
the Unix epoch).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from nerv_inner_universe.client import Timestamp, Variant

MIN_OCCURRED_AT_MICROS = -62_135_596_800_000_000
"""0001-01-01T00:00:00Z in microseconds since the Unix epoch: the earliest ``occurred_at`` (of
an event, version or delta) the module accepts (`rules/src/moments.rs`)."""
MAX_OCCURRED_AT_MICROS = 253_402_300_799_999_999
"""9999-12-31T23:59:59.999999Z: the latest ``occurred_at`` the module accepts. Years 1 to 9999
are the range of Python's `datetime`; beyond them the module answers ``invalid_argument``."""


def occurred_at_in_range(moment: Timestamp) -> bool:
    """Whether the module accepts ``moment`` as an ``occurred_at``."""
    return MIN_OCCURRED_AT_MICROS <= moment.micros_since_epoch <= MAX_OCCURRED_AT_MICROS


@attrs.frozen(kw_only=True)
class EntityMetadata:
    """What `create_entity` and `update_entity` store beside an entity's id and type."""

    name: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    properties: str = "{}"
    """A JSON object, as text."""


@attrs.frozen(kw_only=True)
class RelationMetadata:
    """What `create_relation` and `update_relation` store beside a relation's endpoints."""

    description: str | None = None
    strength: float = 1.0
    """From 0.0 to 1.0 (the module refuses anything else)."""
    bidirectional: bool = False
    tags: tuple[str, ...] = ()
    properties: str = "{}"
    """A JSON object, as text."""


class _Operation:
    """One change to a JSON document at an RFC 6901 ``path``; a variant of `DeltaOperation`."""

    VARIANT: ClassVar[str]

    def variant(self) -> Variant:
        """This operation as the module's `DeltaOperation` sum value."""
        return Variant(self.VARIANT, self)


@attrs.frozen
class SetOperation(_Operation):
    """Sets ``path`` (``""``: the whole document) to the JSON text ``value``."""

    VARIANT: ClassVar[str] = "Set"
    path: str
    value: str


@attrs.frozen
class DeleteOperation(_Operation):
    """Removes the member or element at ``path`` (not ``""``)."""

    VARIANT: ClassVar[str] = "Delete"
    path: str


@attrs.frozen
class InsertOperation(_Operation):
    """Inserts the JSON text ``value`` into the array at ``path`` before ``index`` (None: at
    the end)."""

    VARIANT: ClassVar[str] = "Insert"
    path: str
    index: int | None
    value: str


@attrs.frozen
class RemoveOperation(_Operation):
    """Removes element ``index`` of the array at ``path``."""

    VARIANT: ClassVar[str] = "Remove"
    path: str
    index: int


@attrs.frozen
class PatchOperation(_Operation):
    """Merges the JSON object text ``patch`` (shallowly) into the object at ``path``."""

    VARIANT: ClassVar[str] = "Patch"
    path: str
    patch: str


DeltaOperation = SetOperation | DeleteOperation | InsertOperation | RemoveOperation | PatchOperation
"""One change to a JSON document, as `commit_state_version` and `record_delta` take them."""


@attrs.frozen(kw_only=True)
class DeltaMetadata:
    """What `record_delta` stores beside a delta's operations."""

    description: str
    author: str | None = None
    tags: tuple[str, ...] = ()
    parent_delta_id: str | None = None


@attrs.frozen(kw_only=True)
class EventInput:
    """One client event for `publish_event` / `publish_events`. The id and the time of
    occurrence come from the client, so the event replays exactly as it was published; the
    same id with identical content again is a no-op."""

    event_id: str
    event_type: str
    source: str | None
    occurred_at: Timestamp
    data: str
    """Any JSON value, as text."""
    metadata: str = "{}"
    """A JSON object, as text."""


@attrs.frozen
class EsEventInput:
    """One stored event of an `eventsourcing` application for `es_insert_events`: unique by
    (``originator_id``, ``originator_version``) within its store."""

    originator_id: str
    """1 to 256 bytes of text without control characters (a UUID in its hyphenated form)."""
    originator_version: int
    """0 to 2**64 - 1."""
    topic: str
    """The event class's topic, 1 to 256 bytes of text without control characters."""
    state: bytes
    """The serialised event, at most 4 MiB."""


@attrs.frozen
class EsTrackingInput:
    """A tracking record for `es_insert_events`: ``application_name``'s notification
    ``notification_id`` was processed; kept in the tracking store ``store``."""

    store: str
    application_name: str
    notification_id: int


class Role:
    """The roles `grant_role` / `revoke_role` take (the module's ``Role`` enum). With
    ``auth_required`` (the default) an identity needs one to change anything."""

    ADMIN: ClassVar[Variant] = Variant("Admin")
    """Everything: roles, admin-only config, any row."""
    WRITER: ClassVar[Variant] = Variant("Writer")
    """Every reducer that changes data, within the ownership rules."""
