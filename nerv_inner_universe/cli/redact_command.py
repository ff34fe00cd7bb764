"""`inner-universe redact KIND ID --reason TEXT`: an admin's recovery from a poisoned row.

Redacts an event, a timeline's head version or a stream's last delta, or removes a config key,
as the database's owner (an admin); the module leaves a tombstone in ``event_log`` and replay
leaves the row out (README, "Redaction").
"""

from __future__ import annotations

import click

from nerv_inner_universe import contract
from nerv_inner_universe.cli.common import run, with_config
from nerv_inner_universe.controller import InnerUniverseConfig, InnerUniverseController

_KINDS = {
    "event": contract.RedactedKind.EVENT,
    "version": contract.RedactedKind.STATE_VERSION,
    "delta": contract.RedactedKind.DELTA,
    "config-key": contract.RedactedKind.CONFIG_KEY,
}


async def _redact(
    config: InnerUniverseConfig, kind: contract.RedactedKind, target_id: str, reason: str
) -> None:
    async with InnerUniverseController(config) as controller:
        await controller.start_admin_mode()
        await controller.redact(kind, target_id, reason)


@click.command("redact")
@with_config
@click.argument("kind", type=click.Choice(list(_KINDS)))
@click.argument("target_id", metavar="ID")
@click.option(
    "--reason",
    required=True,
    help="Why (kept in the tombstone, with your identity and the hash of what was there).",
)
def redact_command(config: InnerUniverseConfig, kind: str, target_id: str, reason: str) -> None:
    """Take the KIND (event, version, delta, config-key) with ID out of what replay restores,
    leaving a tombstone. A version must be its timeline's head (redact from the head down), a
    delta the last unredacted one of its stream; the id stays taken. As the owner."""
    run(_redact(config, _KINDS[kind], target_id, reason))
    click.echo(f"{kind} {target_id} redacted")
