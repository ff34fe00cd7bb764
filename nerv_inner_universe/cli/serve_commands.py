"""`inner-universe serve | stop | status`: run the server, stop it from elsewhere, look at it."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime

import attrs
import click
from rich.table import Table

from nerv_inner_universe import contract
from nerv_inner_universe.cli.common import EXIT_NOT_RUNNING, err, fail, out, run, with_config
from nerv_inner_universe.controller import (
    InnerUniverseConfig,
    InnerUniverseController,
    ServerStatus,
)
from nerv_inner_universe.controller.delegation import STOP_TIMEOUT


async def _serve(config: InnerUniverseConfig) -> None:
    loop = asyncio.get_running_loop()
    async with InnerUniverseController(config) as controller:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, controller.request_stop)
        await controller.start_server_mode(tables=(), attach=False)
        controller.accept_backup_requests()
        process = controller.process
        err.print(
            f"serving [bold]{config.database}[/bold] at {controller.url} (server pid "
            f"{process.pid if process else '?'}, data {config.db_path}, log "
            f"{config.server_log}); Ctrl-C or `inner-universe stop` stops it"
        )
        await controller.wait()
        err.print("stopping")
    err.print("stopped")


@click.command("serve")
@with_config
def serve_command(config: InnerUniverseConfig) -> None:
    """Run the server in the foreground until Ctrl-C or `inner-universe stop`."""
    if config.server_url is not None:
        fail(f"serve runs a server on db_path; this config attaches to {config.server_url}")
    run(_serve(config))


@click.command("stop")
@with_config
@click.option(
    "--timeout",
    default=STOP_TIMEOUT,
    show_default=True,
    help="Seconds to wait for a clean, durable stop before killing (then exit 1).",
)
def stop_command(config: InnerUniverseConfig, timeout: float) -> None:
    """Stop the process serving this config (`inner-universe serve`, or an application's
    controller) in another process: close the database for writes and wait until what it
    acknowledged is on disk, then terminate it. Exits 1, having stopped it, when that could
    not be confirmed (a failed checkpoint, or a server that had crashed)."""
    record = run(InnerUniverseController(config).stop_serving(timeout=timeout))
    if record is None:
        err.print(f"nothing is running for {config.db_path}")
    else:
        err.print(f"stopped process {record.pid} (server pid {record.server_pid})")


@click.command("status")
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def status_command(config: InnerUniverseConfig, as_json: bool) -> None:
    """Is a server running for this config? Its pids, address, database and row counts.
    Exits 3 when nothing runs."""
    status = run(InnerUniverseController(config).status())
    if as_json:
        click.echo(json.dumps(attrs.asdict(status), default=str, sort_keys=True))
    else:
        out.print(_status_table(status, config))
    if not status.running:
        sys.exit(EXIT_NOT_RUNNING)


def _status_table(status: ServerStatus, config: InnerUniverseConfig) -> Table:
    table = Table(title=f"inner-universe {status.database}", show_header=False)
    table.add_row("state", f"[{'green' if status.running else 'yellow'}]{status.detail}")
    table.add_row("url", status.url)
    table.add_row("data", str(config.db_path) if config.server_url is None else "(remote)")
    if status.record is not None:
        started = datetime.fromtimestamp(status.record.started_at, UTC).isoformat(" ", "seconds")
        table.add_row("controller pid", f"{status.record.pid} ({status.record.mode} mode)")
        table.add_row("server pid", str(status.record.server_pid))
        table.add_row("started", started)
    if status.deployment is not None:
        table.add_row("module sha256", status.deployment.module_sha256)
    counts = status.row_counts or {}
    if counts.get(contract.Table.IMPORT_STATE):
        table.add_row(
            "import",
            "[yellow]open: importing, or half-imported (writes are refused); if no import "
            "runs, wipe it (`deploy --wipe`) and import again",
        )
    for name, count in counts.items():
        table.add_row(f"rows {name}", str(count))
    return table
