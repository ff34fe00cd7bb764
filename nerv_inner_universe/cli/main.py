"""`inner-universe`: the command group; each subcommand lives in a module of its own."""

from __future__ import annotations

import click

from nerv_inner_universe import __version__, log
from nerv_inner_universe.cli.backup_commands import (
    backup_command,
    export_command,
    import_command,
    restore_command,
)
from nerv_inner_universe.cli.deploy_command import deploy_command
from nerv_inner_universe.cli.query_commands import logs_command, sql_command
from nerv_inner_universe.cli.replay_command import replay_command
from nerv_inner_universe.cli.serve_commands import serve_command, status_command, stop_command
from nerv_inner_universe.cli.setup_command import setup_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inner-universe")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option("--log-json", is_flag=True, help="Log JSON lines instead of key=value text.")
def cli(log_level: str, log_json: bool) -> None:
    """Inner Universe: SpacetimeDB persistence for NERV."""
    log.configure(log_level, json=log_json)


for command in (
    setup_command,
    deploy_command,
    serve_command,
    status_command,
    stop_command,
    sql_command,
    logs_command,
    backup_command,
    restore_command,
    export_command,
    import_command,
    replay_command,
):
    cli.add_command(command)


def main() -> None:
    cli()
