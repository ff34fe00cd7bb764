"""`inner-universe replay`: rebuild and verify what a database holds (recovery tooling)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from nerv_inner_universe.cli.common import with_config
from nerv_inner_universe.client import SpacetimeError
from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.controller import InnerUniverseConfig
from nerv_inner_universe.controller.layout import DbLayout
from nerv_inner_universe.controller.tokens import OwnerToken
from nerv_inner_universe.nerv.errors import NervError
from nerv_inner_universe.plugin import InnerUniverseRecorder, PluginSettings
from nerv_inner_universe.plugin.recovery import export, rebuild


@click.command("replay")
@with_config
@click.option("--url", help="The server's URL (default: the config's, http://127.0.0.1:3000).")
@click.option("--database", help="The database (default: the config's, inner-universe).")
@click.option(
    "--token-file",
    type=click.Path(path_type=Path),
    help="File holding the token (default: $INNER_UNIVERSE_TOKEN, else the config's owner token).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Write the rebuilt states as JSON.")
def replay_command(
    config: InnerUniverseConfig,
    url: str | None,
    database: str | None,
    token_file: Path | None,
    out: Path | None,
) -> None:
    """Rebuild every timeline and delta stream, verify every hash, summarise (and export).
    Reads the running server the config (or --url) names. A delta whose operations do not
    apply at its place in the log is skipped, as a runtime's start skips it, and listed; it
    does not make the replay fail."""
    console = Console(stderr=True)
    database = database or config.database
    try:
        if token_file is None:
            owner = OwnerToken(config, DbLayout(config.db_path)).path
            token_file = owner if owner.is_file() else None
        settings = PluginSettings(
            url=url or config.url, database=database, token_file=token_file, follow_remote=False
        )
        recorder = InnerUniverseRecorder(settings)
        try:
            with console.status("replaying") as status:
                report = rebuild(recorder, status.update)
        finally:
            recorder.close()
    except (ConfigError, NervError, SpacetimeError, OSError) as exc:
        console.print(f"[red]replay failed:[/red] {exc}")
        raise SystemExit(1) from exc
    table = Table(title=f"{database}: {report.events} published events, all hashes verified")
    table.add_column("kind")
    table.add_column("name")
    table.add_column("count", justify="right")
    table.add_column("head")
    for timeline in report.timelines:
        table.add_row("timeline", timeline.name, str(timeline.versions), timeline.head_version_id)
    for stream in report.streams:
        table.add_row("delta stream", stream.name, str(stream.deltas), "")
    console.print(table)
    skipped = [skip for stream in report.streams for skip in stream.skipped]
    if skipped:
        listing = Table(title=f"{len(skipped)} deltas skipped: their operations do not apply")
        for column in ("stream", "seq", "delta id", "error"):
            listing.add_column(column)
        for skip in skipped:
            # Text, not markup: ids and errors are what writers stored.
            listing.add_row(Text(skip.stream), str(skip.seq), Text(skip.delta_id), Text(skip.error))
        console.print(listing)
    if out is not None:
        export(report, out)
        console.print(f"rebuilt states written to {out}")
