"""`inner-universe`: the command group; each subcommand lives in a module of its own."""

from __future__ import annotations

import click

from nerv_inner_universe import __version__, log
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


cli.add_command(setup_command)


def main() -> None:
    cli()
