"""Imports an export (see `export`) into a fresh database with every row exactly as exported.

Ordinary reducers stamp their own time, owner and log entry, so the module's admin-only
`import_rows` reducer takes the rows as they are: `Begin` (refused unless the database is
fresh), batches of rows per table, then `Finish`, which checks every reference and the
gap-free log and every `eventsourcing` store against its head, and sets the log sequence.
The file is read line by line, so its size does not matter; a batch holds at most `BATCH_ROWS`
rows and `BATCH_BYTES` of row text, so each call fits the server's HTTP body limit. Live
connections (`client_connection`) are not imported; `admin` keeps the importer. Exports of
a module without some table (the `es_*` stores, say) import as having none of its rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from nerv_inner_universe import contract
from nerv_inner_universe.client import (
    MAX_HTTP_BODY_BYTES,
    RequestTooLargeError,
    SpacetimeHttp,
    Variant,
)
from nerv_inner_universe.client.sats_json import decode
from nerv_inner_universe.client.typed import TypeContext
from nerv_inner_universe.contract import IMPORTED_TABLES, NOT_IMPORTED, Table
from nerv_inner_universe.controller.errors import DataImportError, ImportRefusedError
from nerv_inner_universe.controller.export import FORMAT, VERSION
from nerv_inner_universe.log import get_logger

log = get_logger(__name__)

BATCH_ROWS = 500
BATCH_BYTES = MAX_HTTP_BODY_BYTES // 2
"""Row text (as exported, UTF-8) per call; the rest of the body limit is headroom for the
call's own wrapping. A larger row goes alone; one over the server's limit cannot be imported
over HTTP (DataImportError)."""

_TABLES = {table.value: table for table in Table}

Progress = Callable[[str, int], object]
"""``progress(table, rows_imported_so_far)``."""


@attrs.frozen
class ImportSummary:
    """What `import_jsonl` imported: rows per table and the log sequence it set."""

    path: Path
    rows: dict[str, int]
    next_seq: int


def _lines(source: Path) -> Iterator[tuple[dict[str, Any], int]]:
    """Each record of ``source`` with the length of its line in bytes."""
    with source.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError as error:
                raise DataImportError(f"{source}:{number} is not JSON ({error})") from None
            if not isinstance(record, dict):
                raise DataImportError(f"{source}:{number} is not an export record")
            yield record, len(line)


async def _send(http: SpacetimeHttp, database: str, batch: Variant, what: str) -> None:
    """One `import_rows` call; a refusal is ImportRefusedError naming ``what`` was sent."""
    try:
        await contract.import_rows(batch=batch).send_http(http, database)
    except contract.ReducerRefusedError as refused:
        raise ImportRefusedError(
            f"the module refused {what}: {refused.refusal}", refused.code
        ) from refused
    except RequestTooLargeError as error:
        raise DataImportError(f"{what} cannot be sent over HTTP: {error}") from error


def _row(source: Path, record: dict[str, Any]) -> tuple[Table, dict[str, Any]]:
    """The table and SATS-JSON row of a row line; DataImportError for anything else."""
    name, row = record.get("table"), record.get("row")
    if not isinstance(name, str) or not isinstance(row, dict):
        raise DataImportError(f"{source}: a line is neither a row nor the end line: {record!r}")
    table = _TABLES.get(name)
    if table is None:
        raise DataImportError(f"{source}: table {name!r} is not known to this module")
    return table, row


async def import_jsonl(
    http: SpacetimeHttp, database: str, source: Path, *, progress: Progress | None = None
) -> ImportSummary:
    """Imports ``source`` into ``database`` (which must be fresh). Raises DataImportError for
    a file that is no complete export, ImportRefusedError when the module refuses a call (a
    row breaks one of its rules)."""
    records = _lines(source)
    header, _ = next(records, (None, 0))
    if header is None or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise DataImportError(
            f"{source} is not an inner-universe export (format {FORMAT} v{VERSION})"
        )
    schema = await http.schema(database, refresh=True)
    context = TypeContext(schema.typespace, schema.type_names)
    await _send(http, database, contract.import_begin(), "the start of the import")
    batches: dict[Table, list[object]] = {}
    batch_bytes: dict[Table, int] = {}
    rows: dict[str, int] = {}
    next_seq: int | None = None

    async def send(table: Table) -> None:
        batch = batches.pop(table, [])
        batch_bytes.pop(table, None)
        if batch:
            done = rows.get(table.value, 0)
            what = f"{table} rows {done + 1} to {done + len(batch)} of {source}"
            await _send(http, database, contract.import_batch(table, batch), what)
            rows[table.value] = done + len(batch)
            if progress is not None:
                progress(table.value, rows[table.value])

    end: dict[str, int] | None = None
    for record, size in records:
        if "end" in record:
            end = record["end"]["rows"]
            break
        table, row = _row(source, record)
        if table is Table.LOG_SEQUENCE:
            next_seq = int(row["next_seq"])
        if table in NOT_IMPORTED:
            continue
        if batch_bytes.get(table, 0) + size > BATCH_BYTES:
            await send(table)
        batches.setdefault(table, []).append(decode(schema.table(table).row_type, row, context))
        batch_bytes[table] = batch_bytes.get(table, 0) + size
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
    await _send(http, database, contract.import_finish(final_seq), "the end of the import")
    log.info("imported", database=database, path=str(source), rows=rows, next_seq=final_seq)
    return ImportSummary(source, rows, final_seq)
