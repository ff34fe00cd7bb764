"""Server mode's subscriptions: the caller's handlers on the cache, then one subscription."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from nerv_inner_universe.client import DbConnection, EventContext
from nerv_inner_universe.contract import Table

DEFAULT_TABLES = (Table.ENTITY, Table.RELATION, Table.STATE_VERSION, Table.EVENT_LOG)
"""What server mode subscribes to when not told otherwise (the upstream design's four)."""

RowCallback = Callable[[EventContext, Any], object]
UpdateCallback = Callable[[EventContext, Any, Any], object]


@attrs.frozen
class TableHandlers:
    """Callbacks for one table's rows in server mode; existing rows arrive as inserts."""

    on_insert: RowCallback | None = None
    on_delete: RowCallback | None = None
    on_update: UpdateCallback | None = None


async def subscribe(
    client: DbConnection, tables: Sequence[str], handlers: Mapping[str, TableHandlers]
) -> list[str]:
    """Registers ``handlers`` first, so they see the existing rows as inserts, then
    subscribes to ``tables`` and every table in ``handlers``; returns the table names.
    Raises the client's SchemaError for a table the module lacks, QueryError when the server
    refuses."""
    names = list(dict.fromkeys([*tables, *handlers]))
    for name in names:
        cache = client.cache.table(name)
        table_handlers = handlers.get(name, TableHandlers())
        if table_handlers.on_insert is not None:
            cache.on_insert(table_handlers.on_insert)
        if table_handlers.on_delete is not None:
            cache.on_delete(table_handlers.on_delete)
        if table_handlers.on_update is not None:
            cache.on_update(table_handlers.on_update)
    if names:
        # names are the schema's: cache.table() refused any other
        await client.subscribe([f"SELECT * FROM {name}" for name in names])  # noqa: S608
    return names
