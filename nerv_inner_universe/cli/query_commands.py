"""`inner-universe sql | logs`: look inside the database as its owner."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC
from pathlib import Path

import click
from rich.table import Table

from nerv_inner_universe.cli.common import EXIT_INTERRUPTED, err, out, run, with_config
from nerv_inner_universe.client import Identity, SqlResult, Timestamp
from nerv_inner_universe.client.sats_json import encode
from nerv_inner_universe.client.typed import TypeContext
from nerv_inner_universe.controller import InnerUniverseConfig, InnerUniverseController

_CONTEXT = TypeContext()
_FOLLOW_POLL = 0.25


async def _sql(config: InnerUniverseConfig, query: str) -> list[SqlResult]:
    async with InnerUniverseController(config) as controller:
        await controller.start_admin_mode()
        return await controller.sql(query)


def _cell(value: object) -> str:
    if isinstance(value, Identity):
        return value.hex
    if isinstance(value, Timestamp):
        return value.isoformat()
    if value is None:
        return ""
    return str(value)


@click.command("sql")
@with_config
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row (SATS-JSON).")
def sql_command(config: InnerUniverseConfig, query: str, as_json: bool) -> None:
    """Run one SQL statement as the owner (private tables included). Uses the running server,
    or starts one on a private port for the query."""
    for result in run(_sql(config, query)):
        names = [str(name) for name in result.column_names]
        if as_json:
            for row in result.rows:
                click.echo(json.dumps(encode(result.schema, row, _CONTEXT), ensure_ascii=False))
            continue
        table = Table(*names, caption=f"{len(result.rows)} rows")
        for row in result.rows:
            table.add_row(*(_cell(value) for value in row.values()))
        out.print(table)


async def _module_logs(config: InnerUniverseConfig, lines: int, follow: bool) -> None:
    async with InnerUniverseController(config) as controller:
        await controller.start_admin_mode()
        async for record in controller.module_logs(num_lines=lines, follow=follow):
            moment = record.timestamp.to_datetime().astimezone(UTC).isoformat(" ", "seconds")
            click.echo(f"{moment} {record.level:<5} {record.message}")


def _server_log(path: Path, lines: int, follow: bool) -> None:
    if not path.is_file():
        err.print(f"no server log at {path} yet")
        return
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle.readlines()[-lines:]:
            click.echo(line, nl=False)
        while follow:
            line = handle.readline()
            if line:
                click.echo(line, nl=False)
            else:
                time.sleep(_FOLLOW_POLL)


@click.command("logs")
@with_config
@click.option("-n", "--lines", default=50, show_default=True, help="How many recent lines.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl-C.")
@click.option(
    "--server",
    "server_output",
    is_flag=True,
    help="The server process's own output (its log file) instead of the module's log.",
)
def logs_command(
    config: InnerUniverseConfig, lines: int, follow: bool, server_output: bool
) -> None:
    """Show the module's log (owner only) or, with --server, the server's output."""
    if server_output:
        try:
            _server_log(config.server_log, lines, follow)
        except KeyboardInterrupt:
            sys.exit(EXIT_INTERRUPTED)
    else:
        run(_module_logs(config, lines, follow))
