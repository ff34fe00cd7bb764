"""Imports an export (see `export`) into a fresh database with every row exactly as exported.

Ordinary reducers stamp their own time, owner and log entry, so the module's admin-only
`import_rows` reducer takes the rows as they are: `Begin` (refused unless the database is
fresh), batches of rows per table, then `Finish`, which checks every reference and the
gap-free log and every `eventsourcing` store against its head, and sets the log sequence.
The file is read line by line twice, so its size does not matter: first every line is
checked (a malformed file changes nothing), then the rows are sent; a batch holds at most
`BATCH_ROWS` rows and `BATCH_BYTES` of row text, so each call fits the server's HTTP body
limit (a larger row goes alone, and one whose call would pass that limit is refused by the
check, before any call). Live connections (`client_connection`) are not imported; `admin`
keeps the importer. Exports of a module without some table (the `es_*` stores, say) import as
having none of its rows.
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
    ArgumentError,
    JsonCodec,
    ModuleSchema,
    ProtocolError,
    RequestTooLargeError,
    SpacetimeHttp,
    Variant,
)
from nerv_inner_universe.client.sats_json import decode, encode
from nerv_inner_universe.client.typed import TypeContext
from nerv_inner_universe.contract import IMPORTED_TABLES, NOT_IMPORTED, Table
from nerv_inner_universe.controller.errors import DataImportError, ImportRefusedError
from nerv_inner_universe.controller.export import FORMAT, VERSION
from nerv_inner_universe.log import get_logger
from nerv_inner_universe.shown import shown

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


def _lines(source: Path) -> Iterator[tuple[dict[str, Any], int, int]]:
    """Each record of ``source`` with its line number and the length of its line in bytes."""
    with source.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError as error:
                raise DataImportError(f"{source}:{number} is not JSON ({error})") from None
            if not isinstance(record, dict):
                raise DataImportError(f"{source}:{number} is not an export record")
            yield record, number, len(line)


async def _send(
    http: SpacetimeHttp, database: str, batch: Variant, what: str, *, begun: bool = True
) -> None:
    """One `import_rows` call; a refusal is ImportRefusedError naming ``what`` was sent and,
    once the import has ``begun``, what that leaves behind."""
    try:
        await contract.import_rows(batch=batch).send_http(http, database)
    except contract.ReducerRefusedError as refused:
        left = (
            "; the rows imported before it stay and the import stays open, so this database "
            "is not usable: import again into a fresh data dir"
            if begun
            else ""
        )
        raise ImportRefusedError(
            f"the module refused {what}: {refused.refusal}{left}", refused.code
        ) from refused
    except RequestTooLargeError as error:
        raise DataImportError(f"{what} cannot be sent over HTTP: {error}") from error


def _row(where: str, record: dict[str, Any]) -> tuple[Table, dict[str, Any]]:
    """The table and SATS-JSON row of a row line; DataImportError for anything else."""
    name, row = record.get("table"), record.get("row")
    if not isinstance(name, str) or not isinstance(row, dict):
        raise DataImportError(f"{where} is neither a row nor the end line: {shown(record)}")
    table = _TABLES.get(name)
    if table is None:
        raise DataImportError(f"{where}: table {shown(name)} is not known to this module")
    return table, row


@attrs.define
class _Reader:
    """Reads the rows of an export and turns each into the value its `ImportBatch` takes."""

    source: Path
    schema: ModuleSchema
    context: TypeContext
    next_seq: int | None = None
    """The exported `log_sequence.next_seq`, once `records` read it."""

    def records(self, *, check: bool) -> Iterator[tuple[Table, object, int]]:
        """``(table, row value, line length)`` of every row `import_rows` takes (not those of
        `NOT_IMPORTED` tables, whose columns are not checked), then stops at the end
        line (``rows`` per table are checked against it). DataImportError, naming the line and
        table, for a file that is no complete export or a row that does not fit its table;
        with ``check``, also for a row whose value would not encode as its table's, or whose
        call alone would pass the HTTP body limit (a pass that already checked the file leaves
        those out: the rows are encoded again as they are sent)."""
        lines = _lines(self.source)
        header, _, _ = next(lines, ({}, 0, 0))
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise DataImportError(
                f"{self.source} is not an inner-universe export (format {FORMAT} v{VERSION})"
            )
        rows: dict[str, int] = {}
        for record, number, size in lines:
            where = f"{self.source}:{number}"
            if "end" in record:
                self._check_end(where, record, rows)
                if next(lines, None) is not None:
                    raise DataImportError(f"{where}: lines follow the end line")
                return
            table, row = _row(where, record)
            if table is Table.IMPORT_STATE:
                raise DataImportError(
                    f"{where}: the export holds an open import's marker: it was taken of a "
                    "half-imported database, so rows may be missing; import a complete export"
                )
            rows[table.value] = rows.get(table.value, 0) + 1
            if table is Table.LOG_SEQUENCE:
                self.next_seq = self._next_seq(where, row)
            if table not in NOT_IMPORTED:
                value = self._value(where, table, row, check=check)
                if check and size > BATCH_BYTES:  # it goes alone: does it fit one call?
                    self._check_sendable(where, table, value)
                yield table, value, size
        raise DataImportError(f"{self.source} has no end line: the export is truncated")

    def _value(self, where: str, table: Table, row: dict[str, Any], *, check: bool) -> object:
        """The row as its table's type; with ``check``, checked to fit it as the call will send
        it."""
        row_type = self.schema.table(table).row_type
        try:
            value = decode(row_type, row, self.context, table.value)
            if check:
                encode(row_type, value, self.context, table.value)
        except (ProtocolError, ArgumentError) as error:
            raise DataImportError(f"{where}: a {table} row does not fit: {error}") from None
        return value

    def _check_sendable(self, where: str, table: Table, value: object) -> None:
        """DataImportError when the `import_rows` call carrying only this row is over the
        server's HTTP body limit (a row whose text escapes to about twice its size, say: an
        event of backslashes within ``max_event_bytes``), so no call is made for a file that
        cannot be imported whole."""
        call = contract.import_rows(batch=contract.import_batch(table, [value]))
        codec = JsonCodec(self.schema)
        body = codec.encode_args(self.schema.reducer(call.reducer), call.args).encode()
        if len(body) > MAX_HTTP_BODY_BYTES:
            raise DataImportError(
                f"{where}: a {table} row is {len(body)} bytes as an import call, over the "
                f"server's HTTP request limit of {MAX_HTTP_BODY_BYTES} bytes: it cannot be "
                "imported over HTTP"
            )

    def _next_seq(self, where: str, row: dict[str, Any]) -> int:
        next_seq = row.get("next_seq")
        if type(next_seq) is not int or not 1 <= next_seq < 2**64:
            raise DataImportError(
                f"{where}: log_sequence.next_seq is {shown(next_seq)}, not a u64 of at least 1"
            )
        return next_seq

    def _check_end(self, where: str, record: dict[str, Any], rows: dict[str, int]) -> None:
        end = record["end"]
        counts = end.get("rows") if isinstance(end, dict) else None
        if not isinstance(counts, dict):
            raise DataImportError(f"{where}: the end line has no row counts: {shown(record)}")
        for name in map(str, IMPORTED_TABLES):
            if rows.get(name, 0) != counts.get(name, 0):
                raise DataImportError(
                    f"{where}: {rows.get(name, 0)} {name} rows read, the end line says "
                    f"{shown(counts.get(name, 0))}"
                )


async def import_jsonl(
    http: SpacetimeHttp, database: str, source: Path, *, progress: Progress | None = None
) -> ImportSummary:
    """Imports ``source`` into ``database`` (which must be fresh). The whole file is read and
    checked first, so DataImportError (naming the line and table) for a file that is no
    complete export or holds a row that does not fit its table leaves the database untouched.
    ImportRefusedError when the module refuses a call (a row breaks one of its rules)."""
    schema = await http.schema(database, refresh=True)
    reader = _Reader(source, schema, TypeContext(schema.typespace, schema.type_names))
    for _ in reader.records(check=True):  # reads and checks every line before the first call
        pass
    await _send(http, database, contract.import_begin(), "the start of the import", begun=False)
    batches: dict[Table, list[object]] = {}
    batch_bytes: dict[Table, int] = {}
    rows: dict[str, int] = {}

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

    for table, value, size in reader.records(check=False):
        if batch_bytes.get(table, 0) + size > BATCH_BYTES:
            await send(table)
        batches.setdefault(table, []).append(value)
        batch_bytes[table] = batch_bytes.get(table, 0) + size
        if len(batches[table]) >= BATCH_ROWS:
            await send(table)
    for table in list(batches):
        await send(table)
    final_seq = reader.next_seq
    if final_seq is None:
        final_seq = rows.get(Table.EVENT_LOG.value, 0) + 1
    await _send(http, database, contract.import_finish(final_seq), "the end of the import")
    log.info("imported", database=database, path=str(source), rows=rows, next_seq=final_seq)
    return ImportSummary(source, rows, final_seq)
