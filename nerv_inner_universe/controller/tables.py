"""Reading whole tables over SQL as the owner: counts, rows and the position of the log.

The owner sees every table, private ones included. SQL over HTTP runs no lifecycle reducer,
so reading changes nothing (a WebSocket connection would log CLIENT_CONNECTED).
"""

from __future__ import annotations

import attrs

from nerv_inner_universe.client import SpacetimeHttp, SqlResult
from nerv_inner_universe.contract import Table


@attrs.frozen
class Inventory:
    """What a database holds, as backups and restores compare it."""

    database_identity: str
    row_counts: dict[str, int]
    log_position: int


async def table_names(http: SpacetimeHttp, database: str) -> list[str]:
    schema = await http.schema(database, refresh=True)
    return sorted(schema.tables)


async def read_table(http: SpacetimeHttp, database: str, table: str) -> SqlResult:
    """``table`` must come from the schema: names are not quoted."""
    [result] = await http.sql(database, f"SELECT * FROM {table}")  # noqa: S608
    return result


async def count_rows(http: SpacetimeHttp, database: str) -> dict[str, int]:
    counts = {}
    for table in await table_names(http, database):
        [result] = await http.sql(database, f"SELECT COUNT(*) AS n FROM {table}")  # noqa: S608
        counts[table] = int(result.rows[0]["n"])
    return counts


async def log_position(http: SpacetimeHttp, database: str) -> int:
    """The next `event_log.seq` the module will hand out."""
    result = await read_table(http, database, Table.LOG_SEQUENCE)
    return max((int(row["next_seq"]) for row in result.rows), default=1)


async def change_position(http: SpacetimeHttp, database: str) -> tuple[int, int]:
    """``(log position, change count)``: every committed change to a table an import restores
    moves one of them (`Table.LOG_SEQUENCE`, `Table.CHANGE_COUNTER`), and neither goes back,
    so the same pair read before and after a read means none of them changed in between."""
    changes = await read_table(http, database, Table.CHANGE_COUNTER)
    counted = max((int(row["changes"]) for row in changes.rows), default=0)
    return await log_position(http, database), counted


async def take_inventory(http: SpacetimeHttp, database: str) -> Inventory:
    info = await http.database_info(database)
    return Inventory(
        database_identity=info.database_identity.hex,
        row_counts=await count_rows(http, database),
        log_position=await log_position(http, database),
    )
