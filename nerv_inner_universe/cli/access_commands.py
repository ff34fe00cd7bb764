"""`inner-universe grant | revoke | identities | mint-identity | stream-owner`: roles and
stream ownership, as the database's owner.

The owner (the identity that published the database) is an admin; admins grant the writer or
admin role (`grant_role`), which an identity needs to change anything while ``auth_required``
is true. `mint-identity` asks the server for a new identity and its token, for a new process.
`stream-owner` gives a timeline, delta stream or `eventsourcing` store to another identity,
or clears its owner (`set_stream_owner`), e.g. when someone else claimed ``main`` first.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from nerv_inner_universe import contract
from nerv_inner_universe.cli.common import fail, out, run, with_config
from nerv_inner_universe.client import ArgumentError, Identity, SpacetimeHttp, Variant
from nerv_inner_universe.controller import InnerUniverseConfig, InnerUniverseController
from nerv_inner_universe.controller.layout import write_json_atomic

_ROLES = {"writer": contract.Role.WRITER, "admin": contract.Role.ADMIN}
_ROLE_TABLES = {"admin": contract.Table.ADMIN, "writer": contract.Table.WRITER}


def _identity(_context: click.Context, _param: click.Parameter, text: str) -> Identity:
    try:
        return Identity.from_hex(text)
    except ArgumentError as error:
        raise click.BadParameter(str(error)) from None


def _optional_identity(
    context: click.Context, param: click.Parameter, text: str | None
) -> Identity | None:
    return None if text is None else _identity(context, param, text)


_identity_argument = click.argument("identity", callback=_identity)
_role_argument = click.argument("role", type=click.Choice(sorted(_ROLES)))


async def _writing(controller: InnerUniverseController) -> SpacetimeHttp:
    """The owner's HTTP API on the running server, or on a private one this command starts;
    a private server then stops only once the command's writes are on disk (admin mode alone
    stops without that checkpoint, as it is meant for reads)."""
    http = await controller.start_admin_mode()
    if controller.process is not None and http.token is not None:
        controller.process.register_database(controller.config.database, http.token)
    return http


async def _call(config: InnerUniverseConfig, call: contract.ReducerCall) -> None:
    async with InnerUniverseController(config) as controller:
        await call.send_http(await _writing(controller), config.database)


def _send(config: InnerUniverseConfig, call: contract.ReducerCall) -> None:
    run(_call(config, call))


@click.command("grant")
@with_config
@_identity_argument
@_role_argument
def grant_command(config: InnerUniverseConfig, identity: Identity, role: str) -> None:
    """Give IDENTITY (64 hex digits) the ROLE: writer (may change data, within ownership) or
    admin (everything). As the owner; granting a role held already changes nothing."""
    _send(config, contract.grant_role(identity=identity, role=_ROLES[role]))
    click.echo(f"{identity.hex} is {role}")


@click.command("revoke")
@with_config
@_identity_argument
@_role_argument
def revoke_command(config: InnerUniverseConfig, identity: Identity, role: str) -> None:
    """Take ROLE from IDENTITY. The last admin cannot be revoked."""
    _send(config, contract.revoke_role(identity=identity, role=_ROLES[role]))
    click.echo(f"{identity.hex} is no longer {role}")


@click.command("stream-owner")
@with_config
@click.argument("key")
@click.argument("identity", required=False, callback=_optional_identity)
@click.option("--clear", is_flag=True, help="Clear the owner: the next writer claims it.")
def stream_owner_command(
    config: InnerUniverseConfig, key: str, identity: Identity | None, clear: bool
) -> None:
    """Give the stream KEY names to IDENTITY (64 hex digits), or with --clear and no IDENTITY
    clear its owner. KEY is ``timeline:<name>``, ``deltas:<stream>`` or ``es:<store>`` (the
    `stream_owner` table's key); timeline ``stream.<s>`` goes with ``deltas:<s>``."""
    if clear == (identity is not None):
        fail("give either IDENTITY or --clear")
    _send(config, contract.set_stream_owner(key=key, owner=identity))
    click.echo(f"{key} has no owner" if identity is None else f"{key} belongs to {identity.hex}")


async def _holders(config: InnerUniverseConfig) -> list[tuple[str, str]]:
    async with InnerUniverseController(config) as controller:
        await controller.start_admin_mode()
        holders: list[tuple[str, str]] = []
        for role, table in _ROLE_TABLES.items():
            for result in await controller.sql(f"SELECT identity FROM {table}"):  # noqa: S608
                holders.extend(
                    (role, value.hex)
                    for row in result.rows
                    for value in row.values()
                    if isinstance(value, Identity)
                )
        return sorted(holders)


@click.command("identities")
@with_config
@click.option("--json", "as_json", is_flag=True, help="One JSON object per identity.")
def identities_command(config: InnerUniverseConfig, as_json: bool) -> None:
    """List the identities that hold a role (admin or writer)."""
    holders = run(_holders(config))
    if as_json:
        for role, identity in holders:
            click.echo(json.dumps({"identity": identity, "role": role}))
        return
    table = Table("role", "identity", caption=f"{len(holders)} identities")
    for role, identity in holders:
        table.add_row(role, identity)
    out.print(table)


async def _mint(config: InnerUniverseConfig, role: Variant | None) -> tuple[Identity, str]:
    async with InnerUniverseController(config) as controller:
        http = await _writing(controller)
        credentials = await http.create_identity()
        if role is not None:
            call = contract.grant_role(identity=credentials.identity, role=role)
            await call.send_http(http, config.database)
        return credentials.identity, credentials.token


@click.command("mint-identity")
@with_config
@click.option(
    "--role",
    type=click.Choice([*sorted(_ROLES), "none"]),
    default="writer",
    show_default=True,
    help="The role to grant the new identity.",
)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Store the token here (0600, as the plugin's token_file reads it) instead of printing "
    "it; an existing file is never overwritten.",
)
def mint_identity_command(config: InnerUniverseConfig, role: str, token_file: Path | None) -> None:
    """Create a new identity for a process (the server's POST /v1/identity) and grant it ROLE.
    Prints the identity; the token goes to --token-file, or to stdout (keep it secret)."""
    if token_file is not None and token_file.exists():
        fail(f"{token_file} exists; choose a new file (a token file is never overwritten)")
    identity, token = run(_mint(config, _ROLES.get(role)))
    if token_file is None:
        click.echo(json.dumps({"identity": identity.hex, "role": role, "token": token}))
        return
    write_json_atomic(token_file, {"token": token})
    click.echo(json.dumps({"identity": identity.hex, "role": role, "token_file": str(token_file)}))
