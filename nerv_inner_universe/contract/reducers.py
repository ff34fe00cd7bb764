"""One typed function per reducer of the module (`spacetime/module/src/reducers/`).

Each takes the reducer's parameters as keyword arguments, named as in Rust, and returns a
`ReducerCall`: the name and the positional arguments in the module's order. Send it over a
WebSocket connection (``await call.send(connection)``) or the HTTP API
(``await call.send_http(http, database)``); a refusal raises `ReducerRefusedError` with its
`ErrorCode`. A test compares these functions with the reducers of the running module.

    await create_entity(
        entity_id="agent.planner", entity_type="agent", metadata=EntityMetadata(name="planner")
    ).send(connection)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from nerv_inner_universe.client import (
    ArgumentError,
    HttpCallResult,
    Identity,
    ReducerEvent,
    ReducerFailedError,
    SpacetimeHttp,
    Timestamp,
    Variant,
)
from nerv_inner_universe.contract.errors import ReducerRefusedError
from nerv_inner_universe.contract.types import (
    DeleteOperation,
    DeltaMetadata,
    DeltaOperation,
    EntityMetadata,
    EsEventInput,
    EsTrackingInput,
    EventInput,
    InsertOperation,
    PatchOperation,
    RelationMetadata,
    RemoveOperation,
    SetOperation,
)

_OPERATION_TYPES = (SetOperation, DeleteOperation, InsertOperation, RemoveOperation, PatchOperation)

__all__ = [
    "ReducerCall",
    "ReducerCaller",
    "checkpoint",
    "commit_state_version",
    "create_entity",
    "create_relation",
    "delete_entity",
    "delete_relation",
    "es_insert_events",
    "grant_role",
    "grant_stream_access",
    "import_rows",
    "publish_event",
    "publish_events",
    "record_delta",
    "redact_delta",
    "redact_event",
    "redact_state_version",
    "remove_config_key",
    "reopen",
    "revoke_role",
    "revoke_stream_access",
    "set_client_info",
    "set_stream_owner",
    "update_config",
    "update_entity",
    "update_relation",
]


class ReducerCaller(Protocol):
    """What `ReducerCall.send` needs: `DbConnection.call_reducer`, or a fake's in a unit test.
    It raises `ReducerFailedError` when the module refuses the call, and the client's other
    errors when it cannot tell."""

    async def call_reducer(self, reducer: str, *args: object) -> ReducerEvent:
        """Calls ``reducer`` with ``args`` (in the module's order) and waits for its outcome."""
        ...


class BlockingReducerCaller(Protocol):
    """What `ReducerCall.send_blocking` needs: `BlockingConnection.call_reducer`, which
    raises like `ReducerCaller`'s."""

    def call_reducer(self, reducer: str, *args: object) -> ReducerEvent:
        """Calls ``reducer`` with ``args`` and waits for its outcome on this thread."""
        ...


@attrs.frozen
class ReducerCall:
    """A reducer's name and its arguments, named and in the module's order, ready to send."""

    reducer: str
    names: tuple[str, ...]
    """The reducer's parameter names, as in Rust."""
    args: tuple[object, ...]
    """The arguments, in the same order."""

    def argument(self, name: str) -> object:
        """The argument for parameter ``name``; KeyError when the reducer has no such one."""
        try:
            return self.args[self.names.index(name)]
        except ValueError:
            raise KeyError(f"reducer {self.reducer!r} has no parameter {name!r}") from None

    async def send(self, connection: ReducerCaller) -> ReducerEvent:
        """Calls the reducer over ``connection`` and waits for the outcome (the connection's
        call timeout applies). Raises ReducerRefusedError when the module refuses it, and the
        client's errors otherwise (CallTimeoutError / OutcomeUnknownError: the outcome is
        unknown; ArgumentError: the arguments do not fit the schema, nothing was sent)."""
        try:
            return await connection.call_reducer(self.reducer, *self.args)
        except ReducerFailedError as error:
            raise ReducerRefusedError(error.reducer, error.reducer_message) from error

    def send_blocking(self, connection: BlockingReducerCaller) -> ReducerEvent:
        """`send` made and awaited on the calling thread (`BlockingConnection`); raises the
        same errors."""
        try:
            return connection.call_reducer(self.reducer, *self.args)
        except ReducerFailedError as error:
            raise ReducerRefusedError(error.reducer, error.reducer_message) from error

    async def send_http(self, http: SpacetimeHttp, database: str) -> HttpCallResult:
        """Calls the reducer once through the HTTP API as ``http``'s identity. Raises
        ReducerRefusedError when the module refuses it, and the client's errors otherwise."""
        try:
            return await http.call_reducer(database, self.reducer, self.args)
        except ReducerFailedError as error:
            raise ReducerRefusedError(error.reducer, error.reducer_message) from error


def create_entity(*, entity_id: str, entity_type: str, metadata: EntityMetadata) -> ReducerCall:
    """Creates an entity owned by the caller (the same id with identical content: no-op)."""
    return _call("create_entity", entity_id=entity_id, entity_type=entity_type, metadata=metadata)


def update_entity(*, entity_id: str, entity_type: str, metadata: EntityMetadata) -> ReducerCall:
    """Replaces an entity's type and metadata (owner or admin)."""
    return _call("update_entity", entity_id=entity_id, entity_type=entity_type, metadata=metadata)


def delete_entity(*, entity_id: str) -> ReducerCall:
    """Deletes an entity no relation references (``in_use`` otherwise)."""
    return _call("delete_entity", entity_id=entity_id)


def create_relation(
    *,
    relation_id: str,
    from_entity: str,
    to_entity: str,
    relation_type: str,
    metadata: RelationMetadata,
) -> ReducerCall:
    """Creates a relation between two existing entities."""
    return _call(
        "create_relation",
        relation_id=relation_id,
        from_entity=from_entity,
        to_entity=to_entity,
        relation_type=relation_type,
        metadata=metadata,
    )


def update_relation(
    *, relation_id: str, relation_type: str, metadata: RelationMetadata
) -> ReducerCall:
    """Replaces a relation's type and metadata (its endpoints are immutable)."""
    return _call(
        "update_relation", relation_id=relation_id, relation_type=relation_type, metadata=metadata
    )


def delete_relation(*, relation_id: str) -> ReducerCall:
    """Deletes a relation (owner or admin)."""
    return _call("delete_relation", relation_id=relation_id)


def commit_state_version(
    *,
    version_id: str,
    timeline: str,
    parent_version_id: str | None,
    occurred_at: Timestamp,
    description: str,
    data_hash: str,
    operations: Sequence[DeltaOperation],
    snapshot: str | None,
) -> ReducerCall:
    """Commits a version whose ``operations`` turn the parent's state into this one.
    ``parent_version_id`` must be the timeline's head (``conflict`` otherwise); ``snapshot``,
    the whole state as JSON text, must hash (SHA-256 of canonical JSON, hex) to ``data_hash``
    and is required when `snapshot_required` says so (``snapshot_required`` otherwise)."""
    return _call(
        "commit_state_version",
        version_id=version_id,
        timeline=timeline,
        parent_version_id=parent_version_id,
        occurred_at=occurred_at,
        description=description,
        data_hash=data_hash,
        operations=_variants("commit_state_version", operations),
        snapshot=snapshot,
    )


def record_delta(
    *,
    delta_id: str,
    stream: str,
    state_version_id: str,
    occurred_at: Timestamp,
    operations: Sequence[DeltaOperation],
    metadata: DeltaMetadata,
) -> ReducerCall:
    """Records a delta of ``stream`` on top of an existing state version."""
    return _call(
        "record_delta",
        delta_id=delta_id,
        stream=stream,
        state_version_id=state_version_id,
        occurred_at=occurred_at,
        operations=_variants("record_delta", operations),
        metadata=metadata,
    )


def publish_event(*, event: EventInput) -> ReducerCall:
    """Appends one client event to ``event_log`` (idempotent by ``event_id``)."""
    return _call("publish_event", event=event)


def publish_events(*, events: Sequence[EventInput]) -> ReducerCall:
    """Appends 1 to 1,000 events in one transaction: all or none, in the given order."""
    return _call("publish_events", events=list(events))


def update_config(*, key: str, value: str, description: str | None) -> ReducerCall:
    """Sets a config key to the JSON text ``value``; admin-only keys need an admin."""
    return _call("update_config", key=key, value=value, description=description)


def set_client_info(*, client_info: str) -> ReducerCall:
    """Describes the calling connection in ``client_connection``."""
    return _call("set_client_info", client_info=client_info)


def checkpoint(*, marker: str, close: bool) -> ReducerCall:
    """Commits ``marker`` (32 lowercase hex digits, fresh and random) into the private
    `durability_marker` row, admin only; once its bytes are in the commit log on disk, so is
    everything committed before it (see `controller.durability`). With ``close`` (a stop's
    checkpoint), the same transaction closes the database for writes: every change but
    `checkpoint` and `reopen` is refused with ``unavailable`` until `reopen`."""
    return _call("checkpoint", marker=marker, close=close)


def reopen() -> ReducerCall:
    """Opens the database for writes again after a stop's `checkpoint` closed it (admin only;
    a no-op when it is open). `ServerProcess` calls it when it starts the server."""
    return _call("reopen")


def grant_role(*, identity: Identity, role: Variant) -> ReducerCall:
    """Gives ``identity`` the ``role`` (`Role.ADMIN` or `Role.WRITER`); admin only. Granting a
    role it holds is a no-op."""
    return _call("grant_role", identity=identity, role=role)


def revoke_role(*, identity: Identity, role: Variant) -> ReducerCall:
    """Takes ``role`` from ``identity``; admin only. ``not_found`` when it does not hold it,
    ``in_use`` for the last admin."""
    return _call("revoke_role", identity=identity, role=role)


def grant_stream_access(*, delegate: Identity) -> ReducerCall:
    """Lets ``delegate`` append to every timeline, delta stream and `eventsourcing` store the
    caller owns, now and later. Charged to the caller's write budget as one row;
    ``resource_exhausted`` beyond `MAX_DELEGATES_PER_OWNER` grants."""
    return _call("grant_stream_access", delegate=delegate)


def revoke_stream_access(*, delegate: Identity) -> ReducerCall:
    """Withdraws the caller's `grant_stream_access` to ``delegate`` (``not_found``: none)."""
    return _call("revoke_stream_access", delegate=delegate)


def set_stream_owner(*, key: str, owner: Identity | None) -> ReducerCall:
    """Gives the stream ``key`` names (``timeline:<name>``, ``deltas:<stream>`` or
    ``es:<store>``, as in `Table.STREAM_OWNER`) to ``owner``, or with None clears its ownership
    (its next writer claims it); admin only. ``invalid_argument`` for a key naming no stream or
    ``timeline:stream.<s>`` (owned with ``deltas:<s>``); ``not_found`` when clearing a stream
    nobody owns."""
    return _call("set_stream_owner", key=key, owner=owner)


def redact_event(*, event_id: str, reason: str) -> ReducerCall:
    """Takes a client event out of replay (admin only): its row keeps its id and ``seq`` and
    holds the tombstone (`RedactedKind.EVENT`). ``not_found``, ``redacted`` (twice), and
    ``invalid_argument`` for one of the module's own events or an empty ``reason``."""
    return _call("redact_event", event_id=event_id, reason=reason)


def redact_state_version(*, version_id: str, reason: str) -> ReducerCall:
    """Removes a timeline's head version (admin only); the head moves back to its parent.
    ``in_use`` when it is not the head, or has a child on another timeline or a delta on it;
    ``not_found``; ``redacted`` (twice); ``invalid_argument`` for a stream anchor."""
    return _call("redact_state_version", version_id=version_id, reason=reason)


def redact_delta(*, delta_id: str, reason: str) -> ReducerCall:
    """Empties a delta (admin only): no operations, description ``"redacted"``, same place in
    its stream. ``in_use`` while a later delta of the stream is not redacted; ``not_found``;
    ``redacted`` (twice)."""
    return _call("redact_delta", delta_id=delta_id, reason=reason)


def remove_config_key(*, key: str, reason: str) -> ReducerCall:
    """Deletes a config row (admin only); the module applies its default for a setting it
    reads, and the key may be set again. ``not_found`` when there is no such row."""
    return _call("remove_config_key", key=key, reason=reason)


def import_rows(*, batch: Variant) -> ReducerCall:
    """One step of an import (admin only): ``batch`` from `import_begin`, `import_batch` or
    `import_finish` (see `contract.tables`)."""
    return _call("import_rows", batch=batch)


def es_insert_events(
    *, store: str, events: Sequence[EsEventInput], tracking: EsTrackingInput | None
) -> ReducerCall:
    """Appends ``events`` (0 to 10,000) to the `eventsourcing` store ``store`` with the
    optional ``tracking`` record, all or nothing; the events get the store's next notification
    ids in order. ``integrity_error`` when a position is taken or the tracking record is not
    after the recorded one."""
    return _call("es_insert_events", store=store, events=list(events), tracking=tracking)


def _call(reducer: str, **arguments: object) -> ReducerCall:
    """Keyword order is the module's parameter order (a test checks it against the schema)."""
    return ReducerCall(reducer, tuple(arguments), tuple(arguments.values()))


def _variants(reducer: str, operations: Sequence[DeltaOperation]) -> list[Variant]:
    """Raises ArgumentError naming the item that is no `DeltaOperation`."""
    if isinstance(operations, str | bytes) or not isinstance(operations, Sequence):
        raise ArgumentError(f"{reducer}.operations: expected a sequence of operations")
    for index, operation in enumerate(operations):
        if not isinstance(operation, _OPERATION_TYPES):
            raise ArgumentError(
                f"{reducer}.operations[{index}]: expected a DeltaOperation "
                f"(SetOperation, ...), got {type(operation).__name__}"
            )
    return [operation.variant() for operation in operations]
