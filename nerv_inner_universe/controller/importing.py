"""Imports an export (see `export`) into a fresh database with every row exactly as exported.

Ordinary reducers stamp their own time, owner and log entry, so the module's admin-only
`import_rows` reducer takes the rows as they are: `Begin` (refused unless the database is
fresh), batches of rows per table, then `Finish`, which checks every reference and the
gap-free log and sets the log sequence. The file is read line by line, so its size does not
matter. Live connections (`client_connection`) are not imported; `admin` keeps the importer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from nerv_inner_universe.client import SpacetimeHttp, Variant
from nerv_inner_universe.client.sats_json import TypeContext, decode
from nerv_inner_universe.controller.errors import DataImportError
from nerv_inner_universe.controller.export import FORMAT, VERSION
from nerv_inner_universe.controller.tables import LOG_SEQUENCE_TABLE
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

BATCH_ROWS = 500
# Table -> `ImportBatch` variant. Order matters only for readability: `Finish` checks it all.
IMPORTED = {
    "config": "Config",
    "admin": "Admin",
    "entity": "Entity",
    "relation": "Relation",
    "state_version": "StateVersion",
    "timeline": "Timeline",
    "delta_record": "DeltaRecord",
    "event_log": "EventLog",
}
NOT_IMPORTED = {"client_connection", "import_state", LOG_SEQUENCE_TABLE}

Progress = Callable[[str, int], object]
"""``progress(table, rows_imported_so_far)``."""


@attrs.frozen
class ImportSummary:
    path: Path
    rows: dict[str, int]
    next_seq: int


def _lines(source: Path) -> Iterator[dict[str, Any]]:
    with source.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError as error:
                raise DataImportError(f"{source}:{number} is not JSON ({error})") from None
            if not isinstance(record, dict):
                raise DataImportError(f"{source}:{number} is not an export record")
            yield record


async def import_jsonl(
    http: SpacetimeHttp, database: str, source: Path, *, progress: Progress | None = None
) -> ImportSummary:
    records = _lines(source)
    header = next(records, None)
    if header is None or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise DataImportError(
            f"{source} is not an inner-universe export (format {FORMAT} v{VERSION})"
        )
    schema = await http.schema(database, refresh=True)
    context = TypeContext(schema.typespace, schema.type_names)
    await http.call_reducer(database, "import_rows", [Variant("Begin")])
    batches: dict[str, list[object]] = {}
    rows: dict[str, int] = {}
    next_seq: int | None = None

    async def send(table: str) -> None:
        batch = batches.pop(table, [])
        if batch:
            await http.call_reducer(database, "import_rows", [Variant(IMPORTED[table], batch)])
            rows[table] = rows.get(table, 0) + len(batch)
            if progress is not None:
                progress(table, rows[table])

    end: dict[str, int] | None = None
    for record in records:
        if "end" in record:
            end = record["end"]["rows"]
            break
        table, row = record.get("table"), record.get("row")
        if not isinstance(table, str) or not isinstance(row, dict):
            raise DataImportError(f"{source}: a line is neither a row nor the end line: {record!r}")
        if table == LOG_SEQUENCE_TABLE:
            next_seq = int(row["next_seq"])
        if table in NOT_IMPORTED:
            continue
        if table not in IMPORTED:
            raise DataImportError(f"{source}: table {table!r} is not known to this module")
        batches.setdefault(table, []).append(decode(schema.table(table).row_type, row, context))
        if len(batches[table]) >= BATCH_ROWS:
            await send(table)
    if end is None:
        raise DataImportError(f"{source} has no end line: the export is truncated")
    for table in list(batches):
        await send(table)
    for table in IMPORTED:
        if rows.get(table, 0) != end.get(table, 0):
            raise DataImportError(
                f"{source}: {rows.get(table, 0)} {table} rows read, the end line says "
                f"{end.get(table, 0)}"
            )
    final_seq = next_seq if next_seq is not None else rows.get("event_log", 0) + 1
    await http.call_reducer(database, "import_rows", [Variant("Finish", final_seq)])
    log.info("imported", database=database, path=str(source), rows=rows, next_seq=final_seq)
    return ImportSummary(source, rows, final_seq)
