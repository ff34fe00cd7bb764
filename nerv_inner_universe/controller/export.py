"""Exports every table of a database to JSON Lines, one row per line, consistently.

Line 1 is a header (format, database, log position, each table's columns and primary key),
then ``{"table": NAME, "row": {column: value}}`` per row with values in SATS-JSON (the form
reducers take), then ``{"end": {"rows": {table: count}}}``, so a truncated file is detectable.

Consistency without stopping the server: the module numbers every change that writes a log
row in the private ``log_sequence`` counter and counts every other write call
(``es_insert_events``, roles and stream grants...) in the private ``change_counter``
(`tables.change_position`). The export reads both before and after reading all tables, one
table at a time, and starts over when either moved (a change committed meanwhile), so every
table an import restores is as of one point. Rows of ``client_connection`` are the
connections open at that moment, and a stop's ``durability_marker`` and ``write_fence`` those
at that moment: they change without being counted.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import attrs

from nerv_inner_universe.client import SpacetimeHttp
from nerv_inner_universe.client.sats_json import encode
from nerv_inner_universe.client.typed import TypeContext
from nerv_inner_universe.contract import Table
from nerv_inner_universe.controller.errors import ExportError
from nerv_inner_universe.controller.layout import open_private
from nerv_inner_universe.controller.tables import change_position, read_table
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

FORMAT = "inner-universe-export"
VERSION = 1
ATTEMPTS = 3

Progress = Callable[[str, int, int], object]
"""``progress(table, rows_written, rows_in_table)``."""

AfterTable = Callable[[str], Awaitable[object]]
"""``after_table(table)``: awaited once a table's rows are read, before the next is."""


@attrs.frozen
class ExportSummary:
    path: Path
    log_position: int
    rows: dict[str, int]
    attempts: int


async def export_jsonl(
    http: SpacetimeHttp,
    database: str,
    destination: Path,
    *,
    progress: Progress | None = None,
    attempts: int = ATTEMPTS,
    after_table: AfterTable | None = None,
) -> ExportSummary:
    """Writes every table of ``database`` to ``destination`` (JSON Lines, see above) via a
    temporary file: ``destination`` ends up complete or untouched. ``after_table`` runs
    between two tables' reads (tests write there). Raises ExportError when a write committed
    during each of ``attempts`` reads, or the database has an import open (half-imported, or
    still importing: its rows may be incomplete)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    try:
        for attempt in range(1, attempts + 1):
            with open_private(partial, "w") as out:  # rows name identities: 0600
                position, rows = await _write_all(http, database, out, progress, after_table)
                if rows.get(Table.IMPORT_STATE, 0):
                    raise ExportError(
                        f"database {database!r} has an import open, so rows may be missing; "
                        "export it once the import has finished (an import that was refused "
                        "or cut short stays open: wipe it with `inner-universe deploy --wipe` "
                        "and import again, or import into a fresh data dir)"
                    )
                if await change_position(http, database) == position:
                    _write_line(out, {"end": {"rows": rows}})
                    out.flush()
                    os.fsync(out.fileno())
                    os.replace(partial, destination)
                    log.info("exported", database=database, path=str(destination), rows=rows)
                    return ExportSummary(destination, position[0], rows, attempt)
            log.warning("export_retry", database=database, attempt=attempt)
    finally:
        partial.unlink(missing_ok=True)
    raise ExportError(
        f"database {database!r} changed during each of {attempts} export attempts; export "
        "while nothing writes (stop the clients), or take a backup (`inner-universe backup`)"
    )


async def _write_all(
    http: SpacetimeHttp,
    database: str,
    out: IO[str],
    progress: Progress | None,
    after_table: AfterTable | None,
) -> tuple[tuple[int, int], dict[str, int]]:
    """Writes the header and every row; returns the change position read first."""
    position = await change_position(http, database)
    schema = await http.schema(database, refresh=True)
    names = sorted(schema.tables)
    _write_line(
        out,
        {
            "format": FORMAT,
            "version": VERSION,
            "database": database,
            "exported_at": time.time(),
            "log_position": position[0],
            "tables": {
                name: {
                    "columns": list(schema.table(name).column_names),
                    "primary_key": list(schema.table(name).primary_key_names),
                }
                for name in names
            },
        },
    )
    context = TypeContext()
    rows: dict[str, int] = {}
    for name in names:
        result = await read_table(http, database, name)
        total = len(result.rows)
        for index, row in enumerate(result.rows, 1):
            _write_line(out, {"table": name, "row": encode(result.schema, row, context)})
            if progress is not None:
                progress(name, index, total)
        if progress is not None and total == 0:
            progress(name, 0, 0)
        rows[name] = total
        if after_table is not None:
            await after_table(name)
    return position, rows


def _write_line(out: IO[str], value: object) -> None:
    out.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")
