"""The client cache: the subscribed rows of each table, kept equal to the server's.

Rows are counted, not just stored: overlapping subscriptions deliver the same row more than
once, and the row leaves the cache only when the last query covering it lets go. A delete and
an insert of the same primary key in one message are reported as an update.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from ..log import get_logger
from .callbacks import CallbackId, Callbacks
from .errors import SchemaError
from .events import EventContext
from .schema import ModuleSchema
from .values import field

log = get_logger(__name__)

RowCallback = Callable[[EventContext, Any], object]
UpdateCallback = Callable[[EventContext, Any, Any], object]
RowsCallback = Callable[[EventContext, Sequence[Any]], object]


@attrs.frozen
class TableRows:
    """Decoded rows of one table in one message."""

    table: str
    inserts: Sequence[Any] = ()
    deletes: Sequence[Any] = ()


@attrs.frozen
class TableDiff:
    """What a message changed in one table, after reference counting and update pairing."""

    inserts: tuple[Any, ...] = ()
    deletes: tuple[Any, ...] = ()
    updates: tuple[tuple[Any, Any], ...] = ()
    unknown_deletes: int = 0
    """Deletes of rows the cache did not hold: the cache had drifted from the server."""

    def __bool__(self) -> bool:
        return bool(self.inserts or self.deletes or self.updates)


class TableCache:
    """The cached rows of one table, with callbacks for their changes.

    Rows are ``Row`` values, or instances of the class registered for the table's type.
    """

    def __init__(self, name: str, primary_key: tuple[str, ...] = ()) -> None:
        self.name = name
        self._primary_key = primary_key
        self._streamed = False
        self._lazy = False
        self._counts: dict[Any, int] = {}
        self._by_key: dict[Any, Any] = {}
        self._on_insert: Callbacks[[EventContext, Any]] = Callbacks(f"{name}.on_insert")
        self._on_inserts: Callbacks[[EventContext, Sequence[Any]]] = Callbacks(f"{name}.on_inserts")
        self._on_delete: Callbacks[[EventContext, Any]] = Callbacks(f"{name}.on_delete")
        self._on_update: Callbacks[[EventContext, Any, Any]] = Callbacks(f"{name}.on_update")

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Column names of the primary key; empty when the table has none."""
        return self._primary_key

    @property
    def is_streamed(self) -> bool:
        """True when rows are reported to the callbacks but not kept (see `stream`)."""
        return self._streamed

    @property
    def is_lazy(self) -> bool:
        """True when rows arrive as `LazyRow`s (see `stream`)."""
        return self._lazy

    def stream(self, *, lazy: bool = False) -> None:
        """Stops keeping this table's rows: each message's inserts and deletes go to the
        callbacks and are forgotten, so memory does not grow with the table (an append-only
        log followed through its callbacks, say). After a reconnect the fresh subscription's
        rows are reported as inserts; telling them from rows already seen is the caller's
        job. Rows held so far are dropped without callbacks. With ``lazy``, the rows are
        `LazyRow`s, whose columns are decoded when read: a callback that reads two columns of
        most rows does not pay for decoding the rest."""
        self._streamed = True
        self._lazy = lazy
        self._counts.clear()
        self._by_key.clear()

    def __len__(self) -> int:
        return len(self._counts)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._counts))

    def __contains__(self, row: object) -> bool:
        return row in self._counts

    def rows(self) -> list[Any]:
        """A copy of the cached rows (each once, however many queries match it)."""
        return list(self._counts)

    def find(self, key: Any) -> Any | None:
        """The row with this primary key (a tuple for a composite key), or None."""
        if not self._primary_key:
            raise SchemaError(f"table {self.name!r} has no primary key; iterate over it instead")
        return self._by_key.get(key)

    def on_insert(self, callback: RowCallback) -> CallbackId:
        """``callback(ctx, row)`` for each row entering the cache."""
        return self._on_insert.add(callback)

    def on_inserts(self, callback: RowsCallback) -> CallbackId:
        """``callback(ctx, rows)`` once per message that adds rows, with all of them in message
        order (a non-empty tuple), after the ``on_insert`` callbacks: a reader of a busy
        streamed table (a log follower) takes a message's rows in one call, not one call per
        row."""
        return self._on_inserts.add(callback)

    def on_delete(self, callback: RowCallback) -> CallbackId:
        """``callback(ctx, row)`` for each row leaving the cache."""
        return self._on_delete.add(callback)

    def on_update(self, callback: UpdateCallback) -> CallbackId:
        """``callback(ctx, old, new)`` when a row is replaced by one with the same primary key
        in one message (tables with a primary key only)."""
        return self._on_update.add(callback)

    def remove_callback(self, callback_id: CallbackId) -> bool:
        """Removes a callback added with ``on_*``; returns whether this table had it."""
        return any(
            callbacks.remove(callback_id)
            for callbacks in (self._on_insert, self._on_inserts, self._on_delete, self._on_update)
        )

    def apply(self, inserts: Iterable[Any], deletes: Iterable[Any]) -> TableDiff:
        """Applies one message's rows (inserts first, as the server's order requires)."""
        if self._streamed:
            return TableDiff(tuple(inserts), tuple(deletes))
        inserted: dict[Any, None] = {}
        for row in inserts:
            count = self._counts.get(row, 0)
            self._counts[row] = count + 1
            if count == 0:
                inserted[row] = None
        deleted: dict[Any, None] = {}
        unknown = 0
        for row in deletes:
            count = self._counts.get(row, 0)
            if count == 0:
                unknown += 1
            elif count > 1:
                self._counts[row] = count - 1
            else:
                del self._counts[row]
                if row in inserted:
                    del inserted[row]  # in and out within one message: nothing to report
                else:
                    deleted[row] = None
        return self._finish(list(inserted), list(deleted), unknown)

    def replace(self, counts: Mapping[Any, int]) -> TableDiff:
        """Makes the cache hold exactly ``counts`` (row -> references); reports the changes.
        A streamed table holds nothing, so every row of ``counts`` is reported inserted."""
        if self._streamed:
            return TableDiff(tuple(counts))
        inserted = [row for row in counts if row not in self._counts]
        deleted = [row for row in self._counts if row not in counts]
        self._counts = dict(counts)
        return self._finish(inserted, deleted, 0)

    def counts(self) -> dict[Any, int]:
        """Row -> how many subscribed queries hold it (a copy)."""
        return dict(self._counts)

    def set_primary_key(self, primary_key: tuple[str, ...]) -> None:
        """Follows a schema change (a republished module); rebuilds the key index."""
        if primary_key != self._primary_key:
            self._primary_key = primary_key
            self._by_key = {self._key(row): row for row in self._counts} if primary_key else {}

    def notify(self, ctx: EventContext, diff: TableDiff) -> None:
        """Runs the callbacks for ``diff``: deletes, then updates, then inserts (each row's
        ``on_insert``, then ``on_inserts`` with them all)."""
        for row in diff.deletes:
            self._on_delete(ctx, row)
        for old, new in diff.updates:
            self._on_update(ctx, old, new)
        if not diff.inserts:
            return
        if self._on_insert:
            for row in diff.inserts:
                self._on_insert(ctx, row)
        self._on_inserts(ctx, diff.inserts)

    def _key(self, row: Any) -> Any:
        if len(self._primary_key) == 1:
            return field(row, self._primary_key[0])
        return tuple(field(row, name) for name in self._primary_key)

    def _finish(self, inserted: list[Any], deleted: list[Any], unknown: int) -> TableDiff:
        if not self._primary_key:
            return TableDiff(tuple(inserted), tuple(deleted), (), unknown)
        deleted_by_key = {self._key(row): row for row in deleted}
        updates = []
        inserts = []
        for row in inserted:
            key = self._key(row)
            old = deleted_by_key.pop(key, None)
            if old is None:
                inserts.append(row)
            else:
                updates.append((old, row))
            self._by_key[key] = row
        for key in deleted_by_key:
            self._by_key.pop(key, None)
        return TableDiff(tuple(inserts), tuple(deleted_by_key.values()), tuple(updates), unknown)


