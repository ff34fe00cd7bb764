"""`inner-universe deploy`: publish or update the module and write its configuration."""

from __future__ import annotations

import click
from rich.table import Table

from nerv_inner_universe.cli.common import out, run, with_config
from nerv_inner_universe.controller import (
    ControllerError,
    Deployment,
    InnerUniverseConfig,
    InnerUniverseController,
)


async def _deploy(config: InnerUniverseConfig, wipe: bool) -> tuple[Deployment, dict[str, int]]:
    async with InnerUniverseController(config) as controller:
        await controller.start_deployment_mode(wipe=wipe)
        if controller.deployment is None:
            raise ControllerError("deployment finished without a record of what it published")
        return controller.deployment, await controller.row_counts()


@click.command("deploy")
@with_config
@click.option(
    "--wipe",
    is_flag=True,
    help="Delete the database and ALL its data, then publish: only to replace a schema the "
    "server refuses to migrate. Take a backup first.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation before --wipe.")
def deploy_command(config: InnerUniverseConfig, wipe: bool, yes: bool) -> None:
    """Start the server on db_path (or use the running one), publish or update the module as
    the owner kept with the data, write the configuration, then stop what it started."""
    if wipe and not yes:
        click.confirm(
            f"--wipe deletes database {config.database!r} and all its data. Continue?",
            abort=True,
            err=True,
        )
    deployment, counts = run(_deploy(config, wipe))
    table = Table(title=f"deployed {deployment.database}", show_header=False)
    table.add_row("operation", deployment.op)
    table.add_row("server", deployment.url)
    table.add_row("database identity", deployment.database_identity)
    table.add_row("module sha256", deployment.module_sha256)
    table.add_row("data", str(config.db_path))
    for key, value in config.module_config.items():
        table.add_row(f"config {key}", str(value).lower())
    table.add_row("rows", ", ".join(f"{name} {n}" for name, n in counts.items() if n))
    out.print(table)
