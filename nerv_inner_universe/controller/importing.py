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

from nerv_inner_universe import contract
from nerv_inner_universe.client import SpacetimeHttp
from nerv_inner_universe.client.sats_json import decode
from nerv_inner_universe.client.typed import TypeContext
from nerv_inner_universe.contract import IMPORTED_TABLES, NOT_IMPORTED, Table
from nerv_inner_universe.controller.errors import DataImportError
from nerv_inner_universe.controller.export import FORMAT, VERSION
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

BATCH_ROWS = 500

_TABLES = {table.value: table for table in Table}

Progress = Callable[[str, int], object]
"""``progress(table, rows_imported_so_far)``."""


@attrs.frozen
class ImportSummary:
    """What `import_jsonl` imported: rows per table and the log sequence it set."""

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
    await contract.import_rows(batch=contract.import_begin()).send_http(http, database)
    batches: dict[Table, list[object]] = {}
    rows: dict[str, int] = {}
    next_seq: int | None = None

    async def send(table: Table) -> None:
        batch = batches.pop(table, [])
        if batch:
            call = contract.import_rows(batch=contract.import_batch(table, batch))
            await call.send_http(http, database)
            rows[table.value] = rows.get(table.value, 0) + len(batch)
            if progress is not None:
                progress(table.value, rows[table.value])

    end: dict[str, int] | None = None
    for record in records:
        if "end" in record:
            end = record["end"]["rows"]
            break
        name, row = record.get("table"), record.get("row")
        if not isinstance(name, str) or not isinstance(row, dict):
            raise DataImportError(f"{source}: a line is neither a row nor the end line: {record!r}")
        table = _TABLES.get(name)
        if table is None:
            raise DataImportError(f"{source}: table {name!r} is not known to this module")
        if table is Table.LOG_SEQUENCE:
            next_seq = int(row["next_seq"])
        if table in NOT_IMPORTED:
            continue
        batches.setdefault(table, []).append(decode(schema.table(table).row_type, row, context))
        if len(batches[table]) >= BATCH_ROWS:
            await send(table)
    if end is None:
        raise DataImportError(f"{source} has no end line: the export is truncated")
    for table in list(batches):
        await send(table)
    for name in map(str, IMPORTED_TABLES):
        if rows.get(name, 0) != end.get(name, 0):
            raise DataImportError(
                f"{source}: {rows.get(name, 0)} {name} rows read, the end line says "
                f"{end.get(name, 0)}"
            )
    final_seq = next_seq if next_seq is not None else rows.get(Table.EVENT_LOG.value, 0) + 1
    await contract.import_rows(batch=contract.import_finish(final_seq)).send_http(http, database)
    log.info("imported", database=database, path=str(source), rows=rows, next_seq=final_seq)
    return ImportSummary(source, rows, final_seq)
