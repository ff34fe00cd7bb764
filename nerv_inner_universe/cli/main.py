"""`inner-universe`: the command group; each subcommand lives in a module of its own."""

from __future__ import annotations

import click

from nerv_inner_universe import __version__, log
from nerv_inner_universe.cli.access_commands import (
    grant_command,
    identities_command,
    mint_identity_command,
    revoke_command,
    stream_owner_command,
)
from nerv_inner_universe.cli.backup_commands import (
    backup_command,
    export_command,
    import_command,
    restore_command,
)
from nerv_inner_universe.cli.deploy_command import deploy_command
from nerv_inner_universe.cli.query_commands import logs_command, sql_command
from nerv_inner_universe.cli.redact_command import redact_command
from nerv_inner_universe.cli.replay_command import replay_command
from nerv_inner_universe.cli.serve_commands import serve_command, status_command, stop_command
from nerv_inner_universe.cli.setup_command import setup_command

_VERBOSITY = ("warning", "info", "debug")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inner-universe")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log more on stderr: -v what is done (info), -vv every detail (debug).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Log this level and above (overrides -v; default: warning).",
)
@click.option("--log-json", is_flag=True, help="Log JSON lines instead of key=value text.")
def cli(verbose: int, log_level: str | None, log_json: bool) -> None:
    """Inner Universe: SpacetimeDB persistence for NERV.

    Results go to stdout, progress and logs to stderr; logs show warnings and errors unless
    -v, -vv or --log-level ask for more.
    """
    log.configure(log_level or _VERBOSITY[min(verbose, 2)], json=log_json)


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
    grant_command,
    revoke_command,
    identities_command,
    mint_identity_command,
    stream_owner_command,
    redact_command,
):
    cli.add_command(command)


def main() -> None:
    cli()