class ClientCache:
    """The cached tables of one database, named as in the module."""

    def __init__(self, schema: ModuleSchema | None = None) -> None:
        self._tables: dict[str, TableCache] = {}
        if schema is not None:
            self.adopt_schema(schema)

    def adopt_schema(self, schema: ModuleSchema) -> None:
        """Creates caches for new tables and follows primary key changes; tables and their
        callbacks survive a schema change so callers keep their registrations."""
        for table in schema.tables.values():
            cache = self._tables.setdefault(table.name, TableCache(table.name))
            cache.set_primary_key(table.primary_key_names)

    def table(self, name: str) -> TableCache:
        """The cache of table ``name``; SchemaError when the module has no such table."""
        try:
            return self._tables[name]
        except KeyError:
            raise SchemaError(
                f"no table {name!r} in the cache; tables: {', '.join(sorted(self._tables))}"
            ) from None

    def is_lazy(self, name: str) -> bool:
        """Whether table ``name`` is streamed as `LazyRow`s (False for a table not cached)."""
        table = self._tables.get(name)
        return table is not None and table.is_lazy

    def table_names(self) -> list[str]:
        """The names of the cached tables, sorted."""
        return sorted(self._tables)

    def apply(self, updates: Iterable[TableRows], ctx: EventContext) -> dict[str, TableDiff]:
        """Applies every table of one message, then runs callbacks: a callback always sees the
        cache as it is after the whole message."""
        grouped: dict[str, tuple[list[Any], list[Any]]] = {}
        for update in updates:
            inserts, deletes = grouped.setdefault(update.table, ([], []))
            inserts.extend(update.inserts)
            deletes.extend(update.deletes)
        diffs: dict[str, TableDiff] = {}
        for name, (inserts, deletes) in grouped.items():
            diff = diffs[name] = self.table(name).apply(inserts, deletes)
            if diff.unknown_deletes:
                log.error("cache_drift", table=name, unknown_deletes=diff.unknown_deletes)
        self._notify(ctx, diffs)
        return diffs

    def reconcile(self, target: ClientCache, ctx: EventContext) -> dict[str, TableDiff]:
        """Makes this cache equal ``target`` (rebuilt from fresh subscriptions after a
        reconnect) and reports each difference as a delete, insert or update."""
        diffs = {
            name: table.replace(target._tables[name].counts() if name in target._tables else {})
            for name, table in self._tables.items()
        }
        self._notify(ctx, diffs)
        return diffs

    def clear(self, ctx: EventContext) -> dict[str, TableDiff]:
        """Empties every table, reporting each row as deleted."""
        return self.reconcile(ClientCache(), ctx)

    def _notify(self, ctx: EventContext, diffs: Mapping[str, TableDiff]) -> None:
        for name, diff in diffs.items():
            if diff:
                self._tables[name].notify(ctx, diff)
