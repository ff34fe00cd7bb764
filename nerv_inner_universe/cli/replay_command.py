"""`inner-universe replay`: rebuild and verify what a database holds (recovery tooling)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from nerv_inner_universe.config import ConfigError
from nerv_inner_universe.nerv.errors import NervError
from nerv_inner_universe.plugin import InnerUniverseRecorder, PluginSettings
from nerv_inner_universe.plugin.recovery import export, rebuild


@click.command("replay")
@click.option("--url", default="http://127.0.0.1:3000", show_default=True)
@click.option("--database", default="inner-universe", show_default=True)
@click.option("--token-file", type=click.Path(path_type=Path), help="File holding the token.")
@click.option("--out", type=click.Path(path_type=Path), help="Write the rebuilt states as JSON.")
def replay_command(url: str, database: str, token_file: Path | None, out: Path | None) -> None:
    """Rebuild every timeline and delta stream, verify every hash, summarise (and export)."""
    console = Console(stderr=True)
    try:
        settings = PluginSettings(
            url=url, database=database, token_file=token_file, follow_remote=False
        )
        recorder = InnerUniverseRecorder(settings)
        try:
            with console.status("replaying") as status:
                report = rebuild(recorder, status.update)
        finally:
            recorder.close()
    except (ConfigError, NervError, OSError) as exc:
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
    if out is not None:
        export(report, out)
        console.print(f"rebuilt states written to {out}")
