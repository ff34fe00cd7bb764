"""`inner-universe setup`: make this machine ready and say what was done."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.status import Status
from rich.table import Table

from nerv_inner_universe.toolchain import ToolchainError, setup
from nerv_inner_universe.toolchain.progress import LineReporter, heartbeat


class StatusReporter:
    """Shows the latest progress line of a long build under a spinner."""

    def __init__(self, status: Status) -> None:
        self.status = status

    def update(self, step: str, detail: str) -> None:
        self.status.update(f"[bold]{step}[/bold]: {detail}")


@click.command("setup")
def setup_command() -> None:
    """Build or find spacetimedb-standalone 1.2.0, a wasm32 toolchain and the module.

    On a terminal a spinner shows the latest progress; elsewhere (a CI log) a progress line is
    printed at least every 30 seconds.
    """
    console = Console(stderr=True)
    started = time.monotonic()
    try:
        if console.is_terminal:
            with console.status("checking this machine") as status:
                result = setup(StatusReporter(status))
        else:
            lines = LineReporter(lambda line: click.echo(line, err=True))
            with heartbeat(lines):
                result = setup(lines)
    except ToolchainError as exc:
        console.print(f"[red]setup failed:[/red] {exc}")
        raise SystemExit(1) from exc
    table = Table(title="inner-universe setup")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    table.add_column("result")
    for step in result.steps:
        table.add_row(step.name, f"{step.seconds:.1f}", "; ".join(step.changed) or step.detail)
    console.print(table)
    verdict = "changed this machine" if result.changed else "nothing to do: machine ready"
    console.print(f"{verdict} in {time.monotonic() - started:.1f} s")
    click.echo(f"server={result.server_binary}")
    click.echo(f"module={result.module_wasm}")
