"""`InnerUniverseGraph`: NERV's `GraphStore` over the module's entity and relation reducers.

Writes are reducer calls through the recorder's `OrderedWriter`, so they keep their order with
the runtime's events, versions and deltas, are retried through connection trouble, and are sent
again when a connection drop may have lost them (every graph reducer is idempotent: the same
create again, or an update to what is stored, does nothing). With ``events = "sync"`` a write
returns once stored and raises the module's refusal as a `GraphError`; with ``"async"`` or
``"outbox"`` it returns at once (graph writes do not go through the outbox) and a refusal is
raised by the recorder's next ``flush`` and counted in its ``health().async_failures``.

Reads answer from a `GraphView` fed by a subscription to the ``entity`` and ``relation``
tables. Those hold the current graph, not its history, so the view (and the client's row
cache beside it) is bounded by the number of entities and relations that exist now: about
twice their stored size. After a reconnect the client reconciles the cache with the server and
the view follows (rows deleted meanwhile are dropped). Writes of this process are in the view
when a sync write returns; others' arrive as the server sends them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from nerv_inner_universe import contract
from nerv_inner_universe.client import DbConnection, EventContext
from nerv_inner_universe.contract import ReducerRefusedError, Table
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.nerv import Entity, GraphView, InvalidGraphArgumentError, Relation
from nerv_inner_universe.nerv.arguments import require_instance, require_str
from nerv_inner_universe.nerv.errors import NervError
from nerv_inner_universe.nerv.graph import graph_error
from nerv_inner_universe.plugin.graph_translate import (
    entity_from_row,
    entity_metadata_input,
    relation_from_row,
    relation_metadata_input,
)
from nerv_inner_universe.plugin.reader import quoted
from nerv_inner_universe.plugin.writer import OrderedWriter, Write

log = get_logger(__name__)

GRAPH_QUERIES = (
    f"SELECT * FROM {Table.ENTITY}",  # noqa: S608 - table names, no caller values
    f"SELECT * FROM {Table.RELATION}",  # noqa: S608
)
"""What the view subscribes to: both tables whole (current state, see the module docstring)."""


_KEYS = {
    "create_entity": (Table.ENTITY, "entity_id"),
    "update_entity": (Table.ENTITY, "entity_id"),
    "delete_entity": (Table.ENTITY, "entity_id"),
    "create_relation": (Table.RELATION, "relation_id"),
    "update_relation": (Table.RELATION, "relation_id"),
    "delete_relation": (Table.RELATION, "relation_id"),
}
"""Graph reducer -> (its table, the argument holding the row's id)."""


async def graph_write_stored(connection: DbConnection, call: contract.ReducerCall) -> bool | None:
    """Whether the server shows the effect of the graph write ``call`` now: the created row
    exists, the updated row holds the update's type and metadata, the deleted row is gone. None
    when ``call`` is no graph write. For the writer's re-send after a connection drop
    (`OrderedWriter`'s ``stored``): after a mere cut nothing is sent again, and a write that
    another process's later change hides is sent again (a no-op, or that change undone within
    the durability window). Raises the client's errors."""
    where = _KEYS.get(call.reducer)
    if where is None:
        return None
    table, key = where
    query = f"SELECT * FROM {table} WHERE id = {quoted(str(call.argument(key)))}"  # noqa: S608
    rows = [row for result in await connection.one_off_query(query) for row in result.rows]
    if call.reducer.startswith("delete_"):
        return not rows
    if not rows or call.reducer.startswith("create_"):
        return bool(rows)
    if table == Table.ENTITY:
        stored_type = rows[0]["entity_type"]
        stored_metadata: object = entity_metadata_input(entity_from_row(rows[0]))
    else:
        stored_type = rows[0]["relation_type"]
        stored_metadata = relation_metadata_input(relation_from_row(rows[0]))
    return bool(
        stored_type == call.argument(f"{table}_type")
        and stored_metadata == call.argument("metadata")
    )


def translated(error: BaseException) -> BaseException:
    """The writer's error for a refused graph write as the `GraphError` of its code (the same
    message); any other error unchanged."""
    cause = error.__cause__
    if isinstance(error, NervError) and isinstance(cause, ReducerRefusedError):
        code = cause.code.value if cause.code is not None else None
        result = graph_error(code, str(error))
        result.__cause__ = cause
        return result
    return error


def _entity(entity: Entity) -> dict[str, Any]:
    """The arguments `create_entity` and `update_entity` share."""
    return {
        "entity_id": entity.id,
        "entity_type": entity.entity_type,
        "metadata": entity_metadata_input(entity),
    }


class InnerUniverseGraph:
    """The graph store of one `InnerUniverseRecorder` (made by its ``graph()``): writes through
    ``writer``, waiting when ``wait``; reports the failures of queued writes to
    ``on_failure``; ``stored_relation(relation_id)`` reads a relation from the server (None
    when it does not exist; raises the reader's errors); every write runs inside
    ``closing_told()`` (the recorder's: RecorderClosedError once it is closing).

    Every method checks its argument's type first: an `Entity` for the entity writes, a
    `Relation` for the relation writes, a non-empty str for the deletes; anything else raises
    `InvalidGraphArgumentError` saying what was expected, and nothing is written."""

    def __init__(
        self,
        writer: OrderedWriter,
        *,
        wait: bool,
        on_failure: Callable[[BaseException], None],
        stored_relation: Callable[[str], Relation | None],
        closing_told: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self._closing_told = closing_told
        self._writer = writer
        self._wait = wait
        self._on_failure = on_failure
        self._stored_relation = stored_relation
        self._view = GraphView()

    async def follow(self, connection: DbConnection) -> None:
        """Fills the view from the server and keeps it current (returns once it is filled)."""
        entities = connection.cache.table(Table.ENTITY)
        entities.on_insert(lambda _ctx, row: self._view.put_entity(entity_from_row(row)))
        entities.on_update(self._entity_updated)
        entities.on_delete(lambda _ctx, row: self._view.drop_entity(str(row["id"])))
        relations = connection.cache.table(Table.RELATION)
        relations.on_insert(lambda _ctx, row: self._view.put_relation(relation_from_row(row)))
        relations.on_update(self._relation_updated)
        relations.on_delete(lambda _ctx, row: self._view.drop_relation(str(row["id"])))
        await connection.subscribe(GRAPH_QUERIES)
        log.info("graph_view_filled", entities=len(entities), relations=len(relations))

    def _entity_updated(self, _ctx: EventContext, _old: Any, new: Any) -> None:
        self._view.put_entity(entity_from_row(new))

    def _relation_updated(self, _ctx: EventContext, _old: Any, new: Any) -> None:
        self._view.put_relation(relation_from_row(new))

    @property
    def view(self) -> GraphView:
        """The local view of the graph (reads: get, find by type, relations, neighbours)."""
        return self._view

    def create_entity(self, entity: Entity) -> str:
        """Stores ``entity`` (see `GraphStore`); returns its id."""
        require_instance("entity", entity, Entity, error=InvalidGraphArgumentError)
        self._write(contract.create_entity(**_entity(entity)), f"create entity {entity.id!r}")
        return entity.id

    def update_entity(self, entity: Entity) -> None:
        """Replaces the type and metadata of entity ``entity.id``."""
        require_instance("entity", entity, Entity, error=InvalidGraphArgumentError)
        self._write(contract.update_entity(**_entity(entity)), f"update entity {entity.id!r}")

    def delete_entity(self, entity_id: str) -> None:
        """Deletes entity ``entity_id`` (`GraphInUseError` while relations reference it)."""
        require_str("entity_id", entity_id, non_empty=True, error=InvalidGraphArgumentError)
        self._write(contract.delete_entity(entity_id=entity_id), f"delete entity {entity_id!r}")

    def create_relation(self, relation: Relation) -> str:
        """Stores ``relation`` (`GraphNotFoundError` for a missing endpoint); returns its id."""
        require_instance("relation", relation, Relation, error=InvalidGraphArgumentError)
        self._write(
            contract.create_relation(
                relation_id=relation.id,
                from_entity=relation.from_entity,
                to_entity=relation.to_entity,
                relation_type=relation.relation_type,
                metadata=relation_metadata_input(relation),
            ),
            f"create relation {relation.id!r}",
        )
        return relation.id

    def update_relation(self, relation: Relation) -> None:
        """Replaces the type and metadata of relation ``relation.id``;
        `InvalidGraphArgumentError` when it is stored with other endpoints (they never change:
        delete it and create another). The endpoints are checked against the view, and against
        the server's row when the view does not hold the relation or holds other endpoints (it
        may lag behind another process's change); a relation that does not exist is left to
        the server (`GraphNotFoundError`)."""
        require_instance("relation", relation, Relation, error=InvalidGraphArgumentError)
        ends = (relation.from_entity, relation.to_entity)
        stored = self._view.get_relation(relation.id)
        if stored is None or (stored.from_entity, stored.to_entity) != ends:
            stored = self._stored_relation(relation.id)
        if stored is not None and (stored.from_entity, stored.to_entity) != ends:
            raise InvalidGraphArgumentError(
                f"relation {relation.id!r} goes {stored.from_entity!r} -> {stored.to_entity!r}; "
                "its endpoints cannot change: delete it and create another"
            )
        self._write(
            contract.update_relation(
                relation_id=relation.id,
                relation_type=relation.relation_type,
                metadata=relation_metadata_input(relation),
            ),
            f"update relation {relation.id!r}",
        )

    def delete_relation(self, relation_id: str) -> None:
        """Deletes relation ``relation_id``."""
        require_str("relation_id", relation_id, non_empty=True, error=InvalidGraphArgumentError)
        self._write(
            contract.delete_relation(relation_id=relation_id), f"delete relation {relation_id!r}"
        )

    def _write(self, call: contract.ReducerCall, what: str) -> None:
        with self._closing_told():
            future = self._writer.submit(Write(call, what))
            if not self._wait:
                future.add_done_callback(self._queued_done)
                return
            try:
                future.result()
            except BaseException as error:
                raise translated(error) from error.__cause__

    def _queued_done(self, future: concurrent.futures.Future[None]) -> None:
        error = future.exception()
        if error is not None:
            self._on_failure(translated(error))
